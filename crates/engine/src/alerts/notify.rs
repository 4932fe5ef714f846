//! Notification delivery: webhook (Alertmanager-compatible), PagerDuty Events API v2,
//! email over SMTP (lettre), in-app events and log records, with retries and backoff.
//! Secrets (webhook URLs, routing keys, SMTP passwords) never appear in errors or logs.

use std::collections::BTreeMap;
use std::time::Duration;

#[cfg(feature = "email")]
use lettre::message::header::ContentType;
#[cfg(feature = "email")]
use lettre::transport::smtp::authentication::Credentials;
#[cfg(feature = "email")]
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
#[cfg(feature = "email")]
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
use serde_json::json;
use tokio::sync::broadcast;

use super::rule::{render, render_json};
use super::AlertAction;
use super::{AlertState, Delivery};
use std::collections::HashMap;

use parking_lot::Mutex;

use crate::config::{AlertsConfig, Consent, TlsConfig};
#[cfg(feature = "email")]
use crate::config::{EmailConfig, SmtpSecurity};
use crate::privacy::ConsentGate;
use crate::tls::Redirects;

/// One alert instance's change, as the actions receive it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct Notification {
    /// The rule's name.
    pub rule: String,
    /// `Pending`, `Firing` or `Resolved`.
    pub state: AlertState,
    /// Labels: the condition's, the rule's, `alertname` and `severity`.
    pub labels: BTreeMap<String, String>,
    /// Annotations, rendered (`description` among them).
    pub annotations: BTreeMap<String, String>,
    /// The condition's value when it last held.
    pub value: f64,
    /// When the alert started firing (Unix ms).
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub starts_at_ms: i64,
    /// When it resolved (Unix ms).
    #[cfg_attr(feature = "bindings", ts(type = "number | null"))]
    pub ends_at_ms: Option<i64>,
    /// Stable id of the instance (rule + labels), the PagerDuty `dedup_key`.
    pub fingerprint: String,
}

/// Why a delivery failed (after its retries). Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The HTTP request failed or was answered with an error status.
    #[error("{kind} delivery failed: {message}")]
    Http {
        /// `webhook` or `pagerduty`.
        kind: &'static str,
        /// What happened (without the URL).
        message: String,
        /// Sending it again later can succeed: the destination could not be reached or
        /// answered 408, 429, 5xx or a redirect it did not follow.
        retryable: bool,
    },
    /// The email could not be built or sent.
    #[error("email delivery failed: {0}")]
    Email(String),
    /// An attempt took longer than `delivery_timeout` (SMTP included).
    #[error("{kind} delivery timed out after {after:?}")]
    Timeout {
        /// The action kind.
        kind: &'static str,
        /// The timeout.
        after: Duration,
    },
    /// An email action without `alerts.email` settings.
    #[error("email action needs alerts.email (smtp_host, from)")]
    NoEmailSettings,
    /// An email action in a build without the Cargo feature `email`.
    #[error("{}", crate::config::NO_EMAIL_FEATURE)]
    NoEmailFeature,
    /// Not sent: the user has not consented to telemetry leaving the machine.
    #[error("not sent: consent is {}", .0.as_str())]
    NoConsent(Consent),
}

impl DeliveryError {
    /// Whether the same delivery can succeed later (kept in the spool when there is one).
    pub(crate) fn retryable(&self) -> bool {
        match self {
            Self::Http { retryable, .. } => *retryable,
            Self::Timeout { .. } => true,
            Self::Email(_) | Self::NoEmailSettings | Self::NoEmailFeature | Self::NoConsent(_) => {
                false
            }
        }
    }
}

/// Delivers notifications to the actions' destinations.
pub(crate) struct Notifier {
    /// The HTTP client of destinations without TLS settings of their own, made at the
    /// first delivery: reading the OS's trusted roots took 6 ms of the app's start here.
    client: std::sync::OnceLock<reqwest::Client>,
    /// The clients of those with TLS settings, made on first use.
    clients: Mutex<HashMap<TlsConfig, reqwest::Client>>,
    #[cfg(feature = "email")]
    email: Option<EmailConfig>,
    pagerduty_url: String,
    retries: u32,
    backoff: Duration,
    timeout: Duration,
    service: String,
    in_app: broadcast::Sender<Notification>,
    /// The user's consent, for the actions that leave the machine (none: always sent).
    consent: Option<ConsentGate>,
}

