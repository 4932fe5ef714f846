/**
 * Counters made readable: per-second rates that survive restarts, and a hit ratio. Each is
 * a ring of its own, brought up to date with only the counter points added since it was
 * last read (a full pass only after its counters were emptied).
 * @module
 */
import { PointRing } from './ring.js'

/**
 * How much `counter` grew from point `i - 1` to point `i`. A drop means the counter
 * restarted from zero, so the new value is the increase (as Prometheus' `rate` reads it).
 */
function increase(counter: PointRing, i: number): number {
  const previous = counter.value(i - 1)
  const value = counter.value(i)
  return value >= previous ? value - previous : value
}

/** The index of the first point of `ring` after `ts`, or its size (looked for from the end). */
function firstAfter(ring: PointRing, ts: number): number {
  let i = ring.size
  while (i > 0 && ring.ts(i - 1) > ts) i -= 1
  return i
}

/** The oldest point of `counter` that has an increase (the one after its oldest), or `Infinity`. */
function firstIncreaseTs(counter: PointRing): number {
  return counter.size > 1 ? counter.ts(1) : Infinity
}

/**
 * The per-second rate of a counter between consecutive points, stamped with the later
 * point's time; the counter's points must be in ascending time order (as `SeriesBuffers`
 * keeps them).
 *
 * @example
 * ```ts
 * const counter = new PointRing(8)
 * counter.push(0, 10)
 * counter.push(1000, 30)
 * const rate = new CounterRate(counter)
 * rate.update() // rate.ring: (1000, 20)
 * counter.push(2000, 5) // a restart: 5 counted since
 * rate.update() // rate.ring: (1000, 20), (2000, 5)
 * ```
 */
export class CounterRate {
  /** The rates, oldest first; as many as the counter has points after its oldest. */
  readonly ring: PointRing
  private epoch = -1
  /** The newest counter timestamp taken. */
  private seen = -Infinity

  constructor(private readonly counter: PointRing) {
    this.ring = new PointRing(counter.capacity)
  }

  /** Takes the counter's points added since the last call; forgets rates of points it dropped. */
  update(): void {
    const { counter, ring } = this
    if (counter.epoch !== this.epoch) {
      ring.clear()
      this.seen = -Infinity
      this.epoch = counter.epoch
    }
    for (let i = Math.max(1, firstAfter(counter, this.seen)); i < counter.size; i++) {
      const elapsed = counter.ts(i) - counter.ts(i - 1)
      if (elapsed > 0) ring.push(counter.ts(i), (increase(counter, i) * 1000) / elapsed)
    }
    this.seen = Math.max(this.seen, counter.lastTs)
    ring.dropBefore(firstIncreaseTs(counter))
  }
}

/**
 * The share of hits among the lookups of each interval, from two counters sampled at the
 * same times; intervals with no lookup, or sampled by only one counter, are left out.
 * Both counters' points must be in ascending time order.
 *
 * @example
 * ```ts
 * const hits = new PointRing(8)
 * const misses = new PointRing(8)
 * hits.push(0, 0)
 * misses.push(0, 0)
 * hits.push(1000, 3)
 * misses.push(1000, 1)
 * const ratio = new HitRatio(hits, misses)
 * ratio.update() // ratio.ring: (1000, 0.75)
 * ```
 */
export class HitRatio {
  /** The ratios, oldest first. */
  readonly ring: PointRing
  private hitsEpoch = -1
  private missesEpoch = -1
  /** The newest timestamp both counters had when last read: nothing at or before it can arrive. */
  private seen = -Infinity

  constructor(
    private readonly hits: PointRing,
    private readonly misses: PointRing
  ) {
    this.ring = new PointRing(Math.min(hits.capacity, misses.capacity))
  }

  /** Takes the points both counters gained since the last call; forgets ratios of dropped ones. */
  update(): void {
    const { hits, misses, ring } = this
    if (hits.epoch !== this.hitsEpoch || misses.epoch !== this.missesEpoch) {
      ring.clear()
      this.seen = -Infinity
      this.hitsEpoch = hits.epoch
      this.missesEpoch = misses.epoch
    }
    // A point only one counter has yet may still get its pair: wait for both.
    const upTo = Math.min(hits.lastTs, misses.lastTs)
    let j = Math.max(1, firstAfter(misses, this.seen))
    for (let i = Math.max(1, firstAfter(hits, this.seen)); i < hits.size; i++) {
      const ts = hits.ts(i)
      if (ts > upTo) break
      while (j < misses.size && misses.ts(j) < ts) j += 1
      if (j >= misses.size || misses.ts(j) !== ts) continue
      const hit = increase(hits, i)
      const miss = increase(misses, j)
      if (hit + miss > 0) ring.push(ts, hit / (hit + miss))
    }
    this.seen = Math.max(this.seen, upTo)
    ring.dropBefore(Math.max(firstIncreaseTs(hits), firstIncreaseTs(misses)))
  }
}
