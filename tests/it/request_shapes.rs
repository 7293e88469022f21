//! Snapshots of every request the crate sends, captured on the wire.
//!
//! Each operation is called through the public layer (`CcsV1Client`,
//! `CcsV2Client`, `MessagingClient`) against a loopback capture server, with
//! the example values of LivePerson's documents. The snapshot of an operation
//! (`tests/it/snapshots/it__request_shapes__<operationId>.snap`) shows:
//!
//! - the request line as sent, percent-encoding exactly as on the wire, with
//!   the `access_token` value replaced by `[redacted]`;
//! - the headers that matter, sorted by name: `accept`, `content-type`,
//!   `user-agent` (version redacted) and the credential headers
//!   (`maven-api-key`, `authorization`, `x-lp-on-behalf`) with their values
//!   replaced by `[redacted]`; any other header than these and `host` /
//!   `content-length` fails the test, and so does `api-version`;
//! - the body as pretty JSON (object keys sorted), or `(no body)`. Messaging
//!   request ids are random: they show as `[id]-1`, `[id]-2`.
//!
//! A spec or layer change that changes what goes on the wire changes a
//! snapshot: review it with `cargo insta review`.
//!
//! `every_document_example_has_its_snapshot` then checks the snapshots
//! against the curl examples and JSON bodies of LivePerson's documents,
//! naming each place where a document's own example is wrong. What the
//! documents show is the crate's own data,
//! `tests/fixtures/documented-requests.json`, so the test needs nothing
//! outside the repository; CI's `scripts/docs-check/documented-requests` fails when that
//! file has drifted from the documents.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{CaptureServer, Captured, Reply};
use futures::TryStreamExt;
use liveperson_ccs::messaging::{
    Campaign, ConversationContext, ConversationRequest, CustomerInfo, Gender, PersonalInfo, Urgency,
};
use liveperson_ccs::{CcsV1Client, CcsV2Client, MessagingClient, RetryPolicy};
use serde::Deserialize;
use serde_json::{Value, json};

const ACC: &str = "le12345678";
const NS: &str = "myNamespace";
const SESSION: &str = "mySessionId";
/// 001's (fake) developer key.
const API_KEY: &str = "ABCD12BigSbWF2ZW4tcm91dGluZw==";
/// Has characters the query encoding must escape.
const TOKEN: &str = "tok+en/with=chars";
const APP_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhcHAifQ.c2lnbmF0dXJlLWFwcA";
const CONSUMER_JWS: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjb25zdW1lciJ9.c2lnbmF0dXJlLWNvbnN1bWVy";

fn v1(capture: &CaptureServer) -> CcsV1Client {
    CcsV1Client::builder()
        .account(ACC)
        .api_key(API_KEY)
        .base_url(capture.base_url())
        .build()
        .expect("v1 client")
}

fn v2(capture: &CaptureServer) -> CcsV2Client {
    CcsV2Client::builder()
        .account(ACC)
        .access_token(TOKEN)
        .base_url(capture.base_url())
        .build()
        .expect("v2 client")
}

fn messaging(capture: &CaptureServer) -> MessagingClient {
    MessagingClient::builder()
        .account(ACC)
        .app_jwt(APP_JWT)
        .base_url(capture.base_url())
        .build()
        .expect("messaging client")
}

// ---------------------------------------------------------------------------
// The shape of a request
// ---------------------------------------------------------------------------

/// The headers a snapshot shows.
const SHOWN: &[&str] = &[
    "accept",
    "authorization",
    "content-type",
    "maven-api-key",
    "user-agent",
    "x-lp-on-behalf",
];
/// The headers a request may also carry, not shown.
const TRANSPORT_HEADERS: &[&str] = &["host", "content-length"];

/// The request target with the `access_token` value redacted, after checking
/// it is exactly the token, once.
fn redacted_target(request: &Captured) -> String {
    let Some((path, query)) = request.target.split_once('?') else {
        return request.target.clone();
    };
    let tokens = request.query_values("access_token");
    if !tokens.is_empty() {
        let encoded: String = url_encode(TOKEN);
        assert_eq!(
            tokens,
            [encoded.as_str()],
            "{}: access_token must be sent once, exactly",
            request.request_line()
        );
    }
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("access_token", _)) => "access_token=[redacted]".to_owned(),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

/// `application/x-www-form-urlencoded`, as `query_pairs_mut` writes it.
fn url_encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Replaces the random request ids of a messaging batch by `[id]-N`, after
/// checking they are `<32 hex>-1`, `<32 hex>-2`, ... from one batch.
fn redact_request_ids(body: &mut Value) {
    let Some(items) = body.as_array_mut() else {
        panic!("a messaging body is an array: {body}");
    };
    let mut batch: Option<String> = None;
    for (i, item) in items.iter_mut().enumerate() {
        let id = item["id"].as_str().expect("each payload has a string id");
        let (prefix, n) = id.split_once('-').expect("ids are <batch>-<n>");
        assert!(
            prefix.len() == 32 && prefix.bytes().all(|b| b.is_ascii_hexdigit()),
            "id {id:?}"
        );
        assert_eq!(n, (i + 1).to_string(), "id {id:?} of payload {i}");
        match &batch {
            None => batch = Some(prefix.to_owned()),
            Some(b) => assert_eq!(b, prefix, "the payloads of one call share a batch id"),
        }
        item["id"] = Value::String(format!("[id]-{n}"));
    }
}

