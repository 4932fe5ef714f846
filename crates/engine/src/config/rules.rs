//! Alert rules and their actions as plain data, in the spec's shape (code and config
//! alike). What a rule means (its condition, its templates) is checked and evaluated in
//! [`crate::alerts`], which re-exports these types.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How bad an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[cfg_attr(feature = "bindings", ts(export))]
pub enum AlertSeverity {
    /// For information.
    Info,
    /// Needs a look.
    Warning,
    /// Needs action now.
    Critical,
}

impl AlertSeverity {
    /// Lowercase name (`warning`), as Prometheus labels and PagerDuty use it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// What to do when an alert fires or resolves.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum AlertAction {
    /// An email through the SMTP server of `alerts.email`.
    Email {
        /// To whom.
        recipients: Vec<String>,
        /// Subject (templated).
        subject: String,
    },
    /// An HTTP POST of JSON. Without `payload`, the body is Alertmanager's webhook
    /// payload (version 4); with it, the payload with its strings templated (Slack's
    /// `{"text": ..}` works). The URL is a secret: it is never logged or shown.
    Webhook {
        /// Where to post.
        url: String,
        /// The body, templated. Default: the Alertmanager-compatible body.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payload: Option<serde_json::Value>,
        /// TLS beyond the OS's trusted roots: a private CA, a client certificate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tls: Option<super::TlsConfig>,
    },
    /// A PagerDuty Events API v2 event: trigger on firing, resolve on resolved, one
    /// stable `dedup_key` per alert.
    PagerDuty {
        /// The integration's routing key (a secret).
        service_key: String,
        /// Summary of the incident (templated).
        description: String,
    },
    /// A `notification` event for the live views (`onNotification` in the webview).
    InApp {},
    /// A `tracing` record at WARN (firing) or INFO (resolved).
    Log {},
}

super::secrets::debug_redacted!(AlertAction);

impl AlertAction {
    /// Whether the action stays in the process (`InApp`, `Log`): it runs as the alert
    /// changes state, never through the delivery queue.
    pub fn is_local(&self) -> bool {
        matches!(self, Self::InApp {} | Self::Log {})
    }

    /// The kind, for history and status: `email`, `webhook`, `pagerduty`, `in_app`, `log`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Email { .. } => "email",
            Self::Webhook { .. } => "webhook",
            Self::PagerDuty { .. } => "pagerduty",
            Self::InApp {} => "in_app",
            Self::Log {} => "log",
        }
    }
}

/// An alert rule (the spec's `AlertRule`, plus `for`, labels and annotations as in
/// Prometheus).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use telemetry_engine::alerts::{AlertAction, AlertRule, AlertSeverity};
/// let rule = AlertRule {
///     name: "slow_video_processing".into(),
///     condition: "video_processing_duration_ms_avg > 30000".into(),
///     severity: AlertSeverity::Warning,
///     description: "Video processing is taking too long: {{ $value }} ms".into(),
///     cooldown: Duration::from_secs(300),
///     actions: vec![AlertAction::InApp {}],
///     ..AlertRule::default()
/// };
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// Unique name (the `alertname` label).
    pub name: String,
    /// A PromQL condition on the in-app series store.
    pub condition: String,
    /// How long the condition must hold before the alert fires. Default `0s`.
    #[serde(default, rename = "for", with = "humantime_serde")]
    pub for_: Duration,
    /// Severity (also the `severity` label).
    pub severity: AlertSeverity,
    /// What it means (templated: `{{ $value }}`, `{{ $labels.x }}`).
    #[serde(default)]
    pub description: String,
    /// Least time between two notifications of one firing alert. Default `5m`.
    #[serde(default = "default_cooldown", with = "humantime_serde")]
    pub cooldown: Duration,
    /// Extra labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Extra annotations (templated).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// What to do.
    #[serde(default)]
    pub actions: Vec<AlertAction>,
}

fn default_cooldown() -> Duration {
    Duration::from_secs(300)
}

impl Default for AlertRule {
    fn default() -> Self {
        Self {
            name: String::new(),
            condition: String::new(),
            for_: Duration::ZERO,
            severity: AlertSeverity::Warning,
            description: String::new(),
            cooldown: default_cooldown(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            actions: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_json_shape_parses_with_for_and_defaults() {
        let rule: AlertRule = serde_json::from_str(
            r#"{ "name": "slow_video_processing", "condition": "video_processing_duration_ms_avg > 30000",
                 "for": "2m", "severity": "Warning", "description": "Video processing is taking too long",
                 "cooldown": "5m",
                 "actions": [ { "Webhook": { "url": "http://127.0.0.1:8080/hook", "payload": { "text": "slow" } } },
                              { "Email": { "recipients": ["admin@example.com"], "subject": "Slow video processing" } },
                              { "PagerDuty": { "service_key": "k", "description": "d" } } ] }"#,
        )
        .unwrap();
        assert_eq!(rule.for_, Duration::from_secs(120));
        assert_eq!(rule.actions.len(), 3);
        assert_eq!(rule.actions[2].kind(), "pagerduty");
    }
}
