//! Built-in checks: disk space, memory, FFmpeg, an HTTP endpoint, the exporters, the
//! engine's background tasks and the series store.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sysinfo::{MemoryRefreshKind, RefreshKind, System};

use super::{HealthCheck, HealthCheckResult, HealthStatus, LIVENESS, READINESS};
use crate::collectors::disks::{DiskProbe, Probe};
use crate::config::{shown_endpoint, TlsConfig};
use crate::export::{ExportStatus, ExportStatusBoard};
use crate::store::SeriesStore;
use crate::supervise::Supervisor;

/// How close to a threshold (as a fraction of it) a value turns the status to Warning.
const WARN_AT: f64 = 0.9;

/// Status of a used fraction against a threshold: Unhealthy above it, Warning above 90%
/// of it.
fn fraction_status(used: f64, threshold: f64) -> HealthStatus {
    if used > threshold {
        HealthStatus::Unhealthy
    } else if used > threshold * WARN_AT {
        HealthStatus::Warning
    } else {
        HealthStatus::Healthy
    }
}

fn percent(fraction: f64) -> String {
    format!("{:.1}", fraction * 100.0)
}

/// The disk holding `path` is at most `threshold` full (0.9 = 90%).
///
/// # Examples
/// ```
/// use telemetry_engine::health::DiskSpaceHealthCheck;
/// let check = DiskSpaceHealthCheck::new("/tmp", 0.9);
/// ```
pub struct DiskSpaceHealthCheck {
    name: String,
    path: PathBuf,
    threshold: f64,
    /// Queries the disks off the async workers, one at a time.
    probe: Arc<parking_lot::Mutex<DiskProbe>>,
}

/// How long one check waits for the disk query before it says the query hangs.
const DISK_WAIT: Duration = Duration::from_secs(2);

impl DiskSpaceHealthCheck {
    /// A check of the disk that holds `path`.
    pub fn new(path: impl Into<PathBuf>, threshold: f64) -> Self {
        let path = path.into();
        let probe = DiskProbe::new(vec![path.clone()]);
        Self::with_probe(path, threshold, probe)
    }

    /// The same check under another name (`cache` → `cache_health_status`), so that an
    /// app can watch several disks: the project's, the cache's, the export destination's.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::health::{DiskSpaceHealthCheck, HealthCheck as _};
    /// let cache = DiskSpaceHealthCheck::new("/var/cache", 0.95).named("cache");
    /// assert_eq!(cache.name(), "cache");
    /// ```
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    fn with_probe(path: impl Into<PathBuf>, threshold: f64, probe: DiskProbe) -> Self {
        Self {
            name: "disk_space".to_owned(),
            path: path.into(),
            threshold,
            probe: Arc::new(parking_lot::Mutex::new(probe)),
        }
    }
}

#[async_trait]
impl HealthCheck for DiskSpaceHealthCheck {
    fn name(&self) -> &str {
        &self.name
    }

    async fn check(&self) -> HealthCheckResult {
        // Canonicalising and listing disks touch the file system: off the async workers.
        let (probe, given) = (self.probe.clone(), self.path.clone());
        let answer = tokio::task::spawn_blocking(move || {
            // dunce: on Windows a plain `C:\…` (not `\\?\C:\…`), which mount points
            // match; a share or a long path stays verbatim, so its prefix goes too.
            let path = dunce::canonicalize(&given).unwrap_or(given);
            let path = match path.to_str() {
                Some(text) => {
                    PathBuf::from(crate::platform::without_verbatim_prefix(text).as_ref())
                }
                None => path,
            };
            (path, probe.lock().poll(DISK_WAIT))
        })
        .await;
        let (path, disks) = match answer {
            Ok((path, Probe::Fresh(disks))) => (path, disks),
            Ok((_, Probe::Waiting { since })) => {
                return HealthCheckResult::new(
                    HealthStatus::Unknown,
                    format!(
                        "listing the disks has not returned for {} s (a hung network mount?)",
                        since.elapsed().as_secs()
                    ),
                )
            }
            Err(e) => {
                return HealthCheckResult::new(
                    HealthStatus::Unknown,
                    format!("cannot list disks: {e}"),
                )
            }
        };
        // The disk whose mount point is the longest prefix of the path.
        let disk = disks
            .iter()
            .filter(|d| path.starts_with(&d.mount_point))
            .max_by_key(|d| d.mount_point.as_os_str().len());
        let Some(disk) = disk.filter(|d| d.total > 0) else {
            return HealthCheckResult::new(
                HealthStatus::Unknown,
                format!("no mounted disk holds {}", self.path.display()),
            );
        };
        let used = 1.0 - disk.available as f64 / disk.total as f64;
        let status = fraction_status(used, self.threshold);
        HealthCheckResult::new(
            status,
            format!(
                "{} is {}% full (threshold {}%), {} bytes free",
                disk.mount_point.display(),
                percent(used),
                percent(self.threshold),
                disk.available
            ),
        )
        .with_metadata("observedValue", percent(used))
        .with_metadata("observedUnit", "percent")
        .with_metadata("path", self.path.display().to_string())
    }
}

