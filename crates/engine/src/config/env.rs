//! Environment overrides on top of a loaded configuration.

use std::collections::BTreeMap;

use super::{
    Compression, ConfigError, LogsExporter, MetricsExporter, OtlpExporterConfig, OtlpProtocol,
    TelemetryConfig, TracingExporter,
};

/// The error of an environment variable whose value cannot be used.
fn bad(var: impl Into<String>, value: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Env {
        var: var.into(),
        value: value.into(),
        message: message.into(),
    }
}

impl TelemetryConfig {
    /// Applies `TELEMETRY_ENABLED`, `PROMETHEUS_PORT`, `OTEL_SERVICE_NAME`,
    /// `OTEL_RESOURCE_ATTRIBUTES` and the standard trace export variables read through
    /// `lookup`.
    ///
    /// `PROMETHEUS_PORT` sets the port of every Prometheus exporter, adding one on
    /// `127.0.0.1` when the config has none (the spec's deployment example).
    /// `OTEL_TRACES_EXPORTER` (`otlp`, `console`, `none`, comma-separated) adds span
    /// exporters to the config's; an OTLP one takes `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`,
    /// `_PROTOCOL` (`http/protobuf`, `grpc`), `_HEADERS` and `_COMPRESSION`.
    /// `OTEL_TRACES_SAMPLER` (`always_on`, `always_off`, `traceidratio`,
    /// `parentbased_*`) with `OTEL_TRACES_SAMPLER_ARG` sets `tracing.sample_rate`; the
    /// sampler is always parent-based. `OTEL_LOGS_EXPORTER` (`otlp`, `none`) does the same
    /// for log exporters with `OTEL_EXPORTER_OTLP_[LOGS_]*`; `RUST_LOG` sets `logs.level`;
    /// `TELEMETRY_HTTP_TOKEN` sets `http_token`.
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
        self.apply_otel_trace_env(&lookup)?;
        Ok(())
    }

    fn apply_otel_trace_env(
        &mut self,
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        self.apply_sampler_env(lookup)?;
        self.apply_exporters_env(lookup)?;
        if let Some(level) = lookup("RUST_LOG").filter(|l| !l.trim().is_empty()) {
            if let Err(e) = level.parse::<tracing_subscriber::filter::Targets>() {
                return Err(bad(
                    "RUST_LOG",
                    &level,
                    format!("not a level directive: {e}"),
                ));
            }
            self.logs.level = level;
        }
        if let Some(token) = lookup("TELEMETRY_HTTP_TOKEN").filter(|t| !t.is_empty()) {
            self.http_token = Some(token);
        }
        Ok(())
    }

    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
    fn apply_sampler_env(
        &mut self,
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let Some(sampler) = lookup("OTEL_TRACES_SAMPLER") {
            let arg = lookup("OTEL_TRACES_SAMPLER_ARG");
            self.tracing.sample_rate = match sampler.trim() {
                "always_on" | "parentbased_always_on" => 1.0,
                "always_off" | "parentbased_always_off" => 0.0,
                "traceidratio" | "parentbased_traceidratio" => {
                    match arg.as_deref().map(str::trim) {
                        None => 1.0,
                        Some(a) => a
                            .parse::<f64>()
                            .ok()
                            .filter(|r| (0.0..=1.0).contains(r))
                            .ok_or_else(|| {
                                bad("OTEL_TRACES_SAMPLER_ARG", a, "expected a ratio from 0 to 1")
                            })?,
                    }
                }
                other => {
                    return Err(bad(
                        "OTEL_TRACES_SAMPLER",
                        other,
                        "expected always_on, always_off, traceidratio or parentbased_*",
                    ))
                }
            };
        }
        Ok(())
    }

    /// `OTEL_TRACES_EXPORTER` and `OTEL_LOGS_EXPORTER`.
    fn apply_exporters_env(
        &mut self,
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let Some(exporters) = lookup("OTEL_TRACES_EXPORTER") {
            for name in exporters
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
            {
                match name {
                    "none" => self.tracing.exporters.clear(),
                    "console" => self.tracing.exporters.push(TracingExporter::Console {}),
                    "otlp" => self
                        .tracing
                        .exporters
                        .push(TracingExporter::Otlp(otlp_from_env(lookup, "TRACES")?)),
                    other => {
                        return Err(bad(
                            "OTEL_TRACES_EXPORTER",
                            other,
                            "expected otlp, console or none",
                        ))
                    }
                }
            }
        }
        if let Some(exporters) = lookup("OTEL_LOGS_EXPORTER") {
            for name in exporters
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
            {
                match name {
                    "none" => self.logs.exporters.clear(),
                    "otlp" => self
                        .logs
                        .exporters
                        .push(LogsExporter::Otlp(otlp_from_env(lookup, "LOGS")?)),
                    other => return Err(bad("OTEL_LOGS_EXPORTER", other, "expected otlp or none")),
                }
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

/// The OTLP destination for `signal` (`TRACES`, `LOGS`) from the standard variables: the
/// signal's own `OTEL_EXPORTER_OTLP_<SIGNAL>_*` first, then the general ones.
fn otlp_from_env(
    lookup: &impl Fn(&str) -> Option<String>,
    signal: &str,
) -> Result<OtlpExporterConfig, ConfigError> {
    // The variable that is set (the signal's own, else the general one) and its value.
    let var = |suffix: &str| {
        let own = format!("OTEL_EXPORTER_OTLP_{signal}_{suffix}");
        let general = format!("OTEL_EXPORTER_OTLP_{suffix}");
        match lookup(&own) {
            Some(v) => Some((own, v)),
            None => lookup(&general).map(|v| (general, v)),
        }
    };
    let protocol = match var("PROTOCOL") {
        None => OtlpProtocol::HttpProtobuf,
        Some((name, value)) => match value.trim() {
            "http/protobuf" => OtlpProtocol::HttpProtobuf,
            "grpc" => OtlpProtocol::Grpc,
            other => {
                return Err(bad(
                    name,
                    other,
                    "expected http/protobuf or grpc (http/json is not supported)",
                ))
            }
        },
    };
    let path = format!("/v1/{}", signal.to_ascii_lowercase());
    let own_endpoint = lookup(&format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"));
    let endpoint = match (own_endpoint, lookup("OTEL_EXPORTER_OTLP_ENDPOINT")) {
        (Some(own), _) => own,
        (None, Some(base)) if protocol == OtlpProtocol::HttpProtobuf => {
            format!("{}{path}", base.trim_end_matches('/'))
        }
        (None, Some(base)) => base,
        (None, None) if protocol == OtlpProtocol::Grpc => "http://localhost:4317".into(),
        (None, None) => format!("http://localhost:4318{path}"),
    };
    let mut headers = BTreeMap::new();
    if let Some((name, list)) = var("HEADERS") {
        for pair in list.split(',').filter(|p| !p.trim().is_empty()) {
            // The value is a secret: never echo it.
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| bad(name.clone(), "<redacted>", "entries must be key=value"))?;
            headers.insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    let compression = match var("COMPRESSION") {
        None => None,
        Some((name, value)) => match value.trim() {
            "none" | "" => None,
            "gzip" => Some(Compression::Gzip),
            other => return Err(bad(name, other, "expected gzip or none")),
        },
    };
    Ok(OtlpExporterConfig {
        endpoint,
        protocol,
        headers,
        compression,
    })
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
    fn otel_trace_variables_add_an_otlp_exporter_and_set_the_sampler() {
        let mut cfg = TelemetryConfig::default();
        cfg.apply_env_overrides(env(&[
            ("OTEL_TRACES_EXPORTER", "otlp,console"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x-api-key=secret, tenant=studio",
            ),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ]))
        .unwrap();
        assert_eq!(cfg.tracing.sample_rate, 0.25);
        let TracingExporter::Otlp(OtlpExporterConfig {
            endpoint,
            protocol,
            headers,
            compression,
        }) = &cfg.tracing.exporters[0]
        else {
            panic!("{:?}", cfg.tracing.exporters);
        };
        assert_eq!(endpoint, "http://collector:4318/v1/traces");
        assert_eq!(*protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(headers["x-api-key"], "secret");
        assert_eq!(headers["tenant"], "studio");
        assert_eq!(*compression, Some(Compression::Gzip));
        assert_eq!(cfg.tracing.exporters[1], TracingExporter::Console {});

        let mut grpc = TelemetryConfig::default();
        grpc.apply_env_overrides(env(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ]))
        .unwrap();
        assert!(matches!(&grpc.tracing.exporters[0],
            TracingExporter::Otlp(o) if o.endpoint == "http://localhost:4317" && o.protocol == OtlpProtocol::Grpc));
    }

    #[test]
    fn otel_logs_exporter_takes_the_logs_endpoint_and_rust_log_the_level() {
        let mut cfg = TelemetryConfig::default();
        cfg.apply_env_overrides(env(&[
            ("OTEL_LOGS_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("RUST_LOG", "warn,studio=debug"),
        ]))
        .unwrap();
        assert!(matches!(&cfg.logs.exporters[0],
            LogsExporter::Otlp(o) if o.endpoint == "http://collector:4318/v1/logs"
                && o.protocol == OtlpProtocol::HttpProtobuf));
        assert_eq!(cfg.logs.level, "warn,studio=debug");
        assert!(cfg.tracing.exporters.is_empty(), "traces untouched");
        let err = cfg
            .apply_env_overrides(env(&[
                ("OTEL_LOGS_EXPORTER", "otlp"),
                ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "zstd"),
            ]))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("environment variable OTEL_EXPORTER_OTLP_LOGS_COMPRESSION=\"zstd\""),
            "{err}"
        );
        let err = cfg
            .apply_env_overrides(env(&[("RUST_LOG", "info,=x=y")]))
            .unwrap_err();
        assert!(err.to_string().contains("RUST_LOG"), "{err}");
    }

    #[test]
    fn bad_otel_values_are_named_and_secrets_are_not_echoed() {
        let mut cfg = TelemetryConfig::default();
        let err = cfg
            .apply_env_overrides(env(&[("OTEL_TRACES_EXPORTER", "zipkin")]))
            .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("environment variable OTEL_TRACES_EXPORTER=\"zipkin\""));
        let err = cfg
            .apply_env_overrides(env(&[
                ("OTEL_TRACES_EXPORTER", "otlp"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "token:hunter2"),
            ]))
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = cfg
            .apply_env_overrides(env(&[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "2"),
            ]))
            .unwrap_err();
        assert!(err.to_string().contains("OTEL_TRACES_SAMPLER_ARG"));
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
