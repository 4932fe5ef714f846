//! Paired ratios for the figures that have a target: each of our operations against its
//! peer, measured in alternating short rounds in one process.
//!
//! Criterion measures one function for seconds, then the next; on a shared machine the
//! speed drifts between the two, and a ratio of two such medians moved by ±30% between
//! runs here. Alternating rounds of a few milliseconds put both sides under the same
//! conditions: every round yields one ratio, and the median of the rounds is what the
//! README's target column shows, with the middle half of the rounds beside it.
//!
//! `cargo bench -p telemetry-engine --bench paired` prints the ratios and writes
//! `target/paired.json`, which `scripts/bench-table.py` reads. Without `--bench` (as
//! `cargo test --all-targets` runs it) every pair runs one short round and nothing is
//! written: a check that the benchmark works, not a measurement.
#![allow(missing_docs, clippy::unwrap_used)]
// The allocation counter below is a `GlobalAlloc`, which is unsafe to implement.
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{
    attrs3, ours, ours_span, ours_traced, ours_traced_running, ours_with, raw_sdk, raw_traced,
    sdk_span, Processor, EVERY_TRACE,
};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::Sampler;
use serde_json::json;
use telemetry_engine::config::TelemetryConfig;
use telemetry_engine::TelemetryManager;

/// The system allocator, counting the allocations and bytes of the thread that has
/// [`COUNTING`] set (outside the timed rounds: a thread-local read is all it adds to
/// them). The engine's own threads (its event bus, its first collection just after the
/// start) are not counted: what is measured is what recording costs the thread that
/// records.
struct Counted;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED: AtomicU64 = AtomicU64::new(0);

