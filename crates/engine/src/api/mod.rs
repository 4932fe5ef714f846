//! The query API: what the plugin's IPC commands and the engine's HTTP endpoints
//! (`/api/...`) answer. Both call these functions, so the two transports give the same
//! results and the same errors, which name the argument at fault.

mod commands;
mod diagnostics;
mod events;
mod sources;
mod stream;
mod types;
mod webview;
mod webview_invokes;
mod webview_logs;
mod webview_timings;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

pub use commands::{Access, CommandSpec, COMMANDS};
pub use diagnostics::{
    diagnostics, diagnostics_file_name, diagnostics_gzip, write_diagnostics, DiagnosticsBundle,
    DIAGNOSTICS_FORMAT, DIAGNOSTICS_VERSION, MAX_DIAGNOSTICS_WINDOW,
};
pub(crate) use events::EventBus;
pub use events::{check_event_kinds, next, LiveEvent};
pub use sources::Sources;
#[cfg(feature = "server")]
pub(crate) use stream::STALL_LIMIT;
pub use stream::{Handoff, Streams};
pub use types::{
    CatalogueEntry, LogFilter, MetricRecord, MetricsSnapshot, QuantileValue, SeriesQuery,
    SeriesSelector, SeriesUpdate, TraceFilter, TraceSummary,
};
pub(crate) use webview::WebviewBudget;
pub(crate) use webview::MAX_WEBVIEW_COUNTER;
pub use webview::MAX_WEBVIEW_SERIES;
pub use webview_invokes::{
    InvokeReport, InvokeTiming, MAX_COMMAND, MAX_INVOKES, MAX_INVOKE_ERROR, MAX_INVOKE_MS,
};
pub(crate) use webview_logs::WebviewLogs;
pub use webview_logs::{
    SourceLocation, WebviewException, WebviewLogEntry, BURST, MAX_LOG_ATTRIBUTES, MAX_LOG_MESSAGE,
    MAX_STACK, MAX_URL, MAX_WINDOWS, PER_SECOND,
};
pub use webview_timings::{UiTimings, LOAD_PHASES, MAX_TIMINGS, MAX_TIMING_MS};

use crate::alerts::AlertError;
use crate::config::{Consent, Panel, PanelKind};
use crate::logs::{LogQuery, LogRecord};
use crate::metrics::{is_engine_metric, name, MetricKind, MetricsError};
use crate::privacy::PrivacyError;
use crate::store::{LatestValue, SeriesData, SeriesStore};
use crate::tracing::{TraceQuery, TraceRecord};
use crate::KeyValue;

