//! The processes the app spawns (encoders, FFmpeg, sidecars), measured per name.
//!
//! The app registers a child by PID ([`ChildProcesses::track`]), hands over a
//! `std::process::Child` to be waited on ([`ChildProcesses::watch`]), or names an
//! executable to look for among its descendants ([`ChildProcesses::track_executable`]).
//! Each collection reads the process table once (sysinfo gives every process's parent on
//! Windows, macOS and Linux) and sums the CPU and memory of each name's processes and of
//! their descendants (a shell that runs FFmpeg counts with FFmpeg).
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `process_children` | observed gauge | `name` |
//! | `process_child_cpu_usage_percent` | observed gauge | `name` |
//! | `process_child_memory_bytes` | observed gauge | `name` |
//! | `process_child_exits_total` | counter | `name`, `outcome` (`success`, `failure`, `signal`) |
//!
//! The gauges are observed: a name with no process running has no series. Each exit
//! is also a log record (target `telemetry::children`) with the exit code or signal.

use std::collections::{BTreeMap, HashMap};
use std::process::{Child, ExitStatus};
use std::sync::Arc;
use std::time::Instant;

use opentelemetry::KeyValue;
use parking_lot::Mutex;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

use crate::metrics::{Counter, Metrics, MetricsError};
use crate::platform::{executable_matches, Os};

/// At most this many names are measured at once, so that names made from data (a file
/// name per encoder) cannot grow the series without bound.
pub const MAX_NAMES: usize = 64;

/// How far up the parent chain a process is followed to find its tracked ancestor.
const MAX_DEPTH: usize = 64;

/// Why a child could not be registered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChildError {
    /// [`MAX_NAMES`] names are already measured.
    #[error("child process name {name:?} refused: {max} names are already measured")]
    TooManyNames {
        /// The refused name.
        name: String,
        /// The limit.
        max: usize,
    },
    /// The name is empty.
    #[error("a child process name cannot be empty")]
    EmptyName,
    /// The thread that waits for the child could not start.
    #[error("cannot start the thread that waits for child {name:?}: {source}")]
    Wait {
        /// The child's name.
        name: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitOutcome {
    /// Exit code 0.
    Success,
    /// Another exit code.
    Failure(i32),
    /// Killed by this signal (Unix), ended by this exception (Windows: the exit code is
    /// an NTSTATUS error, `0xC0000005` for an access violation), or ended with no code.
    Signal(Option<i32>),
}

impl ExitOutcome {
    /// The outcome of a `std::process::ExitStatus` (also what tokio's `wait` returns).
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::collectors::ExitOutcome;
    /// # #[cfg(unix)] {
    /// use std::os::unix::process::ExitStatusExt;
    /// let status = std::process::ExitStatus::from_raw(9); // killed by SIGKILL
    /// assert_eq!(ExitOutcome::from_status(&status), ExitOutcome::Signal(Some(9)));
    /// # }
    /// ```
    pub fn from_status(status: &ExitStatus) -> Self {
        #[cfg(unix)]
        let signal = std::os::unix::process::ExitStatusExt::signal(status);
        #[cfg(not(unix))]
        let signal = None;
        Self::from_exit(status.code(), signal, Os::current())
    }

    /// [`Self::from_code_and_signal`] as `os` reports an exit: on Windows a process ended
    /// by an exception (a crash) has its NTSTATUS error as its exit code, `0xC…`.
    fn from_exit(code: Option<i32>, signal: Option<i32>, os: Os) -> Self {
        match code {
            Some(code) if os == Os::Windows && (code as u32) >> 28 == 0xC => {
                Self::Signal(Some(code))
            }
            _ => Self::from_code_and_signal(code, signal),
        }
    }

    /// The outcome from an exit code and a signal, as a Tauri sidecar's `Terminated`
    /// event (tauri-plugin-shell) reports them.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::collectors::ExitOutcome;
    /// assert_eq!(ExitOutcome::from_code_and_signal(Some(0), None), ExitOutcome::Success);
    /// assert_eq!(ExitOutcome::from_code_and_signal(Some(1), None), ExitOutcome::Failure(1));
    /// assert_eq!(ExitOutcome::from_code_and_signal(None, Some(11)), ExitOutcome::Signal(Some(11)));
    /// ```
    pub fn from_code_and_signal(code: Option<i32>, signal: Option<i32>) -> Self {
        match (code, signal) {
            (Some(0), _) => Self::Success,
            (Some(code), _) => Self::Failure(code),
            (None, signal) => Self::Signal(signal),
        }
    }

    /// `success`, `failure` or `signal`: the `outcome` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure(_) => "failure",
            Self::Signal(_) => "signal",
        }
    }
}

