//! Series streams: each subscription is a task that reads the selected series every
//! interval and hands an update to its sink (a Tauri `Channel` for the webview).
//!
//! Flow control: the receiver acknowledges updates (`ack_series`). With
//! [`MAX_IN_FLIGHT`] updates unacknowledged, ticks are skipped and counted in `dropped`
//! (the next update carries the newest values anyway, so nothing queues up), and after
//! [`STALL_LIMIT`] without an acknowledgement the subscription ends: the webview is slow
//! beyond use or gone. It also ends when its webview is destroyed or on `unsubscribe`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use telemetry_engine::store::SeriesStore;
use tokio::time::Instant;

use crate::models::{LatestValue, SeriesSelector, SeriesUpdate};

/// Updates a receiver may leave unacknowledged before ticks are skipped.
pub(crate) const MAX_IN_FLIGHT: u64 = 4;
/// How long a stream waits for an acknowledgement before it ends.
pub(crate) const STALL_LIMIT: Duration = Duration::from_secs(30);
/// Allowed intervals.
pub(crate) const INTERVALS_MS: std::ops::RangeInclusive<u64> = 50..=60_000;

struct Subscription {
    webview: String,
    acked: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

/// Every live subscription.
#[derive(Default)]
pub(crate) struct Streams {
    next: AtomicU32,
    subs: Arc<Mutex<HashMap<u32, Subscription>>>,
}

impl Streams {
    /// Starts a stream of `selectors` every `interval` for `webview`, sending to `sink`
    /// (which returns false when the receiver is gone). Must run inside a Tokio runtime.
    pub(crate) fn subscribe(
        &self,
        webview: &str,
        selectors: Vec<SeriesSelector>,
        interval: Duration,
        store: Arc<SeriesStore>,
        sink: impl Fn(SeriesUpdate) -> bool + Send + 'static,
    ) -> u32 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let acked = Arc::new(AtomicU64::new(0));
        let subs = self.subs.clone();
        let task = tokio::spawn(run(
            id,
            selectors,
            interval,
            store,
            sink,
            acked.clone(),
            subs,
        ));
        self.subs.lock().insert(
            id,
            Subscription {
                webview: webview.to_owned(),
                acked,
                task,
            },
        );
        id
    }