/// The snapshot text of one request. Panics on what no request may carry.
fn shape(request: &Captured) -> String {
    let line = request.request_line();
    assert!(
        request.header("api-version").is_none(),
        "{line}: progenitor's api-version header must be removed"
    );
    for (name, _) in &request.headers {
        assert!(
            SHOWN.contains(&name.as_str()) || TRANSPORT_HEADERS.contains(&name.as_str()),
            "{line}: unexpected header {name:?} (add it to SHOWN if it belongs to the shape)"
        );
    }
    let expected_secret = |name: &str| match name {
        "maven-api-key" => Some(API_KEY),
        "authorization" => Some(APP_JWT),
        "x-lp-on-behalf" => Some(CONSUMER_JWS),
        _ => None,
    };
    let mut out = format!("{} {}\n", request.method, redacted_target(request));
    let mut headers: Vec<&(String, String)> = request
        .headers
        .iter()
        .filter(|(name, _)| SHOWN.contains(&name.as_str()))
        .collect();
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, value) in headers {
        let shown = if let Some(secret) = expected_secret(name) {
            assert_eq!(
                value, secret,
                "{line}: the {name} header carries the credential"
            );
            "[redacted]".to_owned()
        } else if name == "user-agent" {
            let ours = concat!("liveperson-ccs/", env!("CARGO_PKG_VERSION"));
            assert_eq!(value, ours, "{line}: the default user agent");
            "liveperson-ccs/[version]".to_owned()
        } else {
            value.clone()
        };
        out.push_str(&format!("{name}: {shown}\n"));
    }
    out.push('\n');
    match request.body_json() {
        None => out.push_str("(no body)"),
        Some(mut body) => {
            if request.path().starts_with("/api/account/") {
                redact_request_ids(&mut body);
            }
            out.push_str(&serde_json::to_string_pretty(&body).expect("JSON prints"));
        }
    }
    out
}

/// The one request the capture server received, as a snapshot shape.
fn only_shape(capture: &CaptureServer) -> String {
    shape(&capture.only_request())
}

// ---------------------------------------------------------------------------
// CCS v1
// ---------------------------------------------------------------------------

#[tokio::test]
async fn create_namespace() {
    let capture = CaptureServer::start().await;
    v1(&capture).create_namespace(NS).await.expect("created");
    insta::assert_snapshot!("create_namespace", only_shape(&capture));
}

#[tokio::test]
async fn list_namespaces() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(
        200,
        &json!([
            {"name": "myCoolNamespace", "createdAt": "2019-08-02T19:41:52.017Z"},
            {"name": "myNamespace", "createdAt": "2021-02-26T02:46:38.220Z", "ttlSecond": 100}
        ]),
    ));
    let list = v1(&capture).list_namespaces().await.expect("listed");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].name, "myCoolNamespace");
    assert_eq!(list[0].ttl, None);
    assert_eq!(list[1].ttl, Some(Duration::from_secs(100)));
    insta::assert_snapshot!("list_namespaces", only_shape(&capture));
}

#[tokio::test]
async fn delete_namespace() {
    let capture = CaptureServer::start().await;
    v1(&capture).delete_namespace(NS).await.expect("deleted");
    insta::assert_snapshot!("delete_namespace", only_shape(&capture));
}

#[tokio::test]
async fn set_namespace_properties() {
    let capture = CaptureServer::start().await;
    let scope = v1(&capture).namespace(NS).expect("names");
    scope
        .set_properties(&json!({"myProperty1": "myValue1", "myProperty2": 2, "myProperty3": {"name": "myValue3"}}))
        .await
        .expect("saved");
    insta::assert_snapshot!("set_namespace_properties", only_shape(&capture));
}

#[tokio::test]
async fn get_namespace_properties() {
    let capture = CaptureServer::start().await;
    let answer =
        json!({"myProperty1": "myValue1", "myProperty2": 2, "myProperty3": {"name": "myValue3"}});
    capture.push(Reply::json(200, &answer));
    let scope = v1(&capture).namespace(NS).expect("names");
    let all = scope.get().await.expect("read");
    assert_eq!(Value::Object(all), answer);
    insta::assert_snapshot!("get_namespace_properties", only_shape(&capture));
}

#[tokio::test]
async fn set_namespace_property() {
    let capture = CaptureServer::start().await;
    let scope = v1(&capture).namespace(NS).expect("names");
    scope
        .set_property("myProperty4", "value4")
        .await
        .expect("saved");
    insta::assert_snapshot!("set_namespace_property", only_shape(&capture));
}

#[tokio::test]
async fn get_namespace_property() {
    let capture = CaptureServer::start().await;
    // 001 shows the answer as the bare text `myValue1`.
    capture.push(Reply::text(200, "myValue1"));
    let scope = v1(&capture).namespace(NS).expect("names");
    let value: Option<String> = scope.get_property("myProperty1").await.expect("read");
    assert_eq!(value.as_deref(), Some("myValue1"));
    insta::assert_snapshot!("get_namespace_property", only_shape(&capture));
}

#[tokio::test]
async fn delete_namespace_property() {
    let capture = CaptureServer::start().await;
    let scope = v1(&capture).namespace(NS).expect("names");
    scope.delete_property("myProperty1").await.expect("deleted");
    insta::assert_snapshot!("delete_namespace_property", only_shape(&capture));
}

