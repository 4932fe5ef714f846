//! The engine's one metric reader: the SDK's manual reader, read by everything.
//!
//! The `/metrics` endpoint writes the Prometheus text exposition (format 0.0.4) straight
//! from what the reader collects, and each collection turns the same data into a
//! [`Snapshot`] for the series store and the console and file exporters. One reader means
//! one aggregation per measurement. What a read collects is kept for the next one, so
//! the SDK refills its buffers rather than allocating new ones, and the next exposition's
//! buffer is sized from the last.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, HistogramDataPoint, Metric, MetricData, ResourceMetrics,
};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    Instrument, InstrumentKind, ManualReader, Pipeline, SdkMeterProvider, Stream, Temporality,
};
use opentelemetry_sdk::Resource;
use parking_lot::Mutex;

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
    /// `None` when the pipeline was built inactive: nothing is kept, nothing is read.
    reader: Option<SharedReader>,
    /// What the last read collected; the next read refills it in place.
    collected: Arc<Mutex<ResourceMetrics>>,
    /// The `target_info` family, written once: the resource does not change.
    target_info: Arc<str>,
    /// The length of the last exposition, to size the next one's buffer.
    last_len: Arc<AtomicUsize>,
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
    ) -> Self {
        let limit = config.max_series_per_metric;
        let target_info = target_info(&resource, privacy);
        let mut builder = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_view(move |_: &Instrument| {
                Stream::builder().with_cardinality_limit(limit).build().ok()
            });
        let reader = active.then(|| SharedReader(Arc::new(ManualReader::builder().build())));
        if let Some(reader) = &reader {
            builder = builder.with_reader(reader.clone());
        }
        let provider = builder.build();
        let metrics = Metrics::new(provider.meter("tauri-plugin-opentelemetry"), config);
        Self {
            provider,
            reader,
            collected: Arc::new(Mutex::new(ResourceMetrics::default())),
            target_info: target_info.into(),
            last_len: Arc::default(),
            metrics,
            privacy: privacy.clone(),
        }
    }

    /// The `Metrics` recording into this pipeline.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The Prometheus text exposition of everything: `target_info`, the SDK's metrics
    /// (by name), then one gauge family per sketch quantile.
    ///
    /// # Errors
    /// [`ExportError::Encode`] when the SDK cannot collect (the provider is shut down).
    pub(crate) fn render(&self) -> Result<String, ExportError> {
        let mut out = String::with_capacity(self.last_len.load(Ordering::Relaxed) + 1024);
        let mut writer = Exposition {
            out: &mut out,
            privacy: &self.privacy,
            labels: String::new(),
            bound: String::new(),
        };
        if let Some(reader) = &self.reader {
            let mut collected = self.collected.lock();
            reader.collect_into(&mut collected)?;
            writer.out.push_str(&self.target_info);
            for family in families(&collected) {
                writer.family(&family);
            }
        }
        for quantile in self.metrics.quantile_snapshots() {
            writer.quantile(&quantile);
        }
        self.last_len.store(out.len(), Ordering::Relaxed);
        Ok(out)
    }

    /// A snapshot of everything, timestamped now: the SDK's metrics, then the sketch
    /// quantiles as they come from the sketches. A collection the SDK refuses (after
    /// shutdown) is an empty snapshot.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut metrics = Vec::new();
        if let Some(reader) = &self.reader {
            let mut collected = self.collected.lock();
            match reader.collect_into(&mut collected) {
                Ok(()) => metrics
                    .extend(families(&collected).map(|family| snapshot_of(&family, &self.privacy))),
                Err(e) => ::tracing::debug!(error = %e, "metrics snapshot"),
            }
        }
        metrics.extend(self.metrics.quantile_snapshots().into_iter().map(|mut q| {
            for series in &mut q.series {
                scrub(&mut series.labels, &self.privacy);
            }
            q
        }));
        Snapshot {
            timestamp_ms: crate::clock::now_ms(),
            metrics,
        }
    }

    /// Flushes and stops the meter provider.
    pub(crate) fn shutdown(&self) -> Result<(), ExportError> {
        self.provider
            .shutdown()
            .map_err(|e| ExportError::Setup(format!("meter provider shutdown: {e}")))
    }
}

