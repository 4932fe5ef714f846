//! The lifecycle (spec section 2): create, initialize, run, report export status, shut down.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ::tracing::Subscriber;
use opentelemetry::KeyValue;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::alerts::{AlertError, AlertManager};
use crate::api::Sources;
use crate::collectors::{ChildProcesses, SystemCollector};
use crate::config::{ConfigError, Consent, HealthCheckConfig, TelemetryConfig};
#[cfg(feature = "server")]
use crate::config::{HttpApi, MetricsExporter};
use crate::export::otlp::ExportContext;
use crate::export::prometheus::MetricsPipeline;
use crate::export::spool::Spool;
use crate::export::{
    ExportError, ExportStatus, ExportStatusBoard, ExporterReport, PushContext, SnapshotExporter,
};
use crate::health::{self, HealthCheckManager, HealthError};
use crate::logs::panics::{self, PanicCapture};
use crate::logs::{CrashReport, LogStore, LogsPipeline};
use crate::metrics::{BoundCounter, Gauge, Metrics, MetricsError, Snapshot};
use crate::privacy::{BeforeSend, Privacy, PrivacyError};
#[cfg(feature = "server")]
use crate::server::{RunningServer, Served, ServerConfig, SHUTDOWN_GRACE};
use crate::store::SeriesStore;
use crate::supervise::Supervisor;
use crate::tracing::{TraceStore, Tracer, TracingPipeline};

/// Why the manager could not be created or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A built-in instrument could not be created.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// A configured alert rule could not be added.
    #[error(transparent)]
    Alert(#[from] AlertError),
    /// A configured health check could not be added.
    #[error(transparent)]
    Health(#[from] HealthError),
    /// A global `tracing` subscriber is already installed.
    #[error("cannot install the tracing subscriber: {0}")]
    Subscriber(String),
    /// `initialize` was called after `shutdown`.
    #[error("telemetry was shut down; create a new TelemetryManager")]
    ShutDown,
}

/// How long shutdown waits for alert notifications still being delivered.
const DELIVERY_GRACE: Duration = Duration::from_secs(2);

/// What the span and log providers' shutdown may take beyond its own timeout (the hand
/// over to their threads).
const PROVIDER_SLACK: Duration = Duration::from_millis(100);

static INSTANCE: RwLock<Option<Arc<TelemetryManager>>> = RwLock::new(None);

/// What [`TelemetryManager::install_tracing_subscriber`] routes into telemetry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routed {
    /// `tracing` events and spans, and the `log` crate's records.
    TracingAndLog,
    /// `tracing` events and spans only: another logger holds the `log` facade.
    TracingOnly,
}

/// Owns the pipeline: the meter provider, its reader, the series store, the collectors,
/// the exporters and the HTTP server.
///
/// # Examples
/// ```no_run
/// use telemetry_engine::{config::TelemetryConfig, TelemetryManager};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let telemetry = TelemetryManager::new(TelemetryConfig::from_env()?).await?;
/// telemetry.initialize().await?;
/// telemetry.metrics().increment_counter("videos_processed_total", 1).await?;
/// for (exporter, status) in telemetry.get_export_status().await {
///     println!("{exporter}: {status:?}");
/// }
/// telemetry.shutdown().await;
/// # Ok(()) }
/// ```
pub struct TelemetryManager {
    /// Configuration, stores, health, alerts, export status and events: what the query
    /// API reads.
    sources: Sources,
    tracing: TracingPipeline,
    logs: LogsPipeline,
    pipeline: MetricsPipeline,
    /// The series streams of every HTTP server (one count, one cap).
    #[cfg(feature = "server")]
    http_streams: Arc<crate::api::Streams>,
    /// Catches and counts the panics of the periodic tasks.
    supervisor: Supervisor,
    cycle: Arc<Mutex<Cycle>>,
    children: ChildProcesses,
    /// Where OTLP batches that cannot be sent wait (with `storage.dir`).
    spool: Option<Spool>,
    /// Records panics while running (with `logs.capture_panics`).
    panics: Option<Arc<PanicCapture>>,
    /// Shared with the future of [`TelemetryManager::initialize`], which holds it from
    /// the call to the end of the start.
    state: Arc<tokio::sync::Mutex<RunState>>,
}

enum RunState {
    Created,
    /// `initialize` has claimed the start and done its quick part: the event bus is
    /// subscribed to its sources (nothing they send from now on is lost), its task not
    /// yet spawned.
    Starting {
        stop: watch::Sender<bool>,
        stopped: watch::Receiver<bool>,
        bus: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    },
    Running {
        stop: watch::Sender<bool>,
        tasks: Vec<JoinHandle<()>>,
        #[cfg(feature = "server")]
        servers: Vec<RunningServer>,
    },
    Stopped,
}

/// One collection: run collectors, gather, store, push to exporters.
struct Cycle {
    collector: Option<SystemCollector>,
    /// The app's child processes, read each cycle while any is registered.
    children: ChildProcesses,
    exporters: Vec<SnapshotExporter>,
    pipeline: MetricsPipeline,
    store: Arc<SeriesStore>,
    store_metrics: StoreMetrics,
    status: ExportStatusBoard,
}

/// How full the series store is, and how much of the load the trace store keeps, as
/// metrics: `telemetry_store_series`,
/// `telemetry_store_series_dropped_total{reason="full"|"evicted"}`,
/// `telemetry_store_traces_kept_ratio` and `telemetry_store_traces_passed_over_total`.
struct StoreMetrics {
    held: Gauge,
    refused: BoundCounter,
    evicted: BoundCounter,
    /// `(refused, evicted)` already counted.
    counted: (u64, u64),
    traces: TraceStore,
    kept_ratio: Gauge,
    passed_over: BoundCounter,
    /// Traces passed over already counted.
    passed_over_counted: u64,
}

