//! The studio without a window (`make demo` on a machine with no display) as a user runs
//! it: a real process, real config files, the real endpoints.
#![allow(clippy::unwrap_used)]

mod support;

use support::{free_port, start_announcing as start, studio as runner};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Stdio;

fn http_get(addr: &str, path: &str) -> String {
    request(addr, "GET", path, "")
}

fn request(addr: &str, method: &str, path: &str, headers: &str) -> String {
    support::response(addr, method, path, headers).unwrap()
}

#[test]
fn the_dashboard_is_served_and_the_token_guards_the_data() {
    let port = free_port();
    let token = "0123456789abcdef-studio";
    let (_studio, url) = start(
        runner()
            .env("PROMETHEUS_PORT", port.to_string())
            .env("TELEMETRY_HTTP_TOKEN", token)
            .args(["--duration", "60"]),
        "dashboard: ",
    );
    assert_eq!(url, format!("http://127.0.0.1:{port}/"));
    let addr = format!("127.0.0.1:{port}");

    // The page and its assets hold no data: public, with a strict CSP.
    let page = http_get(&addr, "/");
    assert!(page.starts_with("HTTP/1.0 200"), "{page}");
    let lower = page.to_ascii_lowercase();
    assert!(
        lower.contains("content-security-policy: default-src 'none'"),
        "{page}"
    );
    assert!(page.contains("/assets/dashboard.js"), "{page}");
    let script = http_get(&addr, "/assets/dashboard.js");
    assert!(
        script.starts_with("HTTP/1.0 200"),
        "{}",
        &script[..200.min(script.len())]
    );
    assert!(script
        .to_ascii_lowercase()
        .contains("content-type: text/javascript"));

    // Every data route wants the token.
    for (method, path) in [
        ("POST", "/api/get_snapshot"),
        ("GET", "/metrics"),
        ("GET", "/health"),
        ("GET", "/api/events"),
    ] {
        let denied = request(&addr, method, path, "");
        assert!(denied.starts_with("HTTP/1.0 401"), "{path}: {denied}");
        assert!(denied
            .to_ascii_lowercase()
            .contains("www-authenticate: bearer"));
        assert!(!denied.contains(token), "the token leaked: {denied}");
        let wrong = request(
            &addr,
            method,
            path,
            "Authorization: Bearer 0123456789abcdef-studiO\r\n",
        );
        assert!(wrong.starts_with("HTTP/1.0 401"), "{path}: {wrong}");
    }
    let auth = format!("Authorization: Bearer {token}\r\n");
    let snapshot = request(&addr, "POST", "/api/get_snapshot", &auth);
    assert!(snapshot.starts_with("HTTP/1.0 200"), "{snapshot}");
    assert!(snapshot.contains("\"series\""), "{snapshot}");
    let metrics = request(&addr, "GET", "/metrics", &auth);
    assert!(metrics.starts_with("HTTP/1.0 200"), "{metrics}");
    // The config the API shows hides the token.
    let config = request(&addr, "POST", "/api/get_config", &auth);
    assert!(config.contains("\"http_token\":\"<redacted>\""), "{config}");
    assert!(!config.contains(token), "{config}");
}

#[test]
fn an_invalid_config_exits_2_and_lists_every_problem_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        r#"{"telemetry":{"service_name":"","tracing":{"sample_rate":7},"metrics":{"exporters":[{"Prometheus":{"port":0}}]}}}"#,
    )
    .unwrap();
    let out = runner().env("TELEMETRY_CONFIG", &path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for want in [
        "service_name: must not be empty",
        "tracing.sample_rate: 7 is outside 0.0..=1.0",
        "metrics.exporters[0].Prometheus.port: port 0 is not allowed",
    ] {
        assert!(stderr.contains(want), "missing {want:?} in:\n{stderr}");
    }
}

