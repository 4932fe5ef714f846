//! The diagnostics bundle: what the in-app panel knew over the last minutes (series,
//! traces, logs, health, alerts, export status, the redacted configuration and the
//! resource) in one gzip-compressed JSON file, scrubbed like everything that leaves the
//! process. A user attaches it to a bug report; the dashboard opens it offline and shows
//! it as it showed the live data.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::{catalogue, panels, ApiError, CatalogueEntry, Sources};
use crate::alerts::{ActiveAlert, AlertEvent};
use crate::config::Panel;
use crate::export::ExportStatus;
use crate::health::{HealthReport, StatusChange};
use crate::logs::{CrashReport, LogQuery, LogRecord};
use crate::store::SeriesData;
use crate::tracing::{TraceQuery, TraceRecord};

/// What the `format` field of every bundle says.
pub const DIAGNOSTICS_FORMAT: &str = "tauri-plugin-opentelemetry/diagnostics";

/// The version of the bundle's layout this engine writes.
pub const DIAGNOSTICS_VERSION: u32 = 1;

/// The longest window a bundle may cover (the series store keeps no more anyway).
pub const MAX_DIAGNOSTICS_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// A diagnostics bundle, as JSON (camelCase) inside the gzip file.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct DiagnosticsBundle {
    /// Always [`DIAGNOSTICS_FORMAT`].
    pub format: String,
    /// The layout's version ([`DIAGNOSTICS_VERSION`]).
    pub version: u32,
    /// When it was written (Unix ms): the "now" of the data in it.
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub written_at_ms: i64,
    /// How far back it reaches (ms before `writtenAtMs`).
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub window_ms: i64,
    /// The OpenTelemetry resource: service, version, install, session, OS.
    pub resource: BTreeMap<String, String>,
    /// The configuration in force, secrets redacted.
    #[cfg_attr(feature = "bindings", ts(type = "Record<string, unknown>"))]
    pub config: serde_json::Value,
    /// Every metric recorded.
    pub catalogue: Vec<CatalogueEntry>,
    /// The dashboard's charts.
    pub panels: Vec<Panel>,
    /// Every stored series, each point of the window.
    pub series: Vec<SeriesData>,
    /// The traces of the window, newest first.
    pub traces: Vec<TraceRecord>,
    /// The log records of the window, newest first.
    pub logs: Vec<LogRecord>,
    /// The last health report.
    pub health: HealthReport,
    /// Health status changes, oldest first.
    pub health_history: Vec<StatusChange>,
    /// Alerts pending or firing when it was written.
    pub active_alerts: Vec<ActiveAlert>,
    /// Alert state changes and deliveries, oldest first.
    pub alert_history: Vec<AlertEvent>,
    /// Every exporter's status.
    pub export_status: BTreeMap<String, ExportStatus>,
    /// The previous session's crash report, if it crashed (bundles written before it
    /// was added lack the field: readers take that as none).
    pub previous_crash: Option<CrashReport>,
}

/// What the engine knew over the last `window` (at most [`MAX_DIAGNOSTICS_WINDOW`]), not
/// yet scrubbed.
///
/// # Errors
/// [`ApiError::BadArgument`] for a window of zero or over a day.
pub async fn diagnostics(t: &Sources, window: Duration) -> Result<DiagnosticsBundle, ApiError> {
    if window.is_zero() || window > MAX_DIAGNOSTICS_WINDOW {
        return Err(ApiError::bad_argument(
            "window",
            format!("{window:?} is not between 1 ms and 24 h"),
        ));
    }
    let now = crate::clock::now_ms();
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let since = now.saturating_sub(window_ms);
    let series = t
        .store
        .names()
        .iter()
        .flat_map(|name| t.store.query(name, &[], Some(since)))
        .filter(|s| !s.points.is_empty())
        .collect();
    let traces = t.traces.query(&TraceQuery {
        since_ms: Some(since),
        ..TraceQuery::default()
    });
    let mut logs = t.logs.query(&LogQuery::default());
    logs.retain(|r| r.timestamp_ms >= since);
    Ok(DiagnosticsBundle {
        format: DIAGNOSTICS_FORMAT.to_owned(),
        version: DIAGNOSTICS_VERSION,
        written_at_ms: now,
        window_ms,
        resource: (*t.resource).clone(),
        config: t.config.redacted(),
        catalogue: catalogue(t),
        panels: panels(t),
        series,
        traces,
        logs,
        health: t.health.check_all().await,
        health_history: t.health.history(),
        active_alerts: t.alerts.active(),
        alert_history: t.alerts.history(),
        export_status: t.status.statuses(),
        previous_crash: t.previous_crash.lock().clone(),
    })
}

/// The bundle of the last `window` as a gzip-compressed JSON file's bytes, scrubbed like
/// all that leaves the process (home directory, e-mail addresses, dropped and hashed
/// keys).
///
/// # Errors
/// As [`diagnostics`].
///
/// # Examples
/// ```
/// use std::io::Read as _;
/// use telemetry_engine::{api, TelemetryManager};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let telemetry = TelemetryManager::new(Default::default()).await?;
/// let bytes = api::diagnostics_gzip(telemetry.sources(), std::time::Duration::from_secs(900)).await?;
/// let mut json = String::new();
/// flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut json)?;
/// assert!(json.contains(api::DIAGNOSTICS_FORMAT));
/// # Ok(()) }
/// ```
pub async fn diagnostics_gzip(t: &Sources, window: Duration) -> Result<Vec<u8>, ApiError> {
    let bundle = diagnostics(t, window).await?;
    let mut value = serde_json::to_value(&bundle)
        .map_err(|e| ApiError::bad_argument("bundle", e.to_string()))?;
    t.privacy.scrub_json(&mut value);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    serde_json::to_writer(&mut encoder, &value)
        .map_err(|e| ApiError::bad_argument("bundle", e.to_string()))?;
    encoder
        .finish()
        .map_err(|e| ApiError::bad_argument("bundle", e.to_string()))
}

/// The file name of a bundle of `service` written at `written_at_ms`:
/// `<service>-diagnostics-<UTC time>.json.gz`, with only letters, digits, `-`, `_` and `.`.
///
/// # Examples
/// ```
/// use telemetry_engine::api::diagnostics_file_name;
/// assert_eq!(diagnostics_file_name("Timeline Studio", 1_764_000_000_000),
///     "Timeline_Studio-diagnostics-20251124T160000Z.json.gz");
/// ```
pub fn diagnostics_file_name(service: &str, written_at_ms: i64) -> String {
    let safe: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stamp: String = crate::clock::rfc3339(written_at_ms, true)
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    format!("{safe}-diagnostics-{stamp}.json.gz")
}

/// Writes the bundle of the last `window` into `dir` (created when needed) and returns
/// the file's path.
///
/// # Errors
/// As [`diagnostics`]; [`ApiError::Io`] when the file cannot be written.
pub async fn write_diagnostics(
    t: &Sources,
    dir: &Path,
    window: Duration,
) -> Result<PathBuf, ApiError> {
    let bytes = diagnostics_gzip(t, window).await?;
    let path = dir.join(diagnostics_file_name(
        &t.config.service_name,
        crate::clock::now_ms(),
    ));
    let io = |source| ApiError::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut file = std::fs::File::create(&path).map_err(io)?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(io)?;
    Ok(path)
}
