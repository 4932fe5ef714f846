//! Disk readings off the caller's thread: `statvfs` (and its Windows and macOS
//! equivalents) on a network mount that stopped answering blocks for as long as the mount
//! does. The collection cycle and the disk health check therefore never query disks
//! themselves: a [`DiskProbe`] runs one query at a time on a thread of its own, and the
//! caller takes the newest finished reading. A query that hangs holds that one thread,
//! never the app's runtime, the collection lock or shutdown, and no second query starts
//! behind it.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sysinfo::{DiskRefreshKind, Disks};

/// One mounted disk's storage figures.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DiskReading {
    /// The device name (bind mounts of one device share it).
    pub(crate) name: String,
    pub(crate) mount_point: PathBuf,
    pub(crate) total: u64,
    pub(crate) available: u64,
}

/// Lists the mounted disks with their storage figures (this is the call that can hang).
pub(crate) fn read_disks() -> Vec<DiskReading> {
    Disks::new_with_refreshed_list_specifics(DiskRefreshKind::nothing().with_storage())
        .map(|disks| {
            disks
                .iter()
                .map(|d| DiskReading {
                    name: d.name().to_string_lossy().into_owned(),
                    mount_point: d.mount_point().to_path_buf(),
                    total: d.total_space(),
                    available: d.available_space(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The state of the probe's query.
pub(crate) enum Probe {
    /// A reading finished since the last call.
    Fresh(Vec<DiskReading>),
    /// The query started at `since` has not returned yet.
    Waiting { since: Instant },
}

/// Runs `read` on a thread of its own, one query at a time.
pub(crate) struct DiskProbe {
    read: fn() -> Vec<DiskReading>,
    running: Option<(mpsc::Receiver<Vec<DiskReading>>, Instant)>,
}

impl DiskProbe {
    /// A probe of the real disks.
    pub(crate) fn new() -> Self {
        Self::with_reader(read_disks)
    }

    /// A probe that reads with `read` (tests pass one that hangs).
    pub(crate) fn with_reader(read: fn() -> Vec<DiskReading>) -> Self {
        Self {
            read,
            running: None,
        }
    }

    /// Starts a query unless one is running, and reports on it: its reading if it has
    /// finished, else since when it runs. Waits at most `wait` for it.
    pub(crate) fn poll(&mut self, wait: Duration) -> Probe {
        let (rx, since) = match self.running.take() {
            Some(running) => running,
            None => {
                let (tx, rx) = mpsc::channel();
                let read = self.read;
                let spawned = std::thread::Builder::new()
                    .name("telemetry-disks".into())
                    .spawn(move || {
                        let _ = tx.send(read());
                    });
                if spawned.is_err() {
                    return Probe::Fresh(Vec::new());
                }
                (rx, Instant::now())
            }
        };
        match rx.recv_timeout(wait) {
            Ok(readings) => Probe::Fresh(readings),
            // The thread ended without an answer (it panicked): the next call starts anew.
            Err(mpsc::RecvTimeoutError::Disconnected) => Probe::Fresh(Vec::new()),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                self.running = Some((rx, since));
                Probe::Waiting { since }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static STARTED: AtomicUsize = AtomicUsize::new(0);

    fn hangs() -> Vec<DiskReading> {
        STARTED.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_secs(3600));
        Vec::new()
    }

    #[test]
    fn a_hung_query_returns_at_once_and_no_second_query_starts_behind_it() {
        let mut probe = DiskProbe::with_reader(hangs);
        for _ in 0..5 {
            assert!(matches!(
                probe.poll(Duration::from_millis(20)),
                Probe::Waiting { .. }
            ));
        }
        assert_eq!(STARTED.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_finished_query_is_reported_and_the_next_call_starts_another() {
        let mut probe = DiskProbe::new();
        let Probe::Fresh(first) = probe.poll(Duration::from_secs(30)) else {
            panic!("listing the disks took over 30 s");
        };
        assert!(first
            .iter()
            .any(|d| d.mount_point == std::path::Path::new("/")));
        assert!(matches!(
            probe.poll(Duration::from_secs(30)),
            Probe::Fresh(_)
        ));
    }
}
