//! The `tracing` bridge: events become log records with trace ids, `#[instrument]` spans
//! become OpenTelemetry spans in the same trees as the Tracer API's, the level filter
//! holds, and the ECS file exporter writes what Filebeat reads.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use telemetry_engine::config::{FileExporterConfig, LogsExporter, TelemetryConfig};
use telemetry_engine::export::ExportStatus;
use telemetry_engine::logs::LogQuery;
use telemetry_engine::tracing::TraceQuery;
use telemetry_engine::TelemetryManager;
use tracing_subscriber::layer::SubscriberExt as _;

async fn manager(adjust: impl FnOnce(&mut TelemetryConfig)) -> Arc<TelemetryManager> {
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    adjust(&mut config);
    common::start(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_events_carry_the_current_trace_and_span_ids() {
    let telemetry = manager(|_| {}).await;
    let subscriber = tracing_subscriber::registry().with(telemetry.tracing_layer());
    let (trace_id, span_id) = tracing::subscriber::with_default(subscriber, || {
        tracing::info!("before any span");
        telemetry
            .tracer()
            .trace("render", |span| {
                tracing::warn!(frame = 7, "slow frame");
                Ok::<_, String>((span.trace_id(), span.span_id()))
            })
            .unwrap()
    });
    let records = telemetry.logs().query(&LogQuery::default());
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].message, "slow frame");
    assert_eq!(records[0].level, "WARN");
    assert_eq!(records[0].target, "logs", "the event's module");
    assert_eq!(records[0].fields["frame"], "7");
    assert_eq!(records[0].trace_id.as_deref(), Some(trace_id.as_str()));
    assert_eq!(records[0].span_id.as_deref(), Some(span_id.as_str()));
    assert_eq!(records[1].trace_id, None);
    let of_trace = telemetry.logs().query(&LogQuery {
        trace_id: Some(trace_id),
        ..Default::default()
    });
    assert_eq!(of_trace.len(), 1);
    telemetry.shutdown().await;
}

#[tracing::instrument(fields(codec = "h264"))]
fn encode(frame: u32) -> u32 {
    tracing::info!("encoding");
    tracing::debug!("below the level filter");
    mux(frame)
}

#[tracing::instrument]
fn mux(frame: u32) -> u32 {
    frame * 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instrumented_functions_become_spans_in_the_callers_trace() {
    let telemetry = manager(|_| {}).await;
    let subscriber = tracing_subscriber::registry().with(telemetry.tracing_layer());
    let root_trace = tracing::subscriber::with_default(subscriber, || {
        telemetry
            .tracer()
            .trace("export_video", |span| {
                assert_eq!(encode(3), 6);
                Ok::<_, String>(span.trace_id())
            })
            .unwrap()
    });
    let traces = telemetry.traces().query(&TraceQuery::default());
    assert_eq!(traces.len(), 1, "one trace: {traces:?}");
    assert_eq!(traces[0].trace_id, root_trace);
    let span = |name: &str| traces[0].spans.iter().find(|s| s.name == name).unwrap();
    let (root, encode_span, mux_span) = (span("export_video"), span("encode"), span("mux"));
    assert_eq!(traces[0].name, "export_video");
    assert_eq!(encode_span.parent_span_id.as_ref(), Some(&root.span_id));
    assert_eq!(mux_span.parent_span_id.as_ref(), Some(&encode_span.span_id));
    assert_eq!(encode_span.attributes["frame"], "3");
    assert_eq!(encode_span.attributes["codec"], "h264");

    let records = telemetry.logs().query(&LogQuery::default());
    let messages: Vec<&str> = records.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(messages, ["encoding"], "debug is below the default `info`");
    assert_eq!(
        records[0].span_id.as_deref(),
        Some(encode_span.span_id.as_str()),
        "the record belongs to the instrumented span"
    );
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_level_directive_filters_spans_and_events_by_target() {
    let telemetry = manager(|c| c.logs.level = "warn,logs=debug,noisy=off".into()).await;
    let subscriber = tracing_subscriber::registry().with(telemetry.tracing_layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::debug!("kept: this module is at debug");
        tracing::error!(target: "noisy", "dropped: target is off");
        tracing::info!(target: "other", "dropped: other targets are at warn");
        tracing::warn!(target: "other", "kept: warn");
    });
    let records = telemetry.logs().query(&LogQuery::default());
    let messages: Vec<&str> = records.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(messages, ["kept: warn", "kept: this module is at debug"]);
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_logs_record_nothing() {
    let telemetry = manager(|c| c.logs.enabled = false).await;
    let subscriber = tracing_subscriber::registry().with(telemetry.tracing_layer());
    tracing::subscriber::with_default(subscriber, || tracing::error!("not kept"));
    assert!(telemetry.logs().query(&LogQuery::default()).is_empty());
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ecs_file_has_one_document_per_record_with_trace_ids_across_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/app.ecs.json");
    let telemetry = manager(|c| {
        c.service_name = "studio-logs".into();
        c.logs.batch_export.max_batch_size = 16;
        c.logs.exporters = vec![LogsExporter::File(FileExporterConfig {
            path: path.display().to_string(),
            max_file_bytes: 4096,
            max_files: 1000,
        })];
    })
    .await;
    let subscriber = tracing_subscriber::registry().with(telemetry.tracing_layer());
    let records = 200;
    let trace_id = tracing::subscriber::with_default(subscriber, || {
        telemetry
            .tracer()
            .trace("batch_render", |span| {
                for frame in 0..records {
                    tracing::info!(frame, "frame rendered");
                }
                Ok::<_, String>(span.trace_id())
            })
            .unwrap()
    });
    // Graceful shutdown flushes what is queued.
    telemetry.shutdown().await;
    let mut frames = std::collections::BTreeSet::new();
    let mut files = 0;
    for entry in std::fs::read_dir(path.parent().unwrap()).unwrap() {
        files += 1;
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            let doc: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(doc["message"], "frame rendered");
            assert_eq!(doc["log.level"], "info");
            assert_eq!(doc["ecs.version"], "8.11.0");
            assert_eq!(doc["service"]["name"], "studio-logs");
            assert_eq!(doc["trace"]["id"], trace_id.as_str());
            assert!(doc["@timestamp"].as_str().unwrap().ends_with('Z'));
            assert!(frames.insert(doc["labels"]["frame"].as_str().unwrap().to_owned()));
        }
    }
    assert!(files > 1, "the file rotated");
    assert_eq!(frames.len(), records, "every record is in some file, once");
    assert_eq!(
        telemetry.get_export_status().await[&format!("logs:file:{}", path.display())],
        ExportStatus::Healthy
    );
}
