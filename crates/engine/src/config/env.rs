//! Environment overrides on top of a loaded configuration, as the OpenTelemetry spec
//! says: an empty value is unset, and a value that cannot be used is a warning that names
//! the variable and the value while the setting keeps what the configuration (or the
//! default) had. A bad variable never stops the app.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{
    BatchExportConfig, Compression, ConfigIssue, LogsExporter, MetricsExporter, OtlpExporterConfig,
    OtlpProtocol, Propagator, TelemetryConfig, Temporality, TlsConfig, TracingExporter,
};

/// The variables read through a lookup, and the warnings about them.
struct Env<F> {
    lookup: F,
    warnings: Vec<ConfigIssue>,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// The trimmed value of `var`; `None` when unset or empty.
    fn get(&self, var: &str) -> Option<String> {
        (self.lookup)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// `var`'s value `shown` (or a placeholder for a secret) is not used, because `why`.
    fn warn(&mut self, var: &str, shown: &str, why: &str) {
        self.warnings.push(ConfigIssue {
            path: var.to_owned(),
            message: format!("{shown:?} is ignored: {why}"),
        });
    }

    /// `var` parsed by `parse`, or a warning saying what was `expected`.
    fn parsed<T>(
        &mut self,
        var: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let value = self.get(var)?;
        let parsed = parse(&value);
        if parsed.is_none() {
            self.warn(var, &value, expected);
        }
        parsed
    }

    /// The value of the signal's own `OTEL_EXPORTER_OTLP_<SIGNAL>_<suffix>`, else the
    /// general `OTEL_EXPORTER_OTLP_<suffix>`, with the name of the one that is set.
    fn otlp_var(&self, signal: &str, suffix: &str) -> Option<(String, String)> {
        let own = format!("OTEL_EXPORTER_OTLP_{signal}_{suffix}");
        let general = format!("OTEL_EXPORTER_OTLP_{suffix}");
        match self.get(&own) {
            Some(v) => Some((own, v)),
            None => self.get(&general).map(|v| (general, v)),
        }
    }
}

impl TelemetryConfig {
    /// Applies the environment read through `lookup`, and returns what it could not use:
    ///
    /// - `TELEMETRY_ENABLED`; `OTEL_SDK_DISABLED=true` turns telemetry off as well;
    /// - `PROMETHEUS_PORT` sets the port of every Prometheus exporter, adding one on
    ///   `127.0.0.1` when the config has none (the spec's deployment example);
    /// - `OTEL_SERVICE_NAME`, then `OTEL_RESOURCE_ATTRIBUTES` (percent-encoded
    ///   `key=value` pairs; a `service.name` there counts only without
    ///   `OTEL_SERVICE_NAME`);
    /// - `OTEL_TRACES_SAMPLER` (`always_on`, `always_off`, `traceidratio`,
    ///   `parentbased_*`) with `OTEL_TRACES_SAMPLER_ARG` sets `tracing.sample_rate`;
    /// - `OTEL_TRACES_EXPORTER` (`otlp`, `console`, `none`) and `OTEL_LOGS_EXPORTER`
    ///   (`otlp`, `none`) add exporters; an OTLP one takes
    ///   `OTEL_EXPORTER_OTLP_[TRACES_|LOGS_]ENDPOINT`, `_PROTOCOL` (`http/protobuf`,
    ///   `grpc`), `_HEADERS`, `_COMPRESSION`, `_TIMEOUT` (ms), `_CERTIFICATE`,
    ///   `_CLIENT_CERTIFICATE` and `_CLIENT_KEY`;
    /// - `OTEL_METRICS_EXPORTER` (`otlp`, `prometheus`, `console`, `none`) adds metric
    ///   exporters (an OTLP one from the `METRICS` variables above);
    ///   `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_METRIC_EXPORT_TIMEOUT` (ms) and
    ///   `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` set the push;
    /// - `OTEL_BSP_*` and `OTEL_BLRP_*` (`SCHEDULE_DELAY`, `EXPORT_TIMEOUT` in ms,
    ///   `MAX_EXPORT_BATCH_SIZE`, `MAX_QUEUE_SIZE`) set the span and log batches;
    /// - `OTEL_PROPAGATORS` (`tracecontext`, `baggage`, `none`) sets `tracing.propagators`;
    /// - `RUST_LOG` sets `logs.level`; `TELEMETRY_HTTP_TOKEN` sets `http_token`;
    /// - `TELEMETRY_CONSENT` (`granted`, `denied`, `ask`) sets `consent`;
    ///   `TELEMETRY_DATA_DIR` sets `storage.dir`.
    ///
    /// An empty value counts as unset. A value that cannot be used is left out and
    /// reported in the list (the variable as `path`, the value in the message; header
    /// values are never shown), and the setting keeps its value.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::TelemetryConfig;
    /// let mut cfg = TelemetryConfig::default();
    /// let warnings = cfg.apply_env_overrides(|v| match v {
    ///     "OTEL_TRACES_EXPORTER" => Some("zipkin,console".into()),
    ///     "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("".into()),
    ///     _ => None,
    /// });
    /// assert_eq!(cfg.tracing.exporters.len(), 1, "console only");
    /// assert_eq!(warnings[0].path, "OTEL_TRACES_EXPORTER");
    /// assert!(warnings[0].message.starts_with("\"zipkin\" is ignored"));
    /// ```
    pub fn apply_env_overrides(
        &mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Vec<ConfigIssue> {
        let mut env = Env {
            lookup,
            warnings: Vec::new(),
        };
        const BOOL: &str = "expected true/false, 1/0, yes/no or on/off";
        if let Some(enabled) = env.parsed("TELEMETRY_ENABLED", BOOL, parse_bool) {
            self.enabled = enabled;
        }
        if env.parsed("OTEL_SDK_DISABLED", BOOL, parse_bool) == Some(true) {
            self.enabled = false;
        }
        self.checked(&mut env, "PROMETHEUS_PORT", |cfg, env| {
            let port = |v: &str| v.parse::<u16>().ok().filter(|p| *p != 0);
            if let Some(port) = env.parsed(
                "PROMETHEUS_PORT",
                "expected a TCP port from 1 to 65535",
                port,
            ) {
                cfg.set_prometheus_port(port);
            }
        });
        self.checked(
            &mut env,
            "OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES",
            Self::apply_resource_env,
        );
        self.checked(&mut env, "OTEL_TRACES_SAMPLER", Self::apply_sampler_env);
        self.checked(
            &mut env,
            "OTEL_TRACES_EXPORTER, OTEL_LOGS_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_METRIC_*, OTEL_EXPORTER_OTLP_*",
            Self::apply_exporters_env,
        );
        self.checked(&mut env, "OTEL_PROPAGATORS", Self::apply_propagators_env);
        self.checked(&mut env, "OTEL_BSP_*", |cfg, env| {
            apply_batch_env(env, "OTEL_BSP", &mut cfg.tracing.batch_export);
        });
        self.checked(&mut env, "OTEL_BLRP_*", |cfg, env| {
            apply_batch_env(env, "OTEL_BLRP", &mut cfg.logs.batch_export);
        });
        if let Some(consent) = env.parsed(
            "TELEMETRY_CONSENT",
            "expected granted, denied or ask",
            super::Consent::parse,
        ) {
            self.consent = consent;
        }
        if let Some(dir) = env.get("TELEMETRY_DATA_DIR") {
            self.storage.dir = Some(dir);
        }
        if let Some(level) = env.get("RUST_LOG") {
            match level.parse::<tracing_subscriber::filter::Targets>() {
                Ok(_) => self.logs.level = level,
                Err(e) => env.warn("RUST_LOG", &level, &format!("not a level directive ({e})")),
            }
        }
        // Not checked like the others: a token that breaks the rules must not leave the
        // server open, so it stays and fails the validation (telemetry off, not unguarded).
        if let Some(token) = env.get("TELEMETRY_HTTP_TOKEN") {
            self.http_token = Some(token);
        }
        env.warnings
    }

    /// Applies one group of variables (`vars`), keeping it only if it adds no validation
    /// problem: a value that parses yet breaks a rule (an endpoint without `http://`, a
    /// queue of a billion spans) is a warning naming the problems, and the group's
    /// settings keep what they had.
    fn checked<F: Fn(&str) -> Option<String>>(
        &mut self,
        env: &mut Env<F>,
        vars: &str,
        apply: impl FnOnce(&mut Self, &mut Env<F>),
    ) {
        let issues = |cfg: &Self| match cfg.check_fields() {
            Err(super::ConfigError::Invalid(issues)) => issues,
            _ => Vec::new(),
        };
        let before = self.clone();
        let known = issues(&before);
        apply(self, env);
        let added: Vec<String> = issues(self)
            .into_iter()
            .filter(|i| !known.contains(i))
            .map(|i| i.to_string())
            .collect();
        if !added.is_empty() {
            *self = before;
            env.warnings.push(ConfigIssue {
                path: vars.to_owned(),
                message: format!("ignored: {}", added.join("; ")),
            });
        }
    }

    /// `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`.
    fn apply_resource_env<F: Fn(&str) -> Option<String>>(&mut self, env: &mut Env<F>) {
        let service = env.get("OTEL_SERVICE_NAME");
        if let Some(list) = env.get("OTEL_RESOURCE_ATTRIBUTES") {
            match parse_resource_attributes(&list) {
                Ok(mut attributes) => {
                    // OTEL_SERVICE_NAME wins over a service.name in the list.
                    if let Some(name) = attributes.remove("service.name") {
                        if service.is_none() {
                            self.service_name = name;
                        }
                    }
                    self.resource_attributes.extend(attributes);
                }
                Err(why) => env.warn("OTEL_RESOURCE_ATTRIBUTES", &list, &why),
            }
        }
        if let Some(name) = service {
            self.service_name = name;
        }
    }

    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
    fn apply_sampler_env<F: Fn(&str) -> Option<String>>(&mut self, env: &mut Env<F>) {
        let Some(sampler) = env.get("OTEL_TRACES_SAMPLER") else {
            return;
        };
        let ratio = |v: &str| v.parse::<f64>().ok().filter(|r| (0.0..=1.0).contains(r));
        match sampler.as_str() {
            "always_on" | "parentbased_always_on" => self.tracing.sample_rate = 1.0,
            "always_off" | "parentbased_always_off" => self.tracing.sample_rate = 0.0,
            "traceidratio" | "parentbased_traceidratio" => {
                // Without a usable argument the spec's default ratio is 1.0.
                self.tracing.sample_rate = env
                    .parsed(
                        "OTEL_TRACES_SAMPLER_ARG",
                        "expected a ratio from 0 to 1",
                        ratio,
                    )
                    .unwrap_or(1.0);
            }
            other => env.warn(
                "OTEL_TRACES_SAMPLER",
                other,
                "supported are always_on, always_off, traceidratio and their parentbased_ forms",
            ),
        }
    }

    /// `OTEL_TRACES_EXPORTER` and `OTEL_LOGS_EXPORTER`.
    fn apply_exporters_env<F: Fn(&str) -> Option<String>>(&mut self, env: &mut Env<F>) {
        if let Some(list) = env.get("OTEL_TRACES_EXPORTER") {
            for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                match name {
                    "none" => self.tracing.exporters.clear(),
                    "console" => self.tracing.exporters.push(TracingExporter::Console {}),
                    "otlp" => {
                        let otlp = otlp_from_env(env, "TRACES", &mut self.tracing.batch_export);
                        self.tracing.exporters.push(TracingExporter::Otlp(otlp));
                    }
                    other => env.warn(
                        "OTEL_TRACES_EXPORTER",
                        other,
                        "supported are otlp, console and none",
                    ),
                }
            }
        }
        if let Some(list) = env.get("OTEL_LOGS_EXPORTER") {
            for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                match name {
                    "none" => self.logs.exporters.clear(),
                    "otlp" => {
                        let otlp = otlp_from_env(env, "LOGS", &mut self.logs.batch_export);
                        self.logs.exporters.push(LogsExporter::Otlp(otlp));
                    }
                    other => env.warn("OTEL_LOGS_EXPORTER", other, "supported are otlp and none"),
                }
            }
        }
        self.apply_metrics_env(env);
    }

