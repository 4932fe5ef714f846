//! The durable offline spool: encoded OTLP batches that could not be sent wait on disk,
//! one file each, and are replayed oldest first.
//!
//! Layout, under `<storage.dir>/spool`:
//! - `lock`: held (an OS file lock) by the one process that owns the spool; a second
//!   instance of the app runs without one rather than send the same batches twice;
//! - one folder per exporter (a hash of its name), holding `exporter` (the name) and one
//!   `<sequence>.batch` per batch: a header (magic, creation time, length, CRC-32 of the
//!   payload) and the encoded request. A batch is written to `<sequence>.tmp`, synced,
//!   then renamed, so a crash leaves either the whole file or a `.tmp` that the next
//!   start removes. A file whose header or checksum does not match (a torn write on a
//!   file system without atomic rename, a hand edit) is skipped with a warning and
//!   counted, never sent and never a panic.
//!
//! Bounds: all exporters together hold at most `spool.max_bytes`; a batch older than
//! `spool.max_age` is dropped. Beyond either, the oldest go first. Every drop is counted in
//! `telemetry_spool_dropped_total{signal,reason}` (`full`, `expired`, `corrupt`,
//! `rejected`, `unwritable`, `consent`, `unconfigured`); `telemetry_spool_bytes{signal}`
//! is what waits. Besides the OTLP signals, alert deliveries (`alerts`) use it.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use opentelemetry::KeyValue;
use parking_lot::Mutex;
use sha2::Digest as _;
use tokio::sync::Notify;

use super::otlp_send::Signal;
use crate::config::{SpoolConfig, TelemetryConfig};
use crate::metrics::{Counter, Metrics, MetricsError};
use crate::privacy::ConsentGate;

/// The first bytes of every batch file (version 1 of the format).
const MAGIC: [u8; 4] = *b"TSP1";
/// The last sequence number a batch file may have: that of the last millisecond of the
/// year 9999 (numbers are the creation time in ms × 1000, then counted up).
const LAST_SEQ: u64 = (crate::clock::LATEST_MS as u64 + 1) * 1000 - 1;
/// Magic, creation time (Unix ms), payload length, CRC-32.
const HEADER: usize = 4 + 8 + 4 + 4;
/// The largest payload a batch file may claim (a header saying more is corrupt).
const MAX_PAYLOAD: u32 = 64 << 20;

/// Why the spool cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpoolError {
    #[error("cannot use the spool folder {dir}: {source}")]
    Io {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the spool folder {0} is in use by another instance of the app; this one sends without a spool")]
    Locked(String),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
}

/// What waits in one exporter's queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Backlog {
    pub(crate) batches: usize,
    pub(crate) bytes: u64,
    /// When the oldest waiting batch was made (Unix ms).
    pub(crate) since_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    seq: u64,
    created_ms: u64,
    /// The file's size.
    size: u64,
}

struct Queue {
    signal: Signal,
    dir: PathBuf,
    entries: VecDeque<Entry>,
    bytes: u64,
    /// Wakes the queue's replay when a batch is added.
    added: Arc<Notify>,
}

impl Queue {
    fn file(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}.batch"))
    }
}

struct Inner {
    dir: PathBuf,
    limits: SpoolConfig,
    queues: Mutex<HashMap<String, Queue>>,
    /// The next sequence number: Unix µs at least, so numbers sort by age across restarts.
    next_seq: AtomicU64,
    dropped: Counter,
    /// Set at shutdown: what is not sent by then goes to disk.
    deadline: Mutex<Option<std::time::Instant>>,
    /// The OS lock on `<dir>/lock`, held until [`Spool::release`] (or the drop).
    lock: Mutex<Option<File>>,
}

/// The spool. Cheap to clone; every clone is the same spool.
#[derive(Clone)]
pub(crate) struct Spool {
    inner: Arc<Inner>,
}

fn io_error(dir: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        dir: dir.display().to_string(),
        source,
    }
}

