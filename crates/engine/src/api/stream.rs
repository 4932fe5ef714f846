//! Series streams: each subscription is a task that reads the selected series every
//! interval and hands an update to its sink (a Tauri `Channel`, a Server-Sent Events
//! response). A tick with nothing new since the last update (no snapshot ingested by the
//! store) sends nothing: at the default 10 s collection a 1 s stream sends one update in
//! ten ticks.
//!
//! Flow control, so that a slow or vanished receiver costs nothing: a sink may say it is
//! busy (a full buffer), and a stream may require acknowledgements (IPC, where sending
//! never blocks): with [`MAX_IN_FLIGHT`] updates unacknowledged the sink is not called.
//! Either way the tick is skipped and counted in `dropped` (the next update carries the
//! newest values, so nothing queues up), and after [`STALL_LIMIT`] without progress the
//! stream ends. It also ends when its owner goes away or on `unsubscribe`.
//!
//! Never silently: a receiver that has acknowledged nothing once [`MAX_IN_FLIGHT`] updates
//! are out gets a WARN record naming the stream and what to call (`ack_series`), and a
//! stream that ends stalled is another, and counts in
//! `telemetry_streams_stalled_total{transport}`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use super::{latest, ApiError, SeriesSelector, SeriesUpdate};
use crate::metrics::{BoundCounter, BoundGauge, Metrics};
use crate::store::SeriesStore;
use opentelemetry::KeyValue;

/// Streams open at once (all owners together); more are refused, so that no client can
/// grow the app's tasks and buffers without bound.
pub(crate) const MAX_STREAMS: usize = 256;

/// Streams one owner (a window, an HTTP client's address) may have open at once, so that
/// no single client takes every place.
pub(crate) const MAX_STREAMS_PER_OWNER: usize = 64;
/// Updates a receiver may leave unacknowledged before ticks are skipped.
pub(crate) const MAX_IN_FLIGHT: u64 = 4;
/// How long a stream goes on without progress (a delivered or acknowledged update)
/// before it ends.
pub(crate) const STALL_LIMIT: Duration = Duration::from_secs(30);

/// What a sink did with an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handoff {
    /// Handed over.
    Sent,
    /// Not taken now (buffer full); the tick counts as dropped.
    Busy,
    /// The receiver is gone; the stream ends.
    Gone,
}

struct Subscription {
    owner: String,
    acked: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

/// The live streams, and the gauge that shows how many there are.
#[derive(Default)]
struct Registry {
    subs: HashMap<u32, Subscription>,
    open: Option<BoundGauge>,
    /// Streams that ended stalled.
    stalled: Option<BoundCounter>,
    /// The same count, read by the tests (the counter of a detached meter cannot be).
    #[cfg(test)]
    stalls: u64,
}

impl Registry {
    /// Runs `change` on the streams, then sets the gauge to how many are left.
    fn change<T>(&mut self, change: impl FnOnce(&mut HashMap<u32, Subscription>) -> T) -> T {
        let result = change(&mut self.subs);
        if let Some(open) = &self.open {
            open.set_checked(self.subs.len() as f64);
        }
        result
    }
}

/// Every live stream.
///
/// # Examples
/// ```
/// # use telemetry_engine::metrics::Metrics;
/// use telemetry_engine::api::Streams;
/// let streams = Streams::counted_in(&Metrics::detached(), "http");
/// assert_eq!(streams.count(), 0);
/// ```
#[derive(Default)]
pub struct Streams {
    next: AtomicU32,
    registry: Arc<Mutex<Registry>>,
}

impl Streams {
    /// Streams whose number is kept in the gauge `telemetry_streams_open{transport}` of
    /// `metrics`, set at every open and close, so that streams a client left behind show
    /// on a chart. Uncounted when the gauge cannot be made (the metric cap is reached).
    pub fn counted_in(metrics: &Metrics, transport: &'static str) -> Self {
        let open = metrics
            .gauge("telemetry_streams_open")
            .and_then(|g| g.bind(&[KeyValue::new("transport", transport)]))
            .ok();
        if let Some(open) = &open {
            open.set_checked(0.0);
        }
        let stalled = metrics
            .counter("telemetry_streams_stalled_total")
            .and_then(|c| c.bind(&[KeyValue::new("transport", transport)]))
            .ok();
        Self {
            next: AtomicU32::new(0),
            registry: Arc::new(Mutex::new(Registry {
                open,
                stalled,
                ..Registry::default()
            })),
        }
    }

