//! Consent and scrubbing, seen from a real OTLP/HTTP receiver: without consent nothing
//! arrives while the in-app stores fill; granted, the next export arrives; the user's
//! home directory, e-mail addresses and the named attributes never arrive.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::otlp::{http_receiver, HttpReceiver};
use telemetry_engine::config::{
    Consent, LogsExporter, OtlpExporterConfig, TelemetryConfig, TracingExporter,
};
use telemetry_engine::export::ExportStatus;
use telemetry_engine::privacy::Outgoing;
use telemetry_engine::{KeyValue, TelemetryManager};
use tracing_subscriber::layer::SubscriberExt as _;

fn config_to(receiver: &HttpReceiver, data_dir: &std::path::Path) -> TelemetryConfig {
    let mut config = TelemetryConfig {
        service_name: "studio-privacy".into(),
        ..Default::default()
    };
    config.metrics.system_collectors = false;
    config.tracing.batch_export.export_interval = Duration::from_millis(100);
    config.tracing.exporters = vec![TracingExporter::Otlp(OtlpExporterConfig::http(format!(
        "http://{}/v1/traces",
        receiver.addr
    )))];
    config.logs.exporters = vec![LogsExporter::Otlp(OtlpExporterConfig::http(format!(
        "http://{}/v1/logs",
        receiver.addr
    )))];
    config.storage.dir = Some(data_dir.display().to_string());
    config
}

fn span_names(receiver: &mut HttpReceiver) -> Vec<String> {
    let mut names = Vec::new();
    while let Ok((request, _)) = receiver.rx.try_recv() {
        for rs in request.resource_spans {
            for ss in rs.scope_spans {
                names.extend(ss.spans.into_iter().map(|s| s.name));
            }
        }
    }
    names
}

