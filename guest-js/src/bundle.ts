/**
 * Diagnostics bundles: the gzip-compressed JSON file that `writeDiagnostics()` (or the
 * engine's `GET /api/diagnostics`) writes, read back in the browser with no backend, and
 * a {@link Transport} that answers the read commands from it as the plugin answered them
 * when it was written.
 * @module
 */
import type { DiagnosticsBundle } from './bindings/DiagnosticsBundle.js'
import type { LogFilter } from './bindings/LogFilter.js'
import type { LogRecord } from './bindings/LogRecord.js'
import type { SeriesQuery } from './bindings/SeriesQuery.js'
import type { TraceFilter } from './bindings/TraceFilter.js'
import type { TraceRecord } from './bindings/TraceRecord.js'
import type { Transport } from './transport.js'

/** What the `format` field of every bundle says. */
export const DIAGNOSTICS_FORMAT = 'tauri-plugin-opentelemetry/diagnostics'

/** The newest bundle layout this client reads. */
export const DIAGNOSTICS_VERSION = 1

/** Bundles larger than this (compressed or not) are refused: 256 MiB. */
const MAX_BYTES = 256 * 1024 * 1024

/**
 * Reads a bundle from a file the user picked (gzip, or the JSON inside it).
 *
 * @throws an `Error` that says what is wrong: not gzip or JSON, not a bundle, a newer layout.
 * @example
 * ```ts
 * input.onchange = async () => show(await readBundle(input.files![0]))
 * ```
 */
export async function readBundle(data: Blob | Uint8Array): Promise<DiagnosticsBundle> {
  // Not `instanceof`: the bytes may come from another realm (a worker, a test runner).
  const blob = ArrayBuffer.isView(data) ? undefined : (data as Blob)
  const size = blob?.size ?? (data as Uint8Array).byteLength
  if (size > MAX_BYTES) throw new Error(`the file is larger than ${MAX_BYTES} bytes`)
  const bytes = blob !== undefined ? new Uint8Array(await blob.arrayBuffer()) : (data as Uint8Array)
  const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b
  const text = gzip ? await gunzip(bytes) : new TextDecoder().decode(bytes)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new Error(`not a diagnostics bundle: ${(error as Error).message}`)
  }
  const bundle = parsed as Partial<DiagnosticsBundle> | null
  if (bundle === null || typeof bundle !== 'object' || bundle.format !== DIAGNOSTICS_FORMAT) {
    throw new Error(`not a diagnostics bundle: "format" is not "${DIAGNOSTICS_FORMAT}"`)
  }
  if (typeof bundle.version !== 'number' || bundle.version > DIAGNOSTICS_VERSION) {
    throw new Error(
      `diagnostics bundle version ${String(bundle.version)} is newer than this dashboard reads (${DIAGNOSTICS_VERSION})`
    )
  }
  return bundle as DiagnosticsBundle
}

/** The text inside gzip `bytes`, at most {@link MAX_BYTES} of it. */
async function gunzip(bytes: Uint8Array): Promise<string> {
  const body = new Response(bytes as Uint8Array<ArrayBuffer>).body
  if (body === null) return ''
  const reader = body.pipeThrough(new DecompressionStream('gzip')).getReader()
  const decoder = new TextDecoder()
  let text = ''
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return text + decoder.decode()
    total += value.byteLength
    if (total > MAX_BYTES) {
      await reader.cancel()
      throw new Error(`the bundle holds more than ${MAX_BYTES} bytes`)
    }
    text += decoder.decode(value, { stream: true })
  }
}

const LEVELS = ['error', 'warn', 'info', 'debug', 'trace']

function severity(level: string): number {
  const at = LEVELS.indexOf(level.toLowerCase())
  return at < 0 ? LEVELS.length : at
}

function matchesLabels(labels: Record<string, string>, wanted?: Record<string, string>) {
  return Object.entries(wanted ?? {}).every(([k, v]) => labels[k] === v)
}

function querySeries(bundle: DiagnosticsBundle, query: SeriesQuery) {
  return bundle.series
    .filter((s) => s.name === query.name && matchesLabels(s.labels, query.labels))
    .map((s) => {
      let points = s.points.filter(
        ([t]) => (query.fromMs === undefined || t >= query.fromMs) && (query.toMs === undefined || t <= query.toMs)
      )
      const step = query.stepMs
      if (step !== undefined && step > 0) {
        const thinned: Array<[number, number]> = []
        for (const point of points) {
          const last = thinned[thinned.length - 1]
          if (last !== undefined && Math.floor(last[0] / step) === Math.floor(point[0] / step)) {
            thinned[thinned.length - 1] = point
          } else thinned.push(point)
        }
        points = thinned
      }
      return { ...s, points }
    })
}

