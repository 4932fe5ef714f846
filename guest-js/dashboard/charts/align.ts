/**
 * Lines with their own timestamps, aligned on one x axis as uPlot draws them.
 * @module
 */
import type { Line } from '../data/panels.js'
import { type Table, TableBuffer } from './table.js'

/**
 * Aligns lines on the union of their timestamps, into columns it reuses from one call to
 * the next (one aligner serves every chart of a view, drawn one after the other). Lines
 * that share their timestamps, as a chart's series mostly do, are only copied out of
 * their rings; others are merged in one pass over their ascending timestamps.
 *
 * @example
 * ```ts
 * const a = new PointRing(8)
 * const b = new PointRing(8)
 * a.push(1, 5)
 * a.push(3, 7)
 * b.push(2, 6)
 * const table = new Aligner().align([{ label: 'a', ring: a }, { label: 'b', ring: b }])
 * // table.xs: 1, 2, 3; table.ys: [5, NaN, 7], [NaN, 6, NaN] (valid until the next align)
 * ```
 */
export class Aligner {
  /** Each line's timestamps and values, copied out of its ring, and how many there are. */
  private readonly times: Float64Array[] = []
  private readonly values: Float64Array[] = []
  private readonly sizes: number[] = []
  /** Where the merge is in each line. */
  private readonly heads: number[] = []
  private readonly merged = new TableBuffer()

  /** The lines on one x axis; the table is overwritten by the next call. */
  align(lines: readonly Line[]): Table {
    const count = lines.length
    if (count === 0) return { length: 0, xs: this.merged.xs, ys: [] }
    const { times, values, sizes } = this
    for (let l = 0; l < count; l++) {
      const ring = lines[l].ring
      if (l === times.length || times[l].length < ring.capacity) {
        times[l] = new Float64Array(ring.capacity)
        values[l] = new Float64Array(ring.capacity)
      }
      sizes[l] = ring.copyTo(times[l], values[l])
    }
    let shared = true
    for (let l = 1; l < count && shared; l++) {
      shared = sizes[l] === sizes[0] && same(times[0], times[l], sizes[0])
    }
    if (shared) return { length: sizes[0], xs: times[0], ys: values.slice(0, count) }
    return this.merge(count)
  }

  /** A k-way merge of the copied timestamps: a row per timestamp, `NaN` where a line has none. */
  private merge(count: number): Table {
    const { times, values, sizes, heads, merged } = this
    for (let l = 0; l < count; l++) heads[l] = 0
    merged.length = 0
    // Room for the longest line; more as the union turns out longer.
    merged.reserve(count, Math.max(...sizes.slice(0, count)))
    let rows = 0
    for (;;) {
      let x = Infinity
      for (let l = 0; l < count; l++) {
        if (heads[l] < sizes[l] && times[l][heads[l]] < x) x = times[l][heads[l]]
      }
      if (x === Infinity) break
      if (rows === merged.xs.length) {
        merged.length = rows
        merged.reserve(count, rows + 1)
      }
      merged.xs[rows] = x
      for (let l = 0; l < count; l++) {
        const at = heads[l]
        if (at < sizes[l] && times[l][at] === x) {
          merged.ys[l][rows] = values[l][at]
          heads[l] = at + 1
        } else {
          merged.ys[l][rows] = NaN
        }
      }
      rows += 1
    }
    merged.length = rows
    return merged
  }
}

/** Whether the first `length` entries of `a` and `b` are equal. */
function same(a: Float64Array, b: Float64Array, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false
  return true
}
