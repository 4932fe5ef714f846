//! The plugin's commands: thin adapters from IPC arguments to the engine. Read commands
//! are in the `default` permission set; write commands need `opentelemetry:allow-write`
//! (or their own `allow-<command>`).

use std::collections::BTreeMap;

use tauri::ipc::Channel;
use tauri::{command, AppHandle, Manager as _, Runtime, State, Webview};
use telemetry_engine::alerts::{ActiveAlert, AlertEvent};
use telemetry_engine::api::{
    self, ApiError, CatalogueEntry, Handoff, InvokeReport, LiveEvent, LogFilter, MetricRecord,
    MetricsSnapshot, QuantileValue, SeriesQuery, SeriesSelector, SeriesUpdate, TraceFilter,
    UiTimings, WebviewLogEntry,
};
use telemetry_engine::config::{Consent, Panel};
use telemetry_engine::export::ExportStatus;
use telemetry_engine::health::{HealthReport, StatusChange};
use telemetry_engine::logs::{CrashReport, LogRecord};
use telemetry_engine::store::SeriesData;
use telemetry_engine::tracing::{remote_context, TraceRecord};

use crate::error::Result;
use crate::models::{SpanRef, SpanStart};
use crate::{OpenSpans, PluginState, TelemetryExt};

/// Longest span name the webview may send, in bytes.
const MAX_SPAN_NAME: usize = 256;
/// Longest error message `end_span` takes, in bytes.
const MAX_ERROR_MESSAGE: usize = 4096;

/// The charts of the dashboard's metrics view: the configured panels, then a default
/// chart for every other metric the app recorded.
#[command]
pub(crate) async fn get_panels<R: Runtime>(app: AppHandle<R>) -> Vec<Panel> {
    api::panels(app.telemetry().sources())
}

/// `Ok` when the calling window's `what` (stream, subscription) `id` was found, else
/// "no <what> <id>" (another window's counts as not found).
fn found(found: bool, what: &str, id: u32) -> Result<()> {
    if found {
        Ok(())
    } else {
        Err(ApiError::bad_argument("id", format!("no {what} {id}")).into())
    }
}

/// The newest value of every series in the store.
#[command]
pub(crate) async fn get_snapshot<R: Runtime>(app: AppHandle<R>) -> MetricsSnapshot {
    api::snapshot(app.telemetry().sources())
}

/// Every metric recorded so far, with kind, unit, description and stored label sets.
#[command]
pub(crate) async fn get_metric_catalogue<R: Runtime>(app: AppHandle<R>) -> Vec<CatalogueEntry> {
    api::catalogue(app.telemetry().sources())
}

/// One series' points over a time range, thinned to one point per step.
#[command]
pub(crate) async fn query_series<R: Runtime>(
    app: AppHandle<R>,
    query: SeriesQuery,
) -> Result<Vec<SeriesData>> {
    Ok(api::query_series(app.telemetry().sources(), query)?)
}

/// The p50/p90/p95/p99 of a histogram over the last collection windows.
#[command]
pub(crate) async fn get_histogram_quantiles<R: Runtime>(
    app: AppHandle<R>,
    name: String,
) -> Result<Vec<QuantileValue>> {
    Ok(api::histogram_quantiles(app.telemetry().sources(), &name)?)
}

/// Finished traces, newest first.
#[command]
pub(crate) async fn list_traces<R: Runtime>(
    app: AppHandle<R>,
    filter: Option<TraceFilter>,
) -> Result<Vec<TraceRecord>> {
    Ok(api::list_traces(
        app.telemetry().sources(),
        filter.unwrap_or_default(),
    )?)
}

/// One trace with every kept span.
#[command]
pub(crate) async fn get_trace<R: Runtime>(
    app: AppHandle<R>,
    trace_id: String,
) -> Result<Option<TraceRecord>> {
    Ok(api::get_trace(app.telemetry().sources(), &trace_id)?)
}

/// Recent log records, newest first.
#[command]
pub(crate) async fn get_logs<R: Runtime>(
    app: AppHandle<R>,
    filter: Option<LogFilter>,
) -> Result<Vec<LogRecord>> {
    Ok(api::logs(
        app.telemetry().sources(),
        filter.unwrap_or_default(),
    )?)
}

