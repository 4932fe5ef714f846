//! The plugin surface: one series-stream tick for 500 series (read the store + serialise
//! the update, as the Channel does) and the `get_snapshot` IPC round trip on Tauri's mock
//! runtime, each beside plain `serde_json` of the same data (the reference).
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri_plugin_opentelemetry::engine::api::{self, SeriesSelector, SeriesUpdate};
use tauri_plugin_opentelemetry::engine::config::MetricsConfig;
use tauri_plugin_opentelemetry::engine::metrics::{
    MetricSnapshot, SeriesSnapshot, SeriesValue, Snapshot, SnapshotKind,
};
use tauri_plugin_opentelemetry::engine::store::SeriesStore;
use tauri_plugin_opentelemetry::{TelemetryConfig, TelemetryExt, PLUGIN_ID};

#[path = "../tests/support/mod.rs"]
mod support;

const SERIES: usize = 500;

fn snapshot_of(n: usize) -> Snapshot {
    Snapshot {
        // Now: the app's own collection loop forgets points older than the retention.
        timestamp_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
        metrics: vec![MetricSnapshot {
            name: "api_request_duration_ms_p99".into(),
            kind: SnapshotKind::Gauge,
            help: String::new(),
            series: (0..n)
                .map(|i| SeriesSnapshot {
                    labels: BTreeMap::from([("endpoint".to_string(), format!("/v1/item/{i}"))]),
                    value: SeriesValue::Number {
                        value: i as f64 * 1.5,
                    },
                })
                .collect(),
        }],
    }
}

fn stream_tick(c: &mut Criterion) {
    let store = SeriesStore::new(&MetricsConfig::default());
    store.ingest(&snapshot_of(SERIES));
    let selectors = vec![SeriesSelector {
        name: "api_request_duration_ms_p99".into(),
        labels: None,
    }];
    let (timestamp_ms, series) = api::latest(&store, &selectors);
    let prebuilt = SeriesUpdate {
        id: 1,
        seq: 1,
        timestamp_ms,
        series,
        dropped: 0,
    };
    let mut g = c.benchmark_group("stream_tick_500_series");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    g.bench_function("ours_read_and_serialise", |b| {
        b.iter(|| {
            let (timestamp_ms, series) = api::latest(&store, &selectors);
            let update = SeriesUpdate {
                id: 1,
                seq: 1,
                timestamp_ms,
                series,
                dropped: 0,
            };
            serde_json::to_vec(&update).unwrap()
        })
    });
    g.bench_function("serde_json_same_data", |b| {
        b.iter(|| serde_json::to_vec(&prebuilt).unwrap())
    });
    g.finish();
}

fn request() -> InvokeRequest {
    InvokeRequest {
        cmd: format!("plugin:{PLUGIN_ID}|get_snapshot"),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::default(),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    }
}

fn snapshot_round_trip(c: &mut Criterion) {
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    config.metrics.enabled = false; // no collection loop: the bench owns the store
    let (app, window) = support::app_with(&["opentelemetry:default"], config);
    assert!(
        get_ipc_response(&window, request()).is_ok(),
        "allowed by the ACL"
    );
    app.telemetry().store().ingest(&snapshot_of(SERIES));
    let snapshot = api::snapshot(app.telemetry().sources());
    let answered: serde_json::Value = get_ipc_response(&window, request())
        .unwrap()
        .deserialize()
        .unwrap();
    assert_eq!(
        answered["series"].as_array().map(Vec::len),
        Some(SERIES),
        "the IPC answer carries every series"
    );
    let mut g = c.benchmark_group("snapshot_500_series");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    g.bench_function("ipc_round_trip", |b| {
        b.iter(|| get_ipc_response(&window, request()))
    });
    g.bench_function("serde_json_same_data", |b| {
        b.iter(|| serde_json::to_vec(&snapshot).unwrap())
    });
    g.finish();
}

criterion_group!(benches, stream_tick, snapshot_round_trip);
criterion_main!(benches);