#[tokio::test]
async fn set_session_properties() {
    let capture = CaptureServer::start().await;
    let scope = v1(&capture).session(NS, SESSION).expect("names");
    scope
        .set_properties(&json!({"myProperty1": ["value1", "value2", "value3"]}))
        .await
        .expect("saved");
    insta::assert_snapshot!("set_session_properties", only_shape(&capture));
}

#[tokio::test]
async fn get_session_properties() {
    let capture = CaptureServer::start().await;
    let answer = json!({"myProperty1": ["value1", "value2", "value3"]});
    capture.push(Reply::json(200, &answer));
    let scope = v1(&capture).session(NS, SESSION).expect("names");
    assert_eq!(Value::Object(scope.get().await.expect("read")), answer);
    insta::assert_snapshot!("get_session_properties", only_shape(&capture));
}

#[tokio::test]
async fn delete_session_properties() {
    let capture = CaptureServer::start().await;
    let scope = v1(&capture).session(NS, SESSION).expect("names");
    scope.delete().await.expect("deleted");
    insta::assert_snapshot!("delete_session_properties", only_shape(&capture));
}

#[tokio::test]
async fn set_session_property() {
    let capture = CaptureServer::start().await;
    let scope = v1(&capture).session(NS, SESSION).expect("names");
    scope
        .set_property(
            "myProperty2",
            &json!({"name": "value2", "items": ["A", "B", "C"]}),
        )
        .await
        .expect("saved");
    insta::assert_snapshot!("set_session_property", only_shape(&capture));
}

#[tokio::test]
async fn get_session_property() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(200, &json!(["value1", "value2", "value3"])));
    let scope = v1(&capture).session(NS, SESSION).expect("names");
    let value: Option<Vec<String>> = scope.get_property("myProperty1").await.expect("read");
    assert_eq!(
        value,
        Some(vec!["value1".into(), "value2".into(), "value3".into()])
    );
    insta::assert_snapshot!("get_session_property", only_shape(&capture));
}

#[tokio::test]
async fn delete_session_property() {
    let capture = CaptureServer::start().await;
    let scope = v1(&capture).session(NS, SESSION).expect("names");
    scope.delete_property("myProperty1").await.expect("deleted");
    insta::assert_snapshot!("delete_session_property", only_shape(&capture));
}

#[tokio::test]
async fn list_session_ids() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(200, &json!(["__default__", "mySessionId"])));
    let ids: Vec<String> = v1(&capture)
        .session_ids(NS)
        .expect("names")
        .stream()
        .try_collect()
        .await
        .expect("listed");
    assert_eq!(ids, ["__default__", "mySessionId"]);
    // A short page is the last: one request.
    insta::assert_snapshot!("list_session_ids", only_shape(&capture));
}

#[tokio::test]
async fn list_session_properties() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(
        200,
        &json!([{"sessionId": "ss1", "property": {"key1": "val1", "key2": "val2"}}]),
    ));
    let entries: Vec<_> = v1(&capture)
        .session_properties(NS)
        .expect("names")
        .stream()
        .try_collect()
        .await
        .expect("listed");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].session_id, "ss1");
    assert_eq!(entries[0].properties["key2"], "val2");
    insta::assert_snapshot!("list_session_properties", only_shape(&capture));
}

#[tokio::test]
async fn set_session_ttl() {
    let capture = CaptureServer::start().await;
    v1(&capture)
        .session(NS, SESSION)
        .expect("names")
        .set_ttl(Duration::from_secs(100))
        .await
        .expect("set");
    insta::assert_snapshot!("set_session_ttl", only_shape(&capture));
}

#[tokio::test]
async fn list_session_ttls() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(
        200,
        &json!([{"sessionId": "mySessionId", "createdAt": "2021-02-26T07:42:13.868Z", "ttlSecond": 100}]),
    ));
    let list = v1(&capture).list_session_ttls(NS).await.expect("listed");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].session_id, SESSION);
    assert_eq!(list[0].ttl, Duration::from_secs(100));
    insta::assert_snapshot!("list_session_ttls", only_shape(&capture));
}

// ---------------------------------------------------------------------------
// CCS v2
// ---------------------------------------------------------------------------

fn write_result() -> Reply {
    Reply::json(
        200,
        &json!({"documentKey": "le12345678:myNamespace:mySessionId", "tenantId": ACC, "success": true}),
    )
}

fn document(session: Option<&str>) -> Value {
    let mut doc = json!({
        "accountId": ACC,
        "documentKey": format!("{ACC}:{NS}:{}", session.unwrap_or("")),
        "documentType": "CONTEXT",
        "nameSpace": NS,
        "payload": {"Property2": "abc", "property1": 100},
        "tenantId": ACC,
        "ttl": "2021-05-11T22:37:39.176Z"
    });
    if let Some(session) = session {
        doc["sessionId"] = json!(session);
    }
    doc
}

#[tokio::test]
async fn upsert_document() {
    let capture = CaptureServer::start().await;
    let mut created = write_result();
    created.status = 201;
    capture.push(created);
    let doc = v2(&capture).session_document(NS, SESSION).expect("names");
    let result = doc
        .set_properties(
            &json!({"property1": 100, "Property2": "abc"}),
            Duration::from_secs(3600),
        )
        .await
        .expect("saved");
    assert_eq!(result.document_key, "le12345678:myNamespace:mySessionId");
    insta::assert_snapshot!("upsert_document", only_shape(&capture));
}

