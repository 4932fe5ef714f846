//! Rust panics as crash reports.
//!
//! A panic hook, chained in front of the one already installed, records every panic:
//! the report (message, location, thread, backtrace when `RUST_BACKTRACE` enables one) is
//! written to `<storage.dir>/crashes` and synced *before* the hook returns, so a panic
//! that aborts the process (`panic = "abort"`, or a panic while panicking) still leaves
//! it. Then the current span is marked failed, `process_panics_total` counts it, and an
//! ERROR log record with the OpenTelemetry exception attributes goes to the log store and
//! the exporters. Those last steps run on a helper thread the hook waits for at most
//! [`EMIT_WAIT`]: a panic raised while the engine holds one of its own locks must not
//! deadlock the hook.
//!
//! Each launch also leaves `<storage.dir>/crashes/session`, removed by a clean shutdown.
//! The next launch turns what it finds into a [`CrashReport`] of the previous session
//! (its panics, or "ended without a clean exit" when the marker is all there is: a
//! native crash, a kill, power loss), sends each as an ERROR record carrying the previous
//! `session.id`, and keeps the newest for the panel.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::Duration;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{Status, TraceContextExt as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::metrics::Counter;

/// The longest the hook waits for the log record and the counter.
const EMIT_WAIT: Duration = Duration::from_millis(250);
/// The folder under `storage.dir`.
const FOLDER: &str = "crashes";
/// The marker of a session that has not shut down cleanly.
const MARKER: &str = "session";
/// Reports kept at most (the oldest go): a panic loop must not fill the disk.
const MAX_REPORTS: usize = 32;
/// The longest backtrace kept, in bytes.
const MAX_BACKTRACE: usize = 64 << 10;

/// What ended (or troubled) a session: a Rust panic, or an exit that was not clean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "bindings", ts(export))]
pub struct CrashReport {
    /// `panic`; `native_crash` for a signal or exception the crash monitor caught (see
    /// `crash_monitor`); or `unclean_exit` when the session ended without shutting down and
    /// left no other report (a native crash without the monitor, a kill, power loss).
    pub kind: String,
    /// The `session.id` of the session it happened in.
    pub session_id: String,
    /// When (Unix ms): the panic, or the session's start for an unclean exit.
    #[cfg_attr(feature = "bindings", ts(type = "number"))]
    pub time_ms: i64,
    /// The panic message, or what is known of the exit.
    pub message: String,
    /// `file:line:column` of the panic.
    pub location: Option<String>,
    /// The panicking thread's name (or id).
    pub thread: Option<String>,
    /// The backtrace, when `RUST_BACKTRACE` enabled one.
    pub backtrace: Option<String>,
    /// The minidump the crash monitor wrote (its path), for a native crash.
    #[serde(default)]
    pub minidump: Option<String>,
}

/// What the hook records into; one per running manager.
pub(crate) struct PanicCapture {
    logger: SdkLogger,
    panics: Counter,
    session_id: String,
    /// `<storage.dir>/crashes`, when there is a storage folder.
    dir: Option<PathBuf>,
}

/// The capture the hook records into (the most recently started manager's).
static CAPTURE: RwLock<Option<Arc<PanicCapture>>> = RwLock::new(None);
static HOOK: Once = Once::new();

