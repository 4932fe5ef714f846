//! Log records from the webview: guest-js's logging API (`log.warn(message, attributes)`),
//! console capture, and the `error` / `unhandledrejection` handlers the plugin's init
//! script installs.
//!
//! What a page sends is checked like every webview write: lengths are limited (message
//! and exception message [`MAX_LOG_MESSAGE`] bytes, stack [`MAX_STACK`], URL
//! [`MAX_URL`], at most [`MAX_LOG_ATTRIBUTES`] attributes), and each window has a budget
//! (a bucket of [`BURST`] records refilled at [`PER_SECOND`] a second): what a flooding
//! page sends beyond it is dropped and counted in
//! `webview_logs_dropped_total{window,reason="rate"}`, never queued. At most
//! [`MAX_WINDOWS`] windows are tracked. An error is also counted in
//! `webview_errors_total{window}`.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, Severity};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::logs::SdkLogger;
use parking_lot::Mutex;
use serde::Deserialize;

use super::{check_attributes, check_length, ApiError};
use crate::metrics::{Counter, Metrics, MetricsError};

/// The longest message (and exception message), in bytes.
pub const MAX_LOG_MESSAGE: usize = 4096;
/// The longest stack trace, in bytes.
pub const MAX_STACK: usize = 16 << 10;
/// The longest source URL, in bytes.
pub const MAX_URL: usize = 2048;
/// Attributes per record, at most.
pub const MAX_LOG_ATTRIBUTES: usize = 32;
/// Records a window may send at once.
pub const BURST: f64 = 100.0;
/// Records a window may send per second, over time.
pub const PER_SECOND: f64 = 20.0;
/// Windows whose budget is tracked; the least recently heard from goes beyond.
pub const MAX_WINDOWS: usize = 64;

/// The metrics of this module, which the webview's `record_metric` may not write.
pub(crate) const RESERVED: [&str; 2] = ["webview_errors_total", "webview_logs_dropped_total"];

/// One log record from the webview.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct WebviewLogEntry {
    /// `trace`, `debug`, `info`, `warn` or `error`.
    pub level: String,
    /// The message.
    pub message: String,
    /// Extra attributes (strings).
    #[serde(default)]
    #[cfg_attr(feature = "bindings", ts(optional))]
    pub attributes: Option<BTreeMap<String, String>>,
    /// For an error: what was thrown.
    #[serde(default)]
    #[cfg_attr(feature = "bindings", ts(optional))]
    pub exception: Option<WebviewException>,
    /// Where it was logged or thrown.
    #[serde(default)]
    #[cfg_attr(feature = "bindings", ts(optional))]
    pub source: Option<SourceLocation>,
    /// The `traceparent` of the UI span current when it happened.
    #[serde(default)]
    #[cfg_attr(feature = "bindings", ts(optional))]
    pub traceparent: Option<String>,
}

/// What a page threw.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct WebviewException {
    /// The error's name (`TypeError`), or `unhandledrejection` for a rejection without one.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "bindings", ts(rename = "type"))]
    pub kind: String,
    /// Its message.
    pub message: String,
    /// Its stack, as the browser gives it.
    #[serde(default)]
    #[cfg_attr(feature = "bindings", ts(optional))]
    pub stacktrace: Option<String>,
}

/// A place in a page's scripts.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct SourceLocation {
    /// The script's URL.
    pub url: String,
    /// 1-based line.
    #[serde(default)]
    #[cfg_attr(feature = "bindings", ts(optional))]
    pub line: Option<u32>,
    /// 1-based column.
    #[serde(default)]
    #[cfg_attr(feature = "bindings", ts(optional))]
    pub column: Option<u32>,
}

/// A window's budget: a bucket of records.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Where webview records go, with each window's budget.
pub(crate) struct WebviewLogs {
    logger: SdkLogger,
    errors: Counter,
    dropped: Counter,
    windows: Mutex<HashMap<String, Bucket>>,
}

impl WebviewLogs {
    pub(crate) fn new(logger: SdkLogger, metrics: &Metrics) -> Result<Self, MetricsError> {
        Ok(Self {
            logger,
            errors: metrics.counter(RESERVED[0])?,
            dropped: metrics.counter(RESERVED[1])?,
            windows: Mutex::default(),
        })
    }

    /// Takes one record from `window`'s budget; when it is spent, counts the drop and
    /// returns `false`.
    pub(crate) fn admit_counted(&self, window: &str) -> bool {
        let admitted = self.admit(window);
        if !admitted {
            let _ = self.dropped.add(
                1,
                &[
                    KeyValue::new("window", window.to_owned()),
                    KeyValue::new("reason", "rate"),
                ],
            );
        }
        admitted
    }

