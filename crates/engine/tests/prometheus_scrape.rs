//! A real Prometheus server scrapes the engine's endpoint; promtool lints the exposition.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use telemetry_engine::{KeyValue, TelemetryManager};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_system_and_studio_metrics() {
    let config = config_with_prometheus(false);
    let telemetry = TelemetryManager::new(config).await.unwrap();
    telemetry.initialize().await.unwrap();
    let addr = telemetry.prometheus_addrs().await[0];
    let m = telemetry.metrics();

    // A known workload: exact counts and a known median.
    let frames = 1234u64;
    for i in 0..frames {
        m.record_histogram("frame_processing_duration_ms", (i % 100) as f64 + 1.0)
            .await
            .unwrap();
        m.increment_counter("frames_processed_total", 1)
            .await
            .unwrap();
    }
    m.increment_counter_with_attributes(
        "api_requests_total",
        7,
        [("method", "POST"), ("endpoint", "/render")],
    )
    .await
    .unwrap();
    m.set_gauge("queue_size", 12.0).await.unwrap();
    m.counter("api_errors_total")
        .unwrap()
        .add(2, &[KeyValue::new("endpoint", "/render")])
        .unwrap();
    telemetry.collect_now().await;

    let dir = tempfile::tempdir().unwrap();
    let (_prom, base) = start_prometheus(dir.path(), &addr.to_string(), "/metrics");
    eventually(
        "prometheus to report up == 1",
        Duration::from_secs(60),
        || {
            let base = base.clone();
            async move {
                let r = prom_query(&base, "up{job=\"studio\"}").await?;
                (r.first()?.1 == 1.0).then_some(())
            }
        },
    )
    .await;

    let value = |q: &'static str| {
        let base = base.clone();
        async move {
            eventually(q, Duration::from_secs(30), || {
                let base = base.clone();
                async move { prom_query(&base, q).await.filter(|r| !r.is_empty()) }
            })
            .await
        }
    };
    assert_eq!(value("frames_processed_total").await[0].1, frames as f64);
    assert_eq!(
        value("frame_processing_duration_ms_count").await[0].1,
        frames as f64
    );
    let sum: f64 = (0..frames).map(|i| (i % 100) as f64 + 1.0).sum();
    assert_eq!(value("frame_processing_duration_ms_sum").await[0].1, sum);
    let api = value("api_requests_total").await;
    assert_eq!(api[0].1, 7.0);
    assert_eq!(api[0].0["endpoint"], "/render");
    assert_eq!(api[0].0["method"], "POST");
    assert_eq!(value("api_errors_total").await[0].1, 2.0);
    assert_eq!(value("queue_size").await[0].1, 12.0);
    // The sketch's median is within 1% of the exact one.
    let mut recorded: Vec<f64> = (0..frames).map(|i| (i % 100) as f64 + 1.0).collect();
    recorded.sort_by(f64::total_cmp);
    let exact = recorded[(0.5 * (frames - 1) as f64).round() as usize];
    let p50 = value("frame_processing_duration_ms_p50").await[0].1;
    assert!(
        (p50 - exact).abs() / exact <= 0.01,
        "p50 = {p50}, exact {exact}"
    );

    // System collectors: sane values from the real machine.
    let cpu = value("system_cpu_usage_percent").await[0].1;
    assert!((0.0..=100.0).contains(&cpu), "cpu {cpu}");
    let used = value("system_memory_usage_bytes").await[0].1;
    let available = value("system_memory_available_bytes").await[0].1;
    assert!(
        used > 1e6 && available > 1e6,
        "memory used {used} available {available}"
    );
    let disk_free = value("system_disk_available_bytes").await;
    assert!(disk_free.iter().all(|(_, v)| *v >= 0.0) && disk_free.iter().any(|(_, v)| *v > 0.0));
    assert!(!value("system_disk_usage_bytes").await.is_empty());
    assert!(value("system_network_bytes_received_total").await[0].1 >= 0.0);
    assert!(value("system_network_bytes_sent_total").await[0].1 >= 0.0);
    assert!(value("process_resident_memory_bytes").await[0].1 > 1e6);
    let target = value("target_info").await;
    assert_eq!(target[0].0["service_name"], "studio-test");

    // The scrape shows in the export status.
    let status = telemetry.get_export_status().await;
    assert_eq!(
        status[&format!("metrics:prometheus:{}", addr.port())],
        telemetry_engine::export::ExportStatus::Healthy
    );
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_finds_only_the_spec_abbreviated_unit_names() {
    let telemetry = TelemetryManager::new(config_with_prometheus(false))
        .await
        .unwrap();
    telemetry.initialize().await.unwrap();
    let m = telemetry.metrics();
    for name in [
        "frames_processed_total",
        "videos_processed_total",
        "api_requests_total",
        "api_errors_total",
        "cache_hits_total",
        "cache_misses_total",
        "cache_evictions_total",
        "tasks_executed_total",
        "tasks_failed_total",
    ] {
        m.increment_counter(name, 3).await.unwrap();
    }
    for name in [
        "encoding_speed_fps",
        "cache_size_bytes",
        "worker_pool_utilization",
        "queue_size",
    ] {
        m.set_gauge(name, 0.5).await.unwrap();
    }
    for name in [
        "video_processing_duration_ms",
        "frame_processing_duration_ms",
        "api_request_duration_ms",
    ] {
        m.record_histogram(name, 12.5).await.unwrap();
    }
    telemetry.collect_now().await;
    let addr = telemetry.prometheus_addrs().await[0];
    let (status, _, body) = get(&format!("http://{addr}/metrics"), false).await;
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("system_network_bytes_sent_total "),
        "counters carry _total"
    );
    assert!(
        text.contains("\nframes_processed_total 3\n"),
        "no doubled _total suffix"
    );

    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (Debian package prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<&str> = report.lines().filter(|l| !l.trim().is_empty()).collect();
    let allowed = |l: &str| {
        let (name, message) = l.split_once(' ').unwrap_or((l, ""));
        name.contains("_duration_ms")
            && message == "metric names should not contain abbreviated units"
    };
    let unexpected: Vec<&&str> = findings.iter().filter(|l| !allowed(l)).collect();
    assert!(
        unexpected.is_empty(),
        "promtool findings beyond the spec's *_duration_ms names:\n{report}"
    );
    // The spec's names are flagged, which proves promtool really linted the text.
    assert!(
        findings
            .iter()
            .any(|l| l.starts_with("frame_processing_duration_ms ")),
        "{report}"
    );
    telemetry.shutdown().await;
}
