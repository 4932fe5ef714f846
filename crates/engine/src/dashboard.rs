//! The live dashboard's built files: its page, script and stylesheet, built from
//! `guest-js/dashboard` by `npm run build:dashboard` into `crates/engine/assets/dashboard`
//! and compiled into the binary. The HTTP server (feature `server`) serves them at `/`;
//! the Tauri plugin serves them to its panel window, whose page then talks over IPC.

/// One file of the built dashboard: its page, script or stylesheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardFile {
    /// The `Content-Type` to serve it with.
    pub content_type: &'static str,
    /// Its text.
    pub body: &'static str,
}

/// The built dashboard's file at `path` (`/` or `/index.html`, `/assets/dashboard.js`,
/// `/assets/dashboard.css`), or `None`. The HTTP server serves these; the Tauri plugin
/// serves the same files to its panel window, whose page then talks over IPC.
///
/// # Examples
/// ```
/// use telemetry_engine::dashboard::dashboard_file;
/// let page = dashboard_file("/").expect("the page is embedded");
/// assert_eq!(page.content_type, "text/html; charset=utf-8");
/// assert!(dashboard_file("/secrets").is_none());
/// ```
pub fn dashboard_file(path: &str) -> Option<DashboardFile> {
    let (content_type, body) = match path {
        "/" | "/index.html" => ("text/html; charset=utf-8", INDEX_HTML),
        "/assets/dashboard.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "/assets/dashboard.css" => ("text/css; charset=utf-8", STYLE),
        _ => return None,
    };
    Some(DashboardFile { content_type, body })
}

/// The built page and its two assets.
pub(crate) const INDEX_HTML: &str = include_str!("../assets/dashboard/index.html");
const SCRIPT: &str = include_str!("../assets/dashboard/assets/dashboard.js");
const STYLE: &str = include_str!("../assets/dashboard/assets/dashboard.css");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_dashboard_is_embedded() {
        assert!(INDEX_HTML.contains("/assets/dashboard.js"), "{INDEX_HTML}");
        assert!(INDEX_HTML.contains("/assets/dashboard.css"), "{INDEX_HTML}");
        assert!(SCRIPT.len() > 10_000, "the script looks empty");
    }
}
