//! OTLP span export (HTTP/protobuf or gRPC), the Jaeger mapping, and export status.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _, WithTonicConfig as _};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use tokio::runtime::Handle;

use crate::config::{Compression, OtlpProtocol};
use crate::export::ExportStatusBoard;
use crate::metrics::Counter;

/// Where and how to send spans.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OtlpTarget {
    /// Name in the export status (`traces:otlp:<endpoint>`).
    pub(crate) name: String,
    pub(crate) endpoint: String,
    pub(crate) protocol: OtlpProtocol,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) gzip: bool,
    /// Why the target differs from what was configured (the Jaeger mapping).
    pub(crate) note: Option<String>,
}

/// The OTLP target for a configured Jaeger endpoint. The legacy Thrift collector
/// (`:14268/api/traces`) becomes the same host's OTLP/HTTP endpoint (`:4318/v1/traces`);
/// port 4317 means OTLP/gRPC; anything else is taken as an OTLP/HTTP URL.
pub(crate) fn jaeger_target(endpoint: &str, compression: Option<Compression>) -> OtlpTarget {
    let name = format!("traces:jaeger:{endpoint}");
    let gzip = compression == Some(Compression::Gzip);
    let (scheme, rest) = endpoint.split_once("://").unwrap_or(("http", endpoint));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok()),
        None => (authority, None),
    };
    let target = |endpoint: String, protocol, note| OtlpTarget {
        name: name.clone(),
        endpoint,
        protocol,
        headers: BTreeMap::new(),
        gzip,
        note,
    };
    if port == Some(14268) || path == "/api/traces" {
        let mapped = format!("{scheme}://{host}:4318/v1/traces");
        let note = format!(
            "{endpoint} is Jaeger's deprecated Thrift endpoint; sending OTLP/HTTP to {mapped} (Jaeger takes OTLP natively since 1.35)"
        );
        return target(mapped, OtlpProtocol::HttpProtobuf, Some(note));
    }
    if port == Some(4317) {
        return target(endpoint.to_owned(), OtlpProtocol::Grpc, None);
    }
    let url = if path.is_empty() || path == "/" {
        format!("{scheme}://{authority}/v1/traces")
    } else {
        endpoint.to_owned()
    };
    target(url, OtlpProtocol::HttpProtobuf, None)
}

/// Builds the OTLP exporter for `target`, wrapped to report its results.
pub(crate) fn exporter(
    target: &OtlpTarget,
    timeout: Duration,
    runtime: Option<Handle>,
    status: ExportStatusBoard,
    dropped: Counter,
) -> Result<StatusSpanExporter<opentelemetry_otlp::SpanExporter>, String> {
    let compression = target.gzip.then_some(opentelemetry_otlp::Compression::Gzip);
    let built = match target.protocol {
        OtlpProtocol::HttpProtobuf => {
            let headers: HashMap<String, String> = target.headers.clone().into_iter().collect();
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(target.endpoint.clone())
                .with_timeout(timeout)
                .with_headers(headers);
            if let Some(c) = compression {
                builder = builder.with_compression(c);
            }
            builder.build()
        }
        OtlpProtocol::Grpc => {
            let Some(handle) = runtime.as_ref() else {
                return Err(
                    "OTLP/gRPC needs a Tokio runtime: create the TelemetryManager inside one"
                        .into(),
                );
            };
            let _entered = handle.enter();
            let mut metadata = tonic::metadata::MetadataMap::new();
            for (k, v) in &target.headers {
                let key =
                    tonic::metadata::MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
                        .map_err(|_| format!("header name {k:?} is not valid gRPC metadata"))?;
                let value = v
                    .parse()
                    .map_err(|_| format!("the value of header {k:?} is not valid gRPC metadata"))?;
                metadata.insert(key, value);
            }
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(target.endpoint.clone())
                .with_timeout(timeout)
                .with_metadata(metadata);
            if let Some(c) = compression {
                builder = builder.with_compression(c);
            }
            builder.build()
        }
    }
    .map_err(|e| {
        format!(
            "cannot build the OTLP exporter for {}: {e}",
            target.endpoint
        )
    })?;
    Ok(StatusSpanExporter::new(
        built,
        target.name.clone(),
        target.note.clone(),
        status,
        dropped,
        // gRPC futures need the runtime; HTTP uses a blocking client on the processor's thread.
        (target.protocol == OtlpProtocol::Grpc)
            .then_some(runtime)
            .flatten(),
    ))
}

/// Wraps a span exporter: records each result in the export status, counts spans lost
/// to failed exports, and runs the export on a Tokio runtime when the exporter needs one.
#[derive(Debug)]
pub(crate) struct StatusSpanExporter<E> {
    inner: E,
    name: String,
    note: Option<String>,
    status: ExportStatusBoard,
    dropped: Counter,
    runtime: Option<Handle>,
}

impl<E> StatusSpanExporter<E> {
    pub(crate) fn new(
        inner: E,
        name: String,
        note: Option<String>,
        status: ExportStatusBoard,
        dropped: Counter,
        runtime: Option<Handle>,
    ) -> Self {
        status.register(&name);
        if let Some(note) = &note {
            status.degraded(&name, note.clone());
        }
        Self {
            inner,
            name,
            note,
            status,
            dropped,
            runtime,
        }
    }
}

impl<E: SpanExporter> SpanExporter for StatusSpanExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let count = batch.len() as u64;
        let result = match &self.runtime {
            Some(handle) => handle.block_on(self.inner.export(batch)),
            None => self.inner.export(batch).await,
        };
        match &result {
            Ok(()) => match &self.note {
                Some(note) => {
                    self.status.success(&self.name);
                    self.status.degraded(&self.name, note.clone());
                }
                None => self.status.success(&self.name),
            },
            Err(e) => {
                self.status.failure(&self.name, describe(e));
                let _ = self.dropped.add(
                    count,
                    &[opentelemetry::KeyValue::new("exporter", self.name.clone())],
                );
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

fn describe(e: &OTelSdkError) -> String {
    match e {
        OTelSdkError::Timeout(d) => format!("export timed out after {d:?}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaeger_legacy_endpoint_maps_to_otlp_http_with_a_note() {
        let t = jaeger_target("http://jaeger-collector:14268/api/traces", None);
        assert_eq!(t.endpoint, "http://jaeger-collector:4318/v1/traces");
        assert_eq!(t.protocol, OtlpProtocol::HttpProtobuf);
        assert!(t.note.unwrap().contains("deprecated Thrift endpoint"));
        let t = jaeger_target(
            "http://jaeger-cluster:14268/api/traces",
            Some(Compression::Gzip),
        );
        assert!(t.gzip);
    }

    #[test]
    fn jaeger_otlp_endpoints_are_used_as_given() {
        let t = jaeger_target("http://jaeger:4317", None);
        assert_eq!(
            (t.endpoint.as_str(), t.protocol),
            ("http://jaeger:4317", OtlpProtocol::Grpc)
        );
        let t = jaeger_target("http://jaeger:4318", None);
        assert_eq!(t.endpoint, "http://jaeger:4318/v1/traces");
        let t = jaeger_target("https://otel.example.com/v1/traces", None);
        assert_eq!(t.endpoint, "https://otel.example.com/v1/traces");
        assert!(t.note.is_none());
    }
}
