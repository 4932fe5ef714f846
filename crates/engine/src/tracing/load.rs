//! Which traces the trace store keeps under load.
//!
//! The store keeps every trace while at most `max_traces_per_second` end. It measures
//! the rate over windows of a second or more, and while it is higher keeps a share of the
//! traces chosen from the trace id, a power of two (1/2, 1/4, ...) at or below
//! `max_traces_per_second / rate`, so that the threads ending spans spend on the store
//! what that many traces a second cost, however many end. A trace passed over costs a
//! look at its id and an atomic load. The shares nest (a trace kept at 1/4 is kept at
//! 1/2), and the share moves only when the rate moves by about a factor of two, so the
//! spans of one trace are judged alike even when they end in different windows, except
//! for the traces in flight when the share does move.
//!
//! The rate is counted on the roots kept by their id alone (`kept / share`: ids are
//! random), so a root passed over touches nothing shared. The clock is read for about
//! one root in [`CLOCK_EVERY`], chosen from the id as well, and by
//! [`TraceStore::load`](super::TraceStore::load); a window closes at the first reading
//! after it ends: a burst is seen within a few dozen traces, the end of one within a
//! second or so.
//!
//! A failed span is kept whatever the share: a [`Rescues`] entry then keeps its trace's
//! other parts that end later (its root, the webview's part of an invoke).

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::trace::TraceId;

/// The shortest window the rate is measured over.
const WINDOW: Duration = Duration::from_secs(1);

/// About one root in this many reads the clock.
pub(super) const CLOCK_EVERY: u64 = 64;

/// Buckets of trace ids for [`Rescues`]: while a bucket holds none, a root passed over
/// in it takes no lock.
const BUCKETS: usize = 64;

/// Rescued traces remembered, at most (the oldest forgotten first).
const MAX_RESCUES: usize = 1000;

/// How long a rescued trace is remembered for its other parts.
const RESCUE_FOR: Duration = Duration::from_secs(60);

/// A share is lowered again only when a share twice as large would keep at most this
/// part of `max_traces_per_second` (so that it does not move back and forth).
const LOWER_BELOW: f64 = 0.8;

/// The share of traces kept and an estimate of those passed over, from
/// [`TraceStore::load`](super::TraceStore::load).
///
/// # Examples
/// ```
/// # use telemetry_engine::tracing::{TraceStore, TraceStoreLimits};
/// let store = TraceStore::new(TraceStoreLimits::default());
/// let load = store.load();
/// if load.kept_share < 1.0 {
///     println!("keeping 1 trace in {:.0}; {} passed over", 1.0 / load.kept_share, load.passed_over);
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceStoreLoad {
    /// The share of traces kept: `1.0` (every trace) or a power of two below it.
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
    /// A trace is kept when its mixed id is at most this: `u64::MAX >> k` keeps 2^-k.
    threshold: AtomicU64,
    /// When the current window may close, on `clock`.
    window_end: AtomicU64,
    /// Rescued traces per bucket of their ids (see [`Rescues`]).
    rescued: [AtomicU32; BUCKETS],
    clock: Clock,
}

/// The part of the load the store's lock guards: the window being measured.
#[derive(Debug, Default)]
pub(super) struct Window {
    /// When it started, on the load's clock.
    start: u64,
    /// Roots kept by their id alone since it started.
    kept: u64,
    /// Roots kept though their id was passed over (failed, or of a rescued trace).
    rescued: u64,
    /// The share is 2^-`shift`.
    shift: u32,
    /// Roots passed over in the windows closed so far (an estimate).
    passed_over: f64,
}

impl Window {
    /// Counts a root kept by its id.
    pub(super) fn count_kept(&mut self) {
        self.kept += 1;
    }

    /// Counts a root kept though its id was passed over.
    pub(super) fn count_rescued(&mut self) {
        self.rescued += 1;
    }
}

/// What a trace's id says about it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Verdict {
    /// Kept by the share.
    pub(super) kept: bool,
    /// One of the roots that read the clock.
    pub(super) reads_clock: bool,
    /// Its bucket of rescued traces.
    bucket: usize,
}

/// How the share moved when a window closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Moved {
    /// Not at all, or the window was not over.
    No,
    /// Up: more traces are kept.
    Up,
    /// Down: some traces kept so far are passed over from now on.
    Down,
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

/// The id's random low half.
fn low_half(trace_id: TraceId) -> u64 {
    let bytes = trace_id.to_bytes();
    let mut low = [0; 8];
    low.copy_from_slice(&bytes[8..]);
    u64::from_be_bytes(low)
}