#[test]
fn an_unusable_environment_value_is_a_warning_and_the_studio_runs() {
    // The port stays the config file's.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("port.json");
    let port = free_port();
    std::fs::write(
        &path,
        format!(r#"{{"metrics":{{"exporters":[{{"Prometheus":{{"port":{port}}}}}]}}}}"#),
    )
    .unwrap();
    let out = runner()
        .env("TELEMETRY_CONFIG", &path)
        .env("PROMETHEUS_PORT", "not-a-port")
        .env("OTEL_TRACES_EXPORTER", "zipkin")
        .args(["--duration", "2"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("studio running"), "{stdout}");
    assert!(
        stdout.contains(&format!("metrics: http://127.0.0.1:{port}/metrics")),
        "{stdout}"
    );
}

#[test]
fn the_production_profile_serves_live_metrics_on_the_overridden_port() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("production.json");
    std::fs::write(&config, telemetry_engine_profile()).unwrap();
    let port = free_port();
    let (_studio, url) = start(
        runner()
            .env("TELEMETRY_CONFIG", &config)
            .env("PROMETHEUS_PORT", port.to_string())
            .args(["--duration", "30"]),
        "metrics: ",
    );
    assert_eq!(url, format!("http://127.0.0.1:{port}/metrics"));

    // The workload records every 20 ms; poll until each metric has been recorded.
    let names = [
        "frames_processed_total",
        "api_requests_total",
        "cache_hits_total",
        "queue_size",
        "system_memory_usage_bytes",
    ];
    let addr = format!("127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let body = loop {
        let body = http_get(&addr, "/metrics");
        let complete = names.iter().all(|n| body.contains(&format!("\n{n}")));
        if complete || std::time::Instant::now() > deadline {
            break body;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(
        body.starts_with("HTTP/1.0 200") || body.starts_with("HTTP/1.1 200"),
        "{body}"
    );
    for name in names {
        assert!(
            body.contains(&format!("\n{name}")),
            "{name} missing:\n{body}"
        );
    }
    assert!(
        body.contains("service_name=\"timeline-studio\""),
        "resource from the profile"
    );
}

/// The spec's production profile, verbatim.
fn telemetry_engine_profile() -> &'static str {
    tauri_plugin_opentelemetry::engine::config::Profile::Production.json()
}

/// A minimal HTTP/1.1 receiver: answers 200 to every request and reports
/// `(request line, content-type, body)`.
fn spawn_receiver() -> (u16, std::sync::mpsc::Receiver<(String, String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let (mut length, mut content_type) = (0usize, String::new());
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).unwrap();
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        let (name, value) = header.split_once(':').unwrap_or((header, ""));
                        match name.to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap_or(0),
                            "content-type" => content_type = value.trim().to_owned(),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let _ = tx.send((request_line.trim_end().to_owned(), content_type, body));
                    stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n")
                        .unwrap();
                }
            });
        }
    });
    (port, rx)
}

