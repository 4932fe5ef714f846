//! What the query API reads: the engine's stores and managers, each shared by a reference
//! count, without the `TelemetryManager` that owns their lifecycle. The plugin's commands
//! and the HTTP API answer from one of these; the manager hands it out
//! (`TelemetryManager::sources`), so the API sits below the manager.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{EventBus, WebviewBudget};
use crate::alerts::AlertManager;
use crate::config::TelemetryConfig;
use crate::export::ExportStatusBoard;
use crate::health::HealthCheckManager;
use crate::logs::{CrashReport, LogStore};
use crate::metrics::Metrics;
use crate::privacy::Privacy;
use crate::store::SeriesStore;
use crate::tracing::{TraceStore, Tracer};

/// The engine's readable parts: configuration, metrics, series, traces, logs, health,
/// alerts, export status, live events and the user's consent. Cheap to clone.
///
/// # Examples
/// ```
/// use telemetry_engine::{api, TelemetryManager};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let telemetry = TelemetryManager::new(Default::default()).await?;
/// let sources = telemetry.sources();
/// assert!(api::snapshot(sources).series.is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Sources {
    pub(crate) config: Arc<TelemetryConfig>,
    pub(crate) metrics: Metrics,
    pub(crate) store: Arc<SeriesStore>,
    pub(crate) traces: TraceStore,
    /// For the spans the webview measured (its invokes).
    pub(crate) tracer: Tracer,
    pub(crate) logs: LogStore,
    pub(crate) health: Arc<HealthCheckManager>,
    pub(crate) alerts: Arc<AlertManager>,
    pub(crate) status: ExportStatusBoard,
    /// What the webview's `record_metric` may still create.
    pub(crate) webview: Arc<WebviewBudget>,
    /// Alert, notification, health and trace events for the live views.
    pub(crate) events: Arc<EventBus>,
    /// The user's consent and the scrubbing rules.
    pub(crate) privacy: Privacy,
    /// The OpenTelemetry resource of every signal, as text.
    pub(crate) resource: Arc<BTreeMap<String, String>>,
    /// What the previous session left if it crashed (known once the manager started).
    pub(crate) previous_crash: Arc<parking_lot::Mutex<Option<CrashReport>>>,
    /// Where the webview's log records go, with each window's budget.
    pub(crate) webview_logs: Arc<super::WebviewLogs>,
}
