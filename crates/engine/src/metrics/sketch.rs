//! A lock-free quantile sketch with a relative error bound, and its time window.
//!
//! A log-linear layout (as in HdrHistogram): each power of two in `[2^-20, 2^30]`
//! (about `1e-6` to `1e9`) is split into 64 equal sub-buckets, so a bucket's upper bound
//! is at most `1 + 1/64` times its lower bound and its midpoint is within `1/128 ≈ 0.78%`
//! of any value in it: every reported quantile is within 1% ([`RELATIVE_ERROR`]) of a
//! value recorded at that rank. Smaller positive values count in the lowest bucket,
//! larger ones in the highest; zero has its own bucket. Finding the bucket reads the
//! float's exponent and top mantissa bits (no logarithm), and recording is one relaxed
//! atomic add, so the hot path never blocks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Relative accuracy of reported quantiles (the layout gives 0.78%).
pub const RELATIVE_ERROR: f64 = 0.01;
const SUB_BITS: u32 = 6;
const SUB_BUCKETS: i64 = 1 << SUB_BITS;
const MIN_EXP: i64 = -20;
const MAX_EXP: i64 = 30;
/// Zero bucket, then 64 per power of two.
const LEN: usize = 1 + ((MAX_EXP - MIN_EXP) * SUB_BUCKETS) as usize;

/// Cumulative bucket counts of every value recorded since creation.
pub(crate) struct Sketch {
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
        Self {
            counts: (0..LEN).map(|_| AtomicU64::new(0)).collect(),
            window: Mutex::new(Window {
                older: vec![0; LEN],
                newer: vec![0; LEN],
                rotated_at: Instant::now(),
            }),
        }
    }

    /// Records a finite, non-negative value (the caller has checked).
    #[inline]
    pub(crate) fn record(&self, value: f64) {
        self.counts[index_of(value)].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Vec<u64> {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// The bucket's midpoint: within 0.78% of every value in it.
    fn value_of(&self, index: usize) -> f64 {
        if index == 0 {
            return 0.0;
        }
        let i = index as i64 - 1;
        let exp = MIN_EXP + i / SUB_BUCKETS;
        let sub = (i % SUB_BUCKETS) as f64;
        2f64.powi(exp as i32) * (1.0 + (sub + 0.5) / SUB_BUCKETS as f64)
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

/// The bucket of `value` (finite, `>= 0`: the callers have checked): for a positive
/// value, its biased exponent and top mantissa bits read as one number, shifted so that
/// `2^MIN_EXP` is bucket 1 and clamped to the table; zero (either sign) is bucket 0.
#[inline]
fn index_of(value: f64) -> usize {
    let bits = value.to_bits() & !(1 << 63);
    let top = (bits >> (52 - SUB_BITS)) as i64;
    let index = top - ((MIN_EXP + 1023) << SUB_BITS) + 1;
    let lowest = i64::from(bits != 0);
    index.clamp(lowest, LEN as i64 - 1) as usize
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
    fn every_value_maps_to_a_bucket_whose_midpoint_is_within_the_bound() {
        let sketch = Sketch::new();
        let mut v = 1e-6;
        while v < 1e9 {
            let mid = sketch.value_of(index_of(v));
            let err = (mid - v).abs() / v;
            assert!(err <= 1.0 / 128.0 + 1e-12, "v={v} mid={mid} err={err}");
            v *= 1.000_7;
        }
    }

    #[test]
    fn zero_and_out_of_range_values() {
        assert_eq!(index_of(0.0), 0);
        assert_eq!(index_of(-0.0), 0);
        assert_eq!(index_of(f64::MIN_POSITIVE / 2.0), 1);
        assert_eq!(index_of(2f64.powi(MIN_EXP as i32)), 1);
        assert_eq!(index_of(2f64.powi(MAX_EXP as i32) * 0.999), LEN - 1);
        assert_eq!(index_of(f64::MAX), LEN - 1);
        let sketch = Sketch::new();
        sketch.record(0.0);
        assert_eq!(sketch.quantiles(&[0.5]).unwrap(), vec![0.0]);
        sketch.record(1e12);
        sketch.record(1e12);
        let top = sketch.quantiles(&[1.0]).unwrap()[0];
        let max = 2f64.powi(MAX_EXP as i32);
        assert!((top - max).abs() / max <= RELATIVE_ERROR, "{top}");
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
