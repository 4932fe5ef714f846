//! What the app tells the engine about its own metrics: their descriptions and units
//! (`metrics.catalogue`: the `# HELP` text, the catalogue, a chart's axis) and the
//! charts of the dashboard's metrics view (`panels`). The engine knows only its own
//! metrics (`system_*`, `process_*`, `telemetry_*`); the app's come from here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A metric the app describes before its first use (`metrics.catalogue`).
///
/// # Examples
/// ```
/// use telemetry_engine::config::TelemetryConfig;
/// let cfg = TelemetryConfig::from_json(r#"{ "metrics": { "catalogue": [
///     { "name": "frames_rendered_total", "help": "Frames rendered", "unit": "frames" } ] } }"#)?;
/// assert_eq!(cfg.metrics.catalogue[0].unit.as_deref(), Some("frames"));
/// # Ok::<(), telemetry_engine::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricDescription {
    /// The name the app records under (a counter's may end in `_total` or not).
    pub name: String,
    /// What it measures: the exposition's `# HELP`, the catalogue's description.
    pub help: String,
    /// Unit of its values (`ms`, `bytes`, `percent`, `ratio`, `fps`, or any word).
    /// Default: read from the name's suffix (`_ms`, `_bytes`, …), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// One chart of the dashboard's metrics view (`panels`). Metrics the app records and
/// no panel shows get a default chart each (a counter's rate, a gauge's value, a
/// histogram's quantiles).
///
/// # Examples
/// ```
/// use telemetry_engine::config::{PanelKind, TelemetryConfig};
/// let cfg = TelemetryConfig::from_json(r#"{ "panels": [
///     { "section": "Render", "title": "Frame time", "kind": "quantiles",
///       "metric": "frame_render_ms" },
///     { "section": "Cache", "title": "Hit ratio", "kind": "ratio",
///       "metric": "cache_hits_total", "complement": "cache_misses_total" } ] }"#)?;
/// assert_eq!(cfg.panels[1].kind, PanelKind::Ratio);
/// # Ok::<(), telemetry_engine::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "bindings", ts(export, optional_fields))]
pub struct Panel {
    /// The group of charts it belongs to. Default `"Metrics"`.
    #[serde(default = "default_section")]
    pub section: String,
    /// Heading.
    pub title: String,
    /// How it draws its metric.
    pub kind: PanelKind,
    /// What it draws, as exposed: a gauge, a counter (ending in `_total`), a histogram's
    /// name, or for `ratio` the counter of hits.
    pub metric: String,
    /// Only the series with these labels. Default all.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Unit of the values. Default the metric's described unit, else its name's suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// For `ratio` only: the counter of misses. The chart shows, per interval,
    /// `metric / (metric + complement)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complement: Option<String>,
}

fn default_section() -> String {
    Panel::DEFAULT_SECTION.to_owned()
}

impl Panel {
    /// The section of panels that do not name one, and of the default panels.
    pub const DEFAULT_SECTION: &'static str = "Metrics";
    /// Panels a configuration may hold.
    pub const MAX_PANELS: usize = 64;
}

/// How a [`Panel`] draws its metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub enum PanelKind {
    /// A gauge's values, one line per label set.
    Value,
    /// A counter's per-second rate, one line per label set.
    Rate,
    /// A histogram's p50, p90 and p99.
    Quantiles,
    /// The share of `metric` in `metric + complement`, per interval (a hit ratio).
    Ratio,
}