    /// `OTEL_METRICS_EXPORTER` and the push's interval, timeout and temporality.
    fn apply_metrics_env<F: Fn(&str) -> Option<String>>(&mut self, env: &mut Env<F>) {
        if let Some(list) = env.get("OTEL_METRICS_EXPORTER") {
            for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                match name {
                    // The configured Prometheus endpoint stays: it is local, not an export.
                    "none" => self
                        .metrics
                        .exporters
                        .retain(|e| matches!(e, MetricsExporter::Prometheus { .. })),
                    "console" => self.metrics.exporters.push(MetricsExporter::Console {}),
                    "prometheus" => self.set_prometheus_port(9464),
                    "otlp" => {
                        let mut timeout = BatchExportConfig {
                            max_export_timeout: self.metrics.export_timeout,
                            ..BatchExportConfig::default()
                        };
                        let otlp = otlp_from_env(env, "METRICS", &mut timeout);
                        self.metrics.export_timeout = timeout.max_export_timeout;
                        self.metrics.exporters.push(MetricsExporter::Otlp(otlp));
                    }
                    other => env.warn(
                        "OTEL_METRICS_EXPORTER",
                        other,
                        "supported are otlp, prometheus, console and none",
                    ),
                }
            }
        }
        let ms = |v: &str| {
            v.parse::<u64>()
                .ok()
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis)
        };
        const MS: &str = "expected a whole number of milliseconds above 0";
        if let Some(interval) = env.parsed("OTEL_METRIC_EXPORT_INTERVAL", MS, ms) {
            self.metrics.export_interval = interval;
        }
        if let Some(timeout) = env.parsed("OTEL_METRIC_EXPORT_TIMEOUT", MS, ms) {
            self.metrics.export_timeout = timeout;
        }
        if let Some(temporality) = env.parsed(
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "expected cumulative, delta or lowmemory",
            |v| match v.trim().to_ascii_lowercase().as_str() {
                "cumulative" => Some(Temporality::Cumulative),
                "delta" => Some(Temporality::Delta),
                "lowmemory" => Some(Temporality::LowMemory),
                _ => None,
            },
        ) {
            self.metrics.temporality = temporality;
        }
    }

    /// `OTEL_PROPAGATORS`: `tracecontext`, `baggage`, `none` (comma-separated).
    fn apply_propagators_env<F: Fn(&str) -> Option<String>>(&mut self, env: &mut Env<F>) {
        let Some(list) = env.get("OTEL_PROPAGATORS") else {
            return;
        };
        let mut chosen = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "tracecontext" => chosen.push(Propagator::TraceContext),
                "baggage" => chosen.push(Propagator::Baggage),
                "none" => chosen.clear(),
                other => env.warn(
                    "OTEL_PROPAGATORS",
                    other,
                    "supported are tracecontext, baggage and none",
                ),
            }
        }
        chosen.dedup();
        self.tracing.propagators = chosen;
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

