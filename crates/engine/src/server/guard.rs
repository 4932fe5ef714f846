//! Who may talk to the server: requests a web page could forge are refused before any
//! route runs.
//!
//! - On a loopback bind, the `Host` header must name a loopback host (`127.0.0.1`,
//!   `localhost`, `[::1]`, any port): a page that rebinds its DNS name to 127.0.0.1 sends
//!   its own name and is refused (421), so it cannot read logs, traces or the config.
//! - A request with an `Origin` must come from the server's own origin, a loopback origin
//!   or the app's webview (`tauri://localhost`, `http(s)://tauri.localhost`); any other
//!   site gets 403, whatever the bind.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What the guard needs to know about the server.
#[derive(Clone, Copy)]
pub(super) struct Guard {
    /// The server listens on a loopback address only.
    pub(super) loopback: bool,
}

/// The host part of `authority` (`host[:port]`, `[v6][:port]`), lowercased.
fn host_of(authority: &str) -> String {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.to_ascii_lowercase()
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why the request must be refused, if it must.
fn refusal(guard: Guard, headers: &HeaderMap) -> Option<(StatusCode, &'static str)> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if guard.loopback && !is_loopback_host(&host_of(host)) {
        return Some((
            StatusCode::MISDIRECTED_REQUEST,
            "this telemetry server answers only to a loopback Host (127.0.0.1, localhost, [::1])",
        ));
    }
    let origin = headers.get(header::ORIGIN)?.to_str().unwrap_or("invalid");
    let same_origin = origin
        .strip_prefix("http://")
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host));
    let (scheme, authority) = origin.split_once("://").unwrap_or(("", origin));
    let app_or_loopback = matches!(
        (scheme, authority),
        ("tauri", "localhost") | ("http" | "https", "tauri.localhost")
    ) || (matches!(scheme, "http" | "https")
        && is_loopback_host(&host_of(authority)));
    if same_origin || app_or_loopback {
        None
    } else {
        Some((
            StatusCode::FORBIDDEN,
            "cross-site requests are refused by this telemetry server",
        ))
    }
}

/// The middleware: refuses what [`refusal`] finds, passes the rest on.
pub(super) async fn check(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    match refusal(guard, request.headers()) {
        Some((status, message)) => {
            (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
        }
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn loopback_binds_answer_only_loopback_hosts() {
        let guard = Guard { loopback: true };
        for host in [
            "127.0.0.1:9090",
            "localhost:9090",
            "LOCALHOST",
            "[::1]:9090",
            "127.0.0.2",
        ] {
            assert_eq!(refusal(guard, &headers(host, None)), None, "{host}");
        }
        for host in [
            "evil.example:9090",
            "evil.example",
            "10.0.0.5:9090",
            "",
            "127.0.0.1.evil.example",
        ] {
            let refused = refusal(guard, &headers(host, None)).map(|r| r.0);
            assert_eq!(refused, Some(StatusCode::MISDIRECTED_REQUEST), "{host}");
        }
        // Any host on a bind to every interface: the address is not known in advance.
        let open = Guard { loopback: false };
        assert_eq!(refusal(open, &headers("studio.lan:9090", None)), None);
    }

    #[test]
    fn cross_site_origins_are_refused() {
        let guard = Guard { loopback: true };
        for origin in [
            "http://127.0.0.1:9090",
            "http://localhost:5173",
            "tauri://localhost",
            "http://tauri.localhost",
            "https://tauri.localhost",
        ] {
            assert_eq!(
                refusal(guard, &headers("127.0.0.1:9090", Some(origin))),
                None,
                "{origin}"
            );
        }
        for origin in [
            "http://evil.example",
            "https://evil.example:9090",
            "null",
            "tauri://evil",
        ] {
            let refused = refusal(guard, &headers("127.0.0.1:9090", Some(origin))).map(|r| r.0);
            assert_eq!(refused, Some(StatusCode::FORBIDDEN), "{origin}");
        }
        let open = Guard { loopback: false };
        assert_eq!(
            refusal(
                open,
                &headers("studio.lan:9090", Some("http://studio.lan:9090"))
            ),
            None
        );
        let refused = refusal(
            open,
            &headers("studio.lan:9090", Some("http://evil.example")),
        );
        assert_eq!(refused.map(|r| r.0), Some(StatusCode::FORBIDDEN));
    }
}
