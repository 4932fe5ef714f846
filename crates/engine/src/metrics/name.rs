//! Metric name rules: valid for both OpenTelemetry and Prometheus.

use super::MetricsError;

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
