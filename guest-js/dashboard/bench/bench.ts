/**
 * The dashboard benchmark page (`npm run bench:dashboard` drives it). `?mode=dashboard`
 * mounts the real dashboard over an in-memory engine and opens its Metrics view: 15
 * charts of 50 series, each loaded with 3,600 points of history. `?mode=uplot` draws the
 * same charts with bare uPlot, the peer. Either way the page then streams one update with
 * the newest value of all 50 series every 100 ms (skipping the ticks it is still busy
 * through, as the engine's stream does) and times each update twice: to the end of the
 * draws it causes, and to the start of the next task after them, which adds the canvas
 * raster Chromium runs once the drawing task is over (`CanvasRenderingContext2D::
 * FinalizeFrame`, outside the task's own time). The peer draws in the update's own task
 * (uPlot draws in a microtask queued by `setData`); the dashboard only marks its charts
 * and draws them in the next animation frame. For a side that draws in a frame, the time
 * counted is the handler's plus the frame's, from its first callback to the end of the
 * draws and to the next task: the main thread is idle while it waits for the frame. That
 * wait is measured apart, as the update's latency.
 *
 * The page does nothing on its own: the driver calls `window.bench`.
 * @module
 */
import '../page.css'

import type { LatestValue } from '../../src/index.js'
import { h } from '../core/dom.js'
import '../index.css'
import { MAX_LAG_MS } from '../charts/chart.js'
import { mountDashboard } from '../index.js'
import { FakeEngine, updateFor } from './engine.js'
import { Peer } from './peer.js'
import { CHARTS, HISTORY_POINTS, HISTORY_STEP_MS, SERIES, Source, TICK_MS } from './source.js'

/** Which side this page load measures. */
export type Mode = 'dashboard' | 'uplot'

/** One chart as drawn. */
export interface ChartReport {
  /** Its `data-metric`. */
  metric: string
  /** Points drawn, summed over lines. */
  points: number
  /** Lines drawn. */
  lines: number
  /** Canvas width (px). */
  width: number
  /** Newest timestamp drawn. */
  lastTs: number
  /** Whether any of it is in the viewport (the charts below the fold are not). */
  onScreen: boolean
}

/** What {@link BenchApi.prepare} found once the charts were drawn. */
export interface Prepared {
  mode: Mode
  charts: ChartReport[]
  series: number
  lines: number
  historyPoints: number
  domNodes: number
}

/** What a streaming run did. */
export interface Outcome {
  mode: Mode
  /** Stream ticks in the run (10 a second). */
  scheduled: number
  /** Updates handed to the page's handler and handled. */
  delivered: number
  /** Ticks skipped because the page was still busy a whole tick after they were due. */
  skipped: number
  /** Length of the run, without the time the driver held the stream (ms). */
  elapsedMs: number
  /**
   * Per update: ms of handling it, to the end of the uPlot draws it caused (without the
   * wait for a frame, when it draws in one).
   */
  handleMs: number[]
  /**
   * Per update: ms of handling it, to the start of the next task after its draws, which
   * adds the canvas raster done after the drawing task (and, at times, a frame's
   * rendering); without the wait for a frame, when it draws in one.
   */
  updateMs: number[]
  /** Per update: ms from handing it over to the next task after its draws, waits included. */
  latencyMs: number[]
  /** Updates after which fewer charts were drawn than there are charts. */
  undrawn: number
  /** Timestamp of the last update delivered. */
  lastTs: number
  charts: ChartReport[]
  domNodes: number
  /** Uncaught errors, rejections and error-strip entries. */
  errors: string[]
}

/** What the driver calls. */
export interface BenchApi {
  /** Mounts this page's side, loads the history, and resolves once every chart is drawn. */
  prepare(seconds: number): Promise<Prepared>
  /** Streams for the `seconds` given to `prepare`; resolves with what happened. */
  run(): Promise<Outcome>
  /** Updates delivered so far. */
  delivered(): number
  /** Holds the stream (between updates) while the driver samples memory. */
  pause(): void
  /** Goes on streaming; the time held is not counted as time the page was behind. */
  resume(): void
}

