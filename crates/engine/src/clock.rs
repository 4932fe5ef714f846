//! The engine's clock for points and alert timing: Unix milliseconds that never go
//! backward.
//!
//! The series store keeps each series' points in time order, and alert rules measure
//! `for`, cooldowns and silences as differences of these times. A wall clock that steps
//! back (an NTP correction, a user changing the time) would misorder the store and
//! stretch or skip those durations. So the engine's clock follows the wall clock until it
//! steps back; from then on it keeps counting with the monotonic clock from where it was,
//! ahead of the wall clock by the step. A step forward (a laptop waking from sleep) is
//! taken as it is: that time did pass. Spans and log records keep the SDK's own wall
//! times.

use std::time::{Instant, SystemTime};

use parking_lot::Mutex;

/// A clock that never goes backward, fed with wall and monotonic readings.
#[derive(Debug, Default)]
struct Steady {
    /// The last time given, and the monotonic instant it was given at.
    last: Option<(i64, Instant)>,
    /// Added to the wall clock since it stepped back (never negative).
    offset_ms: i64,
}

impl Steady {
    fn now(&mut self, wall_ms: i64, mono: Instant) -> i64 {
        let candidate = wall_ms.saturating_add(self.offset_ms);
        let now = match self.last {
            Some((last, at)) if candidate < last => {
                let elapsed = i64::try_from(mono.saturating_duration_since(at).as_millis())
                    .unwrap_or(i64::MAX);
                let now = last.saturating_add(elapsed);
                self.offset_ms = now.saturating_sub(wall_ms);
                now
            }
            _ => candidate,
        };
        self.last = Some((now, mono));
        now
    }
}

/// Unix time in milliseconds.
pub(crate) fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The latest time RFC 3339 can write, 9999-12-31T23:59:59.999Z, in Unix ms: times that
/// come from outside (a webview, a file on disk) are held to it.
pub(crate) const LATEST_MS: i64 = 253_402_300_799_999;

/// `ms` (Unix milliseconds) in RFC 3339, UTC, with milliseconds or (`seconds`) without.
/// A time before 1970 is written as 1970's first instant and one after 9999 as
/// [`LATEST_MS`]: humantime cannot write them, and a formatting error would panic.
pub(crate) fn rfc3339(ms: i64, seconds: bool) -> String {
    let ms = u64::try_from(ms.clamp(0, LATEST_MS)).unwrap_or_default();
    let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    if seconds {
        humantime::format_rfc3339_seconds(at).to_string()
    } else {
        humantime::format_rfc3339_millis(at).to_string()
    }
}

static CLOCK: Mutex<Steady> = Mutex::new(Steady {
    last: None,
    offset_ms: 0,
});

/// Now, in Unix milliseconds, never earlier than the last answer (see the module docs).
pub(crate) fn now_ms() -> i64 {
    let wall = unix_ms(SystemTime::now());
    CLOCK.lock().now(wall, Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_writes_any_time_without_failing() {
        assert_eq!(
            rfc3339(1_700_000_000_123, false),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(rfc3339(1_700_000_000_123, true), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(-5, false), "1970-01-01T00:00:00.000Z");
        for far in [LATEST_MS + 1, i64::MAX] {
            assert_eq!(rfc3339(far, false), "9999-12-31T23:59:59.999Z");
        }
    }

    #[test]
    fn a_backward_step_keeps_time_moving_forward_at_the_monotonic_rate() {
        let mut clock = Steady::default();
        let t0 = Instant::now();
        assert_eq!(clock.now(1_000_000, t0), 1_000_000);
        assert_eq!(
            clock.now(1_010_000, t0 + Duration::from_secs(10)),
            1_010_000
        );
        // The wall clock steps back an hour; 5 s pass.
        let stepped = clock.now(1_010_000 - 3_600_000 + 5_000, t0 + Duration::from_secs(15));
        assert_eq!(stepped, 1_015_000);
        // From there on it follows the wall clock, an hour ahead.
        let later = clock.now(1_010_000 - 3_600_000 + 65_000, t0 + Duration::from_secs(75));
        assert_eq!(later, 1_075_000);
    }

    #[test]
    fn a_forward_step_is_taken_as_time_that_passed() {
        let mut clock = Steady::default();
        let t0 = Instant::now();
        clock.now(1_000_000, t0);
        // A laptop wakes after 8 hours; the monotonic clock saw only a second.
        let woke = clock.now(1_000_000 + 8 * 3_600_000, t0 + Duration::from_secs(1));
        assert_eq!(woke, 1_000_000 + 8 * 3_600_000);
    }

    #[test]
    fn the_process_clock_never_goes_backward() {
        let mut last = now_ms();
        for _ in 0..1000 {
            let now = now_ms();
            assert!(now >= last);
            last = now;
        }
    }
}
