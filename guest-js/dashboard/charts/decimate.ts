/**
 * Decimation: lines reduced to what a plot's pixel columns can show, keeping every spike.
 * @module
 */
import type { Table, TableBuffer } from './table.js'

/**
 * Reduces `table` to at most four rows per pixel column (M4: the first, the minimum, the
 * maximum and the last value of each line in the column), into `out`. The x range
 * `xs[0]`…`xs[length - 1]` is spread over `columns` pixel columns as uPlot places points
 * (rounded to the nearest column), so every line still covers, in each column, the pixels
 * its full data would (anti-aliasing may shade them a little differently): a slow frame
 * or an error burst shorter than a pixel still shows as a spike. Columns with four rows or
 * fewer are copied as they are; in a reduced column the extremes of each line keep their
 * order in time, and the four rows sit at the column's first and last timestamps. The
 * first and the last row are kept.
 *
 * For a plot `W` canvas pixels wide, uPlot places the x range on positions `0`…`W`:
 * pass `W + 1` columns.
 *
 * @example
 * ```ts
 * const out = decimate(aligner.align(lines), plot.bbox.width + 1, new TableBuffer())
 * out.length // ≤ 4 × (plot.bbox.width + 1), and never more than the table's length
 * ```
 * @throws RangeError when `columns` is not a positive integer.
 */
export function decimate(table: Table, columns: number, out: TableBuffer): TableBuffer {
  if (!Number.isInteger(columns) || columns < 1) {
    throw new RangeError(`columns: must be a positive integer, got ${columns}`)
  }
  const { length, xs, ys } = table
  out.length = 0
  out.reserve(ys.length, Math.min(length, 4 * columns))
  const ends = groups(xs, length, columns)
  let rows = 0
  let start = 0
  for (const end of ends) {
    if (end - start <= 4) {
      for (let i = start; i < end; i++) out.xs[rows++] = xs[i]
    } else {
      out.xs[rows] = out.xs[rows + 1] = xs[start]
      out.xs[rows + 2] = out.xs[rows + 3] = xs[end - 1]
      rows += 4
    }
    start = end
  }
  for (let l = 0; l < ys.length; l++) reduceLine(ys[l], ends, out.ys[l])
  out.length = rows
  return out
}

/** Where each pixel column's rows end: rows `ends[k - 1]`…`ends[k] - 1` fall in one column. */
function groups(xs: Float64Array, length: number, columns: number): number[] {
  const ends: number[] = []
  if (length === 0) return ends
  const x0 = xs[0]
  const span = xs[length - 1] - x0
  const scale = span > 0 ? (columns - 1) / span : 0
  let column = 0
  for (let i = 1; i < length; i++) {
    const at = Math.round((xs[i] - x0) * scale)
    if (at !== column) {
      ends.push(i)
      column = at
    }
  }
  ends.push(length)
  return ends
}

/**
 * One line's rows: copied in columns of four rows or fewer, else its first, its extremes
 * in time order, and its last value (`NaN` four times where it has no value).
 */
function reduceLine(y: Float64Array, ends: readonly number[], o: Float64Array): void {
  let row = 0
  let start = 0
  for (const end of ends) {
    if (end - start <= 4) {
      for (let i = start; i < end; i++) o[row++] = y[i]
      start = end
      continue
    }
    let firstAt = -1
    let lastAt = -1
    let minAt = -1
    let maxAt = -1
    for (let i = start; i < end; i++) {
      const v = y[i]
      if (v !== v) continue // NaN: no value here
      if (firstAt < 0) {
        firstAt = minAt = maxAt = i
      } else if (v < y[minAt]) {
        minAt = i
      } else if (v > y[maxAt]) {
        maxAt = i
      }
      lastAt = i
    }
    if (firstAt < 0) {
      o[row] = o[row + 1] = o[row + 2] = o[row + 3] = NaN
    } else {
      o[row] = y[firstAt]
      o[row + 1] = y[Math.min(minAt, maxAt)]
      o[row + 2] = y[Math.max(minAt, maxAt)]
      o[row + 3] = y[lastAt]
    }
    row += 4
    start = end
  }
}
