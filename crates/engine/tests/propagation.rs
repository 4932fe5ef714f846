//! The global propagator the engine installs (its own test binary: it is global state).
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::global;
use opentelemetry::trace::TraceContextExt as _;
use telemetry_engine::config::TelemetryConfig;
use telemetry_engine::{KeyValue, TelemetryManager};

#[tokio::test]
async fn initialize_installs_trace_context_and_baggage_for_outgoing_requests() {
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    let telemetry = TelemetryManager::new(config).await.unwrap();
    let headers = |cx: &opentelemetry::Context| {
        let mut headers = HashMap::new();
        global::get_text_map_propagator(|p| p.inject_context(cx, &mut headers));
        headers
    };
    let before = telemetry
        .tracer()
        .trace("before", |span| Ok::<_, String>(headers(&span.context())));
    assert!(
        before.unwrap().is_empty(),
        "nothing is installed before initialize"
    );

    telemetry.initialize().await.unwrap();
    let sent = telemetry
        .tracer()
        .trace("upload", |span| {
            let cx = span
                .context()
                .with_baggage(vec![KeyValue::new("project", "trailer")]);
            Ok::<_, String>((span.trace_id(), headers(&cx)))
        })
        .unwrap();
    let (trace_id, headers) = sent;
    assert!(headers["traceparent"].contains(&trace_id), "{headers:?}");
    assert_eq!(headers["baggage"], "project=trailer");
    // And back: a server side extracts the same trace.
    let extracted = global::get_text_map_propagator(|p| p.extract(&headers));
    assert_eq!(
        extracted.span().span_context().trace_id().to_string(),
        trace_id
    );
    telemetry.shutdown().await;
}
