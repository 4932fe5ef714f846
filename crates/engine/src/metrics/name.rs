//! Metric names, in one place: the rules a name must follow (valid for both
//! OpenTelemetry and Prometheus) and the names each metric is exposed and stored under
//! (`_total` on counters, `_count`/`_sum` of histograms, `_p99` quantiles, units).

use std::borrow::Cow;

use super::{MetricKind, MetricsError};
use crate::config::{ConfigIssue, TelemetryConfig};

/// Longest accepted name (the OpenTelemetry limit).
const MAX_LEN: usize = 255;

/// Checks `name`: a letter first, then letters, digits and `_`, at most 255 characters.
/// Names that are valid OpenTelemetry but not Prometheus names (`.`, `-`, `/`) are refused,
/// because the exporter would rewrite them and two names could meet as one series.
pub(crate) fn validate(name: &str) -> Result<(), MetricsError> {
    let invalid = |reason| {
        Err(MetricsError::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    let Some(first) = name.chars().next() else {
        return invalid("it is empty");
    };
    if name.len() > MAX_LEN {
        return invalid("it is longer than 255 characters");
    }
    if !first.is_ascii_alphabetic() {
        return invalid("it must start with a letter (a-z, A-Z)");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return invalid("use only letters, digits and '_' (Prometheus naming)");
    }
    Ok(())
}

/// Label names the exposition itself writes: a measurement may not use them.
const RESERVED_LABELS: [&str; 4] = ["le", "quantile", "otel_scope_name", "otel_scope_version"];

/// Why `key` cannot be a label name once the exporter has turned every character that is
/// not a letter, digit or `:` into `_` (so `http.method` is fine: it becomes
/// `http_method`); `None` when it can.
#[inline]
pub(crate) fn attribute_key_problem(key: &str) -> Option<&'static str> {
    let bytes = key.as_bytes();
    let first = *bytes.first()?;
    // Cheapest tests first: this runs for every attribute of every by-name record.
    if first.is_ascii_digit() {
        Some("it must not start with a digit")
    } else if first == b'_' && bytes.get(1) == Some(&b'_') {
        Some("names starting with '__' are reserved by Prometheus")
    } else if matches!(first, b'l' | b'q' | b'o')
        && matches!(bytes.len(), 2 | 8 | 15 | 18)
        && RESERVED_LABELS.contains(&key)
    {
        Some("it is a label the exposition writes itself (le, quantile, otel_scope_*)")
    } else if bytes.contains(&b':') {
        Some("':' is not allowed in a label name")
    } else {
        None
    }
}

/// A key that passes every rule at a glance: a letter first other than `l`, `q` or `o`
/// (which may start a reserved label), and no `:`. Keys it does not pass may still be
/// fine: [`attribute_key_problem`] decides.
#[inline]
pub(crate) fn plain_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    match bytes.first() {
        Some(&first) => {
            first.is_ascii_alphabetic()
                && !matches!(first, b'l' | b'q' | b'o')
                && !bytes.contains(&b':')
        }
        None => false,
    }
}

/// Suffixes the Prometheus exposition gives histogram series.
const HISTOGRAM_SUFFIXES: [&str; 3] = ["_bucket", "_count", "_sum"];

/// Checks the suffix rules for a kind and returns the name the SDK instrument gets:
/// counters drop a trailing `_total` (the exporter adds it back), other kinds may not
/// end in `_total`, and no name may end in a histogram series suffix.
pub(crate) fn instrument_name(name: &str, is_counter: bool) -> Result<&str, MetricsError> {
    validate(name)?;
    if is_quantile_name(name) {
        return Err(MetricsError::InvalidName {
            name: name.to_owned(),
            reason: "names ending in _p50, _p99, _p99_9 … are reserved for histogram quantiles",
        });
    }
    if HISTOGRAM_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return Err(MetricsError::InvalidName {
            name: name.to_owned(),
            reason: "names ending in _bucket, _count or _sum clash with histogram series",
        });
    }
    match name.strip_suffix("_total") {
        Some(base) if is_counter && !base.is_empty() => Ok(base),
        Some(_) if !is_counter => Err(MetricsError::InvalidName {
            name: name.to_owned(),
            reason: "only counters may end in _total",
        }),
        _ => Ok(name),
    }
}

/// Whether `name` ends like a quantile gauge: `_p` then digits, optionally `_` and digits.
fn is_quantile_name(name: &str) -> bool {
    let Some((_, tail)) = name.rsplit_once("_p") else {
        return false;
    };
    let mut parts = tail.splitn(2, '_');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

/// The metric names and label keys a configuration gives (`metrics.catalogue`,
/// `panels`), each checked against the rules above.
pub(crate) fn name_issues(config: &TelemetryConfig) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    let mut name = |path: String, name: &str| {
        if let Err(e) = validate(name) {
            issues.push(ConfigIssue {
                path,
                message: e.to_string(),
            });
        }
    };
    for (i, d) in config.metrics.catalogue.iter().enumerate() {
        name(format!("metrics.catalogue[{i}].name"), &d.name);
    }
    for (i, panel) in config.panels.iter().enumerate() {
        name(format!("panels[{i}].metric"), &panel.metric);
        if let Some(complement) = &panel.complement {
            name(format!("panels[{i}].complement"), complement);
        }
    }
    for (i, panel) in config.panels.iter().enumerate() {
        for key in panel.labels.keys() {
            if let Some(reason) =
                attribute_key_problem(key).or(key.is_empty().then_some("it is empty"))
            {
                issues.push(ConfigIssue {
                    path: format!("panels[{i}].labels"),
                    message: format!("invalid label {key:?}: {reason}"),
                });
            }
        }
    }
    issues
}

