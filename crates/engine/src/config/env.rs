//! Environment overrides on top of a loaded configuration.

use super::{ConfigError, MetricsExporter, TelemetryConfig};

impl TelemetryConfig {
    /// Applies `TELEMETRY_ENABLED`, `PROMETHEUS_PORT`, `OTEL_SERVICE_NAME` and
    /// `OTEL_RESOURCE_ATTRIBUTES` read through `lookup`.
    ///
    /// `PROMETHEUS_PORT` sets the port of every Prometheus exporter, adding one on
    /// `127.0.0.1` when the config has none (the spec's deployment example).
    ///
    /// # Errors
    /// [`ConfigError::Env`] naming the variable whose value cannot be used.
    pub fn apply_env_overrides(
        &mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let Some(value) = lookup("TELEMETRY_ENABLED") {
            self.enabled = parse_bool(&value).ok_or_else(|| ConfigError::Env {
                var: "TELEMETRY_ENABLED".into(),
                value: value.clone(),
                message: "expected true/false, 1/0, yes/no or on/off".into(),
            })?;
        }
        if let Some(value) = lookup("PROMETHEUS_PORT") {
            let port = value
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| ConfigError::Env {
                    var: "PROMETHEUS_PORT".into(),
                    value: value.clone(),
                    message: "expected a TCP port from 1 to 65535".into(),
                })?;
            self.set_prometheus_port(port);
        }
        if let Some(value) = lookup("OTEL_SERVICE_NAME") {
            if !value.trim().is_empty() {
                self.service_name = value.trim().to_owned();
            }
        }
        if let Some(value) = lookup("OTEL_RESOURCE_ATTRIBUTES") {
            for pair in value.split(',').filter(|p| !p.trim().is_empty()) {
                let (key, val) = pair.split_once('=').ok_or_else(|| ConfigError::Env {
                    var: "OTEL_RESOURCE_ATTRIBUTES".into(),
                    value: value.clone(),
                    message: format!("entry {pair:?} is not key=value"),
                })?;
                self.resource_attributes
                    .insert(key.trim().to_owned(), val.trim().to_owned());
            }
        }
        Ok(())
    }

    fn set_prometheus_port(&mut self, new_port: u16) {
        let mut found = false;
        for exporter in &mut self.metrics.exporters {
            if let MetricsExporter::Prometheus { port, .. } = exporter {
                *port = new_port;
                found = true;
            }
        }
        if !found {
            self.metrics.exporters.push(MetricsExporter::Prometheus {
                port: new_port,
                path: "/metrics".into(),
                enable_compression: false,
                host: "127.0.0.1".into(),
            });
        }
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn prometheus_port_adds_an_exporter_when_none() {
        let mut cfg = TelemetryConfig::default();
        cfg.apply_env_overrides(env(&[("PROMETHEUS_PORT", "9464")]))
            .unwrap();
        assert_eq!(cfg.metrics.exporters.len(), 1);
        assert!(matches!(&cfg.metrics.exporters[0],
            MetricsExporter::Prometheus { port: 9464, host, .. } if host == "127.0.0.1"));
    }

    #[test]
    fn prometheus_port_replaces_the_configured_port() {
        let mut cfg = TelemetryConfig::profile(crate::config::Profile::Production);
        cfg.apply_env_overrides(env(&[("PROMETHEUS_PORT", "9100")]))
            .unwrap();
        assert_eq!(cfg.metrics.exporters.len(), 1);
        assert!(matches!(
            cfg.metrics.exporters[0],
            MetricsExporter::Prometheus { port: 9100, .. }
        ));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let mut cfg = TelemetryConfig::default();
        let err = cfg
            .apply_env_overrides(env(&[("PROMETHEUS_PORT", "0")]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable PROMETHEUS_PORT=\"0\": expected a TCP port from 1 to 65535"
        );
        let err = cfg
            .apply_env_overrides(env(&[("TELEMETRY_ENABLED", "maybe")]))
            .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("environment variable TELEMETRY_ENABLED=\"maybe\""));
        let err = cfg
            .apply_env_overrides(env(&[("OTEL_RESOURCE_ATTRIBUTES", "a=b,broken")]))
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("entry \"broken\" is not key=value"));
    }

    #[test]
    fn enabled_service_name_and_resource_attributes() {
        let mut cfg = TelemetryConfig::default();
        cfg.apply_env_overrides(env(&[
            ("TELEMETRY_ENABLED", "false"),
            ("OTEL_SERVICE_NAME", "studio"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod, host.name=render-1",
            ),
        ]))
        .unwrap();
        assert!(!cfg.enabled);
        assert_eq!(cfg.service_name, "studio");
        assert_eq!(cfg.resource_attributes["deployment.environment"], "prod");
        assert_eq!(cfg.resource_attributes["host.name"], "render-1");
    }
}
