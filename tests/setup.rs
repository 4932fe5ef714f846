//! A telemetry setup problem never stops the app unless it asks for strict mode: the app
//! starts with telemetry off and the problem in the export status.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tauri::test::{mock_builder, mock_context, noop_assets};
use tauri_plugin_opentelemetry::engine::export::ExportStatus;
use tauri_plugin_opentelemetry::{Builder, TelemetryConfig, TelemetryExt};

/// A configuration that parses but does not validate.
fn invalid() -> TelemetryConfig {
    let mut config = TelemetryConfig::default();
    config.metrics.collection_interval = Duration::from_millis(1);
    config.metrics.system_collectors = false;
    config
}

#[test]
fn outside_strict_mode_a_bad_config_leaves_the_app_running_with_telemetry_off() {
    let app = mock_builder()
        .plugin(Builder::new().config(invalid()).strict(false).build())
        .build(mock_context(noop_assets()))
        .expect("the app starts");
    let telemetry = app.telemetry();
    assert!(!telemetry.config().enabled);
    let status = tauri::async_runtime::block_on(telemetry.get_export_status());
    match &status["config"] {
        ExportStatus::Failed(why) => assert!(
            why.contains("metrics.collection_interval"),
            "the problem names the field: {why}"
        ),
        other => panic!("config: {other:?}"),
    }
    // The rest of the API answers: recording is checked, nothing is kept.
    telemetry
        .metrics()
        .counter("clicks_total")
        .unwrap()
        .add(1, &[])
        .unwrap();
}

#[test]
fn in_strict_mode_a_bad_config_fails_the_setup_with_the_field_named() {
    let built = mock_builder()
        .plugin(Builder::new().config(invalid()).strict(true).build())
        .build(mock_context(noop_assets()));
    let Err(err) = built else {
        panic!("strict mode fails the setup");
    };
    let err = err.to_string();
    assert!(err.contains("metrics.collection_interval"), "{err}");
}
