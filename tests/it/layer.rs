//! The hand-written layer against a loopback capture server: validation
//! before sending, secret scrubbing in every error, retries, pagination
//! across pages, and typed reads and writes.

use std::time::{Duration, Instant};

use crate::support::{CaptureServer, Captured, Reply, refusing_base_url};
use futures::TryStreamExt;
use liveperson_ccs::emulator::{Emulator, EmulatorConfig, Fault, FaultId};
use liveperson_ccs::messaging::ConversationRequest;
use liveperson_ccs::v1::SessionEntry;
use liveperson_ccs::v2::MAX_TTL;
use liveperson_ccs::{
    CcsV1Client, CcsV2Client, Credential, CredentialFuture, CredentialProvider, Error,
    MessagingClient, RetryPolicy, Secret,
};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const ACC: &str = "le12345678";
const NS: &str = "myNamespace";
const SESSION: &str = "mySessionId";
/// 001's (fake) developer key.
const API_KEY: &str = "ABCD12BigSbWF2ZW4tcm91dGluZw==";
/// Has characters the query encoding escapes (`+`, `/`, `=`).
const TOKEN: &str = "tok+SECRET/access=token";
/// The token as it travels in the query.
const TOKEN_IN_QUERY: &str = "tok%2BSECRET%2Faccess%3Dtoken";
const APP_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhcHAifQ.c2lnbmF0dXJlLWFwcA";
const CONSUMER_JWS: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjb25zdW1lciJ9.c2lnbmF0dXJlLWNvbnN1bWVy";

/// What no formatted error or client may contain: each secret whole, as it
/// travels, and a distinctive part of each (a cut-off copy leaks too).
const FORBIDDEN: &[&str] = &[
    API_KEY,
    "BigSbWF2ZW4tcm91dGluZw",
    TOKEN,
    TOKEN_IN_QUERY,
    "SECRET",
    APP_JWT,
    "c2lnbmF0dXJlLWFwcA",
    CONSUMER_JWS,
    "c2lnbmF0dXJlLWNvbnN1bWVy",
];

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default().with_initial_delay(Duration::from_millis(10))
}

fn v1_at(base_url: &str, retry: RetryPolicy) -> CcsV1Client {
    CcsV1Client::builder()
        .account(ACC)
        .api_key(API_KEY)
        .base_url(base_url)
        .retry_policy(retry)
        .build()
        .expect("v1 client")
}

fn v2_at(base_url: &str, retry: RetryPolicy) -> CcsV2Client {
    CcsV2Client::builder()
        .account(ACC)
        .access_token(TOKEN)
        .base_url(base_url)
        .retry_policy(retry)
        .build()
        .expect("v2 client")
}

fn messaging_at(base_url: &str, retry: RetryPolicy) -> MessagingClient {
    MessagingClient::builder()
        .account(ACC)
        .app_jwt(APP_JWT)
        .base_url(base_url)
        .retry_policy(retry)
        .build()
        .expect("messaging client")
}

fn v1(capture: &CaptureServer) -> CcsV1Client {
    v1_at(&capture.base_url(), fast_retries())
}

fn v2(capture: &CaptureServer) -> CcsV2Client {
    v2_at(&capture.base_url(), fast_retries())
}

fn messaging(capture: &CaptureServer) -> MessagingClient {
    messaging_at(&capture.base_url(), fast_retries())
}

/// The error of a result that must have failed.
fn failed<T: std::fmt::Debug>(label: &str, result: Result<T, Error>) -> Error {
    match result {
        Ok(value) => panic!("{label}: expected an error, got {value:?}"),
        Err(e) => e,
    }
}

/// Asserts an `InvalidInput` about `what`.
fn assert_invalid<T: std::fmt::Debug>(label: &str, what: &str, result: Result<T, Error>) {
    match failed(label, result) {
        Error::InvalidInput { what: got, reason } => {
            assert_eq!(got, what, "{label}: {reason}");
            assert!(!reason.is_empty(), "{label}: a reason is given");
        }
        other => panic!("{label}: expected InvalidInput about {what}, got {other:?}"),
    }
}

fn assert_no_secret(label: &str, text: &str) {
    for secret in FORBIDDEN {
        assert!(!text.contains(secret), "{label} leaks {secret:?}:\n{text}");
    }
}

/// `{}`, `{:?}`, `{:#}`, `{:#?}` of an error and of every error in its
/// source chain hold no secret.
fn assert_scrubbed(label: &str, error: &Error) {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    let mut depth = 0;
    while let Some(e) = source {
        for (form, text) in [
            ("{}", format!("{e}")),
            ("{:?}", format!("{e:?}")),
            ("{:#}", format!("{e:#}")),
            ("{:#?}", format!("{e:#?}")),
        ] {
            assert_no_secret(&format!("{label} (source {depth}, {form})"), &text);
        }
        source = e.source();
        depth += 1;
    }
}

/// The helpers every error answers.
#[track_caller]
fn assert_helpers(
    error: &Error,
    status: Option<u16>,
    not_found: bool,
    retryable: bool,
    message: Option<&str>,
) {
    assert_eq!(
        error.status().map(|s| s.as_u16()),
        status,
        "status() of {error:?}"
    );
    assert_eq!(
        error.is_not_found(),
        not_found,
        "is_not_found() of {error:?}"
    );
    assert_eq!(
        error.is_retryable(),
        retryable,
        "is_retryable() of {error:?}"
    );
    assert_eq!(
        error.message().as_deref(),
        message,
        "message() of {error:?}"
    );
}

fn request_lines(capture: &CaptureServer) -> Vec<String> {
    capture
        .requests()
        .iter()
        .map(Captured::request_line)
        .collect()
}

// ---------------------------------------------------------------------------
// Validation: rejected before anything is sent
// ---------------------------------------------------------------------------

