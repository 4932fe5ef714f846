//! Configuration: every field of the spec's `TelemetryConfig`, its JSON form, the ready
//! profiles, the environment overrides and validation with field paths.
//!
//! Durations are strings in JSON (`"5s"`, `"1h"`, `"7d"`), parsed by `humantime`.
//! Unknown fields are an error. [`TelemetryConfig::validate`] returns every problem at
//! once, each with the path of the field it is about.

mod dashboard;
mod env;
mod error;
mod paths;
mod privacy;
mod profiles;
mod rules;
mod secrets;
mod validate;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use dashboard::{MetricDescription, Panel, PanelKind};
pub use error::{ConfigError, ConfigIssue};
pub use paths::{resolve_path, PathStyle};
pub use privacy::{Consent, PrivacyConfig, SpoolConfig, StorageConfig};
pub use profiles::Profile;
pub use rules::{AlertAction, AlertRule, AlertSeverity};
pub(crate) use secrets::{shown_endpoint, shown_unparsed, split_userinfo};
#[cfg(not(feature = "otlp-grpc"))]
pub(crate) use validate::NO_GRPC_FEATURE;
pub(crate) use validate::{is_valid_check_name, mailbox_problem, NO_EMAIL_FEATURE};

secrets::debug_redacted!(
    TracingExporter,
    OtlpExporterConfig,
    HealthCheckConfig,
    EmailConfig,
    AlertsConfig
);

impl std::fmt::Debug for TelemetryConfig {
    /// The [`TelemetryConfig::redacted`] JSON and the `warnings` (not part of the JSON).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TelemetryConfig {} warnings: {:?}",
            self.redacted(),
            self.warnings
        )
    }
}

/// The whole telemetry configuration (spec section 1).
///
/// Every field has a default, so `TelemetryConfig { service_name: "studio".into(),
/// ..Default::default() }` is a complete configuration.
///
/// # Examples
/// ```
/// use telemetry_engine::config::TelemetryConfig;
/// let cfg = TelemetryConfig::from_json(r#"{ "service_name": "studio",
///     "metrics": { "collection_interval": "5s" } }"#).unwrap();
/// assert_eq!(cfg.metrics.collection_interval.as_secs(), 5);
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Master switch: when false nothing is collected, exported or served. Default `true`.
    pub enabled: bool,
    /// `service.name` of the OpenTelemetry resource. Default `"tauri-app"`.
    pub service_name: String,
    /// `service.version` of the resource. Default `"0.0.0"`.
    pub service_version: String,
    /// Extra resource attributes (also from `OTEL_RESOURCE_ATTRIBUTES`). Default empty.
    pub resource_attributes: BTreeMap<String, String>,
    /// Distributed tracing.
    pub tracing: TracingConfig,
    /// Metrics, collectors and metric exporters.
    pub metrics: MetricsConfig,
    /// Health checks.
    pub health: HealthConfig,
    /// Logs from the `tracing` and `log` crates: level, in-app store and exporters.
    pub logs: LogsConfig,
    /// Alert rules and where their notifications go.
    pub alerts: AlertsConfig,
    /// Whether the engine's HTTP server also answers the read-only query API (`/api/..`,
    /// for the dashboard and the guest-js HTTP transport). Default `loopback`: only on
    /// servers bound to a loopback address.
    pub http_api: HttpApi,
    /// Whether servers that answer the query API also serve the live dashboard at `/`
    /// (its page and scripts are built into the binary). Default `true`.
    pub dashboard: bool,
    /// A bearer token the engine's HTTP server requires on every data route (`/metrics`,
    /// `/health*`, `/api/*`) as `Authorization: Bearer <token>`; the dashboard's page and
    /// scripts stay public and take it from `/?token=<token>`. Also from
    /// `TELEMETRY_HTTP_TOKEN`. Default none. Never shown: [`TelemetryConfig::redacted`]
    /// hides it.
    pub http_token: Option<String>,
    /// Host names the engine's HTTP servers answer besides IP addresses and `localhost`
    /// (the request's `Host`; `"host.docker.internal"` for a Prometheus in a container).
    /// A server bound beyond loopback without `http_token` answers no other name, so that a
    /// web page that rebinds its own name to this machine cannot read it. Default none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    /// The most [`TelemetryManager::shutdown`](crate::TelemetryManager::shutdown) may
    /// take: the last collection, flushing the exporters and stopping the servers, with
    /// whatever hangs left behind at the deadline. Default `5s`, at most `60s`.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// The engine's HTTP server on its own: `/health*`, the query API and the dashboard
    /// (as `http_api` and `dashboard` say), whether metrics are on or off. A Prometheus
    /// exporter on the same port shares it and adds its `/metrics`; one on another port
    /// gets a server of its own, as before. Default none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerSettings>,
    /// The charts of the dashboard's metrics view, in order; the metrics no panel shows
    /// get a default chart each. Default none. At most [`Panel::MAX_PANELS`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub panels: Vec<Panel>,
    /// Whether telemetry may leave this machine: `granted` (default), `denied` or `ask`
    /// (nothing is sent until the user grants it). See [`Consent`].
    pub consent: Consent,
    /// What is scrubbed from telemetry before it leaves the process.
    pub privacy: PrivacyConfig,
    /// Where the engine keeps the user's choices and the offline spool between launches.
    pub storage: StorageConfig,
    /// How much unsent telemetry waits on disk while offline. See [`SpoolConfig`].
    pub spool: SpoolConfig,
    /// What the environment overrides could not use ([`TelemetryConfig::from_env`] fills
    /// it): each was ignored, and the engine logs each as a warning when it starts. Not
    /// part of the JSON.
    #[serde(skip)]
    pub warnings: Vec<ConfigIssue>,
}

