/**
 * An in-memory engine behind a real {@link TelemetryClient}: canned answers for the
 * dashboard's read commands, the synthetic history for `query_series`, and series streams
 * the benchmark drives itself.
 * @module
 */
import {
  type LatestValue,
  type SeriesSelector,
  type SeriesUpdate,
  TelemetryClient,
  type Transport
} from '../../src/index.js'
import type { Panel } from '../../src/index.js'
import { CHARTS, SERIES, type Source, selects } from './source.js'

/**
 * The panels the engine would list for {@link CHARTS} (`get_panels`): a quantile chart
 * for each histogram's `_pNN` gauges, a rate chart for each counter, the hit ratio of the
 * cache's hits and misses, a value chart for each gauge; in the Metrics view's order.
 */
export function panels(): Panel[] {
  return CHARTS.map((chart) => {
    const quantiles = chart.series.every((s) => /_p\d+$/.test(s.name))
    const base = { section: chart.section, title: chart.metric, metric: chart.metric, labels: {} }
    if (chart.draws === 'ratio') return { ...base, kind: 'ratio', complement: chart.series[1].name }
    if (chart.draws === 'rates') return { ...base, kind: 'rate' }
    return { ...base, kind: quantiles ? 'quantiles' : 'value' }
  })
}

/** One open series stream. */
export interface Stream {
  /** Stream id, as the engine numbers them. */
  readonly id: number
  /** What it selected. */
  readonly selectors: readonly SeriesSelector[]
  /** For each series of {@link SERIES}, whether the stream carries it. */
  readonly carries: readonly boolean[]
  /** The dashboard's handler. */
  readonly onUpdate: (update: SeriesUpdate) => void
}

/**
 * The fake engine: `client` is what the dashboard is mounted with; `streams` are its open
 * series streams, which only move when the benchmark calls their `onUpdate`. Commands it
 * does not know are refused, so an unexpected call shows in the dashboard's error strip.
 *
 * @example
 * ```ts
 * const engine = new FakeEngine(new Source(Date.now()))
 * mountDashboard(root, { client: engine.client })
 * ```
 */
export class FakeEngine {
  /** The client the dashboard reads through. */
  readonly client: TelemetryClient
  /** Open series streams. */
  readonly streams = new Set<Stream>()
  /** Commands called, in order. */
  readonly calls: string[] = []
  private nextId = 1

  constructor(private readonly source: Source) {
    const answers: Record<string, (args: Record<string, unknown>) => unknown> = {
      get_health: () => ({ status: 'Healthy', checks: {} }),
      get_active_alerts: () => [],
      get_export_status: () => ({}),
      get_previous_crash: () => null,
      get_metric_catalogue: () => catalogue(),
      get_panels: () => panels(),
      query_series: (args) => this.source.query(args.query as SeriesSelector)
    }
    const transport: Transport = {
      call: async <T>(command: string, args?: Record<string, unknown>) => {
        this.calls.push(command)
        const answer = answers[command]
        if (answer === undefined) throw new Error(`the benchmark engine has no ${command}`)
        return answer(args ?? {}) as T
      },
      subscribe: async (selectors, _intervalMs, onUpdate) => {
        const stream: Stream = {
          id: this.nextId++,
          selectors,
          carries: SERIES.map((def) => selectors.some((s) => selects(s, def))),
          onUpdate
        }
        this.streams.add(stream)
        return async () => {
          this.streams.delete(stream)
        }
      },
      listen: async () => () => {}
    }
    this.client = new TelemetryClient(transport)
  }
}

/**
 * The update `stream` receives for one tick, `dropped` ticks skipped so far, whose values
 * (of every series) are `values`.
 */
export function updateFor(
  stream: Stream,
  seq: number,
  timestampMs: number,
  dropped: number,
  values: readonly LatestValue[]
): SeriesUpdate {
  return {
    id: stream.id,
    seq,
    timestampMs,
    dropped,
    series: values.filter((_, i) => stream.carries[i])
  }
}

/** The catalogue the Metrics view's explorer lists. */
function catalogue() {
  const byName = new Map<string, Array<Record<string, string>>>()
  for (const def of SERIES) {
    const base = def.name.replace(/_p(50|90|99)$/, '')
    const sets = byName.get(base) ?? []
    if (!sets.some((s) => JSON.stringify(s) === JSON.stringify(def.labels))) {
      sets.push({ ...def.labels })
    }
    byName.set(base, sets)
  }
  return [...byName].map(([name, labelSets]) => ({
    name,
    kind: name.endsWith('_total') ? 'counter' : name.endsWith('_ms') ? 'histogram' : 'gauge',
    unit: null,
    description: 'benchmark series',
    labelSets
  }))
}
