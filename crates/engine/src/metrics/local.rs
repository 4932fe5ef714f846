//! Lookup of instruments by name, for the by-name API.
//!
//! In front of everything, each instance has a small table of its own, shared by all
//! threads and filled once per slot ([`Shared`]): a name passed as the same string (a
//! literal, usually) that a thread has found twice is put there, and from then on every
//! thread finds it with one atomic load, one comparison of the address and one of the
//! bytes, with no thread-local access. A slot another name took first leaves a name to
//! the levels below.
//!
//! Below it, a thread keeps two levels in front of an instance's shared instrument map:
//! - a small direct-mapped table keyed by the address and length of the name given, so
//!   a name passed as the same string (a literal, usually) is found without hashing it,
//!   after one comparison of its bytes. An entry found there a second time also gets the
//!   instrument's handle for the empty attribute set, so an attribute-less record by name
//!   costs what a bound record costs;
//! - copies of the instrument maps of the few instances the thread records into, for
//!   names built at run time (a new address each call).
//!
//! Instruments are never removed, so a copy never goes stale; memory per thread is fixed
//! by [`RECENT`] and [`INSTANCES`].

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use opentelemetry::KeyValue;
use parking_lot::RwLock;
use rustc_hash::FxHashMap;

use super::instruments::{BoundCounter, BoundGauge, BoundHistogram, Counter, Gauge, Histogram};
use super::Instrument;

/// Entries of the direct-mapped table (a power of two).
const RECENT: usize = 64;

/// How many `Metrics` instances one thread keeps map copies for.
const INSTANCES: usize = 4;

/// Slots of an instance's shared table (a power of two).
const SHARED: usize = 256;

thread_local! {
    static CACHE: RefCell<Cache> = const { RefCell::new(Cache::new()) };
}

/// A copy of an instrument, with its handle for the empty attribute set once the entry
/// is reused.
pub(super) enum Local {
    Counter(Counter, OnceLock<BoundCounter>),
    Gauge(Gauge, OnceLock<BoundGauge>),
    Histogram(Histogram, OnceLock<BoundHistogram>),
    /// Read through its callback: nothing records into it.
    Observed,
}

impl Local {
    fn new(instrument: &Instrument) -> Self {
        match instrument {
            Instrument::Counter(c) => Self::Counter(c.clone(), OnceLock::new()),
            Instrument::Gauge(g) => Self::Gauge(g.clone(), OnceLock::new()),
            Instrument::Histogram(h) => Self::Histogram(h.clone(), OnceLock::new()),
            Instrument::Observed => Self::Observed,
        }
    }

    /// Another copy of the same instrument (its own handle, made when first needed);
    /// `None` for an observed gauge, which nothing records into.
    fn copy(&self) -> Option<Self> {
        Some(match self {
            Self::Counter(c, _) => Self::Counter(c.clone(), OnceLock::new()),
            Self::Gauge(g, _) => Self::Gauge(g.clone(), OnceLock::new()),
            Self::Histogram(h, _) => Self::Histogram(h.clone(), OnceLock::new()),
            Self::Observed => return None,
        })
    }

    /// Adds to the counter (attributes already checked); `false` if this is no counter.
    #[inline]
    pub(super) fn add(&self, value: u64, attributes: &[KeyValue], reused: bool) -> bool {
        let Self::Counter(counter, unlabelled) = self else {
            return false;
        };
        if attributes.is_empty() && reused {
            unlabelled
                .get_or_init(|| counter.bind_checked(&[]))
                .add(value);
        } else {
            counter.add_checked(value, attributes);
        }
        true
    }

    /// Sets the gauge (value and attributes already checked); `false` if this is no gauge.
    #[inline]
    pub(super) fn set(&self, value: f64, attributes: &[KeyValue], reused: bool) -> bool {
        let Self::Gauge(gauge, unlabelled) = self else {
            return false;
        };
        if attributes.is_empty() && reused {
            unlabelled
                .get_or_init(|| gauge.bind_checked(&[]))
                .set_checked(value);
        } else {
            gauge.set_checked(value, attributes);
        }
        true
    }

