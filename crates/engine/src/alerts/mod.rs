//! Alerting (spec section 6): rules whose conditions are PromQL expressions evaluated on
//! the in-app series store, Prometheus' states (inactive → pending → firing → resolved)
//! with `for` and a notification `cooldown`, and real notifications.
//!
//! Each element of a condition's result is one alert instance (its labels). An instance
//! is pending while the condition holds for less than `for`, then firing; its actions run
//! when it starts firing, again every `cooldown` while it keeps firing, and once when it
//! resolves. The `alerts_active{alertname, alertstate, severity}` gauge is 1 for each
//! pending or firing instance (Prometheus' `ALERTS`). The last 500 state changes and
//! deliveries are kept in the history.

mod delivery;
pub mod expr;
mod notify;
mod rule;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use opentelemetry::KeyValue;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::broadcast;

pub use crate::config::{AlertAction, AlertRule, AlertSeverity};
pub use expr::{Condition, ExprError};
pub use notify::{DeliveryError, Notification};
pub use rule::TemplateError;

use crate::config::AlertsConfig;
use crate::export::spool::Spool;
use crate::export::ExportStatusBoard;
use crate::metrics::Metrics;
use crate::privacy::ConsentGate;
use crate::store::SeriesStore;
use crate::supervise::Supervisor;
use delivery::{Deliveries, History, Job};
use notify::Notifier;
use rule::{check_template, json_strings, render};

/// The state of one alert instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[cfg_attr(feature = "bindings", ts(export))]
pub enum AlertState {
    /// The condition holds, for less than `for`.
    Pending,
    /// The condition has held for `for`.
    Firing,
    /// The condition stopped holding after firing.
    Resolved,
}

impl AlertState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }
}

/// Why a rule was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AlertError {
    /// A rule with this name exists.
    #[error("an alert rule named {0:?} exists already")]
    Duplicate(String),
    /// No rule has this name.
    #[error("no alert rule named {0:?}")]
    UnknownRule(String),
    /// The rule has problems, each with the field it is about.
    #[error("alert rule {rule:?}: {}", problems.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "))]
    Invalid {
        /// The rule's name.
        rule: String,
        /// `(field, problem)` pairs.
        problems: Vec<(String, String)>,
    },
}

/// The delivery of one notification through one action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct Delivery {
    /// The action kind (`webhook`, `email`, …).
    pub action: &'static str,
    /// Attempts made.
    pub attempts: u32,
    /// The error of the last attempt, if all failed.
    pub error: Option<String>,
}

/// One entry of the alert history: a state change and what was delivered for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct AlertEvent {
    /// The notification (rule, state, labels, value, times).
    pub notification: Notification,
    /// The actions were due and ran: in-app and log actions at once, the others through
    /// the delivery queue, whose outcomes fill `deliveries` in the history as they finish.
    pub delivering: bool,
    /// Deliveries (empty for pending, within the cooldown, when silenced, and while
    /// the delivery is under way).
    pub deliveries: Vec<Delivery>,
    /// The actions were due but the rule is silenced.
    pub silenced: bool,
    /// When it happened (Unix ms).
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub at_ms: i64,
}

/// An alert that is pending or firing now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct ActiveAlert {
    /// Rule name.
    pub rule: String,
    /// Pending or Firing.
    pub state: AlertState,
    /// Severity.
    pub severity: AlertSeverity,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Last value.
    pub value: f64,
    /// When the condition started holding (Unix ms).
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub active_since_ms: i64,
}

/// The problems of every rule of `config`, each with its field path
/// (`alerts.rules[0].condition`): what [`TelemetryConfig::validate`] adds to the config's
/// own checks.
///
/// [`TelemetryConfig::validate`]: crate::config::TelemetryConfig::validate
pub(crate) fn rule_issues(config: &AlertsConfig) -> Vec<crate::config::ConfigIssue> {
    config
        .rules
        .iter()
        .enumerate()
        .flat_map(|(i, rule)| {
            rule_problems(rule, config.email.is_some())
                .into_iter()
                .map(move |(field, message)| crate::config::ConfigIssue {
                    path: format!("alerts.rules[{i}].{field}"),
                    message,
                })
        })
        .collect()
}

