//! Many threads recording at once lose nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use telemetry_engine::{KeyValue, TelemetryManager};

const THREADS: u64 = 4;
const PER_THREAD: u64 = 500_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_increments_lose_none() {
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    let telemetry = TelemetryManager::new(config).await.unwrap();
    telemetry.initialize().await.unwrap();
    let metrics = telemetry.metrics().clone();
    let barrier = Arc::new(std::sync::Barrier::new(THREADS as usize));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let metrics = metrics.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let bound = metrics
                    .counter("jobs_total")
                    .unwrap()
                    .bind(&[KeyValue::new("path", "bound")])
                    .unwrap();
                let lane = [
                    KeyValue::new("path", "named"),
                    KeyValue::new("thread", t as i64),
                ];
                barrier.wait();
                for _ in 0..PER_THREAD {
                    bound.add(1);
                    metrics.add("jobs_total", 1, &lane).unwrap();
                    metrics.record("job_ms", 1.0, &[]).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    telemetry.collect_now().await;

    // Through the series store.
    let store = telemetry.store();
    let bound = store.query("jobs_total", &[("path", "bound")], None);
    assert_eq!(
        bound[0].points.last().unwrap().1,
        (THREADS * PER_THREAD) as f64
    );
    let named: f64 = store
        .query("jobs_total", &[("path", "named")], None)
        .iter()
        .map(|s| s.points.last().unwrap().1)
        .sum();
    assert_eq!(named, (THREADS * PER_THREAD) as f64);
    assert_eq!(
        store.latest("job_ms_count")[0].1,
        (THREADS * PER_THREAD) as f64
    );

    // Through the Prometheus endpoint.
    let addr = telemetry.prometheus_addrs().await[0];
    let (status, _, body) = common::get(&format!("http://{addr}/metrics"), false).await;
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains(&format!(
            "jobs_total{{path=\"bound\"}} {}\n",
            THREADS * PER_THREAD
        )),
        "{text}"
    );
    for t in 0..THREADS {
        assert!(text.contains(&format!(
            "jobs_total{{path=\"named\",thread=\"{t}\"}} {PER_THREAD}\n"
        )));
    }
    telemetry.shutdown().await;
}
