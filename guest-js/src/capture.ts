/**
 * The webview's own log records: a logging API, uncaught errors and unhandled
 * rejections, and (optionally) console output, each sent as a log record with the call
 * site, the OpenTelemetry exception attributes and the current UI span.
 *
 * What leaves the page is bounded twice: here (messages cut to the plugin's limits, at
 * most {@link MAX_IN_FLIGHT} records on their way, the rest dropped and counted in
 * {@link Capture.dropped}) and in the plugin (a budget per window, drops counted in
 * `webview_logs_dropped_total`). A page without the `opentelemetry:allow-capture` permission
 * stops sending after the first refusal.
 * @module
 */
import type { UiTimings } from './bindings/UiTimings.js'
import type { WebviewLogEntry } from './bindings/WebviewLogEntry.js'

/** A log record's level. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error'

/** The console methods that can be captured. */
export type ConsoleMethod = 'debug' | 'log' | 'info' | 'warn' | 'error'

/** What to capture. */
export interface CaptureOptions {
  /** Console methods whose output becomes records. Default `['warn', 'error']`. */
  console?: ConsoleMethod[]
  /** Uncaught errors and unhandled rejections. Default `true`. */
  errors?: boolean
}

/** An installed capture. */
export interface Capture {
  /** Records dropped here: too many on their way, or sending refused. */
  readonly dropped: number
  /** Removes the handlers and gives the console its methods back. */
  stop(): void
}

/** The plugin's limits (bytes; characters here, which is never more). */
export const MAX_MESSAGE = 4096
export const MAX_STACK = 16384
/** Records on their way at once, at most. */
export const MAX_IN_FLIGHT = 64

const LEVEL_OF: Record<ConsoleMethod, LogLevel> = {
  debug: 'debug',
  log: 'info',
  info: 'info',
  warn: 'warn',
  error: 'error'
}

/** `text` cut to `max` characters. */
function cut(text: string, max: number): string {
  return text.length > max ? text.slice(0, max - 1) + '…' : text
}

/** One console argument as text. */
function show(value: unknown): string {
  if (typeof value === 'string') return value
  if (value instanceof Error) return `${value.name}: ${value.message}`
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** Frames of this module and of the console wrapper (V8's `at X` and WebKit's `X@`). */
const OWN_FRAMES = /callSite|LogSender|installCapture|console\.|\blog@|\bpost@|capture\.[jt]s/

/**
 * `url:line:column` of the first stack frame outside this module, if any (best effort:
 * stack formats differ between WebKit, Chromium and Gecko).
 */
export function callSite(stack: string | undefined): WebviewLogEntry['source'] {
  for (const line of (stack ?? '').split('\n')) {
    if (OWN_FRAMES.test(line)) continue
    const match = /((?:https?|tauri|file|ipc|asset):\/\/[^\s)]+?):(\d+):(\d+)/.exec(line)
    if (match) return { url: match[1], line: Number(match[2]), column: Number(match[3]) }
  }
  return undefined
}

/** The exception attributes of something thrown. */
function exception(thrown: unknown, fallbackType: string): NonNullable<WebviewLogEntry['exception']> {
  if (thrown instanceof Error) {
    return {
      type: thrown.name || fallbackType,
      message: cut(thrown.message, MAX_MESSAGE),
      stacktrace: thrown.stack ? cut(thrown.stack, MAX_STACK) : undefined
    }
  }
  return { type: fallbackType, message: cut(show(thrown), MAX_MESSAGE) }
}

/** The sender every capture and the logging API share. */
export class LogSender {
  private inFlight = 0
  private refused = false
  /** Records dropped here. */
  dropped = 0

  constructor(
    private readonly send: (entry: WebviewLogEntry) => Promise<unknown>,
    private readonly traceparent: () => string | undefined = () => undefined
  ) {}

  /** Sends `entry` unless too many are on their way or sending was refused. */
  post(entry: WebviewLogEntry): void {
    if (this.refused || this.inFlight >= MAX_IN_FLIGHT) {
      this.dropped += 1
      return
    }
    this.inFlight += 1
    const traceparent = entry.traceparent ?? this.traceparent()
    this.send({ ...entry, message: cut(entry.message, MAX_MESSAGE), traceparent })
      .catch((error: unknown) => {
        // Without the permission every record would be refused: stop trying.
        if (String(error).includes('not allowed')) this.refused = true
        this.dropped += 1
      })
      .finally(() => {
        this.inFlight -= 1
      })
  }

  /** A record at `level` with `attributes`, from the caller's call site. */
  log(level: LogLevel, message: string, attributes?: Record<string, string>): void {
    this.post({ level, message, attributes, source: callSite(new Error().stack) })
  }
}

/**
 * Installs the handlers `options` ask for on `target` (the page's `window`), sending
 * through `sender`; returns the capture, which `stop()` removes.
 */
