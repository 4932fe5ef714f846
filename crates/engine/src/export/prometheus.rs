//! The engine's one metric reader: opentelemetry-prometheus over a `prometheus` registry.
//!
//! Every consumer reads through it: the `/metrics` endpoint renders what it gathers, and
//! each collection turns the same families into a [`Snapshot`] for the series store and
//! the console and file exporters. One reader means one aggregation per measurement.

use std::collections::BTreeMap;
use std::time::Duration;

use prometheus::proto::{Gauge, Metric, MetricFamily, MetricType};
use prometheus::{Encoder, Registry, TextEncoder};

use super::ExportError;
use crate::metrics::Metrics;
use crate::store::{MetricSnapshot, SeriesSnapshot, SeriesValue, Snapshot, SnapshotKind};

/// Gathers metric families from the SDK (through the registry) plus sketch quantiles.
#[derive(Clone)]
pub(crate) struct Gatherer {
    registry: Registry,
    metrics: Metrics,
    quantiles: Vec<f64>,
    window: Duration,
}

impl Gatherer {
    /// Builds the reader to register with the meter provider, and the gatherer over it.
    pub(crate) fn new(
        metrics_for: impl FnOnce(opentelemetry_prometheus::PrometheusExporter) -> Metrics,
        quantiles: Vec<f64>,
        window: Duration,
    ) -> Result<Self, ExportError> {
        let registry = Registry::new();
        let reader = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .scope_info_enabled(false)
            .without_units()
            .build()
            .map_err(|e| ExportError::Setup(format!("prometheus reader: {e}")))?;
        Ok(Self {
            registry,
            metrics: metrics_for(reader),
            quantiles,
            window,
        })
    }

    /// The `Metrics` recording into this reader's provider.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Every family: the SDK's, then per histogram with values in the last one to two
    /// windows one gauge family per configured quantile, `<histogram>_p50`, `_p99`, ….
    pub(crate) fn gather(&self) -> Vec<MetricFamily> {
        let mut families = self.registry.gather();
        for (name, values) in self
            .metrics
            .histogram_quantiles(&self.quantiles, self.window)
        {
            for (q, v) in self.quantiles.iter().zip(values) {
                let mut family = MetricFamily::default();
                family.set_name(format!("{name}_{}", quantile_suffix(*q)));
                family.set_help(format!(
                    "{} quantile of {name} over the last {}s to {}s, within 1% relative error",
                    q,
                    self.window.as_secs(),
                    2 * self.window.as_secs()
                ));
                family.set_field_type(MetricType::GAUGE);
                let mut gauge = Gauge::default();
                gauge.set_value(v);
                let mut metric = Metric::default();
                metric.set_gauge(gauge);
                family.set_metric(vec![metric]);
                families.push(family);
            }
        }
        families
    }

    /// The Prometheus text exposition of everything.
    pub(crate) fn render(&self) -> Result<String, ExportError> {
        let mut out = Vec::with_capacity(64 * 1024);
        TextEncoder::new()
            .encode(&self.gather(), &mut out)
            .map_err(|e| ExportError::Encode(e.to_string()))?;
        String::from_utf8(out).map_err(|e| ExportError::Encode(e.to_string()))
    }

    /// A snapshot of everything, timestamped now.
    pub(crate) fn snapshot(&self) -> Snapshot {
        to_snapshot(&self.gather(), crate::clock::now_ms())
    }
}

/// `0.5` → `p50`, `0.999` → `p99_9`.
pub(crate) fn quantile_suffix(q: f64) -> String {
    let percent = format!("{}", (q * 1000.0).round() / 10.0);
    format!("p{}", percent.replace('.', "_"))
}

/// Converts gathered families to a [`Snapshot`], leaving out `target_info`.
pub(crate) fn to_snapshot(families: &[MetricFamily], timestamp_ms: i64) -> Snapshot {
    let metrics = families
        .iter()
        .filter(|f| f.name() != "target_info")
        .map(|f| {
            let quantile = f.help().contains(" quantile of ");
            let kind = match f.get_field_type() {
                MetricType::COUNTER => SnapshotKind::Counter,
                MetricType::HISTOGRAM => SnapshotKind::Histogram,
                _ if quantile => SnapshotKind::Quantile,
                _ => SnapshotKind::Gauge,
            };
            let series = f
                .get_metric()
                .iter()
                .map(|m| SeriesSnapshot {
                    labels: m
                        .get_label()
                        .iter()
                        .map(|l| (l.name().to_owned(), l.value().to_owned()))
                        .collect::<BTreeMap<_, _>>(),
                    value: match kind {
                        SnapshotKind::Counter => SeriesValue::Number {
                            value: m.get_counter().get_value(),
                        },
                        SnapshotKind::Histogram => {
                            let h = m.get_histogram();
                            let buckets = h
                                .get_bucket()
                                .iter()
                                .filter(|b| b.upper_bound().is_finite())
                                .map(|b| (b.upper_bound(), b.cumulative_count()))
                                .collect();
                            SeriesValue::Histogram {
                                count: h.get_sample_count(),
                                sum: h.get_sample_sum(),
                                buckets,
                            }
                        }
                        _ => SeriesValue::Number {
                            value: m.get_gauge().get_value(),
                        },
                    },
                })
                .collect();
            MetricSnapshot {
                name: f.name().to_owned(),
                kind,
                help: f.help().to_owned(),
                series,
            }
        })
        .collect();
    Snapshot {
        timestamp_ms,
        metrics,
    }
}

#[cfg(test)]
mod tests {
    use super::quantile_suffix;

    #[test]
    fn quantile_suffixes() {
        assert_eq!(quantile_suffix(0.5), "p50");
        assert_eq!(quantile_suffix(0.99), "p99");
        assert_eq!(quantile_suffix(0.95), "p95");
        assert_eq!(quantile_suffix(0.999), "p99_9");
    }
}
