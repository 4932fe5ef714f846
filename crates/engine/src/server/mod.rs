//! The engine's HTTP server (axum): the Prometheus endpoint, the health endpoints
//! (`/health`, `/health/live`, `/health/ready`), the query API (`/api/*`) and the live
//! dashboard (`/`), bound to loopback by default; with `http_token` set, every data route
//! requires it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tower_http::compression::CompressionLayer;

mod api;
mod dashboard;
mod guard;

use api::ApiState;
pub use api::MAX_EVENT_STREAMS;
use dashboard::BearerToken;

use crate::api::Sources;
use crate::export::prometheus::MetricsPipeline;
use crate::export::ExportStatusBoard;
use crate::health::{health_json, HealthCheckManager, LIVENESS, READINESS};

/// How long a stopping server waits for in-flight requests and open streams.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Connections served at once; further clients wait in the OS's accept queue.
pub(crate) const MAX_CONNECTIONS: usize = 128;

/// Connections one peer address may hold at once; more from it are closed as they come,
/// so that one client cannot take every place.
pub const MAX_CONNECTIONS_PER_PEER: usize = 96;

/// The address of the client a request came from (series streams are counted per peer).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub(crate) std::net::IpAddr);

/// One connection counted against its peer until dropped.
struct PeerSlot {
    peers: Arc<parking_lot::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
    ip: std::net::IpAddr,
}

