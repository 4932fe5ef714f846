/**
 * One live chart: a uPlot time series in a wrapper that carries the chart's test hooks
 * (`data-metric`, `data-points`, `data-last-ts`) and follows its container's width.
 * @module
 */
import uPlot from 'uplot'

import { h } from '../core/dom.js'
import { type Unit, formatTicks, formatTime, formatValue } from '../core/format.js'
import type { Line, PanelSpec } from '../data/panels.js'
import { align } from './align.js'

const HEIGHT = 160

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

/**
 * A chart of lines over time. uPlot is made on the first draw with lines, and made again
 * when the set of lines changes (a new label set appeared).
 *
 * @example
 * ```ts
 * const chart = new Chart(gaugePanel('queue_size', 'Queue', 'count'))
 * grid.append(chart.element)
 * chart.draw([{ label: 'queue_size', points: [[Date.now(), 4]] }])
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
  private labels: string | undefined
  private readonly resize: ResizeObserver | undefined

  constructor(private readonly spec: Pick<PanelSpec, 'metric' | 'title' | 'unit'>) {
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
      this.resize = new ResizeObserver(() => this.fit())
      this.resize.observe(this.host)
    }
  }

  /** Draws `lines` and updates the wrapper's attributes. */
  draw(lines: readonly Line[]): void {
    const { xs, ys, points } = align(lines)
    this.element.setAttribute('data-points', String(points))
    this.element.setAttribute('data-last-ts', xs.length > 0 ? String(xs[xs.length - 1]) : '')
    const only = lines.length === 1 ? lines[0].points : []
    const last = only[only.length - 1] as (typeof only)[number] | undefined
    this.latest.textContent = last === undefined ? '' : formatValue(this.spec.unit, last[1])
    this.empty.hidden = points > 0
    const labels = lines.map((l) => l.label).join('\n')
    const data: uPlot.AlignedData = [xs, ...ys]
    if (this.plot !== undefined && labels === this.labels) {
      this.plot.setData(data)
      return
    }
    this.plot?.destroy()
    this.plot = undefined
    this.labels = labels
    if (lines.length > 0) this.plot = new uPlot(this.options(lines), data, this.host)
  }

  /** Repaints with the current theme's colours. */
  repaint(): void {
    this.plot?.redraw(false, true)
  }

  /** Removes uPlot and stops following the size. */
  destroy(): void {
    this.resize?.disconnect()
    this.plot?.destroy()
    this.plot = undefined
    this.element.remove()
  }

  private fit(): void {
    const width = Math.floor(this.host.clientWidth)
    if (this.plot !== undefined && width > 0 && width !== this.plot.width) {
      this.plot.setSize({ width, height: HEIGHT })
    }
  }

  private options(lines: readonly Line[]): uPlot.Options {
    const unit: Unit = this.spec.unit
    const color = (name: string) => () =>
      getComputedStyle(this.element).getPropertyValue(name).trim() || '#888'
    const axis = {
      stroke: color('--dash-muted'),
      grid: { stroke: color('--dash-grid'), width: 1 },
      ticks: { stroke: color('--dash-grid'), width: 1 }
    }
    return {
      width: Math.max(Math.floor(this.host.clientWidth), 240),
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
          width: 1.5,
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
      ]
    }
  }
}

/** Wall-clock tick labels: seconds only when ticks are less than a minute apart. */
function clockTicks(splits: number[]): string[] {
  const seconds = splits.length > 1 && splits[1] - splits[0] < 60_000
  return splits.map((ts) => (seconds ? formatTime(ts) : formatTime(ts).slice(0, 5)))
}
