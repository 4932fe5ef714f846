/**
 * The benchmark's synthetic telemetry: the 50 series the dashboard's Metrics view charts
 * (the studio's metric names, with label sets chosen to make 50), their history and the
 * values of each stream tick. Seeded, so both sides of the benchmark see the same numbers.
 * @module
 */
import type { LatestValue, SeriesData, SeriesSelector } from '../../src/index.js'

/** How a series' value moves. */
export type Kind = 'gauge' | 'counter'

/** One synthetic series. */
export interface SeriesDef {
  /** Name as stored (`api_requests_total`, `api_request_duration_ms_p99`). */
  readonly name: string
  /** Labels. */
  readonly labels: Readonly<Record<string, string>>
  /** Gauges wander around `level`; counters grow by about `level` a second. */
  readonly kind: Kind
  /** Typical value (gauge) or increase a second (counter). */
  readonly level: number
}

/**
 * What a chart draws from its series: their values (gauges, quantiles), their per-second
 * rates (counters), or the share of the first counter's increase in both counters'
 * increase (a hit ratio).
 */
export type Draws = 'values' | 'rates' | 'ratio'

/**
 * One chart of the dashboard's Metrics view, in the view's order: the series its panel
 * selects, what it draws from them, and how many lines that makes.
 */
export interface ChartShape {
  /** The chart's `data-metric`. */
  readonly metric: string
  /** Its section heading in the Metrics view. */
  readonly section: string
  /** The series it needs. */
  readonly series: readonly SeriesDef[]
  /** What it draws from them. */
  readonly draws: Draws
  /** Lines drawn: one per series, or one for a ratio. */
  readonly lines: number
}

/** History points per series, one a second: an hour. */
export const HISTORY_POINTS = 3600

/** Spacing of the history points (ms). */
export const HISTORY_STEP_MS = 1000

/** Spacing of the stream ticks (ms): 10 updates a second. */
export const TICK_MS = 100

const gauge = (name: string, level: number, labels: Record<string, string> = {}): SeriesDef => ({
  name,
  labels,
  kind: 'gauge',
  level
})
const counter = (name: string, level: number, labels: Record<string, string> = {}): SeriesDef => ({
  name,
  labels,
  kind: 'counter',
  level
})
const quantiles = (histogram: string, p50: number): SeriesDef[] => [
  gauge(`${histogram}_p50`, p50),
  gauge(`${histogram}_p90`, p50 * 1.8),
  gauge(`${histogram}_p99`, p50 * 3)
]
const each = (key: string, values: string[], make: (labels: Record<string, string>) => SeriesDef) =>
  values.map((value) => make({ [key]: value }))

const CODECS = ['h264', 'h265', 'vp9', 'av1']
const ENDPOINTS = ['/render', '/upload', '/status', '/thumbnail', '/export']
const TASKS = ['decode', 'encode', 'mux', 'thumbnail', 'upload']
const QUEUES = ['ingest', 'render', 'encode', 'publish', 'retry']

const chart = (section: string, metric: string, series: SeriesDef[], ratio = false): ChartShape => {
  const draws: Draws = ratio ? 'ratio' : series[0].kind === 'counter' ? 'rates' : 'values'
  return { metric, section, series, draws, lines: draws === 'ratio' ? 1 : series.length }
}

/**
 * The charts of the Metrics view (`views/metrics.ts`, same order and panels) with the
 * series this benchmark serves them: 50 series, 49 lines (the hit ratio draws one line
 * from two counters), 15 charts.
 */
