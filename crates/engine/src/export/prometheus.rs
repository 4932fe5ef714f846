//! The engine's one metric reader: opentelemetry-prometheus over a `prometheus` registry.
//!
//! Every consumer reads through it: the `/metrics` endpoint renders what it gathers, and
//! each collection turns the same families into a [`Snapshot`] for the series store and
//! the console and file exporters. One reader means one aggregation per measurement.

use std::collections::BTreeMap;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::{Instrument, SdkMeterProvider, Stream};
use opentelemetry_sdk::Resource;
use prometheus::proto::{Gauge, Metric, MetricFamily, MetricType};
use prometheus::{Encoder, Registry, TextEncoder};

use super::ExportError;
use crate::config::MetricsConfig;
use crate::metrics::{
    MetricSnapshot, Metrics, SeriesSnapshot, SeriesValue, Snapshot, SnapshotKind,
};
use crate::privacy::Privacy;

/// The metrics pipeline, owned in one place: the meter provider (with its cardinality
/// cap), the one reader registered with it, the [`Metrics`] the app records into, and
/// what reads them back (snapshots for the store and exporters, the `/metrics` text).
#[derive(Clone)]
pub(crate) struct MetricsPipeline {
    provider: SdkMeterProvider,
    registry: Registry,
    metrics: Metrics,
    /// Scrubs the label values of what is read back.
    privacy: Privacy,
}

impl MetricsPipeline {
    /// Builds the reader, the provider around it (without the reader when `active` is
    /// false: measurements are checked, nothing is kept) and the `Metrics` on it.
    pub(crate) fn new(
        config: &MetricsConfig,
        resource: Resource,
        active: bool,
        privacy: &Privacy,
    ) -> Result<Self, ExportError> {
        let registry = Registry::new();
        let reader = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .scope_info_enabled(false)
            .without_units()
            .build()
            .map_err(|e| ExportError::Setup(format!("prometheus reader: {e}")))?;
        let limit = config.max_series_per_metric;
        let mut builder = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_view(move |_: &Instrument| {
                Stream::builder().with_cardinality_limit(limit).build().ok()
            });
        if active {
            builder = builder.with_reader(reader);
        }
        let provider = builder.build();
        let metrics = Metrics::new(provider.meter("tauri-plugin-opentelemetry"), config);
        Ok(Self {
            provider,
            registry,
            metrics,
            privacy: privacy.clone(),
        })
    }

    /// The `Metrics` recording into this pipeline.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The Prometheus text exposition of everything: the SDK's families, then one gauge
    /// family per sketch quantile.
    pub(crate) fn render(&self) -> Result<String, ExportError> {
        let mut families = self.gather();
        families.extend(self.metrics.quantile_snapshots().iter().map(gauge_family));
        let mut out = Vec::with_capacity(64 * 1024);
        TextEncoder::new()
            .encode(&families, &mut out)
            .map_err(|e| ExportError::Encode(e.to_string()))?;
        String::from_utf8(out).map_err(|e| ExportError::Encode(e.to_string()))
    }

    /// A snapshot of everything, timestamped now: the SDK's families, then the sketch
    /// quantiles as they come from the sketches.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut snapshot = to_snapshot(&self.gather(), crate::clock::now_ms());
        snapshot.metrics.extend(self.metrics.quantile_snapshots());
        snapshot
    }

    /// The SDK's families, their label values scrubbed (`privacy`).
    fn gather(&self) -> Vec<MetricFamily> {
        let mut families = self.registry.gather();
        for label in families
            .iter_mut()
            .flat_map(|f| f.mut_metric().iter_mut())
            .flat_map(|m| m.mut_label().iter_mut())
        {
            if let Some(clean) = self.privacy.label(label.name(), label.value()) {
                label.set_value(clean);
            }
        }
        families
    }

    /// Flushes and stops the meter provider.
    pub(crate) fn shutdown(&self) -> Result<(), ExportError> {
        self.provider
            .shutdown()
            .map_err(|e| ExportError::Setup(format!("meter provider shutdown: {e}")))
    }
}

/// A gauge family for the exposition, from a number-valued snapshot metric.
fn gauge_family(metric: &MetricSnapshot) -> MetricFamily {
    let mut family = MetricFamily::default();
    family.set_name(metric.name.clone());
    family.set_help(metric.help.clone());
    family.set_field_type(MetricType::GAUGE);
    family.set_metric(
        metric
            .series
            .iter()
            .filter_map(|s| match s.value {
                SeriesValue::Number { value } => {
                    let mut gauge = Gauge::default();
                    gauge.set_value(value);
                    let mut m = Metric::default();
                    m.set_gauge(gauge);
                    Some(m)
                }
                SeriesValue::Histogram { .. } => None,
            })
            .collect(),
    );
    family
}

/// Converts gathered families to a [`Snapshot`], leaving out `target_info`.
fn to_snapshot(families: &[MetricFamily], timestamp_ms: i64) -> Snapshot {
    let metrics = families
        .iter()
        .filter(|f| f.name() != "target_info")
        .map(|f| {
            let kind = match f.get_field_type() {
                MetricType::COUNTER => SnapshotKind::Counter,
                MetricType::HISTOGRAM => SnapshotKind::Histogram,
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
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use opentelemetry::KeyValue;

    use super::*;

    #[test]
    fn a_series_no_longer_reported_is_gone_from_the_next_read() {
        let config = crate::config::TelemetryConfig::default();
        let pipeline = MetricsPipeline::new(
            &config.metrics,
            opentelemetry_sdk::Resource::builder_empty().build(),
            true,
            &crate::privacy::Privacy::new(&config),
        )
        .unwrap();
        let running = Arc::new(AtomicBool::new(true));
        let state = running.clone();
        pipeline
            .metrics()
            .observed_gauge("encoders_running", move |o| {
                if state.load(Ordering::SeqCst) {
                    o.observe(2.0, &[KeyValue::new("name", "ffmpeg")]).unwrap();
                }
                // Refused, and left out: never a panic, never a NaN in the exposition.
                assert!(o.observe(f64::NAN, &[]).is_err());
            })
            .unwrap();
        let text = pipeline.render().unwrap();
        assert!(
            text.contains("encoders_running{name=\"ffmpeg\"} 2"),
            "{text}"
        );
        running.store(false, Ordering::SeqCst);
        let text = pipeline.render().unwrap();
        assert!(!text.contains("encoders_running{"), "{text}");
    }
}
