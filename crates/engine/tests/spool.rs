//! The durable offline spool, end to end: an app whose collector is down keeps what it
//! records on disk, survives SIGKILL and graceful exits, and sends everything once the
//! collector answers, oldest first, exactly once.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::path::Path;
use std::time::Duration;

use common::otlp::HttpReceiver;
use telemetry_engine::config::{OtlpExporterConfig, TelemetryConfig, TracingExporter};
use telemetry_engine::export::ExportStatus;
use telemetry_engine::TelemetryManager;
use tracing_subscriber::layer::SubscriberExt as _;

/// Set in the child process of the SIGKILL test: its data folder and collector port.
const CHILD_DIR: &str = "SPOOL_TEST_CHILD_DIR";
const CHILD_PORT: &str = "SPOOL_TEST_CHILD_PORT";

/// Spans, logs and metrics to OTLP/HTTP on 127.0.0.1:`port`, with the spool in `dir`.
fn config(dir: &Path, port: u16) -> TelemetryConfig {
    let base = format!("http://127.0.0.1:{port}");
    let mut config = TelemetryConfig::default();
    config.storage.dir = Some(dir.display().to_string());
    config.metrics.system_collectors = false;
    config.metrics.collection_interval = Duration::from_millis(100);
    config.metrics.export_interval = Duration::from_millis(200);
    config.tracing.batch_export.export_interval = Duration::from_millis(100);
    config.tracing.batch_export.max_export_timeout = Duration::from_secs(2);
    config.logs.batch_export.export_interval = Duration::from_millis(100);
    config.logs.batch_export.max_export_timeout = Duration::from_secs(2);
    common::otlp_everything(config, &base)
}

/// Records `n` spans named `<run>` (one log record in each) and adds `n` to
/// `frames_total{run}`; returns the span ids.
fn record(telemetry: &TelemetryManager, run: &'static str, n: usize) -> Vec<String> {
    let dispatch =
        tracing::Dispatch::new(tracing_subscriber::registry().with(telemetry.tracing_layer()));
    let ids = tracing::dispatcher::with_default(&dispatch, || {
        (0..n)
            .map(|i| {
                telemetry
                    .tracer()
                    .trace(run, |span| {
                        span.set_attribute("frame", i as i64);
                        tracing::info!(run, frame = i, "frame rendered");
                        Ok::<_, String>(span.span_id())
                    })
                    .unwrap()
            })
            .collect()
    });
    telemetry
        .metrics()
        .add(
            "frames_total",
            n as u64,
            &[opentelemetry::KeyValue::new("run", run)],
        )
        .unwrap();
    ids
}

/// Waits until every exporter says it is spooling.
async fn all_spooling(telemetry: &TelemetryManager) {
    common::eventually(
        "every exporter spooling",
        Duration::from_secs(20),
        || async {
            let status = telemetry.get_export_status().await;
            let otlp: Vec<_> = status
                .iter()
                .filter(|(n, _)| n.contains(":otlp:"))
                .collect();
            (otlp.len() == 3
                && otlp.iter().all(
                    |(_, s)| matches!(s, ExportStatus::Degraded(r) if r.starts_with("spooling")),
                ))
            .then_some(())
        },
    )
    .await;
}

/// The batches the metrics exporter has in the spool, from its status.
async fn metric_batches(telemetry: &TelemetryManager) -> usize {
    let status = telemetry.get_export_status().await;
    status
        .iter()
        .find(|(name, _)| name.starts_with("metrics:otlp:"))
        .and_then(|(_, s)| match s {
            ExportStatus::Degraded(r) => {
                r.strip_prefix("spooling ")?.split(' ').next()?.parse().ok()
            }
            _ => None,
        })
        .unwrap_or(0)
}

/// Span ids per span name, with how often each arrived.
fn spans_by_name(receiver: &mut HttpReceiver, into: &mut BTreeMap<String, BTreeMap<String, u32>>) {
    while let Ok((request, _)) = receiver.rx.try_recv() {
        for span in request
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
        {
            let id: String = span.span_id.iter().map(|b| format!("{b:02x}")).collect();
            *into
                .entry(span.name.clone())
                .or_default()
                .entry(id)
                .or_default() += 1;
        }
    }
}

/// Log records per `run` attribute value.
fn logs_by_run(receiver: &mut HttpReceiver, into: &mut BTreeMap<String, usize>) {
    while let Ok(request) = receiver.logs.try_recv() {
        for record in request
            .resource_logs
            .iter()
            .flat_map(|rl| &rl.scope_logs)
            .flat_map(|sl| &sl.log_records)
        {
            let run = record
                .attributes
                .iter()
                .find(|kv| kv.key == "run")
                .and_then(|kv| kv.value.as_ref())
                .map(|v| format!("{v:?}"));
            if let Some(run) = run {
                *into.entry(run).or_default() += 1;
            }
        }
    }
}

