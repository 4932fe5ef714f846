import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'

import {
  DIAGNOSTICS_FORMAT,
  TelemetryClient,
  bundleTransport,
  readBundle,
  type DiagnosticsBundle
} from '../src/index'

const T = 1_764_000_000_000

function bundle(): DiagnosticsBundle {
  const span = (name: string, error: string | null) => ({
    spanId: '00000000000000a1',
    parentSpanId: null,
    name,
    startMs: T - 1000,
    durationMs: 40,
    error,
    attributes: { project: 'wedding' },
    events: [],
    droppedAttributes: 0,
    droppedEvents: 0
  })
  const trace = (id: string, name: string, error: boolean) => ({
    traceId: id.repeat(32),
    name,
    startMs: T - 1000,
    durationMs: 40,
    error,
    spans: [span(name, error ? 'encoder crashed' : null)],
    droppedSpans: 0
  })
  const log = (level: string, message: string) => ({
    timestampMs: T - 500,
    level,
    target: 'studio',
    message,
    fields: {},
    traceId: null,
    spanId: null,
    sessionId: 's1'
  })
  return {
    format: DIAGNOSTICS_FORMAT,
    version: 1,
    writtenAtMs: T,
    windowMs: 900_000,
    resource: { 'service.name': 'studio' },
    config: { service_name: 'studio' },
    catalogue: [],
    panels: [],
    series: [
      {
        name: 'render_queue_depth',
        labels: { queue: 'export' },
        points: [
          [T - 3000, 1],
          [T - 2500, 2],
          [T - 1000, 5]
        ]
      },
      { name: 'render_queue_depth', labels: { queue: 'preview' }, points: [[T - 1000, 9]] },
      { name: 'frame_ms_p99', labels: {}, points: [[T - 1000, 33]] }
    ],
    traces: [trace('b', 'export_video', true), trace('a', 'open_project', false)],
    logs: [log('ERROR', 'encoder crashed'), log('INFO', 'export started')],
    health: { status: 'Healthy', checks: {} },
    healthHistory: [],
    activeAlerts: [],
    alertHistory: [],
    exportStatus: { 'traces:otlp:https://collector': { state: 'Healthy' } }
  } as unknown as DiagnosticsBundle
}

describe('diagnostics bundles', () => {
  it('reads the gzip file the engine writes, and its JSON', async () => {
    const json = JSON.stringify(bundle())
    const gz = new Uint8Array(gzipSync(json))
    expect((await readBundle(gz)).writtenAtMs).toBe(T)
    expect((await readBundle(new TextEncoder().encode(json))).traces).toHaveLength(2)
  })

  it('refuses what is not a bundle, naming why', async () => {
    await expect(readBundle(new TextEncoder().encode('{"a":1}'))).rejects.toThrow(
      'not a diagnostics bundle: "format"'
    )
    await expect(readBundle(new TextEncoder().encode('PK\u0003\u0004'))).rejects.toThrow(
      'not a diagnostics bundle'
    )
    const newer = { ...bundle(), version: 2 }
    await expect(readBundle(new TextEncoder().encode(JSON.stringify(newer)))).rejects.toThrow(
      'version 2 is newer'
    )
  })

  it('answers the read commands as the plugin did, and refuses writes', async () => {
    const client = new TelemetryClient(bundleTransport(bundle()))
    const series = await client.querySeries({
      name: 'render_queue_depth',
      labels: { queue: 'export' },
      fromMs: T - 2800,
      stepMs: 60_000
    })
    expect(series).toEqual([
      { name: 'render_queue_depth', labels: { queue: 'export' }, points: [[T - 1000, 5]] }
    ])
    expect((await client.getSnapshot()).series).toContainEqual({
      name: 'render_queue_depth',
      labels: { queue: 'preview' },
      value: 9
    })
    expect(await client.getHistogramQuantiles('frame_ms')).toEqual([{ quantile: 0.99, value: 33 }])
    expect((await client.listTraces({ error: true })).map((t) => t.name)).toEqual(['export_video'])
    expect((await client.getTrace('a'.repeat(32)))?.name).toBe('open_project')
    expect((await client.getLogs({ minLevel: 'warn' })).map((r) => r.message)).toEqual([
      'encoder crashed'
    ])
    expect(Object.keys(await client.getExportStatus())).toEqual(['traces:otlp:https://collector'])
    await expect(client.runHealthChecks()).rejects.toThrow('run_health_checks: not in a diagnostics bundle')
  })
})
