/**
 * TypeScript client of tauri-plugin-opentelemetry: one typed function per command, series
 * streams, change events, and spans for UI actions. The types are generated from the Rust
 * code (ts-rs).
 *
 * Inside the Tauri app the named functions use IPC. In a plain browser, make a client on
 * the engine's HTTP API: `new TelemetryClient(httpTransport('http://127.0.0.1:9090'))`.
 *
 * @example
 * ```ts
 * import { getSnapshot, subscribeSeries, onAlert } from 'tauri-plugin-opentelemetry-api'
 * const snapshot = await getSnapshot()
 * const stream = await subscribeSeries([{ name: 'system_cpu_usage_percent' }], 1000, (u) => draw(u.series))
 * const stopAlerts = await onAlert((event) => toast(event.notification.rule))
 * await stream.unsubscribe()
 * ```
 * @module
 */
import type { ActiveAlert } from './bindings/ActiveAlert.js'
import type { AlertEvent } from './bindings/AlertEvent.js'
import type { CatalogueEntry } from './bindings/CatalogueEntry.js'
import type { Consent } from './bindings/Consent.js'
import type { CrashReport } from './bindings/CrashReport.js'
import type { UiTimings } from './bindings/UiTimings.js'
import type { WebviewLogEntry } from './bindings/WebviewLogEntry.js'
import { type Capture, type CaptureOptions, type LogLevel, LogSender, installCapture } from './capture.js'
import type { ExportStatus } from './bindings/ExportStatus.js'
import type { HealthReport } from './bindings/HealthReport.js'
import type { LogFilter } from './bindings/LogFilter.js'
import type { LogRecord } from './bindings/LogRecord.js'
import type { MetricRecord } from './bindings/MetricRecord.js'
import type { MetricsSnapshot } from './bindings/MetricsSnapshot.js'
import type { Notification } from './bindings/Notification.js'
import type { Panel } from './bindings/Panel.js'
import type { QuantileValue } from './bindings/QuantileValue.js'
import type { SeriesData } from './bindings/SeriesData.js'
import type { SeriesQuery } from './bindings/SeriesQuery.js'
import type { SeriesSelector } from './bindings/SeriesSelector.js'
import type { SeriesUpdate } from './bindings/SeriesUpdate.js'
import type { InvokeReport } from './bindings/InvokeReport.js'
import type { SpanRef } from './bindings/SpanRef.js'
import type { SpanStart } from './bindings/SpanStart.js'
import type { StatusChange } from './bindings/StatusChange.js'
import type { TraceFilter } from './bindings/TraceFilter.js'
import type { TraceRecord } from './bindings/TraceRecord.js'
import type { TraceSummary } from './bindings/TraceSummary.js'
import { type Transport, tauriTransport } from './transport.js'

export type { ActiveAlert } from './bindings/ActiveAlert.js'
export type { AlertEvent } from './bindings/AlertEvent.js'
export type { AlertSeverity } from './bindings/AlertSeverity.js'
export type { AlertState } from './bindings/AlertState.js'
export type { CatalogueEntry } from './bindings/CatalogueEntry.js'
export type { Consent } from './bindings/Consent.js'
export type { CrashReport } from './bindings/CrashReport.js'
export type { SourceLocation } from './bindings/SourceLocation.js'
export type { UiTimings } from './bindings/UiTimings.js'
export type { InvokeReport } from './bindings/InvokeReport.js'
export type { InvokeTiming } from './bindings/InvokeTiming.js'
export type { InvokeTracingOptions } from './invokes.js'
export { NEVER_TRACED, ipcCommand, isTraced, traceInvokes } from './invokes.js'
export type { WebviewException } from './bindings/WebviewException.js'
export type { WebviewLogEntry } from './bindings/WebviewLogEntry.js'
export type { Capture, CaptureOptions, ConsoleMethod, LogLevel } from './capture.js'
export { callSite, LogSender, measureUi } from './capture.js'
export type { Delivery } from './bindings/Delivery.js'
export type { DiagnosticsBundle } from './bindings/DiagnosticsBundle.js'
export type { ExportStatus } from './bindings/ExportStatus.js'
export type { HealthCheckResult } from './bindings/HealthCheckResult.js'
export type { HealthReport } from './bindings/HealthReport.js'
export type { HealthStatus } from './bindings/HealthStatus.js'
export type { LatestValue } from './bindings/LatestValue.js'
export type { LogFilter } from './bindings/LogFilter.js'
export type { LogRecord } from './bindings/LogRecord.js'
export type { MetricRecord } from './bindings/MetricRecord.js'
export type { MetricsSnapshot } from './bindings/MetricsSnapshot.js'
export type { Notification } from './bindings/Notification.js'
export type { Panel } from './bindings/Panel.js'
export type { PanelKind } from './bindings/PanelKind.js'
export type { LiveEvent } from './bindings/LiveEvent.js'
export type { QuantileValue } from './bindings/QuantileValue.js'
export type { SeriesData } from './bindings/SeriesData.js'
export type { SeriesQuery } from './bindings/SeriesQuery.js'
export type { SeriesSelector } from './bindings/SeriesSelector.js'
export type { SeriesUpdate } from './bindings/SeriesUpdate.js'
export type { SpanRecord } from './bindings/SpanRecord.js'
export type { SpanRef } from './bindings/SpanRef.js'
export type { SpanStart } from './bindings/SpanStart.js'
export type { StatusChange } from './bindings/StatusChange.js'
export type { TraceFilter } from './bindings/TraceFilter.js'
export type { TraceRecord } from './bindings/TraceRecord.js'
export type { TraceSummary } from './bindings/TraceSummary.js'
export { httpTransport, tauriTransport } from './transport.js'
export { DIAGNOSTICS_FORMAT, DIAGNOSTICS_VERSION, bundleTransport, readBundle } from './bundle.js'
export type { CallOptions, TelemetryEvent, Transport } from './transport.js'