/// Every problem of `rule`, as `(field, message)`: the condition, the templates, and
/// email actions without email settings.
pub(crate) fn rule_problems(rule: &AlertRule, has_email: bool) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let valid_name = !rule.name.is_empty()
        && rule
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        problems.push((
            "name".into(),
            format!("{:?} must be letters, digits and '_'", rule.name),
        ));
    }
    if let Err(e) = Condition::parse(&rule.condition) {
        problems.push(("condition".into(), e.to_string()));
    }
    let mut templates = vec![("description".to_owned(), rule.description.clone())];
    for (k, v) in &rule.annotations {
        templates.push((format!("annotations.{k}"), v.clone()));
    }
    for (i, action) in rule.actions.iter().enumerate() {
        action_problems(
            &format!("actions[{i}]"),
            action,
            has_email,
            &mut problems,
            &mut templates,
        );
    }
    for (field, template) in templates {
        if let Err(e) = check_template(&template) {
            problems.push((field, e.message));
        }
    }
    problems
}

/// The problems of one action at `at` (`actions[2]`), and its templates to check.
fn action_problems(
    at: &str,
    action: &AlertAction,
    has_email: bool,
    problems: &mut Vec<(String, String)>,
    templates: &mut Vec<(String, String)>,
) {
    match action {
        AlertAction::Email {
            recipients,
            subject,
        } => {
            if !has_email {
                problems.push((at.to_owned(), DeliveryError::NoEmailSettings.to_string()));
            }
            for r in recipients {
                if let Some(why) = crate::config::mailbox_problem(r) {
                    problems.push((format!("{at}.Email.recipients"), why));
                }
            }
            templates.push((format!("{at}.Email.subject"), subject.clone()));
        }
        AlertAction::Webhook { url, payload, tls } => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                // The URL is a secret: do not echo it.
                problems.push((
                    format!("{at}.Webhook.url"),
                    "must start with http:// or https://".into(),
                ));
            }
            for (field, problem) in tls.iter().flat_map(|t| t.problems()) {
                problems.push((format!("{at}.Webhook.tls.{field}"), problem.into()));
            }
            let mut strings = Vec::new();
            if let Some(p) = payload {
                json_strings(p, &mut strings);
            }
            for s in strings {
                templates.push((format!("{at}.Webhook.payload"), s));
            }
        }
        AlertAction::PagerDuty {
            service_key,
            description,
        } => {
            if service_key.trim().is_empty() {
                problems.push((
                    format!("{at}.PagerDuty.service_key"),
                    "must not be empty".into(),
                ));
            }
            templates.push((format!("{at}.PagerDuty.description"), description.clone()));
        }
        AlertAction::InApp {} | AlertAction::Log {} => {}
    }
}

struct CompiledRule {
    rule: AlertRule,
    condition: Condition,
}

struct Instance {
    state: AlertState,
    labels: BTreeMap<String, String>,
    value: f64,
    active_since_ms: i64,
    fired_at_ms: Option<i64>,
    notified_at_ms: Option<i64>,
    acknowledged: bool,
}

impl Instance {
    /// Moves a pending instance to firing once it held for `for_ms`. Returns whether to
    /// record a notification now and whether to run the actions for it: `Some(false)`
    /// when it just became pending (with a `for`), `Some(true)` when it fires for the
    /// first time or again after `cooldown_ms` (unless acknowledged).
    fn advance(&mut self, now_ms: i64, for_ms: i64, cooldown_ms: i64) -> Option<bool> {
        let newly_pending = self.active_since_ms == now_ms && for_ms > 0;
        if self.state == AlertState::Pending
            && now_ms.saturating_sub(self.active_since_ms) >= for_ms
        {
            self.state = AlertState::Firing;
            self.fired_at_ms = Some(now_ms);
        }
        match self.state {
            AlertState::Pending if newly_pending => Some(false),
            AlertState::Firing => {
                let due = match self.notified_at_ms {
                    None => true,
                    Some(_) if self.acknowledged => false,
                    Some(at) => now_ms.saturating_sub(at) >= cooldown_ms,
                };
                if due {
                    self.notified_at_ms = Some(now_ms);
                }
                due.then_some(true)
            }
            _ => None,
        }
    }
}

