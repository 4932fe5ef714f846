//! Native crashes as minidumps: a segfault in a codec, an access violation in a driver, an
//! abort in C code. Nothing in the crashing process can be trusted to write a report, so
//! a second process does (Embark's `crash-handler` catches the signal or exception,
//! `minidumper` asks the monitor, which writes the minidump with `minidump-writer`).
//!
//! The monitor is the app's own executable, started again with [`MONITOR_ENV`] set; that
//! is why the app calls [`crash_monitor`] first in `main`: in the monitor it serves and
//! exits, in the app it records that the monitor may be started. Without that call no
//! monitor is started (starting the executable again would start the app twice), and the
//! export status `crashes:native` says how to turn it on.
//!
//! After a crash the monitor writes the minidump under `<storage.dir>/minidumps` (the
//! newest [`MAX_DUMPS`] are kept) and a crash report beside the panic reports
//! (`<storage.dir>/crashes/native-*.json`, kind `native_crash`, naming the signal or
//! exception and the minidump). The next launch sends it like a panic report: an ERROR
//! record of the previous session, and the panel's crash card.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::panics::{keep_newest, write_atomically, CrashReport};
use crate::export::ExportStatusBoard;

/// The variable that makes the app's executable the crash monitor (its value: the
/// monitor's JSON spec).
pub const MONITOR_ENV: &str = "TELEMETRY_CRASH_MONITOR";
/// Minidumps kept at most; the oldest go.
pub const MAX_DUMPS: usize = 5;
/// The export status entry of the native crash capture.
pub(crate) const STATUS: &str = "crashes:native";
/// The folder under `storage.dir` where minidumps go.
const DUMPS: &str = "minidumps";
/// The message that carries the crash's signal or exception code.
const KIND_CODE: u32 = 1;
/// How long the app waits for the monitor to listen.
const CONNECT_WITHIN: Duration = Duration::from_secs(5);

/// Whether this process called [`crash_monitor`] (and so may start the monitor).
static HOOKED: AtomicBool = AtomicBool::new(false);
/// The attached handler and the monitor, for the life of the process: one per process.
static ATTACHED: Mutex<Option<Attached>> = Mutex::new(None);

struct Attached {
    _handler: crash_handler::CrashHandler,
    _monitor: std::process::Child,
}

/// What the monitor needs to know, passed in [`MONITOR_ENV`].
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Spec {
    /// The socket the app connects to.
    socket: String,
    /// `<storage.dir>/crashes`: where the report goes.
    crashes: PathBuf,
    /// `<storage.dir>/minidumps`.
    dumps: PathBuf,
    /// The crashing session's `session.id`.
    session_id: String,
}

/// Call this first in `main`, before anything else starts: in the crash monitor (the app's
/// executable started again by the engine with [`MONITOR_ENV`] set) it serves until the app
/// exits or crashes, then ends the process; in the app it returns at once and lets the
/// engine start the monitor. Without it, native crashes are reported only as "the session
/// ended without a clean exit".
///
/// # Examples
/// ```no_run
/// // The first line of `main`:
/// telemetry_engine::logs::crash_monitor();
/// ```
pub fn crash_monitor() {
    let Some(spec) = std::env::var_os(MONITOR_ENV) else {
        HOOKED.store(true, Ordering::Release);
        return;
    };
    let code = match spec.to_str().map(serde_json::from_str::<Spec>) {
        Some(Ok(spec)) => match serve(&spec) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("crash monitor: {e}");
                1
            }
        },
        _ => {
            eprintln!("crash monitor: {MONITOR_ENV} is not a monitor spec");
            2
        }
    };
    std::process::exit(code)
}

/// Whether [`crash_monitor`] was called in this process.
pub(crate) fn hooked() -> bool {
    HOOKED.load(Ordering::Acquire)
}

