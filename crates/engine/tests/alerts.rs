//! Alert notifications delivered to real servers started by the tests: an HTTP receiver
//! for webhooks and PagerDuty, and an SMTP server (Python's aiosmtpd) with STARTTLS.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use telemetry_engine::alerts::{
    AlertAction, AlertEvent, AlertManager, AlertRule, AlertSeverity, AlertState,
};
use telemetry_engine::config::{AlertsConfig, MetricsConfig};
use telemetry_engine::export::ExportStatus;
use telemetry_engine::metrics::{
    MetricSnapshot, SeriesSnapshot, SeriesValue, Snapshot, SnapshotKind,
};
use telemetry_engine::store::SeriesStore;
use tokio::sync::mpsc;

type Posted = (String, serde_json::Value);

#[derive(Clone)]
struct Receiver {
    tx: mpsc::UnboundedSender<Posted>,
    /// Requests to `/flaky` answered 500 before the first 200.
    flaky_failures: Arc<AtomicUsize>,
}

/// An HTTP server recording every JSON body posted to it, by path.
async fn receiver(flaky_failures: usize) -> (SocketAddr, mpsc::UnboundedReceiver<Posted>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let state = Receiver {
        tx,
        flaky_failures: Arc::new(AtomicUsize::new(flaky_failures)),
    };
    async fn record(
        State(r): State<Receiver>,
        uri: axum::http::Uri,
        body: axum::body::Bytes,
    ) -> StatusCode {
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if uri.path() == "/flaky"
            && r.flaky_failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        r.tx.send((uri.path().to_owned(), body)).unwrap();
        StatusCode::ACCEPTED
    }
    let app = axum::Router::new()
        .fallback(axum::routing::post(record))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, rx)
}

fn store_with_cpu(at_ms: i64, value: f64) -> SeriesStore {
    let store = SeriesStore::new(&MetricsConfig::default());
    ingest_cpu(&store, at_ms, value);
    store
}

fn ingest_cpu(store: &SeriesStore, at_ms: i64, value: f64) {
    store.ingest(&Snapshot {
        timestamp_ms: at_ms,
        metrics: vec![MetricSnapshot {
            name: "system_cpu_usage_percent".into(),
            kind: SnapshotKind::Gauge,
            help: String::new(),
            series: vec![SeriesSnapshot {
                labels: [("host".to_string(), "render-1".to_string())].into(),
                value: SeriesValue::Number { value },
            }],
        }],
    });
}

/// Evaluates at `now`, waits for the deliveries it queued, and returns its history
/// entries with their outcomes.
async fn evaluate_delivered(
    alerts: &AlertManager,
    store: &SeriesStore,
    now: i64,
) -> Vec<AlertEvent> {
    let count = alerts.evaluate(store, now).await.len();
    alerts.deliveries_done().await;
    let history = alerts.history();
    history[history.len() - count..].to_vec()
}

fn rule(actions: Vec<AlertAction>) -> AlertRule {
    AlertRule {
        name: "HighCPUUsage".into(),
        condition: "system_cpu_usage_percent > 80".into(),
        severity: AlertSeverity::Critical,
        description: "CPU on {{ $labels.host }} at {{ $value }}%".into(),
        actions,
        ..AlertRule::default()
    }
}

fn fast_retries() -> AlertsConfig {
    AlertsConfig {
        retries: 2,
        retry_backoff: Duration::from_millis(20),
        delivery_timeout: Duration::from_secs(5),
        ..AlertsConfig::default()
    }
}

