//! Offline for ten minutes at the studio's rates: every batch is kept and memory stays
//! flat; ten more, and the spool holds its bound, dropping the oldest. A test binary of its own so that no other test's allocations move the
//! resident set it measures.
//!
//! Ten minutes of the studio's volume are played in compressed time: 30,000 frames (the
//! studio renders one every 20 ms: a histogram, a counter and a gauge each) and a traced
//! segment every 30 frames (a span with four children and two log records), with the
//! batch and push intervals scaled down so that the exporters make as many batches as
//! they would in ten minutes at their default five seconds (120 per signal).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use telemetry_engine::config::TelemetryConfig;
use telemetry_engine::TelemetryManager;
use tracing_subscriber::layer::SubscriberExt as _;

/// The spool's bound in the test (the smallest allowed): twenty minutes overflow it.
const MAX_BYTES: u64 = 1 << 20;
/// Frames in ten minutes at one per 20 ms.
const FRAMES: u64 = 30_000;
/// The time one simulated minute takes.
const MINUTE: Duration = Duration::from_millis(1200);

/// Resident set size of this process, in bytes (Linux).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Bytes of batch files under `dir`.
fn spool_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            total += spool_bytes(&path);
        } else if path.extension().is_some_and(|e| e == "batch") {
            total += entry.metadata().unwrap().len();
        }
    }
    total
}

/// `telemetry_spool_dropped_total` for `reason`, all signals.
fn spool_dropped(text: &str, reason: &str) -> f64 {
    let label = format!("reason=\"{reason}\"");
    text.lines()
        .filter(|l| l.starts_with("telemetry_spool_dropped_total{") && l.contains(&label))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

/// One simulated minute: 3,000 frames and 100 traced segments.
fn minute(telemetry: &TelemetryManager, dispatch: &tracing::Dispatch, first_frame: u64) {
    let metrics = telemetry.metrics();
    tracing::dispatcher::with_default(dispatch, || {
        for frame in first_frame..first_frame + FRAMES / 10 {
            metrics
                .record(
                    "frame_processing_duration_ms",
                    16.0 + (frame % 7) as f64,
                    &[],
                )
                .unwrap();
            metrics.add("frames_processed_total", 1, &[]).unwrap();
            metrics
                .set("encoding_speed_fps", 60.0 - (frame % 5) as f64, &[])
                .unwrap();
            if frame.is_multiple_of(30) {
                telemetry
                    .tracer()
                    .trace("render_segment", |span| {
                        span.set_attribute("segment", (frame / 30) as i64);
                        for stage in ["decode", "effects", "encode", "mux"] {
                            telemetry
                                .tracer()
                                .trace(stage, |_| Ok::<_, String>(()))
                                .unwrap();
                        }
                        tracing::info!(segment = frame / 30, "segment rendered");
                        tracing::debug!(codec = "h264", "encoder settings applied");
                        Ok::<_, String>(())
                    })
                    .unwrap();
            }
        }
    });
}

/// The simulation and what it measured.
struct Run<'a> {
    telemetry: &'a TelemetryManager,
    dispatch: &'a tracing::Dispatch,
    spool: &'a Path,
    ticker: tokio::time::Interval,
    /// The resident set after each minute.
    rss: Vec<u64>,
    /// The most the spool held after a minute.
    largest_spool: u64,
}

impl Run<'_> {
    /// Plays `minutes`, one per [`MINUTE`], then collects and flushes.
    async fn minutes(&mut self, minutes: std::ops::Range<u64>) {
        for m in minutes {
            self.ticker.tick().await;
            minute(self.telemetry, self.dispatch, m * FRAMES / 10);
            self.telemetry.force_flush().await;
            self.largest_spool = self.largest_spool.max(spool_bytes(self.spool));
            self.rss.push(rss());
        }
        self.telemetry.collect_now().await;
        self.telemetry.force_flush().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_for_minutes_memory_stays_flat_and_the_spool_within_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens there: every send is refused, every batch goes to the spool.
    let base = format!("http://127.0.0.1:{}", common::free_port());
    let mut config = TelemetryConfig::default();
    config.storage.dir = Some(dir.path().display().to_string());
    config.spool.max_bytes = MAX_BYTES;
    config.metrics.system_collectors = false;
    // Five seconds of the real intervals is 1/12 of a minute.
    let interval = MINUTE / 12;
    config.metrics.collection_interval = interval;
    config.metrics.export_interval = interval;
    config.tracing.batch_export.export_interval = interval;
    config.logs.batch_export.export_interval = interval;
    config.logs.level = "debug".into();
    let telemetry = common::start(common::otlp_everything(config, &base)).await;
    let dispatch =
        tracing::Dispatch::new(tracing_subscriber::registry().with(telemetry.tracing_layer()));
    let spool = dir.path().join("spool");

    // Ten minutes at the studio's rates: every batch is kept, memory is flat.
    let mut run = Run {
        telemetry: &telemetry,
        dispatch: &dispatch,
        spool: &spool,
        ticker: tokio::time::interval(MINUTE),
        rss: Vec::new(),
        largest_spool: 0,
    };
    run.minutes(0..10).await;
    let text = telemetry.render_prometheus().unwrap();
    assert_eq!(spool_dropped(&text, "full"), 0.0, "{text}");
    let waiting = spool_bytes(&spool);
    assert!(
        waiting > 256 << 10 && waiting <= MAX_BYTES,
        "ten minutes of batches wait in the spool: {waiting} bytes"
    );
    eprintln!("ten minutes of the studio offline: {waiting} bytes spooled");

    // Ten more: the spool reaches its bound and holds it, the oldest batches dropped.
    run.minutes(10..20).await;
    let text = telemetry.render_prometheus().unwrap();
    assert!(spool_dropped(&text, "full") > 0.0, "{text}");
    // A batch is written, then the oldest are dropped to make room: a look in between
    // sees one batch over the bound (a push here is ~20 KiB).
    assert!(
        run.largest_spool <= MAX_BYTES + (64 << 10),
        "the spool held {} bytes, bound {MAX_BYTES}",
        run.largest_spool
    );
    // Memory: after the first two minutes (queues, stores and the allocator's pools warm),
    // the resident set grows by less than 8 MiB over the other eighteen.
    let warm = run.rss[2];
    let last = *run.rss.last().unwrap();
    assert!(
        last < warm + (8 << 20),
        "resident set per simulated minute: {:?} MiB",
        run.rss.iter().map(|b| b >> 20).collect::<Vec<_>>()
    );
    telemetry.shutdown().await;
}
