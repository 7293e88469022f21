//! Snapshots of every request the crate sends, captured on the wire.
//!
//! Each operation is called through the public layer (`CcsV1Client`,
//! `CcsV2Client`, `MessagingClient`) against a loopback capture server, with
//! the example values of LivePerson's documents. The snapshot of an operation
//! (`tests/snapshots/request_shapes__<operationId>.snap`) shows:
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
//! against the curl examples and JSON bodies of the documents in
//! `../shared/seeds/`, naming each place where a document's own example is
//! wrong.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::TryStreamExt;
use liveperson_ccs::messaging::{
    Campaign, ConversationContext, ConversationRequest, CustomerInfo, Gender, PersonalInfo, Urgency,
};
use liveperson_ccs::{CcsV1Client, CcsV2Client, MessagingClient, RetryPolicy};
use serde_json::{Value, json};
use support::{CaptureServer, Captured, Reply};

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
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

/// Every single-request snapshot of this file (not `retried_request`).
fn read_snapshots() -> BTreeMap<String, Snapshot> {
    let mut snapshots = BTreeMap::new();
    let entries = std::fs::read_dir(snapshot_dir()).expect("tests/snapshots is readable");
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(name) = file
            .strip_prefix("request_shapes__")
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

fn seeds_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/seeds/"));
    assert!(
        dir.is_dir(),
        "the LivePerson documents are missing: expected them in {} (001 = CCS v1 \
         methods, 002 = CCS v2 methods, 004 = Messaging CONVERSATION). This \
         test checks the request snapshots against them and cannot run without them.",
        dir.display()
    );
    dir
}

fn read_seed(prefix: &str) -> String {
    let dir = seeds_dir();
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("seeds dir is readable")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{prefix}_")))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one document {prefix}_*.txt in {}, found {found:?}",
        dir.display()
    );
    std::fs::read_to_string(found.remove(0)).expect("seed is readable")
}

/// Splits a shell command into words: quotes, escapes and `\`-newline
/// continuations as a POSIX shell reads them; an unquoted newline is
/// whitespace (001 breaks one command across lines without a `\`).
fn shell_words(text: &str) -> Vec<String> {
    shell_scan(text).0
}

/// The words of a command, and whether it ends inside a quote or after a
/// `\` (so the command goes on on the next line).
fn shell_scan(text: &str) -> (Vec<String>, bool) {
    let mut open = false;
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                open = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        open = false;
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                open = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => {
                            open = false;
                            break;
                        }
                        '\\' => match chars.peek() {
                            Some('"' | '\\' | '$' | '`') => word.push(chars.next().unwrap()),
                            Some('\n') => {
                                chars.next();
                            }
                            _ => word.push('\\'),
                        },
                        c => word.push(c),
                    }
                }
            }
            '\\' => match chars.next() {
                None => open = true,
                Some('\n') => {}
                Some(c) => {
                    in_word = true;
                    word.push(c);
                }
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    (words, open)
}

/// One curl example of a document.
#[derive(Debug, Clone)]
struct Curl {
    seed: &'static str,
    /// 1-based line of `curl` in the document.
    line: usize,
    /// The section it belongs to.
    heading: String,
    /// The command as written.
    text: String,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    data: Option<String>,
}

impl Curl {
    fn label(&self) -> String {
        format!("{} line {} ({})", self.seed, self.line, self.heading)
    }
}

