//! The delivery queue: evaluation hands each due notification to a bounded queue and goes
//! on; a worker of its own delivers up to [`CONCURRENCY`] at once, each attempt bounded by
//! `delivery_timeout`, and writes the outcome into the history entry it belongs to.
//!
//! Nothing waits without bound: a full queue refuses the notification (counted in
//! `telemetry_alert_deliveries_dropped_total{action, reason="queue_full"}` and written into
//! its history entry as an error), and shutdown gives the deliveries under way a grace
//! period, then abandons them (`reason="shutdown"`).
//!
//! With the offline spool, a webhook or PagerDuty delivery that still fails retryably
//! after its retries (unreachable, timeout, 408, 429, 5xx) waits on disk in a queue per
//! destination and is replayed oldest first, like an OTLP batch; later notifications to
//! that destination go behind it. The spool keeps the body and a hash of the
//! destination, never its URL or routing key: a destination no longer configured when
//! its turn comes is dropped.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt as _;
use opentelemetry::KeyValue;
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use sha2::Digest as _;

use super::notify::{DeliveryError, Notifier};
use super::{AlertAction, AlertEvent, Delivery, Notification};
use crate::export::otlp_send::{SendError, Signal};
use crate::export::outbox::{report_backlog, spawn_replay, Reporting, Resend};
use crate::export::spool::{Spool, SpoolQueue};
use crate::export::ExportStatusBoard;
use crate::metrics::Counter;

/// Notifications waiting for delivery, at most.
pub(crate) const QUEUE: usize = 256;

/// Notifications delivered at once, at most.
pub(crate) const CONCURRENCY: usize = 8;

/// The history of state changes, each with the sequence number its deliveries report to.
pub(crate) type History = Arc<Mutex<VecDeque<(u64, AlertEvent)>>>;

/// One notification to deliver through a rule's actions.
pub(crate) struct Job {
    /// The history entry to complete.
    pub(crate) seq: u64,
    pub(crate) rule: String,
    pub(crate) actions: Vec<AlertAction>,
    pub(crate) notification: Notification,
}

/// What the worker needs, shared with the queue's owner.
struct Shared {
    notifier: Notifier,
    status: Option<ExportStatusBoard>,
    history: History,
    dropped: Option<Counter>,
    /// Jobs queued or under way.
    pending: watch::Sender<usize>,
    /// Where deliveries that cannot be made now wait (none: they fail).
    spool: Option<Spool>,
    /// Per destination (a hash of it): its action and spool queue, with the replay task.
    destinations: Mutex<HashMap<String, Destination>>,
}

/// A webhook or PagerDuty destination with a spool queue.
struct Destination {
    action: AlertAction,
    queue: SpoolQueue,
    replay: JoinHandle<()>,
}

/// The bounded queue and its worker (started on the first job).
pub(crate) struct Deliveries {
    tx: mpsc::Sender<Job>,
    rx: Mutex<Option<mpsc::Receiver<Job>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    shared: Arc<Shared>,
}

