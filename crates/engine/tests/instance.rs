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
}
