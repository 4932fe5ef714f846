import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import {
  TelemetryClient,
  type CrashReport,
  type SeriesSelector,
  type SeriesUpdate,
  type TelemetryEvent,
  type TraceRecord,
  type Transport
} from '../src/index'
import { mountDashboard, type Dashboard } from '../dashboard/index'
import { REFRESH_MS as OVERVIEW_REFRESH_MS } from '../dashboard/views/overview'

// uPlot draws on a canvas, which jsdom lacks: count the plots made and destroyed instead.
const plots = vi.hoisted(() => ({ made: 0, destroyed: 0, data: [] as unknown[] }))
vi.mock('uplot', () => ({
  default: class {
    width: number
    bbox: { width: number }
    constructor(
      options: { width: number; hooks?: { setSize?: Array<(u: unknown) => void> } },
      data: unknown
    ) {
      this.width = options.width
      this.bbox = { width: options.width - 60 }
      plots.made += 1
      plots.data.push(data)
      // As uPlot: the first draw settles the plot's size and tells the setSize hooks.
      queueMicrotask(() => options.hooks?.setSize?.forEach((hook) => hook(this)))
    }
    setData(data: unknown) {
      plots.data.push(data)
    }
    setSize() {}
    redraw() {}
    destroy() {
      plots.destroyed += 1
    }
  }
}))

type Handler = (payload: unknown) => void
type Stream = {
  selectors: SeriesSelector[]
  intervalMs: number
  onUpdate: (u: SeriesUpdate) => void
}

const NOW = 1_800_000_000_000

const TRACE: TraceRecord = {
  traceId: 'ab'.repeat(16),
  name: 'render_video',
  startMs: NOW - 5000,
  durationMs: 120,
  error: true,
  droppedSpans: 0,
  spans: [
    {
      spanId: '1'.repeat(16),
      parentSpanId: null,
      name: 'render_video',
      startMs: NOW - 5000,
      durationMs: 120,
      error: null,
      attributes: { codec: 'h264' },
      events: [],
      droppedAttributes: 0,
      droppedEvents: 0
    },
    {
      spanId: '2'.repeat(16),
      parentSpanId: '1'.repeat(16),
      name: 'encode',
      startMs: NOW - 4990,
      durationMs: 100,
      error: 'disk full',
      attributes: {},
      events: [[NOW - 4950, 'retry']],
      droppedAttributes: 0,
      droppedEvents: 0
    }
  ]
}

/** Two points of history for every series. */
const SHORT_HISTORY = (): Array<[number, number]> => [
  [NOW - 2000, 10],
  [NOW - 1000, 20]
]

/**
 * An in-memory engine: canned answers, live streams and listeners the test can drive;
 * `history` gives the points `query_series` answers for a series name.
 */