export const CHARTS: readonly ChartShape[] = [
  chart(
    'Video and frames',
    'video_processing_duration_ms',
    quantiles('video_processing_duration_ms', 900)
  ),
  chart(
    'Video and frames',
    'frame_processing_duration_ms',
    quantiles('frame_processing_duration_ms', 12)
  ),
  chart(
    'Video and frames',
    'frames_processed_total',
    each('pipeline', ['live', 'batch'], (l) => counter('frames_processed_total', 240, l))
  ),
  chart(
    'Video and frames',
    'videos_processed_total',
    each('codec', CODECS, (l) => counter('videos_processed_total', 0.5, l))
  ),
  chart(
    'Video and frames',
    'encoding_speed_fps',
    each('codec', CODECS, (l) => gauge('encoding_speed_fps', 60, l))
  ),
  chart(
    'API',
    'api_requests_total',
    each('endpoint', ENDPOINTS, (l) => counter('api_requests_total', 40, l))
  ),
  chart('API', 'api_request_duration_ms', quantiles('api_request_duration_ms', 25)),
  chart(
    'API',
    'api_errors_total',
    each('endpoint', ENDPOINTS, (l) => counter('api_errors_total', 0.8, l))
  ),
  chart(
    'Cache',
    'cache_hits_total',
    [counter('cache_hits_total', 90), counter('cache_misses_total', 10)],
    true
  ),
  chart('Cache', 'cache_size_bytes', [gauge('cache_size_bytes', 512 * 1024 * 1024)]),
  chart('Cache', 'cache_evictions_total', [counter('cache_evictions_total', 3)]),
  chart(
    'Workers and tasks',
    'worker_pool_utilization',
    each('pool', ['cpu', 'io'], (l) => gauge('worker_pool_utilization', 0.6, l))
  ),
  chart(
    'Workers and tasks',
    'tasks_executed_total',
    each('task', TASKS, (l) => counter('tasks_executed_total', 20, l))
  ),
  chart(
    'Workers and tasks',
    'tasks_failed_total',
    each('task', TASKS, (l) => counter('tasks_failed_total', 0.2, l))
  ),
  chart(
    'Workers and tasks',
    'queue_size',
    each('queue', QUEUES, (l) => gauge('queue_size', 30, l))
  )
]

/** Every series of {@link CHARTS}, once each. */
export const SERIES: readonly SeriesDef[] = CHARTS.flatMap((c) => c.series)

/** `name{k=v,…}`: a series' identity. */
export function keyOf(name: string, labels: Readonly<Record<string, string>>): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
  return `${name}{${pairs.join(',')}}`
}

/** Whether `selector` selects the series `def`. */
export function selects(selector: SeriesSelector, def: SeriesDef): boolean {
  if (selector.name !== def.name) return false
  return Object.entries(selector.labels ?? {}).every(([k, v]) => def.labels[k] === v)
}

/** A small seeded generator (mulberry32): the same numbers on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * The series' values over time: an hour of history, then one tick per {@link TICK_MS}.
 *
 * @example
 * ```ts
 * const source = new Source(Date.now())
 * const history = source.history() // SERIES.length × HISTORY_POINTS points
 * const values = source.tick(TICK_MS) // the newest value of every series
 * ```
 */
export class Source {
  private readonly next = random(0x0715)
  private readonly values: Float64Array
  private readonly past: Array<Array<[number, number]>>

  /** History whose newest point is at `endMs`. */
  constructor(readonly endMs: number) {
    this.values = new Float64Array(SERIES.length)
    SERIES.forEach((def, i) => (this.values[i] = def.kind === 'gauge' ? def.level : 0))
    this.past = SERIES.map(() => [])
    for (let p = HISTORY_POINTS - 1; p >= 0; p--) {
      this.step(HISTORY_STEP_MS)
      const ts = endMs - p * HISTORY_STEP_MS
      SERIES.forEach((_, i) => this.past[i].push([ts, this.values[i]]))
    }
  }

  /** What `query_series` answers for `selector`: its series with their whole history. */
  query(selector: SeriesSelector): SeriesData[] {
    const out: SeriesData[] = []
    SERIES.forEach((def, i) => {
      if (selects(selector, def)) {
        out.push({ name: def.name, labels: { ...def.labels }, points: this.past[i] })
      }
    })
    return out
  }

  /** The history of series `i` of {@link SERIES}, oldest first. */
  history(i: number): ReadonlyArray<readonly [number, number]> {
    return this.past[i]
  }

  /**
   * Moves every series on by `ms` and returns their newest values as a stream update
   * carries them (fresh objects, as if just parsed).
   */
  tick(ms: number): LatestValue[] {
    this.step(ms)
    return SERIES.map((def, i) => ({
      name: def.name,
      labels: { ...def.labels },
      value: this.values[i]
    }))
  }

  private step(ms: number): void {
    SERIES.forEach((def, i) => {
      const noise = this.next() - 0.5
      if (def.kind === 'counter') {
        this.values[i] += Math.max(0, def.level * (ms / 1000) * (1 + noise))
      } else {
        // A random walk pulled back to its level.
        const v = this.values[i]
        this.values[i] = Math.max(0, v + (def.level - v) * 0.05 + def.level * 0.1 * noise)
      }
    })
  }
}
