//! Types that exist only at the plugin surface: spans the webview starts. Everything
//! else that crosses IPC is the engine's (`telemetry_engine::api` and its records).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A span started from the webview (`start_span`).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, ts(export, optional_fields))]
pub struct SpanStart {
    /// Span name (`ui.export_clicked`).
    pub name: String,
    /// Attributes.
    #[serde(default)]
    pub attributes: Option<BTreeMap<String, String>>,
    /// W3C `traceparent` of the parent (another span of the webview), if any.
    #[serde(default)]
    pub traceparent: Option<String>,
}

/// A span the webview holds: pass `traceparent` as an invoke header so backend work
/// joins its trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, ts(export))]
pub struct SpanRef {
    /// 16 hex digits; the id to end it with.
    pub span_id: String,
    /// 32 hex digits.
    pub trace_id: String,
    /// The W3C `traceparent` header value.
    pub traceparent: String,
}
