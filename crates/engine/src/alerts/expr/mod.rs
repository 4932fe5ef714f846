//! Alert conditions: a PromQL subset parsed by `promql-parser` and evaluated on the
//! in-app [`SeriesStore`](crate::store::SeriesStore).
//!
//! A [`Condition`] is evaluated at one instant, like the expression of a Prometheus
//! alerting rule: the result is an instant vector whose elements are the alert instances
//! (their labels and values), and an empty result means "not firing". Metric names
//! (`__name__`) never appear in the result labels.
//!
//! # Supported
//! - Number literals, parentheses, unary minus.
//! - Instant selectors such as `api_requests_total{endpoint="/upload", method!="GET",
//!   code=~"5..", host!~"test-.*"}` (regexes are fully anchored; `{__name__=~"…"}` works
//!   too): the newest point of each series within the 5-minute lookback window.
//! - Range selectors such as `api_requests_total[5m]`, as function arguments: the points in
//!   `(now - 5m, now]`.
//! - Functions `rate`, `increase`, `delta` (extrapolated to the window edges and, except
//!   `delta`, with counter resets, like Prometheus; at least two points are needed), `irate`,
//!   `avg_over_time`, `min_over_time`, `max_over_time`, `sum_over_time`, `count_over_time`,
//!   `quantile_over_time`, `abs`, `clamp_min`, `clamp_max`, `vector` and `scalar`.
//! - Aggregations `sum`, `avg`, `min`, `max`, `count`, `topk` and `bottomk`, with `by (…)` or
//!   `without (…)`.
//! - Arithmetic `+ - * / % ^ atan2`, comparisons `== != > < >= <=` (filtering, or 0 / 1 with
//!   `bool`) and set operators `and`, `or`, `unless`, between scalars and vectors;
//!   vector-vector operations match one-to-one on all labels, or on those of `on (…)` /
//!   all but those of `ignoring (…)`.
//!
//! # Short forms
//! When an instant selector names a series that the store does not hold, two short forms
//! are tried (the selector's label matchers apply to the expansion):
//! - `<base>_avg` is `rate(<base>_sum[5m]) / rate(<base>_count[5m])`, the mean of the
//!   histogram `<base>` over the last 5 minutes (`video_processing_duration_ms_avg`);
//! - `<base>_rate_<duration>` is `rate(<base>_total[<duration>])`, or
//!   `rate(<base>[<duration>])` when the store holds no `<base>_total` series
//!   (`api_errors_rate_5m`).
//!
//! # Not supported
//! [`Condition::parse`] rejects the rest of PromQL: `offset` and `@` modifiers, subqueries,
//! `group_left` / `group_right`, `fill` modifiers, `or` inside label matchers, string
//! literals, other functions and aggregations, and conditions whose result is not an
//! instant vector (a scalar such as `1 > bool 0`: use `vector(…)`).
//!
//! # Cargo feature
//! The parser and the evaluator are built with the feature `alerts` (on by default).
//! Without it [`Condition::parse`] refuses every condition with
//! [`ExprError::NeedsFeature`], so a config with rules names the feature it needs.

use std::collections::BTreeMap;

use crate::store::SeriesStore;

#[cfg(feature = "alerts")]
mod eval;
#[cfg(feature = "alerts")]
mod guard;

/// A condition as parsed: a PromQL expression.
#[cfg(feature = "alerts")]
type Parsed = promql_parser::parser::Expr;
/// Without the `alerts` feature no condition parses, so none is ever held.
#[cfg(not(feature = "alerts"))]
#[derive(Debug, Clone)]
enum Parsed {}

/// A parsed and checked alert condition.
#[derive(Debug, Clone)]
pub struct Condition {
    source: String,
    expr: Parsed,
}