/// `OTEL_RESOURCE_ATTRIBUTES`: comma-separated `key=value`, each percent-decoded; the
/// whole list is refused when one entry is not usable (as the spec says).
fn parse_resource_attributes(list: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for pair in list.split(',').filter(|p| !p.trim().is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("entry {:?} is not key=value", pair.trim()))?;
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s.trim())
                .decode_utf8()
                .map(|d| d.into_owned())
                .map_err(|_| format!("entry {:?} is not UTF-8 once decoded", pair.trim()))
        };
        let key = decode(key)?;
        if key.is_empty() {
            return Err(format!("entry {:?} has no key", pair.trim()));
        }
        out.insert(key, decode(value)?);
    }
    Ok(out)
}

/// `<prefix>_SCHEDULE_DELAY`, `_EXPORT_TIMEOUT` (ms), `_MAX_EXPORT_BATCH_SIZE` and
/// `_MAX_QUEUE_SIZE` into `batch`.
fn apply_batch_env<F: Fn(&str) -> Option<String>>(
    env: &mut Env<F>,
    prefix: &str,
    batch: &mut BatchExportConfig,
) {
    let millis = |v: &str| {
        v.parse::<u64>()
            .ok()
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
    };
    let count = |v: &str| v.parse::<usize>().ok().filter(|n| *n > 0);
    const MS: &str = "expected a whole number of milliseconds above 0";
    const COUNT: &str = "expected a whole number above 0";
    if let Some(delay) = env.parsed(&format!("{prefix}_SCHEDULE_DELAY"), MS, millis) {
        batch.export_interval = delay;
    }
    if let Some(timeout) = env.parsed(&format!("{prefix}_EXPORT_TIMEOUT"), MS, millis) {
        batch.max_export_timeout = timeout;
    }
    if let Some(size) = env.parsed(&format!("{prefix}_MAX_EXPORT_BATCH_SIZE"), COUNT, count) {
        batch.max_batch_size = size;
    }
    if let Some(size) = env.parsed(&format!("{prefix}_MAX_QUEUE_SIZE"), COUNT, count) {
        batch.max_queue_size = size;
    }
}

