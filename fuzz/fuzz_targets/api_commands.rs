//! Every command's argument decoding: the input is a command name, a newline, and its JSON
//! arguments, as the webview (IPC) or a browser (`POST /api/<command>`) would send them.
//! The read commands go through `api::read`, which the HTTP API serves; the write commands
//! through what the plugin's commands call (`record_metric`, `silence_alert`, the stream
//! check, the attribute limits). Each answers or gives an error that names an argument,
//! never a panic, on a manager holding metrics, a trace, logs and an alert rule.
#![no_main]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use telemetry_engine::api::{self, ApiError, MetricRecord, SeriesSelector};
use telemetry_engine::config::{Consent, TelemetryConfig};
use telemetry_engine::TelemetryManager;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    telemetry: Arc<TelemetryManager>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let telemetry = runtime.block_on(async {
            let mut config = TelemetryConfig::default();
            config.metrics.system_collectors = false;
            config.alerts.enabled = false;
            config.alerts.rules = vec![serde_json::from_value(serde_json::json!({
                "name": "queue_backlog", "condition": "queue_size > 10", "severity": "Warning",
                "actions": [{ "InApp": {} }]
            }))
            .expect("rule")];
            let t = TelemetryManager::new(config).await.expect("manager");
            let m = t.metrics();
            m.increment_counter_with_attributes("frames_processed_total", 3, [("codec", "h264")])
                .await
                .expect("counter");
            m.set_gauge("queue_size", 25.0).await.expect("gauge");
            for v in [4.0, 8.0, 15.0] {
                m.record_histogram("frame_processing_duration_ms", v).await.expect("histogram");
            }
            t.tracer()
                .trace("render", |span| {
                    span.set_attribute("codec", "h264");
                    Ok::<_, String>(())
                })
                .expect("span");
            t.collect_now().await;
            t
        });
        Fixture { runtime, telemetry }
    })
}

/// Errors must name what is wrong; a panic or an empty message fails the run.
fn check<T>(result: Result<T, ApiError>) {
    if let Err(e) = result {
        assert!(!e.to_string().is_empty());
    }
}

fn decode<T: serde::de::DeserializeOwned>(args: &Value, name: &str) -> Option<T> {
    serde_json::from_value(args.get(name)?.clone()).ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (command, args) = text.split_once('\n').unwrap_or((text, "{}"));
    let Ok(args) = serde_json::from_str::<Value>(args) else {
        return;
    };
    let Fixture { runtime, telemetry } = fixture();
    let t = telemetry.as_ref();
    match command {
        "record_metric" => {
            if let Some(record) = decode::<MetricRecord>(&args, "record") {
                check(api::record_metric(t.sources(), record));
            }
        }
        "silence_alert" => {
            if let (Some(rule), Some(ms)) = (decode::<String>(&args, "rule"), decode::<u64>(&args, "durationMs")) {
                check(api::silence_alert(t.sources(), &rule, ms));
            }
        }
        "subscribe_series" => {
            if let (Some(selectors), Some(ms)) = (
                decode::<Vec<SeriesSelector>>(&args, "selectors"),
                decode::<u64>(&args, "intervalMs"),
            ) {
                check(api::check_stream(&selectors, ms));
            }
        }
        "ack_series" | "unsubscribe_series" => {
            let (id, seq) = (decode::<u32>(&args, "id"), decode::<u64>(&args, "seq"));
            if let Some(id) = id {
                let streams = api::Streams::default();
                let _ = streams.ack("fuzz", id, seq.unwrap_or(0));
                let _ = streams.unsubscribe("fuzz", id);
            }
        }
        "subscribe_events" => {
            if let Some(kinds) = decode::<Vec<String>>(&args, "kinds") {
                check(api::check_event_kinds(&kinds));
            }
        }
        "unsubscribe_events" => {
            let _ = decode::<u32>(&args, "id");
        }
        "acknowledge_alert" => {
            if let Some(rule) = decode::<String>(&args, "rule") {
                check(t.alerts().acknowledge(&rule).map_err(ApiError::from));
            }
        }
        "record_ui_timings" => {
            if let Some(timings) = decode::<api::UiTimings>(&args, "timings") {
                check(api::record_ui_timings(t.sources(), "fuzz", &timings));
            }
        }
        "record_invokes" => {
            if let Some(report) = decode::<api::InvokeReport>(&args, "report") {
                check(api::record_invokes(t.sources(), "fuzz", &report));
            }
        }
        "log" => {
            if let Some(entry) = decode::<api::WebviewLogEntry>(&args, "entry") {
                check(api::webview_log(t.sources(), "fuzz", &entry));
            }
        }
        "open_panel" => {
            // Opens a window: no arguments, nothing of the engine's to check.
        }
        "write_diagnostics" => {
            // Writes a file: the fuzz target checks the argument, not the disk.
            let _ = decode::<u32>(&args, "minutes");
        }
        "set_consent" => {
            if let Some(consent) = decode::<Consent>(&args, "consent") {
                check(api::set_consent(t.sources(), consent));
            }
        }
        "run_health_checks" => {
            runtime.block_on(t.health().refresh());
        }
        "end_span" => {
            if let Some(error) = decode::<String>(&args, "error") {
                check(api::check_length("error", &error, 4096));
            }
        }
        "start_span" => {
            if let Some(attributes) = args
                .get("span")
                .and_then(|s| serde_json::from_value::<BTreeMap<String, String>>(s.get("attributes")?.clone()).ok())
            {
                check(api::check_attributes("span.attributes", &attributes, api::MAX_SPAN_ATTRIBUTES));
            }
        }
        read => {
            let answer = runtime.block_on(api::read(t.sources(), read, &args));
            if let Ok(text) = &answer {
                // Every answer is JSON (the transports send it as is).
                assert!(serde_json::from_str::<serde_json::Value>(text).is_ok());
            }
            check(answer);
        }
    }
});
