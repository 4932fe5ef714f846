//! TLS on every connection the engine opens, against real TLS servers whose certificates
//! a CA made at test time signed: OTLP over HTTP and gRPC, a server that requires a client
//! certificate, a webhook and the `Http` health check. A CA nobody configured, or a
//! missing client certificate, is a failure that names the certificate problem.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::otlp::{grpc_receiver_with, https_receiver, HttpReceiver};
use common::tls::{pki, serve_https, Pki};
use telemetry_engine::config::{
    AlertAction, AlertRule, AlertSeverity, OtlpExporterConfig, OtlpProtocol, TelemetryConfig,
    TlsConfig, TracingExporter,
};
use telemetry_engine::export::ExportStatus;
use telemetry_engine::health::{HealthCheck as _, HealthStatus, HttpHealthCheck};

fn trusting(pki: &Pki, ca: &std::path::Path, client: bool) -> TlsConfig {
    TlsConfig {
        ca_cert: Some(pki.path(ca)),
        client_cert: client.then(|| pki.path(&pki.client_cert)),
        client_key: client.then(|| pki.path(&pki.client_key)),
    }
}

/// Sends one span to `endpoint` and returns the exporter's status after the flush.
async fn export_one(
    endpoint: String,
    protocol: OtlpProtocol,
    tls: Option<TlsConfig>,
) -> ExportStatus {
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    config.tracing.batch_export.max_export_timeout = Duration::from_secs(5);
    let name = format!("traces:otlp:{endpoint}");
    config.tracing.exporters = vec![TracingExporter::Otlp(OtlpExporterConfig {
        protocol,
        tls,
        ..OtlpExporterConfig::http(endpoint)
    })];
    let telemetry = common::start(config).await;
    common::one_span(&telemetry).await;
    let status = telemetry.get_export_status().await[&name].clone();
    telemetry.shutdown().await;
    status
}

fn spans(receiver: &mut HttpReceiver) -> usize {
    let mut count = 0;
    while let Ok((request, _)) = receiver.rx.try_recv() {
        count += request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum::<usize>();
    }
    count
}

