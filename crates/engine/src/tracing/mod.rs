//! Distributed tracing: the spec's span API on opentelemetry_sdk, sampling, span limits,
//! the in-app trace store and span exporters.
//!
//! Sampling (`sampling.rs`): traces are recorded for the in-app store at
//! `local_sample_rate` and exported at `sample_rate`, decided from the trace id; children
//! follow a sampled parent; failed spans are exported whatever the rate
//! (`export_errors`). `max_attributes_per_span` and
//! `max_events_per_span` are the SDK's span limits; what they drop is counted on the span.
//! Exporters run behind the SDK's batch span processor configured from `batch_export`.
//!
//! Exporters: `Console` (a tree per trace), `Jaeger` and `Otlp` (OTLP over HTTP/protobuf
//! or gRPC, gzip optional; the spec's legacy Jaeger endpoint is mapped to OTLP/HTTP with a
//! Degraded status saying so). Each reports its real results in the export status, and
//! spans lost are counted in `telemetry_spans_dropped_total{exporter,reason}`: `reason` is
//! `export_failed` or `queue_full` (see [`crate::export::queue`]). `File`
//! writes one OTLP JSON request per batch per line, rotated by size.

mod console;
mod file;
mod ids;
mod ipc;
mod load;
mod otlp;
mod sampling;
mod span;
mod store;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider, ShouldSample,
    Span, SpanData, SpanExporter, SpanLimits, SpanProcessor, TracerProviderBuilder,
};
use opentelemetry_sdk::Resource;

pub(crate) use ipc::ClientInvoke;
pub use ipc::InvokeSpan;
pub use load::TraceStoreLoad;
pub use span::{remote_context, AttributeValue, SpanBuilder, SpanHandle, Tracer};
pub use store::{
    SpanRecord, TraceFeed, TraceQuery, TraceRecord, TraceStore, TraceStoreLimits,
    TraceStoreProcessor, FEED_INTERVAL,
};

use crate::config::{
    shown_endpoint, BatchExportConfig, TelemetryConfig, TracingConfig, TracingExporter,
};
use crate::export::otlp::{span_exporter, ExportContext, OtlpTarget, StatusExporter};
use crate::export::queue::{Admit, Queue, Release};
use console::ConsoleSpanExporter;

/// The tracer provider with its processors, the tracer and the trace store.
pub(crate) struct TracingPipeline {
    provider: SdkTracerProvider,
    tracer: Tracer,
    store: TraceStore,
}

impl TracingPipeline {
    pub(crate) fn new(config: &TelemetryConfig, resource: Resource, cx: &ExportContext) -> Self {
        let t = &config.tracing;
        let active = config.enabled && t.enabled;
        let sampler: Box<dyn ShouldSample> = if active {
            Box::new(sampling::TwoRates {
                export: t.sample_rate,
                local: t.local_sample_rate,
            })
        } else {
            Box::new(Sampler::AlwaysOff)
        };
        let limits = SpanLimits {
            max_attributes_per_span: t.max_attributes_per_span,
            max_events_per_span: t.max_events_per_span,
            ..SpanLimits::default()
        };
        let store = TraceStore::new(TraceStoreLimits {
            max_traces_per_second: t.store_max_traces_per_second,
            ..TraceStoreLimits::default()
        });
        let mut builder = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_sampler(sampler)
            .with_id_generator(ids::PresetIds::default())
            .with_span_limits(limits)
            .with_span_processor(store.processor());
        if active && (t.debug_mode || t.log_spans) {
            builder = builder.with_span_processor(LogSpans {
                attributes: t.debug_mode,
            });
        }
        if active {
            builder = with_exporters(builder, t, cx);
        }
        let provider = builder.build();
        let export_rate = if active { t.sample_rate } else { 0.0 };
        let tracer = Tracer::new(provider.tracer("tauri-plugin-opentelemetry"), export_rate);
        Self {
            provider,
            tracer,
            store,
        }
    }

    pub(crate) fn tracer(&self) -> &Tracer {
        &self.tracer
    }

    pub(crate) fn store(&self) -> &TraceStore {
        &self.store
    }

    /// The SDK tracer, for the `tracing` bridge.
    pub(crate) fn sdk_tracer(&self) -> SdkTracer {
        self.tracer.sdk().clone()
    }

    pub(crate) fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }
}