const T0: i64 = 1_764_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_and_pagerduty_receive_their_bodies_on_firing_and_resolve() {
    let (addr, mut posted) = receiver(0).await;
    let config = AlertsConfig {
        pagerduty_url: format!("http://{addr}"),
        ..fast_retries()
    };
    let alerts = AlertManager::new(&config, "studio");
    alerts
        .add_rule(rule(vec![
            AlertAction::Webhook {
                url: format!("http://{addr}/alertmanager"),
                payload: None,
                tls: None,
            },
            AlertAction::Webhook {
                url: format!("http://{addr}/slack"),
                payload: Some(serde_json::json!({
                    "text": "🚨 {{ $labels.host }} CPU at {{ $value }}%", "channel": "#alerts"
                })),
                tls: None,
            },
            AlertAction::PagerDuty {
                service_key: "routing-key-123".into(),
                description: "Critical: CPU {{ $value }}%".into(),
            },
        ]))
        .await
        .unwrap();
    let store = store_with_cpu(T0, 93.5);
    let events = evaluate_delivered(&alerts, &store, T0).await;
    assert_eq!(events.len(), 1);
    assert!(
        events[0]
            .deliveries
            .iter()
            .all(|d| d.error.is_none() && d.attempts == 1),
        "{:?}",
        events[0].deliveries
    );
    let mut bodies = std::collections::BTreeMap::new();
    for _ in 0..3 {
        let (path, body) = posted.recv().await.unwrap();
        bodies.insert(path, body);
    }
    let am = &bodies["/alertmanager"];
    assert_eq!(am["version"], "4");
    assert_eq!(am["status"], "firing");
    assert_eq!(am["groupLabels"]["alertname"], "HighCPUUsage");
    let alert = &am["alerts"][0];
    assert_eq!(alert["status"], "firing");
    assert_eq!(alert["labels"]["alertname"], "HighCPUUsage");
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["labels"]["host"], "render-1");
    assert_eq!(
        alert["annotations"]["description"],
        "CPU on render-1 at 93.5%"
    );
    assert_eq!(alert["startsAt"], "2025-11-24T16:00:00.000Z");
    assert_eq!(
        bodies["/slack"],
        serde_json::json!({"text": "🚨 render-1 CPU at 93.5%", "channel": "#alerts"})
    );
    let pd = &bodies["/v2/enqueue"];
    assert_eq!(pd["routing_key"], "routing-key-123");
    assert_eq!(pd["event_action"], "trigger");
    assert_eq!(pd["payload"]["summary"], "Critical: CPU 93.5%");
    assert_eq!(pd["payload"]["severity"], "critical");
    assert_eq!(pd["payload"]["source"], "studio");
    let dedup_key = pd["dedup_key"].as_str().unwrap().to_owned();

    ingest_cpu(&store, T0 + 60_000, 12.0);
    let events = alerts.evaluate(&store, T0 + 60_000).await;
    assert_eq!(events[0].notification.state, AlertState::Resolved);
    let mut resolved = std::collections::BTreeMap::new();
    for _ in 0..3 {
        let (path, body) = posted.recv().await.unwrap();
        resolved.insert(path, body);
    }
    assert_eq!(resolved["/alertmanager"]["status"], "resolved");
    assert_eq!(
        resolved["/alertmanager"]["alerts"][0]["endsAt"],
        "2025-11-24T16:01:00.000Z"
    );
    assert_eq!(resolved["/v2/enqueue"]["event_action"], "resolve");
    assert_eq!(
        resolved["/v2/enqueue"]["dedup_key"],
        dedup_key.as_str(),
        "stable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deliveries_are_retried_and_visible_without_the_secret_url() {
    let (addr, mut posted) = receiver(2).await;
    let alerts = AlertManager::new(&fast_retries(), "studio");
    let dead = common::free_port();
    let secret_url = format!("http://127.0.0.1:{dead}/services/T000/B000/SECRET");
    alerts
        .add_rule(rule(vec![
            AlertAction::Webhook {
                url: format!("http://{addr}/flaky"),
                payload: None,
                tls: None,
            },
            AlertAction::Webhook {
                url: secret_url,
                payload: None,
                tls: None,
            },
        ]))
        .await
        .unwrap();
    let events = evaluate_delivered(&alerts, &store_with_cpu(T0, 99.0), T0).await;
    let deliveries = &events[0].deliveries;
    assert_eq!(deliveries[0].attempts, 3, "two 500s, then accepted");
    assert_eq!(deliveries[0].error, None);
    assert_eq!(posted.recv().await.unwrap().0, "/flaky");
    assert_eq!(deliveries[1].attempts, 3, "1 + 2 retries");
    let error = deliveries[1].error.as_deref().unwrap();
    assert!(error.starts_with("webhook delivery failed"), "{error}");
    assert!(!error.contains("SECRET"), "the URL is a secret: {error}");
    assert_eq!(alerts.history()[0].deliveries, *deliveries);
}

