//! Which traces the trace store keeps under load.
//!
//! The store keeps every trace while at most `max_traces_per_second` end. It measures
//! the rate over windows of a second or more, and while it is higher keeps a share of the
//! traces chosen from the trace id, `max_traces_per_second / rate`, so that the threads
//! ending spans spend on the store what that many traces a second cost, however many end.
//! A trace passed over costs a look at its id and an atomic load.
//!
//! The rate is counted on the traces kept by their id alone (`kept / share`: ids are
//! random), so a trace passed over touches nothing shared. The clock is read for about
//! one root in [`CLOCK_EVERY`], chosen from the id as well, and a window closes at the
//! first such reading after it ends: a burst is seen within a few dozen traces, and the
//! end of one within a second or so (longer when traces end only a few a second, which
//! passes over few).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::trace::TraceId;

/// The shortest window the rate is measured over.
const WINDOW: Duration = Duration::from_secs(1);

/// About one root in this many reads the clock.
pub(super) const CLOCK_EVERY: u64 = 64;

/// The share of traces kept and an estimate of those passed over, from
/// [`TraceStore::load`](super::TraceStore::load).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceStoreLoad {
    /// The share of traces kept, `0.0..=1.0` (`1.0`: every trace).
    pub kept_share: f64,
    /// Traces passed over so far because of the rate, estimated from those kept and the
    /// share (updated as each window of a second or more closes). Failed spans are never
    /// passed over.
    pub passed_over: u64,
}

/// What the store's threads share about the load, read without the store's lock.
pub(super) struct Load {
    /// Traces a second kept in full.
    per_second: f64,
    /// A trace is kept when its mixed id is at most this (`u64::MAX`: every trace).
    threshold: AtomicU64,
    /// When the current window may close, on `clock`.
    window_end: AtomicU64,
    /// Traces waiting for their root that hold a failed span of a trace passed over
    /// (their root is kept): while none, a root passed over does not take the lock.
    rescued: AtomicUsize,
    clock: Clock,
}

/// The part of the load the store's lock guards: the window being measured.
#[derive(Debug, Default)]
pub(super) struct Window {
    /// When it started, on the load's clock.
    start: u64,
    /// Roots kept by their id alone since it started.
    kept: u64,
    /// Roots passed over in the windows closed so far (an estimate).
    passed_over: f64,
}

impl Window {
    /// Counts a root kept by its id.
    pub(super) fn count_kept(&mut self) {
        self.kept += 1;
    }
}

/// What a trace's id says about it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Verdict {
    /// Kept by the share.
    pub(super) kept: bool,
    /// One of the roots that read the clock.
    pub(super) reads_clock: bool,
}

/// Nanoseconds since the store was made.
enum Clock {
    Real(Instant),
    #[cfg(test)]
    Manual(std::sync::Arc<AtomicU64>),
}

impl Clock {
    fn now(&self) -> u64 {
        match self {
            Clock::Real(base) => u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX),
            #[cfg(test)]
            Clock::Manual(now) => now.load(Ordering::Relaxed),
        }
    }
}

impl Load {
    /// The load of a store that keeps every trace while at most `per_second` end; `None`
    /// for `0` (every trace at any rate).
    pub(super) fn new(per_second: u32) -> Option<Self> {
        Self::with_clock(per_second, Clock::Real(Instant::now()))
    }

    fn with_clock(per_second: u32, clock: Clock) -> Option<Self> {
        (per_second > 0).then(|| {
            let start = clock.now();
            Self {
                per_second: f64::from(per_second),
                threshold: AtomicU64::new(u64::MAX),
                window_end: AtomicU64::new(start.saturating_add(window_nanos())),
                rescued: AtomicUsize::new(0),
                clock,
            }
        })
    }

    /// A load with a clock the test sets (nanoseconds).
    #[cfg(test)]
    pub(super) fn manual(per_second: u32, now: std::sync::Arc<AtomicU64>) -> Self {
        Self::with_clock(per_second, Clock::Manual(now)).expect("per_second > 0")
    }

    /// The first window, starting now.
    pub(super) fn window(&self) -> Window {
        Window {
            start: self.clock.now(),
            ..Window::default()
        }
    }

    /// What `trace_id` says: kept by the share, and whether its root reads the clock.
    pub(super) fn judge(&self, trace_id: TraceId) -> Verdict {
        let bytes = trace_id.to_bytes();
        let mut low = [0; 8];
        low.copy_from_slice(&bytes[8..]);
        // The id's random low half, multiplied by an odd constant so that the share
        // does not follow the samplers' (which compare the low half itself).
        let low = u64::from_be_bytes(low);
        let mixed = low.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Verdict {
            kept: mixed <= self.threshold.load(Ordering::Relaxed),
            reads_clock: low % CLOCK_EVERY == 0,
        }
    }

    /// The time, when the current window may close by it.
    pub(super) fn due(&self) -> Option<u64> {
        let now = self.clock.now();
        (now >= self.window_end.load(Ordering::Relaxed)).then_some(now)
    }

    /// Closes `window` at `now` (when it has lasted long enough: another thread may have
    /// closed it since `due`) and sets the share from the rate it measured.
    pub(super) fn close(&self, window: &mut Window, now: u64) {
        let elapsed = now.saturating_sub(window.start);
        if elapsed < window_nanos() {
            return;
        }
        let share = self.share();
        let ended = window.kept as f64 / share;
        window.passed_over += ended - window.kept as f64;
        let rate = ended / Duration::from_nanos(elapsed).as_secs_f64();
        let share = if rate <= self.per_second {
            1.0
        } else {
            self.per_second / rate
        };
        // `u64::MAX as f64` rounds up to 2^64; the cast back saturates to `u64::MAX`.
        let threshold = (share * u64::MAX as f64) as u64;
        self.threshold.store(threshold, Ordering::Relaxed);
        window.start = now;
        window.kept = 0;
        self.window_end
            .store(now.saturating_add(window_nanos()), Ordering::Relaxed);
    }

