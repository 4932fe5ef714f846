//! The query API over HTTP: the same commands as IPC, Server-Sent Events for series and
//! changes, read-only, loopback-only by default.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use telemetry_engine::api;
use telemetry_engine::config::{
    MetricDescription, MetricsExporter, Panel, PanelKind, TelemetryConfig,
};

/// `GET /api/subscribe_series` of `queue_size` every 100 ms on the server at `base`.
async fn subscribe_queue_size(client: &reqwest::Client, base: &str) -> reqwest::Response {
    client
        .get(format!("{base}/api/subscribe_series"))
        .query(&[
            ("selectors", r#"[{"name":"queue_size"}]"#),
            ("intervalMs", "100"),
        ])
        .send()
        .await
        .unwrap()
}

/// `telemetry_streams_open{transport="http"}` as `/metrics` renders it.
fn http_streams_open(telemetry: &telemetry_engine::TelemetryManager) -> Option<String> {
    let text = telemetry.render_prometheus().unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("telemetry_streams_open{transport=\"http\"} "))
        .map(str::to_owned)
}

async fn post(base: &str, command: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/{command}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// A Server-Sent Events stream read by event name: events of other names that arrive
/// meanwhile are kept for later reads (the server forwards each kind from its own task,
/// so kinds may interleave in any order).
struct Sse {
    resp: reqwest::Response,
    buffer: String,
    received: Vec<(String, serde_json::Value)>,
}

impl Sse {
    fn new(resp: reqwest::Response) -> Self {
        Self {
            resp,
            buffer: String::new(),
            received: Vec::new(),
        }
    }

    /// The first `count` events named `name` not read yet, within 20 s: keep-alive
    /// comments do not count as progress.
    async fn events(&mut self, name: &str, count: usize) -> Vec<serde_json::Value> {
        tokio::time::timeout(Duration::from_secs(20), self.read(name, count))
            .await
            .unwrap_or_else(|_| panic!("{count} {name:?} events within 20 s"))
    }

    async fn read(&mut self, name: &str, count: usize) -> Vec<serde_json::Value> {
        while self.received.iter().filter(|(n, _)| n == name).count() < count {
            let chunk = self
                .resp
                .chunk()
                .await
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |key: &str| block.lines().find_map(|l| l.strip_prefix(key));
                if let (Some(event), Some(data)) = (field("event: "), field("data: ")) {
                    let data = serde_json::from_str(data).unwrap();
                    self.received.push((event.to_owned(), data));
                }
            }
        }
        let (wanted, others) = std::mem::take(&mut self.received)
            .into_iter()
            .partition::<Vec<_>, _>(|(n, _)| n == name);
        let mut wanted = wanted.into_iter().map(|(_, data)| data);
        let found: Vec<_> = wanted.by_ref().take(count).collect();
        self.received = others;
        self.received
            .extend(wanted.map(|data| (name.to_owned(), data)));
        found
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_commands_answer_like_ipc_and_writes_are_not_served() {
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    let telemetry = common::start(config).await;
    telemetry
        .metrics()
        .set_gauge("queue_size", 7.0)
        .await
        .unwrap();
    let render = telemetry.metrics().histogram("render_ms").unwrap();
    for v in 1..=200 {
        render.record(f64::from(v), &[]).unwrap();
    }
    telemetry.collect_now().await;
    let base = format!("http://{}", telemetry.prometheus_addrs().await[0]);

    let (status, snapshot) = post(&base, "get_snapshot", serde_json::json!({})).await;
    assert_eq!(status, 200);
    let queue = snapshot["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "queue_size")
        .unwrap();
    assert_eq!(queue["value"], 7.0);
    let (status, series) = post(
        &base,
        "query_series",
        serde_json::json!({"query": {"name": "queue_size"}}),
    )
    .await;
    assert_eq!(
        (status, series[0]["points"][0][1].as_f64()),
        (200, Some(7.0))
    );
    let (status, err) = post(
        &base,
        "query_series",
        serde_json::json!({"query": {"name": "queue_size", "stepMs": -5}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(err["error"], "query.stepMs: must be greater than 0");
    // Quantiles come from the histogram's sketch: p50 of 1..=200 within 1%.
    let (status, quantiles) = post(
        &base,
        "get_histogram_quantiles",
        serde_json::json!({"name": "render_ms"}),
    )
    .await;
    assert_eq!(status, 200, "{quantiles}");
    assert_eq!(quantiles[0]["quantile"], 0.5);
    let p50 = quantiles[0]["value"].as_f64().unwrap();
    assert!((p50 - 100.0).abs() <= 1.5, "p50 {p50}");
    assert_eq!(quantiles.as_array().unwrap().len(), 4);
    let (status, err) = post(&base, "get_trace", serde_json::json!({})).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("traceId: is missing"))
    );
    let (status, err) = post(
        &base,
        "record_metric",
        serde_json::json!({"record": {"kind": "gauge", "name": "x", "value": 1}}),
    )
    .await;
    assert_eq!(status, 404, "{err}");
    let (status, health) = post(&base, "get_health", serde_json::json!({})).await;
    assert_eq!(status, 200);
    assert!(health["checks"]["exporters"]["timestamp"].is_i64());
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_and_changes_stream_as_server_sent_events() {
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    config.alerts.rules = vec![serde_json::from_value(serde_json::json!({
        "name": "queue_backlog", "condition": "queue_size > 10", "severity": "Warning",
        "actions": [ { "InApp": {} } ]
    }))
    .unwrap()];
    // No evaluation loop: the test evaluates once the event stream is open.
    config.alerts.enabled = false;
    let telemetry = common::start(config).await;
    telemetry
        .metrics()
        .set_gauge("queue_size", 25.0)
        .await
        .unwrap();
    telemetry.collect_now().await;
    let base = format!("http://{}", telemetry.prometheus_addrs().await[0]);
    let client = reqwest::Client::new();

    let stream = subscribe_queue_size(&client, &base).await;
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut stream = Sse::new(stream);
    // An update goes out when the store has something new: here, one per collection.
    let mut updates = stream.events("update", 1).await;
    for _ in 0..2 {
        telemetry.collect_now().await;
        updates.extend(stream.events("update", 1).await);
    }
    let seqs: Vec<i64> = updates.iter().map(|u| u["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(updates[0]["series"][0]["value"], 25.0);
    assert_eq!(
        http_streams_open(&telemetry).as_deref(),
        Some("1"),
        "one stream open"
    );

    let mut events = Sse::new(
        client
            .get(format!("{base}/api/events"))
            .send()
            .await
            .unwrap(),
    );
    // The handler subscribed before the response began: now an alert fires and a trace
    // completes.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    telemetry.alerts().evaluate(telemetry.store(), now).await;
    // The InApp action notifies while the rule is evaluated; the state change follows
    // (possibly in the same chunk: `Sse` keeps it).
    let notifications = events.events("notification", 1).await;
    assert_eq!(notifications[0]["rule"], "queue_backlog");
    assert_eq!(notifications[0]["state"], "Firing");
    let alerts = events.events("alert", 1).await;
    assert_eq!(alerts[0]["notification"]["rule"], "queue_backlog");
    assert_eq!(alerts[0]["notification"]["state"], "Firing");
    telemetry
        .tracer()
        .trace("render", |_| Ok::<_, String>(()))
        .unwrap();
    let traces = events.events("trace", 1).await;
    assert_eq!(traces[0]["name"], "render");
    // A client that hangs up ends its stream at the next tick, and the gauge follows.
    drop(stream);
    common::eventually(
        "the closed stream to end",
        Duration::from_secs(10),
        || async { (http_streams_open(&telemetry).as_deref() == Some("0")).then_some(()) },
    )
    .await;
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_address_serves_no_api_by_default_and_answers_no_unlisted_name() {
    let port = common::free_port();
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    config.allowed_hosts = vec!["host.docker.internal".into()];
    config.metrics.exporters = vec![MetricsExporter::Prometheus {
        port,
        path: "/metrics".into(),
        enable_compression: false,
        host: "0.0.0.0".into(),
    }];
    let telemetry = common::start(config).await;
    let base = format!("http://127.0.0.1:{port}");
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/get_snapshot"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(metrics.status().as_u16(), 200, "metrics still served");
    // By a name: what a page that rebinds its own name to this machine would send.
    let by_name = |name: &str| {
        reqwest::Client::new()
            .get(format!("{base}/metrics"))
            .header(reqwest::header::HOST, format!("{name}:{port}"))
            .send()
    };
    let rebound = by_name("evil.example").await.unwrap();
    assert_eq!(rebound.status().as_u16(), 421);
    let body = rebound.text().await.unwrap();
    assert!(body.contains("allowed_hosts"), "{body}");
    let listed = by_name("host.docker.internal").await.unwrap();
    assert_eq!(listed.status().as_u16(), 200, "a name in allowed_hosts");
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_are_capped_and_a_closed_one_frees_its_place() {
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    let telemetry = common::start(config).await;
    let base = format!("http://{}", telemetry.prometheus_addrs().await[0]);
    let client = reqwest::Client::new();
    let open = || client.get(format!("{base}/api/events")).send();
    let mut streams = Vec::new();
    for _ in 0..telemetry_engine::server::MAX_EVENT_STREAMS {
        let resp = open().await.unwrap();
        assert_eq!(resp.status(), 200);
        streams.push(resp);
    }
    let refused = open().await.unwrap();
    assert_eq!(refused.status(), 429);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(
        body["error"],
        "64 event streams are open already; close one first"
    );
    // A client goes away: its place is free once the server notices.
    drop(streams.pop());
    let reopened = common::eventually("a freed place", Duration::from_secs(10), || async {
        let resp = open().await.unwrap();
        (resp.status() == 200).then_some(resp)
    })
    .await;
    streams.push(reopened);
    drop(streams);
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_of_every_server_are_counted_together() {
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    config.metrics.exporters.push(MetricsExporter::Prometheus {
        port: common::free_port(),
        path: "/metrics".into(),
        enable_compression: false,
        host: "127.0.0.1".into(),
    });
    let telemetry = common::start(config).await;
    let addrs = telemetry.prometheus_addrs().await;
    assert_eq!(addrs.len(), 2);
    let client = reqwest::Client::new();
    let mut streams = Vec::new();
    for addr in &addrs {
        let mut stream = Sse::new(subscribe_queue_size(&client, &format!("http://{addr}")).await);
        stream.events("update", 1).await;
        streams.push(stream);
    }
    assert_eq!(
        http_streams_open(&telemetry).as_deref(),
        Some("2"),
        "one stream on each server"
    );
    drop(streams);
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panels_are_the_apps_then_a_default_one_per_other_metric_it_recorded() {
    let mut config = common::config_with_prometheus(false);
    config.metrics.catalogue = vec![MetricDescription {
        name: "hits_total".into(),
        help: "Lookups that hit".into(),
        unit: Some("lookups".into()),
    }];
    config.panels = vec![Panel {
        section: "Cache".into(),
        title: "Hit ratio".into(),
        kind: PanelKind::Ratio,
        metric: "hits_total".into(),
        labels: Default::default(),
        unit: None,
        complement: Some("misses_total".into()),
    }];
    let telemetry = common::start(config).await;
    let m = telemetry.metrics();
    m.counter("hits_total").unwrap().add(3, &[]).unwrap();
    m.counter("misses").unwrap().add(1, &[]).unwrap();
    m.gauge("queue").unwrap().set(2.0, &[]).unwrap();
    m.histogram("export_ms").unwrap().record(5.0, &[]).unwrap();
    telemetry.collect_now().await;
    let base = format!("http://{}", telemetry.prometheus_addrs().await[0]);

    let (status, panels) = post(&base, "get_panels", serde_json::json!({})).await;
    assert_eq!(status, 200, "{panels}");
    let shown: Vec<(&str, &str, &str, Option<&str>)> = panels
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["section"].as_str().unwrap(),
                p["kind"].as_str().unwrap(),
                p["metric"].as_str().unwrap(),
                p["unit"].as_str(),
            )
        })
        .collect();
    // The app's panel first (its unit from the catalogue), then one per other metric
    // of the app's; the engine's own (system_*, telemetry_*, health) are not among them.
    assert_eq!(
        shown,
        [
            ("Cache", "ratio", "hits_total", Some("lookups")),
            ("Metrics", "quantiles", "export_ms", Some("ms")),
            ("Metrics", "value", "queue", None),
        ]
    );
    let metrics_text = telemetry.render_prometheus().unwrap();
    assert!(metrics_text.contains("# HELP hits_total Lookups that hit"));
    telemetry.shutdown().await;
}

#[tokio::test]
async fn the_http_dispatch_answers_exactly_the_http_commands() {
    let t = telemetry_engine::TelemetryManager::new(Default::default())
        .await
        .unwrap();
    for command in api::COMMANDS {
        let answer = api::read(t.sources(), command.name, &serde_json::json!({})).await;
        let unknown = matches!(answer, Err(api::ApiError::UnknownCommand(_)));
        assert_eq!(unknown, !command.http, "{}", command.name);
    }
    assert!(matches!(
        api::read(t.sources(), "drop_tables", &serde_json::json!({})).await,
        Err(api::ApiError::UnknownCommand(_))
    ));
}
