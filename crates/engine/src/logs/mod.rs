//! Logs: the `tracing` and `log` crates bridged into OpenTelemetry, kept in a bounded
//! in-app store and exported over OTLP and to an Elastic Common Schema file.
//!
//! [`TelemetryManager::tracing_layer`](crate::TelemetryManager::tracing_layer) is one
//! `tracing_subscriber` layer that does both halves of the bridge: `tracing` spans
//! (`#[instrument]`, `info_span!`) become OpenTelemetry spans of the engine's tracer
//! (children of the [`Tracer`](crate::tracing::Tracer) span that is current, and parents
//! of the spans started inside them), and events (`info!`, and `log::warn!` once the
//! subscriber is installed with `tracing-log`) become OpenTelemetry log records carrying
//! the trace and span id of the span that was current. Records go through the SDK's
//! logger provider to the [`LogStore`] and, behind batch processors with bounded queues,
//! to the configured exporters; `logs.level` filters both spans and events.

mod ecs;
#[cfg(feature = "minidumps")]
pub(crate) mod native;
pub(crate) mod panics;
mod store;

use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::{
    BatchConfigBuilder, BatchLogProcessor, LogExporter, SdkLoggerProvider,
};
use opentelemetry_sdk::trace::SdkTracer;
use opentelemetry_sdk::Resource;
use tracing::Subscriber;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

#[cfg(feature = "minidumps")]
pub use native::{crash_monitor, MAX_DUMPS, MONITOR_ENV};
pub use panics::CrashReport;

/// Without the `minidumps` feature there is no crash monitor: this does nothing, and a
/// native crash is reported as "the session ended without a clean exit".
///
/// # Examples
/// ```
/// telemetry_engine::logs::crash_monitor();
/// ```
#[cfg(not(feature = "minidumps"))]
pub fn crash_monitor() {}
pub use store::{LogQuery, LogRecord, LogStore};

use crate::config::{shown_endpoint, BatchExportConfig, LogsExporter, TelemetryConfig};
use crate::export::otlp::{log_exporter, ExportContext, OtlpTarget, StatusExporter};
use crate::export::queue::{Admit, Queue, Release};
use ecs::EcsFileExporter;
use store::StoreProcessor;

/// Crates whose own spans and events stay at `warn` unless `logs.level` names them: the
/// HTTP and gRPC stacks the exporters run on (their debug output would be exported by
/// the exporters themselves).
const QUIET_TARGETS: &str = "h2=warn,hyper=warn,hyper_util=warn,tonic=warn,tower=warn,reqwest=warn";

/// The logger provider with the in-app store and the exporters, and the level filter.
pub(crate) struct LogsPipeline {
    provider: SdkLoggerProvider,
    store: LogStore,
    filter: Targets,
}

impl LogsPipeline {
    pub(crate) fn new(config: &TelemetryConfig, resource: Resource, cx: &ExportContext) -> Self {
        let l = &config.logs;
        let active = config.enabled && l.enabled;
        let store = LogStore::new(l.store_capacity);
        let mut builder = SdkLoggerProvider::builder()
            .with_resource(resource)
            .with_log_processor(StoreProcessor::new(store.clone()));
        if active {
            for (i, exporter) in l.exporters.iter().enumerate() {
                match exporter {
                    LogsExporter::File(file) => {
                        let name = format!("logs:file:{}", file.path);
                        let exporter =
                            StatusExporter::named(EcsFileExporter::new(file), name.clone(), cx);
                        builder =
                            builder.with_log_processor(batch(exporter, &name, &l.batch_export, cx));
                    }
                    LogsExporter::Otlp(otlp) => {
                        let target = OtlpTarget {
                            name: format!("logs:otlp:{}", shown_endpoint(&otlp.endpoint)),
                            config: otlp.clone(),
                            note: None,
                        };
                        match log_exporter(&target, cx) {
                            Ok(exporter) => {
                                builder = builder.with_log_processor(batch(
                                    exporter,
                                    &target.name,
                                    &l.batch_export,
                                    cx,
                                ));
                            }
                            Err(e) => cx
                                .status
                                .failure(&target.name, format!("logs.exporters[{i}]: {e}")),
                        }
                    }
                }
            }
        }
        let filter = if active {
            // Validation has parsed `level` already; a failure here means "nothing".
            format!("{QUIET_TARGETS},{}", l.level)
                .parse()
                .unwrap_or_default()
        } else {
            Targets::new()
        };
        Self {
            provider: builder.build(),
            store,
            filter,
        }
    }

    pub(crate) fn store(&self) -> &LogStore {
        &self.store
    }

    pub(crate) fn provider(&self) -> &SdkLoggerProvider {
        &self.provider
    }

    /// The layer bridging `tracing` into spans of `tracer` and records of this pipeline.
    pub(crate) fn layer<S>(&self, tracer: SdkTracer) -> impl Layer<S> + Send + Sync + 'static
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let spans = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_tracked_inactivity(false);
        let events = OpenTelemetryTracingBridge::new(&self.provider);
        spans.and_then(events).with_filter(self.filter.clone())
    }
}

/// A batch log processor for exporter `name`, configured from `batch_export`, with a
/// bounded queue: records beyond it are dropped and counted, never buffered without limit.
fn batch(
    exporter: impl LogExporter + 'static,
    name: &str,
    b: &BatchExportConfig,
    cx: &ExportContext,
) -> Admit<BatchLogProcessor> {
    let queue = Queue::new(name, b, &cx.dropped);
    let config = BatchConfigBuilder::default()
        .with_max_queue_size(queue.capacity())
        .with_max_export_batch_size(b.max_batch_size)
        .with_scheduled_delay(b.export_interval)
        .build();
    let processor = BatchLogProcessor::builder(Release::new(exporter, queue.clone()))
        .with_batch_config(config)
        .build();
    Admit::new(processor, queue)
}
