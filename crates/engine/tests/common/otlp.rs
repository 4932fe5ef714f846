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

/// A POST route that records the request's headers in `seen`, decodes an `M` (gzip or
/// not), hands it with its content encoding to `on`, and answers an empty `R`.
fn route<M, R>(
    seen: Seen,
    on: impl Fn(M, Option<String>) + Clone + Send + Sync + 'static,
) -> axum::routing::MethodRouter
where
    M: Message + Default + 'static,
    R: Message + Default + 'static,
{
    axum::routing::post(move |headers: HeaderMap, body: Bytes| {
        seen.lock().unwrap().push(headers.clone());
        let on = on.clone();
        async move {
            let (bytes, encoding) = decode_body(&headers, &body);
            on(M::decode(&bytes[..]).unwrap(), encoding);
            (
                [("content-type", "application/x-protobuf")],
                R::default().encode_to_vec(),
            )
        }
    })
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
    let (metrics_tx, metrics) = mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route(
            "/v1/metrics",
            route::<ExportMetricsServiceRequest, ExportMetricsServiceResponse>(
                seen.clone(),
                move |request, _| metrics_tx.send(request).unwrap(),
            ),
        )
        .route(
            "/v1/logs",
            route::<ExportLogsServiceRequest, ExportLogsServiceResponse>(
                seen.clone(),
                move |request, _| logs_tx.send(request).unwrap(),
            ),
        )
        .route(
            "/v1/traces",
            route::<ExportTraceServiceRequest, ExportTraceServiceResponse>(
                seen.clone(),
                move |request, encoding| tx.send((request, encoding)).unwrap(),
            ),
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

/// A gRPC service that records each request's metadata in `seen` and hands what
/// `convert` makes of the request to `tx`.
struct GrpcSink<M, T> {
    tx: mpsc::UnboundedSender<T>,
    seen: Seen,
    convert: fn(tonic::Request<M>) -> T,
}

/// Implements the OTLP `$service` trait for [`GrpcSink`], answering an empty `$response`.
macro_rules! grpc_sink {
    ($service:ident, $request:ty, $response:ty) => {
        #[tonic::async_trait]
        impl<T: Send + 'static> $service for GrpcSink<$request, T> {
            async fn export(
                &self,
                request: tonic::Request<$request>,
            ) -> Result<tonic::Response<$response>, tonic::Status> {
                self.seen
                    .lock()
                    .unwrap()
                    .push(request.metadata().clone().into_headers());
                self.tx.send((self.convert)(request)).unwrap();
                Ok(tonic::Response::new(<$response>::default()))
            }
        }
    };
}

grpc_sink!(
    MetricsService,
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse
);
grpc_sink!(
    LogsService,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse
);
grpc_sink!(
    TraceService,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse
);

fn sink<M, T>(
    tx: mpsc::UnboundedSender<T>,
    seen: &Seen,
    convert: fn(tonic::Request<M>) -> T,
) -> GrpcSink<M, T> {
    GrpcSink {
        tx,
        seen: seen.clone(),
        convert,
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
    let service = TraceServiceServer::new(sink(tx, &seen, |request| {
        let encoding = request
            .metadata()
            .get("grpc-encoding")
            .map(|v| v.to_str().unwrap().to_owned());
        (request.into_inner(), encoding)
    }))
    .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    let logs_service = LogsServiceServer::new(sink(logs_tx, &seen, tonic::Request::into_inner))
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    let metrics_service =
        MetricsServiceServer::new(sink(metrics_tx, &seen, tonic::Request::into_inner))
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    tokio::spawn(async move {
        let mut server = tonic::transport::Server::builder();
        if let Some(tls) = tls {
            server = server.tls_config(tls).unwrap();
        }
        server
            .add_service(service)
            .add_service(logs_service)
            .add_service(metrics_service)
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
