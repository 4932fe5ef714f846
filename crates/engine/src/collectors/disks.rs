//! Disk readings off the caller's thread: `statvfs` (and its Windows and macOS
//! equivalents) on a network mount that stopped answering blocks for as long as the mount
//! does. The collection cycle and the disk health check therefore never query disks
//! themselves: a [`DiskProbe`] runs one query at a time on a thread of its own, and the
//! caller takes the newest finished reading. A query that hangs holds that one thread,
//! never the app's runtime, the collection lock or shutdown, and no second query starts
//! behind it.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
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

/// Lists the mounted disks with their storage figures, and the disk of each of `paths`
/// that the list leaves out (this is the call that can hang). sysinfo leaves out some
/// file systems on purpose (on Linux: `tmpfs`, NFS and CIFS, anything under `/run`), and
/// a video editor's cache or export folder can be on one: each path's own file system is
/// found ([`crate::platform::mount_point`]) and, if missing, read directly (`statvfs`,
/// `GetDiskFreeSpaceExW`).
pub(crate) fn read_disks(paths: &[PathBuf]) -> Vec<DiskReading> {
    let mut disks = listed_disks();
    for path in paths {
        // dunce: on Windows a plain `C:\…` (not `\\?\C:\…`), which mount points match.
        let path = dunce::canonicalize(path).unwrap_or_else(|_| path.clone());
        let Some(mount) = crate::platform::mount_point(
            &path.to_string_lossy(),
            crate::platform::Os::current(),
            device,
        ) else {
            continue;
        };
        if disks.iter().any(|d| d.mount_point == mount) {
            continue;
        }
        let Ok(stats) = fs4::statvfs(&path) else {
            continue;
        };
        // Figures the same to the byte are a listed file system seen through another
        // path: macOS's firmlinks put `/Users` on the `/System/Volumes/Data` volume.
        let listed = disks
            .iter()
            .any(|d| d.total == stats.total_space() && d.available == stats.available_space());
        if !listed {
            disks.push(DiskReading {
                name: mount.display().to_string(),
                mount_point: mount,
                total: stats.total_space(),
                available: stats.available_space(),
            });
        }
    }
    disks
}

/// The device number of `path`'s file system (`st_dev`); not used on Windows.
fn device(path: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        std::os::unix::fs::MetadataExt::dev(&std::fs::metadata(path).ok()?).into()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The disks sysinfo lists.
fn listed_disks() -> Vec<DiskReading> {
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

/// What a probe runs to read the disks.
type Reader = Arc<dyn Fn() -> Vec<DiskReading> + Send + Sync>;

/// Runs `read` on a thread of its own, one query at a time.
pub(crate) struct DiskProbe {
    read: Reader,
    running: Option<(mpsc::Receiver<Vec<DiskReading>>, Instant)>,
}

impl DiskProbe {
    /// A probe of the real disks, and of the disks of `paths` the list leaves out.
    pub(crate) fn new(paths: Vec<PathBuf>) -> Self {
        Self::with_reader(Arc::new(move || read_disks(&paths)))
    }

    /// A probe that reads with `read` (tests pass one that hangs).
    pub(crate) fn with_reader(read: Reader) -> Self {
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
                let read = self.read.clone();
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

/// Whether `/dev/shm` is a tmpfs, which sysinfo leaves out of its list (it is on this
/// machine kind): what the tests of paths on unlisted file systems stand on.
#[cfg(all(test, target_os = "linux"))]
pub(crate) fn shm_is_tmpfs() -> bool {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').skip(1).take(2).eq(["/dev/shm", "tmpfs"]))
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
        let mut probe = DiskProbe::with_reader(Arc::new(hangs));
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
        let mut probe = DiskProbe::new(Vec::new());
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

    #[cfg(target_os = "linux")]
    #[test]
    fn a_path_on_a_file_system_the_list_leaves_out_is_read_directly() {
        if !shm_is_tmpfs() {
            eprintln!("no tmpfs at /dev/shm here: nothing to show");
            return;
        }
        let shm = Path::new("/dev/shm");
        assert!(listed_disks().iter().all(|d| d.mount_point != shm));
        let disks = read_disks(&[
            shm.join("."),
            PathBuf::from("/"),
            PathBuf::from("/no/such/path"),
        ]);
        let found: Vec<_> = disks.iter().filter(|d| d.mount_point == shm).collect();
        assert_eq!(found.len(), 1, "{disks:?}");
        let stats = fs4::statvfs(shm).unwrap();
        assert_eq!(found[0].total, stats.total_space());
        // The root is listed once, not again for the path given.
        assert_eq!(
            disks
                .iter()
                .filter(|d| d.mount_point == Path::new("/"))
                .count(),
            1
        );
    }
}
