//! The engine's HTTP server (axum): the Prometheus endpoint, bound to loopback by default.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::compression::CompressionLayer;

use crate::export::prometheus::Gatherer;
use crate::export::ExportStatusBoard;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source} (is another process using the port? set PROMETHEUS_PORT or the exporter's port)")]
    Bind {
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What the server serves and how.
pub(crate) struct ServerConfig {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) metrics_path: String,
    pub(crate) compression: bool,
    pub(crate) status_name: String,
}

#[derive(Clone)]
struct AppState {
    gatherer: Gatherer,
    status: ExportStatusBoard,
    status_name: Arc<str>,
}

/// A running server; dropping it does not stop it, [`RunningServer::stop`] does.
pub(crate) struct RunningServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// Binds and starts serving on the current Tokio runtime.
    pub(crate) async fn start(
        config: ServerConfig,
        gatherer: Gatherer,
        status: ExportStatusBoard,
    ) -> Result<Self, ServerError> {
        let addr = format!("{}:{}", config.host, config.port);
        let listener = TcpListener::bind(&addr)
            .await
            .map_err(|source| ServerError::Bind {
                addr: addr.clone(),
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { addr, source })?;
        let state = AppState {
            gatherer,
            status,
            status_name: Arc::from(config.status_name.as_str()),
        };
        let mut router = Router::new()
            .route(&config.metrics_path, get(metrics))
            .with_state(state);
        if config.compression {
            router = router.layer(CompressionLayer::new().gzip(true));
        }
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                ::tracing::error!(error = %e, "telemetry HTTP server stopped");
            }
        });
        Ok(Self {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// The bound address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, finishes in-flight requests and waits for the task.
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.task.await;
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let gatherer = state.gatherer.clone();
    let rendered = tokio::task::spawn_blocking(move || gatherer.render()).await;
    match rendered {
        Ok(Ok(text)) => {
            state.status.success(&state.status_name);
            (
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                text,
            )
                .into_response()
        }
        Ok(Err(e)) => {
            state.status.failure(&state.status_name, e.to_string());
            (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
        }
        Err(e) => {
            let message = format!("render task failed: {e}");
            state.status.failure(&state.status_name, message.clone());
            (StatusCode::INTERNAL_SERVER_ERROR, message).into_response()
        }
    }
}