/// `builder` with a batch processor for each of the configured span exporters; one that
/// cannot be built is marked Failed with its field path.
fn with_exporters(
    mut builder: TracerProviderBuilder,
    t: &TracingConfig,
    cx: &ExportContext,
) -> TracerProviderBuilder {
    let status = &cx.status;
    for (i, exporter) in t.exporters.iter().enumerate() {
        let target = match exporter {
            TracingExporter::Console {} => {
                let exporter = ConsoleSpanExporter::new(status.clone());
                builder = builder.with_span_processor(batch(
                    exporter,
                    ConsoleSpanExporter::NAME,
                    (&t.batch_export, t.export_errors),
                    cx,
                ));
                continue;
            }
            TracingExporter::File(file) => {
                let name = format!("traces:file:{}", file.path);
                let exporter =
                    StatusExporter::named(file::FileSpanExporter::new(file), name.clone(), cx);
                builder = builder.with_span_processor(batch(
                    exporter,
                    &name,
                    (&t.batch_export, t.export_errors),
                    cx,
                ));
                continue;
            }
            TracingExporter::Jaeger {
                endpoint,
                compression,
            } => otlp::jaeger_target(endpoint, *compression),
            TracingExporter::Otlp(config) => OtlpTarget {
                name: format!("traces:otlp:{}", shown_endpoint(&config.endpoint)),
                config: config.clone(),
                note: None,
            },
        };
        match span_exporter(&target, cx) {
            Ok(exporter) => {
                builder = builder.with_span_processor(batch(
                    exporter,
                    &target.name,
                    (&t.batch_export, t.export_errors),
                    cx,
                ));
            }
            Err(e) => status.failure(&target.name, format!("tracing.exporters[{i}]: {e}")),
        }
    }
    builder
}

/// A batch span processor for exporter `name`, configured from `batch_export`, with a
/// bounded queue: spans beyond it are dropped and counted, never buffered without limit.
/// Spans recorded only for the trace store stay out (failed ones too unless `errors`).
fn batch(
    exporter: impl SpanExporter + 'static,
    name: &str,
    (b, errors): (&BatchExportConfig, bool),
    cx: &ExportContext,
) -> sampling::Exported<Admit<BatchSpanProcessor>> {
    let queue = Queue::new(name, b, &cx.dropped);
    let config = BatchConfigBuilder::default()
        .with_max_queue_size(queue.capacity())
        .with_max_export_batch_size(b.max_batch_size)
        .with_scheduled_delay(b.export_interval)
        .build();
    let processor = BatchSpanProcessor::builder(Release::new(exporter, queue.clone()))
        .with_batch_config(config)
        .build();
    sampling::Exported {
        inner: Admit::new(processor, queue),
        errors,
    }
}

/// Logs finished spans (`log_spans`), with their attributes in `debug_mode`.
#[derive(Debug)]
struct LogSpans {
    attributes: bool,
}

impl SpanProcessor for LogSpans {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let ms = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0;
        if self.attributes {
            let attrs: Vec<String> = span
                .attributes
                .iter()
                .map(|kv| format!("{}={}", kv.key, kv.value))
                .collect();
            ::tracing::info!(
                target: "telemetry::spans",
                trace_id = %span.span_context.trace_id(),
                span_id = %span.span_context.span_id(),
                duration_ms = ms,
                attributes = %attrs.join(", "),
                "span {} ended",
                span.name
            );
        } else {
            ::tracing::info!(target: "telemetry::spans", duration_ms = ms, "span {} ended", span.name);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// The composite of `formats` for OpenTelemetry's global propagator; `None` for none.
pub(crate) fn propagator(
    formats: &[crate::config::Propagator],
) -> Option<opentelemetry::propagation::TextMapCompositePropagator> {
    use crate::config::Propagator;
    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
    if formats.is_empty() {
        return None;
    }
    let parts: Vec<Box<dyn TextMapPropagator + Send + Sync>> = formats
        .iter()
        .map(|f| -> Box<dyn TextMapPropagator + Send + Sync> {
            match f {
                Propagator::TraceContext => Box::new(TraceContextPropagator::new()),
                Propagator::Baggage => Box::new(BaggagePropagator::new()),
            }
        })
        .collect();
    Some(opentelemetry::propagation::TextMapCompositePropagator::new(
        parts,
    ))
}
