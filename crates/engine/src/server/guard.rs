//! Who may talk to the server: requests a web page could forge are refused before any
//! route runs.
//!
//! - The `Host` header must name this machine in a way no web page can claim: on a
//!   loopback bind a loopback host (`127.0.0.1`, `localhost`, `[::1]`, any port); on any
//!   other bind, an IP address or `localhost`. A page that rebinds its own DNS name to
//!   this machine sends that name and is refused (421), so it cannot read metrics, health,
//!   logs, traces or the config. Names in `allowed_hosts` are answered too (a Prometheus
//!   in a container asks for `host.docker.internal`); so is any name on a server beyond
//!   loopback that requires `http_token`, which such a page does not have.
//! - A request with an `Origin` must come from the server's own origin, a loopback origin
//!   or the app's webview (`tauri://localhost`, `http(s)://tauri.localhost`); any other
//!   site gets 403, whatever the bind.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ServerConfig;

/// What the guard needs to know about the server.
#[derive(Clone)]
pub(super) struct Guard {
    /// The server listens on a loopback address only.
    loopback: bool,
    /// Its data routes require the bearer token.
    token: bool,
    /// Host names answered besides addresses and `localhost`, lowercased.
    allowed: Arc<[String]>,
}

impl Guard {
    pub(super) fn new(config: &ServerConfig) -> Self {
        Self {
            loopback: config
                .host
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()),
            token: config.token.is_some(),
            allowed: config
                .allowed_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether a request for `host` (lowercased, without its port) is answered.
    fn answers(&self, host: &str) -> bool {
        if self.allowed.iter().any(|a| a == host) {
            return true;
        }
        if self.loopback {
            is_loopback_host(host)
        } else {
            // No `Host` at all (an HTTP/1.0 probe) is no browser's request either.
            self.token || host.is_empty() || host == "localhost" || host.parse::<IpAddr>().is_ok()
        }
    }
}

/// The host part of `authority` (`host[:port]`, `[v6][:port]`), lowercased, without the
/// trailing dot of a fully qualified name (`host.docker.internal.`).
fn host_of(authority: &str) -> String {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Why the request must be refused, if it must.
fn refusal(guard: &Guard, headers: &HeaderMap) -> Option<(StatusCode, &'static str)> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !guard.answers(&host_of(host)) {
        let why = if guard.loopback {
            "this telemetry server answers only to a loopback Host (127.0.0.1, localhost, \
             [::1]) or a name in allowed_hosts"
        } else {
            "this telemetry server answers a host name only when it is in allowed_hosts or \
             http_token is set (a web page could rebind a name to this machine); ask for \
             its IP address"
        };
        return Some((StatusCode::MISDIRECTED_REQUEST, why));
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
    match refusal(&guard, request.headers()) {
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

    fn guard(host: &str, token: bool, allowed: &[&str]) -> Guard {
        Guard::new(&ServerConfig {
            host: host.into(),
            port: 9090,
            metrics: None,
            compression: false,
            service: "studio".into(),
            version: "1.0.0".into(),
            token: token.then(|| "0123456789abcdef".into()),
            allowed_hosts: allowed.iter().map(|h| h.to_string()).collect(),
        })
    }

    fn status(guard: &Guard, host: &str) -> Option<StatusCode> {
        refusal(guard, &headers(host, None)).map(|r| r.0)
    }

    #[test]
    fn loopback_binds_answer_only_loopback_hosts() {
        let loopback = guard("127.0.0.1", false, &[]);
        for host in [
            "127.0.0.1:9090",
            "localhost:9090",
            "LOCALHOST",
            "[::1]:9090",
            "127.0.0.2",
        ] {
            assert_eq!(status(&loopback, host), None, "{host}");
        }
        for host in [
            "evil.example:9090",
            "evil.example",
            "10.0.0.5:9090",
            "",
            "127.0.0.1.evil.example",
        ] {
            let refused = status(&loopback, host);
            assert_eq!(refused, Some(StatusCode::MISDIRECTED_REQUEST), "{host}");
        }
        let named = guard("127.0.0.1", false, &["Studio.Test"]);
        assert_eq!(status(&named, "studio.test:9090"), None);
        assert_eq!(
            status(&named, "evil.example"),
            Some(StatusCode::MISDIRECTED_REQUEST)
        );
    }

    #[test]
    fn wider_binds_answer_addresses_and_only_the_names_allowed_or_behind_the_token() {
        // Any address: the one a scraper was given is not known in advance.
        let open = guard("0.0.0.0", false, &[]);
        for host in [
            "192.168.1.20:9090",
            "10.0.0.5",
            "[fe80::1]:9090",
            "localhost",
            // No Host: an HTTP/1.0 probe, never a browser.
            "",
        ] {
            assert_eq!(status(&open, host), None, "{host}");
        }
        // A name is what a rebinding page sends.
        for host in ["studio.lan:9090", "evil.example", "evil.example."] {
            assert_eq!(
                status(&open, host),
                Some(StatusCode::MISDIRECTED_REQUEST),
                "{host}"
            );
        }
        let docker = guard("0.0.0.0", false, &["host.docker.internal"]);
        assert_eq!(status(&docker, "host.docker.internal:9090"), None);
        assert_eq!(status(&docker, "HOST.docker.internal.:9090"), None);
        assert_eq!(
            status(&docker, "evil.example:9090"),
            Some(StatusCode::MISDIRECTED_REQUEST)
        );
        // Behind the token a page that rebinds gets 401 from the data routes.
        let token = guard("0.0.0.0", true, &[]);
        assert_eq!(status(&token, "studio.lan:9090"), None);
    }

    #[test]
    fn cross_site_origins_are_refused() {
        let loopback = guard("127.0.0.1", false, &[]);
        for origin in [
            "http://127.0.0.1:9090",
            "http://localhost:5173",
            "tauri://localhost",
            "http://tauri.localhost",
            "https://tauri.localhost",
        ] {
            assert_eq!(
                refusal(&loopback, &headers("127.0.0.1:9090", Some(origin))),
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
            let refused = refusal(&loopback, &headers("127.0.0.1:9090", Some(origin))).map(|r| r.0);
            assert_eq!(refused, Some(StatusCode::FORBIDDEN), "{origin}");
        }
        let open = guard("0.0.0.0", true, &[]);
        assert_eq!(
            refusal(
                &open,
                &headers("studio.lan:9090", Some("http://studio.lan:9090"))
            ),
            None
        );
        let refused = refusal(
            &open,
            &headers("studio.lan:9090", Some("http://evil.example")),
        );
        assert_eq!(refused.map(|r| r.0), Some(StatusCode::FORBIDDEN));
    }
}
