//! The plugin names the app from the app: product name, version, one id per install kept
//! in the app's data directory. A test binary of its own: it points the data directory
//! (`XDG_DATA_HOME`) at a temporary one for the whole process.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Read as _;

use tauri::test::{mock_builder, mock_context, noop_assets};
use tauri::Manager;
use tauri_plugin_opentelemetry::engine::config::{Consent, LogsExporter};
use tauri_plugin_opentelemetry::{Builder, TelemetryConfig, TelemetryExt};

/// The data directory of every app of this process (set once: tests run in parallel).
fn data_home() -> &'static std::path::Path {
    static HOME: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("XDG_DATA_HOME", dir.path());
        dir
    })
    .path()
}

fn launch(config: TelemetryConfig) -> tauri::App<tauri::test::MockRuntime> {
    let mut config = config;
    config.metrics.system_collectors = false;
    let mut context = mock_context(noop_assets());
    context.config_mut().product_name = Some("Timeline Studio".into());
    context.config_mut().identifier = "com.example.timeline-studio".into();
    mock_builder()
        .plugin(Builder::new().config(config).strict(true).build())
        .build(context)
        .unwrap()
}

#[test]
fn the_app_names_the_service_and_one_install_keeps_one_instance_id() {
    let data = data_home();

    let first = launch(TelemetryConfig::default());
    let config = first.telemetry().config().clone();
    assert_eq!(config.service_name, "Timeline Studio");
    assert_eq!(
        config.service_version,
        first.package_info().version.to_string()
    );
    let id = config.resource_attributes["service.instance.id"].clone();
    let file = first
        .path()
        .app_data_dir()
        .unwrap()
        .join("telemetry")
        .join("instance-id");
    assert!(file.starts_with(data), "{}", file.display());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), id);
    assert_eq!(
        config.resource_attributes["deployment.environment.name"], "development",
        "a debug build"
    );
    drop(first);

    let second = launch(TelemetryConfig::default());
    assert_eq!(
        second.telemetry().config().resource_attributes["service.instance.id"],
        id,
        "the next launch of the install"
    );

    // What the configuration says is kept.
    let mut own = TelemetryConfig {
        service_name: "studio".into(),
        service_version: "3.1.0".into(),
        ..TelemetryConfig::default()
    };
    own.resource_attributes
        .insert("service.instance.id".into(), "render-node-4".into());
    let third = launch(own);
    let config = third.telemetry().config();
    assert_eq!(
        (
            config.service_name.as_str(),
            config.service_version.as_str()
        ),
        ("studio", "3.1.0")
    );
    assert_eq!(
        config.resource_attributes["service.instance.id"],
        "render-node-4"
    );
}

#[test]
fn relative_file_paths_land_in_the_app_log_directory() {
    data_home();
    let mut config = TelemetryConfig::default();
    config.logs.exporters = vec![LogsExporter::File(
        serde_json::from_value(serde_json::json!({"path": "./logs/studio.ecs.json"})).unwrap(),
    )];
    let app = launch(config);
    let LogsExporter::File(file) = &app.telemetry().config().logs.exporters[0] else {
        panic!("a file exporter");
    };
    let logs = app.path().app_log_dir().unwrap();
    assert_eq!(
        std::path::Path::new(&file.path),
        logs.join("logs/studio.ecs.json")
    );
}

#[test]
fn the_users_consent_is_kept_in_the_app_data_directory_for_the_next_launch() {
    data_home();
    let ask = || TelemetryConfig {
        consent: Consent::Ask,
        ..TelemetryConfig::default()
    };
    let first = launch(ask());
    let dir = first.path().app_data_dir().unwrap().join("telemetry");
    assert_eq!(
        first.telemetry().config().storage.dir.as_deref(),
        Some(dir.to_str().unwrap())
    );
    assert_eq!(first.telemetry().consent(), Consent::Ask);
    first.telemetry().set_consent(Consent::Denied).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("consent")).unwrap(),
        "denied\n"
    );
    drop(first);
    let second = launch(ask());
    assert_eq!(
        second.telemetry().consent(),
        Consent::Denied,
        "the user said no"
    );
}

#[test]
fn a_diagnostics_bundle_lands_in_the_app_log_directory() {
    data_home();
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    let (app, window) = support::app_with(&["opentelemetry:allow-write-diagnostics"], config);
    app.telemetry()
        .tracer()
        .trace("open_project", |_| Ok::<_, String>(()))
        .unwrap();
    let bad = support::invoke(
        &window,
        "write_diagnostics",
        serde_json::json!({"minutes": 0}),
    )
    .unwrap_err();
    assert!(bad.starts_with("minutes: 0 is not between"), "{bad}");
    let path = support::invoke(&window, "write_diagnostics", serde_json::json!({})).unwrap();
    let path = std::path::PathBuf::from(path.as_str().unwrap());
    assert!(
        path.starts_with(app.path().app_log_dir().unwrap().join("diagnostics")),
        "{}",
        path.display()
    );
    let mut json = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_string(&mut json)
        .unwrap();
    let bundle: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(bundle["traces"][0]["name"], "open_project");
    assert_eq!(bundle["windowMs"], 15 * 60 * 1000);
}
