//! The plugin's commands over real IPC on Tauri's mock runtime, with the ACL built from
//! the permission files that build.rs generates: allowed calls answer, others are refused
//! by Tauri before any of our code runs.
#![allow(clippy::unwrap_used)]

use tauri::App;
use tauri_plugin_opentelemetry::engine::config::{OtlpExporterConfig, TracingExporter};
use tauri_plugin_opentelemetry::engine::health::HttpHealthCheck;
use tauri_plugin_opentelemetry::{TelemetryConfig, TelemetryExt};

mod support;

use support::{call, invoke, Window};

fn app(permissions: &[&str]) -> (App<tauri::test::MockRuntime>, Window) {
    let mut config = TelemetryConfig {
        service_name: "ipc-test".into(),
        ..Default::default()
    };
    config.metrics.system_collectors = false;
    config.alerts.rules = vec![serde_json::from_value(serde_json::json!({
        "name": "queue_backlog", "condition": "queue_size > 10", "severity": "Warning",
        "actions": [ { "Webhook": { "url": "http://127.0.0.1:9/hooks/SECRET-PATH" } }, { "InApp": {} } ]
    }))
    .unwrap()];
    // Evaluated by the tests only (no loop racing them); a refused delivery fails at once.
    config.alerts.enabled = false;
    config.alerts.retries = 0;
    config.tracing.exporters = vec![TracingExporter::Otlp(OtlpExporterConfig {
        headers: [("x-api-key".to_string(), "SECRET-KEY".to_string())].into(),
        ..OtlpExporterConfig::http("http://127.0.0.1:9/v1/traces")
    })];
    support::app_with(permissions, config)
}

/// Records metrics, a trace and a log, and runs one collection and one alert evaluation.
fn seed(app: &App<tauri::test::MockRuntime>) -> String {
    let telemetry = app.telemetry().clone();
    tauri::async_runtime::block_on(async {
        let m = telemetry.metrics();
        m.describe("frame_processing_duration_ms", "Time to process one frame");
        m.increment_counter("frames_processed_total", 9)
            .await
            .unwrap();
        m.set_gauge("queue_size", 25.0).await.unwrap();
        // Recorded without `_total`: stored and exported as `bytes_exported_total`.
        m.increment_counter_with_attributes("bytes_exported", 4, [("codec", "h264")])
            .await
            .unwrap();
        for v in [10.0, 20.0, 30.0] {
            m.record_histogram("frame_processing_duration_ms", v)
                .await
                .unwrap();
        }
        telemetry.collect_now().await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        telemetry.alerts().evaluate(telemetry.store(), now).await;
        telemetry
            .tracer()
            .trace("render", |span| {
                span.set_attribute("codec", "h264");
                Ok::<_, String>(span.trace_id())
            })
            .unwrap()
    })
}

