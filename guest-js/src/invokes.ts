/**
 * Every invoke of the page traced, with no app code: the plugin's init script installs
 * {@link traceInvokes}. Each call gets a client span (named after the command) whose
 * `traceparent` goes with the call, so the backend span of a command written with
 * `#[tauri_plugin_opentelemetry::command]` joins the trace; the measured calls are
 * reported in batches (`record_invokes`), which also gives `tauri_ipc_duration_ms`.
 *
 * Why `fetch`: Tauri defines `window.__TAURI_INTERNALS__.invoke` (and `ipc`,
 * `postMessage`) as read-only, so nothing can wrap it; what it does underneath is a
 * `fetch` to the IPC scheme (`ipc://localhost/<command>` on Linux and macOS,
 * `http(s)://ipc.localhost/<command>` on Windows and Android), which can be wrapped. A
 * page whose CSP blocks that scheme makes Tauri fall back to `postMessage`; those calls
 * are not traced.
 * @module
 */
import type { InvokeReport } from './bindings/InvokeReport.js'
import type { InvokeTiming } from './bindings/InvokeTiming.js'

/** Which invokes are traced. A pattern is a command name, or a prefix ending in `*`. */
export interface InvokeTracingOptions {
  /** Only these commands (default: every command). */
  allow?: string[]
  /** Not these commands (checked after `allow`). */
  deny?: string[]
  /** How often the measured calls are reported, in ms. Default 2000. */
  reportEveryMs?: number
}

/** Calls one report carries at most (the plugin's `MAX_INVOKES`); more wait for the next. */
export const MAX_INVOKES = 512
/** Calls kept for the next report at most; more are dropped and counted. */
export const MAX_BUFFERED = 2048
/** Longest error message reported (the plugin's `MAX_INVOKE_ERROR`). */
export const MAX_ERROR = 1024

/**
 * Never traced: the plugin's own commands (its reports, the panel's polling and stream
 * acknowledgements) and Tauri's channel transport (one call per large channel message).
 */
export const NEVER_TRACED = ['plugin:opentelemetry|*', 'plugin:__TAURI_CHANNEL__|*']

/**
 * The command an IPC request goes to, from its URL as each platform's Tauri makes it
 * (`ipc://localhost/<command>`, `http://ipc.localhost/<command>`,
 * `https://ipc.localhost/<command>`); `undefined` for any other URL.
 */
export function ipcCommand(url: string): string | undefined {
  const match = /^(?:ipc:\/\/localhost|https?:\/\/ipc\.localhost)\/([^?#]+)/.exec(url)
  if (match === null) return undefined
  try {
    return decodeURIComponent(match[1])
  } catch {
    return undefined
  }
}

/** Whether `command` matches `pattern` (a name, or a prefix ending in `*`). */
function matches(command: string, pattern: string): boolean {
  return pattern.endsWith('*') ? command.startsWith(pattern.slice(0, -1)) : command === pattern
}

/** Whether `command` is traced under `options`. */
export function isTraced(command: string, options: InvokeTracingOptions = {}): boolean {
  if (NEVER_TRACED.some((p) => matches(command, p))) return false
  if (options.allow !== undefined && !options.allow.some((p) => matches(command, p))) return false
  return !(options.deny ?? []).some((p) => matches(command, p))
}

/** `bytes` random bytes as lowercase hex, never all zero (an invalid id). */
function randomHex(bytes: number, crypto: Crypto): string {
  const buffer = new Uint8Array(bytes)
  do crypto.getRandomValues(buffer)
  while (buffer.every((b) => b === 0))
  return Array.from(buffer, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** A valid W3C `traceparent`, as the plugin reads it. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/

/** The error an IPC error answer carries, as `invoke` rejects with it. */
async function errorText(response: Response): Promise<string> {
  try {
    const text = await response.clone().text()
    let message = text
    if ((response.headers.get('content-type') ?? '').startsWith('application/json')) {
      const value: unknown = JSON.parse(text)
      message = typeof value === 'string' ? value : JSON.stringify(value)
    }
    return message.length > MAX_ERROR ? message.slice(0, MAX_ERROR - 1) + '…' : message
  } catch {
    return 'error'
  }
}

/**
 * Wraps `target.fetch` so that every traced IPC call carries a new client span's
 * `traceparent` (child of the one the call already had, from `withSpan`'s headers) and
 * is measured; sends what was measured through `send` every `reportEveryMs`. Returns the
 * function that undoes it. A refused report (no permission) stops it.
 */
export function traceInvokes(
  send: (report: InvokeReport) => Promise<unknown>,
  options: InvokeTracingOptions = {},
  target: Window & typeof globalThis = window
): () => void {
  const original = target.fetch
  let buffered: InvokeTiming[] = []
  let dropped = 0
  let stopped = false

  const keep = (timing: InvokeTiming) => {
    if (buffered.length < MAX_BUFFERED) buffered.push(timing)
    else dropped += 1
  }

  const traced = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    const command = stopped ? undefined : ipcCommand(url)
    if (command === undefined || !isTraced(command, options)) return original.call(target, input, init)
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined))
    const parent = headers.get('traceparent') ?? undefined
    const parentIds = parent === undefined ? null : TRACEPARENT.exec(parent)
    const traceId = parentIds?.[1] ?? randomHex(16, target.crypto)
    const traceparent = `00-${traceId}-${randomHex(8, target.crypto)}-01`
    headers.set('traceparent', traceparent)
    const startMs = target.performance.timeOrigin + target.performance.now()
    const started = target.performance.now()
    return original.call(target, input, { ...init, headers }).then(async (response) => {
      const durationMs = target.performance.now() - started
      const timing: InvokeTiming = { command, traceparent, startMs, durationMs }
      if (parentIds !== null) timing.parent = parent
      if (response.headers.get('Tauri-Response') !== 'ok') timing.error = await errorText(response)
      keep(timing)
      return response
    })
    // A call that fails to reach the backend is retried by Tauri over postMessage: its
    // outcome is not known here, so it is not reported.
  }
  target.fetch = traced

  const flush = () => {
    if (buffered.length === 0 && dropped === 0) return
    const invokes = buffered.slice(0, MAX_INVOKES)
    buffered = buffered.slice(MAX_INVOKES)
    const report: InvokeReport = { invokes, dropped }
    dropped = 0
    send(report).catch((error: unknown) => {
      if (String(error).includes('not allowed')) stop()
    })
  }
  const timer = target.setInterval(flush, options.reportEveryMs ?? 2000)
  // What a closing page measured goes before it does.
  const onHide = () => {
    if (target.document.visibilityState === 'hidden') flush()
  }
  target.document.addEventListener('visibilitychange', onHide)

  const stop = () => {
    stopped = true
    target.clearInterval(timer)
    target.document.removeEventListener('visibilitychange', onHide)
    if (target.fetch === traced) target.fetch = original
    buffered = []
  }
  return stop
}
