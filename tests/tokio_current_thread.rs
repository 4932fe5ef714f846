//! An app whose `main` is `#[tokio::main(flavor = "current_thread")]`: Tauri keeps its own
//! runtime, but the plugin's setup runs inside the app's runtime context, where blocking
//! on a future panics and a current-thread runtime cannot step aside. The app must start
//! all the same. Its own test binary: Tauri's runtime is chosen once per process.
#![allow(clippy::unwrap_used)]

mod support;

use tauri_plugin_opentelemetry::{TelemetryConfig, TelemetryExt};

#[tokio::test(flavor = "current_thread")]
async fn an_app_inside_a_current_thread_runtime_starts_and_records() {
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    config.metrics.exporters.clear();
    let (app, _window) = support::app_with(&["opentelemetry:default"], config);
    let metrics = app.telemetry().metrics();
    metrics.increment_counter("clicks_total", 2).await.unwrap();
    let exposition = app.telemetry().render_prometheus().unwrap();
    assert!(exposition.contains("clicks_total 2"), "{exposition}");
}