/// System memory is at most `threshold` used (0.8 = 80%).
///
/// # Examples
/// ```
/// use telemetry_engine::health::MemoryHealthCheck;
/// let check = MemoryHealthCheck::new(0.8);
/// ```
pub struct MemoryHealthCheck {
    threshold: f64,
}

impl MemoryHealthCheck {
    /// A check of used memory against `threshold`.
    pub fn new(threshold: f64) -> Self {
        Self { threshold }
    }
}

#[async_trait]
impl HealthCheck for MemoryHealthCheck {
    fn name(&self) -> &str {
        "memory"
    }

    async fn check(&self) -> HealthCheckResult {
        let system = match System::new_with_specifics(
            RefreshKind::nothing().with_memory(MemoryRefreshKind::nothing().with_ram()),
        ) {
            Ok(system) => system,
            Err(e) => {
                return HealthCheckResult::new(
                    HealthStatus::Unknown,
                    format!("cannot read memory: {e}"),
                )
            }
        };
        let total = system.total_memory();
        if total == 0 {
            return HealthCheckResult::new(HealthStatus::Unknown, "total memory is unknown");
        }
        let used = system.used_memory() as f64 / total as f64;
        HealthCheckResult::new(
            fraction_status(used, self.threshold),
            format!(
                "{}% of memory used (threshold {}%)",
                percent(used),
                percent(self.threshold)
            ),
        )
        .with_metadata("observedValue", percent(used))
        .with_metadata("observedUnit", "percent")
    }

    fn tags(&self) -> Vec<String> {
        vec![LIVENESS.to_owned(), READINESS.to_owned()]
    }
}

/// FFmpeg can be run: finds the binary, runs `ffmpeg -version` (without a console window
/// on Windows) and reports the version, the path used and where it was found
/// (`metadata.source`). Unhealthy when missing, failing or hanging.
///
/// Looked for in this order:
/// 1. `sidecar`: the app's bundled FFmpeg (Tauri `bundle.externalBin`), beside the app's
///    executable ([`crate::platform::sidecar_path`]);
/// 2. `configured`: the binary given ([`Self::with_binary`]), a path or a name;
/// 3. `path`: `ffmpeg` on `PATH`, then where each OS's installers put it
///    ([`crate::platform::ffmpeg_dirs`]; `ffmpeg.exe` through `PATHEXT` on Windows).
///
/// # Examples
/// ```
/// use telemetry_engine::health::FfmpegHealthCheck;
/// let check = FfmpegHealthCheck::new().with_binary("/usr/local/bin/ffmpeg");
/// ```
pub struct FfmpegHealthCheck {
    /// The binary the app configured, if any.
    binary: Option<PathBuf>,
    /// The app's executable, beside which its sidecars are.
    app_executable: Option<PathBuf>,
}

impl Default for FfmpegHealthCheck {
    fn default() -> Self {
        Self::new()
    }
}

/// The name of FFmpeg's sidecar and of its binary on `PATH`.
const FFMPEG: &str = "ffmpeg";

