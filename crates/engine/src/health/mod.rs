//! Health checks (spec section 4): the [`HealthCheck`] trait, the [`HealthCheckManager`]
//! that runs checks with timeouts, panic isolation, a result cache and a bounded history
//! of status changes, built-in checks, and the IETF `application/health+json` rendering.
//!
//! Checks carry tags; `liveness` and `readiness` are the groups served at `/health/live`
//! and `/health/ready` (as in ASP.NET Core HealthChecks and Spring Boot Actuator). A check
//! without tags is a readiness check.

mod builtin;
mod ietf;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use async_trait::async_trait;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio::time::Instant;

pub use builtin::{DiskSpaceHealthCheck, FfmpegHealthCheck, HttpHealthCheck, MemoryHealthCheck};

pub(crate) use builtin::ExportersHealthCheck;
pub use ietf::health_json;

use crate::clock::unix_ms;
use crate::config::{is_valid_check_name, HealthCheckConfig, HealthConfig};
use crate::export::ExportStatusBoard;
use crate::metrics::Metrics;
use crate::store::SeriesStore;
use crate::supervise::{panic_message, Supervisor};
use builtin::{SeriesStoreHealthCheck, TasksHealthCheck};

/// The liveness group: is the process able to run at all.
pub const LIVENESS: &str = "liveness";
/// The readiness group: can the app do its work now (the default group).
pub const READINESS: &str = "readiness";
/// The engine's own export and delivery: reported, but a check tagged only with it does
/// not count in the overall status (`system_health_status`, `/health`).
pub const TELEMETRY: &str = "telemetry";

/// How healthy a component is, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[cfg_attr(feature = "bindings", ts(export))]
pub enum HealthStatus {
    /// Not checked yet.
    Unknown,
    /// Working.
    Healthy,
    /// Working, with a problem to look at.
    Warning,
    /// Not working.
    Unhealthy,
}

impl HealthStatus {
    /// The value of the `*_health_status` gauges: 0 Unknown, 1 Healthy, 2 Warning,
    /// 3 Unhealthy.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::health::HealthStatus;
    /// assert_eq!(HealthStatus::Unhealthy.as_metric(), 3.0);
    /// ```
    pub fn as_metric(self) -> f64 {
        match self {
            Self::Unknown => 0.0,
            Self::Healthy => 1.0,
            Self::Warning => 2.0,
            Self::Unhealthy => 3.0,
        }
    }
}

/// The outcome of one check (the spec's struct). Over IPC and JSON the timestamp is Unix
/// milliseconds and the duration is milliseconds.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[cfg_attr(feature = "bindings", ts(export, rename_all = "camelCase"))]
pub struct HealthCheckResult {
    /// The verdict.
    pub status: HealthStatus,
    /// What was found, for people.
    pub message: String,
    /// When the check finished (Unix ms over IPC).
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub timestamp: SystemTime,
    /// How long the check took (milliseconds over IPC).
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub check_duration: Duration,
    /// Details. `observedValue` and `observedUnit` appear as such in `/health`.
    pub metadata: HashMap<String, String>,
}

impl Serialize for HealthCheckResult {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            status: HealthStatus,
            message: &'a str,
            timestamp: i64,
            check_duration: f64,
            metadata: &'a HashMap<String, String>,
        }
        Wire {
            status: self.status,
            message: &self.message,
            timestamp: unix_ms(self.timestamp),
            check_duration: self.check_duration.as_secs_f64() * 1000.0,
            metadata: &self.metadata,
        }
        .serialize(serializer)
    }
}

impl HealthCheckResult {
    /// A result with `status` and `message`, stamped now, with no duration or metadata
    /// (the manager measures the duration).
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::health::{HealthCheckResult, HealthStatus};
    /// let r = HealthCheckResult::new(HealthStatus::Healthy, "pool has 4 idle connections")
    ///     .with_metadata("observedValue", "4");
    /// assert_eq!(r.metadata["observedValue"], "4");
    /// ```
    pub fn new(status: HealthStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            timestamp: SystemTime::now(),
            check_duration: Duration::ZERO,
            metadata: HashMap::new(),
        }
    }

    /// Adds one metadata entry.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// A component check. Implement it for your own components (a database pool, a license
