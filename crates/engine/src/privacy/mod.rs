//! The user's say over what leaves their machine: consent (may anything be sent at all?)
//! and scrubbing (what is taken out of what is sent).
//!
//! - Consent ([`Consent`](crate::config::Consent)): OTLP exporters, webhooks, PagerDuty
//!   and e-mail send only while it is granted; what they would have sent is dropped and
//!   counted with `reason="consent"`. The in-app panel, `/metrics` and the file and
//!   console exporters work whatever it is. The user's choice is kept under
//!   `storage.dir`.
//! - Scrubbing ([`PrivacyConfig`](crate::config::PrivacyConfig)): every span and log
//!   record on its way to an OTLP or file exporter, and every metric label, loses the
//!   home directory (`~`), e-mail addresses (`<email>`) and the keys the app names
//!   (dropped or hashed); then the app's [`BeforeSend`] hook may change or drop it. The
//!   in-app stores keep what was recorded.

mod consent;
mod scrub;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::InstrumentationScope;
use opentelemetry::Key;
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::trace::SpanData;
use parking_lot::RwLock;

pub(crate) use consent::ConsentGate;
pub(crate) use scrub::Scrubber;

use crate::config::TelemetryConfig;

/// Why a privacy setting could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivacyError {
    /// The consent is in force for this launch but could not be kept for the next.
    #[error("cannot keep the consent in {path}: {source}")]
    Persist {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A record about to leave the process, as a [`BeforeSend`] hook sees it (already
/// scrubbed by the configured rules).
#[derive(Debug)]
#[non_exhaustive]
pub enum Outgoing<'a> {
    /// A finished span.
    Span(&'a mut SpanData),
    /// A log record.
    Log(&'a mut OutgoingLog),
}

/// The parts of a log record a [`BeforeSend`] hook may change.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OutgoingLog {
    /// Where it was logged from (the `tracing` target), as recorded.
    pub target: Option<String>,
    /// Its severity, as recorded.
    pub severity: Option<Severity>,
    /// The message.
    pub body: Option<AnyValue>,
    /// Its attributes.
    pub attributes: Vec<(Key, AnyValue)>,
}

/// The app's last look at every span and log record before it leaves the process:
/// change it in place, return `false` to drop it. A hook that panics drops the record.
///
/// # Examples
/// ```
/// use telemetry_engine::privacy::{BeforeSend, Outgoing};
/// let hook: BeforeSend = std::sync::Arc::new(|record: Outgoing<'_>| match record {
///     Outgoing::Span(span) => span.name != "heartbeat",
///     Outgoing::Log(log) => {
///         log.attributes.retain(|(key, _)| key.as_str() != "project.name");
///         true
///     }
///     _ => true,
/// });
/// # let _ = hook;
/// ```
pub type BeforeSend = Arc<dyn Fn(Outgoing<'_>) -> bool + Send + Sync>;

/// Consent and scrubbing, shared by every exporter and sender of one engine.
#[derive(Clone)]
pub(crate) struct Privacy {
    pub(crate) consent: ConsentGate,
    scrubber: Arc<Scrubber>,
    hook: Arc<RwLock<Option<BeforeSend>>>,
    /// Makes the records that replace scrubbed ones (the SDK offers no other way).
    logger: SdkLogger,
}

impl std::fmt::Debug for Privacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Privacy")
            .field("consent", &self.consent.get())
            .field("scrubber", &self.scrubber)
            .finish_non_exhaustive()
    }
}

impl Privacy {
    /// The consent and the scrubbing rules of `config`.
    pub(crate) fn new(config: &TelemetryConfig) -> Self {
        Self {
            consent: ConsentGate::new(config),
            scrubber: Arc::new(Scrubber::new(&config.privacy)),
            hook: Arc::default(),
            logger: SdkLoggerProvider::builder()
                .build()
                .logger("telemetry-privacy"),
        }
    }

    /// Installs (or with `None` removes) the app's hook.
    pub(crate) fn set_before_send(&self, hook: Option<BeforeSend>) {
        *self.hook.write() = hook;
    }

    /// Scrubs a JSON document in place (a diagnostics bundle): object keys named in
    /// `drop_attributes` go, those in `hash_attributes` are hashed, every other string is
    /// scrubbed.
    pub(crate) fn scrub_json(&self, value: &mut serde_json::Value) {
        self.scrubber.json(value);
    }

    /// A metric label's value scrubbed, or `None` when it stays.
    pub(crate) fn label(&self, key: &str, value: &str) -> Option<String> {
        self.scrubber.label(key, value)
    }

    /// The spans of `batch` scrubbed, without those the hook dropped.
    pub(crate) fn spans(&self, mut batch: Vec<SpanData>) -> Vec<SpanData> {
        let hook = self.hook.read().clone();
        if !self.scrubber.is_active() && hook.is_none() {
            return batch;
        }
        batch.retain_mut(|span| {
            self.scrubber.span(span);
            hook.as_ref()
                .is_none_or(|hook| ask(hook, Outgoing::Span(span)))
        });
        batch
    }

    /// The records of `batch` scrubbed (new records: the SDK's cannot lose an
    /// attribute), without those the hook dropped; `None` when nothing would change.
    pub(crate) fn logs<'a>(
        &self,
        batch: impl Iterator<Item = (&'a SdkLogRecord, &'a InstrumentationScope)>,
    ) -> Option<Vec<(SdkLogRecord, InstrumentationScope)>> {
        let hook = self.hook.read().clone();
        if !self.scrubber.is_active() && hook.is_none() {
            return None;
        }
        Some(
            batch
                .filter_map(|(record, scope)| {
                    let mut log = self.scrub_log(record);
                    let keep = hook
                        .as_ref()
                        .is_none_or(|hook| ask(hook, Outgoing::Log(&mut log)));
                    keep.then(|| (self.rebuild(record, log), scope.clone()))
                })
                .collect(),
        )
    }

    fn scrub_log(&self, record: &SdkLogRecord) -> OutgoingLog {
        OutgoingLog {
            target: record.target().map(ToString::to_string),
            severity: record.severity_number(),
            body: record.body().and_then(|b| self.scrubber.any("", b)),
            attributes: record
                .attributes_iter()
                .filter_map(|(k, v)| Some((k.clone(), self.scrubber.any(k.as_str(), v)?)))
                .collect(),
        }
    }

    /// A record like `original` with the body and attributes of `log`.
    fn rebuild(&self, original: &SdkLogRecord, log: OutgoingLog) -> SdkLogRecord {
        let mut record = self.logger.create_log_record();
        if let Some(name) = original.event_name() {
            record.set_event_name(name);
        }
        if let Some(target) = original.target() {
            record.set_target(target.clone());
        }
        if let Some(at) = original.timestamp() {
            record.set_timestamp(at);
        }
        if let Some(at) = original.observed_timestamp() {
            record.set_observed_timestamp(at);
        }
        if let Some(text) = original.severity_text() {
            record.set_severity_text(text);
        }
        if let Some(number) = original.severity_number() {
            record.set_severity_number(number);
        }
        if let Some(body) = log.body {
            record.set_body(body);
        }
        record.add_attributes(log.attributes);
        if let Some(cx) = original.trace_context() {
            record.set_trace_context(cx.trace_id, cx.span_id, cx.trace_flags);
        }
        record
    }
}