const HISTORY: usize = 500;

/// Evaluates rules and runs their actions.
///
/// # Examples
/// ```
/// use telemetry_engine::alerts::{AlertAction, AlertManager, AlertRule, AlertSeverity};
/// # async fn run() {
/// let alerts = AlertManager::new(&Default::default(), "studio");
/// alerts.add_rule(AlertRule {
///     name: "high_error_rate".into(),
///     condition: "api_errors_rate_5m > 0.1".into(),
///     severity: AlertSeverity::Critical,
///     actions: vec![AlertAction::InApp {}],
///     ..AlertRule::default()
/// }).await.unwrap();
/// let err = alerts.add_rule(AlertRule { name: "bad".into(), condition: "rate(x[5m]".into(),
///     ..AlertRule::default() }).await.unwrap_err();
/// assert!(err.to_string().contains("condition"));
/// # }
/// ```
pub struct AlertManager {
    rules: Mutex<Vec<Arc<CompiledRule>>>,
    /// The series names the rules read, kept in the store when it is full.
    inputs: Mutex<Arc<BTreeSet<String>>>,
    instances: Mutex<HashMap<(String, String), Instance>>,
    history: History,
    /// The sequence number of the next history entry.
    next_seq: AtomicU64,
    deliveries: Deliveries,
    events: broadcast::Sender<AlertEvent>,
    /// Rule name → silenced until (Unix ms).
    silences: Mutex<HashMap<String, i64>>,
    has_email: bool,
    metrics: Option<Metrics>,
    /// Catches a rule whose evaluation panics, so the other rules are still evaluated.
    supervisor: Supervisor,
}

impl AlertManager {
    /// A manager with no rules, delivering with the settings of `config`
    /// (`config.rules` are not added: use [`AlertManager::add_rule`]).
    pub fn new(config: &AlertsConfig, service: &str) -> Self {
        Self::build(
            config,
            service,
            None,
            None,
            Supervisor::unmetered(),
            (None, None),
        )
    }

    fn build(
        config: &AlertsConfig,
        service: &str,
        metrics: Option<Metrics>,
        status: Option<ExportStatusBoard>,
        supervisor: Supervisor,
        (consent, spool): (Option<ConsentGate>, Option<Spool>),
    ) -> Self {
        let history = History::default();
        let dropped = metrics
            .as_ref()
            .and_then(|m| m.counter("telemetry_alert_deliveries_dropped_total").ok());
        Self {
            rules: Mutex::new(Vec::new()),
            inputs: Mutex::default(),
            instances: Mutex::new(HashMap::new()),
            deliveries: Deliveries::new(
                Notifier::new(config, service, consent),
                status,
                history.clone(),
                (dropped, spool),
            ),
            history,
            next_seq: AtomicU64::new(0),
            events: broadcast::channel(256).0,
            silences: Mutex::new(HashMap::new()),
            has_email: config.email.is_some(),
            metrics,
            supervisor,
        }
    }

    /// The manager of a telemetry pipeline: with `config.rules`, the `alerts_active` gauge
    /// and delivery results in the export status (`alerts:<action>`).
    pub(crate) async fn from_config(
        config: &AlertsConfig,
        service: &str,
        metrics: Metrics,
        status: ExportStatusBoard,
        supervisor: Supervisor,
        (consent, spool): (ConsentGate, Option<Spool>),
    ) -> Result<Self, AlertError> {
        let manager = Self::build(
            config,
            service,
            Some(metrics),
            Some(status),
            supervisor,
            (Some(consent), spool),
        );
        for rule in &config.rules {
            manager.add_rule(rule.clone()).await?;
        }
        // Deliveries a previous run kept for destinations no longer configured.
        manager.deliveries.drop_unconfigured();
        Ok(manager)
    }