#[tokio::test]
async fn invalid_names_and_values_never_reach_the_wire() {
    let capture = CaptureServer::start().await;
    let ccs = v1(&capture);
    let scope = ccs.session(NS, SESSION).expect("names");
    let namespace = ccs.namespace(NS).expect("names");

    for bad in ["", "my-ns", "consumer", "sde", "my ns", "ns.x"] {
        assert_invalid(
            &format!("create {bad:?}"),
            "namespace",
            ccs.create_namespace(bad).await,
        );
        assert_invalid(
            &format!("delete {bad:?}"),
            "namespace",
            ccs.delete_namespace(bad).await,
        );
        assert_invalid(&format!("scope {bad:?}"), "namespace", ccs.namespace(bad));
        assert_invalid(
            &format!("session_ids {bad:?}"),
            "namespace",
            ccs.session_ids(bad),
        );
    }
    for bad in ["..", ".", ""] {
        assert_invalid(
            &format!("session {bad:?}"),
            "session id",
            ccs.session(NS, bad),
        );
    }
    for bad in ["..", ".", ""] {
        assert_invalid(
            "get",
            "property name",
            scope.get_property::<Value>(bad).await,
        );
        assert_invalid(
            "get_value",
            "property name",
            namespace.get_property_value(bad).await,
        );
        assert_invalid("set", "property name", scope.set_property(bad, &1).await);
        assert_invalid(
            "delete",
            "property name",
            namespace.delete_property(bad).await,
        );
        assert_invalid(
            "get_selected",
            "property name",
            scope.get_properties(["ok", bad]).await,
        );
    }
    assert_invalid(
        "include separator",
        "property name",
        scope.get_properties(["a,b"]).await,
    );
    assert_invalid(
        "no names",
        "property names",
        scope.get_properties(Vec::<&str>::new()).await,
    );
    assert_invalid(
        "PATCH array",
        "properties",
        scope.set_properties(&json!([1, 2])).await,
    );
    assert_invalid(
        "PATCH string",
        "properties",
        namespace.set_properties("text").await,
    );
    assert_invalid(
        "PATCH null",
        "properties",
        namespace.set_properties(&Value::Null).await,
    );

    for size in [0, 1001] {
        let ids = ccs.session_ids(NS).expect("names").page_size(size);
        assert_invalid(&format!("page({size})"), "page size", ids.page(0).await);
        assert_invalid(
            &format!("stream({size})"),
            "page size",
            ids.stream().try_collect::<Vec<_>>().await,
        );
        let entries = ccs.session_properties(NS).expect("names").page_size(size);
        assert_invalid(
            &format!("session_properties({size})"),
            "page size",
            entries.stream().try_collect::<Vec<_>>().await,
        );
    }

    for account in ["12/34", "", "12 34", "../x"] {
        let built = CcsV1Client::builder()
            .account(account)
            .api_key(API_KEY)
            .base_url(capture.base_url())
            .build();
        assert_invalid(&format!("account {account:?}"), "account id", built);
    }
    assert_invalid(
        "no account",
        "account id",
        CcsV2Client::builder()
            .access_token(TOKEN)
            .base_url(capture.base_url())
            .build(),
    );
    assert_invalid(
        "no API key",
        "API key",
        CcsV1Client::builder()
            .account(ACC)
            .base_url(capture.base_url())
            .build(),
    );
    assert_invalid(
        "no access token",
        "access token",
        CcsV2Client::builder()
            .account(ACC)
            .base_url(capture.base_url())
            .build(),
    );
    assert_invalid(
        "no AppJWT",
        "AppJWT",
        MessagingClient::builder()
            .account(ACC)
            .base_url(capture.base_url())
            .build(),
    );
    assert_invalid(
        "no messaging domain",
        "messaging domain",
        MessagingClient::builder()
            .account(ACC)
            .app_jwt(APP_JWT)
            .build(),
    );
    assert_invalid(
        "base URL scheme",
        "base URL",
        CcsV1Client::builder()
            .account(ACC)
            .api_key(API_KEY)
            .base_url("ftp://x")
            .build(),
    );

    let ccs2 = v2(&capture);
    let doc = ccs2.session_document(NS, SESSION).expect("names");
    let payload = json!({"property1": 100});
    assert_invalid(
        "TTL 0",
        "TTL",
        doc.set_properties(&payload, Duration::ZERO).await,
    );
    assert_invalid(
        "TTL over 13 months",
        "TTL",
        doc.set_properties(&payload, MAX_TTL + Duration::from_secs(1))
            .await,
    );
    assert_invalid(
        "TTL far too long",
        "TTL",
        doc.set_properties(&payload, Duration::from_secs(u64::MAX))
            .await,
    );
    assert_invalid(
        "payload array",
        "payload",
        doc.set_properties(&json!([1]), Duration::from_secs(60))
            .await,
    );
    assert_invalid(
        "delete no names",
        "property names",
        doc.delete_properties(Vec::<&str>::new()).await,
    );
    assert_invalid(
        "get no names",
        "property names",
        doc.get_properties(Vec::<&str>::new()).await,
    );
    assert_invalid(
        "v2 property",
        "property name",
        doc.get_property::<Value>("..").await,
    );
    assert_invalid(
        "v2 delete property",
        "property name",
        doc.delete_properties([".."]).await,
    );
    assert_invalid("v2 session", "session id", ccs2.session_document(NS, ".."));
    assert_invalid(
        "v2 namespace",
        "namespace",
        ccs2.namespace_document("consumer"),
    );
    assert_invalid(
        "v2 namespace",
        "namespace",
        ccs2.session_document("my-ns", SESSION),
    );

    // The error texts hold no secret either.
    assert_scrubbed(
        "InvalidInput",
        &failed("", ccs.create_namespace("consumer").await),
    );
    assert_helpers(
        &failed("", ccs.create_namespace("consumer").await),
        None,
        false,
        false,
        None,
    );

    assert_eq!(
        request_lines(&capture),
        Vec::<String>::new(),
        "nothing was sent"
    );
}

/// The limits themselves are accepted: 1 s (a fraction rounds up) and 13 months.
#[tokio::test]
async fn ttl_bounds_are_inclusive() {
    let capture = CaptureServer::start().await;
    capture.default_for(
        "/v2/context/document/create",
        Reply::json(
            201,
            &json!({"documentKey": "k", "tenantId": ACC, "success": true}),
        ),
    );
    let doc = v2(&capture).namespace_document(NS).expect("names");
    let payload = json!({"property1": 100});
    doc.set_properties(&payload, Duration::from_millis(1))
        .await
        .expect("1 ms → 1 s");
    doc.set_properties(&payload, MAX_TTL)
        .await
        .expect("13 months");
    let ttls: Vec<Value> = capture
        .requests()
        .iter()
        .map(|r| r.body_json().expect("a body")["ttlSeconds"].clone())
        .collect();
    assert_eq!(ttls, [json!(1), json!(MAX_TTL.as_secs())]);
    // A namespace document has no sessionId.
    assert_eq!(
        capture.requests()[0].body_json().unwrap().get("sessionId"),
        None
    );
}

// ---------------------------------------------------------------------------
// Secrets: no error, client or builder ever shows one
// ---------------------------------------------------------------------------

#[tokio::test]
async fn unauthorized_echoing_the_target_and_credentials_is_scrubbed() {
    let capture = CaptureServer::start().await;
    // 401 echoing the request target (with its access_token), as Express does.
    capture.push(Reply::text(401, ""));
    capture.respond_with(|request| {
        Some(Reply::text(
            401,
            format!("Cannot {} {}", request.method, request.target),
        ))
    });
    let doc = v2(&capture).session_document(NS, SESSION).expect("names");
    // The queued empty 401 first, then the echo.
    let empty = failed("empty 401", doc.get().await);
    assert!(
        matches!(empty, Error::Unauthorized { status, .. } if status == StatusCode::UNAUTHORIZED)
    );
    assert_helpers(&empty, Some(401), false, false, None);
    let error = failed("echoing 401", doc.get().await);
    assert_scrubbed("Unauthorized (target echo)", &error);
    assert_helpers(
        &error,
        Some(401),
        false,
        false,
        Some(
            "Cannot GET /v2/context/document/le12345678/myNamespace/mySessionId?access_token=[redacted]",
        ),
    );
    // The token really was on the wire, once per request (no retry of a 401).
    let requests = capture.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].query_values("access_token"), [TOKEN_IN_QUERY]);

    // 403 naming the decoded token in a JSON message.
    capture.push(Reply::json(
        403,
        &json!({"message": format!("token {TOKEN} is expired")}),
    ));
    let error = failed("403", doc.get().await);
    assert_scrubbed("Unauthorized (403 JSON)", &error);
    assert!(
        matches!(&error, Error::Unauthorized { status, .. } if *status == StatusCode::FORBIDDEN)
    );
    assert_helpers(
        &error,
        Some(403),
        false,
        false,
        Some("token [redacted] is expired"),
    );

    // v1: the API key echoed back.
    capture.push(Reply::json(
        401,
        &json!({"message": format!("invalid maven-api-key {API_KEY}")}),
    ));
    let error = failed("v1 401", v1(&capture).namespace(NS).unwrap().get().await);
    assert_scrubbed("Unauthorized (v1 key echo)", &error);
    assert_helpers(
        &error,
        Some(401),
        false,
        false,
        Some("invalid maven-api-key [redacted]"),
    );

    // Messaging: both JWTs echoed back.
    capture.push(Reply::json(
        401,
        &json!({"message": format!("bad Authorization {APP_JWT} for {CONSUMER_JWS}")}),
    ));
    let error = failed(
        "messaging 401",
        messaging(&capture)
            .create_conversation(CONSUMER_JWS, &ConversationRequest::new())
            .await,
    );
    assert_scrubbed("Unauthorized (messaging)", &error);
    assert_helpers(
        &error,
        Some(401),
        false,
        false,
        Some("bad Authorization [redacted] for [redacted]"),
    );
}

#[tokio::test]
async fn not_found_is_scrubbed() {
    let capture = CaptureServer::start().await;
    capture.respond_with(|request| {
        Some(Reply::json(
            404,
            &json!({"message": format!("no document at {}", request.target)}),
        ))
    });
    let error = failed(
        "404",
        v2(&capture)
            .session_document(NS, SESSION)
            .unwrap()
            .delete_properties(["property1"])
            .await,
    );
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    assert_scrubbed("NotFound", &error);
    assert_helpers(
        &error,
        Some(404),
        true,
        false,
        Some("no document at /v2/context/document/property/delete?access_token=[redacted]"),
    );
    assert_eq!(capture.requests().len(), 1, "a 404 is not retried");
}

