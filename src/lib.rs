//! OpenTelemetry metrics, traces and logs, health checks, alerts, Prometheus and OTLP
//! export for Tauri v2 apps.
//!
//! Register the plugin; it starts the engine ([`telemetry_engine`]) with the app and shuts
//! it down, flushing every exporter, when the app exits. The webview reaches it through
//! the commands (read-only by default), series streams and events (alert, notification,
//! health, trace) over `Channel`s, each reaching only the window that subscribed; Rust
//! code reads the same events from `app.telemetry().events()`.
//!
//! ```
//! fn register<R: tauri::Runtime>(app: tauri::Builder<R>) -> tauri::Builder<R> {
//!     // then `.run(tauri::generate_context!())` as usual
//!     app.plugin(tauri_plugin_opentelemetry::init())
//! }
//! ```
//!
//! The configuration comes from `plugins.opentelemetry` in `tauri.conf.json` (the same
//! JSON as a config file), else from the environment (`TELEMETRY_CONFIG`, …), or from
//! code with [`Builder::config`].

use std::sync::Arc;

use indexmap::IndexMap;
use parking_lot::Mutex;
use tauri::plugin::{Builder as PluginBuilder, TauriPlugin};
use tauri::{Manager, RunEvent, Runtime};
use telemetry_engine::alerts::AlertRule;
use telemetry_engine::health::HealthCheck;
use telemetry_engine::privacy::{BeforeSend, Outgoing};
use telemetry_engine::tracing::SpanHandle;

pub use telemetry_engine as engine;
pub use telemetry_engine::config::TelemetryConfig;
pub use telemetry_engine::TelemetryManager;

mod blocking;
mod commands;
mod error;
mod events;
mod identity;
mod invoke;
mod models;
#[cfg(feature = "panel")]
mod panel;

#[cfg(doctest)]
mod doctests;

pub use error::{Error, Result};
pub use events::MAX_EVENT_SUBSCRIPTIONS;
pub use invoke::InvokeTrace;
pub use models::{SpanRef, SpanStart};
#[cfg(feature = "panel")]
pub use panel::{PanelOptions, TelemetryPanel, TelemetryPanelExt, PANEL_LABEL, PANEL_SCHEME};
/// A Tauri command whose work joins the webview's trace (see [`InvokeTrace`]).
///
/// Written in place of `#[tauri::command]`, with the same arguments:
/// ```
/// #[tauri_plugin_opentelemetry::command]
/// async fn export_project(path: String) -> Result<usize, String> {
///     Ok(path.len()) // #[instrument] and trace_async spans here join the trace
/// }
/// ```
pub use tauri_plugin_opentelemetry_macros::command;
/// Native crashes (a segfault in a codec, an access violation in a driver) as minidumps:
/// call it first in `main`. In the crash monitor (the app's executable, started again by
/// the plugin) it serves until the app exits or crashes, then ends the process; in the app
/// it returns at once. The next launch reports the crash (kind `native_crash`, with the
/// minidump's path) like a panic. Without the call, a native crash is only "the session
/// ended without a clean exit"; without the `minidumps` feature it does nothing.
///
/// # Examples
/// ```no_run
/// // The first line of `main`, before the Tauri app is built:
/// tauri_plugin_opentelemetry::crash_monitor();
/// ```
pub use telemetry_engine::logs::crash_monitor;

/// The plugin, as [`Builder::build`] and [`init`] return it: name it in a function that
/// builds the plugin without depending on `serde_json` yourself.
///
/// # Examples
/// ```
/// fn telemetry<R: tauri::Runtime>() -> tauri_plugin_opentelemetry::TelemetryPlugin<R> {
///     tauri_plugin_opentelemetry::Builder::new().build()
/// }
/// ```
pub type TelemetryPlugin<R> = TauriPlugin<R, Option<serde_json::Value>>;

/// Per-app state of the plugin surface: live streams and spans opened by the webview.
pub(crate) struct PluginState {
    pub(crate) streams: engine::api::Streams,
    pub(crate) events: events::EventSubscriptions,
    pub(crate) spans: OpenSpans,
}