/** A live series stream. */
export interface Subscription {
  /** Stops the stream. */
  unsubscribe(): Promise<void>
}

/** A span the webview holds, for a UI action. */
export interface UiSpan extends SpanRef {
  /** Ends it; with `error`, marks it failed. */
  end(error?: string): Promise<void>
  /** Headers that make a backend command part of this span's trace. */
  headers(): Record<string, string>
}

/** Every command of the plugin over one transport. */
export class TelemetryClient {
  /** A client on `transport` (IPC by default). */
  constructor(private readonly transport: Transport = tauriTransport()) {}

  /** The newest value of every stored series. */
  getSnapshot(): Promise<MetricsSnapshot> {
    return this.transport.call('get_snapshot')
  }

  /** Every metric recorded so far: kind, unit, description, label sets. */
  getMetricCatalogue(): Promise<CatalogueEntry[]> {
    return this.transport.call('get_metric_catalogue')
  }

  /**
   * The charts of the dashboard's metrics view: the panels the app configured, then a
   * default chart for every other metric it recorded.
   */
  getPanels(): Promise<Panel[]> {
    return this.transport.call('get_panels')
  }

  /** A series' points over a time range, one per step. */
  querySeries(query: SeriesQuery): Promise<SeriesData[]> {
    return this.transport.call('query_series', { query })
  }

  /** A histogram's p50/p90/p95/p99. */
  getHistogramQuantiles(name: string): Promise<QuantileValue[]> {
    return this.transport.call('get_histogram_quantiles', { name })
  }

  /** Finished traces, newest first. */
  listTraces(filter?: TraceFilter): Promise<TraceRecord[]> {
    return this.transport.call('list_traces', { filter: filter ?? null })
  }

  /** One trace with its spans, or `null` when it is not kept. */
  getTrace(traceId: string): Promise<TraceRecord | null> {
    return this.transport.call('get_trace', { traceId })
  }

  /** Recent log records, newest first. */
  getLogs(filter?: LogFilter): Promise<LogRecord[]> {
    return this.transport.call('get_logs', { filter: filter ?? null })
  }

  /** The health report (cached results are reused). */
  getHealth(): Promise<HealthReport> {
    return this.transport.call('get_health')
  }

  /** Health status changes, oldest first. */
  getHealthHistory(): Promise<StatusChange[]> {
    return this.transport.call('get_health_history')
  }

  /** Alerts pending or firing now. */
  getActiveAlerts(): Promise<ActiveAlert[]> {
    return this.transport.call('get_active_alerts')
  }

  /** Alert state changes and deliveries, oldest first. */
  getAlertHistory(): Promise<AlertEvent[]> {
    return this.transport.call('get_alert_history')
  }

  /** The status of every exporter, by name. */
  getExportStatus(): Promise<Record<string, ExportStatus>> {
    return this.transport.call('get_export_status')
  }

  /** The configuration in force, secrets redacted. */
  getConfig(): Promise<Record<string, unknown>> {
    return this.transport.call('get_config')
  }

  /**
   * The user's consent: `granted` lets telemetry leave the machine (OTLP, webhooks,
   * PagerDuty, e-mail); with `denied` or `ask` only the in-app panel, the local Prometheus
   * endpoint and the files get it.
   */
  getConsent(): Promise<Consent> {
    return this.transport.call('get_consent')
  }

