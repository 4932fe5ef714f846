//! One event bus for the live views: alert state changes, in-app notifications, health
//! changes and completed traces, as [`LiveEvent`]s. The plugin (over IPC channels)
//! and the HTTP server (`/api/events`) both subscribe here, one receiver per client.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{broadcast, watch};

use super::{ApiError, TraceSummary};
use crate::alerts::{AlertEvent, AlertManager, Notification};
use crate::health::{HealthCheckManager, StatusChange};
use crate::tracing::{TraceFeed, TraceStore};

/// The sources' receivers: alert state changes, notifications, health changes, and the
/// completed traces.
type Receivers = (
    broadcast::Receiver<AlertEvent>,
    broadcast::Receiver<Notification>,
    broadcast::Receiver<StatusChange>,
    TraceFeed,
);

/// A change the live views show.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(tag = "kind", content = "payload", rename_all = "lowercase")]
#[cfg_attr(feature = "bindings", ts(export))]
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

    /// What feeds the bus from the alerts, health and traces until `stopped` changes or
    /// they close: one task for every subscriber, each of them reads the bus only. The
    /// sources are subscribed to here, before the task runs, so that nothing that happens
    /// after this call is missed however late the task starts.
    pub(crate) fn feed(
        self: &Arc<Self>,
        alerts: &AlertManager,
        health: &HealthCheckManager,
        traces: &TraceStore,
        stopped: watch::Receiver<bool>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (changes, notes) = (alerts.subscribe_events(), alerts.subscribe());
        let (checks, done) = (health.subscribe(), traces.feed());
        let bus = self.clone();
        async move { bus.run((changes, notes, checks, done), stopped).await }
    }

    async fn run(
        &self,
        (mut changes, mut notes, mut checks, mut done): Receivers,
        mut stopped: watch::Receiver<bool>,
    ) {
        loop {
            let event = tokio::select! {
                Some(e) = next(&mut changes) => LiveEvent::Alert(e),
                Some(n) = next(&mut notes) => LiveEvent::Notification(n),
                Some(c) = next(&mut checks) => LiveEvent::Health(c),
                () = done.ready() => {
                    // Nobody watching: no trace is copied or converted.
                    if self.tx.receiver_count() == 0 {
                        done.skip();
                    } else {
                        for trace in &done.take() {
                            self.send(LiveEvent::Trace(super::trace_summary(trace)));
                        }
                    }
                    continue;
                }
                _ = stopped.changed() => break,
                else => break,
            };
            self.send(event);
        }
    }

    fn send(&self, event: LiveEvent) {
        // No subscriber is not a failure: nobody is watching.
        let _ = self.tx.send(event);
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
