//! Delivery to one OTLP destination: send now, or spool and replay.
//!
//! A batch goes out at once while nothing waits in the destination's spool queue. A
//! retryable failure (see [`super::otlp_send`]) puts it in the spool; from then on new
//! batches go behind it, so the destination receives them in order, and the queue's
//! replay task sends the oldest first, waiting between failures with exponential backoff
//! and jitter (1 s doubling to 5 min, or what `Retry-After` asks). A batch the server
//! refuses (400, 401, 403, 413…) is not retried: counted, and its message shown. Without
//! a spool (no storage folder), a retryable answer is retried in memory for as long as
//! the export's timeout allows, then counted as lost. While the
//! spool holds batches the status says `Degraded("spooling N batches (X MiB) since T")`.

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::otlp_send::{OtlpRequest, OtlpSender, SendError, Signal};
use super::spool::{Spool, SpoolQueue};
use super::ExportStatusBoard;
use crate::privacy::ConsentGate;

/// The shortest wait after a failed replay.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// The longest wait after failed replays.
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// The longest `Retry-After` honoured.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(3600);

/// Where a spooled batch goes when it is replayed: the OTLP sender, or an alert's
/// webhook (see `alerts::delivery`).
pub(crate) trait Resend: Send + Sync + 'static {
    /// Sends one spooled batch of `signal`, as it was written.
    fn resend(
        &self,
        signal: Signal,
        bytes: Vec<u8>,
    ) -> impl std::future::Future<Output = Result<(), SendError>> + Send;
}

impl Resend for OtlpSender {
    async fn resend(&self, signal: Signal, bytes: Vec<u8>) -> Result<(), SendError> {
        self.send_encoded(signal, bytes).await
    }
}

/// What became of a batch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Sent,
    /// On disk, to be replayed.
    Spooled,
    /// Gone: counted by the caller under `reason`.
    Lost {
        reason: &'static str,
        message: String,
    },
}

/// What an outbox is made with.
pub(crate) struct OutboxParts<'a> {
    pub(crate) name: &'a str,
    pub(crate) sender: OtlpSender,
    pub(crate) runtime: Handle,
    pub(crate) status: &'a ExportStatusBoard,
    pub(crate) spool: Option<&'a Spool>,
    pub(crate) consent: &'a ConsentGate,
    /// How long one export may take, retries included, when there is no spool.
    pub(crate) timeout: Duration,
}

/// Delivery to one destination, with its spool queue and replay task.
pub(crate) struct Outbox {
    name: String,
    sender: Arc<OtlpSender>,
    runtime: Handle,
    status: ExportStatusBoard,
    queue: Option<SpoolQueue>,
    replay: Option<JoinHandle<()>>,
    timeout: Duration,
}

impl Outbox {
    /// An outbox for `parts.name`; with a spool, its queue (what a previous run left
    /// included) and the replay task on `parts.runtime`.
    pub(crate) fn new(parts: OutboxParts<'_>, signal: Signal) -> Self {
        let sender = Arc::new(parts.sender);
        let queue = parts.spool.and_then(|spool| match spool.queue(parts.name, signal) {
            Ok(queue) => Some(queue),
            Err(e) => {
                ::tracing::warn!(target: "telemetry::spool", exporter = parts.name, error = %e, "this exporter sends without a spool");
                None
            }
        });
        let replay = queue.as_ref().map(|queue| {
            spawn_replay(
                &parts.runtime,
                queue.clone(),
                sender.clone(),
                Reporting {
                    status: parts.status.clone(),
                    name: parts.name.to_owned(),
                },
                parts.consent.clone(),
            )
        });
        Self {
            name: parts.name.to_owned(),
            sender,
            runtime: parts.runtime,
            status: parts.status.clone(),
            queue,
            replay,
            timeout: parts.timeout,
        }
    }

    /// The export status it reports to.
    pub(crate) fn status(&self) -> &ExportStatusBoard {
        &self.status
    }