/// Where the engine's own HTTP server listens (`"server": { "port": 9090 }`).
///
/// # Examples
/// ```
/// use telemetry_engine::config::TelemetryConfig;
/// let cfg = TelemetryConfig::from_json(r#"{ "metrics": { "enabled": false },
///     "server": { "port": 9090 } }"#).unwrap();
/// assert_eq!(cfg.server.unwrap().host, "127.0.0.1");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to bind. Default `127.0.0.1` (this machine only).
    #[serde(default = "default_host")]
    pub host: String,
    /// Port; `0` lets the OS pick one (see `TelemetryManager::dashboard_urls`).
    pub port: u16,
    /// Gzip answers when the client accepts it. Default `false`.
    #[serde(default)]
    pub enable_compression: bool,
}

/// Where the query API is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpApi {
    /// On servers bound to 127.0.0.1 or ::1 only.
    #[default]
    Loopback,
    /// On every server, whatever its address (traces and logs become visible to anyone
    /// who can reach it).
    Always,
    /// Nowhere.
    Off,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            service_name: "tauri-app".to_owned(),
            service_version: "0.0.0".to_owned(),
            resource_attributes: BTreeMap::new(),
            tracing: TracingConfig::default(),
            metrics: MetricsConfig::default(),
            health: HealthConfig::default(),
            logs: LogsConfig::default(),
            alerts: AlertsConfig::default(),
            http_api: HttpApi::default(),
            dashboard: true,
            http_token: None,
            allowed_hosts: Vec::new(),
            shutdown_timeout: Duration::from_secs(5),
            server: None,
            panels: Vec::new(),
            consent: Consent::default(),
            privacy: PrivacyConfig::default(),
            storage: StorageConfig::default(),
            spool: SpoolConfig::default(),
            warnings: Vec::new(),
        }
    }
}

/// Tracing settings (spec section 1, `tracing`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TracingConfig {
    /// Default `true`.
    pub enabled: bool,
    /// Fraction of root traces exported, `0.0..=1.0`. Default `1.0`.
    pub sample_rate: f64,
    /// Fraction of root traces recorded in the in-app trace store, whatever
    /// `sample_rate` exports (a trace exported is always recorded), `0.0..=1.0`. Default
    /// `1.0`: the panel's trace list fills at any export rate, as far as the bounded
    /// store holds.
    pub local_sample_rate: f64,
    /// Export a failed span even when its trace was not sampled for export. Default
    /// `true`.
    pub export_errors: bool,
    /// Traces a second the in-app trace store keeps every one of; while more end, it
    /// keeps a share chosen from the trace id (every failed span and its root kept), so
    /// that its cost to the threads ending spans stays bounded. `0`: every trace at any
    /// rate. Default `1000`.
    pub store_max_traces_per_second: u32,
    /// Attributes kept per span; more are dropped and counted. Default `128`.
    pub max_attributes_per_span: u32,
    /// Events kept per span; more are dropped and counted. Default `128`.
    pub max_events_per_span: u32,
    /// Log every finished span with its attributes. Default `false`.
    pub debug_mode: bool,
    /// Log every span as it ends (name, duration, status). Default `false`.
    pub log_spans: bool,
    /// Batching of span export.
    pub batch_export: BatchExportConfig,
    /// Where spans go. Default none.
    pub exporters: Vec<TracingExporter>,
    /// The context formats installed as OpenTelemetry's global propagator when tracing
    /// is on, for code that injects or extracts context through it (HTTP clients and
    /// servers). Default `["tracecontext", "baggage"]`, as the OTel spec says; `[]`
    /// installs none.
    pub propagators: Vec<Propagator>,
}

