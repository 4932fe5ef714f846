//! Validation: every rule, every problem reported with its field path.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use super::{
    shown_unparsed, AlertsConfig, BatchExportConfig, ConfigError, ConfigIssue, FileExporterConfig,
    HealthCheckConfig, LogsExporter, MetricsConfig, MetricsExporter, OtlpExporterConfig, Panel,
    PanelKind, PrivacyConfig, TelemetryConfig, TlsConfig, TracingExporter,
};

/// The upper bounds of the numeric fields: far above any sensible setting, low enough
/// that no value allocates, loops or overflows beyond what a desktop app can afford.
pub(super) mod limits {
    use std::time::Duration;

    /// Spans or records per export batch (the SDK allocates a batch up front).
    pub(in crate::config) const MAX_BATCH: u64 = 65_536;
    /// Spans or records waiting for export.
    pub(in crate::config) const MAX_QUEUE: u64 = 1 << 20;
    /// Export, check and delivery timeouts.
    pub(in crate::config) const MAX_TIMEOUT: Duration = Duration::from_secs(300);
    /// Collection, export, check and evaluation intervals.
    pub(in crate::config) const MAX_INTERVAL: Duration = Duration::from_secs(3600);
    /// The whole shutdown.
    pub(in crate::config) const MAX_SHUTDOWN: Duration = Duration::from_secs(60);
    /// Retention of the series store and the health cache.
    pub(in crate::config) const MAX_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);
    /// Size of one exported file before rotation (4 GiB).
    pub(in crate::config) const MAX_FILE_BYTES: u64 = 4 << 30;
    /// Rotated files kept (each rotation renames them all).
    pub(in crate::config) const MAX_FILES: u64 = 1000;
    /// Attributes or events per span, attributes per measurement.
    pub(in crate::config) const MAX_ATTRIBUTES: u64 = 1024;
    /// Metrics, series per metric, series in the store, records in the log store.
    pub(in crate::config) const MAX_COUNT: u64 = 1_000_000;
    /// Points per stored series.
    pub(in crate::config) const MAX_POINTS: u64 = 100_000;
    /// Points of the whole series store (`max_store_series × max_points_per_series`): at
    /// 32 bytes a point (two tiers), about 640 MiB.
    pub(in crate::config) const MAX_STORE_POINTS: u64 = 20_000_000;
    /// Histogram bounds.
    pub(in crate::config) const MAX_BUCKETS: usize = 256;
    /// Characters of a panel's title or section, a metric's unit.
    pub(in crate::config) const MAX_LABEL_CHARS: usize = 120;
    /// Characters of a metric's help text.
    pub(in crate::config) const MAX_HELP_CHARS: usize = 1024;
}

/// Paths the HTTP server serves itself, which a Prometheus `path` may not take; every
/// path under `/api/` and `/assets/` is the server's too.
pub(crate) const RESERVED_PATHS: &[&str] = &["/", "/health", "/health/live", "/health/ready"];

/// Path prefixes the HTTP server serves itself.
pub(crate) const RESERVED_PREFIXES: &[&str] = &["/api/", "/assets/"];