/// Spans the webview started and has not ended, oldest first.
#[derive(Default)]
pub(crate) struct OpenSpans(Mutex<IndexMap<String, SpanHandle>>);

/// The plugin id: commands are `plugin:opentelemetry|<command>`.
pub const PLUGIN_ID: &str = "opentelemetry";

/// Access to the running engine from any Tauri manager (app, handle, window).
pub trait TelemetryExt<R: Runtime> {
    /// The engine: metrics, store, export status.
    fn telemetry(&self) -> &Arc<TelemetryManager>;
}

struct Telemetry(Arc<TelemetryManager>);

impl<R: Runtime, T: Manager<R>> TelemetryExt<R> for T {
    fn telemetry(&self) -> &Arc<TelemetryManager> {
        &self.state::<Telemetry>().inner().0
    }
}

/// Configures the plugin in code.
///
/// # Examples
/// ```
/// use tauri_plugin_opentelemetry::{Builder, TelemetryConfig};
/// fn register<R: tauri::Runtime>(app: tauri::Builder<R>) -> tauri::Builder<R> {
///     let config = TelemetryConfig { service_name: "studio".into(), ..Default::default() };
///     app.plugin(Builder::new().config(config).build())
/// }
/// ```
pub struct Builder {
    config: Option<TelemetryConfig>,
    checks: Vec<Box<dyn HealthCheck>>,
    rules: Vec<AlertRule>,
    tracing_subscriber: bool,
    strict: Option<bool>,
    before_send: Option<BeforeSend>,
    /// What the init script captures in each webview (none: no script).
    capture: Option<Vec<ConsoleMethod>>,
    /// Which invokes the init script traces (none: none).
    invokes: Option<InvokeFilter>,
    /// How the panel's window looks and what it may do.
    #[cfg(feature = "panel")]
    panel: panel::PanelOptions,
}

/// The commands whose invokes are traced: patterns are command names (`export_project`,
/// `plugin:fs|read_file`) or prefixes ending in `*` (`plugin:fs|*`).
#[derive(Debug, Clone, Default, serde::Serialize)]
struct InvokeFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    allow: Option<Vec<String>>,
    deny: Vec<String>,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            config: None,
            checks: Vec::new(),
            rules: Vec::new(),
            tracing_subscriber: false,
            strict: None,
            before_send: None,
            capture: Some(vec![ConsoleMethod::Warn, ConsoleMethod::Error]),
            invokes: Some(InvokeFilter::default()),
            #[cfg(feature = "panel")]
            panel: panel::PanelOptions::default(),
        }
    }
}

/// A `console` method whose output the plugin's init script sends as log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleMethod {
    /// `console.debug` (DEBUG).
    Debug,
    /// `console.log` (INFO).
    Log,
    /// `console.info` (INFO).
    Info,
    /// `console.warn` (WARN).
    Warn,
    /// `console.error` (ERROR).
    Error,
}

impl ConsoleMethod {
    fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Log => "log",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// The init script (`npm run build:init` of `guest-js/init/capture-init.ts`).
const CAPTURE_SCRIPT: &str = include_str!("capture-init.js");

impl Builder {
    /// A builder that reads its configuration from `tauri.conf.json` or the environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Which `console` methods of every webview become log records, besides uncaught
    /// errors and unhandled rejections (which are always captured while capture is on).
    /// Default `[Warn, Error]`; `&[]` keeps the console out. The window needs
    /// `opentelemetry:allow-capture` (or `allow-write`); without it the script stops after
    /// the first refusal.
    ///
    /// # Examples
    /// ```
    /// use tauri_plugin_opentelemetry::{Builder, ConsoleMethod};
    /// let plugin = Builder::new().capture_console(&[ConsoleMethod::Log, ConsoleMethod::Warn, ConsoleMethod::Error]);
    /// # let _ = plugin;
    /// ```
    pub fn capture_console(mut self, methods: &[ConsoleMethod]) -> Self {
        self.capture = Some(methods.to_vec());
        self
    }