/// server); the spec's `DatabaseHealthCheck` is exactly this:
///
/// ```
/// use async_trait::async_trait;
/// use telemetry_engine::health::{HealthCheck, HealthCheckResult, HealthStatus};
///
/// struct DatabaseHealthCheck { url: String }
///
/// #[async_trait]
/// impl HealthCheck for DatabaseHealthCheck {
///     fn name(&self) -> &str { "database" }
///     async fn check(&self) -> HealthCheckResult {
///         // e.g. `pool.get().await` and a `SELECT 1`
///         let connected = !self.url.is_empty();
///         if connected {
///             HealthCheckResult::new(HealthStatus::Healthy, "Database connection successful")
///         } else {
///             HealthCheckResult::new(HealthStatus::Unhealthy, "Database connection failed")
///         }
///     }
/// }
/// ```
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// Unique name: letters, digits and `_` (it becomes `<name>_health_status`).
    fn name(&self) -> &str;
    /// Runs the check. A panic or a timeout makes the result Unhealthy; nothing else is
    /// affected.
    async fn check(&self) -> HealthCheckResult;
    /// Longest the check may take; `None` uses the manager's default.
    fn timeout(&self) -> Option<Duration> {
        None
    }
    /// Groups the check belongs to ([`LIVENESS`], [`READINESS`], or your own).
    fn tags(&self) -> Vec<String> {
        vec![READINESS.to_owned()]
    }
}

/// Why a check could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HealthError {
    /// A check with this name is registered already.
    #[error("a health check named {0:?} exists already")]
    Duplicate(String),
    /// The name cannot be a metric name.
    #[error("health check name {0:?} must be non-empty lowercase letters, digits and '_', starting with a letter")]
    BadName(String),
}

/// One status change of one check, kept in the history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct StatusChange {
    /// The check.
    pub check: String,
    /// Status before.
    pub from: HealthStatus,
    /// Status after.
    pub to: HealthStatus,
    /// The message of the new result.
    pub message: String,
    /// Unix milliseconds.
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub timestamp_ms: i64,
}

/// The result of a run over several checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct HealthReport {
    /// The worst status of all (Healthy when there are no checks).
    pub status: HealthStatus,
    /// Each check's result, by name.
    pub checks: BTreeMap<String, HealthCheckResult>,
}

struct Registered {
    check: Arc<dyn HealthCheck>,
    tags: Vec<String>,
}

struct Settings {
    cache_ttl: Duration,
    default_timeout: Duration,
    parallel: bool,
}

const HISTORY: usize = 256;

/// Runs the registered checks. Cheap to share behind an `Arc`.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use telemetry_engine::health::{HealthCheckManager, HealthStatus, MemoryHealthCheck};
/// # async fn run() {
/// let health = HealthCheckManager::new();
/// health.add_check(Box::new(MemoryHealthCheck::new(0.99))).await.unwrap();
/// health.set_default_timeout(Duration::from_secs(2));
/// let report = health.check_all().await;
/// assert_ne!(report.status, HealthStatus::Unknown);
/// # }
/// ```
pub struct HealthCheckManager {
    checks: Mutex<Vec<Registered>>,
    settings: Mutex<Settings>,
    cache: Mutex<HashMap<String, (Instant, HealthCheckResult)>>,
    history: Mutex<VecDeque<StatusChange>>,
    changes: broadcast::Sender<StatusChange>,
    metrics: Option<Metrics>,
}

impl Default for HealthCheckManager {
    fn default() -> Self {
        Self::new()
    }
}

impl HealthCheckManager {
    /// A manager with no checks: cache 60s, timeout 5s, sequential.
    pub fn new() -> Self {
        Self {
            checks: Mutex::new(Vec::new()),
            settings: Mutex::new(Settings {
                cache_ttl: Duration::from_secs(60),
                default_timeout: Duration::from_secs(5),
                parallel: false,
            }),
            cache: Mutex::new(HashMap::new()),
            history: Mutex::new(VecDeque::new()),
            changes: broadcast::channel(64).0,
            metrics: None,
        }
    }

    /// A manager that publishes `system_health_status` and `<check>_health_status`.
    pub(crate) fn with_metrics(metrics: Metrics) -> Self {
        Self {
            metrics: Some(metrics),
            ..Self::new()
        }
    }

