//! The plugin's commands: thin adapters from IPC arguments to the engine. Read commands
//! are in the `default` permission set; write commands need `opentelemetry:allow-write`
//! (or their own `allow-<command>`).

use std::collections::BTreeMap;
use std::time::Duration;

use tauri::ipc::Channel;
use tauri::{command, AppHandle, Runtime, State, Webview};
use telemetry_engine::alerts::{ActiveAlert, AlertEvent};
use telemetry_engine::export::ExportStatus;
use telemetry_engine::health::{HealthReport, StatusChange};
use telemetry_engine::logs::{LogQuery, LogRecord};
use telemetry_engine::store::SeriesData;
use telemetry_engine::tracing::{remote_context, TraceQuery, TraceRecord};
use telemetry_engine::KeyValue;

use crate::error::{Error, Result};
use crate::models::{
    CatalogueEntry, LogFilter, MetricRecord, MetricsSnapshot, QuantileValue, SeriesQuery,
    SeriesSelector, SeriesUpdate, SpanRef, SpanStart, TraceFilter,
};
use crate::{OpenSpans, PluginState, TelemetryExt};

fn bad(field: &str, message: impl Into<String>) -> Error {
    Error::BadArgument {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The newest value of every series in the store.
#[command]
pub(crate) async fn get_snapshot<R: Runtime>(app: AppHandle<R>) -> MetricsSnapshot {
    let store = app.telemetry().store().clone();
    let selectors: Vec<SeriesSelector> = store
        .names()
        .into_iter()
        .map(|name| SeriesSelector { name, labels: None })
        .collect();
    let (timestamp_ms, series) = crate::streams::latest(&store, &selectors);
    MetricsSnapshot {
        timestamp_ms,
        series,
    }
}

/// Every metric recorded so far, with kind, unit, description and stored label sets.
#[command]
pub(crate) async fn get_metric_catalogue<R: Runtime>(app: AppHandle<R>) -> Vec<CatalogueEntry> {
    let telemetry = app.telemetry();
    let metrics = telemetry.metrics();
    telemetry
        .metrics()
        .catalogue()
        .into_iter()
        .map(|(name, kind)| {
            let stored = match kind {
                telemetry_engine::metrics::MetricKind::Histogram => format!("{name}_count"),
                _ => name.clone(),
            };
            let label_sets = telemetry
                .store()
                .query(&stored, &[], None)
                .into_iter()
                .map(|s| s.labels)
                .collect();
            CatalogueEntry {
                unit: unit_of(&name),
                description: metrics.description(&name),
                kind: kind.as_str().to_owned(),
                label_sets,
                name,
            }
        })
        .collect()
}

fn unit_of(name: &str) -> Option<String> {
    let base = name.strip_suffix("_total").unwrap_or(name);
    ["ms", "seconds", "bytes", "percent", "ratio"]
        .into_iter()
        .find(|unit| base.ends_with(&format!("_{unit}")))
        .map(str::to_owned)
}

/// One series' points over a time range, thinned to one point per step.
#[command]
pub(crate) async fn query_series<R: Runtime>(
    app: AppHandle<R>,
    query: SeriesQuery,
) -> Result<Vec<SeriesData>> {
    if query.name.trim().is_empty() {
        return Err(bad("query.name", "must not be empty"));
    }
    if query.step_ms.is_some_and(|s| s <= 0) {
        return Err(bad("query.stepMs", "must be greater than 0"));
    }
    let labels = query.labels.unwrap_or_default();
    let matchers: Vec<(&str, &str)> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut series = app
        .telemetry()
        .store()
        .query(&query.name, &matchers, query.from_ms);
    for s in &mut series {
        if let Some(to) = query.to_ms {
            s.points.retain(|(t, _)| *t <= to);
        }
        if let Some(step) = query.step_ms {
            let mut thinned: Vec<(i64, f64)> = Vec::with_capacity(s.points.len());
            for point in &s.points {
                match thinned.last_mut() {
                    Some(last) if last.0.div_euclid(step) == point.0.div_euclid(step) => {
                        *last = *point;
                    }
                    _ => thinned.push(*point),
                }
            }
            s.points = thinned;
        }
    }
    Ok(series)
}

/// The p50/p90/p95/p99 of a histogram over the last collection windows.
#[command]
pub(crate) async fn get_histogram_quantiles<R: Runtime>(
    app: AppHandle<R>,
    name: String,
) -> Result<Vec<QuantileValue>> {
    let quantiles = app
        .telemetry()
        .config()
        .metrics
        .aggregation
        .summary_quantiles
        .clone();
    let store = app.telemetry().store();
    let values: Vec<QuantileValue> = quantiles
        .into_iter()
        .filter_map(|q| {
            let suffix = format!("{}", q * 100.0).replace('.', "_");
            let (_, value) = store
                .latest(&format!("{name}_p{suffix}"))
                .into_iter()
                .next()?;
            Some(QuantileValue { quantile: q, value })
        })
        .collect();
    if values.is_empty() && !store.names().iter().any(|n| *n == format!("{name}_count")) {
        return Err(bad("name", format!("{name:?} is not a recorded histogram")));
    }
    Ok(values)
}

/// Finished traces, newest first.
#[command]
pub(crate) async fn list_traces<R: Runtime>(
    app: AppHandle<R>,
    filter: Option<TraceFilter>,
) -> Result<Vec<TraceRecord>> {
    let f = filter.unwrap_or_default();
    let attribute = match (f.attribute_key, f.attribute_value) {
        (Some(k), Some(v)) => Some((k, v)),
        (None, None) => None,
        _ => {
            return Err(bad(
                "filter.attributeKey",
                "attributeKey and attributeValue go together",
            ))
        }
    };
    let min_duration = match f.min_duration_ms {
        Some(ms) if !(ms.is_finite() && ms >= 0.0) => {
            return Err(bad(
                "filter.minDurationMs",
                format!("{ms} is not a duration"),
            ))
        }
        Some(ms) => Some(Duration::from_secs_f64(ms / 1000.0)),
        None => None,
    };
    Ok(app.telemetry().traces().query(&TraceQuery {
        name: f.name,
        min_duration,
        error: f.error,
        attribute,
        since_ms: f.since_ms,
        until_ms: f.until_ms,
        limit: Some(f.limit.unwrap_or(100) as usize),
    }))
}

/// One trace with every kept span.
#[command]
pub(crate) async fn get_trace<R: Runtime>(
    app: AppHandle<R>,
    trace_id: String,
) -> Result<Option<TraceRecord>> {
    if trace_id.len() != 32 || !trace_id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad("traceId", format!("{trace_id:?} is not 32 hex digits")));
    }
    Ok(app.telemetry().traces().get(&trace_id))
}

