//! System collectors: the spec's seven `system_*` metrics plus this process's CPU and memory.
//!
//! Each cycle refreshes only what it reads: global CPU usage, memory, disk storage (no
//! I/O counters), network counters and this one process's CPU and memory. Disks are read
//! by a [`disks::DiskProbe`] on a thread of its own, so a hung network mount never
//! stalls the cycle; the cycle records the newest reading that has finished.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `system_cpu_usage_percent` | gauge | |
//! | `system_memory_usage_bytes` | gauge | |
//! | `system_memory_available_bytes` | gauge | |
//! | `system_disk_usage_bytes` | gauge | `mountpoint` |
//! | `system_disk_available_bytes` | gauge | `mountpoint` |
//! | `system_network_bytes_sent_total` | counter | |
//! | `system_network_bytes_received_total` | counter | |
//! | `process_cpu_usage_percent` | gauge | |
//! | `process_resident_memory_bytes` | gauge | |

mod children;
pub(crate) mod disks;

pub use children::{ChildError, ChildProcesses, ExitOutcome, MAX_NAMES};

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use opentelemetry::KeyValue;
use sysinfo::{Networks, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use disks::{DiskProbe, Probe};

use crate::metrics::{BoundCounter, BoundGauge, Gauge, Metrics, MetricsError};

/// Why a collector could not start or record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectorError {
    /// An instrument could not be created or a reading was refused.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// The operating system's figures cannot be read on this platform.
    #[error("system information is unavailable: {0}")]
    Unavailable(String),
}

/// How long one collection waits for the disk probe's answer.
const DISK_WAIT: Duration = Duration::from_millis(500);

/// After how long a disk query that has not returned is reported.
const DISK_HUNG: Duration = Duration::from_secs(10);

/// Reads the machine and this process, and records what it reads.
///
/// # Examples
/// ```
/// use telemetry_engine::{collectors::SystemCollector, metrics::Metrics};
/// let mut collector = SystemCollector::new(&Metrics::detached())?;
/// collector.collect()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SystemCollector {
    system: System,
    disks: DiskProbe,
    /// The probe's query has been reported as hung.
    disks_hung: bool,
    networks: Option<Networks>,
    pid: Option<Pid>,
    cpu: BoundGauge,
    memory_used: BoundGauge,
    memory_available: BoundGauge,
    disk_used: Gauge,
    disk_available: Gauge,
    net_sent: BoundCounter,
    net_received: BoundCounter,
    last_sent: Option<u64>,
    last_received: Option<u64>,
    process_cpu: BoundGauge,
    process_memory: BoundGauge,
}

impl SystemCollector {
    /// Creates the instruments and takes the first readings of the counters.
    ///
    /// # Errors
    /// [`CollectorError::Metrics`] when an instrument cannot be created (a name already
    /// used as another kind, or the metric limit reached);
    /// [`CollectorError::Unavailable`] on a platform sysinfo does not support.
    pub fn new(metrics: &Metrics) -> Result<Self, CollectorError> {
        let gauge = |name: &str| metrics.gauge(name)?.bind(&[]);
        let counter = |name: &str| metrics.counter(name)?.bind(&[]);
        let mut system = System::new().map_err(|e| CollectorError::Unavailable(e.to_string()))?;
        // CPU usage is a difference between two readings: take the first one now.
        system.refresh_cpu_usage();
        Ok(Self {
            system,
            disks: DiskProbe::new(Vec::new()),
            disks_hung: false,
            networks: Networks::new_with_refreshed_list().ok(),
            pid: sysinfo::get_current_pid().ok(),
            cpu: gauge("system_cpu_usage_percent")?,
            memory_used: gauge("system_memory_usage_bytes")?,
            memory_available: gauge("system_memory_available_bytes")?,
            disk_used: metrics.gauge("system_disk_usage_bytes")?,
            disk_available: metrics.gauge("system_disk_available_bytes")?,
            net_sent: counter("system_network_bytes_sent")?,
            net_received: counter("system_network_bytes_received")?,
            last_sent: None,
            last_received: None,
            process_cpu: gauge("process_cpu_usage_percent")?,
            process_memory: gauge("process_resident_memory_bytes")?,
        })
    }

