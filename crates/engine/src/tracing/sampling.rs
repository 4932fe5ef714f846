//! What is recorded and what is exported: two rates over the same trace id.
//!
//! The in-app trace list must not depend on export sampling: at the production profile's
//! 1% it would be nearly empty. So a trace is *recorded* (kept in the trace store) at
//! `local_sample_rate` and *exported* at `sample_rate`, both decided from the trace id as
//! OpenTelemetry's `TraceIdRatioBased` does, so that every span of a trace gets the same
//! answer. A trace recorded but not exported is the SDK's `RecordOnly`: its spans are
//! recording, their `sampled` flag is off, so what propagates downstream (`traceparent`)
//! says "not sampled", and the exporters skip them; [`Exported`] lets a failed span of
//! such a trace through when `export_errors` is on. A child follows a sampled parent; a
//! parent that was not sampled (recorded only, or a remote one) leaves its child to the
//! local rate.

use std::time::Duration;

use opentelemetry::trace::{
    Link, SpanContext, SpanKind, Status, TraceContextExt as _, TraceId, TraceState,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    SamplingDecision, SamplingResult, ShouldSample, Span, SpanData, SpanProcessor,
};
use opentelemetry_sdk::Resource;

/// Records at one rate, exports at another (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct TwoRates {
    /// `tracing.sample_rate`.
    pub(crate) export: f64,
    /// `tracing.local_sample_rate`.
    pub(crate) local: f64,
}

impl ShouldSample for TwoRates {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let parent = parent_context
            .filter(|cx| cx.has_active_span())
            .map(|cx| cx.span().span_context().clone());
        let local = || {
            if admits(self.local, trace_id) {
                SamplingDecision::RecordOnly
            } else {
                SamplingDecision::Drop
            }
        };
        let decision = match &parent {
            Some(p) if p.is_sampled() => SamplingDecision::RecordAndSample,
            Some(_) => local(),
            None if admits(self.export, trace_id) => SamplingDecision::RecordAndSample,
            None => local(),
        };
        SamplingResult {
            decision,
            attributes: Vec::new(),
            trace_state: parent.map_or_else(TraceState::default, |p| p.trace_state().clone()),
        }
    }
}

/// Whether `rate` admits `trace_id`: the low 63 bits of its last 8 bytes below
/// `rate × 2^63`, as `TraceIdRatioBased` decides.
pub(super) fn admits(rate: f64, trace_id: TraceId) -> bool {
    if rate >= 1.0 {
        return true;
    }
    // Truncation is the algorithm: the bound is a whole number below 2^63.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let bound = (rate.max(0.0) * (1u64 << 63) as f64) as u64;
    let bytes = trace_id.to_bytes();
    let mut low = [0u8; 8];
    low.copy_from_slice(&bytes[8..]);
    (u64::from_be_bytes(low) >> 1) < bound
}

/// In front of an exporter's processor: a span recorded only for the trace store is not
/// exported, unless it failed and `errors` is on (then it goes with the sampled flag
/// set, as the trace it belongs to was not).
#[derive(Debug)]
pub(crate) struct Exported<P> {
    pub(crate) inner: P,
    pub(crate) errors: bool,
}

impl<P: SpanProcessor> SpanProcessor for Exported<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        if !span.span_context.is_sampled() {
            if !(self.errors && matches!(span.status, Status::Error { .. })) {
                return;
            }
            let cx = &span.span_context;
            span.span_context = SpanContext::new(
                cx.trace_id(),
                cx.span_id(),
                cx.trace_flags().with_sampled(true),
                cx.is_remote(),
                cx.trace_state().clone(),
            );
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(sampler: &TwoRates, trace_id: TraceId) -> SamplingDecision {
        sampler
            .should_sample(None, trace_id, "render", &SpanKind::Internal, &[], &[])
            .decision
    }

    #[test]
    fn roots_are_exported_at_one_rate_and_recorded_at_the_other() {
        let sampler = TwoRates {
            export: 0.01,
            local: 1.0,
        };
        let (mut exported, mut recorded) = (0, 0);
        for i in 0..10_000u128 {
            // Trace ids spread over the low bytes, as random ones are.
            let id = TraceId::from_bytes(
                i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
                    .to_be_bytes(),
            );
            match decide(&sampler, id) {
                SamplingDecision::RecordAndSample => exported += 1,
                SamplingDecision::RecordOnly => recorded += 1,
                SamplingDecision::Drop => {}
            }
        }
        assert!((50..200).contains(&exported), "{exported} of 10,000 at 1%");
        assert_eq!(exported + recorded, 10_000, "everything is recorded");
        let none = TwoRates {
            export: 0.0,
            local: 0.0,
        };
        assert_eq!(
            decide(&none, TraceId::from_bytes(7u128.to_be_bytes())),
            SamplingDecision::Drop
        );
    }

    #[test]
    fn a_child_follows_a_sampled_parent_and_else_the_local_rate() {
        use opentelemetry::trace::{SpanId, TraceFlags};
        let sampler = TwoRates {
            export: 0.0,
            local: 1.0,
        };
        let parent = |flags| {
            Context::new().with_remote_span_context(SpanContext::new(
                TraceId::from_bytes(42u128.to_be_bytes()),
                SpanId::from_bytes(7u64.to_be_bytes()),
                flags,
                true,
                TraceState::default(),
            ))
        };
        let child = |cx: &Context| {
            sampler
                .should_sample(
                    Some(cx),
                    TraceId::from_bytes(42u128.to_be_bytes()),
                    "c",
                    &SpanKind::Internal,
                    &[],
                    &[],
                )
                .decision
        };
        assert_eq!(
            child(&parent(TraceFlags::SAMPLED)),
            SamplingDecision::RecordAndSample
        );
        assert_eq!(
            child(&parent(TraceFlags::default())),
            SamplingDecision::RecordOnly
        );
        assert!(admits(1.0, TraceId::from_bytes(u128::MAX.to_be_bytes())));
        assert!(!admits(0.0, TraceId::from_bytes(0u128.to_be_bytes())));
    }
}
