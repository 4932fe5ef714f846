//! Tauri invokes as traces: the webview's client span (reported after the call) and the
//! backend's server span (around the command) form one trace, and `#[instrument]` spans
//! in the command join it.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use telemetry_engine::api::{self, InvokeReport, InvokeTiming};
use telemetry_engine::config::TelemetryConfig;
use telemetry_engine::TelemetryManager;
use tracing_subscriber::layer::SubscriberExt as _;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT: &str = "00f067aa0ba902b7";

async fn manager(adjust: impl FnOnce(&mut TelemetryConfig)) -> Arc<TelemetryManager> {
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    adjust(&mut config);
    common::start(config).await
}

#[tracing::instrument]
fn encode_frames(count: u32) -> u32 {
    count
}

fn timing(command: &str, traceparent: &str, error: Option<&str>) -> InvokeTiming {
    InvokeTiming {
        command: command.into(),
        traceparent: traceparent.into(),
        start_ms: 1.7e12,
        duration_ms: 42.5,
        error: error.map(Into::into),
        ..Default::default()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_client_span_the_command_span_and_instrumented_work_are_one_trace() {
    let telemetry = manager(|_| {}).await;
    let header = format!("00-{TRACE}-{CLIENT}-01");
    let subscriber = tracing_subscriber::registry().with(telemetry.tracing_layer());
    let _default = tracing::subscriber::set_default(subscriber);

    // The backend: what the command wrapper does, with the header the call carried.
    let span = telemetry
        .tracer()
        .start_invoke("export_project", "main", Some(&header));
    let result = span
        .run_async_result(async {
            tokio::task::yield_now().await;
            let frames = encode_frames(3600);
            Err::<u32, _>(format!("disk full after {frames} frames"))
        })
        .await;
    assert!(result.is_err());
    // The webview: the call it measured, reported afterwards.
    let report = InvokeReport {
        invokes: vec![timing(
            "export_project",
            &header,
            Some("disk full after 3600 frames"),
        )],
        dropped: 0,
    };
    assert!(api::record_invokes(telemetry.sources(), "main", &report).unwrap());

    let trace = telemetry.traces().get(TRACE).expect("the trace is kept");
    let by_name = |name: &str| {
        trace
            .spans
            .iter()
            .filter(|s| s.name == name)
            .collect::<Vec<_>>()
    };
    let [client, server] = by_name("export_project")[..] else {
        panic!("a client and a server span: {trace:#?}")
    };
    let (client, server) = if client.span_id == CLIENT {
        (client, server)
    } else {
        (server, client)
    };
    assert_eq!(
        client.span_id, CLIENT,
        "the client span has the id its traceparent named"
    );
    assert_eq!(client.parent_span_id, None);
    assert_eq!(client.start_ms, 1.7e12);
    assert!((client.duration_ms - 42.5).abs() < 1e-3);
    assert_eq!(client.attributes["rpc.system"], "tauri");
    assert_eq!(client.attributes["rpc.service"], "app");
    assert_eq!(client.attributes["rpc.method"], "export_project");
    assert_eq!(client.attributes["tauri.outcome"], "error");
    assert_eq!(client.error.as_deref(), Some("disk full after 3600 frames"));
    assert_eq!(server.parent_span_id.as_deref(), Some(CLIENT));
    assert_eq!(server.attributes["tauri.window"], "main");
    assert_eq!(server.error.as_deref(), Some("disk full after 3600 frames"));
    let [encode] = by_name("encode_frames")[..] else {
        panic!("the instrumented function's span: {trace:#?}")
    };
    assert_eq!(encode.parent_span_id.as_ref(), Some(&server.span_id));

    let text = telemetry.render_prometheus().unwrap();
    assert!(
        text.contains(r#"tauri_ipc_duration_ms_count{command="export_project",outcome="error""#),
        "{text}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn another_plugins_command_is_its_service_and_a_ui_span_its_parent() {
    let telemetry = manager(|_| {}).await;
    let ui = telemetry
        .tracer()
        .span_builder("ui.open")
        .start(telemetry.tracer());
    let child = "1111111111111111";
    let mut invoke = timing(
        "plugin:fs|read_file",
        &format!("00-{}-{child}-01", ui.trace_id()),
        None,
    );
    invoke.parent = Some(ui.traceparent());
    let report = InvokeReport {
        invokes: vec![invoke],
        dropped: 0,
    };
    assert!(api::record_invokes(telemetry.sources(), "main", &report).unwrap());
    ui.end();
    let trace = telemetry.traces().get(&ui.trace_id()).unwrap();
    let span = trace.spans.iter().find(|s| s.span_id == child).unwrap();
    assert_eq!(span.parent_span_id, Some(ui.span_id()));
    assert_eq!(span.attributes["rpc.service"], "fs");
    assert_eq!(span.attributes["rpc.method"], "read_file");
    assert_eq!(span.attributes["tauri.outcome"], "ok");
}

#[tokio::test(flavor = "current_thread")]
async fn the_export_rate_decides_for_the_webviews_traces_not_the_header() {
    // Exported at 0: the header's "sampled" flag is not taken; recorded in-app anyway.
    let telemetry = manager(|c| c.tracing.sample_rate = 0.0).await;
    let parent = telemetry
        .tracer()
        .webview_parent(&format!("00-{TRACE}-{CLIENT}-01"))
        .unwrap();
    use opentelemetry::trace::TraceContextExt as _;
    assert!(!parent.span().span_context().is_sampled());
    let span = telemetry.tracer().start_invoke(
        "open_project",
        "main",
        Some(&format!("00-{TRACE}-{CLIENT}-01")),
    );
    span.run(|| ());
    assert!(
        telemetry.traces().get(TRACE).is_some(),
        "recorded for the panel"
    );

    let everything = manager(|_| {}).await;
    let parent = everything
        .tracer()
        .webview_parent(&format!("00-{TRACE}-{CLIENT}-00"))
        .unwrap();
    assert!(parent.span().span_context().is_sampled());
}

#[tokio::test(flavor = "current_thread")]
async fn bad_reports_name_the_field_and_a_flood_is_cut_and_counted() {
    let telemetry = manager(|_| {}).await;
    let good = format!("00-{TRACE}-{CLIENT}-01");
    let bad = |invoke: InvokeTiming| {
        api::record_invokes(
            telemetry.sources(),
            "main",
            &InvokeReport {
                invokes: vec![timing("ok", &good, None), invoke],
                dropped: 0,
            },
        )
        .unwrap_err()
        .to_string()
    };
    assert!(bad(timing("rm -rf /", &good, None)).contains("report.invokes[1].command"));
    assert!(bad(timing(&"x".repeat(200), &good, None)).contains("report.invokes[1].command"));
    assert!(bad(timing("open", "00-zz", None)).contains("report.invokes[1].traceparent"));
    let mut nan = timing("open", &good, None);
    nan.duration_ms = f64::NAN;
    assert!(bad(nan).contains("report.invokes[1].durationMs"));
    // Times no clock holds: past what a `Duration` holds, and past what a `SystemTime`
    // adds up to (both panicked before they were bounded).
    for start_ms in [1e300, 1e22, 253_402_300_800_000.0, -1.0] {
        let mut far = timing("open", &good, None);
        far.start_ms = start_ms;
        let e = bad(far);
        assert!(e.contains("report.invokes[1].startMs"), "{start_ms}: {e}");
    }
    let mut elsewhere = timing("open", &good, None);
    elsewhere.parent = Some(format!("00-{}-{CLIENT}-01", "1".repeat(32)));
    assert!(bad(elsewhere).contains("report.invokes[1].parent"));
    assert!(bad(timing("open", &good, Some(&"e".repeat(5000)))).contains("report.invokes[1].error"));
    let too_many = InvokeReport {
        invokes: vec![timing("open", &good, None); api::MAX_INVOKES + 1],
        dropped: 0,
    };
    let e = api::record_invokes(telemetry.sources(), "main", &too_many).unwrap_err();
    assert!(e.to_string().contains("report.invokes"), "{e}");
    assert!(
        telemetry.traces().get(TRACE).is_none(),
        "a bad report records nothing"
    );

    // A page that reports without pause: the window's budget cuts it, and what the
    // script itself could not keep is counted too.
    let report = InvokeReport {
        invokes: vec![timing("open", &good, None); 10],
        dropped: 3,
    };
    let refused = (0..1000)
        .filter(|_| !api::record_invokes(telemetry.sources(), "flood", &report).unwrap())
        .count();
    assert!(refused > 0);
    let text = telemetry.render_prometheus().unwrap();
    let value = |series: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{series} in\n{text}"))
    };
    assert_eq!(
        value(r#"tauri_ipc_spans_dropped_total{reason="rate",window="flood"}"#),
        (refused * 10) as f64
    );
    assert_eq!(
        value(r#"tauri_ipc_spans_dropped_total{reason="buffer",window="flood"}"#),
        3000.0
    );
}