impl Deliveries {
    pub(crate) fn new(
        notifier: Notifier,
        status: Option<ExportStatusBoard>,
        history: History,
        (dropped, spool): (Option<Counter>, Option<Spool>),
    ) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            worker: Mutex::new(None),
            shared: Arc::new(Shared {
                notifier,
                status,
                history,
                dropped,
                pending: watch::channel(0).0,
                spool,
                destinations: Mutex::default(),
            }),
        }
    }

    pub(crate) fn notifier(&self) -> &Notifier {
        &self.shared.notifier
    }

    /// Drops the spooled deliveries of destinations no registered action has (a
    /// previous run's, since removed from the config), counted as `unconfigured`.
    pub(crate) fn drop_unconfigured(&self) {
        let Some(spool) = &self.shared.spool else {
            return;
        };
        let claimed: Vec<String> = self
            .shared
            .destinations
            .lock()
            .iter()
            .map(|(key, d)| format!("alerts:{}:{key}", d.action.kind()))
            .collect();
        spool.drop_unclaimed(Signal::Alerts, &claimed, "unconfigured");
    }

    /// Opens the spool queues of `actions`' webhook and PagerDuty destinations, whose
    /// replay sends what a previous run left. Must be called within a Tokio runtime.
    pub(crate) fn register(&self, actions: &[AlertAction]) {
        for action in actions {
            self.shared.queue_of(action);
        }
    }

    /// Queues `job`; when the queue is full, the job is refused, counted and recorded in
    /// its history entry. Must be called within a Tokio runtime.
    pub(crate) fn enqueue(&self, job: Job) {
        self.start_worker();
        self.shared.pending.send_modify(|n| *n += 1);
        if let Err(e) = self.tx.try_send(job) {
            self.shared.pending.send_modify(|n| *n -= 1);
            let (mpsc::error::TrySendError::Full(job) | mpsc::error::TrySendError::Closed(job)) = e;
            ::tracing::warn!(target: "telemetry::alerts", rule = %job.rule, "the alert delivery queue is full; notification dropped");
            self.shared
                .refuse(&job, "queue_full", "dropped: the delivery queue is full");
        }
    }

    fn start_worker(&self) {
        let mut worker = self.worker.lock();
        if worker.is_some() {
            return;
        }
        let Some(rx) = self.rx.lock().take() else {
            return;
        };
        let shared = self.shared.clone();
        let jobs = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|job| (job, rx))
        });
        *worker = Some(tokio::spawn(jobs.for_each_concurrent(
            CONCURRENCY,
            move |job| {
                let shared = shared.clone();
                async move { shared.run(job).await }
            },
        )));
    }

    /// Waits until every queued notification has been delivered or has failed.
    pub(crate) async fn idle(&self) {
        let mut pending = self.shared.pending.subscribe();
        let _ = pending.wait_for(|n| *n == 0).await;
    }

    /// Waits at most `grace` for the deliveries queued or under way, then abandons the
    /// rest (counted with `reason="shutdown"`). Later jobs are refused.
    pub(crate) async fn stop(&self, grace: Duration) {
        if tokio::time::timeout(grace, self.idle()).await.is_err() {
            let left = *self.shared.pending.borrow();
            ::tracing::warn!(target: "telemetry::alerts", left, ?grace, "alert deliveries still under way at shutdown were abandoned");
            if let Some(counter) = &self.shared.dropped {
                let _ = counter.add(
                    u64::try_from(left).unwrap_or(u64::MAX),
                    &[
                        KeyValue::new("action", "any"),
                        KeyValue::new("reason", "shutdown"),
                    ],
                );
            }
        }
        if let Some(worker) = self.worker.lock().take() {
            worker.abort();
        }
        self.rx.lock().take();
        for destination in self.shared.destinations.lock().values() {
            destination.replay.abort();
        }
    }
}

impl Shared {
    async fn run(self: &Arc<Self>, job: Job) {
        let (n, rule) = (&job.notification, job.rule.as_str());
        let deliveries = job.actions.iter().map(|action| async move {
            let queue = self.queue_of(action);
            // Behind what waits for this destination, to keep the order.
            if let Some(queue) = queue.as_ref().filter(|q| q.has_backlog()) {
                return self.spool(queue, action, n, (0, None));
            }
            let (attempts, result) = self.notifier.deliver(action, n).await;
            if let (Some(queue), Err(e)) = (&queue, &result) {
                if e.retryable() {
                    return self.spool(queue, action, n, (attempts, Some(e)));
                }
            }
            if let Some(status) = &self.status {
                let name = format!("alerts:{}", action.kind());
                status.register(&name);
                match &result {
                    Ok(()) => status.success(&name),
                    Err(e @ DeliveryError::NoConsent(_)) => status.degraded(&name, e.to_string()),
                    Err(e) => status.failure(&name, e.to_string()),
                }
            }
            match &result {
                Ok(()) => {}
                Err(DeliveryError::NoConsent(_)) => self.count_dropped(action.kind(), "consent"),
                Err(e) => {
                    ::tracing::warn!(target: "telemetry::alerts", rule, error = %e, "alert notification failed");
                }
            }
            Delivery {
                action: action.kind(),
                attempts,
                error: result.err().map(|e| e.to_string()),
            }
        });
        let deliveries = futures_util::future::join_all(deliveries).await;
        self.complete(job.seq, deliveries);
        self.pending.send_modify(|n| *n = n.saturating_sub(1));
    }

