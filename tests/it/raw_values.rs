//! The layer's exact-value methods (`get_raw`, `set_raw`, ...): each value is
//! the JSON text written, digit for digit, through the same transport as
//! every other call (credentials, retries, errors, scrubbing).

use std::time::Duration;

use crate::support::{CaptureServer, Reply};
use futures::TryStreamExt;
use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
use liveperson_ccs::v1::{RawProperties, RawValue};
use liveperson_ccs::{CcsV1Client, CcsV2Client, Error, RetryPolicy};
use serde_json::Value;

const ACCOUNT: &str = "le12345678";
const API_KEY: &str = "raw-values-api-key-7f3a";
const TOKEN: &str = "raw-values-access-token-c41d";

/// Numbers `serde_json::Value` rewrites, and values around them.
const EXACT: &[(&str, &str)] = &[
    ("big", "123456789012345678901234"),
    ("exponent", "1e2"),
    ("decimal", "1.10"),
    ("negative", "-0.0"),
    (
        "nested",
        r#"{"list":[1e2,1.10,123456789012345678901234],"s":"é \"q\""}"#,
    ),
    ("text", r#""héllo ✓""#),
];

fn exact() -> RawProperties {
    EXACT
        .iter()
        .map(|(name, text)| {
            let raw = RawValue::from_string((*text).to_owned()).expect("valid JSON");
            ((*name).to_owned(), raw)
        })
        .collect()
}

fn texts(properties: &RawProperties) -> Vec<(String, String)> {
    properties
        .iter()
        .map(|(name, value)| (name.clone(), value.get().to_owned()))
        .collect()
}

fn expected() -> Vec<(String, String)> {
    texts(&exact())
}

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::new().api_key(API_KEY).access_token(TOKEN))
        .await
        .expect("the emulator starts")
}

fn v1(base: &str) -> CcsV1Client {
    CcsV1Client::builder()
        .account(ACCOUNT)
        .base_url(base)
        .api_key(API_KEY)
        .retry_policy(RetryPolicy::default().with_initial_delay(Duration::from_millis(5)))
        .build()
        .expect("v1 client")
}

fn v2(base: &str) -> CcsV2Client {
    CcsV2Client::builder()
        .account(ACCOUNT)
        .base_url(base)
        .access_token(TOKEN)
        .retry_policy(RetryPolicy::default().with_initial_delay(Duration::from_millis(5)))
        .build()
        .expect("v2 client")
}

#[tokio::test]
async fn v1_session_values_round_trip_as_written() {
    let emulator = emulator().await;
    let ccs = v1(&emulator.base_url());
    // Characters the path must percent-encode, as the generated client does.
    let session = ccs.session("orders", "s 1/é%?#").unwrap();
    session.set_raw(&exact()).await.unwrap();

    assert_eq!(texts(&session.get_raw().await.unwrap()), expected());
    let some = session
        .get_properties_raw(["big", "exponent", "absent"])
        .await
        .unwrap();
    assert_eq!(
        texts(&some),
        [
            ("big".to_owned(), "123456789012345678901234".to_owned()),
            ("exponent".to_owned(), "1e2".to_owned()),
        ]
    );

    // The listing, page by page (one entry per page here).
    ccs.session("orders", "other")
        .unwrap()
        .set_raw([("n", RawValue::from_string("1e2".into()).unwrap())])
        .await
        .unwrap();
    let entries: Vec<_> = ccs
        .session_properties_raw("orders")
        .unwrap()
        .page_size(1)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    let listed = entries
        .iter()
        .find(|e| e.session_id == "s 1/é%?#")
        .expect("the session is listed under its id");
    assert_eq!(texts(&listed.properties), expected());

    // The same session through the generated client: the same path, and
    // there the numbers are rewritten, which is why the raw methods exist.
    let typed = session.get().await.unwrap();
    assert_eq!(typed.len(), EXACT.len());
    assert_ne!(typed["big"].to_string(), "123456789012345678901234");
    assert_eq!(typed["exponent"], Value::from(100.0));
}

#[tokio::test]
async fn v1_namespace_level_values_round_trip_as_written() {
    let emulator = emulator().await;
    let ccs = v1(&emulator.base_url());
    let level = ccs.namespace("bots").unwrap();
    level.set_raw(&exact()).await.unwrap();
    assert_eq!(texts(&level.get_raw().await.unwrap()), expected());
    // The namespace level is the session `__default__`.
    let default = ccs.session("bots", "__default__").unwrap();
    assert_eq!(texts(&default.get_raw().await.unwrap()), expected());
}