/// A context propagation format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Propagator {
    /// W3C Trace Context (`traceparent`, `tracestate`).
    TraceContext,
    /// W3C Baggage (`baggage`).
    Baggage,
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            sample_rate: 1.0,
            local_sample_rate: 1.0,
            export_errors: true,
            store_max_traces_per_second: 1000,
            max_attributes_per_span: 128,
            max_events_per_span: 128,
            debug_mode: false,
            log_spans: false,
            batch_export: BatchExportConfig::default(),
            exporters: Vec::new(),
            propagators: vec![Propagator::TraceContext, Propagator::Baggage],
        }
    }
}

/// Batch span export settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatchExportConfig {
    /// Spans per export call. Default `512`.
    pub max_batch_size: usize,
    /// Longest one export may take. Default `30s`.
    #[serde(with = "humantime_serde")]
    pub max_export_timeout: Duration,
    /// Time between exports. Default `5s`.
    #[serde(with = "humantime_serde")]
    pub export_interval: Duration,
    /// Items waiting for export at most (at least one batch); more are refused and
    /// counted. Default `2048`.
    pub max_queue_size: usize,
}

impl Default for BatchExportConfig {
    fn default() -> Self {
        Self {
            max_batch_size: 512,
            max_export_timeout: Duration::from_secs(30),
            export_interval: Duration::from_secs(5),
            max_queue_size: 2048,
        }
    }
}

/// Compression of an exporter's payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// gzip (RFC 1952).
    Gzip,
}

/// A destination for spans, in the spec's JSON shape (`{"Console": {}}`).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum TracingExporter {
    /// A readable tree of each finished trace on standard output.
    Console {},
    /// One OTLP JSON `ExportTraceServiceRequest` per line at `path`, rotated by size.
    File(FileExporterConfig),
    /// Jaeger, reached over OTLP (Jaeger takes OTLP natively since 1.35). The spec's
    /// legacy Thrift endpoint `http://host:14268/api/traces` is sent to the same host's
    /// OTLP/HTTP endpoint `http://host:4318/v1/traces`, and the export status says so.
    Jaeger {
        /// Collector endpoint URL.
        endpoint: String,
        /// Payload compression. Default none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        compression: Option<Compression>,
    },
    /// Any OTLP receiver (OpenTelemetry Collector, Jaeger, Tempo, …).
    Otlp(OtlpExporterConfig),
}

impl TracingExporter {
    /// Spans as a tree on standard output: the spec's `TracingExporter::Console`.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::TracingExporter;
    /// assert_eq!(TracingExporter::console(), TracingExporter::Console {});
    /// ```
    pub fn console() -> Self {
        Self::Console {}
    }

    /// The spec's `TracingExporter::Jaeger { endpoint }`, without compression.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::TracingExporter;
    /// let jaeger = TracingExporter::jaeger("http://localhost:14268/api/traces");
    /// assert!(matches!(jaeger, TracingExporter::Jaeger { compression: None, .. }));
    /// ```
    pub fn jaeger(endpoint: impl Into<String>) -> Self {
        Self::Jaeger {
            endpoint: endpoint.into(),
            compression: None,
        }
    }

    /// Spans as OTLP JSON lines in `path`, rotated with the defaults: the spec's
    /// `TracingExporter::File { path }`.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::TracingExporter;
    /// let file = TracingExporter::file("./debug_traces.json");
    /// assert!(matches!(file, TracingExporter::File(f) if f.path == "./debug_traces.json"));
    /// ```
    pub fn file(path: impl Into<String>) -> Self {
        Self::File(FileExporterConfig::new(path))
    }
}

