//! [`WebhookError`]: which check refused a webhook call; [`BodyError`]:
//! what is wrong with a body.

use http::StatusCode;

use super::signature::SignatureError;

/// Why a webhook call was refused: which check failed.
///
/// It never holds the client secret nor any signature (expected or
/// received). The received account id or client id is shown (cut to 64
/// characters): neither is a secret, and it is what a misconfiguration
/// needs to be found.
///
/// ```
/// use liveperson_ccs::webhooks::{Receiver, WebhookError};
/// use http::HeaderMap;
///
/// let receiver = Receiver::new("my-client-id", "my-client-secret", "64467156");
/// let err = receiver.receive(&HeaderMap::new(), b"{}").unwrap_err();
/// assert!(matches!(err, WebhookError::ClientId { received: None }));
/// assert_eq!(err.check(), "client_id");
/// assert_eq!(err.status(), http::StatusCode::UNAUTHORIZED);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// `x-liveperson-signature` is missing, malformed, or not the HMAC of
    /// the body with the client secret.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// `x-liveperson-account-id` is missing, or names an account this
    /// receiver does not expect.
    #[error(
        "x-liveperson-account-id: {}",
        header_problem(received, "an account this receiver expects")
    )]
    AccountId {
        /// The value received, if any (cut to 64 characters).
        received: Option<String>,
    },
    /// `x-liveperson-client-id` is missing, or is not this receiver's
    /// client id.
    #[error(
        "x-liveperson-client-id: {}",
        header_problem(received, "this receiver's client id")
    )]
    ClientId {
        /// The value received, if any (cut to 64 characters).
        received: Option<String>,
    },
    /// The body (signed correctly) is not a notification this crate can
    /// read.
    #[error(transparent)]
    Body(#[from] BodyError),
}

fn header_problem(received: &Option<String>, expected: &str) -> String {
    match received {
        None => "missing".to_owned(),
        Some(value) => format!("{value:?} is not {expected}"),
    }
}

impl WebhookError {
    /// Which check failed, as one word: `signature`, `account_id`,
    /// `client_id` or `body` (the `error` field of the axum handler's JSON
    /// answers).
    pub fn check(&self) -> &'static str {
        match self {
            WebhookError::Signature(_) => "signature",
            WebhookError::AccountId { .. } => "account_id",
            WebhookError::ClientId { .. } => "client_id",
            WebhookError::Body(_) => "body",
        }
    }

    /// The status to answer the call with: 400 for a body that cannot be
    /// read, 401 for every other check. (LivePerson retries both, which
    /// cannot help; answer them anyway, so the failure shows in its logs.)
    pub fn status(&self) -> StatusCode {
        match self {
            WebhookError::Body(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    pub(crate) fn header_value(value: &str) -> String {
        let mut cut: String = value.chars().take(64).collect();
        if cut.len() < value.len() {
            cut.push('…');
        }
        cut
    }
}

/// What is wrong with a webhook body: where (a path such as
/// `body.changes[1].event.message`) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("webhook body: {path}: {problem}")]
pub struct BodyError {
    pub(crate) path: String,
    pub(crate) problem: String,
}

impl BodyError {
    pub(crate) fn new(path: impl Into<String>, problem: impl Into<String>) -> Self {
        BodyError {
            path: path.into(),
            problem: problem.into(),
        }
    }

    /// Where: `type`, `body.changes`, `body.changes[0].dialogId`, ...; or
    /// `(body)` for the body as a whole (not JSON, not an object).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What: `missing`, `expected a string, found the number 3`, ...
    pub fn problem(&self) -> &str {
        &self.problem
    }
}