    /// Records in the histogram (value and attributes already checked); `false` if this
    /// is no histogram.
    #[inline]
    pub(super) fn record(&self, value: f64, attributes: &[KeyValue], reused: bool) -> bool {
        let Self::Histogram(histogram, unlabelled) = self else {
            return false;
        };
        if attributes.is_empty() && reused {
            unlabelled
                .get_or_init(|| histogram.bind_checked(&[]))
                .record_checked(value);
        } else {
            histogram.record_checked(value, attributes);
        }
        true
    }
}

struct Recent {
    id: u64,
    addr: usize,
    name: Arc<str>,
    local: Local,
}

struct Cache {
    recent: [Option<Recent>; RECENT],
    maps: Vec<(u64, FxHashMap<Arc<str>, Instrument>)>,
}

impl Cache {
    const fn new() -> Self {
        Self {
            recent: [const { None }; RECENT],
            maps: Vec::new(),
        }
    }

    fn map_for(&mut self, id: u64) -> &mut FxHashMap<Arc<str>, Instrument> {
        let position = match self.maps.iter().position(|(i, _)| *i == id) {
            Some(p) => p,
            None => {
                if self.maps.len() >= INSTANCES {
                    self.maps.remove(0);
                }
                self.maps.push((id, FxHashMap::default()));
                self.maps.len() - 1
            }
        };
        &mut self.maps[position].1
    }
}

/// The slot of a name at `addr` with `len` bytes in a table of `size` slots, a power of
/// two (Fibonacci hashing).
#[inline]
fn slot_in(size: usize, addr: usize, len: usize) -> usize {
    let mixed = (addr as u64 ^ (len as u64).rotate_left(48)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> (64 - size.trailing_zeros())) as usize
}

/// The slot of a name in a thread's table.
fn slot(addr: usize, len: usize) -> usize {
    slot_in(RECENT, addr, len)
}

/// An instance's table shared by its threads: each slot is set once, by the first name
/// promoted to it, and never changes (instruments are never removed), so reading one is
/// one atomic load. Memory is fixed: [`SHARED`] slots.
pub(super) struct Shared(Box<[OnceLock<Recent>]>);

impl Default for Shared {
    fn default() -> Self {
        Self((0..SHARED).map(|_| OnceLock::new()).collect())
    }
}

/// Whether `a` and `b` hold the same bytes, compared inline a word at a time: names are
/// short, and a call to `memcmp` would cost as much as the rest of the lookup. The tail
/// is compared as the last word, overlapping the one before (below eight bytes, as the
/// first and the last four, two or one), so no byte is compared alone in a loop.
#[inline]
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let len = a.len();
    if len != b.len() {
        return false;
    }
    // The `N` bytes at `at` of `a` and of `b` (both in bounds by the callers' lengths).
    fn eq<const N: usize>(a: &[u8], b: &[u8], at: usize) -> bool {
        let word = |s: &[u8]| -> Option<[u8; N]> { s.get(at..at + N)?.try_into().ok() };
        word(a) == word(b)
    }
    match len {
        0 => true,
        1 => a[0] == b[0],
        2..=3 => eq::<2>(a, b, 0) && eq::<2>(a, b, len - 2),
        4..=7 => eq::<4>(a, b, 0) && eq::<4>(a, b, len - 4),
        _ => {
            let mut at = 0;
            while at + 8 < len {
                if !eq::<8>(a, b, at) {
                    return false;
                }
                at += 8;
            }
            eq::<8>(a, b, len - 8)
        }
    }
}

