//! The Jaeger mapping: the spec's Jaeger endpoints become OTLP targets.

use std::collections::BTreeMap;

use crate::config::shown_endpoint;
use crate::config::{Compression, OtlpExporterConfig, OtlpProtocol};
use crate::export::otlp::OtlpTarget;

/// The OTLP target for a configured Jaeger endpoint. The legacy Thrift collector
/// (`:14268/api/traces`) becomes the same host's OTLP/HTTP endpoint (`:4318/v1/traces`);
/// port 4317 means OTLP/gRPC; anything else is taken as an OTLP/HTTP URL.
pub(crate) fn jaeger_target(endpoint: &str, compression: Option<Compression>) -> OtlpTarget {
    let name = format!("traces:jaeger:{}", shown_endpoint(endpoint));
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
        config: OtlpExporterConfig {
            endpoint,
            protocol,
            headers: BTreeMap::new(),
            compression,
            tls: None,
        },
        note,
    };
    if port == Some(14268) || path == "/api/traces" {
        let mapped = format!("{scheme}://{host}:4318/v1/traces");
        let note = format!(
            "{} is Jaeger's deprecated Thrift endpoint; sending OTLP/HTTP to {} (Jaeger takes OTLP natively since 1.35)",
            shown_endpoint(endpoint),
            shown_endpoint(&mapped)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaeger_legacy_endpoint_maps_to_otlp_http_with_a_note() {
        let t = jaeger_target("http://jaeger-collector:14268/api/traces", None);
        assert_eq!(t.config.endpoint, "http://jaeger-collector:4318/v1/traces");
        assert_eq!(t.config.protocol, OtlpProtocol::HttpProtobuf);
        assert!(t.note.unwrap().contains("deprecated Thrift endpoint"));
        let t = jaeger_target(
            "http://jaeger-cluster:14268/api/traces",
            Some(Compression::Gzip),
        );
        assert_eq!(t.config.compression, Some(Compression::Gzip));
    }

    #[test]
    fn jaeger_otlp_endpoints_are_used_as_given() {
        let t = jaeger_target("http://jaeger:4317", None);
        assert_eq!(
            (t.config.endpoint.as_str(), t.config.protocol),
            ("http://jaeger:4317", OtlpProtocol::Grpc)
        );
        let t = jaeger_target("http://jaeger:4318", None);
        assert_eq!(t.config.endpoint, "http://jaeger:4318/v1/traces");
        let t = jaeger_target("https://otel.example.com/v1/traces", None);
        assert_eq!(t.config.endpoint, "https://otel.example.com/v1/traces");
        assert!(t.note.is_none());
    }
}