#[tokio::test]
async fn document_too_large() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::text(413, "document too large"));
    let error = failed(
        "413",
        v1(&capture)
            .session(NS, SESSION)
            .unwrap()
            .set_properties(&json!({"big": "x"}))
            .await,
    );
    assert!(matches!(error, Error::DocumentTooLarge { .. }), "{error:?}");
    assert_scrubbed("DocumentTooLarge", &error);
    assert_helpers(&error, Some(413), false, false, Some("document too large"));
    assert_eq!(error.body(), Some("document too large"));
    assert_eq!(capture.requests().len(), 1);
}

#[tokio::test]
async fn rate_limited_without_retries() {
    let capture = CaptureServer::start().await;
    capture.push(
        Reply::json(429, &json!({"message": format!("slow down, {API_KEY}")}))
            .header("Retry-After", "7"),
    );
    let ccs = v1_at(&capture.base_url(), RetryPolicy::none());
    let error = failed("429", ccs.namespace(NS).unwrap().get().await);
    assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    assert_scrubbed("RateLimited", &error);
    assert_helpers(
        &error,
        Some(429),
        false,
        true,
        Some("slow down, [redacted]"),
    );
    assert!(error.to_string().contains("retry after 7 s"), "{error}");
    assert_eq!(
        capture.requests().len(),
        1,
        "RetryPolicy::none() sends once"
    );
}

#[tokio::test]
async fn api_error_is_scrubbed() {
    let capture = CaptureServer::start().await;
    capture.respond_with(|request| {
        Some(Reply::json(
            500,
            &json!({"message": format!("internal error on {}", request.target)}),
        ))
    });
    let error = failed(
        "500",
        v2(&capture)
            .namespace_document(NS)
            .unwrap()
            .set_properties(&json!({"a": 1}), Duration::from_secs(60))
            .await,
    );
    assert!(
        matches!(error, Error::Api { status, .. } if status == StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert_scrubbed("Api", &error);
    assert_helpers(
        &error,
        Some(500),
        false,
        false,
        Some("internal error on /v2/context/document/create?access_token=[redacted]"),
    );
    assert_eq!(capture.requests().len(), 1, "a 500 is not retried");
}

#[tokio::test]
async fn transport_error_holds_no_url() {
    let base = refusing_base_url().await;
    let error = failed(
        "refused",
        v2_at(&base, RetryPolicy::none())
            .session_document(NS, SESSION)
            .unwrap()
            .get()
            .await,
    );
    let Error::Transport { source, .. } = &error else {
        panic!("expected Transport, got {error:?}");
    };
    // The source is boxed (reqwest stays out of the variant's type).
    let source = source
        .downcast_ref::<reqwest::Error>()
        .expect("a reqwest error underneath");
    assert!(source.is_connect(), "{source:?}");
    assert_eq!(
        source.url(),
        None,
        "the URL (with its access_token) is removed"
    );
    assert_no_secret("reqwest source {:?}", &format!("{source:?}"));
    assert_no_secret("reqwest source {:#?}", &format!("{source:#?}"));
    assert_scrubbed("Transport", &error);
    assert_helpers(&error, None, false, true, None);
}

#[tokio::test]
async fn decode_error() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::text(200, "this is not JSON"));
    let error = failed("decode", v1(&capture).namespace(NS).unwrap().get().await);
    let Error::Decode {
        operation, body, ..
    } = &error
    else {
        panic!("expected Decode, got {error:?}");
    };
    assert_eq!(*operation, "get_namespace_properties");
    assert_eq!(body, "this is not JSON");
    assert_scrubbed("Decode", &error);
    assert_helpers(&error, None, false, false, Some("this is not JSON"));
}

/// A success answer that echoes a credential and then fails to decode must
/// not carry it into `Error::Decode`'s body (shown by `{:?}`).
#[tokio::test]
async fn decode_error_of_an_echoing_answer_is_scrubbed() {
    let capture = CaptureServer::start().await;
    capture.respond_with(|request| {
        Some(Reply::text(
            200,
            format!("<html>proxy page for {}</html>", request.target),
        ))
    });
    let error = failed(
        "decode",
        v2(&capture).namespace_document(NS).unwrap().get().await,
    );
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert_scrubbed("Decode (echo)", &error);
}

/// Answers a CONVERSATION batch: the profile OK, the conversation with `second`.
fn answer_batch(capture: &CaptureServer, second: Value) {
    capture.respond_with(move |request| {
        let body = request.body_json()?;
        let ids: Vec<Value> = body.as_array()?.iter().map(|p| p["id"].clone()).collect();
        let mut second = second.clone();
        second["reqId"] = ids[1].clone();
        Some(Reply::json(
            200,
            &json!([
                {"code": "OK", "body": {"msg": "OK User Profile set successfully"}, "reqId": ids[0]},
                second
            ]),
        ))
    });
}

#[tokio::test]
async fn rejected_payload() {
    let capture = CaptureServer::start().await;
    answer_batch(
        &capture,
        json!({"code": "400", "body": {"msg": "skill -1 is not available"}}),
    );
    let error = failed(
        "rejected",
        messaging(&capture)
            .create_conversation(CONSUMER_JWS, &ConversationRequest::new().skill("-1"))
            .await,
    );
    let Error::Rejected { code, req_id, .. } = &error else {
        panic!("expected Rejected, got {error:?}");
    };
    assert_eq!(code, "400");
    let sent = capture.only_request().body_json().unwrap();
    assert_eq!(
        req_id,
        sent[1]["id"].as_str().unwrap(),
        "names the rejected payload"
    );
    assert_scrubbed("Rejected", &error);
    assert_helpers(
        &error,
        None,
        false,
        false,
        Some(r#"{"msg":"skill -1 is not available"}"#),
    );

    // A failed payload whose body does not fit the success schema is read leniently.
    let capture = CaptureServer::start().await;
    answer_batch(
        &capture,
        json!({"code": 401, "body": "unauthorized consumer"}),
    );
    let error = failed(
        "rejected, lenient",
        messaging(&capture)
            .create_conversation(CONSUMER_JWS, &ConversationRequest::new())
            .await,
    );
    assert!(
        matches!(&error, Error::Rejected { code, body, .. } if code == "401" && body == "\"unauthorized consumer\""),
        "{error:?}"
    );
    assert_scrubbed("Rejected (lenient)", &error);
}

/// A rejected payload whose body is a JSON object other than
/// `{msg, conversationId}` keeps its fields: the service's reason.
#[tokio::test]
async fn rejected_payload_keeps_the_service_reason() {
    let capture = CaptureServer::start().await;
    answer_batch(
        &capture,
        json!({"code": "400", "body": {"message": "skill 17 does not exist"}}),
    );
    let error = failed(
        "rejected",
        messaging(&capture)
            .create_conversation(CONSUMER_JWS, &ConversationRequest::new().skill("17"))
            .await,
    );
    assert_eq!(error.message().as_deref(), Some("skill 17 does not exist"));
}

struct Failing;

impl CredentialProvider for Failing {
    fn credential(&self) -> CredentialFuture<'_> {
        Box::pin(async {
            Err(Error::Credentials {
                reason: "the token service is unavailable".into(),
            })
        })
    }
}

