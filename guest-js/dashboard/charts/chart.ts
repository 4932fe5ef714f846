/**
 * One live chart: a uPlot time series in a wrapper that carries the chart's test hooks
 * (`data-metric`, `data-points`, `data-last-ts`) and follows its container's width.
 * @module
 */
import uPlot from 'uplot'

import { h } from '../core/dom.js'
import { type Unit, formatTicks, formatTime, formatValue } from '../core/format.js'
import type { Line, Lines, PanelSpec } from '../data/panels.js'
import type { Aligner } from './align.js'
import type { ThemeColours } from './colours.js'
import { decimate } from './decimate.js'
import { type Table, TableBuffer } from './table.js'

const HEIGHT = 160

/** The narrowest plot (CSS px); a narrower container clips it. */
const MIN_WIDTH = 240

/**
 * Lines 1 px wide. Where canvases are rasterised in software (no GPU), Skia draws 1 px
 * lines as hairlines; at 1.5 px, painting 15 charts took about ten times as long as all
 * the rest of an update.
 */
const LINE_WIDTH = 1

/**
 * The longest a chart on screen shows less than it has (ms). A new point that moves the
 * line by less than one pixel column (10 updates a second on a 5-minute chart 360 px wide
 * move it by a tenth of a column) is drawn with the next one that does, or after this.
 */
export const MAX_LAG_MS = 1000

/** Time tick steps (ms): 1 s … 1 week, with the 2 min and 2 h steps narrow charts need. */
const TIME_STEPS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800,
  604800
].map((s) => s * 1000)
const PALETTE = [
  '#3b82f6',
  '#f59e0b',
  '#10b981',
  '#ef4444',
  '#8b5cf6',
  '#06b6d4',
  '#ec4899',
  '#84cc16'
]

/** What a chart shares with the other charts of its view. */
export interface ChartShared {
  /** The theme's axis colours. */
  readonly colours: ThemeColours
  /** One aligner for all: the charts are drawn one after the other. */
  readonly aligner: Aligner
  /** Asks for `chart` to be drawn at the next frame. */
  request(chart: Chart): void
}

/**
 * A chart of lines over time. Each draw aligns the lines, decimates them to the plot's
 * pixel columns ({@link decimate}) and hands uPlot the result; the rings keep the full
 * data. uPlot is made on the first draw with lines, and made again when the set of lines
 * changes (a new label set appeared). The chart draws only when told to; when its
 * container's width changes, or uPlot settles on another plot width, it asks its owner
 * to draw it again ({@link ChartShared.request}).
 *
 * It draws only what can be seen: off screen (an `IntersectionObserver` says so) a draw
 * only notes that the chart is out of date, and it asks to be drawn when it scrolls into
 * view; on screen, new points that would not move the line by a pixel column wait for
 * one that does, or for {@link MAX_LAG_MS} ({@link Chart.invalidate} draws at once).
 *
 * @example
 * ```ts
 * const panel = gaugePanel('queue_size', 'Queue', 'count')
 * const shared = { colours, aligner: new Aligner(), request: (c: Chart) => queue.mark(c) }
 * const chart = new Chart(panel, panel.lines(buffers), shared)
 * grid.append(chart.element)
 * chart.draw()
 * chart.destroy()
 * ```
 */
