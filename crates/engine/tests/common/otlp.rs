//! An OTLP/HTTP receiver (traces and logs, protobuf, gzip or not) for the tests.

use std::io::Read;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::HeaderMap;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
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
    pub _stop: oneshot::Sender<()>,
}

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

pub async fn http_receiver(port: u16) -> HttpReceiver {
    let (tx, rx) = mpsc::unbounded_channel();
    let (logs_tx, logs) = mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route(
            "/v1/logs",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let logs_tx = logs_tx.clone();
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
        _stop: stop,
    }
}