/// What one name's running processes use, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Usage {
    processes: u32,
    cpu_percent: f64,
    memory_bytes: u64,
}

/// One process in the table: its PID, its parent and its executable's file name.
#[derive(Debug, Clone)]
struct Entry {
    pid: u32,
    parent: Option<u32>,
    executable: String,
}

#[derive(Default)]
struct Registry {
    /// PID → (name, when it was registered).
    pids: HashMap<u32, (String, Instant)>,
    /// (executable, name): descendants of this process running that executable.
    executables: Vec<(String, String)>,
    /// The newest figures per name, read by the observed gauges.
    usage: BTreeMap<String, Usage>,
}

impl Registry {
    fn names(&self) -> impl Iterator<Item = &str> {
        self.pids
            .values()
            .map(|(n, _)| n.as_str())
            .chain(self.executables.iter().map(|(_, n)| n.as_str()))
    }

    fn admit(&self, name: &str) -> Result<(), ChildError> {
        if name.is_empty() {
            return Err(ChildError::EmptyName);
        }
        let mut names: Vec<&str> = self.names().collect();
        names.sort_unstable();
        names.dedup();
        if names.len() >= MAX_NAMES && !names.contains(&name) {
            return Err(ChildError::TooManyNames {
                name: name.to_owned(),
                max: MAX_NAMES,
            });
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.pids.is_empty() && self.executables.is_empty()
    }
}

/// The app's child processes: register them here, read them as metrics. Cheap to clone;
/// every clone is the same registry.
///
/// # Examples
/// ```no_run
/// # fn demo(telemetry: &telemetry_engine::TelemetryManager) -> Result<(), Box<dyn std::error::Error>> {
/// let encoder = std::process::Command::new("ffmpeg").args(["-i", "in.mov", "out.mp4"]).spawn()?;
/// // Measured as `name="encoder"` until it ends; its exit is counted and logged.
/// let done = telemetry.children().watch("encoder", encoder)?;
/// let status = done.join().ok();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ChildProcesses {
    registry: Arc<Mutex<Registry>>,
    /// Read by [`Self::collect`] only.
    system: Arc<Mutex<Option<System>>>,
    exits: Counter,
    own: Option<u32>,
}

impl ChildProcesses {
    /// The registry, with its instruments in `metrics`.
    ///
    /// # Errors
    /// A [`MetricsError`] when one of the four metric names is taken.
    pub fn new(metrics: &Metrics) -> Result<Self, MetricsError> {
        let registry = Arc::new(Mutex::new(Registry::default()));
        let gauge = |name: &str, read: fn(&Usage) -> f64| {
            let registry = registry.clone();
            metrics.observed_gauge(name, move |observer| {
                for (child, usage) in &registry.lock().usage {
                    let _ = observer.observe(read(usage), &[KeyValue::new("name", child.clone())]);
                }
            })
        };
        gauge("process_children", |u| f64::from(u.processes))?;
        gauge("process_child_cpu_usage_percent", |u| u.cpu_percent)?;
        gauge("process_child_memory_bytes", |u| u.memory_bytes as f64)?;
        Ok(Self {
            exits: metrics.counter("process_child_exits_total")?,
            registry,
            system: Arc::new(Mutex::new(None)),
            own: sysinfo::get_current_pid().ok().map(|p| p.as_u32()),
        })
    }

    /// Measures process `pid` and its descendants as `name` until it ends. Say how it
    /// ended with [`Self::exited`] if the app waits for it itself.
    ///
    /// # Errors
    /// [`ChildError::EmptyName`], [`ChildError::TooManyNames`].
    pub fn track(&self, name: &str, pid: u32) -> Result<(), ChildError> {
        let mut registry = self.registry.lock();
        registry.admit(name)?;
        registry.pids.insert(pid, (name.to_owned(), Instant::now()));
        Ok(())
    }

    /// Measures as `name` every descendant of this process that runs `executable` (its
    /// file name: `ffmpeg` also matches `ffmpeg.exe` on Windows), whoever started it.
    ///
    /// # Errors
    /// As [`Self::track`].
    pub fn track_executable(&self, name: &str, executable: &str) -> Result<(), ChildError> {
        let mut registry = self.registry.lock();
        registry.admit(name)?;
        let entry = (executable.to_owned(), name.to_owned());
        if !registry.executables.contains(&entry) {
            registry.executables.push(entry);
        }
        Ok(())
    }

