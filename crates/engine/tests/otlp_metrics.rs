//! Metrics pushed over OTLP (HTTP/protobuf and gRPC) to receivers that decode the
//! protobuf: system and app metrics, histogram buckets as configured, attributes, the
//! resource; cumulative and delta temporality.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::otlp::{grpc_receiver, http_receiver, HttpReceiver};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point, Metric};
use telemetry_engine::config::{
    MetricsExporter, OtlpExporterConfig, OtlpProtocol, TelemetryConfig, Temporality,
};
use telemetry_engine::KeyValue;

fn config(endpoint: String, protocol: OtlpProtocol, temporality: Temporality) -> TelemetryConfig {
    let mut config = TelemetryConfig {
        service_name: "studio-metrics".into(),
        ..Default::default()
    };
    config.metrics.collection_interval = Duration::from_millis(100);
    config.metrics.export_interval = Duration::from_millis(100);
    config.metrics.temporality = temporality;
    config.metrics.aggregation.histogram_buckets = vec![1.0, 10.0, 100.0];
    config.metrics.exporters = vec![MetricsExporter::Otlp(OtlpExporterConfig {
        protocol,
        ..OtlpExporterConfig::http(endpoint)
    })];
    config
}

/// The next request that holds `name`, waiting for pushes.
async fn next_with(receiver: &mut HttpReceiver, name: &str) -> ExportMetricsServiceRequest {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let request = receiver.metrics.recv().await.unwrap();
            if find(&request, name).is_some() {
                return request;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no push with {name}"))
}

fn find<'a>(request: &'a ExportMetricsServiceRequest, name: &str) -> Option<&'a Metric> {
    request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .find(|m| m.name == name)
}

fn number(metric: &Metric) -> f64 {
    let points = match metric.data.as_ref().unwrap() {
        Data::Sum(s) => &s.data_points,
        Data::Gauge(g) => &g.data_points,
        other => panic!("{other:?}"),
    };
    match points[0].value.unwrap() {
        number_data_point::Value::AsDouble(v) => v,
        number_data_point::Value::AsInt(v) => v as f64,
    }
}

async fn assert_pushes(protocol: OtlpProtocol) {
    let mut receiver = match protocol {
        OtlpProtocol::HttpProtobuf => http_receiver(0).await,
        OtlpProtocol::Grpc => grpc_receiver().await,
    };
    let endpoint = match protocol {
        OtlpProtocol::HttpProtobuf => format!("http://{}/v1/metrics", receiver.addr),
        OtlpProtocol::Grpc => format!("http://{}", receiver.addr),
    };
    let telemetry = common::start(config(endpoint, protocol, Temporality::Cumulative)).await;
    let metrics = telemetry.metrics();
    metrics.add("frames_rendered_total", 3, &[]).unwrap();
    metrics
        .set("queue_depth", 7.0, &[KeyValue::new("queue", "export")])
        .unwrap();
    for ms in [0.5, 5.0, 50.0, 500.0] {
        metrics.record("render_ms", ms, &[]).unwrap();
    }
    let request = next_with(&mut receiver, "render_ms").await;
    let resource = request.resource_metrics[0].resource.as_ref().unwrap();
    assert!(resource.attributes.iter().any(|kv| kv.key == "service.name"
        && matches!(kv.value.as_ref().and_then(|v| v.value.as_ref()), Some(AnyValue::StringValue(s)) if s == "studio-metrics")));
    let frames = find(&request, "frames_rendered").unwrap();
    let Some(Data::Sum(sum)) = &frames.data else {
        panic!("a counter is a sum: {frames:?}");
    };
    assert!(sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, 2, "cumulative");
    assert_eq!(number(frames), 3.0);
    let queue = find(&request, "queue_depth").unwrap();
    assert_eq!(number(queue), 7.0);
    let Some(Data::Gauge(gauge)) = &queue.data else {
        panic!("{queue:?}");
    };
    assert_eq!(gauge.data_points[0].attributes[0].key, "queue");
    let render = find(&request, "render_ms").unwrap();
    let Some(Data::Histogram(histogram)) = &render.data else {
        panic!("{render:?}");
    };
    let point = &histogram.data_points[0];
    assert_eq!(point.explicit_bounds, [1.0, 10.0, 100.0]);
    assert_eq!(point.bucket_counts, [1, 1, 1, 1]);
    assert_eq!(point.count, 4);
    assert!(
        find(&request, "system_cpu_usage_percent").is_some(),
        "the system collectors' metrics go too"
    );
    assert!(
        find(&request, "render_ms_p99").is_none(),
        "quantiles are the receiver's to compute"
    );
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reach_an_otlp_http_receiver() {
    assert_pushes(OtlpProtocol::HttpProtobuf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reach_an_otlp_grpc_receiver() {
    assert_pushes(OtlpProtocol::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_temporality_sends_what_changed_since_the_last_push() {
    let mut receiver = http_receiver(0).await;
    let endpoint = format!("http://{}/v1/metrics", receiver.addr);
    let mut config = config(endpoint, OtlpProtocol::HttpProtobuf, Temporality::Delta);
    config.metrics.system_collectors = false;
    let telemetry = common::start(config).await;
    telemetry.metrics().add("exports_total", 5, &[]).unwrap();
    let first = next_with(&mut receiver, "exports").await;
    assert_eq!(number(find(&first, "exports").unwrap()), 5.0);
    telemetry.metrics().add("exports_total", 2, &[]).unwrap();
    // Pushes go on every interval: wait for the one that has seen the second add.
    let delta = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let request = next_with(&mut receiver, "exports").await;
            let metric = find(&request, "exports").unwrap();
            let Some(Data::Sum(sum)) = &metric.data else {
                panic!("{metric:?}");
            };
            assert_eq!(sum.aggregation_temporality, 1, "delta");
            let value = number(metric);
            if value != 0.0 {
                return value;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(delta, 2.0);
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_collection_is_pushed_at_shutdown_whatever_the_interval() {
    let mut receiver = http_receiver(0).await;
    let endpoint = format!("http://{}/v1/metrics", receiver.addr);
    let mut config = config(
        endpoint,
        OtlpProtocol::HttpProtobuf,
        Temporality::Cumulative,
    );
    config.metrics.system_collectors = false;
    // A session far shorter than its intervals: only the start's push is due.
    config.metrics.collection_interval = Duration::from_secs(3600);
    config.metrics.export_interval = Duration::from_secs(3600);
    let telemetry = common::start(config).await;
    let first = receiver.metrics.recv().await.unwrap();
    assert!(find(&first, "exports").is_none(), "nothing recorded yet");
    telemetry.metrics().add("exports_total", 5, &[]).unwrap();
    telemetry.shutdown().await;
    // Sent before the shutdown returned: it is in the receiver's queue already.
    let last = receiver.metrics.try_recv().expect("a push at shutdown");
    assert_eq!(number(find(&last, "exports").unwrap()), 5.0);
}