#[test]
fn every_read_command_answers_under_the_default_permissions() {
    let (app, window) = app(&["opentelemetry:default"]);
    let trace_id = seed(&app);
    let none = serde_json::json!({});

    let snapshot = invoke(&window, "get_snapshot", none.clone()).unwrap();
    let frames = snapshot["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "frames_processed_total")
        .expect("the recorded counter is in the snapshot");
    assert_eq!(frames["value"], 9.0);
    assert!(
        snapshot["timestampMs"].as_i64().unwrap() > 0,
        "camelCase over IPC"
    );

    let catalogue = invoke(&window, "get_metric_catalogue", none.clone()).unwrap();
    let hist = catalogue
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "frame_processing_duration_ms")
        .unwrap();
    assert_eq!(hist["kind"], "histogram");
    assert_eq!(hist["unit"], "ms");
    assert_eq!(hist["description"], "Time to process one frame");
    assert_eq!(hist["labelSets"].as_array().unwrap().len(), 1);
    let counter = catalogue
        .as_array()
        .unwrap()
        .iter()
        .find(|m| {
            m["kind"] == "counter" && m["name"].as_str().unwrap().starts_with("bytes_exported")
        })
        .unwrap();
    assert_eq!(counter["name"], "bytes_exported_total", "the name to query");
    assert_eq!(counter["labelSets"], serde_json::json!([{"codec": "h264"}]));

    // No panels configured: one default chart per metric the app recorded.
    let panels = invoke(&window, "get_panels", none.clone()).unwrap();
    let drawn: Vec<(&str, &str)> = panels
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["metric"].as_str().unwrap(), p["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        drawn,
        [
            ("bytes_exported_total", "rate"),
            ("frame_processing_duration_ms", "quantiles"),
            ("frames_processed_total", "rate"),
            ("queue_size", "value"),
        ]
    );

    let series = invoke(
        &window,
        "query_series",
        serde_json::json!({"query": {"name": "queue_size", "stepMs": 60000}}),
    )
    .unwrap();
    assert_eq!(series[0]["points"][0][1], 25.0);

    let quantiles = invoke(
        &window,
        "get_histogram_quantiles",
        serde_json::json!({"name": "frame_processing_duration_ms"}),
    )
    .unwrap();
    let p50 = quantiles
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["quantile"] == 0.5)
        .unwrap();
    assert!(
        (p50["value"].as_f64().unwrap() - 20.0).abs() < 0.5,
        "{quantiles}"
    );

    let traces = invoke(
        &window,
        "list_traces",
        serde_json::json!({"filter": {"name": "render"}}),
    )
    .unwrap();
    assert_eq!(traces[0]["traceId"], trace_id.as_str());
    let trace = invoke(
        &window,
        "get_trace",
        serde_json::json!({"traceId": trace_id}),
    )
    .unwrap();
    assert_eq!(trace["spans"][0]["attributes"]["codec"], "h264");

    assert!(invoke(
        &window,
        "get_logs",
        serde_json::json!({"filter": {"minLevel": "warn"}})
    )
    .unwrap()
    .is_array());

    let health = invoke(&window, "get_health", none.clone()).unwrap();
    assert!(
        health["checks"]["exporters"]["status"].is_string(),
        "{health}"
    );
    assert!(
        health["checks"]["exporters"]["timestamp"].is_i64(),
        "Unix ms: {health}"
    );
    assert!(invoke(&window, "get_health_history", none.clone())
        .unwrap()
        .is_array());

    let active = invoke(&window, "get_active_alerts", none.clone()).unwrap();
    assert_eq!(active[0]["rule"], "queue_backlog");
    assert_eq!(active[0]["state"], "Firing");
    let history = invoke(&window, "get_alert_history", none.clone()).unwrap();
    assert_eq!(history[0]["notification"]["rule"], "queue_backlog");

    assert!(invoke(&window, "get_export_status", none.clone())
        .unwrap()
        .is_object());
    // A first launch: no previous session, no crash.
    assert!(invoke(&window, "get_previous_crash", none.clone())
        .unwrap()
        .is_null());

    let config = invoke(&window, "get_config", none).unwrap().to_string();
    assert!(config.contains("queue_backlog"));
    assert!(
        !config.contains("SECRET"),
        "secrets reach the webview: {config}"
    );
    app.cleanup_before_exit();
}

