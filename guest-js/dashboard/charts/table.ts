/**
 * Lines on one x axis in typed columns: what alignment produces, decimation reduces, and
 * uPlot draws.
 * @module
 */

/**
 * Rows of lines on one x axis: `xs` ascending, `ys[l][i]` the value of line `l` at
 * `xs[i]`, `NaN` where that line has none. Only the first `length` rows count; the
 * columns may be longer.
 */
export interface Table {
  readonly length: number
  readonly xs: Float64Array
  readonly ys: readonly Float64Array[]
}

/**
 * Reusable columns for a {@link Table}: grown when asked for more room, never shrunk, so
 * a chart redrawn every second allocates nothing once they fit.
 *
 * @example
 * ```ts
 * const table = new TableBuffer()
 * table.reserve(2, 100) // 2 lines, room for 100 rows (and the rows it had)
 * table.xs[0] = Date.now()
 * table.ys[0][0] = 4
 * table.ys[1][0] = NaN // line 1 has no value there
 * table.length = 1
 * ```
 */
export class TableBuffer implements Table {
  length = 0
  xs: Float64Array = new Float64Array(0)
  ys: Float64Array[] = []

  /** Makes room for `rows` rows of `lines` lines, keeping the first `length` rows. */
  reserve(lines: number, rows: number): void {
    const room = rows <= this.xs.length ? this.xs.length : roomFor(rows)
    if (room !== this.xs.length) this.xs = grown(this.xs, room, this.length)
    this.ys.length = Math.min(this.ys.length, lines)
    for (let l = 0; l < lines; l++) {
      if (l === this.ys.length) this.ys[l] = new Float64Array(room)
      else if (this.ys[l].length < room) this.ys[l] = grown(this.ys[l], room, this.length)
    }
  }
}

/** `column` in a new column of `room` rows, with its first `keep` rows. */
function grown(column: Float64Array, room: number, keep: number): Float64Array {
  const out = new Float64Array(room)
  out.set(column.subarray(0, Math.min(keep, column.length)))
  return out
}

/** A power of two: a column that grows one row at a time is not made again each time. */
function roomFor(rows: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(rows, 16)))
}
