//! Child processes: real processes spawned by the test are measured per name while they
//! run, their exits are counted and logged, and their series go when they end.
#![allow(clippy::unwrap_used)]
#![cfg(unix)]

mod common;

use std::process::{Command, Stdio};

use telemetry_engine::config::TelemetryConfig;
use telemetry_engine::logs::LogQuery;

/// A shell that waits for a line on its stdin, then exits with `code`: the test ends it
/// by closing its stdin, with no sleep.
fn waiting_child(code: i32) -> std::process::Child {
    Command::new("sh")
        .args(["-c", &format!("read line; exit {code}")])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap()
}

fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(prefix))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_are_measured_per_name_and_their_exits_counted_and_logged() {
    let mut config = TelemetryConfig::default();
    config.metrics.system_collectors = false;
    let telemetry = common::start(config).await;
    telemetry.install_tracing_subscriber().unwrap();
    let children = telemetry.children();

    let mut ok = waiting_child(0);
    let mut failing = waiting_child(3);
    let (ok_in, failing_in) = (ok.stdin.take().unwrap(), failing.stdin.take().unwrap());
    let ok = children.watch("encoder", ok).unwrap();
    let failing = children.watch("encoder", failing).unwrap();
    // A descendant found by its executable, started by nobody the app registered.
    let mut sleeper = Command::new("sleep").arg("600").spawn().unwrap();
    children.track_executable("sleeper", "sleep").unwrap();

    telemetry.collect_now().await;
    let text = telemetry.render_prometheus().unwrap();
    assert_eq!(
        line(&text, "process_children{name=\"encoder\"}"),
        Some("process_children{name=\"encoder\"} 2"),
        "{text}"
    );
    assert_eq!(
        line(&text, "process_children{name=\"sleeper\"}"),
        Some("process_children{name=\"sleeper\"} 1")
    );
    let memory = line(&text, "process_child_memory_bytes{name=\"encoder\"}").unwrap();
    let bytes: f64 = memory.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        bytes > 100_000.0,
        "two shells use more than 100 kB: {memory}"
    );
    assert!(line(&text, "process_child_cpu_usage_percent{name=\"encoder\"}").is_some());

    // End them: the encoders by closing their stdin, the sleeper by a signal.
    drop((ok_in, failing_in));
    assert!(ok.join().unwrap().unwrap().success());
    assert_eq!(failing.join().unwrap().unwrap().code(), Some(3));
    sleeper.kill().unwrap();
    let killed = sleeper.wait().unwrap();
    children.exited(
        "sleeper",
        Some(sleeper.id()),
        telemetry_engine::collectors::ExitOutcome::from_status(&killed),
    );

    telemetry.collect_now().await;
    let text = telemetry.render_prometheus().unwrap();
    assert!(!text.contains("process_children{"), "{text}");
    assert!(!text.contains("process_child_memory_bytes{"), "{text}");
    for (name, outcome) in [
        ("encoder", "success"),
        ("encoder", "failure"),
        ("sleeper", "signal"),
    ] {
        let series =
            format!("process_child_exits_total{{name=\"{name}\",outcome=\"{outcome}\"}} 1");
        assert!(text.contains(&series), "{series} missing:\n{text}");
    }
    let records = telemetry.logs().query(&LogQuery::default());
    let failed = records
        .iter()
        .find(|r| r.message.contains("failed with exit code 3"))
        .unwrap_or_else(|| panic!("no exit record in {records:?}"));
    assert_eq!(failed.level, "WARN");
    assert_eq!(failed.fields["child"], "encoder");
    assert!(records
        .iter()
        .any(|r| r.message == "child process sleeper was killed (signal 9)"));
    telemetry.shutdown().await;
}