#[test]
fn bad_arguments_get_errors_that_name_them() {
    let (app, window) = app(&["opentelemetry:default", "opentelemetry:allow-write"]);
    let _keep_alive = &app;
    for (command, args, expected) in [
        (
            "query_series",
            serde_json::json!({"query": {"name": "x", "stepMs": 0}}),
            "query.stepMs: must be greater than 0",
        ),
        (
            "query_series",
            serde_json::json!({"query": {"name": ""}}),
            "query.name: must not be empty",
        ),
        (
            "get_trace",
            serde_json::json!({"traceId": "xyz"}),
            "traceId: \"xyz\" is not 32 hex digits",
        ),
        (
            "get_logs",
            serde_json::json!({"filter": {"minLevel": "loud"}}),
            "filter.minLevel: \"loud\"",
        ),
        (
            "list_traces",
            serde_json::json!({"filter": {"attributeKey": "codec"}}),
            "filter.attributeKey: attributeKey and attributeValue go together",
        ),
        (
            "get_histogram_quantiles",
            serde_json::json!({"name": "nope"}),
            "name: \"nope\" is not a recorded histogram",
        ),
        (
            "subscribe_series",
            serde_json::json!({"selectors": [{"name": "x"}], "intervalMs": 10, "onUpdate": "__CHANNEL__:1"}),
            "intervalMs: 10 is outside 50..=60000",
        ),
        (
            "record_metric",
            serde_json::json!({"record": {"kind": "counter", "name": "clicks_total", "value": -1}}),
            "record.value: -1 is not a whole number",
        ),
        (
            "record_metric",
            serde_json::json!({"record": {"kind": "meter", "name": "x", "value": 1}}),
            "record.kind: \"meter\" is not counter, gauge or histogram",
        ),
        (
            "record_metric",
            serde_json::json!({"record": {"kind": "gauge", "name": "bad name", "value": 1}}),
            "bad name",
        ),
        (
            "silence_alert",
            serde_json::json!({"rule": "nope", "durationMs": 1000}),
            "no alert rule named \"nope\"",
        ),
        (
            "start_span",
            serde_json::json!({"span": {"name": "ui", "traceparent": "garbage"}}),
            "span.traceparent: \"garbage\" is not a W3C traceparent",
        ),
        (
            "end_span",
            serde_json::json!({"spanId": "0000000000000001"}),
            "spanId: no open span",
        ),
        (
            "unsubscribe_series",
            serde_json::json!({"id": 999}),
            "id: no stream 999",
        ),
        ("get_trace", serde_json::json!({}), "traceId"),
        // What the webview sends is length-limited: nothing it sends grows memory unbounded.
        (
            "start_span",
            serde_json::json!({"span": {"name": "x".repeat(300)}}),
            "span.name: 300 bytes, at most 256 allowed",
        ),
        (
            "start_span",
            serde_json::json!({"span": {"name": "ui", "attributes": {"note": "x".repeat(2000)}}}),
            "span.attributes.note: 2000 bytes, at most 1024 allowed",
        ),
        (
            "start_span",
            serde_json::json!({"span": {"name": "ui", "attributes":
                (0..65).map(|i| (format!("k{i}"), serde_json::json!("v"))).collect::<serde_json::Map<_, _>>()}}),
            "span.attributes: 65 attributes, at most 64 allowed",
        ),
        (
            "record_metric",
            serde_json::json!({"record": {"kind": "gauge", "name": "ui_load", "value": 1,
                "labels": {"page": "x".repeat(1025)}}}),
            "record.labels.page: 1025 bytes, at most 1024 allowed",
        ),
        (
            "end_span",
            serde_json::json!({"spanId": "0000000000000001", "error": "e".repeat(5000)}),
            "error: 5000 bytes, at most 4096 allowed",
        ),
    ] {
        let err = invoke(&window, command, args).unwrap_err();
        assert!(
            err.contains(expected),
            "{command}: expected {expected:?} in {err:?}"
        );
    }
}

#[test]
fn write_commands_are_refused_by_tauri_without_the_write_set() {
    let (app, window) = app(&["opentelemetry:default"]);
    let _keep_alive = &app;
    for (command, args) in [
        (
            "record_metric",
            serde_json::json!({"record": {"kind": "gauge", "name": "x", "value": 1}}),
        ),
        ("run_health_checks", serde_json::json!({})),
        (
            "silence_alert",
            serde_json::json!({"rule": "queue_backlog", "durationMs": 1000}),
        ),
        (
            "acknowledge_alert",
            serde_json::json!({"rule": "queue_backlog"}),
        ),
        ("start_span", serde_json::json!({"span": {"name": "ui"}})),
        (
            "end_span",
            serde_json::json!({"spanId": "0000000000000001"}),
        ),
        ("set_consent", serde_json::json!({"consent": "granted"})),
        ("write_diagnostics", serde_json::json!({"minutes": 5})),
        (
            "log",
            serde_json::json!({"entry": {"level": "error", "message": "x"}}),
        ),
        (
            "record_ui_timings",
            serde_json::json!({"timings": {"frameIntervalsMs": [16.7]}}),
        ),
    ] {
        let denied = invoke(&window, command, args).unwrap_err();
        assert!(
            denied.contains("not allowed"),
            "{command}: expected Tauri's ACL refusal, got {denied}"
        );
    }
    let gauges = app.telemetry().metrics().catalogue();
    assert!(!gauges.iter().any(|(n, _)| n == "x"), "no command code ran");
}

#[test]
fn commands_outside_the_capability_are_refused_by_tauri() {
    let (app, window) = app(&["opentelemetry:allow-get-snapshot"]);
    let _keep_alive = &app;
    assert!(invoke(&window, "get_snapshot", serde_json::json!({})).is_ok());
    let denied = invoke(&window, "get_export_status", serde_json::json!({})).unwrap_err();
    assert!(
        denied.contains("not allowed"),
        "expected Tauri's ACL refusal, got {denied}"
    );
}

