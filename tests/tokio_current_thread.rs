//! An app whose `main` is `#[tokio::main(flavor = "current_thread")]`: Tauri keeps its own
//! runtime, but the plugin's setup runs inside the app's runtime context, where blocking
//! on a future panics and a current-thread runtime cannot step aside. The app must start
//! all the same. Its own test binary: Tauri's runtime is chosen once per process.
#![allow(clippy::unwrap_used)]

use tauri::test::{mock_builder, mock_context, noop_assets};
use tauri_plugin_opentelemetry::{Builder, TelemetryConfig, TelemetryExt};

#[tokio::test(flavor = "current_thread")]
async fn an_app_inside_a_current_thread_runtime_starts_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    config.metrics.exporters.clear();
    config.storage.dir = Some(dir.path().display().to_string());
    let app = mock_builder()
        .plugin(Builder::new().config(config).strict(true).build())
        .build(mock_context(noop_assets()))
        .expect("the app starts");
    let telemetry = app.telemetry().clone();
    assert!(telemetry.config().enabled, "telemetry is on");
    telemetry
        .metrics()
        .counter("clicks_total")
        .unwrap()
        .add(2, &[])
        .unwrap();
    let exposition = telemetry.render_prometheus().unwrap();
    assert!(exposition.contains("clicks_total 2"), "{exposition}");
}