fn parse_curl(seed: &'static str, line: usize, heading: String, text: String) -> Curl {
    let words = shell_words(&text);
    assert_eq!(words.first().map(String::as_str), Some("curl"), "{text}");
    let mut method = None;
    let mut url = None;
    let mut headers = Vec::new();
    let mut data = None;
    let mut rest = words[1..].iter();
    while let Some(word) = rest.next() {
        let mut value = || {
            rest.next()
                .unwrap_or_else(|| panic!("{seed} line {line}: {word} without a value"))
                .clone()
        };
        match word.as_str() {
            "-X" | "--request" => method = Some(value()),
            "--url" => url = Some(value()),
            "-H" | "--header" => {
                let header = value();
                let (name, v) = header
                    .split_once(':')
                    .unwrap_or_else(|| panic!("{seed} line {line}: header {header:?}"));
                headers.push((name.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
            "-d" | "--data" | "--data-raw" => data = Some(value()),
            w if w.starts_with('-') => panic!("{seed} line {line}: curl option {w} not understood"),
            w => {
                assert!(url.is_none(), "{seed} line {line}: two URLs");
                url = Some(w.to_owned());
            }
        }
    }
    let url = url.unwrap_or_else(|| panic!("{seed} line {line}: no URL"));
    let method = method.unwrap_or_else(|| if data.is_some() { "POST" } else { "GET" }.into());
    Curl {
        seed,
        line,
        heading,
        text,
        method,
        url,
        headers,
        data,
    }
}

/// Removes `<!-- ... -->` blocks, keeping their lines (as blanks) so line
/// numbers stay right; returns the text and the removed blocks.
fn strip_html_comments(text: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut removed = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("-->")
            .map(|e| start + e + 3)
            .unwrap_or(rest.len());
        let comment = &rest[start..end];
        out.push_str(&"\n".repeat(comment.matches('\n').count()));
        removed.push(comment.to_owned());
        rest = &rest[end..];
    }
    out.push_str(rest);
    (out, removed)
}

/// Every curl example of a document: a line starting with `curl`, and the
/// lines after it while the command is unfinished (inside a quote, after a
/// `\`) or the next line goes on with a quoted argument or an option (001
/// breaks `curl -X POST` / `"https://..."` across two lines).
fn curl_examples(seed: &'static str, text: &str) -> Vec<Curl> {
    let lines: Vec<&str> = text.lines().collect();
    let heading_of = |at: usize| -> String {
        for i in (0..at).rev() {
            let line = lines[i].trim();
            if line.starts_with('#') {
                return line.trim_start_matches('#').trim().to_owned();
            }
            // 002 is plain text: a heading is the line before "This API ...".
            let next = lines[i + 1..at]
                .iter()
                .map(|l| l.trim())
                .find(|l| !l.is_empty());
            if !line.is_empty() && next.is_some_and(|n| n.starts_with("This API")) {
                return line.to_owned();
            }
        }
        String::from("(no heading)")
    };
    let mut examples = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start().starts_with("curl ") {
            let start = i;
            let mut command = Vec::new();
            while i < lines.len() {
                command.push(lines[i]);
                i += 1;
                let unfinished = shell_scan(&command.join("\n")).1;
                let goes_on = lines
                    .get(i)
                    .map(|l| l.trim_start())
                    .is_some_and(|l| l.starts_with(['"', '\'', '-']));
                if !(unfinished || goes_on) {
                    break;
                }
            }
            examples.push(parse_curl(
                seed,
                start + 1,
                heading_of(start),
                command.join("\n"),
            ));
        } else {
            i += 1;
        }
    }
    examples
}

/// A request as a document shows it, ready to compare with a snapshot.
#[derive(Debug)]
struct Expected {
    method: String,
    target: String,
    body: Option<Value>,
}

/// The request target of a curl URL: `{domain}` dropped, `{accountId}`
/// filled in, `{Token}` as the snapshots redact it.
fn target_of(url: &str) -> String {
    let without_scheme = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("URL {url:?} is not http(s)"));
    let path = without_scheme
        .strip_prefix("{domain}")
        .unwrap_or_else(|| panic!("URL {url:?} does not start with {{domain}}"));
    path.replace("{accountId}", ACC)
        .replace("{Token}", "[redacted]")
}

