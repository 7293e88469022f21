//! The emulator's clock: the real clock plus a total advance.
//!
//! Everything time-dependent in the emulator (TTL expiry, v2 `expiresAt`, the
//! sweeper, the journal's `at`) asks [`Clock::now`], so that a test can let a
//! 13-month TTL pass at once with [`Clock::advance`].

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

/// The largest advance at once: 100 years of 365.25 days.
pub(super) const MAX_ADVANCE_SECONDS: i64 = 3_155_760_000;

/// The clock never passes the last second of the year 9999, where RFC 3339
/// (four-digit years) ends: every time the emulator writes stays valid.
fn latest() -> DateTime<Utc> {
    // A valid date and time: cannot fail.
    DateTime::<Utc>::from_timestamp(253_402_300_799, 999_000_000)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Why an advance was refused (nothing changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AdvanceError {
    /// Below 0 or over [`MAX_ADVANCE_SECONDS`] at once.
    OutOfRange,
    /// The clock would pass the end of the year 9999.
    PastYear9999,
}

impl std::fmt::Display for AdvanceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdvanceError::OutOfRange => write!(
                f,
                "advance_seconds: must be from 0 to {MAX_ADVANCE_SECONDS} (100 years)"
            ),
            AdvanceError::PastYear9999 => write!(
                f,
                "advance_seconds: the clock would pass 9999-12-31T23:59:59Z, where RFC 3339 ends"
            ),
        }
    }
}

/// The real clock plus a total advance in seconds (never negative).
#[derive(Debug, Default)]
pub(super) struct Clock {
    advance: AtomicI64,
    /// Woken on every advance and reset, so that waits for a time of this
    /// clock (webhook retries) end at once when the clock passes it.
    moved: tokio::sync::Notify,
}

impl Clock {
    /// The emulator's time.
    pub(super) fn now(&self) -> DateTime<Utc> {
        Clock::shifted(Utc::now(), self.advance.load(Ordering::Relaxed))
    }

    /// `real` plus `advance` seconds, at most [`latest`].
    fn shifted(real: DateTime<Utc>, advance: i64) -> DateTime<Utc> {
        if advance == 0 {
            return real;
        }
        TimeDelta::try_seconds(advance)
            .and_then(|delta| real.checked_add_signed(delta))
            .map_or_else(latest, |t| t.min(latest()))
    }

    /// Moves the clock `seconds` forward (at most [`MAX_ADVANCE_SECONDS`]),
    /// never past the year 9999. Nothing changes on an error.
    pub(super) fn advance(&self, seconds: i64) -> Result<DateTime<Utc>, AdvanceError> {
        if !(0..=MAX_ADVANCE_SECONDS).contains(&seconds) {
            return Err(AdvanceError::OutOfRange);
        }
        let real = Utc::now();
        let total = self
            .advance
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |total| {
                total.checked_add(seconds).filter(|sum| {
                    TimeDelta::try_seconds(*sum)
                        .and_then(|delta| real.checked_add_signed(delta))
                        .is_some_and(|t| t <= latest())
                })
            })
            .map_err(|_| AdvanceError::PastYear9999)?;
        self.moved.notify_waiters();
        Ok(Clock::shifted(real, total + seconds))
    }

    /// Back to the real clock.
    pub(super) fn reset(&self) {
        self.advance.store(0, Ordering::Release);
        self.moved.notify_waiters();
    }

    /// Waits until this clock reads `due` or later: in real time, or at once
    /// when an advance passes it.
    pub(super) async fn wait_until(&self, due: DateTime<Utc>) {
        loop {
            let moved = self.moved.notified();
            tokio::pin!(moved);
            // Registered before reading the clock: an advance in between wakes it.
            moved.as_mut().enable();
            let now = self.now();
            if now >= due {
                return;
            }
            let left = (due - now).to_std().unwrap_or_default();
            tokio::select! {
                () = tokio::time::sleep(left) => {}
                () = moved => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_add_up_and_stop_before_the_year_10000() {
        let clock = Clock::default();
        let before = Utc::now();
        let now = clock.advance(3600).expect("in range");
        assert!(now >= before + TimeDelta::seconds(3600));
        assert_eq!(clock.advance(-1), Err(AdvanceError::OutOfRange));
        assert_eq!(
            clock.advance(MAX_ADVANCE_SECONDS + 1),
            Err(AdvanceError::OutOfRange)
        );
        // The refused advances changed nothing.
        assert_eq!(clock.advance.load(Ordering::Relaxed), 3600);
        let mut advances = 0;
        while clock.advance(MAX_ADVANCE_SECONDS).is_ok() {
            advances += 1;
            assert!(
                advances < 100,
                "about 80 centuries fit before the year 10000"
            );
        }
        let total = clock.advance.load(Ordering::Relaxed);
        assert_eq!(
            clock.advance(MAX_ADVANCE_SECONDS),
            Err(AdvanceError::PastYear9999)
        );
        assert_eq!(clock.advance.load(Ordering::Relaxed), total);
        assert!(clock.now() <= latest());
        assert!(
            clock.now().to_rfc3339().starts_with("99"),
            "{}",
            clock.now()
        );
        clock.reset();
        assert!(clock.now() < Utc::now() + TimeDelta::seconds(60));
    }
}
