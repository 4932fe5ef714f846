//! Readable snapshots for a terminal.

use std::fmt::Write as _;

use crate::metrics::{SeriesValue, Snapshot};

/// Renders `snapshot` as aligned `name{labels} value` lines under a header.
pub(crate) fn render(snapshot: &Snapshot, service: &str) -> String {
    let mut out = format!(
        "── metrics of {service} at {} ms ──\n",
        snapshot.timestamp_ms
    );
    for metric in &snapshot.metrics {
        for series in &metric.series {
            let labels = if series.labels.is_empty() {
                String::new()
            } else {
                let inner: Vec<String> = series
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{v}\""))
                    .collect();
                format!("{{{}}}", inner.join(","))
            };
            let value = match &series.value {
                SeriesValue::Number { value } => format!("{value}"),
                SeriesValue::Histogram { count, sum, .. } => {
                    let avg = if *count > 0 { sum / *count as f64 } else { 0.0 };
                    format!("count={count} sum={sum:.3} avg={avg:.3}")
                }
            };
            let _ = writeln!(out, "  {:<48} {value}", format!("{}{labels}", metric.name));
        }
    }
    out
}
