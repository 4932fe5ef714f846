//! Built-in checks against real processes and servers, the health endpoints on the
//! engine's server, and health as metrics.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use telemetry_engine::config::HealthCheckConfig;
use telemetry_engine::health::{
    DiskSpaceHealthCheck, FfmpegHealthCheck, HealthCheck, HealthCheckManager, HealthStatus,
    HttpHealthCheck, MemoryHealthCheck,
};

/// An executable shell script at `dir/name`.
fn script(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_found_missing_failing_and_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let good = script(
        dir.path(),
        "ffmpeg",
        "echo 'ffmpeg version 6.1.1-test Copyright (c) 2000-2023'",
    );
    let result = FfmpegHealthCheck::new().with_binary(&good).check().await;
    assert_eq!(result.status, HealthStatus::Healthy, "{}", result.message);
    assert_eq!(result.metadata["version"], "6.1.1-test");

    let missing = FfmpegHealthCheck::new()
        .with_binary(dir.path().join("nope/ffmpeg"))
        .check()
        .await;
    // Not there: the one on PATH if this machine has one, else Unhealthy saying what
    // was tried.
    if which::which("ffmpeg").is_ok() {
        assert_eq!(missing.metadata["source"], "path", "{}", missing.message);
    } else {
        assert_eq!(missing.status, HealthStatus::Unhealthy);
        assert!(
            missing.message.contains("nope/ffmpeg not found"),
            "{}",
            missing.message
        );
    }

    let failing = script(dir.path(), "ffmpeg-broken", "exit 3");
    let result = FfmpegHealthCheck::new().with_binary(&failing).check().await;
    assert_eq!(result.status, HealthStatus::Unhealthy);
    assert!(result.message.contains("exited with"), "{}", result.message);

    // A hanging binary: the manager's timeout ends the check and kills the process.
    let pid_file = dir.path().join("pid");
    let hanging = script(
        dir.path(),
        "ffmpeg-hangs",
        &format!("echo $$ > {}\nexec sleep 600", pid_file.display()),
    );
    let health = HealthCheckManager::new();
    health.set_default_timeout(Duration::from_millis(500));
    health
        .add_check(Box::new(FfmpegHealthCheck::new().with_binary(&hanging)))
        .await
        .unwrap();
    let report = health.check_all().await;
    assert_eq!(
        report.checks["ffmpeg"].message,
        "the check timed out after 500ms"
    );
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let proc_path = format!("/proc/{}", pid.trim());
    common::eventually(
        "the hanging ffmpeg to be killed",
        Duration::from_secs(10),
        || {
            let gone = std::fs::read_to_string(format!("{proc_path}/stat"))
                .map_or(true, |stat| stat.split_whitespace().nth(2) == Some("Z"));
            async move { gone.then_some(()) }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_check_against_a_real_server() {
    let app = axum::Router::new()
        .route("/ok", axum::routing::get(|| async { "ok" }))
        .route(
            "/down",
            axum::routing::get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "slow"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let check = |path: &str| HttpHealthCheck::new("render_api", format!("http://{addr}{path}"));
    let ok = check("/ok").check().await;
    assert_eq!(ok.status, HealthStatus::Healthy, "{}", ok.message);
    assert_eq!(ok.metadata["observedUnit"], "ms");
    let down = check("/down").check().await;
    assert_eq!(down.status, HealthStatus::Unhealthy);
    assert!(down.message.contains("503"), "{}", down.message);
    let slow = check("/slow")
        .warn_latency(Duration::from_millis(100))
        .check()
        .await;
    assert_eq!(slow.status, HealthStatus::Warning, "{}", slow.message);
    server.abort();
    let gone = check("/ok").check().await;
    assert_eq!(gone.status, HealthStatus::Unhealthy);
    assert!(gone.message.contains("unreachable"), "{}", gone.message);
}

#[tokio::test]
async fn disk_and_memory_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let roomy = DiskSpaceHealthCheck::new(dir.path(), 1.0).check().await;
    assert_ne!(roomy.status, HealthStatus::Unhealthy, "{}", roomy.message);
    assert_eq!(roomy.metadata["observedUnit"], "percent");
    let strict = DiskSpaceHealthCheck::new(dir.path(), 1e-9).check().await;
    assert_eq!(strict.status, HealthStatus::Unhealthy, "{}", strict.message);
    let memory = MemoryHealthCheck::new(1e-9).check().await;
    assert_eq!(memory.status, HealthStatus::Unhealthy, "{}", memory.message);
    assert!(MemoryHealthCheck::new(0.9)
        .tags()
        .contains(&"liveness".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_endpoints_speak_ietf_json_and_health_is_a_metric() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config_with_prometheus(false);
    config.health.checks = vec![
        HealthCheckConfig::Memory { threshold: 1.0 },
        HealthCheckConfig::Ffmpeg {
            binary: Some(dir.path().join("missing-ffmpeg").display().to_string()),
        },
    ];
    let telemetry = common::start(config).await;
    let base = format!("http://{}", telemetry.prometheus_addrs().await[0]);
    let (code, headers, body) = common::get(&format!("{base}/health"), false).await;
    assert_eq!(code, 503, "ffmpeg is missing");
    assert_eq!(headers["content-type"], "application/health+json");
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["status"], "fail");
    assert_eq!(doc["checks"]["ffmpeg"][0]["status"], "fail");
    assert_eq!(doc["checks"]["memory"][0]["observedUnit"], "percent");
    // Liveness holds only memory (pass or warn): 200.
    let (code, _, body) = common::get(&format!("{base}/health/live"), false).await;
    let live: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(code, 200, "{live}");
    assert_eq!(
        live["checks"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["memory"]
    );
    let (code, _, _) = common::get(&format!("{base}/health/ready"), false).await;
    assert_eq!(code, 503);
    telemetry.health().refresh().await;
    let text = telemetry.render_prometheus().unwrap();
    assert!(text.contains("\nsystem_health_status 3\n"), "{text}");
    assert!(text.contains("\nffmpeg_health_status 3\n"), "{text}");
    telemetry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_exporter_is_reported_without_making_the_app_unhealthy_unless_asked() {
    for counted in [false, true] {
        let mut config = common::config_with_prometheus(false);
        config.metrics.system_collectors = false;
        config.health.exporters_affect_status = counted;
        // A collector that refuses connections.
        config.tracing.exporters = vec![telemetry_engine::config::TracingExporter::Otlp(
            telemetry_engine::config::OtlpExporterConfig::http(format!(
                "http://127.0.0.1:{}/v1/traces",
                common::free_port()
            )),
        )];
        config.tracing.batch_export.max_export_timeout = Duration::from_secs(2);
        let telemetry = common::start(config).await;
        common::one_span(&telemetry).await;
        let report = telemetry.health().refresh().await;
        assert_eq!(report.checks["exporters"].status, HealthStatus::Unhealthy);
        let base = format!("http://{}", telemetry.prometheus_addrs().await[0]);
        let (ready, _, _) = common::get(&format!("{base}/health/ready"), false).await;
        let text = telemetry.render_prometheus().unwrap();
        if counted {
            assert_eq!(report.status, HealthStatus::Unhealthy);
            assert_eq!(ready, 503);
            assert!(text.contains("\nsystem_health_status 3\n"), "{text}");
        } else {
            assert_eq!(report.status, HealthStatus::Healthy, "{report:?}");
            assert_eq!(ready, 200);
            assert!(text.contains("\nsystem_health_status 1\n"), "{text}");
            assert!(text.contains("\nexporters_health_status 3\n"), "{text}");
        }
        telemetry.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_named_disk_checks_each_have_their_own_status() {
    let dir = tempfile::tempdir().unwrap();
    let disk = |name: &str, threshold: f64| HealthCheckConfig::DiskSpace {
        name: name.into(),
        path: dir.path().display().to_string(),
        threshold,
    };
    let mut config = common::config_with_prometheus(false);
    config.metrics.system_collectors = false;
    // The same disk, two limits: one can never be met, the other always is.
    config.health.checks = vec![disk("project_disk", 1.0), disk("cache_disk", 1e-9)];
    let telemetry = common::start(config.clone()).await;
    let report = telemetry.health().refresh().await;
    // A disk is never more than 100% used (Warning above 90% of the limit, though).
    let project = report.checks["project_disk"].status;
    assert!(project != HealthStatus::Unhealthy, "{project:?}");
    assert_eq!(report.checks["cache_disk"].status, HealthStatus::Unhealthy);
    let text = telemetry.render_prometheus().unwrap();
    let shown = format!("\nproject_disk_health_status {}\n", project.as_metric());
    assert!(text.contains(&shown), "{text}");
    assert!(text.contains("\ncache_disk_health_status 3\n"), "{text}");
    telemetry.shutdown().await;

    config.health.checks = vec![disk("cache_disk", 0.9), disk("cache_disk", 0.8)];
    let err = config.check_fields().unwrap_err().to_string();
    assert!(
        err.contains("health.checks[1]") && err.contains("\"cache_disk\" exists already"),
        "{err}"
    );
}