impl StoreMetrics {
    fn new(metrics: &Metrics, traces: &TraceStore) -> Result<Self, MetricsError> {
        let dropped = metrics.counter("telemetry_store_series_dropped_total")?;
        Ok(Self {
            held: metrics.gauge("telemetry_store_series")?,
            refused: dropped.bind(&[KeyValue::new("reason", "full")])?,
            evicted: dropped.bind(&[KeyValue::new("reason", "evicted")])?,
            counted: (0, 0),
            traces: traces.clone(),
            kept_ratio: metrics.gauge("telemetry_store_traces_kept_ratio")?,
            passed_over: metrics
                .counter("telemetry_store_traces_passed_over_total")?
                .bind(&[])?,
            passed_over_counted: 0,
        })
    }

    fn publish(&mut self, store: &SeriesStore) {
        let now = (store.dropped_series(), store.evicted_series());
        self.refused.add(now.0.saturating_sub(self.counted.0));
        self.evicted.add(now.1.saturating_sub(self.counted.1));
        self.counted = now;
        // A series count and a share are finite numbers: the gauges accept them.
        let _ = self.held.set(store.series_count() as f64, &[]);
        let load = self.traces.load();
        let _ = self.kept_ratio.set(load.kept_share, &[]);
        self.passed_over
            .add(load.passed_over.saturating_sub(self.passed_over_counted));
        self.passed_over_counted = load.passed_over;
    }
}

/// Records an exporter's result: written now, handed to a sender (which reports its own)
/// or failed.
fn report(status: &ExportStatusBoard, name: &str, exported: Result<bool, ExportError>) {
    match exported {
        Ok(true) => status.success(name),
        Ok(false) => {}
        Err(e) => status.failure(name, e.to_string()),
    }
}

impl Cycle {
    fn new(
        config: &TelemetryConfig,
        pipeline: &MetricsPipeline,
        (store, traces): (&Arc<SeriesStore>, &TraceStore),
        push: &PushContext<'_>,
    ) -> Result<Self, MetricsError> {
        let status = push.status;
        Ok(Self {
            collector: None,
            children: ChildProcesses::new(pipeline.metrics())?,
            exporters: SnapshotExporter::all(config, push),
            pipeline: pipeline.clone(),
            store: store.clone(),
            store_metrics: StoreMetrics::new(pipeline.metrics(), traces)?,
            status: status.clone(),
        })
    }

    fn run(&mut self) {
        let snapshot = self.collect();
        for exporter in &mut self.exporters {
            let exported = exporter.export(&snapshot);
            report(&self.status, exporter.name(), exported);
        }
    }

    /// The last cycle, at shutdown: OTLP pushes go whatever their interval; returns their
    /// sender tasks, to be waited for. Runs on a blocking thread.
    fn finish(&mut self) -> Vec<JoinHandle<()>> {
        let snapshot = self.collect();
        let mut sending = Vec::new();
        for exporter in &mut self.exporters {
            let (exported, task) = exporter.finish(&snapshot);
            report(&self.status, exporter.name(), exported);
            sending.extend(task);
        }
        self.flush();
        sending
    }

    /// Reads the collectors and the instruments into the store; the snapshot to export.
    fn collect(&mut self) -> Snapshot {
        if let Some(collector) = self.collector.as_mut() {
            if let Err(e) = collector.collect() {
                ::tracing::warn!(error = %e, "system collector");
            }
        }
        self.children.collect();
        let snapshot = self.pipeline.snapshot();
        self.store.ingest(&snapshot);
        self.store_metrics.publish(&self.store);
        snapshot
    }

    fn flush(&mut self) {
        for exporter in &mut self.exporters {
            if let Err(e) = exporter.flush() {
                self.status.failure(exporter.name(), e.to_string());
            }
        }
    }
}