    /// Turns the webview capture (uncaught errors, unhandled rejections, console, and the
    /// UI measurements: frame intervals, long tasks, page load) off or on. On by default.
    ///
    /// # Examples
    /// ```
    /// let plugin = tauri_plugin_opentelemetry::Builder::new().capture_webview(false);
    /// # let _ = plugin;
    /// ```
    pub fn capture_webview(mut self, on: bool) -> Self {
        self.capture = match (on, self.capture.take()) {
            (false, _) => None,
            (true, Some(methods)) => Some(methods),
            (true, None) => Some(vec![ConsoleMethod::Warn, ConsoleMethod::Error]),
        };
        self
    }

    /// Traces every invoke of every webview (on by default, with the webview capture): the
    /// init script gives each call a client span named after the command, sends its
    /// `traceparent` with the call, and reports it (`tauri_ipc_duration_ms{command,outcome}`
    /// too). A command written with [`command`] (`#[tauri_plugin_opentelemetry::command]`)
    /// then runs in a server span of the same trace. The plugin's own commands are never
    /// traced. The window needs `opentelemetry:allow-capture` (or `allow-write`).
    ///
    /// # Examples
    /// ```
    /// let plugin = tauri_plugin_opentelemetry::Builder::new().trace_invokes(false);
    /// # let _ = plugin;
    /// ```
    pub fn trace_invokes(mut self, on: bool) -> Self {
        self.invokes = on.then(|| self.invokes.take().unwrap_or_default());
        self
    }

    /// Which commands [`Builder::trace_invokes`] traces: only those `allow` names (`None`:
    /// all), except those `deny` names. A pattern is a command name (`export_project`,
    /// `plugin:fs|read_file`) or a prefix ending in `*` (`plugin:fs|*`).
    ///
    /// # Examples
    /// ```
    /// // Every command but the file system plugin's and the timeline's scrubbing.
    /// let plugin = tauri_plugin_opentelemetry::Builder::new()
    ///     .invoke_filter(None, &["plugin:fs|*", "scrub_timeline"]);
    /// # let _ = plugin;
    /// ```
    pub fn invoke_filter(mut self, allow: Option<&[&str]>, deny: &[&str]) -> Self {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        self.invokes = Some(InvokeFilter {
            allow: allow.map(owned),
            deny: owned(deny),
        });
        self
    }

    /// How the telemetry panel's window looks and what it may do: the window
    /// `app.telemetry_panel().open()` (or the `open_panel` command) opens, with the dashboard
    /// served by the plugin and no frontend code in the app. Default: titled "Telemetry",
    /// read-only.
    ///
    /// # Examples
    /// ```
    /// use tauri::Manager as _;
    /// use tauri_plugin_opentelemetry::{Builder, PanelOptions, TelemetryPanelExt};
    /// fn register<R: tauri::Runtime>(app: tauri::Builder<R>) -> tauri::Builder<R> {
    ///     app.plugin(Builder::new().panel(PanelOptions::new().writable(true)).build())
    ///         .setup(|app| {
    ///             app.telemetry_panel().open()?;
    ///             Ok(())
    ///         })
    /// }
    /// ```
    #[cfg(feature = "panel")]
    pub fn panel(mut self, options: panel::PanelOptions) -> Self {
        self.panel = options;
        self
    }

