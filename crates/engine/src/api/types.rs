//! The arguments and answers of the query API, exported to TypeScript by ts-rs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::store::LatestValue;

/// The newest value of every stored series, as the webview receives it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct MetricsSnapshot {
    /// Unix time in milliseconds of the newest point.
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub timestamp_ms: i64,
    /// One entry per series.
    pub series: Vec<LatestValue>,
}

/// One metric of the catalogue.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct CatalogueEntry {
    /// Name as stored and exported, the one to query: a counter's carries `_total`
    /// (`system_network_bytes_sent_total`); a histogram's is its base name
    /// (`frame_processing_duration_ms`), stored as `_count`, `_sum` and `_p50`…`_p99`.
    pub name: String,
    /// `counter`, `gauge` or `histogram`.
    pub kind: String,
    /// Unit read from the name's suffix (`ms`, `bytes`, `percent`), if any.
    pub unit: Option<String>,
    /// What it measures.
    pub description: Option<String>,
    /// The label sets stored for it.
    pub label_sets: Vec<BTreeMap<String, String>>,
}

/// A series query (`query_series`).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
#[cfg_attr(feature = "bindings", ts(export, optional_fields))]
pub struct SeriesQuery {
    /// Series name (`api_requests_total`, `frame_processing_duration_ms_count`).
    pub name: String,
    /// Labels that must be equal.
    #[cfg_attr(feature = "bindings", ts(optional))]
    pub labels: Option<BTreeMap<String, String>>,
    /// From (Unix ms, inclusive). Default: the whole retention.
    #[cfg_attr(feature = "bindings", ts(optional, type = "number"))]
    pub from_ms: Option<i64>,
    /// To (Unix ms, inclusive). Default: now.
    #[cfg_attr(feature = "bindings", ts(optional, type = "number"))]
    pub to_ms: Option<i64>,
    /// Keep at most one point (the last) per step of this many ms.
    #[cfg_attr(feature = "bindings", ts(optional, type = "number"))]
    pub step_ms: Option<i64>,
}

/// One quantile of a histogram.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct QuantileValue {
    /// 0.5, 0.9, 0.95, 0.99.
    pub quantile: f64,
    /// Its value over the last collection windows.
    pub value: f64,
}

/// Trace filters (`list_traces`).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
#[cfg_attr(feature = "bindings", ts(export, optional_fields))]
pub struct TraceFilter {
    /// Root name contains this.
    pub name: Option<String>,
    /// Root lasted at least this many ms.
    pub min_duration_ms: Option<f64>,
    /// Failed only (`true`) or successful only (`false`).
    pub error: Option<bool>,
    /// Some span has this attribute key …
    pub attribute_key: Option<String>,
    /// … with this value.
    pub attribute_value: Option<String>,
    /// Root started at or after (Unix ms).
    #[cfg_attr(feature = "bindings", ts(optional, type = "number"))]
    pub since_ms: Option<i64>,
    /// Root started at or before (Unix ms).
    #[cfg_attr(feature = "bindings", ts(optional, type = "number"))]
    pub until_ms: Option<i64>,
    /// At most this many, newest first. Default 100.
    pub limit: Option<u32>,
}

/// Log filters (`get_logs`).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
#[cfg_attr(feature = "bindings", ts(export, optional_fields))]
pub struct LogFilter {
    /// At least this severe: `trace`, `debug`, `info`, `warn`, `error`.
    pub min_level: Option<String>,
    /// Message or a field contains this (case-insensitive).
    pub text: Option<String>,
    /// Only records of this trace.
    pub trace_id: Option<String>,
    /// Only records of this session (a record's `sessionId`).
    pub session_id: Option<String>,
    /// At most this many, newest first. Default 200.
    pub limit: Option<u32>,
}

/// A metric value recorded from the webview (`record_metric`).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export, optional_fields))]
pub struct MetricRecord {
    /// `counter` (adds), `gauge` (sets) or `histogram` (records).
    pub kind: String,
    /// Metric name.
    pub name: String,
    /// The value (a whole number for counters).
    pub value: f64,
    /// Labels.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

/// Which series a stream carries: a name and labels that must be equal.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
#[cfg_attr(feature = "bindings", ts(export, optional_fields))]
pub struct SeriesSelector {
    /// Series name.
    pub name: String,
    /// Labels that must be equal.
    #[cfg_attr(feature = "bindings", ts(optional))]
    pub labels: Option<BTreeMap<String, String>>,
}

/// One message of a series stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct SeriesUpdate {
    /// Stream id.
    pub id: u32,
    /// 1, 2, 3, … acknowledge it with `ack_series` to keep the stream flowing.
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub seq: u64,
    /// When it was taken (Unix ms).
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub timestamp_ms: i64,
    /// The selected series' newest values.
    pub series: Vec<LatestValue>,
    /// Ticks skipped so far because the receiver had too many unacknowledged updates.
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub dropped: u64,
}

/// A trace that just completed (the `trace` event).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct TraceSummary {
    /// 32 hex digits.
    pub trace_id: String,
    /// Root span name.
    pub name: String,
    /// Root start (Unix ms).
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub start_ms: i64,
    /// Root duration (ms).
    pub duration_ms: f64,
    /// Whether a span failed.
    pub error: bool,
    /// Spans kept.
    pub span_count: u32,
}