  /**
   * What the previous session left if it crashed: its newest Rust panic (message,
   * location, thread, backtrace), or `kind: 'unclean_exit'` when it ended without
   * shutting down (a native crash, a kill); `null` after a clean exit.
   */
  getPreviousCrash(): Promise<CrashReport | null> {
    return this.transport.call('get_previous_crash')
  }

  /**
   * The OpenTelemetry resource every signal carries, as text: `service.name`,
   * `service.version`, `session.id` (this launch: a log record's `sessionId` says which
   * launch it belongs to), `service.instance.id`, OS and host.
   */
  getResource(): Promise<Record<string, string>> {
    return this.transport.call('get_resource')
  }

  /**
   * Records the user's choice, kept for the next launches (needs
   * `opentelemetry:allow-set-consent`, also in `opentelemetry:allow-write`).
   */
  setConsent(consent: Consent): Promise<void> {
    return this.transport.call('set_consent', { consent })
  }

  /**
   * Writes a diagnostics bundle of the last `minutes` (default 15): series, traces, logs,
   * health, alerts, export status, the redacted config and the resource, scrubbed, as one
   * gzip file in the app's log directory; resolves to its path. Open it with
   * {@link readBundle} and {@link bundleTransport}, or the dashboard's "Open bundle"
   * (needs `opentelemetry:allow-write-diagnostics`, also in `opentelemetry:allow-write`).
   */
  writeDiagnostics(minutes?: number): Promise<string> {
    return this.transport.call('write_diagnostics', { minutes: minutes ?? null })
  }

  /**
   * Streams the selected series to `onUpdate`: their newest values, checked every
   * `intervalMs` (50 to 60000) and sent when something was collected since the last update
   * (so at most once per collection).
   */
  async subscribeSeries(
    selectors: SeriesSelector[],
    intervalMs: number,
    onUpdate: (update: SeriesUpdate) => void
  ): Promise<Subscription> {
    const stop = await this.transport.subscribe(selectors, intervalMs, onUpdate)
    return { unsubscribe: stop }
  }

  /**
   * The same stream as an async iterator; leaving the loop stops it. Updates that arrive
   * while the loop body runs are coalesced to the newest.
   */
  async *series(selectors: SeriesSelector[], intervalMs: number): AsyncGenerator<SeriesUpdate> {
    let latest: SeriesUpdate | undefined
    let wake: (() => void) | undefined
    const stop = await this.transport.subscribe(selectors, intervalMs, (update) => {
      latest = update
      wake?.()
    })
    try {
      for (;;) {
        if (latest === undefined) {
          await new Promise<void>((resolve) => (wake = resolve))
          wake = undefined
        }
        const next = latest
        latest = undefined
        if (next !== undefined) yield next
      }
    } finally {
      await stop()
    }
  }

  /**
   * Sends one log record from this window (needs `opentelemetry:allow-log`, in `allow-capture` and
   * `opentelemetry:allow-write`); resolves to `false` when the window's budget was spent
   * and the record was dropped (counted in `webview_logs_dropped_total`).
   */
  sendLog(entry: WebviewLogEntry): Promise<boolean> {
    return this.transport.call('log', { entry })
  }

  /**
   * Records what this window measured of its responsiveness (needs
   * `opentelemetry:allow-record-ui-timings`, in `allow-capture` and `allow-write`; the
   * plugin's init script sends it by itself). Resolves to `false` when the window's budget
   * was spent.
   */
  recordUiTimings(timings: UiTimings): Promise<boolean> {
    return this.transport.call('record_ui_timings', { timings })
  }

  /**
   * Records the invokes this window measured: their client spans and
   * `tauri_ipc_duration_ms` (needs `opentelemetry:allow-record-invokes`, in `allow-capture`
   * and `allow-write`; the plugin's init script sends them by itself). Resolves to `false`
   * when the window's budget was spent.
   */
  recordInvokes(report: InvokeReport): Promise<boolean> {
    return this.transport.call('record_invokes', { report })
  }

  /**
   * Opens the telemetry panel's window, served by the plugin (see `Builder::panel`), or
   * focuses it when it is open (needs `opentelemetry:allow-open-panel`, in `allow-write`).
   */
  openPanel(): Promise<void> {
    return this.transport.call('open_panel')
  }

  /** The `traceparent` of the innermost UI span of {@link withSpan} still running. */
  currentTraceparent(): string | undefined {
    return this.openSpans[this.openSpans.length - 1]
  }