impl Spool {
    /// The spool of `config`: `<storage.dir>/spool`, when a storage folder is configured
    /// and the spool is on. One that cannot be opened is a warning and none: exporters
    /// then send without one. Without consent, what a previous run left is dropped.
    pub(crate) fn for_config(
        config: &TelemetryConfig,
        metrics: &Metrics,
        consent: &ConsentGate,
    ) -> Option<Self> {
        if !(config.enabled && config.spool.enabled) {
            return None;
        }
        let dir = Path::new(config.storage.dir.as_ref()?).join("spool");
        match Self::open(&dir, &config.spool, metrics) {
            Ok(spool) => {
                if !consent.allows_sending() {
                    spool.clear("consent");
                }
                Some(spool)
            }
            Err(e) => {
                ::tracing::warn!(target: "telemetry::spool", error = %e, "telemetry that cannot be sent will not be kept");
                None
            }
        }
    }

    /// Opens (creating it if needed) the spool in `dir`, takes its lock and loads what a
    /// previous run left, dropping what is corrupt or too old.
    ///
    /// # Errors
    /// [`SpoolError::Io`] when the folder cannot be created or read,
    /// [`SpoolError::Locked`] when another process holds it.
    pub(crate) fn open(
        dir: &Path,
        limits: &SpoolConfig,
        metrics: &Metrics,
    ) -> Result<Self, SpoolError> {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .map_err(io_error(dir))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(SpoolError::Locked(dir.display().to_string()))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error(dir)(e)),
        }
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            limits: limits.clone(),
            queues: Mutex::new(HashMap::new()),
            next_seq: AtomicU64::new(now_ms() * 1000),
            dropped: metrics.counter("telemetry_spool_dropped_total")?,
            deadline: Mutex::new(None),
            lock: Mutex::new(Some(lock)),
        });
        let spool = Self { inner };
        spool.load()?;
        let observed = Arc::downgrade(&spool.inner);
        metrics.observed_gauge("telemetry_spool_bytes", move |observer| {
            let Some(inner) = observed.upgrade() else {
                return;
            };
            let mut bytes: HashMap<Signal, u64> = HashMap::new();
            for queue in inner.queues.lock().values() {
                *bytes.entry(queue.signal).or_default() += queue.bytes;
            }
            for (signal, bytes) in bytes {
                let _ = observer.observe(bytes as f64, &[KeyValue::new("signal", signal.as_str())]);
            }
        })?;
        spool.enforce_bounds();
        Ok(spool)
    }

    /// Loads every exporter's folder.
    fn load(&self) -> Result<(), SpoolError> {
        let dir = &self.inner.dir;
        for folder in std::fs::read_dir(dir).map_err(io_error(dir))?.flatten() {
            let path = folder.path();
            if !path.is_dir() {
                continue;
            }
            let Some(name) = std::fs::read_to_string(path.join("exporter")).ok() else {
                continue;
            };
            let Some(signal) = Signal::of_exporter(&name) else {
                continue;
            };
            let queue = self.load_queue(path, signal);
            if !queue.entries.is_empty() {
                ::tracing::info!(target: "telemetry::spool", exporter = %name, batches = queue.entries.len(), bytes = queue.bytes, "batches left unsent by a previous run will be sent");
            }
            self.inner.queues.lock().insert(name, queue);
        }
        Ok(())
    }

    /// One exporter's folder: its batches in order; torn and corrupt ones removed.
    fn load_queue(&self, dir: PathBuf, signal: Signal) -> Queue {
        let mut entries = Vec::new();
        for file in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = file.path();
            let seq = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u64>().ok());
            match (path.extension().and_then(|e| e.to_str()), seq) {
                // Numbers are made from the time (see `push`): one past the year 9999 is
                // not ours, and the numbers after it would run out.
                (Some("batch"), Some(seq)) if seq > LAST_SEQ => {
                    self.discard(&path, signal, "corrupt");
                }
                (Some("batch"), Some(seq)) => match read_header(&path) {
                    Some((created_ms, size)) => entries.push(Entry {
                        seq,
                        created_ms,
                        size,
                    }),
                    None => self.discard(&path, signal, "corrupt"),
                },
                // A write the last run did not finish.
                (Some("tmp"), _) => self.discard(&path, signal, "corrupt"),
                _ => {}
            }
        }
        entries.sort_by_key(|e| e.seq);
        if let Some(last) = entries.last() {
            self.inner
                .next_seq
                .fetch_max(last.seq + 1, Ordering::Relaxed);
        }
        Queue {
            signal,
            dir,
            bytes: entries.iter().map(|e| e.size).sum(),
            entries: entries.into(),
            added: Arc::new(Notify::new()),
        }
    }

    /// Removes a file that cannot be sent, with a warning, and counts it.
    fn discard(&self, path: &Path, signal: Signal, reason: &'static str) {
        ::tracing::warn!(target: "telemetry::spool", file = %path.display(), reason, "a spooled batch was dropped");
        let _ = std::fs::remove_file(path);
        self.count(signal, reason, 1);
    }

    fn count(&self, signal: Signal, reason: &'static str, batches: u64) {
        let _ = self.inner.dropped.add(
            batches,
            &[
                KeyValue::new("signal", signal.as_str()),
                KeyValue::new("reason", reason),
            ],
        );
    }

    /// The queue of exporter `name` (created, or found from a previous run).
    ///
    /// # Errors
    /// Its folder cannot be created.
    pub(crate) fn queue(&self, name: &str, signal: Signal) -> Result<SpoolQueue, String> {
        let mut queues = self.inner.queues.lock();
        if !queues.contains_key(name) {
            let hash = sha2::Sha256::digest(name.as_bytes());
            let folder: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
            let dir = self.inner.dir.join(folder);
            std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(dir.join("exporter"), name))
                .map_err(|e| format!("cannot create the spool folder {}: {e}", dir.display()))?;
            queues.insert(
                name.to_owned(),
                Queue {
                    signal,
                    dir,
                    entries: VecDeque::new(),
                    bytes: 0,
                    added: Arc::new(Notify::new()),
                },
            );
        }
        let added = queues
            .get(name)
            .map(|q| q.added.clone())
            .unwrap_or_default();
        Ok(SpoolQueue {
            spool: self.clone(),
            name: name.to_owned(),
            signal,
            added,
        })
    }

    /// The app is exiting: replays stop, and a batch not sent by `deadline` goes to disk
    /// for the next launch.
    pub(crate) fn close(&self, deadline: std::time::Instant) {
        *self.inner.deadline.lock() = Some(deadline);
        for queue in self.inner.queues.lock().values() {
            queue.added.notify_waiters();
        }
    }

    /// Lets go of the spool (the app has exited): its lock is released at once, so that
    /// the next launch can open it even while parts of this one are still being dropped,
    /// and later batches are refused.
    pub(crate) fn release(&self) {
        self.inner.lock.lock().take();
    }

    /// Drops the batches of every `signal` queue whose name is not in `claimed`, counted
    /// with `reason`, and forgets those queues.
    pub(crate) fn drop_unclaimed(&self, signal: Signal, claimed: &[String], reason: &'static str) {
        let mut queues = self.inner.queues.lock();
        let unclaimed: Vec<String> = queues
            .iter()
            .filter(|(name, q)| q.signal == signal && !claimed.contains(name))
            .map(|(name, _)| name.clone())
            .collect();
        for name in unclaimed {
            if let Some(mut queue) = queues.remove(&name) {
                if !queue.entries.is_empty() {
                    ::tracing::warn!(target: "telemetry::spool", queue = %name, batches = queue.entries.len(), reason, "spooled batches dropped");
                }
                self.drain(&mut queue, reason);
                let _ = std::fs::remove_dir_all(&queue.dir);
            }
        }
    }

    /// Drops every waiting batch, counted with `reason` (consent was withdrawn).
    pub(crate) fn clear(&self, reason: &'static str) {
        for queue in self.inner.queues.lock().values_mut() {
            self.drain(queue, reason);
        }
    }

    fn drain(&self, queue: &mut Queue, reason: &'static str) {
        while !queue.entries.is_empty() {
            self.pop_front(queue, reason);
        }
    }

    /// Drops batches older than `max_age`, then the oldest of all until the spool fits in
    /// `max_bytes`.
    fn enforce_bounds(&self) {
        let oldest_allowed = now_ms().saturating_sub(
            u64::try_from(self.inner.limits.max_age.as_millis()).unwrap_or(u64::MAX),
        );
        let mut queues = self.inner.queues.lock();
        for queue in queues.values_mut() {
            while queue
                .entries
                .front()
                .is_some_and(|e| e.created_ms < oldest_allowed)
            {
                self.pop_front(queue, "expired");
            }
        }
        loop {
            let total: u64 = queues.values().map(|q| q.bytes).sum();
            if total <= self.inner.limits.max_bytes {
                break;
            }
            let oldest = queues
                .values_mut()
                .filter(|q| !q.entries.is_empty())
                .min_by_key(|q| q.entries.front().map_or(u64::MAX, |e| e.seq));
            match oldest {
                Some(queue) => self.pop_front(queue, "full"),
                None => break,
            }
        }
    }

    fn pop_front(&self, queue: &mut Queue, reason: &'static str) {
        if let Some(entry) = queue.entries.pop_front() {
            queue.bytes = queue.bytes.saturating_sub(entry.size);
            let _ = std::fs::remove_file(queue.file(entry.seq));
            self.count(queue.signal, reason, 1);
        }
    }
}

