//! The whole check of a configuration: the config's own fields
//! ([`TelemetryConfig::check_fields`]) and, beside the rules they are about, what each
//! alert rule means (its condition, templates and actions) and whether the metric names
//! it gives follow the name rules. It sits above `config`, `metrics`, `alerts` and
//! `health`, so `config` stays plain data that imports nothing of the crate.

use crate::alerts::rule_issues;
use crate::config::{ConfigError, TelemetryConfig};
use crate::metrics::name::name_issues;

impl TelemetryConfig {
    /// Checks everything: the config's own fields, then every alert rule (a condition
    /// that does not parse, with the position; an unknown template variable; an email
    /// action without email settings). [`crate::TelemetryManager::new`] calls it.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] listing every problem with its field path, e.g.
    /// `alerts.rules[0].condition: cannot parse "rate(x[5m]": …`.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::TelemetryConfig;
    /// let cfg = TelemetryConfig::from_json(r#"{ "tracing": { "sample_rate": 1.0 },
    ///     "alerts": { "rules": [ { "name": "r", "condition": "rate(x[5m]", "severity": "Info" } ] } }"#)?;
    /// let err = cfg.validate().unwrap_err();
    /// assert_eq!(err.issues()[0].path, "alerts.rules[0].condition");
    /// # Ok::<(), telemetry_engine::config::ConfigError>(())
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut issues = match self.check_fields() {
            Ok(()) => Vec::new(),
            Err(ConfigError::Invalid(issues)) => issues,
            Err(other) => return Err(other),
        };
        issues.extend(name_issues(self));
        issues.extend(rule_issues(&self.alerts));
        if issues.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(issues))
        }
    }
}