  private readonly openSpans: string[] = []

  /** Records a metric value (needs `opentelemetry:allow-write`). */
  recordMetric(record: MetricRecord): Promise<void> {
    return this.transport.call('record_metric', { record })
  }

  /** Runs every health check now (needs `opentelemetry:allow-write`). */
  runHealthChecks(): Promise<HealthReport> {
    return this.transport.call('run_health_checks')
  }

  /** Silences a rule's notifications (needs `opentelemetry:allow-write`). */
  silenceAlert(rule: string, durationMs: number): Promise<void> {
    return this.transport.call('silence_alert', { rule, durationMs })
  }

  /** Acknowledges a rule's firing alerts (needs `opentelemetry:allow-write`). */
  acknowledgeAlert(rule: string): Promise<number> {
    return this.transport.call('acknowledge_alert', { rule })
  }

  /** Starts a span for a UI action (needs `opentelemetry:allow-write`). */
  async startSpan(span: SpanStart): Promise<UiSpan> {
    const ref = await this.transport.call<SpanRef>('start_span', { span })
    return {
      ...ref,
      end: (error?: string) =>
        this.transport.call('end_span', { spanId: ref.spanId, error: error ?? null }),
      headers: () => ({ traceparent: ref.traceparent })
    }
  }

  /**
   * Runs `action` inside a UI span: it ends when `action` settles, failed if it throws.
   * Pass `span.headers()` to your own `invoke` calls so the backend joins the trace.
   */
  async withSpan<T>(
    name: string,
    action: (span: UiSpan) => Promise<T>,
    attributes?: Record<string, string>
  ): Promise<T> {
    const span = await this.startSpan({ name, attributes })
    this.openSpans.push(span.traceparent)
    const close = () => {
      const at = this.openSpans.lastIndexOf(span.traceparent)
      if (at >= 0) this.openSpans.splice(at, 1)
    }
    try {
      const result = await action(span)
      close()
      await span.end()
      return result
    } catch (error) {
      close()
      await span.end(error instanceof Error ? error.message : String(error))
      throw error
    }
  }

  /** Calls `handler` with every alert state change. */
  onAlert(handler: (event: AlertEvent) => void): Promise<() => void> {
    return this.transport.listen('alert', handler)
  }

  /**
   * Calls `handler` with the notifications of rules that have the `InApp` action (after
   * cooldown, silence and acknowledgement): what to show the user, e.g. as a toast.
   */
  onNotification(handler: (notification: Notification) => void): Promise<() => void> {
    return this.transport.listen('notification', handler)
  }

  /** Calls `handler` with every health status change. */
  onHealthChange(handler: (change: StatusChange) => void): Promise<() => void> {
    return this.transport.listen('health', handler)
  }

  /** Calls `handler` with every completed trace. */
  onTrace(handler: (trace: TraceSummary) => void): Promise<() => void> {
    return this.transport.listen('trace', handler)
  }
}

let ipc: TelemetryClient | undefined
/** The IPC client behind the named functions (made on first use). */
function client(): TelemetryClient {
  ipc ??= new TelemetryClient(tauriTransport())
  return ipc
}

let ipcSender: LogSender | undefined
/** The sender of {@link log} and {@link captureErrors} (made on first use). */
function sender(): LogSender {
  ipcSender ??= new LogSender(
    (entry) => client().sendLog(entry),
    () => client().currentTraceparent()
  )
  return ipcSender
}

/**
 * Log records from the webview, with the call site and the current UI span (needs
 * `opentelemetry:allow-capture` or `opentelemetry:allow-write`). Fire and forget: a
 * record the window's budget has no room for is dropped and counted, never queued.
 *
 * ```ts
 * log.warn('preview fell behind', { clip: 'intro.mov' })
 * ```
 */
export const log = {
  trace: (message: string, attributes?: Record<string, string>) =>
    sender().log('trace', message, attributes),
  debug: (message: string, attributes?: Record<string, string>) =>
    sender().log('debug', message, attributes),
  info: (message: string, attributes?: Record<string, string>) =>
    sender().log('info', message, attributes),
  warn: (message: string, attributes?: Record<string, string>) =>
    sender().log('warn', message, attributes),
  error: (message: string, attributes?: Record<string, string>) =>
    sender().log('error', message, attributes)
} satisfies Record<LogLevel, (message: string, attributes?: Record<string, string>) => void>

/**
 * Sends this window's uncaught errors, unhandled rejections and console output
 * (`warn` and `error` unless `options.console` says) as log records. The plugin's init
 * script already does this in every window; call it for a page of your own, or to
 * capture other console methods. Returns the capture; `stop()` removes it.
 */
