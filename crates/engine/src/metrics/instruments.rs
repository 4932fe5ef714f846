//! Instrument handles: look a metric up once, then record on the handle.

use std::sync::Arc;

use opentelemetry::metrics as otel;
use opentelemetry::KeyValue;

use super::sketch::Sketch;
use super::MetricsError;

/// Checks the attribute count and keys of one measurement. The common key (a letter
/// first, no `:`) passes inline; anything else is looked at out of line.
#[inline]
pub(super) fn check_attributes(
    metric: &str,
    attributes: &[KeyValue],
    max: usize,
) -> Result<(), MetricsError> {
    if attributes.len() > max {
        return Err(too_many(metric, attributes.len(), max));
    }
    if attributes
        .iter()
        .all(|kv| super::name::plain_key(kv.key.as_str()))
    {
        Ok(())
    } else {
        check_keys(metric, attributes)
    }
}

#[cold]
#[inline(never)]
fn too_many(metric: &str, count: usize, max: usize) -> MetricsError {
    MetricsError::TooManyAttributes {
        metric: metric.to_owned(),
        count,
        max,
    }
}

/// Every rule for every key: the path of keys [`super::name::plain_key`] does not pass
/// at a glance (empty ones, `le`, `_x`, `operation`, …).
#[cold]
#[inline(never)]
fn check_keys(metric: &str, attributes: &[KeyValue]) -> Result<(), MetricsError> {
    for kv in attributes {
        let key = kv.key.as_str();
        let problem = if key.is_empty() {
            Some("it is empty")
        } else {
            super::name::attribute_key_problem(key)
        };
        if let Some(reason) = problem {
            return Err(MetricsError::InvalidAttributeKey {
                metric: metric.to_owned(),
                key: key.to_owned(),
                reason,
            });
        }
    }
    Ok(())
}

#[inline]
pub(super) fn check_finite(metric: &str, value: f64) -> Result<(), MetricsError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(bad_value(metric, value))
    }
}

/// One integer comparison on the hot path: the bits of every finite value `>= +0.0` sort
/// below those of `+inf`; NaN, the infinities, negative values and `-0.0` (sign bit set)
/// do not, and are looked at out of line.
#[inline]
pub(super) fn check_histogram_value(metric: &str, value: f64) -> Result<(), MetricsError> {
    if value.to_bits() < f64::INFINITY.to_bits() {
        Ok(())
    } else {
        check_unusual_value(metric, value)
    }
}

/// `-0.0` is zero, and recorded as such; anything else that is not a finite `+0.0` or
/// more is an error.
#[cold]
#[inline(never)]
fn check_unusual_value(metric: &str, value: f64) -> Result<(), MetricsError> {
    if value == 0.0 {
        Ok(())
    } else {
        Err(bad_value(metric, value))
    }
}

/// The error for a value that is not finite, or negative. Out of line, so that the checks
/// stay small enough to inline into every record.
#[cold]
#[inline(never)]
fn bad_value(metric: &str, value: f64) -> MetricsError {
    if value.is_finite() {
        MetricsError::Negative {
            metric: metric.to_owned(),
            value,
        }
    } else {
        MetricsError::NonFinite {
            metric: metric.to_owned(),
            value,
        }
    }
}

/// A monotonic counter. Cheap to clone; keep one instead of looking the name up each time.
///
/// # Examples
/// ```
/// # use telemetry_engine::metrics::Metrics;
/// # let metrics = Metrics::detached();
/// use opentelemetry::KeyValue;
/// let frames = metrics.counter("frames_processed_total")?;
/// frames.add(1, &[KeyValue::new("codec", "h264")])?;
/// # Ok::<(), telemetry_engine::metrics::MetricsError>(())
/// ```
#[derive(Clone)]
pub struct Counter {
    name: Arc<str>,
    inner: otel::Counter<u64>,
    max_attributes: usize,
}

impl Counter {
    pub(crate) fn new(name: Arc<str>, inner: otel::Counter<u64>, max_attributes: usize) -> Self {
        Self {
            name,
            inner,
            max_attributes,
        }
    }