/// The largest `frames{run}` value received.
fn frames_of(receiver: &mut HttpReceiver, run: &str, seen: &mut f64) {
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
    while let Ok(request) = receiver.metrics.try_recv() {
        for metric in request
            .resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            // OTLP names counters without Prometheus's `_total`.
            .filter(|m| m.name == "frames")
        {
            let Some(Data::Sum(sum)) = &metric.data else {
                continue;
            };
            for point in &sum.data_points {
                let ours = point
                    .attributes
                    .iter()
                    .any(|kv| kv.key == "run" && format!("{:?}", kv.value).contains(run));
                let value = match point.value {
                    Some(Value::AsInt(v)) => v as f64,
                    Some(Value::AsDouble(v)) => v,
                    None => continue,
                };
                if ours {
                    *seen = seen.max(value);
                }
            }
        }
    }
}

/// The child process of the SIGKILL test: records while the collector is down, waits
/// until all of it is on disk, says so, and waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of the_spool_survives_sigkill_and_every_span_arrives_exactly_once"]
async fn spool_child() {
    let dir = std::env::var(CHILD_DIR).unwrap();
    let port: u16 = std::env::var(CHILD_PORT).unwrap().parse().unwrap();
    let telemetry = common::start(config(Path::new(&dir), port)).await;
    let ids = record(&telemetry, "before_kill", 25);
    telemetry.collect_now().await;
    telemetry.force_flush().await;
    all_spooling(&telemetry).await;
    // A metrics push made after the recording is on disk: two more batches than now (the
    // push under way now may have read the metrics before the recording ended).
    let now = metric_batches(&telemetry).await;
    common::eventually(
        "a later metrics push spooled",
        Duration::from_secs(20),
        || async { (metric_batches(&telemetry).await >= now + 2).then_some(()) },
    )
    .await;
    for id in ids {
        println!("SPAN {id}");
    }
    println!("READY");
    std::future::pending::<()>().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spool_survives_sigkill_and_every_span_arrives_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    // The app, in a process of its own, with the collector down.
    let mut child = common::ChildGuard(
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "spool_child", "--nocapture"])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_PORT, port.to_string())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = std::io::BufReader::new(child.0.stdout.take().unwrap());
    let mut recorded = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(id) = line.strip_prefix("SPAN ") {
            recorded.push(id.to_owned());
        }
        if line == "READY" {
            break;
        }
    }
    assert_eq!(recorded.len(), 25, "the child recorded its spans");
    // SIGKILL: no shutdown, no flush, nothing the process could still do.
    child.0.kill().unwrap();
    child.0.wait().unwrap();

    // The collector comes up; the app starts again on the same data folder.
    let mut receiver = common::otlp::http_receiver(port).await;
    let telemetry = common::start(config(dir.path(), port)).await;
    let after = record(&telemetry, "after_restart", 5);
    telemetry.collect_now().await;
    telemetry.force_flush().await;

    let mut spans = BTreeMap::new();
    let mut logs = BTreeMap::new();
    let mut frames = 0.0;
    common::eventually("everything arrived", Duration::from_secs(30), || {
        spans_by_name(&mut receiver, &mut spans);
        logs_by_run(&mut receiver, &mut logs);
        frames_of(&mut receiver, "before_kill", &mut frames);
        let done = spans.get("before_kill").map_or(0, BTreeMap::len) == 25
            && spans.get("after_restart").map_or(0, BTreeMap::len) == 5
            && logs.values().sum::<usize>() >= 30
            && frames >= 25.0;
        async move { done.then_some(()) }
    })
    .await;
    // Give a duplicate the chance to show itself: drain once more after a flush.
    telemetry.force_flush().await;
    spans_by_name(&mut receiver, &mut spans);

    let mut before: Vec<_> = spans["before_kill"].keys().cloned().collect();
    before.sort();
    recorded.sort();
    assert_eq!(
        before, recorded,
        "every span recorded before the kill arrived"
    );
    let mut new: Vec<_> = spans["after_restart"].keys().cloned().collect();
    new.sort();
    let mut after = after;
    after.sort();
    assert_eq!(new, after, "and the new ones");
    for (name, ids) in &spans {
        for (id, times) in ids {
            assert_eq!(*times, 1, "span {name} {id} arrived {times} times");
        }
    }
    common::eventually("the spool is empty", Duration::from_secs(10), || async {
        let text = telemetry.render_prometheus().unwrap();
        let waiting = text
            .lines()
            .filter(|l| l.starts_with("telemetry_spool_bytes{"))
            .any(|l| !l.ends_with(" 0"));
        let healthy = telemetry
            .get_export_status()
            .await
            .iter()
            .filter(|(n, _)| n.contains(":otlp:"))
            .all(|(_, s)| *s == ExportStatus::Healthy);
        (!waiting && healthy).then_some(())
    })
    .await;
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_exit_keeps_what_it_could_not_send_and_the_next_launch_sends_it() {
    let dir = tempfile::tempdir().unwrap();
    // A collector that accepts connections and never answers: the last flush cannot
    // finish, and the exit must not wait for it beyond shutdown_timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut hung = config(dir.path(), port);
    hung.shutdown_timeout = Duration::from_secs(2);
    hung.metrics.exporters.clear();
    hung.logs.exporters.clear();
    hung.tracing.batch_export.export_interval = Duration::from_secs(60);
    hung.tracing.batch_export.max_export_timeout = Duration::from_secs(30);
    let telemetry = common::start(hung).await;
    let ids = record(&telemetry, "at_exit", 7);
    let started = std::time::Instant::now();
    telemetry.shutdown().await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "the exit took {took:?}");
    drop(telemetry);
    drop(silent);

    let mut receiver = common::otlp::http_receiver(port).await;
    let telemetry = common::start(config(dir.path(), port)).await;
    let mut spans = BTreeMap::new();
    common::eventually("the kept spans arrived", Duration::from_secs(20), || {
        spans_by_name(&mut receiver, &mut spans);
        let n = spans.get("at_exit").map_or(0, BTreeMap::len);
        async move { (n == 7).then_some(()) }
    })
    .await;
    let mut got: Vec<_> = spans["at_exit"].keys().cloned().collect();
    got.sort();
    let mut ids = ids;
    ids.sort();
    assert_eq!(got, ids);
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_batch_is_not_spooled_and_a_corrupt_file_is_skipped_and_counted() {
    use axum::http::StatusCode;
    let dir = tempfile::tempdir().unwrap();
    // A collector that refuses everything with 400: not retryable, nothing kept.
    let app = axum::Router::new()
        .fallback(|| async { (StatusCode::BAD_REQUEST, "span name must not be empty") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut only_traces = config(dir.path(), port);
    only_traces.metrics.exporters.clear();
    only_traces.logs.exporters.clear();
    let telemetry = common::start(only_traces.clone()).await;
    record(&telemetry, "refused", 3);
    telemetry.force_flush().await;
    let name = format!("traces:otlp:http://127.0.0.1:{port}/v1/traces");
    let failure = common::failure_of(&telemetry.get_export_status().await, &name);
    assert!(
        failure.contains("400") && failure.contains("span name must not be empty"),
        "the server's answer is shown: {failure}"
    );
    let text = telemetry.render_prometheus().unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("telemetry_spans_dropped_total{")
                && l.contains("reason=\"rejected\"")
                && l.ends_with(" 3")),
        "{text}"
    );
    telemetry.shutdown().await;
    drop(telemetry);
    server.abort();
    let spool = dir.path().join("spool");
    let batches = walk(&spool, "batch");
    assert!(batches.is_empty(), "nothing refused was kept: {batches:?}");

    // A batch file damaged by hand is skipped, counted, and never sent.
    let folder = std::fs::read_dir(&spool)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .unwrap();
    std::fs::write(folder.join("00000000000000000042.batch"), b"TSP1 torn").unwrap();
    let mut receiver = common::otlp::http_receiver(0).await;
    let mut config = only_traces;
    config.tracing.exporters = vec![TracingExporter::Otlp(OtlpExporterConfig::http(format!(
        "http://{}/v1/traces",
        receiver.addr
    )))];
    // The folder now belongs to the new exporter, so the damaged file is in its queue.
    std::fs::write(
        folder.join("exporter"),
        format!("traces:otlp:http://{}/v1/traces", receiver.addr),
    )
    .unwrap();
    let telemetry = common::start(config).await;
    let text = telemetry.render_prometheus().unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("telemetry_spool_dropped_total{")
                && l.contains("reason=\"corrupt\"")
                && l.contains("signal=\"traces\"")
                && l.ends_with(" 1")),
        "{text}"
    );
    assert!(walk(&spool, "batch").is_empty());
    assert!(receiver.rx.try_recv().is_err(), "nothing damaged was sent");
    telemetry.shutdown().await;
}