#[test]
fn with_the_write_set_the_webview_records_spans_and_controls_alerts() {
    let (app, window) = app(&["opentelemetry:default", "opentelemetry:allow-write"]);
    seed(&app);
    invoke(
        &window,
        "record_metric",
        serde_json::json!({"record": {"kind": "counter", "name": "ui_clicks_total", "value": 3, "labels": {"button": "export"}}}),
    )
    .unwrap();
    let telemetry = app.telemetry().clone();
    tauri::async_runtime::block_on(telemetry.collect_now());
    // The webview records under names of its own.
    let clicks = telemetry.store().latest("webview_ui_clicks_total");
    assert_eq!(clicks[0].1, 3.0);
    assert!(telemetry.store().latest("ui_clicks_total").is_empty());
    assert_eq!(clicks[0].0["button"], "export");

    // A UI action: a root span in the webview, a child passed by traceparent.
    let root = invoke(&window, "start_span", serde_json::json!({"span": {"name": "ui.export_clicked", "attributes": {"screen": "timeline"}}})).unwrap();
    let child = invoke(
        &window,
        "start_span",
        serde_json::json!({"span": {"name": "ui.confirm", "traceparent": root["traceparent"]}}),
    )
    .unwrap();
    assert_eq!(child["traceId"], root["traceId"]);
    invoke(
        &window,
        "end_span",
        serde_json::json!({"spanId": child["spanId"], "error": "cancelled"}),
    )
    .unwrap();
    invoke(
        &window,
        "end_span",
        serde_json::json!({"spanId": root["spanId"]}),
    )
    .unwrap();
    let trace = invoke(
        &window,
        "get_trace",
        serde_json::json!({"traceId": root["traceId"]}),
    )
    .unwrap();
    let spans = trace["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[1]["parentSpanId"], root["spanId"]);
    assert_eq!(spans[1]["error"], "cancelled");
    assert_eq!(spans[0]["attributes"]["screen"], "timeline");

    assert_eq!(
        invoke(
            &window,
            "acknowledge_alert",
            serde_json::json!({"rule": "queue_backlog"})
        )
        .unwrap(),
        1
    );
    invoke(
        &window,
        "silence_alert",
        serde_json::json!({"rule": "queue_backlog", "durationMs": 60000}),
    )
    .unwrap();
    let report = invoke(&window, "run_health_checks", serde_json::json!({})).unwrap();
    assert!(report["checks"]["exporters"].is_object());
}

#[test]
fn series_streams_open_acknowledge_and_close_over_ipc() {
    let (app, window) = app(&["opentelemetry:default"]);
    seed(&app);
    let id = invoke(
        &window,
        "subscribe_series",
        serde_json::json!({"selectors": [{"name": "queue_size"}], "intervalMs": 100, "onUpdate": "__CHANNEL__:42"}),
    )
    .unwrap();
    let id = id.as_u64().unwrap();
    let open = || {
        let text = app.telemetry().render_prometheus().unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("telemetry_streams_open{transport=\"ipc\"} "))
            .map(str::to_owned)
    };
    assert_eq!(open().as_deref(), Some("1"), "the open stream is counted");
    invoke(
        &window,
        "ack_series",
        serde_json::json!({"id": id, "seq": 1}),
    )
    .unwrap();
    // Ids are sequential: another window that guesses one can neither steer nor end it.
    let panel = tauri::WebviewWindowBuilder::new(&app, "panel", Default::default())
        .build()
        .unwrap();
    for (command, args) in [
        ("ack_series", serde_json::json!({"id": id, "seq": 2})),
        ("unsubscribe_series", serde_json::json!({"id": id})),
    ] {
        let refused = invoke(&panel, command, args).unwrap_err();
        assert!(refused.contains("no stream"), "{command}: {refused}");
    }
    assert_eq!(open().as_deref(), Some("1"), "still open");
    invoke(&window, "unsubscribe_series", serde_json::json!({"id": id})).unwrap();
    assert_eq!(open().as_deref(), Some("0"), "and uncounted once closed");
    let again = invoke(&window, "unsubscribe_series", serde_json::json!({"id": id})).unwrap_err();
    assert!(again.contains("no stream"), "{again}");
}