/// One exporter's queue in the spool.
#[derive(Clone)]
pub(crate) struct SpoolQueue {
    spool: Spool,
    name: String,
    signal: Signal,
    added: Arc<Notify>,
}

/// A batch read back from the spool.
pub(crate) struct Spooled {
    pub(crate) seq: u64,
    pub(crate) bytes: Vec<u8>,
}

impl SpoolQueue {
    /// Whether batches wait (new ones then go behind them, to keep the order).
    pub(crate) fn has_backlog(&self) -> bool {
        self.backlog().batches > 0
    }

    /// When the app is exiting, the time by which a batch must be sent or go to disk.
    pub(crate) fn deadline(&self) -> Option<std::time::Instant> {
        *self.spool.inner.deadline.lock()
    }

    /// What waits.
    pub(crate) fn backlog(&self) -> Backlog {
        let queues = self.spool.inner.queues.lock();
        queues
            .get(&self.name)
            .map_or_else(Backlog::default, |q| Backlog {
                batches: q.entries.len(),
                bytes: q.bytes,
                since_ms: q.entries.front().map(|e| e.created_ms),
            })
    }

    /// Writes one encoded batch behind the others, then applies the bounds.
    ///
    /// # Errors
    /// The file cannot be written (a full or read-only disk): the batch is counted as
    /// dropped (`unwritable`) and the error says why.
    pub(crate) fn push(&self, payload: &[u8]) -> Result<(), String> {
        let inner = &self.spool.inner;
        if inner.lock.lock().is_none() {
            self.spool.count(self.signal, "unwritable", 1);
            return Err("the spool was released at exit".to_owned());
        }
        let created_ms = now_ms();
        inner
            .next_seq
            .fetch_max(created_ms * 1000, Ordering::Relaxed);
        let seq = inner.next_seq.fetch_add(1, Ordering::Relaxed);
        let dir = match inner.queues.lock().get(&self.name) {
            Some(queue) => queue.dir.clone(),
            None => return Err(format!("no spool queue for {}", self.name)),
        };
        let path = dir.join(format!("{seq:020}.batch"));
        if let Err(e) = write_batch(&path, created_ms, payload) {
            self.spool.count(self.signal, "unwritable", 1);
            return Err(format!(
                "cannot write to the spool ({}): {e}",
                dir.display()
            ));
        }
        if let Some(queue) = inner.queues.lock().get_mut(&self.name) {
            let size = (HEADER + payload.len()) as u64;
            queue.entries.push_back(Entry {
                seq,
                created_ms,
                size,
            });
            queue.bytes += size;
        }
        self.spool.enforce_bounds();
        self.added.notify_one();
        Ok(())
    }