impl FfmpegHealthCheck {
    /// Looks for the app's FFmpeg sidecar, then for `ffmpeg` on `PATH`.
    pub fn new() -> Self {
        Self {
            binary: None,
            app_executable: std::env::current_exe().ok(),
        }
    }

    /// Uses this binary (a path, or a name looked up on `PATH`) when the app has no
    /// FFmpeg sidecar.
    pub fn with_binary(mut self, binary: impl Into<PathBuf>) -> Self {
        self.binary = Some(binary.into());
        self
    }

    /// Looks for the sidecar beside `exe` instead of this process's executable (an app
    /// whose FFmpeg sits beside another binary of its own).
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::health::FfmpegHealthCheck;
    /// let check = FfmpegHealthCheck::new().with_app_executable("/opt/studio/bin/studio");
    /// ```
    pub fn with_app_executable(mut self, exe: impl Into<PathBuf>) -> Self {
        self.app_executable = Some(exe.into());
        self
    }

    /// The binary to run and where it was found, looking on `path` (the `PATH` value)
    /// in the third step; else what was tried.
    fn locate(&self, path: Option<&OsStr>) -> Result<(PathBuf, &'static str), String> {
        let os = crate::platform::Os::current();
        let sidecar = self
            .app_executable
            .as_deref()
            .and_then(|exe| crate::platform::sidecar_path(&exe.to_string_lossy(), FFMPEG, os));
        if let Some(sidecar) = sidecar.as_ref().filter(|p| p.is_file()) {
            return Ok((sidecar.clone(), "sidecar"));
        }
        let extra = crate::platform::ffmpeg_dirs(os, |v| std::env::var(v).ok());
        if let Some(found) = self
            .binary
            .as_deref()
            .and_then(|b| crate::platform::find_executable(b, path, &extra))
        {
            return Ok((found, "configured"));
        }
        if let Some(found) = crate::platform::find_executable(Path::new(FFMPEG), path, &extra) {
            return Ok((found, "path"));
        }
        let mut tried = Vec::new();
        if let Some(sidecar) = sidecar {
            tried.push(format!("no sidecar at {}", sidecar.display()));
        }
        if let Some(binary) = &self.binary {
            tried.push(format!("{} not found", binary.display()));
        }
        tried.push(format!(
            "{FFMPEG} is not on PATH or in the usual install folders"
        ));
        Err(tried.join("; "))
    }
}

/// Windows' `CREATE_NO_WINDOW`: a probe started by a GUI app opens no console.
#[cfg(windows)]
const CREATE_NO_WINDOW: u32 = 0x0800_0000;

#[async_trait]
impl HealthCheck for FfmpegHealthCheck {
    fn name(&self) -> &str {
        "ffmpeg"
    }

    async fn check(&self) -> HealthCheckResult {
        let (binary, source) = match self.locate(std::env::var_os("PATH").as_deref()) {
            Ok(found) => found,
            Err(tried) => {
                return HealthCheckResult::new(
                    HealthStatus::Unhealthy,
                    format!("ffmpeg was not found: {tried}"),
                )
            }
        };
        // `kill_on_drop`: when the manager's timeout aborts this check, the process goes too.
        let mut command = tokio::process::Command::new(&binary);
        command.arg("-version").kill_on_drop(true);
        #[cfg(windows)]
        command.creation_flags(CREATE_NO_WINDOW);
        let output = command.output().await;
        match output {
            Ok(out) if out.status.success() => {
                let text = String::from_utf8_lossy(&out.stdout);
                let first = text.lines().next().unwrap_or_default();
                let version = first
                    .strip_prefix("ffmpeg version ")
                    .and_then(|rest| rest.split_whitespace().next())
                    .unwrap_or("unknown");
                HealthCheckResult::new(
                    HealthStatus::Healthy,
                    format!("ffmpeg {version} at {}", binary.display()),
                )
                .with_metadata("version", version)
                .with_metadata("path", binary.display().to_string())
                .with_metadata("source", source)
            }
            Ok(out) => HealthCheckResult::new(
                HealthStatus::Unhealthy,
                format!("{} -version exited with {}", binary.display(), out.status),
            ),
            Err(e) => HealthCheckResult::new(
                HealthStatus::Unhealthy,
                format!("cannot run {}: {e}", binary.display()),
            ),
        }
    }
}