impl TelemetryManager {
    /// Validates `config` and builds the pipeline; nothing runs until
    /// [`TelemetryManager::initialize`].
    ///
    /// # Errors
    /// [`TelemetryError::Config`] with every validation problem;
    /// [`TelemetryError::Health`] or [`TelemetryError::Alert`] when a configured check or
    /// rule cannot be added.
    pub async fn new(config: TelemetryConfig) -> Result<Arc<Self>, TelemetryError> {
        config.validate()?;
        crate::tls::install_default_provider();
        let active = config.enabled && config.metrics.enabled;
        let resource = crate::resource::build(&config);
        let resource_text = resource
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let privacy = Privacy::new(&config);
        let pipeline = MetricsPipeline::new(&config.metrics, resource.clone(), active, &privacy);
        let metrics = pipeline.metrics();
        let store = Arc::new(SeriesStore::new(&config.metrics));
        let status = ExportStatusBoard::default();
        let spool = Spool::for_config(&config, metrics, &privacy.consent);
        let dropped = |what| metrics.counter(what);
        let tracing = TracingPipeline::new(
            &config,
            resource.clone(),
            &ExportContext::new(
                config.tracing.batch_export.max_export_timeout,
                &status,
                dropped("telemetry_spans_dropped_total")?,
                &privacy,
                spool.as_ref(),
            ),
        );
        let session_id = resource
            .get(&opentelemetry::Key::from_static_str("session.id"))
            .map(|v| v.to_string())
            .unwrap_or_default();
        let logs = LogsPipeline::new(
            &config,
            resource,
            &ExportContext::new(
                config.logs.batch_export.max_export_timeout,
                &status,
                dropped("telemetry_logs_dropped_total")?,
                &privacy,
                spool.as_ref(),
            ),
        );
        let panics = if config.enabled && config.logs.enabled && config.logs.capture_panics {
            Some(Arc::new(PanicCapture::new(
                logs.provider(),
                metrics.counter("process_panics_total")?,
                session_id,
                config.storage.dir.as_deref().map(std::path::Path::new),
            )))
        } else {
            None
        };
        let supervisor = Supervisor::new(metrics)?;
        let health = health::from_config(
            &config.health,
            metrics.clone(),
            status.clone(),
            supervisor.clone(),
            store.clone(),
        )
        .await?;
        let alerts = AlertManager::from_config(
            &config.alerts,
            &config.service_name,
            metrics.clone(),
            status.clone(),
            supervisor.clone(),
            (privacy.consent.clone(), spool.clone()),
        )
        .await?;
        let cycle = Cycle::new(
            &config,
            &pipeline,
            (&store, tracing.store()),
            &PushContext {
                resource: &resource_text,
                consent: &privacy.consent,
                status: &status,
                spool: spool.as_ref(),
            },
        )?;
        Ok(Arc::new(Self {
            #[cfg(feature = "server")]
            http_streams: Arc::new(crate::api::Streams::counted_in(metrics, "http")),
            sources: Sources {
                metrics: metrics.clone(),
                traces: tracing.store().clone(),
                tracer: tracing.tracer().clone(),
                logs: logs.store().clone(),
                config: Arc::new(config),
                store,
                health: Arc::new(health),
                alerts: Arc::new(alerts),
                status,
                webview: Arc::default(),
                events: Arc::default(),
                privacy,
                resource: Arc::new(resource_text),
                previous_crash: Arc::default(),
                webview_logs: Arc::new(crate::api::WebviewLogs::new(
                    opentelemetry::logs::LoggerProvider::logger(logs.provider(), "webview"),
                    metrics,
                )?),
            },
            tracing,
            logs,
            pipeline,
            supervisor,
            children: cycle.children.clone(),
            spool,
            panics,
            cycle: Arc::new(Mutex::new(cycle)),
            state: Arc::new(tokio::sync::Mutex::new(RunState::Created)),
        }))
    }

    /// A manager with telemetry off whose export status shows `problem` as the Failed
    /// exporter `config`: what an app runs with when its telemetry configuration cannot
    /// be used, so that the app still starts (the plugin does this outside strict mode).
    ///
    /// # Errors
    /// As [`TelemetryManager::new`] for the default configuration (not expected).
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::{export::ExportStatus, TelemetryManager};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let telemetry = TelemetryManager::disabled("metrics.collection_interval: too short").await?;
    /// assert!(!telemetry.config().enabled);
    /// assert!(matches!(&telemetry.get_export_status().await["config"],
    ///     ExportStatus::Failed(why) if why.contains("collection_interval")));
    /// # Ok(()) }
    /// ```
    pub async fn disabled(problem: impl Into<String>) -> Result<Arc<Self>, TelemetryError> {
        let manager = Self::new(TelemetryConfig {
            enabled: false,
            ..TelemetryConfig::default()
        })
        .await?;
        manager.sources.status.failure("config", problem);
        Ok(manager)
    }

