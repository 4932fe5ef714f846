//! The pages under `docs/` as doctests, so that their examples keep compiling.
//!
//! Each page is the documentation of one item below, so every ```` ```rust ```` block of it
//! is compiled and run by `cargo test --doc` like any other doctest of this crate (blocks
//! marked `rust,ignore` say why they cannot be). This module exists only when rustdoc
//! collects doctests (`#[cfg(doctest)]` in `lib.rs`); nothing of it is in the library.
//!
//! The test below also checks the pages' JSON: every ```` ```json ```` block that is a
//! configuration (its keys are `TelemetryConfig` fields, or `telemetry`, or
//! `plugins.opentelemetry` as in `tauri.conf.json`) must load with
//! `TelemetryConfig::from_json` and pass `validate` (alert conditions and templates
//! included). Other JSON blocks
//! (capabilities, webhook bodies, health documents) must at least be valid JSON.
//!
//! ```
//! use tauri_plugin_opentelemetry::TelemetryConfig;
//!
//! const FIELDS: &[&str] = &[
//!     "enabled", "service_name", "service_version", "resource_attributes", "tracing",
//!     "metrics", "health", "logs", "alerts", "http_api", "dashboard", "http_token",
//!     "shutdown_timeout", "server", "panels", "consent", "privacy", "storage",
//! ];
//! let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
//! let mut configs = 0;
//! for entry in std::fs::read_dir(&docs).unwrap() {
//!     let path = entry.unwrap().path();
//!     if path.extension().is_none_or(|e| e != "md") {
//!         continue;
//!     }
//!     let page = std::fs::read_to_string(&path).unwrap();
//!     let mut lines = page.lines();
//!     while let Some(line) = lines.next() {
//!         if line.trim() != "```json" {
//!             continue;
//!         }
//!         let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
//!         let text = block.join("\n");
//!         let value: serde_json::Value = serde_json::from_str(&text)
//!             .unwrap_or_else(|e| panic!("{}: invalid JSON ({e}):\n{text}", path.display()));
//!         let config = match value.as_object() {
//!             Some(o) if o.keys().all(|k| k == "plugins") && o.contains_key("plugins") => {
//!                 value["plugins"].get("opentelemetry").cloned()
//!             }
//!             Some(o) if o.keys().all(|k| k == "telemetry" || FIELDS.contains(&k.as_str())) => {
//!                 Some(value.clone())
//!             }
//!             _ => None,
//!         };
//!         if let Some(config) = config {
//!             let loaded = TelemetryConfig::from_json(&config.to_string());
//!             if let Err(e) = loaded.and_then(|c| c.validate()) {
//!                 panic!("{}: a configuration that does not load:\n{e}\n{text}", path.display());
//!             }
//!             configs += 1;
//!         }
//!     }
//! }
//! assert!(configs >= 7, "only {configs} configurations found under {}", docs.display());
//! ```
#![allow(dead_code, unreachable_pub, missing_docs)]

#[doc = include_str!("../docs/README.md")]
pub struct Index;

#[doc = include_str!("../docs/configuration.md")]
pub struct Configuration;

#[doc = include_str!("../docs/installation.md")]
pub struct Installation;

#[doc = include_str!("../docs/environments.md")]
pub struct Environments;

#[doc = include_str!("../docs/monitoring.md")]
pub struct Monitoring;

#[doc = include_str!("../docs/dashboards.md")]
pub struct Dashboards;

#[doc = include_str!("../docs/alerting.md")]
pub struct Alerting;

#[doc = include_str!("../docs/opentelemetry.md")]
pub struct OpenTelemetry;

#[doc = include_str!("../docs/custom-metrics.md")]
pub struct CustomMetrics;

#[doc = include_str!("../docs/distributed-tracing.md")]
pub struct DistributedTracing;

#[doc = include_str!("../docs/performance.md")]
pub struct Performance;

#[doc = include_str!("../docs/troubleshooting.md")]
pub struct Troubleshooting;

#[doc = include_str!("../docs/best-practices.md")]
pub struct BestPractices;

#[doc = include_str!("../docs/spec-snippets.md")]
pub struct SpecSnippets;