/// The manual reader, shared by the provider (which registers its pipeline with it) and
/// the [`MetricsPipeline`] (which collects through it).
#[derive(Debug, Clone)]
struct SharedReader(Arc<ManualReader>);

impl SharedReader {
    fn collect_into(&self, collected: &mut ResourceMetrics) -> Result<(), ExportError> {
        self.0
            .collect(collected)
            .map_err(|e| ExportError::Encode(format!("collecting the metrics: {e}")))
    }
}

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

/// The metrics exposed under one name: the kind and help of the first, and every
/// metric of that kind (a name is one instrument in practice; the SDK may report it in
/// more than one scope).
struct Family<'a> {
    name: Cow<'a, str>,
    kind: SnapshotKind,
    help: &'a str,
    metrics: Vec<&'a Metric>,
}

/// The families of `collected`, sorted by name. A metric whose kind the text format
/// cannot carry (an exponential histogram), or whose name is taken by another kind, is
/// left out with a debug line.
fn families(collected: &ResourceMetrics) -> impl Iterator<Item = Family<'_>> {
    let mut named: Vec<(Cow<'_, str>, SnapshotKind, &Metric)> = collected
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .filter_map(|metric| {
            let kind = kind_of(metric)?;
            let name = sanitize(metric.name(), true);
            let name = match kind {
                SnapshotKind::Counter => Cow::Owned(format!("{name}_total")),
                _ => name,
            };
            Some((name, kind, metric))
        })
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<Family<'_>> = Vec::new();
    for (name, kind, metric) in named {
        match out.last_mut() {
            Some(family) if family.name == name => {
                if family.kind == kind {
                    family.metrics.push(metric);
                } else {
                    ::tracing::debug!(%name, "a metric of another kind under a name already exposed: left out");
                }
            }
            _ => out.push(Family {
                name,
                kind,
                help: metric.description(),
                metrics: vec![metric],
            }),
        }
    }
    out.into_iter()
}

/// The Prometheus kind of a metric: a monotonic sum is a counter, any other sum or a
/// gauge is a gauge; `None` for an exponential histogram.
fn kind_of(metric: &Metric) -> Option<SnapshotKind> {
    fn of<T>(data: &MetricData<T>) -> Option<SnapshotKind> {
        match data {
            MetricData::Gauge(_) => Some(SnapshotKind::Gauge),
            MetricData::Sum(sum) if sum.is_monotonic() => Some(SnapshotKind::Counter),
            MetricData::Sum(_) => Some(SnapshotKind::Gauge),
            MetricData::Histogram(_) => Some(SnapshotKind::Histogram),
            MetricData::ExponentialHistogram(_) => None,
        }
    }
    match metric.data() {
        AggregatedMetrics::F64(data) => of(data),
        AggregatedMetrics::I64(data) => of(data),
        AggregatedMetrics::U64(data) => of(data),
    }
}

/// A number as the SDK holds it: integers are written as integers.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    UInt(u64),
    Float(f64),
}

impl Num {
    fn as_f64(self) -> f64 {
        match self {
            Num::Int(v) => v as f64,
            Num::UInt(v) => v as f64,
            Num::Float(v) => v,
        }
    }
}

/// The SDK's number types.
trait Numeric: Copy {
    fn num(self) -> Num;
}

impl Numeric for i64 {
    fn num(self) -> Num {
        Num::Int(self)
    }
}

impl Numeric for u64 {
    fn num(self) -> Num {
        Num::UInt(self)
    }
}

impl Numeric for f64 {
    fn num(self) -> Num {
        Num::Float(self)
    }
}

/// What is done with each data point of a metric.
trait Visit<'a> {
    fn number(&mut self, attributes: &mut dyn Iterator<Item = &'a KeyValue>, value: Num);
    fn histogram<T: Numeric>(&mut self, point: &'a HistogramDataPoint<T>);
}

/// Hands every data point of `metric` to `visit`.
fn visit<'a>(metric: &'a Metric, visit: &mut impl Visit<'a>) {
    fn points<'a, T: Numeric>(data: &'a MetricData<T>, visit: &mut impl Visit<'a>) {
        match data {
            MetricData::Gauge(gauge) => {
                for point in gauge.data_points() {
                    visit.number(&mut point.attributes(), point.value().num());
                }
            }
            MetricData::Sum(sum) => {
                for point in sum.data_points() {
                    visit.number(&mut point.attributes(), point.value().num());
                }
            }
            MetricData::Histogram(histogram) => {
                for point in histogram.data_points() {
                    visit.histogram(point);
                }
            }
            MetricData::ExponentialHistogram(_) => {}
        }
    }
    match metric.data() {
        AggregatedMetrics::F64(data) => points(data, visit),
        AggregatedMetrics::I64(data) => points(data, visit),
        AggregatedMetrics::U64(data) => points(data, visit),
    }
}

