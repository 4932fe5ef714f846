//! Who and where the app is, from the app itself: the telemetry of an installed app names
//! the app, its version and its install (not "tauri-app 0.0.0"), and writes its files
//! where the app keeps its logs (not wherever it was started from).

use tauri::{AppHandle, Manager, Runtime};
use telemetry_engine::config::{resolve_path, PathStyle, TelemetryConfig};
use telemetry_engine::resource::instance_id;

/// The directory under the app's data directory where the plugin keeps its files.
pub(crate) const DATA_DIR: &str = "telemetry";

/// Fills in what the configuration leaves at its default, from `app`:
/// - `service_name`: the product name, else the identifier;
/// - `service_version`: the app's version;
/// - `service.instance.id`: kept in `<app data dir>/telemetry/instance-id` (one per
///   install; a random one for this launch when the directory cannot be written, with a
///   warning);
/// - `deployment.environment.name`: `development` in debug builds;
/// - `storage.dir` (where the user's consent is kept): `<app data dir>/telemetry`, a
///   relative one under the app's data directory;
/// - relative file exporter paths: under the app's log directory.
///
/// What the configuration or `OTEL_RESOURCE_ATTRIBUTES` sets is kept.
pub(crate) fn fill_in<R: Runtime>(config: &mut TelemetryConfig, app: &AppHandle<R>) {
    let defaults = TelemetryConfig::default();
    if config.service_name == defaults.service_name {
        let tauri_config = app.config();
        let named = [
            tauri_config.product_name.as_deref(),
            Some(&tauri_config.identifier),
        ];
        if let Some(name) = named.into_iter().flatten().find(|n| !n.trim().is_empty()) {
            config.service_name = name.trim().to_owned();
        }
    }
    if config.service_version == defaults.service_version {
        config.service_version = app.package_info().version.to_string();
    }
    let data_dir = app.path().app_data_dir().map_err(|e| e.to_string());
    // Where the user's consent (and the install's id) is kept: `storage.dir`, a relative
    // one under the app's data directory, by default `<app data dir>/telemetry`.
    if let Ok(base) = &data_dir {
        let dir = match config.storage.dir.as_deref() {
            Some(dir) => resolve_path(dir, base, PathStyle::current()),
            None => base.join(DATA_DIR).display().to_string(),
        };
        config.storage.dir = Some(dir);
    }
    let attributes = &mut config.resource_attributes;
    if !attributes.contains_key("service.instance.id") {
        let dir = data_dir.map(|d| d.join(DATA_DIR));
        match dir.and_then(|d| instance_id(&d).map_err(|e| format!("{}: {e}", d.display()))) {
            Ok(id) => {
                attributes.insert("service.instance.id".into(), id);
            }
            Err(e) => ::tracing::warn!(
                target: "telemetry::config",
                error = %e,
                "no place to keep the install's id: this launch gets its own"
            ),
        }
    }
    if cfg!(debug_assertions) && !attributes.contains_key("deployment.environment.name") {
        attributes.insert("deployment.environment.name".into(), "development".into());
    }
    // The working directory of an installed app is `/` or System32: relative file
    // exporter paths go under the app's log directory.
    match app.path().app_log_dir() {
        Ok(logs) => config.resolve_relative_paths(&logs, PathStyle::current()),
        Err(e) => ::tracing::warn!(
            target: "telemetry::config",
            error = %e,
            "no app log directory: relative file paths stay relative to the working directory"
        ),
    }
}
