//! OpenTelemetry metrics, system collectors and a Prometheus endpoint for Tauri v2 apps.
//!
//! Register the plugin; it starts the engine ([`telemetry_engine`]) with the app and shuts
//! it down, flushing every exporter, when the app exits.
//!
//! ```
//! fn register<R: tauri::Runtime>(app: tauri::Builder<R>) -> tauri::Builder<R> {
//!     // then `.run(tauri::generate_context!())` as usual
//!     app.plugin(tauri_plugin_opentelemetry::init())
//! }
//! ```
//!
//! The configuration comes from `plugins.opentelemetry` in `tauri.conf.json` (the same
//! JSON as a config file), else from the environment (`TELEMETRY_CONFIG`, …), or from
//! code with [`Builder::config`].

use std::sync::Arc;

use tauri::plugin::{Builder as PluginBuilder, TauriPlugin};
use tauri::{Manager, RunEvent, Runtime};

pub use telemetry_engine as engine;
pub use telemetry_engine::config::TelemetryConfig;
pub use telemetry_engine::TelemetryManager;

mod commands;
mod error;
mod models;

pub use error::{Error, Result};
pub use models::{LatestValue, MetricsSnapshot};

/// The plugin id: commands are `plugin:opentelemetry|<command>`.
pub const PLUGIN_ID: &str = "opentelemetry";

/// Access to the running engine from any Tauri manager (app, handle, window).
pub trait TelemetryExt<R: Runtime> {
    /// The engine: metrics, store, export status.
    fn telemetry(&self) -> &Arc<TelemetryManager>;
}

struct Telemetry(Arc<TelemetryManager>);

impl<R: Runtime, T: Manager<R>> TelemetryExt<R> for T {
    fn telemetry(&self) -> &Arc<TelemetryManager> {
        &self.state::<Telemetry>().inner().0
    }
}

/// Configures the plugin in code.
///
/// # Examples
/// ```
/// use tauri_plugin_opentelemetry::{Builder, TelemetryConfig};
/// fn register<R: tauri::Runtime>(app: tauri::Builder<R>) -> tauri::Builder<R> {
///     let config = TelemetryConfig { service_name: "studio".into(), ..Default::default() };
///     app.plugin(Builder::new().config(config).build())
/// }
/// ```
#[derive(Default)]
pub struct Builder {
    config: Option<TelemetryConfig>,
}

impl Builder {
    /// A builder that reads its configuration from `tauri.conf.json` or the environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `config` instead of `tauri.conf.json` and the environment.
    pub fn config(mut self, config: TelemetryConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// Builds the plugin.
    pub fn build<R: Runtime>(self) -> TauriPlugin<R, Option<serde_json::Value>> {
        let explicit = self.config;
        PluginBuilder::<R, Option<serde_json::Value>>::new(PLUGIN_ID)
            .invoke_handler(tauri::generate_handler![
                commands::get_snapshot,
                commands::get_export_status
            ])
            .setup(move |app, api| {
                let config = match (explicit, api.config()) {
                    (Some(config), _) => config,
                    (None, Some(json)) => {
                        let mut config = TelemetryConfig::from_json(&json.to_string())?;
                        config.apply_env_overrides(|v| std::env::var(v).ok())?;
                        config.validate()?;
                        config
                    }
                    (None, None) => TelemetryConfig::from_env()?,
                };
                let manager = tauri::async_runtime::block_on(async move {
                    let manager = TelemetryManager::new(config).await?;
                    manager.initialize().await?;
                    Ok::<_, Error>(manager)
                })?;
                app.manage(Telemetry(manager));
                Ok(())
            })
            .on_event(|app, event| {
                if let RunEvent::Exit = event {
                    let manager = app.telemetry().clone();
                    tauri::async_runtime::block_on(async move { manager.shutdown().await });
                }
            })
            .build()
    }
}

/// The plugin with its configuration from `tauri.conf.json` (`plugins.opentelemetry`) or,
/// when that is absent, from the environment.
pub fn init<R: Runtime>() -> TauriPlugin<R, Option<serde_json::Value>> {
    Builder::new().build()
}
