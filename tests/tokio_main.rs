//! An app whose `main` is `#[tokio::main]` and hands its runtime to Tauri
//! (`tauri::async_runtime::set`, as Tauri's guide shows): the plugin's setup and its
//! shutdown at exit run inside that runtime's context, where blocking on a future
//! panics. The app must start, record and exit all the same. Its own test binary: the
//! runtime Tauri uses is set once per process.
#![allow(clippy::unwrap_used)]

mod support;

use tauri::RunEvent;
use tauri_plugin_opentelemetry::engine::config::{FileExporterConfig, MetricsExporter};
use tauri_plugin_opentelemetry::{TelemetryConfig, TelemetryExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_inside_its_own_tokio_runtime_starts_records_and_shuts_down_at_exit() {
    tauri::async_runtime::set(tokio::runtime::Handle::current());
    let dir = tempfile::tempdir().unwrap();
    let metrics_file = dir.path().join("metrics.json");
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    config.metrics.collection_interval = std::time::Duration::from_secs(3600);
    config.metrics.exporters = vec![MetricsExporter::File(FileExporterConfig::new(
        metrics_file.display().to_string(),
    ))];
    let (app, window) = support::app_with(&["opentelemetry:default"], config);
    let telemetry = app.telemetry().clone();
    assert!(telemetry.config().enabled, "telemetry is on");
    telemetry.started().await;
    telemetry
        .metrics()
        .counter("clicks_total")
        .unwrap()
        .add(2, &[])
        .unwrap();

    // The event loop to its end: its one window goes, the app exits, and the plugin's
    // shutdown (a last collection into the file) runs on this thread, inside the runtime.
    let exited = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = exited.clone();
    app.run_return(move |_, event| match event {
        // Once the loop runs: before, the mock runtime drops a window without an event.
        RunEvent::Ready => window.destroy().unwrap(),
        RunEvent::Exit => seen.store(true, std::sync::atomic::Ordering::Relaxed),
        _ => {}
    });
    assert!(exited.load(std::sync::atomic::Ordering::Relaxed));
    let written = std::fs::read_to_string(&metrics_file).unwrap_or_default();
    assert!(
        written.contains("clicks_total"),
        "the last collection at exit reached the file: {written}"
    );
}