thread_local! {
    /// Set while this thread runs the hook: a panic inside it is not recorded again.
    static IN_HOOK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl PanicCapture {
    /// A capture for the session `session_id`, writing reports under `storage`
    /// (`<storage>/crashes`), sending records through `provider`.
    pub(crate) fn new(
        provider: &SdkLoggerProvider,
        panics: Counter,
        session_id: String,
        storage: Option<&Path>,
    ) -> Self {
        Self {
            logger: provider.logger("telemetry.panics"),
            panics,
            session_id,
            dir: storage.map(|s| s.join(FOLDER)),
        }
    }

    /// What the previous session left: its reports, sent as ERROR records of that
    /// session, then removed; the newest is returned. Then this session's marker is
    /// written. A folder that cannot be read or written is a warning.
    pub(crate) fn take_previous(&self) -> Option<CrashReport> {
        let dir = self.dir.as_ref()?;
        let mut reports = read_reports(dir);
        if let Some(marker) = read_marker(dir) {
            if !reports.iter().any(|r| r.session_id == marker.session_id) {
                reports.push(marker);
            }
        }
        merge_aborts(&mut reports);
        reports.sort_by_key(|r| r.time_ms);
        for report in &reports {
            self.emit(report, true);
        }
        clear(dir);
        if let Err(e) = std::fs::create_dir_all(dir).and_then(|()| {
            let marker = CrashReport {
                kind: "unclean_exit".into(),
                session_id: self.session_id.clone(),
                time_ms: crate::clock::now_ms(),
                message:
                    "the session ended without a clean exit (a native crash, a kill or power loss)"
                        .into(),
                location: None,
                thread: None,
                backtrace: None,
                minidump: None,
            };
            write_atomically(
                &dir.join(MARKER),
                &serde_json::to_vec(&marker).unwrap_or_default(),
            )
        }) {
            ::tracing::warn!(target: "telemetry::panics", folder = %dir.display(), error = %e, "crash reports cannot be kept");
        }
        reports.pop()
    }

    /// A clean exit: the marker and this session's reports go (their records were sent).
    pub(crate) fn clean_exit(&self) {
        if let Some(dir) = &self.dir {
            clear(dir);
        }
    }

    /// Records one panic (see the module docs).
    fn record(&self, info: &std::panic::PanicHookInfo<'_>) {
        let thread = std::thread::current();
        let report = CrashReport {
            kind: "panic".into(),
            session_id: self.session_id.clone(),
            time_ms: crate::clock::now_ms(),
            message: payload_text(info.payload()),
            location: info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())),
            thread: Some(
                thread
                    .name()
                    .map_or_else(|| format!("{:?}", thread.id()), str::to_owned),
            ),
            backtrace: backtrace(),
            minidump: None,
        };
        if let Some(dir) = &self.dir {
            let file = dir.join(format!(
                "panic-{}-{:08x}.json",
                report.time_ms,
                fastrand::u32(..)
            ));
            let written = serde_json::to_vec(&report)
                .map_err(std::io::Error::other)
                .and_then(|bytes| write_atomically(&file, &bytes));
            if written.is_ok() {
                prune(dir);
            }
        }
        Context::current()
            .span()
            .set_status(Status::error(format!("panicked: {}", report.message)));
        // On a thread of its own: the panicking thread may hold a lock the log store
        // or the meter needs.
        let (done, wait) = std::sync::mpsc::channel();
        let logger = self.logger.clone();
        let panics = self.panics.clone();
        let cx = Context::current();
        let thread_name = report.thread.clone().unwrap_or_default();
        let spawned = std::thread::Builder::new()
            .name("telemetry-panic".into())
            .spawn(move || {
                let _ = panics.add(1, &[KeyValue::new("thread", short(&thread_name))]);
                let _guard = cx.attach();
                emit_with(&logger, &report, false);
                let _ = done.send(());
            });
        if spawned.is_ok() {
            let _ = wait.recv_timeout(EMIT_WAIT);
        }
    }

    fn emit(&self, report: &CrashReport, previous: bool) {
        emit_with(&self.logger, report, previous);
    }
}

/// Thread names are labels: keep them short and the set small.
fn short(name: &str) -> String {
    name.chars().take(64).collect()
}

/// An ERROR record of `report` with the OpenTelemetry exception attributes; for a
/// previous session's report, its `session.id` and `crash.previous_session = true`.
fn emit_with(logger: &SdkLogger, report: &CrashReport, previous: bool) {
    let mut record = logger.create_log_record();
    record.set_severity_number(Severity::Error);
    record.set_severity_text("ERROR");
    record.set_target("telemetry::panics");
    let body = match (previous, report.kind.as_str()) {
        (true, "panic") => format!("the previous session crashed: {}", report.message),
        (true, "native_crash") => format!(
            "the previous session crashed: {}",
            report.message.trim_start_matches("the process crashed: ")
        ),
        (true, _) => format!(
            "the previous session {}",
            report.message.trim_start_matches("the session ")
        ),
        (false, _) => format!("panicked: {}", report.message),
    };
    record.set_body(AnyValue::from(body));
    let mut attributes = vec![
        ("exception.type", AnyValue::from(report.kind.clone())),
        ("exception.message", AnyValue::from(report.message.clone())),
    ];
    if let Some(location) = &report.location {
        // `file:line:column`, as OpenTelemetry's code attributes.
        let mut parts = location.rsplitn(3, ':');
        let (column, line, file) = (parts.next(), parts.next(), parts.next());
        match (
            file,
            line.and_then(|l| l.parse::<i64>().ok()),
            column.and_then(|c| c.parse::<i64>().ok()),
        ) {
            (Some(file), Some(line), Some(column)) => {
                attributes.push(("code.file.path", AnyValue::from(file.to_owned())));
                attributes.push(("code.line.number", AnyValue::from(line)));
                attributes.push(("code.column.number", AnyValue::from(column)));
            }
            _ => attributes.push(("code.file.path", AnyValue::from(location.clone()))),
        }
    }
    if let Some(thread) = &report.thread {
        attributes.push(("thread.name", AnyValue::from(thread.clone())));
    }
    if let Some(backtrace) = &report.backtrace {
        attributes.push(("exception.stacktrace", AnyValue::from(backtrace.clone())));
    }
    if let Some(minidump) = &report.minidump {
        attributes.push(("crash.minidump.path", AnyValue::from(minidump.clone())));
    }
    if previous {
        attributes.push(("session.id", AnyValue::from(report.session_id.clone())));
        attributes.push(("crash.previous_session", AnyValue::from(true)));
    }
    record.add_attributes(attributes);
    logger.emit(record);
}

/// Installs the hook once per process and makes `capture` the one it records into.
pub(crate) fn install(capture: Arc<PanicCapture>) {
    *CAPTURE.write() = Some(capture);
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let nested = IN_HOOK.with(|f| f.replace(true));
            if !nested {
                // `try_read`: a panic while the slot is being replaced is not recorded
                // rather than risk waiting.
                let capture = CAPTURE.try_read().and_then(|c| c.clone());
                if let Some(capture) = capture {
                    capture.record(info);
                }
                IN_HOOK.with(|f| f.set(false));
            }
            previous(info);
        }));
    });
}

