use serde::{Serialize, Serializer};

/// Errors of the plugin: setup failures and command errors (serialised to the webview as
/// their message, which names the argument or value at fault).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The engine could not start.
    #[error(transparent)]
    Telemetry(#[from] telemetry_engine::TelemetryError),
    /// The plugin configuration in `tauri.conf.json` is invalid.
    #[error(transparent)]
    Config(#[from] telemetry_engine::config::ConfigError),
    /// A query or write of the engine's API failed, or a command argument cannot be used
    /// (`ApiError::BadArgument`, which names the argument at fault).
    #[error(transparent)]
    Api(#[from] telemetry_engine::api::ApiError),
    /// An alert operation failed (unknown rule, …).
    #[error(transparent)]
    Alert(#[from] telemetry_engine::alerts::AlertError),
    /// A health check given to the builder could not be added.
    #[error(transparent)]
    Health(#[from] telemetry_engine::health::HealthError),
    /// The telemetry panel's window could not be opened, shown or closed.
    #[error("the telemetry panel's window: {0}")]
    Window(tauri::Error),
    /// This build of the plugin has no panel (its Cargo feature `panel` is off).
    #[error("this build of the plugin has no telemetry panel: enable its Cargo feature `panel`")]
    NoPanel,
    /// Tauri could not name one of the app's directories.
    #[error("no app {what} directory: {source}")]
    AppDirectory {
        /// Which one (`log`, `data`).
        what: &'static str,
        /// Tauri's error.
        source: tauri::Error,
    },
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

/// Result of the plugin's fallible operations.
pub type Result<T> = std::result::Result<T, Error>;
