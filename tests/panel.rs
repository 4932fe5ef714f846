//! The telemetry panel's window through Tauri's mock runtime: the plugin grants that
//! window alone the read commands (and the write ones only when the app says so), opens
//! it once, and the `open_panel` command needs its permission.
#![allow(clippy::unwrap_used)]

mod support;

use tauri::Manager as _;
use tauri_plugin_opentelemetry::{PanelOptions, TelemetryConfig, TelemetryPanelExt, PANEL_LABEL};

use support::{call_from, Window};

/// The panel page's address on this machine's platform.
const PANEL_PAGE: &str = if cfg!(windows) {
    "http://telemetry-panel.localhost/?transport=ipc"
} else {
    "telemetry-panel://localhost/?transport=ipc"
};

fn panel_app(
    main_permissions: &[&str],
    options: PanelOptions,
) -> (tauri::App<tauri::test::MockRuntime>, Window) {
    support::app_from(
        main_permissions,
        TelemetryConfig::default(),
        |plugin| plugin.panel(options),
        |app| app,
    )
}

/// Calls the plugin's `command` from a page at `url` in `window`.
fn call_at(url: &str, window: &Window, command: &str) -> Result<serde_json::Value, String> {
    call_from(
        url,
        window,
        &format!("plugin:opentelemetry|{command}"),
        serde_json::json!({}),
        &[],
    )
}

fn from_panel(window: &Window, command: &str) -> Result<serde_json::Value, String> {
    call_at(PANEL_PAGE, window, command)
}

/// Asserts that Tauri refuses `command` from a page at `url` in `window`.
fn assert_refused(url: &str, window: &Window, command: &str) {
    let denied = call_at(url, window, command).unwrap_err();
    assert!(
        denied.contains("not allowed"),
        "{command} from {url}: {denied}"
    );
}

#[test]
fn the_panel_window_reads_and_cannot_write_by_default_and_no_other_window_gains() {
    let (app, main) = panel_app(&[], PanelOptions::new());
    let panel = app.telemetry_panel().open().unwrap();
    assert_eq!(panel.label(), PANEL_LABEL);
    for read in [
        "get_snapshot",
        "get_health",
        "get_active_alerts",
        "get_resource",
    ] {
        from_panel(&panel, read).unwrap_or_else(|e| panic!("{read}: {e}"));
    }
    assert_refused(PANEL_PAGE, &panel, "run_health_checks");
    // The capability is the panel window's: the app's main window has none of it.
    assert_refused("tauri://localhost", &main, "get_snapshot");
}

#[test]
fn a_page_from_elsewhere_in_the_panel_window_gets_nothing() {
    let (app, _main) = panel_app(&[], PanelOptions::new());
    let panel = app.telemetry_panel().open().unwrap();
    assert_refused("https://example.com/", &panel, "get_snapshot");
}

#[test]
fn a_writable_panel_may_run_the_write_commands() {
    let (app, _main) = panel_app(&[], PanelOptions::new().writable(true));
    let panel = app.telemetry_panel().open().unwrap();
    from_panel(&panel, "run_health_checks").unwrap();
}

#[test]
fn opening_twice_is_one_window_at_the_plugins_address() {
    let (app, _main) = panel_app(&[], PanelOptions::new().title("Studio telemetry"));
    let first = app.telemetry_panel().open().unwrap();
    let second = app.telemetry_panel().open().unwrap();
    assert_eq!(first.label(), second.label());
    assert_eq!(app.webview_windows().len(), 2, "main and one panel");
    // The plugin's page, told to talk over IPC, read-only, under the app's heading.
    let url = first.url().unwrap();
    assert!(
        PANEL_PAGE.starts_with(&format!("{}://", url.scheme())),
        "{url}"
    );
    assert_eq!(url.query(), Some("transport=ipc&title=Studio+telemetry"));
    // (Closing is asserted in a real window, tests/e2e/minimal-window.test.mjs: the mock
    // runtime removes a destroyed window only in an event loop this test does not run.)
}

#[test]
fn the_open_panel_command_needs_its_permission() {
    let (app, main) = panel_app(&["opentelemetry:default"], PanelOptions::new());
    let denied = support::invoke(&main, "open_panel", serde_json::json!({})).unwrap_err();
    assert!(denied.contains("not allowed"), "{denied}");
    assert!(app.get_webview_window(PANEL_LABEL).is_none());

    let (app, main) = panel_app(&["opentelemetry:allow-open-panel"], PanelOptions::new());
    support::invoke(&main, "open_panel", serde_json::json!({})).unwrap();
    assert!(app.get_webview_window(PANEL_LABEL).is_some());
}