/// Why `path` cannot be the metrics endpoint's path, if it cannot.
fn metrics_path_problem(path: &str) -> Option<String> {
    let segments_ok = path.len() <= 256
        && path.starts_with('/')
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b))
        && !path.contains("//");
    if !segments_ok {
        Some(format!(
            "{path:?} must start with '/' and use only letters, digits and / - . _ ~ (at most 256)"
        ))
    } else if RESERVED_PATHS.contains(&path)
        || RESERVED_PREFIXES
            .iter()
            .any(|p| path.starts_with(p) || path == p.trim_end_matches('/'))
    {
        Some(format!(
            "{path:?} is a path the server serves itself (/, /health*, /api/*, /assets/*)"
        ))
    } else {
        None
    }
}

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

    /// `value` must lie in `min..=max`.
    fn within(&mut self, path: &str, value: u64, min: u64, max: u64) {
        if value < min {
            self.add(path, format!("must be at least {min}"));
        } else if value > max {
            self.add(path, format!("{value} is more than {max}"));
        }
    }

    /// A text shown to people: not blank, at most `max` characters, no control characters.
    fn text(&mut self, path: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(path, "must not be empty");
        } else if value.chars().count() > max {
            self.add(path, format!("is longer than {max} characters"));
        } else if value.chars().any(char::is_control) {
            self.add(path, "must not hold control characters");
        }
    }

    /// The fields of one health check at `at` (`health.checks[0]`).
    fn health_check(&mut self, at: &str, check: &HealthCheckConfig) {
        let threshold = match check {
            HealthCheckConfig::DiskSpace {
                name,
                path,
                threshold,
            } => {
                if path.trim().is_empty() {
                    self.add(format!("{at}.DiskSpace.path"), "must not be empty");
                }
                if !is_valid_check_name(name) {
                    self.add(
                        format!("{at}.DiskSpace.name"),
                        format!("{name:?} must be lowercase letters, digits and '_'"),
                    );
                }
                Some((format!("{at}.DiskSpace.threshold"), *threshold))
            }
            HealthCheckConfig::Memory { threshold } => {
                Some((format!("{at}.Memory.threshold"), *threshold))
            }
            HealthCheckConfig::Ffmpeg { .. } => None,
            HealthCheckConfig::Http { name, url, tls, .. } => {
                if let Err(why) = check_url(url) {
                    self.add(format!("{at}.Http.url"), why);
                }
                if let Some(tls) = tls {
                    self.tls(&format!("{at}.Http.tls"), tls);
                }
                if !is_valid_check_name(name) {
                    self.add(
                        format!("{at}.Http.name"),
                        format!("{name:?} must be lowercase letters, digits and '_'"),
                    );
                }
                None
            }
        };
        if let Some((path, t)) = threshold {
            if !(t > 0.0 && t <= 1.0) {
                self.add(path, format!("{t} is outside (0, 1]; write 0.9 for 90%"));
            }
        }
    }

    /// A duration field: more than zero and at most `max`.
    fn interval(&mut self, path: &str, value: Duration, max: Duration) {
        self.positive(path, value);
        self.at_most(path, value, max);
    }

    fn batch(&mut self, at: &str, b: &BatchExportConfig) {
        let size = u64::try_from(b.max_batch_size).unwrap_or(u64::MAX);
        self.within(&format!("{at}.max_batch_size"), size, 1, limits::MAX_BATCH);
        let queue = u64::try_from(b.max_queue_size).unwrap_or(u64::MAX);
        self.within(&format!("{at}.max_queue_size"), queue, 1, limits::MAX_QUEUE);
        self.interval(
            &format!("{at}.max_export_timeout"),
            b.max_export_timeout,
            limits::MAX_TIMEOUT,
        );
        self.interval(
            &format!("{at}.export_interval"),
            b.export_interval,
            limits::MAX_INTERVAL,
        );
    }

    fn file(&mut self, at: &str, file: &FileExporterConfig) {
        if file.path.trim().is_empty() {
            self.add(format!("{at}.path"), "must not be empty");
        }
        self.within(
            &format!("{at}.max_file_bytes"),
            file.max_file_bytes,
            1024,
            limits::MAX_FILE_BYTES,
        );
        self.within(
            &format!("{at}.max_files"),
            u64::from(file.max_files),
            0,
            limits::MAX_FILES,
        );
    }

    fn otlp(&mut self, at: &str, otlp: &OtlpExporterConfig) {
        #[cfg(not(feature = "otlp-grpc"))]
        if otlp.protocol == super::OtlpProtocol::Grpc {
            self.add(format!("{at}.protocol"), NO_GRPC_FEATURE);
        }
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
        if let Some(tls) = &otlp.tls {
            self.tls(&format!("{at}.tls"), tls);
        }
    }

    /// A destination's TLS files.
    fn tls(&mut self, at: &str, tls: &TlsConfig) {
        for (field, problem) in tls.problems() {
            self.add(format!("{at}.{field}"), problem);
        }
    }
}

impl TlsConfig {
    /// What is wrong with these settings, as `(field, problem)`: an empty path, a client
    /// certificate without its key or the reverse.
    pub(crate) fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut problems = Vec::new();
        for (field, path) in [
            ("ca_cert", &self.ca_cert),
            ("client_cert", &self.client_cert),
            ("client_key", &self.client_key),
        ] {
            if path.as_deref().is_some_and(|p| p.trim().is_empty()) {
                problems.push((field, "must not be empty"));
            }
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            problems.push(("client_key", "client_cert and client_key go together"));
        }
        problems
    }
}

