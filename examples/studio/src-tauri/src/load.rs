//! `--series N`: N extra series, rewritten by one recording thread as fast as it can, for
//! the load and soak scripts. The thread reports what it manages: records per second and
//! the slowest single record of the last second, so a script can compare them with and
//! without scrapes (a recording call that waits for a scrape or an export shows up there).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tauri_plugin_opentelemetry::engine::metrics::Metrics;
use tauri_plugin_opentelemetry::engine::KeyValue;

/// Series per metric name (below the default `max_series_per_metric`).
pub(crate) const SERIES_PER_METRIC: usize = 1000;

/// The recording thread; stops when dropped.
pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Load {
    /// Starts rewriting `series` series (`studio_load_<k>{slot}`) on a thread of its own,
    /// all of them every `every` (or flat out).
    pub(crate) fn start(
        metrics: Metrics,
        series: usize,
        every: Option<Duration>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("studio-load".into())
            .spawn(move || record(&metrics, series, every, &stopping))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn record(metrics: &Metrics, series: usize, every: Option<Duration>, stop: &AtomicBool) {
    let labels: Vec<(String, [KeyValue; 1])> = (0..series)
        .map(|i| {
            (
                format!("studio_load_{}", i / SERIES_PER_METRIC),
                [KeyValue::new("slot", format!("s{i:05}"))],
            )
        })
        .collect();
    let mut window = Instant::now();
    let (mut records, mut slowest) = (0u64, Duration::ZERO);
    let mut value = 0.0;
    while !stop.load(Ordering::Relaxed) {
        value += 1.0;
        for (name, attributes) in &labels {
            let started = Instant::now();
            // Names and label counts are fixed and valid: an error here is a bug worth
            // seeing in the figures, so it ends the load.
            if metrics.set(name, value, attributes).is_err() {
                return;
            }
            slowest = slowest.max(started.elapsed());
            records += 1;
        }
        let elapsed = window.elapsed();
        if elapsed >= Duration::from_secs(1) {
            let rate = records as f64 / elapsed.as_secs_f64();
            let _ = metrics.set("studio_load_records_per_second", rate, &[]);
            let _ = metrics.set(
                "studio_load_slowest_record_us",
                slowest.as_secs_f64() * 1e6,
                &[],
            );
            (records, slowest, window) = (0, Duration::ZERO, Instant::now());
        }
        if let Some(pause) = every {
            std::thread::sleep(pause);
        }
    }
}