function listTraces(bundle: DiagnosticsBundle, filter: TraceFilter = {}): TraceRecord[] {
  return bundle.traces
    .filter((t) => filter.name === undefined || t.name.includes(filter.name))
    .filter((t) => filter.minDurationMs === undefined || t.durationMs >= filter.minDurationMs)
    .filter((t) => filter.error === undefined || t.error === filter.error)
    .filter((t) => filter.sinceMs === undefined || t.startMs >= filter.sinceMs)
    .filter((t) => filter.untilMs === undefined || t.startMs <= filter.untilMs)
    .filter(
      (t) =>
        filter.attributeKey === undefined ||
        t.spans.some((s) => s.attributes[filter.attributeKey!] === filter.attributeValue)
    )
    .slice(0, filter.limit ?? 100)
}

function getLogs(bundle: DiagnosticsBundle, filter: LogFilter = {}): LogRecord[] {
  const text = filter.text?.toLowerCase()
  const min = filter.minLevel === undefined ? LEVELS.length : severity(filter.minLevel)
  return bundle.logs
    .filter((r) => severity(r.level) <= min)
    .filter(
      (r) =>
        text === undefined ||
        r.message.toLowerCase().includes(text) ||
        Object.values(r.fields).some((v) => v.toLowerCase().includes(text))
    )
    .filter((r) => filter.traceId === undefined || r.traceId === filter.traceId)
    .filter((r) => filter.sessionId === undefined || r.sessionId === filter.sessionId)
    .slice(0, filter.limit ?? 200)
}

/** The newest point of every series, as `get_snapshot` answers. */
function snapshot(bundle: DiagnosticsBundle) {
  return {
    timestampMs: bundle.writtenAtMs,
    series: bundle.series
      .filter((s) => s.points.length > 0)
      .map((s) => ({ name: s.name, labels: s.labels, value: s.points[s.points.length - 1][1] }))
  }
}

/** The configured quantiles of a histogram, from its `_p50`… gauges. */
function quantiles(bundle: DiagnosticsBundle, name: string) {
  const found = snapshot(bundle).series.flatMap((s) => {
    const match = /^(.*)_p(\d+)$/.exec(s.name)
    return match !== null && match[1] === name ? [{ quantile: Number(match[2]) / 100, value: s.value }] : []
  })
  if (found.length === 0) throw new Error(`name: "${name}" is not a recorded histogram`)
  return found.sort((a, b) => a.quantile - b.quantile)
}

/**
 * A transport that answers the read commands from `bundle`, as the plugin answered them
 * when the bundle was written; writes are refused, streams and events stay silent.
 *
 * @example
 * ```ts
 * const bundle = await readBundle(file)
 * const client = new TelemetryClient(bundleTransport(bundle))
 * const traces = await client.listTraces({ error: true })
 * ```
 */
export function bundleTransport(bundle: DiagnosticsBundle): Transport {
  const answers: Record<string, (args: Record<string, unknown>) => unknown> = {
    get_snapshot: () => snapshot(bundle),
    get_metric_catalogue: () => bundle.catalogue,
    get_panels: () => bundle.panels,
    query_series: (args) => querySeries(bundle, args.query as SeriesQuery),
    get_histogram_quantiles: (args) => quantiles(bundle, String(args.name)),
    list_traces: (args) => listTraces(bundle, (args.filter ?? undefined) as TraceFilter | undefined),
    get_trace: (args) => bundle.traces.find((t) => t.traceId === args.traceId) ?? null,
    get_logs: (args) => getLogs(bundle, (args.filter ?? undefined) as LogFilter | undefined),
    get_health: () => bundle.health,
    get_health_history: () => bundle.healthHistory,
    get_active_alerts: () => bundle.activeAlerts,
    get_alert_history: () => bundle.alertHistory,
    get_export_status: () => bundle.exportStatus,
    get_config: () => bundle.config,
    get_previous_crash: () => bundle.previousCrash ?? null,
    get_resource: () => bundle.resource
  }
  return {
    async call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
      const answer = answers[command]
      if (answer === undefined) {
        throw new Error(`${command}: not in a diagnostics bundle (it holds what was read, read-only)`)
      }
      return answer(args ?? {}) as T
    },
    async subscribe() {
      return async () => {}
    },
    async listen() {
      return () => {}
    }
  }
}