/// An HTTP endpoint answers with the expected status; slower than `warn_latency` is a
/// Warning. Results name the URL without its `user:password@`, query and fragment, so
/// credentials and API keys in the URL never reach `/health`, the history or the logs.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use telemetry_engine::health::HttpHealthCheck;
/// let check = HttpHealthCheck::new("render_api", "https://render.example.com/ping")
///     .expect_status(204)
///     .warn_latency(Duration::from_millis(500));
/// ```
pub struct HttpHealthCheck {
    name: String,
    url: String,
    /// The URL as results show it.
    shown: String,
    expected: u16,
    warn_latency: Duration,
    /// The client, or why the TLS settings cannot be used (each check says so).
    client: Result<reqwest::Client, String>,
}

impl HttpHealthCheck {
    /// A check named `name` of `GET url`, expecting 200 within 1s.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        let url = url.into();
        Self {
            name: name.into(),
            shown: shown_endpoint(&url),
            url,
            expected: 200,
            warn_latency: Duration::from_secs(1),
            client: crate::tls::http_client(None, None, crate::tls::Redirects::Follow)
                .map_err(|e| e.to_string()),
        }
    }

    /// TLS beyond the OS's trusted roots: a private CA, a client certificate. Settings
    /// that cannot be used (a missing file) make every result Unhealthy, naming the file.
    ///
    /// # Examples
    /// ```
    /// use telemetry_engine::{config::TlsConfig, health::HttpHealthCheck};
    /// let check = HttpHealthCheck::new("render_api", "https://render.internal/ping")
    ///     .tls(TlsConfig { ca_cert: Some("/etc/studio/ca.pem".into()), ..TlsConfig::default() });
    /// ```
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.client = crate::tls::http_client(None, Some(&tls), crate::tls::Redirects::Follow)
            .map_err(|e| e.to_string());
        self
    }

    /// The status code that means healthy.
    pub fn expect_status(mut self, status: u16) -> Self {
        self.expected = status;
        self
    }

    /// Latency above which the result is a Warning.
    pub fn warn_latency(mut self, latency: Duration) -> Self {
        self.warn_latency = latency;
        self
    }
}

#[async_trait]
impl HealthCheck for HttpHealthCheck {
    fn name(&self) -> &str {
        &self.name
    }

    async fn check(&self) -> HealthCheckResult {
        let client = match &self.client {
            Ok(client) => client,
            Err(e) => return HealthCheckResult::new(HealthStatus::Unhealthy, e.clone()),
        };
        let started = tokio::time::Instant::now();
        let response = client.get(&self.url).send().await;
        let latency = started.elapsed();
        let ms = format!("{:.1}", latency.as_secs_f64() * 1000.0);
        match response {
            Ok(r) if r.status().as_u16() == self.expected => {
                let status = if latency > self.warn_latency {
                    HealthStatus::Warning
                } else {
                    HealthStatus::Healthy
                };
                HealthCheckResult::new(
                    status,
                    format!("{} answered {} in {ms} ms", self.shown, r.status()),
                )
            }
            Ok(r) => HealthCheckResult::new(
                HealthStatus::Unhealthy,
                format!(
                    "{} answered {}, expected {}",
                    self.shown,
                    r.status(),
                    self.expected
                ),
            ),
            Err(e) => HealthCheckResult::new(
                HealthStatus::Unhealthy,
                format!(
                    "{} is unreachable: {}",
                    self.shown,
                    crate::tls::error_chain(&e.without_url())
                ),
            ),
        }
        .with_metadata("observedValue", ms)
        .with_metadata("observedUnit", "ms")
    }
}

/// Every exporter is working: a Failed exporter is Unhealthy, a Degraded one a Warning, a
/// Pending one (nothing exported yet) fine. Tagged `telemetry`, so it counts in the overall
/// status and readiness only with `health.exporters_affect_status`.
pub(crate) struct ExportersHealthCheck {
    status: ExportStatusBoard,
    /// Whether it counts in the overall status and readiness.
    counted: bool,
}