declare global {
  interface Window {
    bench: BenchApi
  }
}

/** One side under test. */
interface Side {
  /**
   * Draws each update must cause (the peer redraws every chart on screen at every update);
   * `0` for the dashboard, which draws a chart when its line moves a pixel column, or a
   * second later.
   */
  drawsPerUpdate: number
  /** Builds what one tick hands over; returns the hand-over itself, the part that is timed. */
  tick(seq: number, ts: number, dropped: number, values: LatestValue[]): () => void
  /** The charts in the page, in order. */
  charts(): ChartReport[]
  /** Errors the side shows (the dashboard's error strip). */
  errors(): string[]
}

const errors: string[] = []
window.addEventListener('error', (e) => errors.push(`error: ${e.message}`))
window.addEventListener('unhandledrejection', (e) =>
  errors.push(`unhandled rejection: ${String(e.reason)}`)
)

// Every uPlot draw starts with one clearRect of its canvas (and nothing else clears it):
// counting them shows that the draws of an update ran before its time was taken. The same
// wrapper is in place for both sides.
let draws = 0
const clearRect = CanvasRenderingContext2D.prototype.clearRect
CanvasRenderingContext2D.prototype.clearRect = function (x, y, w, h) {
  draws += 1
  clearRect.call(this, x, y, w, h)
}

/** `scheduler.postTask` (Chromium 94+; not in TypeScript's DOM types yet). */
interface TaskScheduler {
  postTask(task: () => void, options: { priority: 'user-blocking' }): Promise<void>
}
const taskScheduler = (globalThis as unknown as { scheduler?: TaskScheduler }).scheduler

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
/** After the last update: what a chart held back for less than a pixel column is drawn. */
const settle = async () => {
  await sleep(MAX_LAG_MS + 100)
  await frame()
}
const frame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()))

async function until(ready: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const end = performance.now() + timeoutMs
  while (!ready()) {
    if (performance.now() > end) throw new Error(`timed out: ${what}`)
    await sleep(50)
  }
}

/** Whether any of `element` is in the viewport. */
function inViewport(element: Element): boolean {
  const r = element.getBoundingClientRect()
  return r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth
}

function report(figure: HTMLElement, points: number, lastTs: number): ChartReport {
  const metric = figure.dataset.metric ?? ''
  return {
    metric,
    points,
    lines: CHARTS.find((c) => c.metric === metric)?.lines ?? 0,
    width: figure.querySelector('canvas')?.width ?? 0,
    lastTs,
    onScreen: inViewport(figure)
  }
}

