//! The crate's one error type.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;

use crate::connector::code::ConnectorErrorCode;

/// Everything that can go wrong with a call.
///
/// Errors from the service keep the HTTP status and the body text (with any
/// credential scrubbed out), at most the first 64 KiB of it: a longer body is
/// cut there and ends with [`BODY_CUT_MARK`]. No variant ever holds an API
/// key, access token or JWT, in `Display` or `Debug`.
///
/// Which error means what:
///
/// - a rejected credential: [`Error::Unauthorized`] (401 or 403). A
///   ConsumerJWS the messaging service refuses is a 401, so `Unauthorized`
///   too; if the service instead answers 200 and refuses a payload of the
///   batch with the code `401` or `403`, it is [`Error::Rejected`]. Both
///   answer `true` to [`Error::is_unauthorized`].
/// - no answer: [`Error::Transport`] (connection failed) or
///   [`Error::Timeout`]; [`Error::is_retryable`] tells whether trying again
///   later may help, by the rule the clients' own retries follow.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was rejected before any request was sent.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// What was invalid (`namespace`, `session id`, ...).
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A credential provider failed, or gave an empty credential.
    #[error("credentials unavailable: {reason}")]
    Credentials {
        /// Why.
        reason: String,
    },
    /// A [`RefreshingCredential`](crate::RefreshingCredential) could not get
    /// a token: its refresh failed and no valid token was left. `source()` is
    /// the refresh closure's own error (`downcast_ref` works). When that
    /// error is (or holds) an answer of the service, e.g. Sentinel refusing a
    /// wrong client secret, the message names its status, and `status()`,
    /// `is_unauthorized()`, `is_retryable()` and `connector_code()` answer
    /// for it.
    #[error(
        "credentials unavailable: the credential refresh failed{}",
        refresh_status(source)
    )]
    CredentialRefresh {
        /// The refresh closure's error, shared by the callers that waited
        /// for that refresh.
        #[source]
        source: crate::RefreshError,
    },
    /// A CCS v2 write or delete was answered `"success": false`: the service
    /// did not apply it.
    #[error("{operation}: the service did not apply the change to {document_key:?}")]
    WriteFailed {
        /// The operation id.
        operation: &'static str,
        /// The document the change was for.
        document_key: String,
        /// The answer, as JSON text.
        body: String,
    },
    /// 401 or 403: the credential is missing, wrong or expired.
    #[error("{operation}: unauthorized ({status}){}", detail(body))]
    Unauthorized {
        /// The operation id.
        operation: &'static str,
        /// 401 or 403.
        status: StatusCode,
        /// The body the service sent.
        body: String,
    },
    /// Not found (404). Reads of one property or document return `Ok(None)` for the
    /// service's own "not found" answer instead; this is any other 404: a
    /// missing namespace or endpoint, or a wrong base URL or proxy.
    #[error("{operation}: not found{}", detail(body))]
    NotFound {
        /// The operation id.
        operation: &'static str,
        /// The body the service sent.
        body: String,
    },
    /// 413: the session document would exceed 800,000 characters; nothing was saved.
    #[error("{operation}: document too large{}", detail(body))]
    DocumentTooLarge {
        /// The operation id.
        operation: &'static str,
        /// The body the service sent.
        body: String,
    },
    /// 429: too many requests, after the retries the policy allows.
    #[error("{operation}: rate limited{}{}", retry_hint(retry_after), detail(body))]
    RateLimited {
        /// The operation id.
        operation: &'static str,
        /// How long the service asked to wait (`Retry-After`).
        retry_after: Option<Duration>,
        /// The body the service sent.
        body: String,
    },
    /// Any other non-success answer (400, 5xx, ...).
    #[error("{operation}: {status}{}", detail(body))]
    Api {
        /// The operation id.
        operation: &'static str,
        /// The HTTP status.
        status: StatusCode,
        /// The body the service sent.
        body: String,
    },
    /// The request could not be sent or the whole answer not received: the
    /// connection could not be made, or was closed or reset.
    ///
    /// The message names no cause; the cause is the
    /// [`source`](std::error::Error::source), so that a report that prints the
    /// chain (`{:#}` of `anyhow`, `eyre`) says it once.
    #[error("{operation}: the connection failed before a complete answer arrived")]
    Transport {
        /// The operation id.
        operation: &'static str,
        /// The underlying error, with its URL removed. Today a
        /// `reqwest::Error`; which type it is is not part of the semver
        /// promise (see the README), so match on this enum and its helpers.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No complete answer arrived in time: the last attempt outlasted its
    /// [attempt timeout](crate::ClientBuilder::attempt_timeout), or the call
    /// its [deadline](crate::ClientBuilder::call_deadline) (retries included).
    #[error(
        "{operation}: timed out before a complete answer arrived (attempt timeout or call deadline)"
    )]
    Timeout {
        /// The operation id.
        operation: &'static str,
    },
    /// The service answered with a redirect (3xx). The clients follow none:
    /// LivePerson's APIs do not redirect, and a credential must never reach
    /// another host. Usually the base URL is wrong (e.g. `http` for `https`).
    #[error(
        "{operation}: the service answered {status}, a redirect to {}; redirects are not followed (check the base URL)",
        location.as_deref().unwrap_or("no location")
    )]
    Redirected {
        /// The operation id.
        operation: &'static str,
        /// The 3xx status.
        status: StatusCode,
        /// The host the `Location` header names (the host only: never its
        /// path or query), or `the same host` for a relative location.
        location: Option<String>,
    },
    /// A success answer larger than the API can send was refused before it
    /// was read whole (see
    /// [`max_response_bytes`](crate::ClientBuilder::max_response_bytes)).
    #[error(
        "{operation}: the answer is larger than {limit} bytes, more than this API can send; it was not read"
    )]
    ResponseTooLarge {
        /// The operation id.
        operation: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// A success answer whose body was not what the API describes. (A valid
    /// answer whose value does not fit the type you asked for is
    /// [`Error::TypeMismatch`].)
    #[error("{operation}: cannot decode the answer: {reason}")]
    Decode {
        /// The operation id.
        operation: &'static str,
        /// The HTTP status of the answer, where known.
        status: Option<StatusCode>,
        /// What did not fit.
        reason: String,
        /// The body the service sent.
        body: String,
    },
    /// A typed read (`get_property::<T>`, `get_as`, `properties_as`,
    /// `payload_as`) got a valid answer whose value does not fit the Rust
    /// type asked for, e.g. an object read as `u32`. The answer itself was
    /// fine (a genuinely undecodable answer is [`Error::Decode`]): read the
    /// value as JSON (`get_property_value`, `get`) or ask for a type that
    /// fits.
    ///
    /// The message names the property, the type and what was found, e.g.
    /// `get_session_property: property `intent` does not fit u32: invalid
    /// type: map, expected u32`.
    #[error("{operation}: {} fit {expected}: {reason}", mismatch_subject(property))]
    TypeMismatch {
        /// The operation id of the read.
        operation: &'static str,
        /// The property whose value does not fit, where one can be named
        /// (`None` when the properties as a whole do not fit, e.g. a missing
        /// field of a struct).
        property: Option<String>,
        /// The Rust type asked for, without module paths (`u32`,
        /// `Option<String>`, `Handoff`).
        expected: String,
        /// What did not fit (serde's message, after the path inside the
        /// property where there is one).
        reason: String,
        /// The value read, as JSON text.
        value: String,
    },
    /// A connector API (CONVERSATION, SEND) refused the call with its
    /// documented error body `{kind, code, body: {title, details, errorCode}, type}`.
    /// The `errorCode` is kept and explained by [`ConnectorErrorCode`]; the
    /// title and details are the service's words (they may change, the
    /// code does not). The clients already renewed the token and repeated the
    /// call once for 40102 and 40103, so this is what the repeat met.
    #[error("{operation}: {} (errorCode {}, {status})", code.meaning(), code.code())]
    Connector {
        /// The operation id.
        operation: &'static str,
        /// The HTTP status: 401, or 400 for 40001.
        status: StatusCode,
        /// The documented error code.
        code: ConnectorErrorCode,
        /// The service's title, e.g. `Invalid AppJWT`.
        title: String,
        /// The service's details, e.g. `AppJWT has expired or is invalid`.
        details: String,
    },
    /// LivePerson's Domain API answered, but names no host for this service
    /// of the account (a service name is case sensitive).
    #[error("the Domain API names no {service:?} host for account {account}")]
    ServiceNotFound {
        /// The account.
        account: String,
        /// The service asked for, e.g. `asyncMessagingEnt`.
        service: String,
    },
    /// The Domain API could not be asked, and no earlier answer was recent
    /// enough to use instead (see [`Discovery`](crate::connector::Discovery)).
    /// `source()` is the lookup's own error, shared by every caller that
    /// waited for that lookup.
    #[error("the Domain API lookup for account {account} failed")]
    Discovery {
        /// The account.
        account: String,
        /// What the lookup met.
        #[source]
        source: Arc<Error>,
    },
    /// A payload of a messaging batch was answered with a code other than `OK`.
    #[error("{operation}: payload {req_id:?} answered {code}: {body}")]
    Rejected {
        /// The operation id.
        operation: &'static str,
        /// The `reqId` of the payload.
        req_id: String,
        /// The code the service gave it.
        code: String,
        /// The result body, as JSON text.
        body: String,
    },
}

