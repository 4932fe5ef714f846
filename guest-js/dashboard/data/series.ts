/**
 * The live points of the series a view charts, one bounded ring per series.
 * @module
 */
import type { LatestValue, SeriesData, SeriesSelector } from '../../src/index.js'
import { PointRing } from './ring.js'

/** Labels of a series. */
export type Labels = Readonly<Record<string, string>>

/** One stored series and its points. */
export interface Buffer {
  /** Series name. */
  readonly name: string
  /** Its labels. */
  readonly labels: Labels
  /** Its points. */
  readonly ring: PointRing
}

/** Whether `labels` has every pair of `wanted`. */
function hasLabels(labels: Labels, wanted: Labels | undefined): boolean {
  return Object.entries(wanted ?? {}).every(([k, v]) => labels[k] === v)
}

/** Whether a series is selected by `selector`. */
function selects(selector: SeriesSelector, name: string, labels: Labels): boolean {
  return selector.name === name && hasLabels(labels, selector.labels)
}

/** `k=v, k=v` in key order, or `''` without labels: a series' identity. */
function labelText(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(', ')
}

/** The label values in key order (`POST /render 200`): a short legend label. */
export function labelValuesText(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => labels[k])
    .join(' ')
}

function keyOf(name: string, labels: Labels): string {
  return `${name}{${labelText(labels)}}`
}

/**
 * Rings keyed by series name and labels. History replaces a series' points; the live
 * stream appends a point only when it is newer than the series' last one (the stream
 * ticks faster than the store collects), so every ring is in ascending time order.
 * {@link SeriesBuffers.version} tells readers when the set of series changed.
 *
 * @example
 * ```ts
 * const buffers = new SeriesBuffers(4096)
 * buffers.load(await client.querySeries({ name: 'queue_size' }))
 * buffers.append(update.timestampMs, update.series)
 * buffers.matching({ name: 'queue_size' })
 * ```
 */
export class SeriesBuffers {
  private readonly buffers = new Map<string, Buffer>()
  private changes = 0

  /** Buffers of at most `capacity` points each. */
  constructor(private readonly capacity: number) {}

  /**
   * Changes whenever a series appears or all are forgotten (not when points are added):
   * what {@link SeriesBuffers.matching} answered stays right while it is the same.
   */
  get version(): number {
    return this.changes
  }

  /** Replaces the points of each series in `data`; points not after the one before are skipped. */
  load(data: readonly SeriesData[]): void {
    for (const series of data) {
      const ring = this.buffer(series.name, series.labels).ring
      ring.clear()
      for (const [ts, value] of series.points) if (ts > ring.lastTs) ring.push(ts, value)
    }
  }

  /** Appends the values of one stream update taken at `ts`; whether any point was added. */
  append(ts: number, values: readonly LatestValue[]): boolean {
    let added = false
    for (const value of values) {
      const ring = this.buffer(value.name, value.labels).ring
      if (ts > ring.lastTs) {
        ring.push(ts, value.value)
        added = true
      }
    }
    return added
  }

  /** Drops points older than `ts` everywhere. */
  dropBefore(ts: number): void {
    for (const buffer of this.buffers.values()) buffer.ring.dropBefore(ts)
  }

  /** Forgets every series. */
  clear(): void {
    this.buffers.clear()
    this.changes += 1
  }

  /** The series `selector` selects, in label order. */
  matching(selector: SeriesSelector): Buffer[] {
    return [...this.buffers.values()]
      .filter((b) => selects(selector, b.name, b.labels))
      .sort((a, b) => labelText(a.labels).localeCompare(labelText(b.labels)))
  }

  private buffer(name: string, labels: Labels): Buffer {
    const key = keyOf(name, labels)
    let buffer = this.buffers.get(key)
    if (buffer === undefined) {
      buffer = { name, labels: { ...labels }, ring: new PointRing(this.capacity) }
      this.buffers.set(key, buffer)
      this.changes += 1
    }
    return buffer
  }
}
