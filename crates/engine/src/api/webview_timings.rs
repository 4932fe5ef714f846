//! UI responsiveness from the webview, as WebKitGTK, WKWebView and WebView2 all measure
//! it: the gaps between animation frames while the page is visible, long tasks where the
//! browser reports them (`PerformanceObserver`), and page load timings. The plugin's init
//! script reports them every few seconds; they are recorded per window as the histograms
//! `webview_frame_interval_ms{window}`, `webview_long_task_ms{window}` and
//! `webview_page_load_ms{window,phase}` (with their quantiles, as every histogram).
//!
//! Bounded like every webview write: at most [`MAX_TIMINGS`] values of each kind per
//! report, each finite and at most [`MAX_TIMING_MS`]; load phases from a fixed list; and
//! each report takes one record from the window's log budget, so a flooding page is cut
//! the same way.

use std::collections::BTreeMap;

use opentelemetry::KeyValue;
use serde::Deserialize;

use super::webview_logs::WebviewLogs;
use super::ApiError;
use crate::metrics::Metrics;

/// Values of each kind one report may carry (about 16 s of frames at 60 Hz).
pub const MAX_TIMINGS: usize = 1000;
/// The longest interval or task taken, in ms (10 minutes).
pub const MAX_TIMING_MS: f64 = 600_000.0;
/// The page load phases, in ms from the start of navigation.
pub const LOAD_PHASES: [&str; 6] = [
    "responseEnd",
    "domInteractive",
    "domContentLoaded",
    "load",
    "firstPaint",
    "firstContentfulPaint",
];

/// The histograms of this module, which the webview's `record_metric` may not write.
pub(crate) const RESERVED: [&str; 3] = [
    "webview_frame_interval_ms",
    "webview_long_task_ms",
    "webview_page_load_ms",
];

/// What a window measured since its last report.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct UiTimings {
    /// Gaps between animation frames (ms), while the page was visible.
    #[serde(default)]
    pub frame_intervals_ms: Vec<f64>,
    /// Long tasks (ms): main-thread work of 50 ms or more.
    #[serde(default)]
    pub long_tasks_ms: Vec<f64>,
    /// Page load phases (ms from the start of navigation), once per page.
    #[serde(default)]
    #[cfg_attr(feature = "bindings", ts(optional))]
    pub page_load_ms: Option<BTreeMap<String, f64>>,
}

/// Checks `values` (the field `field`): at most [`MAX_TIMINGS`], each finite, from 0 to
/// [`MAX_TIMING_MS`].
fn check(field: &str, values: &[f64]) -> Result<(), ApiError> {
    if values.len() > MAX_TIMINGS {
        return Err(ApiError::bad_argument(
            field,
            format!("{} values, at most {MAX_TIMINGS} per report", values.len()),
        ));
    }
    match values
        .iter()
        .position(|v| !(v.is_finite() && (0.0..=MAX_TIMING_MS).contains(v)))
    {
        Some(i) => Err(ApiError::bad_argument(
            &format!("{field}[{i}]"),
            format!(
                "{} is not a duration from 0 to {MAX_TIMING_MS} ms",
                values[i]
            ),
        )),
        None => Ok(()),
    }
}

/// Checks `timings` and records them for `window`. Returns `false` when the window's
/// budget was spent: nothing was recorded, and the drop was counted.
pub(crate) fn record(
    metrics: &Metrics,
    budget: &WebviewLogs,
    window: &str,
    timings: &UiTimings,
) -> Result<bool, ApiError> {
    check("timings.frameIntervalsMs", &timings.frame_intervals_ms)?;
    check("timings.longTasksMs", &timings.long_tasks_ms)?;
    let load = timings.page_load_ms.clone().unwrap_or_default();
    for (phase, ms) in &load {
        if !LOAD_PHASES.contains(&phase.as_str()) {
            return Err(ApiError::bad_argument(
                "timings.pageLoadMs",
                format!("{phase:?} is not one of {}", LOAD_PHASES.join(", ")),
            ));
        }
        check(&format!("timings.pageLoadMs.{phase}"), &[*ms])?;
    }
    if !budget.admit_counted(window) {
        return Ok(false);
    }
    let label = KeyValue::new("window", window.to_owned());
    for (name, values) in [
        (RESERVED[0], &timings.frame_intervals_ms),
        (RESERVED[1], &timings.long_tasks_ms),
    ] {
        if values.is_empty() {
            continue;
        }
        let histogram = metrics
            .histogram(name)?
            .bind(std::slice::from_ref(&label))?;
        for value in values {
            histogram.record(*value)?;
        }
    }
    for (phase, ms) in load {
        metrics.record(
            RESERVED[2],
            ms,
            &[label.clone(), KeyValue::new("phase", phase)],
        )?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(metrics: &Metrics) -> WebviewLogs {
        let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder().build();
        WebviewLogs::new(
            opentelemetry::logs::LoggerProvider::logger(&provider, "webview"),
            metrics,
        )
        .unwrap()
    }

    #[test]
    fn frames_long_tasks_and_load_are_recorded_and_bad_values_named() {
        let metrics = Metrics::detached();
        let budget = budget(&metrics);
        let timings = UiTimings {
            frame_intervals_ms: vec![16.6, 16.7, 250.0],
            long_tasks_ms: vec![120.0],
            page_load_ms: Some([("load".to_string(), 840.0)].into()),
        };
        assert!(record(&metrics, &budget, "main", &timings).unwrap());
        let bad = |t: UiTimings| {
            record(&metrics, &budget, "main", &t)
                .unwrap_err()
                .to_string()
        };
        assert!(bad(UiTimings {
            frame_intervals_ms: vec![16.0, f64::NAN],
            ..UiTimings::default()
        })
        .contains("timings.frameIntervalsMs[1]"));
        assert!(bad(UiTimings {
            long_tasks_ms: vec![1.0; MAX_TIMINGS + 1],
            ..UiTimings::default()
        })
        .contains("timings.longTasksMs"));
        assert!(bad(UiTimings {
            page_load_ms: Some([("paint".to_string(), 1.0)].into()),
            ..UiTimings::default()
        })
        .contains("timings.pageLoadMs"));
    }
}
