//! The span API of the spec: `trace_async`, `trace`, `span_builder`, and span handles.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::context::FutureExt as _;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{Span as _, SpanContext, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, Key, KeyValue, Value};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracer;
use parking_lot::{Mutex, ReentrantMutex};

/// A value for [`SpanHandle::set_attribute`] and [`SpanBuilder::with_attribute`]:
/// strings, integers, floats and booleans. As with `opentelemetry::KeyValue::new`, a
/// `&'static str` (a literal) is kept without a copy; a string borrowed for less is passed
/// as `String` or `&String` (copied once).
pub trait AttributeValue {
    /// The OpenTelemetry value.
    fn into_value(self) -> Value;
}

impl AttributeValue for &'static str {
    fn into_value(self) -> Value {
        Value::from(self)
    }
}
impl AttributeValue for String {
    fn into_value(self) -> Value {
        Value::from(self)
    }
}
impl AttributeValue for &String {
    fn into_value(self) -> Value {
        Value::from(self.clone())
    }
}
impl AttributeValue for i64 {
    fn into_value(self) -> Value {
        Value::I64(self)
    }
}
impl AttributeValue for f64 {
    fn into_value(self) -> Value {
        Value::F64(self)
    }
}
impl AttributeValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

/// Creates spans. Cheap to clone.
///
/// # Examples
/// ```
/// # use telemetry_engine::tracing::Tracer;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let tracer = Tracer::detached();
/// let inner = tracer.clone();
/// let frames = tracer
///     .trace_async("video_render_pipeline", |span| async move {
///         span.set_attribute("codec", "h264");
///         span.add_event("preparation_started");
///         // A nested call becomes a child span of "video_render_pipeline".
///         inner
///             .trace_async("video_render", |render| async move {
///                 render.set_attribute("frames_count", 3600_i64);
///                 Ok::<_, std::io::Error>(3600)
///             })
///             .await
///     })
///     .await?;
/// assert_eq!(frames, 3600);
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct Tracer {
    inner: SdkTracer,
    /// `tracing.sample_rate`: what the webview's traces are exported at.
    pub(super) export_rate: f64,
}

impl Tracer {
    pub(crate) fn new(inner: SdkTracer, export_rate: f64) -> Self {
        Self { inner, export_rate }
    }

    pub(crate) fn sdk(&self) -> &SdkTracer {
        &self.inner
    }

    /// A tracer on a provider of its own with no processor: spans are created and
    /// dropped. For examples and for code that runs without telemetry.
    pub fn detached() -> Self {
        use opentelemetry::trace::TracerProvider as _;
        Self::new(
            opentelemetry_sdk::trace::SdkTracerProvider::builder()
                .build()
                .tracer("detached"),
            1.0,
        )
    }

    /// Runs `f` inside a new span called `name`, child of the current span if there is
    /// one. The span is current while `f`'s future runs (across `.await`s), so spans
    /// started inside become its children. An `Err` marks the span's status as error
    /// with the error's message. The span ends when the future completes.
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub async fn trace_async<F, Fut, T, E>(
        &self,
        name: impl Into<Cow<'static, str>>,
        f: F,
    ) -> Result<T, E>
    where
        F: FnOnce(SpanHandle) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Display,
    {
        let span = self.start(name.into(), &Context::current());
        let result = f(span.clone()).with_context(span.context()).await;
        span.finish(&result);
        result
    }

    /// The synchronous twin of [`Tracer::trace_async`].
    ///
    /// # Errors
    /// Whatever `f` returns.
    ///
    /// # Examples
    /// ```
    /// # use telemetry_engine::tracing::Tracer;
    /// let n = Tracer::detached().trace("count_frames", |span| {
    ///     span.set_attribute("source", "timeline");
    ///     Ok::<_, String>(42)
    /// })?;
    /// # assert_eq!(n, 42);
    /// # Ok::<(), String>(())
    /// ```
    pub fn trace<T, E: Display>(
        &self,
        name: impl Into<Cow<'static, str>>,
        f: impl FnOnce(SpanHandle) -> Result<T, E>,
    ) -> Result<T, E> {
        let span = self.start(name.into(), &Context::current());
        let result = {
            let _guard = span.context().attach();
            f(span.clone())
        };
        span.finish(&result);
        result
    }

