//! The studio's command line and its telemetry configuration.

use std::time::Duration;

use tauri_plugin_opentelemetry::engine::alerts::{AlertAction, AlertRule, AlertSeverity};
use tauri_plugin_opentelemetry::engine::config::{
    HealthCheckConfig, MetricDescription, MetricsExporter, Panel, PanelKind,
};
use tauri_plugin_opentelemetry::TelemetryConfig;

use crate::encoders::EncoderSchedule;
use crate::workload::Incidents;

const USAGE: &str = "usage: studio [--headless] [--duration SECONDS] [--incident-every SECONDS] \
                     [--series N] [--series-every SECONDS] [--retention SECONDS] \
                     [--encode-every SECONDS] [--encode-rounds N] \
                     [--panic-in-worker-after SECONDS] [--abort-after SECONDS] \
                     [--segfault-after SECONDS]";

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
    /// When encoder child processes start.
    pub(crate) encoders: EncoderSchedule,
    /// Panics on a worker thread after this long (the app goes on).
    pub(crate) panic_in_worker_after: Option<Duration>,
    /// Panics and aborts the process after this long (a crash).
    pub(crate) abort_after: Option<Duration>,
    /// Dies of SIGSEGV after this long (a native crash; Unix).
    pub(crate) segfault_after: Option<Duration>,
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
            encoders: EncoderSchedule {
                every: Duration::from_secs(10),
                rounds: None,
            },
            panic_in_worker_after: None,
            abort_after: None,
            segfault_after: None,
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
                "--encode-every" => args.encoders.every = seconds("--encode-every", it.next())?,
                "--encode-rounds" => {
                    let value = it.next().unwrap_or_default();
                    args.encoders.rounds = Some(value.parse().map_err(|_| {
                        format!("--encode-rounds takes a number of rounds, not {value:?}; {USAGE}")
                    })?);
                }
                "--panic-in-worker-after" => {
                    args.panic_in_worker_after =
                        Some(seconds("--panic-in-worker-after", it.next())?);
                }
                "--abort-after" => args.abort_after = Some(seconds("--abort-after", it.next())?),
                "--segfault-after" => {
                    args.segfault_after = Some(seconds("--segfault-after", it.next())?);
                }
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
        // A video editor's disks: where it writes renders, where it caches frames.
        HealthCheckConfig::DiskSpace {
            name: "export_disk".into(),
            path: std::env::current_dir()
                .unwrap_or_else(|_| std::env::temp_dir())
                .display()
                .to_string(),
            threshold: 0.95,
        },
        HealthCheckConfig::DiskSpace {
            name: "cache_disk".into(),
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

/// One of the studio's metrics: how it describes it to the engine and the chart it asks
/// for on the dashboard (units come from the description).
struct Described {
    name: &'static str,
    help: &'static str,
    unit: &'static str,
    section: &'static str,
    title: &'static str,
    kind: PanelKind,
}

const fn metric(
    name: &'static str,
    help: &'static str,
    unit: &'static str,
    chart: (&'static str, &'static str, PanelKind),
) -> Described {
    Described {
        name,
        help,
        unit,
        section: chart.0,
        title: chart.1,
        kind: chart.2,
    }
}

const VIDEO: &str = "Video and frames";
const API: &str = "API";
const CACHE: &str = "Cache";
const WORKERS: &str = "Workers and tasks";

/// The studio's metrics, in the order of their charts.
#[rustfmt::skip]
const METRICS: &[Described] = &[
    metric("video_processing_duration_ms", "Time to process one video", "ms", (VIDEO, "Video processing time", PanelKind::Quantiles)),
    metric("frame_processing_duration_ms", "Time to process one frame", "ms", (VIDEO, "Frame processing time", PanelKind::Quantiles)),
    metric("frames_processed_total", "Frames processed", "frames", (VIDEO, "Frames processed", PanelKind::Rate)),
    metric("videos_processed_total", "Videos processed, by codec", "videos", (VIDEO, "Videos processed by codec", PanelKind::Rate)),
    metric("encoding_speed_fps", "Current encoding speed", "fps", (VIDEO, "Encoding speed", PanelKind::Value)),
    metric("api_requests_total", "API requests handled", "requests", (API, "Requests", PanelKind::Rate)),
    metric("api_request_duration_ms", "Time to handle one API request", "ms", (API, "Request duration", PanelKind::Quantiles)),
    metric("api_errors_total", "API requests that failed", "requests", (API, "Errors by endpoint", PanelKind::Rate)),
    metric("cache_hits_total", "Cache lookups that found their entry", "lookups", (CACHE, "Hit ratio", PanelKind::Ratio)),
    metric("cache_misses_total", "Cache lookups that missed", "lookups", ("", "", PanelKind::Ratio)),
    metric("cache_size_bytes", "Current size of the cache", "bytes", (CACHE, "Size", PanelKind::Value)),
    metric("cache_evictions_total", "Entries evicted from the cache", "entries", (CACHE, "Evictions", PanelKind::Rate)),
    metric("worker_pool_utilization", "Busy share of the worker pool, from 0 to 1", "ratio", (WORKERS, "Worker pool utilization", PanelKind::Value)),
    metric("tasks_executed_total", "Tasks executed by the worker pool", "tasks", (WORKERS, "Tasks executed", PanelKind::Rate)),
    metric("tasks_failed_total", "Tasks that failed", "tasks", (WORKERS, "Tasks failed", PanelKind::Rate)),
    metric("queue_size", "Segments waiting in the render queue", "count", (WORKERS, "Queue size", PanelKind::Value)),
];

fn catalogue() -> Vec<MetricDescription> {
    METRICS
        .iter()
        .map(|m| MetricDescription {
            name: m.name.into(),
            help: m.help.into(),
            unit: Some(m.unit.into()),
        })
        .collect()
}

/// A chart per metric with a section (the misses are drawn in the hit ratio).
fn panels() -> Vec<Panel> {
    METRICS
        .iter()
        .filter(|m| !m.section.is_empty())
        .map(|m| Panel {
            section: m.section.into(),
            title: m.title.into(),
            kind: m.kind,
            metric: m.name.into(),
            labels: Default::default(),
            unit: None,
            complement: (m.kind == PanelKind::Ratio).then(|| "cache_misses_total".into()),
        })
        .collect()
}
