//! The bounded queue of a batch processor, counted on our side so that what it refuses is
//! counted too.
//!
//! The SDK's batch span and log processors drop an item when their queue is full and keep
//! the count private (a log line at shutdown). [`Queue`] mirrors the occupancy: an item is
//! admitted by [`Admit`] before it enters the SDK's queue and released by [`Release`] when
//! the worker hands it to the exporter. The mirror is never below the SDK's real
//! occupancy, so the SDK's queue never overflows: every item refused for want of room is
//! refused here, and counted in `telemetry_{spans,logs}_dropped_total{reason="queue_full"}`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::config::BatchExportConfig;
use crate::metrics::{BoundCounter, Counter};

/// The occupancy of one batch processor's queue.
#[derive(Debug)]
pub(crate) struct Queue {
    held: AtomicUsize,
    capacity: usize,
    refused: BoundCounter,
}

impl Queue {
    /// The queue of the processor for exporter `name`, sized from `batch`; refusals are
    /// counted on `dropped`.
    pub(crate) fn new(name: &str, batch: &BatchExportConfig, dropped: &Counter) -> Arc<Self> {
        let refused = dropped.bind_checked(&[
            KeyValue::new("exporter", name.to_owned()),
            KeyValue::new("reason", "queue_full"),
        ]);
        // The series exists from the start, at 0, so a rate on it has data at once.
        refused.add(0);
        Arc::new(Self {
            held: AtomicUsize::new(0),
            // Never less than one batch.
            capacity: batch.max_batch_size.max(batch.max_queue_size),
            refused,
        })
    }

    /// The size to give the SDK's queue: this queue's.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Takes one place, or counts a refusal when the queue is full.
    fn admit(&self) -> bool {
        let taken = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .is_ok();
        if !taken {
            self.refused.add(1);
        }
        taken
    }

    /// Gives back the places of `n` items the worker took out.
    fn release(&self, n: usize) {
        let _ = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                Some(held.saturating_sub(n))
            });
    }
}

/// A batch processor whose items take a place in a [`Queue`] first.
#[derive(Debug)]
pub(crate) struct Admit<P> {
    inner: P,
    queue: Arc<Queue>,
}

impl<P> Admit<P> {
    pub(crate) fn new(inner: P, queue: Arc<Queue>) -> Self {
        Self { inner, queue }
    }
}

impl<P: SpanProcessor> SpanProcessor for Admit<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if self.queue.admit() {
            self.inner.on_end(span);
        }
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

impl<P: LogProcessor> LogProcessor for Admit<P> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        if self.queue.admit() {
            self.inner.emit(record, scope);
        }
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

/// An exporter that gives back the queue places of each batch it is handed.
#[derive(Debug)]
pub(crate) struct Release<E> {
    inner: E,
    queue: Arc<Queue>,
}

impl<E> Release<E> {
    pub(crate) fn new(inner: E, queue: Arc<Queue>) -> Self {
        Self { inner, queue }
    }
}

impl<E: SpanExporter> SpanExporter for Release<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.queue.release(batch.len());
        self.inner.export(batch).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: LogExporter> LogExporter for Release<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        self.queue.release(batch.iter().count());
        self.inner.export(batch).await
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
    use crate::metrics::Metrics;

    #[test]
    fn a_full_queue_refuses_until_places_are_released() {
        let metrics = Metrics::detached();
        let dropped = metrics.counter("telemetry_spans_dropped_total").unwrap();
        // The count itself is read through Prometheus in tests/faults.rs.
        let batch = BatchExportConfig {
            max_batch_size: 3000,
            ..BatchExportConfig::default()
        };
        let queue = Queue::new("traces:console", &batch, &dropped);
        assert_eq!(queue.capacity, 3000);
        assert!((0..3000).all(|_| queue.admit()));
        assert!(!queue.admit() && !queue.admit());
        queue.release(10);
        assert!((0..10).all(|_| queue.admit()));
        assert!(!queue.admit());
        // More released than held (after a shutdown drain) never wraps around.
        queue.release(usize::MAX);
        assert!(queue.admit());
    }
}
