//! Timeline Studio: a Tauri v2 app that registers tauri-plugin-opentelemetry, runs a
//! simulated render pipeline and shows the live telemetry panel in its window.
//!
//! ```text
//! studio [--headless] [--duration SECONDS] [--incident-every SECONDS]
//!        [--series N] [--series-every SECONDS] [--retention SECONDS]
//!        [--encode-every SECONDS] [--encode-rounds N]
//!        [--panic-in-worker-after SECONDS] [--abort-after SECONDS] [--segfault-after SECONDS]
//! studio --encode-child SECONDS EXIT_CODE
//! ```
//! Every `--encode-every` seconds (default 10) the workload starts encoder child processes
//! (`encoders.rs`: the studio's own binary in its encoder mode), one of them failing in
//! every third round; `--encode-rounds` stops after that many rounds.
//! `--series N` adds N series rewritten by one thread (`load.rs`; flat out, or all of them
//! every `--series-every`), and `--retention` shortens the in-app store's history, for the
//! load and soak scripts. `--panic-in-worker-after` and `--abort-after` (`faults.rs`)
//! demonstrate a worker panic and a crash.
//! Its window calls the studio's own commands (`project.rs`: open a project, export it),
//! each traced from the click to the backend work with no telemetry code.
//! On Windows and macOS it opens its window; on Linux when `DISPLAY` or `WAYLAND_DISPLAY`
//! names a display (`display.rs`). Otherwise, or with `--headless`, it runs the
//! same workload without a window and serves the same dashboard over HTTP. Either way it
//! prints `dashboard: http://127.0.0.1:9090/`.
//!
//! Configuration: `TELEMETRY_CONFIG` (a JSON file), `TELEMETRY_ENABLED`, `PROMETHEUS_PORT`,
//! `TELEMETRY_HTTP_TOKEN`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_TRACES_EXPORTER=otlp`, `OTEL_LOGS_EXPORTER=otlp` with `OTEL_EXPORTER_OTLP_ENDPOINT`
//! and friends. With no file: Prometheus, API and dashboard on 127.0.0.1:9090.

// A release build on Windows is a GUI app: no console window behind it.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod config;
mod display;
mod encoders;
mod faults;
mod load;
mod project;
mod workload;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tauri_plugin_opentelemetry::{TelemetryConfig, TelemetryExt, TelemetryManager};

use config::Args;
use workload::{RenderQueue, RenderQueueCheck, Studio};

fn main() -> ExitCode {
    // First: in the crash monitor process this serves and exits (native crashes).
    tauri_plugin_opentelemetry::crash_monitor();
    if let Some(code) = encoders::encoder_mode(&std::env::args().collect::<Vec<_>>()) {
        return code;
    }
    let (args, config) = match Args::from_env().and_then(|a| Ok((a, config::telemetry(&a)?))) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("studio: {e}");
            return ExitCode::from(2);
        }
    };
    let display = display::has_display(std::env::consts::OS, |name| std::env::var(name).ok());
    if args.headless || !display {
        headless(args, config)
    } else {
        windowed(args, config)
    }
}

/// The `--series` load, when asked for.
fn start_load(telemetry: &TelemetryManager, args: &Args) -> std::io::Result<Option<load::Load>> {
    (args.series > 0)
        .then(|| load::Load::start(telemetry.metrics().clone(), args.series, args.series_every))
        .transpose()
}

/// Prints where the dashboard, metrics and health are served.
async fn announce(telemetry: &TelemetryManager, mode: &str) {
    for url in telemetry.dashboard_urls().await {
        println!("dashboard: {url}");
    }
    for addr in telemetry.prometheus_addrs().await {
        println!("metrics: http://{addr}/metrics");
        println!("health: http://{addr}/health");
    }
    println!("studio running {mode}; Ctrl-C to stop");
}

/// Resolves after `duration` if given, else never.
async fn deadline(duration: Option<Duration>) {
    match duration {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// The workload and the HTTP dashboard without a window.
fn headless(args: Args, config: TelemetryConfig) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("studio: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let telemetry = match TelemetryManager::new(config).await {
            Ok(t) => t,
            Err(e) => {
                eprintln!("studio: {e}");
                return ExitCode::from(2);
            }
        };
        if let Err(e) = telemetry.install_tracing_subscriber() {
            eprintln!("studio: {e}");
        }
        let queue = RenderQueue::default();
        let setup = async {
            telemetry
                .health()
                .add_check(Box::new(RenderQueueCheck(queue.clone())))
                .await?;
            telemetry.initialize().await
        };
        if let Err(e) = setup.await {
            eprintln!("studio: {e}");
            return ExitCode::FAILURE;
        }
        let _load = match start_load(&telemetry, &args) {
            Ok(load) => load,
            Err(e) => {
                eprintln!("studio: {e}");
                return ExitCode::FAILURE;
            }
        };
        announce(&telemetry, "headless").await;
        faults::schedule(&args);
        let stop = async {
            tokio::select! {
                () = deadline(args.duration) => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        };
        Studio::new(telemetry.clone(), queue, &args).run(stop).await;
        telemetry.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// The Tauri app: the plugin, the workload on its runtime, the panel in the window.
fn windowed(args: Args, config: TelemetryConfig) -> ExitCode {
    let queue = RenderQueue::default();
    let plugin = tauri_plugin_opentelemetry::Builder::new()
        .config(config)
        .health_check(Box::new(RenderQueueCheck(queue.clone())))
        .tracing_subscriber(true)
        .build();
    let app = tauri::Builder::default()
        .plugin(plugin)
        .invoke_handler(tauri::generate_handler![
            project::open_project,
            project::export_project
        ])
        .setup(move |app| {
            let telemetry: Arc<TelemetryManager> = app.telemetry().clone();
            let handle = app.handle().clone();
            let duration = args.duration;
            let load = start_load(&telemetry, &args)?;
            tauri::async_runtime::spawn(async move {
                let _load = load;
                announce(&telemetry, "in a window").await;
                faults::schedule(&args);
                Studio::new(telemetry, queue, &args)
                    .run(deadline(duration))
                    .await;
                if duration.is_some() {
                    handle.exit(0);
                }
            });
            Ok(())
        })
        .run(tauri::generate_context!());
    match app {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("studio: {e}");
            ExitCode::FAILURE
        }
    }
}
