/**
 * A fixed-capacity ring of `(timestamp, value)` points: the memory of one live series
 * never grows past its capacity.
 * @module
 */

/** A `(Unix ms, value)` point. */
export type Point = readonly [number, number]

/**
 * Points oldest first in two preallocated arrays; pushing into a full ring overwrites the
 * oldest point.
 *
 * @example
 * ```ts
 * const ring = new PointRing(3)
 * for (const t of [1, 2, 3, 4]) ring.push(t, t * 10)
 * ring.points() // [[2, 20], [3, 30], [4, 40]]
 * ```
 */
export class PointRing {
  private readonly ts: Float64Array
  private readonly values: Float64Array
  private start = 0
  private length = 0

  /** A ring of at most `capacity` (≥ 1) points. */
  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`capacity: must be at least 1, got ${capacity}`)
    this.ts = new Float64Array(capacity)
    this.values = new Float64Array(capacity)
  }

  /** How many points it holds. */
  get size(): number {
    return this.length
  }

  /** The newest timestamp, or `-Infinity` when empty. */
  get lastTs(): number {
    return this.length === 0 ? -Infinity : this.ts[this.index(this.length - 1)]
  }

  /** Appends a point, dropping the oldest when full. */
  push(ts: number, value: number): void {
    if (this.length < this.capacity) {
      const at = this.index(this.length)
      this.ts[at] = ts
      this.values[at] = value
      this.length += 1
    } else {
      this.ts[this.start] = ts
      this.values[this.start] = value
      this.start = (this.start + 1) % this.capacity
    }
  }

  /** Drops the points older than `ts`. */
  dropBefore(ts: number): void {
    while (this.length > 0 && this.ts[this.start] < ts) {
      this.start = (this.start + 1) % this.capacity
      this.length -= 1
    }
  }

  /** Empties it. */
  clear(): void {
    this.start = 0
    this.length = 0
  }

  /** A copy of the points, oldest first. */
  points(): Point[] {
    const out: Point[] = new Array(this.length)
    for (let i = 0; i < this.length; i++) {
      const at = this.index(i)
      out[i] = [this.ts[at], this.values[at]]
    }
    return out
  }

  private index(i: number): number {
    return (this.start + i) % this.capacity
  }
}
