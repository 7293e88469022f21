//! The connector flow end to end: discovery, the AppJWT and ConsumerJWS
//! providers, CONVERSATION and SEND, against the emulator and a capture
//! server; token expiry with a 1-second token TTL; discovery's single flight
//! and grace; the new errors free of secrets.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::{CaptureServer, Reply};
use liveperson_ccs::connector::{AppJwtProvider, ConnectorErrorCode, Discovery};
use liveperson_ccs::emulator::{Emulator, EmulatorConfig, Fault};
use liveperson_ccs::messaging::{AcceptStatus, ChatState, ConversationRequest, CustomerInfo};
use liveperson_ccs::{Error, MessagingClient, RefreshingCredential, RetryPolicy, Token};
use serde_json::json;

const ACC: &str = "le12345678";
const CLIENT_ID: &str = "75588e18-0213-4e33-8174-883acac7e3c4";
const CLIENT_SECRET: &str = "the-client-secret-0123456789";
const CONSUMER: &str = "John_Doe_facebook12345";

fn discovery(emulator: &Emulator) -> Discovery {
    Discovery::builder()
        .account(ACC)
        .domain_api(emulator.base_url())
        .build()
        .expect("discovery")
}

async fn emulator(config: EmulatorConfig) -> Emulator {
    Emulator::start(config).await.expect("emulator starts")
}

