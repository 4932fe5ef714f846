//! Tauri invokes as spans, with no code per command in the webview: the plugin's init
//! script measures every invoke and names its client span (the `traceparent` it sends
//! with the call), and reports it afterwards ([`Tracer::record_client_invoke`]); the
//! backend half is a server span around the command ([`Tracer::start_invoke`]), child of
//! that client span, current while the command runs, so `#[instrument]` and `trace_async`
//! spans inside join the trace.
//!
//! Sampling: a parent from the app's own webview is not an upstream service's decision.
//! The webview cannot know the rates, so the engine decides for its traces as for a root,
//! from the trace id ([`Tracer::webview_parent`]); the client span, recorded later with
//! the same trace id, gets the same answer.

use std::borrow::Cow;
use std::future::Future;
use std::time::SystemTime;

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId,
};
use opentelemetry::{Context, KeyValue};
use serde::Serialize;

use super::{ids, remote_context, sampling, Tracer};

/// The OpenTelemetry RPC attributes of a Tauri command: `plugin:<name>|<method>` is
/// the service `<name>`, anything else the app's own (`app`).
fn rpc_attributes(command: &str, window: &str) -> Vec<KeyValue> {
    let (service, method) = command
        .strip_prefix("plugin:")
        .and_then(|rest| rest.split_once('|'))
        .unwrap_or(("app", command));
    vec![
        KeyValue::new("rpc.system", "tauri"),
        KeyValue::new("rpc.service", service.to_owned()),
        KeyValue::new("rpc.method", method.to_owned()),
        KeyValue::new("tauri.window", window.to_owned()),
    ]
}

/// One invoke the webview measured, checked: see [`Tracer::record_client_invoke`].
#[derive(Debug)]
pub(crate) struct ClientInvoke<'a> {
    /// The command as invoked (`export_project`, `plugin:fs|read_file`).
    pub(crate) command: &'a str,
    /// The window that called it.
    pub(crate) window: &'a str,
    /// The ids the webview gave the client span (sent in its `traceparent`).
    pub(crate) trace_id: TraceId,
    /// See `trace_id`.
    pub(crate) span_id: SpanId,
    /// The UI span it ran in, if any (its `traceparent`).
    pub(crate) parent: Option<Context>,
    /// When the call started and when its answer arrived.
    pub(crate) start: SystemTime,
    /// See `start`.
    pub(crate) end: SystemTime,
    /// The command's error, when it failed.
    pub(crate) error: Option<&'a str>,
}

impl Tracer {
    /// The context of a parent span from the app's own webview (a `traceparent` invoke
    /// header), with the sampling decision the engine makes for the trace (see the module
    /// docs), not the one the header states. `None` when `traceparent` is not one.
    ///
    /// # Examples
    /// ```
    /// # use telemetry_engine::tracing::Tracer;
    /// let parent = Tracer::detached()
    ///     .webview_parent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    /// assert!(parent.is_some());
    /// ```
    pub fn webview_parent(&self, traceparent: &str) -> Option<Context> {
        let cx = remote_context(traceparent)?;
        let sc = cx.span().span_context().clone();
        let sampled = sampling::admits(self.export_rate, sc.trace_id());
        Some(Context::new().with_remote_span_context(SpanContext::new(
            sc.trace_id(),
            sc.span_id(),
            TraceFlags::default().with_sampled(sampled),
            true,
            sc.trace_state().clone(),
        )))
    }