/// An OTLP destination (`{"Otlp": {"endpoint": .., "protocol": "grpc"}}`), for spans or logs.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpExporterConfig {
    /// Full URL: `http://host:4318/v1/traces` (or `/v1/logs`) for HTTP, `http://host:4317`
    /// for gRPC.
    pub endpoint: String,
    /// Wire protocol. Default `http/protobuf`.
    #[serde(default)]
    pub protocol: OtlpProtocol,
    /// Extra request headers (API keys). Never logged or sent to the webview.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Payload compression. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// TLS for an `https://` endpoint beyond the OS's trusted roots: a private CA, a
    /// client certificate. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
}

/// TLS settings of one destination (`"tls": { "ca_cert": .., "client_cert": ..,
/// "client_key": .. }`), PEM files. The OS's trusted certificates (Mozilla's when it has
/// none) are always trusted as well.
///
/// # Examples
/// ```
/// use telemetry_engine::config::{TelemetryConfig, TracingExporter};
/// let cfg = TelemetryConfig::from_json(r#"{ "tracing": { "exporters": [ { "Otlp": {
///     "endpoint": "https://collector.example:4318/v1/traces",
///     "tls": { "ca_cert": "/etc/studio/ca.pem", "client_cert": "/etc/studio/client.pem",
///              "client_key": "/etc/studio/client.key" } } } ] } }"#)?;
/// let TracingExporter::Otlp(otlp) = &cfg.tracing.exporters[0] else { unreachable!() };
/// assert_eq!(otlp.tls.as_ref().unwrap().ca_cert.as_deref(), Some("/etc/studio/ca.pem"));
/// # Ok::<(), telemetry_engine::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// A CA certificate (or several) that signs the server's certificate: a private or
    /// self-made CA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
    /// The client certificate chain presented to a server that asks for one (mutual TLS);
    /// with `client_key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<String>,
    /// The client certificate's private key; with `client_cert`. Its path is shown, never
    /// its content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
}

impl OtlpExporterConfig {
    /// An OTLP/HTTP destination with no headers and no compression.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::{OtlpExporterConfig, OtlpProtocol};
    /// let otlp = OtlpExporterConfig::http("http://127.0.0.1:4318/v1/traces");
    /// assert_eq!(otlp.protocol, OtlpProtocol::HttpProtobuf);
    /// ```
    pub fn http(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            protocol: OtlpProtocol::HttpProtobuf,
            headers: BTreeMap::new(),
            compression: None,
            tls: None,
        }
    }
}

/// A size-rotated file destination (`{"File": {"path": "./logs/traces.json"}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileExporterConfig {
    /// File to write.
    pub path: String,
    /// Size at which the file is rotated. Default `10 MiB`.
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
    /// Rotated files kept beside the live one. Default `5`.
    #[serde(default = "default_max_files")]
    pub max_files: u32,
}

impl FileExporterConfig {
    /// A file destination at `path` with the default rotation (10 MiB, 5 files kept).
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::FileExporterConfig;
    /// assert_eq!(FileExporterConfig::new("./logs/traces.json").max_files, 5);
    /// ```
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            max_file_bytes: default_max_file_bytes(),
            max_files: default_max_files(),
        }
    }
}

/// The OTLP wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OtlpProtocol {
    /// Protobuf over HTTP POST.
    #[default]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// gRPC.
    #[serde(rename = "grpc")]
    Grpc,
}

