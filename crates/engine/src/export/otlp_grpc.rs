//! OTLP over gRPC (feature `otlp-grpc`): a tonic channel per destination, on our TLS
//! configuration ([`crate::tls::grpc_config`]), with the configured headers as metadata.
//! A failure's gRPC code says whether sending it again later can succeed (the OTLP/gRPC
//! list: `UNAVAILABLE`, `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`, `ABORTED`,
//! `CANCELLED`, `OUT_OF_RANGE`, `DATA_LOSS`).

use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use tonic::metadata::{MetadataKey, MetadataMap};

use super::otlp_send::{OtlpRequest, SendError};
use crate::config::OtlpExporterConfig;

/// Sends requests to one gRPC destination.
pub(crate) struct GrpcSender {
    channel: tonic::transport::Channel,
    metadata: MetadataMap,
    gzip: bool,
}

impl GrpcSender {
    /// A sender to `config`'s endpoint; each call may take `timeout`. The channel connects
    /// lazily, on the Tokio runtime this is called on.
    ///
    /// # Errors
    /// The endpoint, the TLS settings or a header cannot be used.
    pub(crate) fn new(
        config: &OtlpExporterConfig,
        timeout: Duration,
        gzip: bool,
    ) -> Result<Self, String> {
        let mut endpoint = tonic::transport::Endpoint::from_shared(config.endpoint.clone())
            .map_err(|e| format!("endpoint: {e}"))?
            .timeout(timeout)
            .connect_timeout(timeout);
        if config.endpoint.starts_with("https://") {
            endpoint = endpoint
                .tls_config(
                    crate::tls::grpc_config(config.tls.as_ref()).map_err(|e| e.to_string())?,
                )
                .map_err(|e| crate::tls::error_chain(&e))?;
        }
        Ok(Self {
            channel: endpoint.connect_lazy(),
            metadata: metadata(config)?,
            gzip,
        })
    }

    /// Sends `request`.
    pub(crate) async fn call(&self, request: OtlpRequest) -> Result<(), SendError> {
        let gzip = self.gzip.then_some(tonic::codec::CompressionEncoding::Gzip);
        let channel = self.channel.clone();
        let result = match request {
            OtlpRequest::Traces(r) => {
                let mut client = TraceServiceClient::new(channel);
                if let Some(g) = gzip {
                    client = client.send_compressed(g);
                }
                client.export(self.with_metadata(r)).await.map(drop)
            }
            OtlpRequest::Logs(r) => {
                let mut client = LogsServiceClient::new(channel);
                if let Some(g) = gzip {
                    client = client.send_compressed(g);
                }
                client.export(self.with_metadata(r)).await.map(drop)
            }
            OtlpRequest::Metrics(r) => {
                let mut client = MetricsServiceClient::new(channel);
                if let Some(g) = gzip {
                    client = client.send_compressed(g);
                }
                client.export(self.with_metadata(r)).await.map(drop)
            }
        };
        result.map_err(|status| {
            let mut message = format!("{:?}: {}", status.code(), status.message());
            // A status with a source came from the transport (connect, TLS), not the server.
            let source = std::error::Error::source(&status);
            if let Some(source) = source {
                message.push_str(": ");
                message.push_str(&crate::tls::error_chain(source));
            }
            SendError {
                retryable: retryable(status.code()),
                retry_after: None,
                answered: source.is_none(),
                message,
            }
        })
    }

    /// A gRPC request carrying exactly the configured metadata.
    fn with_metadata<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        *request.metadata_mut() = self.metadata.clone();
        request
    }
}

/// The configured headers of `config` as gRPC metadata.
fn metadata(config: &OtlpExporterConfig) -> Result<MetadataMap, String> {
    let mut metadata = MetadataMap::new();
    for (k, v) in &config.headers {
        let key = MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
            .map_err(|_| format!("header name {k:?} is not valid gRPC metadata"))?;
        // The value is a secret: name the header, never its value.
        let value = v
            .parse()
            .map_err(|_| format!("the value of header {k:?} is not valid gRPC metadata"))?;
        metadata.insert(key, value);
    }
    Ok(metadata)
}

/// Whether a gRPC status code is worth sending again later (the OTLP/gRPC list).
fn retryable(code: tonic::Code) -> bool {
    use tonic::Code;
    matches!(
        code,
        Code::Cancelled
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::OutOfRange
            | Code::Unavailable
            | Code::DataLoss
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_worth_sending_again_follows_the_otlp_specification() {
        assert!(retryable(tonic::Code::Unavailable));
        assert!(retryable(tonic::Code::DeadlineExceeded));
        assert!(!retryable(tonic::Code::InvalidArgument));
        assert!(!retryable(tonic::Code::Unauthenticated));
    }
}
