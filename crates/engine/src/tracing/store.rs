//! The trace store: the last finished traces as span trees, for the live panel.
//!
//! A span processor collects finished spans by trace id; a trace is complete when its
//! local root span ends. At most `max_traces` complete traces are kept (oldest dropped
//! first), at most `max_pending` traces wait for their root, and at most
//! `max_spans_per_trace` spans are kept per trace (the rest are counted). Spans are also
//! counted in bytes (names, attributes, events): complete traces are dropped oldest first
//! beyond `max_bytes`, and spans waiting for their root are refused (counted) beyond a
//! quarter of it, so memory stays bounded whatever the app or the webview sends. Reads
//! convert the stored spans after letting go of the store's lock.
//!
//! While more than `max_traces_per_second` traces end, the store keeps a share of them
//! (see [`TraceStoreLimits::max_traces_per_second`]), so that what it costs the threads
//! that end spans stays bounded under load: a trace passed over costs a look at its id.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{Event, SpanId, Status, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::Notify;

use super::load::{Load, Moved, Rescues, TraceStoreLoad, Window};
use crate::clock::unix_ms;

/// One finished span.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct SpanRecord {
    /// 16 hex digits.
    pub span_id: String,
    /// Parent span id, `None` for the root.
    pub parent_span_id: Option<String>,
    /// Span name.
    pub name: String,
    /// Start, Unix milliseconds with a microsecond fraction (spans are often shorter than
    /// a millisecond; a waterfall needs to place them).
    pub start_ms: f64,
    /// Duration in milliseconds.
    pub duration_ms: f64,
    /// `None` when not failed; the error message when failed.
    pub error: Option<String>,
    /// Attributes as strings.
    pub attributes: BTreeMap<String, String>,
    /// Events: `(Unix ms with a microsecond fraction, name)`.
    #[cfg_attr(feature = "bindings", ts(type = "Array<[number, string]>"))]
    pub events: Vec<(f64, String)>,
    /// Attributes and events dropped by the span limits.
    pub dropped_attributes: u32,
    /// Events dropped by the span limits.
    pub dropped_events: u32,
}

/// A finished trace: its root and every kept span.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct TraceRecord {
    /// 32 hex digits.
    pub trace_id: String,
    /// The root span's name.
    pub name: String,
    /// Root start, Unix milliseconds.
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub start_ms: i64,
    /// Root duration in milliseconds.
    pub duration_ms: f64,
    /// Whether any span failed.
    pub error: bool,
    /// Spans in start order, root first.
    pub spans: Vec<SpanRecord>,
    /// Spans not kept because of `max_spans_per_trace`.
    pub dropped_spans: u32,
}

/// What to look for in [`TraceStore::query`]; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct TraceQuery {
    /// Root name contains this.
    pub name: Option<String>,
    /// Root lasted at least this long.
    pub min_duration: Option<Duration>,
    /// `Some(true)`: failed traces only; `Some(false)`: successful only.
    pub error: Option<bool>,
    /// Some span has this attribute with this value.
    pub attribute: Option<(String, String)>,
    /// Root started at or after (Unix ms).
    pub since_ms: Option<i64>,
    /// Root started at or before (Unix ms).
    pub until_ms: Option<i64>,
    /// At most this many, newest first. Default all.
    pub limit: Option<usize>,
}

/// Limits of a [`TraceStore`].
#[derive(Debug, Clone, Copy)]
pub struct TraceStoreLimits {
    /// Complete traces kept.
    pub max_traces: usize,
    /// Traces waiting for their root span.
    pub max_pending: usize,
    /// Spans kept per trace.
    pub max_spans_per_trace: usize,
    /// Bytes of span data held (complete and waiting traces together), estimated from the
    /// names, attributes and events plus a fixed cost per span.
    pub max_bytes: usize,
    /// Traces a second the store keeps every one of (each local root counts: both parts of
    /// a trace that crossed from the webview). While more end (measured over a second or
    /// more), it keeps a share chosen from the trace id, a power of two that keeps at most
    /// about this many a second: every span of a trace alike (but for traces in flight
    /// when the share moves), both parts of a trace that crossed from the webview alike,
    /// and every failed span with its trace's later parts. The share and an estimate of
    /// the traces passed over are [`TraceStore::load`]. `0` keeps every trace at any rate.
    pub max_traces_per_second: u32,
}

impl Default for TraceStoreLimits {
    fn default() -> Self {
        Self {
            max_traces: 500,
            max_pending: 1000,
            max_spans_per_trace: 1000,
            max_bytes: 64 * 1024 * 1024,
            max_traces_per_second: 1000,
        }
    }
}

/// The fixed cost counted for each span (ids, times, status, the vectors themselves).
const SPAN_OVERHEAD: usize = 256;

/// A finished span as the store keeps it: what the panel reads, moved out of the SDK's
/// `SpanData` (352 bytes, with an instrumentation scope, links and a trace state the panel
/// does not use), so that keeping a span copies half as many bytes.
#[derive(Clone)]
struct Kept {
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: SpanId,
    parent_is_remote: bool,
    name: Cow<'static, str>,
    start_time: SystemTime,
    end_time: SystemTime,
    attributes: Vec<KeyValue>,
    dropped_attributes: u32,
    events: Vec<Event>,
    dropped_events: u32,
    /// The description of a failed span's status.
    error: Option<Cow<'static, str>>,
}