    /// Registers a check.
    ///
    /// # Errors
    /// [`HealthError::Duplicate`] for a name in use, [`HealthError::BadName`] for a name
    /// that cannot be a metric name.
    pub async fn add_check(&self, check: Box<dyn HealthCheck>) -> Result<(), HealthError> {
        let name = check.name().to_owned();
        if !is_valid_check_name(&name) {
            return Err(HealthError::BadName(name));
        }
        let mut checks = self.checks.lock();
        if checks.iter().any(|r| r.check.name() == name) {
            return Err(HealthError::Duplicate(name));
        }
        let mut tags = check.tags();
        if tags.is_empty() {
            tags.push(READINESS.to_owned());
        }
        checks.push(Registered {
            check: Arc::from(check),
            tags,
        });
        Ok(())
    }

    /// How long a result is reused before the check runs again.
    pub fn set_cache_ttl(&self, ttl: Duration) {
        self.settings.lock().cache_ttl = ttl;
    }

    /// Timeout of checks that set none.
    pub fn set_default_timeout(&self, timeout: Duration) {
        self.settings.lock().default_timeout = timeout;
    }

    /// Run checks concurrently (`true`) or one after another.
    pub fn set_parallel(&self, parallel: bool) {
        self.settings.lock().parallel = parallel;
    }

    /// Runs every check (or reuses a result younger than the cache TTL).
    pub async fn check_all(&self) -> HealthReport {
        self.run(None, false).await
    }

    /// Runs the checks tagged `group` (`liveness`, `readiness`).
    pub async fn check_group(&self, group: &str) -> HealthReport {
        self.run(Some(group), false).await
    }

    /// Runs every check now, ignoring the cache (the periodic run).
    pub async fn refresh(&self) -> HealthReport {
        self.run(None, true).await
    }

    /// Status changes as they happen.
    pub fn subscribe(&self) -> broadcast::Receiver<StatusChange> {
        self.changes.subscribe()
    }

    /// The last status changes, oldest first (at most 256).
    pub fn history(&self) -> Vec<StatusChange> {
        self.history.lock().iter().cloned().collect()
    }

    async fn run(&self, group: Option<&str>, fresh: bool) -> HealthReport {
        let (ttl, default_timeout, parallel) = {
            let s = self.settings.lock();
            (s.cache_ttl, s.default_timeout, s.parallel)
        };
        let selected: Vec<Arc<dyn HealthCheck>> = self
            .checks
            .lock()
            .iter()
            .filter(|r| group.is_none_or(|g| r.tags.iter().any(|t| t == g)))
            .map(|r| r.check.clone())
            .collect();
        let uncounted: Vec<String> = self
            .checks
            .lock()
            .iter()
            .filter(|r| r.tags == [TELEMETRY])
            .map(|r| r.check.name().to_owned())
            .collect();
        let mut checks = BTreeMap::new();
        let mut due = Vec::new();
        {
            let cache = self.cache.lock();
            for check in selected {
                match cache.get(check.name()) {
                    Some((at, result)) if !fresh && at.elapsed() < ttl => {
                        checks.insert(check.name().to_owned(), result.clone());
                    }
                    _ => due.push(check),
                }
            }
        }
        let results = if parallel {
            let handles: Vec<_> = due
                .into_iter()
                .map(|c| {
                    let timeout = c.timeout().unwrap_or(default_timeout);
                    let started = tokio::time::Instant::now();
                    (c.name().to_owned(), start(c), timeout, started)
                })
                .collect();
            let mut results = Vec::with_capacity(handles.len());
            for (name, handle, timeout, started) in handles {
                results.push((name, finish(handle, timeout, started).await));
            }
            results
        } else {
            let mut results = Vec::with_capacity(due.len());
            for c in due {
                let timeout = c.timeout().unwrap_or(default_timeout);
                let name = c.name().to_owned();
                let started = tokio::time::Instant::now();
                results.push((name, finish(start(c), timeout, started).await));
            }
            results
        };
        for (name, result) in results {
            self.record(&name, &result);
            checks.insert(name, result);
        }
        let status = checks
            .iter()
            .filter(|(name, _)| !uncounted.contains(name))
            .map(|(_, r)| r.status)
            .max()
            .unwrap_or(HealthStatus::Healthy);
        if group.is_none() {
            self.publish_overall(status);
        }
        HealthReport { status, checks }
    }