/// The health report (cached results younger than `cache_ttl` are reused).
#[command]
pub(crate) async fn get_health<R: Runtime>(app: AppHandle<R>) -> HealthReport {
    app.telemetry().health().check_all().await
}

/// Health status changes, oldest first.
#[command]
pub(crate) async fn get_health_history<R: Runtime>(app: AppHandle<R>) -> Vec<StatusChange> {
    app.telemetry().health().history()
}

/// Alerts pending or firing now.
#[command]
pub(crate) async fn get_active_alerts<R: Runtime>(app: AppHandle<R>) -> Vec<ActiveAlert> {
    app.telemetry().alerts().active()
}

/// Alert state changes and deliveries, oldest first.
#[command]
pub(crate) async fn get_alert_history<R: Runtime>(app: AppHandle<R>) -> Vec<AlertEvent> {
    app.telemetry().alerts().history()
}

/// The status of every exporter.
#[command]
pub(crate) async fn get_export_status<R: Runtime>(
    app: AppHandle<R>,
) -> BTreeMap<String, ExportStatus> {
    app.telemetry().get_export_status().await
}

/// The configuration in force, secrets redacted.
#[command]
pub(crate) async fn get_config<R: Runtime>(app: AppHandle<R>) -> serde_json::Value {
    app.telemetry().config().redacted()
}

/// The user's consent: whether telemetry may leave the machine.
#[command]
pub(crate) async fn get_consent<R: Runtime>(app: AppHandle<R>) -> Consent {
    api::consent(app.telemetry().sources())
}

/// What the previous session left if it crashed: its newest panic, or an exit that was
/// not clean; `null` after a clean exit.
#[command]
pub(crate) async fn get_previous_crash<R: Runtime>(app: AppHandle<R>) -> Option<CrashReport> {
    app.telemetry().previous_crash()
}

/// The OpenTelemetry resource every signal carries, as text: service name and version,
/// `session.id` (this launch), `service.instance.id`, OS and host.
#[command]
pub(crate) async fn get_resource<R: Runtime>(
    app: AppHandle<R>,
) -> std::collections::BTreeMap<String, String> {
    api::resource(app.telemetry().sources())
}

/// Records the user's choice (permission `allow-set-consent`, also in `allow-write`): only
/// `granted` lets telemetry leave the machine. Kept for the next launches.
#[command]
pub(crate) async fn set_consent<R: Runtime>(app: AppHandle<R>, consent: Consent) -> Result<()> {
    Ok(api::set_consent(app.telemetry().sources(), consent)?)
}

/// Longest window a diagnostics bundle from the webview covers, in minutes.
const MAX_DIAGNOSTICS_MINUTES: u32 = 24 * 60;

/// Writes a diagnostics bundle of the last `minutes` (default 15) into
/// `<app log dir>/diagnostics` and returns its path (permission `allow-write-diagnostics`,
/// also in `allow-write`).
#[command]
pub(crate) async fn write_diagnostics<R: Runtime>(
    app: AppHandle<R>,
    minutes: Option<u32>,
) -> Result<String> {
    let minutes = minutes.unwrap_or(15);
    if minutes == 0 || minutes > MAX_DIAGNOSTICS_MINUTES {
        return Err(ApiError::bad_argument(
            "minutes",
            format!("{minutes} is not between 1 and {MAX_DIAGNOSTICS_MINUTES}"),
        )
        .into());
    }
    let dir = app
        .path()
        .app_log_dir()
        .map_err(|source| crate::Error::AppDirectory {
            what: "log",
            source,
        })?
        .join("diagnostics");
    let window = std::time::Duration::from_secs(u64::from(minutes) * 60);
    let path = app.telemetry().write_diagnostics(&dir, window).await?;
    Ok(path.display().to_string())
}

