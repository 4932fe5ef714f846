//! Validation: every rule, every problem reported with its field path.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use super::{
    AlertsConfig, BatchExportConfig, ConfigError, ConfigIssue, FileExporterConfig,
    HealthCheckConfig, LogsExporter, MetricsExporter, OtlpExporterConfig, TelemetryConfig,
    TracingExporter,
};

#[derive(Default)]
struct Issues(Vec<ConfigIssue>);

impl Issues {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigIssue {
            path: path.into(),
            message: message.into(),
        });
    }

    fn positive(&mut self, path: &str, value: Duration) {
        if value.is_zero() {
            self.add(path, "must be greater than 0s");
        }
    }

    fn at_most(&mut self, path: &str, value: Duration, max: Duration) {
        if value > max {
            self.add(
                path,
                format!(
                    "{} is more than {}",
                    humantime::format_duration(value),
                    humantime::format_duration(max)
                ),
            );
        }
    }

    fn batch(&mut self, at: &str, b: &BatchExportConfig) {
        if b.max_batch_size == 0 {
            self.add(format!("{at}.max_batch_size"), "must be at least 1");
        }
        self.positive(&format!("{at}.max_export_timeout"), b.max_export_timeout);
        self.positive(&format!("{at}.export_interval"), b.export_interval);
    }

    fn file(&mut self, at: &str, file: &FileExporterConfig) {
        if file.path.trim().is_empty() {
            self.add(format!("{at}.path"), "must not be empty");
        }
        if file.max_file_bytes < 1024 {
            self.add(format!("{at}.max_file_bytes"), "must be at least 1024");
        }
    }

    fn otlp(&mut self, at: &str, otlp: &OtlpExporterConfig) {
        if let Err(why) = check_url(&otlp.endpoint) {
            self.add(format!("{at}.endpoint"), why);
        }
        for name in otlp.headers.keys() {
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
            if !valid {
                self.add(
                    format!("{at}.headers"),
                    format!("{name:?} is not a valid header name"),
                );
            }
        }
    }
}

