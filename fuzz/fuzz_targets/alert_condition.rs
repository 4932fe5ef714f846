//! Any text given to `Condition::parse` is a condition or an error, never a panic; a
//! condition that parses evaluates (or errs) without panicking on a small store, on a
//! thread with the stack of a tokio worker (2 MiB), so deep nesting that would overflow
//! an app's worker is found here. The seeds hold huge numbers in duration positions,
//! short forms with non-durations (`api_errors_rate_inf`) and deep nesting.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use telemetry_engine::alerts::Condition;
use telemetry_engine::config::MetricsConfig;
use telemetry_engine::store::SeriesStore;
use telemetry_engine::metrics::{MetricSnapshot, SeriesSnapshot, SeriesValue, Snapshot, SnapshotKind};

const NOW: i64 = 1_700_000_600_000;

fn store() -> &'static SeriesStore {
    static STORE: OnceLock<SeriesStore> = OnceLock::new();
    STORE.get_or_init(|| {
        let store = SeriesStore::new(&MetricsConfig {
            collection_interval: Duration::from_secs(15),
            ..Default::default()
        });
        for step in 0..40_i64 {
            let series = |name: &str, host: &str, value: f64| MetricSnapshot {
                name: name.into(),
                kind: SnapshotKind::Gauge,
                help: String::new(),
                series: vec![SeriesSnapshot {
                    labels: [("host".to_string(), host.to_string())].into(),
                    value: SeriesValue::Number { value },
                }],
            };
            let v = step as f64;
            store.ingest(&Snapshot {
                timestamp_ms: NOW - (40 - step) * 15_000,
                metrics: vec![
                    series("system_cpu_usage_percent", "a", 50.0 + v),
                    series("system_cpu_usage_percent", "b", 90.0 - v),
                    series("api_requests_total", "a", v * 10.0),
                    series("api_errors_total", "a", if step == 20 { 0.0 } else { v }),
                    series("video_processing_duration_ms_sum", "a", v * 31_000.0),
                    series("video_processing_duration_ms_count", "a", v),
                ],
            });
        }
        store
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(condition) = Condition::parse(text) else {
        return;
    };
    let store = store();
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn_scoped(scope, || {
                let _ = condition.eval(store, NOW);
            })
            .expect("spawn an evaluation thread");
        if let Err(panic) = worker.join() {
            std::panic::resume_unwind(panic);
        }
    });
});
