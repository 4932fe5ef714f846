//! Scrubbing: what leaves the process loses the user's home directory, e-mail addresses
//! and the attribute keys the app names. The rules are plain functions of their inputs,
//! tested here for every OS's paths.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use opentelemetry::logs::AnyValue;
use opentelemetry::{Array, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;
use sha2::{Digest as _, Sha256};

use crate::config::{PathStyle, PrivacyConfig};

/// What replaces an e-mail address.
const EMAIL: &str = "<email>";

/// An e-mail address: a local part, `@`, and a domain with at least one dot.
static EMAIL_PATTERN: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
    regex::Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+").ok()
});

/// The scrubbing rules of one configuration.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scrubber {
    /// The spellings of the home directory to replace with `~`.
    home: Vec<String>,
    /// Whether paths compare without regard to ASCII case (Windows, macOS).
    home_ignores_case: bool,
    emails: bool,
    drop: Vec<String>,
    hash: Vec<String>,
}

impl Scrubber {
    /// The rules of `config` for this machine's home directory.
    pub(crate) fn new(config: &PrivacyConfig) -> Self {
        let home = std::env::home_dir()
            .filter(|_| config.redact_home_dir)
            .map(|h| h.display().to_string());
        Self::for_home(
            config,
            home.as_deref(),
            PathStyle::current(),
            cfg!(any(windows, target_os = "macos")),
        )
    }

    /// The rules of `config` for a home directory spelled `home` on a system whose paths
    /// look like `style`.
    pub(crate) fn for_home(
        config: &PrivacyConfig,
        home: Option<&str>,
        style: PathStyle,
        ignores_case: bool,
    ) -> Self {
        Self {
            home: home.map(|h| home_spellings(h, style)).unwrap_or_default(),
            home_ignores_case: ignores_case,
            emails: config.redact_emails,
            drop: config.drop_attributes.clone(),
            hash: config.hash_attributes.clone(),
        }
    }

    /// Whether the rules change anything at all.
    pub(crate) fn is_active(&self) -> bool {
        !(self.home.is_empty() && !self.emails && self.drop.is_empty() && self.hash.is_empty())
    }

    /// `text` scrubbed, or `None` when nothing in it had to go.
    pub(crate) fn text(&self, text: &str) -> Option<String> {
        let mut clean: Option<String> = None;
        for home in &self.home {
            let current = clean.as_deref().unwrap_or(text);
            if let Some(c) = replace_path(current, home, self.home_ignores_case) {
                clean = Some(c);
            }
        }
        if self.emails {
            if let Some(c) = redact_emails(clean.as_deref().unwrap_or(text)) {
                clean = Some(c);
            }
        }
        clean
    }

    fn text_in_place(&self, text: &mut Cow<'static, str>) {
        if let Some(clean) = self.text(text) {
            *text = Cow::Owned(clean);
        }
    }

    fn drops(&self, key: &str) -> bool {
        self.drop.iter().any(|k| k == key)
    }

    fn hashes(&self, key: &str) -> bool {
        self.hash.iter().any(|k| k == key)
    }

    /// Scrubs a span's name, attributes, events, links and status message.
    pub(crate) fn span(&self, span: &mut SpanData) {
        self.text_in_place(&mut span.name);
        self.attributes(&mut span.attributes);
        for event in &mut span.events.events {
            self.text_in_place(&mut event.name);
            self.attributes(&mut event.attributes);
        }
        for link in &mut span.links.links {
            self.attributes(&mut link.attributes);
        }
        if let opentelemetry::trace::Status::Error { description } = &mut span.status {
            self.text_in_place(description);
        }
    }

    /// Removes the dropped keys, hashes the hashed ones and scrubs the other values.
    pub(crate) fn attributes(&self, attributes: &mut Vec<KeyValue>) {
        attributes.retain(|kv| !self.drops(kv.key.as_str()));
        for kv in attributes {
            if self.hashes(kv.key.as_str()) {
                kv.value = Value::String(hash(&kv.value.as_str()).into());
            } else if let Some(clean) = self.value(&kv.value) {
                kv.value = clean;
            }
        }
    }

    fn value(&self, value: &Value) -> Option<Value> {
        match value {
            Value::String(s) => self.text(s.as_str()).map(|c| Value::String(c.into())),
            Value::Array(Array::String(items)) => {
                let cleaned: Vec<Option<String>> =
                    items.iter().map(|s| self.text(s.as_str())).collect();
                cleaned.iter().any(Option::is_some).then(|| {
                    Value::Array(Array::String(
                        items
                            .iter()
                            .zip(cleaned)
                            .map(|(s, c)| c.map_or_else(|| s.clone(), StringValue::from))
                            .collect(),
                    ))
                })
            }
            _ => None,
        }
    }