#[tokio::test]
async fn failing_or_bad_credentials_send_nothing() {
    let capture = CaptureServer::start().await;
    let url = capture.base_url();
    let check = |label: &str, error: Error, reason: &str| {
        match &error {
            Error::Credentials { reason: got } => assert_eq!(got, reason, "{label}"),
            other => panic!("{label}: expected Credentials, got {other:?}"),
        }
        assert_scrubbed(label, &error);
        assert_helpers(&error, None, false, false, None);
    };
    let unavailable = "the token service is unavailable";

    let ccs = CcsV1Client::builder()
        .account(ACC)
        .api_key(Credential::from_provider(Failing))
        .base_url(&url)
        .build()
        .unwrap();
    check(
        "v1 provider",
        failed("", ccs.list_namespaces().await),
        unavailable,
    );

    let ccs = CcsV2Client::builder()
        .account(ACC)
        .access_token(Credential::from_provider(Failing))
        .base_url(&url)
        .build()
        .unwrap();
    let doc = ccs.namespace_document(NS).unwrap();
    check("v2 provider", failed("", doc.get().await), unavailable);

    let app_failing = MessagingClient::builder()
        .account(ACC)
        .app_jwt(Credential::from_provider(Failing))
        .base_url(&url)
        .build()
        .unwrap();
    let request = ConversationRequest::new();
    check(
        "AppJWT provider",
        failed(
            "",
            app_failing
                .create_conversation(CONSUMER_JWS, &request)
                .await,
        ),
        unavailable,
    );
    check(
        "ConsumerJWS provider",
        failed(
            "",
            messaging(&capture)
                .create_conversation(Credential::from_provider(Failing), &request)
                .await,
        ),
        unavailable,
    );

    // Empty credentials, and one a header cannot carry.
    let blank = CcsV1Client::builder()
        .account(ACC)
        .api_key("  ")
        .base_url(&url)
        .build()
        .unwrap();
    check(
        "blank key",
        failed("", blank.list_namespaces().await),
        "the API key is empty",
    );
    let newline = CcsV1Client::builder()
        .account(ACC)
        .api_key(format!("{API_KEY}\nX"))
        .base_url(&url)
        .build()
        .unwrap();
    check(
        "key with a newline",
        failed("", newline.list_namespaces().await),
        "the API key contains characters a header cannot carry",
    );
    check(
        "empty ConsumerJWS",
        failed(
            "",
            messaging(&capture).create_conversation("", &request).await,
        ),
        "the ConsumerJWS is empty",
    );

    assert_eq!(
        request_lines(&capture),
        Vec::<String>::new(),
        "nothing was sent"
    );
}

#[tokio::test]
async fn clients_and_builders_show_no_secret() {
    let capture = CaptureServer::start().await;
    let url = capture.base_url();
    let v1_builder = CcsV1Client::builder()
        .account(ACC)
        .api_key(API_KEY)
        .base_url(&url);
    let v2_builder = CcsV2Client::builder()
        .account(ACC)
        .access_token(TOKEN)
        .base_url(&url);
    let m_builder = MessagingClient::builder()
        .account(ACC)
        .app_jwt(APP_JWT)
        .base_url(&url);
    let ccs1 = v1_builder.clone().build().unwrap();
    let ccs2 = v2_builder.clone().build().unwrap();
    let msg = m_builder.clone().build().unwrap();
    let texts = [
        (
            "v1 builder",
            format!("{v1_builder:?}"),
            format!("{v1_builder:#?}"),
        ),
        (
            "v2 builder",
            format!("{v2_builder:?}"),
            format!("{v2_builder:#?}"),
        ),
        (
            "messaging builder",
            format!("{m_builder:?}"),
            format!("{m_builder:#?}"),
        ),
        ("CcsV1Client", format!("{ccs1:?}"), format!("{ccs1:#?}")),
        ("CcsV2Client", format!("{ccs2:?}"), format!("{ccs2:#?}")),
        ("MessagingClient", format!("{msg:?}"), format!("{msg:#?}")),
        (
            "v1 raw",
            format!("{:?}", ccs1.raw()),
            format!("{:#?}", ccs1.raw()),
        ),
        (
            "v2 raw",
            format!("{:?}", ccs2.raw()),
            format!("{:#?}", ccs2.raw()),
        ),
        (
            "messaging raw",
            format!("{:?}", msg.raw(CONSUMER_JWS)),
            format!("{:#?}", msg.raw(CONSUMER_JWS)),
        ),
        (
            "Session",
            format!("{:?}", ccs1.session(NS, SESSION).unwrap()),
            format!("{:#?}", ccs1.namespace(NS).unwrap()),
        ),
        (
            "SessionListing",
            format!("{:?}", ccs1.session_ids(NS).unwrap()),
            format!("{:#?}", ccs1.session_properties(NS).unwrap()),
        ),
        (
            "Document",
            format!("{:?}", ccs2.session_document(NS, SESSION).unwrap()),
            format!("{:#?}", ccs2.namespace_document(NS).unwrap()),
        ),
        (
            "Credential",
            format!("{:?}", Credential::from(API_KEY)),
            format!("{:#?}", Secret::new(TOKEN)),
        ),
    ];
    for (label, plain, alternate) in &texts {
        assert_no_secret(&format!("{label} {{:?}}"), plain);
        assert_no_secret(&format!("{label} {{:#?}}"), alternate);
    }
    // They still say what they are.
    assert!(
        texts[3].1.contains("le12345678") && texts[3].1.contains(&url),
        "{}",
        texts[3].1
    );
    assert!(texts[3].1.contains("[redacted]"), "{}", texts[3].1);
}

// ---------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------

/// An emulator for the retry tests: faults injected into it stand in for a
/// failing service, and its journal shows every attempt.
async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::new())
        .await
        .expect("emulator starts")
}

/// The method and path of every request the emulator saw, and the fault that
/// hit it.
fn attempts(emulator: &Emulator) -> Vec<(String, String, Option<FaultId>)> {
    emulator
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.fault))
        .collect()
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after() {
    let emulator = emulator().await;
    let ccs = v1_at(&emulator.base_url(), RetryPolicy::default());
    ccs.namespace(NS)
        .unwrap()
        .set_properties(&json!({"myProperty1": "myValue1"}))
        .await
        .expect("saved");
    let fault = emulator
        .inject_fault(Fault::status(429).method(http::Method::GET).retry_after(1))
        .expect("a valid fault");
    emulator.clear_requests();
    let started = Instant::now();
    let all = ccs
        .namespace(NS)
        .unwrap()
        .get()
        .await
        .expect("second attempt");
    let elapsed = started.elapsed();
    assert_eq!(all["myProperty1"], "myValue1");
    let path = "/v1/account/le12345678/myNamespace/properties".to_owned();
    assert_eq!(
        attempts(&emulator),
        [
            ("GET".to_owned(), path.clone(), Some(fault)),
            ("GET".to_owned(), path, None)
        ]
    );
    assert!(
        elapsed >= Duration::from_millis(950),
        "waited {elapsed:?}, Retry-After: 1"
    );
}

#[tokio::test]
async fn unavailable_is_tried_three_times_by_default() {
    let emulator = emulator().await;
    // A fourth attempt would be answered normally.
    let fault = emulator
        .inject_fault(Fault::status(503).times(3))
        .expect("a valid fault");
    let ccs = v1_at(&emulator.base_url(), RetryPolicy::default());
    let error = failed("503s", ccs.namespace(NS).unwrap().get().await);
    assert!(
        matches!(error, Error::Api { status, .. } if status == StatusCode::SERVICE_UNAVAILABLE),
        "{error:?}"
    );
    assert_helpers(
        &error,
        Some(503),
        false,
        true,
        Some(&format!("injected fault {fault}")),
    );
    let seen = attempts(&emulator);
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.iter().all(|(method, path, hit)| method == "GET"
        && path == "/v1/account/le12345678/myNamespace/properties"
        && *hit == Some(fault)));
}

#[tokio::test]
async fn no_retries_with_retry_policy_none() {
    let emulator = emulator().await;
    emulator
        .inject_fault(Fault::status(503))
        .expect("a valid fault");
    let ccs = v1_at(&emulator.base_url(), RetryPolicy::none());
    let error = failed("503", ccs.namespace(NS).unwrap().get().await);
    assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(emulator.requests().len(), 1);
}

#[tokio::test]
async fn bad_request_is_not_retried() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(400, &json!({"message": "bad namespace"})));
    capture.push(Reply::status(204));
    let error = failed("400", v1(&capture).create_namespace(NS).await);
    assert!(matches!(error, Error::Api { status, .. } if status == StatusCode::BAD_REQUEST));
    assert_helpers(&error, Some(400), false, false, Some("bad namespace"));
    assert_eq!(capture.requests().len(), 1);
}

