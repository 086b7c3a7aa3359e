//! Putting the fake agent's timestamps (raw CLOCK_MONOTONIC, from another
//! process) on the same axis as the fake Telegram's `Instant`s. That is only
//! sound if std's `Instant` reads CLOCK_MONOTONIC, which `check` verifies
//! on this machine instead of assuming it.

use std::time::{Duration, Instant};

use crate::fake_app_server::monotonic_ns;

/// One reading of both clocks at (nearly) the same moment.
pub struct Anchor {
    instant: Instant,
    mono_ns: u64,
}

impl Anchor {
    pub fn now() -> Anchor {
        let before = monotonic_ns();
        let instant = Instant::now();
        let after = monotonic_ns();
        Anchor {
            instant,
            mono_ns: before + (after - before) / 2,
        }
    }

    /// The `Instant` at which CLOCK_MONOTONIC read `ns`.
    pub fn instant_of(&self, ns: u64) -> Instant {
        if ns >= self.mono_ns {
            self.instant + Duration::from_nanos(ns - self.mono_ns)
        } else {
            self.instant - Duration::from_nanos(self.mono_ns - ns)
        }
    }
}

/// Whether an `Instant` taken between two CLOCK_MONOTONIC readings lies
/// between them, read from its Debug form (`tv_sec`/`tv_nsec` on Linux);
/// also shows CLOCK_BOOTTIME, the clock it could otherwise have been.
pub fn check() -> Result<String, String> {
    let before = monotonic_ns();
    let instant = Instant::now();
    let after = monotonic_ns();
    let shown = format!("{instant:?}");
    let field = |name: &str| -> Option<u64> {
        let rest = &shown[shown.find(name)? + name.len()..];
        let digits: String = rest
            .trim_start_matches([':', ' '])
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    let (Some(sec), Some(nsec)) = (field("tv_sec"), field("tv_nsec")) else {
        return Err(format!("cannot read the clock behind {shown}"));
    };
    let inside = sec * 1_000_000_000 + nsec;
    let boot = boottime_ns();
    let verdict = format!(
        "Instant {inside} ns lies within CLOCK_MONOTONIC [{before}, {after}] ns (CLOCK_BOOTTIME {boot} ns)"
    );
    if (before..=after).contains(&inside) {
        Ok(verdict)
    } else {
        Err(verdict)
    }
}

fn boottime_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
