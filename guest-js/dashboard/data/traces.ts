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