#[tokio::test]
async fn creating_a_conversation_is_never_retried() {
    let generous = RetryPolicy::default()
        .with_max_attempts(5)
        .with_initial_delay(Duration::from_millis(1));
    let emulator = emulator().await;
    for (status, retry_after) in [(503, None), (429, Some(0)), (502, None)] {
        emulator.reset();
        let mut fault = Fault::status(status).path("/api/account/*").times(5);
        if let Some(after) = retry_after {
            fault = fault.retry_after(after);
        }
        emulator.inject_fault(fault).expect("a valid fault");
        let error = failed(
            "conversation",
            messaging_at(&emulator.base_url(), generous.clone())
                .create_conversation(CONSUMER_JWS, &ConversationRequest::new())
                .await,
        );
        assert_eq!(
            error.status().map(|s| s.as_u16()),
            Some(status),
            "{error:?}"
        );
        assert!(error.is_retryable(), "the caller may retry: {error:?}");
        assert_eq!(emulator.requests().len(), 1, "{status}: sent exactly once");
    }
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let base = refusing_base_url().await;
    // With retries the call waits between attempts: at least 50 + 100 ms
    // (half of 100 ms, then half of 200 ms, jitter included).
    let retrying = RetryPolicy::default()
        .with_max_attempts(3)
        .with_initial_delay(Duration::from_millis(100));
    let started = Instant::now();
    let error = failed("refused", v1_at(&base, retrying).list_namespaces().await);
    let elapsed = started.elapsed();
    assert!(
        matches!(&error, Error::Transport { source, .. }
            if source.downcast_ref::<reqwest::Error>().is_some_and(reqwest::Error::is_connect)),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert!(
        elapsed >= Duration::from_millis(150),
        "retried: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "returned: {elapsed:?}");
    assert_scrubbed("Transport (v1)", &error);
}

#[tokio::test]
async fn a_retry_carries_the_access_token_once() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::status(502));
    capture.push(Reply::json(
        200,
        &json!({
            "accountId": ACC, "documentKey": "le12345678:myNamespace:", "documentType": "CONTEXT",
            "nameSpace": NS, "payload": {"a": 1}, "tenantId": ACC
        }),
    ));
    let doc = v2(&capture)
        .namespace_document(NS)
        .unwrap()
        .get()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(doc.payload["a"], 1);
    assert_eq!(doc.expires_at, None);
    let requests = capture.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(
            request.query_values("access_token"),
            [TOKEN_IN_QUERY],
            "{}",
            request.target
        );
    }
    assert_eq!(requests[0], requests[1], "the retry is the same request");
}

// ---------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------

fn pages_of(capture: &CaptureServer) -> Vec<(String, String)> {
    capture
        .requests()
        .iter()
        .map(|r| {
            assert_eq!(r.path(), "/v1/account/le12345678/myNamespace/session-ids");
            (
                r.query_values("page").join(","),
                r.query_values("perPage").join(","),
            )
        })
        .collect()
}

fn page_query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(p, n)| (p.to_string(), n.to_string()))
        .collect()
}

#[tokio::test]
async fn stream_reads_every_page() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(200, &json!(["s1", "s2"])));
    capture.push(Reply::json(200, &json!(["s3", "s4"])));
    capture.push(Reply::json(200, &json!(["s5"])));
    let ids: Vec<String> = v1(&capture)
        .session_ids(NS)
        .unwrap()
        .page_size(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["s1", "s2", "s3", "s4", "s5"]);
    assert_eq!(
        pages_of(&capture),
        page_query(&[("0", "2"), ("1", "2"), ("2", "2")])
    );
}

#[tokio::test]
async fn stream_stops_on_an_empty_page() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(200, &json!(["s1", "s2"])));
    capture.push(Reply::json(200, &json!(["s3", "s4"])));
    capture.push(Reply::json(200, &json!([])));
    capture.set_fallback(Reply::json(200, &json!(["never"])));
    let ids: Vec<String> = v1(&capture)
        .session_ids(NS)
        .unwrap()
        .page_size(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["s1", "s2", "s3", "s4"]);
    assert_eq!(
        pages_of(&capture),
        page_query(&[("0", "2"), ("1", "2"), ("2", "2")])
    );
}

#[tokio::test]
async fn stream_stops_when_the_server_ignores_page() {
    let capture = CaptureServer::start().await;
    capture.set_fallback(Reply::json(200, &json!(["s1", "s2"])));
    let ids: Vec<String> = v1(&capture)
        .session_ids(NS)
        .unwrap()
        .page_size(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["s1", "s2"], "the repeated page is not yielded again");
    assert_eq!(pages_of(&capture), page_query(&[("0", "2"), ("1", "2")]));
}

#[tokio::test]
async fn stream_starts_where_asked_and_passes_errors_on() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(200, &json!(["s7", "s8"])));
    capture.push(Reply::json(500, &json!({"message": "page 4 broke"})));
    let result: Result<Vec<String>, Error> = v1(&capture)
        .session_ids(NS)
        .unwrap()
        .page_size(2)
        .starting_at(3)
        .stream()
        .try_collect()
        .await;
    let error = failed("page 4", result);
    assert_eq!(error.message().as_deref(), Some("page 4 broke"));
    assert_eq!(pages_of(&capture), page_query(&[("3", "2"), ("4", "2")]));
}

#[tokio::test]
async fn session_properties_reads_both_entry_keys() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(
        200,
        &json!([
            {"sessionId": "__default__", "properties": {"a": 1}},
            {"sessionId": "ss1", "property": {"key1": "val1", "key2": "val2"}},
            {"sessionId": "empty"}
        ]),
    ));
    let entries: Vec<SessionEntry> = v1(&capture)
        .session_properties(NS)
        .unwrap()
        .stream()
        .try_collect()
        .await
        .unwrap();
    let seen: Vec<(String, Value)> = entries
        .into_iter()
        .map(|e| (e.session_id, Value::Object(e.properties)))
        .collect();
    assert_eq!(
        seen,
        [
            ("__default__".to_owned(), json!({"a": 1})),
            ("ss1".to_owned(), json!({"key1": "val1", "key2": "val2"})),
            ("empty".to_owned(), json!({})),
        ]
    );
    assert_eq!(
        request_lines(&capture),
        ["GET /v1/account/le12345678/myNamespace/session-properties?page=0&perPage=100"]
    );
}

