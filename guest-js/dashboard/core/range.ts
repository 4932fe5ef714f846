/**
 * The time ranges the charts show.
 * @module
 */

/** A time range id, as the range selector's values. */
export type RangeId = '5m' | '1h' | 'all'

/** How a range loads and keeps points. */
export interface Range {
  /** Shown in the selector. */
  label: string
  /** How far back from now, or `null` for the store's whole retention. */
  spanMs: number | null
  /** History is thinned to one point per step. */
  stepMs: number
}

/** The ranges, in selector order. */
export const RANGES: Readonly<Record<RangeId, Range>> = {
  '5m': { label: 'Last 5 min', spanMs: 5 * 60_000, stepMs: 1000 },
  '1h': { label: 'Last 1 h', spanMs: 60 * 60_000, stepMs: 5000 },
  all: { label: 'All kept', spanMs: null, stepMs: 5000 }
}

/** Whether `value` names a range. */
export function isRangeId(value: string): value is RangeId {
  return Object.prototype.hasOwnProperty.call(RANGES, value)
}
