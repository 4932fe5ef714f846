/**
 * A fixed-capacity ring of `(timestamp, value)` points in two typed columns: the memory of
 * one live series never grows past its capacity, and reading it allocates nothing.
 * @module
 */

/**
 * Points oldest first in two preallocated columns; pushing into a full ring overwrites the
 * oldest point. Index `0` is the oldest point kept, `size - 1` the newest.
 *
 * @example
 * ```ts
 * const ring = new PointRing(3)
 * for (const t of [1, 2, 3, 4]) ring.push(t, t * 10)
 * ring.size // 3
 * ring.ts(0) // 2, the oldest kept
 * ring.value(2) // 40, the newest
 * ```
 */
export class PointRing {
  private readonly times: Float64Array
  private readonly values: Float64Array
  private start = 0
  private length = 0
  private cleared = 0

  /** A ring of at most `capacity` (≥ 1) points. */
  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`capacity: must be at least 1, got ${capacity}`)
    this.times = new Float64Array(capacity)
    this.values = new Float64Array(capacity)
  }

  /** How many points it holds. */
  get size(): number {
    return this.length
  }

  /**
   * How many times it was emptied: what is derived from its points (rates, ratios) starts
   * over when this changes.
   */
  get epoch(): number {
    return this.cleared
  }

  /** The newest timestamp, or `-Infinity` when empty. */
  get lastTs(): number {
    return this.length === 0 ? -Infinity : this.times[this.slot(this.length - 1)]
  }

  /** The newest value, or `undefined` when empty. */
  get lastValue(): number | undefined {
    return this.length === 0 ? undefined : this.values[this.slot(this.length - 1)]
  }

  /** The timestamp of point `i` (`0` is the oldest). */
  ts(i: number): number {
    return this.times[this.slot(i)]
  }

  /** The value of point `i` (`0` is the oldest). */
  value(i: number): number {
    return this.values[this.slot(i)]
  }

  /** Appends a point, dropping the oldest when full. */
  push(ts: number, value: number): void {
    if (this.length < this.capacity) {
      const at = this.slot(this.length)
      this.times[at] = ts
      this.values[at] = value
      this.length += 1
    } else {
      this.times[this.start] = ts
      this.values[this.start] = value
      this.start = (this.start + 1) % this.capacity
    }
  }

  /** Drops the points older than `ts`. */
  dropBefore(ts: number): void {
    while (this.length > 0 && this.times[this.start] < ts) {
      this.start = (this.start + 1) % this.capacity
      this.length -= 1
    }
    if (this.length === 0) this.start = 0
  }

  /** Empties it. */
  clear(): void {
    this.start = 0
    this.length = 0
    this.cleared += 1
  }

  /**
   * Copies the timestamps and values, oldest first, to the start of `ts` and `values`
   * (each at least {@link PointRing.size} long); returns how many were copied.
   */
  copyTo(ts: Float64Array, values: Float64Array): number {
    const head = Math.min(this.length, this.capacity - this.start)
    ts.set(this.times.subarray(this.start, this.start + head))
    values.set(this.values.subarray(this.start, this.start + head))
    if (head < this.length) {
      ts.set(this.times.subarray(0, this.length - head), head)
      values.set(this.values.subarray(0, this.length - head), head)
    }
    return this.length
  }

  private slot(i: number): number {
    const at = this.start + i
    return at < this.capacity ? at : at - this.capacity
  }
}
