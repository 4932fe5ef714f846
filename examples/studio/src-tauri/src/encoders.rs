//! Encoder child processes: the studio runs its encodes outside its own process, as a
//! video editor runs FFmpeg. Each child is the studio's own binary started as
//! `studio --encode-child SECONDS EXIT_CODE`: it keeps a core busy and some memory in use
//! for that long, then exits with that code. The plugin measures them under the name
//! `encoder` and counts how they ended.

use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use tauri_plugin_opentelemetry::TelemetryManager;

/// The argument that starts the encoder mode.
const ENCODE_CHILD: &str = "--encode-child";

/// The memory an encoder holds while it runs (a few frames' worth).
const FRAME_BUFFER: usize = 24 * 1024 * 1024;

/// Runs the encoder mode when the arguments ask for it: `Some(exit code)`, else `None`.
pub(crate) fn encoder_mode(args: &[String]) -> Option<ExitCode> {
    if args.get(1).map(String::as_str) != Some(ENCODE_CHILD) {
        return None;
    }
    let seconds = args.get(2).and_then(|s| s.parse::<f64>().ok());
    let code = args.get(3).and_then(|s| s.parse::<u8>().ok());
    let (Some(seconds), Some(code)) = (seconds.filter(|s| s.is_finite() && *s >= 0.0), code) else {
        eprintln!("usage: studio {ENCODE_CHILD} SECONDS EXIT_CODE");
        return Some(ExitCode::from(2));
    };
    encode(Duration::from_secs_f64(seconds));
    Some(ExitCode::from(code))
}

/// Keeps one core busy over a frame buffer for `duration`, or until the studio that
/// started it is gone (a killed or crashed studio leaves no encoder burning a core).
fn encode(duration: Duration) {
    let mut frame = vec![1u8; FRAME_BUFFER];
    let started = Instant::now();
    let parent = parent_id();
    let mut sum = 0u64;
    while started.elapsed() < duration && !orphaned(parent, parent_id()) {
        for (i, byte) in frame.iter_mut().enumerate().step_by(4096) {
            *byte = byte.wrapping_mul(31).wrapping_add(i as u8);
            sum = sum.wrapping_add(u64::from(*byte));
        }
    }
    std::hint::black_box(sum);
}

/// The parent process id (Unix); `None` where a process is not reparented when its
/// parent ends (Windows).
fn parent_id() -> Option<u32> {
    #[cfg(unix)]
    return Some(std::os::unix::process::parent_id());
    #[cfg(not(unix))]
    return None;
}

/// Whether the process that started us has ended: on Unix an orphan is adopted by
/// another process (init or a subreaper), so its parent id changes.
fn orphaned(at_start: Option<u32>, now: Option<u32>) -> bool {
    matches!((at_start, now), (Some(before), Some(now)) if before != now)
}

/// When the studio starts encoders: one round every `every`, `rounds` times (forever
/// when `None`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EncoderSchedule {
    pub(crate) every: Duration,
    pub(crate) rounds: Option<u32>,
}

/// Starts a round of encoders: one that succeeds after half a period, and in every
/// third round (the first included) one that fails after a quarter of it.
pub(crate) fn launch_round(telemetry: &TelemetryManager, schedule: &EncoderSchedule, round: u32) {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            tracing::warn!(error = %e, "cannot find the studio's binary to start an encoder");
            return;
        }
    };
    let mut jobs = vec![(schedule.every / 2, 0u8)];
    if round.is_multiple_of(3) {
        jobs.push((schedule.every / 4, 1));
    }
    for (lasts, code) in jobs {
        let mut command = Command::new(&exe);
        command
            .args([
                ENCODE_CHILD,
                &lasts.as_secs_f64().to_string(),
                &code.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        #[cfg(windows)]
        {
            use std::os::windows::process::CommandExt as _;
            // CREATE_NO_WINDOW: no console window flashes up behind the studio.
            command.creation_flags(0x0800_0000);
        }
        let started = command
            .spawn()
            .map_err(|e| e.to_string())
            .and_then(|child| {
                telemetry
                    .children()
                    .watch("encoder", child)
                    .map_err(|e| e.to_string())
            });
        match started {
            Ok(_waiting) => tracing::info!(round, seconds = lasts.as_secs_f64(), "encoder started"),
            Err(e) => tracing::warn!(error = %e, "cannot start an encoder"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoder_is_orphaned_when_its_parent_id_changes() {
        assert!(!orphaned(Some(4242), Some(4242)));
        assert!(orphaned(Some(4242), Some(1)), "adopted by init");
        assert!(!orphaned(None, None), "Windows: no reparenting to watch");
    }

    #[test]
    fn the_encoder_mode_is_only_taken_when_asked_for_and_checks_its_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(encoder_mode(&args(&["studio", "--headless"])).is_none());
        assert!(encoder_mode(&args(&["studio"])).is_none());
        assert_eq!(
            encoder_mode(&args(&["studio", ENCODE_CHILD, "soon", "0"])),
            Some(ExitCode::from(2))
        );
        assert_eq!(
            encoder_mode(&args(&["studio", ENCODE_CHILD, "0", "7"])),
            Some(ExitCode::from(7))
        );
    }
}
