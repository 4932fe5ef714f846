/**
 * The two ways the client reaches the plugin: Tauri IPC inside the app's webview, and the
 * engine's HTTP query API (`/api/...`, Server-Sent Events) from a plain browser.
 * @module
 */
import { Channel, invoke } from '@tauri-apps/api/core'

import type { LiveEvent } from './bindings/LiveEvent.js'
import type { SeriesSelector } from './bindings/SeriesSelector.js'
import type { SeriesUpdate } from './bindings/SeriesUpdate.js'

/** The live change events: alert state changes, health status changes, completed traces. */
export type TelemetryEvent = 'alert' | 'notification' | 'health' | 'trace'

/** Options of one call. */
export interface CallOptions {
  /** Extra headers, e.g. `traceparent` to make backend work join a UI span's trace. */
  headers?: Record<string, string>
}

/** A way to reach the plugin. */
export interface Transport {
  /** Runs a command (`get_snapshot`) with its arguments and returns its answer. */
  call<T>(command: string, args?: Record<string, unknown>, options?: CallOptions): Promise<T>
  /** Starts a series stream; resolves to the function that stops it. */
  subscribe(
    selectors: SeriesSelector[],
    intervalMs: number,
    onUpdate: (update: SeriesUpdate) => void
  ): Promise<() => Promise<void>>
  /** Listens to a change event; resolves to the function that stops listening. */
  listen<T>(event: TelemetryEvent, handler: (payload: T) => void): Promise<() => void>
}

const PLUGIN = 'plugin:opentelemetry|'

/**
 * Tauri IPC: commands are `plugin:opentelemetry|<command>`, streams use a `Channel` and
 * acknowledge each update (a slow webview gets fewer updates, never a backlog), and
 * events come on a `Channel` of this window's own (`subscribe_events`, a read command:
 * a window without the read permission gets none).
 */
export function tauriTransport(): Transport {
  return {
    async call<T>(command: string, args?: Record<string, unknown>, options?: CallOptions) {
      const headers = options?.headers
      return await invoke<T>(PLUGIN + command, args ?? {}, headers ? { headers } : undefined)
    },
    async subscribe(selectors, intervalMs, onUpdate) {
      const channel = new Channel<SeriesUpdate>()
      channel.onmessage = (update) => {
        onUpdate(update)
        void invoke(PLUGIN + 'ack_series', { id: update.id, seq: update.seq }).catch(() => {})
      }
      const id = await invoke<number>(PLUGIN + 'subscribe_series', {
        selectors,
        intervalMs,
        onUpdate: channel
      })
      return async () => {
        await invoke(PLUGIN + 'unsubscribe_series', { id })
      }
    },
    async listen<T>(event: TelemetryEvent, handler: (payload: T) => void) {
      const channel = new Channel<LiveEvent>()
      channel.onmessage = (message) => {
        if (message.kind === event) handler(message.payload as T)
      }
      const id = await invoke<number>(PLUGIN + 'subscribe_events', {
        kinds: [event],
        onEvent: channel
      })
      return () => {
        void invoke(PLUGIN + 'unsubscribe_events', { id }).catch(() => {})
      }
    }
  }
}

/** Reads Server-Sent Events from a fetch response until it ends or is aborted. */
async function readEvents(
  response: Response,
  onEvent: (name: string, data: string) => void
): Promise<void> {
  const body = response.body
  if (body === null) return
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>
    try {
      chunk = await reader.read()
    } catch {
      return // aborted
    }
    if (chunk.done) return
    buffer += decoder.decode(chunk.value, { stream: true })
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let name = 'message'
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
      }
      if (data.length > 0) onEvent(name, data.join('\n'))
    }
  }
}

async function errorOf(response: Response): Promise<Error> {
  try {
    const body = (await response.json()) as { error?: string }
    return new Error(body.error ?? `HTTP ${response.status}`)
  } catch {
    return new Error(`HTTP ${response.status}`)
  }
}

/**
 * The engine's HTTP query API at `baseUrl` (the Prometheus server, e.g.
 * `http://127.0.0.1:9090`): the same read commands, answers and errors as IPC. Write
 * commands are not served over HTTP. With `options.token` (the engine's `http_token`),
 * every request and event stream sends `Authorization: Bearer <token>`.
 */
export function httpTransport(
  baseUrl: string,
  fetchImpl: typeof fetch = fetch,
  options?: { token?: string }
): Transport {
  const base = baseUrl.replace(/\/+$/, '')
  const auth: Record<string, string> =
    options?.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}
  const open = async (path: string, onEvent: (name: string, data: string) => void) => {
    const abort = new AbortController()
    const response = await fetchImpl(base + path, {
      headers: { accept: 'text/event-stream', ...auth },
      signal: abort.signal
    })
    if (!response.ok) throw await errorOf(response)
    void readEvents(response, onEvent)
    return () => abort.abort()
  }
  return {
    async call<T>(command: string, args?: Record<string, unknown>, options?: CallOptions) {
      const response = await fetchImpl(`${base}/api/${command}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(options?.headers ?? {}), ...auth },
        body: JSON.stringify(args ?? {})
      })
      if (!response.ok) throw await errorOf(response)
      return (await response.json()) as T
    },
    async subscribe(selectors, intervalMs, onUpdate) {
      const query = new URLSearchParams({
        selectors: JSON.stringify(selectors),
        intervalMs: String(intervalMs)
      })
      const stop = await open(`/api/subscribe_series?${query.toString()}`, (name, data) => {
        if (name === 'update') onUpdate(JSON.parse(data) as SeriesUpdate)
      })
      return async () => stop()
    },
    async listen<T>(event: TelemetryEvent, handler: (payload: T) => void) {
      return await open('/api/events', (name, data) => {
        if (name === event) handler(JSON.parse(data) as T)
      })
    }
  }
}