export class Chart {
  /** The wrapper: `data-testid="chart"`, `data-metric`, `data-points`, `data-last-ts`. */
  readonly element: HTMLElement
  private readonly host: HTMLElement
  private readonly latest: HTMLElement
  private readonly empty: HTMLElement
  private plot: uPlot | undefined
  /** The lines drawn last. */
  private lines: readonly Line[] = []
  /** What uPlot draws: the lines decimated, kept between draws (uPlot reads it on hover). */
  private readonly decimated = new TableBuffer()
  /** The plot width (canvas px) the last decimation was for. */
  private pixels = 0
  private readonly resize: ResizeObserver | undefined
  /** The container's width (CSS px) as last observed; 0 while hidden or not laid out. */
  private width = 0
  private readonly visibility: IntersectionObserver | undefined
  /**
   * Whether any of the chart is in the viewport: as its `IntersectionObserver` last said
   * (nothing is drawn before it first does), always where there is none (jsdom).
   */
  private onScreen = typeof IntersectionObserver !== 'function'
  /** Whether the chart has data it has not drawn. */
  private stale = true
  /** The newest timestamp drawn, and when (performance.now()). */
  private drawnNewest = -Infinity
  private drawnAt = -Infinity
  /** The time one pixel column spans at the last draw (ms). */
  private msPerPixel = 0
  /** The draw that shows what waited, when one is due. */
  private later: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly spec: Pick<PanelSpec, 'metric' | 'title' | 'unit'>,
    private readonly source: Lines,
    private readonly shared: ChartShared
  ) {
    this.latest = h('span', { class: 'chart-latest' })
    this.empty = h('div', { class: 'chart-empty' }, 'No data yet')
    this.host = h('div', { class: 'chart-plot' }, this.empty)
    this.element = h(
      'figure',
      {
        class: 'chart',
        'data-testid': 'chart',
        'data-metric': spec.metric,
        'data-points': 0,
        'data-last-ts': ''
      },
      h(
        'figcaption',
        { class: 'chart-head' },
        h('span', { class: 'chart-title', title: spec.metric }, spec.title),
        this.latest
      ),
      this.host
    )
    if (typeof ResizeObserver === 'function') {
      // Layout is done when observers run: reading the width here costs no layout.
      this.resize = new ResizeObserver(() => {
        const width = this.host.clientWidth
        if (width === this.width) return
        this.width = width
        shared.request(this)
      })
      this.resize.observe(this.host)
    }
    if (typeof IntersectionObserver === 'function') {
      this.visibility = new IntersectionObserver((entries) => {
        const onScreen = entries[entries.length - 1].isIntersecting
        if (onScreen === this.onScreen) return
        this.onScreen = onScreen
        if (onScreen && this.stale) shared.request(this)
      })
      this.visibility.observe(this.element)
    }
  }

  /** Makes the next draw draw, whatever it would show (a new theme, another range). */
  invalidate(): void {
    this.drawnNewest = -Infinity
  }

  /**
   * Draws its lines as they are now and updates the wrapper's attributes: `data-points`,
   * the points drawn (after decimation, summed over lines), and `data-last-ts`, the
   * newest timestamp. A chart without width (hidden, or not laid out yet) draws nothing:
   * it asks again once it has one. Without ResizeObserver (jsdom) it draws at the
   * narrowest width.
   */
  draw(): void {
    if (this.resize !== undefined && this.width === 0) return
    if (!this.onScreen) {
      this.stale = true
      return
    }
    const lines = this.source()
    const width = Math.max(this.width, MIN_WIDTH)
    const newest = lines.reduce((max, line) => Math.max(max, line.ring.lastTs), -Infinity)
    const wait = this.wait(lines, width, newest)
    if (wait === Infinity) return
    if (wait > 0) {
      this.stale = true
      this.later ??= setTimeout(() => {
        this.later = undefined
        this.invalidate()
        this.shared.request(this)
      }, wait)
      return
    }
    this.stale = false
    if (this.later !== undefined) clearTimeout(this.later)
    this.later = undefined
    if (this.plot !== undefined && this.plot.width !== width) {
      this.plot.setSize({ width, height: HEIGHT })
    }
    const table = this.shared.aligner.align(lines)
    this.pixels = this.plot?.bbox.width ?? Math.round(width * devicePixelRatio)
    this.drawnNewest = newest
    this.drawnAt = performance.now()
    this.msPerPixel =
      table.length > 1 ? (table.xs[table.length - 1] - table.xs[0]) / Math.max(1, this.pixels) : 0
    const { data, points } = plotData(decimate(table, this.pixels + 1, this.decimated))

    attribute(this.element, 'data-points', String(points))
    const newestTs = table.length > 0 ? String(table.xs[table.length - 1]) : ''
    attribute(this.element, 'data-last-ts', newestTs)
    const value = lines.length === 1 ? lines[0].ring.lastValue : undefined
    const latest = value === undefined ? '' : formatValue(this.spec.unit, value)
    if (this.latest.textContent !== latest) this.latest.textContent = latest
    if (this.empty.hidden !== points > 0) this.empty.hidden = points > 0

    const { plot } = this
    const same = plot !== undefined && sameLabels(lines, this.lines)
    this.lines = lines
    if (same) {
      plot.setData(data)
      return
    }
    plot?.destroy()
    this.plot =
      lines.length > 0 ? new uPlot(this.options(lines, width), data, this.host) : undefined
  }

  /**
   * How long to wait before drawing (ms), 0 to draw now: now when there is no plot yet,
   * the lines or the size changed, or the newest point moved a pixel column since the
   * last draw; never (`Infinity`) when there is nothing newer than what was drawn; else
   * what is left of {@link MAX_LAG_MS}.
   */
  private wait(lines: readonly Line[], width: number, newest: number): number {
    const { plot } = this
    if (
      plot === undefined ||
      plot.width !== width ||
      plot.bbox.width !== this.pixels ||
      !sameLabels(lines, this.lines)
    ) {
      return 0
    }
    if (newest <= this.drawnNewest) return Infinity
    if (newest - this.drawnNewest >= this.msPerPixel) return 0
    return Math.max(0, MAX_LAG_MS - (performance.now() - this.drawnAt))
  }

  /** Removes uPlot and stops following the size. */
  destroy(): void {
    if (this.later !== undefined) clearTimeout(this.later)
    this.visibility?.disconnect()
    this.resize?.disconnect()
    this.plot?.destroy()
    this.plot = undefined
    this.element.remove()
  }

  private options(lines: readonly Line[], width: number): uPlot.Options {
    const unit: Unit = this.spec.unit
    const { colours } = this.shared
    const axis = {
      stroke: () => colours.muted,
      grid: { stroke: () => colours.grid, width: 1 },
      ticks: { stroke: () => colours.grid, width: 1 }
    }
    return {
      width,
      height: HEIGHT,
      ms: 1,
      // Room on the right for the last time label.
      padding: [8, 20, 0, 0],
      cursor: { drag: { x: false, y: false } },
      legend: { show: lines.length > 1, live: false },
      scales: { x: { time: true } },
      series: [
        {},
        ...lines.map((line, i) => ({
          label: line.label,
          stroke: PALETTE[i % PALETTE.length],
          width: LINE_WIDTH,
          spanGaps: true
        }))
      ],
      axes: [
        // At least 80 px between time ticks: room for an HH:MM:SS label.
        { ...axis, space: 80, incrs: TIME_STEPS, values: (_, splits) => clockTicks(splits) },
        {
          ...axis,
          values: (_, splits) => formatTicks(unit, splits),
          // Wide enough for the longest tick label (about 7 px a character at 12 px).
          size: (_, values) => 16 + 7 * Math.max(3, ...(values ?? []).map((v) => v.length))
        }
      ],
      // The axes settle the plot's width after a draw: decimate again if it is not the
      // width the data was decimated for.
      hooks: {
        setSize: [
          (u) => {
            if (u.bbox.width !== this.pixels) this.shared.request(this)
          }
        ]
      }
    }
  }
}