impl ExportersHealthCheck {
    /// A check over the exporters reporting to `status`; `counted` puts it in the
    /// readiness group too.
    pub(crate) fn new(status: ExportStatusBoard, counted: bool) -> Self {
        Self { status, counted }
    }
}

#[async_trait]
impl HealthCheck for ExportersHealthCheck {
    fn name(&self) -> &str {
        "exporters"
    }

    fn tags(&self) -> Vec<String> {
        let mut tags = vec![super::TELEMETRY.to_owned()];
        if self.counted {
            tags.push(super::READINESS.to_owned());
        }
        tags
    }

    async fn check(&self) -> HealthCheckResult {
        let mut worst = HealthStatus::Healthy;
        let mut problems = Vec::new();
        for (name, status) in self.status.statuses() {
            let (level, why) = match status {
                ExportStatus::Healthy | ExportStatus::Pending(_) => continue,
                ExportStatus::Degraded(why) => (HealthStatus::Warning, why),
                ExportStatus::Failed(why) => (HealthStatus::Unhealthy, why),
            };
            worst = worst.max(level);
            problems.push(format!("{name}: {why}"));
        }
        let message = if problems.is_empty() {
            "every exporter is healthy".to_owned()
        } else {
            problems.join("; ")
        };
        HealthCheckResult::new(worst, message)
    }
}

/// The engine's own loops run: Warning once a periodic task (collection, health, alerts)
/// or one alert rule has panicked, naming each with its count and last message. The
/// loops go on after a panic; this check is how it is seen.
pub(crate) struct TasksHealthCheck {
    supervisor: Supervisor,
}

impl TasksHealthCheck {
    /// A check over the panics `supervisor` caught.
    pub(crate) fn new(supervisor: Supervisor) -> Self {
        Self { supervisor }
    }
}

#[async_trait]
impl HealthCheck for TasksHealthCheck {
    fn name(&self) -> &str {
        "background_tasks"
    }

    async fn check(&self) -> HealthCheckResult {
        let records = self.supervisor.records();
        if records.is_empty() {
            return HealthCheckResult::new(HealthStatus::Healthy, "no background task panicked");
        }
        let problems: Vec<String> = records
            .iter()
            .map(|(task, r)| format!("{task} panicked {} time(s), last: {}", r.count, r.last))
            .collect();
        let total: u64 = records.values().map(|r| r.count).sum();
        HealthCheckResult::new(HealthStatus::Warning, problems.join("; "))
            .with_metadata("observedValue", total.to_string())
    }
}

/// The in-app series store has room: Warning while it turns series away or evicts them
/// (since the previous run of the check), with the totals and the setting to raise.
pub(crate) struct SeriesStoreHealthCheck {
    store: Arc<SeriesStore>,
    /// `(dropped, evicted)` at the previous run.
    seen: parking_lot::Mutex<(u64, u64)>,
}

impl SeriesStoreHealthCheck {
    /// A check over `store`.
    pub(crate) fn new(store: Arc<SeriesStore>) -> Self {
        Self {
            store,
            seen: parking_lot::Mutex::new((0, 0)),
        }
    }
}

#[async_trait]
impl HealthCheck for SeriesStoreHealthCheck {
    fn name(&self) -> &str {
        "series_store"
    }

    async fn check(&self) -> HealthCheckResult {
        // Read under the lock: two runs at once (a refresh and a `/health` request) each
        // see counts no lower than the other stored, so the differences cannot go below 0.
        let ((dropped, evicted), previous) = {
            let mut seen = self.seen.lock();
            let now = (self.store.dropped_series(), self.store.evicted_series());
            (now, std::mem::replace(&mut *seen, now))
        };
        let (held, capacity) = (self.store.series_count(), self.store.capacity());
        let result = if (dropped, evicted) == previous {
            HealthCheckResult::new(
                HealthStatus::Healthy,
                format!("{held} of {capacity} series held"),
            )
        } else {
            HealthCheckResult::new(
                HealthStatus::Warning,
                format!(
                    "the series store is full ({held} of {capacity} series): {} new series \
                     refused and {} evicted since the last check ({dropped} and {evicted} in \
                     all); raise metrics.max_store_series or record fewer label values",
                    dropped - previous.0,
                    evicted - previous.1
                ),
            )
        };
        result
            .with_metadata("observedValue", held.to_string())
            .with_metadata("dropped", dropped.to_string())
            .with_metadata("evicted", evicted.to_string())
    }
}

