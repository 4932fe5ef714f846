//! What the benchmarks set up: our pipeline and its raw-SDK peers, built the same way for
//! the criterion benches and the paired ratios. Each bench binary uses part of it.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use opentelemetry::trace::{Span as _, Tracer as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider, SpanData, SpanProcessor};
use telemetry_engine::config::TelemetryConfig;
use telemetry_engine::tracing::{TraceStore, TraceStoreLimits, Tracer};
use telemetry_engine::TelemetryManager;

/// Our pipeline without collectors, with `max_series` series per metric.
pub(crate) fn ours(max_series: usize) -> Arc<TelemetryManager> {
    ours_with(max_series, |_| {})
}

/// As [`ours`], with `adjust` applied to the configuration.
pub(crate) fn ours_with(
    max_series: usize,
    adjust: impl FnOnce(&mut TelemetryConfig),
) -> Arc<TelemetryManager> {
    let mut config = TelemetryConfig::default();
    adjust(&mut config);
    config.metrics.system_collectors = false;
    config.metrics.max_series_per_metric = max_series;
    config.metrics.max_metrics = 100_000;
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(TelemetryManager::new(config))
        .unwrap()
}

/// Our pipeline sampling traces at `sample_rate`.
pub(crate) fn ours_traced(sample_rate: f64) -> Arc<TelemetryManager> {
    ours_with(2000, |c| {
        c.tracing.sample_rate = sample_rate;
        c.tracing.local_sample_rate = sample_rate;
    })
}

/// As [`ours_traced`], started as in an app, on a runtime of one worker that must live as
/// long as it: the engine's event bus takes the trace store's inbox in, off the thread that
/// ends the spans.
/// `store_max_traces_per_second` as `tracing.store_max_traces_per_second` says.
pub(crate) fn ours_traced_running(
    sample_rate: f64,
    store_max_traces_per_second: u32,
) -> (Arc<TelemetryManager>, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let telemetry = ours_with(2000, |c| {
        c.tracing.sample_rate = sample_rate;
        c.tracing.local_sample_rate = sample_rate;
        c.tracing.store_max_traces_per_second = store_max_traces_per_second;
        c.metrics.exporters.clear();
    });
    runtime.block_on(telemetry.initialize()).unwrap();
    (telemetry, runtime)
}

/// Ours exporting nothing and recording every trace for the panel (the default
/// `local_sample_rate`): what a span costs that the panel keeps but no exporter sends.
/// The store keeps every trace (as below `store_max_traces_per_second` a second).
pub(crate) fn ours_recorded_only() -> Arc<TelemetryManager> {
    ours_with(2000, |c| {
        c.tracing.sample_rate = 0.0;
        c.tracing.store_max_traces_per_second = EVERY_TRACE;
    })
}

/// A `store_max_traces_per_second` no bench loop reaches: the trace store keeps every
/// trace, judging the load as it does below its limit.
pub(crate) const EVERY_TRACE: u32 = u32::MAX;

/// The raw SDK meter provider with the reader we use (the SDK's manual reader).
pub(crate) fn raw_sdk() -> SdkMeterProvider {
    SdkMeterProvider::builder()
        .with_reader(opentelemetry_sdk::metrics::ManualReader::builder().build())
        .build()
}

/// What a raw SDK tracer provider in the span benches hands its finished spans to.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Processor {
    /// No processor: the SDK skips building the span's data.
    None,
    /// A processor that drops every span: the SDK's whole work, nothing kept.
    Noop,
    /// Our in-app trace store, keeping every trace.
    Store,
}

/// Drops every finished span.
#[derive(Debug)]
struct NoopProcessor;

impl SpanProcessor for NoopProcessor {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}
    fn on_end(&self, _span: SpanData) {}
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// The raw SDK tracer provider with our sampler shape and `processor`.
pub(crate) fn raw_traced(sampler: Sampler, processor: Processor) -> SdkTracerProvider {
    let builder =
        SdkTracerProvider::builder().with_sampler(Sampler::ParentBased(Box::new(sampler)));
    match processor {
        Processor::None => builder,
        Processor::Noop => builder.with_span_processor(NoopProcessor),
        Processor::Store => builder.with_span_processor(
            TraceStore::new(TraceStoreLimits {
                max_traces_per_second: EVERY_TRACE,
                ..TraceStoreLimits::default()
            })
            .processor(),
        ),
    }
    .build()
}

/// The three attributes of the labelled benches.
pub(crate) fn attrs3() -> [KeyValue; 3] {
    [
        KeyValue::new("method", "POST"),
        KeyValue::new("endpoint", "/render"),
        KeyValue::new("status", "success"),
    ]
}

/// One span with three attributes through our `span_builder`, started and ended.
pub(crate) fn ours_span(tracer: &Tracer) {
    tracer
        .span_builder("render")
        .with_attribute("codec", "h264")
        .with_attribute("frame", 42_i64)
        .with_attribute("keyframe", true)
        .start(tracer)
        .end()
}

/// The same span through the raw SDK's span builder.
pub(crate) fn sdk_span(tracer: &SdkTracer) {
    tracer
        .span_builder("render")
        .with_attributes([
            KeyValue::new("codec", "h264"),
            KeyValue::new("frame", 42_i64),
            KeyValue::new("keyframe", true),
        ])
        .start(tracer)
        .end()
}