    /// Adds a rule, after checking its condition, templates and actions.
    ///
    /// # Errors
    /// [`AlertError::Duplicate`] for a name in use; [`AlertError::Invalid`] listing every
    /// problem (a condition that does not parse, with the position; an unknown template
    /// variable; an email action without email settings).
    pub async fn add_rule(&self, rule: AlertRule) -> Result<(), AlertError> {
        let problems = rule_problems(&rule, self.has_email);
        let condition = match Condition::parse(&rule.condition) {
            Ok(c) if problems.is_empty() => c,
            _ => {
                return Err(AlertError::Invalid {
                    rule: rule.name,
                    problems,
                })
            }
        };
        let mut rules = self.rules.lock();
        if rules.iter().any(|r| r.rule.name == rule.name) {
            return Err(AlertError::Duplicate(rule.name));
        }
        let mut inputs = self.inputs.lock();
        let mut names = (**inputs).clone();
        names.extend(condition.series_names());
        *inputs = Arc::new(names);
        self.deliveries.register(&rule.actions);
        rules.push(Arc::new(CompiledRule { rule, condition }));
        Ok(())
    }

    /// The rules, in the order added.
    pub fn rules(&self) -> Vec<AlertRule> {
        self.rules.lock().iter().map(|r| r.rule.clone()).collect()
    }

    /// Alerts pending or firing now.
    pub fn active(&self) -> Vec<ActiveAlert> {
        let rules = self.rules.lock();
        let mut out: Vec<ActiveAlert> = self
            .instances
            .lock()
            .iter()
            .map(|((rule, _), i)| ActiveAlert {
                rule: rule.clone(),
                state: i.state,
                severity: rules
                    .iter()
                    .find(|r| &r.rule.name == rule)
                    .map_or(AlertSeverity::Warning, |r| r.rule.severity),
                labels: i.labels.clone(),
                value: i.value,
                active_since_ms: i.active_since_ms,
            })
            .collect();
        out.sort_by(|a, b| (&a.rule, &a.labels).cmp(&(&b.rule, &b.labels)));
        out
    }

    /// State changes and deliveries, oldest first (at most 500).
    pub fn history(&self) -> Vec<AlertEvent> {
        self.history.lock().iter().map(|(_, e)| e.clone()).collect()
    }

    /// Waits until every notification queued so far has been delivered or has failed
    /// (each attempt is bounded by `delivery_timeout`, the retries by `retries`); their
    /// outcomes are then in [`AlertManager::history`].
    pub async fn deliveries_done(&self) {
        self.deliveries.idle().await;
    }

    /// Gives the deliveries queued or under way at most `grace`, then abandons them.
    pub(crate) async fn stop_deliveries(&self, grace: std::time::Duration) {
        self.deliveries.stop(grace).await;
    }

    /// Every state change as it is recorded (pending, firing, resolved), for live views.
    pub fn subscribe_events(&self) -> broadcast::Receiver<AlertEvent> {
        self.events.subscribe()
    }

    /// Silences the actions of `rule` until `until_ms` (Unix ms): states still change and
    /// are recorded, nothing is delivered. An `until_ms` in the past lifts the silence.
    ///
    /// # Errors
    /// [`AlertError::UnknownRule`] when no rule has that name.
    pub fn silence(&self, rule: &str, until_ms: i64) -> Result<(), AlertError> {
        if !self.rules.lock().iter().any(|r| r.rule.name == rule) {
            return Err(AlertError::UnknownRule(rule.to_owned()));
        }
        self.silences.lock().insert(rule.to_owned(), until_ms);
        Ok(())
    }

