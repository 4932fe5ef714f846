//! The HTTP server on its own (`"server": {...}`): health, the query API and the dashboard
//! are served whether metrics are on or off; a Prometheus exporter on the same port shares
//! the server and adds `/metrics`.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read as _, Write as _};

use telemetry_engine::config::{ServerSettings, TelemetryConfig};

/// `method path` on `addr`; the status line and the body.
fn request(addr: std::net::SocketAddr, method: &str, path: &str) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_metrics_off_the_server_still_serves_health_the_api_and_the_dashboard() {
    let mut config = TelemetryConfig::default();
    config.metrics.enabled = false;
    config.server = Some(ServerSettings {
        host: "127.0.0.1".into(),
        port: 0,
        enable_compression: false,
    });
    let telemetry = common::start(config).await;
    let addr = telemetry.prometheus_addrs().await[0];
    let served = tokio::task::spawn_blocking(move || {
        [
            request(addr, "GET", "/health"),
            request(addr, "POST", "/api/get_config"),
            request(addr, "GET", "/"),
            request(addr, "GET", "/metrics"),
        ]
    })
    .await
    .unwrap();
    assert!(served[0].0.ends_with("200 OK"), "{:?}", served[0]);
    assert!(
        served[1].0.ends_with("200 OK") && served[1].1.contains("service_name"),
        "{:?}",
        served[1]
    );
    assert!(
        served[2].0.ends_with("200 OK") && served[2].1.contains("<html"),
        "{:?}",
        served[2].0
    );
    assert!(
        served[3].0.ends_with("404 Not Found"),
        "no metrics: {:?}",
        served[3].0
    );
    assert_eq!(
        telemetry.dashboard_urls().await,
        [format!("http://{addr}/")]
    );
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prometheus_exporter_on_the_servers_port_shares_it() {
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    let port = match &config.metrics.exporters[0] {
        telemetry_engine::config::MetricsExporter::Prometheus { port, .. } => *port,
        _ => unreachable!(),
    };
    config.server = Some(ServerSettings {
        host: "127.0.0.1".into(),
        port,
        enable_compression: false,
    });
    let telemetry = common::start(config).await;
    let addrs = telemetry.prometheus_addrs().await;
    assert_eq!(addrs.len(), 1, "one server: {addrs:?}");
    let addr = addrs[0];
    let (metrics, health) = tokio::task::spawn_blocking(move || {
        (
            request(addr, "GET", "/metrics"),
            request(addr, "GET", "/health"),
        )
    })
    .await
    .unwrap();
    assert!(
        metrics.0.ends_with("200 OK") && metrics.1.contains("# TYPE"),
        "{metrics:?}"
    );
    assert!(health.0.ends_with("200 OK"), "{health:?}");
    telemetry.shutdown().await;
}

#[test]
fn a_server_sharing_an_exporters_port_must_share_its_host() {
    let err = TelemetryConfig::from_json(
        r#"{ "metrics": { "exporters": [ { "Prometheus": { "port": 9464, "host": "0.0.0.0" } } ] },
             "server": { "port": 9464 } }"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("server.host: a Prometheus exporter listens on port 9464"),
        "{err}"
    );
}
