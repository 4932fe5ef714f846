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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_name_handle_and_bound_records_meet_in_one_series() {
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    let telemetry = TelemetryManager::new(config).await.unwrap();
    telemetry.initialize().await.unwrap();
    let m = telemetry.metrics().clone();
    // By name, the first call and then the per-thread fast path (a bound handle).
    for _ in 0..3 {
        m.add("frames_total", 1, &[]).unwrap();
        m.set("queue_depth", 4.0, &[]).unwrap();
        m.record("frame_ms", 2.0, &[]).unwrap();
    }
    m.counter("frames_total").unwrap().add(10, &[]).unwrap();
    m.counter("frames_total")
        .unwrap()
        .bind(&[])
        .unwrap()
        .add(100);
    // A hot name keeps its kind.
    assert!(m.set("frames_total", 1.0, &[]).is_err());
    // Names rebuilt in one buffer: the same address and length, other content.
    let mut name = String::with_capacity(32);
    for n in ["alpha_total", "bravo_total", "alpha_total", "alpha_total"] {
        name.clear();
        name.push_str(n);
        m.add(&name, 1, &[]).unwrap();
    }
    telemetry.collect_now().await;

    let latest = |name: &str| telemetry.store().latest(name)[0].1;
    assert_eq!(latest("frames_total"), 113.0);
    assert_eq!(latest("queue_depth"), 4.0);
    assert_eq!(latest("frame_ms_count"), 3.0);
    assert_eq!(latest("frame_ms_sum"), 6.0);
    assert_eq!(latest("alpha_total"), 3.0);
    assert_eq!(latest("bravo_total"), 1.0);
    telemetry.shutdown().await;
}