// ---------------------------------------------------------------------------
// Typed reads and writes
// ---------------------------------------------------------------------------

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Named {
    name: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    name: String,
    items: Vec<String>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NamespaceProps {
    my_property1: String,
    my_property2: u32,
    my_property3: Named,
}

#[tokio::test]
async fn typed_property_reads() {
    let capture = CaptureServer::start().await;
    let scope = v1(&capture).session(NS, SESSION).unwrap();

    capture.push(Reply::json(200, &json!({"name": "myValue3"})));
    let named: Option<Named> = scope.get_property("myProperty3").await.unwrap();
    assert_eq!(
        named,
        Some(Named {
            name: "myValue3".into()
        })
    );

    capture.push(Reply::json(200, &json!(["value1", "value2", "value3"])));
    let list: Option<Vec<String>> = scope.get_property("myProperty1").await.unwrap();
    assert_eq!(
        list,
        Some(vec!["value1".into(), "value2".into(), "value3".into()])
    );

    capture.push(Reply::json(404, &json!({"message": "property not found"})));
    let missing: Option<Named> = scope.get_property("nope").await.unwrap();
    assert_eq!(missing, None);

    // 001 shows a string answered without JSON quotes.
    capture.push(Reply::text(200, "myValue1"));
    let bare: Option<String> = scope.get_property("myProperty1").await.unwrap();
    assert_eq!(bare.as_deref(), Some("myValue1"));
    capture.push(Reply::text(200, "myValue1\n"));
    assert_eq!(
        scope.get_property_value("myProperty1").await.unwrap(),
        Some(json!("myValue1"))
    );

    // A value that does not fit the type asked for: a valid answer, so not
    // Decode; the error names the property, the type and what was found.
    capture.push(Reply::json(200, &json!("not a number")));
    let error = failed("wrong type", scope.get_property::<u32>("myProperty1").await);
    assert!(
        matches!(
            &error,
            Error::TypeMismatch {
                operation: "get_session_property",
                property: Some(property),
                expected,
                ..
            } if property == "myProperty1" && expected == "u32"
        ),
        "{error:?}"
    );
    capture.push(Reply::json(200, &json!({"tier": "gold"})));
    let error = failed("an object", scope.get_property::<u32>("intent").await);
    assert_eq!(
        error.to_string(),
        "get_session_property: property `intent` does not fit u32: invalid type: map, expected u32"
    );
    assert_eq!(error.status(), None);
    assert_eq!(capture.requests().len(), 7);
    assert!(capture.requests().iter().all(|r| {
        r.method == "GET"
            && r.path()
                .starts_with("/v1/account/le12345678/myNamespace/mySessionId/properties/")
    }));
}

#[tokio::test]
async fn typed_writes_send_their_json() {
    let capture = CaptureServer::start().await;
    let scope = v1(&capture).session(NS, SESSION).unwrap();
    let item = Item {
        name: "value2".into(),
        items: vec!["A".into(), "B".into(), "C".into()],
    };
    scope.set_property("myProperty2", &item).await.unwrap();
    scope
        .set_properties(&Named { name: "x".into() })
        .await
        .unwrap();
    scope.set_property("myProperty4", "value4").await.unwrap();
    let sent: Vec<(String, Value)> = capture
        .requests()
        .iter()
        .map(|r| (r.request_line(), r.body_json().unwrap()))
        .collect();
    assert_eq!(
        sent,
        [
            (
                "PUT /v1/account/le12345678/myNamespace/mySessionId/properties/myProperty2"
                    .to_owned(),
                json!({"name": "value2", "items": ["A", "B", "C"]})
            ),
            (
                "PATCH /v1/account/le12345678/myNamespace/mySessionId/properties".to_owned(),
                json!({"name": "x"})
            ),
            (
                "PUT /v1/account/le12345678/myNamespace/mySessionId/properties/myProperty4"
                    .to_owned(),
                json!("value4")
            ),
        ]
    );
}

#[tokio::test]
async fn get_all_as_a_struct() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(
        200,
        &json!({"myProperty1": "myValue1", "myProperty2": 2, "myProperty3": {"name": "myValue3"}}),
    ));
    let props: NamespaceProps = v1(&capture).namespace(NS).unwrap().get_as().await.unwrap();
    assert_eq!(
        props,
        NamespaceProps {
            my_property1: "myValue1".into(),
            my_property2: 2,
            my_property3: Named {
                name: "myValue3".into()
            },
        }
    );
    capture.push(Reply::json(200, &json!({"myProperty1": "a"})));
    let error = failed(
        "missing fields",
        v1(&capture)
            .namespace(NS)
            .unwrap()
            .get_as::<NamespaceProps>()
            .await,
    );
    assert_eq!(
        error.to_string(),
        "get_namespace_properties: the properties do not fit NamespaceProps: missing field `myProperty2`"
    );
    capture.push(Reply::json(
        200,
        &json!({"myProperty1": "a", "myProperty2": "two", "myProperty3": {"name": "n"}}),
    ));
    let error = failed(
        "a field of the wrong type",
        v1(&capture)
            .namespace(NS)
            .unwrap()
            .get_as::<NamespaceProps>()
            .await,
    );
    assert!(
        matches!(&error, Error::TypeMismatch { property: Some(p), .. } if p == "myProperty2"),
        "{error:?}"
    );
}

#[derive(Debug, PartialEq, Deserialize)]
struct Payload {
    property1: u32,
    #[serde(rename = "Property2")]
    property2: String,
}

#[tokio::test]
async fn v2_typed_reads() {
    let capture = CaptureServer::start().await;
    let doc = v2(&capture).session_document(NS, SESSION).unwrap();

    capture.push(Reply::json(
        200,
        &json!({
            "accountId": ACC, "documentKey": "le12345678:myNamespace:mySessionId",
            "documentType": "CONTEXT", "nameSpace": NS, "sessionId": SESSION,
            "payload": {"Property2": "abc", "property1": 100},
            "tenantId": ACC, "ttl": "2021-05-11T22:37:39.176Z"
        }),
    ));
    let read = doc.get().await.unwrap().expect("exists");
    assert_eq!(
        read.payload_as::<Payload>().unwrap(),
        Payload {
            property1: 100,
            property2: "abc".into()
        }
    );
    assert_eq!(
        read.expires_at.map(|t| t.to_rfc3339()),
        Some("2021-05-11T22:37:39.176+00:00".to_owned())
    );

    capture.push(Reply::json(404, &json!({"message": "document not found"})));
    assert_eq!(doc.get().await.unwrap(), None, "a missing document is None");

    capture.push(Reply::json(200, &json!({"myNamespace.property1": 100})));
    let value: Option<u32> = doc.get_property("property1").await.unwrap();
    assert_eq!(value, Some(100), "the myNamespace. prefix is removed");

    capture.push(Reply::json(200, &json!({})));
    let value: Option<u32> = doc.get_property("property2").await.unwrap();
    assert_eq!(value, None);

    let filters: Vec<Value> = capture.requests()[2..]
        .iter()
        .map(|r| {
            assert_eq!(r.path(), "/v2/context/document/properties");
            r.body_json().unwrap()["filter"].clone()
        })
        .collect();
    assert_eq!(
        filters,
        [
            json!(["myNamespace.property1"]),
            json!(["myNamespace.property2"])
        ]
    );

    // A value that does not fit: named, with the type asked for.
    capture.push(Reply::json(200, &json!({"myNamespace.property1": [1]})));
    let error = failed("v2 wrong type", doc.get_property::<u32>("property1").await);
    assert_eq!(
        error.to_string(),
        "get_document_properties: property `property1` does not fit u32: invalid type: sequence, expected u32"
    );
    let error = read
        .payload_as::<Vec<u32>>()
        .expect_err("a payload is no list");
    assert!(
        matches!(&error, Error::TypeMismatch { property: None, expected, .. } if expected == "Vec<u32>"),
        "{error:?}"
    );
}

// ---------------------------------------------------------------------------
// Missing data against any other 404; writes the service did not apply
// ---------------------------------------------------------------------------

#[tokio::test]
async fn only_the_services_own_not_found_is_missing_data() {
    let capture = CaptureServer::start().await;
    let session = v1(&capture).session(NS, SESSION).unwrap();
    let doc = v2(&capture).session_document(NS, SESSION).unwrap();

    // The service's answers for a missing property and document.
    capture.push(Reply::json(404, &json!({"message": "property not found"})));
    assert_eq!(session.get_property::<Value>("p").await.unwrap(), None);
    capture.push(Reply::json(
        404,
        &json!({"message": "property 'p' not found"}),
    ));
    assert_eq!(session.get_property_value("p").await.unwrap(), None);
    capture.push(Reply::json(404, &json!({"message": "document not found"})));
    assert_eq!(doc.get().await.unwrap(), None);

    // Anything else that a wrong base URL, a proxy or a gateway answers.
    let others = [
        Reply::text(404, "<html><body><h1>404 Not Found</h1></body></html>"),
        Reply::text(404, ""),
        Reply::json(404, &json!({"message": "Not Found"})),
        Reply::json(404, &json!({"message": "no endpoint at /x/v1/account"})),
        Reply::json(404, &json!({"error": "property not found"})),
    ];
    for reply in others {
        capture.push(reply.clone());
        let error = failed("v1", session.get_property::<Value>("p").await);
        assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
        capture.push(reply);
        let error = failed("v2", doc.get().await);
        assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    }
    // v1's message does not make a v2 document missing, nor the reverse.
    capture.push(Reply::json(404, &json!({"message": "property not found"})));
    assert!(failed("v2", doc.get().await).is_not_found());
    capture.push(Reply::json(404, &json!({"message": "document not found"})));
    assert!(failed("v1", session.get_property::<Value>("p").await).is_not_found());
}