/// The platform's name for the socket: an abstract socket on Linux (nothing on disk),
/// a socket file in the temporary folder elsewhere.
fn socket_path(session_id: &str) -> String {
    let short: String = session_id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(12)
        .collect();
    if cfg!(any(target_os = "linux", target_os = "android")) {
        format!("tauri-otel-crash-{short}")
    } else {
        std::env::temp_dir()
            .join(format!("otel-crash-{short}.sock"))
            .display()
            .to_string()
    }
}

fn socket_name(socket: &str) -> minidumper::SocketName<'_> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        minidumper::SocketName::abstract_namespace(socket)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        minidumper::SocketName::path(socket)
    }
}

/// The monitor: writes the minidump and the report of a crash, and ends with the app.
fn serve(spec: &Spec) -> Result<(), minidumper::Error> {
    let mut server = minidumper::Server::with_name(socket_name(&spec.socket))?;
    let shutdown = AtomicBool::new(false);
    server.run(
        Box::new(Monitor {
            spec: spec.clone(),
            code: Mutex::new(None),
        }),
        &shutdown,
        None,
    )
}

struct Monitor {
    spec: Spec,
    /// The signal or exception code the app sent before asking for the dump.
    code: Mutex<Option<u32>>,
}

impl minidumper::ServerHandler for Monitor {
    fn create_minidump_file(&self) -> std::io::Result<(std::fs::File, PathBuf)> {
        std::fs::create_dir_all(&self.spec.dumps)?;
        let path = self.spec.dumps.join(format!(
            "{}-{}.dmp",
            crate::clock::now_ms(),
            self.spec.session_id
        ));
        Ok((std::fs::File::create(&path)?, path))
    }

    fn on_minidump_created(
        &self,
        result: Result<minidumper::MinidumpBinary, minidumper::Error>,
    ) -> minidumper::LoopAction {
        let what = describe(*self.code.lock());
        let (message, minidump) = match result {
            Ok(binary) => {
                let _ = binary.file.sync_all();
                prune(&self.spec.dumps);
                (
                    format!("the process crashed: {what}"),
                    Some(binary.path.display().to_string()),
                )
            }
            Err(e) => (
                format!("the process crashed: {what} (no minidump: {e})"),
                None,
            ),
        };
        let report = CrashReport {
            kind: "native_crash".into(),
            session_id: self.spec.session_id.clone(),
            time_ms: crate::clock::now_ms(),
            message,
            location: None,
            thread: None,
            backtrace: None,
            minidump,
        };
        let file = self
            .spec
            .crashes
            .join(format!("native-{}.json", report.time_ms));
        if let Err(e) = serde_json::to_vec(&report)
            .map_err(std::io::Error::other)
            .and_then(|bytes| write_atomically(&file, &bytes))
        {
            eprintln!("crash monitor: cannot write {}: {e}", file.display());
        }
        minidumper::LoopAction::Exit
    }

    fn on_message(&self, kind: u32, buffer: Vec<u8>) {
        if let (KIND_CODE, Ok(bytes)) = (kind, <[u8; 4]>::try_from(buffer.as_slice())) {
            *self.code.lock() = Some(u32::from_le_bytes(bytes));
        }
    }

    fn on_client_disconnected(&self, clients: usize) -> minidumper::LoopAction {
        if clients == 0 {
            minidumper::LoopAction::Exit
        } else {
            minidumper::LoopAction::Continue
        }
    }
}

/// Keeps the newest [`MAX_DUMPS`] minidumps in `dir`.
fn prune(dir: &Path) {
    keep_newest(dir, MAX_DUMPS, |p| {
        p.extension().is_some_and(|x| x == "dmp")
    });
}

/// The crash as this platform names it (see [`signal_name`], [`windows_exception_name`],
/// [`mach_exception_name`]).
fn describe(code: Option<u32>) -> String {
    let Some(code) = code else {
        return "unknown cause".into();
    };
    if cfg!(target_os = "windows") {
        format!("{} (0x{code:08X})", windows_exception_name(code))
    } else if cfg!(target_os = "macos") {
        format!("{} ({code})", mach_exception_name(code))
    } else {
        format!("{} (signal {code})", signal_name(code))
    }
}