    /// [`Self::deliver`] from a thread outside the runtime (the SDK's batch processors).
    pub(crate) fn deliver_blocking(&self, request: OtlpRequest) -> Outcome {
        self.runtime.block_on(self.deliver(request))
    }

    /// Sends `request`, or spools it when the destination cannot take it now.
    pub(crate) async fn deliver(&self, request: OtlpRequest) -> Outcome {
        if let Some(queue) = &self.queue {
            // Behind what waits, to keep the order.
            if queue.has_backlog() {
                return self.spool(queue, &request, None);
            }
        }
        let sent = match self.queue.as_ref().and_then(SpoolQueue::deadline) {
            // At exit: what is not sent by the deadline waits on disk.
            Some(deadline) => {
                let deadline = tokio::time::Instant::from_std(deadline);
                tokio::time::timeout_at(deadline, self.send(&request))
                    .await
                    .unwrap_or_else(|_| {
                        Err(SendError {
                            retryable: true,
                            retry_after: None,
                            answered: false,
                            message: "not sent before the app exited".to_owned(),
                        })
                    })
            }
            None => self.send(&request).await,
        };
        match sent {
            Ok(()) => {
                self.status.success(&self.name);
                Outcome::Sent
            }
            Err(e) if e.retryable => match &self.queue {
                Some(queue) => self.spool(queue, &request, Some(e)),
                None => self.lost("export_failed", e.message),
            },
            Err(e) => self.lost(
                "rejected",
                format!("refused by the server, not retried: {}", e.message),
            ),
        }
    }

    /// One send; without a spool, a server's retryable answer (429, 503…) is retried
    /// with the same backoff and its `Retry-After` for as long as the export's timeout
    /// leaves room. An unreachable server is not retried in memory: the SDK's flush
    /// would wait for it.
    async fn send(&self, request: &OtlpRequest) -> Result<(), SendError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut failures = 0u32;
        loop {
            match self.sender.send(request).await {
                Err(e) if e.retryable && e.answered && self.queue.is_none() => {
                    failures = failures.saturating_add(1);
                    let wait = backoff(failures, e.retry_after);
                    if tokio::time::Instant::now() + wait >= deadline {
                        return Err(e);
                    }
                    tokio::time::sleep(wait).await;
                }
                result => return result,
            }
        }
    }

    fn spool(
        &self,
        queue: &SpoolQueue,
        request: &OtlpRequest,
        error: Option<SendError>,
    ) -> Outcome {
        match queue.push(&request.encode()) {
            Ok(()) => {
                report_backlog(&self.status, &self.name, queue, error.map(|e| e.message));
                Outcome::Spooled
            }
            Err(why) => {
                let message = match error {
                    Some(e) => format!("{}; {why}", e.message),
                    None => why,
                };
                self.lost("spool_unwritable", message)
            }
        }
    }

    fn lost(&self, reason: &'static str, message: String) -> Outcome {
        self.status.failure(&self.name, message.clone());
        Outcome::Lost { reason, message }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        if let Some(replay) = &self.replay {
            replay.abort();
        }
    }
}

/// Where a queue's state is shown: an exporter's status under `name`.
pub(crate) struct Reporting {
    pub(crate) status: ExportStatusBoard,
    pub(crate) name: String,
}

/// Starts the replay of `queue` to `to` on `runtime`, showing what waits (also what a
/// previous run left) in `reporting`.
pub(crate) fn spawn_replay<R: Resend>(
    runtime: &Handle,
    queue: SpoolQueue,
    to: Arc<R>,
    reporting: Reporting,
    consent: ConsentGate,
) -> JoinHandle<()> {
    if queue.has_backlog() {
        report_backlog(&reporting.status, &reporting.name, &queue, None);
    }
    runtime.spawn(replay(queue, to, reporting, consent))
}