impl Notifier {
    pub(crate) fn new(config: &AlertsConfig, service: &str, consent: Option<ConsentGate>) -> Self {
        let (in_app, _) = broadcast::channel(256);
        Self {
            client: std::sync::OnceLock::new(),
            #[cfg(feature = "email")]
            email: config.email.clone(),
            pagerduty_url: config.pagerduty_url.trim_end_matches('/').to_owned(),
            retries: config.retries.min(AlertsConfig::MAX_RETRIES),
            backoff: config.retry_backoff.min(AlertsConfig::MAX_BACKOFF),
            timeout: config.delivery_timeout,
            service: service.to_owned(),
            in_app,
            consent,
            clients: Mutex::default(),
        }
    }

    /// The HTTP client for a destination with `tls` settings (or none).
    fn client(&self, tls: Option<&TlsConfig>) -> Result<reqwest::Client, crate::tls::TlsError> {
        let Some(tls) = tls else {
            // Without TLS settings of its own, making a client only fails when the OS's
            // trusted roots cannot be read at all; reqwest's plain client then says so
            // at the first https delivery.
            let client = self.client.get_or_init(|| {
                crate::tls::http_client(Some(self.timeout), None, Redirects::SameRequest)
                    .unwrap_or_default()
            });
            return Ok(client.clone());
        };
        let mut clients = self.clients.lock();
        if let Some(client) = clients.get(tls) {
            return Ok(client.clone());
        }
        let client =
            crate::tls::http_client(Some(self.timeout), Some(tls), Redirects::SameRequest)?;
        clients.insert(tls.clone(), client.clone());
        Ok(client)
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.in_app.subscribe()
    }