    /// Uses `config` instead of `tauri.conf.json` and the environment.
    pub fn config(mut self, config: TelemetryConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// Adds a health check (besides those of the config).
    pub fn health_check(mut self, check: Box<dyn HealthCheck>) -> Self {
        self.checks.push(check);
        self
    }

    /// Adds an alert rule (besides those of the config). A bad rule is a setup problem,
    /// with every problem named (see [`Builder::strict`]).
    pub fn alert_rule(mut self, rule: AlertRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Installs the global `tracing` subscriber (and `log` bridge) of the engine, so
    /// `#[instrument]`, `tracing::info!` and `log::warn!` reach traces and logs. Off by
    /// default: an app with its own subscriber adds `app.telemetry().tracing_layer()`.
    /// Beside a logger that holds the `log` facade (tauri-plugin-log), `tracing` events
    /// and spans still arrive and a warning says where `log` records go; beside another
    /// `tracing` subscriber, a warning says to add the layer to it instead. Neither stops
    /// the app.
    pub fn tracing_subscriber(mut self, install: bool) -> Self {
        self.tracing_subscriber = install;
        self
    }

    /// Whether a telemetry setup problem (a configuration that does not parse or
    /// validate, a bad alert rule or health check, an engine that cannot start) fails the
    /// app's setup. When not strict, the app starts with telemetry off, the problem is
    /// logged as an error and shown as the Failed exporter `config` in the export status.
    /// Default: strict in debug builds (problems are seen at once), not in release builds
    /// (a user's app always starts).
    ///
    /// # Examples
    /// ```
    /// fn register<R: tauri::Runtime>(app: tauri::Builder<R>) -> tauri::Builder<R> {
    ///     app.plugin(tauri_plugin_opentelemetry::Builder::new().strict(true).build())
    /// }
    /// ```
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = Some(strict);
        self
    }

    /// The app's last look at every span and log record before it leaves the app (after
    /// the `privacy` scrubbing): change it in place, return `false` to drop it.
    ///
    /// # Examples
    /// ```
    /// use tauri_plugin_opentelemetry::{engine::privacy::Outgoing, Builder};
    /// fn register<R: tauri::Runtime>(app: tauri::Builder<R>) -> tauri::Builder<R> {
    ///     app.plugin(Builder::new().before_send(|record| match record {
    ///         Outgoing::Log(log) => {
    ///             log.attributes.retain(|(key, _)| key.as_str() != "project.name");
    ///             true
    ///         }
    ///         _ => true,
    ///     }).build())
    /// }
    /// ```
    pub fn before_send(
        mut self,
        hook: impl Fn(Outgoing<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.before_send = Some(Arc::new(hook));
        self
    }

    /// Builds the plugin.
    pub fn build<R: Runtime>(self) -> TelemetryPlugin<R> {
        let Builder {
            config: explicit,
            checks,
            rules,
            tracing_subscriber,
            strict,
            before_send,
            capture,
            invokes,
            #[cfg(feature = "panel")]
            panel,
        } = self;
        let strict = strict.unwrap_or(cfg!(debug_assertions));
        let mut plugin = PluginBuilder::<R, Option<serde_json::Value>>::new(PLUGIN_ID);
        if let Some(methods) = capture {
            let options = serde_json::json!({
                "errors": true,
                "console": methods.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                "invokes": invokes.map_or(serde_json::Value::Bool(false), |filter| {
                    serde_json::to_value(filter).unwrap_or_default()
                }),
            });
            plugin = plugin.js_init_script(format!(
                "window.__OTEL_CAPTURE_OPTIONS__ = {options};\n{CAPTURE_SCRIPT}"
            ));
        }
        #[cfg(feature = "panel")]
        {
            plugin = plugin.register_uri_scheme_protocol(panel::PANEL_SCHEME, |_, request| {
                panel::respond(request.uri().path())
            });
        }
        plugin
            .invoke_handler(tauri::generate_handler![
                commands::get_snapshot,
                commands::get_metric_catalogue,
                commands::get_panels,
                commands::query_series,
                commands::get_histogram_quantiles,
                commands::list_traces,
                commands::get_trace,
                commands::get_logs,
                commands::get_health,
                commands::get_health_history,
                commands::get_active_alerts,
                commands::get_alert_history,
                commands::get_export_status,
                commands::get_config,
                commands::get_consent,
                commands::get_previous_crash,
                commands::get_resource,
                commands::subscribe_series,
                commands::ack_series,
                commands::unsubscribe_series,
                commands::subscribe_events,
                commands::unsubscribe_events,
                commands::record_metric,
                commands::run_health_checks,
                commands::silence_alert,
                commands::acknowledge_alert,
                commands::start_span,
                commands::end_span,
                commands::set_consent,
                commands::write_diagnostics,
                commands::log,
                commands::record_ui_timings,
                commands::record_invokes,
                commands::open_panel,
            ])
            .setup(move |app, api| {
                let setup = Setup {
                    explicit,
                    json: api.config().clone(),
                    checks,
                    rules,
                    tracing_subscriber,
                    before_send,
                };
                let manager = match setup.start(app) {
                    Ok(manager) => manager,
                    Err(e) if !strict => {
                        ::tracing::error!(
                            target: "telemetry::config",
                            error = %e,
                            "telemetry is off: its setup failed"
                        );
                        blocking::block_on(TelemetryManager::disabled(e.to_string()))?
                    }
                    Err(e) => return Err(e.into()),
                };
                // The panic capture is in place on return; the slow part of the start
                // (the first system reading, the loops, the listening sockets) runs on
                // the async runtime, so the app's windows never wait for it.
                let starting = manager.initialize();
                tauri::async_runtime::spawn(async move {
                    if let Err(e) = starting.await {
                        ::tracing::warn!(target: "telemetry::config", error = %e, "telemetry did not start");
                    }
                });
                app.manage(PluginState {
                    streams: engine::api::Streams::counted_in(manager.metrics(), "ipc"),
                    events: events::EventSubscriptions::default(),
                    spans: OpenSpans::default(),
                });
                app.manage(Telemetry(manager));
                #[cfg(feature = "panel")]
                panel::setup(app, panel);
                Ok(())
            })
            .on_event(|app, event| match event {
                RunEvent::WindowEvent {
                    label,
                    event: tauri::WindowEvent::Destroyed,
                    ..
                } => {
                    if let Some(state) = app.try_state::<PluginState>() {
                        state.streams.remove_owner(label);
                        state.events.remove_owner(label);
                    }
                }
                RunEvent::Exit => {
                    let manager = app.telemetry().clone();
                    blocking::block_on(async move { manager.shutdown().await });
                }
                _ => {}
            })
            .build()
    }
}

/// What the plugin starts the engine with.
struct Setup {
    explicit: Option<TelemetryConfig>,
    json: Option<serde_json::Value>,
    checks: Vec<Box<dyn HealthCheck>>,
    rules: Vec<AlertRule>,
    tracing_subscriber: bool,
    before_send: Option<BeforeSend>,
}

impl Setup {
    /// The configuration: the builder's, else `tauri.conf.json`'s with the environment on
    /// top, else the environment's. Unusable environment values are warnings in it.
    fn config(
        explicit: Option<TelemetryConfig>,
        json: Option<serde_json::Value>,
    ) -> Result<TelemetryConfig> {
        Ok(match (explicit, json) {
            (Some(config), _) => config,
            (None, Some(json)) => {
                let mut config = TelemetryConfig::from_json(&json.to_string())?;
                let warnings = config.apply_env_overrides(|v| std::env::var(v).ok());
                config.warnings.extend(warnings);
                config.validate()?;
                config
            }
            (None, None) => TelemetryConfig::from_env()?,
        })
    }

    /// Builds the engine with the app's identity filled in: the subscriber first (so the
    /// engine's own warnings reach it), then the checks and rules. The caller starts it.
    fn start<R: Runtime>(self, app: &tauri::AppHandle<R>) -> Result<Arc<TelemetryManager>> {
        let mut config = Self::config(self.explicit, self.json)?;
        identity::fill_in(&mut config, app);
        blocking::block_on(async move {
            let manager = TelemetryManager::new(config).await?;
            manager.set_before_send(self.before_send);
            if self.tracing_subscriber {
                if let Err(e) = manager.install_tracing_subscriber() {
                    ::tracing::warn!(
                        target: "telemetry::logs",
                        error = %e,
                        "another tracing subscriber is installed: add app.telemetry().tracing_layer() to it"
                    );
                }
            }
            for check in self.checks {
                manager.health().add_check(check).await?;
            }
            for rule in self.rules {
                manager.alerts().add_rule(rule).await?;
            }
            Ok(manager)
        })
    }
}

/// The plugin with its configuration from `tauri.conf.json` (`plugins.opentelemetry`) or,
/// when that is absent, from the environment.
pub fn init<R: Runtime>() -> TelemetryPlugin<R> {
    Builder::new().build()
}