/// Where a document's own example is wrong or differs on purpose, and why.
/// Each must apply exactly `applies` times: when a document is fixed, the
/// test says which exception to remove.
struct Exception {
    name: &'static str,
    why: &'static str,
    seed: &'static str,
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
        seed: "001",
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
        seed: "002",
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
        seed: "002",
        applies: 1,
        matches: |c| c.text.contains("-d \"{\"accountId\""),
        fix: |c, e| {
            let start = c.text.find("-d \"").expect("-d") + 4;
            let end = c.text.rfind('"').expect("closing quote");
            e.body = Some(serde_json::from_str(&c.text[start..end]).expect("the raw text is JSON"));
        },
        snapshot: None,
    },
    Exception {
        name: "002: the two delete examples are swapped (1/2)",
        why: "the curl under \"Delete properties within a namespace or session\" (delete \
              specific properties) sends no `propertyToDelete`: that is the request that \
              deletes the whole document",
        seed: "002",
        applies: 1,
        matches: |c| {
            c.heading.starts_with("Delete properties within")
                && !c.text.contains("propertyToDelete")
        },
        fix: no_fix,
        snapshot: Some("delete_whole_document"),
    },
    Exception {
        name: "002: the two delete examples are swapped (2/2)",
        why: "the curl under \"Delete all properties within a namespace or session\" sends \
              `propertyToDelete: [\"property1\"]`: that is the request that deletes \
              specific properties",
        seed: "002",
        applies: 1,
        matches: |c| {
            c.heading.starts_with("Delete all properties") && c.text.contains("propertyToDelete")
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
             (INSTA_UPDATE=always cargo test --test request_shapes) and review them"
        );
    }
    let mut used = vec![0usize; EXCEPTIONS.len()];
    let mut matched: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut failures = Vec::new();

    let (text_001, comments_001) = strip_html_comments(&read_seed("001"));
    let commented = comments_001.iter().filter(|c| c.contains("curl ")).count();
    assert_eq!(
        commented, COMMENTED_OUT_001,
        "001: curl examples inside HTML comments (unsupported features)"
    );
    let examples_001 = curl_examples("001", &text_001);
    let examples_002 = curl_examples("002", &read_seed("002"));
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

    for curl in examples_001.iter().chain(&examples_002) {
        let mut expected = Expected {
            method: curl.method.to_ascii_uppercase(),
            target: target_of(&curl.url),
            body: None,
        };
        let mut forced = None;
        let mut body_fixed = false;
        for (i, exception) in EXCEPTIONS.iter().enumerate() {
            if exception.seed == curl.seed && (exception.matches)(curl) {
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
            match serde_json::from_str(data) {
                Ok(body) => expected.body = Some(body),
                Err(e) => {
                    failures.push(format!(
                        "{}: the -d body is not JSON ({e}): {data}",
                        curl.label()
                    ));
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
    let text_004 = read_seed("004");
    let uri = "POST https://{domain}/api/account/{accountid}/messaging/consumer/conversation?v=3";
    assert!(text_004.contains(uri), "004 no longer shows {uri}");
    let bodies = json_bodies_004(&text_004);
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
        for header in ["authorization", "x-lp-on-behalf"] {
            assert_eq!(
                snapshot.headers.get(header).map(String::as_str),
                Some("[redacted]"),
                "{label}: 004 requires {header}"
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

/// 004's request bodies: its JSON lost its braces and brackets in
/// extraction, so each example is read as the `"key": "value"` (and
/// `"key": {}`) pairs of each payload, split at each `"kind"`.
fn json_bodies_004(text: &str) -> Vec<Vec<Payload004>> {
    let mut runs: Vec<Vec<&str>> = Vec::new();
    let mut run = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with(['"', '{', '}', '[', ']']) {
            run.push(t);
        } else if !run.is_empty() {
            runs.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs.into_iter()
        .filter(|run| run.iter().any(|l| l.starts_with("\"kind\"")))
        .map(|run| {
            let mut payloads: Vec<Payload004> = Vec::new();
            for line in run {
                if line.starts_with("\"kind\"") {
                    payloads.push(Vec::new());
                }
                let current = payloads.last_mut().expect("a payload starts with \"kind\"");
                current.extend(pairs(line));
            }
            payloads
        })
        .collect()
}

/// The `"key": "value"` (value `Some`) and `"key": {}` (value `None`) pairs of a line.
fn pairs(line: &str) -> Vec<(String, Option<String>)> {
    #[derive(PartialEq)]
    enum Token {
        Str(String),
        Colon,
        Open,
        Close,
        Other,
    }
    let mut tokens = Vec::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => s.extend(chars.next()),
                        c => s.push(c),
                    }
                }
                tokens.push(Token::Str(s));
            }
            ':' => tokens.push(Token::Colon),
            '{' => tokens.push(Token::Open),
            '}' => tokens.push(Token::Close),
            c if c.is_whitespace() => {}
            _ => tokens.push(Token::Other),
        }
    }
    let mut out = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let Token::Str(key) = token else { continue };
        if tokens.get(i + 1) != Some(&Token::Colon) {
            continue;
        }
        match (tokens.get(i + 2), tokens.get(i + 3)) {
            (Some(Token::Str(value)), _) => out.push((key.clone(), Some(value.clone()))),
            (Some(Token::Open), Some(Token::Close)) => out.push((key.clone(), None)),
            _ => {}
        }
    }
    out
}

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