/// A Linux signal's name.
pub(crate) fn signal_name(signal: u32) -> &'static str {
    match signal {
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        11 => "SIGSEGV",
        31 => "SIGSYS",
        _ => "a signal",
    }
}

/// A Windows structured exception's name.
pub(crate) fn windows_exception_name(code: u32) -> &'static str {
    match code {
        0xC000_0005 => "EXCEPTION_ACCESS_VIOLATION",
        0xC000_001D => "EXCEPTION_ILLEGAL_INSTRUCTION",
        0xC000_0094 => "EXCEPTION_INT_DIVIDE_BY_ZERO",
        0xC000_00FD => "EXCEPTION_STACK_OVERFLOW",
        0xC000_0409 => "STATUS_STACK_BUFFER_OVERRUN",
        0xC000_0374 => "STATUS_HEAP_CORRUPTION",
        0x8000_0003 => "EXCEPTION_BREAKPOINT",
        // What `abort()` raises (a panic with `panic = "abort"`, C's `abort`).
        0x4000_0015 => "STATUS_FATAL_APP_EXIT",
        _ => "an exception",
    }
}

/// A macOS Mach exception's name (`EXC_*` kinds).
pub(crate) fn mach_exception_name(kind: u32) -> &'static str {
    match kind {
        1 => "EXC_BAD_ACCESS",
        2 => "EXC_BAD_INSTRUCTION",
        3 => "EXC_ARITHMETIC",
        // What `abort()` raises (a panic with `panic = "abort"`, C's `abort`).
        5 => "EXC_SOFTWARE",
        6 => "EXC_BREAKPOINT",
        10 => "EXC_CRASH",
        11 => "EXC_RESOURCE",
        12 => "EXC_GUARD",
        _ => "an exception",
    }
}

/// The code the crash context carries: the signal (Linux), the exception code (Windows),
/// the exception kind (macOS).
fn crash_code(cx: &crash_handler::CrashContext) -> u32 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        cx.siginfo.ssi_signo
    }
    #[cfg(target_os = "windows")]
    {
        u32::from_ne_bytes(cx.exception_code.to_ne_bytes())
    }
    #[cfg(target_os = "macos")]
    {
        cx.exception.as_ref().map_or(0, |e| e.kind)
    }
}

/// In the app: starts the monitor (the executable again, with the same arguments, so that
/// [`crash_monitor`] runs first) and attaches the crash handler, on a thread of its own:
/// the app never waits for it. The outcome is the export status `crashes:native`.
pub(crate) fn start(storage: &Path, session_id: &str, status: ExportStatusBoard) {
    status.register(STATUS);
    if !hooked() {
        status.pending(
            STATUS,
            "native crashes are not captured: call tauri_plugin_opentelemetry::crash_monitor() first in main",
        );
        return;
    }
    if ATTACHED.lock().is_some() {
        status.success(STATUS);
        return;
    }
    let spec = Spec {
        socket: socket_path(session_id),
        crashes: storage.join("crashes"),
        dumps: storage.join(DUMPS),
        session_id: session_id.to_owned(),
    };
    let spawned = std::thread::Builder::new()
        .name("telemetry-crash-monitor".into())
        .spawn(move || match attach(&spec) {
            Ok(attached) => {
                *ATTACHED.lock() = Some(attached);
                status.success(STATUS);
            }
            Err(e) => {
                ::tracing::warn!(target: "telemetry::panics", error = %e, "native crashes are not captured");
                status.failure(STATUS, format!("native crashes are not captured: {e}"));
            }
        });
    if let Err(e) = spawned {
        ::tracing::warn!(target: "telemetry::panics", error = %e, "native crashes are not captured");
    }
}

