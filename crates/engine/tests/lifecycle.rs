//! Lifecycle and export status against real sockets and files.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read;
use std::net::TcpListener;

use common::*;
use telemetry_engine::config::{MetricsExporter, TelemetryConfig};
use telemetry_engine::export::ExportStatus;
use telemetry_engine::TelemetryManager;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_only_when_enabled_and_accepted() {
    let telemetry = start(config_with_prometheus(true)).await;
    telemetry
        .metrics()
        .increment_counter("frames_processed_total", 5)
        .await
        .unwrap();
    let url = format!("http://{}/metrics", telemetry.prometheus_addrs().await[0]);

    let (status, headers, body) = get(&url, true).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-encoding"], "gzip");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.contains("\nframes_processed_total 5\n"), "{text}");

    let (_, headers, body) = get(&url, false).await;
    assert!(headers.get("content-encoding").is_none());
    assert!(String::from_utf8(body)
        .unwrap()
        .contains("\nframes_processed_total 5\n"));
    telemetry.shutdown().await;

    let plain = start(config_with_prometheus(false)).await;
    let url = format!("http://{}/metrics", plain.prometheus_addrs().await[0]);
    let (_, headers, _) = get(&url, true).await;
    assert!(
        headers.get("content-encoding").is_none(),
        "compression is off in this config"
    );
    plain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_fails_that_exporter_and_the_rest_runs() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics.json");
    let mut config = TelemetryConfig::default();
    config.metrics.exporters = vec![
        MetricsExporter::Prometheus {
            port,
            path: "/metrics".into(),
            enable_compression: false,
            host: "127.0.0.1".into(),
        },
        file_exporter(&file),
    ];
    let telemetry = start(config).await;
    telemetry
        .metrics()
        .increment_counter("videos_processed_total", 1)
        .await
        .unwrap();
    telemetry.collect_now().await;

    let status = telemetry.get_export_status().await;
    let e = failure_of(&status, &format!("metrics:prometheus:{port}"));
    assert!(
        e.starts_with(&format!("cannot listen on 127.0.0.1:{port}: ")),
        "{e}"
    );
    assert_eq!(
        status[&format!("metrics:file:{}", file.display())],
        ExportStatus::Healthy
    );
    assert_eq!(telemetry.store().latest("videos_processed_total")[0].1, 1.0);
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_exporter_writes_json_lines_and_flushes_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("logs/metrics.json");
    // A path below a regular file cannot be created, even by root.
    std::fs::write(dir.path().join("not-a-dir"), b"x").unwrap();
    let bad = dir.path().join("not-a-dir/metrics.json");
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    config.metrics.exporters = vec![file_exporter(&good), file_exporter(&bad)];
    let telemetry = start(config).await;
    telemetry
        .metrics()
        .increment_counter("tasks_executed_total", 2)
        .await
        .unwrap();
    telemetry.collect_now().await;
    let status = telemetry.get_export_status().await;
    assert_eq!(
        status[&format!("metrics:file:{}", good.display())],
        ExportStatus::Healthy
    );
    let e = failure_of(&status, &format!("metrics:file:{}", bad.display()));
    assert!(
        e.starts_with(&format!("cannot write {}: ", bad.display())),
        "{e}"
    );

    // Recorded just before shutdown: must reach the file through the final collection.
    telemetry
        .metrics()
        .increment_counter("tasks_executed_total", 40)
        .await
        .unwrap();
    telemetry.shutdown().await;
    telemetry.shutdown().await; // idempotent

    let text = std::fs::read_to_string(&good).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let metric = last["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "tasks_executed_total")
        .unwrap();
    assert_eq!(metric["kind"], "counter");
    assert_eq!(metric["series"][0]["value"], 42.0);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["timestamp_ms"].as_i64().unwrap() > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_telemetry_binds_nothing_and_keeps_nothing() {
    let mut config = config_with_prometheus(false);
    config.enabled = false;
    let port = match &config.metrics.exporters[0] {
        MetricsExporter::Prometheus { port, .. } => *port,
        _ => unreachable!(),
    };
    let telemetry = start(config).await;
    telemetry
        .metrics()
        .increment_counter("frames_processed_total", 1)
        .await
        .unwrap();
    telemetry.collect_now().await;
    assert!(telemetry.prometheus_addrs().await.is_empty());
    assert!(
        TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "nothing listens on the port"
    );
    assert!(!telemetry
        .render_prometheus()
        .unwrap()
        .contains("frames_processed_total"));
    assert!(telemetry.get_export_status().await.is_empty());
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_config_is_refused_with_every_problem() {
    let mut config = TelemetryConfig::default();
    config.tracing.sample_rate = f64::NAN;
    config.metrics.exporters.push(MetricsExporter::Prometheus {
        port: 0,
        path: "/metrics".into(),
        enable_compression: false,
        host: "127.0.0.1".into(),
    });
    let err = TelemetryManager::new(config)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("tracing.sample_rate: NaN is outside 0.0..=1.0"),
        "{err}"
    );
    assert!(
        err.contains("metrics.exporters[0].Prometheus.port: port 0 is not allowed"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cardinality_is_capped_with_an_overflow_series_and_no_loss() {
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    config.metrics.max_series_per_metric = 5;
    let telemetry = start(config).await;
    for user in 0..50 {
        telemetry
            .metrics()
            .increment_counter_with_attributes(
                "api_requests_total",
                2,
                [("user", user.to_string())],
            )
            .await
            .unwrap();
    }
    let text = telemetry.render_prometheus().unwrap();
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("api_requests_total{"))
        .collect();
    // Five attribute sets are kept; the other 45 share the overflow series.
    assert_eq!(series.len(), 6, "{series:?}");
    assert!(
        series
            .iter()
            .any(|l| l.contains("otel_metric_overflow=\"true\"")),
        "{series:?}"
    );
    let total: f64 = series
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(
        total, 100.0,
        "every increment is counted, in its series or the overflow one"
    );
    telemetry.shutdown().await;
}
