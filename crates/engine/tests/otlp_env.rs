//! The environment's OTLP headers (`OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`, often a hosted
//! collector's API key) reach only the exporters the environment configured, never one
//! configured in a file for another destination. A test binary of its own: it sets
//! process-wide variables.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::otlp::{grpc_receiver, http_receiver, HttpReceiver};
use telemetry_engine::config::{
    OtlpExporterConfig, OtlpProtocol, TelemetryConfig, TracingExporter,
};

fn exporter(protocol: OtlpProtocol, endpoint: String) -> TracingExporter {
    let mut config = OtlpExporterConfig {
        protocol,
        ..OtlpExporterConfig::http(endpoint)
    };
    config.headers.insert("x-configured".into(), "file".into());
    TracingExporter::Otlp(config)
}

async fn send_one_span(config: TelemetryConfig) {
    let telemetry = common::start(config).await;
    common::one_span(&telemetry).await;
    telemetry.shutdown().await;
}

fn header_sets(receiver: &HttpReceiver) -> Vec<Vec<(String, String)>> {
    receiver
        .headers
        .lock()
        .unwrap()
        .iter()
        .map(|h| {
            h.iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("?").to_owned()))
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environments_headers_stay_off_exporters_configured_elsewhere() {
    // Before any exporter is built; nothing else in this binary reads them.
    std::env::set_var("OTEL_EXPORTER_OTLP_HEADERS", "x-env-key=env-secret");
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "x-env-traces=env-secret-2",
    );
    let http = http_receiver(0).await;
    let grpc = grpc_receiver().await;
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    config.tracing.batch_export.export_interval = Duration::from_millis(100);
    config.tracing.exporters = vec![
        exporter(
            OtlpProtocol::HttpProtobuf,
            format!("http://{}/v1/traces", http.addr),
        ),
        exporter(OtlpProtocol::Grpc, format!("http://{}", grpc.addr)),
    ];
    send_one_span(config).await;
    for (receiver, what) in [(&http, "HTTP"), (&grpc, "gRPC")] {
        let sets = header_sets(receiver);
        assert!(!sets.is_empty(), "{what}: nothing arrived");
        for headers in sets {
            assert!(
                headers.contains(&("x-configured".into(), "file".into())),
                "{what}: {headers:?}"
            );
            assert!(
                !headers.iter().any(|(_, v)| v.starts_with("env-secret")),
                "{what}: the environment's header leaked: {headers:?}"
            );
        }
    }

    // An exporter the environment configures carries the environment's headers.
    let env = common::otlp::http_receiver(0).await;
    let endpoint = format!("http://{}", env.addr);
    let mut from_env = TelemetryConfig::from_env_with(|name| match name {
        "OTEL_TRACES_EXPORTER" => Some("otlp".into()),
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
        other => std::env::var(other).ok(),
    })
    .unwrap();
    from_env.metrics.system_collectors = false;
    send_one_span(from_env).await;
    let sets = header_sets(&env);
    assert!(!sets.is_empty());
    assert!(
        sets[0].contains(&("x-env-traces".into(), "env-secret-2".into())),
        "{:?}",
        sets[0]
    );
}