#[tokio::test]
async fn get_namespace_document() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(200, &document(None)));
    let doc = v2(&capture)
        .namespace_document(NS)
        .expect("names")
        .get()
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(doc.document_key, "le12345678:myNamespace:");
    assert_eq!(doc.session_id, None);
    insta::assert_snapshot!("get_namespace_document", only_shape(&capture));
}

#[tokio::test]
async fn get_session_document() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(200, &document(Some(SESSION))));
    let doc = v2(&capture)
        .session_document(NS, SESSION)
        .expect("names")
        .get()
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(doc.session_id.as_deref(), Some(SESSION));
    assert_eq!(doc.payload["property1"], 100);
    insta::assert_snapshot!("get_session_document", only_shape(&capture));
}

#[tokio::test]
async fn get_document_properties() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(
        200,
        &json!({"myNamespace.property1": 100, "myNamespace.property2": "abc"}),
    ));
    let found = v2(&capture)
        .session_document(NS, SESSION)
        .expect("names")
        .get_properties(["property1", "property2"])
        .await
        .expect("read");
    assert_eq!(
        Value::Object(found),
        json!({"property1": 100, "property2": "abc"})
    );
    insta::assert_snapshot!("get_document_properties", only_shape(&capture));
}

#[tokio::test]
async fn delete_document_properties() {
    let capture = CaptureServer::start().await;
    capture.push(write_result());
    let result = v2(&capture)
        .session_document(NS, SESSION)
        .expect("names")
        .delete_properties(["property1"])
        .await
        .expect("deleted");
    assert_eq!(result.document_key, "le12345678:myNamespace:mySessionId");
    insta::assert_snapshot!("delete_document_properties", only_shape(&capture));
}

// ---------------------------------------------------------------------------
// Messaging
// ---------------------------------------------------------------------------

/// Answers a CONVERSATION batch as 004 shows, echoing the request ids.
fn answer_conversations(capture: &CaptureServer) {
    capture.respond_with(|request| {
        let body = request.body_json()?;
        let ids: Vec<Value> = body.as_array()?.iter().map(|p| p["id"].clone()).collect();
        Some(Reply::json(
            200,
            &json!([
                {"code": "OK", "body": {"msg": "OK User Profile set successfully"}, "reqId": ids[0]},
                {"code": "OK", "body": {"conversationId": "8602832d-dce1-446b-8445-0d51f5926a42"}, "reqId": ids[1]}
            ]),
        ))
    });
}

/// 004's full example: both SDEs, the campaign, the conversation context,
/// skill -1 and urgency NORMAL.
fn full_request() -> ConversationRequest {
    ConversationRequest::new()
        .customer_info(CustomerInfo {
            social_id: Some("1234567890".into()),
            ctype: Some("vip".into()),
        })
        .personal_info(PersonalInfo {
            firstname: Some("John".into()),
            lastname: Some("Doe".into()),
            gender: Some(Gender::Male),
        })
        .urgency(Urgency::Normal)
        .campaign(Campaign {
            campaign_id: "99999".into(),
            engagement_id: "888888".into(),
        })
        .context(ConversationContext {
            visitor_id: Some("A3ZTY3Zjk1MDExZTczYTU4".into()),
            session_id: Some("ys2wSqaSRSOJGki7VhEDKQ".into()),
            interaction_context_id: Some("2".into()),
            context_type: Some("SharkContext".into()),
            lang: Some("en-US".into()),
        })
        .skill("-1")
}

#[tokio::test]
async fn create_conversation() {
    let capture = CaptureServer::start().await;
    answer_conversations(&capture);
    let conversation = messaging(&capture)
        .create_conversation(CONSUMER_JWS, &full_request())
        .await
        .expect("opened");
    assert_eq!(
        conversation.conversation_id,
        "8602832d-dce1-446b-8445-0d51f5926a42"
    );
    assert_eq!(
        conversation.profile_message.as_deref(),
        Some("OK User Profile set successfully")
    );
    insta::assert_snapshot!("create_conversation", only_shape(&capture));
}

// ---------------------------------------------------------------------------
// Edges
// ---------------------------------------------------------------------------

/// 004's minimal batch, and `v=3` on the request line.
#[tokio::test]
async fn create_conversation_minimal() {
    let capture = CaptureServer::start().await;
    answer_conversations(&capture);
    messaging(&capture)
        .create_conversation(CONSUMER_JWS, &ConversationRequest::new())
        .await
        .expect("opened");
    let request = capture.only_request();
    assert_eq!(request.query_values("v"), ["3"]);
    insta::assert_snapshot!("create_conversation_minimal", shape(&request));
}

/// The namespace TTL: `ttlSecond` in the query of `POST /v1/account/{acc}`.
#[tokio::test]
async fn set_namespace_ttl() {
    let capture = CaptureServer::start().await;
    v1(&capture)
        .set_namespace_ttl(NS, Duration::from_secs(100))
        .await
        .expect("set");
    insta::assert_snapshot!("set_namespace_ttl", only_shape(&capture));
}

#[tokio::test]
async fn session_id_percent_encoded() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(200, &json!("v")));
    let scope = v1(&capture).session(NS, "a b/c?d").expect("names");
    let value: Option<String> = scope.get_property("myProperty1").await.expect("read");
    assert_eq!(value.as_deref(), Some("v"));
    let request = capture.only_request();
    assert_eq!(
        request.path(),
        "/v1/account/le12345678/myNamespace/a%20b%2Fc%3Fd/properties/myProperty1"
    );
    insta::assert_snapshot!("session_id_percent_encoded", shape(&request));
}

