//! Span ids: random, as the SDK makes them, except for a span whose ids were chosen
//! elsewhere. The webview measures an invoke and names its span (the id is in the
//! `traceparent` the backend saw) before the engine records it; [`with_ids`] makes the
//! next span started on this thread take those ids.

use std::cell::Cell;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

thread_local! {
    static TRACE_ID: Cell<Option<TraceId>> = const { Cell::new(None) };
    static SPAN_ID: Cell<Option<SpanId>> = const { Cell::new(None) };
}

/// The provider's id generator: the ids [`with_ids`] set, once, else random ones.
#[derive(Debug, Default)]
pub(crate) struct PresetIds(RandomIdGenerator);

impl IdGenerator for PresetIds {
    fn new_trace_id(&self) -> TraceId {
        TRACE_ID.take().unwrap_or_else(|| self.0.new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        SPAN_ID.take().unwrap_or_else(|| self.0.new_span_id())
    }
}

/// Runs `f` so that the first span it starts on this thread gets `span_id` (and
/// `trace_id`, when it has no parent to take one from).
pub(crate) fn with_ids<T>(trace_id: TraceId, span_id: SpanId, f: impl FnOnce() -> T) -> T {
    TRACE_ID.set(Some(trace_id));
    SPAN_ID.set(Some(span_id));
    let out = f();
    TRACE_ID.set(None);
    SPAN_ID.set(None);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preset_ids_are_taken_once_then_random_again() {
        let ids = PresetIds::default();
        let (t, s) = (TraceId::from(7_u128), SpanId::from(9_u64));
        with_ids(t, s, || {
            assert_eq!(ids.new_span_id(), s);
            assert_eq!(ids.new_trace_id(), t);
            assert_ne!(ids.new_span_id(), s);
        });
        // A span with a parent takes no trace id: what was left is cleared.
        with_ids(t, s, || ids.new_span_id());
        assert_ne!(ids.new_trace_id(), t);
    }
}