/// Stops recording into `capture` (its manager shut down).
pub(crate) fn uninstall(capture: &Arc<PanicCapture>) {
    let mut slot = CAPTURE.write();
    if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, capture)) {
        *slot = None;
    }
}

/// The text of a panic payload (`&str` or `String`; anything else is named so).
fn payload_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a payload that is not text".to_owned())
}

/// The backtrace, when enabled (`RUST_BACKTRACE`/`RUST_LIB_BACKTRACE`), cut to
/// [`MAX_BACKTRACE`].
fn backtrace() -> Option<String> {
    let backtrace = std::backtrace::Backtrace::capture();
    if backtrace.status() != std::backtrace::BacktraceStatus::Captured {
        return None;
    }
    let mut text = backtrace.to_string();
    if text.len() > MAX_BACKTRACE {
        let mut cut = MAX_BACKTRACE;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    Some(text)
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The panic reports in `dir`; files that do not parse are skipped with a warning.
fn read_reports(dir: &Path) -> Vec<CrashReport> {
    let mut reports = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let is_report = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
            (n.starts_with("panic-") || n.starts_with("native-")) && n.ends_with(".json")
        });
        if !is_report {
            continue;
        }
        match std::fs::read(&path).map(|b| serde_json::from_slice::<CrashReport>(&b)) {
            Ok(Ok(report)) => reports.push(report),
            _ => {
                ::tracing::warn!(target: "telemetry::panics", file = %path.display(), "a crash report that cannot be read was skipped");
            }
        }
    }
    reports
}

/// One crash, one report: a native crash of a session that also panicked is the abort that
/// followed the panic (`panic = "abort"`, a panic while panicking), so its minidump goes
/// to that session's last panic report and it is not reported again.
fn merge_aborts(reports: &mut Vec<CrashReport>) {
    let natives: Vec<CrashReport> = reports
        .iter()
        .filter(|r| r.kind == "native_crash")
        .cloned()
        .collect();
    for native in natives {
        let panic = reports
            .iter_mut()
            .filter(|r| r.kind == "panic" && r.session_id == native.session_id)
            .max_by_key(|r| r.time_ms);
        if let Some(panic) = panic {
            panic.minidump = native.minidump.clone();
            reports.retain(|r| !(r.kind == "native_crash" && r.session_id == native.session_id));
        }
    }
}

/// The marker a session left if it did not shut down cleanly.
fn read_marker(dir: &Path) -> Option<CrashReport> {
    let bytes = std::fs::read(dir.join(MARKER)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Removes the reports and the marker.
fn clear(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let _ = std::fs::remove_file(entry.path());
    }
}

/// Keeps the newest [`MAX_REPORTS`] reports.
fn prune(dir: &Path) {
    keep_newest(dir, MAX_REPORTS, |p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("panic-"))
    });
}

/// Keeps the newest `keep` files of `dir` that `kept` selects (their names start with
/// their time, so sorted is oldest first); the others stay.
pub(super) fn keep_newest(dir: &Path, keep: usize, kept: impl Fn(&Path) -> bool) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| kept(p))
        .collect();
    if files.len() > keep {
        files.sort();
        for old in &files[..files.len() - keep] {
            let _ = std::fs::remove_file(old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_become_text_and_long_backtraces_are_cut() {
        assert_eq!(payload_text(&"frame 7 is missing"), "frame 7 is missing");
        assert_eq!(payload_text(&String::from("owned")), "owned");
        assert_eq!(
            payload_text(&42_u8),
            "a panic with a payload that is not text"
        );
        assert_eq!(short(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn the_abort_after_a_panic_is_one_report_with_the_minidump() {
        let report = |kind: &str, session: &str, time_ms| CrashReport {
            kind: kind.into(),
            session_id: session.into(),
            time_ms,
            message: kind.into(),
            location: None,
            thread: None,
            backtrace: None,
            minidump: (kind == "native_crash").then(|| format!("{session}.dmp")),
        };
        let mut reports = vec![
            report("panic", "a", 1),
            report("panic", "a", 2),
            report("native_crash", "a", 3),
            report("native_crash", "b", 4),
        ];
        merge_aborts(&mut reports);
        let kinds: Vec<(&str, &str, Option<&str>)> = reports
            .iter()
            .map(|r| {
                (
                    r.kind.as_str(),
                    r.session_id.as_str(),
                    r.minidump.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("panic", "a", None),
                ("panic", "a", Some("a.dmp")),
                ("native_crash", "b", Some("b.dmp"))
            ]
        );
    }

    #[test]
    fn only_the_newest_reports_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..(MAX_REPORTS + 5) {
            std::fs::write(dir.path().join(format!("panic-{i:013}-0.json")), b"{}").unwrap();
        }
        prune(dir.path());
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left.len(), MAX_REPORTS);
        assert_eq!(left[0], "panic-0000000000005-0.json");
    }
}
