//! Sending OTLP requests over HTTP/protobuf or gRPC: one sender per destination, shared by
//! the span, log and metric exporters and by the replay of the spool. Each request
//! carries exactly the configured headers (never the environment's for another
//! destination), on our TLS configuration ([`crate::tls`]).
//!
//! A failure says whether sending it again later can succeed, as the OTLP specification
//! defines it: a transport error (refused, timed out, TLS), HTTP 429, 502, 503 and 504
//! (and a redirect that would have dropped the body, see [`crate::tls::Redirects`]),
//! and the gRPC codes `UNAVAILABLE`, `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`,
//! `ABORTED`, `CANCELLED`, `OUT_OF_RANGE` and `DATA_LOSS` are retryable; anything else
//! (400, 401, 403, 413, `INVALID_ARGUMENT`, …) is the server refusing that request.

use std::io::Write as _;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;

use crate::config::{Compression, OtlpExporterConfig, OtlpProtocol};

/// What a spool queue holds: one of the three OTLP signals, or alert deliveries
/// (webhook and PagerDuty bodies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Signal {
    Traces,
    Logs,
    Metrics,
    Alerts,
}

impl Signal {
    /// `traces`, `logs`, `metrics` or `alerts`: the `signal` label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Traces => "traces",
            Self::Logs => "logs",
            Self::Metrics => "metrics",
            Self::Alerts => "alerts",
        }
    }

    /// The signal of a queue named `<signal>:…` (an exporter's name in the export status).
    pub(crate) fn of_exporter(name: &str) -> Option<Self> {
        match name.split(':').next()? {
            "traces" => Some(Self::Traces),
            "logs" => Some(Self::Logs),
            "metrics" => Some(Self::Metrics),
            "alerts" => Some(Self::Alerts),
            _ => None,
        }
    }
}

/// One export request of any signal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OtlpRequest {
    Traces(ExportTraceServiceRequest),
    Logs(ExportLogsServiceRequest),
    Metrics(ExportMetricsServiceRequest),
}

impl OtlpRequest {
    /// The protobuf encoding, as OTLP/HTTP sends it and the spool keeps it.
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Self::Traces(r) => r.encode_to_vec(),
            Self::Logs(r) => r.encode_to_vec(),
            Self::Metrics(r) => r.encode_to_vec(),
        }
    }

    /// The request of `signal` encoded in `bytes`.
    ///
    /// # Errors
    /// The bytes are not such a request, or `signal` is not an OTLP signal.
    #[cfg(any(feature = "otlp-grpc", test))]
    pub(crate) fn decode(signal: Signal, bytes: &[u8]) -> Result<Self, String> {
        let decoded = match signal {
            Signal::Traces => ExportTraceServiceRequest::decode(bytes).map(Self::Traces),
            Signal::Logs => ExportLogsServiceRequest::decode(bytes).map(Self::Logs),
            Signal::Metrics => ExportMetricsServiceRequest::decode(bytes).map(Self::Metrics),
            Signal::Alerts => return Err("alert deliveries are not OTLP requests".to_owned()),
        };
        decoded.map_err(|e| e.to_string())
    }
}

/// Why a request was not accepted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SendError {
    /// Sending the same request later can succeed.
    pub(crate) retryable: bool,
    /// How long the server asked to wait (`Retry-After`).
    pub(crate) retry_after: Option<Duration>,
    /// The server answered (a status), as opposed to a connection, TLS or timeout error.
    pub(crate) answered: bool,
    /// What went wrong, with the server's message or the transport's cause.
    pub(crate) message: String,
}