/// Starts a stream of the selected series every `interval_ms` on `on_update`; returns
/// its id. Acknowledge updates with `ack_series`.
#[command]
pub(crate) async fn subscribe_series<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
    state: State<'_, PluginState>,
    selectors: Vec<SeriesSelector>,
    interval_ms: u64,
    on_update: Channel<SeriesUpdate>,
) -> Result<u32> {
    let interval = api::check_stream(&selectors, interval_ms)?;
    let store = app.telemetry().store().clone();
    Ok(state.streams.subscribe(
        webview.label(),
        selectors,
        interval,
        store,
        true,
        move |update| match on_update.send(update) {
            Ok(()) => Handoff::Sent,
            Err(_) => Handoff::Gone,
        },
    )?)
}

/// Acknowledges the calling window's stream updates up to `seq`; another window's stream is "no stream".
#[command]
pub(crate) async fn ack_series<R: Runtime>(
    webview: Webview<R>,
    state: State<'_, PluginState>,
    id: u32,
    seq: u64,
) -> Result<()> {
    found(state.streams.ack(webview.label(), id, seq), "stream", id)
}

/// Ends one of the calling window's streams; another window's stream is "no stream".
#[command]
pub(crate) async fn unsubscribe_series<R: Runtime>(
    webview: Webview<R>,
    state: State<'_, PluginState>,
    id: u32,
) -> Result<()> {
    found(state.streams.unsubscribe(webview.label(), id), "stream", id)
}

/// Sends the engine's events of `kinds` (`alert`, `notification`, `health`, `trace`; all
/// when absent) to this window on `on_event` until it unsubscribes or goes; returns the
/// subscription's id.
#[command]
pub(crate) async fn subscribe_events<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
    state: State<'_, PluginState>,
    kinds: Option<Vec<String>>,
    on_event: Channel<LiveEvent>,
) -> Result<u32> {
    let bus = app.telemetry().events();
    state.events.subscribe(
        webview.label(),
        kinds.unwrap_or_default(),
        bus,
        move |event| on_event.send(event).is_ok(),
    )
}

/// Ends one of this window's event subscriptions; another window's is "no subscription".
#[command]
pub(crate) async fn unsubscribe_events<R: Runtime>(
    webview: Webview<R>,
    state: State<'_, PluginState>,
    id: u32,
) -> Result<()> {
    found(
        state.events.unsubscribe(webview.label(), id),
        "subscription",
        id,
    )
}

/// Records a metric value from the webview (write permission).
#[command]
pub(crate) async fn record_metric<R: Runtime>(
    app: AppHandle<R>,
    record: MetricRecord,
) -> Result<()> {
    Ok(api::record_metric(app.telemetry().sources(), record)?)
}

/// Runs every health check now, ignoring the cache (write permission).
#[command]
pub(crate) async fn run_health_checks<R: Runtime>(app: AppHandle<R>) -> HealthReport {
    app.telemetry().health().refresh().await
}

/// Silences a rule's notifications for `duration_ms` (write permission).
#[command]
pub(crate) async fn silence_alert<R: Runtime>(
    app: AppHandle<R>,
    rule: String,
    duration_ms: u64,
) -> Result<()> {
    Ok(api::silence_alert(
        app.telemetry().sources(),
        &rule,
        duration_ms,
    )?)
}

/// Acknowledges a rule's firing alerts: no repeats until they resolve (write permission).
#[command]
pub(crate) async fn acknowledge_alert<R: Runtime>(app: AppHandle<R>, rule: String) -> Result<u32> {
    let count = app.telemetry().alerts().acknowledge(&rule)?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

/// A log record from this webview: guest-js's `log`, console capture and uncaught
/// errors (permission `allow-log`, in `allow-capture` and `allow-write`). `false` when the window's
/// budget was spent: the record was dropped and counted.
#[command]
pub(crate) async fn log<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
    entry: WebviewLogEntry,
) -> Result<bool> {
    Ok(api::webview_log(
        app.telemetry().sources(),
        webview.label(),
        &entry,
    )?)
}

/// What this window measured of its responsiveness: frame intervals, long tasks, page
/// load (permission `allow-record-ui-timings`, in `allow-capture` and `allow-write`).
/// `false` when the window's budget was spent: nothing was recorded, the drop counted.
#[command]
pub(crate) async fn record_ui_timings<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
    timings: UiTimings,
) -> Result<bool> {
    Ok(api::record_ui_timings(
        app.telemetry().sources(),
        webview.label(),
        &timings,
    )?)
}

