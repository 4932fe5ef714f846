//! What of the configuration is secret, and how it is shown without the secrets.
//!
//! Secrets: OTLP header values, the SMTP password, PagerDuty routing keys, webhook URLs
//! and the HTTP token, which are replaced by `"<redacted>"`; and the `user:password@`
//! part, query and fragment of every other URL (endpoints, the Http check's URL, the
//! PagerDuty base URL), which are cut. [`TelemetryConfig::redacted`](super::TelemetryConfig::redacted)
//! is the JSON shown in the webview and the logs; every configuration type that holds a
//! secret prints the same through `{:?}`.

use serde::Serialize;
use serde_json::Value;

/// What replaces a secret.
const REDACTED: &str = "<redacted>";

/// `value`'s JSON with every secret redacted (see the module docs).
pub(super) fn redacted<T: Serialize>(value: &T) -> Value {
    let mut json = serde_json::to_value(value).unwrap_or_default();
    redact(&mut json, None);
    json
}

/// Redacts the secrets in `value`, the value of the field `parent` (an enum variant's
/// name for the fields of that variant).
fn redact(value: &mut Value, parent: Option<&str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let secret = matches!(key.as_str(), "password" | "service_key" | "http_token")
                    || (key == "url" && parent == Some("Webhook"))
                    || parent == Some("headers");
                let url = matches!(key.as_str(), "endpoint" | "pagerduty_url")
                    || (key == "url" && parent == Some("Http"));
                if secret && !v.is_null() {
                    *v = Value::String(REDACTED.into());
                } else if let (true, Value::String(s)) = (url, &mut *v) {
                    *s = shown_endpoint(s);
                } else {
                    redact(v, Some(key.as_str()));
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                redact(item, parent);
            }
        }
        _ => {}
    }
}

/// `Debug` for configuration types that hold a secret: the type's name and its JSON
/// with the secrets redacted, so that `{:?}` (a log line, a failed assertion) never
/// prints one.
macro_rules! debug_redacted {
    ($($ty:ty),+ $(,)?) => {$(
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{} {}", stringify!($ty), $crate::config::secrets::redacted(self))
            }
        }
    )+};
}
pub(super) use debug_redacted;

/// `endpoint` as it may be shown in status names, metric labels, errors and logs: without
/// a `user:password@` part, a query or a fragment, which can carry credentials.
pub(crate) fn shown_endpoint(endpoint: &str) -> String {
    let (bare, _) = split_userinfo(endpoint);
    bare.split(['?', '#']).next().unwrap_or_default().to_owned()
}

/// `url` as a message about it may show it when it may not be a valid URL: without
/// anything between its scheme and its last `@` (a password pasted unencoded can hold
/// `/`, which ends the authority for [`shown_endpoint`]), its query and its fragment.
pub(crate) fn shown_unparsed(url: &str) -> String {
    let bare = url.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = match bare.find("://") {
        Some(i) => bare.split_at(i + 3),
        None => ("", bare),
    };
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}{host}")
}

/// `endpoint` without its `user:password@` part, and that part (still percent-encoded).
pub(crate) fn split_userinfo(endpoint: &str) -> (String, Option<&str>) {
    let (prefix, rest) = match endpoint.find("://") {
        Some(i) => endpoint.split_at(i + 3),
        None => ("", endpoint),
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => (format!("{prefix}{host}{tail}"), Some(userinfo)),
        None => (endpoint.to_owned(), None),
    }
}