    /// Starts the collectors, the collection loop and the HTTP server, and makes this the
    /// process-wide instance. An exporter that cannot start (a port in use) or a system
    /// collector the platform does not support is reported as Failed in
    /// [`TelemetryManager::get_export_status`] with a warning; the rest runs. Calling it
    /// again while running does nothing.
    ///
    /// The start is claimed when this is called, not when the future is first polled
    /// (unless another start or a shutdown is under way: then when it is first polled,
    /// after that one): the panic capture and the process-wide instance are in place on
    /// return, and what waits for the start ([`TelemetryManager::prometheus_addrs`],
    /// [`TelemetryManager::dashboard_urls`], [`TelemetryManager::started`],
    /// [`TelemetryManager::shutdown`]) waits for this one. So the future can be spawned
    /// and the caller go on at once: the plugin starts the engine off the main thread
    /// this way, and the app's window never waits for it. The slow part runs as a task
    /// of its own: dropping the future does not leave a start half done.
    ///
    /// # Errors
    /// [`TelemetryError::ShutDown`] after [`TelemetryManager::shutdown`].
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::{config::TelemetryConfig, TelemetryManager};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut config = TelemetryConfig::default();
    /// config.metrics.system_collectors = false;
    /// let telemetry = TelemetryManager::new(config).await?;
    /// let starting = tokio::spawn(telemetry.initialize());
    /// // Panics are captured from here on; the loops and servers start in the background.
    /// telemetry.started().await;
    /// starting.await??;
    /// telemetry.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn initialize(
        self: &Arc<Self>,
    ) -> impl std::future::Future<Output = Result<(), TelemetryError>> + Send + 'static {
        let manager = self.clone();
        let claimed = manager
            .state
            .clone()
            .try_lock_owned()
            .ok()
            .map(|mut state| {
                manager.prepare(&mut state);
                state
            });
        async move {
            let mut state = match claimed {
                Some(state) => state,
                None => {
                    let mut state = manager.state.clone().lock_owned().await;
                    manager.prepare(&mut state);
                    state
                }
            };
            match std::mem::replace(&mut *state, RunState::Stopped) {
                RunState::Starting { stop, stopped, bus } => {
                    // The task holds the state's lock until what it started is recorded.
                    let running = tokio::spawn(async move {
                        *state = manager.run(stop, stopped, bus).await;
                    });
                    match running.await {
                        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                        _ => Ok(()),
                    }
                }
                running @ RunState::Running { .. } => {
                    *state = running;
                    Ok(())
                }
                RunState::Stopped | RunState::Created => Err(TelemetryError::ShutDown),
            }
        }
    }

    /// Returns once the start [`TelemetryManager::initialize`] claimed has finished (at
    /// once when none is under way).
    pub async fn started(&self) {
        drop(self.state.lock().await);
    }

    /// The part of the start that is quick and must not wait: the process-wide instance,
    /// the panic and crash capture, the configuration's warnings, the global tracer
    /// provider, the event bus's subscriptions. Moves `Created` to `Starting`; does
    /// nothing in any other state.
    fn prepare(self: &Arc<Self>, state: &mut RunState) {
        if !matches!(state, RunState::Created) {
            return;
        }
        let (stop, stopped) = watch::channel(false);
        let bus = Box::pin(self.sources.events.feed(
            &self.sources.alerts,
            &self.sources.health,
            self.tracing.store(),
            stopped.clone(),
        ));
        *state = RunState::Starting { stop, stopped, bus };
        *INSTANCE.write() = Some(self.clone());
        if let Some(capture) = &self.panics {
            *self.sources.previous_crash.lock() = capture.take_previous();
            panics::install(capture.clone());
            #[cfg(feature = "minidumps")]
            if let (Some(storage), Some(session)) = (
                self.sources.config.storage.dir.as_deref(),
                self.sources.resource.get("session.id"),
            ) {
                crate::logs::native::start(
                    std::path::Path::new(storage),
                    session,
                    self.sources.status.clone(),
                );
            }
        }
        for warning in &self.sources.config.warnings {
            ::tracing::warn!(
                target: "telemetry::config",
                variable = %warning.path,
                "environment variable {}: {}",
                warning.path,
                warning.message
            );
        }
        if self.sources.config.enabled && self.sources.config.tracing.enabled {
            opentelemetry::global::set_tracer_provider(self.tracing.provider().clone());
            if let Some(p) = crate::tracing::propagator(&self.sources.config.tracing.propagators) {
                opentelemetry::global::set_text_map_propagator(p);
            }
        }
    }

    /// The part of the start that may take a while: the system collector's first
    /// reading, the periodic loops, the servers' listening sockets.
    async fn run(
        self: &Arc<Self>,
        stop: watch::Sender<bool>,
        stopped: watch::Receiver<bool>,
        bus: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    ) -> RunState {
        let metrics_on = self.sources.config.enabled && self.sources.config.metrics.enabled;
        if metrics_on {
            let mut cycle = self.cycle.lock();
            for exporter in &cycle.exporters {
                self.sources.status.register(exporter.name());
            }
            if self.sources.config.metrics.system_collectors {
                // The disks of the configured disk checks, also when the OS leaves them out.
                let paths = (self.sources.config.health.checks.iter())
                    .filter_map(|check| match check {
                        HealthCheckConfig::DiskSpace { path, .. } => Some(PathBuf::from(path)),
                        _ => None,
                    })
                    .collect();
                match SystemCollector::new(self.metrics()) {
                    Ok(collector) => cycle.collector = Some(collector.with_disk_paths(paths)),
                    Err(e) => {
                        ::tracing::warn!(target: "telemetry::collectors", error = %e, "the system collector is off");
                        self.sources.status.failure("collectors", e.to_string());
                    }
                }
            }
        }
        let mut tasks = vec![tokio::spawn(bus)];
        tasks.extend(self.start_loops(&stopped, metrics_on));
        #[cfg(feature = "server")]
        let servers = if self.sources.config.enabled {
            self.start_servers(metrics_on).await
        } else {
            Vec::new()
        };
        #[cfg(not(feature = "server"))]
        self.refuse_servers(metrics_on);
        RunState::Running {
            stop,
            tasks,
            #[cfg(feature = "server")]
            servers,
        }
    }

    /// The periodic loops: health, and with metrics on, alerts and collection.
    fn start_loops(
        &self,
        stopped: &watch::Receiver<bool>,
        metrics_on: bool,
    ) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        if self.sources.config.enabled && self.sources.config.health.enabled {
            let health = self.sources.health.clone();
            tasks.push(tokio::spawn(self.supervisor.clone().every(
                "health",
                self.sources.config.health.check_interval,
                stopped.clone(),
                move || {
                    let health = health.clone();
                    async move {
                        health.refresh().await;
                    }
                },
            )));
        }
        // Without the `alerts` feature no rule can exist: nothing to evaluate.
        if metrics_on && self.sources.config.alerts.enabled && cfg!(feature = "alerts") {
            let (alerts, store) = (self.sources.alerts.clone(), self.sources.store.clone());
            tasks.push(tokio::spawn(self.supervisor.clone().every(
                "alerts",
                self.sources.config.alerts.evaluation_interval,
                stopped.clone(),
                move || {
                    let (alerts, store) = (alerts.clone(), store.clone());
                    async move {
                        alerts.evaluate(&store, crate::clock::now_ms()).await;
                    }
                },
            )));
        }
        if metrics_on {
            let (cycle, supervisor) = (self.cycle.clone(), self.supervisor.clone());
            tasks.push(tokio::spawn(self.supervisor.clone().every(
                "collection",
                self.sources.config.metrics.collection_interval,
                stopped.clone(),
                move || run_cycle(cycle.clone(), supervisor.clone()),
            )));
        }
        tasks
    }

    /// In a build without the HTTP server: each Prometheus exporter and the `server`
    /// section is Failed in the export status with a warning that names the feature; the
    /// rest of telemetry runs.
    #[cfg(not(feature = "server"))]
    fn refuse_servers(&self, metrics_on: bool) {
        const NO_SERVER: &str = "not served: serving over HTTP (Prometheus's /metrics, /health, the query API, the dashboard) needs the Cargo feature `server` (of tauri-plugin-opentelemetry or telemetry-engine)";
        let config = &self.sources.config;
        let names = config
            .metrics
            .exporters
            .iter()
            .filter(|e| {
                metrics_on && matches!(e, crate::config::MetricsExporter::Prometheus { .. })
            })
            .map(crate::config::MetricsExporter::name)
            .chain(config.server.iter().map(|s| format!("server:{}", s.port)));
        let mut refused = false;
        for name in names {
            ::tracing::warn!(target: "telemetry", server = %name, "{NO_SERVER}");
            self.sources.status.register(&name);
            self.sources.status.failure(&name, NO_SERVER);
            refused = true;
        }
        if !refused {
            ::tracing::info!(
                target: "telemetry",
                "telemetry: nothing is served over HTTP (this build has no Cargo feature `server`); the in-app panel reads over IPC"
            );
        }
    }

    /// The HTTP servers: one per Prometheus exporter (with metrics on), and the `server`
    /// section's unless an exporter listens on its port already (then that one serves
    /// everything). A server that cannot start is Failed in the export status; the rest run.
    #[cfg(feature = "server")]
    async fn start_servers(self: &Arc<Self>, metrics_on: bool) -> Vec<RunningServer> {
        let mut plans = Vec::new();
        for exporter in self
            .sources
            .config
            .metrics
            .exporters
            .iter()
            .filter(|_| metrics_on)
        {
            if let MetricsExporter::Prometheus {
                port,
                path,
                enable_compression,
                host,
            } = exporter
            {
                let name = exporter.name();
                self.sources.status.register(&name);
                plans.push(self.server_config(
                    host,
                    *port,
                    *enable_compression,
                    Some((path.clone(), name)),
                ));
            }
        }
        if let Some(own) = &self.sources.config.server {
            if !plans.iter().any(|p| p.port == own.port && own.port != 0) {
                plans.push(self.server_config(&own.host, own.port, own.enable_compression, None));
            }
        }
        let mut servers = Vec::new();
        let mut lines = Vec::new();
        for plan in plans {
            let metrics = plan.metrics.clone();
            let name = metrics
                .as_ref()
                .map_or_else(|| format!("server:{}", plan.port), |m| m.1.clone());
            let served = self.served(&plan.host);
            let api = served.api.is_some();
            match RunningServer::start(plan, served).await {
                Ok(server) => {
                    lines.push(served_line(
                        server.addr(),
                        metrics.as_ref().map(|m| m.0.as_str()),
                        api,
                        server.serves_dashboard(),
                    ));
                    if let Some((path, name)) = metrics {
                        self.sources.status.pending(
                            &name,
                            format!(
                                "listening on http://{}{path}, not scraped yet",
                                server.addr()
                            ),
                        );
                    }
                    servers.push(server);
                }
                Err(e) => {
                    ::tracing::error!(error = %e, server = %name, "telemetry HTTP server");
                    self.sources.status.failure(&name, e.to_string());
                }
            }
        }
        if lines.is_empty() {
            ::tracing::info!(
                target: "telemetry",
                "telemetry: nothing is served over HTTP (no Prometheus exporter and no `server` section in the config); the in-app panel reads over IPC"
            );
        } else {
            ::tracing::info!(target: "telemetry", "telemetry: {}", lines.join("; "));
        }
        servers
    }

    #[cfg(feature = "server")]
    fn server_config(
        &self,
        host: &str,
        port: u16,
        compression: bool,
        metrics: Option<(String, String)>,
    ) -> ServerConfig {
        ServerConfig {
            host: host.to_owned(),
            port,
            metrics,
            compression,
            service: self.sources.config.service_name.clone(),
            version: self.sources.config.service_version.clone(),
            token: self.sources.config.http_token.clone(),
            allowed_hosts: self.sources.config.allowed_hosts.clone(),
        }
    }

    /// What a server bound to `host` serves: the query API only where `http_api` allows.
    #[cfg(feature = "server")]
    fn served(self: &Arc<Self>, host: &str) -> Served {
        let loopback = host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
        let api = match self.sources.config.http_api {
            HttpApi::Always => true,
            HttpApi::Loopback => loopback,
            HttpApi::Off => false,
        };
        Served {
            metrics: self.pipeline.clone(),
            status: self.sources.status.clone(),
            health: (self.sources.config.health.enabled).then(|| self.sources.health.clone()),
            api: api.then(|| self.sources.clone()),
            streams: self.http_streams.clone(),
            dashboard: self.sources.config.dashboard,
        }
    }

    /// The process-wide instance: the last one initialized and not shut down.
    pub fn get_instance() -> Option<Arc<TelemetryManager>> {
        INSTANCE.read().clone()
    }

    /// The status of every exporter, by name (`metrics:prometheus:9090`,
    /// `metrics:file:./logs/metrics.json`, `traces:otlp:…`).
    pub async fn get_export_status(&self) -> BTreeMap<String, ExportStatus> {
        self.sources.status.statuses()
    }

    /// Status with success and failure counts, by exporter name.
    pub fn export_reports(&self) -> BTreeMap<String, ExporterReport> {
        self.sources.status.reports()
    }

    /// The metrics API.
    pub fn metrics(&self) -> &Metrics {
        self.pipeline.metrics()
    }

    /// The app's child processes: register encoders and sidecars here to get their CPU,
    /// memory and exits per name (see [`ChildProcesses`]).
    pub fn children(&self) -> &ChildProcesses {
        &self.children
    }

    /// The user's consent in force (see [`Consent`]).
    pub fn consent(&self) -> Consent {
        self.sources.privacy.consent.get()
    }

    /// Records the user's choice: OTLP, webhooks, PagerDuty and e-mail send only while it
    /// is [`Consent::Granted`]; withdrawn, the next export sends nothing. Kept under
    /// `storage.dir` for the next launches.
    ///
    /// # Errors
    /// [`PrivacyError::Persist`] when the choice cannot be kept: it applies to this launch
    /// all the same.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::{config::{Consent, TelemetryConfig}, TelemetryManager};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let telemetry = TelemetryManager::new(TelemetryConfig { consent: Consent::Ask,
    ///     ..Default::default() }).await?;
    /// telemetry.set_consent(Consent::Granted)?;
    /// assert_eq!(telemetry.consent(), Consent::Granted);
    /// # Ok(()) }
    /// ```
    pub fn set_consent(&self, consent: Consent) -> Result<(), PrivacyError> {
        self.sources.privacy.consent.set(consent)
    }

    /// Installs the app's last look at every span and log record before it leaves the
    /// process (after the configured scrubbing); `None` removes it. See [`BeforeSend`].
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::{privacy::Outgoing, TelemetryManager};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let telemetry = TelemetryManager::new(Default::default()).await?;
    /// telemetry.set_before_send(Some(std::sync::Arc::new(|record: Outgoing<'_>| {
    ///     !matches!(record, Outgoing::Span(span) if span.name == "heartbeat")
    /// })));
    /// # Ok(()) }
    /// ```
    pub fn set_before_send(&self, hook: Option<BeforeSend>) {
        self.sources.privacy.set_before_send(hook);
    }

    /// Writes a diagnostics bundle of the last `window` (series, traces, logs, health,
    /// alerts, export status, the redacted config and the resource, scrubbed) into `dir`
    /// as `<service>-diagnostics-<time>.json.gz`, and returns its path; the dashboard
    /// opens it offline ("Open bundle").
    ///
    /// # Errors
    /// [`crate::api::ApiError::BadArgument`] for a window of zero or over a day,
    /// [`crate::api::ApiError::Io`] when the file cannot be written.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn run(telemetry: std::sync::Arc<telemetry_engine::TelemetryManager>) -> Result<(), Box<dyn std::error::Error>> {
    /// let path = telemetry
    ///     .write_diagnostics(std::path::Path::new("/tmp"), std::time::Duration::from_secs(900))
    ///     .await?;
    /// println!("attach {} to the bug report", path.display());
    /// # Ok(()) }
    /// ```
    pub async fn write_diagnostics(
        &self,
        dir: &std::path::Path,
        window: Duration,
    ) -> Result<std::path::PathBuf, crate::api::ApiError> {
        crate::api::write_diagnostics(&self.sources, dir, window).await
    }

    /// What the query API reads ([`crate::api`]): the plugin's commands and the HTTP
    /// API answer from it.
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// Alert, in-app notification, health and trace events as they happen, for live
    /// views: what the plugin sends to subscribed windows and `/api/events` to browsers.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn run(telemetry: std::sync::Arc<telemetry_engine::TelemetryManager>) {
    /// let mut events = telemetry.events();
    /// while let Ok(event) = events.recv().await {
    ///     println!("{}", event.kind());
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> tokio::sync::broadcast::Receiver<crate::api::LiveEvent> {
        self.sources.events.subscribe()
    }

    /// The tracer: `trace_async`, `trace`, `span_builder`.
    pub fn tracer(&self) -> &Tracer {
        self.tracing.tracer()
    }

    /// The last finished traces, as span trees.
    pub fn traces(&self) -> &TraceStore {
        self.tracing.store()
    }

    /// What the previous launch left, if it crashed: its newest panic, or an exit that
    /// was not clean (a native crash, a kill, power loss). Known after
    /// [`initialize`](Self::initialize) with `storage.dir` and `logs.capture_panics`; the
    /// report was also sent as an ERROR record carrying the previous `session.id`.
    ///
    /// # Examples
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let telemetry = telemetry_engine::TelemetryManager::new(Default::default()).await.unwrap();
    /// telemetry.initialize().await.unwrap();
    /// if let Some(crash) = telemetry.previous_crash() {
    ///     eprintln!("the last session crashed: {}", crash.message);
    /// }
    /// # telemetry.shutdown().await; }
    /// ```
    pub fn previous_crash(&self) -> Option<CrashReport> {
        self.sources.previous_crash.lock().clone()
    }

    /// The last `logs.store_capacity` log records, with their trace and span ids.
    pub fn logs(&self) -> &LogStore {
        self.logs.store()
    }

    /// The `tracing` bridge as one layer: spans (`#[instrument]`) become spans of
    /// [`TelemetryManager::tracer`], events become log records (store and exporters) with
    /// the current trace and span ids, both filtered by `logs.level`. Add it to your own
    /// subscriber, or call [`TelemetryManager::install_tracing_subscriber`].
    ///
    /// # Examples
    /// ```no_run
    /// use tracing_subscriber::layer::SubscriberExt as _;
    /// # async fn run(telemetry: std::sync::Arc<telemetry_engine::TelemetryManager>) {
    /// let subscriber = tracing_subscriber::registry().with(telemetry.tracing_layer());
    /// tracing::subscriber::set_global_default(subscriber).unwrap();
    /// tracing::info!(frame = 1, "rendered");
    /// # }
    /// ```
    pub fn tracing_layer<S>(&self) -> impl Layer<S> + Send + Sync + 'static
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        self.logs.layer(self.tracing.sdk_tracer())
    }

    /// Installs a global `tracing` subscriber with [`TelemetryManager::tracing_layer`],
    /// and routes the `log` crate's records into it unless another logger holds the `log`
    /// facade already (tauri-plugin-log, env_logger): then `tracing` events and spans
    /// still arrive, `log` records go to that logger, and a warning says so.
    ///
    /// # Errors
    /// [`TelemetryError::Subscriber`] when a global `tracing` subscriber is already set
    /// (then add [`TelemetryManager::tracing_layer`] to that subscriber instead).
    pub fn install_tracing_subscriber(&self) -> Result<Routed, TelemetryError> {
        use tracing_subscriber::layer::SubscriberExt as _;
        let subscriber = tracing_subscriber::registry().with(self.tracing_layer());
        ::tracing::subscriber::set_global_default(subscriber)
            .map_err(|e| TelemetryError::Subscriber(e.to_string()))?;
        if tracing_log::LogTracer::init().is_ok() {
            return Ok(Routed::TracingAndLog);
        }
        ::tracing::warn!(
            target: "telemetry::logs",
            "another logger holds the `log` facade (tauri-plugin-log?): its records stay \
             there; tracing events and spans reach telemetry"
        );
        Ok(Routed::TracingOnly)
    }

    /// The health checks: add your own with `add_check`; results on `/health`.
    pub fn health(&self) -> &Arc<HealthCheckManager> {
        &self.sources.health
    }

    /// The alert rules: add your own with `add_rule`; `active()`, `history()`,
    /// `subscribe()` for in-app notifications.
    pub fn alerts(&self) -> &Arc<AlertManager> {
        &self.sources.alerts
    }

    /// The series store that feeds live panels and alert rules.
    pub fn store(&self) -> &Arc<SeriesStore> {
        &self.sources.store
    }

    /// The configuration in force.
    pub fn config(&self) -> &TelemetryConfig {
        &self.sources.config
    }

    /// Addresses the HTTP servers listen on (the real port when 0 was asked): the
    /// Prometheus exporters' first, then the `server` section's.
    /// None in a build without the Cargo feature `server`.
    pub async fn prometheus_addrs(&self) -> Vec<SocketAddr> {
        match &*self.state.lock().await {
            #[cfg(feature = "server")]
            RunState::Running { servers, .. } => servers.iter().map(RunningServer::addr).collect(),
            _ => Vec::new(),
        }
    }

    /// The URLs of the live dashboard: `http://<addr>/` of every server that serves it
    /// (`dashboard` on, and the query API served there; see `http_api`).
    /// None in a build without the Cargo feature `server`.
    pub async fn dashboard_urls(&self) -> Vec<String> {
        match &*self.state.lock().await {
            #[cfg(feature = "server")]
            RunState::Running { servers, .. } => servers
                .iter()
                .filter(|s| s.serves_dashboard())
                .map(|s| format!("http://{}/", s.addr()))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The Prometheus text exposition, as the endpoint serves it.
    ///
    /// # Errors
    /// [`ExportError::Encode`] when the metrics cannot be collected (after shutdown).
    pub fn render_prometheus(&self) -> Result<String, ExportError> {
        self.pipeline.render()
    }

    /// Runs one collection cycle now (collectors, store, push exporters), without waiting
    /// for the interval.
    pub async fn collect_now(&self) {
        run_cycle(self.cycle.clone(), self.supervisor.clone()).await;
    }

    /// Exports every span waiting in the batch processors now, and returns when done
    /// (or failed: the export status says which).
    pub async fn force_flush(&self) {
        self.span_and_log_providers(None).await;
    }

    /// Flushes the tracer and logger providers, or with `shutdown` (its timeout) shuts
    /// them down, off the async workers: a gRPC exporter's export needs the runtime. With
    /// a timeout, returns by then even if an exporter hangs.
    async fn span_and_log_providers(&self, shutdown: Option<Duration>) {
        let tracing = self.tracing.provider().clone();
        let logs = self.logs.provider().clone();
        let done = tokio::task::spawn_blocking(move || {
            let (spans, records) = match shutdown {
                // Both share the timeout: the tracer's export and the logger's run apart.
                Some(timeout) => std::thread::scope(|scope| {
                    let logs = scope.spawn(|| logs.shutdown_with_timeout(timeout));
                    let spans = tracing.shutdown_with_timeout(timeout);
                    (spans, logs.join().unwrap_or(Ok(())))
                }),
                None => (tracing.force_flush(), logs.force_flush()),
            };
            for (what, result) in [("tracer", spans), ("logger", records)] {
                if let Err(e) = result {
                    ::tracing::debug!(error = %e, shutdown = shutdown.is_some(), "{what} provider");
                }
            }
        });
        match shutdown {
            Some(timeout) => {
                if tokio::time::timeout(timeout + PROVIDER_SLACK, done)
                    .await
                    .is_err()
                {
                    ::tracing::warn!(?timeout, "spans and log records still exporting at the shutdown deadline were left behind");
                }
            }
            None => {
                let _ = done.await;
            }
        }
    }

    /// Stops the loop and the servers, runs a last collection so the final values reach
    /// the store and the files, flushes every exporter and shuts the meter provider down,
    /// all within `shutdown_timeout` (default 5 s): a part that hangs (an exporter, a
    /// client, a disk) is left behind at the deadline, and the rest still runs. Idempotent.
    pub async fn shutdown(&self) {
        let deadline = tokio::time::Instant::now() + self.sources.config.shutdown_timeout;
        let left = || deadline.saturating_duration_since(tokio::time::Instant::now());
        let mut state = self.state.lock().await;
        let previous = std::mem::replace(&mut *state, RunState::Stopped);
        let started = matches!(
            previous,
            RunState::Starting { .. } | RunState::Running { .. }
        );
        if let RunState::Running {
            stop,
            tasks,
            #[cfg(feature = "server")]
            servers,
        } = previous
        {
            let _ = stop.send(true);
            let aborts: Vec<_> = tasks.iter().map(JoinHandle::abort_handle).collect();
            let stopping = futures_util::future::join_all(tasks);
            if tokio::time::timeout(left() / 4, stopping).await.is_err() {
                ::tracing::warn!("a periodic task was still busy at shutdown; stopped");
                aborts.iter().for_each(tokio::task::AbortHandle::abort);
            }
            #[cfg(feature = "server")]
            let servers = futures_util::future::join_all(
                servers
                    .into_iter()
                    .map(|s| s.stop(left().min(SHUTDOWN_GRACE))),
            );
            #[cfg(not(feature = "server"))]
            let servers = std::future::ready(());
            tokio::join!(
                self.sources
                    .alerts
                    .stop_deliveries(left().min(DELIVERY_GRACE)),
                servers,
                self.last_collection(left() / 2),
            );
            // What the last flush cannot send in the first three quarters of the time
            // left waits on disk for the next launch; the rest is for writing it.
            if let Some(spool) = &self.spool {
                spool.close(std::time::Instant::now() + left() * 3 / 4);
            }
            self.span_and_log_providers(Some(left())).await;
            if let Err(e) = self.pipeline.shutdown() {
                ::tracing::debug!(error = %e, "metrics");
            }
            if let Some(spool) = &self.spool {
                spool.release();
            }
        }
        // A clean exit: no crash report for the next launch.
        if let (true, Some(capture)) = (started, &self.panics) {
            panics::uninstall(capture);
            capture.clean_exit();
        }
        let mut instance = INSTANCE.write();
        if instance
            .as_ref()
            .is_some_and(|i| std::ptr::eq(Arc::as_ptr(i), self))
        {
            *instance = None;
        }
    }
}

impl TelemetryManager {
    /// The final collection, its OTLP pushes sent (or spooled) and the metric exporters
    /// flushed, waited for at most `wait`.
    async fn last_collection(&self, wait: Duration) {
        if !(self.sources.config.enabled && self.sources.config.metrics.enabled) {
            return;
        }
        let cycle = self.cycle.clone();
        let last = async move {
            let sending = tokio::task::spawn_blocking(move || cycle.lock().finish())
                .await
                .unwrap_or_default();
            futures_util::future::join_all(sending).await;
        };
        if tokio::time::timeout(wait, last).await.is_err() {
            ::tracing::warn!("the last collection was still running at the shutdown deadline");
        }
    }
}

/// Runs one collection cycle off the async workers; a panic in it is recorded against
/// the `collection` task and the next cycle runs as planned.
async fn run_cycle(cycle: Arc<Mutex<Cycle>>, supervisor: Supervisor) {
    if let Err(e) = tokio::task::spawn_blocking(move || cycle.lock().run()).await {
        if e.is_panic() {
            supervisor.panicked("collection", None, e.into_panic().as_ref());
        }
    }
}

/// What one server serves, as the startup line says it: its address, then the routes.
#[cfg(feature = "server")]
fn served_line(addr: SocketAddr, metrics: Option<&str>, api: bool, dashboard: bool) -> String {
    let mut routes: Vec<String> = metrics.map(str::to_owned).into_iter().collect();
    routes.push("/health".into());
    if api {
        routes.push("/api".into());
    }
    if dashboard {
        routes.push("the dashboard at /".into());
    }
    format!("http://{addr} serves {}", routes.join(", "))
}

#[cfg(all(test, feature = "server"))]
mod tests {
    #[test]
    fn the_startup_line_says_what_each_server_serves() {
        let addr = "127.0.0.1:9090".parse().unwrap();
        assert_eq!(
            super::served_line(addr, Some("/metrics"), true, true),
            "http://127.0.0.1:9090 serves /metrics, /health, /api, the dashboard at /"
        );
        assert_eq!(
            super::served_line(addr, None, false, false),
            "http://127.0.0.1:9090 serves /health"
        );
    }
}

#[cfg(all(test, not(feature = "server")))]
mod without_server {
    use crate::config::{MetricsExporter, ServerSettings, TelemetryConfig};
    use crate::export::ExportStatus;

    #[tokio::test]
    async fn a_build_without_the_server_runs_and_says_what_is_not_served() {
        let mut config = TelemetryConfig::default();
        config.metrics.exporters = vec![MetricsExporter::Prometheus {
            port: 9464,
            path: "/metrics".into(),
            enable_compression: false,
            host: "127.0.0.1".into(),
        }];
        config.server = Some(ServerSettings {
            host: "127.0.0.1".into(),
            port: 9465,
            enable_compression: false,
        });
        let telemetry = super::TelemetryManager::new(config).await.unwrap();
        telemetry.initialize().await.unwrap();
        let status = telemetry.get_export_status().await;
        for name in ["metrics:prometheus:9464", "server:9465"] {
            assert!(
                matches!(&status[name], ExportStatus::Failed(why) if why.contains("Cargo feature `server`")),
                "{name}: {status:?}"
            );
        }
        assert!(telemetry.prometheus_addrs().await.is_empty());
        telemetry.shutdown().await;
    }
}
