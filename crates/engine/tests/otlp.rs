//! Spans over real OTLP, HTTP/protobuf and gRPC, to receivers started by the tests.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use telemetry_engine::config::{
    Compression, LogsExporter, OtlpExporterConfig, OtlpProtocol, TelemetryConfig, TracingExporter,
};
use telemetry_engine::export::ExportStatus;
use telemetry_engine::TelemetryManager;
use tokio::sync::mpsc;
use tracing_subscriber::layer::SubscriberExt as _;

use common::otlp::{grpc_receiver, http_receiver, Received};

fn config_for(exporter: TracingExporter) -> TelemetryConfig {
    let mut config = TelemetryConfig {
        service_name: "studio-otlp".into(),
        service_version: "9.9.9".into(),
        ..Default::default()
    };
    config.metrics.system_collectors = false;
    config.tracing.batch_export.export_interval = std::time::Duration::from_millis(200);
    config.tracing.batch_export.max_export_timeout = std::time::Duration::from_secs(3);
    config.tracing.exporters = vec![exporter];
    config
}

#[derive(Debug)]
struct Failure;
impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("encoder crashed")
    }
}

/// The studio's pipeline: a root with an attribute and an event, a child, a failing child.
async fn workload(telemetry: &Arc<TelemetryManager>) {
    let tracer = telemetry.tracer().clone();
    let _ = tracer
        .trace_async("video_render_pipeline", |span| {
            let tracer = tracer.clone();
            async move {
                span.set_attribute("video_id", "12345");
                span.add_event("preparation_started");
                tracer
                    .trace_async("video_render", |_| async { Ok::<_, Failure>(()) })
                    .await?;
                tracer
                    .trace_async("encode", |_| async { Err::<(), _>(Failure) })
                    .await
            }
        })
        .await;
}

fn spans_of(received: &[Received]) -> Vec<Span> {
    received
        .iter()
        .flat_map(|(r, _)| r.resource_spans.iter())
        .flat_map(|rs| rs.scope_spans.iter())
        .flat_map(|ss| ss.spans.iter().cloned())
        .collect()
}

fn string_attr(
    attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue],
    key: &str,
) -> Option<String> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.clone()),
            _ => None,
        }
    })
}

fn assert_pipeline_tree(received: &[Received]) {
    let spans = spans_of(received);
    assert_eq!(spans.len(), 3, "{spans:?}");
    let root = spans
        .iter()
        .find(|s| s.name == "video_render_pipeline")
        .unwrap();
    let render = spans.iter().find(|s| s.name == "video_render").unwrap();
    let encode = spans.iter().find(|s| s.name == "encode").unwrap();
    assert!(root.parent_span_id.is_empty());
    assert_eq!(render.parent_span_id, root.span_id);
    assert_eq!(encode.parent_span_id, root.span_id);
    assert_eq!(render.trace_id, root.trace_id);
    assert_eq!(
        string_attr(&root.attributes, "video_id").as_deref(),
        Some("12345")
    );
    assert_eq!(root.events[0].name, "preparation_started");
    let status = encode.status.as_ref().unwrap();
    assert_eq!(status.code, 2, "STATUS_CODE_ERROR");
    assert_eq!(status.message, "encoder crashed");
    let resource = received[0].0.resource_spans[0].resource.as_ref().unwrap();
    assert_eq!(
        string_attr(&resource.attributes, "service.name").as_deref(),
        Some("studio-otlp")
    );
    assert_eq!(
        string_attr(&resource.attributes, "service.version").as_deref(),
        Some("9.9.9")
    );
}