/// The low half multiplied by an odd constant, so that the share does not follow the
/// samplers' (which compare the low half itself).
fn mixed(low: u64) -> u64 {
    low.wrapping_mul(0x9E37_79B9_7F4A_7C15)
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
                window_end: AtomicU64::new(start.saturating_add(nanos(WINDOW))),
                rescued: std::array::from_fn(|_| AtomicU32::new(0)),
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

    /// What `trace_id` says: kept by the share, whether its root reads the clock, its
    /// bucket.
    pub(super) fn judge(&self, trace_id: TraceId) -> Verdict {
        let low = low_half(trace_id);
        Verdict {
            kept: mixed(low) <= self.threshold.load(Ordering::Relaxed),
            reads_clock: low.is_multiple_of(CLOCK_EVERY),
            bucket: bucket(low),
        }
    }

    /// Whether the share keeps `trace_id`.
    pub(super) fn keeps(&self, trace_id: TraceId) -> bool {
        mixed(low_half(trace_id)) <= self.threshold.load(Ordering::Relaxed)
    }

    /// Whether a trace of `verdict`'s bucket may be rescued (then the lock tells).
    pub(super) fn may_be_rescued(&self, verdict: Verdict) -> bool {
        self.rescued[verdict.bucket].load(Ordering::Relaxed) > 0
    }

    /// The time, when the current window may close by it.
    pub(super) fn due(&self) -> Option<u64> {
        let now = self.clock.now();
        (now >= self.window_end.load(Ordering::Relaxed)).then_some(now)
    }

    /// Closes `window` at `now` (when it has lasted long enough: another thread may have
    /// closed it since `due`), sets the share from the rate it measured, and forgets the
    /// rescues older than [`RESCUE_FOR`].
    pub(super) fn close(&self, window: &mut Window, rescues: &mut Rescues, now: u64) -> Moved {
        let elapsed = now.saturating_sub(window.start);
        if elapsed < nanos(WINDOW) {
            return Moved::No;
        }
        // Kept by the id alone at 2^-shift: they stand for 2^shift times as many.
        let ended = window.kept as f64 * 2_f64.powi(i32::try_from(window.shift).unwrap_or(63));
        window.passed_over += (ended - (window.kept + window.rescued) as f64).max(0.0);
        // The share that keeps at most `per_second`: 2^-ceil(log2(rate / per_second)).
        let over = ended / Duration::from_nanos(elapsed).as_secs_f64() / self.per_second;
        let shift_for = |over: f64| -> u32 {
            if over <= 1.0 {
                0
            } else {
                // `over` is finite and above 1: its log is in 0..=1100.
                (over.log2().ceil() as u32).min(63)
            }
        };
        let up = shift_for(over);
        let shift = if up > window.shift {
            up
        } else {
            shift_for(over / LOWER_BELOW).min(window.shift)
        };
        let moved = match shift.cmp(&window.shift) {
            std::cmp::Ordering::Greater => Moved::Down,
            std::cmp::Ordering::Less => Moved::Up,
            std::cmp::Ordering::Equal => Moved::No,
        };
        window.shift = shift;
        self.threshold.store(u64::MAX >> shift, Ordering::Relaxed);
        window.start = now;
        window.kept = 0;
        window.rescued = 0;
        self.window_end
            .store(now.saturating_add(nanos(WINDOW)), Ordering::Relaxed);
        rescues.forget_before(self, now.saturating_sub(nanos(RESCUE_FOR)));
        moved
    }

    /// The share of traces kept now.
    fn share(&self) -> f64 {
        // The threshold is `u64::MAX >> k`: k leading zeros, a share of 2^-k.
        let k = self.threshold.load(Ordering::Relaxed).leading_zeros();
        2_f64.powi(-i32::try_from(k).unwrap_or(64))
    }

    /// The share kept and the estimate passed over.
    pub(super) fn report(&self, window: &Window) -> TraceStoreLoad {
        TraceStoreLoad {
            kept_share: self.share(),
            passed_over: window.passed_over.round() as u64,
        }
    }
}

/// The traces that keep a failed span although the share passes them over: their parts
/// that end later (the root, the webview's part of an invoke) are kept too, for
/// [`RESCUE_FOR`] and at most [`MAX_RESCUES`] of them. Guarded by the store's lock; the
/// [`Load`]'s bucket counts tell the threads ending spans which ids to look up.
#[derive(Debug, Default)]
pub(super) struct Rescues {
    ids: HashSet<TraceId>,
    /// When each was rescued (on the load's clock), oldest first; ids no longer in
    /// `ids` are skipped.
    order: VecDeque<(TraceId, u64)>,
}

