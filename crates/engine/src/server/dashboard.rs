//! The live dashboard over HTTP and the server's bearer token.
//!
//! The dashboard's files ([`crate::dashboard`]) are served as they are, so a headless
//! machine serves the same panel the Tauri app shows. The page holds no data: it stays
//! public, and reads everything through `/api/*`, which the token guards.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use subtle::ConstantTimeEq;

/// Scripts and styles from the server only; data from the same origin only. uPlot sizes
/// its elements through inline styles, hence `'unsafe-inline'` for styles (not scripts).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
                   frame-ancestors 'none'; form-action 'none'";

/// The routes of the page and its assets.
pub(super) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { page() }))
        .route(
            "/assets/dashboard.js",
            get(|| async { asset("/assets/dashboard.js") }),
        )
        .route(
            "/assets/dashboard.css",
            get(|| async { asset("/assets/dashboard.css") }),
        )
}

fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::CACHE_CONTROL, "no-cache"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        crate::dashboard::INDEX_HTML,
    )
        .into_response()
}

fn asset(path: &str) -> Response {
    let Some(file) = crate::dashboard::dashboard_file(path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, file.content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        file.body,
    )
        .into_response()
}

/// The token every data route requires, if one is configured.
#[derive(Clone)]
pub(super) struct BearerToken(pub(super) std::sync::Arc<str>);

impl BearerToken {
    /// Whether `authorization` is `Bearer <token>`, compared in constant time so that the
    /// answer's timing does not reveal how much of a guess was right.
    fn admits(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some(given) = authorization
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .map(<[u8]>::trim_ascii)
        else {
            return false;
        };
        given.ct_eq(self.0.as_bytes()).into()
    }
}

/// Middleware: 401 with `WWW-Authenticate: Bearer` unless the request carries the token.
pub(super) async fn require_token(
    State(token): State<BearerToken>,
    request: Request,
    next: Next,
) -> Response {
    if token.admits(request.headers().get(header::AUTHORIZATION)) {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(serde_json::json!({
                "error": "this telemetry server requires `Authorization: Bearer <token>` (http_token)"
            })),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_checked_exactly() {
        let token = BearerToken("0123456789abcdef".into());
        let header = |v: &str| HeaderValue::from_str(v).unwrap();
        assert!(token.admits(Some(&header("Bearer 0123456789abcdef"))));
        assert!(!token.admits(Some(&header("Bearer 0123456789abcdeF"))));
        assert!(!token.admits(Some(&header("Bearer 0123456789abcde"))));
        assert!(!token.admits(Some(&header("Bearer 0123456789abcdef0"))));
        assert!(!token.admits(Some(&header("Basic 0123456789abcdef"))));
        assert!(!token.admits(Some(&header("0123456789abcdef"))));
        assert!(!token.admits(None));
    }
}