/// Metric settings (spec section 1, `metrics`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Default `true`.
    pub enabled: bool,
    /// How often collectors run and the series store takes a point. Default `10s`.
    #[serde(with = "humantime_serde")]
    pub collection_interval: Duration,
    /// How long points stay in the series store for the live panels. Default `1h`.
    #[serde(with = "humantime_serde")]
    pub retention_period: Duration,
    /// Histogram buckets and reported quantiles.
    pub aggregation: AggregationConfig,
    /// Where metrics go. Default none.
    pub exporters: Vec<MetricsExporter>,
    /// Run the system collectors (CPU, memory, disk, network, this process). Default `true`.
    pub system_collectors: bool,
    /// Distinct attribute sets kept per metric; measurements with further sets go to one
    /// extra `otel.metric.overflow="true"` series, so nothing is lost. Default `2000`.
    pub max_series_per_metric: usize,
    /// Distinct metric names accepted; more are refused with an error. Default `1000`.
    pub max_metrics: usize,
    /// Attributes accepted on one measurement. Default `16`.
    pub max_attributes_per_measurement: usize,
    /// Series kept by the in-app store; more are counted as dropped. Default `5000`.
    pub max_store_series: usize,
    /// Points kept per stored series; older ones are thinned to fit. Default `720`.
    pub max_points_per_series: usize,
    /// The app's metrics, described before their first use: help text and unit.
    /// Default none (names with a unit suffix still get that unit).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub catalogue: Vec<MetricDescription>,
    /// How often OTLP metric exporters push (at the first collection after it passed).
    /// Default `60s` (the OTel default), also from `OTEL_METRIC_EXPORT_INTERVAL` (ms).
    #[serde(with = "humantime_serde")]
    pub export_interval: Duration,
    /// Longest one OTLP metric push may take. Default `30s`, also from
    /// `OTEL_METRIC_EXPORT_TIMEOUT` (ms).
    #[serde(with = "humantime_serde")]
    pub export_timeout: Duration,
    /// How OTLP metric exporters report sums and histograms: `cumulative` (default),
    /// `delta`, or `lowmemory` (the same as delta here: every sum is monotonic). Also from
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`.
    pub temporality: Temporality,
}

/// How pushed sums and histograms count (`metrics.temporality`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Temporality {
    /// Since the start of the process (what Prometheus expects).
    #[default]
    Cumulative,
    /// Since the previous push.
    Delta,
    /// Delta for counters and histograms, cumulative for the rest (the OTel SDK's
    /// low-memory preference).
    LowMemory,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            collection_interval: Duration::from_secs(10),
            retention_period: Duration::from_secs(3600),
            aggregation: AggregationConfig::default(),
            exporters: Vec::new(),
            system_collectors: true,
            max_series_per_metric: 2000,
            max_metrics: 1000,
            max_attributes_per_measurement: 16,
            max_store_series: 5000,
            max_points_per_series: 720,
            catalogue: Vec::new(),
            export_interval: Duration::from_secs(60),
            export_timeout: Duration::from_secs(30),
            temporality: Temporality::Cumulative,
        }
    }
}

/// Histogram buckets and summary quantiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AggregationConfig {
    /// Upper bounds of histogram buckets, strictly increasing. Default suits milliseconds:
    /// `[1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000]`.
    pub histogram_buckets: Vec<f64>,
    /// Quantiles reported for every histogram. Default `[0.5, 0.9, 0.95, 0.99]`.
    pub summary_quantiles: Vec<f64>,
}

impl Default for AggregationConfig {
    fn default() -> Self {
        Self {
            histogram_buckets: vec![
                1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
                30000.0, 60000.0,
            ],
            summary_quantiles: vec![0.5, 0.9, 0.95, 0.99],
        }
    }
}

/// A destination for metrics, in the spec's JSON shape (`{"Prometheus": {"port": 9090}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum MetricsExporter {
    /// The Prometheus text endpoint on the engine's HTTP server.
    Prometheus {
        /// TCP port. Default `9090`.
        #[serde(default = "default_prometheus_port")]
        port: u16,
        /// URL path of the endpoint. Default `/metrics`.
        #[serde(default = "default_prometheus_path")]
        path: String,
        /// gzip the response when the client accepts it. Default `false`.
        #[serde(default)]
        enable_compression: bool,
        /// Address to bind. Default `127.0.0.1` (loopback only).
        #[serde(default = "default_host")]
        host: String,
    },
    /// A readable snapshot on standard output every collection interval.
    Console {},
    /// One JSON line per collection interval at `path`, rotated by size.
    File(FileExporterConfig),
    /// OTLP (HTTP/protobuf to `.../v1/metrics`, or gRPC) every `metrics.export_interval`,
    /// from the same aggregation as everything else.
    Otlp(OtlpExporterConfig),
}

impl MetricsExporter {
    /// The Prometheus endpoint on `port` with the defaults (`/metrics`, no gzip,
    /// `127.0.0.1`): the spec's `MetricsExporter::Prometheus { port: 9090 }`.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::MetricsExporter;
    /// assert_eq!(MetricsExporter::prometheus(9090).name(), "metrics:prometheus:9090");
    /// ```
    pub fn prometheus(port: u16) -> Self {
        Self::Prometheus {
            port,
            path: default_prometheus_path(),
            enable_compression: false,
            host: default_host(),
        }
    }

    /// A readable snapshot on standard output: the spec's `MetricsExporter::Console`.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::MetricsExporter;
    /// assert_eq!(MetricsExporter::console(), MetricsExporter::Console {});
    /// ```
    pub fn console() -> Self {
        Self::Console {}
    }

    /// The name this exporter has in export status reports, e.g.
    /// `metrics:prometheus:9090` (like `traces:otlp:…` and `logs:file:…`).
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::MetricsExporter;
    /// assert_eq!(MetricsExporter::Console {}.name(), "metrics:console");
    /// ```
    pub fn name(&self) -> String {
        match self {
            Self::Prometheus { port, .. } => format!("metrics:prometheus:{port}"),
            Self::Console {} => "metrics:console".to_owned(),
            Self::File(file) => format!("metrics:file:{}", file.path),
            Self::Otlp(otlp) => format!("metrics:otlp:{}", shown_endpoint(&otlp.endpoint)),
        }
    }
}

fn default_disk_check_name() -> String {
    "disk_space".to_owned()
}

fn default_prometheus_port() -> u16 {
    9090
}
fn default_prometheus_path() -> String {
    "/metrics".to_owned()
}
fn default_host() -> String {
    "127.0.0.1".to_owned()
}
fn default_max_file_bytes() -> u64 {
    10 * 1024 * 1024
}
fn default_max_files() -> u32 {
    5
}

/// Health check settings (spec section 1, `health`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// Default `true`.
    pub enabled: bool,
    /// Time between periodic runs. Default `30s`.
    #[serde(with = "humantime_serde")]
    pub check_interval: Duration,
    /// How long a result is reused. Default `60s`.
    #[serde(with = "humantime_serde")]
    pub cache_ttl: Duration,
    /// Timeout of a check that sets none. Default `5s`.
    #[serde(with = "humantime_serde")]
    pub default_timeout: Duration,
    /// Run checks concurrently. Default `false`.
    pub parallel_checks: bool,
    /// Whether the `exporters` check (export and alert delivery results) counts in the
    /// overall status, `system_health_status` and `/health/ready`. Default `false`: a
    /// collector that is down makes telemetry late, not the app unhealthy; the check
    /// is still reported (tag `telemetry`).
    pub exporters_affect_status: bool,
    /// Built-in checks to run (the exporters check always runs). Default none.
    pub checks: Vec<HealthCheckConfig>,
}