    /// Delivers `n` through `action`, retrying with exponential backoff (each wait at
    /// most [`AlertsConfig::MAX_BACKOFF`]); each attempt is bounded by `delivery_timeout`. Returns the
    /// attempts made and the last error, if every attempt failed.
    pub(crate) async fn deliver(
        &self,
        action: &AlertAction,
        n: &Notification,
    ) -> (u32, Result<(), DeliveryError>) {
        if let Some(gate) = self.consent.as_ref().filter(|_| !action.is_local()) {
            if !gate.allows_sending() {
                return (0, Err(DeliveryError::NoConsent(gate.get())));
            }
        }
        let mut delay = self.backoff;
        let mut attempt = 1;
        loop {
            let result = tokio::time::timeout(self.timeout, self.deliver_once(action, n))
                .await
                .unwrap_or(Err(DeliveryError::Timeout {
                    kind: action.kind(),
                    after: self.timeout,
                }));
            let retriable = !matches!(
                result,
                Err(DeliveryError::NoEmailSettings | DeliveryError::NoConsent(_))
            );
            if result.is_ok() || !retriable || attempt > self.retries {
                return (attempt, result);
            }
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2).min(AlertsConfig::MAX_BACKOFF);
            attempt += 1;
        }
    }

    /// Runs an in-app or log action (see [`AlertAction::is_local`]): it cannot fail or block.
    pub(crate) fn deliver_local(&self, action: &AlertAction, n: &Notification) -> Delivery {
        match action {
            AlertAction::InApp {} => {
                // No listener is not a failure: the webview may not be open.
                let _ = self.in_app.send(n.clone());
            }
            AlertAction::Log {} => {
                let description = n.annotations.get("description").map_or("", String::as_str);
                match n.state {
                    AlertState::Resolved => ::tracing::info!(
                        target: "telemetry::alerts",
                        alert = %n.rule, value = n.value, "resolved: {description}"
                    ),
                    _ => ::tracing::warn!(
                        target: "telemetry::alerts",
                        alert = %n.rule, value = n.value, "firing: {description}"
                    ),
                }
            }
            AlertAction::Email { .. }
            | AlertAction::Webhook { .. }
            | AlertAction::PagerDuty { .. } => {
                return Delivery {
                    action: action.kind(),
                    attempts: 0,
                    error: Some("not a local action".into()),
                }
            }
        }
        Delivery {
            action: action.kind(),
            attempts: 1,
            error: None,
        }
    }

    async fn deliver_once(
        &self,
        action: &AlertAction,
        n: &Notification,
    ) -> Result<(), DeliveryError> {
        match action {
            AlertAction::Webhook { .. } | AlertAction::PagerDuty { .. } => {
                let body = self.body(action, n, true).unwrap_or_default();
                self.post(action, &body).await
            }
            AlertAction::Email {
                recipients,
                subject,
            } => {
                #[cfg(feature = "email")]
                return self.email(recipients, subject, n).await;
                #[cfg(not(feature = "email"))]
                {
                    let _ = (recipients, subject);
                    Err(DeliveryError::NoEmailFeature)
                }
            }
            AlertAction::InApp {} | AlertAction::Log {} => {
                self.deliver_local(action, n);
                Ok(())
            }
        }
    }

    /// The JSON body of a webhook or PagerDuty delivery of `n` (none for other actions).
    /// Without `secrets`, PagerDuty's routing key is left out: what the spool keeps on
    /// disk carries no secret ([`Self::post_spooled`] puts it back).
    pub(crate) fn body(
        &self,
        action: &AlertAction,
        n: &Notification,
        secrets: bool,
    ) -> Option<serde_json::Value> {
        match action {
            AlertAction::Webhook { payload, .. } => Some(match payload {
                Some(p) => render_json(p, &n.labels, n.value),
                None => alertmanager_body(n),
            }),
            AlertAction::PagerDuty {
                service_key,
                description,
            } => {
                let key = if secrets { service_key.as_str() } else { "" };
                let mut body = pagerduty_body(n, key, description, &self.service);
                if !secrets {
                    if let Some(map) = body.as_object_mut() {
                        map.remove("routing_key");
                    }
                }
                Some(body)
            }
            _ => None,
        }
    }

    /// Sends a body [`Self::body`] kept without secrets, once, within `delivery_timeout`.
    pub(crate) async fn post_spooled(
        &self,
        action: &AlertAction,
        mut body: serde_json::Value,
    ) -> Result<(), DeliveryError> {
        if let (AlertAction::PagerDuty { service_key, .. }, Some(map)) =
            (action, body.as_object_mut())
        {
            map.insert("routing_key".into(), service_key.clone().into());
        }
        tokio::time::timeout(self.timeout, self.post(action, &body))
            .await
            .unwrap_or(Err(DeliveryError::Timeout {
                kind: action.kind(),
                after: self.timeout,
            }))
    }

    /// The user's consent, when deliveries are subject to it.
    pub(crate) fn consent(&self) -> Option<&ConsentGate> {
        self.consent.as_ref()
    }

    /// Posts `body` to a webhook or PagerDuty action's destination.
    async fn post(
        &self,
        action: &AlertAction,
        body: &serde_json::Value,
    ) -> Result<(), DeliveryError> {
        let kind = action.kind();
        let (url, tls) = match action {
            AlertAction::Webhook { url, tls, .. } => (url.clone(), tls.as_ref()),
            _ => (format!("{}/v2/enqueue", self.pagerduty_url), None),
        };
        let client = self.client(tls).map_err(|e| DeliveryError::Http {
            kind,
            message: e.to_string(),
            retryable: false,
        })?;
        let response =
            client
                .post(url)
                .json(body)
                .send()
                .await
                .map_err(|e| DeliveryError::Http {
                    kind,
                    message: crate::tls::error_chain(&e.without_url()),
                    retryable: true,
                })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(DeliveryError::Http {
                kind,
                message: format!("answered {status}"),
                // A redirect the client did not follow (see `Redirects::SameRequest`): a
                // captive portal, the network is not there yet.
                retryable: status.is_server_error()
                    || status.is_redirection()
                    || matches!(status.as_u16(), 408 | 429),
            })
        }
    }

    #[cfg(feature = "email")]
    async fn email(
        &self,
        recipients: &[String],
        subject: &str,
        n: &Notification,
    ) -> Result<(), DeliveryError> {
        let settings = self.email.as_ref().ok_or(DeliveryError::NoEmailSettings)?;
        let bad = |e: &dyn std::fmt::Display| DeliveryError::Email(e.to_string());
        let mut message = Message::builder()
            .from(settings.from.parse().map_err(|e| bad(&e))?)
            .subject(render(subject, &n.labels, n.value))
            .header(ContentType::TEXT_PLAIN);
        for to in recipients {
            message = message.to(to.parse().map_err(|e| bad(&e))?);
        }
        let message = message.body(email_body(n)).map_err(|e| bad(&e))?;
        let tls = || -> Result<TlsParameters, DeliveryError> {
            let mut params = TlsParameters::builder(settings.smtp_host.clone());
            if let Some(path) = &settings.ca_cert {
                let pem = std::fs::read(path).map_err(|e| {
                    DeliveryError::Email(format!("cannot read ca_cert {path}: {e}"))
                })?;
                params =
                    params.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| bad(&e))?);
            }
            params.build().map_err(|e| bad(&e))
        };
        let tls = match settings.security {
            SmtpSecurity::StartTls => Tls::Required(tls()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls()?),
            SmtpSecurity::None => Tls::None,
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.smtp_host)
                .port(settings.smtp_port)
                .tls(tls);
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        builder
            .build()
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| bad(&e))
    }
}

