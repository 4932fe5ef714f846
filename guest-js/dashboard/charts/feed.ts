/**
 * Live charts of a view: history for the selected range from `querySeries`, then the
 * points of one `subscribeSeries` stream appended at every tick.
 * @module
 */
import type { SeriesSelector, SeriesUpdate } from '../../src/index.js'
import type { Context } from '../core/context.js'
import { h } from '../core/dom.js'
import { RANGES } from '../core/range.js'
import type { Scope } from '../core/scope.js'
import { type PanelSpec, selectorsOf } from '../data/panels.js'
import { SeriesBuffers } from '../data/series.js'
import { Chart } from './chart.js'

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
 * while paused, stream updates are dropped and nothing is redrawn.
 *
 * @example
 * ```ts
 * const queue = gaugePanel('queue_size', 'Queue', 'count')
 * view.append(liveCharts(ctx, scope, [{ title: 'Workers', panels: [queue] }]))
 * ```
 */
export function liveCharts(ctx: Context, scope: Scope, sections: readonly Section[]): HTMLElement {
  const panels = sections.flatMap((s) => s.panels)
  const charts = new Map(panels.map((panel) => [panel, new Chart(panel)]))
  scope.add(() => charts.forEach((chart) => chart.destroy()))
  const buffers = new SeriesBuffers(POINTS_PER_SERIES)
  const selectors = selectorsOf(panels)
  let generation = 0
  let loading = false

  const redraw = () => {
    const span = RANGES[ctx.range].spanMs
    if (span !== null) buffers.dropBefore(Date.now() - span)
    charts.forEach((chart, panel) => chart.draw(panel.lines(buffers)))
  }

  const sync = async () => {
    const mine = ++generation
    loading = true
    const range = RANGES[ctx.range]
    const query = (s: SeriesSelector) =>
      ctx.call('query_series', () =>
        ctx.client.querySeries({
          ...s,
          ...(range.spanMs !== null ? { fromMs: Date.now() - range.spanMs } : {}),
          stepMs: range.stepMs
        })
      )
    const answers = await Promise.all(selectors.map(query))
    if (mine !== generation || scope.closed) return
    buffers.clear()
    for (const answer of answers) if (answer !== undefined) buffers.load(answer)
    loading = false
    redraw()
  }

  const onUpdate = (update: SeriesUpdate) => {
    if (ctx.paused || loading || scope.closed) return
    if (buffers.append(update.timestampMs, update.series)) redraw()
  }

  ctx.watch(scope, (setting) => {
    if (setting === 'range' || (setting === 'paused' && !ctx.paused)) void sync()
    if (setting === 'theme') charts.forEach((chart) => chart.repaint())
  })
  void sync().then(async () => {
    if (scope.closed) return
    await ctx.start(scope, 'subscribe_series', async () => {
      const stream = await ctx.client.subscribeSeries(selectors, STREAM_INTERVAL_MS, onUpdate)
      return () => stream.unsubscribe()
    })
  })

  return h(
    'div',
    { class: 'chart-sections' },
    ...sections.map((section) =>
      h(
        'section',
        { class: 'chart-section' },
        section.title !== undefined && h('h3', {}, section.title),
        h('div', { class: 'chart-grid' }, ...section.panels.map((p) => charts.get(p)!.element))
      )
    )
  )
}
