//! What one collection read: every metric's values at one instant.
//!
//! The reader (`export::prometheus`) builds a [`Snapshot`] from the SDK's aggregation and
//! the histograms' sketches; the series store, the console and file exporters and the
//! alert tests consume it.

use std::collections::BTreeMap;

use serde::Serialize;

/// Every metric's values at one instant, as gathered from the SDK.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Unix time in milliseconds.
    pub timestamp_ms: i64,
    /// One entry per metric family.
    pub metrics: Vec<MetricSnapshot>,
}

/// One metric family in a [`Snapshot`].
#[derive(Debug, Clone, Serialize)]
pub struct MetricSnapshot {
    /// Exposition name (`api_requests_total`).
    pub name: String,
    /// `counter`, `gauge`, `histogram` or `quantile`.
    pub kind: SnapshotKind,
    /// Description, may be empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub help: String,
    /// One entry per attribute set.
    pub series: Vec<SeriesSnapshot>,
}

/// The kind of a [`MetricSnapshot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotKind {
    /// Monotonic sum.
    Counter,
    /// Last value.
    Gauge,
    /// Buckets, count and sum.
    Histogram,
    /// One sketch quantile of a histogram (`<histogram>_p99`).
    Quantile,
}

/// One series of a [`MetricSnapshot`].
#[derive(Debug, Clone, Serialize)]
pub struct SeriesSnapshot {
    /// Attribute set.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    #[serde(flatten)]
    pub value: SeriesValue,
}

/// The value of one series.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SeriesValue {
    /// Counter, gauge or quantile.
    Number {
        /// The value.
        value: f64,
    },
    /// A histogram.
    Histogram {
        /// Number of values.
        count: u64,
        /// Sum of values.
        sum: f64,
        /// `(upper bound, cumulative count)` of the finite bounds; `count` is the `+Inf` bucket.
        buckets: Vec<(f64, u64)>,
    },
}
