//! A long exporter outage keeps memory bounded: spans and log records beyond the batch
//! queues are dropped, not buffered. A test binary of its own so that no other test's
//! allocations move the resident set it measures.
#![allow(clippy::unwrap_used)]

mod common;

use telemetry_engine::config::{
    LogsExporter, OtlpExporterConfig, TelemetryConfig, TracingExporter,
};
use telemetry_engine::export::ExportStatus;
use tracing_subscriber::layer::SubscriberExt as _;

/// Resident set size of this process, in bytes (Linux).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_does_not_grow_memory() {
    // Accepts connections (the kernel's backlog) and never answers: every export hangs
    // until its timeout, so nothing drains while the test emits.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", silent.local_addr().unwrap());
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    config.tracing.batch_export.max_export_timeout = std::time::Duration::from_secs(2);
    config.logs.batch_export.max_export_timeout = std::time::Duration::from_secs(2);
    config.tracing.exporters = vec![TracingExporter::Otlp(OtlpExporterConfig::http(format!(
        "{base}/v1/traces"
    )))];
    config.logs.exporters = vec![LogsExporter::Otlp(OtlpExporterConfig::http(format!(
        "{base}/v1/logs"
    )))];
    let telemetry = common::start(config).await;
    let dispatch =
        tracing::Dispatch::new(tracing_subscriber::registry().with(telemetry.tracing_layer()));
    let emit = |n: usize| {
        tracing::dispatcher::with_default(&dispatch, || {
            for i in 0..n {
                telemetry
                    .tracer()
                    .trace("frame", |span| {
                        span.set_attribute("frame", i as i64);
                        span.set_attribute("codec", "h264");
                        tracing::info!(
                            frame = i,
                            "frame rendered with a message long enough to matter"
                        );
                        Ok::<_, String>(())
                    })
                    .unwrap();
            }
        })
    };
    // Warm up: fill the queues, the stores and the allocator's pools.
    emit(20_000);
    let before = rss();
    emit(200_000);
    let grown = rss().saturating_sub(before);
    eprintln!("resident set grew by {} KiB", grown >> 10);
    // Buffering 200k spans and records would take well over 100 MB.
    assert!(
        grown < 16 << 20,
        "resident set grew by {} MiB during the outage",
        grown >> 20
    );
    for name in [
        format!("traces:otlp:{base}/v1/traces"),
        format!("logs:otlp:{base}/v1/logs"),
    ] {
        common::eventually(
            "the export to time out",
            std::time::Duration::from_secs(20),
            || async {
                match telemetry.get_export_status().await.get(&name) {
                    Some(ExportStatus::Failed(_)) => Some(()),
                    _ => None,
                }
            },
        )
        .await;
    }
    assert_eq!(
        telemetry.logs().query(&Default::default()).len(),
        2000,
        "the store is bounded"
    );
    drop(silent);
    telemetry.shutdown().await;
}
