//! The studio's command line and its telemetry configuration.

use std::time::Duration;

use tauri_plugin_opentelemetry::engine::alerts::{AlertAction, AlertRule, AlertSeverity};
use tauri_plugin_opentelemetry::engine::config::{
    HealthCheckConfig, MetricDescription, MetricsExporter, Panel, PanelKind,
};
use tauri_plugin_opentelemetry::TelemetryConfig;

use crate::workload::Incidents;

const USAGE: &str = "usage: studio [--headless] [--duration SECONDS] [--incident-every SECONDS] \
                     [--series N] [--series-every SECONDS] [--retention SECONDS]";

/// The command line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Args {
    /// Run without a window even when a display is there.
    pub(crate) headless: bool,
    /// Stop after this long (default: run until Ctrl-C or the window closes).
    pub(crate) duration: Option<Duration>,
    /// When incidents happen.
    pub(crate) incidents: Incidents,
    /// Extra series rewritten continuously (`load.rs`), for load and soak runs.
    pub(crate) series: usize,
    /// Pause between two rewrites of all extra series (default none: flat out).
    pub(crate) series_every: Option<Duration>,
    /// How long the in-app store keeps points (default the config's, 1 h); a soak run
    /// sets it short so that the store is full early.
    pub(crate) retention: Option<Duration>,
}

/// A positive number of seconds.
fn seconds(flag: &str, value: Option<String>) -> Result<Duration, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a number of seconds; {USAGE}"))?;
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{flag} takes a positive number of seconds, not {value:?}"))
}

impl Args {
    /// Parses the process arguments.
    pub(crate) fn from_env() -> Result<Self, String> {
        let mut args = Self {
            headless: false,
            duration: None,
            incidents: Incidents {
                period: Duration::from_secs(90),
            },
            series: 0,
            series_every: None,
            retention: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--headless" => args.headless = true,
                "--duration" => args.duration = Some(seconds("--duration", it.next())?),
                "--incident-every" => {
                    let period = seconds("--incident-every", it.next())?;
                    args.incidents = Incidents { period };
                }
                "--series" => {
                    let value = it.next().unwrap_or_default();
                    args.series = value.parse().map_err(|_| {
                        format!("--series takes a number of series, not {value:?}; {USAGE}")
                    })?;
                }
                "--series-every" => {
                    args.series_every = Some(seconds("--series-every", it.next())?);
                }
                "--retention" => args.retention = Some(seconds("--retention", it.next())?),
                other => return Err(format!("unknown argument {other:?}; {USAGE}")),
            }
        }
        Ok(args)
    }
}

/// The configuration: `TELEMETRY_CONFIG` and the environment when a file is given, else
/// the studio's defaults (with the environment's overrides on top).
pub(crate) fn telemetry(args: &Args) -> Result<TelemetryConfig, String> {
    let from_file = std::env::var_os("TELEMETRY_CONFIG").is_some();
    let mut config = TelemetryConfig::from_env().map_err(|e| e.to_string())?;
    if from_file {
        return Ok(config);
    }
    config.service_name =
        std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "timeline-studio".into());
    config.service_version = env!("CARGO_PKG_VERSION").into();
    config.metrics.collection_interval = Duration::from_secs(1);
    if config.metrics.exporters.is_empty() {
        config.metrics.exporters.push(MetricsExporter::Prometheus {
            port: 9090,
            path: "/metrics".into(),
            enable_compression: true,
            host: "127.0.0.1".into(),
        });
    }
    config.metrics.catalogue = catalogue();
    config.panels = panels();
    config.health.parallel_checks = true;
    config.health.check_interval = Duration::from_secs(5);
    config.health.checks = vec![
        HealthCheckConfig::DiskSpace {
            path: std::env::temp_dir().display().to_string(),
            threshold: 0.95,
        },
        HealthCheckConfig::Memory { threshold: 0.95 },
        HealthCheckConfig::Ffmpeg { binary: None },
    ];
    config.alerts.evaluation_interval = Duration::from_secs(2);
    config.alerts.rules = vec![
        AlertRule {
            name: "slow_video_processing".into(),
            condition: "rate(video_processing_duration_ms_sum[1m]) \
                        / rate(video_processing_duration_ms_count[1m]) > 30000"
                .into(),
            for_: Duration::from_secs(10),
            severity: AlertSeverity::Warning,
            description: "Video processing averages {{ $value }} ms".into(),
            actions: vec![AlertAction::InApp {}, AlertAction::Log {}],
            ..AlertRule::default()
        },
        AlertRule {
            name: "high_error_rate".into(),
            condition: "sum by (endpoint) (rate(api_errors_total[30s])) \
                        / sum by (endpoint) (rate(api_requests_total[30s])) > 0.05"
                .into(),
            for_: Duration::from_secs(4),
            severity: AlertSeverity::Critical,
            description: "API error ratio on {{ $labels.endpoint }}: {{ $value }}".into(),
            cooldown: Duration::from_secs(60),
            actions: vec![AlertAction::InApp {}, AlertAction::Log {}],
            ..AlertRule::default()
        },
        AlertRule {
            name: "render_queue_backlog".into(),
            condition: "queue_size > 100".into(),
            for_: Duration::from_secs(2),
            severity: AlertSeverity::Warning,
            description: "{{ $value }} segments waiting to render".into(),
            actions: vec![AlertAction::InApp {}, AlertAction::Log {}],
            ..AlertRule::default()
        },
    ];
    if let Some(retention) = args.retention {
        config.metrics.retention_period = retention;
    }
    // Room in the in-app store for the load's series beside the studio's own.
    config.metrics.max_store_series = config.metrics.max_store_series.max(args.series + 5000);
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

