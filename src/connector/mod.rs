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

// DESIGN: `discovery.rs` holds the Domain API client, its cache
// (`Discovery`) and the service names it looks up; `auth.rs` the token
// providers (Sentinel's AppJWT, the IDP's ConsumerJWS), which find their
// hosts through a `Discovery`; `code.rs` the connector APIs' error codes
// (`crate::error` names them, so it uses nothing); this file reads a
// connector error body into an `Error`. No file here imports this one. The
// messaging client is `crate::messaging`, which uses these; nothing here
// uses it.
mod auth;
pub(crate) mod code;
pub(crate) mod discovery;

use serde_json::Value;

pub use auth::{AppJwtProvider, ConsumerJwsProvider, DEFAULT_TOKEN_LIFETIME};
pub use code::ConnectorErrorCode;
pub use discovery::{
    DEFAULT_DISCOVERY_TTL, DEFAULT_DOMAIN_API, DEFAULT_GRACE, Discovery, SERVICE_CONTEXT,
    SERVICE_IDP, SERVICE_MESSAGING, SERVICE_SENTINEL,
};

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

#[cfg(test)]
mod tests {
    use super::auth::jwt_expiry;
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
