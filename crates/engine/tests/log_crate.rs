//! `install_tracing_subscriber` routes the `log` crate too. A test binary of its own: the
//! subscriber and the logger are process-wide.
#![allow(clippy::unwrap_used)]

mod common;

use telemetry_engine::config::TelemetryConfig;
use telemetry_engine::logs::LogQuery;
use telemetry_engine::TelemetryError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_crate_records_join_the_pipeline_with_their_target_and_trace() {
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    let telemetry = common::start(config).await;
    assert_eq!(
        telemetry.install_tracing_subscriber().unwrap(),
        telemetry_engine::Routed::TracingAndLog
    );
    let trace_id = telemetry
        .tracer()
        .trace("import_media", |span| {
            log::warn!(target: "studio::import", "codec {} is slow", "prores");
            Ok::<_, String>(span.trace_id())
        })
        .unwrap();
    log::debug!("below the default level");
    let records = telemetry.logs().query(&LogQuery::default());
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].message, "codec prores is slow");
    assert_eq!(records[0].level, "WARN");
    assert_eq!(
        records[0].target, "studio::import",
        "the log crate's own target"
    );
    assert_eq!(records[0].trace_id.as_deref(), Some(trace_id.as_str()));
    assert!(
        !records[0].fields.keys().any(|k| k.starts_with("log.")),
        "log metadata is not repeated as fields: {:?}",
        records[0].fields
    );
    let again = telemetry.install_tracing_subscriber().unwrap_err();
    assert!(matches!(again, TelemetryError::Subscriber(_)), "{again}");
    telemetry.shutdown().await;
}