/// The studio's metrics as it describes them to the engine: `(name, help, unit)`.
const CATALOGUE: &[(&str, &str, &str)] = &[
    (
        "video_processing_duration_ms",
        "Time to process one video",
        "ms",
    ),
    (
        "frame_processing_duration_ms",
        "Time to process one frame",
        "ms",
    ),
    ("frames_processed_total", "Frames processed", "frames"),
    (
        "videos_processed_total",
        "Videos processed, by codec",
        "videos",
    ),
    ("encoding_speed_fps", "Current encoding speed", "fps"),
    ("api_requests_total", "API requests handled", "requests"),
    (
        "api_request_duration_ms",
        "Time to handle one API request",
        "ms",
    ),
    ("api_errors_total", "API requests that failed", "requests"),
    (
        "cache_hits_total",
        "Cache lookups that found their entry",
        "lookups",
    ),
    ("cache_misses_total", "Cache lookups that missed", "lookups"),
    (
        "cache_evictions_total",
        "Entries evicted from the cache",
        "entries",
    ),
    ("cache_size_bytes", "Current size of the cache", "bytes"),
    (
        "worker_pool_utilization",
        "Busy share of the worker pool, from 0 to 1",
        "ratio",
    ),
    (
        "tasks_executed_total",
        "Tasks executed by the worker pool",
        "tasks",
    ),
    ("tasks_failed_total", "Tasks that failed", "tasks"),
    (
        "queue_size",
        "Segments waiting in the render queue",
        "count",
    ),
];

fn catalogue() -> Vec<MetricDescription> {
    CATALOGUE
        .iter()
        .map(|(name, help, unit)| MetricDescription {
            name: (*name).into(),
            help: (*help).into(),
            unit: Some((*unit).into()),
        })
        .collect()
}

/// The studio's charts: `(section, title, kind, metric)`; units come from the catalogue.
const PANELS: &[(&str, &str, PanelKind, &str)] = &[
    (
        "Video and frames",
        "Video processing time",
        PanelKind::Quantiles,
        "video_processing_duration_ms",
    ),
    (
        "Video and frames",
        "Frame processing time",
        PanelKind::Quantiles,
        "frame_processing_duration_ms",
    ),
    (
        "Video and frames",
        "Frames processed",
        PanelKind::Rate,
        "frames_processed_total",
    ),
    (
        "Video and frames",
        "Videos processed by codec",
        PanelKind::Rate,
        "videos_processed_total",
    ),
    (
        "Video and frames",
        "Encoding speed",
        PanelKind::Value,
        "encoding_speed_fps",
    ),
    ("API", "Requests", PanelKind::Rate, "api_requests_total"),
    (
        "API",
        "Request duration",
        PanelKind::Quantiles,
        "api_request_duration_ms",
    ),
    (
        "API",
        "Errors by endpoint",
        PanelKind::Rate,
        "api_errors_total",
    ),
    ("Cache", "Hit ratio", PanelKind::Ratio, "cache_hits_total"),
    ("Cache", "Size", PanelKind::Value, "cache_size_bytes"),
    (
        "Cache",
        "Evictions",
        PanelKind::Rate,
        "cache_evictions_total",
    ),
    (
        "Workers and tasks",
        "Worker pool utilization",
        PanelKind::Value,
        "worker_pool_utilization",
    ),
    (
        "Workers and tasks",
        "Tasks executed",
        PanelKind::Rate,
        "tasks_executed_total",
    ),
    (
        "Workers and tasks",
        "Tasks failed",
        PanelKind::Rate,
        "tasks_failed_total",
    ),
    (
        "Workers and tasks",
        "Queue size",
        PanelKind::Value,
        "queue_size",
    ),
];

fn panels() -> Vec<Panel> {
    PANELS
        .iter()
        .map(|(section, title, kind, metric)| Panel {
            section: (*section).into(),
            title: (*title).into(),
            kind: *kind,
            metric: (*metric).into(),
            labels: Default::default(),
            unit: None,
            complement: (*kind == PanelKind::Ratio).then(|| "cache_misses_total".into()),
        })
        .collect()
}
