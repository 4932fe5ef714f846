import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import {
  MAX_BUFFERED,
  MAX_INVOKES,
  ipcCommand,
  isTraced,
  traceInvokes
} from '../src/invokes'
import type { InvokeReport } from '../src/index'

const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/

/** What the backend answers each IPC request, and the requests it saw. */
let answer: (url: string) => Response
let seen: { url: string; headers: Headers }[]
let reports: InvokeReport[]
let stop: (() => void) | undefined
const realFetch = window.fetch

beforeEach(() => {
  vi.useFakeTimers()
  seen = []
  reports = []
  answer = () =>
    new Response(JSON.stringify({ frames: 3 }), {
      headers: { 'Tauri-Response': 'ok', 'content-type': 'application/json' }
    })
  window.fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input)
    seen.push({ url, headers: new Headers(init?.headers) })
    return answer(url)
  }) as typeof window.fetch
})

afterEach(() => {
  stop?.()
  stop = undefined
  window.fetch = realFetch
  vi.useRealTimers()
})

/** Installs the tracer with reports collected; `refuse` makes every report fail so. */
function install(options = {}, refuse?: string) {
  stop = traceInvokes(async (report) => {
    reports.push(report)
    if (refuse !== undefined) throw new Error(refuse)
    return true
  }, { reportEveryMs: 1000, ...options })
}

/** A call as Tauri's IPC makes it on Linux and macOS. */
function call(command: string, headers: Record<string, string> = {}) {
  return window.fetch(`ipc://localhost/${encodeURIComponent(command)}`, {
    method: 'POST',
    body: '{}',
    headers: new Headers({ 'Tauri-Callback': '1', ...headers })
  })
}

describe('the IPC URL of each platform', () => {
  it('names the command on Linux, macOS, Windows and Android, and nothing else', () => {
    expect(ipcCommand('ipc://localhost/export_project')).toBe('export_project')
    expect(ipcCommand('http://ipc.localhost/export_project')).toBe('export_project')
    expect(ipcCommand('https://ipc.localhost/plugin%3Afs%7Cread_file')).toBe('plugin:fs|read_file')
    expect(ipcCommand('https://example.com/ipc.localhost/x')).toBeUndefined()
    expect(ipcCommand('http://tauri.localhost/assets/index.js')).toBeUndefined()
    expect(ipcCommand('ipc://localhost/%E0%A4%A')).toBeUndefined()
  })

  it('traces what the lists allow, never the plugin itself or the channel transport', () => {
    expect(isTraced('export_project')).toBe(true)
    expect(isTraced('plugin:opentelemetry|ack_series')).toBe(false)
    expect(isTraced('plugin:__TAURI_CHANNEL__|fetch')).toBe(false)
    expect(isTraced('plugin:fs|read_file', { deny: ['plugin:fs|*'] })).toBe(false)
    expect(isTraced('export_project', { allow: ['export_*'] })).toBe(true)
    expect(isTraced('open_project', { allow: ['export_*'] })).toBe(false)
  })
})

describe('every invoke traced', () => {
  it('gives each call a client span whose traceparent goes with it, and reports it', async () => {
    install()
    const response = await call('export_project')
    expect(await response.json()).toEqual({ frames: 3 })
    const sent = seen[0].headers.get('traceparent') ?? ''
    expect(sent).toMatch(TRACEPARENT)
    expect(seen[0].headers.get('Tauri-Callback')).toBe('1')
    await vi.advanceTimersByTimeAsync(1000)
    expect(reports).toHaveLength(1)
    const [timing] = reports[0].invokes
    expect(timing).toMatchObject({ command: 'export_project', traceparent: sent })
    expect(timing.parent).toBeUndefined()
    expect(timing.error).toBeUndefined()
    expect(timing.durationMs).toBeGreaterThanOrEqual(0)
    expect(Math.abs(timing.startMs - Date.now())).toBeLessThan(60_000)
  })

  it('makes a call inside a UI span its child, in the same trace', async () => {
    install()
    await call('open_project', { traceparent: PARENT })
    const sent = seen[0].headers.get('traceparent') ?? ''
    const [, trace, span] = TRACEPARENT.exec(sent) ?? []
    expect(trace).toBe('0af7651916cd43dd8448eb211c80319c')
    expect(span).not.toBe('b7ad6b7169203331')
    await vi.advanceTimersByTimeAsync(1000)
    expect(reports[0].invokes[0].parent).toBe(PARENT)
  })

  it('reports a failed command with the error the page receives, and leaves the answer readable', async () => {
    answer = () =>
      new Response(JSON.stringify('no project open'), {
        headers: { 'Tauri-Response': 'error', 'content-type': 'application/json' }
      })
    install()
    const response = await call('export_project')
    expect(await response.json()).toBe('no project open')
    await vi.advanceTimersByTimeAsync(1000)
    expect(reports[0].invokes[0].error).toBe('no project open')
  })

  it('leaves the plugin, the channel transport, denied commands and other requests alone', async () => {
    install({ deny: ['plugin:fs|*'] })
    await call('plugin:opentelemetry|ack_series')
    await call('plugin:__TAURI_CHANNEL__|fetch')
    await call('plugin:fs|read_file')
    await window.fetch('http://tauri.localhost/assets/index.js')
    expect(seen.every((s) => s.headers.get('traceparent') === null)).toBe(true)
    await vi.advanceTimersByTimeAsync(5000)
    expect(reports).toHaveLength(0)
  })

  it('keeps a bounded buffer: what does not fit is counted, reports stay within the limit', async () => {
    install()
    const calls = MAX_BUFFERED + 100
    await Promise.all(Array.from({ length: calls }, () => call('scrub_timeline')))
    await vi.advanceTimersByTimeAsync(1000)
    expect(reports[0].invokes).toHaveLength(MAX_INVOKES)
    expect(reports[0].dropped).toBe(100)
    await vi.advanceTimersByTimeAsync(3000)
    const sent = reports.reduce((n, r) => n + r.invokes.length, 0)
    expect(sent).toBe(MAX_BUFFERED)
    expect(reports.every((r) => r.invokes.length <= MAX_INVOKES)).toBe(true)
  })

  it('stops, and gives fetch back, when the window may not report', async () => {
    install({}, 'opentelemetry.record_invokes not allowed on window "main"')
    const traced = window.fetch
    await call('export_project')
    await vi.advanceTimersByTimeAsync(1000)
    expect(reports).toHaveLength(1)
    expect(window.fetch).not.toBe(traced)
    await call('export_project')
    expect(seen[1].headers.get('traceparent')).toBeNull()
  })
})