#[cfg(test)]
mod disk_tests {
    use super::*;
    use crate::collectors::disks::DiskReading;

    fn hangs() -> Vec<DiskReading> {
        std::thread::sleep(Duration::from_secs(3600));
        Vec::new()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_hung_disk_query_is_unknown_and_never_blocks_the_runtime() {
        let check =
            DiskSpaceHealthCheck::with_probe("/", 0.9, DiskProbe::with_reader(Arc::new(hangs)));
        for _ in 0..2 {
            // On this single-threaded runtime, a query on the worker would keep the timer
            // below from firing until the check returned.
            let running = check.check();
            tokio::pin!(running);
            tokio::select! {
                biased;
                _ = &mut running => panic!("the check answered before the timer fired"),
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
            let result = running.await;
            assert_eq!(result.status, HealthStatus::Unknown);
            assert!(
                result.message.contains("has not returned"),
                "{}",
                result.message
            );
        }
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn fake_ffmpeg(path: &Path, version: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            path,
            format!("#!/bin/sh\necho 'ffmpeg version {version} Copyright'\n"),
        )
        .unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[tokio::test]
    async fn ffmpeg_is_the_sidecar_then_the_configured_binary_then_the_one_on_path() {
        let root = tempfile::tempdir().unwrap();
        // An installed app: its executable and the FFmpeg Tauri bundled beside it.
        let app = root.path().join("Studio/bin");
        let sidecar = app.join("ffmpeg");
        fake_ffmpeg(&sidecar, "9.9-sidecar");
        let configured = root.path().join("tools/ffmpeg7");
        fake_ffmpeg(&configured, "7.0-configured");
        let on_path = root.path().join("path");
        fake_ffmpeg(&on_path.join("ffmpeg"), "6.0-path");
        let path = on_path.clone().into_os_string();

        let check = FfmpegHealthCheck::new()
            .with_app_executable(app.join("studio"))
            .with_binary(&configured);
        let result = check.check().await;
        assert_eq!(result.status, HealthStatus::Healthy, "{}", result.message);
        assert_eq!(result.metadata["version"], "9.9-sidecar");
        assert_eq!(result.metadata["source"], "sidecar");
        assert_eq!(result.metadata["path"], sidecar.display().to_string());

        std::fs::remove_file(&sidecar).unwrap();
        assert_eq!(
            check.locate(Some(&path)),
            Ok((configured.clone(), "configured"))
        );

        let check = FfmpegHealthCheck::new()
            .with_app_executable(app.join("studio"))
            .with_binary(root.path().join("tools/missing"));
        assert_eq!(
            check.locate(Some(&path)),
            Ok((on_path.join("ffmpeg"), "path"))
        );

        std::fs::remove_dir_all(&on_path).unwrap();
        match check.locate(Some(&path)) {
            Err(tried) => {
                assert!(
                    tried.contains(&format!("no sidecar at {}", sidecar.display())),
                    "{tried}"
                );
                assert!(tried.contains("tools/missing not found"), "{tried}");
            }
            // This machine has FFmpeg installed where installers put it.
            Ok((found, source)) => {
                assert_eq!(source, "path");
                assert!(!found.starts_with(root.path()), "{}", found.display());
            }
        }
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_disk_check_reads_its_own_file_system_even_when_the_list_leaves_it_out() {
        if !crate::collectors::disks::shm_is_tmpfs() {
            eprintln!("no tmpfs at /dev/shm here: nothing to show");
            return;
        }
        let result = DiskSpaceHealthCheck::new("/dev/shm", 0.99).check().await;
        // Not the root disk, which holds /dev/shm's mount point.
        assert!(
            result.message.starts_with("/dev/shm is "),
            "{}",
            result.message
        );
    }
}
