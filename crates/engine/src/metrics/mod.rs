//! Metrics: the spec's name-keyed API and instrument handles, on opentelemetry_sdk.
//!
//! Names are checked (Prometheus-compatible), values are checked (no NaN or infinity,
//! no negative histogram values), attributes per measurement and distinct metrics are
//! capped, and each metric keeps at most `max_series_per_metric` attribute sets (the
//! SDK folds the rest into one `otel.metric.overflow="true"` series). Every histogram
//! also feeds a quantile sketch ([`RELATIVE_ERROR`]) unless `summary_quantiles` is empty.

mod catalog;
mod error;
mod instruments;
mod local;
pub(crate) mod name;
mod observed;
pub(crate) mod sketch;
mod snapshot;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::{Key, KeyValue, Value};
use parking_lot::RwLock;
use rustc_hash::FxHashMap;
use serde::Serialize;

pub(crate) use catalog::is_engine_metric;
pub use error::MetricsError;
pub use instruments::{BoundCounter, BoundGauge, BoundHistogram, Counter, Gauge, Histogram};
pub use observed::Observer;
pub use sketch::RELATIVE_ERROR;
pub use snapshot::{MetricSnapshot, SeriesSnapshot, SeriesValue, Snapshot, SnapshotKind};

use crate::config::MetricsConfig;
use local::Local;
use sketch::Sketch;

/// The kind of an instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// Monotonic sum.
    Counter,
    /// Last value.
    Gauge,
    /// Distribution with buckets and quantiles.
    Histogram,
}

impl MetricKind {
    /// `counter`, `gauge` or `histogram`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

#[derive(Clone)]
enum Instrument {
    Counter(Counter),
    Gauge(Gauge),
    Histogram(Histogram),
    /// A gauge read through a callback ([`Metrics::observed_gauge`]).
    Observed,
}

impl Instrument {
    fn kind(&self) -> MetricKind {
        match self {
            Self::Counter(_) => MetricKind::Counter,
            Self::Gauge(_) | Self::Observed => MetricKind::Gauge,
            Self::Histogram(_) => MetricKind::Histogram,
        }
    }

    /// What it is, for errors.
    fn label(&self) -> &'static str {
        match self {
            Self::Observed => "observed gauge",
            other => other.kind().as_str(),
        }
    }
}

/// The metrics API. Cheap to clone; every clone records into the same instruments.
///
/// # Examples
/// ```
/// # use telemetry_engine::metrics::Metrics;
/// # tokio_test_block_on(async {
/// let metrics = Metrics::detached();
/// metrics.increment_counter("videos_processed_total", 1).await?;
/// metrics.set_gauge("encoding_speed_fps", 58.5).await?;
/// metrics.record_histogram("video_processing_duration_ms", 1250.0).await?;
/// metrics
///     .increment_counter_with_attributes("api_requests_total", 1,
///         [("method", "POST"), ("endpoint", "/render")])
///     .await?;
/// # Ok::<(), telemetry_engine::metrics::MetricsError>(()) });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f) }
/// ```
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    /// Distinguishes instances in the per-thread lookup caches.
    id: u64,
    meter: Meter,
    instruments: RwLock<FxHashMap<Arc<str>, Instrument>>,
    /// The by-name lookup every thread shares (see `metrics/local.rs`).
    by_address: local::Shared,
    /// What the app said about its metrics, by [`described_key`].
    descriptions: RwLock<HashMap<String, Described>>,
    sketches: RwLock<Vec<(Arc<str>, Arc<Sketch>)>>,
    buckets: Vec<f64>,
    /// The quantiles reported of each histogram; none means no sketch is kept.
    quantiles: Vec<f64>,
    /// Quantiles are of the values recorded in the last one to two windows.
    window: Duration,
    max_metrics: usize,
    max_attributes: usize,
}