#[tokio::test]
async fn the_whole_flow_on_the_emulator() -> Result<(), Error> {
    let emulator = emulator(EmulatorConfig::new().app_credentials(CLIENT_ID, CLIENT_SECRET)).await;
    let discovery = discovery(&emulator);
    // Every service at the emulator's own host, over http:// as the Domain API.
    let host = emulator.base_url().trim_start_matches("http://").to_owned();
    assert_eq!(discovery.base_uri("sentinel").await?, host);
    assert_eq!(
        discovery.base_url("asyncMessagingEnt").await?,
        emulator.base_url()
    );
    let app_jwt = AppJwtProvider::new(&discovery, CLIENT_ID, CLIENT_SECRET);
    let consumer = app_jwt.consumer(CONSUMER);
    let messaging = MessagingClient::builder()
        .discovery(&discovery)
        .app_jwt(app_jwt.clone())
        .build()?;
    assert_eq!(messaging.base_url(), None);
    assert_eq!(messaging.current_base_url().await?, emulator.base_url());
    let request = ConversationRequest::new().customer_info(CustomerInfo {
        social_id: Some("1234567890".into()),
        ctype: Some("vip".into()),
    });
    let conversation = messaging.open(consumer.clone(), &request).await?;
    assert_eq!(
        conversation.profile_message(),
        Some("OK User Profile set successfully")
    );
    let typing = conversation.chat_state(ChatState::Composing).await?;
    assert_eq!(typing.sequence, Some(0));
    let text = conversation.send_text("Hello, I need your support").await?;
    assert_eq!(text.sequence, Some(1), "numbered per conversation");
    let accepted = conversation.accept(AcceptStatus::Read, &[1]).await?;
    assert_eq!(accepted.sequence, Some(2));
    let closed = conversation.close().await?;
    assert_eq!(closed.sequence, None);
    // Closing again is fine; publishing to a closed conversation is not.
    conversation.close().await?;
    let error = conversation
        .send_text("too late")
        .await
        .expect_err("closed");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(409), "{error}");
    assert!(error.is_conversation_closed(), "{error:?}");
    for refused in [
        conversation.chat_state(ChatState::Active).await,
        conversation.accept(AcceptStatus::Read, &[1]).await,
    ] {
        let error = refused.expect_err("closed");
        assert!(error.is_conversation_closed(), "{error:?}");
    }

    // Another consumer cannot see it: 404, the same as an unknown id.
    let other = messaging.conversation(app_jwt.consumer("someone-else"), conversation.id());
    let error = other
        .chat_state(ChatState::Active)
        .await
        .expect_err("not theirs");
    assert!(error.is_not_found(), "{error:?}");
    assert!(!error.is_conversation_closed(), "{error:?}");
    let unknown = messaging.conversation(consumer.clone(), "no-such-conversation");
    assert!(unknown.close().await.expect_err("unknown").is_not_found());
    // Nothing a refused call says shows a token or the secret.
    for shown in [format!("{error}"), format!("{error:?}")] {
        assert!(!shown.contains(CLIENT_SECRET));
        assert!(!shown.contains(app_jwt.get().await?.expose()));
    }
    emulator.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn wrong_client_credentials_are_refused_without_leaking_the_secret() {
    let emulator = emulator(EmulatorConfig::new().app_credentials(CLIENT_ID, CLIENT_SECRET)).await;
    let discovery = discovery(&emulator);
    let wrong = "wrong-secret-value-987654";
    let app_jwt = AppJwtProvider::new(&discovery, CLIENT_ID, wrong);
    let error = app_jwt.get().await.expect_err("refused");
    let source = std::error::Error::source(&error)
        .and_then(|s| s.downcast_ref::<Error>())
        .expect("the Sentinel error is kept as the source");
    assert_eq!(source.status().map(|s| s.as_u16()), Some(401));
    // The helpers look through the failed refresh to Sentinel's refusal.
    assert!(
        matches!(error, Error::CredentialRefresh { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.status(),
        Some(liveperson_ccs::StatusCode::UNAUTHORIZED)
    );
    assert!(error.is_unauthorized(), "{error}");
    assert!(!error.is_retryable(), "{error}");
    assert!(
        error.to_string().contains("the service answered 401"),
        "{error}"
    );
    for shown in [
        format!("{error}"),
        format!("{error:#}"),
        format!("{error:?}"),
        format!("{error:#?}"),
        format!("{app_jwt:?}"),
        format!("{app_jwt:#?}"),
    ] {
        assert!(!shown.contains(wrong), "{shown}");
    }
    emulator.shutdown().await;
}

/// With a 1-second token TTL: 1,000 concurrent calls at expiry make exactly
/// one token request, and a SEND after expiry renews what it needs.
#[tokio::test]
async fn tokens_are_renewed_at_expiry_with_one_request() -> Result<(), Error> {
    let emulator = emulator(EmulatorConfig::new().token_ttl(Duration::from_secs(1))).await;
    let discovery = discovery(&emulator);
    let app_jwt = AppJwtProvider::new(&discovery, CLIENT_ID, CLIENT_SECRET);
    let first = app_jwt.get().await?;
    assert_eq!(emulator.held_tokens(), 1);
    // Cached while fresh.
    assert_eq!(app_jwt.get().await?, first);
    assert_eq!(emulator.held_tokens(), 1);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Polled together in one task: every call sees the expired token at once.
    let all = futures::future::join_all((0..1000).map(|_| app_jwt.get())).await;
    assert_eq!(emulator.held_tokens(), 2, "exactly one token request");
    let second = all[0].as_ref().expect("renewed").clone();
    assert_ne!(second, first);
    assert!(all.iter().all(|t| t.as_ref().ok() == Some(&second)));

    // The ConsumerJWS has no exp: the client keeps it an hour, the emulator
    // one second. A SEND after that is refused with 40103, the ConsumerJWS
    // renewed (and the AppJWT by its exp), and the SEND repeated once.
    let consumer = app_jwt.consumer(CONSUMER);
    let messaging = MessagingClient::builder()
        .discovery(&discovery)
        .app_jwt(app_jwt.clone())
        .build()?;
    let conversation = messaging
        .open(consumer.clone(), &ConversationRequest::new())
        .await?;
    let jws = consumer.get().await?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let sent = conversation.send_text("still here").await?;
    assert_eq!(sent.sequence, Some(0));
    assert_ne!(consumer.get().await?, jws, "the ConsumerJWS was renewed");
    emulator.shutdown().await;
    Ok(())
}

/// A provider's token that the service refuses as invalid (40102) is
/// renewed and the call repeated once; a fixed token is not repeated.
#[tokio::test]
async fn a_refused_token_is_renewed_once_and_the_call_repeated() -> Result<(), Error> {
    let emulator = emulator(EmulatorConfig::new().app_credentials(CLIENT_ID, CLIENT_SECRET)).await;
    let discovery = discovery(&emulator);
    let real = AppJwtProvider::new(&discovery, CLIENT_ID, CLIENT_SECRET);
    let consumer = real.consumer(CONSUMER);
    let fetched = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&fetched);
    // The first token is one the emulator never issued.
    let app = RefreshingCredential::new(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let real = real.clone();
        async move {
            let secret = if n == 0 {
                liveperson_ccs::Secret::new("not-issued-by-the-emulator")
            } else {
                real.get().await?
            };
            Ok::<_, Error>(Token::new(secret, Duration::from_secs(600)))
        }
    });
    let messaging = MessagingClient::builder()
        .discovery(&discovery)
        .app_jwt(app)
        .build()?;
    let conversation = messaging
        .open(consumer.clone(), &ConversationRequest::new())
        .await?;
    assert_eq!(fetched.load(Ordering::SeqCst), 2, "renewed once");
    conversation.close().await?;

    // A fixed AppJWT cannot be renewed: the typed error, not repeated.
    let fixed = MessagingClient::builder()
        .discovery(&discovery)
        .app_jwt("not-issued-either")
        .build()?;
    let error = fixed
        .open(consumer, &ConversationRequest::new())
        .await
        .expect_err("refused");
    assert_eq!(
        error.connector_code(),
        Some(ConnectorErrorCode::AppJwtInvalid)
    );
    assert!(error.is_unauthorized());
    assert!(matches!(&error, Error::Connector { title, .. } if title == "Invalid AppJWT"));
    emulator.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn missing_tokens_get_their_documented_codes() -> Result<(), Error> {
    let emulator = emulator(EmulatorConfig::new()).await;
    let messaging = MessagingClient::builder()
        .account(ACC)
        .base_url(emulator.base_url())
        .app_jwt("any-non-empty-app-jwt")
        .build()?;
    // By default any non-empty token is accepted, as before.
    let conversation = messaging
        .open("any-consumer-jws", &ConversationRequest::new())
        .await?;
    assert_eq!(conversation.send_text("hi").await?.sequence, Some(0));
    let http = reqwest::Client::new();
    let url = format!(
        "{}/api/account/{ACC}/messaging/consumer/conversation/send?v=3",
        emulator.base_url()
    );
    for (headers, code) in [
        (vec![("X-LP-ON-BEHALF", "jws")], 40105),
        (vec![("Authorization", "jwt")], 40104),
    ] {
        let mut request = http.post(&url).json(&json!({}));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("sent");
        assert_eq!(response.status().as_u16(), 401);
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(body["body"]["errorCode"], code, "{body}");
        assert_eq!(body["kind"], "resp");
        assert_eq!(body["type"], ".ReqBody$ErrorResp");
    }
    emulator.shutdown().await;
    Ok(())
}

// ---------------------------------------------------------------------------
// Discovery: single flight and grace
// ---------------------------------------------------------------------------

/// A messaging client built from a discovery uses the discovery's HTTP
/// client, whose total timeout is the discovery's attempt timeout (30 s
/// here); the messaging client's own, shorter, attempt timeout still cuts
/// its calls.
#[tokio::test]
async fn a_messaging_client_keeps_its_attempt_timeout_on_the_discoverys_http_client()
-> Result<(), Error> {
    let emulator = emulator(EmulatorConfig::new().app_credentials(CLIENT_ID, CLIENT_SECRET)).await;
    let discovery = discovery(&emulator);
    let app_jwt = AppJwtProvider::new(&discovery, CLIENT_ID, CLIENT_SECRET);
    let consumer = app_jwt.consumer(CONSUMER);
    let messaging = MessagingClient::builder()
        .discovery(&discovery)
        .app_jwt(app_jwt.clone())
        .attempt_timeout(Duration::from_millis(300))
        .build()?;
    // The tokens first, so that only the opening call meets the delay.
    consumer.get().await?;
    emulator
        .inject_fault(
            Fault::delay(Duration::from_secs(3))
                .method(reqwest::Method::POST)
                .path(format!("/api/account/{ACC}/messaging/*"))
                .times(1),
        )
        .expect("valid fault");
    let started = std::time::Instant::now();
    let error = messaging
        .open(consumer, &ConversationRequest::new())
        .await
        .expect_err("cut by the attempt timeout");
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    Ok(())
}

fn services(capture: &CaptureServer) -> Reply {
    let host = capture.base_url().trim_start_matches("http://").to_owned();
    Reply::json(
        200,
        &json!({"baseURIs": [
            {"service": "asyncMessagingEnt", "account": ACC, "baseURI": host},
            {"service": "sentinel", "account": ACC, "baseURI": "va.sentinel.liveperson.net"},
        ]}),
    )
}

#[tokio::test]
async fn a_hundred_lookups_make_one_request() -> Result<(), Error> {
    let capture = CaptureServer::start().await;
    capture.set_fallback(services(&capture));
    let discovery = Discovery::builder()
        .account(ACC)
        .domain_api(capture.base_url())
        .build()?;
    let all = futures::future::join_all((0..100).map(|_| discovery.base_uri("sentinel"))).await;
    assert!(
        all.iter()
            .all(|r| r.as_deref().ok() == Some("va.sentinel.liveperson.net"))
    );
    let requests = capture.requests();
    assert_eq!(requests.len(), 1, "one request for 100 lookups");
    assert_eq!(
        requests[0].target,
        format!("/api/account/{ACC}/service/baseURI.json?version=1.0")
    );
    // Cached: later lookups, of any service, ask nothing.
    discovery.base_url("asyncMessagingEnt").await?;
    let missing = discovery.base_uri("idp").await.expect_err("no idp");
    assert!(matches!(&missing, Error::ServiceNotFound { service, .. } if service == "idp"));
    assert_eq!(capture.requests().len(), 1);
    // An http:// Domain API means http:// hosts.
    assert_eq!(
        discovery.base_url("sentinel").await?,
        "http://va.sentinel.liveperson.net"
    );
    Ok(())
}

#[tokio::test]
async fn a_failed_refresh_uses_the_last_answer_within_the_grace_period() -> Result<(), Error> {
    let capture = CaptureServer::start().await;
    capture.push(services(&capture));
    capture.set_fallback(Reply::json(500, &json!({"message": "directory down"})));
    let build = |grace| {
        Discovery::builder()
            .account(ACC)
            .domain_api(capture.base_url())
            .retry_policy(RetryPolicy::none())
            .cache_ttl(Duration::from_millis(100))
            .grace(grace)
            .build()
    };
    let discovery = build(Duration::from_secs(600))?;
    assert_eq!(
        discovery.base_uri("sentinel").await?,
        "va.sentinel.liveperson.net"
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Past the TTL, the refresh fails: the last answer is used.
    assert_eq!(
        discovery.base_uri("sentinel").await?,
        "va.sentinel.liveperson.net"
    );
    assert_eq!(capture.requests().len(), 2);
    // And the failing directory is not asked again at once.
    discovery.base_uri("sentinel").await?;
    assert_eq!(capture.requests().len(), 2);

    // Past TTL + grace, the failure is the answer.
    capture.push(services(&capture));
    let short = build(Duration::from_millis(100))?;
    short.base_uri("sentinel").await?;
    tokio::time::sleep(Duration::from_millis(250)).await;
    let error = short.base_uri("sentinel").await.expect_err("grace is over");
    assert!(matches!(error, Error::Discovery { .. }), "{error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500));
    let source = std::error::Error::source(&error).expect("the lookup's error");
    assert!(source.to_string().contains("500"), "{source}");
    Ok(())
}

// ---------------------------------------------------------------------------
// The new errors, in all four formats
// ---------------------------------------------------------------------------

#[test]
fn new_errors_show_no_secret_in_any_format() {
    let secret = "eyJhbGciOiJub25lIn0.c2VjcmV0LXRva2Vu.";
    let connector = Error::Connector {
        operation: "send_to_conversation",
        status: reqwest::StatusCode::UNAUTHORIZED,
        code: ConnectorErrorCode::from_code(40102),
        title: "Invalid AppJWT".into(),
        details: "AppJWT has expired or is invalid".into(),
    };
    let not_found = Error::ServiceNotFound {
        account: ACC.into(),
        service: "idp".into(),
    };
    let discovery = Error::Discovery {
        account: ACC.into(),
        source: Arc::new(Error::Timeout {
            operation: "list_service_domains",
        }),
    };
    for error in [&connector, &not_found, &discovery] {
        for shown in [
            format!("{error}"),
            format!("{error:#}"),
            format!("{error:?}"),
            format!("{error:#?}"),
        ] {
            assert!(!shown.contains(secret), "{shown}");
            assert!(!shown.is_empty());
        }
    }
    assert_eq!(
        connector.to_string(),
        "send_to_conversation: AppJWT expired or invalid: get a new AppJWT from Sentinel and repeat the call once (errorCode 40102, 401 Unauthorized)"
    );
    assert!(discovery.is_retryable(), "a timeout of the lookup may pass");
}

/// A connector error body that echoes the tokens sent: the typed error
/// keeps the code, and the tokens are scrubbed from what it holds.
#[tokio::test]
async fn a_connector_error_echoing_a_token_is_scrubbed() -> Result<(), Error> {
    let app_jwt = "eyJhbGciOiJub25lIn0.YXBwLWp3dC1zZWNyZXQ.";
    let jws = "eyJhbGciOiJub25lIn0.Y29uc3VtZXItandz.";
    let capture = CaptureServer::start().await;
    capture.set_fallback(Reply::json(
        401,
        &json!({"kind": "resp", "code": 401, "type": ".ReqBody$ErrorResp",
            "body": {"title": format!("Invalid ConsumerJWS {jws}"),
                     "details": format!("AppJWT {app_jwt} was sent"), "errorCode": 40103}}),
    ));
    let messaging = MessagingClient::builder()
        .account(ACC)
        .base_url(capture.base_url())
        .app_jwt(app_jwt)
        .build()?;
    let error = messaging
        .conversation(jws, "8602832d-dce1-446b-8445-0d51f5926a42")
        .close()
        .await
        .expect_err("refused");
    assert_eq!(
        error.connector_code(),
        Some(ConnectorErrorCode::ConsumerJwsInvalid)
    );
    // A fixed token is not renewed: one request.
    assert_eq!(capture.requests().len(), 1);
    for shown in [
        format!("{error}"),
        format!("{error:#}"),
        format!("{error:?}"),
        format!("{error:#?}"),
    ] {
        assert!(!shown.contains(app_jwt) && !shown.contains(jws), "{shown}");
    }
    assert!(
        matches!(&error, Error::Connector { details, .. } if details == "AppJWT [redacted] was sent"),
        "{error:?}"
    );
    Ok(())
}

/// A text message is never repeated automatically; a chat state, an accept
/// status and a close are, by the retry policy.
#[tokio::test]
async fn send_text_is_not_retried_but_state_setting_sends_are() -> Result<(), Error> {
    let capture = CaptureServer::start().await;
    let ok = Reply::json(
        200,
        &json!({"reqId": "x", "code": "OK", "body": {"sequence": 3}}),
    );
    capture.set_fallback(ok);
    let messaging = MessagingClient::builder()
        .account(ACC)
        .base_url(capture.base_url())
        .app_jwt("app-jwt-value")
        .retry_policy(RetryPolicy::default().with_initial_delay(Duration::from_millis(1)))
        .build()?;
    let conversation = messaging.conversation("consumer-jws-value", "c-1");
    capture.push(Reply::json(503, &json!({"message": "busy"})));
    let error = conversation.send_text("once").await.expect_err("503");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(capture.requests().len(), 1, "a text is sent once");
    for (n, send) in [
        Box::pin(conversation.chat_state(ChatState::Pause))
            as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
        Box::pin(conversation.accept(AcceptStatus::Accept, &[3])),
        Box::pin(conversation.close()),
    ]
    .into_iter()
    .enumerate()
    {
        capture.clear();
        capture.push(Reply::json(503, &json!({"message": "busy"})));
        let sent = send.await?;
        assert_eq!(sent.sequence, Some(3));
        assert_eq!(capture.requests().len(), 2, "send {n} was retried");
    }
    let error = conversation
        .accept(AcceptStatus::Read, &[])
        .await
        .expect_err("empty");
    assert!(matches!(error, Error::InvalidInput { .. }));
    Ok(())
}
