//! The user's say over their telemetry: whether anything may leave the machine
//! (`consent`), what is scrubbed from what leaves (`privacy`), where the engine keeps
//! the user's choice between launches (`storage`), and how much unsent telemetry it keeps
//! on the user's disk while offline (`spool`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Whether telemetry may leave this machine (`"consent": "granted" | "denied" | "ask"`).
///
/// OTLP exporters, webhooks, PagerDuty and e-mail send only while consent is granted;
/// the in-app panel, the local Prometheus endpoint and the file and console exporters work
/// whatever it is. A choice the user made (persisted under `storage.dir`) beats this
/// value.
///
/// # Examples
/// ```
/// use telemetry_engine::config::{Consent, TelemetryConfig};
/// let cfg = TelemetryConfig::from_json(r#"{ "consent": "ask" }"#)?;
/// assert_eq!(cfg.consent, Consent::Ask);
/// assert!(!cfg.consent.allows_sending());
/// # Ok::<(), telemetry_engine::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Hash)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub enum Consent {
    /// Sending is allowed (the default: the app's developer configured where to send).
    #[default]
    Granted,
    /// The user said no: nothing leaves the machine.
    Denied,
    /// Not decided yet: nothing leaves the machine until the user grants it.
    Ask,
}

impl Consent {
    /// Whether telemetry may leave the machine.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::Consent;
    /// assert!(Consent::Granted.allows_sending() && !Consent::Denied.allows_sending());
    /// ```
    pub fn allows_sending(self) -> bool {
        self == Self::Granted
    }

    /// The JSON word: `granted`, `denied` or `ask`.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::Consent;
    /// assert_eq!(Consent::Ask.as_str(), "ask");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Denied => "denied",
            Self::Ask => "ask",
        }
    }

    /// The consent a JSON word names, if it names one.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::Consent;
    /// assert_eq!(Consent::parse(" Denied\n"), Some(Consent::Denied));
    /// assert_eq!(Consent::parse("maybe"), None);
    /// ```
    pub fn parse(word: &str) -> Option<Self> {
        match word.trim().to_ascii_lowercase().as_str() {
            "granted" => Some(Self::Granted),
            "denied" => Some(Self::Denied),
            "ask" => Some(Self::Ask),
            _ => None,
        }
    }
}

/// What is scrubbed from every span, log record and metric attribute before it leaves the
/// process (OTLP, files, console, `/metrics`, diagnostics bundles). The in-app stores
/// keep what was recorded.
///
/// # Examples
/// ```
/// use telemetry_engine::config::TelemetryConfig;
/// let cfg = TelemetryConfig::from_json(r#"{ "privacy": {
///     "drop_attributes": ["user.email"], "hash_attributes": ["user.id"] } }"#)?;
/// assert!(cfg.privacy.redact_home_dir && cfg.privacy.redact_emails);
/// assert_eq!(cfg.privacy.hash_attributes, ["user.id"]);
/// # Ok::<(), telemetry_engine::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// The user's home directory becomes `~` in every string that leaves. Default `true`.
    pub redact_home_dir: bool,
    /// E-mail addresses become `<email>`. Default `true`.
    pub redact_emails: bool,
    /// Attribute keys removed from what leaves. Default none. At most
    /// [`PrivacyConfig::MAX_KEYS`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drop_attributes: Vec<String>,
    /// Attribute keys whose values are replaced by `sha256:` and the first 16 hex digits
    /// of their SHA-256 (the same value always hashes the same, so records still group;
    /// a pseudonym, not anonymity). Default none. At most [`PrivacyConfig::MAX_KEYS`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hash_attributes: Vec<String>,
}

impl PrivacyConfig {
    /// Keys in `drop_attributes`, and in `hash_attributes`, at most.
    pub const MAX_KEYS: usize = 64;
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            redact_home_dir: true,
            redact_emails: true,
            drop_attributes: Vec::new(),
            hash_attributes: Vec::new(),
        }
    }
}

/// Where the engine keeps what must outlive a launch: the user's consent choice.
///
/// # Examples
/// ```
/// use telemetry_engine::config::TelemetryConfig;
/// let cfg = TelemetryConfig::from_json(r#"{ "storage": { "dir": "/var/lib/studio/telemetry" } }"#)?;
/// assert_eq!(cfg.storage.dir.as_deref(), Some("/var/lib/studio/telemetry"));
/// # Ok::<(), telemetry_engine::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// The directory (created when needed). Also from `TELEMETRY_DATA_DIR`. The plugin
    /// uses `<app data dir>/telemetry` when it is not set, and puts a relative path under
    /// the app's data directory. Default none: nothing is kept, and a consent given with
    /// `set_consent` lasts until the process ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
}

/// The offline spool: OTLP batches that could not be sent (the destination unreachable or
/// overloaded) wait on disk, under `<storage.dir>/spool`, and are sent oldest first once
/// it answers, also after a restart. No `storage.dir`, no spool: such batches are lost
/// and counted, as before.
///
/// # Examples
/// ```
/// use telemetry_engine::config::TelemetryConfig;
/// let cfg = TelemetryConfig::from_json(r#"{ "spool": { "max_bytes": 16777216, "max_age": "2d" } }"#)?;
/// assert_eq!(cfg.spool.max_bytes, 16 << 20);
/// assert_eq!(cfg.spool.max_age.as_secs(), 2 * 86_400);
/// assert!(cfg.spool.enabled);
/// # Ok::<(), telemetry_engine::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpoolConfig {
    /// Whether failed batches are kept. Default `true` (when `storage.dir` is set).
    pub enabled: bool,
    /// The most the spool holds on disk, all exporters together; beyond, the oldest
    /// batches go first. Default 64 MiB.
    pub max_bytes: u64,
    /// The oldest a batch may get before it is dropped unsent. Default 7 days.
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_bytes: 64 << 20,
            max_age: Duration::from_secs(7 * 86_400),
        }
    }
}