impl From<SpanData> for Kept {
    #[inline]
    fn from(span: SpanData) -> Self {
        Self {
            trace_id: span.span_context.trace_id(),
            span_id: span.span_context.span_id(),
            parent_span_id: span.parent_span_id,
            parent_is_remote: span.parent_span_is_remote,
            name: span.name,
            start_time: span.start_time,
            end_time: span.end_time,
            attributes: span.attributes,
            dropped_attributes: span.dropped_attributes_count,
            events: span.events.events,
            dropped_events: span.events.dropped_count,
            error: match span.status {
                Status::Error { description } => Some(description),
                Status::Unset | Status::Ok => None,
            },
        }
    }
}

impl Kept {
    /// The bytes this span is counted for.
    fn bytes(&self) -> usize {
        fn value_bytes(value: &opentelemetry::Value) -> usize {
            match value {
                opentelemetry::Value::String(s) => s.as_str().len(),
                opentelemetry::Value::Array(opentelemetry::Array::String(items)) => {
                    items.iter().map(|s| s.as_str().len() + 16).sum()
                }
                _ => 16,
            }
        }
        let attributes = |kvs: &[KeyValue]| -> usize {
            kvs.iter()
                .map(|kv| kv.key.as_str().len() + value_bytes(&kv.value) + 32)
                .sum()
        };
        let events: usize = self
            .events
            .iter()
            .map(|e| e.name.len() + attributes(&e.attributes) + 64)
            .sum();
        let error = self.error.as_ref().map_or(0, |e| e.len());
        SPAN_OVERHEAD + self.name.len() + attributes(&self.attributes) + events + error
    }

    fn duration(&self) -> Duration {
        self.end_time
            .duration_since(self.start_time)
            .unwrap_or_default()
    }

    fn to_record(&self) -> SpanRecord {
        SpanRecord {
            span_id: self.span_id.to_string(),
            parent_span_id: (self.parent_span_id != SpanId::INVALID)
                .then(|| self.parent_span_id.to_string()),
            name: self.name.to_string(),
            start_ms: unix_ms_fraction(self.start_time),
            duration_ms: self.duration().as_secs_f64() * 1000.0,
            error: self.error.as_ref().map(|e| e.to_string()),
            attributes: self
                .attributes
                .iter()
                .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                .collect(),
            events: self
                .events
                .iter()
                .map(|e| (unix_ms_fraction(e.timestamp), e.name.to_string()))
                .collect(),
            dropped_attributes: self.dropped_attributes,
            dropped_events: self.dropped_events,
        }
    }
}

#[derive(Default)]
struct Pending {
    spans: Vec<Kept>,
    dropped: u32,
    bytes: usize,
}

/// A complete trace as kept; converted to [`TraceRecord`] only when read,
/// so ending a span (on the app's thread) costs a move, not a conversion. The root is
/// held inline: a trace of one span (the common case) is stored without an allocation.
#[derive(Clone)]
struct Stored {
    root: Kept,
    /// The other spans in start order.
    rest: Vec<Kept>,
    dropped: u32,
    bytes: usize,
    /// Its place in completion order (see [`Inner::completed`]).
    seq: u64,
}

impl Stored {
    fn spans(&self) -> impl Iterator<Item = &Kept> {
        std::iter::once(&self.root).chain(&self.rest)
    }

    fn trace_id(&self) -> TraceId {
        self.root.trace_id
    }

    /// The two parts of one trace as one: the root is the span with no parent (else the
    /// earliest whose parent is in neither part), the rest follow in start order, at most
    /// `max_spans` in all (the latest-starting ones beyond are counted as dropped).
    fn merge(self, other: Stored, max_spans: usize) -> Stored {
        let mut spans: Vec<Kept> = std::iter::once(self.root)
            .chain(self.rest)
            .chain(std::iter::once(other.root))
            .chain(other.rest)
            .collect();
        let mut dropped = self.dropped.saturating_add(other.dropped);
        spans.sort_by_key(|s| s.start_time);
        let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_id).collect();
        let root = spans
            .iter()
            .position(|s| s.parent_span_id == SpanId::INVALID)
            .or_else(|| spans.iter().position(|s| !ids.contains(&s.parent_span_id)))
            .unwrap_or(0);
        let root = spans.remove(root);
        let keep = max_spans.saturating_sub(1);
        if spans.len() > keep {
            let over = spans.len() - keep;
            spans.truncate(keep);
            dropped = dropped.saturating_add(u32::try_from(over).unwrap_or(u32::MAX));
        }
        let bytes = root.bytes() + spans.iter().map(Kept::bytes).sum::<usize>();
        Stored {
            root,
            rest: spans,
            dropped,
            bytes,
            seq: other.seq,
        }
    }

    fn error(&self) -> bool {
        self.spans().any(|s| s.error.is_some())
    }

    fn to_record(&self) -> TraceRecord {
        let spans: Vec<SpanRecord> = self.spans().map(Kept::to_record).collect();
        TraceRecord {
            trace_id: self.trace_id().to_string(),
            name: spans[0].name.clone(),
            start_ms: spans[0].start_ms.floor() as i64,
            duration_ms: spans[0].duration_ms,
            error: spans.iter().any(|s| s.error.is_some()),
            spans,
            dropped_spans: self.dropped,
        }
    }
}

