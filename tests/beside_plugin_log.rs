//! `.tracing_subscriber(true)` beside tauri-plugin-log, which holds the `log` facade: the
//! app starts, `tracing` events reach telemetry, and a warning says where `log` records
//! go. A test binary of its own: the subscriber and the logger are process-wide.
#![allow(clippy::unwrap_used)]

use tauri::test::{mock_builder, mock_context, noop_assets};
use tauri_plugin_log::{Target, TargetKind};
use tauri_plugin_opentelemetry::engine::logs::LogQuery;
use tauri_plugin_opentelemetry::{Builder, TelemetryConfig, TelemetryExt};

#[test]
fn the_subscriber_works_beside_tauri_plugin_log_and_says_where_log_records_go() {
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    let app = mock_builder()
        .plugin(
            tauri_plugin_log::Builder::new()
                .clear_targets()
                .target(Target::new(TargetKind::Stdout))
                .build(),
        )
        .plugin(
            Builder::new()
                .config(config)
                .tracing_subscriber(true)
                .strict(true)
                .build(),
        )
        .build(mock_context(noop_assets()))
        .expect("the app starts with both");
    tracing::warn!(target: "studio::render", "frame dropped");
    log::warn!(target: "studio::import", "through tauri-plugin-log");
    let records = app.telemetry().logs().query(&LogQuery::default());
    let targets: Vec<&str> = records.iter().map(|r| r.target.as_str()).collect();
    assert!(targets.contains(&"studio::render"), "{targets:?}");
    assert!(
        !targets.contains(&"studio::import"),
        "log records stay with tauri-plugin-log: {targets:?}"
    );
    let warning = records
        .iter()
        .find(|r| r.target == "telemetry::logs")
        .expect("a warning about the log facade");
    assert_eq!(warning.level, "WARN");
    assert!(
        warning.message.contains("tauri-plugin-log"),
        "{}",
        warning.message
    );
}