fn attach(spec: &Spec) -> Result<Attached, String> {
    let json = serde_json::to_string(spec).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| format!("no executable path: {e}"))?;
    let mut monitor = std::process::Command::new(&exe)
        .args(std::env::args_os().skip(1))
        .env(MONITOR_ENV, json)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let started = Instant::now();
    let client = loop {
        match minidumper::Client::with_name(socket_name(&spec.socket)) {
            Ok(client) => break client,
            Err(_) if started.elapsed() < CONNECT_WITHIN => {
                if let Ok(Some(exit)) = monitor.try_wait() {
                    return Err(format!("the monitor exited at start ({exit})"));
                }
                // Backoff while the monitor starts listening.
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                let _ = monitor.kill();
                return Err(format!("the monitor did not answer: {e}"));
            }
        }
    };
    // SAFETY: the closure runs in the crashed process's signal or exception handler. It
    // allocates nothing and takes no lock: it sends 4 bytes and the crash context over
    // the socket connected above, and waits for the monitor's answer; `minidumper` is
    // written for that context.
    #[allow(unsafe_code)]
    let event = unsafe {
        crash_handler::make_crash_event(move |cx: &crash_handler::CrashContext| {
            let _ = client.send_message(KIND_CODE, crash_code(cx).to_le_bytes());
            crash_handler::CrashEventResult::Handled(client.request_dump(cx).is_ok())
        })
    };
    let handler = match crash_handler::CrashHandler::attach(event) {
        Ok(handler) => handler,
        Err(e) => {
            let _ = monitor.kill();
            return Err(format!("cannot attach the crash handler: {e}"));
        }
    };
    // Under Yama's restricted ptrace (Ubuntu's default) only the process named here may
    // read this one's memory.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    handler.set_ptracer(Some(monitor.id()));
    Ok(Attached {
        _handler: handler,
        _monitor: monitor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_platforms_crash_codes_have_their_names() {
        assert_eq!(signal_name(11), "SIGSEGV");
        assert_eq!(signal_name(6), "SIGABRT");
        assert_eq!(signal_name(99), "a signal");
        assert_eq!(
            windows_exception_name(0xC000_0005),
            "EXCEPTION_ACCESS_VIOLATION"
        );
        assert_eq!(
            windows_exception_name(0xC000_00FD),
            "EXCEPTION_STACK_OVERFLOW"
        );
        assert_eq!(windows_exception_name(1), "an exception");
        assert_eq!(mach_exception_name(1), "EXC_BAD_ACCESS");
        assert_eq!(mach_exception_name(10), "EXC_CRASH");
        // An abort, as crash-handler reports it on each.
        assert_eq!(windows_exception_name(0x4000_0015), "STATUS_FATAL_APP_EXIT");
        assert_eq!(mach_exception_name(5), "EXC_SOFTWARE");
        assert_eq!(mach_exception_name(0), "an exception");
        assert_eq!(describe(None), "unknown cause");
        assert!(describe(Some(11)).contains("11"));
    }

    #[test]
    fn the_socket_name_fits_every_platform() {
        let name = socket_path("5f0c2b1a-9d3e-4c1b-8e2f-0a1b2c3d4e5f");
        assert!(name.contains("5f0c2b1a9d3e"));
        // A Unix socket path has at most 104 bytes on macOS.
        assert!(name.len() < 104, "{name}");
    }

    #[test]
    fn only_the_newest_dumps_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..(MAX_DUMPS + 3) {
            std::fs::write(dir.path().join(format!("{:013}-s.dmp", 1000 + i)), b"MDMP").unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), b"kept").unwrap();
        prune(dir.path());
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), MAX_DUMPS + 1);
        assert_eq!(left[0], format!("{:013}-s.dmp", 1003));
        assert!(left.contains(&"notes.txt".to_string()));
    }
}