export function captureErrors(options?: CaptureOptions): Capture {
  return installCapture(sender(), options)
}

/** {@inheritDoc TelemetryClient.getSnapshot} */
export const getSnapshot = () => client().getSnapshot()
/** {@inheritDoc TelemetryClient.getMetricCatalogue} */
export const getMetricCatalogue = () => client().getMetricCatalogue()
/** {@inheritDoc TelemetryClient.getPanels} */
export const getPanels = () => client().getPanels()
/** {@inheritDoc TelemetryClient.querySeries} */
export const querySeries = (query: SeriesQuery) => client().querySeries(query)
/** {@inheritDoc TelemetryClient.getHistogramQuantiles} */
export const getHistogramQuantiles = (name: string) => client().getHistogramQuantiles(name)
/** {@inheritDoc TelemetryClient.listTraces} */
export const listTraces = (filter?: TraceFilter) => client().listTraces(filter)
/** {@inheritDoc TelemetryClient.getTrace} */
export const getTrace = (traceId: string) => client().getTrace(traceId)
/** {@inheritDoc TelemetryClient.getLogs} */
export const getLogs = (filter?: LogFilter) => client().getLogs(filter)
/** {@inheritDoc TelemetryClient.getHealth} */
export const getHealth = () => client().getHealth()
/** {@inheritDoc TelemetryClient.getHealthHistory} */
export const getHealthHistory = () => client().getHealthHistory()
/** {@inheritDoc TelemetryClient.getActiveAlerts} */
export const getActiveAlerts = () => client().getActiveAlerts()
/** {@inheritDoc TelemetryClient.getAlertHistory} */
export const getAlertHistory = () => client().getAlertHistory()
/** {@inheritDoc TelemetryClient.getExportStatus} */
export const getExportStatus = () => client().getExportStatus()
/** {@inheritDoc TelemetryClient.getConfig} */
export const getConfig = () => client().getConfig()
/** {@inheritDoc TelemetryClient.getConsent} */
export const getConsent = () => client().getConsent()
/** {@inheritDoc TelemetryClient.getPreviousCrash} */
export const getPreviousCrash = () => client().getPreviousCrash()
/** {@inheritDoc TelemetryClient.setConsent} */
export const setConsent = (consent: Consent) => client().setConsent(consent)
/** {@inheritDoc TelemetryClient.writeDiagnostics} */
export const writeDiagnostics = (minutes?: number) => client().writeDiagnostics(minutes)
/** {@inheritDoc TelemetryClient.subscribeSeries} */
export const subscribeSeries = (
  selectors: SeriesSelector[],
  intervalMs: number,
  onUpdate: (update: SeriesUpdate) => void
) => client().subscribeSeries(selectors, intervalMs, onUpdate)
/** {@inheritDoc TelemetryClient.series} */
export const series = (selectors: SeriesSelector[], intervalMs: number) =>
  client().series(selectors, intervalMs)
/** {@inheritDoc TelemetryClient.recordMetric} */
export const recordMetric = (record: MetricRecord) => client().recordMetric(record)
/** {@inheritDoc TelemetryClient.runHealthChecks} */
export const runHealthChecks = () => client().runHealthChecks()
/** {@inheritDoc TelemetryClient.silenceAlert} */
export const silenceAlert = (rule: string, durationMs: number) =>
  client().silenceAlert(rule, durationMs)
/** {@inheritDoc TelemetryClient.acknowledgeAlert} */
export const acknowledgeAlert = (rule: string) => client().acknowledgeAlert(rule)
/** {@inheritDoc TelemetryClient.startSpan} */
export const startSpan = (span: SpanStart) => client().startSpan(span)
/** {@inheritDoc TelemetryClient.withSpan} */
export const withSpan = <T>(
  name: string,
  action: (span: UiSpan) => Promise<T>,
  attributes?: Record<string, string>
) => client().withSpan(name, action, attributes)
/** {@inheritDoc TelemetryClient.onAlert} */
export const onAlert = (handler: (event: AlertEvent) => void) => client().onAlert(handler)
/** {@inheritDoc TelemetryClient.onNotification} */
export const onNotification = (handler: (notification: Notification) => void) =>
  client().onNotification(handler)
/** {@inheritDoc TelemetryClient.onHealthChange} */
export const onHealthChange = (handler: (change: StatusChange) => void) =>
  client().onHealthChange(handler)
/** {@inheritDoc TelemetryClient.onTrace} */
export const onTrace = (handler: (trace: TraceSummary) => void) => client().onTrace(handler)