/// The hook's verdict on `record`; a panic drops it.
fn ask(hook: &BeforeSend, record: Outgoing<'_>) -> bool {
    std::panic::catch_unwind(AssertUnwindSafe(|| hook(record))).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::KeyValue;

    fn span(name: &'static str, attributes: Vec<KeyValue>) -> SpanData {
        SpanData {
            span_context: opentelemetry::trace::SpanContext::empty_context(),
            parent_span_id: opentelemetry::trace::SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: opentelemetry::trace::SpanKind::Internal,
            name: name.into(),
            start_time: std::time::SystemTime::UNIX_EPOCH,
            end_time: std::time::SystemTime::UNIX_EPOCH,
            attributes,
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: opentelemetry::trace::Status::Unset,
            instrumentation_scope: InstrumentationScope::default(),
        }
    }

    #[test]
    fn the_hook_sees_scrubbed_spans_and_may_drop_them_and_a_panic_drops() {
        let privacy = Privacy::new(&TelemetryConfig::default());
        privacy.set_before_send(Some(Arc::new(|record| match record {
            Outgoing::Span(span) if span.name == "boom" => panic!("the app's hook"),
            Outgoing::Span(span) => {
                span.attributes.push(KeyValue::new("seen", true));
                span.name != "heartbeat"
            }
            _ => true,
        })));
        let sent = privacy.spans(vec![
            span("render", vec![KeyValue::new("by", "ann@example.com")]),
            span("heartbeat", vec![]),
            span("boom", vec![]),
        ]);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].attributes[0].value.as_str(), "<email>");
        assert_eq!(sent[0].attributes[1], KeyValue::new("seen", true));
    }

    #[test]
    fn log_records_are_rebuilt_without_the_dropped_keys() {
        let mut config = TelemetryConfig::default();
        config.privacy.drop_attributes = vec!["secret".into()];
        let privacy = Privacy::new(&config);
        let mut record = privacy.logger.create_log_record();
        record.set_body("mail me at ann@example.com".into());
        record.add_attribute("secret", "x");
        record.add_attribute("kept", 1);
        record.set_severity_number(Severity::Warn);
        let scope = InstrumentationScope::default();
        let out = privacy.logs([(&record, &scope)].into_iter()).unwrap();
        let (clean, _) = &out[0];
        assert_eq!(clean.body(), Some(&AnyValue::from("mail me at <email>")));
        let keys: Vec<&str> = clean.attributes_iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["kept"]);
        assert_eq!(clean.severity_number(), Some(Severity::Warn));

        let mut off = TelemetryConfig::default();
        off.privacy.redact_home_dir = false;
        off.privacy.redact_emails = false;
        assert!(Privacy::new(&off)
            .logs([(&record, &scope)].into_iter())
            .is_none());
    }
}