    /// Adds `value` to the series of `attributes`.
    ///
    /// # Errors
    /// [`MetricsError::TooManyAttributes`] or [`MetricsError::InvalidAttributeKey`].
    #[inline]
    pub fn add(&self, value: u64, attributes: &[KeyValue]) -> Result<(), MetricsError> {
        check_attributes(&self.name, attributes, self.max_attributes)?;
        self.add_checked(value, attributes);
        Ok(())
    }

    /// Adds without checks; the caller has checked the attributes.
    #[inline]
    pub(super) fn add_checked(&self, value: u64, attributes: &[KeyValue]) {
        self.inner.add(value, attributes);
    }

    /// A handle bound to one attribute set: the fastest way to record.
    ///
    /// # Errors
    /// As [`Counter::add`].
    pub fn bind(&self, attributes: &[KeyValue]) -> Result<BoundCounter, MetricsError> {
        check_attributes(&self.name, attributes, self.max_attributes)?;
        Ok(self.bind_checked(attributes))
    }

    /// Binds without checks; the caller has checked the attributes.
    pub(crate) fn bind_checked(&self, attributes: &[KeyValue]) -> BoundCounter {
        BoundCounter {
            inner: self.inner.bind(attributes),
        }
    }
}

/// A counter bound to one attribute set.
///
/// # Examples
/// ```
/// # use telemetry_engine::metrics::Metrics;
/// # let metrics = Metrics::detached();
/// let hits = metrics.counter("cache_hits_total")?.bind(&[])?;
/// hits.add(1);
/// # Ok::<(), telemetry_engine::metrics::MetricsError>(())
/// ```
pub struct BoundCounter {
    inner: otel::BoundCounter<u64>,
}

impl BoundCounter {
    /// Adds `value`.
    #[inline]
    pub fn add(&self, value: u64) {
        self.inner.add(value);
    }
}

/// A gauge: the last value set wins.
///
/// # Examples
/// ```
/// # use telemetry_engine::metrics::Metrics;
/// # let metrics = Metrics::detached();
/// metrics.gauge("queue_size")?.set(12.0, &[])?;
/// assert!(metrics.gauge("queue_size")?.set(f64::NAN, &[]).is_err());
/// # Ok::<(), telemetry_engine::metrics::MetricsError>(())
/// ```
#[derive(Clone)]
pub struct Gauge {
    name: Arc<str>,
    inner: otel::Gauge<f64>,
    max_attributes: usize,
}

impl Gauge {
    pub(crate) fn new(name: Arc<str>, inner: otel::Gauge<f64>, max_attributes: usize) -> Self {
        Self {
            name,
            inner,
            max_attributes,
        }
    }

    /// Sets the series of `attributes` to `value`.
    ///
    /// # Errors
    /// [`MetricsError::NonFinite`] for NaN or infinity; attribute errors as [`Counter::add`].
    #[inline]
    pub fn set(&self, value: f64, attributes: &[KeyValue]) -> Result<(), MetricsError> {
        check_finite(&self.name, value)?;
        check_attributes(&self.name, attributes, self.max_attributes)?;
        self.set_checked(value, attributes);
        Ok(())
    }

    /// Sets without checks; the caller has checked value and attributes.
    #[inline]
    pub(super) fn set_checked(&self, value: f64, attributes: &[KeyValue]) {
        self.inner.record(value, attributes);
    }

    /// A handle bound to one attribute set.
    ///
    /// # Errors
    /// As [`Counter::add`].
    pub fn bind(&self, attributes: &[KeyValue]) -> Result<BoundGauge, MetricsError> {
        check_attributes(&self.name, attributes, self.max_attributes)?;
        Ok(self.bind_checked(attributes))
    }

    /// Binds without checks; the caller has checked the attributes.
    pub(super) fn bind_checked(&self, attributes: &[KeyValue]) -> BoundGauge {
        BoundGauge {
            name: self.name.clone(),
            inner: self.inner.bind(attributes),
        }
    }
}

/// A gauge bound to one attribute set.
pub struct BoundGauge {
    name: Arc<str>,
    inner: otel::BoundGauge<f64>,
}

