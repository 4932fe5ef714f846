/**
 * The script the plugin injects into every webview it serves (Tauri's plugin
 * `js_init_script`, run before the page's own scripts): the page's uncaught errors,
 * unhandled rejections and console output (as the plugin's `Builder::capture_console`
 * says) become log records, with no frontend code. It talks to Tauri's IPC directly (the
 * page may not use the npm client at all) and stops after the first refusal when the
 * window lacks `opentelemetry:allow-capture`. It also measures the page's responsiveness
 * (frame intervals while visible, long tasks, page load) and reports it every 5 s, and
 * traces every invoke (a client span whose `traceparent` goes with the call). Built by `npm run build:init` into
 * `src/capture-init.js`, which the plugin embeds.
 * @module
 */
import { type CaptureOptions, LogSender, installCapture, measureUi } from '../src/capture'
import { type InvokeTracingOptions, traceInvokes } from '../src/invokes'

interface Internals {
  invoke(command: string, args?: Record<string, unknown>): Promise<unknown>
  metadata?: { currentWebview?: { label?: string } }
}

/**
 * The label of the plugin's own panel window (`PANEL_LABEL` in `src/panel.rs`). Its frames
 * are not the app's: it is not measured, so it neither reports into the app's
 * `webview_frame_interval_ms` nor keeps an animation frame requested while it is open.
 */
const PANEL_LABEL = 'telemetry-panel'

const page = window as typeof window & {
  __TAURI_INTERNALS__?: Internals
  __OTEL_CAPTURE_OPTIONS__?: CaptureOptions & { ui?: boolean; invokes?: InvokeTracingOptions | false }
  __OTEL_CAPTURE__?: unknown
}

const internals = page.__TAURI_INTERNALS__
// Outside a Tauri webview (the dashboard in a plain browser) there is nothing to send to;
// a page loaded twice keeps its first capture.
if (internals !== undefined && page.__OTEL_CAPTURE__ === undefined) {
  const options = page.__OTEL_CAPTURE_OPTIONS__ ?? {}
  const sender = new LogSender((entry) => internals.invoke('plugin:opentelemetry|log', { entry }))
  page.__OTEL_CAPTURE__ = installCapture(sender, options)
  const panel = internals.metadata?.currentWebview?.label === PANEL_LABEL
  if ((options.ui ?? true) && !panel) {
    measureUi((timings) => internals.invoke('plugin:opentelemetry|record_ui_timings', { timings }))
  }
  if (options.invokes !== false) {
    traceInvokes(
      (report) => internals.invoke('plugin:opentelemetry|record_invokes', { report }),
      options.invokes ?? {}
    )
  }
}
