//! The telemetry panel in a window of its own, with no frontend code in the app.
//!
//! The plugin serves the dashboard the engine embeds ([`dashboard_file`]) on its own URI
//! scheme, [`PANEL_SCHEME`], opens it in the window [`PANEL_LABEL`], and grants that
//! window alone (when it first opens, through a runtime capability) the read commands,
//! and the write commands too when the app asks for them ([`PanelOptions::writable`]).
//! The page talks over IPC like any window of the app.

use std::borrow::Cow;
use std::sync::{Arc, Once};

use tauri::http::{header, Response, StatusCode};
use tauri::ipc::CapabilityBuilder;
use tauri::{AppHandle, Manager, Runtime, Url, WebviewUrl, WebviewWindow, WebviewWindowBuilder};
use telemetry_engine::dashboard::dashboard_file;

use crate::{Error, Result, PLUGIN_ID};

/// The label of the panel's window (its capability is granted to this label only).
pub const PANEL_LABEL: &str = "telemetry-panel";

/// The URI scheme the plugin serves the panel's page on.
pub const PANEL_SCHEME: &str = "telemetry-panel";

/// The identifier of the capability the plugin adds for the panel's window.
const CAPABILITY: &str = "opentelemetry-panel";

/// The page's scripts and styles come from the plugin's scheme only; its data comes over
/// IPC (a `fetch` to the IPC scheme, or Tauri's `postMessage` fallback). uPlot sizes its
/// elements through inline styles, hence `'unsafe-inline'` for styles (not scripts).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src ipc: http://ipc.localhost https://ipc.localhost; \
                   base-uri 'none'; form-action 'none'";

/// How the panel's window looks and what it may do.
///
/// # Examples
/// ```
/// use tauri_plugin_opentelemetry::{Builder, PanelOptions};
/// let plugin = Builder::new().panel(
///     PanelOptions::new().title("Studio telemetry").size(1280.0, 800.0).writable(true),
/// );
/// # let _ = plugin;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PanelOptions {
    title: String,
    width: f64,
    height: f64,
    writable: bool,
}

impl Default for PanelOptions {
    fn default() -> Self {
        Self {
            title: "Telemetry".to_owned(),
            width: 1100.0,
            height: 760.0,
            writable: false,
        }
    }
}

impl PanelOptions {
    /// The defaults: titled "Telemetry", 1100 × 760 logical pixels, read-only.
    ///
    /// # Examples
    /// ```
    /// let options = tauri_plugin_opentelemetry::PanelOptions::new();
    /// # let _ = options;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The window's title and the panel's heading.
    ///
    /// # Examples
    /// ```
    /// let options = tauri_plugin_opentelemetry::PanelOptions::new().title("Studio telemetry");
    /// # let _ = options;
    /// ```
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// The window's inner size in logical pixels.
    ///
    /// # Examples
    /// ```
    /// let options = tauri_plugin_opentelemetry::PanelOptions::new().size(1280.0, 800.0);
    /// # let _ = options;
    /// ```
    pub fn size(mut self, width: f64, height: f64) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Whether the panel's window also gets the write commands (`opentelemetry:allow-write`:
    /// "Run now" on health checks, silencing and acknowledging alerts, saving a diagnostics
    /// bundle). Default `false`: read-only.
    ///
    /// # Examples
    /// ```
    /// let options = tauri_plugin_opentelemetry::PanelOptions::new().writable(true);
    /// # let _ = options;
    /// ```
    pub fn writable(mut self, writable: bool) -> Self {
        self.writable = writable;
        self
    }
}

/// The panel of one app: its options, and whether its window's capability was added.
pub(crate) struct PanelState {
    options: PanelOptions,
    granted: Once,
}

/// Opens and closes the telemetry panel's window from Rust.
///
/// # Examples
/// ```
/// use tauri_plugin_opentelemetry::TelemetryPanelExt;
/// fn show_telemetry<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
///     if let Err(e) = app.telemetry_panel().open() {
///         eprintln!("{e}");
///     }
/// }
/// ```
pub struct TelemetryPanel<R: Runtime> {
    app: AppHandle<R>,
    state: Arc<PanelState>,
}