/// A check name is usable in `<name>_health_status`: lowercase letters, digits and `_`,
/// starting with a letter.
pub(crate) fn is_valid_check_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl TelemetryConfig {
    /// Checks the configuration's own rules (fields, ranges, names, URLs, paths) and
    /// returns every problem, each with its field path. What an alert rule means (its
    /// condition, templates, actions) is checked beside the rules, by
    /// [`TelemetryConfig::validate`].
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
    /// let err = cfg.check_fields().unwrap_err();
    /// assert_eq!(err.issues()[0].path, "tracing.sample_rate");
    /// ```
    pub fn check_fields(&self) -> Result<(), ConfigError> {
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
        if self.allowed_hosts.len() > MAX_ALLOWED_HOSTS {
            issues.add(
                "allowed_hosts",
                format!("at most {MAX_ALLOWED_HOSTS} names"),
            );
        }
        for (i, name) in self.allowed_hosts.iter().enumerate() {
            if !is_host_name(name) {
                issues.add(
                    format!("allowed_hosts[{i}]"),
                    format!(
                        "{name:?} is not a host name (letters, digits, '-' and '.', no port, \
                         at most 253)"
                    ),
                );
            }
        }
        for key in self.resource_attributes.keys() {
            if key.trim().is_empty() {
                issues.add("resource_attributes", "keys must not be empty");
            }
        }
        issues.interval(
            "shutdown_timeout",
            self.shutdown_timeout,
            limits::MAX_SHUTDOWN,
        );
        self.validate_server(&mut issues);
        self.validate_tracing(&mut issues);
        self.validate_metrics(&mut issues);
        self.validate_health(&mut issues);
        self.validate_logs(&mut issues);
        self.validate_alerts(&mut issues);
        self.validate_panels(&mut issues);
        self.validate_privacy(&mut issues);
        if issues.0.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(issues.0))
        }
    }

    fn validate_server(&self, issues: &mut Issues) {
        let Some(server) = &self.server else {
            return;
        };

        if server.host.parse::<IpAddr>().is_err() {
            issues.add(
                "server.host",
                format!(
                    "{:?} is not an IP address (use 127.0.0.1 or 0.0.0.0)",
                    server.host
                ),
            );
        }
        let shared = self.metrics.exporters.iter().find_map(|e| match e {
            MetricsExporter::Prometheus { port, host, .. } if *port == server.port => Some(host),
            _ => None,
        });
        if let Some(host) = shared.filter(|h| **h != server.host) {
            issues.add(
                "server.host",
                format!(
                    "a Prometheus exporter listens on port {} at {host:?}; give the server the \
                     same host to share that port, or another port",
                    server.port
                ),
            );
        }
    }

    fn validate_tracing(&self, issues: &mut Issues) {
        let t = &self.tracing;
        for (path, rate) in [
            ("tracing.sample_rate", t.sample_rate),
            ("tracing.local_sample_rate", t.local_sample_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                issues.add(
                    path,
                    format!("{rate} is outside 0.0..=1.0 (1.0 keeps every trace)"),
                );
            }
        }
        issues.within(
            "tracing.max_attributes_per_span",
            u64::from(t.max_attributes_per_span),
            1,
            limits::MAX_ATTRIBUTES,
        );
        issues.within(
            "tracing.max_events_per_span",
            u64::from(t.max_events_per_span),
            0,
            limits::MAX_ATTRIBUTES,
        );
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
        issues.interval(
            "alerts.evaluation_interval",
            a.evaluation_interval,
            limits::MAX_INTERVAL,
        );
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
            if let Some(why) = mailbox_problem(&email.from) {
                issues.add("alerts.email.from", why);
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
        issues.within(
            "logs.store_capacity",
            u64::try_from(l.store_capacity).unwrap_or(u64::MAX),
            1,
            limits::MAX_COUNT,
        );
        issues.batch("logs.batch_export", &l.batch_export);
        for (i, exporter) in l.exporters.iter().enumerate() {
            let at = format!("logs.exporters[{i}]");
            match exporter {
                LogsExporter::File(file) => issues.file(&format!("{at}.File"), file),
                LogsExporter::Otlp(otlp) => issues.otlp(&format!("{at}.Otlp"), otlp),
            }
        }
    }

    /// The panels' shape; their metric names are checked beside the name rules
    /// (`metrics::name_issues`).
    fn validate_privacy(&self, issues: &mut Issues) {
        let privacy = &self.privacy;
        for (field, keys) in [
            ("drop_attributes", &privacy.drop_attributes),
            ("hash_attributes", &privacy.hash_attributes),
        ] {
            if keys.len() > PrivacyConfig::MAX_KEYS {
                issues.add(
                    format!("privacy.{field}"),
                    format!(
                        "{} keys, at most {} allowed",
                        keys.len(),
                        PrivacyConfig::MAX_KEYS
                    ),
                );
            }
            for (i, key) in keys.iter().enumerate() {
                issues.text(
                    &format!("privacy.{field}[{i}]"),
                    key,
                    limits::MAX_LABEL_CHARS,
                );
            }
        }
        if let Some(dir) = &self.storage.dir {
            if dir.trim().is_empty() {
                issues.add("storage.dir", "must not be empty (leave it out for none)");
            }
        }
        if self.spool.max_bytes < 1 << 20 {
            issues.add(
                "spool.max_bytes",
                format!(
                    "{} is below the smallest spool, 1 MiB (1048576): one batch may not fit",
                    self.spool.max_bytes
                ),
            );
        }
        issues.positive("spool.max_age", self.spool.max_age);
    }

    fn validate_panels(&self, issues: &mut Issues) {
        if self.panels.len() > Panel::MAX_PANELS {
            issues.add(
                "panels",
                format!(
                    "{} panels, at most {} allowed",
                    self.panels.len(),
                    Panel::MAX_PANELS
                ),
            );
        }
        for (i, panel) in self.panels.iter().enumerate() {
            let at = format!("panels[{i}]");
            issues.text(
                &format!("{at}.title"),
                &panel.title,
                limits::MAX_LABEL_CHARS,
            );
            issues.text(
                &format!("{at}.section"),
                &panel.section,
                limits::MAX_LABEL_CHARS,
            );
            if let Some(unit) = &panel.unit {
                issues.text(&format!("{at}.unit"), unit, limits::MAX_LABEL_CHARS);
            }
            match (panel.kind, &panel.complement) {
                (PanelKind::Ratio, None) => issues.add(
                    format!("{at}.complement"),
                    "a ratio panel needs the counter of misses",
                ),
                (PanelKind::Ratio, Some(_)) | (_, None) => {}
                (_, Some(_)) => issues.add(
                    format!("{at}.complement"),
                    "only a ratio panel takes a complement",
                ),
            }
        }
    }

    fn validate_metrics(&self, issues: &mut Issues) {
        let m = &self.metrics;
        Self::validate_catalogue(m, issues);
        Self::validate_metric_timing(m, issues);
        Self::validate_aggregation(m, issues);
        Self::validate_metric_limits(m, issues);
        Self::validate_metric_exporters(m, issues);
    }

    fn validate_catalogue(m: &MetricsConfig, issues: &mut Issues) {
        let mut described = HashSet::new();
        for (i, d) in m.catalogue.iter().enumerate() {
            let at = format!("metrics.catalogue[{i}]");
            issues.text(&format!("{at}.help"), &d.help, limits::MAX_HELP_CHARS);
            if let Some(unit) = &d.unit {
                issues.text(&format!("{at}.unit"), unit, limits::MAX_LABEL_CHARS);
            }
            if !described.insert(d.name.trim_end_matches("_total")) {
                issues.add(
                    format!("{at}.name"),
                    format!("{:?} is described twice", d.name),
                );
            }
        }
        if m.catalogue.len() > m.max_metrics {
            issues.add(
                "metrics.catalogue",
                format!(
                    "{} metrics described, more than max_metrics ({})",
                    m.catalogue.len(),
                    m.max_metrics
                ),
            );
        }
    }

    fn validate_metric_timing(m: &MetricsConfig, issues: &mut Issues) {
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
        issues.at_most(
            "metrics.collection_interval",
            m.collection_interval,
            limits::MAX_INTERVAL,
        );
        issues.at_most(
            "metrics.retention_period",
            m.retention_period,
            limits::MAX_RETENTION,
        );
    }

    fn validate_aggregation(m: &MetricsConfig, issues: &mut Issues) {
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
        if buckets.len() > limits::MAX_BUCKETS {
            issues.add(
                "metrics.aggregation.histogram_buckets",
                format!("{} bounds; at most {}", buckets.len(), limits::MAX_BUCKETS),
            );
        }
    }

    fn validate_metric_limits(m: &MetricsConfig, issues: &mut Issues) {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        for (field, value, min, max) in [
            (
                "metrics.max_series_per_metric",
                m.max_series_per_metric,
                1,
                limits::MAX_COUNT,
            ),
            ("metrics.max_metrics", m.max_metrics, 1, limits::MAX_COUNT),
            (
                "metrics.max_store_series",
                m.max_store_series,
                1,
                limits::MAX_COUNT,
            ),
            (
                "metrics.max_attributes_per_measurement",
                m.max_attributes_per_measurement,
                1,
                limits::MAX_ATTRIBUTES,
            ),
            (
                "metrics.max_points_per_series",
                m.max_points_per_series,
                2,
                limits::MAX_POINTS,
            ),
        ] {
            issues.within(field, count(value), min, max);
        }
        let points = count(m.max_store_series).saturating_mul(count(m.max_points_per_series));
        if points > limits::MAX_STORE_POINTS {
            issues.add(
                "metrics.max_store_series",
                format!(
                    "max_store_series × max_points_per_series is {points} points; at most {} \
                     fit the store",
                    limits::MAX_STORE_POINTS
                ),
            );
        }
    }

    fn validate_metric_exporters(m: &MetricsConfig, issues: &mut Issues) {
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
                    if let Some(why) = metrics_path_problem(path) {
                        issues.add(format!("{at}.path"), why);
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
                MetricsExporter::Otlp(otlp) => {
                    issues.otlp(&format!("metrics.exporters[{i}].Otlp"), otlp);
                }
            }
        }
        issues.interval(
            "metrics.export_interval",
            m.export_interval,
            limits::MAX_INTERVAL,
        );
        issues.interval(
            "metrics.export_timeout",
            m.export_timeout,
            limits::MAX_TIMEOUT,
        );
    }

    fn validate_health(&self, issues: &mut Issues) {
        let h = &self.health;
        // Check names must be unique (they name metrics); the engine's own are always there.
        let mut names = HashSet::from(["exporters", "background_tasks", "series_store"]);
        for (i, check) in h.checks.iter().enumerate() {
            let at = format!("health.checks[{i}]");
            let name = match check {
                HealthCheckConfig::DiskSpace { name, .. } => name.as_str(),
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
            issues.health_check(&at, check);
        }
        issues.interval(
            "health.check_interval",
            h.check_interval,
            limits::MAX_INTERVAL,
        );
        issues.interval(
            "health.default_timeout",
            h.default_timeout,
            limits::MAX_TIMEOUT,
        );
        issues.at_most("health.cache_ttl", h.cache_ttl, limits::MAX_RETENTION);
        if h.default_timeout > h.check_interval && !h.check_interval.is_zero() {
            issues.add(
                "health.default_timeout",
                "must not exceed health.check_interval",
            );
        }
    }
}