    /// A builder for a span started by hand and ended with [`SpanHandle::end`] (or when
    /// its last handle is dropped).
    ///
    /// # Examples
    /// ```
    /// # use telemetry_engine::tracing::Tracer;
    /// let tracer = Tracer::detached();
    /// let batch = tracer.span_builder("complex_video_operation")
    ///     .with_attribute("batch_size", "50")
    ///     .start(&tracer);
    /// for i in 0..3 {
    ///     let item = tracer.span_builder(format!("process_item_{i}"))
    ///         .with_attribute("item_index", &i.to_string())
    ///         .with_parent(&batch)
    ///         .start(&tracer);
    ///     item.add_event("processing_successful");
    ///     item.end();
    /// }
    /// batch.end();
    /// ```
    pub fn span_builder(&self, name: impl Into<Cow<'static, str>>) -> SpanBuilder {
        SpanBuilder {
            name: name.into(),
            attributes: Vec::with_capacity(4),
            parent: None,
        }
    }

    fn start(&self, name: Cow<'static, str>, parent: &Context) -> SpanHandle {
        SpanHandle::new(self.inner.start_with_context(name, parent))
    }
}

/// A span under construction; see [`Tracer::span_builder`].
pub struct SpanBuilder {
    name: Cow<'static, str>,
    attributes: Vec<KeyValue>,
    parent: Option<Context>,
}

impl SpanBuilder {
    /// Adds an attribute.
    pub fn with_attribute(mut self, key: impl Into<Key>, value: impl AttributeValue) -> Self {
        self.attributes.push(KeyValue::new(key, value.into_value()));
        self
    }

    /// Makes the span a child of a remote span (a context from [`remote_context`]).
    pub fn with_remote_parent(mut self, parent: Context) -> Self {
        self.parent = Some(parent);
        self
    }

    /// Makes the span a child of `parent` (else of the current span, if any).
    pub fn with_parent(mut self, parent: &SpanHandle) -> Self {
        self.parent = Some(parent.context());
        self
    }

    /// Starts the span. A span the sampler drops costs no context: its handle keeps only
    /// the span context (ids and flags) that children need.
    pub fn start(self, tracer: &Tracer) -> SpanHandle {
        // The attributes are handed over as they are (`with_attributes` collects them
        // into a new vector).
        let builder = opentelemetry::trace::SpanBuilder {
            attributes: Some(self.attributes),
            ..opentelemetry::trace::SpanBuilder::from_name(self.name)
        };
        SpanHandle::new(match self.parent {
            Some(parent) => builder.start_with_context(&tracer.inner, &parent),
            None => {
                Context::map_current(|parent| builder.start_with_context(&tracer.inner, parent))
            }
        })
    }
}

/// A live span. Clones refer to the same span; it ends at [`SpanHandle::end`] or when the
/// last clone is dropped.
pub struct SpanHandle {
    /// Readable without a lock.
    span_context: SpanContext,
    /// `None` for a span the sampler dropped: only its ids and flags remain.
    recording: Option<Mutex<Held>>,
}

/// Where a recording span is: in the handle itself until the handle is cloned or the span
/// goes into a [`Context`] ([`SpanHandle::context`]); then behind an `Arc` shared with
/// them. So a span started and ended by hand costs no allocation of its own. One of the
/// two is set.
struct Held {
    own: Option<opentelemetry_sdk::trace::Span>,
    shared: Option<Arc<Recording>>,
}

/// The SDK's span shared by handles and contexts. It ends with [`SpanHandle::end`] or when
/// the last holder is dropped (the SDK span's own drop).
///
/// The span processors run while the span ends, under the lock. The lock is re-entrant so
/// that one of them looking at this span through the current context does not deadlock:
/// it finds the span busy, and a span that is ending no longer records.
struct Recording {
    span_context: SpanContext,
    span: ReentrantMutex<RefCell<opentelemetry_sdk::trace::Span>>,
}

impl Recording {
    /// Runs `f` on the span, unless this thread is already inside it (ending it).
    fn edit(&self, f: impl FnOnce(&mut opentelemetry_sdk::trace::Span)) {
        if let Ok(mut span) = self.span.lock().try_borrow_mut() {
            f(&mut span);
        }
    }

    /// Whether the span still records (not ended, not ending).
    fn is_recording(&self) -> bool {
        (self.span.lock().try_borrow()).is_ok_and(|span| span.is_recording())
    }
}

/// A [`Recording`] as an OpenTelemetry span, to carry it in a [`Context`].
struct Shared(Arc<Recording>);