    fn record(&self, name: &str, result: &HealthCheckResult) {
        let previous = self
            .cache
            .lock()
            .insert(name.to_owned(), (Instant::now(), result.clone()))
            .map_or(HealthStatus::Unknown, |(_, r)| r.status);
        if previous != result.status {
            let mut history = self.history.lock();
            if history.len() >= HISTORY {
                history.pop_front();
            }
            let change = StatusChange {
                check: name.to_owned(),
                from: previous,
                to: result.status,
                message: result.message.clone(),
                timestamp_ms: unix_ms(result.timestamp),
            };
            let _ = self.changes.send(change.clone());
            history.push_back(change);
        }
        if let Some(metrics) = &self.metrics {
            let _ = metrics.set(
                &format!("{name}_health_status"),
                result.status.as_metric(),
                &[],
            );
        }
    }

    fn publish_overall(&self, status: HealthStatus) {
        if let Some(metrics) = &self.metrics {
            let _ = metrics.set("system_health_status", status.as_metric(), &[]);
        }
    }
}

/// The manager for `config`: its settings and built-in checks, plus the exporters,
/// background-tasks and series-store checks, publishing the health gauges through `metrics`.
pub(crate) async fn from_config(
    config: &HealthConfig,
    metrics: Metrics,
    status: ExportStatusBoard,
    supervisor: Supervisor,
    store: Arc<SeriesStore>,
) -> Result<HealthCheckManager, HealthError> {
    let manager = HealthCheckManager::with_metrics(metrics);
    manager.set_cache_ttl(config.cache_ttl);
    manager.set_default_timeout(config.default_timeout);
    manager.set_parallel(config.parallel_checks);
    manager
        .add_check(Box::new(ExportersHealthCheck::new(
            status,
            config.exporters_affect_status,
        )))
        .await?;
    manager
        .add_check(Box::new(TasksHealthCheck::new(supervisor)))
        .await?;
    manager
        .add_check(Box::new(SeriesStoreHealthCheck::new(store)))
        .await?;
    for check in &config.checks {
        let check: Box<dyn HealthCheck> = match check {
            HealthCheckConfig::DiskSpace {
                name,
                path,
                threshold,
            } => Box::new(DiskSpaceHealthCheck::new(path, *threshold).named(name)),
            HealthCheckConfig::Memory { threshold } => Box::new(MemoryHealthCheck::new(*threshold)),
            HealthCheckConfig::Ffmpeg { binary } => Box::new(match binary {
                Some(b) => FfmpegHealthCheck::new().with_binary(b),
                None => FfmpegHealthCheck::new(),
            }),
            HealthCheckConfig::Http {
                name,
                url,
                expected_status,
                warn_latency,
                tls,
            } => {
                let check = HttpHealthCheck::new(name, url)
                    .expect_status(*expected_status)
                    .warn_latency(*warn_latency);
                Box::new(match tls {
                    Some(tls) => check.tls(tls.clone()),
                    None => check,
                })
            }
        };
        manager.add_check(check).await?;
    }
    Ok(manager)
}

/// Starts a check on its own task, so that a panic stays inside it.
fn start(check: Arc<dyn HealthCheck>) -> tokio::task::JoinHandle<HealthCheckResult> {
    tokio::spawn(async move {
        let started = Instant::now();
        let mut result = check.check().await;
        result.check_duration = started.elapsed();
        result
    })
}

/// Waits for a check started at `started` until `timeout` after that (not after the
/// wait began: in parallel, a slow check awaited first costs the others nothing); a
/// timeout or a panic is Unhealthy.
async fn finish(
    mut handle: tokio::task::JoinHandle<HealthCheckResult>,
    timeout: Duration,
    started: tokio::time::Instant,
) -> HealthCheckResult {
    match tokio::time::timeout_at(started + timeout, &mut handle).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) if e.is_panic() => HealthCheckResult::new(
            HealthStatus::Unhealthy,
            format!(
                "the check panicked: {}",
                panic_message(e.into_panic().as_ref())
            ),
        ),
        Ok(Err(_)) => HealthCheckResult::new(HealthStatus::Unhealthy, "the check was cancelled"),
        Err(_) => {
            handle.abort();
            let mut result = HealthCheckResult::new(
                HealthStatus::Unhealthy,
                format!("the check timed out after {timeout:?}"),
            );
            result.check_duration = timeout;
            result
        }
    }
}

#[cfg(test)]
mod tests;
