//! The engine of `tauri-plugin-opentelemetry`: telemetry for desktop apps, with no window
//! and no Tauri dependency.
//!
//! Data flows one way: instruments ([`metrics`]) → the OpenTelemetry SDK → one reader
//! ([`export`]) → the series store ([`store`]), the console and file exporters and the
//! Prometheus endpoint ([`server`]). [`collectors`] record system metrics every
//! collection interval. Spans ([`tracing`]) and log records ([`logs`], bridged from the
//! `tracing` and `log` crates) go through the SDK's providers to in-app stores and OTLP /
//! file exporters. [`config`] describes it all; [`TelemetryManager`] runs it.
//!
//! # Examples
//! ```no_run
//! use telemetry_engine::{config::{Profile, TelemetryConfig}, TelemetryManager};
//! # async fn run() -> Result<(), telemetry_engine::TelemetryError> {
//! let telemetry = TelemetryManager::new(TelemetryConfig::profile(Profile::Production)).await?;
//! telemetry.initialize().await?;
//! telemetry.metrics().record_histogram("frame_processing_duration_ms", 16.4).await?;
//! telemetry.shutdown().await;
//! # Ok(()) }
//! ```

pub mod alerts;
pub mod api;
mod clock;
pub mod collectors;
pub mod config;
pub mod dashboard;
pub mod export;
pub mod health;
pub mod logs;
mod manager;
pub mod metrics;
pub mod platform;
pub mod privacy;
pub mod resource;
#[cfg(feature = "server")]
pub mod server;
pub mod store;
mod supervise;
pub mod tls;
pub mod tracing;
mod validation;

pub use manager::{Routed, TelemetryError, TelemetryManager};
pub use opentelemetry::context::FutureExt;
pub use opentelemetry::{Context, KeyValue};