export function installCapture(
  sender: LogSender,
  options: CaptureOptions = {},
  target: Window & typeof globalThis = window
): Capture {
  let sending = false
  // Whatever the capture itself logs while sending is not captured again.
  const guarded = (send: () => void) => {
    if (sending) return
    sending = true
    try {
      send()
    } finally {
      sending = false
    }
  }
  const undo: Array<() => void> = []
  if (options.errors ?? true) {
    const onError = (event: ErrorEvent) =>
      guarded(() => {
        const thrown = exception(event.error ?? event.message, 'Error')
        sender.post({
          level: 'error',
          message: cut(event.message || thrown.message, MAX_MESSAGE),
          exception: thrown,
          source: event.filename
            ? { url: event.filename, line: event.lineno, column: event.colno }
            : undefined
        })
      })
    const onRejection = (event: PromiseRejectionEvent) =>
      guarded(() => {
        const thrown = exception(event.reason, 'unhandledrejection')
        sender.post({
          level: 'error',
          message: cut(`Unhandled rejection: ${thrown.message}`, MAX_MESSAGE),
          exception: thrown,
          source: callSite(thrown.stacktrace ?? undefined)
        })
      })
    target.addEventListener('error', onError)
    target.addEventListener('unhandledrejection', onRejection)
    undo.push(() => {
      target.removeEventListener('error', onError)
      target.removeEventListener('unhandledrejection', onRejection)
    })
  }
  const console = target.console
  for (const method of options.console ?? ['warn', 'error']) {
    const original = console[method]
    console[method] = (...args: unknown[]) => {
      original.apply(console, args)
      guarded(() =>
        sender.post({
          level: LEVEL_OF[method],
          message: args.map(show).join(' '),
          attributes: { 'log.source': `console.${method}` },
          source: callSite(new Error().stack)
        })
      )
    }
    undo.push(() => {
      console[method] = original
    })
  }
  return {
    get dropped() {
      return sender.dropped
    },
    stop() {
      undo.splice(0).forEach((u) => u())
    }
  }
}

/** Values of each kind one report carries, at most (the plugin's `MAX_TIMINGS`). */
export const MAX_TIMINGS = 1000

/** Page load phases from the Navigation and Paint Timing APIs, in ms from navigation start. */
function pageLoad(target: Window & typeof globalThis): Record<string, number> {
  const out: Record<string, number> = {}
  const nav = target.performance.getEntriesByType?.('navigation')[0] as
    | PerformanceNavigationTiming
    | undefined
  if (nav !== undefined) {
    if (nav.responseEnd > 0) out.responseEnd = nav.responseEnd
    if (nav.domInteractive > 0) out.domInteractive = nav.domInteractive
    if (nav.domContentLoadedEventEnd > 0) out.domContentLoaded = nav.domContentLoadedEventEnd
    if (nav.loadEventEnd > 0) out.load = nav.loadEventEnd
  }
  for (const paint of target.performance.getEntriesByType?.('paint') ?? []) {
    if (paint.name === 'first-paint') out.firstPaint = paint.startTime
    if (paint.name === 'first-contentful-paint') out.firstContentfulPaint = paint.startTime
  }
  return out
}

/**
 * How long each sample of frame gaps lasts, as a share of the report period: frames are
 * measured for a tenth of the time. An endless `requestAnimationFrame` loop keeps the page
 * rendering 60 times a second: about 2% of a core in WebKit without a GPU for a page that
 * shows nothing new, and a laptop that never idles.
 */
export const FRAME_SAMPLE_SHARE = 0.1

/**
 * Measures the page's responsiveness and sends it every `everyMs` through `send`: the
 * gaps between animation frames, sampled (a burst of {@link FRAME_SAMPLE_SHARE} of each
 * period, at its start, while the page is visible; nothing is measured, and no frame is
 * requested, while it is hidden or between bursts), long tasks where
 * `PerformanceObserver` supports them (Chromium and WebView2; not WebKit), and the page
 * load phases once. Returns the function that stops it. A refused send (no permission)
 * stops it too.
 */
export function measureUi(
  send: (timings: UiTimings) => Promise<unknown>,
  everyMs = 5000,
  target: Window & typeof globalThis = window
): () => void {
  let frames: number[] = []
  let tasks: number[] = []
  let load: Record<string, number> | undefined
  let last: number | undefined
  let frame: number | undefined
  /** When the running burst ends (performance.now()), or undefined between bursts. */
  let burstEnd: number | undefined
  let stopped = false
  const pause = () => {
    if (frame !== undefined) target.cancelAnimationFrame(frame)
    frame = undefined
    burstEnd = undefined
    // The gap across a pause is not jank.
    last = undefined
  }
  const onFrame = (now: number) => {
    frame = undefined
    if (last !== undefined && frames.length < MAX_TIMINGS) frames.push(now - last)
    last = now
    if (burstEnd !== undefined && now < burstEnd) frame = target.requestAnimationFrame(onFrame)
    else pause()
  }
  /** Starts a burst of frame measurements, if the page is visible. */
  const burst = () => {
    if (stopped || target.document.visibilityState !== 'visible') return
    burstEnd = target.performance.now() + everyMs * FRAME_SAMPLE_SHARE
    if (frame === undefined) frame = target.requestAnimationFrame(onFrame)
  }
  const follow = () => {
    if (target.document.visibilityState !== 'visible') pause()
  }
  target.document.addEventListener('visibilitychange', follow)
  burst()
  let observer: PerformanceObserver | undefined
  try {
    observer = new target.PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (tasks.length < MAX_TIMINGS) tasks.push(entry.duration)
      }
    })
    observer.observe({ type: 'longtask', buffered: true })
  } catch {
    observer = undefined
  }
  const loaded = () => {
    // After the load event's handlers, so that loadEventEnd is set.
    target.setTimeout(() => {
      load = pageLoad(target)
    })
  }
  if (target.document.readyState === 'complete') loaded()
  else target.addEventListener('load', loaded, { once: true })
  const stop = () => {
    stopped = true
    target.clearInterval(timer)
    pause()
    observer?.disconnect()
    target.document.removeEventListener('visibilitychange', follow)
  }
  const timer = target.setInterval(() => {
    burst()
    if (frames.length === 0 && tasks.length === 0 && load === undefined) return
    const report: UiTimings = { frameIntervalsMs: frames, longTasksMs: tasks }
    if (load !== undefined && Object.keys(load).length > 0) report.pageLoadMs = load
    frames = []
    tasks = []
    load = undefined
    send(report).catch((error: unknown) => {
      if (String(error).includes('not allowed')) stop()
    })
  }, everyMs)
  return stop
}
