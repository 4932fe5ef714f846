/**
 * The layout of a trace's waterfall: spans in tree order with their depth and where their
 * bars sit on the trace's time axis.
 * @module
 */
import type { SpanRecord, TraceRecord } from '../../src/index.js'

/** One row of the waterfall. */
export interface WaterfallRow {
  /** The span. */
  span: SpanRecord
  /** Nesting depth: 0 for the root (and for spans whose parent was not kept). */
  depth: number
  /** Where the bar starts, as a share of the trace's duration (0 to 1). */
  offset: number
  /** How long the bar is, as a share of the trace's duration (0 to 1). */
  width: number
}

/** A laid-out trace. */
export interface WaterfallLayout {
  /** The earliest span start (Unix ms). */
  startMs: number
  /** From the earliest start to the latest end (ms). */
  durationMs: number
  /** Rows: each span after its parent, siblings by start time. */
  rows: WaterfallRow[]
}

/**
 * Lays out a trace: children under their parent in start order, every span exactly once
 * (a span whose parent is missing, or part of a cycle, becomes a top-level row).
 *
 * @example
 * ```ts
 * const { rows } = layoutWaterfall(trace)
 * rows.map((r) => '  '.repeat(r.depth) + r.span.name)
 * ```
 */
export function layoutWaterfall(trace: TraceRecord): WaterfallLayout {
  const spans = trace.spans
  if (spans.length === 0) return { startMs: trace.startMs, durationMs: trace.durationMs, rows: [] }
  const startMs = Math.min(...spans.map((s) => s.startMs))
  const endMs = Math.max(...spans.map((s) => s.startMs + s.durationMs))
  const durationMs = endMs - startMs
  const ids = new Set(spans.map((s) => s.spanId))
  const children = new Map<string | null, SpanRecord[]>()
  for (const span of spans) {
    const parent =
      span.parentSpanId !== null && ids.has(span.parentSpanId) ? span.parentSpanId : null
    const list = children.get(parent) ?? []
    list.push(span)
    children.set(parent, list)
  }
  const byStart = (a: SpanRecord, b: SpanRecord) => a.startMs - b.startMs
  for (const list of children.values()) list.sort(byStart)

  const rows: WaterfallRow[] = []
  const placed = new Set<string>()
  const place = (root: SpanRecord) => {
    const stack: Array<[SpanRecord, number]> = [[root, 0]]
    while (stack.length > 0) {
      const [span, depth] = stack.pop()!
      if (placed.has(span.spanId)) continue
      placed.add(span.spanId)
      rows.push({
        span,
        depth,
        offset: durationMs > 0 ? (span.startMs - startMs) / durationMs : 0,
        width: durationMs > 0 ? span.durationMs / durationMs : 1
      })
      const kids = children.get(span.spanId) ?? []
      for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1])
    }
  }
  for (const root of children.get(null) ?? []) place(root)
  // Spans only reachable through a cycle of parents have no root: show them at the top level.
  for (const span of [...spans].sort(byStart)) if (!placed.has(span.spanId)) place(span)
  return { startMs, durationMs, rows }
}