impl SendError {
    pub(crate) fn transport(message: String) -> Self {
        Self {
            retryable: true,
            retry_after: None,
            answered: false,
            message,
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Whether an HTTP status is worth sending again later (OTLP/HTTP: 429, 502, 503, 504;
/// and a redirect the client did not follow, a captive portal's: the network is not
/// there yet).
pub(crate) fn http_retryable(status: u16) -> bool {
    matches!(status, 300..=399 | 429 | 502 | 503 | 504)
}

/// `Retry-After` in seconds (the HTTP-date form is taken as no advice).
pub(crate) fn retry_after(value: Option<&http::HeaderValue>) -> Option<Duration> {
    let seconds: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// Sends requests to one destination.
pub(crate) enum OtlpSender {
    Http {
        client: reqwest::Client,
        /// The destination's TLS settings, for naming a failed handshake.
        tls: Option<crate::config::TlsConfig>,
        endpoint: String,
        headers: http::HeaderMap,
        gzip: bool,
    },
    #[cfg(feature = "otlp-grpc")]
    Grpc(super::otlp_grpc::GrpcSender),
}

impl OtlpSender {
    /// A sender to `config`'s endpoint; each request may take `timeout`. A gRPC channel
    /// connects lazily, on the Tokio runtime this is called on.
    ///
    /// # Errors
    /// The TLS settings, a header or the gRPC endpoint cannot be used.
    pub(crate) fn new(config: &OtlpExporterConfig, timeout: Duration) -> Result<Self, String> {
        let config = &super::otlp::credentials_as_header(config);
        let gzip = config.compression == Some(Compression::Gzip);
        match config.protocol {
            OtlpProtocol::HttpProtobuf => Ok(Self::Http {
                client: crate::tls::http_client(
                    Some(timeout),
                    config.tls.as_ref(),
                    crate::tls::Redirects::SameRequest,
                )
                .map_err(|e| e.to_string())?,
                tls: config.tls.clone(),
                endpoint: config.endpoint.clone(),
                headers: super::otlp::http_headers(config)?,
                gzip,
            }),
            #[cfg(feature = "otlp-grpc")]
            OtlpProtocol::Grpc => Ok(Self::Grpc(super::otlp_grpc::GrpcSender::new(
                config, timeout, gzip,
            )?)),
            #[cfg(not(feature = "otlp-grpc"))]
            OtlpProtocol::Grpc => Err(crate::config::NO_GRPC_FEATURE.to_owned()),
        }
    }

    /// Sends `request`.
    pub(crate) async fn send(&self, request: &OtlpRequest) -> Result<(), SendError> {
        match self {
            Self::Http { .. } => self.post(request.encode()).await,
            #[cfg(feature = "otlp-grpc")]
            Self::Grpc(grpc) => grpc.call(request.clone()).await,
        }
    }

    /// Sends a request of `signal` already encoded (from the spool).
    #[cfg_attr(not(feature = "otlp-grpc"), allow(unused_variables))]
    pub(crate) async fn send_encoded(
        &self,
        signal: Signal,
        bytes: Vec<u8>,
    ) -> Result<(), SendError> {
        match self {
            Self::Http { .. } => self.post(bytes).await,
            #[cfg(feature = "otlp-grpc")]
            Self::Grpc(grpc) => {
                let request = OtlpRequest::decode(signal, &bytes).map_err(|e| SendError {
                    retryable: false,
                    answered: false,
                    retry_after: None,
                    message: format!("a spooled {} batch does not decode: {e}", signal.as_str()),
                })?;
                grpc.call(request).await
            }
        }
    }

    async fn post(&self, body: Vec<u8>) -> Result<(), SendError> {
        #[cfg_attr(not(feature = "otlp-grpc"), allow(irrefutable_let_patterns))]
        let Self::Http {
            client,
            tls,
            endpoint,
            headers,
            gzip,
        } = self
        else {
            return Err(SendError::transport("not an HTTP sender".into()));
        };
        let mut request = client
            .post(endpoint.as_str())
            .headers(headers.clone())
            .header("content-type", "application/x-protobuf");
        let body = if *gzip {
            request = request.header("content-encoding", "gzip");
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder
                .write_all(&body)
                .and_then(|()| encoder.finish())
                .map_err(|e| SendError::transport(format!("gzip: {e}")))?
        } else {
            body
        };
        let response = match request.body(body).send().await {
            Ok(response) => response,
            Err(e) => {
                let mut message = crate::tls::error_chain(&e.without_url());
                if endpoint.starts_with("https://") && !message.contains("certificate") {
                    if let Some(cause) = crate::tls::handshake_error(endpoint, tls.as_ref()).await {
                        message = format!("{message}; the TLS handshake says: {cause}");
                    }
                }
                return Err(SendError::transport(message));
            }
        };
        let code = response.status();
        if code.is_success() {
            return Ok(());
        }
        let retry_after = retry_after(response.headers().get(http::header::RETRY_AFTER));
        let text = response.text().await.unwrap_or_default();
        Err(SendError {
            retryable: http_retryable(code.as_u16()),
            retry_after,
            answered: true,
            message: format!(
                "status code: {}: {}",
                code.as_u16(),
                text.chars().take(200).collect::<String>()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_worth_sending_again_follows_the_otlp_specification() {
        for status in [302, 429, 502, 503, 504] {
            assert!(http_retryable(status), "{status}");
        }
        for status in [400, 401, 403, 404, 413, 500] {
            assert!(!http_retryable(status), "{status}");
        }
        let header = |v: &str| http::HeaderValue::from_str(v).ok();
        assert_eq!(
            retry_after(header("30").as_ref()),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(header("Wed, 21 Oct 2026 07:28:00 GMT").as_ref()),
            None
        );
        assert_eq!(retry_after(None), None);
    }

    #[test]
    fn a_request_comes_back_from_its_encoding_and_exporter_names_give_their_signal() {
        let request = OtlpRequest::Logs(ExportLogsServiceRequest::default());
        let back = OtlpRequest::decode(Signal::Logs, &request.encode()).unwrap();
        assert_eq!(back, request);
        assert!(OtlpRequest::decode(Signal::Traces, &[0xff, 0xff, 0xff]).is_err());
        assert_eq!(
            Signal::of_exporter("logs:otlp:https://collector/v1/logs"),
            Some(Signal::Logs)
        );
        assert_eq!(
            Signal::of_exporter("alerts:webhook:0123abcd"),
            Some(Signal::Alerts)
        );
        assert_eq!(Signal::of_exporter("prometheus:0.0.0.0:9090"), None);
        assert!(OtlpRequest::decode(Signal::Alerts, b"{}").is_err());
    }
}