fn consent_drops(telemetry: &TelemetryManager) -> f64 {
    let text = telemetry.render_prometheus().unwrap();
    text.lines()
        .filter(|l| l.starts_with("telemetry_spans_dropped_total") && l.contains("consent"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_leaves_without_consent_while_the_panel_fills_and_granted_sends_at_once() {
    let mut receiver = http_receiver(0).await;
    let dir = tempfile::tempdir().unwrap();
    let config = TelemetryConfig {
        consent: Consent::Ask,
        ..config_to(&receiver, dir.path())
    };
    let telemetry = common::start(config.clone()).await;
    // Ten export rounds without consent: each one's span is held back and counted.
    for round in 0..10 {
        telemetry
            .tracer()
            .trace("before_consent", |span| {
                span.set_attribute("round", i64::from(round));
                Ok::<_, String>(())
            })
            .unwrap();
        telemetry.force_flush().await;
    }
    assert_eq!(consent_drops(&telemetry), 10.0);
    assert_eq!(
        telemetry.traces().query(&Default::default()).len(),
        10,
        "the in-app panel has every trace"
    );
    assert!(matches!(
        &telemetry.get_export_status().await[&format!("traces:otlp:http://{}/v1/traces", receiver.addr)],
        ExportStatus::Degraded(why) if why == "nothing is sent: consent is ask"
    ));
    assert!(span_names(&mut receiver).is_empty(), "sent without consent");

    telemetry.set_consent(Consent::Granted).unwrap();
    telemetry
        .tracer()
        .trace("after_consent", |_| Ok::<_, String>(()))
        .unwrap();
    telemetry.force_flush().await;
    assert_eq!(span_names(&mut receiver), ["after_consent"]);
    telemetry.shutdown().await;

    // The next launch keeps the user's choice over the configured "ask"; withdrawn, the
    // next export sends nothing.
    let next = common::start(config).await;
    assert_eq!(next.consent(), Consent::Granted);
    next.set_consent(Consent::Denied).unwrap();
    next.tracer()
        .trace("after_withdrawal", |_| Ok::<_, String>(()))
        .unwrap();
    next.force_flush().await;
    assert!(span_names(&mut receiver).is_empty());
    assert_eq!(consent_drops(&next), 1.0);
    next.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_private_values_never_reach_the_receiver() {
    let home = std::env::home_dir().unwrap().display().to_string();
    assert!(home.len() > 1, "the test needs a home directory");
    let project = format!("{home}/Videos/wedding-cut.mp4");
    let email = "jane.doe@example.com";
    let mut receiver = http_receiver(0).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_to(&receiver, dir.path());
    config.privacy.drop_attributes = vec!["user.email".into()];
    config.privacy.hash_attributes = vec!["user.id".into()];
    config.metrics.exporters.clear();
    let telemetry = common::start(config).await;
    telemetry.set_before_send(Some(Arc::new(|record| match record {
        Outgoing::Span(span) => span.name != "drop_me",
        Outgoing::Log(log) => {
            log.attributes
                .retain(|(key, _)| key.as_str() != "project.title");
            true
        }
        _ => true,
    })));

    let failed = telemetry.tracer().trace("open_project", |span| {
        span.set_attribute("file.path", project.clone());
        span.set_attribute("user.email", email);
        span.set_attribute("user.id", "alice-42");
        span.add_event_with_attributes(
            format!("opened {project}"),
            vec![KeyValue::new("by", email)],
        );
        Err::<(), _>(format!("cannot read {project} for {email}"))
    });
    assert!(failed.is_err());
    telemetry
        .tracer()
        .trace("drop_me", |_| Ok::<_, String>(()))
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(telemetry.tracing_layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::error!(
            path = %project,
            user.email = email,
            project.title = "Jane's wedding",
            "export to {project} failed; mail {email}"
        );
    });
    telemetry
        .metrics()
        .add(
            "exports_total",
            1,
            &[KeyValue::new("dir", format!("{home}/Exports"))],
        )
        .unwrap();
    telemetry.collect_now().await;
    let exposition = telemetry.render_prometheus().unwrap();
    telemetry.shutdown().await;

    let mut sent = String::new();
    let mut span_count = 0;
    while let Ok((request, _)) = receiver.rx.try_recv() {
        span_count += request
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .map(|ss| ss.spans.len())
            .sum::<usize>();
        sent.push_str(&format!("{request:?}"));
    }
    let mut log_count = 0;
    while let Ok(request) = receiver.logs.try_recv() {
        log_count += request
            .resource_logs
            .iter()
            .flat_map(|rl| &rl.scope_logs)
            .map(|sl| sl.log_records.len())
            .sum::<usize>();
        sent.push_str(&format!("{request:?}"));
    }
    assert_eq!((span_count, log_count), (1, 1), "{sent}");
    for planted in [
        home.as_str(),
        email,
        "alice-42",
        "Jane's wedding",
        "drop_me",
    ] {
        assert!(
            !sent.contains(planted),
            "{planted:?} reached the receiver: {sent}"
        );
    }
    assert!(sent.contains("~/Videos/wedding-cut.mp4"), "{sent}");
    assert!(sent.contains("<email>"), "{sent}");
    assert!(sent.contains("sha256:"), "hashed, not dropped: {sent}");
    assert!(!exposition.contains(&home), "{exposition}");
    assert!(exposition.contains("dir=\"~/Exports\""), "{exposition}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diagnostics_bundle_holds_the_panels_data_scrubbed() {
    use std::io::Read as _;
    let home = std::env::home_dir().unwrap().display().to_string();
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    config.privacy.hash_attributes = vec!["user.id".into()];
    let telemetry = common::start(config).await;
    telemetry
        .metrics()
        .set(
            "render_queue_depth",
            4.0,
            &[KeyValue::new("project", format!("{home}/Videos/cut"))],
        )
        .unwrap();
    telemetry
        .tracer()
        .trace("export_video", |span| {
            span.set_attribute("user.id", "ann-7");
            span.set_attribute("notify", "ann@example.com");
            Ok::<_, String>(())
        })
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(telemetry.tracing_layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::warn!("disk nearly full under {home}/Videos");
    });
    telemetry.collect_now().await;

    // Over HTTP, as the dashboard page downloads it.
    let addr = telemetry.prometheus_addrs().await[0];
    let response = reqwest::get(format!("http://{addr}/api/diagnostics?minutes=5"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"studio-test-diagnostics-")
            && disposition.ends_with(".json.gz\""),
        "{disposition}"
    );
    let bytes = response.bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    let bundle: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(bundle["format"], "tauri-plugin-opentelemetry/diagnostics");
    assert_eq!(bundle["resource"]["service.name"], "studio-test");
    let series = bundle["series"].as_array().unwrap();
    let queue = series
        .iter()
        .find(|s| s["name"] == "render_queue_depth")
        .unwrap();
    assert_eq!(queue["labels"]["project"], "~/Videos/cut");
    assert_eq!(queue["points"][0][1], 4.0);
    let trace = &bundle["traces"][0];
    assert_eq!(trace["name"], "export_video");
    let attributes = &trace["spans"][0]["attributes"];
    assert!(attributes["user.id"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(attributes["notify"], "<email>");
    assert!(bundle["logs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["message"] == "disk nearly full under ~/Videos"));
    assert!(bundle["health"]["checks"].is_object());
    for planted in [home.as_str(), "ann-7", "ann@example.com"] {
        assert!(!text.contains(planted), "{planted:?} is in the bundle");
    }

    // To a file, as the plugin's command writes it.
    let dir = tempfile::tempdir().unwrap();
    let path = telemetry_engine::api::write_diagnostics(
        telemetry.sources(),
        dir.path(),
        Duration::from_secs(300),
    )
    .await
    .unwrap();
    assert!(path.starts_with(dir.path()));
    assert!(std::fs::metadata(&path).unwrap().len() > 100);
    let refused = telemetry_engine::api::diagnostics_gzip(telemetry.sources(), Duration::ZERO)
        .await
        .unwrap_err();
    assert!(refused.to_string().starts_with("window:"), "{refused}");
    telemetry.shutdown().await;
}
