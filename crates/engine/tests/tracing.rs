//! The span API end to end through the SDK into the trace store.
#![allow(clippy::unwrap_used)]
// The spec writes `set_attribute("k", &value.to_string())`; the tests keep that shape.
#![allow(clippy::needless_borrows_for_generic_args)]

mod common;

use std::sync::Arc;

use telemetry_engine::config::{FileExporterConfig, TelemetryConfig, TracingExporter};
use telemetry_engine::export::ExportStatus;
use telemetry_engine::tracing::TraceQuery;
use telemetry_engine::TelemetryManager;

async fn manager(adjust: impl FnOnce(&mut TelemetryConfig)) -> Arc<TelemetryManager> {
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    adjust(&mut config);
    common::start(config).await
}

#[derive(Debug)]
struct RenderError(&'static str);
impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_trace_async_builds_a_tree_with_attributes_events_and_errors() {
    let telemetry = manager(|_| {}).await;
    let tracer = telemetry.tracer().clone();
    let result: Result<(), RenderError> = tracer
        .trace_async("video_render_pipeline", |span| {
            let tracer = tracer.clone();
            async move {
                span.set_attribute("video_id", "12345");
                span.set_attribute("resolution", &"1920x1080".to_string());
                span.add_event("preparation_started");
                tokio::task::yield_now().await;
                let frames = tracer
                    .trace_async("video_render", |render| async move {
                        render.set_attribute("frames_count", 3600_i64);
                        Ok::<_, RenderError>(3600)
                    })
                    .await?;
                assert_eq!(frames, 3600);
                tracer
                    .trace_async("finalize", |_| async {
                        Err::<(), _>(RenderError("disk full"))
                    })
                    .await
            }
        })
        .await;
    assert!(result.is_err());

    let traces = telemetry.traces().query(&TraceQuery::default());
    assert_eq!(traces.len(), 1);
    let trace = &traces[0];
    assert_eq!(trace.name, "video_render_pipeline");
    assert!(trace.error);
    assert_eq!(trace.spans.len(), 3);
    let root = &trace.spans[0];
    assert_eq!(root.parent_span_id, None);
    assert_eq!(root.attributes["video_id"], "12345");
    assert_eq!(root.attributes["resolution"], "1920x1080");
    assert_eq!(root.events[0].1, "preparation_started");
    assert_eq!(
        root.error.as_deref(),
        Some("disk full"),
        "the closure's error marks the span"
    );
    let render = trace
        .spans
        .iter()
        .find(|s| s.name == "video_render")
        .unwrap();
    assert_eq!(
        render.parent_span_id.as_deref(),
        Some(root.span_id.as_str())
    );
    assert_eq!(render.attributes["frames_count"], "3600");
    assert_eq!(render.error, None);
    let finalize = trace.spans.iter().find(|s| s.name == "finalize").unwrap();
    assert_eq!(finalize.error.as_deref(), Some("disk full"));
    assert_eq!(telemetry.traces().get(&trace.trace_id).unwrap(), *trace);
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_spans_with_parent_and_sync_trace() {
    let telemetry = manager(|_| {}).await;
    let tracer = telemetry.tracer();
    let main = tracer
        .span_builder("complex_video_operation")
        .with_attribute("batch_size", "3")
        .start(tracer);
    for i in 0..3 {
        let item = tracer
            .span_builder(format!("process_item_{i}"))
            .with_attribute("item_index", &i.to_string())
            .with_parent(&main)
            .start(tracer);
        item.add_event("processing_successful");
        item.end();
    }
    let sync: Result<u32, String> = tracer.trace("count", |s| {
        s.set_attribute("sync", true);
        Ok(7)
    });
    assert_eq!(sync.unwrap(), 7);
    main.end();

    let all = telemetry.traces().query(&TraceQuery::default());
    let batch = telemetry.traces().query(&TraceQuery {
        name: Some("complex".into()),
        ..Default::default()
    });
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].spans.len(), 4);
    assert!(batch[0].spans[1..]
        .iter()
        .all(|s| s.parent_span_id.as_deref() == Some(batch[0].spans[0].span_id.as_str())));
    let by_attribute = telemetry.traces().query(&TraceQuery {
        attribute: Some(("item_index".into(), "2".into())),
        ..Default::default()
    });
    assert_eq!(by_attribute.len(), 1);
    assert_eq!(all.len(), 2, "the sync span is a trace of its own");
    assert!(telemetry
        .traces()
        .query(&TraceQuery {
            error: Some(true),
            ..Default::default()
        })
        .is_empty());
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_keeps_the_rate_and_children_follow_their_parent() {
    let telemetry = manager(|c| c.tracing.sample_rate = 0.1).await;
    let tracer = telemetry.tracer();
    let roots = 10_000;
    let mut sampled = 0;
    for _ in 0..roots {
        let root = tracer.span_builder("root").start(tracer);
        let child = tracer
            .span_builder("child")
            .with_parent(&root)
            .start(tracer);
        assert_eq!(
            child.is_sampled(),
            root.is_sampled(),
            "ParentBased: the child follows"
        );
        sampled += usize::from(root.is_sampled());
    }
    // Binomial(10000, 0.1): mean 1000, sd 30; five sd either side.
    assert!(
        (850..=1150).contains(&sampled),
        "sampled {sampled} of {roots}"
    );
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn span_limits_drop_and_count() {
    let telemetry = manager(|c| {
        c.tracing.max_attributes_per_span = 2;
        c.tracing.max_events_per_span = 1;
    })
    .await;
    let tracer = telemetry.tracer();
    let span = tracer.span_builder("limited").start(tracer);
    for i in 0..5_i64 {
        span.set_attribute(format!("k{i}"), i);
        span.add_event(format!("e{i}"));
    }
    span.end();
    let trace = &telemetry.traces().query(&TraceQuery::default())[0];
    assert_eq!(trace.spans[0].attributes.len(), 2);
    assert_eq!(trace.spans[0].dropped_attributes, 3);
    assert_eq!(trace.spans[0].events.len(), 1);
    assert_eq!(trace.spans[0].dropped_events, 4);
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_tracing_records_nothing() {
    let off = manager(|c| c.tracing.enabled = false).await;
    off.tracer().trace("x", |_| Ok::<_, String>(())).unwrap();
    assert!(off.traces().is_empty());
    off.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_exporter_writes_otlp_json_and_rotation_keeps_every_span() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/traces.json");
    let telemetry = manager(|c| {
        c.service_name = "studio-file".into();
        c.tracing.batch_export.max_batch_size = 7;
        c.tracing.exporters = vec![TracingExporter::File(FileExporterConfig {
            path: path.display().to_string(),
            max_file_bytes: 2048,
            max_files: 1000,
        })];
    })
    .await;
    let tracer = telemetry.tracer();
    let spans = 120;
    for i in 0..spans {
        tracer
            .span_builder(format!("frame_{i}"))
            .with_attribute("i", &i.to_string())
            .start(tracer)
            .end();
    }
    telemetry.shutdown().await;
    assert_eq!(
        telemetry.get_export_status().await[&format!("traces:file:{}", path.display())],
        ExportStatus::Healthy
    );

    let mut files = vec![path.clone()];
    files.extend(
        (1..=1000)
            .map(|n| dir.path().join(format!("logs/traces.json.{n}")))
            .filter(|p| p.exists()),
    );
    assert!(files.len() > 2, "small files rotated: {files:?}");
    let mut names = std::collections::BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // A file stays within the budget, unless one line alone is larger (lines are whole).
        let within = text.len() <= 2048 || text.lines().count() == 1;
        assert!(within, "{} is {} bytes", file.display(), text.len());
        for line in text.lines() {
            let request: serde_json::Value = serde_json::from_str(line).unwrap();
            let resource_spans = &request["resourceSpans"][0];
            let service = resource_spans["resource"]["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|kv| kv["key"] == "service.name")
                .unwrap();
            assert_eq!(service["value"]["stringValue"], "studio-file");
            for span in resource_spans["scopeSpans"][0]["spans"].as_array().unwrap() {
                let trace_id = span["traceId"].as_str().unwrap();
                assert_eq!(trace_id.len(), 32, "OTLP JSON ids are hex: {trace_id}");
                assert!(trace_id.chars().all(|c| c.is_ascii_hexdigit()));
                names.insert(span["name"].as_str().unwrap().to_owned());
            }
        }
    }
    assert_eq!(names.len(), spans, "every span is in some file, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_span_handle_still_carries_its_trace_to_children() {
    let telemetry = manager(|c| {
        c.tracing.sample_rate = 0.0;
        c.tracing.local_sample_rate = 0.0;
    })
    .await;
    let tracer = telemetry.tracer();
    let root = tracer
        .span_builder("import")
        .with_attribute("files", 3_i64)
        .start(tracer);
    assert!(!root.is_sampled());
    root.set_attribute("ignored", true);
    let child = tracer
        .span_builder("decode")
        .with_parent(&root)
        .start(tracer);
    assert_eq!(child.trace_id(), root.trace_id(), "same trace");
    assert!(!child.is_sampled(), "children follow the parent's decision");
    assert!(
        root.traceparent().ends_with("-00"),
        "{}",
        root.traceparent()
    );
    let nested = {
        let _guard = root.context().attach();
        tracer.trace("probe", |s| Ok::<_, String>((s.trace_id(), s.is_sampled())))
    }
    .unwrap();
    assert_eq!(nested, (root.trace_id(), false));
    child.end();
    root.end();
    assert!(
        telemetry.traces().is_empty(),
        "nothing sampled or recorded, nothing stored"
    );
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_traces_makes_the_store_keep_a_share_reported_as_metrics() {
    const PER_SECOND: f64 = 50.0;
    let telemetry = manager(|c| c.tracing.store_max_traces_per_second = 50).await;
    let tracer = telemetry.tracer().clone();
    let store = telemetry.traces().clone();
    // Spans end far faster than 50 a second. The first window of a second keeps every
    // trace and sets the share; the second is measured here, from the share's change to
    // its close (the first estimate of traces passed over).
    let flood = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let flood = |until: &dyn Fn() -> bool| -> u64 {
            let mut ended = 0;
            while !until() {
                assert!(started.elapsed() < std::time::Duration::from_secs(60));
                for _ in 0..100 {
                    tracer.span_builder("flood").start(&tracer).end();
                }
                ended += 100;
            }
            ended
        };
        flood(&|| store.load().kept_share < 1.0);
        let second = std::time::Instant::now();
        let ended = flood(&|| store.load().passed_over > 0);
        (ended, second.elapsed().as_secs_f64(), store.load())
    });
    let (ended, seconds, load) = flood.await.unwrap();
    let rate = ended as f64 / seconds;
    // A power of two, keeping about 50 a second (at most, give or take the noise).
    assert_eq!(load.kept_share.log2().fract(), 0.0, "{load:?}");
    let kept = load.kept_share * rate;
    assert!(
        (PER_SECOND / 4.0..PER_SECOND * 2.0).contains(&kept),
        "{kept:.0} of {rate:.0} a second kept: {load:?}"
    );
    let expected = ended as f64 * (1.0 - load.kept_share);
    assert!(
        (expected * 0.5..expected * 1.5).contains(&(load.passed_over as f64)),
        "{ended} ended in the second window: {load:?}"
    );
    telemetry.collect_now().await;
    let text = telemetry.render_prometheus().unwrap();
    let value = |name: &str| -> f64 {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(value("telemetry_store_traces_kept_ratio "), load.kept_share);
    assert_eq!(
        value("telemetry_store_traces_passed_over_total "),
        load.passed_over as f64
    );
    telemetry.shutdown().await;
}
