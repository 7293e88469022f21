//! The retry policy: which answers are tried again, how often and how late.

use std::time::Duration;

use reqwest::StatusCode;

/// When and how a call is tried again.
///
/// The default tries a CCS call up to 3 times in all, waiting 200 ms, then
/// 400 ms (doubling, at most 10 s), each wait drawn at random between half and
/// all of it (jitter), or exactly what a `Retry-After` header asks (at most
/// `max_delay`). Every CCS operation is an idempotent upsert, read or delete,
/// so repeating it is safe. Creating a messaging conversation is never retried
/// automatically.
///
/// What is retried, and what [`Error::is_retryable`](crate::Error::is_retryable)
/// calls retryable (one rule for both):
///
/// - the answers 429, 502, 503 and 504;
/// - a connection that could not be made, or that was closed or reset before
///   the whole answer arrived;
/// - an attempt that outlasted its
///   [attempt timeout](crate::ClientBuilder::attempt_timeout).
///
/// No retry starts once the call's
/// [deadline](crate::ClientBuilder::call_deadline) would pass during the wait
/// before it: the call then ends with the last attempt's error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retries: every call is tried once.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Tries each call at most `attempts` times in all (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The wait before the first retry; each further one doubles it.
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest wait between two attempts, `Retry-After` included.
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// How many attempts a call gets in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The wait before attempt `attempt + 1`, after attempt `attempt` (from 1)
    /// failed; `retry_after` is what the service asked for.
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let exponent = attempt.saturating_sub(1).min(16);
        let full = self
            .initial_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        // Jitter: a uniform draw in [full/2, full].
        let half = full / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// Whether an answer with this status is worth another attempt.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// Whether a failure without a (complete) answer is worth another attempt:
/// the connection could not be made (reqwest's "connect" kind), was closed or
/// reset before the answer's head arrived ("request": hyper's "connection
/// closed before message completed" is one) or while its body was read
/// ("body", or "decode" around it: that is how `Response::chunk` reports a
/// broken body; the crate enables no decompression and parses JSON with
/// serde, so no other decode error reaches here), or the attempt timed out.
/// A request that could not be built is not retried.
pub(crate) fn is_retryable_failure(error: &reqwest::Error) -> bool {
    error.is_connect()
        || error.is_timeout()
        || error.is_request()
        || error.is_body()
        || error.is_decode()
}

/// Reads `Retry-After` as seconds or as an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_and_honour_retry_after() {
        let policy = RetryPolicy::default();
        for _ in 0..100 {
            let first = policy.delay(1, None);
            assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(200));
            let second = policy.delay(2, None);
            assert!(second >= Duration::from_millis(200) && second <= Duration::from_millis(400));
            let late = policy.delay(30, None);
            assert!(late <= Duration::from_secs(10));
        }
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(600))),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn none_tries_once() {
        assert_eq!(RetryPolicy::none().max_attempts(), 1);
        assert_eq!(
            RetryPolicy::default().with_max_attempts(0).max_attempts(),
            1
        );
    }
}
