/**
 * Counters made readable: per-second rates that survive restarts, and a hit ratio.
 * @module
 */
import type { Point } from './ring.js'

/**
 * How much a counter grew between consecutive points, stamped with the later point's time:
 * `[ts, increase, elapsed ms]`. A drop means the counter restarted from zero, so the new
 * value is the increase (as Prometheus' `rate` reads it). Points not after the previous
 * one are skipped.
 */
function increases(points: readonly Point[]): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = []
  for (let i = 1; i < points.length; i++) {
    const [prevTs, prev] = points[i - 1]
    const [ts, value] = points[i]
    if (ts <= prevTs) continue
    out.push([ts, value >= prev ? value - prev : value, ts - prevTs])
  }
  return out
}

/**
 * The per-second rate of a counter between consecutive points.
 *
 * @example
 * ```ts
 * counterRate([[0, 10], [1000, 30], [2000, 5]]) // [[1000, 20], [2000, 5]]
 * ```
 */
export function counterRate(points: readonly Point[]): Point[] {
  return increases(points).map(([ts, delta, elapsed]) => [ts, (delta * 1000) / elapsed] as const)
}

/**
 * The share of hits among the lookups of each interval, from two counters sampled at the
 * same times; intervals with no lookup, or sampled by only one counter, are left out.
 *
 * @example
 * ```ts
 * hitRatio([[0, 0], [1000, 3]], [[0, 0], [1000, 1]]) // [[1000, 0.75]]
 * ```
 */
export function hitRatio(hits: readonly Point[], misses: readonly Point[]): Point[] {
  const missed = new Map(increases(misses).map(([ts, delta]) => [ts, delta]))
  const out: Point[] = []
  for (const [ts, hit] of increases(hits)) {
    const miss = missed.get(ts)
    if (miss === undefined || hit + miss === 0) continue
    out.push([ts, hit / (hit + miss)])
  }
  return out
}
