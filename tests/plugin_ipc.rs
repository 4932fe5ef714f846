//! The plugin's commands over real IPC on Tauri's mock runtime, with the ACL built from
//! the permission files that build.rs generates: allowed calls answer, others are refused
//! by Tauri before any of our code runs.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::utils::acl::capability::Capability;
use tauri::utils::acl::manifest::{Manifest, PermissionFile};
use tauri::utils::acl::resolved::Resolved;
use tauri::utils::platform::Target;
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};
use tauri_plugin_opentelemetry::{Builder, TelemetryConfig, TelemetryExt, PLUGIN_ID};

fn plugin_manifest() -> Manifest {
    let list = std::fs::read_to_string(concat!(
        env!("OUT_DIR"),
        "/tauri-plugin-opentelemetry-permission-files"
    ))
    .unwrap();
    let files: Vec<String> = serde_json::from_str(&list).unwrap();
    let parsed: Vec<PermissionFile> = files
        .iter()
        .map(|f| toml::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect();
    Manifest::new(parsed, None)
}

fn app(
    permissions: &[&str],
) -> (
    App<tauri::test::MockRuntime>,
    WebviewWindow<tauri::test::MockRuntime>,
) {
    let mut context = mock_context(noop_assets());
    let acl = BTreeMap::from([(PLUGIN_ID.to_string(), plugin_manifest())]);
    let capability: Capability = serde_json::from_value(serde_json::json!({
        "identifier": "test",
        "windows": ["main"],
        "permissions": permissions,
    }))
    .unwrap();
    let resolved = Resolved::resolve(
        &acl,
        BTreeMap::from([("test".to_string(), capability)]),
        Target::current(),
    )
    .unwrap();
    *context.runtime_authority_mut() = tauri::runtime_authority!(acl, resolved);

    let mut config = TelemetryConfig {
        service_name: "ipc-test".into(),
        ..Default::default()
    };
    config.metrics.system_collectors = false;
    let app = mock_builder()
        .plugin(Builder::new().config(config).build())
        .build(context)
        .unwrap();
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    (app, window)
}

fn invoke(
    window: &WebviewWindow<tauri::test::MockRuntime>,
    command: &str,
) -> Result<serde_json::Value, serde_json::Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: format!("plugin:{PLUGIN_ID}|{command}"),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::default(),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<serde_json::Value>().unwrap())
}

#[test]
fn default_permissions_allow_the_read_commands() {
    let (app, window) = app(&["opentelemetry:default"]);
    let telemetry = app.telemetry().clone();
    tauri::async_runtime::block_on(async {
        telemetry
            .metrics()
            .increment_counter("frames_processed_total", 9)
            .await
            .unwrap();
        telemetry.collect_now().await;
    });

    let snapshot = invoke(&window, "get_snapshot").unwrap();
    let frames = snapshot["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "frames_processed_total")
        .expect("the recorded counter is in the snapshot");
    assert_eq!(frames["value"], 9.0);
    assert!(
        snapshot["timestampMs"].as_i64().unwrap() > 0,
        "camelCase over IPC"
    );

    let status = invoke(&window, "get_export_status").unwrap();
    assert!(status.is_object());
    app.cleanup_before_exit();
}

#[test]
fn commands_outside_the_capability_are_refused_by_tauri() {
    let (app, window) = app(&["opentelemetry:allow-get-snapshot"]);
    let _keep_alive = &app;
    assert!(invoke(&window, "get_snapshot").is_ok());
    let denied = invoke(&window, "get_export_status").unwrap_err();
    let message = denied.as_str().unwrap_or_default().to_owned();
    assert!(
        message.contains("not allowed"),
        "expected Tauri's ACL refusal, got {denied}"
    );
}
