//! The delivery queue: evaluation hands each due notification to a bounded queue and goes
//! on; a worker of its own delivers up to [`CONCURRENCY`] at once, each attempt bounded by
//! `delivery_timeout`, and writes the outcome into the history entry it belongs to.
//!
//! Nothing waits without bound: a full queue refuses the notification (counted in
//! `telemetry_alert_deliveries_dropped_total{action, reason="queue_full"}` and written into
//! its history entry as an error), and shutdown gives the deliveries under way a grace
//! period, then abandons them (`reason="shutdown"`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use opentelemetry::KeyValue;
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::notify::{DeliveryError, Notifier};
use super::{AlertAction, AlertEvent, Delivery, Notification};
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
        dropped: Option<Counter>,
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
            }),
        }
    }

    pub(crate) fn notifier(&self) -> &Notifier {
        &self.shared.notifier
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
    }
}

impl Shared {
    async fn run(&self, job: Job) {
        let (n, rule) = (&job.notification, job.rule.as_str());
        let deliveries = job.actions.iter().map(|action| async move {
            let (attempts, result) = self.notifier.deliver(action, n).await;
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
