//! No secret of the config reaches a log line, an IPC answer, an HTTP answer or a file the
//! plugin writes. The app is configured with a secret in every place one can go (the HTTP
//! token, exporter headers, a password inside an endpoint URL, webhook and PagerDuty keys,
//! the SMTP password, the password and API key in an `Http` health check's URL), made to fail at every delivery (so errors get written), and then
//! every output is searched for each secret.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Read as _, Write as _};
use std::sync::Arc;

use parking_lot::Mutex;
use tauri_plugin_opentelemetry::{TelemetryConfig, TelemetryExt};
use tracing_subscriber::layer::SubscriberExt as _;

const SECRETS: [&str; 8] = [
    "TOKEN-SECRET-0123456789",
    "URL-PASSWORD",
    "HEADER-SECRET",
    "WEBHOOK-SECRET",
    "PD-SECRET",
    "SMTP-SECRET",
    "CHECK-PASSWORD",
    "CHECK-API-KEY",
];

/// The read commands, asked over IPC and over HTTP.
const READS: [&str; 10] = [
    "get_config",
    "get_export_status",
    "get_alert_history",
    "get_active_alerts",
    "get_logs",
    "get_health",
    "get_health_history",
    "get_snapshot",
    "get_metric_catalogue",
    "list_traces",
];

/// Every line the process logs through `tracing`, as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// A text layer writing here.
    fn layer<S>(&self) -> impl tracing_subscriber::Layer<S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        let writer = self.clone();
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || writer.clone())
    }
}

fn config(dir: &std::path::Path, dead: u16, prometheus: u16) -> TelemetryConfig {
    let file = |name: &str| dir.join(name).display().to_string();
    let otlp = |path: &str| {
        serde_json::json!({ "Otlp": {
            "endpoint": format!("http://otel:URL-PASSWORD@127.0.0.1:{dead}{path}"),
            "headers": { "x-api-key": "HEADER-SECRET" }
        }})
    };
    TelemetryConfig::from_json(
        &serde_json::json!({
            "service_name": "secrets-test",
            "http_token": "TOKEN-SECRET-0123456789",
            "metrics": {
                "system_collectors": false,
                "exporters": [
                    { "Prometheus": { "port": prometheus } },
                    { "File": { "path": file("metrics.json") } }
                ]
            },
            "tracing": {
                "exporters": [ otlp("/v1/traces"), { "File": { "path": file("traces.json") } } ]
            },
            "logs": {
                "exporters": [ otlp("/v1/logs"), { "File": { "path": file("logs.json") } } ]
            },
            "health": {
                "checks": [{ "Http": {
                    "name": "render_api",
                    "url": format!("http://probe:CHECK-PASSWORD@127.0.0.1:{dead}/ping?api_key=CHECK-API-KEY")
                } }]
            },
            "alerts": {
                "enabled": false,
                "retries": 0,
                "pagerduty_url": format!("http://127.0.0.1:{dead}/v2/enqueue"),
                "email": {
                    "smtp_host": "127.0.0.1", "smtp_port": dead, "from": "studio@example.com",
                    "username": "studio", "password": "SMTP-SECRET"
                },
                "rules": [{
                    "name": "queue_backlog", "condition": "queue_size > 10", "severity": "Critical",
                    "actions": [
                        { "Webhook": { "url": format!("http://127.0.0.1:{dead}/hooks/WEBHOOK-SECRET") } },
                        { "PagerDuty": { "service_key": "PD-SECRET", "description": "backlog" } },
                        { "Email": { "recipients": ["ops@example.com"], "subject": "backlog" } },
                        { "InApp": {} }, { "Log": {} }
                    ]
                }]
            }
        })
        .to_string(),
    )
    .unwrap()
}

/// `method path` on `addr` with the bearer token (and an empty JSON body for `POST`); the
/// whole answer, headers included. `/health*` may answer 503 here: every exporter fails.
fn request(addr: &str, method: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let body = if method == "POST" {
        "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    } else {
        "\r\n"
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer TOKEN-SECRET-0123456789\r\nConnection: close\r\n{body}"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200")
            || (path.starts_with("/health") && answer.starts_with("HTTP/1.1 503")),
        "{method} {path}: {answer}"
    );
    answer
}