    /// Scrubs one log attribute (or the body, with `key` empty): `None` drops it.
    pub(crate) fn any(&self, key: &str, value: &AnyValue) -> Option<AnyValue> {
        if self.drops(key) {
            return None;
        }
        if self.hashes(key) {
            return Some(AnyValue::String(hash(&any_text(value)).into()));
        }
        Some(match value {
            AnyValue::String(s) => match self.text(s.as_str()) {
                Some(clean) => AnyValue::String(clean.into()),
                None => value.clone(),
            },
            AnyValue::ListAny(items) => AnyValue::ListAny(Box::new(
                items.iter().filter_map(|v| self.any("", v)).collect(),
            )),
            AnyValue::Map(map) => AnyValue::Map(Box::new(
                map.iter()
                    .filter_map(|(k, v)| Some((k.clone(), self.any(k.as_str(), v)?)))
                    .collect::<HashMap<Key, AnyValue>>(),
            )),
            other => other.clone(),
        })
    }

    /// Scrubs a JSON document in place: see [`super::Privacy::scrub_json`].
    pub(crate) fn json(&self, value: &mut serde_json::Value) {
        use serde_json::Value as Json;
        match value {
            Json::String(s) => {
                if let Some(clean) = self.text(s) {
                    *s = clean;
                }
            }
            Json::Array(items) => items.iter_mut().for_each(|v| self.json(v)),
            Json::Object(map) => {
                *map = std::mem::take(map)
                    .into_iter()
                    .filter(|(key, _)| !self.drops(key))
                    .map(|(key, mut v)| {
                        match &mut v {
                            Json::String(s) if self.hashes(&key) => *s = hash(s),
                            _ => self.json(&mut v),
                        }
                        (self.text(&key).unwrap_or(key), v)
                    })
                    .collect();
            }
            Json::Null | Json::Bool(_) | Json::Number(_) => {}
        }
    }

    /// A metric label's value scrubbed (a dropped key is hashed: removing it would merge
    /// series the SDK counted apart), or `None` when it stays.
    pub(crate) fn label(&self, key: &str, value: &str) -> Option<String> {
        if self.hashes(key) || self.drops(key) {
            return Some(hash(value));
        }
        self.text(value)
    }
}