fn drain(rx: &mut mpsc::UnboundedReceiver<Received>) -> Vec<Received> {
    let mut all = Vec::new();
    while let Ok(r) = rx.try_recv() {
        all.push(r);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_otlp_http_receiver_gzipped() {
    let mut receiver = http_receiver(0).await;
    let endpoint = format!("http://{}/v1/traces", receiver.addr);
    let telemetry = common::start(config_for(TracingExporter::Otlp(OtlpExporterConfig {
        endpoint: endpoint.clone(),
        protocol: OtlpProtocol::HttpProtobuf,
        headers: Default::default(),
        compression: Some(Compression::Gzip),
        tls: None,
    })))
    .await;
    workload(&telemetry).await;
    // Graceful shutdown exports what is still queued: nothing is lost.
    telemetry.shutdown().await;
    let received = drain(&mut receiver.rx);
    assert!(received
        .iter()
        .all(|(_, enc)| enc.as_deref() == Some("gzip")));
    assert_pipeline_tree(&received);
    assert_eq!(
        telemetry.get_export_status().await[&format!("traces:otlp:{endpoint}")],
        ExportStatus::Healthy
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_otlp_grpc_receiver() {
    let mut receiver = grpc_receiver().await;
    let endpoint = format!("http://{}", receiver.addr);
    let telemetry = common::start(config_for(TracingExporter::Otlp(OtlpExporterConfig {
        endpoint: endpoint.clone(),
        protocol: OtlpProtocol::Grpc,
        headers: [("x-api-key".to_string(), "secret".to_string())].into(),
        compression: Some(Compression::Gzip),
        tls: None,
    })))
    .await;
    workload(&telemetry).await;
    telemetry.force_flush().await;
    let received = drain(&mut receiver.rx);
    assert_pipeline_tree(&received);
    assert_eq!(received[0].1.as_deref(), Some("gzip"));
    assert_eq!(
        telemetry.get_export_status().await[&format!("traces:otlp:{endpoint}")],
        ExportStatus::Healthy
    );
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_then_up_fails_counts_drops_and_recovers() {
    let port = common::free_port();
    let endpoint = format!("http://127.0.0.1:{port}/v1/traces");
    let name = format!("traces:otlp:{endpoint}");
    let telemetry = common::start(config_for(TracingExporter::Otlp(OtlpExporterConfig {
        endpoint: endpoint.clone(),
        protocol: OtlpProtocol::HttpProtobuf,
        headers: Default::default(),
        compression: None,
        tls: None,
    })))
    .await;
    workload(&telemetry).await;
    telemetry.force_flush().await;
    let failure = common::failure_of(&telemetry.get_export_status().await, &name);
    assert!(!failure.is_empty());
    let text = telemetry.render_prometheus().unwrap();
    assert!(
        text.contains(&format!(
            "telemetry_spans_dropped_total{{exporter=\"{name}\",reason=\"export_failed\"}} 3"
        )),
        "{text}"
    );

    // The receiver comes up on that port: the next export succeeds.
    let mut receiver = http_receiver(port).await;
    workload(&telemetry).await;
    telemetry.force_flush().await;
    assert_eq!(
        telemetry.get_export_status().await[&name],
        ExportStatus::Healthy
    );
    assert_pipeline_tree(&drain(&mut receiver.rx));
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_jaeger_endpoint_is_sent_as_otlp_http_with_a_note() {
    let mut receiver = http_receiver(0).await;
    // The spec's legacy form, with this machine's receiver standing in for Jaeger's 4318.
    let legacy = format!("http://127.0.0.1:{}/api/traces", receiver.addr.port());
    let telemetry = common::start(config_for(TracingExporter::Jaeger {
        endpoint: legacy.clone(),
        compression: None,
    }))
    .await;
    workload(&telemetry).await;
    telemetry.force_flush().await;
    // Mapped to :4318: the report's note says where it went and why; the state is the
    // export's own (a note is not a degradation).
    let name = format!("traces:jaeger:{legacy}");
    let report = &telemetry.export_reports()[&name];
    let note = report.note.as_deref().unwrap();
    assert!(note.contains("127.0.0.1:4318/v1/traces"), "{note}");
    assert!(
        !matches!(report.status, ExportStatus::Degraded(_)),
        "{:?}",
        report.status
    );
    assert!(
        drain(&mut receiver.rx).is_empty(),
        "nothing goes to the Thrift path"
    );
    telemetry.shutdown().await;
}

/// Spans and log records over one OTLP connection each; the record emitted inside a span
/// carries that span's ids, and the resource names the service.
async fn assert_logs_correlate(protocol: OtlpProtocol) {
    let mut receiver = match protocol {
        OtlpProtocol::HttpProtobuf => http_receiver(0).await,
        OtlpProtocol::Grpc => grpc_receiver().await,
    };
    let (traces, logs) = match protocol {
        OtlpProtocol::HttpProtobuf => (
            format!("http://{}/v1/traces", receiver.addr),
            format!("http://{}/v1/logs", receiver.addr),
        ),
        OtlpProtocol::Grpc => {
            let base = format!("http://{}", receiver.addr);
            (base.clone(), base)
        }
    };
    let mut config = config_for(TracingExporter::Otlp(OtlpExporterConfig {
        protocol,
        ..OtlpExporterConfig::http(traces)
    }));
    config.logs.exporters = vec![LogsExporter::Otlp(OtlpExporterConfig {
        protocol,
        compression: Some(Compression::Gzip),
        ..OtlpExporterConfig::http(logs.clone())
    })];
    let telemetry = common::start(config).await;
    let subscriber = tracing_subscriber::registry().with(telemetry.tracing_layer());
    let (trace_id, span_id) = tracing::subscriber::with_default(subscriber, || {
        tracing::info!("outside any span");
        telemetry
            .tracer()
            .trace("encode", |span| {
                tracing::error!(codec = "h264", "encoder crashed");
                Ok::<_, String>((span.trace_id(), span.span_id()))
            })
            .unwrap()
    });
    telemetry.shutdown().await;
    let mut records = Vec::new();
    let mut resource = None;
    while let Ok(request) = receiver.logs.try_recv() {
        for rl in request.resource_logs {
            resource = rl.resource.clone().or(resource);
            for sl in rl.scope_logs {
                records.extend(sl.log_records);
            }
        }
    }
    assert_eq!(records.len(), 2, "{records:?}");
    let error = records.iter().find(|r| r.severity_text == "ERROR").unwrap();
    let body = error.body.as_ref().and_then(|b| b.value.as_ref());
    assert_eq!(body, Some(&AnyValue::StringValue("encoder crashed".into())));
    assert_eq!(
        string_attr(&error.attributes, "codec").as_deref(),
        Some("h264")
    );
    assert_eq!(
        hex(&error.trace_id),
        trace_id,
        "the record is in the span's trace"
    );
    assert_eq!(hex(&error.span_id), span_id, "and names the span");
    let outside = records.iter().find(|r| r.severity_text == "INFO").unwrap();
    assert!(outside.trace_id.is_empty(), "no span, no trace id");
    assert_eq!(
        string_attr(&resource.unwrap().attributes, "service.name").as_deref(),
        Some("studio-otlp")
    );
    let spans = spans_of(&drain(&mut receiver.rx));
    assert_eq!(
        hex(&spans[0].span_id),
        span_id,
        "the span itself arrived too"
    );
    assert_eq!(
        telemetry.get_export_status().await[&format!("logs:otlp:{logs}")],
        ExportStatus::Healthy
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_reach_an_otlp_http_receiver_correlated_with_their_span() {
    assert_logs_correlate(OtlpProtocol::HttpProtobuf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_reach_an_otlp_grpc_receiver_correlated_with_their_span() {
    assert_logs_correlate(OtlpProtocol::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_launches_of_one_install_share_the_instance_id_and_not_the_session() {
    let mut receiver = http_receiver(0).await;
    let endpoint = format!("http://{}/v1/traces", receiver.addr);
    let data = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for _launch in 0..2 {
        let mut config = config_for(TracingExporter::Otlp(OtlpExporterConfig::http(&endpoint)));
        // What the plugin does with the app's data directory.
        let id = telemetry_engine::resource::instance_id(data.path()).unwrap();
        config
            .resource_attributes
            .insert("service.instance.id".into(), id);
        let telemetry = common::start(config).await;
        workload(&telemetry).await;
        telemetry.shutdown().await;
        let received = drain(&mut receiver.rx);
        let resource = received[0].0.resource_spans[0].resource.clone().unwrap();
        let attr = |key| string_attr(&resource.attributes, key).unwrap();
        assert_eq!(
            attr("os.type"),
            telemetry_engine::resource::os_type(std::env::consts::OS)
        );
        assert_eq!(attr("service.name"), "studio-otlp");
        seen.push((attr("service.instance.id"), attr("session.id")));
    }
    assert_eq!(seen[0].0, seen[1].0, "one install, one instance id");
    assert_ne!(seen[0].1, seen[1].1, "each launch its own session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_one_percent_the_trace_list_still_fills_and_failed_spans_are_exported() {
    let mut receiver = http_receiver(0).await;
    let mut config = config_for(TracingExporter::Otlp(OtlpExporterConfig::http(format!(
        "http://{}/v1/traces",
        receiver.addr
    ))));
    // The production profile's export rate; local_sample_rate keeps its default, 1.0.
    config.tracing.sample_rate = 0.01;
    let telemetry = common::start(config).await;
    for i in 0..200_i64 {
        telemetry
            .tracer()
            .trace("render_segment", |span| {
                span.set_attribute("segment", i);
                Ok::<_, String>(())
            })
            .unwrap();
    }
    let failed = telemetry
        .tracer()
        .trace("export_project", |span| Err::<(), _>(span.trace_id()))
        .unwrap_err();
    telemetry.force_flush().await;

    // In the app: every trace.
    assert_eq!(telemetry.traces().len(), 201);
    let kept = telemetry.traces().get(&failed).unwrap();
    assert!(kept.error);
    // Exported: the failed span, and about 1% of the rest.
    let spans = spans_of(&drain(&mut receiver.rx));
    let failed_sent: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "export_project")
        .collect();
    assert_eq!(failed_sent.len(), 1, "the failed span is exported");
    assert_eq!(hex(&failed_sent[0].trace_id), failed);
    let rendered = spans.iter().filter(|s| s.name == "render_segment").count();
    assert!(rendered < 15, "{rendered} of 200 exported at 1%");
    telemetry.shutdown().await;
}
