//! The in-app log store: the last N records, filterable by level, text and trace.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry::logs::AnyValue;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};
use parking_lot::Mutex;
use serde::Serialize;
use tracing::Level;

use crate::clock::unix_ms;

/// One log record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct LogRecord {
    /// Unix milliseconds.
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub timestamp_ms: i64,
    /// `TRACE`, `DEBUG`, `INFO`, `WARN` or `ERROR`.
    pub level: String,
    /// The event's target (module path by default).
    pub target: String,
    /// The message.
    pub message: String,
    /// Other fields, as strings.
    pub fields: BTreeMap<String, String>,
    /// Trace id of the current span, if one is recording.
    pub trace_id: Option<String>,
    /// Span id of the current span, if one is recording.
    pub span_id: Option<String>,
    /// The `session.id` of the launch it belongs to: this one's, or the one the record
    /// names (a previous session's crash report).
    pub session_id: String,
}

/// What to look for in [`LogStore::query`].
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// At least this severe (`"warn"` keeps WARN and ERROR). Default all.
    pub min_level: Option<Level>,
    /// Message or a field value contains this (case-insensitive).
    pub text: Option<String>,
    /// Only records of this trace.
    pub trace_id: Option<String>,
    /// Only records of this session (`session.id`).
    pub session_id: Option<String>,
    /// At most this many, newest first.
    pub limit: Option<usize>,
}

/// The last log records, bounded. Cheap to clone.
#[derive(Clone)]
pub struct LogStore {
    records: Arc<Mutex<VecDeque<LogRecord>>>,
    capacity: usize,
}

impl LogStore {
    /// An empty store keeping at most `capacity` records (the oldest go first).
    pub fn new(capacity: usize) -> Self {
        Self {
            records: Arc::new(Mutex::new(VecDeque::new())),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn push(&self, record: LogRecord) {
        let mut records = self.records.lock();
        if records.len() >= self.capacity {
            records.pop_front();
        }
        records.push_back(record);
    }

    /// Records matching `query`, newest first.
    pub fn query(&self, query: &LogQuery) -> Vec<LogRecord> {
        let text = query.text.as_ref().map(|t| t.to_lowercase());
        let records = self.records.lock();
        records
            .iter()
            .rev()
            .filter(|r| {
                query
                    .min_level
                    .is_none_or(|min| r.level.parse::<Level>().is_ok_and(|l| l <= min))
            })
            .filter(|r| {
                text.as_ref().is_none_or(|t| {
                    r.message.to_lowercase().contains(t.as_str())
                        || r.fields
                            .values()
                            .any(|v| v.to_lowercase().contains(t.as_str()))
                })
            })
            .filter(|r| {
                query
                    .trace_id
                    .as_ref()
                    .is_none_or(|id| r.trace_id.as_ref() == Some(id))
            })
            .filter(|r| {
                query
                    .session_id
                    .as_ref()
                    .is_none_or(|id| &r.session_id == id)
            })
            .take(query.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }
}

/// A log processor that copies every record into a [`LogStore`].
#[derive(Debug)]
pub(crate) struct StoreProcessor {
    store: LogStore,
    /// This launch's `session.id` (from the resource).
    session: String,
}

impl StoreProcessor {
    pub(crate) fn new(store: LogStore) -> Self {
        Self {
            store,
            session: String::new(),
        }
    }
}

/// The `session.id` of `resource` (empty without one).
pub(crate) fn session_of(resource: &opentelemetry_sdk::Resource) -> String {
    resource
        .get(&opentelemetry::Key::from_static_str("session.id"))
        .map(|v| v.as_str().into_owned())
        .unwrap_or_default()
}

impl std::fmt::Debug for LogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl LogProcessor for StoreProcessor {
    fn emit(&self, data: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        self.store.push(LogRecord::from_sdk(data, &self.session));
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.session = session_of(resource);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

impl LogRecord {
    /// The record the `tracing` bridge produced, in our flat form. Records that came from
    /// the `log` crate get their real target back from the `log.target` field; a record
    /// without a `session.id` attribute is of `session`, this launch's.
    pub(crate) fn from_sdk(data: &SdkLogRecord, session: &str) -> Self {
        let mut fields = BTreeMap::new();
        let mut log_target = None;
        for (key, value) in data.attributes_iter() {
            let value = any_to_string(value);
            match key.as_str() {
                "log.target" => log_target = Some(value),
                "log.module_path" | "log.file" | "log.line" => {}
                other => {
                    fields.insert(other.to_owned(), value);
                }
            }
        }
        let target = match (data.target(), log_target) {
            (Some(t), Some(real)) if t == "log" => real,
            (Some(t), _) => t.to_string(),
            (None, real) => real.unwrap_or_default(),
        };
        let (trace_id, span_id) = match data.trace_context() {
            Some(cx) => (Some(cx.trace_id.to_string()), Some(cx.span_id.to_string())),
            None => (None, None),
        };
        Self {
            timestamp_ms: unix_ms(
                data.timestamp()
                    .or(data.observed_timestamp())
                    .unwrap_or_else(SystemTime::now),
            ),
            level: data.severity_text().unwrap_or("INFO").to_owned(),
            target,
            message: data.body().map(any_to_string).unwrap_or_default(),
            trace_id,
            span_id,
            session_id: fields
                .remove("session.id")
                .unwrap_or_else(|| session.to_owned()),
            fields,
        }
    }
}

fn any_to_string(value: &AnyValue) -> String {
    match value {
        AnyValue::String(s) => s.to_string(),
        AnyValue::Int(i) => i.to_string(),
        AnyValue::Double(d) => d.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(level: &str, message: &str, trace: Option<&str>) -> LogRecord {
        LogRecord {
            session_id: if message == "disk full" { "s0" } else { "s1" }.into(),
            timestamp_ms: 0,
            level: level.into(),
            target: "studio".into(),
            message: message.into(),
            fields: [("codec".to_string(), "h264".to_string())].into(),
            trace_id: trace.map(str::to_owned),
            span_id: None,
        }
    }

    #[test]
    fn bounded_newest_first_and_filtered_by_level_text_and_trace() {
        let store = LogStore::new(3);
        store.push(record("INFO", "rendered frame", None));
        store.push(record("WARN", "slow encode", Some("t1")));
        store.push(record("ERROR", "disk full", None));
        store.push(record("DEBUG", "cache warm", Some("t1")));
        let all = store.query(&LogQuery::default());
        let messages: Vec<&str> = all.iter().map(|r| r.message.as_str()).collect();
        assert_eq!(messages, ["cache warm", "disk full", "slow encode"]);
        let warn = store.query(&LogQuery {
            min_level: Some(Level::WARN),
            ..Default::default()
        });
        let levels: Vec<&str> = warn.iter().map(|r| r.level.as_str()).collect();
        assert_eq!(levels, ["ERROR", "WARN"]);
        let text = store.query(&LogQuery {
            text: Some("DISK".into()),
            ..Default::default()
        });
        assert_eq!(text.len(), 1);
        let by_field = store.query(&LogQuery {
            text: Some("H264".into()),
            limit: Some(2),
            ..Default::default()
        });
        assert_eq!(by_field.len(), 2, "fields are searched too; limit applies");
        let of_trace = store.query(&LogQuery {
            trace_id: Some("t1".into()),
            ..Default::default()
        });
        assert_eq!(of_trace.len(), 2);
        let of_session = store.query(&LogQuery {
            session_id: Some("s0".into()),
            ..Default::default()
        });
        let messages: Vec<&str> = of_session.iter().map(|r| r.message.as_str()).collect();
        assert_eq!(messages, ["disk full"]);
    }
}
