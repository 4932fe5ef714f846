//! `#[tauri_plugin_opentelemetry::command]` through Tauri's IPC (mock runtime): each shape
//! of command (async or not, `Result` or not, with state, generic, with `#[instrument]`)
//! gets a server span, child of the client span the call's `traceparent` names, with the
//! command's own spans inside and its error on it.
#![allow(clippy::unwrap_used)]

mod support;

use tauri::{Manager as _, Runtime, State};
use tauri_plugin_opentelemetry::{TelemetryConfig, TelemetryExt as _};

struct Project(&'static str);

#[tracing::instrument]
fn encode(frames: u32) -> u32 {
    frames
}

#[tauri_plugin_opentelemetry::command]
async fn export_project(path: String, mut frames: u32) -> Result<u32, String> {
    tokio::task::yield_now().await;
    frames = encode(frames);
    if path.is_empty() {
        return Err("no project open".into());
    }
    Ok(frames)
}

/// The name of the open project.
#[tauri_plugin_opentelemetry::command(rename_all = "snake_case")]
fn project_name(project: State<'_, Project>, with_suffix: bool) -> String {
    encode(1);
    format!("{}{}", project.0, if with_suffix { ".studio" } else { "" })
}

#[tauri_plugin_opentelemetry::command]
#[tauri::command]
#[tracing::instrument(skip(app))]
async fn open_project<R: Runtime>(app: tauri::AppHandle<R>, path: String) -> usize {
    let _ = app.state::<Project>();
    path.len()
}

#[tauri_plugin_opentelemetry::command]
fn check_disk() -> Result<(), serde_json::Value> {
    Err(serde_json::json!({ "kind": "full", "free": 0 }))
}

fn app() -> (tauri::App<tauri::test::MockRuntime>, support::Window) {
    support::app_built(&[], TelemetryConfig::default(), |app| {
        app.manage(Project("trailer"))
            .invoke_handler(tauri::generate_handler![
                export_project,
                project_name,
                open_project,
                check_disk
            ])
    })
}

const CLIENT: &str = "00f067aa0ba902b7";

fn traceparent(trace: &str) -> String {
    format!("00-{trace}-{CLIENT}-01")
}

#[test]
fn every_shape_of_command_joins_the_calls_trace() {
    let (app, window) = app();
    let telemetry = app.telemetry().clone();
    let subscriber = tracing_subscriber::layer::SubscriberExt::with(
        tracing_subscriber::registry(),
        telemetry.tracing_layer(),
    );
    // Global: async commands run on Tauri's runtime threads. The only test that sets it.
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let calls = [
        (
            "export_project",
            serde_json::json!({ "path": "a.studio", "frames": 24 }),
            serde_json::json!(24),
        ),
        (
            "project_name",
            serde_json::json!({ "with_suffix": true }),
            serde_json::json!("trailer.studio"),
        ),
        (
            "open_project",
            serde_json::json!({ "path": "abc" }),
            serde_json::json!(3),
        ),
    ];
    for (i, (command, args, answer)) in calls.into_iter().enumerate() {
        let trace = format!("{:032x}", i + 1);
        let got = support::call_any(
            &window,
            command,
            args,
            &[("traceparent", &traceparent(&trace))],
        );
        assert_eq!(got.unwrap(), answer, "{command}");
        // The span ends before the answer is sent: the trace is there once the call returns.
        let record = telemetry
            .traces()
            .get(&trace)
            .unwrap_or_else(|| panic!("{command}'s trace"));
        // Tauri's #[command] names a command of a package called `tauri-plugin-<x>` as
        // plugin <x>'s: this test is compiled in this plugin's package.
        let name = format!("plugin:opentelemetry|{command}");
        let server = record
            .spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{record:#?}"));
        assert_eq!(server.parent_span_id.as_deref(), Some(CLIENT), "{command}");
        assert_eq!(server.attributes["rpc.system"], "tauri");
        assert_eq!(server.attributes["rpc.service"], "opentelemetry");
        assert_eq!(server.attributes["rpc.method"], command);
        assert_eq!(server.attributes["tauri.window"], "main");
        assert_eq!(server.error, None);
        let inner = record
            .spans
            .iter()
            .find(|s| s.parent_span_id.as_ref() == Some(&server.span_id));
        assert!(
            inner.is_some(),
            "{command}: the instrumented work is a child: {record:#?}"
        );
    }
}

#[test]
fn an_error_fails_the_span_with_what_the_webview_receives() {
    let (app, window) = app();
    let telemetry = app.telemetry().clone();
    let trace = "ab".repeat(16);
    let err = support::call_any(
        &window,
        "export_project",
        serde_json::json!({ "path": "", "frames": 1 }),
        &[("traceparent", &traceparent(&trace))],
    )
    .unwrap_err();
    assert_eq!(err, "no project open");
    let record = telemetry.traces().get(&trace).unwrap();
    assert_eq!(record.spans[0].error.as_deref(), Some("no project open"));

    let trace = "cd".repeat(16);
    support::call_any(
        &window,
        "check_disk",
        serde_json::json!({}),
        &[("traceparent", &traceparent(&trace))],
    )
    .unwrap_err();
    let record = telemetry.traces().get(&trace).unwrap();
    assert_eq!(
        record.spans[0].error.as_deref(),
        Some(r#"{"free":0,"kind":"full"}"#)
    );
}

#[test]
fn a_call_without_a_traceparent_is_a_trace_of_its_own() {
    let (app, window) = app();
    let telemetry = app.telemetry().clone();
    let before = telemetry.traces().len();
    support::call_any(
        &window,
        "project_name",
        serde_json::json!({ "with_suffix": false }),
        &[],
    )
    .unwrap();
    assert_eq!(telemetry.traces().len(), before + 1);
    let record = telemetry.traces().query(&Default::default());
    assert!(record
        .iter()
        .any(|t| t.name == "plugin:opentelemetry|project_name"
            && t.spans[0].parent_span_id.is_none()));
}