impl Metrics {
    pub(crate) fn new(meter: Meter, config: &MetricsConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                meter,
                instruments: RwLock::new(FxHashMap::default()),
                by_address: local::Shared::default(),
                descriptions: RwLock::new(
                    config
                        .catalogue
                        .iter()
                        .map(|d| {
                            let described = Described {
                                help: Some(d.help.clone()),
                                unit: d.unit.clone(),
                            };
                            (described_key(&d.name).to_owned(), described)
                        })
                        .collect(),
                ),
                sketches: RwLock::new(Vec::new()),
                buckets: config.aggregation.histogram_buckets.clone(),
                quantiles: config.aggregation.summary_quantiles.clone(),
                window: quantile_window(config),
                max_metrics: config.max_metrics,
                max_attributes: config.max_attributes_per_measurement,
            }),
        }
    }

    /// A `Metrics` on a meter provider of its own with no reader: everything is checked
    /// and nothing is kept. For examples and for code that runs without telemetry.
    pub fn detached() -> Self {
        let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder().build();
        Self::new(provider.meter("detached"), &MetricsConfig::default())
    }

    /// Sets the description (`# HELP`) a metric gets when it is created; call it before
    /// the metric's first use. The engine's own metrics have descriptions already; the
    /// app's can also be given in the configuration (`metrics.catalogue`, with a unit).
    ///
    /// # Examples
    /// ```
    /// # use telemetry_engine::metrics::Metrics;
    /// let metrics = Metrics::detached();
    /// metrics.describe("thumbnails_rendered_total", "Thumbnails rendered for the timeline");
    /// metrics.counter("thumbnails_rendered_total")?.add(1, &[])?;
    /// # Ok::<(), telemetry_engine::metrics::MetricsError>(())
    /// ```
    pub fn describe(&self, name: &str, description: &str) {
        self.inner
            .descriptions
            .write()
            .entry(described_key(name).to_owned())
            .or_default()
            .help = Some(description.to_owned());
    }

    /// The description of `name`: the app's ([`Metrics::describe`], `metrics.catalogue`),
    /// else the engine's own for its metrics.
    pub fn description(&self, name: &str) -> Option<String> {
        self.described(name, |d| d.help.clone())
            .or_else(|| catalog::description(name).map(str::to_owned))
    }

    /// The unit of `name`: the one `metrics.catalogue` gives, else the name's suffix
    /// (`_ms`, `_seconds`, `_bytes`, `_percent`, `_ratio`, before any `_total`).
    ///
    /// # Examples
    /// ```
    /// # use telemetry_engine::metrics::Metrics;
    /// let metrics = Metrics::detached();
    /// assert_eq!(metrics.unit("upload_bytes_total").as_deref(), Some("bytes"));
    /// assert_eq!(metrics.unit("frames_total"), None);
    /// ```
    pub fn unit(&self, name: &str) -> Option<String> {
        self.described(name, |d| d.unit.clone())
            .or_else(|| name::unit(name).map(str::to_owned))
    }

    /// One thing the app said about `name`, if it said it.
    fn described<T>(&self, name: &str, what: impl FnOnce(&Described) -> Option<T>) -> Option<T> {
        let descriptions = self.inner.descriptions.read();
        descriptions.get(described_key(name)).and_then(what)
    }

    fn get_or_create(
        &self,
        name: &str,
        kind: MetricKind,
        create: impl FnOnce(&Inner, Arc<str>, &str, About) -> Instrument,
    ) -> Result<Instrument, MetricsError> {
        if let Some(found) = self.inner.instruments.read().get(name) {
            return check_kind(name, found, kind);
        }
        let sdk_name = name::instrument_name(name, kind == MetricKind::Counter)?.to_owned();
        let mut map = self.inner.instruments.write();
        if let Some(found) = map.get(name) {
            return check_kind(name, found, kind);
        }
        if map.len() >= self.inner.max_metrics {
            return Err(MetricsError::TooManyMetrics {
                name: name.to_owned(),
                max: self.inner.max_metrics,
            });
        }
        let key: Arc<str> = Arc::from(name);
        let about = About {
            help: self
                .description(name)
                .unwrap_or_else(|| format!("Application {} {name}", kind.as_str())),
            unit: self.unit(name).unwrap_or_default(),
        };
        let instrument = create(&self.inner, key.clone(), &sdk_name, about);
        map.insert(key, instrument.clone());
        Ok(instrument)
    }

    /// The counter called `name`, created on first use. A trailing `_total` is the
    /// Prometheus convention: `api_requests_total` is exported under that very name.
    ///
    /// # Errors
    /// [`MetricsError::InvalidName`], [`MetricsError::KindConflict`] or
    /// [`MetricsError::TooManyMetrics`].
    pub fn counter(&self, name: &str) -> Result<Counter, MetricsError> {
        match self.get_or_create(name, MetricKind::Counter, |inner, key, sdk, about| {
            let c = inner
                .meter
                .u64_counter(sdk.to_owned())
                .with_description(about.help)
                .with_unit(about.unit)
                .build();
            Instrument::Counter(Counter::new(key, c, inner.max_attributes))
        })? {
            Instrument::Counter(c) => Ok(c),
            other => Err(conflict(name, &other, MetricKind::Counter)),
        }
    }

    /// The gauge called `name`, created on first use.
    ///
    /// # Errors
    /// As [`Metrics::counter`].
    pub fn gauge(&self, name: &str) -> Result<Gauge, MetricsError> {
        match self.get_or_create(name, MetricKind::Gauge, |inner, key, sdk, about| {
            let g = inner
                .meter
                .f64_gauge(sdk.to_owned())
                .with_description(about.help)
                .with_unit(about.unit)
                .build();
            Instrument::Gauge(Gauge::new(key, g, inner.max_attributes))
        })? {
            Instrument::Gauge(g) => Ok(g),
            other => Err(conflict(name, &other, MetricKind::Gauge)),
        }
    }

    /// The histogram called `name`, with the configured buckets, created on first use.
    ///
    /// # Errors
    /// As [`Metrics::counter`].
    pub fn histogram(&self, name: &str) -> Result<Histogram, MetricsError> {
        match self.get_or_create(name, MetricKind::Histogram, |inner, key, sdk, about| {
            let h = inner
                .meter
                .f64_histogram(sdk.to_owned())
                .with_description(about.help)
                .with_unit(about.unit)
                .with_boundaries(inner.buckets.clone())
                .build();
            let sketch = (!inner.quantiles.is_empty()).then(|| {
                let sketch = Arc::new(Sketch::new());
                inner.sketches.write().push((key.clone(), sketch.clone()));
                sketch
            });
            Instrument::Histogram(Histogram::new(key, h, sketch, inner.max_attributes))
        })? {
            Instrument::Histogram(h) => Ok(h),
            other => Err(conflict(name, &other, MetricKind::Histogram)),
        }
    }

    /// Adds `value` to counter `name` with `attributes` (sync form of the spec's calls).
    /// The by-name path: a name passed as the same string (a literal, usually) is found
    /// in a table every thread shares, without a lock or an atomic read-modify-write;
    /// others in this thread's own table (see `metrics/local.rs`).
    ///
    /// # Errors
    /// As [`Metrics::counter`] and [`Counter::add`].
    #[inline]
    pub fn add(&self, name: &str, value: u64, attributes: &[KeyValue]) -> Result<(), MetricsError> {
        match self.unlabelled(name, attributes, |l| match l {
            Local::Counter(_, unlabelled) => unlabelled.get(),
            _ => None,
        }) {
            Some(bound) => {
                bound.add(value);
                Ok(())
            }
            None => self.add_by_lookup(name, value, attributes),
        }
    }

    #[inline(never)]
    fn add_by_lookup(
        &self,
        name: &str,
        value: u64,
        attributes: &[KeyValue],
    ) -> Result<(), MetricsError> {
        instruments::check_attributes(name, attributes, self.inner.max_attributes)?;
        let done = self.lookup(name, |l, reused| l.add(value, attributes, reused));
        if done == Some(true) {
            return Ok(());
        }
        self.counter(name)?.add(value, attributes)
    }

    /// Sets gauge `name` to `value`.
    ///
    /// # Errors
    /// As [`Metrics::gauge`] and [`Gauge::set`].
    #[inline]
    pub fn set(&self, name: &str, value: f64, attributes: &[KeyValue]) -> Result<(), MetricsError> {
        instruments::check_finite(name, value)?;
        match self.unlabelled(name, attributes, |l| match l {
            Local::Gauge(_, unlabelled) => unlabelled.get(),
            _ => None,
        }) {
            Some(bound) => {
                bound.set_checked(value);
                Ok(())
            }
            None => self.set_by_lookup(name, value, attributes),
        }
    }

    #[inline(never)]
    fn set_by_lookup(
        &self,
        name: &str,
        value: f64,
        attributes: &[KeyValue],
    ) -> Result<(), MetricsError> {
        instruments::check_attributes(name, attributes, self.inner.max_attributes)?;
        let done = self.lookup(name, |l, reused| l.set(value, attributes, reused));
        if done == Some(true) {
            return Ok(());
        }
        self.gauge(name)?.set(value, attributes)
    }

    /// Records `value` in histogram `name`.
    ///
    /// # Errors
    /// As [`Metrics::histogram`] and [`Histogram::record`].
    #[inline]
    pub fn record(
        &self,
        name: &str,
        value: f64,
        attributes: &[KeyValue],
    ) -> Result<(), MetricsError> {
        instruments::check_histogram_value(name, value)?;
        match self.unlabelled(name, attributes, |l| match l {
            Local::Histogram(_, unlabelled) => unlabelled.get(),
            _ => None,
        }) {
            Some(bound) => {
                bound.record_checked(value);
                Ok(())
            }
            None => self.record_by_lookup(name, value, attributes),
        }
    }

    #[inline(never)]
    fn record_by_lookup(
        &self,
        name: &str,
        value: f64,
        attributes: &[KeyValue],
    ) -> Result<(), MetricsError> {
        instruments::check_attributes(name, attributes, self.inner.max_attributes)?;
        let done = self.lookup(name, |l, reused| l.record(value, attributes, reused));
        if done == Some(true) {
            return Ok(());
        }
        self.histogram(name)?.record(value, attributes)
    }

    /// The fast path of the by-name calls: with no attributes, the handle for the empty
    /// set of the instrument the shared table holds for this very string `name`, as
    /// `pick` takes it from the entry (`None` until the entry has made it).
    #[inline]
    fn unlabelled<'a, B>(
        &'a self,
        name: &str,
        attributes: &[KeyValue],
        pick: impl FnOnce(&'a Local) -> Option<&'a B>,
    ) -> Option<&'a B> {
        if !attributes.is_empty() {
            return None;
        }
        pick(local::shared_hit(&self.inner.by_address, name)?)
    }

    /// Runs `f` on this instance's instrument `name` through the lookup tables.
    #[inline]
    fn lookup<R>(&self, name: &str, f: impl FnOnce(&Local, bool) -> R) -> Option<R> {
        local::with(
            self.inner.id,
            name,
            &self.inner.instruments,
            &self.inner.by_address,
            f,
        )
    }

    /// Spec API: adds `value` to counter `name`.
    ///
    /// # Errors
    /// As [`Metrics::add`].
    pub async fn increment_counter(&self, name: &str, value: u64) -> Result<(), MetricsError> {
        self.add(name, value, &[])
    }

    /// Spec API: adds `value` to counter `name` with attributes given as pairs.
    ///
    /// # Errors
    /// As [`Metrics::add`].
    pub async fn increment_counter_with_attributes<K, V>(
        &self,
        name: &str,
        value: u64,
        attributes: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), MetricsError>
    where
        K: Into<Key>,
        V: Into<Value>,
    {
        let attributes: Vec<KeyValue> = attributes
            .into_iter()
            .map(|(k, v)| KeyValue::new(k, v))
            .collect();
        self.add(name, value, &attributes)
    }

    /// Spec API: sets gauge `name`.
    ///
    /// # Errors
    /// As [`Metrics::set`].
    pub async fn set_gauge(&self, name: &str, value: f64) -> Result<(), MetricsError> {
        self.set(name, value, &[])
    }

    /// Spec API: records `value` in histogram `name`.
    ///
    /// # Errors
    /// As [`Metrics::record`].
    pub async fn record_histogram(&self, name: &str, value: f64) -> Result<(), MetricsError> {
        self.record(name, value, &[])
    }

    /// Every metric created so far, by name, with its kind.
    pub fn catalogue(&self) -> Vec<(String, MetricKind)> {
        let mut list: Vec<_> = self
            .inner
            .instruments
            .read()
            .iter()
            .map(|(k, v)| (k.to_string(), v.kind()))
            .collect();
        list.sort();
        list
    }

    /// The configured quantiles of `histogram` over the last one to two windows (the
    /// collection interval, at least 10 s), as `(quantile, value)`: empty when nothing
    /// was recorded in that time, `None` when no histogram has that name.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::metrics::Metrics;
    /// let metrics = Metrics::detached();
    /// let latency = metrics.histogram("lookup_ms")?;
    /// for v in 1..=100 {
    ///     latency.record(f64::from(v), &[])?;
    /// }
    /// let quantiles = metrics.quantiles("lookup_ms").unwrap_or_default();
    /// assert_eq!(quantiles[0].0, 0.5);
    /// let p50 = quantiles[0].1;
    /// assert!((49.0..=52.0).contains(&p50), "{p50}");
    /// assert!(metrics.quantiles("unknown_ms").is_none());
    /// # Ok::<(), telemetry_engine::metrics::MetricsError>(())
    /// ```
    pub fn quantiles(&self, histogram: &str) -> Option<Vec<(f64, f64)>> {
        let inner = &self.inner;
        let kind = inner
            .instruments
            .read()
            .get(histogram)
            .map(Instrument::kind);
        if kind != Some(MetricKind::Histogram) {
            return None;
        }
        let values = inner
            .sketches
            .read()
            .iter()
            .find(|(name, _)| &**name == histogram)
            .and_then(|(_, sketch)| sketch.windowed_quantiles(&inner.quantiles, inner.window))
            .unwrap_or_default();
        Some(inner.quantiles.iter().copied().zip(values).collect())
    }

    /// One gauge per configured quantile of each histogram with values in the last one
    /// to two windows (`<histogram>_p50`, …), read from the sketches.
    pub(crate) fn quantile_snapshots(&self) -> Vec<MetricSnapshot> {
        let inner = &self.inner;
        let window = inner.window.as_secs();
        let mut out = Vec::new();
        for (histogram, sketch) in inner.sketches.read().iter() {
            let Some(values) = sketch.windowed_quantiles(&inner.quantiles, inner.window) else {
                continue;
            };
            for (q, value) in inner.quantiles.iter().zip(values) {
                out.push(MetricSnapshot {
                    name: name::quantile(histogram, *q),
                    kind: SnapshotKind::Quantile,
                    help: format!(
                        "{q} quantile of {histogram} over the last {window}s to {}s, within 1% relative error",
                        2 * window
                    ),
                    series: vec![SeriesSnapshot {
                        labels: BTreeMap::new(),
                        value: SeriesValue::Number { value },
                    }],
                });
            }
        }
        out
    }
}