#[tokio::test]
async fn include_several() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(200, &json!({"myProperty1": "myValue1"})));
    let scope = v1(&capture).session(NS, SESSION).expect("names");
    let found = scope
        .get_properties(["myProperty1", "myProperty2", "myProperty3"])
        .await
        .expect("read");
    assert_eq!(found.len(), 1);
    insta::assert_snapshot!("include_several", only_shape(&capture));
}

#[tokio::test]
async fn page_and_per_page() {
    let capture = CaptureServer::start().await;
    capture.push(Reply::json(200, &json!(["s101", "s102"])));
    let page = v1(&capture)
        .session_ids(NS)
        .expect("names")
        .page_size(50)
        .page(2)
        .await
        .expect("read");
    assert_eq!(page, ["s101", "s102"]);
    let request = capture.only_request();
    assert_eq!(request.query_values("page"), ["2"]);
    assert_eq!(request.query_values("perPage"), ["50"]);
    insta::assert_snapshot!("page_and_per_page", shape(&request));
}

/// The whole-document delete: the same path as deleting properties, without
/// `propertyToDelete`.
#[tokio::test]
async fn delete_whole_document() {
    let capture = CaptureServer::start().await;
    capture.push(write_result());
    v2(&capture)
        .session_document(NS, SESSION)
        .expect("names")
        .delete()
        .await
        .expect("deleted");
    insta::assert_snapshot!("delete_whole_document", only_shape(&capture));
}

/// A 429 then a 204: the same request is sent twice, each time whole.
#[tokio::test]
async fn retried_request() {
    let capture = CaptureServer::start().await;
    capture.push(
        Reply::json(429, &json!({"message": "Too many requests"})).header("Retry-After", "0"),
    );
    capture.push(Reply::status(204));
    let client = CcsV1Client::builder()
        .account(ACC)
        .api_key(API_KEY)
        .base_url(capture.base_url())
        .retry_policy(RetryPolicy::default().with_max_attempts(3))
        .build()
        .expect("v1 client");
    client
        .namespace(NS)
        .expect("names")
        .set_properties(&json!({"myProperty1": "myValue1"}))
        .await
        .expect("saved on the second attempt");
    let requests = capture.requests();
    assert_eq!(requests.len(), 2, "one retry, then success");
    let shapes: Vec<String> = requests.iter().map(shape).collect();
    assert_eq!(
        shapes[0], shapes[1],
        "a retry resends the request unchanged"
    );
    let mut text = String::new();
    for (i, (request, status)) in requests.iter().zip([429, 204]).enumerate() {
        text.push_str(&format!(
            "attempt {}: {} -> {status}\n",
            i + 1,
            request.request_line()
        ));
    }
    text.push_str("\nevery attempt:\n");
    text.push_str(&shapes[0]);
    insta::assert_snapshot!("retried_request", text);
}

// ---------------------------------------------------------------------------
// The snapshots against the documents
// ---------------------------------------------------------------------------

/// The operations whose shapes the documents must all show.
const OPERATIONS: [&str; 24] = [
    "create_namespace",
    "list_namespaces",
    "delete_namespace",
    "set_namespace_properties",
    "get_namespace_properties",
    "set_namespace_property",
    "get_namespace_property",
    "delete_namespace_property",
    "set_session_properties",
    "get_session_properties",
    "delete_session_properties",
    "set_session_property",
    "get_session_property",
    "delete_session_property",
    "list_session_ids",
    "list_session_properties",
    "set_session_ttl",
    "list_session_ttls",
    "upsert_document",
    "get_namespace_document",
    "get_session_document",
    "get_document_properties",
    "delete_document_properties",
    "create_conversation",
];

/// A request snapshot, read back from its file.
#[derive(Debug)]
struct Snapshot {
    name: String,
    method: String,
    target: String,
    headers: BTreeMap<String, String>,
    body: Option<Value>,
}

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots")
}

/// Every single-request snapshot of this file (not `retried_request`).
fn read_snapshots() -> BTreeMap<String, Snapshot> {
    let mut snapshots = BTreeMap::new();
    let entries = std::fs::read_dir(snapshot_dir()).expect("tests/it/snapshots is readable");
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(name) = file
            .strip_prefix("it__request_shapes__")
            .and_then(|f| f.strip_suffix(".snap"))
        else {
            continue;
        };
        if name == "retried_request" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("snapshot is readable");
        snapshots.insert(name.to_owned(), parse_snapshot(name, &text));
    }
    snapshots
}

fn parse_snapshot(name: &str, text: &str) -> Snapshot {
    // insta's header: `---`, metadata lines, `---`.
    let mut parts = text.splitn(3, "---\n");
    let (Some(""), Some(_meta), Some(content)) = (parts.next(), parts.next(), parts.next()) else {
        panic!("{name}: not an insta snapshot file");
    };
    let (head, body) = content
        .split_once("\n\n")
        .unwrap_or_else(|| panic!("{name}: no blank line after the headers"));
    let mut lines = head.lines();
    let request_line = lines.next().expect("a request line");
    let (method, target) = request_line
        .split_once(' ')
        .unwrap_or_else(|| panic!("{name}: bad request line {request_line:?}"));
    let headers = lines
        .map(|line| {
            let (n, v) = line
                .split_once(": ")
                .unwrap_or_else(|| panic!("{name}: bad header line {line:?}"));
            (n.to_owned(), v.to_owned())
        })
        .collect();
    let body = body.trim_end();
    let body = (body != "(no body)").then(|| {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{name}: body is not JSON: {e}"))
    });
    Snapshot {
        name: name.to_owned(),
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        body,
    }
}