#[test]
fn no_secret_reaches_a_log_line_an_answer_or_a_file() {
    let captured = Captured::default();
    let dir = tempfile::tempdir().unwrap();
    let dead = support::free_port();
    // The setup's own lines (on this thread), then every line of the running app.
    let (app, window) = tracing::subscriber::with_default(
        tracing_subscriber::registry().with(captured.layer()),
        || {
            support::app_with(
                &["opentelemetry:default", "opentelemetry:allow-write"],
                config(dir.path(), dead, support::free_port()),
            )
        },
    );
    let telemetry = app.telemetry().clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry()
            .with(telemetry.tracing_layer())
            .with(captured.layer()),
    )
    .unwrap();

    // Make everything happen: metrics, a span and a log record for every exporter (all
    // OTLP ones fail), an alert whose every delivery fails.
    let mut outputs = Vec::new();
    tauri::async_runtime::block_on(async {
        telemetry
            .metrics()
            .set_gauge("queue_size", 25.0)
            .await
            .unwrap();
        telemetry
            .tracer()
            .trace("render", |_| {
                tracing::warn!(frame = 3, "slow frame");
                Ok::<_, String>(())
            })
            .unwrap();
        telemetry.collect_now().await;
        telemetry
            .alerts()
            .evaluate(telemetry.store(), now_ms())
            .await;
        telemetry.alerts().deliveries_done().await;
        telemetry.force_flush().await;
        telemetry.health().refresh().await;
        let status = telemetry.get_export_status().await;
        assert!(
            status.keys().any(|k| k.starts_with("traces:otlp:")),
            "{status:?}"
        );
        outputs.push(format!("{status:?}"));
        outputs.push(telemetry.render_prometheus().unwrap());
        let addr = telemetry.dashboard_urls().await[0]
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        for path in ["/metrics", "/health", "/health/ready"] {
            outputs.push(request(&addr, "GET", path));
        }
        for command in READS {
            outputs.push(request(&addr, "POST", &format!("/api/{command}")));
        }
    });
    let health = support::invoke(&window, "get_health", serde_json::json!({})).unwrap();
    let probe = &health["checks"]["render_api"]["message"];
    assert!(
        probe
            .as_str()
            .is_some_and(|m| m.contains("/ping is unreachable")),
        "the Http check ran and names its URL: {probe}"
    );
    let history = support::invoke(&window, "get_alert_history", serde_json::json!({})).unwrap();
    assert!(
        history.to_string().contains("failed"),
        "the deliveries failed and say so: {history}"
    );
    for command in READS.iter().chain(&["run_health_checks"]) {
        let answer = support::invoke(&window, command, serde_json::json!({})).unwrap();
        outputs.push(format!("{command}: {answer}"));
    }
    app.cleanup_before_exit();

    let logged = String::from_utf8(captured.0.lock().clone()).unwrap();
    assert!(
        logged.contains("queue_backlog"),
        "the failed deliveries were logged: {logged}"
    );
    outputs.push(logged);
    let mut written = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        written += text.len();
        outputs.push(format!("{}: {text}", path.display()));
    }
    assert!(written > 0, "the file exporters wrote");
    // What an app may log itself: the config's `{:?}`, and a config refused for an
    // endpoint with credentials in it.
    let debug = format!("{:?}", config(dir.path(), dead, support::free_port()));
    assert!(debug.contains("<redacted>"), "{debug}");
    outputs.push(debug);
    let refused = TelemetryConfig::from_json(
        r#"{"tracing":{"exporters":[{"Otlp":{"endpoint":"otel:URL-PASSWORD@127.0.0.1:4318/v1/traces?api_key=CHECK-API-KEY"}}]}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(refused.contains("must start with http://"), "{refused}");
    outputs.push(refused);

    for output in &outputs {
        for secret in SECRETS {
            assert!(!output.contains(secret), "{secret} leaked in: {output}");
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
