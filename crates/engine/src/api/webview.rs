//! The webview's own corner of the metrics: what `record_metric` may create.
//!
//! A page with the write permission records into names of its own (`webview_` is put in
//! front of every name that does not start with it), so it can neither take over an app
//! metric (`frame_processing_duration_ms`, `system_health_status`) nor declare one of the
//! app's names with another kind. It has a budget of its own: at most
//! [`MAX_WEBVIEW_METRICS`] names and [`MAX_WEBVIEW_SERIES`] label sets in all, so it can
//! neither use up `max_metrics` nor grow the app's memory without bound; and a webview
//! counter never passes [`MAX_WEBVIEW_COUNTER`], so it cannot wrap.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash as _, Hasher as _};

use parking_lot::Mutex;

use super::ApiError;

/// The prefix of every metric the webview records.
pub(crate) const WEBVIEW_PREFIX: &str = "webview_";

/// Distinct metric names the webview may create.
pub(crate) const MAX_WEBVIEW_METRICS: usize = 64;

/// Label sets (series) the webview may create, over all its metrics.
pub const MAX_WEBVIEW_SERIES: usize = 1_000;

/// The largest total a webview counter series reaches (2^53, JavaScript's largest exact
/// integer); an increment past it is refused.
pub(crate) const MAX_WEBVIEW_COUNTER: u64 = 1 << 53;

/// The webview's metric names and series, with each counter series' total.
#[derive(Default)]
pub(crate) struct WebviewBudget {
    /// Name → label-set hash → counter total (0 for gauges and histograms).
    metrics: Mutex<HashMap<String, HashMap<u64, u64>>>,
}

/// The name the webview's `name` is recorded under.
pub(crate) fn webview_name(name: &str) -> String {
    if name.starts_with(WEBVIEW_PREFIX) {
        name.to_owned()
    } else {
        format!("{WEBVIEW_PREFIX}{name}")
    }
}

impl WebviewBudget {
    /// Records one measurement of `name` (already prefixed) with `labels` through
    /// `record`, adding `increment` to the series' counter total. Refuses what would pass
    /// a budget; a measurement `record` refuses (a bad name, NaN) takes nothing from it.
    pub(crate) fn record(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        increment: u64,
        record: impl FnOnce() -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        let mut hasher = rustc_hash::FxHasher::default();
        labels.hash(&mut hasher);
        let series = hasher.finish();
        let mut metrics = self.metrics.lock();
        let before = metrics.get(name).map(|sets| sets.get(&series).copied());
        self.admit(&mut metrics, name, series, increment)?;
        if let Err(e) = record() {
            // Put the budget back as it was.
            match before {
                None => {
                    metrics.remove(name);
                }
                Some(None) => {
                    if let Some(sets) = metrics.get_mut(name) {
                        sets.remove(&series);
                    }
                }
                Some(Some(total)) => {
                    if let Some(sets) = metrics.get_mut(name) {
                        sets.insert(series, total);
                    }
                }
            }
            return Err(e);
        }
        Ok(())
    }

    fn admit(
        &self,
        metrics: &mut HashMap<String, HashMap<u64, u64>>,
        name: &str,
        series: u64,
        increment: u64,
    ) -> Result<(), ApiError> {
        let total_series: usize = metrics.values().map(HashMap::len).sum();
        let known = metrics.len();
        let sets = match metrics.entry(name.to_owned()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(_) if known >= MAX_WEBVIEW_METRICS => {
                return Err(ApiError::bad_argument(
                    "record.name",
                    format!(
                        "the webview has created {MAX_WEBVIEW_METRICS} metrics, its limit; \
                         record into one of them, with labels"
                    ),
                ))
            }
            Entry::Vacant(e) => e.insert(HashMap::new()),
        };
        let total = match sets.get_mut(&series) {
            Some(total) => total,
            None if total_series >= MAX_WEBVIEW_SERIES => {
                return Err(ApiError::bad_argument(
                    "record.labels",
                    format!(
                        "the webview has created {MAX_WEBVIEW_SERIES} series, its limit; reuse \
                         label values instead of making new ones"
                    ),
                ))
            }
            None => sets.entry(series).or_insert(0),
        };
        match total.checked_add(increment) {
            Some(next) if next <= MAX_WEBVIEW_COUNTER => {
                *total = next;
                Ok(())
            }
            _ => Err(ApiError::bad_argument(
                "record.value",
                format!(
                    "the counter would pass {MAX_WEBVIEW_COUNTER}, where it would lose precision"
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(value: &str) -> BTreeMap<String, String> {
        [("page".to_owned(), value.to_owned())].into()
    }

    #[test]
    fn names_get_the_prefix_once() {
        assert_eq!(webview_name("clicks_total"), "webview_clicks_total");
        assert_eq!(webview_name("webview_clicks_total"), "webview_clicks_total");
        assert_eq!(
            webview_name("system_health_status"),
            "webview_system_health_status"
        );
    }

    fn ok() -> Result<(), ApiError> {
        Ok(())
    }

    #[test]
    fn metrics_series_and_counter_totals_are_bounded() {
        let budget = WebviewBudget::default();
        for i in 0..MAX_WEBVIEW_METRICS {
            budget
                .record(&format!("webview_m{i}"), &labels("a"), 0, ok)
                .unwrap();
        }
        let err = budget
            .record("webview_more", &labels("a"), 0, ok)
            .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("record.name: the webview has created 64"));
        // Existing names still take measurements, until the series budget is used.
        for i in 1..=(MAX_WEBVIEW_SERIES - MAX_WEBVIEW_METRICS) {
            budget
                .record("webview_m0", &labels(&i.to_string()), 1, ok)
                .unwrap();
        }
        let err = budget
            .record("webview_m1", &labels("new"), 1, ok)
            .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("record.labels: the webview has created 1000"));
        budget
            .record("webview_m1", &labels("a"), MAX_WEBVIEW_COUNTER, ok)
            .unwrap();
        let err = budget
            .record("webview_m1", &labels("a"), 1, ok)
            .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("record.value: the counter would pass"));
    }

    #[test]
    fn a_refused_measurement_takes_nothing_from_the_budget() {
        let budget = WebviewBudget::default();
        let refuse = || Err(ApiError::bad_argument("record.value", "NaN"));
        for i in 0..(2 * MAX_WEBVIEW_METRICS) {
            budget
                .record(&format!("webview_bad{i}"), &labels("a"), 5, refuse)
                .unwrap_err();
        }
        budget
            .record("webview_good", &labels("a"), MAX_WEBVIEW_COUNTER, ok)
            .unwrap();
    }
}