    /// Also reports the disks that hold `paths` (the app's project, cache and export
    /// folders) when the OS's disk list leaves them out: a `tmpfs`, a network share.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::{collectors::SystemCollector, metrics::Metrics};
    /// let collector = SystemCollector::new(&Metrics::detached())?
    ///     .with_disk_paths(vec![std::env::temp_dir()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_disk_paths(mut self, paths: Vec<PathBuf>) -> Self {
        self.disks = DiskProbe::new(paths);
        self
    }

    /// Refreshes and records every metric once.
    ///
    /// # Errors
    /// [`MetricsError::NonFinite`] if the OS reports a non-finite CPU figure (not seen in
    /// practice); the other metrics of the cycle are still recorded.
    pub fn collect(&mut self) -> Result<(), MetricsError> {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        let cpu = self.cpu.set(f64::from(self.system.global_cpu_usage()));
        self.memory_used.set(self.system.used_memory() as f64)?;
        self.memory_available
            .set(self.system.available_memory() as f64)?;
        self.collect_disks()?;
        self.collect_network();
        let process = self.collect_process();
        cpu.and(process)
    }

    /// Records the newest finished disk reading; while a query hangs, the disk gauges
    /// keep their last values and one warning says so.
    fn collect_disks(&mut self) -> Result<(), MetricsError> {
        let readings = match self.disks.poll(DISK_WAIT) {
            Probe::Fresh(readings) => readings,
            Probe::Waiting { since } => {
                if !self.disks_hung && since.elapsed() > DISK_HUNG {
                    self.disks_hung = true;
                    ::tracing::warn!(target: "telemetry::collectors", waited = ?since.elapsed(), "listing the disks has not returned (a hung network mount?); disk metrics keep their last values");
                }
                return Ok(());
            }
        };
        self.disks_hung = false;
        let mut seen = HashSet::new();
        let os = crate::platform::Os::current();
        for disk in readings {
            // One disk listed twice (a bind mount) is counted once; disks that share a
            // label (Windows, macOS) are not.
            let mount = disk.mount_point.display().to_string();
            let key = crate::platform::disk_key(&disk.name, &mount, os).to_owned();
            if disk.total == 0 || !seen.insert(key) {
                continue;
            }
            let labels = [KeyValue::new(
                "mountpoint",
                disk.mount_point.display().to_string(),
            )];
            let used = disk.total.saturating_sub(disk.available);
            self.disk_used.set(used as f64, &labels)?;
            self.disk_available.set(disk.available as f64, &labels)?;
        }
        Ok(())
    }

    fn collect_network(&mut self) {
        let Some(networks) = self.networks.as_mut() else {
            return;
        };
        networks.refresh(false);
        let (sent, received) = networks
            .iter()
            .filter(|(name, _)| {
                let name = name.to_string_lossy();
                !crate::platform::is_loopback_interface(&name, crate::platform::Os::current())
            })
            .fold((0u64, 0u64), |(s, r), (_, n)| {
                (
                    s.saturating_add(n.total_transmitted()),
                    r.saturating_add(n.total_received()),
                )
            });
        // Counters start at the totals since boot and then grow by the difference; a
        // total that goes down (an interface removed) adds nothing.
        self.net_sent
            .add(sent.saturating_sub(self.last_sent.unwrap_or(0)));
        self.net_received
            .add(received.saturating_sub(self.last_received.unwrap_or(0)));
        self.last_sent = Some(sent);
        self.last_received = Some(received);
    }

    fn collect_process(&mut self) -> Result<(), MetricsError> {
        let Some(pid) = self.pid else {
            return Ok(());
        };
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            false,
            ProcessRefreshKind::nothing()
                .with_cpu()
                .with_memory()
                .without_tasks(),
        );
        if let Some(process) = self.system.process(pid) {
            self.process_cpu.set(f64::from(process.cpu_usage()))?;
            self.process_memory.set(process.memory() as f64)?;
        }
        Ok(())
    }
}
