//! Rust panics and crashes: a panic is an ERROR record with the exception attributes, a
//! failed span and a count; a panic that aborts the process, or a kill, leaves a report
//! that the next launch sends and shows. The panic hook is one per process, so the tests
//! of this binary take turns.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::BufRead as _;
use std::path::Path;
use std::time::Duration;

use telemetry_engine::config::TelemetryConfig;
use telemetry_engine::logs::LogQuery;
use telemetry_engine::TelemetryManager;

/// Set in the child processes: the data folder and what to do.
const CHILD_DIR: &str = "PANICS_TEST_CHILD_DIR";
const CHILD_MODE: &str = "PANICS_TEST_CHILD_MODE";

/// One test at a time: the panic hook records into the last manager started.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn config(dir: &Path) -> TelemetryConfig {
    let mut config = TelemetryConfig::default();
    config.storage.dir = Some(dir.display().to_string());
    config.metrics.system_collectors = false;
    config
}

/// The newest ERROR record whose message contains `text`.
fn error_record(telemetry: &TelemetryManager, text: &str) -> telemetry_engine::logs::LogRecord {
    let found = telemetry.logs().query(&LogQuery {
        text: Some(text.to_owned()),
        ..LogQuery::default()
    });
    found
        .into_iter()
        .find(|r| r.level == "ERROR")
        .unwrap_or_else(|| panic!("no ERROR record with {text:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_an_error_record_a_failed_span_and_a_count() {
    let _turn = TURN.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let telemetry = common::start(config(dir.path())).await;
    let trace_id = telemetry
        .tracer()
        .trace("render_segment", |span| {
            let caught = std::panic::catch_unwind(|| panic!("frame {} is missing", 7));
            assert!(caught.is_err());
            Ok::<_, String>(span.trace_id())
        })
        .unwrap();

    let record = error_record(&telemetry, "frame 7 is missing");
    assert_eq!(record.message, "panicked: frame 7 is missing");
    assert_eq!(record.fields["exception.type"], "panic");
    assert_eq!(record.fields["exception.message"], "frame 7 is missing");
    assert_eq!(
        record.fields["code.file.path"], "crates/engine/tests/panics.rs",
        "{:?}",
        record.fields
    );
    assert!(record.fields["code.line.number"].parse::<u32>().unwrap() > 0);
    assert!(record.fields.contains_key("thread.name"));
    assert_eq!(
        record.trace_id.as_deref(),
        Some(trace_id.as_str()),
        "in the span's trace"
    );
    // The span the panic happened in is marked failed.
    let trace = telemetry.traces().get(&trace_id).unwrap();
    let span = trace
        .spans
        .iter()
        .find(|s| s.name == "render_segment")
        .unwrap();
    assert_eq!(span.error.as_deref(), Some("panicked: frame 7 is missing"));
    let text = telemetry.render_prometheus().unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("process_panics_total{") && l.ends_with(" 1")),
        "{text}"
    );
    // A clean exit: the next launch has nothing to report.
    telemetry.shutdown().await;
    drop(telemetry);
    let telemetry = common::start(config(dir.path())).await;
    assert_eq!(telemetry.previous_crash(), None);
    telemetry.shutdown().await;
}

/// The child processes: `abort` panics on a named thread with a hook that aborts (as
/// `panic = "abort"` does); `hang` says it is ready and waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of the crash tests"]
async fn panics_child() {
    let dir = std::env::var(CHILD_DIR).unwrap();
    let mode = std::env::var(CHILD_MODE).unwrap();
    if mode == "abort" {
        // The app's own hook, installed first: ours runs, then this one aborts.
        std::panic::set_hook(Box::new(|_| std::process::abort()));
    }
    let telemetry = common::start(config(Path::new(&dir))).await;
    println!("READY");
    if mode == "abort" {
        let _ = std::thread::Builder::new()
            .name("encoder-3".into())
            .spawn(|| panic!("codec state corrupted at frame 1234"))
            .unwrap()
            .join();
    }
    std::future::pending::<()>().await;
    drop(telemetry);
}

/// Runs the child in `mode` on `dir` until it is ready; returns it.
fn child(dir: &Path, mode: &str) -> (common::ChildGuard, impl Iterator<Item = String>) {
    let mut child = common::ChildGuard(
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "panics_child", "--nocapture"])
            .env(CHILD_DIR, dir)
            .env(CHILD_MODE, mode)
            .env("RUST_BACKTRACE", "1")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = std::io::BufReader::new(child.0.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    assert!(lines.any(|l| l == "READY"), "the child did not start");
    (child, lines)
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_that_aborts_leaves_a_report_the_next_launch_sends_and_shows() {
    use std::os::unix::process::ExitStatusExt as _;
    let _turn = TURN.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut aborted, _) = child(dir.path(), "abort");
    let status = aborted.0.wait().unwrap();
    assert_eq!(status.signal(), Some(6), "the child aborted: {status:?}");

    let telemetry = common::start(config(dir.path())).await;
    let crash = telemetry.previous_crash().expect("a crash report");
    assert_eq!(crash.kind, "panic");
    assert_eq!(crash.message, "codec state corrupted at frame 1234");
    assert_eq!(crash.thread.as_deref(), Some("encoder-3"));
    assert!(crash
        .location
        .as_deref()
        .unwrap()
        .starts_with("crates/engine/tests/panics.rs:"));
    assert!(
        crash
            .backtrace
            .as_deref()
            .is_some_and(|b| b.contains("panics_child")),
        "RUST_BACKTRACE=1 gives a backtrace: {:?}",
        crash.backtrace
    );
    // Sent as a record of the previous session.
    let record = error_record(&telemetry, "codec state corrupted");
    assert_eq!(
        record.message,
        "the previous session crashed: codec state corrupted at frame 1234"
    );
    assert_eq!(record.session_id, crash.session_id);
    assert_eq!(record.fields["crash.previous_session"], "true");
    // The panel's session filter: the report is the previous session's, not this one's.
    let this = telemetry_engine::api::resource(telemetry.sources())["session.id"].clone();
    assert_ne!(this, crash.session_id);
    let of = |session: &str| {
        let filter = telemetry_engine::api::LogFilter {
            session_id: Some(session.to_owned()),
            ..Default::default()
        };
        telemetry_engine::api::logs(telemetry.sources(), filter).unwrap()
    };
    let previous = of(&crash.session_id);
    assert_eq!(previous.len(), 1, "{previous:?}");
    assert!(previous[0].message.contains("codec state corrupted"));
    assert!(of(&this)
        .iter()
        .all(|r| r.session_id == this && !r.message.contains("codec")));
    assert!(record.fields["exception.stacktrace"].contains("panics_child"));
    telemetry.shutdown().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_session_is_reported_as_an_unclean_exit() {
    let _turn = TURN.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut killed, _) = child(dir.path(), "hang");
    killed.0.kill().unwrap();
    killed.0.wait().unwrap();

    let telemetry = common::start(config(dir.path())).await;
    let crash = telemetry
        .previous_crash()
        .expect("a report of the killed session");
    assert_eq!(crash.kind, "unclean_exit");
    assert!(
        crash.message.contains("without a clean exit"),
        "{}",
        crash.message
    );
    let record = error_record(&telemetry, "without a clean exit");
    assert_eq!(record.session_id, crash.session_id);
    telemetry.shutdown().await;
    // Reported once: the launch after that one had a clean exit.
    let telemetry = common::start(config(dir.path())).await;
    assert_eq!(telemetry.previous_crash(), None);
    tokio::time::timeout(Duration::from_secs(10), telemetry.shutdown())
        .await
        .unwrap();
}
