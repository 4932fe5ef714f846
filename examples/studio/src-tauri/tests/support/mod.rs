//! What the studio's integration tests share: the binary with a clean environment, child
//! processes that are always stopped, free ports, and plain HTTP/1.0 requests.
#![allow(clippy::unwrap_used, dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child process killed and reaped when dropped.
pub(crate) struct Guard(pub(crate) Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port nobody listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The studio binary without a window (as `make demo` runs it on a machine with no
/// display), with none of the caller's telemetry variables.
pub(crate) fn studio() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_studio"));
    cmd.arg("--headless");
    for var in [
        "TELEMETRY_CONFIG",
        "TELEMETRY_ENABLED",
        "PROMETHEUS_PORT",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "TELEMETRY_HTTP_TOKEN",
        "OTEL_TRACES_EXPORTER",
        "OTEL_LOGS_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Starts `cmd` and returns it with what it printed after `prefix` (the studio announces
/// its endpoints once they listen).
pub(crate) fn start_announcing(cmd: &mut Command, prefix: &str) -> (Guard, String) {
    let mut guard = Guard(cmd.stdout(Stdio::piped()).spawn().unwrap());
    let stdout = guard.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let found = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix(prefix).map(str::to_owned))
        .unwrap_or_else(|| panic!("the studio printed no {prefix:?} line"));
    // Keep reading so that the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (guard, found)
}

/// The whole response (status line, headers, body) to one HTTP/1.0 request with extra
/// header lines (each ending in `\r\n`); no keep-alive, so it ends at EOF.
pub(crate) fn response(
    addr: &str,
    method: &str,
    target: &str,
    headers: &str,
) -> std::io::Result<String> {
    let sock: SocketAddr = addr.parse().unwrap();
    let mut stream = TcpStream::connect_timeout(&sock, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    write!(
        stream,
        "{method} {target} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n{headers}\r\n"
    )?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