/// Recent log records, newest first.
#[command]
pub(crate) async fn get_logs<R: Runtime>(
    app: AppHandle<R>,
    filter: Option<LogFilter>,
) -> Result<Vec<LogRecord>> {
    let f = filter.unwrap_or_default();
    let min_level = match f.min_level {
        Some(level) => Some(level.parse().map_err(|_| {
            bad(
                "filter.minLevel",
                format!("{level:?} is not trace, debug, info, warn or error"),
            )
        })?),
        None => None,
    };
    Ok(app.telemetry().logs().query(&LogQuery {
        min_level,
        text: f.text,
        trace_id: f.trace_id,
        limit: Some(f.limit.unwrap_or(200) as usize),
    }))
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
    if !crate::streams::INTERVALS_MS.contains(&interval_ms) {
        return Err(bad(
            "intervalMs",
            format!("{interval_ms} is outside 50..=60000"),
        ));
    }
    if selectors.is_empty() || selectors.iter().any(|s| s.name.trim().is_empty()) {
        return Err(bad(
            "selectors",
            "give at least one selector, each with a name",
        ));
    }
    let store = app.telemetry().store().clone();
    Ok(state.streams.subscribe(
        webview.label(),
        selectors,
        Duration::from_millis(interval_ms),
        store,
        move |update| on_update.send(update).is_ok(),
    ))
}

/// Acknowledges a stream's updates up to `seq`.
#[command]
pub(crate) async fn ack_series(state: State<'_, PluginState>, id: u32, seq: u64) -> Result<()> {
    if state.streams.ack(id, seq) {
        Ok(())
    } else {
        Err(bad("id", format!("no stream {id}")))
    }
}

/// Ends a stream.
#[command]
pub(crate) async fn unsubscribe_series(state: State<'_, PluginState>, id: u32) -> Result<()> {
    if state.streams.unsubscribe(id) {
        Ok(())
    } else {
        Err(bad("id", format!("no stream {id}")))
    }
}

/// Records a metric value from the webview (write permission).
#[command]
pub(crate) async fn record_metric<R: Runtime>(
    app: AppHandle<R>,
    record: MetricRecord,
) -> Result<()> {
    let labels: Vec<KeyValue> = record
        .labels
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| KeyValue::new(k, v))
        .collect();
    let metrics = app.telemetry().metrics();
    match record.kind.as_str() {
        "counter" => {
            let v = record.value;
            if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= u64::MAX as f64) {
                return Err(bad(
                    "record.value",
                    format!("{v} is not a whole number ≥ 0 (counters only go up)"),
                ));
            }
            metrics.add(&record.name, v as u64, &labels)?;
        }
        "gauge" => metrics.set(&record.name, record.value, &labels)?,
        "histogram" => metrics.record(&record.name, record.value, &labels)?,
        other => {
            return Err(bad(
                "record.kind",
                format!("{other:?} is not counter, gauge or histogram"),
            ))
        }
    }
    Ok(())
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
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let until = now.saturating_add(i64::try_from(duration_ms).unwrap_or(i64::MAX));
    app.telemetry().alerts().silence(&rule, until)?;
    Ok(())
}

/// Acknowledges a rule's firing alerts: no repeats until they resolve (write permission).
#[command]
pub(crate) async fn acknowledge_alert<R: Runtime>(app: AppHandle<R>, rule: String) -> Result<u32> {
    let count = app.telemetry().alerts().acknowledge(&rule)?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
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
        return Err(bad("span.name", "must not be empty"));
    }
    let tracer = app.telemetry().tracer();
    let mut builder = tracer.span_builder(span.name);
    if let Some(parent) = &span.traceparent {
        let cx = remote_context(parent).ok_or_else(|| {
            bad(
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
    let handle = state
        .spans
        .remove(&span_id)
        .ok_or_else(|| bad("spanId", format!("no open span {span_id:?}")))?;
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