impl opentelemetry::trace::Span for Shared {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        self.0
            .edit(|span| span.add_event_with_timestamp(name, timestamp, attributes));
    }

    fn span_context(&self) -> &SpanContext {
        &self.0.span_context
    }

    fn is_recording(&self) -> bool {
        self.0.is_recording()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        self.0.edit(|span| span.set_attribute(attribute));
    }

    fn set_status(&mut self, status: Status) {
        self.0.edit(|span| span.set_status(status));
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        self.0.edit(|span| span.update_name(new_name));
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        self.0.edit(|span| span.add_link(span_context, attributes));
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        self.0.edit(|span| span.end_with_timestamp(timestamp));
    }
}

impl Clone for SpanHandle {
    fn clone(&self) -> Self {
        Self {
            span_context: self.span_context.clone(),
            recording: self.shared().map(|recording| {
                Mutex::new(Held {
                    own: None,
                    shared: Some(recording),
                })
            }),
        }
    }
}

impl SpanHandle {
    #[inline]
    fn new(span: opentelemetry_sdk::trace::Span) -> Self {
        let span_context = span.span_context().clone();
        let recording = if span.is_recording() {
            Some(Mutex::new(Held {
                own: Some(span),
                shared: None,
            }))
        } else {
            None
        };
        Self {
            span_context,
            recording,
        }
    }

    /// Runs `f` on the span while it records.
    fn edit(&self, f: impl FnOnce(&mut opentelemetry_sdk::trace::Span)) {
        let Some(held) = &self.recording else {
            return;
        };
        let shared = {
            let mut held = held.lock();
            if let Some(span) = &mut held.own {
                f(span);
                return;
            }
            held.shared.clone()
        };
        // Shared: its own (re-entrant) lock, not under the handle's.
        if let Some(shared) = shared {
            shared.edit(f);
        }
    }

    /// The recording span behind an `Arc`, moved there if the handle held it alone;
    /// `None` for a span the sampler dropped.
    fn shared(&self) -> Option<Arc<Recording>> {
        let mut held = self.recording.as_ref()?.lock();
        if let Some(span) = held.own.take() {
            held.shared = Some(Arc::new(Recording {
                span_context: self.span_context.clone(),
                span: ReentrantMutex::new(RefCell::new(span)),
            }));
        }
        held.shared.clone()
    }

    /// Ends the span, marked failed with the error's message on `Err`.
    fn finish<T, E: Display>(&self, result: &Result<T, E>) {
        if let Err(e) = result {
            self.edit(|span| span.set_status(Status::error(e.to_string())));
        }
        self.end();
    }

    /// Sets an attribute (kept up to `max_attributes_per_span`; more are counted as dropped).
    pub fn set_attribute(&self, key: impl Into<Key>, value: impl AttributeValue) {
        self.edit(|span| span.set_attribute(KeyValue::new(key, value.into_value())));
    }

    /// Adds an event now (kept up to `max_events_per_span`).
    pub fn add_event(&self, name: impl Into<Cow<'static, str>>) {
        self.edit(|span| span.add_event(name, Vec::new()));
    }

    /// Adds an event with attributes.
    pub fn add_event_with_attributes(
        &self,
        name: impl Into<Cow<'static, str>>,
        attributes: Vec<KeyValue>,
    ) {
        self.edit(|span| span.add_event(name, attributes));
    }

    /// Marks the span failed with `message`.
    pub fn set_error(&self, message: impl Into<Cow<'static, str>>) {
        self.edit(|span| span.set_status(Status::error(message)));
    }

    /// Ends the span; later calls do nothing.
    pub fn end(&self) {
        self.edit(|span| span.end());
    }

    /// The trace id as 32 hex digits.
    pub fn trace_id(&self) -> String {
        self.span_context.trace_id().to_string()
    }

    /// The span id as 16 hex digits.
    pub fn span_id(&self) -> String {
        self.span_context.span_id().to_string()
    }

    /// Whether the span was sampled (recorded and exported).
    pub fn is_sampled(&self) -> bool {
        self.span_context.is_sampled()
    }

