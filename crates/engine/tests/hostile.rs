//! Hostile input, faults and deadlines: one test per class of input that used to stop
//! part of the engine silently, panic, block or grow without bound. Each test fails on
//! the code before its fix.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use telemetry_engine::alerts::{AlertAction, AlertRule, AlertSeverity, AlertState};
use telemetry_engine::api;
use telemetry_engine::config::MetricsConfig;
use telemetry_engine::health::HealthStatus;
use telemetry_engine::metrics::{
    MetricSnapshot, SeriesSnapshot, SeriesValue, Snapshot, SnapshotKind,
};
use telemetry_engine::store::SeriesStore;

/// A store holding one collection (at 1 s) of the gauge `name` with `series`.
fn gauge_store(name: &str, series: Vec<SeriesSnapshot>) -> SeriesStore {
    let store = SeriesStore::new(&MetricsConfig::default());
    store.ingest(&Snapshot {
        timestamp_ms: 1_000,
        metrics: vec![MetricSnapshot {
            name: name.into(),
            kind: SnapshotKind::Gauge,
            help: String::new(),
            series,
        }],
    });
    store
}

/// Whether an instance of alert rule `rule` is firing.
fn is_firing(telemetry: &telemetry_engine::TelemetryManager, rule: &str) -> bool {
    telemetry
        .alerts()
        .active()
        .iter()
        .any(|a| a.rule == rule && a.state == AlertState::Firing)
}

fn rule(name: &str, condition: &str) -> AlertRule {
    AlertRule {
        name: name.into(),
        condition: condition.into(),
        severity: AlertSeverity::Warning,
        actions: vec![AlertAction::InApp {}],
        ..AlertRule::default()
    }
}

/// Class: one rule stopping all alerting. `api_errors_rate_inf` looked like the short form
/// `rate(api_errors[inf])`, and turning `inf` into a duration panicked inside the
/// evaluation task, which was not supervised: no rule was evaluated again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_that_panicked_the_evaluation_loop_leaves_the_other_rules_running() {
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    config.metrics.collection_interval = Duration::from_millis(200);
    config.alerts.evaluation_interval = Duration::from_millis(100);
    config.alerts.rules = vec![
        rule("inf_rate", "api_errors_rate_inf > 0"),
        rule("nan_rate", "api_errors_rate_nan > 0"),
        rule("queue_backlog", "queue_size > 10"),
    ];
    let telemetry = common::start(config).await;
    telemetry
        .metrics()
        .counter("api_errors")
        .unwrap()
        .add(3, &[])
        .unwrap();
    telemetry
        .metrics()
        .set_gauge("queue_size", 25.0)
        .await
        .unwrap();
    // Several evaluations run before the gauge reaches the store: the loop must survive them.
    common::eventually("queue_backlog firing", Duration::from_secs(10), || {
        let firing = is_firing(&telemetry, "queue_backlog");
        async move { firing.then_some(()) }
    })
    .await;
    let report = telemetry.health().check_all().await;
    let tasks = &report.checks["background_tasks"];
    assert_eq!(tasks.status, HealthStatus::Healthy, "{}", tasks.message);
    let text = telemetry.render_prometheus().unwrap();
    assert!(
        !text.contains("telemetry_task_panics_total{"),
        "no task panicked:\n{text}"
    );
    telemetry.shutdown().await;
}

