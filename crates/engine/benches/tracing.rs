//! Span start + end with three attributes, sampled and not, through our API beside raw
//! opentelemetry_sdk (with a processor that drops every span, the reference; with the
//! same span processor as ours, the in-app trace store; and with none) and beside `tracing` spans on a `tracing-subscriber` registry, alone and bridged
//! into our pipeline by `tracing_layer()`.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{
    ours_recorded_only, ours_span, ours_traced_running, raw_traced, sdk_span, Processor,
    EVERY_TRACE,
};
use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::Sampler;
use tracing_subscriber::layer::SubscriberExt as _;

fn spans(c: &mut Criterion) {
    for (group, rate, sampler) in [
        ("span_3_attrs_sampled", 1.0, Sampler::AlwaysOn),
        ("span_3_attrs_not_sampled", 0.0, Sampler::AlwaysOff),
    ] {
        // The stores keep every trace, as they do below `store_max_traces_per_second` a
        // second (the paired bench measures a flood, where a share is kept).
        let (telemetry, _runtime) = ours_traced_running(rate, EVERY_TRACE);
        let tracer = telemetry.tracer().clone();
        let with_store = raw_traced(sampler.clone(), Processor::Store);
        let sdk_store = with_store.tracer("bench");
        let noop = raw_traced(sampler.clone(), Processor::Noop);
        let sdk_noop = noop.tracer("bench");
        let bare = raw_traced(sampler, Processor::None);
        let sdk_bare = bare.tracer("bench");
        let mut g = c.benchmark_group(group);
        g.warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .sample_size(30);
        // Sampled, the store keeps every trace, as below its rate limit (a flood, where it
        // keeps a share, is `paired`'s `ours_span_builder`).
        let name = if rate > 0.0 {
            "ours_span_builder_every_trace_kept"
        } else {
            "ours_span_builder"
        };
        g.bench_function(name, |b| b.iter(|| ours_span(&tracer)));
        g.bench_function("ours_trace", |b| {
            b.iter(|| {
                tracer.trace("render", |s| {
                    s.set_attribute("codec", "h264");
                    s.set_attribute("frame", 42_i64);
                    s.set_attribute("keyframe", true);
                    Ok::<_, String>(black_box(1))
                })
            })
        });
        if rate == 0.0 {
            // Not exported, but recorded for the in-app trace list (local_sample_rate 1.0).
            let recorded = ours_recorded_only();
            let recording = recorded.tracer().clone();
            g.bench_function("ours_recorded_for_the_panel", |b| {
                b.iter(|| ours_span(&recording))
            });
        }
        g.bench_function("sdk_noop_processor", |b| b.iter(|| sdk_span(&sdk_noop)));
        g.bench_function("sdk_same_processor", |b| b.iter(|| sdk_span(&sdk_store)));
        g.bench_function("sdk_no_processor", |b| b.iter(|| sdk_span(&sdk_bare)));
        let subscriber = tracing_subscriber::registry();
        tracing::subscriber::with_default(subscriber, || {
            g.bench_function("tracing_crate_registry", |b| {
                b.iter(|| {
                    let span = tracing::info_span!(
                        "render",
                        codec = "h264",
                        frame = 42_i64,
                        keyframe = true
                    );
                    let _entered = black_box(span.enter());
                })
            });
        });
        // `tracing` spans bridged into OpenTelemetry spans of our pipeline.
        let bridged = tracing_subscriber::registry().with(telemetry.tracing_layer());
        tracing::subscriber::with_default(bridged, || {
            g.bench_function("tracing_crate_via_our_layer", |b| {
                b.iter(|| {
                    let span = tracing::info_span!(
                        "render",
                        codec = "h264",
                        frame = 42_i64,
                        keyframe = true
                    );
                    let _entered = black_box(span.enter());
                })
            });
        });
        g.finish();
    }
}

criterion_group!(benches, spans);
criterion_main!(benches);