impl Condition {
    /// Parses and checks a condition: syntax errors and unsupported features are reported
    /// here, never at evaluation time. The result of the condition must be an instant
    /// vector: a scalar condition (`1 > bool 0`) is rejected.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::alerts::expr::{Condition, ExprError};
    /// use telemetry_engine::config::MetricsConfig;
    /// use telemetry_engine::metrics::{
    ///     MetricSnapshot, SeriesSnapshot, SeriesValue, Snapshot, SnapshotKind,
    /// };
    /// use telemetry_engine::store::SeriesStore;
    ///
    /// let condition = Condition::parse("system_cpu_usage_percent > 80")?;
    /// let store = SeriesStore::new(&MetricsConfig::default());
    /// store.ingest(&Snapshot { timestamp_ms: 1_000, metrics: vec![MetricSnapshot {
    ///     name: "system_cpu_usage_percent".into(), kind: SnapshotKind::Gauge, help: String::new(),
    ///     series: vec![SeriesSnapshot { labels: Default::default(), value: SeriesValue::Number { value: 93.0 } }],
    /// }]});
    /// let firing = condition.eval(&store, 2_000)?;
    /// assert_eq!(firing.len(), 1);
    /// assert_eq!(firing[0].value, 93.0);
    ///
    /// assert!(matches!(Condition::parse("rate(x[5m]"), Err(ExprError::Parse { .. })));
    /// assert!(matches!(Condition::parse("x offset 5m"), Err(ExprError::Unsupported { .. })));
    /// # Ok::<(), ExprError>(())
    /// ```
    pub fn parse(source: &str) -> Result<Self, ExprError> {
        #[cfg(feature = "alerts")]
        return Ok(Self {
            source: source.to_owned(),
            expr: eval::parse(source)?,
        });
        #[cfg(not(feature = "alerts"))]
        return Err(ExprError::NeedsFeature {
            expr: source.to_owned(),
        });
    }

    /// The text the condition was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The series names the condition reads: each selector's name, and what a short
    /// form expands to (`x_avg` reads `x_sum` and `x_count`; `x_rate_5m` reads
    /// `x_total` or `x`). Selectors that match names by regex are not listed.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::alerts::Condition;
    /// let c = Condition::parse("video_processing_duration_ms_avg > 30000")?;
    /// assert!(c.series_names().contains(&"video_processing_duration_ms_sum".to_owned()));
    /// # Ok::<(), telemetry_engine::alerts::ExprError>(())
    /// ```
    pub fn series_names(&self) -> Vec<String> {
        #[cfg(feature = "alerts")]
        return eval::series_names(&self.expr);
        #[cfg(not(feature = "alerts"))]
        match self.expr {}
    }

    /// Evaluates the condition at `now_ms` (unix ms). Parsing bounds the expression's
    /// depth, so evaluation fits the stack of any async worker. Returns the elements of the resulting
    /// instant vector, sorted by labels, like a Prometheus alerting rule: each element is one
    /// alert instance (its labels) with its value. A comparison without `bool` filters, so an
    /// empty result means "not firing".
    pub fn eval(&self, store: &SeriesStore, now_ms: i64) -> Result<Vec<Sample>, ExprError> {
        #[cfg(feature = "alerts")]
        return eval::evaluate(&self.expr, store, now_ms);
        #[cfg(not(feature = "alerts"))]
        {
            let _ = (store, now_ms);
            match self.expr {}
        }
    }
}

/// One element of an instant vector: an alert instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Its labels, without `__name__`.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// Why a condition cannot be parsed or evaluated.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum ExprError {
    /// The text is not valid PromQL.
    #[error("cannot parse {expr:?}: {message}")]
    Parse {
        /// The condition's text.
        expr: String,
        /// The parser's message, with the position of the problem.
        message: String,
    },
    /// Valid PromQL outside the supported subset.
    #[error("unsupported in alert conditions: {what}")]
    Unsupported {
        /// The feature, e.g. "function `histogram_quantile`" or "`offset` modifier".
        what: String,
    },
    /// A build without the Cargo feature `alerts` evaluates no condition.
    #[error("alert conditions need the Cargo feature `alerts` (of tauri-plugin-opentelemetry or telemetry-engine): {expr:?}")]
    NeedsFeature {
        /// The condition's text.
        expr: String,
    },
    /// The data cannot be evaluated, e.g. vector matching found duplicate series.
    #[error("cannot evaluate: {message}")]
    Eval {
        /// What went wrong.
        message: String,
    },
}

#[cfg(all(test, not(feature = "alerts")))]
mod tests {
    use super::*;

    #[test]
    fn without_the_feature_every_condition_is_refused_naming_it() {
        let err = Condition::parse("x > 1").unwrap_err();
        assert!(matches!(&err, ExprError::NeedsFeature { expr } if expr == "x > 1"));
        assert!(
            err.to_string().contains("the Cargo feature `alerts`"),
            "{err}"
        );
    }
}
