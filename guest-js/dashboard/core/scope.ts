/**
 * Lifetimes: everything a view or the dashboard starts (intervals, series streams, event
 * listeners, charts) is added to a scope and stopped when that scope closes.
 * @module
 */

/** What to run when a scope closes; a returned promise may reject, it is ignored. */
export type Stop = () => unknown

/**
 * A set of things to stop together. Adding to a closed scope stops the thing at once, so
 * a subscription that resolves after its view was left is ended instead of leaking.
 *
 * @example
 * ```ts
 * const scope = new Scope()
 * scope.every(1000, poll)
 * scope.add(await client.onTrace(show))
 * scope.close() // clears the interval, stops listening
 * ```
 */
export class Scope {
  private readonly stops = new Set<Stop>()
  private done = false

  /** Whether {@link Scope.close} ran. */
  get closed(): boolean {
    return this.done
  }

  /** Runs `stop` on close (at once when already closed); returns a function that forgets it. */
  add(stop: Stop): () => void {
    if (this.done) {
      run(stop)
      return () => {}
    }
    this.stops.add(stop)
    return () => {
      this.stops.delete(stop)
    }
  }

  /** Calls `tick` every `ms` until close. */
  every(ms: number, tick: () => void): void {
    const id = setInterval(tick, ms)
    this.add(() => clearInterval(id))
  }

  /** A scope closed with this one, or before it; closing it early releases it from this one. */
  child(): Scope {
    const child = new Scope()
    const forget = this.add(() => child.close())
    child.add(forget)
    return child
  }

  /** Stops everything, newest first. Idempotent. */
  close(): void {
    if (this.done) return
    this.done = true
    const stops = [...this.stops].reverse()
    this.stops.clear()
    for (const stop of stops) run(stop)
  }
}

function run(stop: Stop): void {
  try {
    const result = stop()
    if (result instanceof Promise) result.catch(() => {})
  } catch {
    // Stopping is best effort: a stream whose server is gone has nothing left to stop.
  }
}