/// Why a query or write could not be answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// An argument cannot be used.
    #[error("{field}: {message}")]
    BadArgument {
        /// The argument (`query.stepMs`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A metric could not be recorded (bad name, NaN, too many labels, …).
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// An alert operation failed (unknown rule).
    #[error(transparent)]
    Alert(#[from] AlertError),
    /// [`MAX_STREAMS`] series streams are open already.
    #[error("{max} series streams are open already; close one (unsubscribe_series) first")]
    TooManyStreams {
        /// The limit.
        max: usize,
    },
    /// No read command has this name.
    #[error("{0:?} is not a read command")]
    UnknownCommand(String),
    /// The consent applies but could not be kept for the next launch.
    #[error(transparent)]
    Privacy(#[from] PrivacyError),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl ApiError {
    /// [`ApiError::BadArgument`] about `field`.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::api::ApiError;
    /// let err = ApiError::bad_argument("query.stepMs", "must be greater than 0");
    /// assert_eq!(err.to_string(), "query.stepMs: must be greater than 0");
    /// ```
    pub fn bad_argument(field: &str, message: impl Into<String>) -> Self {
        Self::BadArgument {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// Longest attribute or label key the webview may send, in bytes.
pub(crate) const MAX_ATTRIBUTE_KEY: usize = 128;
/// Longest attribute or label value the webview may send, in bytes.
pub(crate) const MAX_ATTRIBUTE_VALUE: usize = 1024;
/// Most attributes one span from the webview may carry.
pub const MAX_SPAN_ATTRIBUTES: usize = 64;

/// Refuses `value` longer than `max` bytes, naming `field`; so that what the webview sends
/// (and what stays in memory because of it) is bounded.
///
/// # Errors
/// [`ApiError::BadArgument`] naming `field` and both lengths.
///
/// # Examples
/// ```
/// use telemetry_engine::api::check_length;
/// assert!(check_length("span.name", "ui.export_clicked", 256).is_ok());
/// let e = check_length("span.name", &"x".repeat(300), 256).unwrap_err();
/// assert_eq!(e.to_string(), "span.name: 300 bytes, at most 256 allowed");
/// ```
pub fn check_length(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.len() > max {
        return Err(ApiError::bad_argument(
            field,
            format!("{} bytes, at most {max} allowed", value.len()),
        ));
    }
    Ok(())
}

/// Refuses more than `max_count` attributes, or a key or value over
/// [`MAX_ATTRIBUTE_KEY`] / [`MAX_ATTRIBUTE_VALUE`] bytes, naming the attribute.
///
/// # Errors
/// [`ApiError::BadArgument`] naming `field` (and the key).
///
/// # Examples
/// ```
/// use std::collections::BTreeMap;
/// use telemetry_engine::api::check_attributes;
/// let ok = BTreeMap::from([("codec".to_string(), "h264".to_string())]);
/// assert!(check_attributes("span.attributes", &ok, 64).is_ok());
/// let long = BTreeMap::from([("note".to_string(), "x".repeat(5000))]);
/// let e = check_attributes("span.attributes", &long, 64).unwrap_err();
/// assert_eq!(e.to_string(), "span.attributes.note: 5000 bytes, at most 1024 allowed");
/// ```
pub fn check_attributes(
    field: &str,
    attributes: &BTreeMap<String, String>,
    max_count: usize,
) -> Result<(), ApiError> {
    if attributes.len() > max_count {
        return Err(ApiError::bad_argument(
            field,
            format!(
                "{} attributes, at most {max_count} allowed",
                attributes.len()
            ),
        ));
    }
    for (key, value) in attributes {
        let shown: String = key.chars().take(32).collect();
        check_length(&format!("{field} key {shown:?}"), key, MAX_ATTRIBUTE_KEY)?;
        check_length(&format!("{field}.{key}"), value, MAX_ATTRIBUTE_VALUE)?;
    }
    Ok(())
}

/// Answers the read command `command` with its JSON arguments `args` (the IPC command's
/// argument names: `{"query": {...}}`, `{"traceId": "..."}`), as JSON text: what the HTTP
/// API serves, and what the fuzzer drives. The answer is serialised once, straight to text.
///
/// # Errors
/// [`ApiError::UnknownCommand`] for a name that is not a read command; otherwise the
/// command's own errors, naming the argument.
///
/// # Examples
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use telemetry_engine::{api, TelemetryManager};
/// let t = TelemetryManager::new(Default::default()).await.unwrap();
/// let answer = api::read(t.sources(), "get_logs", &serde_json::json!({"filter": {"minLevel": "warn"}}))
///     .await
///     .unwrap();
/// assert!(answer.starts_with('['));
/// let e = api::read(t.sources(), "query_series", &serde_json::json!({})).await.unwrap_err();
/// assert_eq!(e.to_string(), "query: is missing");
/// # }
/// ```
pub async fn read(
    t: &Sources,
    command: &str,
    args: &serde_json::Value,
) -> Result<String, ApiError> {
    fn json<T: serde::Serialize>(value: T) -> Result<String, ApiError> {
        serde_json::to_string(&value).map_err(|e| ApiError::bad_argument("answer", e.to_string()))
    }
    match command {
        "get_snapshot" => json(snapshot(t)),
        "get_metric_catalogue" => json(catalogue(t)),
        "get_panels" => json(panels(t)),
        "query_series" => json(query_series(t, required(args, "query")?)?),
        "get_histogram_quantiles" => {
            json(histogram_quantiles(t, &required::<String>(args, "name")?)?)
        }
        "list_traces" => json(list_traces(t, arg(args, "filter")?.unwrap_or_default())?),
        "get_trace" => json(get_trace(t, &required::<String>(args, "traceId")?)?),
        "get_logs" => json(logs(t, arg(args, "filter")?.unwrap_or_default())?),
        "get_health" => json(t.health.check_all().await),
        "get_health_history" => json(t.health.history()),
        "get_active_alerts" => json(t.alerts.active()),
        "get_alert_history" => json(t.alerts.history()),
        "get_export_status" => json(t.status.statuses()),
        "get_config" => json(t.config.redacted()),
        "get_consent" => json(consent(t)),
        "get_previous_crash" => json(t.previous_crash.lock().clone()),
        "get_resource" => json(resource(t)),
        other => Err(ApiError::UnknownCommand(other.to_owned())),
    }
}

/// The argument `name` of `args` (absent and `null` are `None`).
fn arg<'a, T: serde::Deserialize<'a>>(
    args: &'a serde_json::Value,
    name: &str,
) -> Result<Option<T>, ApiError> {
    match args.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => T::deserialize(v)
            .map(Some)
            .map_err(|e| ApiError::bad_argument(name, e.to_string())),
    }
}

fn required<'a, T: serde::Deserialize<'a>>(
    args: &'a serde_json::Value,
    name: &str,
) -> Result<T, ApiError> {
    arg(args, name)?.ok_or_else(|| ApiError::bad_argument(name, "is missing"))
}

/// The newest value of every stored series.
pub fn snapshot(t: &Sources) -> MetricsSnapshot {
    let mut timestamp_ms = 0;
    let series = t
        .store
        .latest_all()
        .into_iter()
        .inspect(|p| timestamp_ms = timestamp_ms.max(p.timestamp_ms))
        .collect();
    MetricsSnapshot {
        timestamp_ms,
        series,
    }
}

/// The newest value of every series matching `selectors`, and the newest timestamp.
pub fn latest(store: &SeriesStore, selectors: &[SeriesSelector]) -> (i64, Vec<LatestValue>) {
    let mut newest = 0;
    let mut series = Vec::new();
    for selector in selectors {
        let matchers: Vec<(&str, &str)> = selector
            .labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let matching = store.latest_matching(&selector.name, &matchers);
        newest = matching.iter().fold(newest, |n, p| n.max(p.timestamp_ms));
        series.extend(matching);
    }
    (newest, series)
}

/// Every metric recorded so far, with kind, unit, description and stored label sets.
pub fn catalogue(t: &Sources) -> Vec<CatalogueEntry> {
    let metrics = &t.metrics;
    metrics
        .catalogue()
        .into_iter()
        .map(|(recorded, kind)| {
            let name = name::exposed(&recorded, kind).into_owned();
            let stored = match kind {
                MetricKind::Histogram => name::histogram_count(&name),
                _ => name.clone(),
            };
            let label_sets = t
                .store
                .query(&stored, &[], None)
                .into_iter()
                .map(|s| s.labels)
                .collect();
            CatalogueEntry {
                unit: metrics.unit(&recorded),
                description: metrics.description(&recorded),
                kind: kind.as_str().to_owned(),
                label_sets,
                name,
            }
        })
        .collect()
}

/// The charts of the dashboard's metrics view: the configured `panels` in order (each
/// with its unit filled in), then a default chart for every metric the app recorded that
/// no panel shows (a counter's rate, a gauge's value, a histogram's quantiles), by name.
/// The engine's own metrics are left to the overview.
///
/// # Examples
/// ```
/// use telemetry_engine::{api, config::{PanelKind, TelemetryConfig}, TelemetryManager};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let telemetry = TelemetryManager::new(TelemetryConfig::default()).await?;
/// telemetry.metrics().histogram("export_ms")?.record(12.0, &[])?;
/// let panels = api::panels(telemetry.sources());
/// assert_eq!((panels[0].kind, panels[0].unit.as_deref()), (PanelKind::Quantiles, Some("ms")));
/// # Ok(()) }
/// ```
pub fn panels(t: &Sources) -> Vec<Panel> {
    let metrics = &t.metrics;
    let configured = &t.config.panels;
    let shown: HashSet<&str> = configured
        .iter()
        .flat_map(|p| std::iter::once(p.metric.as_str()).chain(p.complement.as_deref()))
        .collect();
    let mut out: Vec<Panel> = configured
        .iter()
        .map(|p| Panel {
            unit: p.unit.clone().or_else(|| metrics.unit(&p.metric)),
            ..p.clone()
        })
        .collect();
    for (recorded, kind) in metrics.catalogue() {
        let exposed = name::exposed(&recorded, kind);
        if shown.contains(exposed.as_ref()) || is_engine_metric(&exposed) {
            continue;
        }
        out.push(Panel {
            section: Panel::DEFAULT_SECTION.to_owned(),
            title: exposed.clone().into_owned(),
            kind: match kind {
                MetricKind::Counter => PanelKind::Rate,
                MetricKind::Gauge => PanelKind::Value,
                MetricKind::Histogram => PanelKind::Quantiles,
            },
            unit: metrics.unit(&recorded),
            metric: exposed.into_owned(),
            labels: BTreeMap::new(),
            complement: None,
        });
    }
    out
}

/// One series' points over a time range, thinned to one point (the last) per step.
///
/// # Errors
/// [`ApiError::BadArgument`] for an empty name or a step ≤ 0.
pub fn query_series(t: &Sources, query: SeriesQuery) -> Result<Vec<SeriesData>, ApiError> {
    if query.name.trim().is_empty() {
        return Err(ApiError::bad_argument("query.name", "must not be empty"));
    }
    if query.step_ms.is_some_and(|s| s <= 0) {
        return Err(ApiError::bad_argument(
            "query.stepMs",
            "must be greater than 0",
        ));
    }
    let labels = query.labels.unwrap_or_default();
    let matchers: Vec<(&str, &str)> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut series = t.store.query(&query.name, &matchers, query.from_ms);
    for s in &mut series {
        if let Some(to) = query.to_ms {
            s.points.retain(|(ts, _)| *ts <= to);
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

/// The configured quantiles (p50, p90, p95, p99) of a histogram over the last one to
/// two collection intervals (at least 10 s), straight from its sketch; empty when nothing
/// was recorded in that time.
///
/// # Errors
/// [`ApiError::BadArgument`] when `name` is not a recorded histogram.
pub fn histogram_quantiles(t: &Sources, name: &str) -> Result<Vec<QuantileValue>, ApiError> {
    let values = t.metrics.quantiles(name).ok_or_else(|| {
        ApiError::bad_argument("name", format!("{name:?} is not a recorded histogram"))
    })?;
    Ok(values
        .into_iter()
        .map(|(quantile, value)| QuantileValue { quantile, value })
        .collect())
}

/// Finished traces matching `filter`, newest first (at most 100 unless `limit` says).
///
/// # Errors
/// [`ApiError::BadArgument`] for an attribute key without value (or the reverse) or a
/// negative duration.
pub fn list_traces(t: &Sources, filter: TraceFilter) -> Result<Vec<TraceRecord>, ApiError> {
    let attribute = match (filter.attribute_key, filter.attribute_value) {
        (Some(k), Some(v)) => Some((k, v)),
        (None, None) => None,
        _ => {
            return Err(ApiError::bad_argument(
                "filter.attributeKey",
                "attributeKey and attributeValue go together",
            ))
        }
    };
    let min_duration = match filter.min_duration_ms {
        Some(ms) => Some(Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| {
            ApiError::bad_argument(
                "filter.minDurationMs",
                format!("{ms} is not a duration in milliseconds"),
            )
        })?),
        None => None,
    };
    Ok(t.traces.query(&TraceQuery {
        name: filter.name,
        min_duration,
        error: filter.error,
        attribute,
        since_ms: filter.since_ms,
        until_ms: filter.until_ms,
        limit: Some(filter.limit.unwrap_or(100) as usize),
    }))
}

/// One trace with every kept span.
///
/// # Errors
/// [`ApiError::BadArgument`] when `trace_id` is not 32 hex digits.
pub fn get_trace(t: &Sources, trace_id: &str) -> Result<Option<TraceRecord>, ApiError> {
    if trace_id.len() != 32 || !trace_id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::bad_argument(
            "traceId",
            format!("{trace_id:?} is not 32 hex digits"),
        ));
    }
    Ok(t.traces.get(trace_id))
}

/// The summary of a finished trace (the live trace event).
pub(crate) fn trace_summary(trace: &TraceRecord) -> TraceSummary {
    TraceSummary {
        trace_id: trace.trace_id.clone(),
        name: trace.name.clone(),
        start_ms: trace.start_ms,
        duration_ms: trace.duration_ms,
        error: trace.error,
        span_count: u32::try_from(trace.spans.len()).unwrap_or(u32::MAX),
    }
}

/// The OpenTelemetry resource every signal carries, as text: service name and version,
/// `session.id` (this launch), `service.instance.id`, OS and host.
///
/// # Examples
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let telemetry = telemetry_engine::TelemetryManager::new(Default::default()).await.unwrap();
/// let resource = telemetry_engine::api::resource(telemetry.sources());
/// assert!(resource.contains_key("session.id"));
/// # }
/// ```
pub fn resource(t: &Sources) -> BTreeMap<String, String> {
    (*t.resource).clone()
}

/// Recent log records matching `filter`, newest first (at most 200 unless `limit` says).
///
/// # Errors
/// [`ApiError::BadArgument`] for an unknown level.
pub fn logs(t: &Sources, filter: LogFilter) -> Result<Vec<LogRecord>, ApiError> {
    let min_level = match filter.min_level {
        Some(level) => Some(level.parse().map_err(|_| {
            ApiError::bad_argument(
                "filter.minLevel",
                format!("{level:?} is not trace, debug, info, warn or error"),
            )
        })?),
        None => None,
    };
    Ok(t.logs.query(&LogQuery {
        min_level,
        text: filter.text,
        trace_id: filter.trace_id,
        session_id: filter.session_id,
        limit: Some(filter.limit.unwrap_or(200) as usize),
    }))
}

/// Records one value from the webview: counters add, gauges set, histograms record,
/// under the name `webview_<name>` ([`WEBVIEW_PREFIX`]) and within the webview's budget
/// ([`MAX_WEBVIEW_METRICS`], [`MAX_WEBVIEW_SERIES`], [`MAX_WEBVIEW_COUNTER`]).
///
/// # Errors
/// [`ApiError::BadArgument`] for an unknown kind, a counter value that is not a whole
/// number from 0 to 2^53, a label longer than [`MAX_ATTRIBUTE_KEY`] /
/// [`MAX_ATTRIBUTE_VALUE`], or a measurement past the webview's budget;
/// [`ApiError::Metrics`] for a bad name or label key, NaN, too many labels, ….
pub fn record_metric(t: &Sources, record: MetricRecord) -> Result<(), ApiError> {
    let labels = record.labels.unwrap_or_default();
    check_attributes("record.labels", &labels, usize::MAX)?;
    let v = record.value;
    let increment = match record.kind.as_str() {
        "counter" if v.is_finite() && v >= 0.0 && v.fract() == 0.0 => {
            if v > MAX_WEBVIEW_COUNTER as f64 {
                return Err(ApiError::bad_argument(
                    "record.value",
                    format!("{v} is more than 2^53, where it would lose precision"),
                ));
            }
            v as u64
        }
        "counter" => {
            return Err(ApiError::bad_argument(
                "record.value",
                format!("{v} is not a whole number ≥ 0 (counters only go up)"),
            ))
        }
        "gauge" | "histogram" => 0,
        other => {
            return Err(ApiError::bad_argument(
                "record.kind",
                format!("{other:?} is not counter, gauge or histogram"),
            ))
        }
    };
    let name = webview::webview_name(&record.name);
    if webview_logs::RESERVED
        .iter()
        .chain(&webview_timings::RESERVED)
        .any(|r| *r == name)
    {
        return Err(ApiError::bad_argument(
            "record.name",
            format!("{name} is one of the plugin's own webview metrics; pick another name"),
        ));
    }
    let attributes: Vec<KeyValue> = labels
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    let metrics = &t.metrics;
    t.webview.record(&name, &labels, increment, || {
        match record.kind.as_str() {
            "counter" => metrics.add(&name, increment, &attributes),
            "gauge" => metrics.set(&name, v, &attributes),
            _ => metrics.record(&name, v, &attributes),
        }?;
        Ok(())
    })
}

/// Records a log record from the webview of `window` (guest-js's `log`, console capture,
/// uncaught errors), within the window's budget (see [`WebviewLogEntry`] and the limits
/// beside it). Returns `false` when the budget was spent: the record was dropped and
/// counted in `webview_logs_dropped_total{window,reason="rate"}`.
///
/// # Errors
/// [`ApiError::BadArgument`] naming the field: an unknown level, something too long,
/// too many attributes, a `traceparent` that is not one.
///
/// # Examples
/// ```
/// use telemetry_engine::api::{self, WebviewLogEntry};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let telemetry = telemetry_engine::TelemetryManager::new(Default::default()).await.unwrap();
/// let entry = WebviewLogEntry { level: "warn".into(), message: "slow preview".into(), ..Default::default() };
/// assert!(api::webview_log(telemetry.sources(), "main", &entry).unwrap());
/// # }
/// ```
pub fn webview_log(t: &Sources, window: &str, entry: &WebviewLogEntry) -> Result<bool, ApiError> {
    webview_logs::record(&t.webview_logs, window, entry)
}

/// Records what window `window` measured of its responsiveness (frame intervals, long
/// tasks, page load; see [`UiTimings`]), within the window's budget. Returns `false` when
/// the budget was spent: nothing was recorded, the drop was counted.
///
/// # Errors
/// [`ApiError::BadArgument`] naming the field: too many values, a value that is not a
/// duration, an unknown load phase.
///
/// # Examples
/// ```
/// use telemetry_engine::api::{self, UiTimings};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let telemetry = telemetry_engine::TelemetryManager::new(Default::default()).await.unwrap();
/// let timings = UiTimings { frame_intervals_ms: vec![16.7, 16.6, 48.9], ..Default::default() };
/// assert!(api::record_ui_timings(telemetry.sources(), "main", &timings).unwrap());
/// # }
/// ```
pub fn record_ui_timings(t: &Sources, window: &str, timings: &UiTimings) -> Result<bool, ApiError> {
    webview_timings::record(&t.metrics, &t.webview_logs, window, timings)
}

/// Records the invokes window `window` measured (see [`InvokeReport`]): each one's client
/// span, with the ids its `traceparent` named, and `tauri_ipc_duration_ms{command,outcome}`;
/// within the window's budget. Returns `false` when the budget was spent: nothing was
/// recorded, the invokes were counted in `tauri_ipc_spans_dropped_total{reason="rate"}`.
///
/// # Errors
/// [`ApiError::BadArgument`] naming the field: too many invokes, a command name that is
/// not one, a `traceparent` that is not one, a time or duration out of range.
///
/// # Examples
/// ```
/// use telemetry_engine::api::{self, InvokeReport, InvokeTiming};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let telemetry = telemetry_engine::TelemetryManager::new(Default::default()).await.unwrap();
/// let invoke = InvokeTiming {
///     command: "export_project".into(),
///     traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
///     start_ms: 1.7e12,
///     duration_ms: 12.5,
///     ..Default::default()
/// };
/// let report = InvokeReport { invokes: vec![invoke], dropped: 0 };
/// assert!(api::record_invokes(telemetry.sources(), "main", &report).unwrap());
/// # }
/// ```
pub fn record_invokes(t: &Sources, window: &str, report: &InvokeReport) -> Result<bool, ApiError> {
    webview_invokes::record(&t.metrics, &t.tracer, &t.webview_logs, window, report)
}

/// The longest silence the webview may set: 24 hours. (The app can set any with
/// [`crate::alerts::AlertManager::silence`].)
pub const MAX_SILENCE_MS: u64 = 24 * 60 * 60 * 1000;

/// Silences `rule`'s notifications for `duration_ms` from now (at most
/// [`MAX_SILENCE_MS`]); every silence is logged at WARN with the rule and its end.
///
/// # Errors
/// [`ApiError::BadArgument`] for a duration over [`MAX_SILENCE_MS`];
/// [`ApiError::Alert`] for an unknown rule.
pub fn silence_alert(t: &Sources, rule: &str, duration_ms: u64) -> Result<(), ApiError> {
    if duration_ms > MAX_SILENCE_MS {
        return Err(ApiError::bad_argument(
            "durationMs",
            format!("{duration_ms} is more than {MAX_SILENCE_MS} (24 hours)"),
        ));
    }
    let now = crate::clock::now_ms();
    let until = now.saturating_add(i64::try_from(duration_ms).unwrap_or(i64::MAX));
    t.alerts.silence(rule, until)?;
    ::tracing::warn!(target: "telemetry::alerts", rule, duration_ms, until_ms = until, "alert silenced from the webview");
    Ok(())
}

/// The user's consent in force: whether telemetry may leave the machine.
///
/// # Examples
/// ```
/// use telemetry_engine::{api, config::Consent, TelemetryManager};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let telemetry = TelemetryManager::new(Default::default()).await?;
/// assert_eq!(api::consent(telemetry.sources()), Consent::Granted);
/// # Ok(()) }
/// ```
pub fn consent(t: &Sources) -> Consent {
    t.privacy.consent.get()
}

/// Records the user's choice: from now on OTLP, webhooks, PagerDuty and e-mail send only
/// if it is [`Consent::Granted`] (a batch already under way finishes). The choice is kept
/// under `storage.dir` for the next launches, and logged.
///
/// # Errors
/// [`ApiError::Privacy`] when it cannot be kept (it applies to this launch all the same).
///
/// # Examples
/// ```
/// use telemetry_engine::{api, config::Consent, TelemetryManager};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let telemetry = TelemetryManager::new(Default::default()).await?;
/// api::set_consent(telemetry.sources(), Consent::Denied)?;
/// assert_eq!(api::consent(telemetry.sources()), Consent::Denied);
/// # Ok(()) }
/// ```
pub fn set_consent(t: &Sources, consent: Consent) -> Result<(), ApiError> {
    Ok(t.privacy.consent.set(consent)?)
}

/// Selectors one series stream may have: each costs a store lookup every tick.
pub(crate) const MAX_SELECTORS: usize = 32;

/// Checks a stream's interval and selectors.
///
/// # Errors
/// [`ApiError::BadArgument`] for an interval outside 50 ms ..= 60 s, no selector, or more
/// than [`MAX_SELECTORS`].
pub fn check_stream(selectors: &[SeriesSelector], interval_ms: u64) -> Result<Duration, ApiError> {
    if !(50..=60_000).contains(&interval_ms) {
        return Err(ApiError::bad_argument(
            "intervalMs",
            format!("{interval_ms} is outside 50..=60000"),
        ));
    }
    if selectors.is_empty() || selectors.iter().any(|s| s.name.trim().is_empty()) {
        return Err(ApiError::bad_argument(
            "selectors",
            "give at least one selector, each with a name",
        ));
    }
    if selectors.len() > MAX_SELECTORS {
        return Err(ApiError::bad_argument(
            "selectors",
            format!(
                "{} selectors, at most {MAX_SELECTORS} per stream (open another stream, or \
                 select by name without labels to get every series of a metric)",
                selectors.len()
            ),
        ));
    }
    Ok(Duration::from_millis(interval_ms))
}