impl<R: Runtime> TelemetryPanel<R> {
    /// Opens the panel's window, or shows and focuses it when it is open already.
    ///
    /// # Errors
    /// [`Error::Window`] when Tauri cannot create or show the window.
    ///
    /// # Examples
    /// ```no_run
    /// # use tauri_plugin_opentelemetry::TelemetryPanelExt;
    /// # fn f<R: tauri::Runtime>(app: &tauri::AppHandle<R>) -> tauri_plugin_opentelemetry::Result<()> {
    /// let window = app.telemetry_panel().open()?;
    /// assert_eq!(window.label(), tauri_plugin_opentelemetry::PANEL_LABEL);
    /// # Ok(()) }
    /// ```
    pub fn open(&self) -> Result<WebviewWindow<R>> {
        self.state
            .granted
            .call_once(|| grant(&self.app, &self.state.options));
        // No lock is held from here on: building a window off the main thread waits for
        // the main thread, which may itself be in `open` (a menu handler) at that moment.
        if let Some(window) = self.window() {
            window.unminimize().map_err(Error::Window)?;
            window.show().map_err(Error::Window)?;
            window.set_focus().map_err(Error::Window)?;
            return Ok(window);
        }
        let options = &self.state.options;
        let url = panel_url(std::env::consts::OS, options).map_err(Error::Window)?;
        WebviewWindowBuilder::new(&self.app, PANEL_LABEL, WebviewUrl::CustomProtocol(url))
            .title(&options.title)
            .inner_size(options.width, options.height)
            .build()
            // Two opens at once: the other one made the window, and that is the panel.
            .or_else(|e| self.window().ok_or(Error::Window(e)))
    }

    /// The panel's window, if it is open.
    ///
    /// # Examples
    /// ```no_run
    /// # use tauri_plugin_opentelemetry::TelemetryPanelExt;
    /// # fn f<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    /// let open = app.telemetry_panel().window().is_some();
    /// # let _ = open; }
    /// ```
    pub fn window(&self) -> Option<WebviewWindow<R>> {
        self.app.get_webview_window(PANEL_LABEL)
    }

    /// Closes the panel's window, if it is open (its streams and subscriptions end with it).
    ///
    /// # Errors
    /// [`Error::Window`] when Tauri cannot close it.
    ///
    /// # Examples
    /// ```no_run
    /// # use tauri_plugin_opentelemetry::TelemetryPanelExt;
    /// # fn f<R: tauri::Runtime>(app: &tauri::AppHandle<R>) -> tauri_plugin_opentelemetry::Result<()> {
    /// app.telemetry_panel().close()?;
    /// # Ok(()) }
    /// ```
    pub fn close(&self) -> Result<()> {
        match self.window() {
            Some(window) => window.destroy().map_err(Error::Window),
            None => Ok(()),
        }
    }
}

/// Access to the telemetry panel from any Tauri manager (app, handle, window).
pub trait TelemetryPanelExt<R: Runtime> {
    /// The panel's window: open, focus, close.
    fn telemetry_panel(&self) -> TelemetryPanel<R>;
}

impl<R: Runtime, T: Manager<R>> TelemetryPanelExt<R> for T {
    fn telemetry_panel(&self) -> TelemetryPanel<R> {
        TelemetryPanel {
            app: self.app_handle().clone(),
            state: self.state::<Arc<PanelState>>().inner().clone(),
        }
    }
}

/// At the plugin's setup: keeps the options.
pub(crate) fn setup<R: Runtime>(app: &AppHandle<R>, options: PanelOptions) {
    app.manage(Arc::new(PanelState {
        options,
        granted: Once::new(),
    }));
}

