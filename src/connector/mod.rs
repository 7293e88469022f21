//! The messaging connector flow: find the account's hosts, get the AppJWT
//! and the ConsumerJWS, then open a conversation and send to it with
//! [`MessagingClient`](crate::MessagingClient).
//!
//! 1. [`Discovery`] asks LivePerson's Domain API once per account for every
//!    service's host (`asyncMessagingEnt`, `sentinel`, `idp`, ...) and caches
//!    the answer.
//! 2. [`AppJwtProvider`] gets the connector's AppJWT from Sentinel with its
//!    client id and secret; [`ConsumerJwsProvider`] gets one consumer's
//!    ConsumerJWS from the IDP with that AppJWT. Both are
//!    [`CredentialProvider`](crate::CredentialProvider)s built on
//!    [`RefreshingCredential`](crate::RefreshingCredential): cached, renewed
//!    before they expire, one request for all concurrent callers.
//! 3. [`MessagingClient::builder().discovery(...)`](crate::ClientBuilder::discovery)
//!    finds its host through the same [`Discovery`];
//!    [`open`](crate::MessagingClient::open) returns an
//!    [`OpenConversation`](crate::messaging::OpenConversation) that sends
//!    text, chat states and accept statuses, and closes the conversation.
//!
//! When a connector API refuses a token as expired or invalid (`errorCode`
//! 40102 for the AppJWT, 40103 for the ConsumerJWS), the clients renew that
//! token and repeat the call once; a refusal that remains is
//! [`Error::Connector`](crate::Error::Connector) with its
//! [`ConnectorErrorCode`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), liveperson_ccs::Error> {
//! use liveperson_ccs::MessagingClient;
//! use liveperson_ccs::connector::{AppJwtProvider, Discovery};
//! use liveperson_ccs::messaging::{ChatState, ConversationRequest};
//!
//! let discovery = Discovery::builder().account("le12345678").build()?;
//! let app_jwt = AppJwtProvider::new(&discovery, "my-client-id", "my-client-secret");
//! let consumer = app_jwt.consumer("John_Doe_facebook12345");
//! let messaging = MessagingClient::builder()
//!     .discovery(&discovery)
//!     .app_jwt(app_jwt)
//!     .build()?;
//! let conversation = messaging.open(consumer, &ConversationRequest::new()).await?;
//! conversation.chat_state(ChatState::Composing).await?;
//! conversation.send_text("Hello, I need your support").await?;
//! conversation.close().await?;
//! # Ok(()) }
//! ```

// DESIGN: `discovery.rs` holds the Domain API client and its cache
// (`Discovery`); `auth.rs` the token providers (Sentinel's AppJWT, the IDP's
// ConsumerJWS), which find their hosts through a `Discovery`; this file the
// service names and the connector APIs' error codes, which every connector
// client uses. The messaging client is `crate::messaging`, which uses these;
// nothing here uses it.
mod auth;
pub(crate) mod discovery;

use std::fmt;

use serde_json::Value;

pub use auth::{AppJwtProvider, ConsumerJwsProvider, DEFAULT_TOKEN_LIFETIME};
pub use discovery::{DEFAULT_DISCOVERY_TTL, DEFAULT_DOMAIN_API, DEFAULT_GRACE, Discovery};

/// The Domain API's service name of the messaging host (CONVERSATION, SEND).
pub const SERVICE_MESSAGING: &str = "asyncMessagingEnt";
/// The Domain API's service name of Sentinel (the AppJWT).
pub const SERVICE_SENTINEL: &str = "sentinel";
/// The Domain API's service name of the IDP (the ConsumerJWS).
pub const SERVICE_IDP: &str = "idp";
/// The Domain API's service name of the Conversation Context Service.
pub const SERVICE_CONTEXT: &str = "mavenContext";

/// The documented `errorCode` of a connector API's error body ("Connector
/// API: Authorization and Authentication", "Error Responses"). Its first
/// three digits are the HTTP status; LivePerson says the code "won't change
/// over time", while titles and details may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectorErrorCode {
    /// 40001: a parameter is missing (the brand id), or a mandatory claim of
    /// the AppJWT (such as `iss`).
    MissingParameter,
    /// 40102: the AppJWT has expired or is invalid.
    AppJwtInvalid,
    /// 40103: the ConsumerJWS is invalid (or expired).
    ConsumerJwsInvalid,
    /// 40104: no ConsumerJWS was sent (`X-LP-ON-BEHALF`).
    ConsumerJwsMissing,
    /// 40105: no AppJWT was sent (`Authorization`).
    AppJwtMissing,
    /// A code the documents do not list.
    Other(i64),
}

impl ConnectorErrorCode {
    /// The code as a number.
    pub fn from_code(code: i64) -> Self {
        match code {
            40001 => Self::MissingParameter,
            40102 => Self::AppJwtInvalid,
            40103 => Self::ConsumerJwsInvalid,
            40104 => Self::ConsumerJwsMissing,
            40105 => Self::AppJwtMissing,
            other => Self::Other(other),
        }
    }

    /// The number, e.g. `40102`.
    pub fn code(&self) -> i64 {
        match self {
            Self::MissingParameter => 40001,
            Self::AppJwtInvalid => 40102,
            Self::ConsumerJwsInvalid => 40103,
            Self::ConsumerJwsMissing => 40104,
            Self::AppJwtMissing => 40105,
            Self::Other(code) => *code,
        }
    }

