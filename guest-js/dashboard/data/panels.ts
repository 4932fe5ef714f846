/**
 * What a chart shows: which series it needs and how it turns their points into lines
 * (values as they are, per-second rates of counters, histogram quantiles, a hit ratio).
 * @module
 */
import type { Panel, SeriesSelector } from '../../src/index.js'
import type { Unit } from '../core/format.js'
import { CounterRate, HitRatio } from './rate.js'
import type { PointRing } from './ring.js'
import { type Buffer, type Labels, type SeriesBuffers, labelValuesText } from './series.js'

/** One line of a chart. */
export interface Line {
  /** Legend label. */
  readonly label: string
  /** Its points, oldest first: a series' own ring, or one derived from series. */
  readonly ring: PointRing
}

/**
 * A chart's lines as of now. The same array comes back for as long as the set of lines
 * is the same; their rings change in place.
 */
export type Lines = () => readonly Line[]

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
  /**
   * Its lines over `buffers`. The function returned looks the series up again only when
   * a series appeared or all were forgotten ({@link SeriesBuffers.version}), and brings
   * rates and ratios up to date with the points added since it last ran.
   */
  lines(buffers: SeriesBuffers): Lines
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

/** Lines, and the derived rings to bring up to date before they are read. */
interface Bound {
  lines: Line[]
  derived: Array<CounterRate | HitRatio>
}

/** {@link PanelSpec.lines} from `bind`, which matches series to lines (again when they change). */
function follow(buffers: SeriesBuffers, bind: () => Bound): Lines {
  let version = -1
  let bound: Bound = { lines: [], derived: [] }
  return () => {
    if (buffers.version !== version) {
      version = buffers.version
      bound = bind()
    }
    for (const derived of bound.derived) derived.update()
    return bound.lines
  }
}

/** A short legend label: the label values, or the metric's name when it has none. */
const labelOf = (name: string, buffer: Buffer) => labelValuesText(buffer.labels) || name

/**
 * A gauge's values, one line per label set.
 *
 * @example
 * ```ts
 * gaugePanel('system_cpu_usage_percent', 'CPU', 'percent')
 * ```
 */
export function gaugePanel(name: string, title: string, unit: Unit, labels?: Labels): PanelSpec {
  const wanted = selector(name, labels)
  return {
    metric: name,
    title,
    unit,
    selectors: [wanted],
    lines: (buffers) =>
      follow(buffers, () => ({
        lines: buffers.matching(wanted).map((b) => ({ label: labelOf(name, b), ring: b.ring })),
        derived: []
      }))
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
  const wanted = selector(name, labels)
  return {
    metric: name,
    title,
    unit,
    selectors: [wanted],
    lines: (buffers) =>
      follow(buffers, () => {
        const matched = buffers.matching(wanted)
        const rates = matched.map((b) => new CounterRate(b.ring))
        return {
          lines: matched.map((b, i) => ({ label: labelOf(name, b), ring: rates[i].ring })),
          derived: rates
        }
      })
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
      follow(buffers, () => ({
        lines: names.flatMap((name, i) =>
          buffers.matching({ name }).map((b) => ({ label: QUANTILES[i], ring: b.ring }))
        ),
        derived: []
      }))
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
    lines: (buffers) =>
      follow(buffers, () => {
        const [hit] = buffers.matching({ name: hits })
        const [miss] = buffers.matching({ name: misses })
        if (hit === undefined || miss === undefined) return { lines: [], derived: [] }
        const ratio = new HitRatio(hit.ring, miss.ring)
        return { lines: [{ label: 'hit ratio', ring: ratio.ring }], derived: [ratio] }
      })
  }
}

/**
 * How values of a metric's unit are shown: the units the formatter knows as they are,
 * any other unit (`frames`, `requests`) as a plain count.
 */
export function displayUnit(unit: string | null | undefined): Unit {
  switch (unit) {
    case 'ms':
    case 'bytes':
    case 'percent':
    case 'ratio':
    case 'fps':
      return unit
    default:
      return 'count'
  }
}

/**
 * The chart of a panel the engine describes (`get_panels`).
 *
 * @example
 * ```ts
 * panelOf({ section: 'Render', title: 'Frame time', kind: 'quantiles',
 *   metric: 'frame_render_ms', labels: {}, unit: 'ms' })
 * ```
 */
export function panelOf(panel: Panel): PanelSpec {
  const unit = displayUnit(panel.unit)
  switch (panel.kind) {
    case 'rate':
      return ratePanel(panel.metric, panel.title, unit === 'bytes' ? 'bytes/s' : 'per_s', panel.labels)
    case 'quantiles':
      return quantilePanel(panel.metric, panel.title, unit)
    case 'ratio':
      return ratioPanel(panel.metric, panel.title, panel.metric, panel.complement ?? '')
    default:
      return gaugePanel(panel.metric, panel.title, unit, panel.labels)
  }
}