/// The most [`TelemetryConfig::allowed_hosts`] may list.
const MAX_ALLOWED_HOSTS: usize = 64;

/// Whether `name` is a DNS host name: dot-separated labels of ASCII letters, digits and
/// `-`, none empty, at most 253 characters.
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Why `url` is not an `http(s)://` URL with a host, if it is not. The message shows
/// the URL without anything up to its last `@`, its query and its fragment
/// ([`shown_unparsed`]): a URL that does not parse may hold a key anywhere there, and the
/// message reaches the logs and the export status.
fn check_url(url: &str) -> Result<(), String> {
    let shown = shown_unparsed(url);
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return Err(format!("{shown:?} must start with http:// or https://"));
    };
    // (The URL standard reads `http:///v1/traces` as the host `v1`.)
    if rest.starts_with('/') {
        return Err(format!("{shown:?} has no host"));
    }
    match reqwest::Url::parse(url) {
        Ok(parsed) if parsed.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        Ok(_) => Err(format!("{shown:?} has no host")),
        Err(e) => Err(format!("{shown:?} is not a valid URL: {e}")),
    }
}

/// What a configuration with email alerts is told in a build without them.
pub(crate) const NO_EMAIL_FEATURE: &str =
    "email alerts need the Cargo feature `email` (of tauri-plugin-opentelemetry or telemetry-engine)";

/// Why `address` is not an email address (`"Ops <ops@example.com>"` is one), if it is
/// not; a build without the `email` feature says that instead.
pub(crate) fn mailbox_problem(address: &str) -> Option<String> {
    #[cfg(feature = "email")]
    {
        address
            .parse::<lettre::message::Mailbox>()
            .is_err()
            .then(|| format!("{address:?} is not an email address"))
    }
    #[cfg(not(feature = "email"))]
    {
        let _ = address;
        Some(NO_EMAIL_FEATURE.to_owned())
    }
}

/// What a configuration that sends OTLP over gRPC is told in a build without it.
#[cfg(not(feature = "otlp-grpc"))]
pub(crate) const NO_GRPC_FEATURE: &str =
    "OTLP over gRPC needs the Cargo feature `otlp-grpc` (of tauri-plugin-opentelemetry or telemetry-engine); `HttpProtobuf` needs none";