/// Runs `f` on this thread's copy of instrument `name` of instance `id` (taken from
/// `shared` on first use), telling it whether the entry was reused; `None` when `shared`
/// has no instrument called `name` yet. The hit path is kept small enough to inline, so
/// the thread-local is reached directly; filling an entry is out of line.
#[inline]
pub(super) fn with<R>(
    id: u64,
    name: &str,
    shared: &RwLock<FxHashMap<Arc<str>, Instrument>>,
    table: &Shared,
    f: impl FnOnce(&Local, bool) -> R,
) -> Option<R> {
    let addr = name.as_ptr() as usize;
    let common = &table.0[slot_in(SHARED, addr, name.len())];
    if let Some(hit) = holding(common, addr, name) {
        return Some(f(&hit.local, true));
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let slot = slot(addr, name.len());
        if let Some(hit) = &cache.recent[slot] {
            if hit.id == id && hit.addr == addr && same(&hit.name, name) {
                if common.get().is_none() {
                    promote(common, hit);
                }
                return Some(f(&hit.local, true));
            }
        }
        let entry = fill(&mut cache, slot, id, name, shared)?;
        Some(f(&entry.local, false))
    })
}

/// The entry of `slot` if it holds the string at `addr` with the bytes of `name`.
#[inline]
fn holding<'t>(slot: &'t OnceLock<Recent>, addr: usize, name: &str) -> Option<&'t Recent> {
    slot.get()
        .filter(|hit| hit.addr == addr && same(&hit.name, name))
}

/// What an instance's shared table holds for `name` (this very string: the same address
/// and bytes): the first step of [`with`], which a caller can take inline on its own, with
/// no thread-local access.
#[inline]
pub(super) fn shared_hit<'t>(table: &'t Shared, name: &str) -> Option<&'t Local> {
    let addr = name.as_ptr() as usize;
    holding(&table.0[slot_in(SHARED, addr, name.len())], addr, name).map(|hit| &hit.local)
}

/// Puts a name this thread found twice at the same address in its instance's shared
/// slot (free a moment ago; if another thread took it since, that one stays).
#[cold]
#[inline(never)]
fn promote(common: &OnceLock<Recent>, hit: &Recent) {
    if let Some(local) = hit.local.copy() {
        let _ = common.set(Recent {
            id: hit.id,
            addr: hit.addr,
            name: hit.name.clone(),
            local,
        });
    }
}