    /// Starts a stream of `selectors` every `interval` for `owner` (a webview label, an
    /// HTTP client) into `sink`; with `acknowledged`, at most [`MAX_IN_FLIGHT`] updates
    /// wait for [`Streams::ack`]. Must run inside a Tokio runtime. Returns the stream id.
    ///
    /// # Errors
    /// [`ApiError::TooManyStreams`] when [`MAX_STREAMS`] are open, or
    /// [`MAX_STREAMS_PER_OWNER`] of `owner`'s.
    pub fn subscribe(
        &self,
        owner: &str,
        selectors: Vec<SeriesSelector>,
        interval: Duration,
        store: Arc<SeriesStore>,
        acknowledged: bool,
        sink: impl FnMut(SeriesUpdate) -> Handoff + Send + 'static,
    ) -> Result<u32, ApiError> {
        // Registered before the task starts, so that a stream ending at once is removed.
        let mut registry = self.registry.lock();
        if registry.subs.len() >= MAX_STREAMS {
            return Err(ApiError::TooManyStreams { max: MAX_STREAMS });
        }
        let owned = registry.subs.values().filter(|s| s.owner == owner).count();
        if owned >= MAX_STREAMS_PER_OWNER {
            return Err(ApiError::TooManyStreams {
                max: MAX_STREAMS_PER_OWNER,
            });
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let acked = Arc::new(AtomicU64::new(0));
        let subs = self.registry.clone();
        let stream = Stream {
            id,
            owner: owner.to_owned(),
            selectors,
            store,
            acked: acknowledged.then(|| acked.clone()),
        };
        let task = tokio::spawn(stream.run(interval, sink, subs));
        registry.change(|subs| {
            subs.insert(
                id,
                Subscription {
                    owner: owner.to_owned(),
                    acked,
                    task,
                },
            )
        });
        Ok(id)
    }

    /// Records that `owner`'s receiver has `seq`. False for an unknown stream, or one
    /// another owner opened (ids are sequential: a window cannot steer another's streams).
    pub fn ack(&self, owner: &str, id: u32, seq: u64) -> bool {
        match self.registry.lock().subs.get(&id) {
            Some(sub) if sub.owner == owner => {
                sub.acked.fetch_max(seq, Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }

    /// Ends `owner`'s stream `id`. False for an unknown stream, or one another owner
    /// opened.
    pub fn unsubscribe(&self, owner: &str, id: u32) -> bool {
        let removed = self.registry.lock().change(|subs| {
            if subs.get(&id).is_some_and(|sub| sub.owner == owner) {
                subs.remove(&id)
            } else {
                None
            }
        });
        match removed {
            Some(sub) => {
                sub.task.abort();
                true
            }
            None => false,
        }
    }

    /// Ends every stream of `owner` (its webview was destroyed).
    pub fn remove_owner(&self, owner: &str) {
        self.registry.lock().change(|subs| {
            subs.retain(|_, sub| {
                let keep = sub.owner != owner;
                if !keep {
                    sub.task.abort();
                }
                keep
            });
        });
    }

    /// Live streams.
    pub fn count(&self) -> usize {
        self.registry.lock().subs.len()
    }
}

struct Stream {
    id: u32,
    owner: String,
    selectors: Vec<SeriesSelector>,
    store: Arc<SeriesStore>,
    /// The receiver's acknowledged sequence number, when acknowledgements are required.
    acked: Option<Arc<AtomicU64>>,
}

impl Stream {
    async fn run(
        self,
        interval: Duration,
        mut sink: impl FnMut(SeriesUpdate) -> Handoff,
        registry: Arc<Mutex<Registry>>,
    ) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut seq = 0;
        let mut dropped = 0;
        let mut last_progress = Instant::now();
        let mut last_acked = 0;
        let mut warned = false;
        // The store's ingest count at the last update sent: a tick with nothing newer
        // sends nothing.
        let mut sent_at: Option<u64> = None;
        loop {
            ticker.tick().await;
            let ingested = self.store.ingested();
            if sent_at == Some(ingested) {
                continue;
            }
            let waiting = match &self.acked {
                Some(acked) => {
                    let acked_now = acked.load(Ordering::Relaxed).min(seq);
                    if acked_now > last_acked {
                        last_acked = acked_now;
                        last_progress = Instant::now();
                    }
                    let waiting = seq - acked_now >= MAX_IN_FLIGHT;
                    if waiting && acked_now == 0 && !warned {
                        warned = true;
                        ::tracing::warn!(
                            target: "telemetry::streams",
                            stream = self.id,
                            owner = %self.owner,
                            "series stream {} of {}: {MAX_IN_FLIGHT} updates sent and none acknowledged; \
                             updates are held back until the receiver calls ack_series with each update's seq, \
                             and the stream ends after {} s without one",
                            self.id,
                            self.owner,
                            STALL_LIMIT.as_secs()
                        );
                    }
                    waiting
                }
                None => false,
            };
            let delivery = if waiting {
                Handoff::Busy
            } else {
                let (timestamp_ms, series) = latest(&self.store, &self.selectors);
                let delivery = sink(SeriesUpdate {
                    id: self.id,
                    seq: seq + 1,
                    timestamp_ms,
                    series,
                    dropped,
                });
                if delivery == Handoff::Sent {
                    sent_at = Some(ingested);
                    seq += 1;
                    if self.acked.is_none() || seq == 1 {
                        last_progress = Instant::now();
                    }
                }
                delivery
            };
            match delivery {
                Handoff::Sent => {}
                Handoff::Busy => {
                    dropped += 1;
                    if last_progress.elapsed() >= STALL_LIMIT {
                        ::tracing::warn!(
                            target: "telemetry::streams",
                            stream = self.id,
                            owner = %self.owner,
                            "series stream {} of {} ended: no progress for {} s ({dropped} updates skipped)",
                            self.id,
                            self.owner,
                            STALL_LIMIT.as_secs()
                        );
                        let registry = &mut *registry.lock();
                        if let Some(stalled) = &registry.stalled {
                            stalled.add(1);
                        }
                        #[cfg(test)]
                        {
                            registry.stalls += 1;
                        }
                        break;
                    }
                }
                Handoff::Gone => break,
            }
        }
        registry.lock().change(|subs| subs.remove(&self.id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MetricsConfig;
    use crate::metrics::{MetricSnapshot, SeriesSnapshot, SeriesValue, Snapshot, SnapshotKind};
    use std::sync::mpsc;

    fn snapshot(timestamp_ms: i64, values: &[(&str, f64)]) -> Snapshot {
        Snapshot {
            timestamp_ms,
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
        }
    }

    fn store_with(values: &[(&str, f64)]) -> Arc<SeriesStore> {
        let store = SeriesStore::new(&MetricsConfig::default());
        store.ingest(&snapshot(1_000, values));
        Arc::new(store)
    }

    /// A store that ingests `values` again every 10 ms (of the test's clock) while the
    /// test runs: every tick of a stream has something new.
    fn live_store(values: &'static [(&'static str, f64)]) -> Arc<SeriesStore> {
        let store = store_with(values);
        let feeding = store.clone();
        tokio::spawn(async move {
            let mut ts = 1_000;
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                ts += 10;
                feeding.ingest(&snapshot(ts, values));
            }
        });
        store
    }

    fn sent(ok: bool) -> Handoff {
        if ok {
            Handoff::Sent
        } else {
            Handoff::Gone
        }
    }

    #[tokio::test(start_paused = true)]
    async fn streams_beyond_the_limit_are_refused_until_one_closes() {
        let streams = Streams::default();
        let store = store_with(&[("queue_size", 3.0)]);
        let opened = std::cell::Cell::new(0_usize);
        let open = |streams: &Streams| {
            // Spread over owners: one owner may hold at most MAX_STREAMS_PER_OWNER.
            let owner = format!("w{}", opened.get() / MAX_STREAMS_PER_OWNER);
            opened.set(opened.get() + 1);
            streams.subscribe(
                &owner,
                select("queue_size"),
                Duration::from_secs(1),
                store.clone(),
                true,
                |_| Handoff::Sent,
            )
        };
        let ids: Vec<u32> = (0..MAX_STREAMS).map(|_| open(&streams).unwrap()).collect();
        let refused = open(&streams).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "256 series streams are open already; close one (unsubscribe_series) first"
        );
        // Another window can neither end nor acknowledge it: ids are sequential.
        assert!(!streams.unsubscribe("other", ids[0]));
        assert!(!streams.ack("other", ids[0], 1));
        assert!(open(&streams).is_err());
        assert!(streams.unsubscribe("w0", ids[0]));
        assert!(open(&streams).is_ok());
        assert_eq!(streams.count(), MAX_STREAMS);
    }

    #[tokio::test(start_paused = true)]
    async fn one_owner_cannot_take_every_place() {
        let streams = Streams::default();
        let store = store_with(&[("queue_size", 3.0)]);
        let open = |owner: &str| {
            streams.subscribe(
                owner,
                select("queue_size"),
                Duration::from_secs(1),
                store.clone(),
                true,
                |_| Handoff::Sent,
            )
        };
        for _ in 0..MAX_STREAMS_PER_OWNER {
            open("greedy").unwrap();
        }
        let refused = open("greedy").unwrap_err().to_string();
        assert!(
            refused.starts_with("64 series streams are open already"),
            "{refused}"
        );
        open("polite").unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_sink_without_acknowledgements_counts_drops_and_ends_when_stalled() {
        let streams = Streams::default();
        let (tx, rx) = mpsc::sync_channel::<SeriesUpdate>(2);
        watch_queue_size(&streams, "sse", 100, false, move |u| match tx.try_send(u) {
            Ok(()) => Handoff::Sent,
            Err(mpsc::TrySendError::Full(_)) => Handoff::Busy,
            Err(mpsc::TrySendError::Disconnected(_)) => Handoff::Gone,
        });
        tokio::time::sleep(Duration::from_millis(550)).await;
        let first: Vec<SeriesUpdate> = rx.try_iter().collect();
        assert_eq!(first.len(), 2, "the buffer holds two");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let next = rx.try_recv().unwrap();
        assert_eq!((next.seq, next.dropped), (3, 4));
        tokio::time::sleep(STALL_LIMIT + Duration::from_secs(1)).await;
        assert_eq!(
            streams.count(),
            0,
            "a reader that stopped reading ends its stream"
        );
    }

    /// Subscribes `owner` to `queue_size` (3.0, ingested again every 10 ms) every
    /// `every_ms`.
    fn watch_queue_size(
        streams: &Streams,
        owner: &str,
        every_ms: u64,
        acknowledged: bool,
        sink: impl FnMut(SeriesUpdate) -> Handoff + Send + 'static,
    ) -> u32 {
        streams
            .subscribe(
                owner,
                select("queue_size"),
                Duration::from_millis(every_ms),
                live_store(&[("queue_size", 3.0)]),
                acknowledged,
                sink,
            )
            .unwrap()
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
        let store = live_store(&[("queue_size", 3.0), ("other", 1.0)]);
        let started = Instant::now();
        let id = streams
            .subscribe(
                "main",
                select("queue_size"),
                Duration::from_millis(250),
                store,
                true,
                move |u| sent(tx.send((Instant::now(), u)).is_ok()),
            )
            .unwrap();
        let mut times = Vec::new();
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            while let Ok((at, update)) = rx.try_recv() {
                assert_eq!(update.series.len(), 1);
                assert_eq!(&*update.series[0].name, "queue_size");
                assert!(streams.ack("main", id, update.seq));
                times.push(at.duration_since(started).as_millis());
            }
        }
        assert_eq!(times, [0, 250, 500, 750]);
        assert!(streams.unsubscribe("main", id));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(rx.try_recv().is_err(), "unsubscribe stops the flow");
        assert_eq!(streams.count(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_tick_with_nothing_new_sends_nothing() {
        let streams = Streams::default();
        let (tx, rx) = mpsc::channel();
        let store = store_with(&[("queue_size", 3.0)]);
        let id = streams
            .subscribe(
                "main",
                select("queue_size"),
                Duration::from_millis(100),
                store.clone(),
                true,
                move |u| sent(tx.send(u).is_ok()),
            )
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1_050)).await;
        let first: Vec<SeriesUpdate> = rx.try_iter().collect();
        assert_eq!(
            first.len(),
            1,
            "the first tick sends what there is, ten more nothing"
        );
        assert!(streams.ack("main", id, 1));
        store.ingest(&snapshot(2_000, &[("queue_size", 4.0)]));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let next = rx.try_recv().unwrap();
        assert_eq!(
            (next.seq, next.dropped),
            (2, 0),
            "a skipped tick is not a drop"
        );
        assert_eq!(next.series[0].value, 4.0);
        assert!(rx.try_recv().is_err());
        assert_eq!(streams.count(), 1, "a quiet stream stays open");
    }

    /// The WARN messages of `target` that `tracing` emits on this thread while it lives.
    struct Warnings(Arc<Mutex<Vec<String>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            struct Message(String);
            impl tracing::field::Visit for Message {
                fn record_debug(
                    &mut self,
                    field: &tracing::field::Field,
                    value: &dyn std::fmt::Debug,
                ) {
                    if field.name() == "message" {
                        self.0 = format!("{value:?}");
                    }
                }
            }
            if *event.metadata().level() == tracing::Level::WARN {
                let mut message = Message(String::new());
                event.record(&mut message);
                self.0.lock().push(message.0);
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_receiver_that_never_acknowledges_is_warned_about_and_its_stream_ends_counted() {
        use tracing_subscriber::layer::SubscriberExt as _;
        let warnings = Arc::new(Mutex::new(Vec::new()));
        let _guard = tracing::subscriber::set_default(
            tracing_subscriber::registry().with(Warnings(warnings.clone())),
        );
        // With a single dispatcher, tracing-core asks only the registering thread's: a
        // callsite another test's thread reaches first would be cached "never" for every
        // thread. A second (silent) dispatcher alive makes it ask all of them, this one
        // included; then every callsite is asked again.
        let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        tracing::callsite::rebuild_interest_cache();
        let streams = Streams::default();
        let received = Arc::new(AtomicU64::new(0));
        let count = received.clone();
        watch_queue_size(&streams, "main", 100, true, move |_| {
            count.fetch_add(1, Ordering::Relaxed);
            Handoff::Sent
        });
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(received.load(Ordering::Relaxed), MAX_IN_FLIGHT);
        assert_eq!(streams.count(), 1, "still waiting");
        {
            let said = warnings.lock();
            assert_eq!(said.len(), 1, "warned once: {said:?}");
            assert!(
                said[0].contains("none acknowledged") && said[0].contains("ack_series"),
                "{said:?}"
            );
        }
        tokio::time::sleep(STALL_LIMIT).await;
        assert_eq!(streams.count(), 0, "ended after the stall limit");
        assert_eq!(streams.registry.lock().stalls, 1, "counted as stalled");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_receiver_sees_the_skipped_ticks_counted() {
        let streams = Streams::default();
        let (tx, rx) = mpsc::channel();
        let id = watch_queue_size(&streams, "main", 100, true, move |u| {
            sent(tx.send(u).is_ok())
        });
        tokio::time::sleep(Duration::from_millis(1_050)).await;
        let first: Vec<SeriesUpdate> = rx.try_iter().collect();
        assert_eq!(first.len() as u64, MAX_IN_FLIGHT);
        assert!(streams.ack("main", id, first.last().unwrap().seq));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let next = rx.try_recv().unwrap();
        assert_eq!(next.seq, MAX_IN_FLIGHT + 1);
        assert_eq!(next.dropped, 7, "ticks 4..=10 were skipped");
        streams.remove_owner("main");
        assert_eq!(streams.count(), 0);
    }

    #[tokio::test]
    async fn a_gone_receiver_ends_the_stream() {
        let streams = Streams::default();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let done_tx = Mutex::new(Some(done_tx));
        watch_queue_size(&streams, "main", 50, true, move |_| {
            done_tx.lock().take().map(|tx| tx.send(()));
            Handoff::Gone
        });
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