/// A built-in health check, in the config's JSON shape (`{"DiskSpace": {"path": "/"}}`).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum HealthCheckConfig {
    /// The disk holding `path` is at most `threshold` full.
    DiskSpace {
        /// Check name (`cache` → `cache_health_status`). Default `disk_space`; name each
        /// one to watch several disks.
        #[serde(default = "default_disk_check_name")]
        name: String,
        /// A path on the disk to watch.
        path: String,
        /// Used fraction above which the check is Unhealthy (Warning above 90% of it).
        /// Default `0.9`.
        #[serde(default = "default_threshold")]
        threshold: f64,
    },
    /// System memory is at most `threshold` used.
    Memory {
        /// Used fraction above which the check is Unhealthy. Default `0.9`.
        #[serde(default = "default_threshold")]
        threshold: f64,
    },
    /// FFmpeg runs (`ffmpeg -version`).
    Ffmpeg {
        /// Binary path or name on `PATH`. Default `ffmpeg`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        binary: Option<String>,
    },
    /// An HTTP endpoint answers `GET` with the expected status.
    Http {
        /// Check name (`render_api` → `render_api_health_status`).
        name: String,
        /// URL to get.
        url: String,
        /// Status that means healthy. Default `200`.
        #[serde(default = "default_expected_status")]
        expected_status: u16,
        /// Latency above which the result is a Warning. Default `1s`.
        #[serde(default = "default_warn_latency", with = "humantime_serde")]
        warn_latency: Duration,
        /// TLS beyond the OS's trusted roots: a private CA, a client certificate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tls: Option<TlsConfig>,
    },
}

fn default_threshold() -> f64 {
    0.9
}
fn default_expected_status() -> u16 {
    200
}
fn default_warn_latency() -> Duration {
    Duration::from_secs(1)
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            check_interval: Duration::from_secs(30),
            cache_ttl: Duration::from_secs(60),
            default_timeout: Duration::from_secs(5),
            parallel_checks: false,
            exporters_affect_status: false,
            checks: Vec::new(),
        }
    }
}