#[test]
fn a_backend_command_joins_the_webview_trace_through_the_traceparent_header() {
    let (app, window) = app(&["opentelemetry:default", "opentelemetry:allow-write"]);
    let root = invoke(
        &window,
        "start_span",
        serde_json::json!({"span": {"name": "ui.export_clicked"}}),
    )
    .unwrap();
    let traceparent = root["traceparent"].as_str().unwrap().to_owned();
    // The header reaches commands as the remote parent: the plugin's own `get_health`
    // ignores it, an app command's `InvokeTrace` takes it (tests/invoke_trace.rs); here
    // the engine side is checked.
    let cx = tauri_plugin_opentelemetry::engine::tracing::remote_context(&traceparent).unwrap();
    let tracer = app.telemetry().tracer().clone();
    let _guard = cx.attach();
    let child_trace = tracer
        .trace("backend.encode", |s| Ok::<_, String>(s.trace_id()))
        .unwrap();
    assert_eq!(child_trace, root["traceId"].as_str().unwrap());
    assert!(call(
        &window,
        "get_health",
        serde_json::json!({}),
        &[("traceparent", &traceparent)]
    )
    .is_ok());
}

#[test]
fn alert_notification_health_and_trace_changes_reach_the_app_as_events() {
    let (app, _window) = app(&["opentelemetry:default"]);
    let mut events = app.telemetry().events();
    seed(&app); // an alert fires, a trace completes
                // A check added after subscribing changes from Unknown on the refresh, whenever the
                // built-in ones had their first run.
    let probe = HttpHealthCheck::new("closed_port", "http://127.0.0.1:9/");
    tauri::async_runtime::block_on(async {
        app.telemetry()
            .health()
            .add_check(Box::new(probe))
            .await
            .unwrap();
        app.telemetry().health().refresh().await;
    });
    let mut seen = std::collections::BTreeMap::new();
    tauri::async_runtime::block_on(async {
        while seen.len() < 4 {
            let event = tokio::time::timeout(std::time::Duration::from_secs(10), events.recv())
                .await
                .unwrap_or_else(|_| panic!("all four kinds within 10 s; got {seen:?}"))
                .unwrap();
            let value = serde_json::to_value(&event).unwrap();
            if event.kind() == "health" && value["payload"]["check"] != "closed_port" {
                continue;
            }
            seen.entry(event.kind()).or_insert(value["payload"].clone());
        }
    });
    assert_eq!(seen["alert"]["notification"]["rule"], "queue_backlog");
    // The InApp action's notification: the rule, firing.
    assert_eq!(seen["notification"]["rule"], "queue_backlog");
    assert_eq!(seen["notification"]["state"], "Firing");
    assert_eq!(seen["trace"]["name"], "render");
    assert_eq!(seen["health"]["to"], "Unhealthy");
}

#[test]
fn events_reach_only_windows_that_may_read_and_subscribed() {
    let (application, window) = app(&["opentelemetry:default"]);
    let id = invoke(
        &window,
        "subscribe_events",
        serde_json::json!({"kinds": ["alert", "trace"], "onEvent": "__CHANNEL__:9"}),
    )
    .unwrap();
    let panel = tauri::WebviewWindowBuilder::new(&application, "panel", Default::default())
        .build()
        .unwrap();
    let refused = invoke(&panel, "unsubscribe_events", serde_json::json!({"id": id})).unwrap_err();
    assert!(refused.contains("no subscription"), "{refused}");
    invoke(&window, "unsubscribe_events", serde_json::json!({"id": id})).unwrap();
    let bad = invoke(
        &window,
        "subscribe_events",
        serde_json::json!({"kinds": ["everything"], "onEvent": "__CHANNEL__:9"}),
    )
    .unwrap_err();
    assert!(bad.starts_with("kinds: \"everything\""), "{bad}");
    // A window without the read permission cannot subscribe, so it gets no event.
    let (_app, unprivileged) = app(&[]);
    let denied = invoke(
        &unprivileged,
        "subscribe_events",
        serde_json::json!({"onEvent": "__CHANNEL__:9"}),
    )
    .unwrap_err();
    assert!(denied.contains("not allowed"), "{denied}");
}

