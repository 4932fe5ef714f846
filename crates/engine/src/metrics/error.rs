/// Why a measurement or an instrument was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// The name breaks the naming rules.
    #[error("metric name {name:?} is invalid: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The name is already used by an instrument of another kind.
    #[error("metric {name:?} is already a {existing}; it cannot also be a {requested}")]
    KindConflict {
        /// The name.
        name: String,
        /// Kind it has.
        existing: &'static str,
        /// Kind asked for.
        requested: &'static str,
    },
    /// An observed gauge was asked for under a name an instrument already has.
    #[error("metric {name:?} already exists; an observed gauge needs a name of its own")]
    AlreadyExists {
        /// The name.
        name: String,
    },
    /// The value is NaN or infinite.
    #[error("metric {metric:?}: value {value} is not a finite number")]
    NonFinite {
        /// The metric.
        metric: String,
        /// The value.
        value: f64,
    },
    /// A histogram got a negative value.
    #[error("metric {metric:?}: histogram value {value} is negative; histograms take values >= 0")]
    Negative {
        /// The metric.
        metric: String,
        /// The value.
        value: f64,
    },
    /// Too many attributes on one measurement.
    #[error("metric {metric:?}: {count} attributes given, at most {max} allowed (metrics.max_attributes_per_measurement)")]
    TooManyAttributes {
        /// The metric.
        metric: String,
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An attribute key cannot be a Prometheus label name (empty, a digit first, `:`,
    /// `__` first, or a label the exposition writes itself such as `le`).
    #[error("metric {metric:?}: attribute key {key:?} is invalid: {reason}")]
    InvalidAttributeKey {
        /// The metric.
        metric: String,
        /// The key.
        key: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The number of distinct metrics reached its limit.
    #[error("metric {name:?} refused: {max} metrics already exist (metrics.max_metrics)")]
    TooManyMetrics {
        /// The refused name.
        name: String,
        /// The limit.
        max: usize,
    },
}