/// Log settings: what `tracing` / `log` records are kept, and where they go.
///
/// # Examples
/// ```
/// use telemetry_engine::config::{LogsExporter, TelemetryConfig};
/// let cfg = TelemetryConfig::from_json(r#"{ "logs": { "level": "info,studio=debug",
///     "exporters": [ { "File": { "path": "./logs/app.ecs.json" } } ] } }"#).unwrap();
/// assert!(matches!(&cfg.logs.exporters[0], LogsExporter::File(f) if f.path.ends_with("ecs.json")));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogsConfig {
    /// Default `true`.
    pub enabled: bool,
    /// Which records are kept, as `tracing` target directives: `"info"`,
    /// `"warn,studio::render=debug"`. `RUST_LOG` overrides it. Default `"info"`.
    pub level: String,
    /// Records kept in memory for the live panel. Default `2000`.
    pub store_capacity: usize,
    /// Batching of log export (same fields as `tracing.batch_export`).
    pub batch_export: BatchExportConfig,
    /// Where records go. Default none.
    pub exporters: Vec<LogsExporter>,
    /// Record Rust panics as ERROR records and crash reports (a panic hook chained to the
    /// one installed), and report at the next launch a session that ended in a panic or
    /// without a clean exit. Turn off when another crash reporter owns the hook. Default
    /// `true`.
    pub capture_panics: bool,
}

impl Default for LogsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            level: "info".to_owned(),
            store_capacity: 2000,
            batch_export: BatchExportConfig::default(),
            exporters: Vec::new(),
            capture_panics: true,
        }
    }
}

/// A destination for log records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum LogsExporter {
    /// Any OTLP receiver (`/v1/logs` over HTTP, or gRPC).
    Otlp(OtlpExporterConfig),
    /// JSON lines in the Elastic Common Schema (`@timestamp`, `log.level`, `message`,
    /// `trace.id`, …), ready for Filebeat or Logstash, rotated by size.
    File(FileExporterConfig),
}

/// Alerting: rules evaluated on the in-app series store, and notification settings.
///
/// # Examples
/// ```
/// use telemetry_engine::config::TelemetryConfig;
/// let cfg = TelemetryConfig::from_json(r#"{ "alerts": { "evaluation_interval": "15s",
///     "rules": [ { "name": "cpu_high", "condition": "system_cpu_usage_percent > 80",
///                  "for": "5m", "severity": "Warning", "actions": [ { "InApp": {} } ] } ] } }"#)
///     .unwrap();
/// assert_eq!(cfg.alerts.rules[0].for_.as_secs(), 300);
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// Default `true`.
    pub enabled: bool,
    /// Time between evaluations of every rule. Default `15s`.
    #[serde(with = "humantime_serde")]
    pub evaluation_interval: Duration,
    /// SMTP settings for `Email` actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailConfig>,
    /// Base URL of the PagerDuty Events API. Default `https://events.pagerduty.com`.
    pub pagerduty_url: String,
    /// Retries of a failed delivery (with doubling backoff). Default `3`, at most
    /// [`AlertsConfig::MAX_RETRIES`].
    pub retries: u32,
    /// Wait before the first retry; each next wait doubles, up to
    /// [`AlertsConfig::MAX_BACKOFF`]. Default `1s`.
    #[serde(with = "humantime_serde")]
    pub retry_backoff: Duration,
    /// Longest one delivery attempt may take (HTTP and SMTP). Default `10s`, at most
    /// [`AlertsConfig::MAX_DELIVERY_TIMEOUT`].
    #[serde(with = "humantime_serde")]
    pub delivery_timeout: Duration,
    /// The rules.
    pub rules: Vec<AlertRule>,
}

impl AlertsConfig {
    /// The most retries of one delivery.
    pub const MAX_RETRIES: u32 = 10;
    /// The longest wait between two attempts of a delivery.
    pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
    /// The longest `delivery_timeout`.
    pub const MAX_DELIVERY_TIMEOUT: Duration = Duration::from_secs(300);
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            evaluation_interval: Duration::from_secs(15),
            email: None,
            pagerduty_url: "https://events.pagerduty.com".to_owned(),
            retries: 3,
            retry_backoff: Duration::from_secs(1),
            delivery_timeout: Duration::from_secs(10),
            rules: Vec::new(),
        }
    }
}

