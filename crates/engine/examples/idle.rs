//! An idle tokio program, with or without the engine: the peer `scripts/overhead.sh`
//! (`make bench-overhead`, configuration `engine`) measures the engine's own cost against,
//! with no window and no WebKit in the figures.
//!
//! ```text
//! cargo run --release -p telemetry-engine --example idle -- bare    # the runtime alone
//! cargo run --release -p telemetry-engine --example idle -- engine  # + the engine
//! ```
//!
//! Both build the runtime a Tauri app runs on (tokio, multi-threaded, a worker per core).
//! With `engine`, the configuration comes from the environment as in an app
//! (`TELEMETRY_CONFIG`, `PROMETHEUS_PORT`, …), and the engine is created and started.
//! Then the program prints `ready <µs since main>` and idles until it is killed.

use std::error::Error;
use std::time::Instant;

use telemetry_engine::config::TelemetryConfig;
use telemetry_engine::TelemetryManager;

fn main() -> Result<(), Box<dyn Error>> {
    let start = Instant::now();
    let with_engine = match std::env::args().nth(1).as_deref() {
        Some("engine") => true,
        Some("bare") => false,
        other => return Err(format!("expected `bare` or `engine`, got {other:?}").into()),
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let telemetry = if with_engine {
                let telemetry = TelemetryManager::new(TelemetryConfig::from_env()?).await?;
                tokio::spawn(telemetry.initialize());
                telemetry.started().await;
                Some(telemetry)
            } else {
                None
            };
            println!("ready {}", start.elapsed().as_micros());
            std::future::pending::<()>().await;
            drop(telemetry);
            Ok(())
        })
}
