/**
 * The benchmark's peer: the same charts drawn with bare uPlot, the floor of what the
 * chart library costs. Each chart draws the same lines as the dashboard's (values, counter
 * rates, the hit ratio), computed as points arrive, and keeps them in preallocated typed
 * arrays (a ring written twice, so the newest window is always one contiguous slice) that
 * it hands to uPlot as views with `setData`: no copy, no alignment, default axes.
 * @module
 */
import uPlot from 'uplot'

import type { SeriesUpdate } from '../../src/index.js'
import { h } from '../core/dom.js'
import { CHARTS, type ChartShape, SERIES, type Source, keyOf } from './source.js'

/** Points kept per series: the dashboard's ring capacity (`POINTS_PER_SERIES`, charts/feed.ts). */
export const CAPACITY = 4096

/** The dashboard's chart height (`HEIGHT` in charts/chart.ts). */
const HEIGHT = 160

/** The dashboard's line width (`LINE_WIDTH` in charts/chart.ts). */
const LINE_WIDTH = 1

const PALETTE = ['#3b82f6', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6']

/** A chart's newest points: x and each line's y, each slot written at `i` and `i + capacity`. */
class Window {
  readonly xs: Float64Array
  readonly ys: Float64Array[]
  start = 0
  length = 0

  constructor(
    readonly capacity: number,
    lines: number
  ) {
    this.xs = new Float64Array(2 * capacity)
    this.ys = Array.from({ length: lines }, () => new Float64Array(2 * capacity))
  }

  /** Appends a point: `ys[i]` for line i. */
  push(ts: number, ys: ArrayLike<number>): void {
    let at: number
    if (this.length < this.capacity) {
      at = (this.start + this.length) % this.capacity
      this.length += 1
    } else {
      at = this.start
      this.start = (this.start + 1) % this.capacity
    }
    this.xs[at] = this.xs[at + this.capacity] = ts
    for (let i = 0; i < this.ys.length; i++) this.ys[i][at] = this.ys[i][at + this.capacity] = ys[i]
  }

  data(): uPlot.AlignedData {
    const end = this.start + this.length
    return [this.xs.subarray(this.start, end), ...this.ys.map((y) => y.subarray(this.start, end))]
  }
}

/** One chart: its shape, its window, and its series' newest and previous raw values. */
class PeerChart {
  readonly window: Window
  readonly host: HTMLElement
  readonly element: HTMLElement
  plot: uPlot | undefined
  /** Whether it is redrawn at each update (it is on screen). */
  shown = true
  /** Newest timestamp taken. */
  last = -Infinity
  /** The raw values at `last`, and the update being taken. */
  private readonly previous: Float64Array
  readonly current: Float64Array
  private readonly line: Float64Array

  constructor(readonly shape: ChartShape) {
    // A counter's n values make n − 1 rates: one point fewer, as the dashboard draws.
    this.window = new Window(shape.draws === 'values' ? CAPACITY : CAPACITY - 1, shape.lines)
    this.previous = new Float64Array(shape.series.length)
    this.current = new Float64Array(shape.series.length)
    this.line = new Float64Array(shape.lines)
    this.host = h('div', { class: 'chart-plot' })
    this.element = h(
      'figure',
      { class: 'chart', 'data-testid': 'chart', 'data-metric': shape.metric },
      h('figcaption', { class: 'chart-head' }, h('span', { class: 'chart-title' }, shape.metric)),
      this.host
    )
  }

  /** Takes `current` as the values at `ts` and appends what the chart draws of them. */
  take(ts: number): void {
    const { previous, current, line } = this
    const first = this.last === -Infinity
    const elapsed = ts - this.last
    // As the dashboard reads counters: a drop is a restart from zero.
    const increase = (i: number) =>
      current[i] >= previous[i] ? current[i] - previous[i] : current[i]
    switch (this.shape.draws) {
      case 'values':
        line.set(current)
        break
      case 'rates':
        for (let i = 0; i < line.length; i++) line[i] = (increase(i) * 1000) / elapsed
        break
      case 'ratio':
        line[0] = increase(0) / (increase(0) + increase(1))
        break
    }
    // No rate or ratio before the second point.
    if (!first || this.shape.draws === 'values') this.window.push(ts, line)
    previous.set(current)
    this.last = ts
  }
}

/**
 * The peer: {@link CHARTS} as bare uPlot charts in the dashboard's own chart grid (same
 * CSS, so the same sizes), filled with the same history and fed the same updates.
 *
 * @example
 * ```ts
 * const peer = new Peer(source)
 * root.append(peer.element)
 * peer.draw()
 * peer.onUpdate(update)
 * ```
 */
export class Peer {
  /** The charts, laid out as the Metrics view lays out its sections. */
  readonly element: HTMLElement
  private readonly charts: PeerChart[]
  /** Series key → [chart, index of the series in the chart]. */
  private readonly seriesOf = new Map<string, [PeerChart, number]>()

  constructor(source: Source) {
    this.charts = CHARTS.map((shape) => new PeerChart(shape))
    for (const chart of this.charts) {
      const indices = chart.shape.series.map((def, i) => {
        this.seriesOf.set(keyOf(def.name, def.labels), [chart, i])
        return SERIES.indexOf(def)
      })
      // History: the series of a chart share their timestamps.
      source.history(indices[0]).forEach(([ts], p) => {
        indices.forEach((s, i) => (chart.current[i] = source.history(s)[p][1]))
        chart.take(ts)
      })
    }
    const sections = [...new Set(CHARTS.map((c) => c.section))]
    this.element = h(
      'div',
      { class: 'chart-sections' },
      ...sections.map((section) =>
        h(
          'section',
          { class: 'chart-section' },
          h('h3', {}, section),
          h(
            'div',
            { class: 'chart-grid' },
            ...this.charts.filter((c) => c.shape.section === section).map((c) => c.element)
          )
        )
      )
    )
  }

  /** Makes the plots (once the element is in the page, for its width) and draws them. */
  draw(): void {
    for (const chart of this.charts) {
      const labels =
        chart.shape.draws === 'ratio'
          ? ['hit ratio']
          : chart.shape.series.map((def) => Object.values(def.labels).join(' ') || def.name)
      const options: uPlot.Options = {
        width: Math.max(Math.floor(chart.host.clientWidth), 240),
        height: HEIGHT,
        ms: 1,
        cursor: { drag: { x: false, y: false } },
        legend: { show: labels.length > 1, live: false },
        scales: { x: { time: true } },
        series: [
          {},
          ...labels.map((label, i) => ({
            label,
            stroke: PALETTE[i % PALETTE.length],
            width: LINE_WIDTH
          }))
        ]
      }
      chart.plot = new uPlot(options, chart.window.data(), chart.host)
    }
  }

  /** Redraws only the charts `shown` says (by position): those on screen. */
  drawOnly(shown: readonly boolean[]): void {
    this.charts.forEach((chart, i) => (chart.shown = shown[i] ?? true))
  }

  /** Takes the update's values and redraws the charts that got a point. */
  onUpdate(update: SeriesUpdate): void {
    const ts = update.timestampMs
    const touched = new Set<PeerChart>()
    for (const value of update.series) {
      const found = this.seriesOf.get(keyOf(value.name, value.labels))
      if (found === undefined || ts <= found[0].last) continue
      found[0].current[found[1]] = value.value
      touched.add(found[0])
    }
    for (const chart of touched) {
      chart.take(ts)
      if (chart.shown) chart.plot?.setData(chart.window.data())
    }
  }

  /** Per chart: points drawn, summed over lines, and the newest timestamp. */
  state(): Array<{ points: number; lastTs: number }> {
    return this.charts.map((c) => ({ points: c.window.length * c.shape.lines, lastTs: c.last }))
  }

  /** Removes the plots. */
  destroy(): void {
    for (const chart of this.charts) chart.plot?.destroy()
    this.element.remove()
  }
}
