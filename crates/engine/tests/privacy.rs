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