/**
 * uPlot's data for `table` (typed views; for a line with gaps, an array with `null` where
 * it has no value) and the points it draws, summed over lines.
 */
function plotData(table: Table): { data: uPlot.AlignedData; points: number } {
  const n = table.length
  let points = 0
  const ys = table.ys.map((y) => {
    const column = y.subarray(0, n)
    let present = 0
    for (let i = 0; i < n; i++) if (!Number.isNaN(column[i])) present += 1
    points += present
    return present === n ? column : Array.from(column, (v) => (Number.isNaN(v) ? null : v))
  })
  return { data: [table.xs.subarray(0, n), ...ys], points }
}

/** Whether two sets of lines have the same labels in the same order. */
function sameLabels(a: readonly Line[], b: readonly Line[]): boolean {
  return a === b || (a.length === b.length && a.every((line, i) => line.label === b[i].label))
}

/** Sets an attribute only when it changes. */
function attribute(element: Element, name: string, value: string): void {
  if (element.getAttribute(name) !== value) element.setAttribute(name, value)
}

/** Wall-clock tick labels: seconds only when ticks are less than a minute apart. */
function clockTicks(splits: number[]): string[] {
  const seconds = splits.length > 1 && splits[1] - splits[0] < 60_000
  return splits.map((ts) => (seconds ? formatTime(ts) : formatTime(ts).slice(0, 5)))
}
