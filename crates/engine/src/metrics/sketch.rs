//! A lock-free quantile sketch with a relative error bound, and its time window.
//!
//! Values fall into logarithmic buckets of ratio `γ = (1 + α) / (1 − α)` with `α = 1%`
//! (the DDSketch scheme): any reported quantile is within 1% of a value that was
//! recorded at that rank, for values in `[1e-6, 1e9]`. Smaller positive values count as
//! the lowest bucket, larger ones as the highest; zero has its own bucket. Recording is
//! one `ln` and one relaxed atomic add, so the hot path never blocks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Relative accuracy of reported quantiles.
pub const RELATIVE_ERROR: f64 = 0.01;
const MIN_VALUE: f64 = 1e-6;
const MAX_VALUE: f64 = 1e9;

struct Layout {
    ln_gamma: f64,
    offset: i64,
    len: usize,
}

fn layout() -> Layout {
    let gamma = (1.0 + RELATIVE_ERROR) / (1.0 - RELATIVE_ERROR);
    let ln_gamma = gamma.ln();
    let lo = (MIN_VALUE.ln() / ln_gamma).ceil() as i64;
    let hi = (MAX_VALUE.ln() / ln_gamma).ceil() as i64;
    Layout {
        ln_gamma,
        offset: lo,
        // +1 for the zero bucket at index 0.
        len: (hi - lo + 2) as usize,
    }
}

/// Cumulative bucket counts of every value recorded since creation.
pub(crate) struct Sketch {
    ln_gamma: f64,
    offset: i64,
    counts: Box<[AtomicU64]>,
    window: Mutex<Window>,
}

struct Window {
    /// Counts at the start of the previous window.
    older: Vec<u64>,
    /// Counts at the start of the current window.
    newer: Vec<u64>,
    rotated_at: Instant,
}

impl Sketch {
    pub(crate) fn new() -> Self {
        let l = layout();
        Self {
            ln_gamma: l.ln_gamma,
            offset: l.offset,
            counts: (0..l.len).map(|_| AtomicU64::new(0)).collect(),
            window: Mutex::new(Window {
                older: vec![0; l.len],
                newer: vec![0; l.len],
                rotated_at: Instant::now(),
            }),
        }
    }

    /// Records a finite, non-negative value (the caller has checked).
    #[inline]
    pub(crate) fn record(&self, value: f64) {
        let index = if value <= 0.0 {
            0
        } else {
            let v = value.clamp(MIN_VALUE, MAX_VALUE);
            let i = (v.ln() / self.ln_gamma).ceil() as i64 - self.offset + 1;
            i.clamp(1, self.counts.len() as i64 - 1) as usize
        };
        self.counts[index].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Vec<u64> {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// The bucket's representative value: within `RELATIVE_ERROR` of every value in it.
    fn value_of(&self, index: usize) -> f64 {
        if index == 0 {
            return 0.0;
        }
        let i = index as i64 - 1 + self.offset;
        let gamma = self.ln_gamma.exp();
        2.0 * gamma.powf(i as f64) / (gamma + 1.0)
    }

    /// Quantiles of the values recorded in the last one to two `window`s; `None` when no
    /// value was recorded in that time.
    pub(crate) fn windowed_quantiles(
        &self,
        quantiles: &[f64],
        window: Duration,
    ) -> Option<Vec<f64>> {
        let now = self.snapshot();
        let mut w = self.window.lock();
        if w.rotated_at.elapsed() >= window {
            let newer = std::mem::replace(&mut w.newer, now.clone());
            w.older = newer;
            w.rotated_at = Instant::now();
        }
        let delta: Vec<u64> = now
            .iter()
            .zip(&w.older)
            .map(|(n, o)| n.saturating_sub(*o))
            .collect();
        drop(w);
        self.quantiles_of(&delta, quantiles)
    }

    /// Quantiles of every value recorded since creation.
    #[cfg(test)]
    pub(crate) fn quantiles(&self, quantiles: &[f64]) -> Option<Vec<f64>> {
        self.quantiles_of(&self.snapshot(), quantiles)
    }

    fn quantiles_of(&self, counts: &[u64], quantiles: &[f64]) -> Option<Vec<f64>> {
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        Some(
            quantiles
                .iter()
                .map(|q| {
                    // Rank of the quantile among `total` values, 0-based.
                    let rank = (q * (total - 1) as f64).round() as u64;
                    let mut seen = 0u64;
                    let index = counts
                        .iter()
                        .position(|c| {
                            seen += c;
                            seen > rank
                        })
                        .unwrap_or(counts.len() - 1);
                    self.value_of(index)
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(sorted: &[f64], q: f64) -> f64 {
        sorted[(q * (sorted.len() - 1) as f64).round() as usize]
    }

    #[test]
    fn quantiles_are_within_the_stated_relative_error() {
        let sketch = Sketch::new();
        // A skewed distribution over six orders of magnitude.
        let mut values: Vec<f64> = (1..=20_000).map(|i| 0.01 * (i as f64).powf(1.7)).collect();
        for v in &values {
            sketch.record(*v);
        }
        values.sort_by(f64::total_cmp);
        let qs = [0.01, 0.5, 0.9, 0.95, 0.99, 0.999];
        let got = sketch.quantiles(&qs).unwrap();
        for (q, g) in qs.iter().zip(got) {
            let want = exact(&values, *q);
            let err = (g - want).abs() / want;
            assert!(
                err <= RELATIVE_ERROR + 1e-9,
                "q={q} got={g} want={want} err={err}"
            );
        }
    }

    #[test]
    fn zero_and_out_of_range_values() {
        let sketch = Sketch::new();
        sketch.record(0.0);
        assert_eq!(sketch.quantiles(&[0.5]).unwrap(), vec![0.0]);
        sketch.record(1e12);
        sketch.record(1e12);
        let top = sketch.quantiles(&[1.0]).unwrap()[0];
        assert!((top - MAX_VALUE).abs() / MAX_VALUE <= RELATIVE_ERROR);
    }

    #[test]
    fn empty_sketch_has_no_quantiles() {
        assert!(Sketch::new().quantiles(&[0.5]).is_none());
        assert!(Sketch::new()
            .windowed_quantiles(&[0.5], Duration::from_secs(1))
            .is_none());
    }

    #[test]
    fn the_window_forgets_old_values() {
        let sketch = Sketch::new();
        for _ in 0..100 {
            sketch.record(1000.0);
        }
        // A zero window rotates on every read: after two reads the old values are gone.
        let w = Duration::ZERO;
        assert!(sketch.windowed_quantiles(&[0.5], w).is_some());
        assert!(sketch.windowed_quantiles(&[0.5], w).is_none());
        for _ in 0..10 {
            sketch.record(5.0);
        }
        let p50 = sketch.windowed_quantiles(&[0.5], w).unwrap()[0];
        assert!((p50 - 5.0).abs() / 5.0 <= RELATIVE_ERROR, "{p50}");
    }
}
