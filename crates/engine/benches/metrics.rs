//! The recording hot path, the scrape and the collector, each beside its peers in the
//! same run: raw opentelemetry_sdk (same reader: the SDK's manual reader; for the scrape,
//! the SDK's opentelemetry-prometheus exporter set up without scope labels and unit
//! suffixes), the `metrics` crate (metrics-exporter-prometheus recorder) and the
//! `prometheus` crate (an `IntCounterVec`, gathered and text-encoded).
//!
//! Run with `make bench`; `scripts/bench-table.py` turns the results into the README
//! table of ratios. Ratios, not absolute times, are what to compare: these machines are
//! noisy.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{attrs3, ours, ours_with, raw_sdk};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use telemetry_engine::config::TelemetryConfig;

fn metrics_recorder() -> metrics_exporter_prometheus::PrometheusRecorder {
    metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder()
}

const LABELS3: [(&str, &str); 3] = [
    ("method", "POST"),
    ("endpoint", "/render"),
    ("status", "success"),
];

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    g
}

fn counter_add(c: &mut Criterion) {
    let telemetry = ours(2000);
    let m = telemetry.metrics().clone();
    let provider = raw_sdk();
    let meter = provider.meter("bench");
    let sdk = meter.u64_counter("sdk_counter").build();
    let recorder = metrics_recorder();
    let prom = prometheus::IntCounter::new("prom_counter", "help").unwrap();
    let prom_vec = prometheus::IntCounterVec::new(
        prometheus::Opts::new("prom_counter_vec", "help"),
        &["method", "endpoint", "status"],
    )
    .unwrap();

    let mut g = group(c, "counter_add_0_attrs");
    let bound = m.counter("c0_total").unwrap().bind(&[]).unwrap();
    g.bench_function("ours_bound", |b| b.iter(|| bound.add(black_box(1))));
    let handle = m.counter("c0_total").unwrap();
    g.bench_function("ours_handle", |b| {
        b.iter(|| handle.add(black_box(1), &[]).unwrap())
    });
    g.bench_function("ours_by_name", |b| {
        b.iter(|| m.add("c0_total", black_box(1), &[]).unwrap())
    });
    let sdk_bound = sdk.bind(&[]);
    g.bench_function("sdk_bound", |b| b.iter(|| sdk_bound.add(black_box(1))));
    g.bench_function("sdk_add", |b| b.iter(|| sdk.add(black_box(1), &[])));
    let mc = metrics::with_local_recorder(&recorder, || metrics::counter!("mc0"));
    g.bench_function("metrics_handle", |b| b.iter(|| mc.increment(black_box(1))));
    g.bench_function("metrics_by_name", |b| {
        b.iter(|| {
            metrics::with_local_recorder(&recorder, || {
                metrics::counter!("mc0").increment(black_box(1))
            })
        })
    });
    g.bench_function("prometheus_crate", |b| b.iter(|| prom.inc_by(black_box(1))));
    g.finish();

    let mut g = group(c, "counter_add_3_attrs");
    let a = attrs3();
    let bound = m.counter("c3_total").unwrap().bind(&a).unwrap();
    g.bench_function("ours_bound", |b| b.iter(|| bound.add(black_box(1))));
    let handle = m.counter("c3_total").unwrap();
    g.bench_function("ours_handle", |b| {
        b.iter(|| handle.add(black_box(1), &a).unwrap())
    });
    g.bench_function("ours_by_name", |b| {
        b.iter(|| m.add("c3_total", black_box(1), &a).unwrap())
    });
    let sdk_bound = sdk.bind(&a);
    g.bench_function("sdk_bound", |b| b.iter(|| sdk_bound.add(black_box(1))));
    g.bench_function("sdk_add", |b| b.iter(|| sdk.add(black_box(1), &a)));
    let mc = metrics::with_local_recorder(&recorder, || metrics::counter!("mc3", &LABELS3));
    g.bench_function("metrics_handle", |b| b.iter(|| mc.increment(black_box(1))));
    g.bench_function("metrics_by_name", |b| {
        b.iter(|| {
            metrics::with_local_recorder(&recorder, || {
                metrics::counter!("mc3", &LABELS3).increment(black_box(1))
            })
        })
    });
    let pv = prom_vec.with_label_values(&["POST", "/render", "success"]);
    g.bench_function("prometheus_crate", |b| b.iter(|| pv.inc_by(black_box(1))));
    g.bench_function("prometheus_crate_by_labels", |b| {
        b.iter(|| {
            prom_vec
                .with_label_values(&["POST", "/render", "success"])
                .inc_by(black_box(1))
        })
    });
    g.finish();
}