    /// Starts the backend span of Tauri command `command` called from `window`: a server
    /// span named after the command with the `rpc.*` attributes, child of the webview's
    /// client span when the call carried its `traceparent`. Run the command in it with
    /// [`InvokeSpan::run`] or [`InvokeSpan::run_async`].
    ///
    /// # Examples
    /// ```
    /// # use telemetry_engine::tracing::Tracer;
    /// let tracer = Tracer::detached();
    /// let span = tracer.start_invoke("export_project", "main", None);
    /// let frames = span.run_result(|| Ok::<_, String>(3600));
    /// assert_eq!(frames, Ok(3600));
    /// ```
    pub fn start_invoke(
        &self,
        command: &str,
        window: &str,
        traceparent: Option<&str>,
    ) -> InvokeSpan {
        let parent = traceparent
            .and_then(|header| self.webview_parent(header))
            .unwrap_or_else(Context::current);
        let span = opentelemetry::trace::SpanBuilder::from_name(command.to_owned())
            .with_kind(SpanKind::Server)
            .with_attributes(rpc_attributes(command, window))
            .start_with_context(self.sdk(), &parent);
        InvokeSpan {
            cx: parent.with_span(span),
        }
    }

    /// Records the client span of an invoke the webview measured, with the ids it chose,
    /// its times, the `rpc.*` attributes, `tauri.outcome` and, when it failed, an error
    /// status with the message.
    pub(crate) fn record_client_invoke(&self, invoke: &ClientInvoke<'_>) {
        let mut attributes = rpc_attributes(invoke.command, invoke.window);
        attributes.push(KeyValue::new(
            "tauri.outcome",
            if invoke.error.is_some() {
                "error"
            } else {
                "ok"
            },
        ));
        let builder = opentelemetry::trace::SpanBuilder::from_name(invoke.command.to_owned())
            .with_kind(SpanKind::Client)
            .with_start_time(invoke.start)
            .with_attributes(attributes);
        let parent = invoke.parent.clone().unwrap_or_default();
        let mut span = ids::with_ids(invoke.trace_id, invoke.span_id, || {
            builder.start_with_context(self.sdk(), &parent)
        });
        if let Some(message) = invoke.error {
            span.set_status(Status::error(message.to_owned()));
        }
        span.end_with_timestamp(invoke.end);
    }
}

/// The backend span of one invoke; see [`Tracer::start_invoke`].
#[derive(Debug)]
pub struct InvokeSpan {
    cx: Context,
}

impl InvokeSpan {
    /// Runs `f` with the span current, then ends it.
    pub fn run<T>(self, f: impl FnOnce() -> T) -> T {
        let out = {
            let _guard = self.cx.clone().attach();
            f()
        };
        self.cx.span().end();
        out
    }

    /// Runs `f` with the span current, then ends it, failed with the error when `f`
    /// returns one.
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn run_result<T, E: Serialize>(self, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let out = {
            let _guard = self.cx.clone().attach();
            f()
        };
        self.finish(out.as_ref().err());
        out
    }

    /// Runs `command` with the span current at every poll, then ends it.
    pub async fn run_async<F: Future>(self, command: F) -> F::Output {
        let out = command.with_context(self.cx.clone()).await;
        self.cx.span().end();
        out
    }

    /// [`InvokeSpan::run_async`] for a command that returns a `Result`: an error fails
    /// the span with its message.
    ///
    /// # Errors
    /// Whatever `command` returns.
    pub async fn run_async_result<T, E: Serialize, F>(self, command: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        let out = command.with_context(self.cx.clone()).await;
        self.finish(out.as_ref().err());
        out
    }

    fn finish<E: Serialize>(&self, error: Option<&E>) {
        let span = self.cx.span();
        if let Some(e) = error {
            span.set_status(Status::error(error_message(e)));
        }
        span.end();
    }
}

/// Longest error message a failed invoke's span keeps, in bytes.
const MAX_ERROR_MESSAGE: usize = 1024;

/// A command error as the webview receives it: its JSON, a string as itself.
fn error_message<E: Serialize>(error: &E) -> Cow<'static, str> {
    let mut text = match serde_json::to_value(error) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(e) => format!("(an error that does not serialize: {e})"),
    };
    if text.len() > MAX_ERROR_MESSAGE {
        let mut cut = MAX_ERROR_MESSAGE;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    Cow::Owned(text)
}