    /// Records that the receiver has `seq`. False for an unknown stream.
    pub(crate) fn ack(&self, id: u32, seq: u64) -> bool {
        match self.subs.lock().get(&id) {
            Some(sub) => {
                sub.acked.fetch_max(seq, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Ends a stream. False for an unknown stream.
    pub(crate) fn unsubscribe(&self, id: u32) -> bool {
        match self.subs.lock().remove(&id) {
            Some(sub) => {
                sub.task.abort();
                true
            }
            None => false,
        }
    }

    /// Ends every stream of `webview` (it was destroyed).
    pub(crate) fn remove_webview(&self, webview: &str) {
        self.subs.lock().retain(|_, sub| {
            let keep = sub.webview != webview;
            if !keep {
                sub.task.abort();
            }
            keep
        });
    }

    /// Live streams.
    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        self.subs.lock().len()
    }
}

/// The newest value of every series matching `selectors`.
pub(crate) fn latest(store: &SeriesStore, selectors: &[SeriesSelector]) -> (i64, Vec<LatestValue>) {
    let mut newest = 0;
    let mut series = Vec::new();
    for selector in selectors {
        let matchers: Vec<(&str, &str)> = selector
            .labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for data in store.query(&selector.name, &matchers, None) {
            if let Some((ts, value)) = data.points.last() {
                newest = newest.max(*ts);
                series.push(LatestValue {
                    name: data.name,
                    labels: data.labels,
                    value: *value,
                });
            }
        }
    }
    (newest, series)
}

async fn run(
    id: u32,
    selectors: Vec<SeriesSelector>,
    interval: Duration,
    store: Arc<SeriesStore>,
    sink: impl Fn(SeriesUpdate) -> bool,
    acked: Arc<AtomicU64>,
    subs: Arc<Mutex<HashMap<u32, Subscription>>>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seq = 0;
    let mut dropped = 0;
    let mut last_progress = Instant::now();
    let mut last_acked = 0;
    loop {
        ticker.tick().await;
        let acked_now = acked.load(Ordering::Relaxed);
        if acked_now > last_acked {
            last_acked = acked_now;
            last_progress = Instant::now();
        }
        if seq - acked_now.min(seq) >= MAX_IN_FLIGHT {
            dropped += 1;
            if last_progress.elapsed() >= STALL_LIMIT {
                break;
            }
            continue;
        }
        let (timestamp_ms, series) = latest(&store, &selectors);
        seq += 1;
        let update = SeriesUpdate {
            id,
            seq,
            timestamp_ms,
            series,
            dropped,
        };
        if !sink(update) {
            break;
        }
        if seq == 1 {
            last_progress = Instant::now();
        }
    }
    subs.lock().remove(&id);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use telemetry_engine::config::MetricsConfig;
    use telemetry_engine::store::{
        MetricSnapshot, SeriesSnapshot, SeriesValue, Snapshot, SnapshotKind,
    };

    fn store_with(values: &[(&str, f64)]) -> Arc<SeriesStore> {
        let store = SeriesStore::new(&MetricsConfig::default());
        store.ingest(&Snapshot {
            timestamp_ms: 1_000,
            metrics: values
                .iter()
                .map(|(name, value)| MetricSnapshot {
                    name: (*name).into(),
                    kind: SnapshotKind::Gauge,
                    help: String::new(),
                    series: vec![SeriesSnapshot {
                        labels: Default::default(),
                        value: SeriesValue::Number { value: *value },
                    }],
                })
                .collect(),
        });
        Arc::new(store)
    }

    fn select(name: &str) -> Vec<SeriesSelector> {
        vec![SeriesSelector {
            name: name.into(),
            labels: None,
        }]
    }

    #[tokio::test(start_paused = true)]
    async fn updates_come_at_the_asked_rate_with_only_the_selected_series() {
        let streams = Streams::default();
        let (tx, rx) = mpsc::channel();
        let store = store_with(&[("queue_size", 3.0), ("other", 1.0)]);
        let started = Instant::now();
        let id = streams.subscribe(
            "main",
            select("queue_size"),
            Duration::from_millis(250),
            store,
            move |u| tx.send((Instant::now(), u)).is_ok(),
        );
        let mut times = Vec::new();
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            while let Ok((at, update)) = rx.try_recv() {
                assert_eq!(update.series.len(), 1);
                assert_eq!(update.series[0].name, "queue_size");
                assert!(streams.ack(id, update.seq));
                times.push(at.duration_since(started).as_millis());
            }
        }
        assert_eq!(times, [0, 250, 500, 750]);
        assert!(streams.unsubscribe(id));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(rx.try_recv().is_err(), "unsubscribe stops the flow");
        assert_eq!(streams.count(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_receiver_that_never_acknowledges_gets_at_most_max_in_flight_then_the_stream_ends() {
        let streams = Streams::default();
        let received = Arc::new(AtomicU64::new(0));
        let count = received.clone();
        streams.subscribe(
            "main",
            select("queue_size"),
            Duration::from_millis(100),
            store_with(&[("queue_size", 3.0)]),
            move |_| {
                count.fetch_add(1, Ordering::Relaxed);
                true
            },
        );
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(received.load(Ordering::Relaxed), MAX_IN_FLIGHT);
        assert_eq!(streams.count(), 1, "still waiting");
        tokio::time::sleep(STALL_LIMIT).await;
        assert_eq!(streams.count(), 0, "ended after the stall limit");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_receiver_sees_the_skipped_ticks_counted() {
        let streams = Streams::default();
        let (tx, rx) = mpsc::channel();
        let id = streams.subscribe(
            "main",
            select("queue_size"),
            Duration::from_millis(100),
            store_with(&[("queue_size", 3.0)]),
            move |u| tx.send(u).is_ok(),
        );
        tokio::time::sleep(Duration::from_millis(1_050)).await;
        let first: Vec<SeriesUpdate> = rx.try_iter().collect();
        assert_eq!(first.len() as u64, MAX_IN_FLIGHT);
        assert!(streams.ack(id, first.last().unwrap().seq));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let next = rx.try_recv().unwrap();
        assert_eq!(next.seq, MAX_IN_FLIGHT + 1);
        assert_eq!(next.dropped, 7, "ticks 4..=10 were skipped");
        streams.remove_webview("main");
        assert_eq!(streams.count(), 0);
    }

    #[tokio::test]
    async fn a_gone_receiver_ends_the_stream() {
        let streams = Streams::default();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let done_tx = Mutex::new(Some(done_tx));
        streams.subscribe(
            "main",
            select("queue_size"),
            Duration::from_millis(50),
            store_with(&[("queue_size", 3.0)]),
            move |_| {
                done_tx.lock().take().map(|tx| tx.send(()));
                false
            },
        );
        done_rx.await.unwrap();
        for _ in 0..100 {
            if streams.count() == 0 {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the stream outlived its receiver");
    }
}