function fakeEngine(
  denied: string[] = [],
  history: (name: string) => Array<[number, number]> = SHORT_HISTORY,
  previousCrash: CrashReport | null = null
) {
  const calls: Array<{ command: string; args: Record<string, unknown> }> = []
  const streams = new Set<Stream>()
  const listeners = new Map<TelemetryEvent, Set<Handler>>()
  const answers: Record<string, (args: Record<string, unknown>) => unknown> = {
    get_health: () => ({
      status: 'Warning',
      checks: {
        disk_space: {
          status: 'Warning',
          message: '/ is 92% full',
          timestamp: NOW,
          checkDuration: 2,
          metadata: {}
        },
        memory: {
          status: 'Healthy',
          message: '3% used',
          timestamp: NOW,
          checkDuration: 1,
          metadata: {}
        }
      }
    }),
    run_health_checks: () => answers.get_health({}),
    get_health_history: () => [],
    get_active_alerts: () => [
      {
        rule: 'slow_video_processing',
        state: 'Firing',
        severity: 'Warning',
        labels: {},
        value: 31000,
        activeSinceMs: NOW
      },
      {
        rule: 'high_error_rate',
        state: 'Pending',
        severity: 'Critical',
        labels: {},
        value: 0.2,
        activeSinceMs: NOW
      }
    ],
    get_alert_history: () => [],
    get_previous_crash: () => previousCrash,
    get_export_status: () => ({
      'metrics:prometheus:9090': { state: 'Healthy' },
      'traces:otlp:http://collector:4318/v1/traces': { state: 'Failed', reason: 'connection refused' }
    }),
    get_metric_catalogue: () => [],
    get_panels: () => [
      { section: 'Render', title: 'Frame time', kind: 'quantiles', metric: 'frame_ms', labels: {}, unit: 'ms' },
      { section: 'Cache', title: 'Hit ratio', kind: 'ratio', metric: 'hits_total', labels: {}, complement: 'misses_total' },
      { section: 'Render', title: 'Queue', kind: 'value', metric: 'queue', labels: { lane: 'a' } },
      { section: 'Metrics', title: 'uploads_total', kind: 'rate', metric: 'uploads_total', labels: {}, unit: 'bytes' }
    ],
    query_series: (args) => {
      const { name } = args.query as { name: string }
      return [{ name, labels: {}, points: history(name) }]
    },
    list_traces: () => [TRACE],
    get_trace: () => TRACE,
    get_logs: (args) =>
      [
      {
        timestampMs: NOW,
        level: 'ERROR',
        target: 'studio',
        message: 'encode failed',
        fields: {},
        traceId: TRACE.traceId,
        spanId: null,
        sessionId: 'this-session'
      },
      {
        timestampMs: NOW - 60_000,
        level: 'ERROR',
        target: 'telemetry::panics',
        message: 'the previous session crashed: index out of bounds',
        fields: {},
        traceId: null,
        spanId: null,
        sessionId: 'previous-session'
      }
    ].filter((r) => {
        const session = (args.filter as { sessionId?: string } | null)?.sessionId
        return session === undefined || r.sessionId === session
      }),
    get_resource: () => ({ 'service.name': 'studio', 'session.id': 'this-session' })
  }
  const transport: Transport = {
    async call<T>(command: string, args?: Record<string, unknown>) {
      calls.push({ command, args: args ?? {} })
      if (denied.includes(command)) throw `opentelemetry.${command} not allowed`
      const answer = answers[command]
      if (answer === undefined) throw new Error(`unexpected command ${command}`)
      return answer(args ?? {}) as T
    },
    async subscribe(selectors, intervalMs, onUpdate) {
      const stream = { selectors, intervalMs, onUpdate }
      streams.add(stream)
      return async () => {
        streams.delete(stream)
      }
    },
    async listen<T>(event: TelemetryEvent, handler: (payload: T) => void) {
      const set = listeners.get(event) ?? new Set<Handler>()
      set.add(handler as Handler)
      listeners.set(event, set)
      return () => {
        set.delete(handler as Handler)
      }
    }
  }
  const listening = () => [...listeners.values()].reduce((n, s) => n + s.size, 0)
  const emit = (event: TelemetryEvent, payload: unknown) =>
    listeners.get(event)?.forEach((h) => h(payload))
  return { client: new TelemetryClient(transport), calls, streams, listening, emit }
}

const $ = (root: ParentNode, testid: string) =>
  root.querySelector<HTMLElement>(`[data-testid="${testid}"]`)
const $$ = (root: ParentNode, testid: string) => [
  ...root.querySelectorAll<HTMLElement>(`[data-testid="${testid}"]`)
]

let host: HTMLElement
let dashboard: Dashboard | undefined
let consoleError: ReturnType<typeof vi.spyOn>