/// Grants the panel's window its commands, when it first opens (an app that never opens
/// it has no such capability). A capability Tauri refuses is a warning (the panel then
/// shows the refusals), never a failed open.
fn grant<R: Runtime>(app: &AppHandle<R>, options: &PanelOptions) {
    let mut capability = CapabilityBuilder::new(CAPABILITY)
        .window(PANEL_LABEL)
        .permission(format!("{PLUGIN_ID}:default"));
    if options.writable {
        capability = capability.permission(format!("{PLUGIN_ID}:allow-write"));
    }
    if let Err(e) = app.add_capability(capability) {
        ::tracing::warn!(
            target: "telemetry::panel",
            error = %e,
            "the telemetry panel's window cannot be granted its commands"
        );
    }
}

/// The address of the panel's page on `os` (`std::env::consts::OS`): Tauri serves a
/// custom scheme as `<scheme>://localhost/` on Linux and macOS, and as
/// `http://<scheme>.localhost/` on Windows and Android. The query tells the page to talk
/// over IPC, whether to offer writes, and its heading.
pub(crate) fn panel_url(os: &str, options: &PanelOptions) -> tauri::Result<Url> {
    let base = match os {
        "windows" | "android" => format!("http://{PANEL_SCHEME}.localhost/"),
        _ => format!("{PANEL_SCHEME}://localhost/"),
    };
    let mut url = Url::parse(&base).map_err(tauri::Error::InvalidUrl)?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("transport", "ipc");
        if options.writable {
            query.append_pair("write", "1");
        }
        query.append_pair("title", &options.title);
    }
    Ok(url)
}

/// The answer of the panel's scheme to a request for `path`: the dashboard's page (with
/// its content security policy), script or stylesheet, else 404.
pub(crate) fn respond(path: &str) -> Response<Cow<'static, [u8]>> {
    let builder = Response::builder()
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    let answer = match dashboard_file(path) {
        Some(file) => {
            let builder = builder.header(header::CONTENT_TYPE, file.content_type);
            let builder = if file.content_type.starts_with("text/html") {
                builder
                    .header(header::CONTENT_SECURITY_POLICY, CSP)
                    .header(header::REFERRER_POLICY, "no-referrer")
            } else {
                builder
            };
            builder.body(Cow::Borrowed(file.body.as_bytes()))
        }
        None => builder
            .status(StatusCode::NOT_FOUND)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Cow::Owned(
                format!("no {path} in the telemetry panel").into_bytes(),
            )),
    };
    // Every header above is a valid constant; an error here cannot happen.
    answer.unwrap_or_else(|_| Response::new(Cow::Borrowed(&[])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_address_follows_each_platforms_custom_scheme_form() {
        let options = PanelOptions::new();
        for os in ["linux", "macos", "ios", "freebsd"] {
            assert_eq!(
                panel_url(os, &options).unwrap().as_str(),
                "telemetry-panel://localhost/?transport=ipc&title=Telemetry",
                "{os}"
            );
        }
        for os in ["windows", "android"] {
            assert_eq!(
                panel_url(os, &options).unwrap().as_str(),
                "http://telemetry-panel.localhost/?transport=ipc&title=Telemetry",
                "{os}"
            );
        }
    }

    #[test]
    fn the_address_offers_writes_only_when_writable_and_encodes_the_title() {
        let options = PanelOptions::new().title("Studio & co").writable(true);
        assert_eq!(
            panel_url("linux", &options).unwrap().query(),
            Some("transport=ipc&write=1&title=Studio+%26+co")
        );
    }

    #[test]
    fn the_scheme_serves_the_page_its_assets_and_nothing_else() {
        let page = respond("/");
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("connect-src ipc:"));
        assert!(String::from_utf8_lossy(page.body()).contains("assets/dashboard.js"));
        let script = respond("/assets/dashboard.js");
        assert_eq!(
            script.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert!(script.body().len() > 10_000);
        assert_eq!(respond("/assets/dashboard.css").status(), StatusCode::OK);
        let missing = respond("/../Cargo.toml");
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            &missing.body()[..],
            b"no /../Cargo.toml in the telemetry panel"
        );
    }
}