    /// The share of traces kept now.
    fn share(&self) -> f64 {
        let threshold = self.threshold.load(Ordering::Relaxed);
        if threshold == u64::MAX {
            1.0
        } else {
            // A share too small to keep one trace in 2^64 still counts as one.
            (threshold.max(1) as f64 / u64::MAX as f64).min(1.0)
        }
    }

    /// The share kept and the estimate passed over.
    pub(super) fn report(&self, window: &Window) -> TraceStoreLoad {
        TraceStoreLoad {
            kept_share: self.share(),
            passed_over: window.passed_over.round() as u64,
        }
    }

    /// Whether some trace waiting for its root holds a failed span of a trace passed over.
    pub(super) fn any_rescued(&self) -> bool {
        self.rescued.load(Ordering::Relaxed) > 0
    }

    /// A trace waiting for its root now holds a failed span of a trace passed over.
    pub(super) fn rescued(&self) {
        self.rescued.fetch_add(1, Ordering::Relaxed);
    }

    /// Such a trace completed or was dropped.
    pub(super) fn released(&self) {
        self.rescued.fetch_sub(1, Ordering::Relaxed);
    }
}

fn window_nanos() -> u64 {
    u64::try_from(WINDOW.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Trace ids whose low halves are `0..n`: ids a random generator could make, as many
    /// kept by any share as a random sample would (the mix spreads consecutive halves).
    fn ids(n: u64) -> impl Iterator<Item = TraceId> {
        (0..n).map(|i| TraceId::from(u128::from(i) | (7 << 64)))
    }

    #[test]
    fn every_trace_is_kept_until_a_window_measures_more_than_the_limit() {
        let now = Arc::new(AtomicU64::new(0));
        let load = Load::manual(1000, now.clone());
        let mut window = load.window();
        assert!(ids(10_000).all(|id| load.judge(id).kept));
        assert_eq!(load.due(), None, "the first window is still open");
        // 999 traces in 1.5 s: under the limit, the share stays 1.
        for _ in 0..999 {
            window.count_kept();
        }
        now.store(1_500_000_000, Ordering::Relaxed);
        let at = load.due().expect("due after a second");
        load.close(&mut window, at);
        assert_eq!(load.report(&window).kept_share, 1.0);
        assert_eq!(load.report(&window).passed_over, 0);
    }

    #[test]
    fn above_the_limit_a_share_is_kept_and_the_rest_estimated_then_all_again() {
        let now = Arc::new(AtomicU64::new(0));
        let load = Load::manual(1000, now.clone());
        let mut window = load.window();
        // 8000 traces end in the first second: keep one in eight from now on.
        for _ in 0..8000 {
            window.count_kept();
        }
        now.store(1_000_000_000, Ordering::Relaxed);
        load.close(&mut window, 1_000_000_000);
        let share = load.report(&window).kept_share;
        assert!((share - 0.125).abs() < 1e-9, "{share}");
        // The ids decide, the same way each time, about an eighth of them kept.
        let kept: Vec<TraceId> = ids(80_000).filter(|id| load.judge(*id).kept).collect();
        assert!((9_000..11_000).contains(&kept.len()), "{}", kept.len());
        assert!(kept.iter().all(|id| load.judge(*id).kept));
        // The next second, 8000 end again: the 1000 kept stand for 8000, 7000 passed over.
        for _ in 0..1000 {
            window.count_kept();
        }
        assert_eq!(load.due(), None, "a window lasts a second");
        now.store(2_000_000_000, Ordering::Relaxed);
        let at = load.due().expect("due");
        load.close(&mut window, at);
        assert_eq!(load.report(&window).passed_over, 7000);
        assert!((load.report(&window).kept_share - 0.125).abs() < 1e-9);
        // The load ends: a window with a few traces kept brings the share back to 1.
        for _ in 0..3 {
            window.count_kept();
        }
        now.store(5_000_000_000, Ordering::Relaxed);
        load.close(&mut window, 5_000_000_000);
        assert_eq!(load.report(&window).kept_share, 1.0);
        assert_eq!(load.report(&window).passed_over, 7000 + 21);
        assert!(ids(1000).all(|id| load.judge(id).kept));
    }

    #[test]
    fn a_window_closes_once_however_many_threads_found_it_due() {
        let now = Arc::new(AtomicU64::new(0));
        let load = Load::manual(10, now.clone());
        let mut window = load.window();
        for _ in 0..100 {
            window.count_kept();
        }
        now.store(1_000_000_000, Ordering::Relaxed);
        let (a, b) = (load.due().unwrap(), load.due().unwrap());
        load.close(&mut window, a);
        let share = load.report(&window).kept_share;
        load.close(&mut window, b);
        assert_eq!(
            load.report(&window).kept_share,
            share,
            "the second is a no-op"
        );
        assert_eq!(load.report(&window).passed_over, 0);
        assert!((share - 0.1).abs() < 1e-9, "{share}");
    }

    #[test]
    fn about_one_root_in_clock_every_reads_the_clock() {
        let now = Arc::new(AtomicU64::new(0));
        let load = Load::manual(10, now);
        let reading = ids(64_000).filter(|id| load.judge(*id).reads_clock).count();
        assert_eq!(reading as u64, 64_000 / CLOCK_EVERY);
    }
}