/// Files under `dir` with extension `ext` (every file for `""`).
fn walk(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path, ext));
        } else if ext.is_empty() || path.extension().is_some_and(|e| e == ext) {
            found.push(path);
        }
    }
    found
}

/// A config whose one alert rule posts to a webhook (`/hook/<token>`) and PagerDuty on
/// 127.0.0.1:`port`, with the spool in `dir`.
fn alerting(dir: &Path, port: u16, token: &str) -> TelemetryConfig {
    use telemetry_engine::alerts::{AlertAction, AlertRule, AlertSeverity};
    let mut config = TelemetryConfig::default();
    config.storage.dir = Some(dir.display().to_string());
    config.metrics.system_collectors = false;
    config.metrics.collection_interval = Duration::from_millis(100);
    config.alerts.evaluation_interval = Duration::from_millis(100);
    config.alerts.retries = 0;
    config.alerts.delivery_timeout = Duration::from_secs(2);
    config.alerts.pagerduty_url = format!("http://127.0.0.1:{port}");
    let actions = vec![
        AlertAction::Webhook {
            url: format!("http://127.0.0.1:{port}/hook/{token}"),
            payload: None,
            tls: None,
        },
        AlertAction::PagerDuty {
            service_key: "SECRET-ROUTING-KEY".into(),
            description: "{{ $value }} renders waiting".into(),
        },
    ];
    config.alerts.rules = vec![AlertRule {
        name: "queue_backlog".into(),
        condition: "queue_size > 10".into(),
        severity: AlertSeverity::Critical,
        actions,
        ..AlertRule::default()
    }];
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_deliveries_wait_in_the_spool_without_their_secrets_and_arrive_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    // The webhook and PagerDuty are unreachable: the firing notification is kept.
    let telemetry = common::start(alerting(dir.path(), port, "SECRET-WEBHOOK-TOKEN")).await;
    telemetry
        .metrics()
        .set_gauge("queue_size", 25.0)
        .await
        .unwrap();
    let deliveries = common::eventually(
        "the firing entry's deliveries",
        Duration::from_secs(10),
        || {
            let found = telemetry
                .alerts()
                .history()
                .into_iter()
                .find(|e| e.deliveries.len() == 2)
                .map(|e| e.deliveries);
            async move { found }
        },
    )
    .await;
    for delivery in &deliveries {
        let error = delivery.error.as_deref().unwrap_or_default();
        assert!(
            error.contains("kept in the spool"),
            "{}: {error}",
            delivery.action
        );
    }
    let status = telemetry.get_export_status().await;
    assert!(
        matches!(&status["alerts:webhook"], ExportStatus::Degraded(r) if r.starts_with("spooling 1 batches")),
        "{status:?}"
    );
    telemetry.shutdown().await;
    drop(telemetry);
    // What waits on disk names neither the webhook's URL nor the routing key.
    let kept = walk(&dir.path().join("spool"), "batch");
    assert_eq!(kept.len(), 2, "{kept:?}");
    for file in walk(&dir.path().join("spool"), "batch")
        .into_iter()
        .chain(walk(&dir.path().join("spool"), ""))
    {
        let bytes = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(
            !bytes.contains("SECRET-WEBHOOK-TOKEN") && !bytes.contains("SECRET-ROUTING-KEY"),
            "{file:?} holds a secret"
        );
    }

    // The destinations answer; the app starts again with another webhook URL and without
    // the condition holding: the kept PagerDuty event arrives, its routing key put back;
    // the kept webhook notification, whose destination is no longer configured, is
    // dropped and counted.
    let (tx, mut posted) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().fallback(axum::routing::post(
        move |uri: axum::http::Uri, body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
                tx.send((uri.path().to_owned(), body)).unwrap();
                axum::http::StatusCode::ACCEPTED
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let telemetry = common::start(alerting(dir.path(), port, "ANOTHER-TOKEN")).await;
    let (path, body) = tokio::time::timeout(Duration::from_secs(20), posted.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(path, "/v2/enqueue");
    assert_eq!(body["routing_key"], "SECRET-ROUTING-KEY");
    assert_eq!(body["event_action"], "trigger");
    common::eventually("PagerDuty healthy", Duration::from_secs(10), || async {
        (telemetry.get_export_status().await["alerts:pagerduty"] == ExportStatus::Healthy)
            .then_some(())
    })
    .await;
    let text = telemetry.render_prometheus().unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("telemetry_spool_dropped_total{")
                && l.contains("reason=\"unconfigured\"")
                && l.contains("signal=\"alerts\"")
                && l.ends_with(" 1")),
        "{text}"
    );
    assert!(posted.try_recv().is_err(), "nothing else was posted");
    telemetry.shutdown().await;
    server.abort();
}