impl BoundGauge {
    /// Sets `value`.
    ///
    /// # Errors
    /// [`MetricsError::NonFinite`] for NaN or infinity.
    #[inline]
    pub fn set(&self, value: f64) -> Result<(), MetricsError> {
        check_finite(&self.name, value)?;
        self.set_checked(value);
        Ok(())
    }

    /// Sets without checks; the caller has checked the value.
    #[inline]
    pub(crate) fn set_checked(&self, value: f64) {
        self.inner.record(value);
    }
}

/// A histogram with the configured buckets, whose quantiles are also tracked by a sketch
/// (unless `summary_quantiles` is empty).
///
/// # Examples
/// ```
/// # use telemetry_engine::metrics::Metrics;
/// # let metrics = Metrics::detached();
/// let frame_ms = metrics.histogram("frame_processing_duration_ms")?;
/// frame_ms.record(16.7, &[])?;
/// assert!(frame_ms.record(-1.0, &[]).is_err());
/// # Ok::<(), telemetry_engine::metrics::MetricsError>(())
/// ```
#[derive(Clone)]
pub struct Histogram {
    name: Arc<str>,
    inner: otel::Histogram<f64>,
    sketch: Option<Arc<Sketch>>,
    max_attributes: usize,
}

impl Histogram {
    pub(crate) fn new(
        name: Arc<str>,
        inner: otel::Histogram<f64>,
        sketch: Option<Arc<Sketch>>,
        max_attributes: usize,
    ) -> Self {
        Self {
            name,
            inner,
            sketch,
            max_attributes,
        }
    }

    /// Records `value` (finite, `>= 0`) in the series of `attributes`.
    ///
    /// # Errors
    /// [`MetricsError::NonFinite`], [`MetricsError::Negative`], or attribute errors.
    #[inline]
    pub fn record(&self, value: f64, attributes: &[KeyValue]) -> Result<(), MetricsError> {
        check_histogram_value(&self.name, value)?;
        check_attributes(&self.name, attributes, self.max_attributes)?;
        self.record_checked(value, attributes);
        Ok(())
    }

    /// Records without checks; the caller has checked value and attributes.
    #[inline]
    pub(super) fn record_checked(&self, value: f64, attributes: &[KeyValue]) {
        if let Some(sketch) = &self.sketch {
            sketch.record(value);
        }
        self.inner.record(value, attributes);
    }

    /// A handle bound to one attribute set.
    ///
    /// # Errors
    /// As [`Counter::add`].
    pub fn bind(&self, attributes: &[KeyValue]) -> Result<BoundHistogram, MetricsError> {
        check_attributes(&self.name, attributes, self.max_attributes)?;
        Ok(self.bind_checked(attributes))
    }

    /// Binds without checks; the caller has checked the attributes.
    pub(super) fn bind_checked(&self, attributes: &[KeyValue]) -> BoundHistogram {
        BoundHistogram {
            name: self.name.clone(),
            inner: self.inner.bind(attributes),
            sketch: self.sketch.clone(),
        }
    }
}

/// A histogram bound to one attribute set.
pub struct BoundHistogram {
    name: Arc<str>,
    inner: otel::BoundHistogram<f64>,
    sketch: Option<Arc<Sketch>>,
}

impl BoundHistogram {
    /// Records `value` (finite, `>= 0`).
    ///
    /// # Errors
    /// [`MetricsError::NonFinite`] or [`MetricsError::Negative`].
    #[inline]
    pub fn record(&self, value: f64) -> Result<(), MetricsError> {
        check_histogram_value(&self.name, value)?;
        self.record_checked(value);
        Ok(())
    }

    /// Records without checks; the caller has checked the value.
    #[inline]
    pub(super) fn record_checked(&self, value: f64) {
        if let Some(sketch) = &self.sketch {
            sketch.record(value);
        }
        self.inner.record(value);
    }
}

macro_rules! debug_by_name {
    ($($t:ident),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t)).field("name", &self.name).finish()
            }
        }
    )*};
}

debug_by_name!(Counter, Gauge, Histogram, BoundGauge, BoundHistogram);

impl std::fmt::Debug for BoundCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoundCounter")
    }
}
