//! The studio's telemetry without a window: the engine plus a simulated render workload
//! that records every application metric of the spec, so `curl
//! http://127.0.0.1:9090/metrics` shows live data.
//!
//! ```text
//! cargo run --example studio-headless [-- --duration 60]
//! ```
//! Configuration: `TELEMETRY_CONFIG` (a JSON file), `TELEMETRY_ENABLED`,
//! `PROMETHEUS_PORT`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, and for traces
//! `OTEL_TRACES_EXPORTER=otlp` with `OTEL_EXPORTER_OTLP_ENDPOINT` and friends. With no file, the
//! Prometheus endpoint listens on 127.0.0.1:9090 and collection runs every 5 s.

use std::process::ExitCode;
use std::time::Duration;

use tauri_plugin_opentelemetry::engine::alerts::{AlertAction, AlertRule, AlertSeverity};
use tauri_plugin_opentelemetry::engine::config::{
    HealthCheckConfig, MetricsExporter, TelemetryConfig,
};
use tauri_plugin_opentelemetry::engine::metrics::Metrics;
use tauri_plugin_opentelemetry::engine::tracing::Tracer;
use tauri_plugin_opentelemetry::engine::{KeyValue, TelemetryManager};

/// xorshift64*: enough randomness for a simulated workload, no dependency.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly log-normal around `median`, with a long right tail.
    fn around(&mut self, median: f64) -> f64 {
        let z: f64 = (0..4).map(|_| self.next_f64()).sum::<f64>() - 2.0;
        median * (z * 0.6).exp()
    }

    fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }
}

fn config() -> Result<TelemetryConfig, String> {
    let from_file = std::env::var_os("TELEMETRY_CONFIG").is_some();
    let mut config = TelemetryConfig::from_env().map_err(|e| e.to_string())?;
    if !from_file {
        config.service_name =
            std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "timeline-studio".into());
        config.service_version = env!("CARGO_PKG_VERSION").into();
        config.metrics.collection_interval = Duration::from_secs(5);
        if config.metrics.exporters.is_empty() {
            config.metrics.exporters.push(MetricsExporter::Prometheus {
                port: 9090,
                path: "/metrics".into(),
                enable_compression: true,
                host: "127.0.0.1".into(),
            });
        }
        config.health.parallel_checks = true;
        config.health.checks = vec![
            HealthCheckConfig::DiskSpace {
                path: std::env::temp_dir().display().to_string(),
                threshold: 0.95,
            },
            HealthCheckConfig::Memory { threshold: 0.95 },
            HealthCheckConfig::Ffmpeg { binary: None },
        ];
        config.alerts.evaluation_interval = Duration::from_secs(5);
        config.alerts.rules = vec![
            AlertRule {
                name: "slow_video_processing".into(),
                condition: "video_processing_duration_ms_avg > 30000".into(),
                for_: Duration::from_secs(10),
                severity: AlertSeverity::Warning,
                description: "Video processing averages {{ $value }} ms".into(),
                actions: vec![AlertAction::InApp {}, AlertAction::Log {}],
                ..AlertRule::default()
            },
            AlertRule {
                name: "high_error_rate".into(),
                condition: "sum by (endpoint) (rate(api_errors_total[1m])) \
                            / sum by (endpoint) (rate(api_requests_total[1m])) > 0.02"
                    .into(),
                severity: AlertSeverity::Critical,
                description: "API error ratio {{ $value }}".into(),
                cooldown: Duration::from_secs(60),
                actions: vec![AlertAction::InApp {}, AlertAction::Log {}],
                ..AlertRule::default()
            },
        ];
        config.validate().map_err(|e| e.to_string())?;
    }
    Ok(config)
}

fn duration_arg() -> Result<Option<Duration>, String> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (None, _) => Ok(None),
        (Some("--duration"), Some(secs)) => secs
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| Some(Duration::from_secs_f64(s)))
            .ok_or_else(|| format!("--duration takes a positive number of seconds, not {secs:?}")),
        (Some(other), _) => Err(format!(
            "unknown argument {other:?}; usage: studio-headless [--duration SECONDS]"
        )),
    }
}

