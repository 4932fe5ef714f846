//! One event bus for the live views: alert state changes, in-app notifications, health
//! changes and completed traces, as [`LiveEvent`]s. The plugin (over IPC channels)
//! and the HTTP server (`/api/events`) both subscribe here, one receiver per client.

use serde::Serialize;
use tokio::sync::{broadcast, watch};

use super::{ApiError, TraceSummary};
use crate::alerts::{AlertEvent, AlertManager, Notification};
use crate::health::{HealthCheckManager, StatusChange};
use crate::tracing::TraceStore;

/// A change the live views show.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "kind", content = "payload", rename_all = "lowercase")]
#[ts(export)]
pub enum LiveEvent {
    /// An alert changed state (pending, firing, resolved), with its deliveries.
    Alert(AlertEvent),
    /// An `InApp` action notified (after cooldown, silence and acknowledgement).
    Notification(Notification),
    /// A health check changed status.
    Health(StatusChange),
    /// A trace completed.
    Trace(TraceSummary),
}

impl LiveEvent {
    /// `alert`, `notification`, `health` or `trace`: the `kind` it is serialised with.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Alert(_) => "alert",
            Self::Notification(_) => "notification",
            Self::Health(_) => "health",
            Self::Trace(_) => "trace",
        }
    }
}

/// The kinds of [`LiveEvent`].
pub(crate) const EVENT_KINDS: [&str; 4] = ["alert", "notification", "health", "trace"];

/// Checks the kinds a subscriber asks for (empty means every kind).
///
/// # Errors
/// [`ApiError::BadArgument`] naming `kinds` and the first unknown kind.
pub fn check_event_kinds(kinds: &[String]) -> Result<(), ApiError> {
    match kinds.iter().find(|k| !EVENT_KINDS.contains(&k.as_str())) {
        Some(bad) => Err(ApiError::bad_argument(
            "kinds",
            format!("{bad:?} is not one of {EVENT_KINDS:?}"),
        )),
        None => Ok(()),
    }
}

/// Events held for a subscriber that falls behind; beyond, it skips the oldest.
const BUS_CAPACITY: usize = 256;

/// The bus: cheap to subscribe to; fed by [`EventBus::run`].
pub(crate) struct EventBus {
    tx: broadcast::Sender<LiveEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(BUS_CAPACITY).0,
        }
    }
}

impl EventBus {
    /// Every event from now on (a receiver that lags skips the oldest).
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.tx.subscribe()
    }

    /// Feeds the bus from the alerts, health and traces until `stopped` changes or they
    /// close. One task for every subscriber: each of them reads the bus only.
    pub(crate) async fn run(
        &self,
        alerts: &AlertManager,
        health: &HealthCheckManager,
        traces: &TraceStore,
        mut stopped: watch::Receiver<bool>,
    ) {
        let (mut changes, mut notes) = (alerts.subscribe_events(), alerts.subscribe());
        let (mut checks, mut done) = (health.subscribe(), traces.subscribe());
        loop {
            let event = tokio::select! {
                Some(e) = next(&mut changes) => LiveEvent::Alert(e),
                Some(n) = next(&mut notes) => LiveEvent::Notification(n),
                Some(c) = next(&mut checks) => LiveEvent::Health(c),
                Some(id) = next(&mut done) => match traces.get(&id) {
                    Some(trace) => LiveEvent::Trace(super::trace_summary(&trace)),
                    None => continue,
                },
                _ = stopped.changed() => break,
                else => break,
            };
            // No subscriber is not a failure: nobody is watching.
            let _ = self.tx.send(event);
        }
    }
}

/// The next message; a lagging receiver skips what it missed, a closed one ends.
pub async fn next<T: Clone>(rx: &mut broadcast::Receiver<T>) -> Option<T> {
    loop {
        match rx.recv().await {
            Ok(v) => return Some(v),
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}