/// The SMTP server that sends alert emails.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Server host.
    pub smtp_host: String,
    /// Server port. Default `587`.
    #[serde(default = "default_smtp_port")]
    pub smtp_port: u16,
    /// Sender address (`Studio <studio@example.com>` or `studio@example.com`).
    pub from: String,
    /// Login name, if the server wants one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password (a secret: never logged or sent to the webview).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Transport security. Default `starttls`.
    #[serde(default)]
    pub security: SmtpSecurity,
    /// A PEM file with an extra root certificate to trust (a company relay's own CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
}

fn default_smtp_port() -> u16 {
    587
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine.
    None,
}

/// The file form: either the bare config or the spec's `{"telemetry": {..}}` wrapper.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrapped {
    telemetry: TelemetryConfig,
}

impl TelemetryConfig {
    /// Parses JSON (bare, or wrapped in `{"telemetry": ..}` as in the spec) and validates it.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] with the field path for malformed JSON, unknown fields, wrong
    /// types or bad durations; [`ConfigError::Invalid`] with every validation problem.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::TelemetryConfig;
    /// let err = TelemetryConfig::from_json(r#"{"metrics": {"colection_interval": "5s"}}"#)
    ///     .unwrap_err();
    /// assert!(err.to_string().starts_with("metrics.colection_interval: unknown field"));
    /// ```
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| ConfigError::Parse {
                path: String::new(),
                message: e.to_string(),
            })?;
        let wrapped = matches!(&value, serde_json::Value::Object(m) if m.contains_key("telemetry"));
        let config = if wrapped {
            deserialize_at::<Wrapped>(value)?.telemetry
        } else {
            deserialize_at::<TelemetryConfig>(value)?
        };
        config.check_fields()?;
        Ok(config)
    }

    /// Reads and parses a JSON file; see [`TelemetryConfig::from_json`].
    ///
    /// # Errors
    /// [`ConfigError::Read`] when the file cannot be read, else as `from_json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// The configuration for this process: the file named by `TELEMETRY_CONFIG` (or the
    /// defaults), then the environment on top
    /// ([`TelemetryConfig::apply_env_overrides`]; what it cannot use is kept in
    /// `warnings`), then validation.
    ///
    /// # Errors
    /// As [`TelemetryConfig::from_file`]; a bad variable is a warning, not an error.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`TelemetryConfig::from_env`] with a custom variable lookup (for tests and for apps
    /// that keep settings elsewhere).
    ///
    /// # Errors
    /// As [`TelemetryConfig::from_env`].
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::{MetricsExporter, TelemetryConfig};
    /// let cfg = TelemetryConfig::from_env_with(|v| (v == "PROMETHEUS_PORT").then(|| "9464".into()))
    ///     .unwrap();
    /// assert!(matches!(cfg.metrics.exporters[0], MetricsExporter::Prometheus { port: 9464, .. }));
    /// ```
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = match lookup("TELEMETRY_CONFIG") {
            Some(path) if !path.is_empty() => Self::from_file(path)?,
            _ => Self::default(),
        };
        config.warnings = config.apply_env_overrides(lookup);
        config.check_fields()?;
        Ok(config)
    }

    /// The configuration as JSON with every secret replaced by `"<redacted>"`: OTLP header
    /// values, the SMTP password, PagerDuty routing keys, webhook URLs and the HTTP token. This is what
    /// may be shown in the webview or written to a log.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::TelemetryConfig;
    /// let cfg = TelemetryConfig::from_json(r#"{ "alerts": { "rules": [ { "name": "r",
    ///     "condition": "x > 1", "severity": "Info",
    ///     "actions": [ { "Webhook": { "url": "https://hooks.slack.com/services/T/B/SECRET" } } ] } ] } }"#)
    ///     .unwrap();
    /// let shown = cfg.redacted().to_string();
    /// assert!(!shown.contains("SECRET") && shown.contains("<redacted>"));
    /// ```
    pub fn redacted(&self) -> serde_json::Value {
        secrets::redacted(self)
    }

    /// One of the spec's ready profiles.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::{Profile, TelemetryConfig};
    /// assert_eq!(TelemetryConfig::profile(Profile::Production).tracing.sample_rate, 0.01);
    /// ```
    pub fn profile(profile: Profile) -> Self {
        profile.config()
    }
}

fn deserialize_at<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        ConfigError::Parse {
            path,
            message: e.into_inner().to_string(),
        }
    })
}

#[cfg(test)]
mod tests;
