//! Alert rules and their actions, in the spec's shape (code and config alike), and the
//! templates of annotations and payloads.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How bad an alert is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ts_rs::TS,
)]
#[ts(export)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {template:?}: {message}")]
pub struct TemplateError {
    /// The template.
    pub template: String,
    /// What is wrong.
    pub message: String,
}

/// Checks that every `{{ .. }}` in `template` is `$value` or `$labels.<name>`.
pub(crate) fn check_template(template: &str) -> Result<(), TemplateError> {
    expand(template, &BTreeMap::new(), 0.0, false).map(|_| ())
}

/// `template` with `{{ $value }}` and `{{ $labels.x }}` replaced (a missing label is
/// empty, as in Prometheus).
pub(crate) fn render(template: &str, labels: &BTreeMap<String, String>, value: f64) -> String {
    expand(template, labels, value, true).unwrap_or_else(|_| template.to_owned())
}

fn expand(
    template: &str,
    labels: &BTreeMap<String, String>,
    value: f64,
    lenient: bool,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(TemplateError {
                template: template.to_owned(),
                message: format!("`{{{{` at byte {open} is never closed"),
            });
        };
        let inner = after[..close].trim();
        if inner == "$value" {
            out.push_str(&format_value(value));
        } else if let Some(label) = inner.strip_prefix("$labels.") {
            out.push_str(labels.get(label).map_or("", String::as_str));
        } else if !lenient {
            return Err(TemplateError {
                template: template.to_owned(),
                message: format!("unknown `{{{{ {inner} }}}}`; use $value or $labels.<name>"),
            });
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whole numbers without a fraction, others with up to 4 decimals.
fn format_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.4}");
        text.trim_end_matches('0').to_owned()
    }
}

/// Every string inside `payload`, rendered.
pub(crate) fn render_json(
    payload: &serde_json::Value,
    labels: &BTreeMap<String, String>,
    value: f64,
) -> serde_json::Value {
    match payload {
        serde_json::Value::String(s) => serde_json::Value::String(render(s, labels, value)),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|v| render_json(v, labels, value))
            .collect(),
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), render_json(v, labels, value)))
            .collect(),
        other => other.clone(),
    }
}

/// Every template string of a payload, for checking.
pub(crate) fn json_strings(payload: &serde_json::Value, out: &mut Vec<String>) {
    match payload {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| json_strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| json_strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_expand_value_and_labels() {
        let labels = [("job".to_string(), "render".to_string())].into();
        assert_eq!(
            render("{{ $labels.job }} at {{$value}} ms", &labels, 31250.0),
            "render at 31250 ms"
        );
        assert_eq!(render("{{ $value }}", &labels, 0.125), "0.125");
        assert_eq!(render("{{ $labels.none }}!", &labels, 1.0), "!");
        let payload =
            serde_json::json!({"text": "slow: {{ $value }}", "n": [1, "{{ $labels.job }}"]});
        assert_eq!(
            render_json(&payload, &labels, 2.5),
            serde_json::json!({"text": "slow: 2.5", "n": [1, "render"]})
        );
    }

    #[test]
    fn bad_templates_are_refused_with_the_reason() {
        assert!(check_template("ok {{ $value }} {{ $labels.a }}").is_ok());
        let err = check_template("{{ $vaule }}").unwrap_err();
        assert!(err.message.contains("unknown `{{ $vaule }}`"), "{err}");
        let err = check_template("x {{ $value").unwrap_err();
        assert!(err.message.contains("never closed"), "{err}");
    }

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