#[tokio::test]
async fn v2_document_values_round_trip_as_written() {
    let emulator = emulator().await;
    let ccs = v2(&emulator.base_url());
    let doc = ccs.session_document("orders", "s 1/é").unwrap();
    assert!(doc.get_raw().await.unwrap().is_none(), "no document yet");

    let written = doc
        .set_raw(&exact(), Duration::from_secs(3_600))
        .await
        .unwrap();
    assert_eq!(written.document_key, format!("{ACCOUNT}:orders:s 1/é"));
    let found = doc.get_raw().await.unwrap().expect("the document");
    assert_eq!(texts(&found.payload), expected());
    assert_eq!(found.session_id.as_deref(), Some("s 1/é"));
    assert!(found.expires_at.is_some());

    let ns_doc = ccs.namespace_document("orders").unwrap();
    ns_doc
        .set_raw(
            [(
                "big",
                RawValue::from_string("123456789012345678901234".into()).unwrap(),
            )],
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let found = ns_doc
        .get_raw()
        .await
        .unwrap()
        .expect("the namespace document");
    assert_eq!(found.payload["big"].get(), "123456789012345678901234");
    assert_eq!(found.session_id, None);
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_sent() {
    let capture = CaptureServer::start().await;
    let ccs = v1(&capture.base_url());
    let session = ccs.session("orders", "s1").unwrap();
    let one = |text: &str| RawValue::from_string(text.to_owned()).unwrap();

    let error = session.set_raw([("", one("1"))]).await.unwrap_err();
    assert!(matches!(error, Error::InvalidInput { .. }), "{error:?}");
    let deep = format!("{}1{}", "[".repeat(65), "]".repeat(65));
    let error = session.set_raw([("deep", one(&deep))]).await.unwrap_err();
    assert!(error.to_string().contains("65 levels"), "{error}");
    let error = session.get_properties_raw(["a,b"]).await.unwrap_err();
    assert!(matches!(error, Error::InvalidInput { .. }), "{error:?}");
    let no_names: [&str; 0] = [];
    assert!(session.get_properties_raw(no_names).await.is_err());
    let doc = v2(&capture.base_url())
        .session_document("orders", "s1")
        .unwrap();
    let error = doc
        .set_raw([("a", one("1"))], Duration::ZERO)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("TTL"), "{error}");

    assert!(capture.requests().is_empty(), "{:?}", capture.requests());
}

#[tokio::test]
async fn raw_calls_carry_credentials_and_retry_like_the_others() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::text(429, "slow down").header("retry-after", "0"));
    capture.push(Reply::text(503, "busy"));
    capture.push(
        Reply::status(200)
            .header("content-type", "application/json")
            .body(r#"{"big": 123456789012345678901234, "e": 1e2}"#),
    );
    let session = v1(&capture.base_url()).session("orders", "a b").unwrap();
    let found = session.get_raw().await.unwrap();
    assert_eq!(found["big"].get(), "123456789012345678901234");
    assert_eq!(found["e"].get(), "1e2");

    let requests = capture.requests();
    assert_eq!(requests.len(), 3, "two retries, then the answer");
    for request in &requests {
        assert_eq!(
            request.request_line(),
            format!("GET /v1/account/{ACCOUNT}/orders/a%20b/properties")
        );
        assert_eq!(request.header("maven-api-key"), Some(API_KEY));
        assert_eq!(request.header("accept"), Some("application/json"));
        assert_eq!(request.header("api-version"), None);
    }

    // v2: the token in the query, the body as given.
    capture.clear();
    capture.push(Reply::json(
        200,
        &serde_json::json!({"documentKey": "k", "success": true, "tenantId": ACCOUNT}),
    ));
    let doc = v2(&capture.base_url())
        .session_document("orders", "s1")
        .unwrap();
    doc.set_raw(
        [(
            "big",
            RawValue::from_string("123456789012345678901234".into()).unwrap(),
        )],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let request = capture.only_request();
    assert_eq!(request.path(), "/v2/context/document/create");
    assert_eq!(request.query_values("access_token"), [TOKEN]);
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.body_text(),
        format!(
            r#"{{"accountId":"{ACCOUNT}","nameSpace":"orders","sessionId":"s1","ttlSeconds":60,"payload":{{"big":123456789012345678901234}}}}"#
        )
    );
}

#[tokio::test]
async fn raw_call_errors_are_the_layers_and_keep_secrets_out() {
    let capture = CaptureServer::start().await;
    let echo = format!(r#"{{"message":"bad key {API_KEY}"}}"#);
    capture.push(
        Reply::status(403)
            .header("content-type", "application/json")
            .body(echo),
    );
    let session = v1(&capture.base_url()).session("orders", "s1").unwrap();
    let error = session.get_raw().await.unwrap_err();
    assert!(
        matches!(error, Error::Unauthorized { status, .. } if status.as_u16() == 403),
        "{error:?}"
    );
    for text in [format!("{error}"), format!("{error:?}")] {
        assert!(!text.contains(API_KEY), "{text}");
    }

    // A success body that is not the properties object is a decode error.
    capture.push(Reply::json(200, &serde_json::json!([1, 2])));
    let error = session.get_raw().await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");

    // A 404 that is not the service's "document not found" is NotFound,
    // not a missing document.
    capture.push(Reply::text(404, "<html>no such path</html>"));
    let doc = v2(&capture.base_url())
        .session_document("orders", "s1")
        .unwrap();
    let error = doc.get_raw().await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    capture.push(Reply::json(
        404,
        &serde_json::json!({"message": "document not found"}),
    ));
    assert!(doc.get_raw().await.unwrap().is_none());
}

/// The test build (whose dev-dependency turns `cli` on) has serde_json as a
/// user of the crate gets it: without `arbitrary_precision`, which would make
/// `Value` keep the digits and so hide what the raw methods are for (issue
/// 11, item 11: no feature of this crate may turn it on).
#[test]
fn serde_json_is_built_as_users_get_it() {
    let value: Value = serde_json::from_str("123456789012345678901234").unwrap();
    assert_eq!(value.to_string(), "1.2345678901234567e+23");
}