beforeEach(() => {
  vi.useFakeTimers({
    toFake: [
      'setTimeout',
      'setInterval',
      'clearTimeout',
      'clearInterval',
      'Date',
      'requestAnimationFrame',
      'cancelAnimationFrame'
    ]
  })
  vi.setSystemTime(NOW)
  host = document.createElement('div')
  document.body.append(host)
  consoleError = vi.spyOn(console, 'error')
  plots.made = 0
  plots.destroyed = 0
  plots.data.length = 0
})

afterEach(() => {
  dashboard?.destroy()
  dashboard = undefined
  host.remove()
  expect(consoleError).not.toHaveBeenCalled()
  consoleError.mockRestore()
  vi.useRealTimers()
})

describe('the mounted dashboard', () => {
  it('shows health, firing alerts and exporters on the overview', async () => {
    const engine = fakeEngine()
    dashboard = mountDashboard(host, { client: engine.client })
    const summary = $(host, 'health-summary')!
    await vi.waitFor(() => expect(summary.getAttribute('data-status')).toBe('Warning'))
    expect(summary.textContent).toContain('disk_space: Warning')
    const exporters = $$(host, 'exporter-row').map((r) => [r.dataset.name, r.dataset.state])
    expect(exporters).toEqual([
      ['metrics:prometheus:9090', 'Healthy'],
      ['traces:otlp:http://collector:4318/v1/traces', 'Failed']
    ])
    const alerts = $(host, 'overview-alerts')!
    expect(alerts.textContent).toContain('slow_video_processing')
    expect(alerts.textContent).not.toContain('high_error_rate')
    expect($(host, 'view-overview')).not.toBeNull()
    expect($(host, 'previous-crash')).toBeNull()
  })

  it('refreshes health and alerts on their events and leaves unchanged cards as they are', async () => {
    const engine = fakeEngine()
    dashboard = mountDashboard(host, { client: engine.client })
    const summary = $(host, 'health-summary')!
    await vi.waitFor(() => expect(summary.getAttribute('data-status')).toBe('Warning'))
    const chips = summary.querySelector('ul')
    const exporterRow = $(host, 'exporter-row')
    const reads = (command: string) => engine.calls.filter((c) => c.command === command).length
    const health = reads('get_health')
    const alerts = reads('get_active_alerts')
    // The poll reads everything again; nothing changed, so no card is rebuilt.
    await vi.advanceTimersByTimeAsync(OVERVIEW_REFRESH_MS)
    expect([reads('get_health'), reads('get_active_alerts')]).toEqual([health + 1, alerts + 1])
    expect(summary.querySelector('ul')).toBe(chips)
    expect($(host, 'exporter-row')).toBe(exporterRow)
    // An event refreshes its card at once, long before the next poll.
    engine.emit('health', { check: 'disk_space', from: 'Warning', to: 'Healthy' })
    await vi.waitFor(() => expect(reads('get_health')).toBe(health + 2))
    engine.emit('alert', { rule: 'slow_video_processing', state: 'Resolved' })
    await vi.waitFor(() => expect(reads('get_active_alerts')).toBe(alerts + 2))
  })

  it("shows the previous session's crash with its backtrace", async () => {
    const engine = fakeEngine([], SHORT_HISTORY, {
      kind: 'panic',
      sessionId: '5f0c',
      timeMs: NOW,
      message: 'codec state corrupted at frame 1234',
      location: 'src/encoders.rs:88:9',
      thread: 'encoder-3',
      backtrace: '0: studio::encoders::encode',
      minidump: '/data/minidumps/1764110538123-5f0c.dmp'
    })
    dashboard = mountDashboard(host, { client: engine.client })
    await vi.waitFor(() => expect($(host, 'previous-crash')).not.toBeNull())
    const crash = $(host, 'previous-crash')!
    expect(crash.dataset.kind).toBe('panic')
    expect(crash.textContent).toContain('The previous session crashed')
    expect($(host, 'crash-message')!.textContent).toBe('codec state corrupted at frame 1234')
    expect(crash.textContent).toContain('thread encoder-3')
    expect(crash.textContent).toContain('src/encoders.rs:88:9')
    expect(crash.textContent).toContain('minidump /data/minidumps/1764110538123-5f0c.dmp')
    expect(crash.querySelector('pre')!.textContent).toBe('0: studio::encoders::encode')
    $(host, 'crash-logs')!.click()
    await vi.waitFor(() => expect($(host, 'view-logs')).not.toBeNull())
    expect(($(host, 'log-session') as HTMLSelectElement).value).toBe('5f0c')
    await vi.waitFor(() =>
      expect(engine.calls.some((c) => c.command === 'get_logs' && (c.args.filter as { sessionId?: string }).sessionId === '5f0c')).toBe(true)
    )
  })

  it('loads chart history, then appends only newer stream points', async () => {
    const engine = fakeEngine()
    dashboard = mountDashboard(host, { client: engine.client })
    const cpu = host.querySelector<HTMLElement>(
      '[data-testid="chart"][data-metric="system_cpu_usage_percent"]'
    )!
    await vi.waitFor(() => expect(cpu.dataset.points).toBe('2'))
    expect(cpu.dataset.lastTs).toBe(String(NOW - 1000))
    const network = host.querySelector<HTMLElement>(
      '[data-metric="system_network_bytes_sent_total"]'
    )!
    expect(network.dataset.points).toBe('1') // a rate: one interval between two points

    await vi.waitFor(() => expect(engine.streams.size).toBe(1))
    const [stream] = engine.streams
    expect(stream.intervalMs).toBe(1000)
    expect(stream.selectors).toContainEqual({ name: 'system_cpu_usage_percent' })
    const tick = (timestampMs: number, value: number) =>
      stream.onUpdate({
        id: 1,
        seq: 1,
        timestampMs,
        dropped: 0,
        series: [{ name: 'system_cpu_usage_percent', labels: {}, value }]
      })
    tick(NOW, 30)
    tick(NOW, 31) // same collection: not a new point
    expect(cpu.dataset.points).toBe('2') // drawn at the next frame
    vi.advanceTimersToNextFrame()
    expect(cpu.dataset.points).toBe('3')
    expect(cpu.dataset.lastTs).toBe(String(NOW))

    const pause = $(host, 'pause-toggle')!
    pause.click()
    tick(NOW + 1000, 40)
    vi.advanceTimersToNextFrame()
    expect(cpu.dataset.points).toBe('3')
    pause.click() // resume: history is loaded again
    await vi.waitFor(() =>
      expect(engine.calls.filter((c) => c.command === 'query_series').length).toBeGreaterThan(9)
    )
  })

  /** The dashboard mounted over a fake engine, once its CPU chart and stream are live. */
  async function liveCpu() {
    const engine = fakeEngine()
    dashboard = mountDashboard(host, { client: engine.client })
    const cpu = host.querySelector<HTMLElement>(
      '[data-testid="chart"][data-metric="system_cpu_usage_percent"]'
    )!
    await vi.waitFor(() => expect(engine.streams.size).toBe(1))
    await vi.waitFor(() => expect(cpu.dataset.points).toBe('2'))
    const [stream] = engine.streams
    return { cpu, stream }
  }

  it('draws a chart once a frame however many updates arrived, and only the charts whose lines moved', async () => {
    const { cpu, stream } = await liveCpu()
    const charts = $$(host, 'chart').length
    const before = plots.data.length
    for (let i = 1; i <= 5; i++) {
      stream.onUpdate({
        id: 1,
        seq: i,
        timestampMs: NOW + i * 100,
        dropped: 0,
        series: [{ name: 'system_cpu_usage_percent', labels: {}, value: i }]
      })
    }
    expect(plots.data.length).toBe(before) // updates only mark the charts
    vi.advanceTimersToNextFrame()
    // One draw for five updates, of the one chart whose series moved; the others have
    // nothing newer to show.
    expect(charts).toBeGreaterThan(1)
    expect(plots.data.length).toBe(before + 1)
    expect(cpu.dataset.points).toBe('7')
    expect(cpu.dataset.lastTs).toBe(String(NOW + 500))
    vi.advanceTimersToNextFrame()
    vi.advanceTimersByTime(2000)
    vi.advanceTimersToNextFrame()
    expect(plots.data.length).toBe(before + 1) // nothing new, nothing drawn

    $(host, 'tab-traces')!.click() // the view is left: its charts draw nothing more
    stream.onUpdate({
      id: 1,
      seq: 6,
      timestampMs: NOW + 600,
      dropped: 0,
      series: [{ name: 'system_cpu_usage_percent', labels: {}, value: 6 }]
    })
    vi.advanceTimersToNextFrame()
    expect(plots.data.length).toBe(before + 1)
  })

  it('draws a chart only while it is on screen, and what it missed when it comes back', async () => {
    // What IntersectionObserver reports, driven by the test (jsdom has none).
    const observers: Array<{ target: Element; report: (on: boolean) => void }> = []
    class FakeObserver {
      constructor(private readonly callback: (entries: Array<{ isIntersecting: boolean }>) => void) {}
      observe(target: Element) {
        observers.push({ target, report: (on) => this.callback([{ isIntersecting: on }]) })
      }
      disconnect() {}
    }
    vi.stubGlobal('IntersectionObserver', FakeObserver)
    try {
      const engine = fakeEngine()
      dashboard = mountDashboard(host, { client: engine.client })
      const cpu = host.querySelector<HTMLElement>(
        '[data-testid="chart"][data-metric="system_cpu_usage_percent"]'
      )!
      const seen = (on: boolean) => observers.find((o) => o.target === cpu)!.report(on)
      await vi.waitFor(() => expect(engine.streams.size).toBe(1))
      vi.advanceTimersToNextFrame()
      expect(cpu.dataset.points).toBe('0') // loaded, but not seen yet: nothing drawn
      seen(true)
      vi.advanceTimersToNextFrame()
      expect(cpu.dataset.points).toBe('2')
      const shown = cpu.dataset.lastTs
      seen(false)
      const [stream] = engine.streams
      stream.onUpdate({
        id: 1,
        seq: 1,
        timestampMs: NOW + 60_000,
        dropped: 0,
        series: [{ name: 'system_cpu_usage_percent', labels: {}, value: 9 }]
      })
      vi.advanceTimersToNextFrame()
      vi.advanceTimersByTime(2000)
      vi.advanceTimersToNextFrame()
      expect(cpu.dataset.lastTs).toBe(shown) // off screen: not drawn
      seen(true)
      vi.advanceTimersToNextFrame()
      expect(cpu.dataset.lastTs).toBe(String(NOW + 60_000))
      expect(cpu.dataset.points).toBe('3')
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it('waits for a pixel column of movement, or at most a second, and draws at once when told', async () => {
    const { cpu, stream } = await liveCpu()
    const tick = (seq: number, at: number) =>
      stream.onUpdate({
        id: 1,
        seq,
        timestampMs: at,
        dropped: 0,
        series: [{ name: 'system_cpu_usage_percent', labels: {}, value: seq }]
      })
    // A column spans (history span) / (plot px); a point 1 ms later moves the line by
    // far less than a column.
    const last = Number(cpu.dataset.lastTs)
    const before = plots.data.length
    tick(1, last + 1)
    vi.advanceTimersToNextFrame()
    expect(plots.data.length).toBe(before) // waits
    expect(cpu.dataset.lastTs).toBe(String(last))
    vi.advanceTimersByTime(1000) // MAX_LAG_MS
    vi.advanceTimersToNextFrame()
    expect(plots.data.length).toBe(before + 1)
    expect(cpu.dataset.lastTs).toBe(String(last + 1))
    // A theme change draws every chart at once.
    const drawn = plots.data.length
    $(host, 'theme-toggle')!.click()
    vi.advanceTimersToNextFrame()
    expect(plots.data.length).toBeGreaterThan(drawn + 1)
  })

  it('hands uPlot at most four points per pixel column, with spikes and the newest', async () => {
    const dense = (): Array<[number, number]> =>
      Array.from({ length: 4000 }, (_, i) => [NOW - (4000 - i) * 50, i === 1234 ? 99 : 10])
    const engine = fakeEngine([], dense)
    dashboard = mountDashboard(host, { client: engine.client })
    const cpu = host.querySelector<HTMLElement>(
      '[data-testid="chart"][data-metric="system_cpu_usage_percent"]'
    )!
    // jsdom has no layout: the chart is 240 px wide, the mocked plot 180 px, which the
    // chart learns once the plot is made (then draws again).
    await vi.waitFor(() => expect(Number(cpu.dataset.points)).toBeGreaterThan(0))
    expect(Number(cpu.dataset.points)).toBeLessThanOrEqual(4 * 241)
    await vi.waitFor(() => expect(Number(cpu.dataset.points)).toBeLessThanOrEqual(4 * 181))
    const points = Number(cpu.dataset.points)
    expect(cpu.dataset.lastTs).toBe(String(NOW - 50))
    const drawn = plots.data.find((d) => (d as ArrayLike<number>[])[0].length === points) as
      | ArrayLike<number>[]
      | undefined
    expect(drawn).toBeDefined()
    expect(Math.max(...Array.from(drawn![1]))).toBe(99)
  })

  it('stops every stream, listener, timer and chart on destroy', async () => {
    const engine = fakeEngine()
    dashboard = mountDashboard(host, { client: engine.client })
    await vi.waitFor(() => expect(engine.streams.size).toBe(1))
    expect(plots.made).toBeGreaterThan(0)
    $(host, 'tab-traces')!.click()
    await vi.waitFor(() => expect(engine.listening()).toBe(1))
    expect(engine.streams.size).toBe(0) // leaving the overview ended its stream
    expect(plots.destroyed).toBe(plots.made) // and its charts
    $(host, 'tab-metrics')!.click()
    await vi.waitFor(() => expect(engine.streams.size).toBe(1))
    expect(engine.listening()).toBe(0)

    dashboard.destroy()
    await vi.advanceTimersByTimeAsync(0)
    expect(engine.streams.size).toBe(0)
    expect(engine.listening()).toBe(0)
    expect(plots.destroyed).toBe(plots.made)
    expect(host.childElementCount).toBe(0)
    const before = engine.calls.length
    await vi.advanceTimersByTimeAsync(30_000)
    expect(engine.calls.length).toBe(before)
  })

  it('charts the panels the engine lists, grouped by section in order', async () => {
    const engine = fakeEngine()
    dashboard = mountDashboard(host, { client: engine.client })
    $(host, 'tab-metrics')!.click()
    await vi.waitFor(() => expect(engine.streams.size).toBe(1))
    const view = $(host, 'view-metrics')!
    const sections = [...view.querySelectorAll('.chart-section h3')].map((e) => e.textContent)
    expect(sections).toEqual(['Render', 'Cache', 'Metrics'])
    const charts = [...view.querySelectorAll<HTMLElement>('.chart-section [data-testid="chart"]')]
    expect(charts.map((c) => c.dataset.metric)).toEqual(['frame_ms', 'queue', 'hits_total', 'uploads_total'])
    const [stream] = engine.streams
    expect(stream.selectors.map((s) => s.name).sort()).toEqual([
      'frame_ms_p50',
      'frame_ms_p90',
      'frame_ms_p99',
      'hits_total',
      'misses_total',
      'queue',
      'uploads_total'
    ])
    expect(stream.selectors.find((s) => s.name === 'queue')?.labels).toEqual({ lane: 'a' })
  })

  it('shows a denied command in the error strip, not as a rejection', async () => {
    const engine = fakeEngine(['get_export_status'])
    dashboard = mountDashboard(host, { client: engine.client })
    const strip = $(host, 'error-strip')!
    await vi.waitFor(() => expect(strip.hidden).toBe(false))
    expect(strip.textContent).toContain(
      'get_export_status: opentelemetry.get_export_status not allowed'
    )
    await vi.advanceTimersByTimeAsync(OVERVIEW_REFRESH_MS)
    expect(strip.textContent).toContain('(×2)')
    expect($$(host, 'exporter-row')).toHaveLength(0)
  })

  it('lists traces live and opens one as a waterfall with its logs', async () => {
    const engine = fakeEngine()
    dashboard = mountDashboard(host, { client: engine.client })
    $(host, 'tab-traces')!.click()
    await vi.waitFor(() => expect($$(host, 'trace-row')).toHaveLength(1))
    expect($(host, 'trace-row')!.dataset.spanCount).toBe('2')
    engine.emit('trace', {
      traceId: 'cd'.repeat(16),
      name: 'export',
      startMs: NOW,
      durationMs: 3,
      error: false,
      spanCount: 4
    })
    await vi.waitFor(() => expect($$(host, 'trace-row')).toHaveLength(2))
    expect($$(host, 'trace-row')[0].dataset.traceId).toBe('cd'.repeat(16))

    $$(host, 'trace-row')[1].click()
    await vi.waitFor(() => expect($$(host, 'waterfall-span')).toHaveLength(2))
    expect($$(host, 'waterfall-span').map((s) => s.dataset.spanId)).toEqual([
      '1'.repeat(16),
      '2'.repeat(16)
    ])
    expect($(host, 'span-details')!.textContent).toContain('codec')
    $$(host, 'waterfall-span')[1].click()
    expect($(host, 'span-details')!.textContent).toContain('disk full')
    expect($(host, 'trace-logs')!.textContent).toContain('encode failed')
    expect(engine.calls).toContainEqual({
      command: 'get_logs',
      args: { filter: { traceId: TRACE.traceId, limit: 200 } }
    })
  })

  it("says above the trace list when the store keeps only a share of the traces", async () => {
    const load: Record<string, Array<[number, number]>> = {
      telemetry_store_traces_kept_ratio: [
        [NOW - 20_000, 1],
        [NOW - 10_000, 0.25]
      ],
      telemetry_store_traces_passed_over_total: [[NOW - 10_000, 1234]]
    }
    const engine = fakeEngine([], (name) => load[name] ?? [])
    dashboard = mountDashboard(host, { client: engine.client })
    $(host, 'tab-traces')!.click()
    await vi.waitFor(() => expect($(host, 'trace-load')!.hidden).toBe(false))
    expect($(host, 'trace-load')!.textContent).toContain('about 25% of them')
    expect($(host, 'trace-load')!.textContent).toContain('1,234 passed over')
    expect(engine.calls.filter((c) => c.command === 'query_series').map((c) => c.args.query)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'telemetry_store_traces_kept_ratio' }),
        expect.objectContaining({ name: 'telemetry_store_traces_passed_over_total' })
      ])
    )
  })

  it('says nothing of the load while the store keeps every trace', async () => {
    const engine = fakeEngine([], (name) =>
      name === 'telemetry_store_traces_kept_ratio' ? [[NOW - 10_000, 1]] : []
    )
    dashboard = mountDashboard(host, { client: engine.client })
    $(host, 'tab-traces')!.click()
    const asked = (name: string) =>
      engine.calls.some(
        (c) => c.command === 'query_series' && (c.args.query as { name: string }).name === name
      )
    await vi.waitFor(() => expect(asked('telemetry_store_traces_passed_over_total')).toBe(true))
    await vi.waitFor(() => expect($$(host, 'trace-row')).toHaveLength(1))
    expect($(host, 'trace-load')!.hidden).toBe(true)
  })

  it('tails logs without repeating records', async () => {
    const engine = fakeEngine()
    dashboard = mountDashboard(host, { client: engine.client })
    $(host, 'tab-logs')!.click()
    await vi.waitFor(() => expect($$(host, 'log-row')).toHaveLength(2))
    await vi.advanceTimersByTimeAsync(3000)
    expect(engine.calls.filter((c) => c.command === 'get_logs').length).toBeGreaterThan(2)
    expect($$(host, 'log-row')).toHaveLength(2)
    expect($(host, 'log-row')!.dataset.level).toBe('ERROR')
  })

  it("filters logs by session, names this one, and tags another session's records", async () => {
    const engine = fakeEngine()
    dashboard = mountDashboard(host, { client: engine.client })
    $(host, 'tab-logs')!.click()
    await vi.waitFor(() => expect($$(host, 'log-row')).toHaveLength(2))
    const select = $(host, 'log-session') as HTMLSelectElement
    const options = [...select.options].map((o) => [o.value, o.textContent])
    expect(options).toEqual([
      ['', 'All sessions'],
      ['this-session', 'This session (this-ses)'],
      ['previous-session', 'Session previous']
    ])
    const tags = $$(host, 'log-session-tag')
    expect(tags).toHaveLength(1)
    expect(tags[0].closest('[data-testid="log-row"]')!.textContent).toContain('the previous session crashed')
    select.value = 'this-session'
    select.dispatchEvent(new Event('change'))
    await vi.waitFor(() => expect($$(host, 'log-row')).toHaveLength(1))
    const last = engine.calls.filter((c) => c.command === 'get_logs').pop()!
    expect(last.args.filter).toMatchObject({ sessionId: 'this-session' })
    expect($(host, 'log-row')!.textContent).toContain('encode failed')
  })

  it('offers writes only with canWrite', async () => {
    const readOnly = fakeEngine()
    dashboard = mountDashboard(host, { client: readOnly.client })
    $(host, 'tab-health')!.click()
    await vi.waitFor(() => expect($$(host, 'health-check')).toHaveLength(2))
    expect($(host, 'health-run')).toBeNull()
    $(host, 'tab-alerts')!.click()
    await vi.waitFor(() => expect($$(host, 'alert-row')).toHaveLength(2))
    expect($(host, 'alert-silence')).toBeNull()
    dashboard.destroy()

    const writer = fakeEngine()
    dashboard = mountDashboard(host, { client: writer.client, canWrite: true })
    $(host, 'tab-health')!.click()
    await vi.waitFor(() => expect($(host, 'health-run')).not.toBeNull())
    $(host, 'health-run')!.click()
    await vi.waitFor(() =>
      expect(writer.calls.map((c) => c.command)).toContain('run_health_checks')
    )
    $(host, 'tab-alerts')!.click()
    await vi.waitFor(() => expect($$(host, 'alert-row')).toHaveLength(2))
    const firing = host.querySelector<HTMLElement>(
      '[data-testid="alert-row"][data-state="Firing"]'
    )!
    expect($$(firing, 'alert-ack')).toHaveLength(1)
    expect($$(host, 'alert-ack')).toHaveLength(1) // pending alerts cannot be acknowledged
  })

  it('switches theme and remembers the choice', () => {
    const engine = fakeEngine()
    localStorage.removeItem('otel-dashboard-theme')
    dashboard = mountDashboard(host, { client: engine.client })
    const root = host.firstElementChild as HTMLElement
    expect(root.dataset.theme).toBe('light')
    $(host, 'theme-toggle')!.click()
    expect(root.dataset.theme).toBe('dark')
    expect(localStorage.getItem('otel-dashboard-theme')).toBe('dark')
    localStorage.removeItem('otel-dashboard-theme')
  })
})
