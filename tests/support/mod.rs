//! A mock-runtime app whose ACL holds the plugin's generated permissions (what
//! `generate_context!` would give a real app), for the IPC tests and the IPC benchmark.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::utils::acl::capability::Capability;
use tauri::utils::acl::manifest::{Manifest, PermissionFile};
use tauri::utils::acl::resolved::Resolved;
use tauri::utils::platform::Target;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};
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
/// granting `permissions` to it.
pub(crate) fn app_with(
    permissions: &[&str],
    config: TelemetryConfig,
) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
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
    let app = mock_builder()
        .plugin(Builder::new().config(config).build())
        .build(context)
        .unwrap();
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    (app, window)
}
