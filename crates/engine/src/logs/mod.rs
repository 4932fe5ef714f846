//! Logs: records from the `tracing` crate (and `log`, through `tracing-log`) with the
//! current OpenTelemetry trace and span ids, kept in a bounded in-app store.
//!
//! Add [`TelemetryManager::log_layer`](crate::TelemetryManager::log_layer) to your
//! `tracing` subscriber; every event becomes a [`LogRecord`], correlated with the span
//! that was current when it was emitted. Status: the in-app store works; export of logs
//! (OTLP, an ECS JSON file) is not built yet.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Debug;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::TraceContextExt;
use parking_lot::Mutex;
use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::Layer;

use crate::export::unix_ms;

/// One log record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRecord {
    /// Unix milliseconds.
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

    fn push(&self, record: LogRecord) {
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
            .take(query.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    /// The `tracing` layer that feeds this store.
    pub fn layer(&self) -> LogLayer {
        LogLayer {
            store: self.clone(),
        }
    }
}

/// A `tracing_subscriber` layer that turns events into [`LogRecord`]s in a [`LogStore`].
pub struct LogLayer {
    store: LogStore,
}

#[derive(Default)]
struct Fields {
    message: String,
    other: BTreeMap<String, String>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.other
                .insert(field.name().to_owned(), format!("{value:?}"));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.other.insert(field.name().to_owned(), value.to_owned());
        }
    }
}

impl<S: Subscriber> Layer<S> for LogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let cx = opentelemetry::Context::current();
        let span = cx.span();
        let sc = span.span_context();
        let (trace_id, span_id) = if sc.is_valid() {
            (
                Some(sc.trace_id().to_string()),
                Some(sc.span_id().to_string()),
            )
        } else {
            (None, None)
        };
        let meta = event.metadata();
        self.store.push(LogRecord {
            timestamp_ms: unix_ms(SystemTime::now()),
            level: meta.level().to_string(),
            target: meta.target().to_owned(),
            message: fields.message,
            fields: fields.other,
            trace_id,
            span_id,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt as _;

    #[test]
    fn events_become_records_with_level_fields_and_bounds() {
        let store = LogStore::new(3);
        let subscriber = tracing_subscriber::registry().with(store.layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(frame = 1, "rendered frame");
            tracing::warn!(codec = "h264", "slow encode");
            tracing::error!("disk full");
            tracing::debug!("cache warm");
        });
        let all = store.query(&LogQuery::default());
        assert_eq!(all.len(), 3, "capacity 3 keeps the newest three");
        assert_eq!(all[0].message, "cache warm");
        let warn = store.query(&LogQuery {
            min_level: Some(Level::WARN),
            ..Default::default()
        });
        let levels: Vec<&str> = warn.iter().map(|r| r.level.as_str()).collect();
        assert_eq!(levels, ["ERROR", "WARN"]);
        assert_eq!(warn[1].fields["codec"], "h264");
        let text = store.query(&LogQuery {
            text: Some("H264".into()),
            ..Default::default()
        });
        assert_eq!(text.len(), 1);
        assert!(
            all.iter().all(|r| r.trace_id.is_none()),
            "no span was current"
        );
    }
}