impl Rescues {
    /// Remembers `trace_id` as rescued at the start of `window`.
    pub(super) fn rescue(&mut self, load: &Load, window: &Window, trace_id: TraceId) {
        if !self.ids.insert(trace_id) {
            return;
        }
        load.rescued[bucket(low_half(trace_id))].fetch_add(1, Ordering::Relaxed);
        self.order.push_back((trace_id, window.start));
        while self.ids.len() > MAX_RESCUES {
            if let Some((oldest, _)) = self.order.pop_front() {
                self.release(load, oldest);
            }
        }
        if self.order.len() > 2 * MAX_RESCUES {
            let ids = &self.ids;
            self.order.retain(|(id, _)| ids.contains(id));
        }
    }

    /// Whether none is remembered.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Whether `trace_id` was rescued.
    pub(super) fn contains(&self, trace_id: TraceId) -> bool {
        !self.ids.is_empty() && self.ids.contains(&trace_id)
    }

    /// Forgets `trace_id` (its last part completed).
    pub(super) fn release(&mut self, load: &Load, trace_id: TraceId) {
        if !self.ids.is_empty() && self.ids.remove(&trace_id) {
            load.rescued[bucket(low_half(trace_id))].fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Forgets the traces rescued before `before`.
    fn forget_before(&mut self, load: &Load, before: u64) {
        while let Some(&(id, at)) = self.order.front() {
            if at >= before {
                break;
            }
            self.order.pop_front();
            self.release(load, id);
        }
    }
}

/// The bucket of a trace id's low half (bits independent of those that read the clock).
fn bucket(low: u64) -> usize {
    // Below `BUCKETS`: the cast keeps the value.
    ((low >> 6) % BUCKETS as u64) as usize
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
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

    /// A load at `per_second` on a clock the test sets, its window and rescues.
    fn manual(per_second: u32) -> (Load, Window, Rescues, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(0));
        let load = Load::manual(per_second, now.clone());
        let window = load.window();
        (load, window, Rescues::default(), now)
    }

    /// `kept` roots kept by their id, then the window closed at `at` seconds.
    fn window_of(load: &Load, w: &mut Window, r: &mut Rescues, kept: u64, at: f64) -> Moved {
        for _ in 0..kept {
            w.count_kept();
        }
        load.close(w, r, (at * 1e9) as u64)
    }

    fn share(load: &Load, w: &Window) -> f64 {
        load.report(w).kept_share
    }

    #[test]
    fn every_trace_is_kept_until_a_window_measures_more_than_the_limit() {
        let (load, mut w, mut r, now) = manual(1000);
        assert!(ids(10_000).all(|id| load.judge(id).kept));
        assert_eq!(load.due(), None, "the first window is still open");
        now.store(1_500_000_000, Ordering::Relaxed);
        assert_eq!(load.due(), Some(1_500_000_000));
        // 999 traces in 1.5 s: under the limit, the share stays 1.
        assert_eq!(window_of(&load, &mut w, &mut r, 999, 1.5), Moved::No);
        assert_eq!(share(&load, &w), 1.0);
        assert_eq!(load.report(&w).passed_over, 0);
    }

    #[test]
    fn above_the_limit_a_power_of_two_share_is_kept_and_the_rest_estimated() {
        let (load, mut w, mut r, _) = manual(1000);
        // 8000 traces end in the first second: keep one in eight from now on.
        assert_eq!(window_of(&load, &mut w, &mut r, 8000, 1.0), Moved::Down);
        assert_eq!(share(&load, &w), 0.125);
        // The ids decide, the same way each time, about an eighth of them kept.
        let kept: Vec<TraceId> = ids(80_000).filter(|id| load.judge(*id).kept).collect();
        assert!((9_000..11_000).contains(&kept.len()), "{}", kept.len());
        assert!(kept.iter().all(|id| load.keeps(*id)));
        // 8000 again: the 1000 kept stand for 8000, 7000 passed over; the share stays.
        assert_eq!(window_of(&load, &mut w, &mut r, 1000, 2.0), Moved::No);
        assert_eq!(load.report(&w).passed_over, 7000);
        // 9000: one in sixteen, and each trace kept at 1/16 was kept at 1/8.
        assert_eq!(window_of(&load, &mut w, &mut r, 1125, 3.0), Moved::Down);
        assert_eq!(share(&load, &w), 0.0625);
        assert!(ids(80_000)
            .filter(|id| load.keeps(*id))
            .all(|id| kept.contains(&id)));
        // The load ends: a window with a few traces kept brings the share back to 1.
        assert_eq!(window_of(&load, &mut w, &mut r, 3, 6.0), Moved::Up);
        assert_eq!(share(&load, &w), 1.0);
        assert_eq!(load.report(&w).passed_over, 7000 + 7875 + 45);
        assert!(ids(1000).all(|id| load.judge(id).kept));
    }

    #[test]
    fn the_share_goes_back_up_only_when_twice_as_many_would_stay_under_the_limit() {
        let (load, mut w, mut r, _) = manual(1000);
        window_of(&load, &mut w, &mut r, 8000, 1.0);
        assert_eq!(share(&load, &w), 0.125);
        // 7,500 a second: 1/4 would keep 1,875, over the limit.
        assert_eq!(window_of(&load, &mut w, &mut r, 937, 2.0), Moved::No);
        // 3,500 a second: 1/4 would keep 875, more than 80% of it: stay at 1/8.
        assert_eq!(window_of(&load, &mut w, &mut r, 437, 3.0), Moved::No);
        assert_eq!(share(&load, &w), 0.125);
        // 3,000 a second: 1/4 keeps 750.
        assert_eq!(window_of(&load, &mut w, &mut r, 375, 4.0), Moved::Up);
        assert_eq!(share(&load, &w), 0.25);
    }

    #[test]
    fn rescued_roots_are_not_counted_as_passed_over() {
        let (load, mut w, mut r, _) = manual(1000);
        window_of(&load, &mut w, &mut r, 8000, 1.0);
        for _ in 0..500 {
            w.count_rescued();
        }
        window_of(&load, &mut w, &mut r, 1000, 2.0);
        assert_eq!(load.report(&w).passed_over, 7000 - 500);
    }

    #[test]
    fn a_window_closes_once_however_many_threads_found_it_due() {
        let (load, mut w, mut r, now) = manual(10);
        for _ in 0..100 {
            w.count_kept();
        }
        now.store(1_000_000_000, Ordering::Relaxed);
        let (a, b) = (load.due().unwrap(), load.due().unwrap());
        assert_eq!(load.close(&mut w, &mut r, a), Moved::Down);
        assert_eq!(
            load.close(&mut w, &mut r, b),
            Moved::No,
            "the second is a no-op"
        );
        assert_eq!(share(&load, &w), 0.0625, "100 a second over 10: 1/16");
        assert_eq!(load.report(&w).passed_over, 0);
    }

    #[test]
    fn about_one_root_in_clock_every_reads_the_clock() {
        let (load, ..) = manual(10);
        let reading = ids(64_000).filter(|id| load.judge(*id).reads_clock).count();
        assert_eq!(reading as u64, 64_000 / CLOCK_EVERY);
    }

    #[test]
    fn a_rescue_marks_its_bucket_until_released_forgotten_or_crowded_out() {
        let (load, mut w, mut r, _) = manual(10);
        let id = TraceId::from(0xabcd_u128);
        let other = TraceId::from(0xabcd_u128 + (1 << 6));
        assert!(!load.may_be_rescued(load.judge(id)));
        r.rescue(&load, &w, id);
        r.rescue(&load, &w, id);
        assert!(load.may_be_rescued(load.judge(id)) && r.contains(id));
        assert!(!load.may_be_rescued(load.judge(other)), "another bucket");
        r.release(&load, id);
        r.release(&load, id);
        assert!(!load.may_be_rescued(load.judge(id)) && !r.contains(id));
        // Forgotten RESCUE_FOR after: at the first window closed past it.
        r.rescue(&load, &w, id);
        window_of(&load, &mut w, &mut r, 0, 30.0);
        assert!(r.contains(id));
        window_of(&load, &mut w, &mut r, 0, 61.0);
        assert!(!r.contains(id) && !load.may_be_rescued(load.judge(id)));
        // At most MAX_RESCUES: the oldest go first.
        for id in ids(MAX_RESCUES as u64 + 5) {
            r.rescue(&load, &w, id);
        }
        assert_eq!(r.ids.len(), MAX_RESCUES);
        assert!(!r.contains(ids(1).next().unwrap()));
        let marked: u32 = load.rescued.iter().map(|b| b.load(Ordering::Relaxed)).sum();
        assert_eq!(marked as usize, MAX_RESCUES);
    }
}