impl TelemetryConfig {
    /// Checks every rule and returns every problem, each with its field path.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] listing the problems, e.g.
    /// `metrics.exporters[0].Prometheus.port: port 0 is not allowed`.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::TelemetryConfig;
    /// let mut cfg = TelemetryConfig::default();
    /// cfg.tracing.sample_rate = 2.0;
    /// let err = cfg.validate().unwrap_err();
    /// assert_eq!(err.issues()[0].path, "tracing.sample_rate");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut issues = Issues::default();
        if self.service_name.trim().is_empty() {
            issues.add("service_name", "must not be empty");
        }
        if let Some(token) = &self.http_token {
            // The value itself is a secret: the message describes it, never shows it.
            if token.len() < 16 {
                issues.add("http_token", "must be at least 16 characters long");
            }
            if !token.bytes().all(|b| b.is_ascii_graphic()) {
                issues.add(
                    "http_token",
                    "may hold only visible ASCII characters (no spaces)",
                );
            }
        }
        for key in self.resource_attributes.keys() {
            if key.trim().is_empty() {
                issues.add("resource_attributes", "keys must not be empty");
            }
        }
        self.validate_tracing(&mut issues);
        self.validate_metrics(&mut issues);
        self.validate_health(&mut issues);
        self.validate_logs(&mut issues);
        self.validate_alerts(&mut issues);
        if issues.0.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(issues.0))
        }
    }

    fn validate_tracing(&self, issues: &mut Issues) {
        let t = &self.tracing;
        if !(0.0..=1.0).contains(&t.sample_rate) {
            issues.add(
                "tracing.sample_rate",
                format!(
                    "{} is outside 0.0..=1.0 (1.0 keeps every trace)",
                    t.sample_rate
                ),
            );
        }
        if t.max_attributes_per_span == 0 {
            issues.add("tracing.max_attributes_per_span", "must be at least 1");
        }
        if t.max_events_per_span > 65_536 {
            issues.add("tracing.max_events_per_span", "must be at most 65536");
        }
        issues.batch("tracing.batch_export", &t.batch_export);
        for (i, exporter) in t.exporters.iter().enumerate() {
            let at = format!("tracing.exporters[{i}]");
            match exporter {
                TracingExporter::Console {} => {}
                TracingExporter::File(file) => issues.file(&format!("{at}.File"), file),
                TracingExporter::Jaeger { endpoint, .. } => {
                    if let Err(why) = check_url(endpoint) {
                        issues.add(format!("{at}.Jaeger.endpoint"), why);
                    }
                }
                TracingExporter::Otlp(otlp) => issues.otlp(&format!("{at}.Otlp"), otlp),
            }
        }
    }

    fn validate_alerts(&self, issues: &mut Issues) {
        let a = &self.alerts;
        issues.positive("alerts.evaluation_interval", a.evaluation_interval);
        issues.positive("alerts.delivery_timeout", a.delivery_timeout);
        issues.at_most(
            "alerts.delivery_timeout",
            a.delivery_timeout,
            AlertsConfig::MAX_DELIVERY_TIMEOUT,
        );
        issues.at_most(
            "alerts.retry_backoff",
            a.retry_backoff,
            AlertsConfig::MAX_BACKOFF,
        );
        if a.retries > AlertsConfig::MAX_RETRIES {
            issues.add(
                "alerts.retries",
                format!("{} is more than {}", a.retries, AlertsConfig::MAX_RETRIES),
            );
        }
        if let Err(why) = check_url(&a.pagerduty_url) {
            issues.add("alerts.pagerduty_url", why);
        }
        if let Some(email) = &a.email {
            if email.smtp_host.trim().is_empty() {
                issues.add("alerts.email.smtp_host", "must not be empty");
            }
            if email.from.parse::<lettre::message::Mailbox>().is_err() {
                issues.add(
                    "alerts.email.from",
                    format!("{:?} is not an email address", email.from),
                );
            }
        }
        let mut names = HashSet::new();
        for (i, rule) in a.rules.iter().enumerate() {
            let at = format!("alerts.rules[{i}]");
            if !names.insert(rule.name.as_str()) {
                issues.add(
                    format!("{at}.name"),
                    format!("{:?} is used by another rule", rule.name),
                );
            }
            for (field, message) in crate::alerts::rule_problems(rule, a.email.is_some()) {
                issues.add(format!("{at}.{field}"), message);
            }
        }
    }

    fn validate_logs(&self, issues: &mut Issues) {
        let l = &self.logs;
        if let Err(e) = l.level.parse::<tracing_subscriber::filter::Targets>() {
            issues.add(
                "logs.level",
                format!(
                    "{:?} is not a level directive like \"info,studio=debug\": {e}",
                    l.level
                ),
            );
        }
        if l.store_capacity == 0 {
            issues.add("logs.store_capacity", "must be at least 1");
        }
        issues.batch("logs.batch_export", &l.batch_export);
        for (i, exporter) in l.exporters.iter().enumerate() {
            let at = format!("logs.exporters[{i}]");
            match exporter {
                LogsExporter::File(file) => issues.file(&format!("{at}.File"), file),
                LogsExporter::Otlp(otlp) => issues.otlp(&format!("{at}.Otlp"), otlp),
            }
        }
    }

    fn validate_metrics(&self, issues: &mut Issues) {
        let m = &self.metrics;
        if m.collection_interval < Duration::from_millis(100) {
            issues.add(
                "metrics.collection_interval",
                format!(
                    "{:?} is too short; use at least 100ms",
                    m.collection_interval
                ),
            );
        }
        if m.retention_period < m.collection_interval {
            issues.add(
                "metrics.retention_period",
                "must be at least metrics.collection_interval",
            );
        }
        let buckets = &m.aggregation.histogram_buckets;
        if buckets.is_empty() {
            issues.add(
                "metrics.aggregation.histogram_buckets",
                "must have at least one bound",
            );
        }
        if let Some(i) = buckets.iter().position(|b| !b.is_finite()) {
            issues.add(
                format!("metrics.aggregation.histogram_buckets[{i}]"),
                "bounds must be finite numbers",
            );
        } else if let Some(i) = buckets.windows(2).position(|w| w[0] >= w[1]) {
            issues.add(
                format!("metrics.aggregation.histogram_buckets[{}]", i + 1),
                format!(
                    "{} does not exceed the bound before it; bounds must increase",
                    buckets[i + 1]
                ),
            );
        }
        for (i, q) in m.aggregation.summary_quantiles.iter().enumerate() {
            if !(*q > 0.0 && *q < 1.0) {
                issues.add(
                    format!("metrics.aggregation.summary_quantiles[{i}]"),
                    format!("{q} is outside the open range (0, 1); write 0.99 for p99"),
                );
            }
        }
        for (field, value) in [
            ("metrics.max_series_per_metric", m.max_series_per_metric),
            ("metrics.max_metrics", m.max_metrics),
            ("metrics.max_store_series", m.max_store_series),
        ] {
            if value == 0 {
                issues.add(field, "must be at least 1");
            }
        }
        if m.max_attributes_per_measurement == 0 {
            issues.add(
                "metrics.max_attributes_per_measurement",
                "must be at least 1",
            );
        }
        if m.max_points_per_series < 2 {
            issues.add("metrics.max_points_per_series", "must be at least 2");
        }
        let mut ports = HashSet::new();
        for (i, exporter) in m.exporters.iter().enumerate() {
            match exporter {
                MetricsExporter::Prometheus {
                    port, path, host, ..
                } => {
                    let at = format!("metrics.exporters[{i}].Prometheus");
                    if *port == 0 {
                        issues.add(format!("{at}.port"), "port 0 is not allowed");
                    } else if !ports.insert(*port) {
                        issues.add(
                            format!("{at}.port"),
                            format!("port {port} is used by another Prometheus exporter"),
                        );
                    }
                    if !path.starts_with('/') || path.contains(char::is_whitespace) {
                        issues.add(
                            format!("{at}.path"),
                            format!("{path:?} must start with '/' and have no spaces"),
                        );
                    }
                    if host.parse::<IpAddr>().is_err() {
                        issues.add(
                            format!("{at}.host"),
                            format!("{host:?} is not an IP address (use 127.0.0.1 or 0.0.0.0)"),
                        );
                    }
                }
                MetricsExporter::Console {} => {}
                MetricsExporter::File(file) => {
                    issues.file(&format!("metrics.exporters[{i}].File"), file);
                }
            }
        }
    }

    fn validate_health(&self, issues: &mut Issues) {
        let h = &self.health;
        // Check names must be unique (they name metrics); `exporters` is always there.
        let mut names = HashSet::from(["exporters"]);
        for (i, check) in h.checks.iter().enumerate() {
            let at = format!("health.checks[{i}]");
            let name = match check {
                HealthCheckConfig::DiskSpace { .. } => "disk_space",
                HealthCheckConfig::Memory { .. } => "memory",
                HealthCheckConfig::Ffmpeg { .. } => "ffmpeg",
                HealthCheckConfig::Http { name, .. } => name.as_str(),
            };
            if !names.insert(name) {
                issues.add(
                    at.clone(),
                    format!(
                        "a health check named {name:?} exists already; check names must be unique"
                    ),
                );
            }
            let threshold = match check {
                HealthCheckConfig::DiskSpace { path, threshold } => {
                    if path.trim().is_empty() {
                        issues.add(format!("{at}.DiskSpace.path"), "must not be empty");
                    }
                    Some((format!("{at}.DiskSpace.threshold"), *threshold))
                }
                HealthCheckConfig::Memory { threshold } => {
                    Some((format!("{at}.Memory.threshold"), *threshold))
                }
                HealthCheckConfig::Ffmpeg { .. } => None,
                HealthCheckConfig::Http { name, url, .. } => {
                    if let Err(why) = check_url(url) {
                        issues.add(format!("{at}.Http.url"), why);
                    }
                    if !crate::health::is_valid_name(name) {
                        issues.add(
                            format!("{at}.Http.name"),
                            format!("{name:?} must be lowercase letters, digits and '_'"),
                        );
                    }
                    None
                }
            };
            if let Some((path, t)) = threshold {
                if !(t > 0.0 && t <= 1.0) {
                    issues.add(path, format!("{t} is outside (0, 1]; write 0.9 for 90%"));
                }
            }
        }
        issues.positive("health.check_interval", h.check_interval);
        issues.positive("health.default_timeout", h.default_timeout);
        if h.default_timeout > h.check_interval && !h.check_interval.is_zero() {
            issues.add(
                "health.default_timeout",
                "must not exceed health.check_interval",
            );
        }
    }
}

fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("{url:?} must start with http:// or https://"))?;
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    Ok(())
}