/// Puts instrument `name` of instance `id` in table slot `slot`, from this thread's map
/// copy or else from `shared`; `None` when there is no such instrument.
#[cold]
#[inline(never)]
fn fill<'c>(
    cache: &'c mut Cache,
    slot: usize,
    id: u64,
    name: &str,
    shared: &RwLock<FxHashMap<Arc<str>, Instrument>>,
) -> Option<&'c Recent> {
    let map = cache.map_for(id);
    let (key, instrument) = match map.get_key_value(name) {
        Some((key, instrument)) => (key.clone(), instrument.clone()),
        None => {
            let shared = shared.read();
            let (key, instrument) = shared.get_key_value(name)?;
            map.insert(key.clone(), instrument.clone());
            (key.clone(), instrument.clone())
        }
    };
    Some(cache.recent[slot].insert(Recent {
        id,
        addr: name.as_ptr() as usize,
        name: key,
        local: Local::new(&instrument),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    #[test]
    fn same_compares_every_byte_of_names_of_every_length() {
        for len in 0..24 {
            let a: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            assert!(same(&a, &a.clone()));
            for at in 0..len {
                let mut b = a.clone().into_bytes();
                b[at] = b'_';
                let b = String::from_utf8(b).unwrap();
                assert!(!same(&a, &b), "{a} vs {b}");
            }
            assert!(!same(&a, &format!("{a}x")));
        }
    }

    #[test]
    fn slots_stay_in_the_table() {
        for addr in (0..100_000_usize).step_by(7) {
            assert!(slot(addr, addr % 300) < RECENT);
        }
    }

    #[test]
    fn a_name_is_found_by_address_then_by_content_and_never_across_instances() {
        let metrics = Metrics::detached();
        metrics.counter("clicks_total").unwrap();
        let (id, shared) = (metrics.inner.id, &metrics.inner.instruments);
        let table = &metrics.inner.by_address;
        let name = "clicks_total";
        // First use fills the entry; the same string again is a reused hit.
        assert_eq!(
            with(id, name, shared, table, |_, reused| reused),
            Some(false)
        );
        assert_eq!(
            with(id, name, shared, table, |local, reused| local.add(
                1,
                &[],
                reused
            )),
            Some(true)
        );
        // A name built at run time has another address: found by content.
        let built = ["clicks", "_total"].concat();
        assert_eq!(
            with(id, &built, shared, table, |_, reused| reused),
            Some(false)
        );
        // The kind is checked: a counter is no gauge.
        assert_eq!(
            with(id, name, shared, table, |local, reused| local.set(
                1.0,
                &[],
                reused
            )),
            Some(false)
        );
        // Another instance without that instrument does not see this one's entry.
        let other = Metrics::detached();
        let other_map = &other.inner.instruments;
        assert_eq!(
            with(
                other.inner.id,
                name,
                other_map,
                &other.inner.by_address,
                |_, r| r
            ),
            None
        );
        assert_eq!(with(id, "no_such_metric", shared, table, |_, r| r), None);
    }

    #[test]
    fn the_shared_fast_path_records_into_the_instrument_and_checks_the_kind() {
        let metrics = Metrics::detached();
        let name: &'static str = "frame_ms";
        // Enough calls to promote the entry and make its handle for the empty set.
        for _ in 0..10 {
            metrics.record(name, 16.7, &[]).unwrap();
        }
        assert!(shared_hit(&metrics.inner.by_address, name).is_some());
        for _ in 0..100 {
            metrics.record(name, 1000.0, &[]).unwrap();
        }
        // What the fast path recorded reached the histogram's sketch.
        let p50 = metrics.quantiles(name).unwrap()[0].1;
        assert!((p50 - 1000.0).abs() / 1000.0 <= 0.01, "{p50}");
        // The same string as another kind, or a bad value: refused, not recorded.
        assert!(matches!(
            metrics.add(name, 1, &[]),
            Err(crate::metrics::MetricsError::KindConflict { .. })
        ));
        assert!(metrics.set(name, 1.0, &[]).is_err());
        assert!(metrics.record(name, f64::NAN, &[]).is_err());
    }

    #[test]
    fn a_name_one_thread_found_twice_is_found_by_every_thread_without_its_cache() {
        let metrics = Metrics::detached();
        metrics.counter("renders_total").unwrap();
        let (id, shared, table) = (
            metrics.inner.id,
            &metrics.inner.instruments,
            &metrics.inner.by_address,
        );
        let name: &'static str = "renders_total";
        assert_eq!(
            with(id, name, shared, table, |_, reused| reused),
            Some(false)
        );
        assert_eq!(
            with(id, name, shared, table, |_, reused| reused),
            Some(true)
        );
        // Another thread, whose own cache has never seen it: found in the shared table
        // (a first find through its cache would say "not reused").
        std::thread::scope(|s| {
            s.spawn(|| {
                assert_eq!(
                    with(id, name, shared, table, |l, r| l.add(1, &[], r) && r),
                    Some(true)
                );
                CACHE.with(|cache| assert!(cache.borrow().recent.iter().all(Option::is_none)));
            });
        });
    }

    #[test]
    fn more_instances_than_the_cache_keeps_are_still_found() {
        let all: Vec<Metrics> = (0..INSTANCES + 2).map(|_| Metrics::detached()).collect();
        for m in &all {
            m.gauge("queue_size").unwrap();
        }
        for round in 0..3 {
            for m in &all {
                let built = format!("queue_{}", "size");
                let found = with(
                    m.inner.id,
                    &built,
                    &m.inner.instruments,
                    &m.inner.by_address,
                    |local, reused| local.set(f64::from(round), &[], reused),
                );
                assert_eq!(found, Some(true));
            }
        }
        CACHE.with(|cache| assert!(cache.borrow().maps.len() <= INSTANCES));
    }
}