/// The OTLP destination for `signal` (`TRACES`, `LOGS`) from the standard variables: the
/// signal's own `OTEL_EXPORTER_OTLP_<SIGNAL>_*` first, then the general ones. A
/// `_TIMEOUT` sets the signal's export timeout in `batch`.
fn otlp_from_env<F: Fn(&str) -> Option<String>>(
    env: &mut Env<F>,
    signal: &str,
    batch: &mut BatchExportConfig,
) -> OtlpExporterConfig {
    let protocol = match env.otlp_var(signal, "PROTOCOL") {
        None => OtlpProtocol::HttpProtobuf,
        Some((var, value)) => match value.as_str() {
            "http/protobuf" => OtlpProtocol::HttpProtobuf,
            "grpc" => OtlpProtocol::Grpc,
            other => {
                env.warn(
                    &var,
                    other,
                    "supported are http/protobuf and grpc; http/protobuf applies",
                );
                OtlpProtocol::HttpProtobuf
            }
        },
    };
    let path = format!("/v1/{}", signal.to_ascii_lowercase());
    let own_endpoint = env.get(&format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"));
    let endpoint = match (own_endpoint, env.get("OTEL_EXPORTER_OTLP_ENDPOINT")) {
        (Some(own), _) => own,
        (None, Some(base)) if protocol == OtlpProtocol::HttpProtobuf => {
            format!("{}{path}", base.trim_end_matches('/'))
        }
        (None, Some(base)) => base,
        (None, None) if protocol == OtlpProtocol::Grpc => "http://localhost:4317".into(),
        (None, None) => format!("http://localhost:4318{path}"),
    };
    let headers = headers_from_env(env, signal);
    let compression = match env.otlp_var(signal, "COMPRESSION") {
        None => None,
        Some((var, value)) => match value.as_str() {
            "none" => None,
            "gzip" => Some(Compression::Gzip),
            other => {
                env.warn(&var, other, "supported are gzip and none");
                None
            }
        },
    };
    if let Some((var, value)) = env.otlp_var(signal, "TIMEOUT") {
        match value.parse::<u64>().ok().filter(|ms| *ms > 0) {
            Some(ms) => batch.max_export_timeout = Duration::from_millis(ms),
            None => env.warn(
                &var,
                &value,
                "expected a whole number of milliseconds above 0",
            ),
        }
    }
    let file = |name: &str| env.otlp_var(signal, name).map(|(_, path)| path);
    let tls = TlsConfig {
        ca_cert: file("CERTIFICATE"),
        client_cert: file("CLIENT_CERTIFICATE"),
        client_key: file("CLIENT_KEY"),
    };
    OtlpExporterConfig {
        endpoint,
        protocol,
        headers,
        compression,
        tls: (tls != TlsConfig::default()).then_some(tls),
    }
}

/// The signal's (or the general) `OTEL_EXPORTER_OTLP_*HEADERS`: `key=value,key=value`.
fn headers_from_env<F: Fn(&str) -> Option<String>>(
    env: &mut Env<F>,
    signal: &str,
) -> BTreeMap<String, String> {
    let mut headers = BTreeMap::new();
    if let Some((var, list)) = env.otlp_var(signal, "HEADERS") {
        for pair in list.split(',').filter(|p| !p.trim().is_empty()) {
            match pair.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    headers.insert(k.trim().to_owned(), v.trim().to_owned());
                }
                // The value is a secret: never shown.
                _ => env.warn(&var, "<redacted>", "an entry is not key=value"),
            }
        }
    }
    headers
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

    /// Applies `pairs` to the default config: the config and the warnings' paths.
    fn applied(pairs: &[(&str, &str)]) -> (TelemetryConfig, Vec<ConfigIssue>) {
        let mut cfg = TelemetryConfig::default();
        let warnings = cfg.apply_env_overrides(env(pairs));
        (cfg, warnings)
    }

    #[test]
    fn the_otlp_certificate_variables_set_the_exporters_tls() {
        let (cfg, warnings) = applied(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_LOGS_EXPORTER", "otlp"),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://collector.example:4318",
            ),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ca.pem"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
                "/etc/client.pem",
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/etc/client.key"),
        ]);
        assert!(warnings.is_empty(), "{warnings:?}");
        let TracingExporter::Otlp(traces) = &cfg.tracing.exporters[0] else {
            panic!("an OTLP span exporter");
        };
        let tls = traces.tls.as_ref().unwrap();
        assert_eq!(tls.ca_cert.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(tls.client_key.as_deref(), Some("/etc/client.key"));
        let LogsExporter::Otlp(logs) = &cfg.logs.exporters[0] else {
            panic!("an OTLP log exporter");
        };
        let tls = logs.tls.as_ref().unwrap();
        assert_eq!(tls.ca_cert.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(tls.client_cert, None, "the traces' own");
        // A client certificate without its key breaks a rule: the group is left out.
        let (cfg, warnings) = applied(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/client.pem"),
        ]);
        assert!(cfg.tracing.exporters.is_empty());
        assert!(
            warnings[0]
                .message
                .contains("client_cert and client_key go together"),
            "{warnings:?}"
        );
    }

    #[test]
    fn the_metric_variables_add_an_otlp_push_with_its_interval_and_temporality() {
        let (cfg, warnings) = applied(&[
            ("OTEL_METRICS_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta"),
        ]);
        assert!(warnings.is_empty(), "{warnings:?}");
        let MetricsExporter::Otlp(otlp) = &cfg.metrics.exporters[0] else {
            panic!("{:?}", cfg.metrics.exporters);
        };
        assert_eq!(otlp.endpoint, "http://collector:4318/v1/metrics");
        assert_eq!(cfg.metrics.export_interval, Duration::from_secs(5));
        assert_eq!(cfg.metrics.temporality, crate::config::Temporality::Delta);
        let (cfg, warnings) = applied(&[
            ("OTEL_METRICS_EXPORTER", "statsd"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                "sometimes",
            ),
        ]);
        assert!(cfg.metrics.exporters.is_empty());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert_eq!(
            warnings[1].path,
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
        );
    }

    #[test]
    fn prometheus_port_adds_an_exporter_when_none() {
        let (cfg, warnings) = applied(&[("PROMETHEUS_PORT", "9464")]);
        assert!(warnings.is_empty());
        assert_eq!(cfg.metrics.exporters.len(), 1);
        assert!(matches!(&cfg.metrics.exporters[0],
            MetricsExporter::Prometheus { port: 9464, host, .. } if host == "127.0.0.1"));
    }

    #[test]
    fn prometheus_port_replaces_the_configured_port() {
        let mut cfg = TelemetryConfig::profile(crate::config::Profile::Production);
        assert!(cfg
            .apply_env_overrides(env(&[("PROMETHEUS_PORT", "9100")]))
            .is_empty());
        assert_eq!(cfg.metrics.exporters.len(), 1);
        assert!(matches!(
            cfg.metrics.exporters[0],
            MetricsExporter::Prometheus { port: 9100, .. }
        ));
    }

    #[test]
    fn every_unusable_value_is_a_warning_naming_it_and_the_default_applies() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "PROMETHEUS_PORT",
                "0",
                "\"0\" is ignored: expected a TCP port from 1 to 65535",
            ),
            (
                "TELEMETRY_ENABLED",
                "maybe",
                "\"maybe\" is ignored: expected true/false",
            ),
            (
                "OTEL_SDK_DISABLED",
                "perhaps",
                "\"perhaps\" is ignored: expected true/false",
            ),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "a=b,broken",
                "\"a=b,broken\" is ignored: entry \"broken\" is not key=value",
            ),
            (
                "OTEL_TRACES_SAMPLER",
                "jaeger_remote",
                "\"jaeger_remote\" is ignored: supported are",
            ),
            (
                "OTEL_TRACES_EXPORTER",
                "zipkin",
                "\"zipkin\" is ignored: supported are otlp, console and none",
            ),
            (
                "OTEL_LOGS_EXPORTER",
                "loki",
                "\"loki\" is ignored: supported are otlp and none",
            ),
            (
                "RUST_LOG",
                "info,=x=y",
                "\"info,=x=y\" is ignored: not a level directive",
            ),
            (
                "OTEL_BSP_SCHEDULE_DELAY",
                "soon",
                "\"soon\" is ignored: expected a whole number of milliseconds",
            ),
            (
                "OTEL_BLRP_MAX_QUEUE_SIZE",
                "-1",
                "\"-1\" is ignored: expected a whole number above 0",
            ),
        ];
        let default = TelemetryConfig::default();
        for (var, value, want) in cases {
            let (cfg, warnings) = applied(&[(var, value)]);
            assert_eq!(warnings.len(), 1, "{var}={value}: {warnings:?}");
            assert_eq!(warnings[0].path, *var);
            assert!(
                warnings[0].message.starts_with(want),
                "{var}: {}",
                warnings[0].message
            );
            assert_eq!(cfg, default, "{var}={value} changed nothing");
        }
    }

    #[test]
    fn an_empty_value_is_unset() {
        for var in [
            "TELEMETRY_ENABLED",
            "OTEL_SDK_DISABLED",
            "PROMETHEUS_PORT",
            "OTEL_SERVICE_NAME",
            "OTEL_TRACES_SAMPLER",
            "OTEL_TRACES_EXPORTER",
            "RUST_LOG",
        ] {
            let (cfg, warnings) = applied(&[(var, "  ")]);
            assert!(warnings.is_empty(), "{var}: {warnings:?}");
            assert_eq!(cfg, TelemetryConfig::default(), "{var}");
        }
        let (cfg, warnings) = applied(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", ""),
        ]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(matches!(&cfg.tracing.exporters[0],
            TracingExporter::Otlp(o) if o.protocol == OtlpProtocol::HttpProtobuf));
    }

    #[test]
    fn otel_trace_variables_add_an_otlp_exporter_and_set_the_sampler() {
        let (cfg, warnings) = applied(&[
            ("OTEL_TRACES_EXPORTER", "otlp,console"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x-api-key=secret, tenant=studio",
            ),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ("OTEL_BSP_SCHEDULE_DELAY", "1000"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "128"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "4096"),
        ]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(cfg.tracing.sample_rate, 0.25);
        let TracingExporter::Otlp(OtlpExporterConfig {
            endpoint,
            protocol,
            headers,
            compression,
            ..
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
        let batch = &cfg.tracing.batch_export;
        assert_eq!(batch.max_export_timeout, Duration::from_millis(2500));
        assert_eq!(batch.export_interval, Duration::from_secs(1));
        assert_eq!((batch.max_batch_size, batch.max_queue_size), (128, 4096));
        assert_eq!(
            cfg.logs.batch_export,
            BatchExportConfig::default(),
            "logs untouched"
        );

        let (grpc, warnings) = applied(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ]);
        #[cfg(feature = "otlp-grpc")]
        assert!(matches!(&grpc.tracing.exporters[0],
            TracingExporter::Otlp(o) if o.endpoint == "http://localhost:4317" && o.protocol == OtlpProtocol::Grpc));
        // Without gRPC the exporter is left out with a warning that names the feature.
        #[cfg(not(feature = "otlp-grpc"))]
        assert!(
            grpc.tracing.exporters.is_empty()
                && warnings
                    .iter()
                    .any(|w| w.to_string().contains("`otlp-grpc`")),
            "{warnings:?}"
        );
        #[cfg(feature = "otlp-grpc")]
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn otel_logs_exporter_takes_the_logs_endpoint_and_rust_log_the_level() {
        let (cfg, warnings) = applied(&[
            ("OTEL_LOGS_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_BLRP_EXPORT_TIMEOUT", "700"),
            ("RUST_LOG", "warn,studio=debug"),
        ]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(matches!(&cfg.logs.exporters[0],
            LogsExporter::Otlp(o) if o.endpoint == "http://collector:4318/v1/logs"
                && o.protocol == OtlpProtocol::HttpProtobuf));
        assert_eq!(cfg.logs.level, "warn,studio=debug");
        assert_eq!(
            cfg.logs.batch_export.max_export_timeout,
            Duration::from_millis(700)
        );
        assert!(cfg.tracing.exporters.is_empty(), "traces untouched");
    }

    #[test]
    fn a_bad_otlp_detail_is_a_warning_and_the_exporter_still_comes() {
        let (cfg, warnings) = applied(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "token:hunter2,tenant=studio"),
        ]);
        let paths: Vec<&str> = warnings.iter().map(|w| w.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                "OTEL_EXPORTER_OTLP_HEADERS",
                "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"
            ]
        );
        assert!(
            !format!("{warnings:?}").contains("hunter2"),
            "secrets are not shown"
        );
        let TracingExporter::Otlp(otlp) = &cfg.tracing.exporters[0] else {
            panic!("{:?}", cfg.tracing.exporters);
        };
        assert_eq!(otlp.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(otlp.compression, None);
        assert_eq!(otlp.headers.keys().collect::<Vec<_>>(), ["tenant"]);
    }

    #[test]
    fn a_ratio_sampler_without_a_usable_argument_samples_everything() {
        let (cfg, warnings) = applied(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ]);
        assert_eq!(warnings[0].path, "OTEL_TRACES_SAMPLER_ARG");
        assert_eq!(cfg.tracing.sample_rate, 1.0);
    }

    #[test]
    fn propagators_are_the_supported_ones_named() {
        let (cfg, warnings) = applied(&[("OTEL_PROPAGATORS", "b3, tracecontext")]);
        assert_eq!(cfg.tracing.propagators, [Propagator::TraceContext]);
        assert_eq!(warnings[0].path, "OTEL_PROPAGATORS");
        assert!(warnings[0].message.starts_with("\"b3\" is ignored"));
        let (none, _) = applied(&[("OTEL_PROPAGATORS", "none")]);
        assert!(none.tracing.propagators.is_empty());
    }

    #[test]
    fn a_value_that_parses_but_breaks_a_rule_is_a_warning_too() {
        let (cfg, warnings) = applied(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "99999999999"),
            ("OTEL_TRACES_SAMPLER", "always_off"),
        ]);
        let paths: Vec<&str> = warnings.iter().map(|w| w.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "OTEL_TRACES_EXPORTER, OTEL_LOGS_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_METRIC_*, OTEL_EXPORTER_OTLP_*",
                "OTEL_BSP_*"
            ]
        );
        assert!(
            warnings[0].message.contains("tracing.exporters[0]"),
            "{}",
            warnings[0].message
        );
        assert!(
            warnings[1].message.contains("max_queue_size"),
            "{}",
            warnings[1].message
        );
        assert!(cfg.tracing.exporters.is_empty());
        assert_eq!(cfg.tracing.batch_export, BatchExportConfig::default());
        assert_eq!(
            cfg.tracing.sample_rate, 0.0,
            "the usable groups still apply"
        );
        assert!(cfg.check_fields().is_ok());
    }

    #[test]
    fn sdk_disabled_turns_telemetry_off() {
        let (cfg, warnings) = applied(&[("OTEL_SDK_DISABLED", "true")]);
        assert!(warnings.is_empty());
        assert!(!cfg.enabled);
        let (cfg, _) = applied(&[("OTEL_SDK_DISABLED", "false")]);
        assert!(cfg.enabled);
    }

    #[test]
    fn service_name_beats_the_one_in_resource_attributes() {
        let (cfg, warnings) = applied(&[
            ("TELEMETRY_ENABLED", "false"),
            ("OTEL_SERVICE_NAME", "studio"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=other, deployment.environment=prod, host.name=render%2D1",
            ),
        ]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(!cfg.enabled);
        assert_eq!(cfg.service_name, "studio");
        assert!(!cfg.resource_attributes.contains_key("service.name"));
        assert_eq!(cfg.resource_attributes["deployment.environment"], "prod");
        assert_eq!(
            cfg.resource_attributes["host.name"], "render-1",
            "percent-decoded"
        );
        let (alone, _) = applied(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=other")]);
        assert_eq!(
            alone.service_name, "other",
            "without OTEL_SERVICE_NAME it counts"
        );
    }
}
