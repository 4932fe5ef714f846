/**
 * Log tail de-duplication: each poll returns the newest records, most of them already
 * shown; only the unseen ones are appended.
 * @module
 */
import type { LogRecord } from '../../src/index.js'

function keyOf(r: LogRecord): string {
  return JSON.stringify([r.timestampMs, r.level, r.target, r.message, r.spanId, r.fields])
}

/**
 * Remembers the newest timestamp seen and the records seen at that very millisecond, so a
 * record is accepted once even when polls overlap or several records share a timestamp.
 *
 * @example
 * ```ts
 * const tail = new LogTail()
 * setInterval(async () => show(tail.accept(await client.getLogs({ limit: 200 }))), 1000)
 * ```
 */
export class LogTail {
  private lastTs = -Infinity
  private atLast = new Set<string>()

  /** The records of `newestFirst` (a `getLogs` answer) not accepted before, oldest first. */
  accept(newestFirst: readonly LogRecord[]): LogRecord[] {
    const fresh: LogRecord[] = []
    for (let i = newestFirst.length - 1; i >= 0; i--) {
      const record = newestFirst[i]
      if (record.timestampMs < this.lastTs) continue
      const key = keyOf(record)
      if (record.timestampMs === this.lastTs) {
        if (this.atLast.has(key)) continue
      } else {
        this.lastTs = record.timestampMs
        this.atLast = new Set()
      }
      this.atLast.add(key)
      fresh.push(record)
    }
    return fresh
  }

  /** Forgets what was seen (after a filter change). */
  reset(): void {
    this.lastTs = -Infinity
    this.atLast = new Set()
  }
}
