/**
 * What a chart shows: which series it needs and how it turns their points into lines
 * (values as they are, per-second rates of counters, histogram quantiles, a hit ratio).
 * @module
 */
import type { SeriesSelector } from '../../src/index.js'
import type { Unit } from '../core/format.js'
import { counterRate, hitRatio } from './rate.js'
import type { Point } from './ring.js'
import { type Labels, type SeriesBuffers, labelValuesText } from './series.js'

/** One line of a chart. */
export interface Line {
  /** Legend label. */
  label: string
  /** Points, oldest first. */
  points: Point[]
}

/** A chart's definition. */
export interface PanelSpec {
  /** What the chart shows, its `data-metric`: a series or histogram name. */
  metric: string
  /** Heading. */
  title: string
  /** Unit of the lines' values. */
  unit: Unit
  /** The series it needs, for history queries and the live stream. */
  selectors: SeriesSelector[]
  /** Its lines, from the buffered points. */
  lines(buffers: SeriesBuffers): Line[]
}

/** The quantiles a histogram panel draws; the store keeps them as `<name>_p50` etc. */
const QUANTILES = ['p50', 'p90', 'p99'] as const

/** The distinct selectors of `panels`, for one stream that feeds them all. */
export function selectorsOf(panels: readonly PanelSpec[]): SeriesSelector[] {
  const seen = new Map<string, SeriesSelector>()
  for (const panel of panels) {
    for (const s of panel.selectors) seen.set(JSON.stringify([s.name, s.labels ?? {}]), s)
  }
  return [...seen.values()]
}

function selector(name: string, labels?: Labels): SeriesSelector {
  return labels === undefined || Object.keys(labels).length === 0
    ? { name }
    : { name, labels: { ...labels } }
}

/** One line per series, labelled by its label values (or by the metric when it has none). */
function perSeries(
  name: string,
  labels: Labels | undefined,
  transform: (points: Point[]) => Point[]
): (buffers: SeriesBuffers) => Line[] {
  return (buffers) =>
    buffers.matching(selector(name, labels)).map((b) => ({
      label: labelValuesText(b.labels) || name,
      points: transform(b.ring.points())
    }))
}

/**
 * A gauge's values, one line per label set.
 *
 * @example
 * ```ts
 * gaugePanel('system_cpu_usage_percent', 'CPU', 'percent')
 * ```
 */
export function gaugePanel(name: string, title: string, unit: Unit, labels?: Labels): PanelSpec {
  return {
    metric: name,
    title,
    unit,
    selectors: [selector(name, labels)],
    lines: perSeries(name, labels, (p) => p)
  }
}

/**
 * A counter's per-second rate, one line per label set.
 *
 * @example
 * ```ts
 * ratePanel('api_requests_total', 'API requests', 'per_s')
 * ```
 */
export function ratePanel(name: string, title: string, unit: Unit, labels?: Labels): PanelSpec {
  return {
    metric: name,
    title,
    unit,
    selectors: [selector(name, labels)],
    lines: perSeries(name, labels, counterRate)
  }
}

/**
 * A histogram's p50, p90 and p99 (the store's `<name>_p50` … series, over all label sets).
 *
 * @example
 * ```ts
 * quantilePanel('frame_processing_duration_ms', 'Frame processing', 'ms')
 * ```
 */
export function quantilePanel(histogram: string, title: string, unit: Unit): PanelSpec {
  const names = QUANTILES.map((q) => `${histogram}_${q}`)
  return {
    metric: histogram,
    title,
    unit,
    selectors: names.map((name) => ({ name })),
    lines: (buffers) =>
      names.flatMap((name, i) =>
        buffers.matching({ name }).map((b) => ({ label: QUANTILES[i], points: b.ring.points() }))
      )
  }
}

/**
 * The share of hits among lookups per interval, from a hit and a miss counter.
 *
 * @example
 * ```ts
 * ratioPanel('cache_hit_ratio', 'Cache hit ratio', 'cache_hits_total', 'cache_misses_total')
 * ```
 */
export function ratioPanel(metric: string, title: string, hits: string, misses: string): PanelSpec {
  return {
    metric,
    title,
    unit: 'ratio',
    selectors: [{ name: hits }, { name: misses }],
    lines: (buffers) => {
      const [hit] = buffers.matching({ name: hits })
      const [miss] = buffers.matching({ name: misses })
      if (hit === undefined || miss === undefined) return []
      return [{ label: 'hit ratio', points: hitRatio(hit.ring.points(), miss.ring.points()) }]
    }
  }
}