/// `Degraded("spooling N batches (X MiB) since T: <last error>")`.
pub(crate) fn report_backlog(
    status: &ExportStatusBoard,
    name: &str,
    queue: &SpoolQueue,
    error: Option<String>,
) {
    let backlog = queue.backlog();
    // (A batch's time is read from its file: any value can be there.)
    let since = backlog.since_ms.map_or_else(String::new, |ms| {
        let ms = i64::try_from(ms).unwrap_or(i64::MAX);
        format!(" since {}", crate::clock::rfc3339(ms, true))
    });
    let error = error.map_or_else(String::new, |e| format!(": {e}"));
    status.degraded(
        name,
        format!(
            "spooling {} batches ({:.1} MiB){since}{error}",
            backlog.batches,
            backlog.bytes as f64 / f64::from(1u32 << 20)
        ),
    );
}

/// The wait after the `failures`-th failure in a row: 1 s doubling to 5 min, each drawn
/// between half and all of it (jitter, so that many installs coming back online do not
/// retry in step), or `retry_after` when the server asked for longer.
pub(crate) fn backoff(failures: u32, retry_after: Option<Duration>) -> Duration {
    let base = BACKOFF_MIN
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(BACKOFF_MAX);
    let jittered = base.mul_f64(0.5 + fastrand::f64() / 2.0);
    match retry_after {
        Some(asked) => asked.min(RETRY_AFTER_MAX).max(jittered),
        None => jittered,
    }
}

/// Sends the queue's batches, oldest first, while consent allows; drops them when it is
/// withdrawn.
async fn replay<R: Resend>(
    queue: SpoolQueue,
    to: Arc<R>,
    reporting: Reporting,
    consent: ConsentGate,
) {
    let Reporting { status, name } = reporting;
    let mut consent_changes = consent.watch();
    let mut failures = 0u32;
    loop {
        if queue.deadline().is_some() {
            return;
        }
        if !consent.allows_sending() {
            queue.clear("consent");
            if consent_changes.changed().await.is_err() {
                return;
            }
            continue;
        }
        let Some(batch) = queue.front() else {
            status_after_drain(&status, &name, &queue);
            tokio::select! {
                () = queue.added() => {}
                changed = consent_changes.changed() => if changed.is_err() { return },
            }
            continue;
        };
        match to.resend(queue.signal(), batch.bytes).await {
            Ok(()) => {
                failures = 0;
                queue.remove(batch.seq, None);
                if queue.has_backlog() {
                    report_backlog(&status, &name, &queue, None);
                }
            }
            Err(e) if e.retryable => {
                failures = failures.saturating_add(1);
                report_backlog(&status, &name, &queue, Some(e.message));
                let wait = backoff(failures, e.retry_after);
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    changed = consent_changes.changed() => if changed.is_err() { return },
                }
            }
            Err(e) => {
                queue.remove(batch.seq, Some("rejected"));
                status.failure(
                    &name,
                    format!("a spooled batch was refused and dropped: {}", e.message),
                );
            }
        }
    }
}

/// Once the queue is empty after a replay, the exporter is healthy again (unless the
/// last thing that happened was a refusal, which stays shown).
fn status_after_drain(status: &ExportStatusBoard, name: &str, queue: &SpoolQueue) {
    let spooling = status.statuses().get(name).is_some_and(
        |s| matches!(s, super::ExportStatus::Degraded(r) if r.starts_with("spooling")),
    );
    if spooling && !queue.has_backlog() {
        status.success(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_to_its_cap_with_jitter_and_honours_retry_after() {
        for _ in 0..100 {
            let first = backoff(1, None);
            assert!(
                first >= Duration::from_millis(500) && first <= BACKOFF_MIN,
                "{first:?}"
            );
            let fourth = backoff(4, None);
            assert!(fourth >= Duration::from_secs(4) && fourth <= Duration::from_secs(8));
            let late = backoff(40, None);
            assert!(late >= BACKOFF_MAX / 2 && late <= BACKOFF_MAX, "{late:?}");
        }
        assert_eq!(
            backoff(1, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        assert_eq!(
            backoff(1, Some(Duration::from_secs(86_400))),
            RETRY_AFTER_MAX
        );
    }
}