#[test]
fn a_consent_dialog_needs_only_the_set_consent_grant() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TelemetryConfig {
        consent: tauri_plugin_opentelemetry::engine::config::Consent::Ask,
        ..Default::default()
    };
    config.metrics.system_collectors = false;
    config.storage.dir = Some(dir.path().display().to_string());
    let (app, window) = support::app_with(
        &["opentelemetry:default", "opentelemetry:allow-set-consent"],
        config,
    );
    let _keep_alive = &app;
    assert_eq!(
        invoke(&window, "get_consent", serde_json::json!({})).unwrap(),
        "ask"
    );
    let bad = invoke(
        &window,
        "set_consent",
        serde_json::json!({"consent": "maybe"}),
    )
    .unwrap_err();
    assert!(bad.contains("maybe"), "{bad}");
    invoke(
        &window,
        "set_consent",
        serde_json::json!({"consent": "granted"}),
    )
    .unwrap();
    assert_eq!(
        invoke(&window, "get_consent", serde_json::json!({})).unwrap(),
        "granted"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("consent")).unwrap(),
        "granted\n"
    );
    // The grant is that one command: the other writes stay refused.
    let denied = invoke(
        &window,
        "record_metric",
        serde_json::json!({"record": {"kind": "gauge", "name": "x", "value": 1}}),
    )
    .unwrap_err();
    assert!(denied.contains("not allowed"), "{denied}");
}

#[test]
fn webview_errors_are_log_records_and_a_flood_is_cut_and_counted() {
    let (app, window) = app(&["opentelemetry:default", "opentelemetry:allow-capture"]);
    let thrown = serde_json::json!({"entry": {
        "level": "error",
        "message": "Uncaught TypeError: project.clips is undefined",
        "exception": {
            "type": "TypeError",
            "message": "project.clips is undefined",
            "stacktrace": "openProject@http://tauri.localhost/assets/index.js:12:7"
        },
        "source": {"url": "http://tauri.localhost/assets/index.js", "line": 12, "column": 7},
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    }});
    assert_eq!(invoke(&window, "log", thrown).unwrap(), true);
    let logs = invoke(
        &window,
        "get_logs",
        serde_json::json!({"filter": {"text": "project.clips"}}),
    )
    .unwrap();
    let record = &logs[0];
    assert_eq!(record["level"], "ERROR");
    assert_eq!(record["target"], "webview");
    assert_eq!(record["traceId"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(record["fields"]["window"], "main");
    assert_eq!(record["fields"]["exception.type"], "TypeError");
    assert_eq!(record["fields"]["code.line.number"], "12");
    assert!(record["fields"]["exception.stacktrace"]
        .as_str()
        .unwrap()
        .contains("openProject@"));

    // A flooding loop: the window's budget (100 at once) holds, the rest is counted.
    let tick = serde_json::json!({"entry": {"level": "info", "message": "tick"}});
    let accepted = (0..500)
        .filter(|_| invoke(&window, "log", tick.clone()).unwrap() == true)
        .count();
    assert!(accepted < 200, "{accepted} of 500 accepted");
    let text = app.telemetry().render_prometheus().unwrap();
    let dropped: f64 = text
        .lines()
        .find(|l| l.starts_with("webview_logs_dropped_total{") && l.contains("window=\"main\""))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap();
    assert_eq!(dropped as usize, 500 - accepted);
    assert!(
        text.contains("webview_errors_total{window=\"main\"} 1"),
        "{text}"
    );
    // A field too long is an error that names it.
    let long = serde_json::json!({"entry": {"level": "warn", "message": "m".repeat(5000)}});
    assert!(invoke(&window, "log", long)
        .unwrap_err()
        .contains("entry.message"));
    app.cleanup_before_exit();
}

#[test]
fn the_capture_grant_records_a_windows_frame_intervals_and_load_timings() {
    let (app, window) = app(&["opentelemetry:default", "opentelemetry:allow-capture"]);
    let timings = serde_json::json!({"timings": {
        "frameIntervalsMs": [16.6, 16.7, 16.8, 120.0],
        "longTasksMs": [75.0],
        "pageLoadMs": {"domContentLoaded": 310.0, "load": 420.0}
    }});
    assert_eq!(invoke(&window, "record_ui_timings", timings).unwrap(), true);
    let text = app.telemetry().render_prometheus().unwrap();
    for expected in [
        "webview_frame_interval_ms_count{window=\"main\"} 4",
        "webview_long_task_ms_count{window=\"main\"} 1",
        "webview_page_load_ms_count{phase=\"load\",window=\"main\"} 1",
    ] {
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }
    // A bad value is an error that names it; the page may not write these itself.
    let bad = serde_json::json!({"timings": {"frameIntervalsMs": [16.0, -1.0]}});
    assert!(invoke(&window, "record_ui_timings", bad)
        .unwrap_err()
        .contains("timings.frameIntervalsMs[1]"));
    app.cleanup_before_exit();
}
