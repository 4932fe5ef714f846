//! One test per fault the app must live through: an OTLP receiver that hangs, answers 500,
//! or throttles with 429 + Retry-After; a disk that is full or read-only under the file
//! exporters; a health check that hangs; a stream subscriber that never reads. For each:
//! the app goes on, what it holds stays bounded, the status says what is wrong, and it
//! recovers when the fault ends. A hung export fills the bounded queue: what it refuses is
//! counted, for spans and for log records. (A receiver whose port refuses connections:
//! `otlp.rs`, `a_receiver_down_then_up_fails_counts_drops_and_recovers`.)
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use parking_lot::Mutex;
use prost::Message;
use telemetry_engine::config::{
    FileExporterConfig, LogsExporter, MetricsExporter, OtlpExporterConfig, TelemetryConfig,
    TracingExporter,
};
use telemetry_engine::export::ExportStatus;
use telemetry_engine::health::{HealthCheck, HealthCheckResult, HealthStatus};
use telemetry_engine::TelemetryManager;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::sync::{mpsc, oneshot};
use tracing_subscriber::layer::SubscriberExt as _;

/// What the receiver does with the next request.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Accept,
    Status(StatusCode),
    Throttle {
        retry_after_s: u64,
    },
    /// A captive portal: 302 to its login page (`/portal`, which answers GET with 200).
    Portal,
    Hang,
}

/// One request the receiver saw: when, what it answered, and how many spans it carried.
#[derive(Debug)]
struct Seen {
    at: Instant,
    answered: u16,
    spans: usize,
}

/// An OTLP/HTTP trace receiver whose behaviour the test switches; stops when dropped.
struct Receiver {
    endpoint: String,
    mode: Arc<Mutex<Mode>>,
    seen: mpsc::UnboundedReceiver<Seen>,
    /// Requests the portal's login page got.
    portal_visits: Arc<std::sync::atomic::AtomicUsize>,
    _stop: oneshot::Sender<()>,
}