struct Inner {
    /// Readers copy what they need and convert it after letting go of the lock.
    done: VecDeque<Stored>,
    /// Traces completed so far: the `seq` of the newest.
    completed: u64,
    /// Bytes of `done` and of `pending` (see [`Kept::bytes`]).
    done_bytes: usize,
    pending_bytes: usize,
    pending: HashMap<TraceId, Pending>,
    /// Insertion order of pending trace ids, to drop the oldest when full.
    pending_order: VecDeque<TraceId>,
    /// Complete traces held whose root has a remote parent: the part of a trace that a
    /// command ran for the webview (the `traceparent` header). Another part of the same
    /// trace (the webview's own span) is merged into it when it completes.
    remote_parts: HashSet<TraceId>,
    /// The rate being measured, when the store keeps a share under load.
    window: Window,
    /// Traces with a failed span that the share passes over.
    rescues: Rescues,
}

impl Inner {
    /// Keeps a child span until its root ends (within the pending limits; the span is
    /// counted as dropped otherwise). `rescue`: a failed span of a trace the `load` passes
    /// over, whose later parts are then kept too.
    fn hold_child(
        &mut self,
        span: Kept,
        bytes: usize,
        limits: &TraceStoreLimits,
        rescue: Option<&Load>,
    ) {
        let trace_id = span.trace_id;
        if !self.pending.contains_key(&trace_id) {
            if self.pending.len() >= limits.max_pending {
                if let Some(oldest) = self.pending_order.pop_front() {
                    if let Some(gone) = self.pending.remove(&oldest) {
                        self.pending_bytes -= gone.bytes;
                    }
                }
            }
            self.pending_order.push_back(trace_id);
        }
        let room = self.pending_bytes + bytes <= limits.max_bytes / 4;
        let pending = self.pending.entry(trace_id).or_default();
        if room && pending.spans.len() < limits.max_spans_per_trace.saturating_sub(1) {
            pending.spans.push(span);
            pending.bytes += bytes;
            self.pending_bytes += bytes;
            if let Some(load) = rescue {
                self.rescues.rescue(load, &self.window, trace_id);
            }
        } else {
            pending.dropped += 1;
        }
    }

    /// Closes the load's window at `now` if it is over; when the share went down, drops
    /// the children held for traces it passes over from now on (their roots will be).
    fn close_window(&mut self, load: &Load, now: u64) {
        if load.close(&mut self.window, &mut self.rescues, now) != Moved::Down
            || self.pending.is_empty()
        {
            return;
        }
        let rescues = &self.rescues;
        let mut freed = 0;
        self.pending.retain(|id, pending| {
            let keep = load.keeps(*id) || rescues.contains(*id);
            if !keep {
                freed += pending.bytes;
            }
            keep
        });
        self.pending_bytes -= freed;
        let pending = &self.pending;
        self.pending_order.retain(|id| pending.contains_key(id));
    }

    /// Stores the trace its root span completes (`stored`, built before the lock with
    /// the root alone), with the children held for it, merged with an earlier part of the
    /// same trace; then evicts the oldest traces over the limits.
    fn complete(&mut self, mut stored: Stored, limits: &TraceStoreLimits) {
        let trace_id = stored.root.trace_id;
        // The root is always kept (the cap leaves room for it). Empty maps are not
        // looked up: a trace of one span (the common case) hashes nothing.
        let children = if self.pending.is_empty() {
            None
        } else {
            self.pending.remove(&trace_id)
        };
        if let Some(mut children) = children {
            self.pending_order.retain(|t| *t != trace_id);
            self.pending_bytes -= children.bytes;
            children.spans.sort_by_key(|s| s.start_time);
            stored.rest = children.spans;
            stored.dropped = children.dropped;
            stored.bytes += children.bytes;
        }
        let remote = stored.root.parent_is_remote;
        self.completed += 1;
        stored.seq = self.completed;
        // Another part of this trace completed before: one trace, one entry.
        let earlier_part = !self.remote_parts.is_empty() && self.remote_parts.contains(&trace_id);
        let stored = if remote || earlier_part {
            self.join_parts(stored, earlier_part, limits)
        } else {
            stored
        };
        self.done_bytes += stored.bytes;
        self.done.push_back(stored);
        self.evict(limits);
    }

    /// A part of a trace that crossed from the webview (`remote`), or the other part of
    /// one: merged with the part held before, which leaves `done`.
    fn join_parts(
        &mut self,
        mut stored: Stored,
        earlier_part: bool,
        limits: &TraceStoreLimits,
    ) -> Stored {
        let trace_id = stored.trace_id();
        if let Some(at) = self.done.iter().position(|t| t.trace_id() == trace_id) {
            if let Some(earlier) = self.done.remove(at) {
                self.done_bytes -= earlier.bytes;
                stored = earlier.merge(stored, limits.max_spans_per_trace);
            }
        }
        if stored.root.parent_is_remote {
            self.remote_parts.insert(trace_id);
        } else if earlier_part {
            self.remote_parts.remove(&trace_id);
        }
        stored
    }

    /// The newest trace always stays; older ones go while there are too many or they
    /// hold too many bytes.
    fn evict(&mut self, limits: &TraceStoreLimits) {
        while self.done.len() > 1
            && (self.done.len() > limits.max_traces
                || self.done_bytes + self.pending_bytes > limits.max_bytes)
        {
            let Some(gone) = self.done.pop_front() else {
                return;
            };
            self.done_bytes -= gone.bytes;
            if !self.remote_parts.is_empty() {
                self.remote_parts.remove(&gone.trace_id());
            }
        }
    }
}

