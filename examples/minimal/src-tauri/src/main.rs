//! The smallest app with tauri-plugin-opentelemetry: the plugin registered (its health
//! checks and alert rule in `tauri.conf.json`), a background job that is instrumented like
//! any Rust code, and the telemetry panel opened from Rust in a window of its own. The
//! app's page (`../app/index.html`) has no telemetry code: the plugin serves the panel and
//! grants its window the read commands.

// A release build on Windows is a GUI app: no console window behind it.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;
use std::time::Duration;

use tauri_plugin_opentelemetry::engine::metrics::{Counter, Histogram};
use tauri_plugin_opentelemetry::{Builder, PanelOptions, TelemetryExt, TelemetryPanelExt};

fn main() -> ExitCode {
    // First: in the crash monitor process this serves and exits (native crashes).
    tauri_plugin_opentelemetry::crash_monitor();
    let plugin = Builder::new()
        .tracing_subscriber(true)
        .panel(PanelOptions::new().title("Minimal — telemetry"))
        .build();
    let app = tauri::Builder::default()
        .plugin(plugin)
        .setup(|app| {
            app.telemetry_panel().open()?;
            let metrics = app.telemetry().metrics();
            let jobs = Jobs {
                done: metrics.counter("jobs_total")?,
                failed: metrics.counter("jobs_failed_total")?,
                duration: metrics.histogram("job_duration_ms")?,
            };
            tauri::async_runtime::spawn(jobs.run());
            Ok(())
        })
        .run(tauri::generate_context!());
    match app {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("minimal: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The app's own work: a job every second, every fourth one failing.
struct Jobs {
    done: Counter,
    failed: Counter,
    duration: Histogram,
}

impl Jobs {
    async fn run(self) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        for n in 0u64.. {
            tick.tick().await;
            let started = std::time::Instant::now();
            let outcome = job(n).await;
            let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
            let recorded = self
                .done
                .add(1, &[])
                .and_then(|()| self.duration.record(elapsed_ms, &[]))
                .and_then(|()| match outcome {
                    Ok(()) => Ok(()),
                    Err(_) => self.failed.add(1, &[]),
                });
            if let Err(e) = recorded {
                tracing::warn!(error = %e, "a job's metrics were not recorded");
            }
        }
    }
}

/// One job: a span with a child per step (the panel's Traces view), a log record when it
/// fails (its Logs view, and the `failing_jobs` alert through `jobs_failed_total`).
#[tracing::instrument]
async fn job(n: u64) -> Result<(), String> {
    step("read", 5 + n % 7).await;
    step("process", 10 + n % 13).await;
    if n % 4 == 3 {
        tracing::warn!(job = n, "job {n} failed: the input was truncated");
        return Err(format!("job {n}: the input was truncated"));
    }
    tracing::info!(job = n, "job {n} done");
    Ok(())
}

#[tracing::instrument]
async fn step(name: &'static str, ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