impl Receiver {
    async fn start(mode: Mode) -> Self {
        let shared = Arc::new(Mutex::new(mode));
        let (tx, seen) = mpsc::unbounded_channel();
        let state = shared.clone();
        let portal_visits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let visits = portal_visits.clone();
        let app = axum::Router::new()
            .route(
                "/v1/traces",
                axum::routing::post(move |body: Bytes| {
                    let (mode, tx) = (*state.lock(), tx.clone());
                    async move {
                        let spans = ExportTraceServiceRequest::decode(&body[..])
                            .unwrap()
                            .resource_spans
                            .iter()
                            .flat_map(|r| &r.scope_spans)
                            .map(|s| s.spans.len())
                            .sum();
                        let response: Response = match mode {
                            Mode::Accept => (
                                [("content-type", "application/x-protobuf")],
                                ExportTraceServiceResponse::default().encode_to_vec(),
                            )
                                .into_response(),
                            Mode::Status(code) => (code, "receiver failing").into_response(),
                            Mode::Throttle { retry_after_s } => (
                                StatusCode::TOO_MANY_REQUESTS,
                                [("retry-after", retry_after_s.to_string())],
                            )
                                .into_response(),
                            Mode::Portal => {
                                (StatusCode::FOUND, [("location", "/portal")]).into_response()
                            }
                            Mode::Hang => std::future::pending().await,
                        };
                        let _ = tx.send(Seen {
                            at: Instant::now(),
                            answered: response.status().as_u16(),
                            spans,
                        });
                        response
                    }
                }),
            )
            .route(
                "/portal",
                axum::routing::any(move || {
                    visits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    async { "log in to the Wi-Fi" }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}/v1/traces", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            endpoint,
            mode: shared,
            seen,
            portal_visits,
            _stop: stop,
        }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock() = mode;
    }

    fn drain(&mut self) -> Vec<Seen> {
        std::iter::from_fn(|| self.seen.try_recv().ok()).collect()
    }
}

fn traced_config(endpoint: &str) -> TelemetryConfig {
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    config.tracing.batch_export.export_interval = Duration::from_millis(200);
    config.tracing.batch_export.max_export_timeout = Duration::from_secs(3);
    config.tracing.exporters = vec![TracingExporter::Otlp(OtlpExporterConfig::http(endpoint))];
    config
}

/// Ends `n` spans and waits until the exporter has handed them over (or failed).
async fn spans(telemetry: &TelemetryManager, n: usize) {
    end_spans(telemetry, n);
    telemetry.force_flush().await;
}

/// Ends `n` spans.
fn end_spans(telemetry: &TelemetryManager, n: usize) {
    for i in 0..n {
        telemetry
            .tracer()
            .trace("render_segment", |span| {
                span.set_attribute("segment", i as i64);
                Ok::<_, String>(())
            })
            .unwrap();
    }
}

/// Spans lost to failed exports.
fn dropped_spans(telemetry: &TelemetryManager) -> u64 {
    dropped_for(telemetry, "spans", "export_failed")
}

/// `telemetry_<what>_dropped_total` for `reason` (0 when the series is missing).
fn dropped_for(telemetry: &TelemetryManager, what: &str, reason: &str) -> u64 {
    let metric = format!("telemetry_{what}_dropped_total{{");
    let label = format!("reason=\"{reason}\"");
    let text = telemetry.render_prometheus().unwrap();
    text.lines()
        .find(|l| l.starts_with(&metric) && l.contains(&label))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_answering_500_is_not_retried_counted_and_recovers() {
    let mut receiver = Receiver::start(Mode::Status(StatusCode::INTERNAL_SERVER_ERROR)).await;
    let name = format!("traces:otlp:{}", receiver.endpoint);
    let telemetry = common::start(traced_config(&receiver.endpoint)).await;

    spans(&telemetry, 5).await;
    let failure = common::failure_of(&telemetry.get_export_status().await, &name);
    assert!(
        failure.contains("500"),
        "the status names the answer: {failure}"
    );
    assert!(
        failure.contains("not retried"),
        "a 500 is not spooled and says so: {failure}"
    );
    assert_eq!(
        dropped_for(&telemetry, "spans", "rejected"),
        5,
        "each lost span is counted"
    );
    let seen = receiver.drain();
    assert!(seen.iter().all(|s| s.answered == 500) && !seen.is_empty());
    // 500 is not retryable in OTLP/HTTP: one request per batch, nothing piles up.
    assert_eq!(seen.iter().map(|s| s.spans).sum::<usize>(), 5, "{seen:?}");

    receiver.set(Mode::Accept);
    spans(&telemetry, 3).await;
    assert_eq!(
        telemetry.get_export_status().await[&name],
        ExportStatus::Healthy
    );
    let seen = receiver.drain();
    assert_eq!(seen.iter().map(|s| s.spans).sum::<usize>(), 3);
    assert_eq!(
        dropped_for(&telemetry, "spans", "rejected"),
        5,
        "nothing lost after recovery"
    );
    assert_eq!(telemetry.export_reports()[&name].failures, 1);
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_receiver_is_retried_after_its_retry_after() {
    let mut receiver = Receiver::start(Mode::Throttle { retry_after_s: 1 }).await;
    let name = format!("traces:otlp:{}", receiver.endpoint);
    let telemetry = common::start(traced_config(&receiver.endpoint)).await;

    // The first answer is 429 with Retry-After: 1; the receiver accepts once that has been
    // seen, so the batch must arrive on the retry, no sooner than a second later.
    let first = tokio::spawn({
        let telemetry = telemetry.clone();
        async move { spans(&telemetry, 4).await }
    });
    let throttled = receiver.seen.recv().await.unwrap();
    assert_eq!(throttled.answered, 429);
    receiver.set(Mode::Accept);
    first.await.unwrap();
    let retried = receiver.seen.recv().await.unwrap();
    assert_eq!((retried.answered, retried.spans), (200, 4));
    let waited = retried.at - throttled.at;
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}"
    );
    assert_eq!(
        telemetry.get_export_status().await[&name],
        ExportStatus::Healthy
    );
    assert_eq!(
        dropped_spans(&telemetry),
        0,
        "a throttled batch is delayed, not lost"
    );

    // A Retry-After longer than the export timeout (3 s): given up at once, said, counted.
    receiver.set(Mode::Throttle { retry_after_s: 60 });
    let started = Instant::now();
    spans(&telemetry, 2).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let failure = common::failure_of(&telemetry.get_export_status().await, &name);
    assert!(failure.contains("429"), "{failure}");
    assert_eq!(dropped_spans(&telemetry), 2);

    receiver.set(Mode::Accept);
    spans(&telemetry, 1).await;
    assert_eq!(
        telemetry.get_export_status().await[&name],
        ExportStatus::Healthy
    );
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captive_portals_redirect_is_not_taken_for_a_delivery_and_the_batch_is_retried() {
    let mut receiver = Receiver::start(Mode::Portal).await;
    let name = format!("traces:otlp:{}", receiver.endpoint);
    let telemetry = common::start(traced_config(&receiver.endpoint)).await;

    // The first answer is the portal's 302; the network is there once it has been seen.
    let first = tokio::spawn({
        let telemetry = telemetry.clone();
        async move { spans(&telemetry, 4).await }
    });
    let redirected = receiver.seen.recv().await.unwrap();
    assert_eq!(redirected.answered, 302);
    receiver.set(Mode::Accept);
    first.await.unwrap();
    assert_eq!(
        receiver
            .portal_visits
            .load(std::sync::atomic::Ordering::Relaxed),
        0,
        "the POST was not turned into a GET of the portal's page (and reported sent)"
    );
    let retried = tokio::time::timeout(Duration::from_secs(10), receiver.seen.recv())
        .await
        .expect("the batch is sent again")
        .unwrap();
    assert_eq!((retried.answered, retried.spans), (200, 4));
    assert_eq!(dropped_spans(&telemetry), 0, "delayed, not lost");
    assert_eq!(
        telemetry.get_export_status().await[&name],
        ExportStatus::Healthy
    );
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_times_out_and_the_app_keeps_going_until_it_answers() {
    let mut receiver = Receiver::start(Mode::Hang).await;
    let name = format!("traces:otlp:{}", receiver.endpoint);
    let mut config = traced_config(&receiver.endpoint);
    config.tracing.batch_export.max_export_timeout = Duration::from_millis(500);
    let telemetry = common::start(config).await;

    let started = Instant::now();
    spans(&telemetry, 3).await;
    let failure = common::failure_of(&telemetry.get_export_status().await, &name);
    assert!(!failure.is_empty());
    // Bounded by the export timeout, not by the server.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(dropped_spans(&telemetry), 3);
    // Recording, the in-app store and the metrics go on meanwhile.
    telemetry
        .metrics()
        .increment_counter("frames_processed_total", 1)
        .await
        .unwrap();
    assert_eq!(telemetry.traces().len(), 3);

    receiver.set(Mode::Accept);
    spans(&telemetry, 2).await;
    assert_eq!(
        telemetry.get_export_status().await[&name],
        ExportStatus::Healthy
    );
    let delivered: usize = receiver
        .drain()
        .iter()
        .filter(|s| s.answered == 200)
        .map(|s| s.spans)
        .sum();
    assert_eq!(delivered, 2);
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_export_queue_refuses_spans_counts_each_and_every_span_is_accounted_for() {
    const QUEUE: u64 = 2048; // the smallest queue: `max(max_batch_size, 2048)`
    const BATCH: u64 = 64;
    const TOTAL: u64 = QUEUE + 3 * BATCH + 100;
    let mut receiver = Receiver::start(Mode::Hang).await;
    let mut config = traced_config(&receiver.endpoint);
    config.tracing.batch_export.max_batch_size = BATCH as usize;
    config.tracing.batch_export.max_export_timeout = Duration::from_secs(2);
    let telemetry = common::start(config).await;

    // The exporter's first request hangs, so the worker takes out at most one batch
    // before the queue fills; everything beyond is refused, each refusal counted.
    end_spans(&telemetry, TOTAL as usize);
    let refused = dropped_for(&telemetry, "spans", "queue_full");
    assert!(
        (TOTAL - QUEUE - BATCH..=TOTAL - QUEUE).contains(&refused),
        "refused {refused} of {TOTAL} with a queue of {QUEUE}"
    );
    // The in-app trace store is not behind the export queue: it has its newest 500.
    assert_eq!(telemetry.traces().len(), 500);

    // Once the receiver answers, every span is delivered, lost with the hung export
    // (counted at its timeout) or refused: none is unaccounted for, none counted twice.
    receiver.set(Mode::Accept);
    let started = Instant::now();
    let mut delivered = 0;
    let accounted = loop {
        let accounted = delivered + dropped_spans(&telemetry) + refused;
        if accounted >= TOTAL {
            break accounted;
        }
        // The delivered count has a signal (the receiver's); the failed count does not,
        // so it is read again whenever the receiver is quiet for a moment.
        if let Ok(seen) =
            tokio::time::timeout(Duration::from_millis(500), receiver.seen.recv()).await
        {
            let seen = seen.expect("the receiver runs until the test ends");
            if seen.answered == 200 {
                delivered += seen.spans as u64;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "delivered {delivered}, failed {}, refused {refused} of {TOTAL}",
            dropped_spans(&telemetry)
        );
    };
    assert_eq!(accounted, TOTAL, "delivered {delivered}, refused {refused}");
    assert!(
        dropped_spans(&telemetry) <= BATCH,
        "only the hung batch failed"
    );
    assert_eq!(dropped_for(&telemetry, "spans", "queue_full"), refused);
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_log_export_queue_refuses_records_and_counts_each() {
    const QUEUE: u64 = 2048;
    const BATCH: u64 = 64;
    const TOTAL: u64 = QUEUE + 3 * BATCH + 100;
    // A receiver that takes connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/v1/logs", listener.local_addr().unwrap());
    let hole = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    config.logs.batch_export.max_batch_size = BATCH as usize;
    config.logs.batch_export.max_export_timeout = Duration::from_secs(2);
    config.logs.exporters = vec![LogsExporter::Otlp(OtlpExporterConfig::http(&endpoint))];
    let telemetry = common::start(config).await;

    let subscriber = tracing_subscriber::registry().with(telemetry.tracing_layer());
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..TOTAL {
            tracing::warn!(segment = i, "render slow");
        }
    });
    let refused = dropped_for(&telemetry, "logs", "queue_full");
    assert!(
        (TOTAL - QUEUE - BATCH..=TOTAL - QUEUE).contains(&refused),
        "refused {refused} of {TOTAL} with a queue of {QUEUE}"
    );
    // The in-app log store is not behind the export queue: it has its newest 2000.
    let kept = telemetry.logs().query(&Default::default());
    assert_eq!(kept.len(), 2000);
    // The receiver goes away: what is queued fails fast instead of hanging at shutdown.
    hole.abort();
    let _ = hole.await;
    telemetry.shutdown().await;
}

/// The three file exporters (metrics, spans, ECS logs) writing under `dir`.
fn file_config(dir: &Path) -> (TelemetryConfig, [String; 3]) {
    let file = |name: &str| FileExporterConfig::new(dir.join(name).display().to_string());
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    config.tracing.batch_export.export_interval = Duration::from_millis(200);
    let (m, t, l) = (file("metrics.json"), file("spans.json"), file("logs.json"));
    let names = [
        format!("metrics:file:{}", m.path),
        format!("traces:file:{}", t.path),
        format!("logs:file:{}", l.path),
    ];
    config.metrics.exporters = vec![MetricsExporter::File(m)];
    config.tracing.exporters = vec![TracingExporter::File(t)];
    config.logs.exporters = vec![LogsExporter::File(l)];
    (config, names)
}

/// A metric, a span and a log record, exported to every file.
async fn write_all(telemetry: &Arc<TelemetryManager>) {
    let subscriber = tracing_subscriber::registry().with(telemetry.tracing_layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::warn!(segment = 7, "render slow");
    });
    spans(telemetry, 1).await;
    telemetry
        .metrics()
        .increment_counter("frames_processed_total", 1)
        .await
        .unwrap();
    telemetry.collect_now().await;
}

fn assert_all_failed(
    status: &std::collections::BTreeMap<String, ExportStatus>,
    names: &[String],
    why: &str,
) {
    for name in names {
        let failure = common::failure_of(status, name);
        assert!(failure.contains(why), "{name}: {failure}");
    }
}

fn assert_all_healthy(status: &std::collections::BTreeMap<String, ExportStatus>, names: &[String]) {
    for name in names {
        assert_eq!(status[name], ExportStatus::Healthy, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_the_file_exporters_and_they_recover_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let (config, names) = file_config(dir.path());
    // Each file is /dev/full: every write gets ENOSPC from the kernel, as on a full disk.
    let files: Vec<PathBuf> = ["metrics.json", "spans.json", "logs.json"]
        .iter()
        .map(|f| dir.path().join(f))
        .collect();
    for f in &files {
        std::os::unix::fs::symlink("/dev/full", f).unwrap();
    }
    let telemetry = common::start(config).await;
    write_all(&telemetry).await;
    assert_all_failed(
        &telemetry.get_export_status().await,
        &names,
        "No space left on device",
    );

    // Space comes back: the exporters reopen their files and write again.
    for f in &files {
        std::fs::remove_file(f).unwrap();
    }
    write_all(&telemetry).await;
    telemetry.force_flush().await;
    assert_all_healthy(&telemetry.get_export_status().await, &names);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            !text.is_empty(),
            "{} was written after recovery",
            f.display()
        );
        for line in text.lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
    }
    telemetry.shutdown().await;
}

/// How [`ReadOnlyDir`] made its directory unwritable.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Lock {
    /// A tmpfs mounted read-only (where this process may mount: root in the CI container).
    Mount,
    /// The immutable attribute (`chattr +i`), which binds root too.
    Immutable,
    /// Mode 0555, which binds any other user.
    Mode,
}

/// A directory nothing can be written to, made so the strongest way this process can.
struct ReadOnlyDir {
    path: PathBuf,
    lock: Lock,
    _parent: tempfile::TempDir,
}

fn run(program: &str, args: &[&str], path: &Path) -> bool {
    std::process::Command::new(program)
        .args(args)
        .arg(path)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

impl ReadOnlyDir {
    fn new() -> Self {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("ro");
        std::fs::create_dir(&path).unwrap();
        let writable = |path: &Path| {
            let probe = path.join("probe");
            let ok = std::fs::write(&probe, b"x").is_ok();
            let _ = std::fs::remove_file(probe);
            ok
        };
        let lock = if run(
            "mount",
            &["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"],
            &path,
        ) {
            Lock::Mount
        } else if run("chattr", &["+i"], &path) && !writable(&path) {
            Lock::Immutable
        } else {
            let _ = run("chattr", &["-i"], &path);
            set_mode(&path, 0o555);
            Lock::Mode
        };
        assert!(
            !writable(&path),
            "could not make a read-only directory here ({lock:?} did not stop this user)"
        );
        Self {
            path,
            lock,
            _parent: parent,
        }
    }

    /// The error a write gets.
    fn error(&self) -> &'static str {
        match self.lock {
            Lock::Mount => "Read-only file system",
            Lock::Immutable => "Operation not permitted",
            Lock::Mode => "Permission denied",
        }
    }

    fn make_writable(&self) {
        let done = match self.lock {
            Lock::Mount => run("mount", &["-o", "remount,rw"], &self.path),
            Lock::Immutable => run("chattr", &["-i"], &self.path),
            Lock::Mode => {
                set_mode(&self.path, 0o755);
                true
            }
        };
        assert!(
            done,
            "could not make {} writable again",
            self.path.display()
        );
    }
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        match self.lock {
            Lock::Mount => {
                let _ = run("umount", &[], &self.path);
            }
            Lock::Immutable => {
                let _ = run("chattr", &["-i"], &self.path);
            }
            Lock::Mode => set_mode(&self.path, 0o755),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_disk_fails_the_file_exporters_and_they_recover_when_writable() {
    let dir = ReadOnlyDir::new();
    let (config, names) = file_config(&dir.path);
    let telemetry = common::start(config).await;
    write_all(&telemetry).await;
    assert_all_failed(&telemetry.get_export_status().await, &names, dir.error());
    // The app goes on: recording and the in-app stores still work.
    assert_eq!(telemetry.traces().len(), 1);

    dir.make_writable();
    write_all(&telemetry).await;
    telemetry.force_flush().await;
    assert_all_healthy(&telemetry.get_export_status().await, &names);
    telemetry.shutdown().await;
}

/// Hangs while `hang` is set, then answers Healthy.
struct Stuck {
    hang: Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait::async_trait]
impl HealthCheck for Stuck {
    fn name(&self) -> &str {
        "render_farm"
    }
    async fn check(&self) -> HealthCheckResult {
        if self.hang.load(std::sync::atomic::Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        HealthCheckResult::new(HealthStatus::Healthy, "farm answers")
    }
    fn timeout(&self) -> Option<Duration> {
        Some(Duration::from_millis(200))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_health_check_times_out_costs_no_task_and_recovers() {
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    let telemetry = common::start(config).await;
    let hang = Arc::new(std::sync::atomic::AtomicBool::new(true));
    telemetry
        .health()
        .add_check(Box::new(Stuck { hang: hang.clone() }))
        .await
        .unwrap();
    let runtime = tokio::runtime::Handle::current().metrics();
    let tasks_before = runtime.num_alive_tasks();
    for _ in 0..20 {
        let started = Instant::now();
        let report = telemetry.health().refresh().await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let check = &report.checks["render_farm"];
        assert_eq!(check.status, HealthStatus::Unhealthy);
        assert!(
            check.message.contains("timed out after 200ms"),
            "{}",
            check.message
        );
        // The other checks are still answered.
        assert!(report.checks.contains_key("exporters"));
    }
    // Each hung run was cancelled, not left behind.
    assert!(
        runtime.num_alive_tasks() <= tasks_before + 1,
        "{} tasks alive, {tasks_before} before",
        runtime.num_alive_tasks()
    );
    hang.store(false, std::sync::atomic::Ordering::SeqCst);
    let report = telemetry.health().refresh().await;
    assert_eq!(report.checks["render_farm"].status, HealthStatus::Healthy);
    telemetry.shutdown().await;
}

/// Opens `GET /api/subscribe_series` on a socket with a small receive buffer and returns it
/// unread.
async fn open_stream(addr: &str, query: &str) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr.parse().unwrap()).await.unwrap();
    stream
        .write_all(
            format!("GET /api/subscribe_series?{query} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    stream
}

/// The next `update` event's `(seq, dropped)` from a Server-Sent Events stream.
async fn next_update(lines: &mut tokio::io::Lines<BufReader<tokio::net::TcpStream>>) -> (u64, u64) {
    loop {
        let line = lines.next_line().await.unwrap().unwrap();
        if let Some(data) = line.strip_prefix("data: ") {
            let update: serde_json::Value = serde_json::from_str(data).unwrap();
            return (
                update["seq"].as_u64().unwrap(),
                update["dropped"].as_u64().unwrap(),
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_never_reads_skips_updates_and_the_others_go_on() {
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    let runtime = tokio::runtime::Handle::current().metrics();
    let tasks_before = runtime.num_alive_tasks();
    let telemetry = common::start(config).await;
    // 1,500 series with long labels: each update is ~150 KB, so an unread socket fills fast.
    let label = "x".repeat(64);
    for i in 0..1500 {
        telemetry
            .metrics()
            .set(
                "render_slot_state",
                i as f64,
                &[opentelemetry::KeyValue::new("slot", format!("{label}{i}"))],
            )
            .unwrap();
    }
    telemetry.collect_now().await;
    let addr = telemetry.dashboard_urls().await[0]
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let query = "selectors=%5B%7B%22name%22%3A%22render_slot_state%22%7D%5D&intervalMs=50";
    let stalled = open_stream(&addr, query).await;
    let reader = open_stream(&addr, query).await;
    // A stream sends only when the store has something new: collections twice a tick
    // keep every tick busy until the shutdown.
    let feeding = tokio::spawn({
        let telemetry = telemetry.clone();
        async move {
            loop {
                telemetry.collect_now().await;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    });

    // The reader gets 60 updates in order (3 s of ticks) while the other never reads.
    let mut lines = BufReader::new(reader).lines();
    let mut last = (0, 0);
    for _ in 0..60 {
        let update = next_update(&mut lines).await;
        assert_eq!(
            update.0,
            last.0 + 1,
            "updates reach the reading subscriber in order"
        );
        last = update;
    }

    // The stalled one now reads: what waited for it is a bounded backlog, then updates that
    // say how many ticks were skipped rather than queued.
    let mut stalled = BufReader::new(stalled).lines();
    let (mut seq, mut dropped) = next_update(&mut stalled).await;
    let mut backlog = 1;
    while dropped == 0 {
        (seq, dropped) = next_update(&mut stalled).await;
        backlog += 1;
    }
    assert!(
        backlog < 40,
        "{backlog} updates were queued for a reader that did not read"
    );
    assert!(dropped >= 20, "only {dropped} ticks skipped");
    // Reading again, it is back in step: consecutive updates, no new skips.
    let (next_seq, next_dropped) = next_update(&mut stalled).await;
    assert_eq!(next_seq, seq + 1);
    assert!(next_dropped <= dropped + 1);
    // Neither client reads now: the shutdown still ends, within the server's grace.
    feeding.abort();
    let _ = feeding.await;
    let stopping = Instant::now();
    telemetry.shutdown().await;
    assert!(
        stopping.elapsed() < telemetry_engine::server::SHUTDOWN_GRACE + Duration::from_secs(3),
        "{:?}",
        stopping.elapsed()
    );
    // And no connection task is left behind for the clients that never read (aborted
    // tasks end when the runtime next polls them: no event to await, so the count is
    // polled, for at most 5 s).
    let deadline = Instant::now() + Duration::from_secs(5);
    while runtime.num_alive_tasks() > tasks_before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        runtime.num_alive_tasks(),
        tasks_before,
        "tasks alive after the shutdown"
    );
    drop((stalled, lines));
}