/// Writes families as Prometheus text into `out`.
struct Exposition<'o> {
    out: &'o mut String,
    privacy: &'o Privacy,
    /// The label text of the data point being written (`a="1",b="2"`), reused.
    labels: String,
    /// The text of the histogram bucket bound being written, reused.
    bound: String,
}

impl Exposition<'_> {
    /// A family's `# HELP` (when it has help) and `# TYPE` lines and its samples; a
    /// family without data points writes nothing.
    fn family<'a>(&mut self, family: &Family<'a>) {
        let mut lines = Samples {
            writer: self,
            name: &family.name,
            sorted: Vec::new(),
        };
        let start = lines.writer.out.len();
        header(lines.writer.out, &family.name, family.help, family.kind);
        let headed = lines.writer.out.len();
        for metric in &family.metrics {
            visit(metric, &mut lines);
        }
        if lines.writer.out.len() == headed {
            lines.writer.out.truncate(start);
        }
    }

    /// A sketch quantile family, as a gauge.
    fn quantile(&mut self, metric: &MetricSnapshot) {
        if metric.series.is_empty() {
            return;
        }
        header(self.out, &metric.name, &metric.help, SnapshotKind::Quantile);
        for series in &metric.series {
            if let SeriesValue::Number { value } = series.value {
                self.labels.clear();
                for (key, value) in &series.labels {
                    push_label(&mut self.labels, self.privacy, key, value);
                }
                sample(
                    self.out,
                    &metric.name,
                    "",
                    &self.labels,
                    None,
                    Num::Float(value),
                );
            }
        }
    }
}

/// The samples of one family.
struct Samples<'w, 'o, 'a> {
    writer: &'w mut Exposition<'o>,
    name: &'w str,
    /// The attributes of the data point being written, by key (reused).
    sorted: Vec<&'a KeyValue>,
}

impl<'a> Samples<'_, '_, 'a> {
    /// The label text of a data point, labels in the order of their names.
    fn labels(&mut self, attributes: &mut dyn Iterator<Item = &'a KeyValue>) {
        self.sorted.clear();
        self.sorted.extend(attributes);
        if !self.sorted.is_sorted_by(|a, b| a.key <= b.key) {
            self.sorted.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        }
        let writer = &mut *self.writer;
        writer.labels.clear();
        for kv in &self.sorted {
            push_label(
                &mut writer.labels,
                writer.privacy,
                &sanitize(kv.key.as_str(), false),
                &kv.value.as_str(),
            );
        }
    }
}

impl<'a> Visit<'a> for Samples<'_, '_, 'a> {
    fn number(&mut self, attributes: &mut dyn Iterator<Item = &'a KeyValue>, value: Num) {
        self.labels(attributes);
        let w = &mut *self.writer;
        sample(w.out, self.name, "", &w.labels, None, value);
    }

    fn histogram<T: Numeric>(&mut self, point: &'a HistogramDataPoint<T>) {
        self.labels(&mut point.attributes());
        let w = &mut *self.writer;
        let mut cumulative = 0u64;
        for (bound, count) in point.bounds().zip(point.bucket_counts()) {
            cumulative += count;
            w.bound.clear();
            push_number(&mut w.bound, Num::Float(bound));
            sample(
                w.out,
                self.name,
                "_bucket",
                &w.labels,
                Some(&w.bound),
                Num::UInt(cumulative),
            );
        }
        sample(
            w.out,
            self.name,
            "_bucket",
            &w.labels,
            Some("+Inf"),
            Num::UInt(point.count()),
        );
        sample(w.out, self.name, "_sum", &w.labels, None, point.sum().num());
        sample(
            w.out,
            self.name,
            "_count",
            &w.labels,
            None,
            Num::UInt(point.count()),
        );
    }
}

