//! Helpers for tests that start real servers and processes.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

pub mod otlp;
pub mod tls;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use telemetry_engine::config::{FileExporterConfig, MetricsExporter, TelemetryConfig};

/// A TCP port that was free a moment ago (the OS picks it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A config with a Prometheus exporter on a free port and a 1 s collection interval.
pub fn config_with_prometheus(compression: bool) -> TelemetryConfig {
    let mut config = TelemetryConfig {
        service_name: "studio-test".into(),
        ..Default::default()
    };
    config.metrics.collection_interval = Duration::from_secs(1);
    config.metrics.exporters.push(MetricsExporter::Prometheus {
        port: free_port(),
        path: "/metrics".into(),
        enable_compression: compression,
        host: "127.0.0.1".into(),
    });
    config
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A child process killed when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a real Prometheus server scraping `target` every second, on a free port.
/// Returns the guard and the server's base URL.
pub fn start_prometheus(dir: &Path, target: &str, metrics_path: &str) -> (ChildGuard, String) {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: studio\n    metrics_path: {metrics_path}\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect(
            "the `prometheus` binary must be installed (make test installs Debian's prometheus)",
        );
    (ChildGuard(child), format!("http://127.0.0.1:{port}"))
}

/// Runs an instant query against Prometheus and returns `(labels, value)` per series.
pub async fn prom_query(base: &str, query: &str) -> Option<Vec<(serde_json::Value, f64)>> {
    let client = reqwest::Client::new();
    let body = client
        .get(format!("{base}/api/v1/query"))
        .query(&[("query", query)])
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let json: serde_json::Value = serde_json::from_str(&body).ok()?;
    let result = json["data"]["result"].as_array()?;
    Some(
        result
            .iter()
            .filter_map(|r| {
                let v = r["value"][1].as_str()?.parse::<f64>().ok()?;
                Some((r["metric"].clone(), v))
            })
            .collect(),
    )
}

/// GET `url`, returning status, headers and body bytes.
pub async fn get(url: &str, accept_gzip: bool) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = reqwest::Client::new().get(url);
    if accept_gzip {
        req = req.header("accept-encoding", "gzip");
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

/// A file exporter at `path` with 1 MiB rotation.
pub fn file_exporter(path: &Path) -> MetricsExporter {
    MetricsExporter::File(FileExporterConfig {
        path: path.display().to_string(),
        max_file_bytes: 1 << 20,
        max_files: 2,
    })
}

/// A manager built from `config` and initialized.
pub async fn start(config: TelemetryConfig) -> std::sync::Arc<telemetry_engine::TelemetryManager> {
    let telemetry = telemetry_engine::TelemetryManager::new(config)
        .await
        .unwrap();
    telemetry.initialize().await.unwrap();
    telemetry
}

/// Records one span (`render`) and flushes it to the exporters.
pub async fn one_span(telemetry: &telemetry_engine::TelemetryManager) {
    telemetry
        .tracer()
        .trace("render", |_| Ok::<_, String>(()))
        .unwrap();
    telemetry.force_flush().await;
}

/// The error of a Failed exporter, or a panic naming what it was instead.
pub fn failure_of(
    status: &std::collections::BTreeMap<String, telemetry_engine::export::ExportStatus>,
    name: &str,
) -> String {
    match &status[name] {
        telemetry_engine::export::ExportStatus::Failed(e) => e.clone(),
        other => panic!("{name}: expected Failed, got {other:?}"),
    }
}

/// `config` with spans, log records and metrics sent over OTLP/HTTP to `base`
/// (`http://host:port`).
pub fn otlp_everything(mut config: TelemetryConfig, base: &str) -> TelemetryConfig {
    use telemetry_engine::config::{LogsExporter, OtlpExporterConfig, TracingExporter};
    let at = |path: &str| OtlpExporterConfig::http(format!("{base}{path}"));
    config.tracing.exporters = vec![TracingExporter::Otlp(at("/v1/traces"))];
    config.logs.exporters = vec![LogsExporter::Otlp(at("/v1/logs"))];
    config.metrics.exporters = vec![MetricsExporter::Otlp(at("/v1/metrics"))];
    config
}