/// The text that ends an error body cut at 64 KiB.
pub const BODY_CUT_MARK: &str = "[... cut: the body was longer than 65536 bytes]";

fn detail(body: &str) -> String {
    let message = message_of(body);
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

fn mismatch_subject(property: &Option<String>) -> String {
    match property {
        Some(name) => format!("property `{name}` does not"),
        None => "the properties do not".to_owned(),
    }
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(wait) => format!(" (retry after {} s)", wait.as_secs_f64()),
        None => String::new(),
    }
}

/// The human part of an error body: `message` of a JSON object, else the
/// text itself, cut to 300 characters.
fn message_of(body: &str) -> String {
    let text = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| body.trim().to_owned());
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

impl Error {
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            what,
            reason: reason.into(),
        }
    }

    /// The HTTP status of the answer, where there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Unauthorized { status, .. }
            | Error::Api { status, .. }
            | Error::Connector { status, .. }
            | Error::Redirected { status, .. } => Some(*status),
            Error::Discovery { source, .. } => source.status(),
            Error::CredentialRefresh { .. } => self.refresh_cause().and_then(Error::status),
            Error::Decode { status, .. } => *status,
            Error::NotFound { .. } => Some(StatusCode::NOT_FOUND),
            Error::DocumentTooLarge { .. } => Some(StatusCode::PAYLOAD_TOO_LARGE),
            Error::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            Error::Transport { .. }
            | Error::Timeout { .. }
            | Error::ResponseTooLarge { .. }
            | Error::InvalidInput { .. }
            | Error::Credentials { .. }
            | Error::WriteFailed { .. }
            | Error::ServiceNotFound { .. }
            | Error::TypeMismatch { .. }
            | Error::Rejected { .. } => None,
        }
    }

    /// The crate error a credential refresh failed with, when the refresh's
    /// error is one or holds one (e.g. the AppJWT request Sentinel refused,
    /// inside [`Error::CredentialRefresh`]).
    fn refresh_cause(&self) -> Option<&Error> {
        match self {
            Error::CredentialRefresh { source } => crate_error_in(source),
            _ => None,
        }
    }

    /// The body the service sent, for errors that came with one.
    pub fn body(&self) -> Option<&str> {
        match self {
            Error::Unauthorized { body, .. }
            | Error::NotFound { body, .. }
            | Error::DocumentTooLarge { body, .. }
            | Error::RateLimited { body, .. }
            | Error::Api { body, .. }
            | Error::Decode { body, .. }
            | Error::WriteFailed { body, .. }
            | Error::Rejected { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The service's message: the `message` field of a JSON error body, or
    /// the body text.
    pub fn message(&self) -> Option<String> {
        self.body().map(message_of).filter(|m| !m.is_empty())
    }

    /// Whether this is a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// The documented `errorCode` of a connector API's refusal
    /// ([`Error::Connector`]).
    pub fn connector_code(&self) -> Option<ConnectorErrorCode> {
        match self {
            Error::Connector { code, .. } => Some(*code),
            Error::CredentialRefresh { .. } => self.refresh_cause()?.connector_code(),
            _ => None,
        }
    }

    /// Whether the credential was refused: a 401 or 403 answer
    /// ([`Error::Unauthorized`], or [`Error::Connector`] with 401), a
    /// messaging payload refused with the code `401` or `403`
    /// ([`Error::Rejected`]), or a credential refresh that failed with one of
    /// these (e.g. Sentinel refusing a wrong client secret, inside
    /// [`Error::CredentialRefresh`]).
    pub fn is_unauthorized(&self) -> bool {
        match self {
            Error::Unauthorized { .. } => true,
            Error::Connector { status, .. } => *status == StatusCode::UNAUTHORIZED,
            Error::Rejected { code, .. } => matches!(code.trim(), "401" | "403"),
            Error::CredentialRefresh { .. } => {
                self.refresh_cause().is_some_and(Error::is_unauthorized)
            }
            _ => false,
        }
    }

    /// Whether SEND refused the call because the conversation is closed
    /// (409, `messaging.yaml`'s "The conversation is closed"): what
    /// [`OpenConversation::send_text`](crate::messaging::OpenConversation::send_text),
    /// [`chat_state`](crate::messaging::OpenConversation::chat_state) and
    /// [`accept`](crate::messaging::OpenConversation::accept) answer after
    /// the conversation was closed, by the consumer or by the agent. Nothing
    /// can be published to it any more: open a new one.
    pub fn is_conversation_closed(&self) -> bool {
        matches!(
            self,
            Error::Api { operation: "send_to_conversation", status, .. }
                if *status == StatusCode::CONFLICT
        )
    }

    /// Whether trying the same call again later may succeed, by the rule the
    /// clients' own retries follow (see [`RetryPolicy`](crate::RetryPolicy)):
    /// 429, 502, 503, 504, a connection that failed or was closed before the
    /// whole answer arrived, and a timeout. When the clients retry, an error
    /// that says `true` here is the one their last attempt met.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited { .. } | Error::Timeout { .. } => true,
            Error::Discovery { source, .. } => source.is_retryable(),
            Error::CredentialRefresh { .. } => {
                self.refresh_cause().is_some_and(Error::is_retryable)
            }
            Error::Api { status, .. } => crate::client::retry::is_retryable_status(*status),
            Error::Transport { source, .. } => source
                .downcast_ref::<reqwest::Error>()
                .is_some_and(crate::client::retry::is_retryable_failure),
            _ => false,
        }
    }

    /// The wait the service asked for with `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The crate error in a refresh's error chain, if there is one.
fn crate_error_in(source: &crate::RefreshError) -> Option<&Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(source.get_ref());
    while let Some(error) = cause {
        if let Some(inner) = error.downcast_ref::<Error>() {
            return Some(inner);
        }
        cause = error.source();
    }
    None
}

/// ` (the service answered 401 Unauthorized)` when a refresh failed on an
/// answer of the service; nothing otherwise.
fn refresh_status(source: &crate::RefreshError) -> String {
    match crate_error_in(source).and_then(Error::status) {
        Some(status) => format!(" (the service answered {status})"),
        None => String::new(),
    }
}

/// Whether a 404 is the service saying "this property (or document) does
/// not exist", rather than a wrong base URL, a proxy or a gateway.
///
/// The service answers a missing property or document with its JSON error
/// shape, `{"message": "property not found"}` (v1) or
/// `{"message": "document not found"}` (v2) as the specs describe it and the
/// emulator sends it (`property 'x' not found`). Anything else, an HTML page,
/// a `{"message": "no endpoint at ..."}`, a gateway's `{"message": "Not
/// Found"}`, is not the service speaking about data, so the read fails with
/// [`Error::NotFound`] instead of looking like empty data.
pub(crate) fn is_missing(error: &Error, thing: &str) -> bool {
    use serde_json::Value;
    let Error::NotFound { body, .. } = error else {
        return false;
    };
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    let Some(Value::String(message)) = object.get("message") else {
        return false;
    };
    let message = message.to_ascii_lowercase();
    message.contains(thing) && message.contains("not found")
}