#[tokio::test]
async fn a_write_answered_unsuccessful_is_an_error() {
    let capture = CaptureServer::start().await;
    let doc = v2(&capture).session_document(NS, SESSION).unwrap();
    let refused = json!({"documentKey": "le12345678:myNamespace:mySessionId", "tenantId": ACC, "success": false});
    capture.push(Reply::json(201, &refused));
    let error = failed(
        "upsert",
        doc.set_properties(&json!({"a": 1}), Duration::from_secs(60))
            .await,
    );
    match &error {
        Error::WriteFailed {
            operation,
            document_key,
            body,
        } => {
            assert_eq!(*operation, "upsert_document");
            assert_eq!(document_key, "le12345678:myNamespace:mySessionId");
            assert!(body.contains(r#""success":false"#), "{body}");
        }
        other => panic!("expected WriteFailed, got {other:?}"),
    }
    assert!(error.body().is_some());
    capture.push(Reply::json(200, &refused));
    let error = failed("delete", doc.delete_property("a").await);
    assert!(
        matches!(
            error,
            Error::WriteFailed {
                operation: "delete_document_properties",
                ..
            }
        ),
        "{error:?}"
    );
    // A successful answer is an Ok.
    capture.push(Reply::json(
        200,
        &json!({"documentKey": "k", "tenantId": ACC, "success": true}),
    ));
    assert_eq!(doc.delete().await.unwrap().document_key, "k");
}

#[derive(Debug, thiserror::Error)]
#[error("the token service answered 503")]
struct TokenServiceDown;

#[tokio::test]
async fn a_failed_refresh_reaches_the_caller_with_its_source() {
    use liveperson_ccs::RefreshingCredential;

    let capture = CaptureServer::start().await;
    let failing =
        RefreshingCredential::new(|| async { Err::<liveperson_ccs::Token, _>(TokenServiceDown) });
    let clients_errors = [
        {
            let ccs = CcsV1Client::builder()
                .account(ACC)
                .api_key(failing.clone())
                .base_url(capture.base_url())
                .build()
                .unwrap();
            failed("v1", ccs.check().await)
        },
        {
            let ccs = CcsV2Client::builder()
                .account(ACC)
                .access_token(failing.clone())
                .base_url(capture.base_url())
                .build()
                .unwrap();
            failed("v2", ccs.namespace_document(NS).unwrap().get().await)
        },
        failed(
            "messaging",
            messaging(&capture)
                .create_conversation(failing.clone(), &ConversationRequest::new())
                .await,
        ),
    ];
    for error in clients_errors {
        assert!(
            matches!(error, Error::CredentialRefresh { .. }),
            "{error:?}"
        );
        let source = std::error::Error::source(&error).expect("a source");
        assert!(
            source.downcast_ref::<TokenServiceDown>().is_some(),
            "{source:?}"
        );
        // Said once: the message does not repeat the source.
        assert!(!error.to_string().contains("503"), "{error}");
    }
    assert!(request_lines(&capture).is_empty(), "nothing was sent");
}

// ---------------------------------------------------------------------------
// Features
// ---------------------------------------------------------------------------

/// The in-process emulator is a library feature: it must not pull the
/// binary's command line and log output into a user's build.
#[test]
fn the_emulator_feature_leaves_the_binarys_crates_out() {
    let manifest = include_str!("../../Cargo.toml");
    let feature = |name: &str| -> String {
        manifest
            .lines()
            .find(|line| line.starts_with(&format!("{name} = [")))
            .unwrap_or_else(|| panic!("no feature {name}"))
            .to_owned()
    };
    let emulator = feature("emulator");
    for binary_only in ["clap", "tracing-subscriber"] {
        assert!(!emulator.contains(binary_only), "{emulator}");
    }
    let cli = feature("cli");
    for needed in ["\"emulator\"", "dep:clap", "dep:tracing-subscriber"] {
        assert!(cli.contains(needed), "{cli}");
    }
    let bin = manifest
        .split("[[bin]]")
        .nth(1)
        .expect("the ccs binary is declared");
    assert!(bin.contains(r#"required-features = ["cli"]"#), "{bin}");
}

/// A provider that counts how it is asked, and offers `at_hand` (when
/// given) through `ready()`.
struct Counting {
    at_hand: Option<&'static str>,
    ready_calls: std::sync::atomic::AtomicUsize,
    future_calls: std::sync::atomic::AtomicUsize,
}

impl Counting {
    fn new(at_hand: Option<&'static str>) -> std::sync::Arc<Counting> {
        std::sync::Arc::new(Counting {
            at_hand,
            ready_calls: Default::default(),
            future_calls: Default::default(),
        })
    }
}

struct Shared(std::sync::Arc<Counting>);

impl CredentialProvider for Shared {
    fn credential(&self) -> CredentialFuture<'_> {
        self.0
            .future_calls
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async { Ok(Secret::new("asked-for")) })
    }

    fn ready(&self) -> Option<Secret> {
        self.0
            .ready_calls
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.at_hand.map(Secret::new)
    }
}

/// A token a provider has at hand is sent without asking `credential()`;
/// without one, `credential()` is asked once per call. An empty token at hand
/// is refused before anything is sent, as any other.
#[tokio::test]
async fn a_token_at_hand_is_used_without_asking_for_one() {
    use std::sync::atomic::Ordering::SeqCst;
    let capture = CaptureServer::start().await;
    capture.set_fallback(Reply::json(200, &json!([])));
    let client = |provider: &std::sync::Arc<Counting>| {
        CcsV1Client::builder()
            .account(ACC)
            .api_key(Credential::from_provider(Shared(provider.clone())))
            .base_url(capture.base_url())
            .build()
            .unwrap()
    };

    // The keys of three calls through `provider`'s client.
    let three_calls = async |provider: &std::sync::Arc<Counting>| {
        capture.clear();
        let ccs = client(provider);
        for _ in 0..3 {
            ccs.list_namespaces().await.unwrap();
        }
        capture
            .requests()
            .iter()
            .map(|r| r.header("maven-api-key").unwrap_or_default().to_owned())
            .collect::<Vec<String>>()
    };

    let at_hand = Counting::new(Some("at-hand"));
    assert_eq!(three_calls(&at_hand).await, ["at-hand"; 3]);
    assert_eq!(at_hand.ready_calls.load(SeqCst), 3);
    assert_eq!(at_hand.future_calls.load(SeqCst), 0);

    let nothing_at_hand = Counting::new(None);
    assert_eq!(three_calls(&nothing_at_hand).await, ["asked-for"; 3]);
    assert_eq!(nothing_at_hand.future_calls.load(SeqCst), 3);

    capture.clear();
    let empty = Counting::new(Some("  "));
    match client(&empty).list_namespaces().await {
        Err(Error::Credentials { reason }) => assert_eq!(reason, "the API key is empty"),
        other => panic!("expected Credentials, got {other:?}"),
    }
    assert!(capture.requests().is_empty(), "nothing is sent");
    assert_eq!(empty.future_calls.load(SeqCst), 0);
}

// ---------------------------------------------------------------------------
// Names in paths: one name, one segment, whatever its characters
// ---------------------------------------------------------------------------

/// The journal's path of a request, without its query, split into
/// percent-decoded segments.
fn decoded_segments(path_and_query: &str) -> Vec<String> {
    let path = path_and_query.split('?').next().unwrap_or_default();
    path.trim_start_matches('/')
        .split('/')
        .map(|segment| {
            percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .unwrap_or_else(|e| panic!("segment {segment:?} is not UTF-8: {e}"))
                .into_owned()
        })
        .collect()
}

/// The segments of the last request the emulator saw.
fn last_segments(emulator: &Emulator) -> Vec<String> {
    let requests = emulator.requests();
    let last = requests.last().expect("the emulator saw a request");
    decoded_segments(&last.path)
}

/// A WHATWG URL parser reads `\` as `/` and resolves `..`: before names were
/// encoded by the crate's own rule, this DELETE went to `nsY/victim`.
#[tokio::test]
async fn a_backslash_name_stays_in_its_segment() {
    let emulator = emulator().await;
    let ccs = v1_at(&emulator.base_url(), RetryPolicy::none());
    let victim = ccs.session("nsY", "victim").unwrap();
    victim.set_property("keep", &1).await.expect("saved");

    let hostile = ccs.session("nsX", r"..\nsY\victim").unwrap();
    hostile.delete().await.expect("deleted");
    assert_eq!(
        emulator
            .requests()
            .last()
            .map(|r| r.path.clone())
            .as_deref(),
        Some("/v1/account/le12345678/nsX/..%5CnsY%5Cvictim/properties")
    );
    assert_eq!(victim.get_property::<i32>("keep").await.unwrap(), Some(1));

    // Into another account, as an import line could try it.
    let other = ccs.session("nsX", r"..\..\le2\nsZ\other").unwrap();
    other.set_property("k", &2).await.expect("saved");
    assert_eq!(
        last_segments(&emulator),
        [
            "v1",
            "account",
            ACC,
            "nsX",
            r"..\..\le2\nsZ\other",
            "properties",
            "k"
        ]
    );
    // The reserved-namespace check cannot be walked around either.
    let sneaky = ccs.session("nsX", r"..\consumer\s1").unwrap();
    sneaky.set_property("k", &3).await.expect("saved");
    assert_eq!(last_segments(&emulator)[3..5], ["nsX", r"..\consumer\s1"]);
}

/// Names that exercise every rule: each ASCII character alone and between
/// letters, the sequences URL parsers strip or rewrite, and random text from
/// all of Unicode (`CCS_NAME_SEED` picks another seed).
fn hostile_names() -> (u64, Vec<String>) {
    let seed = std::env::var("CCS_NAME_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026);
    let mut names = Vec::new();
    for byte in 0u8..128 {
        let c = char::from(byte);
        names.push(c.to_string());
        names.push(format!("a{c}b"));
        names.push(format!("{c}{c}"));
    }
    for text in [
        r"..\nsY\victim",
        "../x",
        "./x",
        "x/..",
        "%2e%2e",
        "%2E%2e",
        ".%2e",
        "%2e",
        "%2F",
        "%5C",
        "%",
        "%zz",
        "...",
        " lead",
        "trail ",
        "\t\r\n",
        "a\0b",
        "?x=1#y",
        ";jsessionid=1",
        "a;b=c",
        "[::1]",
        "é",
        "日本語",
        "😀",
        "\u{FEFF}bom",
        "\u{202E}rtl",
        "\u{FFFD}",
        "\u{FFFF}",
        "\u{10FFFF}",
        "__default__",
    ] {
        names.push(text.to_owned());
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    for _ in 0..200 {
        let len = rng.usize(1..12);
        names.push((0..len).map(|_| rng.char(..)).collect());
    }
    (seed, names)
}

/// For every session id and property name the name types accept, each
/// request reaches the service with that name in its own segment, byte for
/// byte, through the layer and through the generated `raw()` clients, for
/// every operation that has such a path parameter; the value written under
/// it is read back under it.
#[tokio::test]
async fn every_name_reaches_the_service_as_one_segment() {
    let emulator = emulator().await;
    let base = emulator.base_url();
    let v1 = v1_at(&base, RetryPolicy::none());
    let v2 = v2_at(&base, RetryPolicy::none());
    let (seed, names) = hostile_names();
    let mut accepted = 0;
    for name in &names {
        let context = format!("name {name:?} (CCS_NAME_SEED={seed})");
        let Ok(id) = liveperson_ccs::SessionId::new(name.as_str()) else {
            // Refused before sending: only "", "." and "..".
            assert!(matches!(name.as_str(), "" | "." | ".."), "{context}");
            assert!(liveperson_ccs::PropertyName::new(name.as_str()).is_err());
            continue;
        };
        accepted += 1;
        let session = v1.session(NS, &id).unwrap();
        // Each check reads the whole journal: keep it short.
        emulator.clear_requests();

        // v1: the session id and the property name in the path.
        session
            .set_property(name.as_str(), &accepted)
            .await
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_eq!(
            last_segments(&emulator),
            ["v1", "account", ACC, NS, name, "properties", name],
            "{context}"
        );
        let back: Option<i32> = session
            .get_property(name.as_str())
            .await
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_eq!(back, Some(accepted), "{context}");
        // The layer's own requests (the exact-value path).
        let raw = session
            .get_raw()
            .await
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_eq!(
            last_segments(&emulator),
            ["v1", "account", ACC, NS, name, "properties"],
            "{context}"
        );
        assert!(raw.contains_key(name.as_str()), "{context}");
        // The namespace level: the property name alone.
        v1.namespace(NS)
            .unwrap()
            .delete_property(name.as_str())
            .await
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_eq!(
            last_segments(&emulator),
            ["v1", "account", ACC, NS, "properties", name],
            "{context}"
        );
        // The generated client, called directly.
        v1.raw()
            .delete_session_property()
            .account_id(liveperson_ccs::AccountId::new(ACC).unwrap())
            .custom_namespace(liveperson_ccs::Namespace::new(NS).unwrap())
            .session_id(id.clone())
            .property(liveperson_ccs::PropertyName::new(name.as_str()).unwrap())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_eq!(
            last_segments(&emulator),
            ["v1", "account", ACC, NS, name, "properties", name],
            "{context}"
        );
        assert_eq!(
            session.get_property::<i32>(name.as_str()).await.unwrap(),
            None,
            "{context}: the property was deleted"
        );

        // v2: the session id in the path, generated and exact-value reads.
        let document = v2.session_document(NS, &id).unwrap();
        document
            .get()
            .await
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_eq!(
            last_segments(&emulator),
            ["v2", "context", "document", ACC, NS, name],
            "{context}"
        );
        document
            .get_raw()
            .await
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_eq!(
            last_segments(&emulator),
            ["v2", "context", "document", ACC, NS, name],
            "{context}"
        );
    }
    assert!(
        accepted as usize > names.len() - 4,
        "{accepted} of {}",
        names.len()
    );
}

/// The emulator reads an encoded `\`, `/` or `..` as part of one name, never
/// as a separator: a segment that decodes to `..` is refused, and the
/// others name a session of their own.
#[tokio::test]
async fn the_emulator_never_splits_an_encoded_name() {
    let emulator = emulator().await;
    let v1 = v1_at(&emulator.base_url(), RetryPolicy::none());
    let victim = v1.session("nsY", "victim").unwrap();
    victim.set_property("keep", &1).await.expect("saved");
    for (segment, stored_as) in [
        ("..%5CnsY%5Cvictim", Some(r"..\nsY\victim")),
        ("..%2FnsY%2Fvictim", Some("../nsY/victim")),
        ("%2E%2E", None),
        ("%2e", None),
        (".%2E", None),
    ] {
        // Written on the socket as is: an HTTP client's URL parser would
        // resolve `%2E%2E` itself before sending.
        let (status, body) = raw_http(
            emulator.local_addr(),
            &format!(
                "PUT /v1/account/{ACC}/nsX/{segment}/properties/p HTTP/1.1\r\n\
                 host: emulator\r\nmaven-api-key: {API_KEY}\r\n\
                 content-type: application/json\r\ncontent-length: 1\r\n\
                 connection: close\r\n\r\n7"
            ),
        )
        .await;
        match stored_as {
            Some(name) => {
                assert_eq!(status, 204, "{segment}: {body}");
                let stored = v1.session("nsX", name).unwrap();
                assert_eq!(stored.get_property::<i32>("p").await.unwrap(), Some(7));
            }
            None => {
                assert_eq!(status, 400, "{segment}: {body}");
                let body: Value = serde_json::from_str(&body).expect("a JSON message");
                assert!(body["message"].is_string(), "{body}");
            }
        }
    }
    assert_eq!(
        victim.get().await.unwrap(),
        json!({"keep": 1}).as_object().cloned().unwrap()
    );
}

/// Sends `request` as written and returns the status and body of the answer.
async fn raw_http(addr: std::net::SocketAddr, request: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}