impl PeerSlot {
    /// A place for `ip`, if it holds fewer than [`MAX_CONNECTIONS_PER_PEER`].
    fn take(
        peers: &Arc<parking_lot::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
        ip: std::net::IpAddr,
    ) -> Option<Self> {
        let mut map = peers.lock();
        let held = map.entry(ip).or_insert(0);
        if *held >= MAX_CONNECTIONS_PER_PEER {
            return None;
        }
        *held += 1;
        Some(Self {
            peers: peers.clone(),
            ip,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut map = self.peers.lock();
        if let Some(held) = map.get_mut(&self.ip) {
            *held -= 1;
            if *held == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// How long a client may take to send a request's headers (an idle keep-alive
/// connection included) or its body; then the connection is closed.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `/metrics` renders running at once per server; more scrapes wait their turn.
pub(crate) const MAX_RENDERS: usize = 2;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ServerError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source} (is another process using the port? set PROMETHEUS_PORT or the exporter's port)")]
    Bind {
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What a server serves: metrics, export status, health when enabled, the query API when
/// enabled.
#[derive(Clone)]
pub(crate) struct Served {
    pub(crate) metrics: MetricsPipeline,
    pub(crate) status: ExportStatusBoard,
    pub(crate) health: Option<Arc<HealthCheckManager>>,
    /// What the query API reads, if it is served.
    pub(crate) api: Option<Sources>,
    /// The series streams of the API, shared by every server of the manager.
    pub(crate) streams: Arc<crate::api::Streams>,
    /// Whether to serve the dashboard at `/` (only with the API, which it reads).
    pub(crate) dashboard: bool,
}

pub(crate) struct ServerConfig {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The Prometheus endpoint this server mounts, if any: its path and its name in the
    /// export status.
    pub(crate) metrics: Option<(String, String)>,
    pub(crate) compression: bool,
    /// `serviceId` and `version` of the health document.
    pub(crate) service: String,
    pub(crate) version: String,
    /// The bearer token of the data routes, if any.
    pub(crate) token: Option<String>,
    /// Host names answered besides IP addresses and `localhost` (see [`guard`]).
    pub(crate) allowed_hosts: Vec<String>,
}

#[derive(Clone)]
struct AppState {
    served: Served,
    /// At most [`MAX_RENDERS`] `/metrics` renders at once.
    renders: Arc<tokio::sync::Semaphore>,
    status_name: Arc<str>,
    service: Arc<str>,
    version: Arc<str>,
}

/// A running server; dropping it does not stop it, [`RunningServer::stop`] does.
pub(crate) struct RunningServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    /// Ends the open event streams before the graceful shutdown waits for connections.
    closing: watch::Sender<bool>,
    task: JoinHandle<()>,
    dashboard: bool,
}

impl RunningServer {
    /// Binds and starts serving on the current Tokio runtime.
    pub(crate) async fn start(config: ServerConfig, served: Served) -> Result<Self, ServerError> {
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
        let (closing, closing_rx) = watch::channel(false);
        let dashboard = served.dashboard && served.api.is_some();
        let router = routes(config, served, closing_rx);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, router, stopped));
        Ok(Self {
            addr,
            stop: Some(stop),
            closing,
            task,
            dashboard,
        })
    }

    /// The bound address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether it serves the dashboard at `/`.
    pub(crate) fn serves_dashboard(&self) -> bool {
        self.dashboard
    }

    /// Stops accepting, finishes in-flight requests and waits for the task, at most
    /// `grace` (the manager gives [`SHUTDOWN_GRACE`] or what is left of its deadline): a
    /// client that stopped reading (its socket full) would otherwise hold the shutdown
    /// forever. Connections still open then are closed: they are tasks of the server
    /// task, aborted with it.
    pub(crate) async fn stop(mut self, grace: std::time::Duration) {
        let _ = self.closing.send(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            self.task.abort();
            ::tracing::warn!(
                addr = %self.addr,
                "telemetry HTTP server: clients still connected after {grace:?}; closed"
            );
        }
    }
}

/// Every route `served` asks for, behind the token check (when set), compression (when
/// on), the request timeout and the `Host`/`Origin` guard.
fn routes(config: ServerConfig, served: Served, closing: watch::Receiver<bool>) -> Router {
    let health = served.health.is_some();
    let dashboard = served.dashboard && served.api.is_some();
    let api_state = served.api.clone().map(|sources| ApiState {
        streams: served.streams.clone(),
        sources,
        event_streams: Arc::default(),
        closing,
    });
    let guard = guard::Guard::new(&config);
    let (metrics_path, status_name) = config.metrics.unzip();
    let state = AppState {
        served,
        renders: Arc::new(tokio::sync::Semaphore::new(MAX_RENDERS)),
        status_name: Arc::from(status_name.unwrap_or_default().as_str()),
        service: Arc::from(config.service.as_str()),
        version: Arc::from(config.version.as_str()),
    };
    let mut router = Router::new();
    if let Some(path) = &metrics_path {
        router = router.route(path, get(metrics));
    }
    if health {
        router = router
            .route("/health", get(health_all))
            .route("/health/live", get(health_live))
            .route("/health/ready", get(health_ready));
    }
    let mut router = router.with_state(state);
    if let Some(api_state) = api_state {
        let api_router = Router::new()
            .route("/api/subscribe_series", get(api::subscribe))
            .route("/api/events", get(api::events))
            .route("/api/diagnostics", get(api::diagnostics))
            .route("/api/{command}", axum::routing::post(api::call))
            .with_state(api_state);
        router = router.merge(api_router);
    }
    if let Some(token) = config.token {
        router = router.layer(axum::middleware::from_fn_with_state(
            BearerToken(Arc::from(token.as_str())),
            dashboard::require_token,
        ));
    }
    if dashboard {
        router = router.merge(dashboard::routes());
    }
    if config.compression {
        router = router.layer(CompressionLayer::new().gzip(true));
    }
    router = router
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn_with_state(guard, guard::check));
    router
}

/// Accepts connections until `stopped`, then lets each finish its request in flight.
/// Every connection is a task in one `JoinSet` owned here, so aborting this task closes
/// them all. At most [`MAX_CONNECTIONS`] are served at once.
async fn serve(listener: TcpListener, router: Router, stopped: oneshot::Receiver<()>) {
    let (closing, _) = watch::channel(());
    let mut connections = JoinSet::new();
    let mut stopped = std::pin::pin!(stopped);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let peers = Arc::default();
    loop {
        let slot = tokio::select! {
            _ = &mut stopped => break,
            Some(_) = connections.join_next() => continue,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // One client may not hold every place: its extra connections close.
                    let Some(peer_slot) = PeerSlot::take(&peers, peer.ip()) else {
                        drop(stream);
                        continue;
                    };
                    // Small answers (health, API) go out at once.
                    let _ = stream.set_nodelay(true);
                    let router = router.clone().layer(axum::Extension(Peer(peer.ip())));
                    let service = TowerToHyperService::new(router);
                    let mut closing = closing.subscribe();
                    connections.spawn(async move {
                        let _slots = (slot, peer_slot);
                        // The timer bounds how long a client may take to send its headers,
                        // on the first request and between keep-alive requests.
                        let connection = http1::Builder::new()
                            .timer(TokioTimer::new())
                            .header_read_timeout(REQUEST_TIMEOUT)
                            .serve_connection(TokioIo::new(stream), service);
                        let mut connection = std::pin::pin!(connection);
                        tokio::select! {
                            _ = connection.as_mut() => {}
                            _ = closing.changed() => {
                                connection.as_mut().graceful_shutdown();
                                let _ = connection.await;
                            }
                        }
                    });
                }
                // Out of file descriptors and the like: wait instead of spinning.
                Err(e) => {
                    ::tracing::warn!(error = %e, "telemetry HTTP server: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    let _ = closing.send(());
    while connections.join_next().await.is_some() {}
}

async fn metrics(State(state): State<AppState>) -> Response {
    // Closed only with the server: then there is nobody left to answer.
    let Ok(_turn) = state.renders.acquire().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let metrics = state.served.metrics.clone();
    let rendered = tokio::task::spawn_blocking(move || metrics.render()).await;
    match rendered {
        Ok(Ok(text)) => {
            state.served.status.success(&state.status_name);
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
            state
                .served
                .status
                .failure(&state.status_name, e.to_string());
            (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
        }
        Err(e) => {
            let message = format!("render task failed: {e}");
            state
                .served
                .status
                .failure(&state.status_name, message.clone());
            (StatusCode::INTERNAL_SERVER_ERROR, message).into_response()
        }
    }
}

async fn health_all(State(state): State<AppState>) -> Response {
    health_response(&state, None).await
}

async fn health_live(State(state): State<AppState>) -> Response {
    health_response(&state, Some(LIVENESS)).await
}

async fn health_ready(State(state): State<AppState>) -> Response {
    health_response(&state, Some(READINESS)).await
}

/// `application/health+json`: 200 for pass and warn, 503 for fail.
async fn health_response(state: &AppState, group: Option<&str>) -> Response {
    let Some(health) = &state.served.health else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let report = match group {
        Some(g) => health.check_group(g).await,
        None => health.check_all().await,
    };
    let (code, body) = health_json(&report, &state.service, &state.version);
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(header::CONTENT_TYPE, "application/health+json")],
        body.to_string(),
    )
        .into_response()
}