fn rfc3339(ms: i64) -> String {
    crate::clock::rfc3339(ms, false)
}

fn status_word(n: &Notification) -> &'static str {
    match n.state {
        AlertState::Resolved => "resolved",
        _ => "firing",
    }
}

/// Alertmanager's webhook payload, version 4.
fn alertmanager_body(n: &Notification) -> serde_json::Value {
    let ends_at = n
        .ends_at_ms
        .map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), rfc3339);
    json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{}\"}}", n.rule),
        "truncatedAlerts": 0,
        "status": status_word(n),
        "receiver": "tauri-plugin-opentelemetry",
        "groupLabels": { "alertname": n.rule },
        "commonLabels": n.labels,
        "commonAnnotations": n.annotations,
        "externalURL": "",
        "alerts": [{
            "status": status_word(n),
            "labels": n.labels,
            "annotations": n.annotations,
            "startsAt": rfc3339(n.starts_at_ms),
            "endsAt": ends_at,
            "generatorURL": "",
            "fingerprint": n.fingerprint,
        }],
    })
}

/// A PagerDuty Events API v2 event.
fn pagerduty_body(
    n: &Notification,
    routing_key: &str,
    description: &str,
    source: &str,
) -> serde_json::Value {
    let action = match n.state {
        AlertState::Resolved => "resolve",
        _ => "trigger",
    };
    let severity = match n.labels.get("severity").map(String::as_str) {
        Some("critical") => "critical",
        Some("info") => "info",
        _ => "warning",
    };
    json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": n.fingerprint,
        "payload": {
            "summary": render(description, &n.labels, n.value),
            "source": source,
            "severity": severity,
            "timestamp": rfc3339(n.starts_at_ms),
            "custom_details": { "labels": n.labels, "value": n.value },
        },
    })
}

#[cfg(feature = "email")]
fn email_body(n: &Notification) -> String {
    let mut body = format!(
        "Alert {} is {}\nValue: {}\nSince: {}\n",
        n.rule,
        status_word(n),
        n.value,
        rfc3339(n.starts_at_ms)
    );
    for (k, v) in &n.annotations {
        body.push_str(&format!("{k}: {v}\n"));
    }
    for (k, v) in &n.labels {
        body.push_str(&format!("label {k}={v}\n"));
    }
    body
}