    /// The current context with this span in it, to pass into other OTel APIs or to
    /// spawned tasks (`future.with_context(span.context())`, with the re-exported
    /// [`FutureExt`](crate::FutureExt)). For a span the sampler dropped, its span
    /// context stands in, so children are dropped too.
    ///
    /// # Examples
    /// ```
    /// # use telemetry_engine::{tracing::Tracer, FutureExt as _};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let tracer = Tracer::detached();
    /// let span = tracer.span_builder("export").start(&tracer);
    /// let (parent, child) = (span.trace_id(), tracer.clone());
    /// let in_task = async move { child.trace("encode", |s| Ok::<_, String>(s.trace_id())) }
    ///     .with_context(span.context())
    ///     .await?;
    /// assert_eq!(in_task, parent);
    /// # Ok::<(), String>(()) }).unwrap();
    /// ```
    pub fn context(&self) -> Context {
        match self.shared() {
            Some(recording) => Context::current().with_span(Shared(recording)),
            None => Context::current().with_remote_span_context(self.span_context.clone()),
        }
    }

    /// The W3C `traceparent` header value of this span, to continue its trace in another
    /// process or in the webview.
    ///
    /// # Examples
    /// ```
    /// # use telemetry_engine::tracing::{remote_context, Tracer};
    /// let tracer = Tracer::detached();
    /// let span = tracer.span_builder("ui.export").start(&tracer);
    /// let header = span.traceparent();
    /// assert!(header.starts_with("00-"));
    /// assert!(remote_context(&header).is_some());
    /// ```
    pub fn traceparent(&self) -> String {
        let mut carrier = std::collections::HashMap::new();
        TraceContextPropagator::new().inject_context(&self.context(), &mut carrier);
        carrier.remove("traceparent").unwrap_or_default()
    }
}

/// The context of a remote parent span given as a W3C `traceparent` header value
/// (`00-<trace id>-<span id>-<flags>`); `None` when it is not one. Attach it
/// (`let _guard = cx.attach();`) or pass it to
/// [`SpanBuilder::with_remote_parent`] to continue that trace.
pub fn remote_context(traceparent: &str) -> Option<Context> {
    let carrier = std::collections::HashMap::from([(
        "traceparent".to_owned(),
        traceparent.trim().to_owned(),
    )]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    cx.span().span_context().is_valid().then_some(cx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanProcessor};

    /// Looks at the current span when a span ends, as a processor that logs might.
    #[derive(Debug)]
    struct LooksAtTheCurrentSpan(std::sync::mpsc::Sender<bool>);

    impl SpanProcessor for LooksAtTheCurrentSpan {
        fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &Context) {}
        fn on_end(&self, _span: SpanData) {
            let recording = Context::map_current(|cx| cx.span().is_recording());
            let _ = self.0.send(recording);
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    #[test]
    fn a_handle_and_its_clones_edit_one_span_that_ends_with_the_last_of_them() {
        use crate::tracing::{TraceQuery, TraceStore, TraceStoreLimits};
        let store = TraceStore::new(TraceStoreLimits::default());
        let provider = SdkTracerProvider::builder()
            .with_span_processor(store.processor())
            .build();
        let tracer = Tracer::new(provider.tracer("t"), 1.0);
        let span = tracer.span_builder("export").start(&tracer);
        // Held by the handle alone, then shared with a clone and with a child's context.
        span.set_attribute("before", 1_i64);
        let clone = span.clone();
        clone.set_attribute("after", 2_i64);
        tracer
            .span_builder("encode")
            .with_parent(&span)
            .start(&tracer)
            .end();
        drop(span);
        assert!(store.is_empty(), "the clone still holds the span open");
        clone.end();
        let traces = store.query(&TraceQuery::default());
        assert_eq!(traces.len(), 1);
        let root = &traces[0].spans[0];
        assert_eq!(root.name, "export");
        assert_eq!(root.attributes.get("before").map(String::as_str), Some("1"));
        assert_eq!(root.attributes.get("after").map(String::as_str), Some("2"));
        assert_eq!(traces[0].spans[1].name, "encode");
    }

    #[test]
    fn a_processor_looking_at_the_span_that_is_ending_does_not_deadlock() {
        let (tx, rx) = std::sync::mpsc::channel();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(LooksAtTheCurrentSpan(tx))
            .build();
        let tracer = Tracer::new(provider.tracer("t"), 1.0);
        let span = tracer.span_builder("current").start(&tracer);
        let _current = span.context().attach();
        span.set_attribute("frame", 1_i64);
        // With a plain lock around the span, this would never return.
        span.end();
        assert_eq!(rx.try_recv(), Ok(false), "ended: no longer recording");
        span.end();
        assert!(rx.try_recv().is_err(), "a second end does nothing");
    }
}