    /// Acknowledges the firing instances of `rule`: no repeated notifications until they
    /// resolve (the resolve is still notified). Returns how many were acknowledged.
    ///
    /// # Errors
    /// [`AlertError::UnknownRule`] when no rule has that name.
    pub fn acknowledge(&self, rule: &str) -> Result<usize, AlertError> {
        if !self.rules.lock().iter().any(|r| r.rule.name == rule) {
            return Err(AlertError::UnknownRule(rule.to_owned()));
        }
        let mut count = 0;
        for ((name, _), instance) in self.instances.lock().iter_mut() {
            if name == rule && instance.state == AlertState::Firing {
                instance.acknowledged = true;
                count += 1;
            }
        }
        Ok(count)
    }

    /// In-app notifications (the `InApp` action), for the webview.
    pub fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.deliveries.notifier().subscribe()
    }

    /// Evaluates every rule at `now_ms` (Unix ms) against `store`, moves instances
    /// between states and queues the due actions, returning the new history entries. It
    /// never waits for a delivery: see [`AlertManager::deliveries_done`]. The series the
    /// rules read are kept in `store` when it is full ([`SeriesStore::protect`]).
    /// A rule whose evaluation fails is logged and skipped; one whose evaluation panics
    /// is also counted (`telemetry_task_panics_total{task="alerts"}`) and shown by the
    /// `background_tasks` health check. Either way the other rules are evaluated.
    pub async fn evaluate(&self, store: &SeriesStore, now_ms: i64) -> Vec<AlertEvent> {
        store.protect(&self.inputs.lock());
        let rules: Vec<Arc<CompiledRule>> = self.rules.lock().clone();
        let mut due = Vec::new();
        for compiled in &rules {
            let part = format!("rule {}", compiled.rule.name);
            let evaluated = self
                .supervisor
                .catch("alerts", &part, || compiled.condition.eval(store, now_ms));
            let samples = match evaluated {
                None => continue,
                Some(Ok(samples)) => samples,
                Some(Err(e)) => {
                    ::tracing::warn!(target: "telemetry::alerts", rule = %compiled.rule.name, error = %e, "alert rule evaluation failed");
                    continue;
                }
            };
            due.extend(self.step(compiled, samples, now_ms));
        }
        let events = due
            .into_iter()
            .map(|(compiled, notification, notify)| {
                self.record(&compiled, notification, notify, now_ms)
            })
            .collect();
        self.publish_gauge(&rules);
        events
    }

    /// Records one notification: runs its in-app and log actions now (unless the rule is
    /// silenced or `notify` is false), writes the history, tells the event bus and
    /// queues the remote deliveries.
    fn record(
        &self,
        compiled: &CompiledRule,
        notification: Notification,
        notify: bool,
        now_ms: i64,
    ) -> AlertEvent {
        let silenced = self
            .silences
            .lock()
            .get(&compiled.rule.name)
            .is_some_and(|until| *until > now_ms);
        let run = notify && !silenced;
        let (local, remote): (Vec<&AlertAction>, Vec<&AlertAction>) = compiled
            .rule
            .actions
            .iter()
            .filter(|_| run)
            .partition(|a| a.is_local());
        // In-app and log actions cannot block: they run now. The others are queued.
        let notifier = self.deliveries.notifier();
        let deliveries = local
            .into_iter()
            .map(|action| notifier.deliver_local(action, &notification))
            .collect();
        let event = AlertEvent {
            notification,
            delivering: run,
            deliveries,
            silenced: notify && silenced,
            at_ms: now_ms,
        };
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        {
            let mut history = self.history.lock();
            if history.len() >= HISTORY {
                history.pop_front();
            }
            history.push_back((seq, event.clone()));
        }
        let _ = self.events.send(event.clone());
        if !remote.is_empty() {
            self.deliveries.enqueue(Job {
                seq,
                rule: compiled.rule.name.clone(),
                actions: remote.into_iter().cloned().collect(),
                notification: event.notification.clone(),
            });
        }
        event
    }

    /// Moves the instances of one rule; returns the notifications to record, and whether
    /// to run the actions for each.
    fn step(
        &self,
        compiled: &Arc<CompiledRule>,
        samples: Vec<expr::Sample>,
        now_ms: i64,
    ) -> Vec<(Arc<CompiledRule>, Notification, bool)> {
        let rule = &compiled.rule;
        let for_ms = i64::try_from(rule.for_.as_millis()).unwrap_or(i64::MAX);
        let cooldown_ms = i64::try_from(rule.cooldown.as_millis()).unwrap_or(i64::MAX);
        let mut out = Vec::new();
        let mut instances = self.instances.lock();
        let mut seen = Vec::new();
        for sample in samples {
            let mut labels = sample.labels;
            labels.extend(rule.labels.clone());
            labels.insert("alertname".into(), rule.name.clone());
            labels.insert("severity".into(), rule.severity.as_str().into());
            let key = (rule.name.clone(), fingerprint(&labels));
            seen.push(key.clone());
            let instance = instances.entry(key.clone()).or_insert_with(|| Instance {
                state: AlertState::Pending,
                labels: labels.clone(),
                value: sample.value,
                active_since_ms: now_ms,
                fired_at_ms: None,
                notified_at_ms: None,
                acknowledged: false,
            });
            instance.value = sample.value;
            if let Some(notify) = instance.advance(now_ms, for_ms, cooldown_ms) {
                let n = notification(rule, &key.1, instance, None);
                out.push((compiled.clone(), n, notify));
            }
        }
        let gone: Vec<(String, String)> = instances
            .keys()
            .filter(|k| k.0 == rule.name && !seen.contains(k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(mut instance) = instances.remove(&key) {
                // A pending alert that stops holding goes back to inactive silently.
                if instance.state == AlertState::Firing {
                    instance.state = AlertState::Resolved;
                    out.push((
                        compiled.clone(),
                        notification(rule, &key.1, &instance, Some(now_ms)),
                        true,
                    ));
                }
            }
        }
        out
    }

    fn publish_gauge(&self, rules: &[Arc<CompiledRule>]) {
        let Some(metrics) = &self.metrics else {
            return;
        };
        let instances = self.instances.lock();
        for compiled in rules {
            let rule = &compiled.rule;
            for state in [AlertState::Pending, AlertState::Firing] {
                let count = instances
                    .iter()
                    .filter(|((name, _), i)| name == &rule.name && i.state == state)
                    .count();
                let _ = metrics.set(
                    "alerts_active",
                    count as f64,
                    &[
                        KeyValue::new("alertname", rule.name.clone()),
                        KeyValue::new("alertstate", state.as_str()),
                        KeyValue::new("severity", rule.severity.as_str()),
                    ],
                );
            }
        }
    }
}

fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    // FxHasher has no random seed: the fingerprint (PagerDuty's dedup_key) is stable
    // across restarts.
    let mut hasher = rustc_hash::FxHasher::default();
    labels.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

fn notification(
    rule: &AlertRule,
    fingerprint: &str,
    instance: &Instance,
    ends_at_ms: Option<i64>,
) -> Notification {
    let mut annotations: BTreeMap<String, String> = rule
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), render(v, &instance.labels, instance.value)))
        .collect();
    if !rule.description.is_empty() {
        annotations.insert(
            "description".into(),
            render(&rule.description, &instance.labels, instance.value),
        );
    }
    Notification {
        rule: rule.name.clone(),
        state: instance.state,
        labels: instance.labels.clone(),
        annotations,
        value: instance.value,
        starts_at_ms: instance.fired_at_ms.unwrap_or(instance.active_since_ms),
        ends_at_ms,
        fingerprint: format!("{}/{fingerprint}", rule.name),
    }
}

#[cfg(all(test, feature = "alerts"))]
mod tests;