fn any_text(value: &AnyValue) -> String {
    match value {
        AnyValue::String(s) => s.as_str().to_owned(),
        AnyValue::Int(i) => i.to_string(),
        AnyValue::Double(d) => d.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// `sha256:` and the first 16 hex digits of the SHA-256 of `value`.
pub(crate) fn hash(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The ways a path under `home` is written on a system whose paths look like `style`:
/// Windows accepts `\` and `/` (and tools write `file:///C:/Users/..`), Unix has one.
/// Nothing for a home too short to mean anything (`/`, `C:\`).
pub(crate) fn home_spellings(home: &str, style: PathStyle) -> Vec<String> {
    let separators: &[char] = match style {
        PathStyle::Windows => &['\\', '/'],
        PathStyle::Unix => &['/'],
    };
    let trimmed = home.trim_end_matches(separators);
    if trimmed.trim_start_matches(separators).len() < 2
        || (style == PathStyle::Windows && trimmed.len() <= 2)
    {
        return Vec::new();
    }
    match style {
        PathStyle::Unix => vec![trimmed.to_owned()],
        PathStyle::Windows => {
            let backslashed = trimmed.replace('/', "\\");
            let slashed = trimmed.replace('\\', "/");
            vec![backslashed, slashed]
        }
    }
}

/// `text` with each `home` that ends at a path boundary replaced by `~`, or `None`.
fn replace_path(text: &str, home: &str, ignore_case: bool) -> Option<String> {
    // Most strings (every metric label at every scrape) hold no home at all: say so
    // without copying them.
    let holds = text.as_bytes().windows(home.len().max(1)).any(|w| {
        if ignore_case {
            w.eq_ignore_ascii_case(home.as_bytes())
        } else {
            w == home.as_bytes()
        }
    });
    if !holds {
        return None;
    }
    let haystack: Cow<'_, str> = if ignore_case {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    };
    let needle: Cow<'_, str> = if ignore_case {
        Cow::Owned(home.to_ascii_lowercase())
    } else {
        Cow::Borrowed(home)
    };
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = haystack[from..].find(needle.as_ref()) {
        let start = from + found;
        let end = start + needle.len();
        from = end;
        let ends_name = text[end..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')));
        if ends_name {
            out.push_str(&text[copied..start]);
            out.push('~');
            copied = end;
        }
    }
    (copied > 0).then(|| {
        out.push_str(&text[copied..]);
        out
    })
}

/// `text` with every e-mail address replaced by [`EMAIL`], or `None` when it has none.
pub(crate) fn redact_emails(text: &str) -> Option<String> {
    if !text.contains('@') {
        return None;
    }
    let pattern = EMAIL_PATTERN.as_ref()?;
    match pattern.replace_all(text, EMAIL) {
        Cow::Owned(clean) => Some(clean),
        Cow::Borrowed(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubber(home: &str, style: PathStyle, ignores_case: bool) -> Scrubber {
        Scrubber::for_home(&PrivacyConfig::default(), Some(home), style, ignores_case)
    }

    #[test]
    fn the_home_directory_becomes_a_tilde_on_every_os() {
        let linux = scrubber("/home/alice/", PathStyle::Unix, false);
        assert_eq!(
            linux
                .text("open /home/alice/Videos/cut.mp4 failed")
                .as_deref(),
            Some("open ~/Videos/cut.mp4 failed")
        );
        assert_eq!(linux.text("/home/alice2/x"), None, "another user's home");
        assert_eq!(linux.text("/HOME/ALICE/x"), None, "Linux paths keep case");
        assert_eq!(linux.text("/home/alice").as_deref(), Some("~"));

        let mac = scrubber("/Users/Alice", PathStyle::Unix, true);
        assert_eq!(
            mac.text("/users/alice/Movies and /Users/Alice/Library")
                .as_deref(),
            Some("~/Movies and ~/Library")
        );

        let windows = scrubber(r"C:\Users\Alice", PathStyle::Windows, true);
        assert_eq!(
            windows.text(r"c:\users\alice\Videos\a.mp4").as_deref(),
            Some(r"~\Videos\a.mp4")
        );
        assert_eq!(
            windows
                .text("file:///C:/Users/Alice/AppData/x.log")
                .as_deref(),
            Some("file:///~/AppData/x.log")
        );
    }

    #[test]
    fn a_home_too_short_to_mean_anything_is_left_alone() {
        assert!(home_spellings("/", PathStyle::Unix).is_empty());
        assert!(home_spellings(r"C:\", PathStyle::Windows).is_empty());
        assert_eq!(home_spellings("/root", PathStyle::Unix), ["/root"]);
    }

    #[test]
    fn email_addresses_become_a_placeholder() {
        assert_eq!(
            redact_emails("sent to jane.doe+cuts@example.co.uk, cc bob@mail.example").as_deref(),
            Some("sent to <email>, cc <email>")
        );
        assert_eq!(redact_emails("@everyone and user@localhost"), None);
        let both = scrubber("/home/jane", PathStyle::Unix, false);
        assert_eq!(
            both.text("/home/jane/.config/jane@example.com/state")
                .as_deref(),
            Some("~/.config/<email>/state")
        );
    }

    #[test]
    fn named_keys_are_dropped_or_hashed_everywhere() {
        let config = PrivacyConfig {
            drop_attributes: vec!["user.email".into()],
            hash_attributes: vec!["user.id".into()],
            ..PrivacyConfig::default()
        };
        let s = Scrubber::for_home(&config, None, PathStyle::Unix, false);
        let mut attributes = vec![
            KeyValue::new("user.email", "x@example.com"),
            KeyValue::new("user.id", "alice"),
            KeyValue::new("frames", 12),
        ];
        s.attributes(&mut attributes);
        assert_eq!(attributes.len(), 2);
        assert_eq!(attributes[0].value.as_str(), hash("alice"));
        assert!(hash("alice").starts_with("sha256:") && hash("alice").len() == 23);
        assert_eq!(
            s.label("user.email", "x@example.com"),
            Some(hash("x@example.com"))
        );
        let map = AnyValue::Map(Box::new(HashMap::from([
            (Key::new("user.email"), AnyValue::from("x@example.com")),
            (Key::new("note"), AnyValue::from("mail y@example.org")),
        ])));
        let AnyValue::Map(cleaned) = s.any("", &map).unwrap() else {
            panic!("a map stays a map");
        };
        assert_eq!(cleaned.len(), 1);
        assert_eq!(cleaned[&Key::new("note")], AnyValue::from("mail <email>"));
        assert!(s.any("user.email", &AnyValue::from("z")).is_none());
    }

    #[test]
    fn a_json_document_loses_keys_values_and_paths_in_its_keys() {
        let config = PrivacyConfig {
            drop_attributes: vec!["user.email".into()],
            hash_attributes: vec!["user.id".into()],
            ..PrivacyConfig::default()
        };
        let s = Scrubber::for_home(&config, Some("/home/ann"), PathStyle::Unix, false);
        let mut doc = serde_json::json!({
            "logs:file:/home/ann/logs/a.json": { "state": "Healthy" },
            "traces": [ { "attributes": { "user.email": "a@b.example", "user.id": "ann",
                "path": "/home/ann/x", "frames": 3 } } ]
        });
        s.json(&mut doc);
        assert_eq!(
            doc,
            serde_json::json!({
                "logs:file:~/logs/a.json": { "state": "Healthy" },
                "traces": [ { "attributes": { "user.id": hash("ann"), "path": "~/x", "frames": 3 } } ]
            })
        );
    }

    #[test]
    fn nothing_to_do_is_known() {
        let off = PrivacyConfig {
            redact_home_dir: false,
            redact_emails: false,
            ..PrivacyConfig::default()
        };
        assert!(!Scrubber::for_home(&off, None, PathStyle::Unix, false).is_active());
        assert!(
            Scrubber::for_home(&PrivacyConfig::default(), None, PathStyle::Unix, false).is_active()
        );
    }
}
