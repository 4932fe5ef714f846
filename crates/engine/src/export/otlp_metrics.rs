//! OTLP metrics push: every `metrics.export_interval`, the collection's [`Snapshot`] (the
//! one aggregation everything reads) as an OTLP `ExportMetricsServiceRequest`, over
//! HTTP/protobuf or gRPC, with the configured headers only, TLS, gzip and the user's
//! consent. Counters and histograms are cumulative, or deltas since the last push.
//!
//! The push runs on a task of its own: the collection hands it the request and goes on;
//! a push still under way when the next is due makes that one skipped (counted as a
//! failure with the reason), never queued without bound. A push the destination cannot
//! take now waits in the spool like spans and logs ([`super::outbox`]). At shutdown the
//! last collection is pushed whatever the interval ([`OtlpMetrics::finish`]): a session
//! shorter than `export_interval` would otherwise send only its first snapshot.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use tokio::sync::mpsc;

use super::otlp::OtlpTarget;
use super::otlp_send::{OtlpRequest, OtlpSender, Signal};
use super::outbox::{Outbox, OutboxParts};
use super::spool::Spool;
use super::ExportStatusBoard;
use crate::config::{MetricsConfig, Temporality};
use crate::metrics::{MetricSnapshot, SeriesValue, Snapshot, SnapshotKind};
use crate::privacy::ConsentGate;

/// What one push exporter keeps between pushes.
pub(crate) struct OtlpMetrics {
    name: String,
    interval: Duration,
    delta: bool,
    resource: Resource,
    /// When the process's cumulative sums started (Unix ns).
    started_ns: u64,
    last_push: Option<(Instant, u64)>,
    /// The cumulative values of the last push, per series (for deltas).
    previous: HashMap<(String, BTreeMap<String, String>), SeriesValue>,
    consent: ConsentGate,
    status: ExportStatusBoard,
    /// The requests the sender task sends (one at a time); `None` once finished.
    queue: Option<mpsc::Sender<ExportMetricsServiceRequest>>,
    /// The sender task, which ends when `queue` is dropped and what it holds is sent.
    sending: Option<tokio::task::JoinHandle<()>>,
}

impl OtlpMetrics {
    /// A push exporter to `otlp` named `name`, sending from a task on the current Tokio
    /// runtime, spooling in `spool` what cannot go now.
    ///
    /// # Errors
    /// The TLS settings or the gRPC endpoint cannot be used, or there is no runtime.
    pub(crate) fn new(
        target: &OtlpTarget,
        metrics: &MetricsConfig,
        resource: &BTreeMap<String, String>,
        (consent, spool): (ConsentGate, Option<&Spool>),
        status: &ExportStatusBoard,
    ) -> Result<Self, String> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "OTLP metrics need a Tokio runtime".to_owned())?;
        let sender = {
            let _entered = runtime.enter();
            OtlpSender::new(&target.config, metrics.export_timeout)?
        };
        status.register(&target.name);
        let outbox = Outbox::new(
            OutboxParts {
                name: &target.name,
                sender,
                runtime: runtime.clone(),
                status,
                spool,
                consent: &consent,
                timeout: metrics.export_timeout,
            },
            Signal::Metrics,
        );
        let (queue, mut jobs) = mpsc::channel::<ExportMetricsServiceRequest>(1);
        let sending = runtime.spawn(async move {
            while let Some(request) = jobs.recv().await {
                // The outbox reports every outcome in the status.
                outbox.deliver(OtlpRequest::Metrics(request)).await;
            }
        });
        let name = target.name.clone();
        Ok(Self {
            name,
            interval: metrics.export_interval,
            delta: metrics.temporality != Temporality::Cumulative,
            resource: Resource {
                attributes: resource.iter().map(|(k, v)| text(k, v)).collect(),
                ..Resource::default()
            },
            started_ns: now_ns(),
            last_push: None,
            previous: HashMap::new(),
            consent,
            status: status.clone(),
            queue: Some(queue),
            sending: Some(sending),
        })
    }

    /// Pushes `snapshot` if the interval has passed since the last push.
    pub(crate) fn offer(&mut self, snapshot: &Snapshot) {
        let due = self
            .last_push
            .is_none_or(|(at, _)| at.elapsed() >= self.interval);
        if due {
            self.push(snapshot, false);
        }
    }

    /// At shutdown: pushes `snapshot`, the last collection, whatever the interval (after
    /// the push under way, if one is), and lets the sender task end once it is sent or
    /// spooled. Returns that task, for the caller to wait for; `None` when finished before.
    /// Runs on a blocking thread: it may wait for room behind the push under way.
    pub(crate) fn finish(&mut self, snapshot: &Snapshot) -> Option<tokio::task::JoinHandle<()>> {
        if self.queue.is_some() {
            self.push(snapshot, true);
        }
        self.queue = None;
        self.sending.take()
    }

    /// Hands `snapshot` to the sender task; `wait`: for room behind the push under way
    /// (at shutdown), rather than skip it.
    fn push(&mut self, snapshot: &Snapshot, wait: bool) {
        let Some(queue) = self.queue.clone() else {
            return;
        };
        if !self.consent.allows_sending() {
            self.status.degraded(
                &self.name,
                format!(
                    "nothing is sent: consent is {}",
                    self.consent.get().as_str()
                ),
            );
            return;
        }
        let now = now_ns();
        let since = self.last_push.map_or(self.started_ns, |(_, ns)| ns);
        let request = self.request(snapshot, since, now);
        self.last_push = Some((Instant::now(), now));
        let handed = if wait {
            queue.blocking_send(request).is_ok()
        } else {
            queue.try_send(request).is_ok()
        };
        if !handed {
            self.status.failure(
                &self.name,
                "the previous push is still under way: this one was skipped",
            );
        }
    }

    fn request(
        &mut self,
        snapshot: &Snapshot,
        since_ns: u64,
        now_ns: u64,
    ) -> ExportMetricsServiceRequest {
        let start = if self.delta {
            since_ns
        } else {
            self.started_ns
        };
        let metrics = snapshot
            .metrics
            .iter()
            .filter_map(|family| self.metric(family, start, now_ns))
            .collect();
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "tauri-plugin-opentelemetry".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..InstrumentationScope::default()
                    }),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    /// One family as an OTLP metric (`None` for the quantile gauges: the receiver
    /// computes quantiles from the histograms).
    fn metric(&mut self, family: &MetricSnapshot, start: u64, now_ns: u64) -> Option<Metric> {
        let temporality = if self.delta {
            AggregationTemporality::Delta
        } else {
            AggregationTemporality::Cumulative
        } as i32;
        let mut numbers = Vec::new();
        let mut histograms = Vec::new();
        for series in &family.series {
            let attributes: Vec<KeyValue> = series.labels.iter().map(|(k, v)| text(k, v)).collect();
            let value = match family.kind {
                SnapshotKind::Counter | SnapshotKind::Histogram if self.delta => {
                    let key = (family.name.clone(), series.labels.clone());
                    let delta = minus(&series.value, self.previous.get(&key));
                    self.previous.insert(key, series.value.clone());
                    delta
                }
                _ => series.value.clone(),
            };
            match value {
                SeriesValue::Number { value } => numbers.push(NumberDataPoint {
                    attributes,
                    start_time_unix_nano: start,
                    time_unix_nano: now_ns,
                    value: Some(number_data_point::Value::AsDouble(value)),
                    ..NumberDataPoint::default()
                }),
                SeriesValue::Histogram {
                    count,
                    sum,
                    buckets,
                } => histograms.push(histogram_point(
                    attributes, start, now_ns, count, sum, &buckets,
                )),
            }
        }
        let data = match family.kind {
            SnapshotKind::Counter => metric::Data::Sum(Sum {
                data_points: numbers,
                aggregation_temporality: temporality,
                is_monotonic: true,
            }),
            SnapshotKind::Histogram => metric::Data::Histogram(Histogram {
                data_points: histograms,
                aggregation_temporality: temporality,
            }),
            SnapshotKind::Quantile => return None,
            SnapshotKind::Gauge => metric::Data::Gauge(Gauge {
                data_points: numbers,
            }),
        };
        Some(Metric {
            name: otlp_name(&family.name, family.kind).to_owned(),
            description: family.help.clone(),
            data: Some(data),
            ..Metric::default()
        })
    }
}