    /// Measures `child` as `name` and waits for it on a thread of its own; its exit is
    /// counted and logged. Take its pipes (`child.stdout.take()`) before handing it over.
    /// The handle gives the exit status.
    ///
    /// # Errors
    /// As [`Self::track`], and [`ChildError::Wait`] when no thread can start (the child
    /// is then killed, so that it is never left unwatched).
    pub fn watch(
        &self,
        name: &str,
        mut child: Child,
    ) -> Result<std::thread::JoinHandle<std::io::Result<ExitStatus>>, ChildError> {
        let pid = child.id();
        self.track(name, pid)?;
        let (this, owned) = (self.clone(), name.to_owned());
        std::thread::Builder::new()
            .name("telemetry-child-wait".into())
            .spawn(move || {
                let status = child.wait();
                match &status {
                    Ok(status) => this.exited(&owned, Some(pid), ExitOutcome::from_status(status)),
                    Err(e) => {
                        this.forget(pid);
                        ::tracing::warn!(target: "telemetry::children", child = %owned, pid, error = %e, "cannot wait for the child process");
                    }
                }
                status
            })
            .map_err(|source| {
                self.forget(pid);
                ChildError::Wait {
                    name: name.to_owned(),
                    source,
                }
            })
    }

    /// Records how child `name` ended: counted in `process_child_exits_total`, logged
    /// (a warning unless it succeeded), and its PID no longer measured.
    pub fn exited(&self, name: &str, pid: Option<u32>, outcome: ExitOutcome) {
        if let Some(pid) = pid {
            self.forget(pid);
        }
        let _ = self.exits.add(
            1,
            &[
                KeyValue::new("name", name.to_owned()),
                KeyValue::new("outcome", outcome.as_str()),
            ],
        );
        let pid = pid.map(i64::from);
        match outcome {
            ExitOutcome::Success => {
                ::tracing::info!(target: "telemetry::children", child = %name, pid, exit_code = 0, "child process {name} exited")
            }
            ExitOutcome::Failure(code) => {
                ::tracing::warn!(target: "telemetry::children", child = %name, pid, exit_code = code, "child process {name} failed with exit code {code}")
            }
            ExitOutcome::Signal(signal) => {
                ::tracing::warn!(target: "telemetry::children", child = %name, pid, signal = signal, "child process {name} was killed (signal {})", signal.map_or("unknown".to_owned(), |s| s.to_string()))
            }
        }
    }

    fn forget(&self, pid: u32) {
        self.registry.lock().pids.remove(&pid);
    }

    /// Reads the process table and updates each name's figures; does nothing while no
    /// child is registered. Called by the collection cycle.
    pub fn collect(&self) {
        {
            let mut registry = self.registry.lock();
            if registry.is_empty() {
                registry.usage.clear();
                return;
            }
        }
        let started = Instant::now();
        let mut slot = self.system.lock();
        let system = match slot.as_mut() {
            Some(system) => system,
            None => match System::new() {
                Ok(system) => slot.insert(system),
                Err(_) => return,
            },
        };
        system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing()
                .with_cpu()
                .with_memory()
                .with_exe(UpdateKind::OnlyIfNotSet),
        );
        let table: Vec<Entry> = system
            .processes()
            .values()
            .map(|p| Entry {
                pid: p.pid().as_u32(),
                parent: p.parent().map(Pid::as_u32),
                executable: p
                    .exe()
                    .and_then(|e| e.file_name())
                    .unwrap_or(p.name())
                    .to_string_lossy()
                    .into_owned(),
            })
            .collect();
        let mut registry = self.registry.lock();
        let names = attribute(&table, self.own, &registry, Os::current());
        let mut usage: BTreeMap<String, Usage> = BTreeMap::new();
        for (pid, name) in &names {
            if let Some(p) = system.process(Pid::from_u32(*pid)) {
                let u = usage.entry(name.clone()).or_default();
                u.processes += 1;
                u.cpu_percent += f64::from(p.cpu_usage());
                u.memory_bytes += p.memory();
            }
        }
        // A PID registered before this reading and missing from it has ended unseen.
        registry
            .pids
            .retain(|pid, (_, since)| *since >= started || names.contains_key(pid));
        registry.usage = usage;
    }
}

