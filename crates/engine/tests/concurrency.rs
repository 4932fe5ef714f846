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
                    metrics.add("runs_total", 1, &[]).unwrap();
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
    assert_eq!(
        store.latest("runs_total")[0].1,
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

/// A health check that hangs until told, standing for a collector stuck on a network
/// mount.
struct Stuck(Arc<tokio::sync::Notify>);

#[async_trait::async_trait]
impl telemetry_engine::health::HealthCheck for Stuck {
    fn name(&self) -> &str {
        "network_share"
    }
    fn timeout(&self) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_secs(120))
    }
    async fn check(&self) -> telemetry_engine::health::HealthCheckResult {
        self.0.notified().await;
        telemetry_engine::health::HealthCheckResult::new(
            telemetry_engine::health::HealthStatus::Healthy,
            "answered",
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_never_waits_for_a_hung_exporter_a_hung_check_or_a_scrape() {
    // An OTLP metrics receiver that accepts connections and never answers: every push
    // hangs until its timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    config.metrics.collection_interval = std::time::Duration::from_millis(100);
    config.metrics.export_interval = std::time::Duration::from_millis(100);
    config.metrics.export_timeout = std::time::Duration::from_secs(60);
    config
        .metrics
        .exporters
        .push(telemetry_engine::config::MetricsExporter::Otlp(
            telemetry_engine::config::OtlpExporterConfig::http(format!(
                "http://{}/v1/metrics",
                silent.local_addr().unwrap()
            )),
        ));
    let telemetry = common::start(config).await;
    let release = Arc::new(tokio::sync::Notify::new());
    telemetry
        .health()
        .add_check(Box::new(Stuck(release.clone())))
        .await
        .unwrap();
    let metrics = telemetry.metrics();
    metrics.add("frames_rendered_total", 1, &[]).unwrap();
    metrics.record("frame_ms", 16.0, &[]).unwrap();
    // The push is under way and hanging: the receiver holds a connection it never answers.
    let (_held, _) = tokio::task::spawn_blocking(move || silent.accept().unwrap())
        .await
        .unwrap();
    // A health run hangs on the stuck check, and a scrape is read one byte at a time.
    let health = tokio::spawn({
        let telemetry = telemetry.clone();
        async move { telemetry.health().refresh().await }
    });
    let addr = telemetry.prometheus_addrs().await[0];
    let mut scrape = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut scrape,
        format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();

    // Meanwhile a render thread records into its series: it finishes, and everything it
    // recorded is counted, while the push, the check and the scrape are all still held.
    let recorder = std::thread::spawn({
        let metrics = metrics.clone();
        move || {
            let frames = metrics
                .counter("frames_rendered_total")
                .unwrap()
                .bind(&[])
                .unwrap();
            let frame_ms = metrics.histogram("frame_ms").unwrap().bind(&[]).unwrap();
            for i in 0..PER_THREAD {
                frames.add(1);
                frame_ms.record(16.0 + (i % 10) as f64).unwrap();
                metrics.add("frames_rendered_total", 1, &[]).unwrap();
            }
        }
    });
    // A deadline, not a speed: recording that waited on any of them would never end.
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::task::spawn_blocking(move || recorder.join().unwrap()),
    )
    .await
    .expect("recording waited for the push, the check or the scrape")
    .unwrap();
    assert!(!health.is_finished(), "the stuck check still hangs");
    let text = telemetry.render_prometheus().unwrap();
    let total = text
        .lines()
        .find(|l| l.starts_with("frames_rendered_total "))
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .unwrap();
    assert_eq!(total, 1 + 2 * PER_THREAD, "nothing recorded was lost");
    release.notify_waiters();
    health.await.unwrap();
    drop(scrape);
    telemetry.shutdown().await;
}