/// The requests LivePerson's documents show, as `scripts/docs-check/documented-requests`
/// derives them from the documents (`../shared/seeds/`, which a clone of the
/// repository does not have): the crate's own copy, which CI checks against
/// the documents.
const FIXTURE: &str = "tests/fixtures/documented-requests.json";

/// What the documents show (see [`FIXTURE`]).
#[derive(Debug, Deserialize)]
struct Documented {
    /// The curl examples of 001 (CCS v1 methods) and 002 (CCS v2 methods).
    curl_examples: Vec<Curl>,
    /// 004 (Messaging CONVERSATION).
    messaging: Messaging004,
}

/// One curl example of a document, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Curl {
    /// `001` or `002`.
    document: String,
    /// 1-based line of `curl` in the document.
    line: usize,
    /// The section it belongs to.
    heading: String,
    /// In an HTML comment (an unsupported feature): no operation.
    in_html_comment: bool,
    method: String,
    url: String,
    path: String,
    query: Option<String>,
    /// Lowercase name and value; credential values are `[redacted]`.
    headers: Vec<(String, String)>,
    /// The `-d` text as a shell passes it to curl.
    data: Option<String>,
    /// The `-d` argument as the document writes it, quotes and all.
    data_as_written: Option<String>,
    /// `data` when it is JSON.
    body: Option<Value>,
}

impl Curl {
    fn label(&self) -> String {
        format!("{} line {} ({})", self.document, self.line, self.heading)
    }

    fn data_contains(&self, text: &str) -> bool {
        self.data.as_deref().is_some_and(|d| d.contains(text))
    }
}

/// What 004 shows of the CONVERSATION request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Messaging004 {
    document: String,
    /// `METHOD URL` lines.
    request_lines: Vec<String>,
    /// Lowercase names of the request headers it lists.
    request_headers: Vec<String>,
    content_types: Vec<String>,
    /// The request-body examples: payloads of `"key": "value"` pairs.
    bodies: Vec<Vec<Payload004>>,
}

fn read_fixture() -> Documented {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} is not readable: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{FIXTURE} is not as scripts/docs-check/documented-requests writes it: {e}; \
             rewrite it with `scripts/docs-check/documented-requests --write`"
        )
    })
}

/// A request as a document shows it, ready to compare with a snapshot.
#[derive(Debug)]
struct Expected {
    method: String,
    target: String,
    body: Option<Value>,
}

/// The request target of a curl example: its path and query, `{accountId}`
/// filled in, `{Token}` as the snapshots redact it.
fn target_of(curl: &Curl) -> String {
    let url = &curl.url;
    assert!(
        url.starts_with("https://{domain}/") || url.starts_with("http://{domain}/"),
        "{}: URL {url:?} does not start with http(s)://{{domain}}/",
        curl.label()
    );
    let target = match &curl.query {
        Some(query) => format!("{}?{query}", curl.path),
        None => curl.path.clone(),
    };
    target
        .replace("{accountId}", ACC)
        .replace("{Token}", "[redacted]")
}

/// Where a document's own example is wrong or differs on purpose, and why.
/// Each must apply exactly `applies` times: when a document is fixed, the
/// test says which exception to remove.
struct Exception {
    name: &'static str,
    why: &'static str,
    document: &'static str,
    applies: usize,
    matches: fn(&Curl) -> bool,
    /// Rewrites the example into the request it means.
    fix: fn(&Curl, &mut Expected),
    /// The snapshot the fixed example must equal, when the exception decides it.
    snapshot: Option<&'static str>,
}

fn no_fix(_: &Curl, _: &mut Expected) {}

