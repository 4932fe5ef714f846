//! Observed gauges: series read from the app's own state each time the metrics are read.
//!
//! A gauge set with [`super::Gauge::set`] keeps every series it ever had (the SDK cannot
//! forget one). An observed gauge reports only what its callback reports at that read, so
//! a series goes away when the thing it measures does: a child process that ended, a disk
//! that was unmounted.

use std::sync::Arc;

use opentelemetry::metrics::AsyncInstrument;
use opentelemetry::KeyValue;

use super::instruments::{check_attributes, check_finite};
use super::{name, Instrument, Metrics, MetricsError};

/// What an observed gauge's callback reports into, once per read.
///
/// # Examples
/// See [`Metrics::observed_gauge`].
pub struct Observer<'a> {
    name: &'a str,
    max_attributes: usize,
    inner: &'a dyn AsyncInstrument<f64>,
}

impl Observer<'_> {
    /// Reports `value` for the series of `attributes` in this read.
    ///
    /// # Errors
    /// [`MetricsError::NonFinite`] for NaN or infinity, the attribute errors of
    /// [`super::Counter::add`]; the series is then left out of this read.
    pub fn observe(&self, value: f64, attributes: &[KeyValue]) -> Result<(), MetricsError> {
        check_finite(self.name, value)?;
        check_attributes(self.name, attributes, self.max_attributes)?;
        self.inner.observe(value, attributes);
        Ok(())
    }
}

impl Metrics {
    /// Registers gauge `name`, whose series are what `read` reports each time the metrics
    /// are read (a scrape, a collection, an OTLP push): a series it stops reporting is
    /// gone from the next read on. `read` runs on the reading thread; keep it to reading
    /// state the app already has.
    ///
    /// # Errors
    /// [`MetricsError::InvalidName`], [`MetricsError::TooManyMetrics`], or
    /// [`MetricsError::AlreadyExists`] when any instrument already has the name.
    ///
    /// # Examples
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use telemetry_engine::metrics::Metrics;
    /// use telemetry_engine::KeyValue;
    ///
    /// let jobs = Arc::new(Mutex::new(vec![("render", 3.0), ("upload", 1.0)]));
    /// let metrics = Metrics::detached();
    /// let state = jobs.clone();
    /// metrics.observed_gauge("jobs_running", move |observer| {
    ///     for (kind, count) in state.lock().unwrap().iter() {
    ///         let _ = observer.observe(*count, &[KeyValue::new("kind", *kind)]);
    ///     }
    /// })?;
    /// assert!(metrics.observed_gauge("jobs_running", |_| {}).is_err());
    /// # Ok::<(), telemetry_engine::metrics::MetricsError>(())
    /// ```
    pub fn observed_gauge<F>(&self, name: &str, read: F) -> Result<(), MetricsError>
    where
        F: Fn(&Observer<'_>) + Send + Sync + 'static,
    {
        let sdk_name = name::instrument_name(name, false)?.to_owned();
        let inner = &self.inner;
        let mut map = inner.instruments.write();
        if map.contains_key(name) {
            return Err(MetricsError::AlreadyExists {
                name: name.to_owned(),
            });
        }
        if map.len() >= inner.max_metrics {
            return Err(MetricsError::TooManyMetrics {
                name: name.to_owned(),
                max: inner.max_metrics,
            });
        }
        let key: Arc<str> = Arc::from(name);
        let help = self
            .description(name)
            .unwrap_or_else(|| format!("Application gauge {name}"));
        let (observed, max_attributes) = (key.clone(), inner.max_attributes);
        // The SDK keeps the registration alive with the meter; the handle is not needed.
        let _gauge = inner
            .meter
            .f64_observable_gauge(sdk_name)
            .with_description(help)
            .with_unit(self.unit(name).unwrap_or_default())
            .with_callback(move |instrument| {
                read(&Observer {
                    name: &observed,
                    max_attributes,
                    inner: instrument,
                });
            })
            .build();
        map.insert(key, Instrument::Observed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_already_in_use_is_refused_whatever_its_kind() {
        let metrics = Metrics::detached();
        metrics.gauge("queue_size").unwrap();
        assert!(matches!(
            metrics.observed_gauge("queue_size", |_| {}),
            Err(MetricsError::AlreadyExists { .. })
        ));
        metrics.observed_gauge("observed_size", |_| {}).unwrap();
        assert!(matches!(
            metrics.gauge("observed_size"),
            Err(MetricsError::KindConflict {
                existing: "observed gauge",
                ..
            })
        ));
        assert!(metrics.set("observed_size", 1.0, &[]).is_err());
        assert!(metrics.observed_gauge("bad name", |_| {}).is_err());
    }
}