fn failure(status: &ExportStatus) -> &str {
    match status {
        ExportStatus::Failed(why) => why,
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_http_over_tls_trusts_the_configured_ca_and_names_an_unknown_one() {
    let pki = pki();
    let mut receiver = https_receiver(pki.server_config(false)).await;
    let endpoint = format!("https://localhost:{}/v1/traces", receiver.addr.port());

    let trusted = export_one(
        endpoint.clone(),
        OtlpProtocol::HttpProtobuf,
        Some(trusting(&pki, &pki.ca, false)),
    )
    .await;
    assert_eq!(trusted, ExportStatus::Healthy);
    assert_eq!(spans(&mut receiver), 1);

    for tls in [None, Some(trusting(&pki, &pki.other_ca, false))] {
        let status = export_one(endpoint.clone(), OtlpProtocol::HttpProtobuf, tls).await;
        let why = failure(&status);
        assert!(why.contains("UnknownIssuer"), "{why}");
    }
    assert_eq!(spans(&mut receiver), 0, "nothing reached it unverified");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_sends_the_client_certificate_and_names_a_missing_one() {
    let pki = pki();
    let mut receiver = https_receiver(pki.server_config(true)).await;
    let endpoint = format!("https://127.0.0.1:{}/v1/traces", receiver.addr.port());
    let with_client = export_one(
        endpoint.clone(),
        OtlpProtocol::HttpProtobuf,
        Some(trusting(&pki, &pki.ca, true)),
    )
    .await;
    assert_eq!(with_client, ExportStatus::Healthy);
    assert_eq!(spans(&mut receiver), 1);

    let without = export_one(
        endpoint,
        OtlpProtocol::HttpProtobuf,
        Some(trusting(&pki, &pki.ca, false)),
    )
    .await;
    let why = failure(&without).to_ascii_lowercase();
    assert!(why.contains("certificate"), "{why}");
    assert_eq!(spans(&mut receiver), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_grpc_over_mutual_tls() {
    let pki = pki();
    let identity = tonic::transport::Identity::from_pem(
        std::fs::read(&pki.server_cert).unwrap(),
        std::fs::read(&pki.server_key).unwrap(),
    );
    let tls = tonic::transport::ServerTlsConfig::new()
        .identity(identity)
        .client_ca_root(tonic::transport::Certificate::from_pem(
            std::fs::read(&pki.ca).unwrap(),
        ));
    let mut receiver = grpc_receiver_with(Some(tls)).await;
    let endpoint = format!("https://localhost:{}", receiver.addr.port());
    let status = export_one(
        endpoint.clone(),
        OtlpProtocol::Grpc,
        Some(trusting(&pki, &pki.ca, true)),
    )
    .await;
    assert_eq!(status, ExportStatus::Healthy);
    assert_eq!(spans(&mut receiver), 1);

    let wrong_ca = export_one(
        endpoint,
        OtlpProtocol::Grpc,
        Some(trusting(&pki, &pki.other_ca, true)),
    )
    .await;
    let why = failure(&wrong_ca);
    assert!(why.contains("UnknownIssuer"), "{why}");
    assert_eq!(spans(&mut receiver), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_and_the_http_check_over_tls() {
    let pki = pki();
    let (tx, mut posted) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(move |body: axum::Json<serde_json::Value>| {
                let tx = tx.clone();
                async move {
                    tx.send(body.0).unwrap();
                    "ok"
                }
            }),
        )
        .route("/ping", axum::routing::get(|| async { "pong" }));
    let (addr, _stop) = serve_https(app, pki.server_config(false)).await;

    // The Http check: trusted with the CA, and without it Unhealthy naming the problem.
    let url = format!("https://localhost:{}/ping", addr.port());
    let trusted = HttpHealthCheck::new("render_api", url.clone())
        .tls(trusting(&pki, &pki.ca, false))
        .check()
        .await;
    assert_eq!(trusted.status, HealthStatus::Healthy, "{}", trusted.message);
    let untrusted = HttpHealthCheck::new("render_api", url).check().await;
    assert_eq!(untrusted.status, HealthStatus::Unhealthy);
    assert!(
        untrusted.message.contains("UnknownIssuer"),
        "{}",
        untrusted.message
    );
    let missing = HttpHealthCheck::new("render_api", "https://localhost:1/ping")
        .tls(TlsConfig {
            ca_cert: Some("/nonexistent/ca.pem".into()),
            ..TlsConfig::default()
        })
        .check()
        .await;
    assert!(
        missing
            .message
            .starts_with("tls: cannot read /nonexistent/ca.pem"),
        "{}",
        missing.message
    );

    // A webhook with the CA: delivered. Without: the delivery error names the problem.
    let alerts = telemetry_engine::alerts::AlertManager::new(&Default::default(), "studio");
    let hook = |tls| AlertAction::Webhook {
        url: format!("https://localhost:{}/hook", addr.port()),
        payload: None,
        tls,
    };
    alerts
        .add_rule(AlertRule {
            name: "queue_backlog".into(),
            condition: "queue_size > 10".into(),
            severity: AlertSeverity::Warning,
            actions: vec![hook(Some(trusting(&pki, &pki.ca, false))), hook(None)],
            ..AlertRule::default()
        })
        .await
        .unwrap();
    let store = telemetry_engine::store::SeriesStore::new(&Default::default());
    store.ingest(&telemetry_engine::metrics::Snapshot {
        timestamp_ms: 1_764_000_000_000,
        metrics: vec![telemetry_engine::metrics::MetricSnapshot {
            name: "queue_size".into(),
            kind: telemetry_engine::metrics::SnapshotKind::Gauge,
            help: String::new(),
            series: vec![telemetry_engine::metrics::SeriesSnapshot {
                labels: Default::default(),
                value: telemetry_engine::metrics::SeriesValue::Number { value: 25.0 },
            }],
        }],
    });
    alerts.evaluate(&store, 1_764_000_000_000).await;
    alerts.deliveries_done().await;
    let body = posted.recv().await.unwrap();
    assert_eq!(body["groupLabels"]["alertname"], "queue_backlog");
    let history = alerts.history();
    let deliveries = &history.last().unwrap().deliveries;
    let errors: Vec<Option<&str>> = deliveries.iter().map(|d| d.error.as_deref()).collect();
    assert_eq!(errors.len(), 2);
    assert!(errors.contains(&None), "{errors:?}");
    assert!(
        errors.iter().flatten().any(|e| e.contains("UnknownIssuer")),
        "{errors:?}"
    );
}