    /// The spool queue of a webhook or PagerDuty action's destination (opened, and its
    /// replay started, on first use); none for other actions, without a spool or outside
    /// a Tokio runtime.
    fn queue_of(self: &Arc<Self>, action: &AlertAction) -> Option<SpoolQueue> {
        let spool = self.spool.as_ref()?;
        let key = destination_key(action)?;
        let mut destinations = self.destinations.lock();
        if let Some(destination) = destinations.get(&key) {
            return Some(destination.queue.clone());
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let consent = self.notifier.consent()?.clone();
        let name = format!("alerts:{}:{key}", action.kind());
        let queue = match spool.queue(&name, Signal::Alerts) {
            Ok(queue) => queue,
            Err(e) => {
                ::tracing::warn!(target: "telemetry::spool", action = action.kind(), error = %e, "alert deliveries to this destination go without a spool");
                return None;
            }
        };
        let status = self.status.clone()?;
        status.register(&status_name(action));
        let replay = spawn_replay(
            &runtime,
            queue.clone(),
            Arc::new(SpooledDelivery {
                key: key.clone(),
                shared: Arc::downgrade(self),
            }),
            Reporting {
                status,
                name: status_name(action),
            },
            consent,
        );
        destinations.insert(
            key,
            Destination {
                action: action.clone(),
                queue: queue.clone(),
                replay,
            },
        );
        Some(queue)
    }

    /// Keeps the delivery of `n` through `action` in `queue` for its replay; `(attempts,
    /// error)` are what the delivery made and met.
    fn spool(
        &self,
        queue: &SpoolQueue,
        action: &AlertAction,
        n: &Notification,
        (attempts, error): (u32, Option<&DeliveryError>),
    ) -> Delivery {
        let body = self.notifier.body(action, n, false).unwrap_or_default();
        let pushed = serde_json::to_vec(&body)
            .map_err(|e| e.to_string())
            .and_then(|bytes| queue.push(&bytes));
        let error = match pushed {
            Ok(()) => {
                if let Some(status) = &self.status {
                    report_backlog(
                        status,
                        &status_name(action),
                        queue,
                        error.map(ToString::to_string),
                    );
                }
                match error {
                    Some(e) => format!("{e}; kept in the spool, sent when the destination answers"),
                    None => {
                        "kept in the spool behind earlier deliveries to this destination".to_owned()
                    }
                }
            }
            Err(why) => {
                self.count_dropped(action.kind(), "spool_unwritable");
                let message = match error {
                    Some(e) => format!("{e}; {why}"),
                    None => why,
                };
                if let Some(status) = &self.status {
                    status.failure(&status_name(action), message.clone());
                }
                message
            }
        };
        Delivery {
            action: action.kind(),
            attempts,
            error: Some(error),
        }
    }

    fn refuse(&self, job: &Job, reason: &'static str, error: &str) {
        let deliveries = job
            .actions
            .iter()
            .map(|action| {
                self.count_dropped(action.kind(), reason);
                Delivery {
                    action: action.kind(),
                    attempts: 0,
                    error: Some(error.to_owned()),
                }
            })
            .collect();
        self.complete(job.seq, deliveries);
    }

    /// Counts one notification of `action` not delivered, for `reason`.
    fn count_dropped(&self, action: &'static str, reason: &'static str) {
        if let Some(counter) = &self.dropped {
            let _ = counter.add(
                1,
                &[
                    KeyValue::new("action", action),
                    KeyValue::new("reason", reason),
                ],
            );
        }
    }

    /// Adds `deliveries` to the history entry `seq` (gone if 500 newer ones came).
    fn complete(&self, seq: u64, deliveries: Vec<Delivery>) {
        let mut history = self.history.lock();
        if let Some((_, event)) = history.iter_mut().rev().find(|(s, _)| *s == seq) {
            event.deliveries.extend(deliveries);
        }
    }
}

/// The export status of an action's deliveries: `alerts:<kind>`.
fn status_name(action: &AlertAction) -> String {
    format!("alerts:{}", action.kind())
}

/// A webhook or PagerDuty destination as the spool names it: 16 hex digits of a SHA-256
/// of its kind, URL and routing key, so that neither is written to disk.
fn destination_key(action: &AlertAction) -> Option<String> {
    let identity = match action {
        AlertAction::Webhook { url, .. } => format!("webhook\0{url}"),
        AlertAction::PagerDuty { service_key, .. } => format!("pagerduty\0{service_key}"),
        _ => return None,
    };
    let hash = sha2::Sha256::digest(identity.as_bytes());
    Some(hash[..8].iter().map(|b| format!("{b:02x}")).collect())
}

/// The replay of one destination's spooled deliveries.
struct SpooledDelivery {
    key: String,
    shared: Weak<Shared>,
}

impl Resend for SpooledDelivery {
    async fn resend(&self, _signal: Signal, bytes: Vec<u8>) -> Result<(), SendError> {
        let refused = |message: String| SendError {
            retryable: false,
            retry_after: None,
            answered: false,
            message,
        };
        let shared = self
            .shared
            .upgrade()
            .ok_or_else(|| refused("the alert manager is gone".into()))?;
        let action = shared
            .destinations
            .lock()
            .get(&self.key)
            .map(|d| d.action.clone())
            .ok_or_else(|| refused("its destination is no longer configured".into()))?;
        let body = serde_json::from_slice(&bytes)
            .map_err(|e| refused(format!("a spooled alert delivery is not JSON: {e}")))?;
        shared
            .notifier
            .post_spooled(&action, body)
            .await
            .map_err(|e| SendError {
                retryable: e.retryable(),
                retry_after: None,
                answered: !matches!(e, DeliveryError::Timeout { .. }),
                message: e.to_string(),
            })
    }
}