/// The instrument's name: the exposition adds `_total` to counters.
fn otlp_name(exposed: &str, kind: SnapshotKind) -> &str {
    match kind {
        SnapshotKind::Counter => exposed.strip_suffix("_total").unwrap_or(exposed),
        _ => exposed,
    }
}

/// `current - previous` of a cumulative value; a value that went down (a reset) is its
/// own delta.
fn minus(current: &SeriesValue, previous: Option<&SeriesValue>) -> SeriesValue {
    match (current, previous) {
        (SeriesValue::Number { value }, Some(SeriesValue::Number { value: before }))
            if value >= before =>
        {
            SeriesValue::Number {
                value: value - before,
            }
        }
        (
            SeriesValue::Histogram {
                count,
                sum,
                buckets,
            },
            Some(SeriesValue::Histogram {
                count: c0,
                sum: s0,
                buckets: b0,
            }),
        ) if count >= c0 && buckets.len() == b0.len() => SeriesValue::Histogram {
            count: count - c0,
            sum: sum - s0,
            buckets: buckets
                .iter()
                .zip(b0)
                .map(|((bound, n), (_, n0))| (*bound, n.saturating_sub(*n0)))
                .collect(),
        },
        _ => current.clone(),
    }
}

fn histogram_point(
    attributes: Vec<KeyValue>,
    start: u64,
    now: u64,
    count: u64,
    sum: f64,
    cumulative: &[(f64, u64)],
) -> HistogramDataPoint {
    let mut counts = Vec::with_capacity(cumulative.len() + 1);
    let mut below = 0;
    for (_, n) in cumulative {
        counts.push(n.saturating_sub(below));
        below = *n;
    }
    counts.push(count.saturating_sub(below));
    HistogramDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: now,
        count,
        sum: Some(sum),
        bucket_counts: counts,
        explicit_bounds: cumulative.iter().map(|(bound, _)| *bound).collect(),
        ..HistogramDataPoint::default()
    }
}

fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumulative_buckets_become_per_bucket_counts_and_deltas_survive_a_reset() {
        let point = histogram_point(Vec::new(), 0, 1, 10, 42.0, &[(1.0, 2), (5.0, 7)]);
        assert_eq!(point.bucket_counts, [2, 5, 3]);
        assert_eq!(point.explicit_bounds, [1.0, 5.0]);
        let before = SeriesValue::Number { value: 10.0 };
        assert_eq!(
            minus(&SeriesValue::Number { value: 15.0 }, Some(&before)),
            SeriesValue::Number { value: 5.0 }
        );
        assert_eq!(
            minus(&SeriesValue::Number { value: 3.0 }, Some(&before)),
            SeriesValue::Number { value: 3.0 },
            "a reset"
        );
        assert_eq!(otlp_name("frames_total", SnapshotKind::Counter), "frames");
        assert_eq!(otlp_name("queue_size", SnapshotKind::Gauge), "queue_size");
    }
}