    /// The oldest batch that can be sent; those too old or corrupt on the way are
    /// dropped and counted.
    pub(crate) fn front(&self) -> Option<Spooled> {
        let max_age =
            u64::try_from(self.spool.inner.limits.max_age.as_millis()).unwrap_or(u64::MAX);
        loop {
            let (entry, path) = {
                let queues = self.spool.inner.queues.lock();
                let queue = queues.get(&self.name)?;
                let entry = *queue.entries.front()?;
                (entry, queue.file(entry.seq))
            };
            if now_ms().saturating_sub(entry.created_ms) > max_age {
                self.remove(entry.seq, Some("expired"));
                continue;
            }
            match read_batch(&path) {
                Some(bytes) => {
                    return Some(Spooled {
                        seq: entry.seq,
                        bytes,
                    })
                }
                None => {
                    ::tracing::warn!(target: "telemetry::spool", file = %path.display(), "a spooled batch is damaged and was dropped");
                    self.remove(entry.seq, Some("corrupt"));
                }
            }
        }
    }

    /// Removes batch `seq` (sent, or dropped and counted with `reason`).
    pub(crate) fn remove(&self, seq: u64, reason: Option<&'static str>) {
        let mut queues = self.spool.inner.queues.lock();
        let Some(queue) = queues.get_mut(&self.name) else {
            return;
        };
        if let Some(i) = queue.entries.iter().position(|e| e.seq == seq) {
            if let Some(entry) = queue.entries.remove(i) {
                queue.bytes = queue.bytes.saturating_sub(entry.size);
            }
            let _ = std::fs::remove_file(queue.file(seq));
            if let Some(reason) = reason {
                self.spool.count(self.signal, reason, 1);
            }
        }
    }