#[test]
fn otel_variables_send_the_demo_traces_and_logs_over_otlp() {
    let (port, requests) = spawn_receiver();
    let prometheus = free_port();
    let status = runner()
        .env("PROMETHEUS_PORT", prometheus.to_string())
        .env("OTEL_TRACES_EXPORTER", "otlp")
        .env("OTEL_LOGS_EXPORTER", "otlp")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        )
        .args(["--duration", "2"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    // Shutdown flushed the queue before the process exited: the requests are here.
    let received: Vec<_> = requests.try_iter().collect();
    assert!(!received.is_empty(), "no OTLP request reached the receiver");
    for (line, content_type, body) in &received {
        assert!(
            line == "POST /v1/traces HTTP/1.1" || line == "POST /v1/logs HTTP/1.1",
            "{line}"
        );
        assert_eq!(content_type, "application/x-protobuf");
        assert!(!body.is_empty());
    }
    for path in ["/v1/traces", "/v1/logs"] {
        assert!(
            received.iter().any(|(line, _, _)| line.contains(path)),
            "nothing was posted to {path}"
        );
    }
}

/// The value of the first sample line starting with `series` in an exposition, if any.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn encoder_children_are_measured_while_they_run_and_their_exits_counted_and_logged() {
    let port = free_port();
    // One round: an encoder that succeeds after 2 s and one that fails after 1 s.
    let (_studio, _) = start(
        runner().env("PROMETHEUS_PORT", port.to_string()).args([
            "--duration",
            "60",
            "--encode-every",
            "4",
            "--encode-rounds",
            "1",
        ]),
        "dashboard: ",
    );
    let addr = format!("127.0.0.1:{port}");
    let running = "process_children{name=\"encoder\"}";
    let failed = "process_child_exits_total{name=\"encoder\",outcome=\"failure\"}";
    let succeeded = "process_child_exits_total{name=\"encoder\",outcome=\"success\"}";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let (mut seen_running, mut memory) = (0.0f64, 0.0f64);
    let body = loop {
        let body = http_get(&addr, "/metrics");
        if let Some(n) = sample(&body, running) {
            seen_running = seen_running.max(n);
            let bytes = sample(&body, "process_child_memory_bytes{name=\"encoder\"}");
            memory = memory.max(bytes.unwrap_or(0.0));
        }
        let ended = sample(&body, failed) == Some(1.0) && sample(&body, succeeded) == Some(1.0);
        if (ended && sample(&body, running).is_none()) || std::time::Instant::now() > deadline {
            break body;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(seen_running >= 1.0, "no encoder was seen running:\n{body}");
    assert!(
        memory > 20e6,
        "an encoder holds a 24 MiB frame buffer: {memory}"
    );
    assert_eq!(sample(&body, failed), Some(1.0), "{body}");
    assert_eq!(sample(&body, succeeded), Some(1.0), "{body}");
    assert_eq!(sample(&body, running), None, "the encoders ended:\n{body}");
    let logs = request(&addr, "POST", "/api/get_logs", "");
    assert!(
        logs.contains("child process encoder failed with exit code 1"),
        "{logs}"
    );
}

/// Polls `/metrics` on `addr` until `check` finds what it wants in the exposition.
fn metrics_until(addr: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let body = http_get(addr, "/metrics");
        if check(&body) {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {what} after 30 s:\n{body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_worker_panic_is_an_error_record_and_a_count_and_the_studio_goes_on() {
    let port = free_port();
    let data = tempfile::tempdir().unwrap();
    let (_studio, _) = start(
        runner()
            .env("PROMETHEUS_PORT", port.to_string())
            .env("TELEMETRY_DATA_DIR", data.path())
            .args(["--duration", "60", "--encode-rounds", "0"])
            .args(["--panic-in-worker-after", "1"]),
        "dashboard: ",
    );
    let addr = format!("127.0.0.1:{port}");
    let panics = "process_panics_total{thread=\"render-worker\"}";
    let body = metrics_until(&addr, "panic count", |b| sample(b, panics).is_some());
    assert_eq!(sample(&body, panics), Some(1.0), "{body}");
    let logs = request(&addr, "POST", "/api/get_logs", "");
    for expected in [
        "panicked: render worker lost its frame buffer",
        "\"exception.type\":\"panic\"",
        "\"thread.name\":\"render-worker\"",
        "\"code.file.path\":\"examples/studio/src-tauri/src/faults.rs\"",
    ] {
        assert!(logs.contains(expected), "{expected} is not in {logs}");
    }
    // The studio goes on rendering.
    let frames = "frames_processed_total";
    let before = sample(&body, frames).unwrap_or(0.0);
    metrics_until(&addr, "new frames", |b| {
        sample(b, frames).is_some_and(|n| n > before)
    });
}

/// Runs the studio `launch` gives twice, each sending its logs over OTLP to a real
/// receiver and exiting cleanly; returns how often a byte string occurs in what arrived
/// (protobuf keeps strings as they are).
fn next_two_launches_logs(launch: impl Fn() -> std::process::Command) -> impl Fn(&[u8]) -> usize {
    let (port, requests) = spawn_receiver();
    let endpoint = format!("http://127.0.0.1:{port}");
    for _ in 0..2 {
        let status = launch()
            .env("OTEL_LOGS_EXPORTER", "otlp")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
            .status()
            .unwrap();
        assert!(status.success(), "{status:?}");
    }
    let bodies: Vec<Vec<u8>> = requests
        .try_iter()
        .filter(|(line, _, _)| line.starts_with("POST /v1/logs "))
        .map(|(_, _, body)| body)
        .collect();
    move |needle: &[u8]| -> usize {
        bodies
            .iter()
            .map(|b| b.windows(needle.len()).filter(|w| *w == needle).count())
            .sum()
    }
}

#[cfg(unix)]
#[test]
fn an_abort_is_reported_by_the_next_launch_to_a_real_otlp_receiver_exactly_once() {
    use std::os::unix::process::ExitStatusExt as _;
    let data = tempfile::tempdir().unwrap();
    let launch = |extra: &[&str]| {
        let mut cmd = runner();
        cmd.env("PROMETHEUS_PORT", free_port().to_string())
            .env("TELEMETRY_DATA_DIR", data.path())
            .args(["--encode-rounds", "0"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    };
    let crashed = launch(&["--duration", "60", "--abort-after", "1"])
        .status()
        .unwrap();
    assert_eq!(crashed.signal(), Some(6), "the studio aborted: {crashed:?}");

    // The next two launches send their logs to a real receiver and exit cleanly.
    let count = next_two_launches_logs(|| launch(&["--duration", "2"]));
    // Protobuf keeps strings as they are: one record carries the attribute once.
    assert_eq!(
        count(b"crash.previous_session"),
        1,
        "the crash report arrives exactly once"
    );
    assert!(count(b"the previous session crashed: encoder state corrupted, aborting") == 1);
    // The abort was caught by the crash monitor too: one report, the panic's, with the
    // minidump of the abort.
    assert_eq!(count(b"crash.minidump.path"), 1);
}

/// The files under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[cfg(target_os = "linux")]
#[test]
fn a_native_crash_leaves_a_minidump_and_the_next_launch_reports_it_once() {
    use std::os::unix::process::ExitStatusExt as _;
    let port = free_port();
    let data = tempfile::tempdir().unwrap();
    let launch = |extra: &[&str]| {
        let mut cmd = runner();
        cmd.env("PROMETHEUS_PORT", port.to_string())
            .env("TELEMETRY_DATA_DIR", data.path())
            .args(["--encode-rounds", "0"])
            .args(extra)
            .stderr(Stdio::null());
        cmd
    };
    let (mut studio, _) = start(&mut launch(&["--duration", "60"]), "dashboard: ");
    // The crash monitor is attached (a process of its own) once its status is Healthy.
    let addr = format!("127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = request(&addr, "POST", "/api/get_export_status", "");
        if status.contains(r#""crashes:native":{"state":"Healthy""#) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no crash monitor: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // A segfault, as a codec's: the process dies of it.
    let pid = studio.0.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-SEGV", &pid])
        .status()
        .unwrap()
        .success());
    let died = studio.0.wait().unwrap();
    assert_eq!(
        died.signal(),
        Some(11),
        "the studio died of SIGSEGV: {died:?}"
    );
    let dumps: Vec<_> = files_under(data.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "dmp"))
        .collect();
    assert_eq!(
        dumps.len(),
        1,
        "one minidump: {:?}",
        files_under(data.path())
    );
    let dump = std::fs::read(&dumps[0]).unwrap();
    assert_eq!(&dump[..4], b"MDMP", "a minidump");
    assert!(dump.len() > 4096);

    // The next two launches send their logs to a real receiver: the report arrives once.
    let count = next_two_launches_logs(|| {
        let mut cmd = launch(&["--duration", "2"]);
        cmd.stdout(Stdio::null());
        cmd
    });
    assert_eq!(count(b"crash.previous_session"), 1, "reported exactly once");
    assert_eq!(
        count(b"the previous session crashed: SIGSEGV (signal 11)"),
        1
    );
    assert_eq!(
        count(dumps[0].display().to_string().as_bytes()),
        1,
        "with its minidump"
    );
}
