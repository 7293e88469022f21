//! The emulator's clock: the real clock plus a total advance.
//!
//! Everything time-dependent in the emulator (TTL expiry, v2 `expiresAt`, the
//! sweeper, the journal's `at`) asks [`Clock::now`], so that a test can let a
//! 13-month TTL pass at once with [`Clock::advance`].

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

/// The largest advance, at once and in total: 100 years of 365.25 days.
pub(super) const MAX_ADVANCE_SECONDS: i64 = 3_155_760_000;

/// Why an advance was refused (nothing changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AdvanceError {
    /// Below 0 or over [`MAX_ADVANCE_SECONDS`] at once.
    OutOfRange,
    /// The total advance would pass [`MAX_ADVANCE_SECONDS`].
    TotalTooLarge,
}

impl std::fmt::Display for AdvanceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdvanceError::OutOfRange => write!(
                f,
                "advance_seconds: must be from 0 to {MAX_ADVANCE_SECONDS} (100 years)"
            ),
            AdvanceError::TotalTooLarge => write!(
                f,
                "advance_seconds: the total advance would pass {MAX_ADVANCE_SECONDS} seconds (100 years)"
            ),
        }
    }
}

/// The real clock plus a total advance in seconds (never negative).
#[derive(Debug, Default)]
pub(super) struct Clock {
    advance: AtomicI64,
}

impl Clock {
    /// The emulator's time.
    pub(super) fn now(&self) -> DateTime<Utc> {
        let real = Utc::now();
        let advance = self.advance.load(Ordering::Relaxed);
        if advance == 0 {
            return real;
        }
        // At most 100 years past now: within chrono's range.
        real.checked_add_signed(TimeDelta::seconds(advance))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Moves the clock `seconds` forward; the total advance stays within
    /// [`MAX_ADVANCE_SECONDS`]. Nothing changes on an error.
    pub(super) fn advance(&self, seconds: i64) -> Result<DateTime<Utc>, AdvanceError> {
        if !(0..=MAX_ADVANCE_SECONDS).contains(&seconds) {
            return Err(AdvanceError::OutOfRange);
        }
        self.advance
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |total| {
                total
                    .checked_add(seconds)
                    .filter(|sum| *sum <= MAX_ADVANCE_SECONDS)
            })
            .map_err(|_| AdvanceError::TotalTooLarge)?;
        Ok(self.now())
    }

    /// Back to the real clock.
    pub(super) fn reset(&self) {
        self.advance.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_add_up_within_the_bound() {
        let clock = Clock::default();
        let before = Utc::now();
        let now = clock.advance(3600).expect("in range");
        assert!(now >= before + TimeDelta::seconds(3600));
        assert_eq!(clock.advance(-1), Err(AdvanceError::OutOfRange));
        assert_eq!(
            clock.advance(MAX_ADVANCE_SECONDS + 1),
            Err(AdvanceError::OutOfRange)
        );
        assert_eq!(
            clock.advance(MAX_ADVANCE_SECONDS),
            Err(AdvanceError::TotalTooLarge)
        );
        // The refused advances changed nothing.
        assert_eq!(clock.advance.load(Ordering::Relaxed), 3600);
        clock.reset();
        assert!(clock.now() < Utc::now() + TimeDelta::seconds(60));
    }
}