/// The last finished traces. Cheap to clone; register it on the tracer provider with
/// [`TraceStore::processor`].
#[derive(Clone)]
pub struct TraceStore {
    inner: Arc<Mutex<Inner>>,
    limits: TraceStoreLimits,
    wake: Arc<Wake>,
    /// `None` when every trace is kept at any rate.
    load: Option<Arc<Load>>,
}

/// Wakes the readers of [`TraceFeed`]s. A reader sets `waiting` before it looks for new
/// traces; the first trace completed after that clears it and wakes every waiting reader.
/// While nobody waits, or a wake-up is already on its way, completing a trace costs one
/// relaxed load.
#[derive(Default)]
struct Wake {
    waiting: AtomicBool,
    notify: Notify,
}

impl TraceStore {
    /// An empty store.
    pub fn new(limits: TraceStoreLimits) -> Self {
        Self::with_load(limits, Load::new(limits.max_traces_per_second))
    }

    fn with_load(limits: TraceStoreLimits, load: Option<Load>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                done: VecDeque::new(),
                completed: 0,
                done_bytes: 0,
                pending_bytes: 0,
                pending: HashMap::new(),
                pending_order: VecDeque::new(),
                remote_parts: HashSet::new(),
                window: load.as_ref().map(Load::window).unwrap_or_default(),
                rescues: Rescues::default(),
            })),
            limits,
            wake: Arc::default(),
            load: load.map(Arc::new),
        }
    }

    /// The traces that complete from now on, in completion order.
    pub fn feed(&self) -> TraceFeed {
        TraceFeed {
            seen: self.inner.lock().completed,
            store: self.clone(),
            last: None,
        }
    }

    /// The span processor that feeds this store.
    pub fn processor(&self) -> TraceStoreProcessor {
        TraceStoreProcessor {
            store: self.clone(),
        }
    }

    fn add(&self, span: SpanData) {
        // A span completes its trace when it is the local root: no parent, or a remote one.
        let root = span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote;
        let load = self.load.as_deref();
        let mut admit = Admit::Kept;
        let mut due = None;
        if let Some(load) = load {
            let trace_id = span.span_context.trace_id();
            let verdict = load.judge(trace_id);
            if root && verdict.reads_clock {
                due = load.due();
            }
            if verdict.kept {
                admit = Admit::Counted;
            } else if matches!(span.status, Status::Error { .. }) {
                admit = Admit::Rescued;
            } else {
                // Passed over, unless a failed span of its trace was kept.
                if !(due.is_some() || load.may_be_rescued(verdict)) {
                    return;
                }
                let mut inner = self.inner.lock();
                if let Some(now) = due.take() {
                    inner.close_window(load, now);
                }
                if !inner.rescues.contains(trace_id) {
                    return;
                }
                admit = Admit::OfRescued;
            }
        }
        let rescue = load.filter(|_| admit == Admit::Rescued);
        if !root {
            let child = Kept::from(span);
            let bytes = child.bytes();
            // (Only roots read the clock: no window to close here.)
            self.inner
                .lock()
                .hold_child(child, bytes, &self.limits, rescue);
            return;
        }
        // Built in place: a root goes into the store in this very struct, moved once
        // more, into the ring.
        let mut stored = Stored {
            root: Kept::from(span),
            rest: Vec::new(),
            dropped: 0,
            bytes: 0,
            seq: 0,
        };
        stored.bytes = stored.root.bytes();
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        if let Some(load) = load {
            if let Some(now) = due {
                inner.close_window(load, now);
            }
            let trace_id = stored.root.trace_id;
            match admit {
                Admit::Counted => inner.window.count_kept(),
                Admit::Rescued | Admit::OfRescued => inner.window.count_rescued(),
                Admit::Kept => {}
            }
            if !stored.root.parent_is_remote {
                // The last part of its trace.
                inner.rescues.release(load, trace_id);
            } else if rescue.is_some() {
                // A command's part: the webview's part comes later.
                inner.rescues.rescue(load, &inner.window, trace_id);
            }
        }
        inner.complete(stored, &self.limits);
        drop(guard);
        let wake = &self.wake;
        if wake.waiting.load(Ordering::Relaxed) && wake.waiting.swap(false, Ordering::AcqRel) {
            wake.notify.notify_waiters();
        }
    }

    /// Copies of the traces completed after `seen` (oldest first), and the newest's place.
    fn completed_after(&self, seen: u64) -> (Vec<Stored>, u64) {
        let inner = self.inner.lock();
        let mut new: Vec<Stored> = inner
            .done
            .iter()
            .rev()
            .take_while(|t| t.seq > seen)
            .cloned()
            .collect();
        new.reverse();
        (new, inner.completed)
    }

    /// Traces matching `query`, newest first.
    pub fn query(&self, query: &TraceQuery) -> Vec<TraceRecord> {
        let matching: Vec<Stored> = self
            .inner
            .lock()
            .done
            .iter()
            .rev()
            .filter(|t| {
                query
                    .name
                    .as_ref()
                    .is_none_or(|n| t.root.name.contains(n.as_str()))
            })
            .filter(|t| query.min_duration.is_none_or(|d| t.root.duration() >= d))
            .filter(|t| query.error.is_none_or(|e| t.error() == e))
            .filter(|t| {
                query
                    .since_ms
                    .is_none_or(|s| unix_ms(t.root.start_time) >= s)
            })
            .filter(|t| {
                query
                    .until_ms
                    .is_none_or(|u| unix_ms(t.root.start_time) <= u)
            })
            .filter(|t| {
                query.attribute.as_ref().is_none_or(|(k, v)| {
                    t.spans().any(|s| {
                        s.attributes
                            .iter()
                            .any(|kv| kv.key.as_str() == k && kv.value.as_str() == v.as_str())
                    })
                })
            })
            .take(query.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect();
        matching.iter().map(Stored::to_record).collect()
    }

    /// One trace by its id (32 hex digits).
    pub fn get(&self, trace_id: &str) -> Option<TraceRecord> {
        let id = TraceId::from_hex(trace_id).ok()?;
        let found = self
            .inner
            .lock()
            .done
            .iter()
            .find(|t| t.trace_id() == id)
            .cloned();
        found.map(|t| t.to_record())
    }

    /// The share of traces kept under load, and an estimate of those passed over (see
    /// [`TraceStoreLimits::max_traces_per_second`]).
    ///
    /// # Examples
    /// ```
    /// # use telemetry_engine::tracing::{TraceStore, TraceStoreLimits};
    /// let store = TraceStore::new(TraceStoreLimits::default());
    /// let load = store.load();
    /// assert_eq!((load.kept_share, load.passed_over), (1.0, 0));
    /// ```
    pub fn load(&self) -> TraceStoreLoad {
        match self.load.as_deref() {
            Some(load) => {
                // A window over closes here too: after a burst, with no trace ending.
                let mut inner = self.inner.lock();
                if let Some(now) = load.due() {
                    inner.close_window(load, now);
                }
                load.report(&inner.window)
            }
            None => TraceStoreLoad {
                kept_share: 1.0,
                passed_over: 0,
            },
        }
    }

    /// Number of complete traces held.
    pub fn len(&self) -> usize {
        self.inner.lock().done.len()
    }

    /// Whether no complete trace is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a span ending is kept (see [`TraceStoreLimits::max_traces_per_second`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admit {
    /// Every trace is kept.
    Kept,
    /// Its trace is in the share kept; a root counts towards the rate.
    Counted,
    /// A failed span of a trace passed over: kept, and its trace's later parts.
    Rescued,
    /// A later part of such a trace.
    OfRescued,
}