/// Class: numbers from the network that become durations. A huge `minDurationMs` panicked
/// the HTTP handler of `list_traces` (a read command, no token needed).
#[tokio::test]
async fn numbers_that_become_durations_are_bad_arguments_not_panics() {
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    let telemetry = telemetry_engine::TelemetryManager::new(config)
        .await
        .unwrap();
    for value in ["1e300", "-1", "1e23"] {
        let args: serde_json::Value =
            serde_json::from_str(&format!(r#"{{"filter": {{"minDurationMs": {value}}}}}"#))
                .unwrap();
        let err = api::read(telemetry.sources(), "list_traces", &args)
            .await
            .expect_err(value)
            .to_string();
        assert!(err.contains("filter.minDurationMs"), "{value}: {err}");
    }
}

/// Class: conditions that validate, then panic or overflow. A range written as a huge
/// number (`x[1e300]`) panicked the parser at startup (exit 101 instead of a config
/// error), and a short condition nested deeply overflowed a worker's stack.
#[tokio::test]
async fn hostile_conditions_are_config_errors_that_name_the_field() {
    for (condition, expected) in [
        ("rate(api_errors_total[1e300]) > 0", "out of range"),
        ("rate(api_errors_total[Inf]) > 0", "out of range"),
        (&format!("{}x > 0", "-".repeat(500)), "levels of nesting"),
        (&format!("x{} > 0", " + x".repeat(400)), "levels of nesting"),
    ] {
        let mut config = common::config_with_prometheus(false);
        config.alerts.rules = vec![rule("hostile", condition)];
        let err = match telemetry_engine::TelemetryManager::new(config).await {
            Ok(_) => panic!("{condition:.40} was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("alerts.rules[0].condition") && err.contains(expected),
            "{condition:.40}: {err}"
        );
    }
}

/// A server that accepts connections and never answers; it stops with the test's runtime.
async fn hanging_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

/// Class: deliveries blocking evaluation and shutdown. A webhook that never answers kept
/// the evaluation loop inside its retries (other rules not evaluated) and shutdown
/// waiting for them (45 s after SIGINT).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_webhook_blocks_neither_evaluation_nor_shutdown() {
    let hanging = hanging_server().await;
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    config.metrics.collection_interval = Duration::from_millis(200);
    config.alerts.evaluation_interval = Duration::from_millis(100);
    config.alerts.delivery_timeout = Duration::from_secs(60);
    let mut paged = rule("queue_backlog", "queue_size > 10");
    paged.actions = vec![AlertAction::Webhook {
        url: format!("http://{hanging}/hook"),
        payload: None,
        tls: None,
    }];
    config.alerts.rules = vec![paged, rule("render_stalled", "render_stalled > 0")];
    let telemetry = common::start(config).await;
    telemetry
        .metrics()
        .set_gauge("queue_size", 25.0)
        .await
        .unwrap();
    let firing = |name: &'static str| {
        let telemetry = telemetry.clone();
        move || {
            let found = is_firing(&telemetry, name);
            async move { found.then_some(()) }
        }
    };
    common::eventually(
        "queue_backlog firing",
        Duration::from_secs(10),
        firing("queue_backlog"),
    )
    .await;
    // Its webhook now hangs for a minute; the next rule must still fire.
    telemetry
        .metrics()
        .set_gauge("render_stalled", 1.0)
        .await
        .unwrap();
    common::eventually(
        "render_stalled firing",
        Duration::from_secs(10),
        firing("render_stalled"),
    )
    .await;
    let history = telemetry.alerts().history();
    let paged = history
        .iter()
        .find(|e| e.notification.rule == "queue_backlog")
        .unwrap();
    assert!(paged.delivering && paged.deliveries.is_empty(), "{paged:?}");
    tokio::time::timeout(Duration::from_secs(5), telemetry.shutdown())
        .await
        .expect("shutdown gives a hanging delivery 2 s, then abandons it");
}

/// Class: unbounded queues. More notifications than the delivery queue holds: the rest
/// are refused, counted and written into their history entries, not queued without bound.
#[tokio::test]
async fn a_full_delivery_queue_refuses_and_records_each_notification() {
    use telemetry_engine::alerts::AlertManager;
    use telemetry_engine::config::AlertsConfig;
    const INSTANCES: usize = 300;
    let hanging = hanging_server().await;
    let alerts = AlertManager::new(&AlertsConfig::default(), "studio");
    let mut paged = rule("encoder_failed", "encoder_failed > 0");
    paged.actions = vec![AlertAction::Webhook {
        url: format!("http://{hanging}/hook"),
        payload: None,
        tls: None,
    }];
    alerts.add_rule(paged).await.unwrap();
    let series = (0..INSTANCES)
        .map(|i| SeriesSnapshot {
            labels: [("job".to_string(), format!("export-{i}"))].into(),
            value: SeriesValue::Number { value: 1.0 },
        })
        .collect();
    let store = gauge_store("encoder_failed", series);
    // One evaluation fires 300 instances at once; on this single-threaded runtime the
    // worker has not taken any yet, so exactly the queue's capacity is accepted.
    let events = alerts.evaluate(&store, 2_000).await;
    assert_eq!(events.len(), INSTANCES);
    let refused: Vec<_> = alerts
        .history()
        .into_iter()
        .filter(|e| {
            e.deliveries.first().and_then(|d| d.error.as_deref())
                == Some("dropped: the delivery queue is full")
        })
        .collect();
    assert_eq!(refused.len(), INSTANCES - 256);
    assert_eq!(refused[0].deliveries[0].attempts, 0);
}

/// Class: deadlines ignored. SMTP did not honour `delivery_timeout`: an SMTP server that
/// accepts and never greets held the delivery for as long as the OS kept the socket.
#[cfg(feature = "email")]
#[tokio::test]
async fn an_smtp_server_that_never_answers_times_out_after_delivery_timeout() {
    use telemetry_engine::alerts::AlertManager;
    use telemetry_engine::config::{AlertsConfig, EmailConfig, SmtpSecurity};
    let hanging = hanging_server().await;
    let alerts = AlertManager::new(
        &AlertsConfig {
            email: Some(EmailConfig {
                smtp_host: "127.0.0.1".into(),
                smtp_port: hanging.port(),
                from: "studio@example.com".into(),
                username: None,
                password: None,
                security: SmtpSecurity::None,
                ca_cert: None,
            }),
            retries: 0,
            delivery_timeout: Duration::from_millis(300),
            ..AlertsConfig::default()
        },
        "studio",
    );
    let mut mailed = rule("disk_full", "disk_free_ratio < 0.1");
    mailed.actions = vec![AlertAction::Email {
        recipients: vec!["oncall@example.com".into()],
        subject: "disk".into(),
    }];
    alerts.add_rule(mailed).await.unwrap();
    let store = gauge_store(
        "disk_free_ratio",
        vec![SeriesSnapshot {
            labels: Default::default(),
            value: SeriesValue::Number { value: 0.05 },
        }],
    );
    alerts.evaluate(&store, 2_000).await;
    tokio::time::timeout(Duration::from_secs(10), alerts.deliveries_done())
        .await
        .expect("the delivery ends at its timeout");
    let history = alerts.history();
    let error = history[0].deliveries[0].error.as_deref().unwrap();
    assert_eq!(error, "email delivery timed out after 300ms");
}

/// Class: a full store dropping new series forever and telling no one. With the store
/// full of series that change every collection, the histogram an alert rule reads never
/// got in, so the rule could never fire; nothing counted or showed it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_series_store_keeps_rule_inputs_and_says_it_is_full() {
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    config.metrics.max_store_series = 60;
    config.metrics.collection_interval = Duration::from_millis(200);
    config.alerts.evaluation_interval = Duration::from_millis(100);
    config.alerts.rules = vec![rule(
        "slow_exports",
        "video_processing_duration_ms_avg > 30000",
    )];
    let telemetry = common::start(config).await;
    let noise = telemetry.metrics().gauge("aaa_noise").unwrap();
    let durations = telemetry
        .metrics()
        .histogram("video_processing_duration_ms")
        .unwrap();
    let mut round = 0.0;
    common::eventually("slow_exports firing", Duration::from_secs(15), || {
        // 200 series that change every collection, then the rule's histogram.
        round += 1.0;
        for i in 0..200 {
            let label = opentelemetry::KeyValue::new("i", i.to_string());
            noise.set(round, &[label]).unwrap();
        }
        durations.record(45_000.0, &[]).unwrap();
        let firing = is_firing(&telemetry, "slow_exports");
        async move { firing.then_some(()) }
    })
    .await;
    assert!(telemetry.store().series_count() <= 60);
    telemetry.collect_now().await;
    let text = telemetry.render_prometheus().unwrap();
    let evicted = text
        .lines()
        .find(|l| l.starts_with(r#"telemetry_store_series_dropped_total{reason="evicted"}"#))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(evicted > 0.0, "evictions are exported:\n{text}");
    let report = telemetry.health().refresh().await;
    let store = &report.checks["series_store"];
    assert_eq!(store.status, HealthStatus::Warning, "{}", store.message);
    assert!(
        store.message.contains("max_store_series"),
        "{}",
        store.message
    );
    telemetry.shutdown().await;
}

fn record(kind: &str, name: &str, value: f64, labels: &[(&str, &str)]) -> api::MetricRecord {
    serde_json::from_value(serde_json::json!({
        "kind": kind,
        "name": name,
        "value": value,
        "labels": labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<std::collections::BTreeMap<_, _>>(),
    }))
    .unwrap()
}

/// Class: the webview's write surface. With the write permission a page could take over
/// the app's metric names (declare one as another kind, overwrite `system_health_status`),
/// create series without bound, break the exposition with label keys Prometheus refuses,
/// and silence an alert forever.
#[tokio::test]
async fn the_webview_writes_in_its_own_namespace_within_its_own_budget() {
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    config.alerts.rules = vec![rule("queue_backlog", "queue_size > 10")];
    let telemetry = telemetry_engine::TelemetryManager::new(config)
        .await
        .unwrap();
    let metrics = telemetry.metrics();
    metrics
        .record_histogram("frame_processing_duration_ms", 16.0)
        .await
        .unwrap();
    // The app's names are out of reach: the page's records land under webview_*.
    for (kind, name) in [
        ("gauge", "frame_processing_duration_ms"),
        ("gauge", "system_health_status"),
    ] {
        api::record_metric(telemetry.sources(), record(kind, name, 3.0, &[])).unwrap();
    }
    metrics
        .record_histogram("frame_processing_duration_ms", 17.0)
        .await
        .unwrap();
    let text = telemetry.render_prometheus().unwrap();
    assert!(
        text.contains("webview_frame_processing_duration_ms 3"),
        "{text}"
    );
    assert!(text.contains("webview_system_health_status 3"), "{text}");
    assert!(
        text.contains("frame_processing_duration_ms_count 2"),
        "{text}"
    );
    // Label keys the exposition cannot carry are refused, from the webview and the app.
    for key in ["le", "__name__", "0abc", "a:b"] {
        let err = api::record_metric(
            telemetry.sources(),
            record("gauge", "ui_load", 1.0, &[(key, "x")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(&format!("attribute key {key:?} is invalid")),
            "{err}"
        );
        let app = metrics.set(
            "render_queue",
            1.0,
            &[opentelemetry::KeyValue::new(key, "x")],
        );
        assert!(app.is_err(), "{key}");
    }
    promtool_accepts(&telemetry.render_prometheus().unwrap());
    // A budget of its own: 1,000 series at most, whatever the page sends.
    let mut refused = None;
    for i in 0..5_000 {
        let value = i.to_string();
        if let Err(e) = api::record_metric(
            telemetry.sources(),
            record("gauge", "ui_item", 1.0, &[("id", &value)]),
        ) {
            refused = Some((i, e.to_string()));
            break;
        }
    }
    let (at, err) = refused.expect("the series budget ends");
    assert!(at <= api::MAX_WEBVIEW_SERIES, "refused only after {at}");
    assert!(
        err.starts_with("record.labels: the webview has created 1000 series"),
        "{err}"
    );
    // The app's own metrics still get in.
    metrics.set_gauge("render_queue_depth", 2.0).await.unwrap();
    // Silences from the webview end within a day.
    let err = api::silence_alert(telemetry.sources(), "queue_backlog", u64::MAX)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("durationMs: "), "{err}");
    api::silence_alert(telemetry.sources(), "queue_backlog", api::MAX_SILENCE_MS).unwrap();
}

/// `promtool check metrics` parses `text` (lint findings are fine; a parse error is not).
fn promtool_accepts(text: &str) {
    use std::io::Write as _;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus) is installed by make setup");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!said.contains("error while linting"), "{said}");
}

/// Class: configs that validate, then crash, hang or balloon. A metrics `path` that
/// collided with a built-in route panicked at startup; `max_batch_size: 5000000` allocated
/// ~1.9 GiB at once; a huge `max_files` stalled collection and shutdown; absurd intervals
/// overflowed. Every numeric field has an upper bound, every path is checked against the
/// server's routes.
#[test]
fn configs_that_would_crash_hang_or_balloon_are_refused_with_the_field() {
    use telemetry_engine::config::TelemetryConfig;
    let refused = |json: &str, field: &str| {
        let err = match TelemetryConfig::from_json(json).and_then(|c| c.validate().map(|_| c)) {
            Ok(_) => panic!("accepted: {json}"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(field), "{json}: {err}");
    };
    for path in [
        "/",
        "/health",
        "/health/live",
        "/health/ready",
        "/api/events",
        "/api/get_config",
        "/api/subscribe_series",
        "/assets/dashboard.js",
        "/{id}",
        "/*rest",
        "/:x",
        "//m",
    ] {
        refused(
            &format!(
                r#"{{"metrics": {{"exporters": [{{"Prometheus": {{"port": 9464, "path": "{path}"}}}}]}}}}"#
            ),
            "metrics.exporters[0].Prometheus.path",
        );
    }
    for (json, field) in [
        (
            r#"{"tracing": {"batch_export": {"max_batch_size": 5000000}}}"#,
            "tracing.batch_export.max_batch_size",
        ),
        (
            r#"{"logs": {"batch_export": {"export_interval": "100years"}}}"#,
            "logs.batch_export.export_interval",
        ),
        (
            r#"{"metrics": {"exporters": [{"File": {"path": "m.json", "max_files": 4000000000}}]}}"#,
            "metrics.exporters[0].File.max_files",
        ),
        (
            r#"{"metrics": {"collection_interval": "1000years"}}"#,
            "metrics.collection_interval",
        ),
        (
            r#"{"metrics": {"max_store_series": 1000000, "max_points_per_series": 100000}}"#,
            "metrics.max_store_series",
        ),
        (
            r#"{"metrics": {"max_metrics": 18446744073709551615}}"#,
            "metrics.max_metrics",
        ),
        (
            r#"{"health": {"check_interval": "1000years"}}"#,
            "health.check_interval",
        ),
        (
            r#"{"alerts": {"evaluation_interval": "1000years"}}"#,
            "alerts.evaluation_interval",
        ),
        (r#"{"alerts": {"retries": 4000000000}}"#, "alerts.retries"),
        (
            r#"{"logs": {"store_capacity": 1000000000000}}"#,
            "logs.store_capacity",
        ),
    ] {
        refused(json, field);
    }
}

/// `request` on a fresh connection to `addr`; the whole answer.
async fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// `GET path` on a fresh connection to `addr`; the whole answer.
async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    raw(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await
}

/// A started manager with its HTTP server and the server's address.
async fn served() -> (
    std::sync::Arc<telemetry_engine::TelemetryManager>,
    std::net::SocketAddr,
) {
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    let telemetry = common::start(config).await;
    let addr = telemetry.prometheus_addrs().await[0];
    (telemetry, addr)
}

/// Class: the HTTP server trusting any page. A page that rebinds its DNS name to
/// 127.0.0.1 read logs, traces and the config; any site could send requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebound_hosts_and_cross_site_origins_are_refused() {
    let (telemetry, addr) = served().await;
    let post = |host: &str, origin: Option<&str>| {
        let origin = origin
            .map(|o| format!("Origin: {o}\r\n"))
            .unwrap_or_default();
        format!("POST /api/get_config HTTP/1.1\r\nHost: {host}\r\n{origin}Content-Length: 0\r\nConnection: close\r\n\r\n")
    };
    let answer = raw(addr, &post(&addr.to_string(), None)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let port = addr.port();
    let rebound = raw(
        addr,
        &post(&format!("studio-stats.evil.example:{port}"), None),
    )
    .await;
    assert!(rebound.starts_with("HTTP/1.1 421"), "{rebound}");
    assert!(!rebound.contains("service_name"), "{rebound}");
    let cross = raw(addr, &post(&addr.to_string(), Some("https://evil.example"))).await;
    assert!(cross.starts_with("HTTP/1.1 403"), "{cross}");
    let same = raw(
        addr,
        &post(&addr.to_string(), Some(&format!("http://{addr}"))),
    )
    .await;
    assert!(same.starts_with("HTTP/1.1 200"), "{same}");
    telemetry.shutdown().await;
}

/// Class: connections held forever. A client that sent headers and never its body, or
/// nothing at all, held its connection (and a descriptor) forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_slow_body_connections_are_closed_after_the_request_timeout() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let (telemetry, addr) = served().await;
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        format!("POST /api/get_logs HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 100\r\n\r\n{{")
            .as_bytes(),
    )
    .await
    .unwrap();
    let deadline = telemetry_engine::server::REQUEST_TIMEOUT + Duration::from_secs(5);
    for (what, stream) in [("silent", &mut silent), ("slow body", &mut slow)] {
        let mut rest = Vec::new();
        tokio::time::timeout(deadline, stream.read_to_end(&mut rest))
            .await
            .unwrap_or_else(|_| panic!("the {what} connection is still open after {deadline:?}"))
            .unwrap();
    }
    // Meanwhile and after, others are served.
    let answer = get(addr, "/health").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    telemetry.shutdown().await;
}

/// Class: streams without limits. A stream's selectors were not capped (1,000 selectors
/// cost most of a core each), and an `/api/events` client that hung up left its
/// forwarding tasks behind until the next event of each kind (perhaps never).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_selectors_are_capped_and_a_closed_event_stream_frees_its_tasks_at_once() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let (telemetry, addr) = served().await;
    let selectors: Vec<_> = (0..1000)
        .map(|i| serde_json::json!({"name": format!("m{i}")}))
        .collect();
    let query = format!(
        "selectors={}&intervalMs=1000",
        percent_encoding::utf8_percent_encode(
            &serde_json::to_string(&selectors).unwrap(),
            percent_encoding::NON_ALPHANUMERIC
        )
    );
    let answer = get(addr, &format!("/api/subscribe_series?{query}")).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("at most 32 per stream"), "{answer}");

    let runtime = tokio::runtime::Handle::current().metrics();
    let baseline = runtime.num_alive_tasks();
    let mut events = tokio::net::TcpStream::connect(addr).await.unwrap();
    events
        .write_all(
            format!(
                "GET /api/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut head = [0_u8; 12];
    events.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    assert!(runtime.num_alive_tasks() > baseline, "its forwarder runs");
    drop(events);
    // No event is sent: the tasks must end because the client went away.
    common::eventually(
        "the event stream's tasks to end",
        Duration::from_secs(5),
        || {
            let alive = runtime.num_alive_tasks();
            async move { (alive <= baseline).then_some(()) }
        },
    )
    .await;
    telemetry.shutdown().await;
}

/// Class: shutdown without a deadline. With an OTLP receiver that hangs, stopping took
/// 11 s; with a webhook or a stream client that hangs too, longer. Now one deadline,
/// `shutdown_timeout`, bounds the whole of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_by_its_deadline_with_every_exporter_hanging() {
    use telemetry_engine::config::{LogsExporter, OtlpExporterConfig, TracingExporter};
    use tokio::io::AsyncWriteExt as _;
    let hanging = hanging_server().await;
    let endpoint = |path: &str| OtlpExporterConfig::http(format!("http://{hanging}{path}"));
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    config.shutdown_timeout = Duration::from_secs(3);
    config.tracing.batch_export.max_export_timeout = Duration::from_secs(60);
    config.logs.batch_export.max_export_timeout = Duration::from_secs(60);
    config.tracing.exporters = vec![TracingExporter::Otlp(endpoint("/v1/traces"))];
    config.logs.exporters = vec![LogsExporter::Otlp(endpoint("/v1/logs"))];
    config.alerts.evaluation_interval = Duration::from_millis(100);
    config.metrics.collection_interval = Duration::from_millis(200);
    let mut paged = rule("queue_backlog", "queue_size > 10");
    paged.actions = vec![AlertAction::Webhook {
        url: format!("http://{hanging}/hook"),
        payload: None,
        tls: None,
    }];
    config.alerts.rules = vec![paged];
    let telemetry = common::start(config).await;
    let addr = telemetry.prometheus_addrs().await[0];
    // Spans and log records queued for the hanging receiver, a webhook in flight, and an
    // event stream whose client never reads.
    for i in 0..50 {
        telemetry
            .tracer()
            .trace("render", |_| Ok::<_, String>(i))
            .unwrap();
    }
    telemetry
        .metrics()
        .set_gauge("queue_size", 25.0)
        .await
        .unwrap();
    common::eventually(
        "the webhook to be under way",
        Duration::from_secs(10),
        || {
            let delivering = telemetry.alerts().history().iter().any(|e| e.delivering);
            async move { delivering.then_some(()) }
        },
    )
    .await;
    let mut unread = tokio::net::TcpStream::connect(addr).await.unwrap();
    unread
        .write_all(format!("GET /api/events HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let stopping = tokio::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(5), telemetry.shutdown())
        .await
        .expect("shutdown within shutdown_timeout (3 s) and a little slack");
    assert!(
        stopping.elapsed() >= Duration::from_millis(500),
        "something was waited for"
    );
    drop(unread);
}

/// Class: one client taking every place. Connections and series streams are counted per
/// client address as well as in all: one client's extra connections close at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_hold_every_connection() {
    use tokio::io::AsyncReadExt as _;
    let (telemetry, addr) = served().await;
    let mut held = Vec::new();
    for _ in 0..telemetry_engine::server::MAX_CONNECTIONS_PER_PEER {
        held.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let mut extra = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut rest = Vec::new();
    // Closed as it comes, long before the 10 s a silent connection gets.
    tokio::time::timeout(Duration::from_secs(3), extra.read_to_end(&mut rest))
        .await
        .expect("the extra connection is closed at once")
        .unwrap();
    assert!(rest.is_empty());
    drop(held);
    // Once they are gone, the client is served again.
    common::eventually("a place for the client", Duration::from_secs(5), || async {
        get(addr, "/health")
            .await
            .starts_with("HTTP/1.1 200")
            .then_some(())
    })
    .await;
    telemetry.shutdown().await;
}