/// What the app said about one metric.
#[derive(Default)]
struct Described {
    help: Option<String>,
    unit: Option<String>,
}

/// What an instrument is created with.
struct About {
    help: String,
    unit: String,
}

/// A counter may be described with or without its `_total`: both find the same entry.
fn described_key(name: &str) -> &str {
    name.strip_suffix("_total").unwrap_or(name)
}

/// The window of the sketch quantiles: the collection interval, at least 10 s.
fn quantile_window(config: &MetricsConfig) -> Duration {
    config.collection_interval.max(Duration::from_secs(10))
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn check_kind(
    name: &str,
    found: &Instrument,
    want: MetricKind,
) -> Result<Instrument, MetricsError> {
    if found.kind() == want {
        Ok(found.clone())
    } else {
        Err(conflict(name, found, want))
    }
}

fn conflict(name: &str, found: &Instrument, want: MetricKind) -> MetricsError {
    MetricsError::KindConflict {
        name: name.to_owned(),
        existing: found.label(),
        requested: want.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_keeps_its_kind() {
        let m = Metrics::detached();
        m.counter("jobs_total").unwrap();
        assert_eq!(
            m.gauge("jobs_total").err().unwrap().to_string(),
            "metric \"jobs_total\" is already a counter; it cannot also be a gauge"
        );
        m.histogram("render_ms").unwrap();
        assert!(matches!(
            m.counter("render_ms"),
            Err(MetricsError::KindConflict { .. })
        ));
    }

    #[test]
    fn bad_values_are_refused_with_the_metric_named() {
        let m = Metrics::detached();
        assert_eq!(
            m.set("queue_size", f64::NAN, &[]).unwrap_err().to_string(),
            "metric \"queue_size\": value NaN is not a finite number"
        );
        assert!(matches!(
            m.set("queue_size", f64::INFINITY, &[]),
            Err(MetricsError::NonFinite { .. })
        ));
        assert_eq!(
            m.record("latency_ms", -3.0, &[]).unwrap_err().to_string(),
            "metric \"latency_ms\": histogram value -3 is negative; histograms take values >= 0"
        );
        let h = m.histogram("latency_ms").unwrap().bind(&[]).unwrap();
        assert!(h.record(f64::NEG_INFINITY).is_err());
        let g = m.gauge("temp").unwrap().bind(&[]).unwrap();
        assert!(g.set(f64::NAN).is_err());
    }

    #[test]
    fn histograms_take_every_finite_value_from_zero_of_either_sign() {
        let m = Metrics::detached();
        let h = m.histogram("size_bytes").unwrap().bind(&[]).unwrap();
        for ok in [0.0, -0.0, f64::MIN_POSITIVE / 2.0, 1e-300, 16.7, f64::MAX] {
            assert!(m.record("size_bytes", ok, &[]).is_ok(), "{ok}");
            assert!(h.record(ok).is_ok(), "{ok}");
        }
        for (bad, negative) in [
            (-f64::MIN_POSITIVE / 2.0, true),
            (-1e-300, true),
            (f64::MIN, true),
            (f64::NEG_INFINITY, false),
            (f64::INFINITY, false),
            (f64::NAN, false),
            (-f64::NAN, false),
        ] {
            let err = m.record("size_bytes", bad, &[]).unwrap_err();
            assert_eq!(
                matches!(err, MetricsError::Negative { .. }),
                negative,
                "{bad}: {err}"
            );
            assert!(h.record(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn attribute_limits() {
        let m = Metrics::detached();
        let many: Vec<KeyValue> = (0..17)
            .map(|i| KeyValue::new(format!("k{i}"), i as i64))
            .collect();
        assert_eq!(
            m.add("x_total", 1, &many).unwrap_err().to_string(),
            "metric \"x_total\": 17 attributes given, at most 16 allowed (metrics.max_attributes_per_measurement)"
        );
        assert!(m.add("x_total", 1, &many[..16]).is_ok());
        assert!(matches!(
            m.add("x_total", 1, &[KeyValue::new("", "v")]),
            Err(MetricsError::InvalidAttributeKey { .. })
        ));
        for key in [
            "le",
            "quantile",
            "__name__",
            "0abc",
            "a:b",
            "otel_scope_name",
        ] {
            let err = m.add("x_total", 1, &[KeyValue::new(key, "v")]).unwrap_err();
            assert!(
                err.to_string().starts_with(&format!(
                    "metric \"x_total\": attribute key {key:?} is invalid: "
                )),
                "{err}"
            );
        }
        assert!(m
            .add("x_total", 1, &[KeyValue::new("http.method", "GET")])
            .is_ok());
        assert!(m.counter("x_total").unwrap().bind(&many).is_err());
    }

    #[test]
    fn the_number_of_metrics_is_capped() {
        let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder().build();
        let config = MetricsConfig {
            max_metrics: 3,
            ..Default::default()
        };
        let m = Metrics::new(provider.meter("t"), &config);
        for name in ["a", "b", "c"] {
            m.gauge(name).unwrap();
        }
        assert_eq!(
            m.gauge("d").err().unwrap(),
            MetricsError::TooManyMetrics {
                name: "d".into(),
                max: 3
            }
        );
        // Existing ones still work.
        m.set("a", 1.0, &[]).unwrap();
        assert_eq!(m.catalogue().len(), 3);
    }
}
