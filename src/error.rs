use serde::{Serialize, Serializer};

/// Errors the plugin's commands return to the webview (serialised as their message).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The engine could not start.
    #[error(transparent)]
    Telemetry(#[from] telemetry_engine::TelemetryError),
    /// The plugin configuration in `tauri.conf.json` is invalid.
    #[error(transparent)]
    Config(#[from] telemetry_engine::config::ConfigError),
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

/// Result of the plugin's fallible operations.
pub type Result<T> = std::result::Result<T, Error>;