/** The real dashboard, mounted with a client over the fake engine, on its Metrics view. */
async function dashboardSide(root: HTMLElement, source: Source): Promise<Side> {
  const engine = new FakeEngine(source)
  mountDashboard(root, { client: engine.client, theme: 'light', title: 'Telemetry benchmark' })
  // Through the header's own controls: everything kept (no time-based trimming, so both
  // sides hold the same points), then the Metrics tab.
  const range = root.querySelector<HTMLSelectElement>('[data-testid="range-select"]')!
  range.value = 'all'
  range.dispatchEvent(new Event('change'))
  root.querySelector<HTMLElement>('[data-testid="tab-metrics"]')!.click()

  const figures = () => [
    ...root.querySelectorAll<HTMLElement>('.metrics .metric-panels [data-testid="chart"]')
  ]
  // The charts on screen draw; those below the fold draw nothing until scrolled to.
  const drawn = (f: HTMLElement) => f.querySelector('canvas') !== null && Number(f.dataset.points) > 0
  const state = () =>
    figures()
      .map((f) => `${f.dataset.metric}: ${drawn(f) ? 'drawn' : 'not drawn'}, ${inViewport(f) ? 'on' : 'off'} screen`)
      .join('; ')
  try {
    await until(() => {
      const [stream] = engine.streams
      return (
        engine.streams.size === 1 &&
        stream.carries.every(Boolean) &&
        figures().length === CHARTS.length &&
        figures().every((f) => drawn(f) === inViewport(f))
      )
    }, 'the Metrics view drawing the charts on screen, and only those, and opening its stream')
  } catch (error) {
    throw new Error(`${String(error)}: ${state()} / errors: ${errors.join(" | ")} / ${root.querySelectorAll("[data-testid=chart]").length} charts, view ${root.querySelector("[data-testid^=view-]")?.getAttribute("data-testid")}`)
  }
  const metrics = figures().map((f) => f.dataset.metric)
  const expected = CHARTS.map((c) => c.metric)
  if (metrics.join() !== expected.join()) {
    throw new Error(
      `the Metrics view charts ${metrics.join(', ')}; the benchmark serves ` +
        `${expected.join(', ')} (views/metrics.ts changed?)`
    )
  }
  return {
    drawsPerUpdate: 0,
    tick(seq, ts, dropped, values) {
      const updates = [...engine.streams].map(
        (s) => [s, updateFor(s, seq, ts, dropped, values)] as const
      )
      return () => {
        for (const [stream, update] of updates) stream.onUpdate(update)
      }
    },
    charts: () =>
      figures().map((f) => report(f, Number(f.dataset.points), Number(f.dataset.lastTs))),
    errors() {
      const strip = root.querySelector<HTMLElement>('[data-testid="error-strip"]')
      return strip !== null && !strip.hidden ? [`error strip: ${strip.textContent ?? ''}`] : []
    }
  }
}

/** The peer: bare uPlot in the dashboard's chart grid, under the same page structure. */
async function uplotSide(root: HTMLElement, source: Source): Promise<Side> {
  const peer = new Peer(source)
  // The dashboard's shell without its header and navigation: the same main column width.
  root.append(
    h(
      'div',
      { class: 'otel-dash', 'data-theme': 'light' },
      h(
        'div',
        { class: 'dash-shell' },
        h('main', { class: 'dash-main' }, h('div', { class: 'metrics' }, peer.element))
      )
    )
  )
  peer.draw()
  const figures = () => [...root.querySelectorAll<HTMLElement>('[data-testid="chart"]')]
  // Compared on the charts on screen: the peer redraws those at every update.
  const onScreen = figures().map(inViewport)
  peer.drawOnly(onScreen)
  return {
    drawsPerUpdate: onScreen.filter(Boolean).length,
    tick(seq, ts, dropped, values) {
      const update = { id: 1, seq, timestampMs: ts, dropped, series: values }
      return () => peer.onUpdate(update)
    },
    charts: () => {
      const state = peer.state()
      return figures().map((f, i) => report(f, state[i].points, state[i].lastTs))
    },
    errors: () => []
  }
}

const mode: Mode =
  new URLSearchParams(location.search).get('mode') === 'uplot' ? 'uplot' : 'dashboard'
let side: Side | undefined
let source: Source | undefined
let handleMs = new Float64Array(0)
let updateMs = new Float64Array(0)
let latencyMs = new Float64Array(0)
let delivered = 0
/** When update 0 was due; moved on by the time the stream was held. */
let origin = 0
let pausedAt: number | undefined
let parked: (() => void) | undefined

