//! Supervision of the engine's own work: the periodic loops (collection, health, alerts)
//! and the parts of one pass that must not take the others down (one alert rule).
//!
//! A panic inside a supervised tick is caught where it happens: it is counted in
//! `telemetry_task_panics_total{task}`, logged with its message, remembered for the
//! `background_tasks` health check (Warning with the task, the count and the last
//! message), and the loop goes on with its next tick.

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::FutureExt as _;
use opentelemetry::KeyValue;
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::clock::unix_ms;
use crate::metrics::{Counter, Metrics, MetricsError};

/// The panics caught in one task.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PanicRecord {
    /// How many ticks (or rules) panicked.
    pub(crate) count: u64,
    /// The message of the last panic.
    pub(crate) last: String,
    /// When the last panic happened (Unix ms).
    pub(crate) at_ms: i64,
}

/// Catches, counts and remembers the panics of supervised work. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Supervisor {
    counter: Option<Counter>,
    records: Arc<Mutex<BTreeMap<String, PanicRecord>>>,
}

impl Supervisor {
    /// A supervisor counting into `telemetry_task_panics_total` of `metrics`.
    pub(crate) fn new(metrics: &Metrics) -> Result<Self, MetricsError> {
        Ok(Self {
            counter: Some(metrics.counter("telemetry_task_panics_total")?),
            records: Arc::default(),
        })
    }

    /// A supervisor that only logs and remembers (for parts built without metrics).
    pub(crate) fn unmetered() -> Self {
        Self {
            counter: None,
            records: Arc::default(),
        }
    }

    /// Records that `task` panicked with `payload`; `part` names the piece of the task
    /// that panicked (an alert rule), when there is one.
    pub(crate) fn panicked(&self, task: &str, part: Option<&str>, payload: &(dyn Any + Send)) {
        let message = match part {
            Some(part) => format!("{part}: {}", panic_message(payload)),
            None => panic_message(payload),
        };
        ::tracing::error!(target: "telemetry::supervise", task, panic = %message, "a supervised task panicked; it goes on");
        if let Some(counter) = &self.counter {
            // The task names are the engine's own: the attribute always passes the checks.
            let _ = counter.add(1, &[KeyValue::new("task", task.to_owned())]);
        }
        let mut records = self.records.lock();
        let record = records.entry(task.to_owned()).or_insert(PanicRecord {
            count: 0,
            last: String::new(),
            at_ms: 0,
        });
        record.count += 1;
        record.last = message;
        record.at_ms = unix_ms(SystemTime::now());
    }

    /// Runs `f`, the piece `part` of `task`; a panic is recorded and gives `None`.
    pub(crate) fn catch<T>(&self, task: &str, part: &str, f: impl FnOnce() -> T) -> Option<T> {
        match std::panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(value) => Some(value),
            Err(payload) => {
                self.panicked(task, Some(part), payload.as_ref());
                None
            }
        }
    }

    /// The tasks that panicked, by name.
    pub(crate) fn records(&self) -> BTreeMap<String, PanicRecord> {
        self.records.lock().clone()
    }

    /// Calls `tick` every `interval` (the first time at once) until `stopped` changes; a
    /// tick that overruns delays the next one rather than bunching them up, and a tick
    /// that panics is recorded against `task` and the next one runs as planned.
    pub(crate) async fn every<F, Fut>(
        self,
        task: &'static str,
        interval: Duration,
        mut stopped: watch::Receiver<bool>,
        mut tick: F,
    ) where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    if let Err(payload) = AssertUnwindSafe(tick()).catch_unwind().await {
                        self.panicked(task, None, payload.as_ref());
                    }
                }
                _ = stopped.changed() => break,
            }
        }
    }
}

/// The text of a panic's payload (`panic!("…")` gives a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_records_the_panic_and_returns_none() {
        let supervisor = Supervisor::unmetered();
        assert_eq!(supervisor.catch("alerts", "fine", || 7), Some(7));
        let caught = supervisor.catch("alerts", "rule x", || -> u8 { panic!("bad rule") });
        assert_eq!(caught, None);
        let records = supervisor.records();
        assert_eq!(records.len(), 1);
        assert_eq!(records["alerts"].count, 1);
        assert_eq!(records["alerts"].last, "rule x: bad rule");
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_tick_is_counted_and_the_loop_goes_on() {
        let supervisor = Supervisor::unmetered();
        let (stop, stopped) = watch::channel(false);
        let (ticks_tx, mut ticks) = tokio::sync::mpsc::unbounded_channel();
        let mut n = 0_u32;
        let task = tokio::spawn(supervisor.clone().every(
            "alerts",
            Duration::from_secs(1),
            stopped,
            move || {
                n += 1;
                let (n, ticks_tx) = (n, ticks_tx.clone());
                async move {
                    if n % 2 == 1 {
                        panic!("tick {n} failed");
                    }
                    let _ = ticks_tx.send(n);
                }
            },
        ));
        // Ticks 2 and 4 run although ticks 1 and 3 panicked.
        assert_eq!(ticks.recv().await, Some(2));
        assert_eq!(ticks.recv().await, Some(4));
        let _ = stop.send(true);
        task.await.expect("the loop itself never panics");
        let record = &supervisor.records()["alerts"];
        assert!(record.count >= 2, "{record:?}");
        assert!(record.last.starts_with("tick "), "{record:?}");
    }
}
