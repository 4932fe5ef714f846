use std::collections::BTreeMap;

use serde::Serialize;
use ts_rs::TS;

/// The newest value of every stored series, as the webview receives it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MetricsSnapshot {
    /// Unix time in milliseconds of the newest point.
    #[ts(type = "number")]
    pub timestamp_ms: i64,
    /// One entry per series.
    pub series: Vec<LatestValue>,
}

/// One series' newest value.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LatestValue {
    /// Series name as exported (`api_requests_total`).
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Value.
    pub value: f64,
}
