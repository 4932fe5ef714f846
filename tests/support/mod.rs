//! A mock-runtime app whose ACL holds the plugin's generated permissions (what
//! `generate_context!` would give a real app), for the IPC tests and the IPC benchmark.
// Each test binary (and the IPC benchmark) uses a part of this module.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;

use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::utils::acl::capability::Capability;
use tauri::utils::acl::manifest::{Manifest, PermissionFile};
use tauri::utils::acl::resolved::Resolved;
use tauri::utils::platform::Target;
use tauri::webview::InvokeRequest;
use tauri::{App, Manager as _, WebviewWindow, WebviewWindowBuilder};
use tauri_plugin_opentelemetry::{Builder, TelemetryConfig, PLUGIN_ID};

pub(crate) fn plugin_manifest() -> Manifest {
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

/// The app with the plugin configured by `config`, a window `main`, and a capability
/// granting `permissions` to it. Without a `storage.dir` in `config`, each app gets a
/// folder of its own (removed with the app), as each install has: the mock runtime's app
/// data folder is one for every test, and a crash marker or spool one test left would
/// be another's "previous session".
pub(crate) fn app_with(
    permissions: &[&str],
    config: TelemetryConfig,
) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    app_built(permissions, config, |app| app)
}

/// [`app_with`], with the app's builder changed by `customize` (its own commands).
pub(crate) fn app_built(
    permissions: &[&str],
    config: TelemetryConfig,
    customize: impl FnOnce(tauri::Builder<MockRuntime>) -> tauri::Builder<MockRuntime>,
) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    app_from(permissions, config, |plugin| plugin, customize)
}

/// [`app_built`], with the plugin's builder changed by `plugin` too (its panel options).
pub(crate) fn app_from(
    permissions: &[&str],
    mut config: TelemetryConfig,
    plugin: impl FnOnce(Builder) -> Builder,
    customize: impl FnOnce(tauri::Builder<MockRuntime>) -> tauri::Builder<MockRuntime>,
) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let storage = tempfile::tempdir().unwrap();
    config
        .storage
        .dir
        .get_or_insert_with(|| storage.path().display().to_string());
    let mut context = mock_context(noop_assets());
    let acl = BTreeMap::from([(PLUGIN_ID.to_string(), plugin_manifest())]);
    let capability: Capability = serde_json::from_value(serde_json::json!({
        "identifier": "test",
        "windows": ["main", "panel"],
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
    let app = customize(mock_builder().plugin(plugin(Builder::new().config(config)).build()))
        .build(context)
        .unwrap();
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    app.manage(StorageDir(storage));
    (app, window)
}

/// The app's storage folder, kept (and removed) with the app.
struct StorageDir(#[allow(dead_code)] tempfile::TempDir);

/// The test app's window.
pub(crate) type Window = WebviewWindow<MockRuntime>;

/// Calls the plugin's `command` from `window` with `args` and request `headers`, through
/// Tauri's IPC (ACL included); the answer as JSON, or the error text.
pub(crate) fn call(
    window: &Window,
    command: &str,
    args: serde_json::Value,
    headers: &[(&str, &str)],
) -> Result<serde_json::Value, String> {
    call_any(
        window,
        &format!("plugin:{PLUGIN_ID}|{command}"),
        args,
        headers,
    )
}

/// [`call`] for any command: the app's own (`export`) or a plugin's (`plugin:x|y`).
pub(crate) fn call_any(
    window: &Window,
    command: &str,
    args: serde_json::Value,
    headers: &[(&str, &str)],
) -> Result<serde_json::Value, String> {
    call_from("tauri://localhost", window, command, args, headers)
}

/// [`call_any`] from a page at `url` (a local page of the app's, or a custom scheme's).
pub(crate) fn call_from(
    url: &str,
    window: &Window,
    command: &str,
    args: serde_json::Value,
    headers: &[(&str, &str)],
) -> Result<serde_json::Value, String> {
    let mut map = tauri::http::HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            tauri::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: command.to_owned(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: url.parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: map,
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<serde_json::Value>().unwrap())
    .map_err(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned))
}

/// [`call`] without headers.
pub(crate) fn invoke(
    window: &Window,
    command: &str,
    args: serde_json::Value,
) -> Result<serde_json::Value, String> {
    call(window, command, args, &[])
}

/// A TCP port that was free a moment ago (the OS picks it).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