/// `# HELP` (when there is help) and `# TYPE` of a family.
fn header(out: &mut String, name: &str, help: &str, kind: SnapshotKind) {
    if !help.is_empty() {
        out.push_str("# HELP ");
        out.push_str(name);
        out.push(' ');
        for c in help.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('\n');
    }
    out.push_str("# TYPE ");
    out.push_str(name);
    out.push_str(match kind {
        SnapshotKind::Counter => " counter\n",
        SnapshotKind::Histogram => " histogram\n",
        SnapshotKind::Gauge | SnapshotKind::Quantile => " gauge\n",
    });
}

/// One sample line: `name{labels,le="bound"} value`.
fn sample(out: &mut String, name: &str, suffix: &str, labels: &str, le: Option<&str>, value: Num) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        out.push_str(labels);
        if let Some(le) = le {
            if !labels.is_empty() {
                out.push(',');
            }
            out.push_str("le=\"");
            out.push_str(le);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    push_number(out, value);
    out.push('\n');
}

/// Appends `key="value"` to a label list, the value scrubbed (`privacy`) and escaped.
fn push_label(labels: &mut String, privacy: &Privacy, key: &str, value: &str) {
    if !labels.is_empty() {
        labels.push(',');
    }
    labels.push_str(key);
    labels.push_str("=\"");
    let clean = privacy.label(key, value);
    for c in clean.as_deref().unwrap_or(value).chars() {
        match c {
            '\\' => labels.push_str("\\\\"),
            '"' => labels.push_str("\\\""),
            '\n' => labels.push_str("\\n"),
            c => labels.push(c),
        }
    }
    labels.push('"');
}

/// A number as the text format reads it: integers without a fraction, `+Inf`, `-Inf`,
/// `NaN`, other floats in their shortest exact form.
fn push_number(out: &mut String, value: Num) {
    match value {
        Num::Int(v) => out.push_str(itoa::Buffer::new().format(v)),
        Num::UInt(v) => out.push_str(itoa::Buffer::new().format(v)),
        Num::Float(v) if v.is_nan() => out.push_str("NaN"),
        Num::Float(v) if v.is_infinite() => out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" }),
        // Exact as an integer: written like one ("1", not "1.0"), as Prometheus's own
        // client libraries do (a histogram's `le="1"` keeps its series).
        Num::Float(v) if v.fract() == 0.0 && v.abs() < 1e15 => {
            out.push_str(itoa::Buffer::new().format(v as i64));
        }
        Num::Float(v) => out.push_str(ryu::Buffer::new().format_finite(v)),
    }
}

/// A name with every character Prometheus does not allow replaced by `_` (and `_` put
/// before a leading digit); `:` is allowed in metric names, not in label names.
fn sanitize(name: &str, metric: bool) -> Cow<'_, str> {
    let allowed = |i: usize, c: char| {
        c.is_ascii_alphabetic() || c == '_' || (metric && c == ':') || (i > 0 && c.is_ascii_digit())
    };
    if name.char_indices().all(|(i, c)| allowed(i, c)) && !name.is_empty() {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 1);
    if name.starts_with(|c: char| c.is_ascii_digit()) || name.is_empty() {
        out.push('_');
    }
    out.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' || (metric && c == ':') {
            c
        } else {
            '_'
        }
    }));
    Cow::Owned(out)
}

/// The `target_info` family: the resource's attributes as labels (names sanitized;
/// attributes whose names become the same are joined with `;`, ordered by their
/// original names), values scrubbed. Empty for an empty resource.
fn target_info(resource: &Resource, privacy: &Privacy) -> String {
    let mut labels: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (key, value) in resource.iter() {
        labels
            .entry(sanitize(key.as_str(), false).into_owned())
            .or_default()
            .push((key.to_string(), value.to_string()));
    }
    if labels.is_empty() {
        return String::new();
    }
    let mut text = String::new();
    for (name, mut values) in labels {
        values.sort();
        let joined = values
            .into_iter()
            .map(|(_, value)| value)
            .collect::<Vec<_>>()
            .join(";");
        push_label(&mut text, privacy, &name, &joined);
    }
    let mut out = String::new();
    header(
        &mut out,
        "target_info",
        "Target metadata",
        SnapshotKind::Gauge,
    );
    sample(&mut out, "target_info", "", &text, None, Num::UInt(1));
    out
}

