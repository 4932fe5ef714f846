//! The in-app series store: every metric's recent points, for live panels and alert rules.
//!
//! Each collection produces a [`Snapshot`]; the store flattens it into series keyed by
//! name and labels (counters and gauges under their exposition name, histograms as
//! `<name>_count` and `<name>_sum`, sketch quantiles as `<name>_p50`, `<name>_p99`, …)
//! and keeps, per series, a ring of at most `max_points_per_series` points spanning
//! `retention_period`. When the retention holds more collection intervals than that,
//! points are thinned to one per `retention_period / max_points_per_series` slot (the
//! newest in the slot wins). The newest points are also kept at the collection interval
//! for the last [`RECENT_WINDOW`] (at most `max_points_per_series` of them), so that
//! rules such as `rate(errors_total[5m])` and live charts see every collection even when
//! the retention is thinned (the production profile keeps one point per 2 minutes, the
//! high-load one per 14). A point is 16 bytes, so a full series costs at most
//! `2 × 16 × max_points_per_series` bytes plus its key (about 23 KiB at the default 720
//! points; without thinning, half that); at most `max_store_series` series are kept.
//!
//! When the store is full, a new series makes room by evicting the series that has gone
//! longest without a new value ([`SeriesStore::evicted_series`]); a series that changed
//! in the same collection is never evicted for it, so the new series is refused instead
//! ([`SeriesStore::dropped_series`]). Series whose names an alert rule reads
//! ([`SeriesStore::protect`]) are never evicted, and evict any other series to get in:
//! a flood of other series cannot keep a rule's input out.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use serde::Serialize;

use crate::config::MetricsConfig;
use crate::metrics::{name, SeriesValue, Snapshot};

/// A stored series and its points, as returned by [`SeriesStore::query`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct SeriesData {
    /// Series name (`api_requests_total`, `frame_processing_duration_ms_count`).
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// `(unix ms, value)`, oldest first.
    #[cfg_attr(feature = "bindings", ts(type = "Array<[number, number]>"))]
    pub points: Vec<(i64, f64)>,
}

/// The newest point of one series ([`SeriesStore::latest_all`]), as the snapshot and the
/// series streams hand it to the webview (without its timestamp: each answer carries
/// the newest one). Name and labels are shared with the store (a reference count, not
/// a copy), so a stream tick copies no strings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct LatestValue {
    /// Series name as exported (`api_requests_total`).
    #[cfg_attr(feature = "bindings", ts(type = "string"))]
    pub name: Arc<str>,
    /// Labels.
    pub labels: Arc<BTreeMap<String, String>>,
    /// Unix ms of the point.
    #[serde(skip)]
    #[cfg_attr(feature = "bindings", ts(skip))]
    pub timestamp_ms: i64,
    /// Value.
    pub value: f64,
}

