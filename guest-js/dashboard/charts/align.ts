/**
 * Lines with their own timestamps, aligned on one x axis as uPlot draws them.
 * @module
 */
import type { Line } from '../data/panels.js'

/** Lines on one x axis. */
export interface Aligned {
  /** Every timestamp of every line, ascending, once each. */
  xs: number[]
  /** Per line, its value at each x, `null` where it has none. */
  ys: Array<Array<number | null>>
  /** Points drawn, summed over lines. */
  points: number
}

/**
 * Aligns lines on the union of their timestamps.
 *
 * @example
 * ```ts
 * align([{ label: 'a', points: [[1, 5]] }, { label: 'b', points: [[2, 6]] }])
 * // { xs: [1, 2], ys: [[5, null], [null, 6]], points: 2 }
 * ```
 */
export function align(lines: readonly Line[]): Aligned {
  const xs = [...new Set(lines.flatMap((l) => l.points.map(([ts]) => ts)))].sort((a, b) => a - b)
  const index = new Map(xs.map((x, i) => [x, i]))
  let points = 0
  const ys = lines.map((line) => {
    const y: Array<number | null> = new Array<number | null>(xs.length).fill(null)
    for (const [ts, value] of line.points) y[index.get(ts)!] = value
    points += y.filter((v) => v !== null).length
    return y
  })
  return { xs, ys, points }
}