const EXCEPTIONS: &[Exception] = &[
    Exception {
        name: "001: namespace ns1 in the listing examples",
        why: "the session-ids and session-properties examples use the namespace `ns1` where \
              every other example uses `myNamespace`; the snapshots use `myNamespace` \
              throughout, so `ns1` is read as `myNamespace`",
        document: "001",
        applies: 2,
        matches: |c| c.url.contains("/ns1/"),
        fix: |_, e| e.target = e.target.replace("/ns1/", &format!("/{NS}/")),
        snapshot: None,
    },
    Exception {
        name: "002: delete-specific example has the wrong path",
        why: "the curl under \"Delete properties within a namespace or session\" calls \
              `/v2/context/document/delete`; the method table right above it (and the \
              other delete example) name `/v2/context/document/property/delete`",
        document: "002",
        applies: 1,
        matches: |c| c.url.contains("/v2/context/document/delete"),
        fix: |_, e| {
            e.target = e.target.replace(
                "/v2/context/document/delete",
                "/v2/context/document/property/delete",
            )
        },
        snapshot: None,
    },
    Exception {
        name: "002: delete-specific example's body is not valid shell quoting",
        why: "its -d \"{\"accountId\":...}\" leaves the inner quotes unescaped, so a shell \
              would send `{accountId:le12345678,...}`; the text between the outer quotes is \
              the JSON meant",
        document: "002",
        applies: 1,
        matches: |c| {
            c.data_as_written
                .as_deref()
                .is_some_and(|d| d.starts_with("\"{\"accountId\""))
        },
        fix: |c, e| {
            let written = c.data_as_written.as_deref().expect("matched on it");
            let inner = written
                .strip_prefix('"')
                .and_then(|d| d.strip_suffix('"'))
                .expect("-d \"...\"");
            e.body = Some(serde_json::from_str(inner).expect("the raw text is JSON"));
        },
        snapshot: None,
    },
    Exception {
        name: "002: the two delete examples are swapped (1/2)",
        why: "the curl under \"Delete properties within a namespace or session\" (delete \
              specific properties) sends no `propertyToDelete`: that is the request that \
              deletes the whole document",
        document: "002",
        applies: 1,
        matches: |c| {
            c.heading.starts_with("Delete properties within")
                && !c.data_contains("propertyToDelete")
        },
        fix: no_fix,
        snapshot: Some("delete_whole_document"),
    },
    Exception {
        name: "002: the two delete examples are swapped (2/2)",
        why: "the curl under \"Delete all properties within a namespace or session\" sends \
              `propertyToDelete: [\"property1\"]`: that is the request that deletes \
              specific properties",
        document: "002",
        applies: 1,
        matches: |c| {
            c.heading.starts_with("Delete all properties") && c.data_contains("propertyToDelete")
        },
        fix: no_fix,
        snapshot: Some("delete_document_properties"),
    },
];

/// 001's example of an unsupported feature sits in an HTML comment: it is no
/// operation and is not compared.
const COMMENTED_OUT_001: usize = 1;
const EXAMPLES_001: usize = 21;
const EXAMPLES_002: usize = 6;
const BODIES_004: usize = 3;

#[test]
fn every_document_example_has_its_snapshot() {
    let snapshots = read_snapshots();
    for op in OPERATIONS {
        assert!(
            snapshots.contains_key(op),
            "no snapshot for {op}: run the shape tests first \
             (INSTA_UPDATE=always cargo test --test it request_shapes::) and review them"
        );
    }
    let mut used = vec![0usize; EXCEPTIONS.len()];
    let mut matched: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut failures = Vec::new();

    let documented = read_fixture();
    let (commented, examples): (Vec<&Curl>, Vec<&Curl>) = documented
        .curl_examples
        .iter()
        .partition(|c| c.in_html_comment);
    assert_eq!(
        commented.iter().filter(|c| c.document == "001").count(),
        COMMENTED_OUT_001,
        "001: curl examples inside HTML comments (unsupported features): {commented:#?}"
    );
    assert_eq!(
        commented.len(),
        COMMENTED_OUT_001,
        "only 001 has commented-out examples"
    );
    let of = |document: &str| -> Vec<&Curl> {
        examples
            .iter()
            .copied()
            .filter(|c| c.document == document)
            .collect()
    };
    let (examples_001, examples_002) = (of("001"), of("002"));
    assert_eq!(
        examples.len(),
        examples_001.len() + examples_002.len(),
        "curl examples of documents other than 001 and 002"
    );
    assert_eq!(
        examples_001.len(),
        EXAMPLES_001,
        "001: curl examples: {examples_001:#?}"
    );
    assert_eq!(
        examples_002.len(),
        EXAMPLES_002,
        "002: curl examples: {examples_002:#?}"
    );

    for curl in examples_001.iter().chain(&examples_002).copied() {
        let mut expected = Expected {
            method: curl.method.to_ascii_uppercase(),
            target: target_of(curl),
            body: None,
        };
        let mut forced = None;
        let mut body_fixed = false;
        for (i, exception) in EXCEPTIONS.iter().enumerate() {
            if exception.document == curl.document && (exception.matches)(curl) {
                used[i] += 1;
                let before = expected.body.clone();
                (exception.fix)(curl, &mut expected);
                body_fixed |= expected.body != before;
                if exception.snapshot.is_some() {
                    forced = exception.snapshot;
                }
            }
        }
        if !body_fixed && let Some(data) = &curl.data {
            match &curl.body {
                Some(body) => expected.body = Some(body.clone()),
                None => {
                    failures.push(format!("{}: the -d body is not JSON: {data}", curl.label()));
                    continue;
                }
            }
        }
        let candidates: Vec<&Snapshot> = snapshots
            .values()
            .filter(|s| forced.is_none_or(|f| s.name == f))
            .filter(|s| {
                s.method == expected.method
                    && s.target == expected.target
                    && s.body == expected.body
            })
            .collect();
        let Some(snapshot) = candidates.first() else {
            failures.push(format!(
                "{}: no snapshot{} is {} {} with body {}",
                curl.label(),
                forced.map(|f| format!(" ({f})")).unwrap_or_default(),
                expected.method,
                expected.target,
                expected
                    .body
                    .as_ref()
                    .map_or("(none)".into(), Value::to_string)
            ));
            continue;
        };
        // The headers the example sends that belong to the shape.
        for (name, value) in &curl.headers {
            let problem = match name.as_str() {
                "maven-api-key" => {
                    snapshot.headers.get(name).map(String::as_str) != Some("[redacted]")
                }
                "content-type" => {
                    snapshot.headers.get(name).map(String::as_str) != Some(value.as_str())
                }
                _ => false,
            };
            if problem {
                failures.push(format!(
                    "{}: sends {name}: {value}, snapshot {} has {:?}",
                    curl.label(),
                    snapshot.name,
                    snapshot.headers.get(name)
                ));
            }
        }
        if curl.url.contains("access_token=")
            && !snapshot.target.contains("access_token=[redacted]")
        {
            failures.push(format!(
                "{}: {} has no access_token",
                curl.label(),
                snapshot.name
            ));
        }
        matched
            .entry(snapshot.name.clone())
            .or_default()
            .push(curl.label());
    }

    // 004: the request URI, the headers and the JSON bodies.
    let messaging = &documented.messaging;
    assert_eq!(messaging.document, "004");
    let uri = "POST https://{domain}/api/account/{accountid}/messaging/consumer/conversation?v=3";
    assert_eq!(
        messaging.request_lines,
        [uri],
        "004 no longer shows (only) {uri}"
    );
    let bodies = &messaging.bodies;
    assert_eq!(bodies.len(), BODIES_004, "004: request body examples");
    for (n, payloads) in bodies.iter().enumerate() {
        let label = format!("004 request body {}", n + 1);
        let fitting: Vec<&Snapshot> = snapshots
            .values()
            .filter(|s| s.target.starts_with("/api/"))
            .filter(|s| fits_004(payloads, s.body.as_ref()).is_ok())
            .collect();
        let Some(snapshot) = fitting.first() else {
            let reasons: Vec<String> = snapshots
                .values()
                .filter(|s| s.target.starts_with("/api/"))
                .map(|s| {
                    format!(
                        "{}: {}",
                        s.name,
                        fits_004(payloads, s.body.as_ref()).unwrap_err()
                    )
                })
                .collect();
            failures.push(format!("{label} fits no snapshot: {reasons:#?}"));
            continue;
        };
        assert_eq!(
            format!("{} {}", snapshot.method, snapshot.target),
            format!("POST /api/account/{ACC}/messaging/consumer/conversation?v=3"),
            "{label}: the request URI 004 gives"
        );
        // 004's headers are credentials: the snapshot shows them redacted.
        for header in &messaging.request_headers {
            assert_eq!(
                snapshot.headers.get(header).map(String::as_str),
                Some("[redacted]"),
                "{label}: 004 requires {header}"
            );
        }
        for content_type in &messaging.content_types {
            assert_eq!(
                snapshot.headers.get("content-type"),
                Some(content_type),
                "{label}: 004's content type"
            );
        }
        matched
            .entry(snapshot.name.clone())
            .or_default()
            .push(label);
    }

    for (exception, used) in EXCEPTIONS.iter().zip(&used) {
        if *used != exception.applies {
            failures.push(format!(
                "exception {:?} applied {used} times, expected {}: has the document changed? ({})",
                exception.name, exception.applies, exception.why
            ));
        }
    }
    let unmatched: BTreeSet<&str> = OPERATIONS
        .iter()
        .copied()
        .filter(|op| !matched.contains_key(*op))
        .collect();
    if !unmatched.is_empty() {
        failures.push(format!("no document example for {unmatched:?}"));
    }
    assert!(
        failures.is_empty(),
        "the snapshots disagree with the documents:\n{}\n\nmatched: {matched:#?}",
        failures.join("\n")
    );
}

