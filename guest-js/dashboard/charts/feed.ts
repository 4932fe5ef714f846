/**
 * Live charts of a view: history for the selected range from `querySeries`, then the
 * points of one `subscribeSeries` stream appended at every tick, drawn at most once a
 * frame.
 * @module
 */
import type { SeriesSelector, SeriesUpdate } from '../../src/index.js'
import type { Context } from '../core/context.js'
import { h } from '../core/dom.js'
import { RANGES } from '../core/range.js'
import type { Scope } from '../core/scope.js'
import { type PanelSpec, selectorsOf } from '../data/panels.js'
import { SeriesBuffers } from '../data/series.js'
import { Aligner } from './align.js'
import { Chart, type ChartShared } from './chart.js'
import { ThemeColours } from './colours.js'
import { FrameQueue } from './frame.js'

/** Points kept per series: an hour at one point a second fits. */
const POINTS_PER_SERIES = 4096

/** How often the live stream ticks (ms). */
const STREAM_INTERVAL_MS = 1000

/** A titled group of charts. */
export interface Section {
  /** Heading, if any. */
  title?: string
  /** Its charts. */
  panels: PanelSpec[]
}

/**
 * Builds the charts of `sections` and keeps them live until `scope` closes: one history
 * load per selector, one stream for all. A range change or a resume reloads the history;
 * while paused, stream updates are dropped. Loads and updates only mark the charts; the
 * next animation frame draws each marked chart once (none while the page is hidden, and
 * none after the view is left).
 *
 * @example
 * ```ts
 * const queue = gaugePanel('queue_size', 'Queue', 'count')
 * view.append(liveCharts(ctx, scope, [{ title: 'Workers', panels: [queue] }]))
 * ```
 */
export function liveCharts(ctx: Context, scope: Scope, sections: readonly Section[]): HTMLElement {
  const panels = sections.flatMap((s) => s.panels)
  const buffers = new SeriesBuffers(POINTS_PER_SERIES)
  const selectors = selectorsOf(panels)
  const root = h('div', { class: 'chart-sections' })
  const queue = new FrameQueue<Chart>((marked) => {
    const span = RANGES[ctx.range].spanMs
    if (span !== null) buffers.dropBefore(ctx.now() - span)
    for (const chart of marked) chart.draw()
  })
  const shared: ChartShared = {
    colours: new ThemeColours(root),
    aligner: new Aligner(),
    request: (chart) => queue.mark(chart)
  }
  const charts = new Map(
    panels.map((panel) => [panel, new Chart(panel, panel.lines(buffers), shared)])
  )
  /** Marks every chart; `now` makes each draw even if nothing moved a pixel. */
  const markAll = (now: boolean) =>
    charts.forEach((chart) => {
      if (now) chart.invalidate()
      queue.mark(chart)
    })
  scope.add(() => {
    queue.cancel()
    charts.forEach((chart) => chart.destroy())
  })
  let generation = 0
  let loading = false

  const sync = async () => {
    const mine = ++generation
    loading = true
    const range = RANGES[ctx.range]
    const query = (s: SeriesSelector) =>
      ctx.call('query_series', () =>
        ctx.client.querySeries({
          ...s,
          ...(range.spanMs !== null ? { fromMs: ctx.now() - range.spanMs } : {}),
          stepMs: range.stepMs
        })
      )
    const answers = await Promise.all(selectors.map(query))
    if (mine !== generation || scope.closed) return
    buffers.clear()
    for (const answer of answers) if (answer !== undefined) buffers.load(answer)
    loading = false
    markAll(true)
  }

  const onUpdate = (update: SeriesUpdate) => {
    if (ctx.paused || loading || scope.closed) return
    if (buffers.append(update.timestampMs, update.series)) markAll(false)
  }

  ctx.watch(scope, (setting) => {
    if (setting === 'range' || (setting === 'paused' && !ctx.paused)) void sync()
    if (setting === 'theme') {
      shared.colours.invalidate()
      markAll(true)
    }
  })
  void sync().then(async () => {
    if (scope.closed) return
    await ctx.start(scope, 'subscribe_series', async () => {
      const stream = await ctx.client.subscribeSeries(selectors, STREAM_INTERVAL_MS, onUpdate)
      return () => stream.unsubscribe()
    })
  })

  root.append(
    ...sections.map((section) =>
      h(
        'section',
        { class: 'chart-section' },
        section.title !== undefined && h('h3', {}, section.title),
        h('div', { class: 'chart-grid' }, ...section.panels.map((p) => charts.get(p)!.element))
      )
    )
  )
  return root
}