/// The name each process in `table` counts under: its own or its nearest ancestor's
/// registered PID, else an executable registered by name if it descends from `own`.
fn attribute(
    table: &[Entry],
    own: Option<u32>,
    registry: &Registry,
    os: Os,
) -> HashMap<u32, String> {
    let parents: HashMap<u32, Option<u32>> = table.iter().map(|e| (e.pid, e.parent)).collect();
    let mut out = HashMap::new();
    for entry in table {
        let mut at = Some(entry.pid);
        let mut descends = false;
        let mut found = None;
        for _ in 0..MAX_DEPTH {
            let Some(pid) = at else { break };
            if found.is_none() {
                found = registry.pids.get(&pid).map(|(n, _)| n.clone());
            }
            if Some(pid) == own && pid != entry.pid {
                descends = true;
                break;
            }
            at = parents.get(&pid).copied().flatten();
        }
        let name = found.or_else(|| {
            descends
                .then(|| {
                    registry
                        .executables
                        .iter()
                        .find(|(exe, _)| executable_matches(&entry.executable, exe, os))
                        .map(|(_, n)| n.clone())
                })
                .flatten()
        });
        if let Some(name) = name {
            out.insert(entry.pid, name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pid: u32, parent: u32, executable: &str) -> Entry {
        Entry {
            pid,
            parent: Some(parent),
            executable: executable.to_owned(),
        }
    }

    #[test]
    fn a_crash_on_windows_is_an_exception_not_a_failure() {
        let access_violation = 0xC000_0005_u32 as i32;
        assert_eq!(
            ExitOutcome::from_exit(Some(access_violation), None, Os::Windows),
            ExitOutcome::Signal(Some(access_violation))
        );
        // An ordinary exit code stays one, on Windows too (`-1` is `0xFFFFFFFF`).
        for code in [1, -1, 0x4000_0015] {
            assert_eq!(
                ExitOutcome::from_exit(Some(code), None, Os::Windows),
                ExitOutcome::Failure(code)
            );
        }
        assert_eq!(
            ExitOutcome::from_exit(Some(0), None, Os::Windows),
            ExitOutcome::Success
        );
        // Elsewhere a negative code is only a code: a crash comes as a signal.
        for os in [Os::Linux, Os::MacOs] {
            assert_eq!(
                ExitOutcome::from_exit(Some(access_violation), None, os),
                ExitOutcome::Failure(access_violation)
            );
        }
    }

    #[test]
    fn descendants_count_under_their_nearest_registered_ancestor() {
        // 1 ─ 10 (the app) ─┬ 20 sh ── 21 ffmpeg ── 22 ffmpeg
        //                   ├ 30 ffmpeg.exe (not registered by PID)
        //                   └ 40 sh ── 41 other
        // 1 ─ 50 ffmpeg (not the app's)
        let table = vec![
            Entry {
                pid: 1,
                parent: None,
                executable: "init".into(),
            },
            entry(10, 1, "studio"),
            entry(20, 10, "sh"),
            entry(21, 20, "ffmpeg"),
            entry(22, 21, "ffmpeg"),
            entry(30, 10, "FFmpeg.EXE"),
            entry(40, 10, "sh"),
            entry(41, 40, "other"),
            entry(50, 1, "ffmpeg"),
        ];
        let mut registry = Registry::default();
        registry.pids.insert(20, ("encoder".into(), Instant::now()));
        registry
            .executables
            .push(("ffmpeg".into(), "ffmpeg".into()));
        let names = attribute(&table, Some(10), &registry, Os::Windows);
        let of = |pid| names.get(&pid).map(String::as_str);
        assert_eq!(of(20), Some("encoder"));
        assert_eq!(of(21), Some("encoder"));
        assert_eq!(of(22), Some("encoder"));
        assert_eq!(of(30), Some("ffmpeg"));
        assert_eq!(of(41), None);
        assert_eq!(of(50), None, "not a descendant of the app");
        assert_eq!(of(10), None, "the app itself is not its own child");
        // On Linux the name is exact.
        let names = attribute(&table, Some(10), &registry, Os::Linux);
        assert_eq!(names.get(&30), None);
    }

    #[test]
    fn a_parent_cycle_ends() {
        let table = vec![entry(5, 6, "a"), entry(6, 5, "b")];
        let registry = Registry::default();
        assert!(attribute(&table, Some(10), &registry, Os::Linux).is_empty());
    }

    #[test]
    fn names_are_bounded() {
        let children = ChildProcesses::new(&Metrics::detached()).unwrap();
        for i in 0..MAX_NAMES {
            children
                .track(&format!("child_{i}"), 100_000 + i as u32)
                .unwrap();
        }
        // A known name is still taken, a new one is refused with the limit named.
        children.track("child_0", 99).unwrap();
        let refused = children.track("one_more", 98).unwrap_err();
        assert!(refused.to_string().contains("64"), "{refused}");
        assert!(matches!(children.track("", 1), Err(ChildError::EmptyName)));
    }
}
