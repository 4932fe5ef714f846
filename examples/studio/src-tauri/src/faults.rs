//! Faults on demand, to show what the plugin captures without any code of the app's:
//! `--panic-in-worker-after SECONDS` panics on a render worker thread (the studio goes on;
//! the panic is an ERROR record with `exception.*` and `process_panics_total` counts it),
//! `--abort-after SECONDS` panics and then aborts the process, as a release build with
//! `panic = "abort"` does (the next launch reports the crash), `--segfault-after SECONDS`
//! dies of SIGSEGV as a crashing codec would (the crash monitor writes a minidump; the
//! next launch reports it). The studio has no unsafe code, so the signal comes from
//! `kill`; the crash handler sees it as any SIGSEGV.

use std::time::Duration;

use crate::config::Args;

/// Starts the threads of the faults `args` ask for.
pub(crate) fn schedule(args: &Args) {
    if let Some(after) = args.panic_in_worker_after {
        spawn("render-worker", after, || {
            panic!("render worker lost its frame buffer (--panic-in-worker-after)")
        });
    }
    if let Some(after) = args.abort_after {
        spawn("encoder-supervisor", after, || {
            // The panic hooks run (the crash report is written), then the process dies
            // the way `panic = "abort"` makes it.
            let _ = std::panic::catch_unwind(|| {
                panic!("encoder state corrupted, aborting (--abort-after)")
            });
            std::process::abort()
        });
    }
    if let Some(after) = args.segfault_after {
        spawn("codec", after, || {
            let pid = std::process::id().to_string();
            match std::process::Command::new("kill")
                .args(["-SEGV", &pid])
                .status()
            {
                Ok(_) => std::thread::park(),
                Err(e) => eprintln!("studio: cannot send SIGSEGV: {e}"),
            }
        });
    }
}

/// A named thread that waits `after`, then runs `fault`.
fn spawn(name: &str, after: Duration, fault: fn()) {
    let started = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            std::thread::sleep(after);
            fault();
        });
    if let Err(e) = started {
        eprintln!("studio: cannot start the {name} thread: {e}");
    }
}