window.bench = {
  async prepare(seconds) {
    const root = document.getElementById('root')!
    source = new Source(Date.now() - HISTORY_STEP_MS)
    if (taskScheduler === undefined) throw new Error('this browser has no scheduler.postTask')
    handleMs = new Float64Array(Math.ceil((seconds * 1000) / TICK_MS))
    updateMs = new Float64Array(handleMs.length)
    latencyMs = new Float64Array(handleMs.length)
    side = mode === 'uplot' ? await uplotSide(root, source) : await dashboardSide(root, source)
    // Let layout settle (the charts follow their container's width) before measuring.
    await frame()
    await sleep(500)
    await frame()
    return {
      mode,
      charts: side.charts(),
      series: SERIES.length,
      lines: CHARTS.reduce((n, c) => n + c.lines, 0),
      historyPoints: HISTORY_POINTS,
      domNodes: document.getElementsByTagName('*').length
    }
  },

  run() {
    if (side === undefined || source === undefined || taskScheduler === undefined) {
      throw new Error('prepare() first')
    }
    const s = side
    const src = source
    const tasks = taskScheduler
    const scheduled = handleMs.length
    const base = Math.max(Date.now(), src.endMs + TICK_MS)
    origin = performance.now()
    let k = 0
    let previous = -1
    let skipped = 0
    let undrawn = 0
    let lastTs = 0
    return new Promise<Outcome>((resolve) => {
      const step = () => {
        if (pausedAt !== undefined) {
          parked = step
          return
        }
        // Tick k is due at origin + k × TICK_MS. A page still busy a whole tick later
        // misses the ticks it was busy through, as the engine's stream skips ticks for a
        // receiver that has not acknowledged the last update.
        const now = performance.now()
        const due = Math.min(Math.floor((now - origin) / TICK_MS), scheduled)
        if (due > k) {
          skipped += due - k
          k = due
        }
        if (k >= scheduled) {
          void settle().then(() => resolve({
            mode,
            scheduled,
            delivered,
            skipped,
            elapsedMs: now - origin,
            handleMs: Array.from(handleMs.subarray(0, delivered)),
            updateMs: Array.from(updateMs.subarray(0, delivered)),
            latencyMs: Array.from(latencyMs.subarray(0, delivered)),
            undrawn,
            lastTs,
            charts: s.charts(),
            domNodes: document.getElementsByTagName('*').length,
            errors: [...errors, ...s.errors()]
          }))
          return
        }
        const n = delivered
        lastTs = base + k * TICK_MS
        const handOver = s.tick(n + 1, lastTs, skipped, src.tick(TICK_MS * (k - previous)))
        previous = k
        const drawsBefore = draws
        const drew = () => s.drawsPerUpdate > 0 && draws - drawsBefore >= s.drawsPerUpdate
        // The first callback of the next frame (registered before the side's own): where
        // the frame's work starts.
        let frameStart = Infinity
        requestAnimationFrame(() => (frameStart = performance.now()))
        const start = performance.now()
        handOver()
        const handled = performance.now() - start
        // Ends the update once its draws are done (`busy`: time to count since `since`).
        const finish = (since: number, busy: number) => {
          handleMs[n] = busy + performance.now() - since
          if (s.drawsPerUpdate > 0 && !drew()) undrawn += 1
          // The first task after this one: user-blocking, so it is not queued behind frames.
          void tasks.postTask(
            () => {
              const now = performance.now()
              updateMs[n] = busy + now - since
              latencyMs[n] = now - start
              delivered = n + 1
              k += 1
              setTimeout(step, Math.max(0, origin + k * TICK_MS - now))
            },
            { priority: 'user-blocking' }
          )
        }
        // Queued after the handler's setData calls, so it runs after their draws.
        queueMicrotask(() => {
          if (drew()) {
            finish(start, 0)
            return
          }
          // Drawing in the next frame: registered after the side's own frame callback, this
          // runs after its draws.
          requestAnimationFrame(() => finish(Math.max(frameStart, start + handled), handled))
        })
      }
      setTimeout(step, 0)
    })
  },

  delivered: () => delivered,

  pause() {
    pausedAt ??= performance.now()
  },

  resume() {
    if (pausedAt === undefined) return
    origin += performance.now() - pausedAt
    pausedAt = undefined
    const step = parked
    parked = undefined
    step?.()
  }
}