/// The invokes this window measured, as its init script reports them: their client spans
/// and `tauri_ipc_duration_ms` (permission `allow-record-invokes`, in `allow-capture` and
/// `allow-write`). `false` when the window's budget was spent: nothing was recorded, the
/// drop counted.
#[command]
pub(crate) async fn record_invokes<R: Runtime>(
    app: AppHandle<R>,
    webview: Webview<R>,
    report: InvokeReport,
) -> Result<bool> {
    Ok(api::record_invokes(
        app.telemetry().sources(),
        webview.label(),
        &report,
    )?)
}

/// Starts a span for a UI action (write permission). Pass the returned `traceparent` as
/// an invoke header so the backend work it triggers joins the trace.
#[command]
pub(crate) async fn start_span<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, PluginState>,
    span: SpanStart,
) -> Result<SpanRef> {
    if span.name.trim().is_empty() {
        return Err(ApiError::bad_argument("span.name", "must not be empty").into());
    }
    api::check_length("span.name", &span.name, MAX_SPAN_NAME)?;
    if let Some(attributes) = &span.attributes {
        api::check_attributes("span.attributes", attributes, api::MAX_SPAN_ATTRIBUTES)?;
    }
    let tracer = app.telemetry().tracer();
    let mut builder = tracer.span_builder(span.name);
    if let Some(parent) = &span.traceparent {
        let cx = remote_context(parent).ok_or_else(|| {
            ApiError::bad_argument(
                "span.traceparent",
                format!("{parent:?} is not a W3C traceparent"),
            )
        })?;
        // A parent the webview still holds open is local: the trace stays one tree.
        let parent_id = parent.split('-').nth(2).unwrap_or_default();
        builder = match state.spans.get(parent_id) {
            Some(local) => builder.with_parent(&local),
            None => builder.with_remote_parent(cx),
        };
    }
    for (k, v) in span.attributes.unwrap_or_default() {
        builder = builder.with_attribute(k, v);
    }
    let handle = builder.start(tracer);
    let reference = SpanRef {
        span_id: handle.span_id(),
        trace_id: handle.trace_id(),
        traceparent: handle.traceparent(),
    };
    state.spans.insert(reference.span_id.clone(), handle);
    Ok(reference)
}

/// Ends a span started with `start_span`, failed when `error` is given (write permission).
#[command]
pub(crate) async fn end_span(
    state: State<'_, PluginState>,
    span_id: String,
    error: Option<String>,
) -> Result<()> {
    if let Some(message) = &error {
        api::check_length("error", message, MAX_ERROR_MESSAGE)?;
    }
    let handle = state
        .spans
        .remove(&span_id)
        .ok_or_else(|| ApiError::bad_argument("spanId", format!("no open span {span_id:?}")))?;
    if let Some(message) = error {
        handle.set_error(message);
    }
    handle.end();
    Ok(())
}

impl OpenSpans {
    /// Open spans kept at most; starting more ends the oldest.
    const MAX: usize = 1024;

    fn insert(&self, id: String, handle: telemetry_engine::tracing::SpanHandle) {
        let mut spans = self.0.lock();
        if spans.len() >= Self::MAX {
            if let Some((_, oldest)) = spans.shift_remove_index(0) {
                oldest.set_error("ended: too many open spans from the webview");
                oldest.end();
            }
        }
        spans.insert(id, handle);
    }

    fn get(&self, id: &str) -> Option<telemetry_engine::tracing::SpanHandle> {
        self.0.lock().get(id).cloned()
    }

    fn remove(&self, id: &str) -> Option<telemetry_engine::tracing::SpanHandle> {
        self.0.lock().shift_remove(id)
    }
}

/// Opens the telemetry panel's window (served by the plugin, see `Builder::panel`), or
/// focuses it when it is open.
#[command]
pub(crate) async fn open_panel<R: Runtime>(app: AppHandle<R>) -> Result<()> {
    #[cfg(feature = "panel")]
    {
        use crate::TelemetryPanelExt as _;
        app.telemetry_panel().open().map(drop)
    }
    #[cfg(not(feature = "panel"))]
    {
        let _ = app;
        Err(crate::Error::NoPanel)
    }
}