/// The name a metric is exposed and stored under: a counter's ends in `_total` (which
/// the app may leave out when it records), every other name is as recorded.
pub(crate) fn exposed(recorded: &str, kind: MetricKind) -> Cow<'_, str> {
    if kind == MetricKind::Counter && !recorded.ends_with("_total") {
        Cow::Owned(format!("{recorded}_total"))
    } else {
        Cow::Borrowed(recorded)
    }
}

/// The series that counts a histogram's values: `<histogram>_count`.
pub(crate) fn histogram_count(histogram: &str) -> String {
    format!("{histogram}_count")
}

/// The series that sums a histogram's values: `<histogram>_sum`.
pub(crate) fn histogram_sum(histogram: &str) -> String {
    format!("{histogram}_sum")
}

/// The gauge that holds one quantile of a histogram: `0.5` → `<histogram>_p50`,
/// `0.999` → `<histogram>_p99_9`.
pub(crate) fn quantile(histogram: &str, q: f64) -> String {
    let percent = format!("{}", (q * 1000.0).round() / 10.0);
    format!("{histogram}_p{}", percent.replace('.', "_"))
}

/// The unit an exposed name ends in (`_ms`, `_seconds`, `_bytes`, `_percent`, `_ratio`,
/// before any `_total`).
pub(crate) fn unit(name: &str) -> Option<&'static str> {
    let base = name.strip_suffix("_total").unwrap_or(name);
    ["ms", "seconds", "bytes", "percent", "ratio"]
        .into_iter()
        .find(|unit| base.strip_suffix(unit).is_some_and(|b| b.ends_with('_')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keys_pass_at_a_glance_and_the_rest_is_decided_in_full() {
        for key in ["method", "endpoint", "http.method", "Status"] {
            assert!(plain_key(key), "{key}");
            assert_eq!(attribute_key_problem(key), None, "{key}");
        }
        // Not plain, yet fine: decided by the full check.
        for key in ["operation", "latency", "queue", "_private"] {
            assert!(!plain_key(key), "{key}");
            assert_eq!(attribute_key_problem(key), None, "{key}");
        }
        for key in [
            "le",
            "quantile",
            "otel_scope_name",
            "__name__",
            "0abc",
            "a:b",
            "method:x",
        ] {
            assert!(!plain_key(key), "{key}");
            assert!(attribute_key_problem(key).is_some(), "{key}");
        }
    }

    #[test]
    fn accepts_the_spec_names() {
        for name in [
            "system_cpu_usage_percent",
            "frames_processed_total",
            "queue_size",
            "a",
        ] {
            validate(name).unwrap();
        }
    }

    #[test]
    fn refuses_bad_names_with_the_reason() {
        let cases = [
            ("", "it is empty"),
            ("9lives", "it must start with a letter (a-z, A-Z)"),
            ("_x", "it must start with a letter (a-z, A-Z)"),
            (
                "http.requests",
                "use only letters, digits and '_' (Prometheus naming)",
            ),
            (
                "cache hits",
                "use only letters, digits and '_' (Prometheus naming)",
            ),
            ("лат", "it must start with a letter (a-z, A-Z)"),
        ];
        for (name, reason) in cases {
            assert_eq!(
                validate(name),
                Err(MetricsError::InvalidName {
                    name: name.into(),
                    reason
                }),
                "{name}"
            );
        }
        assert!(validate(&"a".repeat(256)).is_err());
        assert!(validate(&"a".repeat(255)).is_ok());
    }

    #[test]
    fn exposed_names() {
        assert_eq!(exposed("jobs", MetricKind::Counter), "jobs_total");
        assert_eq!(exposed("jobs_total", MetricKind::Counter), "jobs_total");
        assert_eq!(exposed("queue", MetricKind::Gauge), "queue");
        assert_eq!(histogram_count("lat_ms"), "lat_ms_count");
        assert_eq!(histogram_sum("lat_ms"), "lat_ms_sum");
        assert_eq!(quantile("lat", 0.5), "lat_p50");
        assert_eq!(quantile("lat", 0.95), "lat_p95");
        assert_eq!(quantile("lat", 0.999), "lat_p99_9");
        assert_eq!(unit("lat_ms"), Some("ms"));
        assert_eq!(unit("sent_bytes_total"), Some("bytes"));
        assert_eq!(unit("frames_total"), None);
        assert_eq!(unit("items"), None);
        // A quantile name is one the name rules keep for histograms.
        assert!(instrument_name(&quantile("lat", 0.999), false).is_err());
    }

    #[test]
    fn quantile_suffixes_are_reserved() {
        for name in ["latency_p50", "latency_p99", "latency_p99_9"] {
            assert!(instrument_name(name, false).is_err(), "{name}");
        }
        for name in ["cpu_percent", "group_pool", "latency_p99x", "p50"] {
            assert!(instrument_name(name, false).is_ok(), "{name}");
        }
    }

    #[test]
    fn counter_suffix_rules() {
        assert_eq!(
            instrument_name("api_requests_total", true).unwrap(),
            "api_requests"
        );
        assert_eq!(
            instrument_name("system_network_bytes_sent", true).unwrap(),
            "system_network_bytes_sent"
        );
        assert!(instrument_name("queue_total", false).is_err());
        assert!(instrument_name("latency_sum", false).is_err());
        assert_eq!(
            instrument_name("x_count", true).unwrap_err().to_string(),
            "metric name \"x_count\" is invalid: names ending in _bucket, _count or _sum clash with histogram series"
        );
    }
}