    /// Takes one record from `window`'s budget; `false` when it is spent.
    pub(crate) fn admit(&self, window: &str) -> bool {
        let now = Instant::now();
        let mut windows = self.windows.lock();
        if !windows.contains_key(window) && windows.len() >= MAX_WINDOWS {
            let quietest = windows
                .iter()
                .min_by_key(|(_, b)| b.at)
                .map(|(name, _)| name.clone());
            if let Some(name) = quietest {
                windows.remove(&name);
            }
        }
        let bucket = windows.entry(window.to_owned()).or_insert(Bucket {
            tokens: BURST,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * PER_SECOND;
        bucket.tokens = (bucket.tokens + refill).min(BURST);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Checks `entry` and records it as a log record of `window` (see the module docs).
/// Returns `false` when the window's budget was spent: the record was dropped and
/// counted.
///
/// # Errors
/// [`ApiError::BadArgument`] naming the field: an unknown level, a message, stack, URL or
/// attribute that is too long, too many attributes.
pub(crate) fn record(
    logs: &WebviewLogs,
    window: &str,
    entry: &WebviewLogEntry,
) -> Result<bool, ApiError> {
    let (severity, text) = match entry.level.as_str() {
        "trace" => (Severity::Trace, "TRACE"),
        "debug" => (Severity::Debug, "DEBUG"),
        "info" => (Severity::Info, "INFO"),
        "warn" => (Severity::Warn, "WARN"),
        "error" => (Severity::Error, "ERROR"),
        other => {
            return Err(ApiError::bad_argument(
                "entry.level",
                format!("{other:?} is not trace, debug, info, warn or error"),
            ))
        }
    };
    check_length("entry.message", &entry.message, MAX_LOG_MESSAGE)?;
    let attributes = entry.attributes.clone().unwrap_or_default();
    check_attributes("entry.attributes", &attributes, MAX_LOG_ATTRIBUTES)?;
    if let Some(e) = &entry.exception {
        check_length("entry.exception.type", &e.kind, super::MAX_ATTRIBUTE_VALUE)?;
        check_length("entry.exception.message", &e.message, MAX_LOG_MESSAGE)?;
        if let Some(stack) = &e.stacktrace {
            check_length("entry.exception.stacktrace", stack, MAX_STACK)?;
        }
    }
    if let Some(source) = &entry.source {
        check_length("entry.source.url", &source.url, MAX_URL)?;
    }
    let parent = match &entry.traceparent {
        Some(tp) => Some(crate::tracing::remote_context(tp).ok_or_else(|| {
            ApiError::bad_argument(
                "entry.traceparent",
                format!("{tp:?} is not a W3C traceparent"),
            )
        })?),
        None => None,
    };
    let label = [KeyValue::new("window", window.to_owned())];
    if !logs.admit_counted(window) {
        return Ok(false);
    }
    if entry.exception.is_some() || severity == Severity::Error {
        let _ = logs.errors.add(1, &label);
    }
    let mut record = logs.logger.create_log_record();
    record.set_severity_number(severity);
    record.set_severity_text(text);
    record.set_target("webview");
    record.set_body(AnyValue::from(entry.message.clone()));
    let mut fields: Vec<(String, AnyValue)> =
        vec![("window".into(), AnyValue::from(window.to_owned()))];
    if let Some(e) = &entry.exception {
        fields.push(("exception.type".into(), AnyValue::from(e.kind.clone())));
        fields.push((
            "exception.message".into(),
            AnyValue::from(e.message.clone()),
        ));
        if let Some(stack) = &e.stacktrace {
            fields.push(("exception.stacktrace".into(), AnyValue::from(stack.clone())));
        }
    }
    if let Some(source) = &entry.source {
        fields.push(("code.file.path".into(), AnyValue::from(source.url.clone())));
        if let Some(line) = source.line {
            fields.push(("code.line.number".into(), AnyValue::from(i64::from(line))));
        }
        if let Some(column) = source.column {
            fields.push((
                "code.column.number".into(),
                AnyValue::from(i64::from(column)),
            ));
        }
    }
    fields.extend(attributes.into_iter().map(|(k, v)| (k, AnyValue::from(v))));
    record.add_attributes(fields);
    if let Some(cx) = parent {
        let span = cx.span();
        let sc = span.span_context();
        record.set_trace_context(sc.trace_id(), sc.span_id(), Some(sc.trace_flags()));
    }
    logs.logger.emit(record);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs() -> WebviewLogs {
        let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder().build();
        WebviewLogs::new(
            opentelemetry::logs::LoggerProvider::logger(&provider, "webview"),
            &Metrics::detached(),
        )
        .unwrap()
    }

    #[test]
    fn a_flood_is_cut_at_the_burst_and_other_windows_keep_their_budget() {
        let logs = logs();
        let entry = WebviewLogEntry {
            level: "info".into(),
            message: "tick".into(),
            ..WebviewLogEntry::default()
        };
        let sent = (0..1000)
            .filter(|_| record(&logs, "main", &entry).unwrap())
            .count();
        // The burst, plus what refilled while the loop ran (well under a second).
        assert!((100..=110).contains(&sent), "{sent}");
        assert!(
            record(&logs, "panel", &entry).unwrap(),
            "another window has its own"
        );
        for i in 0..(MAX_WINDOWS + 10) {
            record(&logs, &format!("w{i}"), &entry).unwrap();
        }
        assert!(logs.windows.lock().len() <= MAX_WINDOWS);
    }

    #[test]
    fn bad_fields_are_named() {
        let logs = logs();
        let bad = |entry: WebviewLogEntry| record(&logs, "main", &entry).unwrap_err().to_string();
        let base = WebviewLogEntry {
            level: "error".into(),
            message: "x".into(),
            ..WebviewLogEntry::default()
        };
        assert!(bad(WebviewLogEntry {
            level: "fatal".into(),
            ..base.clone()
        })
        .contains("entry.level"));
        assert!(bad(WebviewLogEntry {
            message: "m".repeat(MAX_LOG_MESSAGE + 1),
            ..base.clone()
        })
        .contains("entry.message"));
        assert!(bad(WebviewLogEntry {
            exception: Some(WebviewException {
                kind: "TypeError".into(),
                message: "x".into(),
                stacktrace: Some("s".repeat(MAX_STACK + 1)),
            }),
            ..base.clone()
        })
        .contains("entry.exception.stacktrace"));
        assert!(bad(WebviewLogEntry {
            traceparent: Some("00-zz".into()),
            ..base
        })
        .contains("entry.traceparent"));
    }
}
