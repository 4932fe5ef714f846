/**
 * The trace list's model: rows from `listTraces` and from live `onTrace` summaries, the
 * list's filters, and a capped, de-duplicated list newest first.
 * @module
 */
import type { TraceFilter, TraceRecord, TraceSummary } from '../../src/index.js'

/** The filters of the trace list. */
export interface TraceListFilter {
  /** Root name contains this (case-sensitive, as the engine matches). */
  name: string
  /** Failed traces only. */
  errorsOnly: boolean
  /** Root lasted at least this many ms (0: any). */
  minDurationMs: number
}

/** A trace summary as the list shows it: a live summary, or a listed record's. */
export function summaryOf(record: TraceRecord): TraceSummary {
  return {
    traceId: record.traceId,
    name: record.name,
    startMs: record.startMs,
    durationMs: record.durationMs,
    error: record.error,
    spanCount: record.spans.length
  }
}

/** The engine's filter for `listTraces`, with at most `limit` traces. */
export function toTraceFilter(filter: TraceListFilter, limit: number): TraceFilter {
  return {
    ...(filter.name !== '' ? { name: filter.name } : {}),
    ...(filter.errorsOnly ? { error: true } : {}),
    ...(filter.minDurationMs > 0 ? { minDurationMs: filter.minDurationMs } : {}),
    limit
  }
}

/** Whether a live summary passes the filters. */
export function passes(summary: TraceSummary, filter: TraceListFilter): boolean {
  return (
    summary.name.includes(filter.name) &&
    (!filter.errorsOnly || summary.error) &&
    summary.durationMs >= filter.minDurationMs
  )
}

/**
 * At most `capacity` summaries, newest start first, each trace once.
 *
 * @example
 * ```ts
 * const list = new TraceList(500)
 * list.add((await client.listTraces()).map(summaryOf))
 * ```
 */
export class TraceList {
  private items: TraceSummary[] = []

  /** A list that keeps the `capacity` newest traces. */
  constructor(readonly capacity: number) {}

  /** The summaries, newest first. */
  get all(): readonly TraceSummary[] {
    return this.items
  }

  /** Adds summaries (a trace already listed is replaced); returns whether the list changed. */
  add(summaries: readonly TraceSummary[]): boolean {
    if (summaries.length === 0) return false
    const byId = new Map(this.items.map((s) => [s.traceId, s]))
    for (const s of summaries) byId.set(s.traceId, s)
    this.items = [...byId.values()].sort((a, b) => b.startMs - a.startMs).slice(0, this.capacity)
    return true
  }

  /** Empties it. */
  clear(): void {
    this.items = []
  }
}

/** The engine's gauge of the share of traces its store keeps (1 below its rate limit). */
export const KEPT_RATIO_SERIES = 'telemetry_store_traces_kept_ratio'

/** The engine's counter of the traces its store passed over under load. */
export const PASSED_OVER_SERIES = 'telemetry_store_traces_passed_over_total'

/**
 * What the trace list says about the store's load: `undefined` while it keeps every trace
 * (or has not said), else the share it keeps and the traces it passed over. `kept` and
 * `passedOver` are the last values of the two series.
 *
 * @example
 * ```ts
 * loadNote(0.125, 7000) // 'Many traces end: the list keeps about 12.5% of them …'
 * ```
 */
export function loadNote(kept: number | undefined, passedOver: number | undefined): string | undefined {
  if (kept === undefined || !(kept < 1)) return undefined
  const percent = kept * 100
  const share = percent >= 1 ? percent.toPrecision(3).replace(/\.?0+$/, '') : percent.toPrecision(1)
  const passed =
    passedOver !== undefined && passedOver > 0
      ? ` (${Math.round(passedOver).toLocaleString('en-US')} passed over so far)`
      : ''
  return `Many traces end: the list keeps about ${share}% of them, chosen by trace id${passed}. Every failed span is kept with its trace.`
}