#[cfg(feature = "email")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_reaches_a_real_smtp_server_over_starttls() {
    use telemetry_engine::config::{EmailConfig, SmtpSecurity};
    let pki = common::tls::pki();
    let dir = pki.dir.path();
    let maildir = dir.join("mail");
    let port = common::free_port();
    // aiosmtpd requires STARTTLS before MAIL (its default), and stores into a Maildir.
    let child = Command::new("/usr/bin/python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .arg("--tlscert")
        .arg(&pki.server_cert)
        .arg("--tlskey")
        .arg(&pki.server_key)
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("aiosmtpd (Debian package python3-aiosmtpd; `make setup` installs it)");
    let _guard = common::ChildGuard(child);
    common::eventually(
        "aiosmtpd to listen",
        Duration::from_secs(20),
        || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(|_| ())
        },
    )
    .await;
    let email = |security| EmailConfig {
        smtp_host: "localhost".into(),
        smtp_port: port,
        from: "Studio <studio@example.com>".into(),
        username: None,
        password: None,
        security,
        ca_cert: Some(pki.path(&pki.ca)),
    };
    let action = AlertAction::Email {
        recipients: vec!["admin@example.com".into(), "oncall@example.com".into()],
        subject: "Performance Alert: {{ $labels.host }}".into(),
    };
    let alerts = AlertManager::new(
        &AlertsConfig {
            email: Some(email(SmtpSecurity::StartTls)),
            ..fast_retries()
        },
        "studio",
    );
    alerts.add_rule(rule(vec![action.clone()])).await.unwrap();
    let events = evaluate_delivered(&alerts, &store_with_cpu(T0, 97.0), T0).await;
    assert_eq!(
        events[0].deliveries[0].error, None,
        "{:?}",
        events[0].deliveries
    );
    let new = maildir.join("new");
    let message = std::fs::read_dir(&new)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(message).unwrap();
    assert!(
        text.contains("Subject: Performance Alert: render-1"),
        "{text}"
    );
    assert!(
        text.contains("To: admin@example.com, oncall@example.com"),
        "{text}"
    );
    assert!(text.contains("Alert HighCPUUsage is firing"), "{text}");
    assert!(
        text.contains("description: CPU on render-1 at 97%"),
        "{text}"
    );

    // Without TLS the server refuses, and the failure is recorded.
    let plain = AlertManager::new(
        &AlertsConfig {
            email: Some(email(SmtpSecurity::None)),
            retries: 0,
            ..fast_retries()
        },
        "studio",
    );
    plain.add_rule(rule(vec![action])).await.unwrap();
    let events = evaluate_delivered(&plain, &store_with_cpu(T0, 97.0), T0).await;
    let error = events[0].deliveries[0].error.as_deref().unwrap();
    assert!(error.starts_with("email delivery failed"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_rules_run_in_the_manager_with_the_alerts_gauge_and_status() {
    let (addr, mut posted) = receiver(0).await;
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    config.alerts.rules = vec![AlertRule {
        name: "queue_backlog".into(),
        condition: "queue_size > 10".into(),
        severity: AlertSeverity::Warning,
        actions: vec![AlertAction::Webhook {
            url: format!("http://{addr}/hook"),
            payload: None,
            tls: None,
        }],
        ..AlertRule::default()
    }];
    // The manager's own evaluation loop fires it: wait for the webhook, not for time.
    config.alerts.evaluation_interval = std::time::Duration::from_millis(100);
    config.metrics.collection_interval = std::time::Duration::from_millis(200);
    let telemetry = common::start(config).await;
    telemetry
        .metrics()
        .set_gauge("queue_size", 25.0)
        .await
        .unwrap();
    let (_, body) = posted.recv().await.unwrap();
    assert_eq!(body["groupLabels"]["alertname"], "queue_backlog");
    assert_eq!(body["status"], "firing");
    assert_eq!(telemetry.alerts().active()[0].state, AlertState::Firing);
    common::eventually("the alerts gauge", Duration::from_secs(10), || {
        let text = telemetry.render_prometheus().unwrap();
        let found = text.contains(
            r#"alerts_active{alertname="queue_backlog",alertstate="firing",severity="warning"} 1"#,
        );
        async move { found.then_some(()) }
    })
    .await;
    // The receiver has the body; the worker records the outcome right after.
    telemetry.alerts().deliveries_done().await;
    assert_eq!(
        telemetry.get_export_status().await["alerts:webhook"],
        ExportStatus::Healthy
    );
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_consent_webhooks_stay_on_the_machine_and_in_app_alerts_still_arrive() {
    let (addr, mut posted) = receiver(0).await;
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    config.consent = telemetry_engine::config::Consent::Denied;
    config.alerts.rules = vec![AlertRule {
        name: "queue_backlog".into(),
        condition: "queue_size > 10".into(),
        severity: AlertSeverity::Warning,
        actions: vec![
            AlertAction::Webhook {
                url: format!("http://{addr}/hook"),
                payload: None,
                tls: None,
            },
            AlertAction::InApp {},
        ],
        ..AlertRule::default()
    }];
    config.alerts.evaluation_interval = Duration::from_millis(100);
    config.metrics.collection_interval = Duration::from_millis(200);
    let telemetry = common::start(config).await;
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
                .find(|e| e.notification.state == AlertState::Firing && e.deliveries.len() == 2)
                .map(|e| e.deliveries);
            async move { found }
        },
    )
    .await;
    let webhook = deliveries.iter().find(|d| d.action == "webhook").unwrap();
    assert_eq!(
        webhook.error.as_deref(),
        Some("not sent: consent is denied")
    );
    assert_eq!(webhook.attempts, 0);
    let in_app = deliveries.iter().find(|d| d.action == "in_app").unwrap();
    assert_eq!(in_app.error, None);
    assert!(posted.try_recv().is_err(), "posted without consent");
    assert_eq!(
        telemetry.get_export_status().await["alerts:webhook"],
        ExportStatus::Degraded("not sent: consent is denied".into())
    );
    assert!(telemetry.render_prometheus().unwrap().contains(
        r#"telemetry_alert_deliveries_dropped_total{action="webhook",reason="consent"} 1"#
    ));

    // Granted: the resolution goes out.
    telemetry
        .set_consent(telemetry_engine::config::Consent::Granted)
        .unwrap();
    telemetry
        .metrics()
        .set_gauge("queue_size", 1.0)
        .await
        .unwrap();
    let (_, body) = posted.recv().await.unwrap();
    assert_eq!(body["status"], "resolved");
    telemetry.shutdown().await;
}