    /// What it means and what to do, in this crate's words.
    pub fn meaning(&self) -> &'static str {
        match self {
            Self::MissingParameter => {
                "a parameter is missing: the brand id, or a mandatory AppJWT claim such as iss"
            }
            Self::AppJwtInvalid => {
                "AppJWT expired or invalid: get a new AppJWT from Sentinel and repeat the call once"
            }
            Self::ConsumerJwsInvalid => {
                "ConsumerJWS invalid or expired: get a new ConsumerJWS from the IDP and repeat the call once"
            }
            Self::ConsumerJwsMissing => "ConsumerJWS missing: no X-LP-ON-BEHALF header was sent",
            Self::AppJwtMissing => "AppJWT missing: no Authorization header was sent",
            Self::Other(_) => "an error code the connector documents do not list",
        }
    }
}

impl fmt::Display for ConnectorErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.meaning())
    }
}

/// Reads a connector API's documented error body; `None` when the body is
/// another shape (a `{"message"}` of the project's own choices, say).
pub(crate) fn connector_error(
    operation: &'static str,
    status: reqwest::StatusCode,
    body: &str,
) -> Option<crate::Error> {
    let value: Value = serde_json::from_str(body).ok()?;
    let inner = value.get("body")?;
    let code = inner.get("errorCode")?.as_i64()?;
    let text = |key: &str| {
        inner
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Some(crate::Error::Connector {
        operation,
        status,
        code: ConnectorErrorCode::from_code(code),
        title: text("title"),
        details: text("details"),
    })
}

/// Turns an error whose body is a connector error body into
/// [`Error::Connector`](crate::Error::Connector).
pub(crate) fn typed(error: crate::Error) -> crate::Error {
    match &error {
        crate::Error::Unauthorized {
            operation,
            status,
            body,
        }
        | crate::Error::Api {
            operation,
            status,
            body,
        } => connector_error(operation, *status, body).unwrap_or(error),
        _ => error,
    }
}

/// The `exp` claim of a JWT (seconds since the epoch), if the token is a JWT
/// with one. Nothing is verified: the claim only tells when to renew.
pub(crate) fn jwt_expiry(token: &str) -> Option<std::time::SystemTime> {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let (_header, claims, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    let seconds = exp.as_u64().or_else(|| {
        exp.as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| s as u64)
    })?;
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page's example AppJWT: `exp` 1524646270.
    const PAGE_APP_JWT: &str = "eyJraWQiOiJhcHBqd3QtMTMtMDUtMTciLCJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJsZTgxODIzMTE4IiwiYXpwIjoiNzU1ODhlMTgtMDIxMy00ZTMzLTgxNzQtODgzYWNhYzdlM2M0Iiwic2NvcGUiOiJtc2cuY29uc3VtZXIiLCJpc3MiOiJTZW50aW5lbCIsImV4cCI6MTUyNDY0NjI3MCwiaWF0IjoxNTI0NjQyNjcwfQ.aC1EbVQDIKJkrMgfoqhDqo5KZVMILTGP5UnK_4lUJQIfpFcrymvQKU9E6zt_WDhWmM2SOOcr1sz4u5xVZ9rMWZciDW_9KofEM2NDgVw1EVBxAIgGYeO0sbE9o--HKjk9DHZvukJkQFhYaHMDnj6ay4BNUqTJpDn6y3XQY7eh7rM";

    #[test]
    fn reads_exp_of_a_jwt_only() {
        let exp = jwt_expiry(PAGE_APP_JWT).expect("the page's token has exp");
        assert_eq!(
            exp.duration_since(std::time::UNIX_EPOCH).ok(),
            Some(std::time::Duration::from_secs(1_524_646_270))
        );
        assert_eq!(jwt_expiry("not-a-jwt"), None);
        assert_eq!(jwt_expiry("a.b.c"), None);
        assert_eq!(jwt_expiry("a.e30.c"), None, "{{}} has no exp");
        assert_eq!(jwt_expiry("a.e30.c.d"), None);
    }

    #[test]
    fn codes_round_trip_and_explain() {
        for code in [40001, 40102, 40103, 40104, 40105, 49999] {
            let typed = ConnectorErrorCode::from_code(code);
            assert_eq!(typed.code(), code);
            assert!(!typed.meaning().is_empty());
        }
        assert_eq!(
            ConnectorErrorCode::from_code(40105),
            ConnectorErrorCode::AppJwtMissing,
            "the table's 40105, not the example's 40104"
        );
    }

    #[test]
    fn reads_the_documented_body() {
        let body = r#"{"kind":"resp","code":401,"body":{"title":"Invalid AppJWT","details":"AppJWT has expired or is invalid","errorCode":40102},"type":".ReqBody$ErrorResp"}"#;
        let error = connector_error(
            "send_to_conversation",
            reqwest::StatusCode::UNAUTHORIZED,
            body,
        )
        .expect("a connector error");
        assert_eq!(
            error.connector_code(),
            Some(ConnectorErrorCode::AppJwtInvalid)
        );
        assert!(error.is_unauthorized());
        assert!(
            connector_error(
                "x",
                reqwest::StatusCode::UNAUTHORIZED,
                r#"{"message":"no"}"#
            )
            .is_none()
        );
    }
}
