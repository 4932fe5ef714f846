//! Invokes the webview measured: the plugin's init script wraps Tauri's `invoke`, gives
//! each call a client span (its `traceparent` goes with the call, so the backend's span
//! joins the trace) and reports what it measured in batches. Each becomes that client
//! span (see [`crate::tracing`]'s IPC spans) and a value of the histogram
//! `tauri_ipc_duration_ms{command,outcome}`.
//!
//! Bounded like every webview write: at most [`MAX_INVOKES`] per report, each field
//! checked and named when wrong; each report takes one record from the window's budget,
//! and what the script could not buffer or the budget refused is counted in
//! `tauri_ipc_spans_dropped_total{window,reason}` (`buffer`, `rate`).

use std::time::{Duration, SystemTime};

use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::KeyValue;
use serde::Deserialize;

use super::webview_logs::WebviewLogs;
use super::{check_length, ApiError};
use crate::metrics::Metrics;
use crate::tracing::{remote_context, ClientInvoke, Tracer};

/// Invokes one report may carry.
pub const MAX_INVOKES: usize = 512;
/// Longest command name taken, in bytes.
pub const MAX_COMMAND: usize = 128;
/// Longest error message taken, in bytes.
pub const MAX_INVOKE_ERROR: usize = 1024;
/// The longest invoke taken, in ms (one hour).
pub const MAX_INVOKE_MS: f64 = 3_600_000.0;

/// The metrics of this module.
pub(crate) const DURATION: &str = "tauri_ipc_duration_ms";
pub(crate) const DROPPED: &str = "tauri_ipc_spans_dropped_total";

/// One invoke the webview measured.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct InvokeTiming {
    /// The command as invoked (`export_project`, `plugin:fs|read_file`).
    pub command: String,
    /// The `traceparent` sent with the call: the client span's trace and span id.
    pub traceparent: String,
    /// The `traceparent` of the UI span the call was made in, if any.
    #[serde(default)]
    #[cfg_attr(feature = "bindings", ts(optional))]
    pub parent: Option<String>,
    /// When the call started, in ms since the Unix epoch.
    pub start_ms: f64,
    /// How long until its answer arrived, in ms.
    pub duration_ms: f64,
    /// The command's error, when it failed.
    #[serde(default)]
    #[cfg_attr(feature = "bindings", ts(optional))]
    pub error: Option<String>,
}

/// What a window's init script reports: the invokes it measured since its last report,
/// and how many it could not keep.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct InvokeReport {
    /// The invokes, oldest first.
    pub invokes: Vec<InvokeTiming>,
    /// Invokes the script dropped because its buffer was full.
    #[serde(default)]
    pub dropped: u32,
}

/// A command name: an identifier, or `plugin:<name>|<command>`.
fn check_command(field: &str, command: &str) -> Result<(), ApiError> {
    check_length(field, command, MAX_COMMAND)?;
    let valid = !command.is_empty()
        && command
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-:|.".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_argument(
            field,
            format!("{command:?} is not a command name"),
        ))
    }
}

/// Checks one invoke and turns it into the client span's record.
fn client_invoke<'a>(
    tracer: &Tracer,
    window: &'a str,
    field: &str,
    invoke: &'a InvokeTiming,
) -> Result<ClientInvoke<'a>, ApiError> {
    check_command(&format!("{field}.command"), &invoke.command)?;
    let sent = remote_context(&invoke.traceparent).ok_or_else(|| {
        ApiError::bad_argument(
            &format!("{field}.traceparent"),
            format!("{:?} is not a W3C traceparent", invoke.traceparent),
        )
    })?;
    let sent = sent.span().span_context().clone();
    let parent = match &invoke.parent {
        Some(header) => {
            let cx = tracer.webview_parent(header).ok_or_else(|| {
                ApiError::bad_argument(
                    &format!("{field}.parent"),
                    format!("{header:?} is not a W3C traceparent"),
                )
            })?;
            if cx.span().span_context().trace_id() != sent.trace_id() {
                return Err(ApiError::bad_argument(
                    &format!("{field}.parent"),
                    "is in another trace than the invoke's traceparent",
                ));
            }
            Some(cx)
        }
        None => None,
    };
    // Bounded above too: a time past what a `SystemTime` holds would panic below.
    if !(invoke.start_ms.is_finite()
        && invoke.start_ms > 0.0
        && invoke.start_ms <= crate::clock::LATEST_MS as f64)
    {
        return Err(ApiError::bad_argument(
            &format!("{field}.startMs"),
            format!(
                "{} is not a time in ms since the Unix epoch (up to the end of the year 9999)",
                invoke.start_ms
            ),
        ));
    }
    if !(invoke.duration_ms.is_finite() && (0.0..=MAX_INVOKE_MS).contains(&invoke.duration_ms)) {
        return Err(ApiError::bad_argument(
            &format!("{field}.durationMs"),
            format!(
                "{} is not a duration from 0 to {MAX_INVOKE_MS} ms",
                invoke.duration_ms
            ),
        ));
    }
    if let Some(error) = &invoke.error {
        check_length(&format!("{field}.error"), error, MAX_INVOKE_ERROR)?;
    }
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(invoke.start_ms / 1000.0);
    Ok(ClientInvoke {
        command: &invoke.command,
        window,
        trace_id: sent.trace_id(),
        span_id: sent.span_id(),
        parent,
        start,
        end: start + Duration::from_secs_f64(invoke.duration_ms / 1000.0),
        error: invoke.error.as_deref(),
    })
}

/// Checks `report` and records it for `window`: the whole report or, on the first bad
/// invoke, nothing. Returns `false` when the window's budget was spent (nothing recorded,
/// the invokes counted as dropped).
pub(crate) fn record(
    metrics: &Metrics,
    tracer: &Tracer,
    budget: &WebviewLogs,
    window: &str,
    report: &InvokeReport,
) -> Result<bool, ApiError> {
    if report.invokes.len() > MAX_INVOKES {
        return Err(ApiError::bad_argument(
            "report.invokes",
            format!(
                "{} invokes, at most {MAX_INVOKES} per report",
                report.invokes.len()
            ),
        ));
    }
    let invokes = report
        .invokes
        .iter()
        .enumerate()
        .map(|(i, invoke)| client_invoke(tracer, window, &format!("report.invokes[{i}]"), invoke))
        .collect::<Result<Vec<_>, _>>()?;
    let dropped = |n: u64, reason: &'static str| -> Result<(), ApiError> {
        if n > 0 {
            metrics.add(
                DROPPED,
                n,
                &[
                    KeyValue::new("window", window.to_owned()),
                    KeyValue::new("reason", reason),
                ],
            )?;
        }
        Ok(())
    };
    dropped(u64::from(report.dropped), "buffer")?;
    if !budget.admit(window) {
        dropped(invokes.len() as u64, "rate")?;
        return Ok(false);
    }
    for (invoke, timing) in invokes.iter().zip(&report.invokes) {
        tracer.record_client_invoke(invoke);
        let outcome = if invoke.error.is_some() {
            "error"
        } else {
            "ok"
        };
        metrics.record(
            DURATION,
            timing.duration_ms,
            &[
                KeyValue::new("command", timing.command.clone()),
                KeyValue::new("outcome", outcome),
            ],
        )?;
    }
    Ok(true)
}