impl LatestValue {
    fn of(name: &Arc<str>, labels: &Labels, points: &Points) -> Option<Self> {
        let (timestamp_ms, value) = *points.newest()?;
        Some(Self {
            name: name.clone(),
            labels: labels.clone(),
            timestamp_ms,
            value,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SeriesKey {
    name: Arc<str>,
    labels: Labels,
}

/// How far back the newest points are kept at the collection interval when the retention
/// is thinned: the ranges alert rules use (`[5m]`, `[10m]`) with room to spare.
pub const RECENT_WINDOW: Duration = Duration::from_secs(15 * 60);

/// One series' points, oldest first: `thinned` spans the retention at one point per
/// slot; `recent`, when the slot is longer than the collection interval, holds the
/// newest points at the collection interval.
#[derive(Default)]
struct Points {
    thinned: VecDeque<(i64, f64)>,
    recent: VecDeque<(i64, f64)>,
    /// When the value last changed (or the series arrived), Unix ms.
    changed_ms: i64,
}

impl Points {
    /// Every point, oldest first: the thinned ones older than the recent ones, then those.
    fn iter(&self) -> impl Iterator<Item = &(i64, f64)> {
        let recent_from = self.recent.front().map_or(i64::MAX, |(t, _)| *t);
        self.thinned
            .iter()
            .take_while(move |(t, _)| *t < recent_from)
            .chain(&self.recent)
    }

    fn newest(&self) -> Option<&(i64, f64)> {
        self.recent.back().or(self.thinned.back())
    }
}

/// Appends `(ts, value)` to `ring`, replacing its newest point when that is in the same
/// `slot_ms` slot (the newest in a slot wins), dropping the oldest beyond `max` points. A
/// point older than the newest one is ignored: the ring stays in time order (the engine's
/// clock never goes back, but snapshots can come from elsewhere).
fn push_slotted(ring: &mut VecDeque<(i64, f64)>, ts: i64, value: f64, slot_ms: i64, max: usize) {
    match ring.back_mut() {
        Some(last) if ts < last.0 => {}
        Some(last) if last.0.div_euclid(slot_ms) == ts.div_euclid(slot_ms) => *last = (ts, value),
        _ => {
            if ring.len() >= max {
                ring.pop_front();
            }
            ring.push_back((ts, value));
        }
    }
}

/// Drops the points of `ring` at or before `oldest`.
fn forget_before(ring: &mut VecDeque<(i64, f64)>, oldest: i64) {
    while ring.front().is_some_and(|(t, _)| *t <= oldest) {
        ring.pop_front();
    }
}

/// Bounded, time-limited storage of every series' recent points.
///
/// # Examples
/// ```
/// use telemetry_engine::config::MetricsConfig;
/// use telemetry_engine::store::SeriesStore;
/// use telemetry_engine::metrics::{MetricSnapshot, SeriesValue, SeriesSnapshot, Snapshot, SnapshotKind};
/// let store = SeriesStore::new(&MetricsConfig::default());
/// store.ingest(&Snapshot { timestamp_ms: 1_000, metrics: vec![MetricSnapshot {
///     name: "queue_size".into(), kind: SnapshotKind::Gauge, help: String::new(),
///     series: vec![SeriesSnapshot { labels: Default::default(), value: SeriesValue::Number { value: 3.0 } }],
/// }]});
/// assert_eq!(store.query("queue_size", &[], None)[0].points, vec![(1_000, 3.0)]);
/// ```
pub struct SeriesStore {
    series: RwLock<Held>,
    retention_ms: i64,
    slot_ms: i64,
    /// The collection interval, when points are thinned (`slot_ms` is longer); the
    /// recent tier is off otherwise.
    recent_slot_ms: Option<i64>,
    /// How long the recent tier reaches back.
    recent_ms: i64,
    max_points: usize,
    max_series: usize,
    dropped: AtomicU64,
    evicted: AtomicU64,
    /// Snapshots ingested so far: what changed since a reader's last look.
    ingested: AtomicU64,
    /// Names never evicted (those alert rules read).
    protected: RwLock<Arc<BTreeSet<String>>>,
}

/// The labels of one series.
type Labels = Arc<BTreeMap<String, String>>;

/// The series by name, then by labels: a stream's selector or a rule's selector looks up
/// its name once and walks that name's series, hashing none of them.
#[derive(Default)]
struct Held {
    by_name: HashMap<Arc<str>, HashMap<Labels, Points>>,
    /// Series held, over every name.
    len: usize,
}

impl Held {
    fn len(&self) -> usize {
        self.len
    }

    fn get(&self, key: &SeriesKey) -> Option<&Points> {
        self.by_name.get(&key.name)?.get(&key.labels)
    }

    fn get_mut(&mut self, key: &SeriesKey) -> Option<&mut Points> {
        self.by_name.get_mut(&key.name)?.get_mut(&key.labels)
    }

    fn insert(&mut self, key: SeriesKey, points: Points) {
        let series = self.by_name.entry(key.name).or_default();
        if series.insert(key.labels, points).is_none() {
            self.len += 1;
        }
    }

    fn remove(&mut self, key: &SeriesKey) {
        let Some(series) = self.by_name.get_mut(&key.name) else {
            return;
        };
        if series.remove(&key.labels).is_some() {
            self.len -= 1;
        }
        if series.is_empty() {
            self.by_name.remove(&key.name);
        }
    }

    /// Keeps the series for which `keep` is true (it may change their points).
    fn retain(&mut self, mut keep: impl FnMut(&mut Points) -> bool) {
        let mut len = 0;
        self.by_name.retain(|_, series| {
            series.retain(|_, points| keep(points));
            len += series.len();
            !series.is_empty()
        });
        self.len = len;
    }

    /// Every series: its name, labels and points.
    fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Labels, &Points)> {
        self.by_name.iter().flat_map(|(name, series)| {
            series
                .iter()
                .map(move |(labels, points)| (name, labels, points))
        })
    }

    /// The series called `name`.
    fn named<'a>(&'a self, name: &str) -> impl Iterator<Item = (&'a Labels, &'a Points)> {
        self.by_name.get(name).into_iter().flatten()
    }
}

/// Whether `labels` include every `(key, value)` of `matchers`.
fn matches(labels: &BTreeMap<String, String>, matchers: &[(&str, &str)]) -> bool {
    matchers
        .iter()
        .all(|(key, value)| labels.get(*key).is_some_and(|v| v == value))
}

/// The series that may be evicted in one ingest, least recently changed first; built
/// when the first new series finds the store full, and joined by the series that
/// arrive after that.
#[derive(Default)]
struct Room {
    candidates: Option<VecDeque<(i64, SeriesKey)>>,
    /// Every candidate changed in this ingest: no unprotected series gets in any more.
    exhausted: bool,
}

impl SeriesStore {
    /// An empty store sized by `config` (retention, interval, points and series limits).
    pub fn new(config: &MetricsConfig) -> Self {
        let retention_ms = duration_ms(config.retention_period).max(1);
        let max_points = config.max_points_per_series.max(2);
        let thinned = retention_ms / max_points as i64;
        let interval_ms = duration_ms(config.collection_interval).max(1);
        let slot_ms = interval_ms.max(thinned);
        Self {
            series: RwLock::default(),
            retention_ms,
            slot_ms,
            recent_slot_ms: (slot_ms > interval_ms).then_some(interval_ms),
            recent_ms: duration_ms(RECENT_WINDOW).min(retention_ms),
            max_points,
            max_series: config.max_store_series,
            dropped: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            ingested: AtomicU64::new(0),
            protected: RwLock::default(),
        }
    }

    /// Keeps the series called any of `names` when the store is full (see the module
    /// docs); replaces the names given before. Cheap when `names` is the same `Arc`.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use telemetry_engine::config::MetricsConfig;
    /// use telemetry_engine::store::SeriesStore;
    /// let store = SeriesStore::new(&MetricsConfig::default());
    /// store.protect(&Arc::new(["video_processing_duration_ms_sum".to_owned()].into()));
    /// ```
    pub fn protect(&self, names: &Arc<BTreeSet<String>>) {
        if !Arc::ptr_eq(&self.protected.read(), names) {
            *self.protected.write() = names.clone();
        }
    }

    /// Adds one point per series of `snapshot` and forgets points older than the retention.
    pub fn ingest(&self, snapshot: &Snapshot) {
        let ts = snapshot.timestamp_ms;
        let protected = self.protected.read().clone();
        let mut room = Room::default();
        let mut map = self.series.write();
        let mut push = |map: &mut Held, name: &str, labels, value| {
            self.push(map, &mut room, &protected, name, labels, ts, value);
        };
        for metric in &snapshot.metrics {
            for series in &metric.series {
                match &series.value {
                    SeriesValue::Number { value } => {
                        push(&mut map, &metric.name, &series.labels, *value);
                    }
                    SeriesValue::Histogram { count, sum, .. } => {
                        let name = &metric.name;
                        let labels = &series.labels;
                        push(
                            &mut map,
                            &name::histogram_count(name),
                            labels,
                            *count as f64,
                        );
                        push(&mut map, &name::histogram_sum(name), labels, *sum);
                    }
                }
            }
        }
        let oldest = ts - self.retention_ms;
        let recent_oldest = ts - self.recent_ms;
        map.retain(|points| {
            forget_before(&mut points.thinned, oldest);
            forget_before(&mut points.recent, recent_oldest);
            !points.thinned.is_empty()
        });
        // Under the write lock: a reader that sees the new count sees the new points.
        self.ingested.fetch_add(1, Ordering::Release);
    }

    /// How many snapshots were ingested so far: a reader that saw the same number has
    /// seen every point the store holds.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::config::MetricsConfig;
    /// use telemetry_engine::metrics::Snapshot;
    /// use telemetry_engine::store::SeriesStore;
    /// let store = SeriesStore::new(&MetricsConfig::default());
    /// let seen = store.ingested();
    /// store.ingest(&Snapshot { timestamp_ms: 1_000, metrics: vec![] });
    /// assert_eq!(store.ingested(), seen + 1);
    /// ```
    pub fn ingested(&self) -> u64 {
        self.ingested.load(Ordering::Acquire)
    }

    #[allow(clippy::too_many_arguments)] // one point and where it goes; called from one place
    fn push(
        &self,
        map: &mut Held,
        room: &mut Room,
        protected: &BTreeSet<String>,
        name: &str,
        labels: &BTreeMap<String, String>,
        ts: i64,
        value: f64,
    ) {
        let key = SeriesKey {
            name: Arc::from(name),
            labels: Arc::new(labels.clone()),
        };
        if let Some(points) = map.get_mut(&key) {
            if points
                .newest()
                .is_none_or(|(_, v)| v.to_bits() != value.to_bits())
            {
                points.changed_ms = ts;
            }
        } else {
            if map.len() >= self.max_series
                && !self.make_room(map, room, protected, protected.contains(name), ts)
            {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            map.insert(
                key.clone(),
                Points {
                    changed_ms: ts,
                    ..Points::default()
                },
            );
            if let (Some(candidates), false) = (&mut room.candidates, protected.contains(name)) {
                candidates.push_back((ts, key.clone()));
            }
        }
        let Some(points) = map.get_mut(&key) else {
            return;
        };
        push_slotted(
            &mut points.thinned,
            ts,
            value,
            self.slot_ms,
            self.max_points,
        );
        if let Some(recent_slot_ms) = self.recent_slot_ms {
            push_slotted(
                &mut points.recent,
                ts,
                value,
                recent_slot_ms,
                self.max_points,
            );
        }
    }

    /// Evicts the least recently changed unprotected series, unless (for a new series that
    /// is not protected itself) it changed at `ts`. Returns whether a place was freed.
    fn make_room(
        &self,
        map: &mut Held,
        room: &mut Room,
        protected: &BTreeSet<String>,
        for_protected: bool,
        ts: i64,
    ) -> bool {
        if room.exhausted && !for_protected {
            return false;
        }
        let candidates = room.candidates.get_or_insert_with(|| {
            let mut all: Vec<(i64, SeriesKey)> = map
                .iter()
                .filter(|(name, _, _)| !protected.contains(&***name))
                .map(|(name, labels, p)| {
                    let key = SeriesKey {
                        name: name.clone(),
                        labels: labels.clone(),
                    };
                    (p.changed_ms, key)
                })
                .collect();
            all.sort_unstable_by_key(|(changed, _)| *changed);
            all.into()
        });
        // A candidate that changed in this ingest goes to the back, among the newest;
        // once every candidate has, none may be evicted for an unprotected series.
        let mut unchanged_left = candidates.len();
        while let Some((_, key)) = candidates.pop_front() {
            let Some(points) = map.get(&key) else {
                continue;
            };
            if points.changed_ms >= ts && !for_protected {
                candidates.push_back((points.changed_ms, key));
                unchanged_left = unchanged_left.saturating_sub(1);
                if unchanged_left == 0 {
                    room.exhausted = true;
                    return false;
                }
                continue;
            }
            map.remove(&key);
            self.evicted.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Series called `name` whose labels include every `(key, value)` of `matchers`, with
    /// their points at or after `since_ms` (all when `None`).
    pub fn query(
        &self,
        name: &str,
        matchers: &[(&str, &str)],
        since_ms: Option<i64>,
    ) -> Vec<SeriesData> {
        let map = self.series.read();
        let mut out: Vec<SeriesData> = map
            .named(name)
            .filter(|(labels, _)| matches(labels, matchers))
            .map(|(labels, points)| SeriesData {
                name: name.to_owned(),
                labels: (**labels).clone(),
                points: points
                    .iter()
                    .filter(|(t, _)| since_ms.is_none_or(|s| *t >= s))
                    .copied()
                    .collect(),
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// The newest point of each series called `name` whose labels include every
    /// `(key, value)` of `matchers`, in no particular order; cheaper than
    /// [`SeriesStore::query`], as neither history nor sorting is involved (the live streams
    /// call it every tick).
    pub fn latest_matching(&self, name: &str, matchers: &[(&str, &str)]) -> Vec<LatestValue> {
        let map = self.series.read();
        let Some((name, series)) = map.by_name.get_key_value(name) else {
            return Vec::new();
        };
        series
            .iter()
            .filter(|(labels, _)| matches(labels, matchers))
            .filter_map(|(labels, points)| LatestValue::of(name, labels, points))
            .collect()
    }

    /// The newest point of every series, sorted by name (series of one name in no
    /// particular order).
    pub fn latest_all(&self) -> Vec<LatestValue> {
        let map = self.series.read();
        let mut out: Vec<_> = map
            .iter()
            .filter_map(|(name, labels, points)| LatestValue::of(name, labels, points))
            .collect();
        out.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The newest value of each series called `name`.
    pub fn latest(&self, name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        self.query(name, &[], None)
            .into_iter()
            .filter_map(|s| Some((s.labels, s.points.last()?.1)))
            .collect()
    }

    /// Distinct series names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .series
            .read()
            .by_name
            .keys()
            .map(|name| name.to_string())
            .collect();
        names.sort();
        names
    }

    /// Number of series held.
    pub fn series_count(&self) -> usize {
        self.series.read().len()
    }

    /// Points of new series refused because the store was full and no series could be
    /// evicted for them.
    pub fn dropped_series(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Series evicted to make room for new ones.
    pub fn evicted_series(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// The most series the store holds (`max_store_series`).
    pub fn capacity(&self) -> usize {
        self.max_series
    }

    /// Time covered by one stored point beyond the [`RECENT_WINDOW`].
    pub fn resolution(&self) -> Duration {
        Duration::from_millis(self.slot_ms as u64)
    }

    /// Time covered by one of the newest points: the collection interval.
    pub fn recent_resolution(&self) -> Duration {
        Duration::from_millis(self.recent_slot_ms.unwrap_or(self.slot_ms) as u64)
    }
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{MetricSnapshot, SeriesSnapshot, SnapshotKind};

    fn gauge(ts: i64, name: &str, labels: &[(&str, &str)], value: f64) -> Snapshot {
        Snapshot {
            timestamp_ms: ts,
            metrics: vec![MetricSnapshot {
                name: name.into(),
                kind: SnapshotKind::Gauge,
                help: String::new(),
                series: vec![SeriesSnapshot {
                    labels: labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    value: SeriesValue::Number { value },
                }],
            }],
        }
    }

    fn config(interval_s: u64, retention_s: u64, points: usize, series: usize) -> MetricsConfig {
        MetricsConfig {
            collection_interval: Duration::from_secs(interval_s),
            retention_period: Duration::from_secs(retention_s),
            max_points_per_series: points,
            max_store_series: series,
            ..Default::default()
        }
    }

    #[test]
    fn keeps_points_for_the_retention_only() {
        let store = SeriesStore::new(&config(1, 10, 100, 10));
        for i in 0..30 {
            store.ingest(&gauge(i * 1000, "q", &[], i as f64));
        }
        let points = &store.query("q", &[], None)[0].points;
        assert_eq!(points.first(), Some(&(20_000, 20.0)));
        assert_eq!(points.last(), Some(&(29_000, 29.0)));
        assert_eq!(points.len(), 10);
    }

    #[test]
    fn thins_points_when_retention_exceeds_the_point_budget() {
        // 1s interval, 100s retention, 10 points: one point per 10s slot.
        let store = SeriesStore::new(&config(1, 100, 10, 10));
        assert_eq!(store.resolution(), Duration::from_secs(10));
        for i in 0..100 {
            store.ingest(&gauge(i * 1000, "q", &[], i as f64));
        }
        let points = &store.query("q", &[], None)[0].points;
        // The newest point of each slot wins, up to the recent tier: the last 10 points
        // (at most `max_points_per_series`), kept at the collection interval.
        assert_eq!(points.len(), 9 + 10);
        assert_eq!(points[0], (9_000, 9.0));
        assert_eq!(points[8], (89_000, 89.0));
        let recent: Vec<i64> = points[9..].iter().map(|(t, _)| *t).collect();
        assert_eq!(recent, (90..100).map(|s| s * 1000).collect::<Vec<_>>());
        assert_eq!(store.recent_resolution(), Duration::from_secs(1));
    }

    #[test]
    fn the_production_profile_keeps_every_collection_of_the_last_15_minutes() {
        // 15 s interval, 24 h retention, 720 points: 2-minute slots beyond the window.
        let store = SeriesStore::new(&config(15, 24 * 3600, 720, 10));
        assert_eq!(store.resolution(), Duration::from_secs(120));
        let (start, step) = (1_700_000_040_000_i64, 15_000);
        for i in 0..(2 * 3600 / 15) {
            store.ingest(&gauge(start + i * step, "q", &[], i as f64));
        }
        let points = &store.query("q", &[], None)[0].points;
        let last = points[points.len() - 1].0;
        assert_eq!(last, start + (2 * 3600 / 15 - 1) * step);
        // The last 15 minutes at 15 s: a `[5m]` range holds 20 points, not 2 or 3.
        let window = points.iter().filter(|(t, _)| *t > last - 15 * 60_000);
        assert_eq!(window.count(), 60);
        assert!(
            points.windows(2).all(|w| w[0].0 < w[1].0),
            "ordered, no twins"
        );
        // Older ones are thinned to 2-minute slots.
        let older: Vec<i64> = points
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| *t < last - 16 * 60_000)
            .collect();
        assert!(
            older.windows(2).all(|w| w[1] - w[0] == 120_000),
            "{older:?}"
        );
        assert!(
            older[0] - start < 120_000,
            "from the first slot on: {older:?}"
        );
    }

    #[test]
    fn a_point_from_before_the_newest_keeps_the_series_in_order() {
        let store = SeriesStore::new(&config(1, 100, 100, 10));
        store.ingest(&gauge(10_000, "q", &[], 1.0));
        store.ingest(&gauge(5_000, "q", &[], 2.0));
        store.ingest(&gauge(11_000, "q", &[], 3.0));
        assert_eq!(
            store.query("q", &[], None)[0].points,
            [(10_000, 1.0), (11_000, 3.0)]
        );
    }

    #[test]
    fn the_number_of_series_is_capped_and_counted() {
        let store = SeriesStore::new(&config(1, 10, 10, 3));
        for i in 0..5 {
            store.ingest(&gauge(1000, "q", &[("id", &i.to_string())], 1.0));
        }
        assert_eq!(store.series_count(), 3);
        assert_eq!(
            store.dropped_series(),
            2,
            "all changed at 1000: none evicted"
        );
        assert_eq!(store.evicted_series(), 0);
    }

    #[test]
    fn the_name_index_follows_evictions_and_expiry() {
        let store = SeriesStore::new(&config(1, 10, 10, 2));
        store.ingest(&gauge(1_000, "old", &[("a", "1")], 1.0));
        store.ingest(&gauge(2_000, "kept", &[("a", "1")], 1.0));
        // A third series evicts `old`, the least recently changed.
        store.ingest(&gauge(3_000, "new", &[("a", "1")], 1.0));
        assert!(store.query("old", &[], None).is_empty());
        assert_eq!(store.names(), ["kept", "new"]);
        assert_eq!(store.series_count(), 2);
        // Past the 10 s retention every series expires, and the index with them.
        store.ingest(&gauge(20_000, "new", &[("a", "2")], 1.0));
        assert_eq!(store.names(), ["new"]);
        assert_eq!(store.latest_matching("new", &[]).len(), 1);
        assert!(store.latest_matching("kept", &[]).is_empty());
        assert_eq!(store.series_count(), 1);
    }

    #[test]
    fn a_full_store_evicts_the_least_recently_changed_series() {
        let store = SeriesStore::new(&config(1, 100, 100, 3));
        for (i, ts) in [(0, 1000), (1, 2000), (2, 3000)] {
            store.ingest(&gauge(ts, "q", &[("id", &i.to_string())], 1.0));
        }
        // id 0 gets a new value; id 1 the same value: 1 is now the stalest.
        store.ingest(&gauge(4000, "q", &[("id", "0")], 2.0));
        store.ingest(&gauge(4000, "q", &[("id", "1")], 1.0));
        store.ingest(&gauge(5000, "new", &[], 1.0));
        assert_eq!(store.evicted_series(), 1);
        assert!(store.query("q", &[("id", "1")], None).is_empty());
        assert_eq!(store.query("new", &[], None).len(), 1);
        assert_eq!(store.series_count(), 3);
    }

    #[test]
    fn protected_names_are_never_evicted_and_always_get_in() {
        let store = SeriesStore::new(&config(1, 100, 100, 2));
        store.protect(&Arc::new(["rule_input".to_owned()].into()));
        store.ingest(&gauge(1000, "rule_input", &[("a", "1")], 1.0));
        store.ingest(&gauge(1000, "noise", &[("a", "1")], 1.0));
        // A flood of new series changing every collection evicts only the noise.
        for ts in 2..6 {
            let snapshot = Snapshot {
                timestamp_ms: ts * 1000,
                metrics: (0..10)
                    .flat_map(|i| {
                        gauge(ts * 1000, "noise", &[("a", &i.to_string())], ts as f64).metrics
                    })
                    .collect(),
            };
            store.ingest(&snapshot);
            assert_eq!(store.query("rule_input", &[], None).len(), 1, "at {ts}");
        }
        // A new protected series gets in although every other series changed just now.
        let mut both = gauge(6000, "noise", &[("a", "1")], 9.0);
        both.metrics
            .extend(gauge(6000, "rule_input", &[("a", "2")], 1.0).metrics);
        store.ingest(&both);
        assert_eq!(store.query("rule_input", &[], None).len(), 2);
        assert_eq!(store.series_count(), 2);
        assert!(store.dropped_series() > 0);
    }

    #[test]
    fn label_matchers_and_histogram_flattening() {
        let store = SeriesStore::new(&config(1, 10, 10, 10));
        store.ingest(&gauge(1000, "api", &[("method", "GET")], 1.0));
        store.ingest(&gauge(1000, "api", &[("method", "POST")], 2.0));
        assert_eq!(
            store.query("api", &[("method", "POST")], None)[0].points,
            vec![(1000, 2.0)]
        );
        assert_eq!(store.query("api", &[], None).len(), 2);
        store.ingest(&Snapshot {
            timestamp_ms: 2000,
            metrics: vec![MetricSnapshot {
                name: "lat_ms".into(),
                kind: SnapshotKind::Histogram,
                help: String::new(),
                series: vec![SeriesSnapshot {
                    labels: BTreeMap::new(),
                    value: SeriesValue::Histogram {
                        count: 4,
                        sum: 10.0,
                        buckets: vec![],
                    },
                }],
            }],
        });
        assert_eq!(store.latest("lat_ms_count"), vec![(BTreeMap::new(), 4.0)]);
        assert_eq!(store.latest("lat_ms_sum"), vec![(BTreeMap::new(), 10.0)]);
        assert!(store.names().contains(&"lat_ms_sum".to_string()));
    }
}
