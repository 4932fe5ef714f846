//! The spec's three ready profiles, kept as the JSON the spec shows, verbatim.

use super::TelemetryConfig;

/// A ready configuration from the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Sample everything; console and JSON files (`./logs/traces.json`, `./logs/metrics.json`).
    Development,
    /// Sample 1%; Jaeger and Prometheus on port 9090.
    Production,
    /// Sample 0.1%; batching, gzip, custom buckets and quantiles, parallel health checks.
    HighLoad,
}

impl Profile {
    /// The profile's JSON exactly as the spec shows it.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::Profile;
    /// assert!(Profile::HighLoad.json().contains("\"parallel_checks\": true"));
    /// ```
    pub fn json(self) -> &'static str {
        match self {
            Self::Development => include_str!("profiles/development.json"),
            Self::Production => include_str!("profiles/production.json"),
            Self::HighLoad => include_str!("profiles/high-load.json"),
        }
    }

    /// Every profile.
    pub const ALL: [Profile; 3] = [Self::Development, Self::Production, Self::HighLoad];

    pub(crate) fn config(self) -> TelemetryConfig {
        // The profiles are part of the crate and covered by tests; a failure here is a bug
        // in this file, not in user input.
        #[allow(clippy::expect_used)]
        TelemetryConfig::from_json(self.json()).expect("built-in profile is valid")
    }
}