/// Unix milliseconds with the sub-millisecond part as a fraction.
fn unix_ms_fraction(t: std::time::SystemTime) -> f64 {
    t.duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// Feeds finished spans to a [`TraceStore`].
#[derive(Clone)]
pub struct TraceStoreProcessor {
    store: TraceStore,
}

impl std::fmt::Debug for TraceStoreProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TraceStoreProcessor")
    }
}

impl SpanProcessor for TraceStoreProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        // Every recording span: exported or recorded only for the panel.
        self.store.add(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// The shortest time between two batches of a [`TraceFeed`]: a reader woken for every
/// trace would cost the threads that end spans a wake-up (a system call) each.
pub const FEED_INTERVAL: Duration = Duration::from_millis(100);

/// The traces a [`TraceStore`] completes, as they complete, in batches at most every
/// [`FEED_INTERVAL`]: for a live view. Made by [`TraceStore::feed`].
///
/// # Examples
/// ```
/// # use telemetry_engine::tracing::{TraceStore, TraceStoreLimits};
/// use opentelemetry::trace::{Tracer as _, TracerProvider as _};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = TraceStore::new(TraceStoreLimits::default());
/// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
///     .with_span_processor(store.processor())
///     .build();
/// let mut feed = store.feed();
/// provider.tracer("app").in_span("export_video", |_| {});
/// let traces = feed.next().await;
/// assert_eq!(traces[0].name, "export_video");
/// # });
/// ```
pub struct TraceFeed {
    store: TraceStore,
    /// The place of the newest trace handed out or passed over.
    seen: u64,
    /// When the last batch was handed out or passed over.
    last: Option<tokio::time::Instant>,
}

impl TraceFeed {
    /// Waits until a trace has completed since the last batch, and [`FEED_INTERVAL`] has
    /// passed since it. Takes nothing: dropping the future loses nothing.
    pub async fn ready(&mut self) {
        if let Some(last) = self.last {
            tokio::time::sleep_until(last + FEED_INTERVAL).await;
        }
        loop {
            let notified = self.store.wake.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            self.store.wake.waiting.store(true, Ordering::SeqCst);
            if self.store.inner.lock().completed > self.seen {
                return;
            }
            notified.await;
        }
    }

    /// The traces completed since the last batch (oldest first). A trace completed again
    /// (a part of it from the webview arriving later) comes again, whole. A reader that
    /// falls behind gets the ones the store still holds.
    pub fn take(&mut self) -> Vec<TraceRecord> {
        let (new, newest) = self.store.completed_after(self.seen);
        self.seen = newest;
        self.last = Some(tokio::time::Instant::now());
        new.iter().map(Stored::to_record).collect()
    }

    /// Passes over the traces completed since the last batch (nobody to show them to).
    pub fn skip(&mut self) {
        self.seen = self.store.inner.lock().completed;
        self.last = Some(tokio::time::Instant::now());
    }

    /// [`TraceFeed::ready`], then [`TraceFeed::take`].
    pub async fn next(&mut self) -> Vec<TraceRecord> {
        self.ready().await;
        self.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    fn store_with(limits: TraceStoreLimits) -> (TraceStore, SdkTracerProvider) {
        let store = TraceStore::new(limits);
        let provider = SdkTracerProvider::builder()
            .with_span_processor(store.processor())
            .build();
        (store, provider)
    }

    #[tokio::test]
    async fn a_feed_hands_out_each_completed_trace_once_in_order_and_wakes_its_reader() {
        let (store, provider) = store_with(TraceStoreLimits::default());
        let tracer = provider.tracer("t");
        tracer.in_span("before", |_| {});
        let mut feed = store.feed();
        for name in ["a", "b", "c"] {
            tracer.in_span(name, |_| {});
        }
        let names = |traces: Vec<TraceRecord>| -> Vec<String> {
            traces.into_iter().map(|t| t.name).collect()
        };
        assert_eq!(names(feed.next().await), ["a", "b", "c"], "not `before`");
        // A reader waiting with nothing new is woken by the next trace, from any thread.
        let reader = tokio::spawn(async move { feed.next().await });
        tokio::task::yield_now().await;
        let ender = std::thread::spawn(move || {
            provider.tracer("t").in_span("d", |_| {});
            provider
        });
        let woken = tokio::time::timeout(Duration::from_secs(10), reader).await;
        assert_eq!(names(woken.expect("woken").unwrap()), ["d"]);
        drop(ender.join().unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn a_feed_hands_out_at_most_one_batch_per_interval_and_can_pass_over_traces() {
        let (store, provider) = store_with(TraceStoreLimits::default());
        let tracer = provider.tracer("t");
        let mut feed = store.feed();
        tracer.in_span("a", |_| {});
        assert_eq!(feed.next().await.len(), 1);
        let first = tokio::time::Instant::now();
        tracer.in_span("b", |_| {});
        tracer.in_span("c", |_| {});
        assert_eq!(feed.next().await.len(), 2, "both in one batch");
        assert!(first.elapsed() >= FEED_INTERVAL, "{:?}", first.elapsed());
        tracer.in_span("d", |_| {});
        feed.ready().await;
        feed.skip();
        tracer.in_span("e", |_| {});
        let names: Vec<String> = feed.next().await.into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["e"], "d was passed over");
        drop(provider);
    }

    /// A store keeping every trace while at most 1000 a second end, on a clock the test
    /// sets, and a provider feeding it (with the engine's id generator).
    fn loaded_store() -> (
        TraceStore,
        SdkTracerProvider,
        Arc<std::sync::atomic::AtomicU64>,
    ) {
        let now = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let limits = TraceStoreLimits {
            max_traces_per_second: 1000,
            ..TraceStoreLimits::default()
        };
        let store = TraceStore::with_load(limits, Some(Load::manual(1000, now.clone())));
        let provider = SdkTracerProvider::builder()
            .with_id_generator(crate::tracing::ids::PresetIds::default())
            .with_span_processor(store.processor())
            .build();
        (store, provider, now)
    }

    /// 5000 traces in the first second, each kept; then the window closes at 1 s: from
    /// then on one in eight (5000 a second over 1000).
    fn flood_the_first_second(
        store: &TraceStore,
        tracer: &opentelemetry_sdk::trace::SdkTracer,
        now: &std::sync::atomic::AtomicU64,
    ) {
        for _ in 0..5000 {
            tracer.in_span("flood", |_| {});
        }
        assert_eq!(store.inner.lock().completed, 5000);
        assert_eq!(store.load().kept_share, 1.0, "the first window is not over");
        now.store(1_000_000_000, Ordering::Relaxed);
        assert_eq!(store.load().kept_share, 0.125);
    }

    #[test]
    fn under_load_a_share_of_traces_is_kept_whole_with_every_failed_span_and_its_root() {
        use opentelemetry::trace::{Span as _, TraceContextExt as _};
        let (store, provider, now) = loaded_store();
        let tracer = provider.tracer("t");
        let completed = || store.inner.lock().completed;
        flood_the_first_second(&store, &tracer, &now);
        let before = completed();
        for _ in 0..10_000 {
            tracer.in_span("flood", |cx| {
                tracer.start_with_context("child", &cx).end();
            });
        }
        let kept = completed() - before;
        assert!(
            (1_100..1_400).contains(&kept),
            "about an eighth of 10,000: {kept}"
        );
        assert!(
            store.inner.lock().pending.is_empty(),
            "no child of a trace passed over"
        );
        let flood = store.query(&TraceQuery::default());
        assert!(flood.iter().all(|t| t.spans.len() == 2), "kept whole");
        // Every failed root is kept, and every trace with a failed child, root included.
        let before = completed();
        for _ in 0..500 {
            tracer.in_span("failed_root", |cx| {
                cx.span().set_status(Status::error("broke"));
            });
            tracer.in_span("ok_root", |cx| {
                let mut child = tracer.start_with_context("failed_child", &cx);
                child.set_status(Status::error("broke"));
                child.end();
            });
        }
        assert_eq!(completed() - before, 1000);
        let failed = store.query(&TraceQuery {
            name: Some("ok_root".into()),
            ..TraceQuery::default()
        });
        assert_eq!(failed.len(), 250, "the last 500 held: half of them");
        assert!(failed.iter().all(|t| t.spans.len() == 2 && t.error));
        assert!(
            store.inner.lock().rescues.is_empty(),
            "each released by its root"
        );
        // The next window estimates what was passed over: ~11,000 roots ended, of which
        // ~1,375 kept by their id and ~875 rescued.
        now.store(2_000_000_000, Ordering::Relaxed);
        let passed_over = store.load().passed_over;
        assert!((7_800..9_800).contains(&passed_over), "{passed_over}");
        drop(provider);
    }

    #[test]
    fn when_the_share_goes_down_children_held_for_traces_now_passed_over_are_let_go() {
        use opentelemetry::trace::{Span as _, TraceContextExt as _};
        let (store, provider, now) = loaded_store();
        let tracer = provider.tracer("t");
        for _ in 0..5000 {
            tracer.in_span("flood", |_| {});
        }
        // 64 traces in flight: each child ended and held, its root still open.
        let open: Vec<Context> = (0..64)
            .map(|_| Context::current_with_span(tracer.start("open")))
            .collect();
        for cx in &open {
            tracer.start_with_context("child", cx).end();
        }
        assert_eq!(store.inner.lock().pending.len(), 64);
        now.store(1_000_000_000, Ordering::Relaxed);
        assert_eq!(store.load().kept_share, 0.125);
        let load = store.load.as_deref().unwrap();
        let id = |cx: &Context| cx.span().span_context().trace_id();
        let still: HashSet<TraceId> = open.iter().map(id).filter(|t| load.keeps(*t)).collect();
        let inner = store.inner.lock();
        assert_eq!(inner.pending.keys().copied().collect::<HashSet<_>>(), still);
        assert_eq!(inner.pending_order.len(), still.len());
        let bytes: usize = inner.pending.values().map(|p| p.bytes).sum();
        assert_eq!(inner.pending_bytes, bytes);
        drop(inner);
        let before = store.inner.lock().completed;
        for cx in open {
            cx.span().end();
        }
        assert_eq!(store.inner.lock().completed - before, still.len() as u64);
        assert!(store.inner.lock().pending.is_empty());
        drop(provider);
    }

    #[test]
    fn the_webview_part_of_a_failed_command_passed_over_by_the_share_is_kept_with_it() {
        use opentelemetry::trace::{
            Span as _, SpanContext, TraceContextExt as _, TraceFlags, TraceState,
        };
        let (store, provider, now) = loaded_store();
        let tracer = provider.tracer("t");
        flood_the_first_second(&store, &tracer, &now);
        let load = store.load.as_deref().unwrap();
        let trace_id = (1..)
            .map(|i: u128| TraceId::from(i.wrapping_mul(0x1234_5678_9abc_def1)))
            .find(|t| !load.keeps(*t))
            .unwrap();
        let (click, ok) = (SpanId::from(0x11_u64), TraceId::from(0x77_u128));
        let header = |t| SpanContext::new(t, click, TraceFlags::SAMPLED, true, TraceState::NONE);
        // The command ran under the webview's `traceparent`; a span of it failed.
        let remote = Context::new().with_remote_span_context(header(trace_id));
        let command = tracer.start_with_context("export_video", &remote);
        let cx = Context::current_with_span(command);
        let mut encode = tracer.start_with_context("encode", &cx);
        encode.set_status(Status::error("disk full"));
        encode.end();
        cx.span().end();
        // The webview's own span, reported later with the ids it chose.
        crate::tracing::ids::with_ids(trace_id, click, || tracer.start("ui.export").end());
        let trace = store.get(&trace_id.to_string()).expect("kept");
        let mut names: Vec<&str> = trace.spans.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["encode", "export_video", "ui.export"]);
        assert!(!store.inner.lock().rescues.contains(trace_id), "released");
        // A command that did not fail, passed over: neither part is kept.
        assert!(!load.keeps(ok), "an id the share passes over");
        let remote = Context::new().with_remote_span_context(header(ok));
        tracer.start_with_context("export_video", &remote).end();
        crate::tracing::ids::with_ids(ok, click, || tracer.start("ui.export").end());
        assert!(store.get(&ok.to_string()).is_none());
        drop(provider);
    }

    #[test]
    fn a_store_without_a_rate_limit_has_no_load_to_judge_by() {
        let (store, provider) = store_with(TraceStoreLimits {
            max_traces_per_second: 0,
            ..TraceStoreLimits::default()
        });
        assert!(store.load.is_none());
        assert_eq!(store.load().kept_share, 1.0);
        drop(provider);
    }

    #[test]
    fn a_single_span_trace_is_stored_without_an_allocation_of_its_own() {
        let (store, provider) = store_with(TraceStoreLimits {
            max_traces: 2,
            ..TraceStoreLimits::default()
        });
        let tracer = provider.tracer("t");
        for _ in 0..5 {
            tracer.in_span("one", |_| {});
        }
        let inner = store.inner.lock();
        assert_eq!(inner.done.len(), 2);
        assert!(inner.done.iter().all(|t| t.rest.capacity() == 0));
        assert_eq!(inner.completed, 5);
        drop(inner);
        drop(provider);
    }

    #[test]
    fn the_parts_of_a_trace_that_crossed_from_the_webview_are_one_trace() {
        use opentelemetry::trace::{Span as _, TraceContextExt as _};
        let (store, provider) = store_with(TraceStoreLimits::default());
        let tracer = provider.tracer("t");
        // The webview's span: a root, still open.
        let mut click = tracer.start("ui.export_clicked");
        let click_cx = click.span_context().clone();
        // A command it invoked runs under the header's remote parent, and ends first.
        let header = opentelemetry::trace::SpanContext::new(
            click_cx.trace_id(),
            click_cx.span_id(),
            click_cx.trace_flags(),
            true,
            Default::default(),
        );
        let remote = Context::new().with_remote_span_context(header);
        {
            let command = tracer.start_with_context("export_video", &remote);
            let cx = Context::current_with_span(command);
            tracer.start_with_context("encode", &cx).end();
        }
        let trace_id = click_cx.trace_id().to_string();
        assert_eq!(store.get(&trace_id).unwrap().spans.len(), 2);
        click.end();
        assert_eq!(store.len(), 1, "one trace, not two parts");
        let trace = store.get(&trace_id).unwrap();
        let names: Vec<&str> = trace.spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["ui.export_clicked", "export_video", "encode"]);
        assert_eq!(trace.name, "ui.export_clicked");
        drop(provider);
    }

    #[test]
    fn large_spans_are_bounded_in_bytes_not_only_in_count() {
        use opentelemetry::trace::{Span as _, TraceContextExt as _};
        const MAX: usize = 1024 * 1024;
        let (store, provider) = store_with(TraceStoreLimits {
            max_bytes: MAX,
            ..TraceStoreLimits::default()
        });
        let tracer = provider.tracer("t");
        let big = "x".repeat(1024);
        // Like a page sending its largest spans: 64 attributes of 1 KiB each.
        let large_span = |name: &'static str| {
            let mut span = tracer.start(name);
            for i in 0..64 {
                span.set_attribute(opentelemetry::KeyValue::new(format!("k{i}"), big.clone()));
            }
            span
        };
        for _ in 0..200 {
            let root = large_span("ui.root");
            let cx = Context::new().with_span(root);
            for _ in 0..10 {
                let mut child = tracer.start_with_context("ui.child", &cx);
                for i in 0..64 {
                    child.set_attribute(opentelemetry::KeyValue::new(format!("k{i}"), big.clone()));
                }
                child.end();
            }
            drop(cx);
        }
        let inner = store.inner.lock();
        assert!(
            inner.done_bytes + inner.pending_bytes <= MAX,
            "{}",
            inner.done_bytes
        );
        // Spans of ~68 KiB: waiting children get a quarter of the bytes (3 of 10 per
        // trace, the rest counted), and a few traces of 4 spans fill the store.
        assert!((1..=4).contains(&inner.done.len()), "{}", inner.done.len());
        let newest = inner.done.back().map(|t| t.dropped);
        assert_eq!(newest, Some(7));
        drop(inner);
        drop(provider);
    }

    #[test]
    fn keeps_only_the_last_traces_and_caps_spans_per_trace() {
        let (store, provider) = store_with(TraceStoreLimits {
            max_traces: 3,
            max_pending: 10,
            max_spans_per_trace: 2,
            ..TraceStoreLimits::default()
        });
        let tracer = provider.tracer("t");
        for i in 0..5 {
            tracer.in_span(format!("root{i}"), |_| {
                for _ in 0..4 {
                    tracer.in_span("child", |_| {});
                }
            });
        }
        let traces = store.query(&TraceQuery::default());
        let names: Vec<&str> = traces.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["root4", "root3", "root2"]);
        assert_eq!(traces[0].spans.len(), 2, "root plus one kept child");
        assert_eq!(traces[0].spans[0].name, "root4");
        assert_eq!(traces[0].dropped_spans, 3);
    }

    #[test]
    fn pending_traces_are_bounded() {
        use opentelemetry::trace::{Span as _, TraceContextExt as _};
        let (store, provider) = store_with(TraceStoreLimits {
            max_traces: 10,
            max_pending: 2,
            max_spans_per_trace: 10,
            ..TraceStoreLimits::default()
        });
        let tracer = provider.tracer("t");
        // Five roots stay open while a child of each ends: five traces wait, two are kept.
        let cxs: Vec<Context> = (0..5)
            .map(|i| Context::new().with_span(tracer.start(format!("open{i}"))))
            .collect();
        for cx in &cxs {
            tracer.start_with_context("child", cx).end();
        }
        assert_eq!(store.inner.lock().pending.len(), 2);
        for cx in &cxs {
            cx.span().end();
        }
        let traces = store.query(&TraceQuery::default());
        assert_eq!(traces.len(), 5);
        assert_eq!(
            traces.iter().filter(|t| t.spans.len() == 2).count(),
            2,
            "the two newest kept their child"
        );
    }

    #[test]
    fn query_filters_by_duration_and_time() {
        let (store, provider) = store_with(TraceStoreLimits::default());
        let tracer = provider.tracer("t");
        tracer.in_span("fast", |_| {});
        tracer.in_span("slow", |_| std::thread::sleep(Duration::from_millis(30)));
        let slow = store.query(&TraceQuery {
            min_duration: Some(Duration::from_millis(20)),
            ..Default::default()
        });
        assert_eq!(slow.len(), 1);
        assert_eq!(slow[0].name, "slow");
        let future = store.query(&TraceQuery {
            since_ms: Some(i64::MAX),
            ..Default::default()
        });
        assert!(future.is_empty());
        assert_eq!(
            store
                .query(&TraceQuery {
                    limit: Some(1),
                    ..Default::default()
                })
                .len(),
            1
        );
    }
}