fn count(size: usize) {
    if COUNTING.get() {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED.fetch_add(size as u64, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed to the system allocator unchanged; counting touches only
// atomics and a constant-initialised thread-local flag (no destructor), and never
// allocates.
unsafe impl GlobalAlloc for Counted {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counted = Counted;

/// Allocations and bytes allocated per call of `f`, over `n` calls after as many unmeasured.
fn allocations(f: &mut impl FnMut(), n: u64) -> (f64, f64) {
    time(f, n);
    ALLOCATIONS.store(0, Ordering::Relaxed);
    ALLOCATED.store(0, Ordering::Relaxed);
    COUNTING.set(true);
    time(f, n);
    COUNTING.set(false);
    let per_call = |total: &AtomicU64| total.load(Ordering::Relaxed) as f64 / n as f64;
    (per_call(&ALLOCATIONS), per_call(&ALLOCATED))
}

/// How much to measure.
#[derive(Clone, Copy)]
struct Plan {
    /// Rounds per pair; odd, so the median is one round's ratio.
    rounds: usize,
    /// The length of one side of a round.
    round: Duration,
    /// Rounds run first and not counted (caches, lazily built state).
    warm_up: usize,
}

const MEASURE: Plan = Plan {
    rounds: 61,
    round: Duration::from_millis(4),
    warm_up: 10,
};

const CHECK: Plan = Plan {
    rounds: 1,
    round: Duration::from_micros(100),
    warm_up: 0,
};

/// One pair's result: the ratio ours / peer per round, summarised.
struct Paired {
    group: &'static str,
    ours: &'static str,
    peer: &'static str,
    median: f64,
    p25: f64,
    p75: f64,
}

/// Times `n` calls of `f`.
fn time(f: &mut impl FnMut(), n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed()
}

/// How many calls of `f` take about `round`.
fn calls_per_round(f: &mut impl FnMut(), round: Duration) -> u64 {
    let mut n = 16;
    loop {
        let t = time(f, n);
        if t >= round / 4 {
            let per_call = t.as_secs_f64() / n as f64;
            return ((round.as_secs_f64() / per_call) as u64).max(1);
        }
        n *= 4;
    }
}

fn pair(
    plan: Plan,
    (group, ours_name, peer_name): (&'static str, &'static str, &'static str),
    mut ours: impl FnMut(),
    mut peer: impl FnMut(),
) -> Paired {
    let n = calls_per_round(&mut peer, plan.round);
    for _ in 0..plan.warm_up {
        time(&mut ours, n);
        time(&mut peer, n);
    }
    let mut ratios: Vec<f64> = (0..plan.rounds)
        .map(|round| {
            // Alternate which side goes first, so neither always follows the other.
            let (a, b) = if round % 2 == 0 {
                let a = time(&mut ours, n);
                (a, time(&mut peer, n))
            } else {
                let b = time(&mut peer, n);
                (time(&mut ours, n), b)
            };
            a.as_secs_f64() / b.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    let result = Paired {
        group,
        ours: ours_name,
        peer: peer_name,
        median: at(0.5),
        p25: at(0.25),
        p75: at(0.75),
    };
    if plan.rounds > 1 {
        println!(
        "{group}/{ours_name} ÷ {peer_name}: {:.2}× (middle half {:.2}–{:.2}×, {} rounds of {n} calls)",
        result.median, result.p25, result.p75, plan.rounds
    );
    }
    result
}

fn metrics_pairs(plan: Plan, out: &mut Vec<Paired>) {
    let telemetry = ours(2000);
    let m = telemetry.metrics().clone();
    let provider = raw_sdk();
    let meter = provider.meter("bench");
    let a = attrs3();

    let sdk = meter.u64_counter("sdk_counter").build();
    for (group, attrs) in [
        ("counter_add_0_attrs", &[][..]),
        ("counter_add_3_attrs", &a[..]),
    ] {
        let name = if attrs.is_empty() {
            "c0_total"
        } else {
            "c3_total"
        };
        let bound = m.counter(name).unwrap().bind(attrs).unwrap();
        let sdk_bound = sdk.bind(attrs);
        out.push(pair(
            plan,
            (group, "ours_bound", "sdk_bound"),
            || bound.add(black_box(1)),
            || sdk_bound.add(black_box(1)),
        ));
        out.push(pair(
            plan,
            (group, "ours_by_name", "sdk_add"),
            || m.add(name, black_box(1), attrs).unwrap(),
            || sdk.add(black_box(1), attrs),
        ));
    }

    let buckets = TelemetryConfig::default()
        .metrics
        .aggregation
        .histogram_buckets;
    let sdk = meter
        .f64_histogram("sdk_hist")
        .with_boundaries(buckets)
        .build();
    let sdk_bound = sdk.bind(&[]);
    let no_quantiles = ours_with(2000, |c| c.metrics.aggregation.summary_quantiles.clear());
    for (bench, metrics) in [
        ("ours_bound", &m),
        ("ours_bound_no_quantiles", no_quantiles.metrics()),
    ] {
        let bound = metrics.histogram("frame_ms").unwrap().bind(&[]).unwrap();
        out.push(pair(
            plan,
            ("histogram_record", bench, "sdk_bound"),
            || bound.record(black_box(16.7)).unwrap(),
            || sdk_bound.record(black_box(16.7)),
        ));
    }
    for (bench, metrics) in [
        ("ours_by_name", &m),
        ("ours_by_name_no_quantiles", no_quantiles.metrics()),
    ] {
        out.push(pair(
            plan,
            ("histogram_record", bench, "sdk_record"),
            || metrics.record("frame_ms", black_box(16.7), &[]).unwrap(),
            || sdk.record(black_box(16.7), &[]),
        ));
    }

    let sdk = meter.f64_gauge("sdk_gauge").build();
    let sdk_bound = sdk.bind(&[]);
    let bound = m.gauge("queue_size").unwrap().bind(&[]).unwrap();
    out.push(pair(
        plan,
        ("gauge_set", "ours_bound", "sdk_bound"),
        || bound.set(black_box(3.0)).unwrap(),
        || sdk_bound.record(black_box(3.0)),
    ));
    out.push(pair(
        plan,
        ("gauge_set", "ours_by_name", "sdk_record"),
        || m.set("queue_size", black_box(3.0), &[]).unwrap(),
        || sdk.record(black_box(3.0), &[]),
    ));
}

fn span_pairs(plan: Plan, out: &mut Vec<Paired>) {
    for (group, rate, sampler) in [
        ("span_3_attrs_sampled", 1.0, Sampler::AlwaysOn),
        ("span_3_attrs_not_sampled", 0.0, Sampler::AlwaysOff),
    ] {
        let per_second = TelemetryConfig::default()
            .tracing
            .store_max_traces_per_second;
        let (telemetry, runtime) = ours_traced_running(rate, per_second);
        let tracer = telemetry.tracer().clone();
        // Not started: no event bus reads the trace store (started, it wakes at most every
        // `FEED_INTERVAL` and, with nobody watching, passes over what completed).
        let alone = ours_traced(rate);
        let alone_tracer = alone.tracer().clone();
        let provider = raw_traced(sampler, Processor::Noop);
        let sdk = provider.tracer("bench");
        let mut ours = || ours_span(&tracer);
        let mut peer = || sdk_span(&sdk);
        if plan.rounds > 1 && rate > 0.0 {
            // A loop ends far more than the store keeps every one of: measured is the
            // steady state of such a flood, once the store keeps a share.
            flood_until_a_share_is_kept(&telemetry, &mut ours);
            flood_until_a_share_is_kept(&alone, || ours_span(&alone_tracer));
        }
        if plan.rounds > 1 {
            // More than the store keeps, so that its evictions are counted too.
            let n = 4096;
            let (ours_count, ours_bytes) = allocations(&mut ours, n);
            let (peer_count, peer_bytes) = allocations(&mut peer, n);
            println!(
                "{group}: allocations per span: ours {ours_count:.2} ({ours_bytes:.0} B), \
                 sdk_noop_processor {peer_count:.2} ({peer_bytes:.0} B)"
            );
        }
        out.push(pair(
            plan,
            (group, "ours_span_builder", "sdk_noop_processor"),
            &mut ours,
            &mut peer,
        ));
        out.push(pair(
            plan,
            (group, "ours_span_builder_not_started", "sdk_noop_processor"),
            || ours_span(&alone_tracer),
            &mut peer,
        ));
        if rate > 0.0 {
            // The store keeping every trace, its load judged (a limit no loop reaches):
            // what each trace it keeps costs, as below `store_max_traces_per_second`.
            let (every, every_runtime) = ours_traced_running(rate, EVERY_TRACE);
            let every_tracer = every.tracer().clone();
            let mut ours = || ours_span(&every_tracer);
            if plan.rounds > 1 {
                let (count, bytes) = allocations(&mut ours, 4096);
                println!("{group}: allocations per span kept: ours {count:.2} ({bytes:.0} B)");
            }
            out.push(pair(
                plan,
                (
                    group,
                    "ours_span_builder_every_trace_kept",
                    "sdk_noop_processor",
                ),
                ours,
                &mut peer,
            ));
            every_runtime.block_on(every.shutdown());
        }
        runtime.block_on(telemetry.shutdown());
    }
}

/// Ends spans with `span` until `telemetry`'s trace store keeps a share of them (its first
/// window of a second keeps every one; at most 30 s).
fn flood_until_a_share_is_kept(telemetry: &TelemetryManager, mut span: impl FnMut()) {
    let started = Instant::now();
    while telemetry.traces().load().kept_share == 1.0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the store kept every trace of a flood"
        );
        for _ in 0..1000 {
            span();
        }
    }
}

/// `/metrics` of 10,000 counter series against the `prometheus` crate rendering the same
/// series (an `IntCounterVec`: `gather` and the `TextEncoder`, into a new buffer each).
fn scrape_pairs(plan: Plan, out: &mut Vec<Paired>) {
    const SERIES: usize = 10_000;
    let telemetry = ours(SERIES + 10);
    let counter = telemetry.metrics().counter("api_requests_total").unwrap();
    let registry = prometheus::Registry::new();
    let peer = prometheus::IntCounterVec::new(
        prometheus::Opts::new("api_requests_total", "help"),
        &["id"],
    )
    .unwrap();
    registry.register(Box::new(peer.clone())).unwrap();
    for i in 0..SERIES {
        counter
            .add(1, &[opentelemetry::KeyValue::new("id", i as i64)])
            .unwrap();
        peer.with_label_values(&[&i.to_string()]).inc();
    }
    out.push(pair(
        plan,
        ("scrape_10k_series", "ours", "prometheus_crate"),
        || {
            black_box(telemetry.render_prometheus().unwrap().len());
        },
        || {
            let mut text = Vec::new();
            prometheus::Encoder::encode(
                &prometheus::TextEncoder::new(),
                &registry.gather(),
                &mut text,
            )
            .unwrap();
            black_box(text.len());
        },
    ));
}

fn main() {
    // `cargo bench` passes `--bench`; a filter is not supported: every pair runs (~15 s).
    let measuring = std::env::args().any(|a| a == "--bench");
    let plan = if measuring { MEASURE } else { CHECK };
    let mut out = Vec::new();
    metrics_pairs(plan, &mut out);
    span_pairs(plan, &mut out);
    scrape_pairs(plan, &mut out);
    if !measuring {
        return;
    }
    let json: serde_json::Map<String, serde_json::Value> = out
        .iter()
        .map(|p| {
            (
                format!("{}/{}", p.group, p.ours),
                json!({ "peer": p.peer, "median": p.median, "p25": p.p25, "p75": p.p75 }),
            )
        })
        .collect();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/paired.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    println!("written to {}", path.display());
}
