//! What `Error::is_unauthorized` says, per API, and which error a rejected
//! credential becomes.

use crate::support::{CaptureServer, Reply};
use liveperson_ccs::messaging::ConversationRequest;
use liveperson_ccs::{CcsV1Client, Error, MessagingClient, RetryPolicy};
use serde_json::json;

fn v1(capture: &CaptureServer) -> CcsV1Client {
    CcsV1Client::builder()
        .account("le12345678")
        .base_url(capture.base_url())
        .api_key("a-key")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

fn messaging(capture: &CaptureServer) -> MessagingClient {
    MessagingClient::builder()
        .account("le12345678")
        .base_url(capture.base_url())
        .app_jwt("an-app-jwt")
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_refused_credential_is_unauthorized() {
    for (status, unauthorized) in [(401, true), (403, true), (404, false), (400, false)] {
        let capture = CaptureServer::start().await;
        capture.set_fallback(Reply::json(status, &json!({"message": "no"})));
        let error = v1(&capture).list_namespaces().await.unwrap_err();
        assert_eq!(error.is_unauthorized(), unauthorized, "{status}: {error:?}");
        if unauthorized {
            assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
            assert!(!error.is_retryable());
        }
    }
}

/// A ConsumerJWS the messaging service refuses: a 401 answer is
/// `Error::Unauthorized`; a batch whose payload is refused with the code
/// `401` is `Error::Rejected`; both are `is_unauthorized()`.
#[tokio::test]
async fn a_refused_consumer_jws_is_unauthorized() {
    let capture = CaptureServer::start().await;
    capture.set_fallback(Reply::json(401, &json!({"message": "unauthorized"})));
    let error = messaging(&capture)
        .create_conversation("a-consumer-jws", &ConversationRequest::new())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    assert!(error.is_unauthorized());

    for (code, unauthorized) in [("401", true), ("403", true), ("400", false)] {
        let capture = CaptureServer::start().await;
        capture.set_fallback(Reply::json(
            200,
            &json!([
                {"code": code, "body": "unauthorized consumer", "reqId": "1"},
                {"code": code, "body": "unauthorized consumer", "reqId": "2"}
            ]),
        ));
        let error = messaging(&capture)
            .create_conversation("a-consumer-jws", &ConversationRequest::new())
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Rejected { .. }), "{error:?}");
        assert_eq!(error.is_unauthorized(), unauthorized, "{code}: {error:?}");
    }
}