/// The labels of a snapshot's series, scrubbed in place (`privacy`).
fn scrub(labels: &mut BTreeMap<String, String>, privacy: &Privacy) {
    for (key, value) in labels.iter_mut() {
        if let Some(clean) = privacy.label(key, value) {
            *value = clean;
        }
    }
}

/// A family as a [`MetricSnapshot`].
fn snapshot_of(family: &Family<'_>, privacy: &Privacy) -> MetricSnapshot {
    struct Series<'p> {
        series: Vec<SeriesSnapshot>,
        privacy: &'p Privacy,
    }
    impl Series<'_> {
        fn labels(
            &self,
            attributes: &mut dyn Iterator<Item = &KeyValue>,
        ) -> BTreeMap<String, String> {
            let mut labels = attributes
                .map(|kv| {
                    (
                        sanitize(kv.key.as_str(), false).into_owned(),
                        kv.value.as_str().into_owned(),
                    )
                })
                .collect();
            scrub(&mut labels, self.privacy);
            labels
        }
    }
    impl<'a> Visit<'a> for Series<'_> {
        fn number(&mut self, attributes: &mut dyn Iterator<Item = &'a KeyValue>, value: Num) {
            let labels = self.labels(attributes);
            self.series.push(SeriesSnapshot {
                labels,
                value: SeriesValue::Number {
                    value: value.as_f64(),
                },
            });
        }

        fn histogram<T: Numeric>(&mut self, point: &'a HistogramDataPoint<T>) {
            let labels = self.labels(&mut point.attributes());
            let buckets = point
                .bounds()
                .zip(point.bucket_counts())
                .scan(0u64, |cumulative, (bound, count)| {
                    *cumulative += count;
                    Some((bound, *cumulative))
                })
                .filter(|(bound, _)| bound.is_finite())
                .collect();
            self.series.push(SeriesSnapshot {
                labels,
                value: SeriesValue::Histogram {
                    count: point.count(),
                    sum: point.sum().num().as_f64(),
                    buckets,
                },
            });
        }
    }
    let mut series = Series {
        series: Vec::new(),
        privacy,
    };
    for metric in &family.metrics {
        visit(metric, &mut series);
    }
    MetricSnapshot {
        name: family.name.clone().into_owned(),
        kind: family.kind,
        help: family.help.to_owned(),
        series: series.series,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use opentelemetry::KeyValue;

    use super::*;

    fn pipeline_with(resource: Resource) -> MetricsPipeline {
        let config = crate::config::TelemetryConfig::default();
        MetricsPipeline::new(
            &config.metrics,
            resource,
            true,
            &crate::privacy::Privacy::new(&config),
        )
    }

    #[test]
    fn the_exposition_is_written_from_the_collected_data() {
        let pipeline = pipeline_with(
            Resource::builder_empty()
                .with_attributes([
                    KeyValue::new("service.name", "studio"),
                    KeyValue::new("host.arch", "x86_64"),
                ])
                .build(),
        );
        let metrics = pipeline.metrics();
        metrics.describe("exports_total", "Exports finished\\done\nsecond line");
        let exports = metrics.counter("exports_total").unwrap();
        exports.add(3, &[KeyValue::new("format", "mp4")]).unwrap();
        exports
            .add(1, &[KeyValue::new("format", "a\"b\\c\nd")])
            .unwrap();
        metrics.gauge("queue_depth").unwrap().set(2.5, &[]).unwrap();
        let histogram = metrics.histogram("frame_ms").unwrap();
        for (scene, value) in [("intro", 4.0), ("intro", 30.0), ("outro", 7.0)] {
            histogram
                .record(value, &[KeyValue::new("scene", scene)])
                .unwrap();
        }
        let text = pipeline.render().unwrap();
        for line in [
            "# HELP target_info Target metadata",
            "# TYPE target_info gauge",
            "target_info{host_arch=\"x86_64\",service_name=\"studio\"} 1",
            "# HELP exports_total Exports finished\\\\done\\nsecond line",
            "# TYPE exports_total counter",
            "exports_total{format=\"mp4\"} 3",
            "exports_total{format=\"a\\\"b\\\\c\\nd\"} 1",
            "# TYPE queue_depth gauge",
            "queue_depth 2.5",
            "# TYPE frame_ms histogram",
            "frame_ms_bucket{scene=\"intro\",le=\"5\"} 1",
            "frame_ms_bucket{scene=\"intro\",le=\"+Inf\"} 2",
            "frame_ms_sum{scene=\"intro\"} 34",
            "frame_ms_count{scene=\"intro\"} 2",
            "frame_ms_count{scene=\"outro\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in:\n{text}"
            );
        }
        // The buckets of one series are cumulative and in order.
        let intro: Vec<u64> = text
            .lines()
            .filter(|l| l.starts_with("frame_ms_bucket{scene=\"intro\""))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert!(intro.windows(2).all(|w| w[0] <= w[1]), "{intro:?}");
        // Each family is written once, its lines together.
        let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE")).collect();
        let mut unique = types.clone();
        unique.dedup();
        assert_eq!(types, unique);
        assert_eq!(text.matches("# TYPE exports_total").count(), 1, "{text}");
    }

    #[test]
    fn the_sketch_quantiles_are_gauges_and_an_empty_resource_has_no_target_info() {
        let pipeline = pipeline_with(Resource::builder_empty().build());
        let histogram = pipeline.metrics().histogram("render_ms").unwrap();
        for (scene, value) in [("outro", 90.0), ("intro", 10.0)] {
            histogram
                .record(value, &[KeyValue::new("scene", scene)])
                .unwrap();
        }
        let text = pipeline.render().unwrap();
        assert!(
            text.contains("# TYPE render_ms_p50 gauge\nrender_ms_p50 "),
            "{text}"
        );
        // Labels are written in the order of their names, whatever order they came in.
        assert!(
            text.contains("render_ms_count{scene=\"intro\"} 1"),
            "{text}"
        );
        assert!(!text.contains("target_info"), "{text}");
    }

    #[test]
    fn names_and_numbers_are_written_as_the_text_format_reads_them() {
        assert_eq!(sanitize("frames_total", true), "frames_total");
        assert_eq!(sanitize("a:b", true), "a:b");
        assert_eq!(sanitize("a:b", false), "a_b");
        assert_eq!(sanitize("service.name", false), "service_name");
        assert_eq!(sanitize("9lives", true), "_9lives");
        assert_eq!(sanitize("", false), "_");
        let text = |value| {
            let mut out = String::new();
            push_number(&mut out, value);
            out
        };
        assert_eq!(text(Num::UInt(u64::MAX)), "18446744073709551615");
        assert_eq!(text(Num::Int(-3)), "-3");
        assert_eq!(text(Num::Float(1.0)), "1");
        assert_eq!(text(Num::Float(0.005)), "0.005");
        assert_eq!(text(Num::Float(-2.5)), "-2.5");
        assert_eq!(text(Num::Float(f64::INFINITY)), "+Inf");
        assert_eq!(text(Num::Float(f64::NEG_INFINITY)), "-Inf");
        assert_eq!(text(Num::Float(f64::NAN)), "NaN");
        assert_eq!(text(Num::Float(1e20)).parse::<f64>().unwrap(), 1e20);
    }

    #[test]
    fn an_inactive_pipeline_writes_nothing_but_its_quantiles() {
        let config = crate::config::TelemetryConfig::default();
        let pipeline = MetricsPipeline::new(
            &config.metrics,
            Resource::builder_empty()
                .with_attribute(KeyValue::new("service.name", "studio"))
                .build(),
            false,
            &crate::privacy::Privacy::new(&config),
        );
        pipeline
            .metrics()
            .counter("clicks_total")
            .unwrap()
            .add(1, &[])
            .unwrap();
        assert_eq!(pipeline.render().unwrap(), "");
        assert!(pipeline.snapshot().metrics.is_empty());
    }

    #[test]
    fn a_series_no_longer_reported_is_gone_from_the_next_read() {
        let pipeline = pipeline_with(Resource::builder_empty().build());
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