/// One payload of a 004 example: its `"key": "value"` pairs (`None`: `{}`).
type Payload004 = Vec<(String, Option<String>)>;

/// Whether `value` holds, at any depth, `key` with the string `expected`
/// (`None`: an empty object).
fn holds(value: &Value, key: &str, expected: Option<&str>) -> bool {
    match value {
        Value::Object(map) => {
            map.get(key).is_some_and(|v| match expected {
                Some(s) => v.as_str() == Some(s),
                None => v.as_object().is_some_and(|o| o.is_empty()),
            }) || map.values().any(|v| holds(v, key, expected))
        }
        Value::Array(items) => items.iter().any(|v| holds(v, key, expected)),
        _ => false,
    }
}

/// Whether a snapshot body holds every pair of every payload of a 004
/// example, payload by payload, in order. 004's ids are the literal `"1,"`
/// and `"2,"`; the client sends `<batch>-1`, `<batch>-2` (snapshot `[id]-N`),
/// so an id is compared by its position. `{accountid}` is our account.
fn fits_004(payloads: &[Payload004], body: Option<&Value>) -> Result<(), String> {
    let items = body
        .and_then(Value::as_array)
        .ok_or("the body is not an array")?;
    if items.len() != payloads.len() {
        return Err(format!(
            "{} payloads, 004 shows {}",
            items.len(),
            payloads.len()
        ));
    }
    for (n, (item, pairs)) in items.iter().zip(payloads).enumerate() {
        for (key, value) in pairs {
            let value = match (key.as_str(), value.as_deref()) {
                ("id", Some(id)) => {
                    assert_eq!(id, format!("{},", n + 1), "004's ids are \"1,\", \"2,\"");
                    Some(format!("[id]-{}", n + 1))
                }
                (_, Some(v)) => Some(v.replace("{accountid}", ACC)),
                (_, None) => None,
            };
            if !holds(item, key, value.as_deref()) {
                return Err(format!(
                    "payload {} lacks \"{key}\": {}",
                    n + 1,
                    value.map_or("{}".into(), |v| format!("{v:?}"))
                ));
            }
        }
    }
    Ok(())
}