    /// Drops this queue's waiting batches, counted with `reason`.
    pub(crate) fn clear(&self, reason: &'static str) {
        if let Some(queue) = self.spool.inner.queues.lock().get_mut(&self.name) {
            self.spool.drain(queue, reason);
        }
    }

    /// Resolves when a batch is added or the spool closes.
    pub(crate) async fn added(&self) {
        self.added.notified().await;
    }

    pub(crate) fn signal(&self) -> Signal {
        self.signal
    }
}

/// Writes a batch file atomically: a `.tmp` written and synced, then renamed.
fn write_batch(path: &Path, created_ms: u64, payload: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|l| *l <= MAX_PAYLOAD)
        .ok_or_else(|| std::io::Error::other("the batch is larger than 64 MiB"))?;
    let tmp = path.with_extension("tmp");
    let written = (|| {
        let mut file = File::create(&tmp)?;
        let mut header = Vec::with_capacity(HEADER);
        header.extend_from_slice(&MAGIC);
        header.extend_from_slice(&created_ms.to_le_bytes());
        header.extend_from_slice(&len.to_le_bytes());
        header.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        file.write_all(&header)?;
        file.write_all(payload)?;
        file.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The creation time and file size from a batch file's header, if the header is whole
/// and its length matches the file.
fn read_header(path: &Path) -> Option<(u64, u64)> {
    let mut file = File::open(path).ok()?;
    let size = file.metadata().ok()?.len();
    let mut header = [0u8; HEADER];
    file.read_exact(&mut header).ok()?;
    let (created_ms, len, _) = parse_header(&header)?;
    (size == (HEADER as u64) + u64::from(len)).then_some((created_ms, size))
}

/// Magic, creation time, length and CRC of a header.
fn parse_header(header: &[u8; HEADER]) -> Option<(u64, u32, u32)> {
    if header[..4] != MAGIC {
        return None;
    }
    let created_ms = u64::from_le_bytes(header[4..12].try_into().ok()?);
    let len = u32::from_le_bytes(header[12..16].try_into().ok()?);
    let crc = u32::from_le_bytes(header[16..20].try_into().ok()?);
    (len <= MAX_PAYLOAD).then_some((created_ms, len, crc))
}

/// The payload of a batch file, if its header, length and checksum hold.
fn read_batch(path: &Path) -> Option<Vec<u8>> {
    let bytes = std::fs::read(path).ok()?;
    let header: &[u8; HEADER] = bytes.get(..HEADER)?.try_into().ok()?;
    let (_, len, crc) = parse_header(header)?;
    let payload = &bytes[HEADER..];
    (payload.len() == len as usize && crc32fast::hash(payload) == crc).then(|| payload.to_vec())
}

fn now_ms() -> u64 {
    u64::try_from(crate::clock::now_ms()).unwrap_or(0)
}

/// The spool, reachable from the benchmarks only (`benches/spool.rs`); not API.
#[doc(hidden)]
pub struct BenchSpool(SpoolQueue);

impl BenchSpool {
    /// A spool in `dir` with room for `max_bytes` and one queue.
    ///
    /// # Errors
    /// The folder cannot be used.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self, String> {
        let limits = SpoolConfig {
            enabled: true,
            max_bytes,
            ..SpoolConfig::default()
        };
        let spool = Spool::open(dir, &limits, &Metrics::detached()).map_err(|e| e.to_string())?;
        Ok(Self(spool.queue("traces:otlp:bench", Signal::Traces)?))
    }

    /// Writes one batch.
    ///
    /// # Errors
    /// It cannot be written.
    pub fn push(&self, payload: &[u8]) -> Result<(), String> {
        self.0.push(payload)
    }

    /// Reads and removes the oldest batch.
    pub fn pop(&self) -> Option<Vec<u8>> {
        let batch = self.0.front()?;
        self.0.remove(batch.seq, None);
        Some(batch.bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits(max_bytes: u64) -> SpoolConfig {
        SpoolConfig {
            enabled: true,
            max_bytes,
            max_age: Duration::from_secs(3600),
        }
    }

    fn open(dir: &Path, max_bytes: u64) -> Spool {
        Spool::open(dir, &limits(max_bytes), &Metrics::detached()).unwrap()
    }

    #[test]
    fn batches_come_back_in_order_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let spool = open(dir.path(), 1 << 20);
            let queue = spool
                .queue("traces:otlp:http://collector", Signal::Traces)
                .unwrap();
            for i in 0..3u8 {
                queue.push(&[i; 100]).unwrap();
            }
            assert_eq!(queue.backlog().batches, 3);
            // A second process is refused the spool while this one holds it.
            assert!(matches!(
                Spool::open(dir.path(), &limits(1 << 20), &Metrics::detached()),
                Err(SpoolError::Locked(_))
            ));
        }
        let spool = open(dir.path(), 1 << 20);
        let queue = spool
            .queue("traces:otlp:http://collector", Signal::Traces)
            .unwrap();
        for i in 0..3u8 {
            let batch = queue.front().unwrap();
            assert_eq!(batch.bytes, vec![i; 100]);
            queue.remove(batch.seq, None);
        }
        assert!(queue.front().is_none());
        assert!(!queue.has_backlog());
    }

    #[test]
    fn a_batch_dated_past_any_calendar_loads_and_one_numbered_past_it_is_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let folder = {
            let spool = open(dir.path(), 1 << 20);
            let queue = spool
                .queue("traces:otlp:http://collector", Signal::Traces)
                .unwrap();
            queue.push(&[1; 64]).unwrap();
            let folder = spool.inner.queues.lock()["traces:otlp:http://collector"]
                .dir
                .clone();
            folder
        };
        // Its header says it was made at the last millisecond a u64 holds: the checksum
        // covers the payload only. And a copy named with the last sequence number a u64
        // holds, which no spool makes: the two files a disk error or a hand could leave.
        let file = std::fs::read_dir(&folder)
            .unwrap()
            .flatten()
            .map(|f| f.path())
            .find(|p| p.extension().is_some_and(|e| e == "batch"))
            .unwrap();
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[4..12].copy_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&file, &bytes).unwrap();
        let named_past_9999 = folder.join(format!("{:020}.batch", u64::MAX));
        std::fs::write(&named_past_9999, &bytes).unwrap();

        let spool = open(dir.path(), 1 << 20);
        let queue = spool
            .queue("traces:otlp:http://collector", Signal::Traces)
            .unwrap();
        assert_eq!(queue.backlog().batches, 1);
        assert!(!named_past_9999.exists(), "discarded as corrupt");
        let board = crate::export::ExportStatusBoard::default();
        crate::export::outbox::report_backlog(&board, "otlp", &queue, None);
        let status = format!("{:?}", board.statuses()["otlp"]);
        assert!(status.contains("since 9999-12-31T23:59:59Z"), "{status}");
        // New batches still go in.
        queue.push(&[2; 64]).unwrap();
        assert_eq!(queue.backlog().batches, 2);
    }

    #[test]
    fn damaged_files_are_skipped_and_the_rest_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let files = {
            let spool = open(dir.path(), 1 << 20);
            let queue = spool
                .queue("logs:otlp:http://collector", Signal::Logs)
                .unwrap();
            for i in 0..4u8 {
                queue.push(&[i; 64]).unwrap();
            }
            let folder = spool.inner.queues.lock()["logs:otlp:http://collector"]
                .dir
                .clone();
            let mut files: Vec<_> = std::fs::read_dir(&folder)
                .unwrap()
                .flatten()
                .map(|f| f.path())
                .filter(|p| p.extension().is_some_and(|e| e == "batch"))
                .collect();
            files.sort();
            std::fs::write(folder.join("00000000000000000001.tmp"), b"half a write").unwrap();
            files
        };
        // Truncated, random bytes, one payload byte flipped (the checksum catches it).
        let truncated = std::fs::read(&files[0]).unwrap();
        std::fs::write(&files[0], &truncated[..30]).unwrap();
        std::fs::write(&files[1], b"\x00\x01 not a batch at all, random bytes \xff").unwrap();
        let mut flipped = std::fs::read(&files[2]).unwrap();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x40;
        std::fs::write(&files[2], flipped).unwrap();

        let spool = open(dir.path(), 1 << 20);
        let queue = spool
            .queue("logs:otlp:http://collector", Signal::Logs)
            .unwrap();
        let batch = queue.front().unwrap();
        assert_eq!(batch.bytes, vec![3u8; 64], "only the intact batch is sent");
        queue.remove(batch.seq, None);
        assert!(queue.front().is_none());
        // Nothing damaged is left on disk.
        let left = std::fs::read_dir(&spool.inner.queues.lock()["logs:otlp:http://collector"].dir)
            .unwrap()
            .flatten()
            .filter(|f| f.file_name() != "exporter")
            .count();
        assert_eq!(left, 0);
    }

    #[test]
    fn the_spool_keeps_the_newest_within_its_bound_and_unwritable_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let spool = open(dir.path(), 1 << 20);
        let traces = spool.queue("traces:otlp:a", Signal::Traces).unwrap();
        let logs = spool.queue("logs:otlp:a", Signal::Logs).unwrap();
        let batch = vec![7u8; 200 << 10];
        for _ in 0..4 {
            traces.push(&batch).unwrap();
            logs.push(&batch).unwrap();
        }
        let (t, l) = (traces.backlog(), logs.backlog());
        assert!(t.bytes + l.bytes <= 1 << 20, "{t:?} {l:?}");
        // 1 MiB holds five batches of 200 KiB and their headers: the five newest of eight.
        assert_eq!(t.batches + l.batches, 5);
        assert_eq!(
            (t.batches, l.batches),
            (2, 3),
            "the oldest went first, whichever queue"
        );
        // The folder becomes a file: nothing can be written, and the push says so.
        let folder = spool.inner.queues.lock()["traces:otlp:a"].dir.clone();
        std::fs::remove_dir_all(&folder).unwrap();
        std::fs::write(&folder, b"in the way").unwrap();
        let refused = traces.push(&batch).unwrap_err();
        assert!(refused.contains("cannot write to the spool"), "{refused}");
    }

    #[test]
    fn withdrawn_consent_empties_the_spool() {
        let dir = tempfile::tempdir().unwrap();
        let spool = open(dir.path(), 1 << 20);
        let queue = spool.queue("metrics:otlp:a", Signal::Metrics).unwrap();
        queue.push(b"batch").unwrap();
        spool.clear("consent");
        assert!(!queue.has_backlog());
        assert!(queue.front().is_none());
    }
}