fn histogram_and_gauge(c: &mut Criterion) {
    let telemetry = ours(2000);
    let m = telemetry.metrics().clone();
    let provider = raw_sdk();
    let meter = provider.meter("bench");
    let recorder = metrics_recorder();

    let mut g = group(c, "histogram_record");
    let h = m.histogram("frame_ms").unwrap();
    let bound = h.bind(&[]).unwrap();
    g.bench_function("ours_bound", |b| {
        b.iter(|| bound.record(black_box(16.7)).unwrap())
    });
    let no_quantiles = ours_with(2000, |c| c.metrics.aggregation.summary_quantiles.clear());
    let plain = no_quantiles
        .metrics()
        .histogram("frame_ms")
        .unwrap()
        .bind(&[])
        .unwrap();
    g.bench_function("ours_bound_no_quantiles", |b| {
        b.iter(|| plain.record(black_box(16.7)).unwrap())
    });
    g.bench_function("ours_handle", |b| {
        b.iter(|| h.record(black_box(16.7), &[]).unwrap())
    });
    g.bench_function("ours_by_name", |b| {
        b.iter(|| m.record("frame_ms", black_box(16.7), &[]).unwrap())
    });
    let plain_metrics = no_quantiles.metrics();
    g.bench_function("ours_by_name_no_quantiles", |b| {
        b.iter(|| {
            plain_metrics
                .record("frame_ms", black_box(16.7), &[])
                .unwrap()
        })
    });
    let sdk = meter
        .f64_histogram("sdk_hist")
        .with_boundaries(
            TelemetryConfig::default()
                .metrics
                .aggregation
                .histogram_buckets,
        )
        .build();
    let sdk_bound = sdk.bind(&[]);
    g.bench_function("sdk_bound", |b| {
        b.iter(|| sdk_bound.record(black_box(16.7)))
    });
    g.bench_function("sdk_record", |b| {
        b.iter(|| sdk.record(black_box(16.7), &[]))
    });
    let mh = metrics::with_local_recorder(&recorder, || metrics::histogram!("mh"));
    g.bench_function("metrics_handle", |b| b.iter(|| mh.record(black_box(16.7))));
    let ph =
        prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("ph", "help")).unwrap();
    g.bench_function("prometheus_crate", |b| {
        b.iter(|| ph.observe(black_box(16.7)))
    });
    g.finish();

    let mut g = group(c, "gauge_set");
    let gauge = m.gauge("queue_size").unwrap();
    let bound = gauge.bind(&[]).unwrap();
    g.bench_function("ours_bound", |b| {
        b.iter(|| bound.set(black_box(3.0)).unwrap())
    });
    g.bench_function("ours_handle", |b| {
        b.iter(|| gauge.set(black_box(3.0), &[]).unwrap())
    });
    g.bench_function("ours_by_name", |b| {
        b.iter(|| m.set("queue_size", black_box(3.0), &[]).unwrap())
    });
    let sdk = meter.f64_gauge("sdk_gauge").build();
    let sdk_bound = sdk.bind(&[]);
    g.bench_function("sdk_bound", |b| b.iter(|| sdk_bound.record(black_box(3.0))));
    g.bench_function("sdk_record", |b| b.iter(|| sdk.record(black_box(3.0), &[])));
    let mg = metrics::with_local_recorder(&recorder, || metrics::gauge!("mg"));
    g.bench_function("metrics_handle", |b| b.iter(|| mg.set(black_box(3.0))));
    let pg = prometheus::Gauge::new("pg", "help").unwrap();
    g.bench_function("prometheus_crate", |b| b.iter(|| pg.set(black_box(3.0))));
    g.finish();
}

const SERIES: usize = 10_000;

fn scrape(c: &mut Criterion) {
    let telemetry = ours(SERIES + 10);
    let counter = telemetry.metrics().counter("api_requests_total").unwrap();
    let registry = prometheus::Registry::new();
    let mut sdk_builder = opentelemetry_sdk::metrics::SdkMeterProvider::builder();
    let sdk_registry = prometheus::Registry::new();
    // Set up as ours had been: no `otel_scope_*` label on every series, no unit suffix.
    let reader = opentelemetry_prometheus::exporter()
        .with_registry(sdk_registry.clone())
        .scope_info_enabled(false)
        .without_units()
        .build()
        .unwrap();
    sdk_builder =
        sdk_builder
            .with_reader(reader)
            .with_view(|_: &opentelemetry_sdk::metrics::Instrument| {
                opentelemetry_sdk::metrics::Stream::builder()
                    .with_cardinality_limit(SERIES + 10)
                    .build()
                    .ok()
            });
    let sdk_provider = sdk_builder.build();
    let sdk = sdk_provider
        .meter("bench")
        .u64_counter("api_requests")
        .build();
    let recorder = metrics_recorder();
    let handle = recorder.handle();
    let prom_vec = prometheus::IntCounterVec::new(
        prometheus::Opts::new("api_requests_total", "help"),
        &["id"],
    )
    .unwrap();
    registry.register(Box::new(prom_vec.clone())).unwrap();
    for i in 0..SERIES {
        let attrs = [KeyValue::new("id", i as i64)];
        counter.add(1, &attrs).unwrap();
        sdk.add(1, &attrs);
        let id = i.to_string();
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("api_requests_total", "id" => id.clone()).increment(1)
        });
        prom_vec.with_label_values(&[&id]).inc();
    }
    let mut g = group(c, "scrape_10k_series");
    g.bench_function("ours", |b| {
        b.iter(|| black_box(telemetry.render_prometheus().unwrap().len()))
    });
    g.bench_function("sdk_prometheus_exporter", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            prometheus::Encoder::encode(
                &prometheus::TextEncoder::new(),
                &sdk_registry.gather(),
                &mut out,
            )
            .unwrap();
            black_box(out.len())
        })
    });
    g.bench_function("metrics_exporter_prometheus", |b| {
        b.iter(|| black_box(handle.render().len()))
    });
    g.bench_function("prometheus_crate", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            prometheus::Encoder::encode(
                &prometheus::TextEncoder::new(),
                &registry.gather(),
                &mut out,
            )
            .unwrap();
            black_box(out.len())
        })
    });
    g.finish();
}

fn collector(c: &mut Criterion) {
    let telemetry = ours(2000);
    let mut collector =
        telemetry_engine::collectors::SystemCollector::new(telemetry.metrics()).unwrap();
    let mut g = group(c, "collector_cycle");
    g.bench_function("ours", |b| b.iter(|| collector.collect().unwrap()));
    let mut everything = sysinfo::System::new_all().unwrap();
    g.bench_function("sysinfo_refresh_all", |b| {
        b.iter(|| everything.refresh_all())
    });
    g.finish();
}

criterion_group!(benches, counter_add, histogram_and_gauge, scrape, collector);
criterion_main!(benches);
