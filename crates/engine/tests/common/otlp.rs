//! OTLP receivers for the tests: HTTP/protobuf (gzip or not) and gRPC, traces and logs,
//! recording every request's headers.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tokio::sync::{mpsc, oneshot};

pub type Received = (ExportTraceServiceRequest, Option<String>);

/// An OTLP/HTTP receiver on 127.0.0.1:`port` (0 for any); stops when dropped.
pub struct HttpReceiver {
    pub addr: SocketAddr,
    pub rx: mpsc::UnboundedReceiver<Received>,
    pub logs: mpsc::UnboundedReceiver<ExportLogsServiceRequest>,
    pub metrics: mpsc::UnboundedReceiver<ExportMetricsServiceRequest>,
    /// The headers (HTTP) or metadata (gRPC) of every request, in order.
    pub headers: Seen,
    pub _stop: oneshot::Sender<()>,
}

/// The headers of every request a receiver got.
pub type Seen = Arc<Mutex<Vec<HeaderMap>>>;

pub fn decode_body(headers: &HeaderMap, body: &Bytes) -> (Vec<u8>, Option<String>) {
    let encoding = headers
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = if encoding.as_deref() == Some("gzip") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        body.to_vec()
    };
    (bytes, encoding)
}

/// What an HTTP receiver hands to the test: spans, log records, headers.
type Channels = (
    mpsc::UnboundedReceiver<Received>,
    mpsc::UnboundedReceiver<ExportLogsServiceRequest>,
    mpsc::UnboundedReceiver<ExportMetricsServiceRequest>,
    Seen,
);

/// The OTLP/HTTP routes (`/v1/traces`, `/v1/logs`) and what they receive.
fn router() -> (axum::Router, Channels) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (logs_tx, logs) = mpsc::unbounded_channel();
    let seen = Seen::default();
    let (seen_logs, seen_traces) = (seen.clone(), seen.clone());
    let (metrics_tx, metrics) = mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route(
            "/v1/metrics",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let metrics_tx = metrics_tx.clone();
                async move {
                    let (bytes, _) = decode_body(&headers, &body);
                    metrics_tx
                        .send(ExportMetricsServiceRequest::decode(&bytes[..]).unwrap())
                        .unwrap();
                    (
                        [("content-type", "application/x-protobuf")],
                        ExportMetricsServiceResponse {
                            partial_success: None,
                        }
                        .encode_to_vec(),
                    )
                }
            }),
        )
        .route(
            "/v1/logs",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let logs_tx = logs_tx.clone();
                seen_logs.lock().unwrap().push(headers.clone());
                async move {
                    let (bytes, _) = decode_body(&headers, &body);
                    logs_tx
                        .send(ExportLogsServiceRequest::decode(&bytes[..]).unwrap())
                        .unwrap();
                    (
                        [("content-type", "application/x-protobuf")],
                        ExportLogsServiceResponse {
                            partial_success: None,
                        }
                        .encode_to_vec(),
                    )
                }
            }),
        )
        .route(
            "/v1/traces",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let tx = tx.clone();
                seen_traces.lock().unwrap().push(headers.clone());
                async move {
                    let (bytes, encoding) = decode_body(&headers, &body);
                    tx.send((
                        ExportTraceServiceRequest::decode(&bytes[..]).unwrap(),
                        encoding,
                    ))
                    .unwrap();
                    (
                        [("content-type", "application/x-protobuf")],
                        ExportTraceServiceResponse {
                            partial_success: None,
                        }
                        .encode_to_vec(),
                    )
                }
            }),
        );
    (app, (rx, logs, metrics, seen))
}

pub async fn http_receiver(port: u16) -> HttpReceiver {
    let (app, (rx, logs, metrics, seen)) = router();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    HttpReceiver {
        addr,
        rx,
        logs,
        metrics,
        headers: seen,
        _stop: stop,
    }
}

/// An OTLP/HTTP receiver over TLS with `config` on a free port; stops when dropped.
pub async fn https_receiver(config: std::sync::Arc<rustls::ServerConfig>) -> HttpReceiver {
    let (app, (rx, logs, metrics, seen)) = router();
    let (addr, stop) = super::tls::serve_https(app, config).await;
    HttpReceiver {
        addr,
        rx,
        logs,
        metrics,
        headers: seen,
        _stop: stop,
    }
}

struct GrpcMetrics(mpsc::UnboundedSender<ExportMetricsServiceRequest>);

#[tonic::async_trait]
impl MetricsService for GrpcMetrics {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.0.send(request.into_inner()).unwrap();
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

struct GrpcLogs(mpsc::UnboundedSender<ExportLogsServiceRequest>, Seen);

#[tonic::async_trait]
impl LogsService for GrpcLogs {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        self.1
            .lock()
            .unwrap()
            .push(request.metadata().clone().into_headers());
        self.0.send(request.into_inner()).unwrap();
        Ok(tonic::Response::new(ExportLogsServiceResponse {
            partial_success: None,
        }))
    }
}

struct GrpcService(mpsc::UnboundedSender<Received>, Seen);

#[tonic::async_trait]
impl TraceService for GrpcService {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.1
            .lock()
            .unwrap()
            .push(request.metadata().clone().into_headers());
        let encoding = request
            .metadata()
            .get("grpc-encoding")
            .map(|v| v.to_str().unwrap().to_owned());
        self.0.send((request.into_inner(), encoding)).unwrap();
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// An OTLP/gRPC receiver (traces and logs, gzip accepted) on a free port; stops when dropped.
pub async fn grpc_receiver() -> HttpReceiver {
    grpc_receiver_with(None).await
}

/// [`grpc_receiver`] over TLS when `tls` is given.
pub async fn grpc_receiver_with(tls: Option<tonic::transport::ServerTlsConfig>) -> HttpReceiver {
    let (tx, rx) = mpsc::unbounded_channel();
    let (logs_tx, logs) = mpsc::unbounded_channel();
    let (metrics_tx, metrics) = mpsc::unbounded_channel();
    let seen = Seen::default();
    let addr: SocketAddr = format!("127.0.0.1:{}", super::free_port()).parse().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let service = TraceServiceServer::new(GrpcService(tx, seen.clone()))
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    let logs_service = LogsServiceServer::new(GrpcLogs(logs_tx, seen.clone()))
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    tokio::spawn(async move {
        let mut server = tonic::transport::Server::builder();
        if let Some(tls) = tls {
            server = server.tls_config(tls).unwrap();
        }
        server
            .add_service(service)
            .add_service(logs_service)
            .add_service(
                MetricsServiceServer::new(GrpcMetrics(metrics_tx))
                    .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
            )
            .serve_with_shutdown(addr, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    // Ready when it accepts a connection.
    super::eventually(
        "the gRPC receiver to listen",
        std::time::Duration::from_secs(10),
        || async move { tokio::net::TcpStream::connect(addr).await.ok().map(|_| ()) },
    )
    .await;
    HttpReceiver {
        addr,
        rx,
        logs,
        metrics,
        headers: seen,
        _stop: stop,
    }
}
