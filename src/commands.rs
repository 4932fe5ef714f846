use std::collections::BTreeMap;

use tauri::{command, AppHandle, Runtime};
use telemetry_engine::export::ExportStatus;

use crate::models::{LatestValue, MetricsSnapshot};
use crate::TelemetryExt;

/// The newest value of every series in the store.
#[command]
pub(crate) async fn get_snapshot<R: Runtime>(app: AppHandle<R>) -> MetricsSnapshot {
    let store = app.telemetry().store().clone();
    let mut timestamp_ms = 0;
    let mut series = Vec::new();
    for name in store.names() {
        for data in store.query(&name, &[], None) {
            if let Some((ts, value)) = data.points.last() {
                timestamp_ms = timestamp_ms.max(*ts);
                series.push(LatestValue {
                    name: data.name,
                    labels: data.labels,
                    value: *value,
                });
            }
        }
    }
    MetricsSnapshot {
        timestamp_ms,
        series,
    }
}

/// The status of every exporter.
#[command]
pub(crate) async fn get_export_status<R: Runtime>(
    app: AppHandle<R>,
) -> BTreeMap<String, ExportStatus> {
    app.telemetry().get_export_status().await
}
