//! The process-wide instance (its own test binary: it is global state).
#![allow(clippy::unwrap_used)]

use telemetry_engine::config::TelemetryConfig;
use telemetry_engine::{TelemetryError, TelemetryManager};

#[tokio::test]
async fn get_instance_follows_initialize_and_shutdown() {
    assert!(TelemetryManager::get_instance().is_none());
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    let telemetry = TelemetryManager::new(config).await.unwrap();
    assert!(
        TelemetryManager::get_instance().is_none(),
        "new() alone does not install it"
    );
    telemetry.initialize().await.unwrap();
    telemetry.initialize().await.unwrap(); // a second call is a no-op
    let instance = TelemetryManager::get_instance().unwrap();
    assert!(std::sync::Arc::ptr_eq(&instance, &telemetry));
    instance
        .metrics()
        .increment_counter("frames_processed_total", 1)
        .await
        .unwrap();
    telemetry.shutdown().await;
    assert!(TelemetryManager::get_instance().is_none());
    assert!(matches!(
        telemetry.initialize().await,
        Err(TelemetryError::ShutDown)
    ));
    initialize_claims_the_start_when_called_and_the_work_runs_when_polled().await;
    a_start_whose_future_is_dropped_still_finishes_and_is_tracked().await;
}

/// `initialize` claims the start when called: the instance and the panic capture are in
/// place before its future runs, and what waits for the start waits for that future
/// (the plugin spawns it so the app's main thread never waits). Run after the test
/// above, in the same test: both change the process-wide instance.
async fn initialize_claims_the_start_when_called_and_the_work_runs_when_polled() {
    let telemetry = TelemetryManager::new(with_server()).await.unwrap();
    let starting = telemetry.initialize();
    let instance = TelemetryManager::get_instance().expect("installed by the call");
    assert!(std::sync::Arc::ptr_eq(&instance, &telemetry));
    let addrs = telemetry.prometheus_addrs();
    tokio::pin!(addrs);
    assert!(
        futures_util::FutureExt::now_or_never(addrs.as_mut()).is_none(),
        "the addresses wait for the claimed start"
    );
    tokio::spawn(starting).await.unwrap().unwrap();
    assert_eq!(
        addrs.await.len(),
        1,
        "the server listens once the start ran"
    );
    telemetry.started().await;
    telemetry.shutdown().await;
}

fn with_server() -> TelemetryConfig {
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    config.server = Some(telemetry_engine::config::ServerSettings {
        host: "127.0.0.1".into(),
        port: 0,
        enable_compression: false,
    });
    config
}

/// A start whose future is polled once and dropped (an app that gives up waiting) still
/// finishes, and what it started is tracked: the server listens and the shutdown stops it.
async fn a_start_whose_future_is_dropped_still_finishes_and_is_tracked() {
    let telemetry = TelemetryManager::new(with_server()).await.unwrap();
    assert!(
        futures_util::FutureExt::now_or_never(telemetry.initialize()).is_none(),
        "the start is under way when its future is dropped"
    );
    telemetry.started().await;
    let addrs = telemetry.prometheus_addrs().await;
    assert_eq!(
        addrs.len(),
        1,
        "the dropped start still brought the server up"
    );
    let url = format!("http://{}/health", addrs[0]);
    assert!(reqwest::get(&url).await.is_ok(), "{url} answers");
    telemetry.shutdown().await;
    assert!(
        reqwest::get(&url).await.is_err(),
        "the shutdown stopped the server the dropped start began"
    );
}