/// One simulated frame, API call, cache access and task, recorded through the spec's API.
async fn workload_step(
    m: &Metrics,
    rng: &mut Rng,
    frame: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    // Rendering: ~16 ms frames, 2% slow frames.
    let frame_ms = if rng.chance(0.02) {
        rng.around(180.0)
    } else {
        rng.around(16.0)
    };
    m.record_histogram("frame_processing_duration_ms", frame_ms)
        .await?;
    m.increment_counter("frames_processed_total", 1).await?;
    m.set_gauge("encoding_speed_fps", 1000.0 / frame_ms.max(1.0))
        .await?;
    if frame % 120 == 0 {
        let codec = if rng.chance(0.7) { "h264" } else { "prores" };
        m.record_histogram("video_processing_duration_ms", rng.around(4000.0))
            .await?;
        m.increment_counter_with_attributes("videos_processed_total", 1, [("codec", codec)])
            .await?;
    }
    // API: the studio's local render API.
    let endpoint =
        ["/render", "/preview", "/export", "/projects"][(rng.next_f64() * 4.0) as usize % 4];
    let method = if endpoint == "/projects" {
        "GET"
    } else {
        "POST"
    };
    let failed = rng.chance(0.04);
    let status = if failed { "error" } else { "success" };
    m.increment_counter_with_attributes(
        "api_requests_total",
        1,
        [
            ("method", method),
            ("endpoint", endpoint),
            ("status", status),
        ],
    )
    .await?;
    m.record(
        "api_request_duration_ms",
        rng.around(35.0),
        &[KeyValue::new("endpoint", endpoint)],
    )?;
    if failed {
        m.increment_counter_with_attributes("api_errors_total", 1, [("endpoint", endpoint)])
            .await?;
    }
    // Cache of decoded frames.
    if rng.chance(0.85) {
        m.increment_counter("cache_hits_total", 1).await?;
    } else {
        m.increment_counter("cache_misses_total", 1).await?;
        if rng.chance(0.3) {
            m.increment_counter("cache_evictions_total", 1).await?;
        }
    }
    m.set_gauge("cache_size_bytes", 256e6 + rng.next_f64() * 64e6)
        .await?;
    // Worker pool.
    m.set_gauge(
        "worker_pool_utilization",
        (0.4 + rng.next_f64() * 0.5).min(1.0),
    )
    .await?;
    m.increment_counter("tasks_executed_total", 1).await?;
    if rng.chance(0.01) {
        m.increment_counter("tasks_failed_total", 1).await?;
    }
    m.set_gauge("queue_size", (rng.next_f64() * 20.0).floor())
        .await?;
    Ok(())
}

/// A traced render of one segment: pipeline span, decode and encode children, 3% failures.
async fn traced_segment(tracer: &Tracer, segment: u64, fail: bool) {
    let inner = tracer.clone();
    let _ = tracer
        .trace_async("video_render_pipeline", |span| async move {
            span.set_attribute("segment", segment as i64);
            span.add_event("preparation_started");
            inner
                .trace_async("decode", |s| async move {
                    s.set_attribute("codec", "prores");
                    Ok::<_, String>(())
                })
                .await?;
            inner
                .trace_async("encode", |s| async move {
                    s.set_attribute("codec", "h264");
                    let bytes = mux(segment);
                    if fail {
                        tracing::error!(segment, "encoder ran out of memory");
                        Err("encoder ran out of memory".to_string())
                    } else {
                        tracing::info!(segment, bytes, "segment encoded");
                        Ok(())
                    }
                })
                .await
        })
        .await;
}

/// Code instrumented the `tracing` way: its span joins the current trace as a child.
#[tracing::instrument]
fn mux(segment: u64) -> u64 {
    tracing::debug!("writing container");
    segment * 1_048_576
}

#[tokio::main]
async fn main() -> ExitCode {
    let (config, duration) = match (config(), duration_arg()) {
        (Ok(c), Ok(d)) => (c, d),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("studio-headless: {e}");
            return ExitCode::from(2);
        }
    };
    let telemetry = match TelemetryManager::new(config).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("studio-headless: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = telemetry.install_tracing_subscriber() {
        eprintln!("studio-headless: {e}");
    }
    if let Err(e) = telemetry.initialize().await {
        eprintln!("studio-headless: {e}");
        return ExitCode::FAILURE;
    }
    for addr in telemetry.prometheus_addrs().await {
        println!("metrics: http://{addr}/metrics");
        println!("health: http://{addr}/health");
    }
    for (exporter, status) in telemetry.get_export_status().await {
        println!("exporter {exporter}: {status:?}");
    }
    println!("studio-headless running; Ctrl-C to stop");

    let metrics = telemetry.metrics().clone();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id()));
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    let deadline = duration.map(|d| tokio::time::Instant::now() + d);
    let mut frame = 0u64;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                frame += 1;
                if let Err(e) = workload_step(&metrics, &mut rng, frame).await {
                    eprintln!("studio-headless: workload: {e}");
                }
                if frame % 30 == 0 {
                    let fail = rng.chance(0.03);
                    traced_segment(telemetry.tracer(), frame / 30, fail).await;
                }
                if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                    break;
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    telemetry.shutdown().await;
    for (exporter, status) in telemetry.get_export_status().await {
        println!("exporter {exporter}: {status:?}");
    }
    ExitCode::SUCCESS
}
