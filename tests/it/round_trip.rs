//! Round trips: the crate's clients against the in-process emulator, every
//! operation and the error paths, over real HTTP.

use std::time::Duration;

use futures::TryStreamExt;
use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
use liveperson_ccs::messaging::{
    Campaign, ConversationRequest, CustomerInfo, Gender, PersonalInfo, Urgency,
};
use liveperson_ccs::{CcsV1Client, CcsV2Client, Error, MessagingClient, RetryPolicy};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const ACCOUNT: &str = "le12345678";
const API_KEY: &str = "round-trip-api-key";
const TOKEN: &str = "round-trip-access-token";

struct Setup {
    emulator: Emulator,
    v1: CcsV1Client,
    v2: CcsV2Client,
}

async fn setup() -> Setup {
    let emulator = Emulator::start(EmulatorConfig::new().api_key(API_KEY).access_token(TOKEN))
        .await
        .expect("the emulator starts");
    let base = emulator.base_url();
    let v1 = CcsV1Client::builder()
        .account(ACCOUNT)
        .base_url(&base)
        .api_key(API_KEY)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("v1 client");
    let v2 = CcsV2Client::builder()
        .account(ACCOUNT)
        .base_url(&base)
        .access_token(TOKEN)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("v2 client");
    Setup { emulator, v1, v2 }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    name: String,
    items: Vec<String>,
}

#[tokio::test]
async fn namespaces_create_list_ttl_delete() {
    let s = setup().await;
    s.v1.create_namespace("myNamespace").await.unwrap();
    s.v1.set_namespace_ttl("withTtl", Duration::from_secs(100))
        .await
        .unwrap();
    let mut list = s.v1.list_namespaces().await.unwrap();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<(&str, Option<Duration>)> =
        list.iter().map(|n| (n.name.as_str(), n.ttl)).collect();
    assert_eq!(
        names,
        [
            ("myNamespace", None),
            ("withTtl", Some(Duration::from_secs(100)))
        ]
    );

    // Deleting removes the namespace and its data.
    let props = s.v1.namespace("myNamespace").unwrap();
    props.set_property("myProperty1", "myValue1").await.unwrap();
    s.v1.delete_namespace("myNamespace").await.unwrap();
    assert!(props.get().await.unwrap().is_empty());
    let names: Vec<String> =
        s.v1.list_namespaces()
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.name)
            .collect();
    assert_eq!(names, ["withTtl"]);
    s.emulator.shutdown().await;
}

#[tokio::test]
async fn namespace_properties_every_operation() {
    let s = setup().await;
    let ns = s.v1.namespace("myNamespace").unwrap();
    ns.set_properties(
        &json!({"myProperty1": "myValue1", "myProperty2": 2, "myProperty3": {"name": "myValue3"}}),
    )
    .await
    .unwrap();
    ns.set_property("myProperty4", "value4").await.unwrap();
    // PATCH merges: properties not named stay.
    ns.set_properties(&json!({"myProperty2": 3})).await.unwrap();
    assert_eq!(
        Value::Object(ns.get().await.unwrap()),
        json!({"myProperty1": "myValue1", "myProperty2": 3, "myProperty3": {"name": "myValue3"}, "myProperty4": "value4"})
    );
    assert_eq!(
        ns.get_property::<String>("myProperty1")
            .await
            .unwrap()
            .as_deref(),
        Some("myValue1")
    );
    assert_eq!(
        ns.get_property::<u32>("myProperty2").await.unwrap(),
        Some(3)
    );
    assert_eq!(
        Value::Object(
            ns.get_properties(["myProperty1", "myProperty4", "absent"])
                .await
                .unwrap()
        ),
        json!({"myProperty1": "myValue1", "myProperty4": "value4"})
    );
    ns.delete_property("myProperty1").await.unwrap();
    assert_eq!(
        ns.get_property::<String>("myProperty1").await.unwrap(),
        None
    );
    // Namespace level is the `__default__` session.
    let default = s.v1.session("myNamespace", "__default__").unwrap();
    assert_eq!(
        default
            .get_property::<String>("myProperty4")
            .await
            .unwrap()
            .as_deref(),
        Some("value4")
    );
    ns.delete().await.unwrap();
    assert!(ns.get().await.unwrap().is_empty());
}

#[tokio::test]
async fn session_properties_every_operation_and_typed_values() {
    let s = setup().await;
    let session = s.v1.session("myNamespace", "mySessionId").unwrap();
    session
        .set_properties(&json!({"myProperty1": ["value1", "value2", "value3"]}))
        .await
        .unwrap();
    let item = Item {
        name: "value2".into(),
        items: vec!["A".into(), "B".into(), "C".into()],
    };
    session.set_property("myProperty2", &item).await.unwrap();
    assert_eq!(
        session.get_property::<Item>("myProperty2").await.unwrap(),
        Some(item)
    );
    assert_eq!(
        session
            .get_property::<Vec<String>>("myProperty1")
            .await
            .unwrap(),
        Some(vec!["value1".to_owned(), "value2".into(), "value3".into()])
    );
    #[derive(Deserialize)]
    struct All {
        #[serde(rename = "myProperty1")]
        first: Vec<String>,
        #[serde(rename = "myProperty2")]
        second: Item,
    }
    let all: All = session.get_as().await.unwrap();
    assert_eq!((all.first.len(), all.second.items.len()), (3, 3));
    // Asking for the wrong type is a TypeMismatch, not a panic.
    assert!(matches!(
        session.get_property::<u32>("myProperty1").await,
        Err(Error::TypeMismatch { .. })
    ));
    session.delete_property("myProperty1").await.unwrap();
    assert_eq!(
        session.get_property_value("myProperty1").await.unwrap(),
        None
    );
    session.delete().await.unwrap();
    assert!(session.get().await.unwrap().is_empty());
    // An unknown session reads as empty, not as an error.
    assert!(
        s.v1.session("myNamespace", "nobody")
            .unwrap()
            .get()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn awkward_session_ids_round_trip() {
    let s = setup().await;
    for id in ["a b:c+é", "a b/c?d", "100%", "x.y", "#frag"] {
        let session = s.v1.session("myNamespace", id).unwrap();
        session.set_property("k", id).await.unwrap();
        assert_eq!(
            session
                .get_property::<String>("k")
                .await
                .unwrap()
                .as_deref(),
            Some(id),
            "{id}"
        );
        let doc =
            s.v2.session_document("myNamespace", id)
                .unwrap()
                .get()
                .await
                .unwrap()
                .unwrap();
        assert_eq!(doc.session_id.as_deref(), Some(id));
    }
    let mut ids: Vec<String> =
        s.v1.session_ids("myNamespace")
            .unwrap()
            .stream()
            .try_collect()
            .await
            .unwrap();
    ids.sort();
    assert_eq!(ids, ["#frag", "100%", "a b/c?d", "a b:c+é", "x.y"]);
}

#[tokio::test]
async fn session_ttls_and_expiry() {
    let s = setup().await;
    s.v1.session("myNamespace", "short")
        .unwrap()
        .set_ttl(Duration::from_secs(1))
        .await
        .unwrap();
    let ttls = s.v1.list_session_ttls("myNamespace").await.unwrap();
    assert_eq!(ttls.len(), 1);
    assert_eq!(
        (ttls[0].session_id.as_str(), ttls[0].ttl),
        ("short", Duration::from_secs(1))
    );

    let short = s.v1.session("myNamespace", "short").unwrap();
    let long = s.v1.session("myNamespace", "long").unwrap();
    short.set_property("k", "gone soon").await.unwrap();
    long.set_property("k", "stays").await.unwrap();
    assert_eq!(
        short.get_property::<String>("k").await.unwrap().as_deref(),
        Some("gone soon")
    );
    // The emulator's clock, not a wait: the TTL passes at once.
    s.emulator.advance_clock(Duration::from_secs(2)).unwrap();
    assert_eq!(short.get_property::<String>("k").await.unwrap(), None);
    assert_eq!(
        long.get_property::<String>("k").await.unwrap().as_deref(),
        Some("stays")
    );
    let ids: Vec<String> =
        s.v1.session_ids("myNamespace")
            .unwrap()
            .stream()
            .try_collect()
            .await
            .unwrap();
    assert_eq!(ids, ["long"]);
}

#[tokio::test]
async fn pagination_over_several_pages() {
    let s = setup().await;
    for i in 0..23 {
        s.v1.session("paged", format!("s{i:02}"))
            .unwrap()
            .set_property("n", &i)
            .await
            .unwrap();
    }
    let pages = s.v1.session_ids("paged").unwrap().page_size(5);
    assert_eq!(
        pages.page(0).await.unwrap(),
        ["s00", "s01", "s02", "s03", "s04"]
    );
    assert_eq!(pages.page(4).await.unwrap(), ["s20", "s21", "s22"]);
    assert!(pages.page(5).await.unwrap().is_empty());
    let all: Vec<String> = pages.stream().try_collect().await.unwrap();
    assert_eq!(all.len(), 23);
    assert_eq!(all.first().map(String::as_str), Some("s00"));
    assert_eq!(all.last().map(String::as_str), Some("s22"));

    let entries: Vec<_> =
        s.v1.session_properties("paged")
            .unwrap()
            .page_size(4)
            .stream()
            .try_collect()
            .await
            .unwrap();
    assert_eq!(entries.len(), 23);
    assert_eq!(entries[7].session_id, "s07");
    assert_eq!(entries[7].properties.get("n"), Some(&json!(7)));
    // An exact multiple of the page size ends on the empty page.
    let four: Vec<String> =
        s.v1.session_ids("paged")
            .unwrap()
            .page_size(23)
            .stream()
            .try_collect()
            .await
            .unwrap();
    assert_eq!(four.len(), 23);
}

#[tokio::test]
async fn v1_and_v2_share_one_store() {
    let s = setup().await;
    let session = s.v1.session("myNamespace", "mySessionId").unwrap();
    session.set_properties(&json!({"fromV1": 1})).await.unwrap();
    let doc = s.v2.session_document("myNamespace", "mySessionId").unwrap();
    doc.set_properties(
        &json!({"property1": 100, "Property2": "abc"}),
        Duration::from_secs(3600),
    )
    .await
    .unwrap();
    assert_eq!(
        Value::Object(session.get().await.unwrap()),
        json!({"fromV1": 1, "property1": 100, "Property2": "abc"})
    );
    let read = doc.get().await.unwrap().expect("the document exists");
    assert_eq!(read.document_key, "le12345678:myNamespace:mySessionId");
    assert_eq!(read.document_type, "CONTEXT");
    assert_eq!(read.payload.get("fromV1"), Some(&json!(1)));
    // Namespace level: v1 namespace properties are the v2 namespace document.
    s.v1.namespace("myNamespace")
        .unwrap()
        .set_property("global", &true)
        .await
        .unwrap();
    let ns_doc =
        s.v2.namespace_document("myNamespace")
            .unwrap()
            .get()
            .await
            .unwrap()
            .unwrap();
    assert_eq!(ns_doc.document_key, "le12345678:myNamespace:");
    assert_eq!(ns_doc.session_id, None);
    assert_eq!(ns_doc.payload.get("global"), Some(&json!(true)));
}

#[tokio::test]
async fn v2_every_operation() {
    let s = setup().await;
    let doc = s.v2.session_document("myNamespace", "mySessionId").unwrap();
    assert_eq!(
        doc.get().await.unwrap(),
        None,
        "an unknown document is None"
    );
    let written = doc
        .set_properties(
            &json!({"property1": 100, "Property2": "abc"}),
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    assert_eq!(written.document_key, "le12345678:myNamespace:mySessionId");
    let read = doc.get().await.unwrap().unwrap();
    let expires = read.expires_at.expect("a TTL was given");
    let left = expires - chrono::Utc::now();
    assert!(
        left > chrono::TimeDelta::seconds(3590) && left <= chrono::TimeDelta::seconds(3600),
        "{left}"
    );
    #[derive(Deserialize)]
    struct Payload {
        property1: u32,
        #[serde(rename = "Property2")]
        property2: String,
    }
    let payload: Payload = read.payload_as().unwrap();
    assert_eq!(
        (payload.property1, payload.property2.as_str()),
        (100, "abc")
    );
    assert_eq!(
        Value::Object(
            doc.get_properties(["property1", "Property2", "absent"])
                .await
                .unwrap()
        ),
        json!({"property1": 100, "Property2": "abc"})
    );
    doc.delete_properties(["property1"]).await.unwrap();
    assert_eq!(doc.get_property::<u32>("property1").await.unwrap(), None);
    assert_eq!(
        doc.get_property::<String>("Property2")
            .await
            .unwrap()
            .as_deref(),
        Some("abc")
    );
    doc.delete().await.unwrap();
    assert_eq!(doc.get().await.unwrap(), None);

    let ns_doc = s.v2.namespace_document("myNamespace").unwrap();
    ns_doc
        .set_properties(&json!({"a": 1}), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        ns_doc.get().await.unwrap().unwrap().document_key,
        "le12345678:myNamespace:"
    );
}

#[tokio::test]
async fn v2_ttl_expiry() {
    let s = setup().await;
    let doc = s.v2.session_document("myNamespace", "brief").unwrap();
    doc.set_properties(&json!({"k": 1}), Duration::from_secs(1))
        .await
        .unwrap();
    assert!(doc.get().await.unwrap().is_some());
    // The emulator's clock, not a wait: the TTL passes at once.
    s.emulator.advance_clock(Duration::from_secs(2)).unwrap();
    assert_eq!(doc.get().await.unwrap(), None);
}

#[tokio::test]
async fn document_too_large_saves_nothing() {
    let s = setup().await;
    let session = s.v1.session("myNamespace", "big").unwrap();
    session.set_property("small", "kept").await.unwrap();
    let big = "x".repeat(800_001);
    let err = session
        .set_property("huge", &big)
        .await
        .expect_err("over 800,000 characters");
    assert!(matches!(err, Error::DocumentTooLarge { .. }), "{err}");
    assert_eq!(err.status(), Some(reqwest::StatusCode::PAYLOAD_TOO_LARGE));
    let err =
        s.v2.session_document("myNamespace", "big")
            .unwrap()
            .set_properties(&json!({"huge": big}), Duration::from_secs(60))
            .await
            .expect_err("over 800,000 characters");
    assert!(matches!(err, Error::DocumentTooLarge { .. }), "{err}");
    assert_eq!(
        Value::Object(session.get().await.unwrap()),
        json!({"small": "kept"})
    );
    // Just under the limit is accepted.
    let fits = "y".repeat(700_000);
    session.set_property("fits", &fits).await.unwrap();
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized() {
    let s = setup().await;
    let base = s.emulator.base_url();
    let v1 = CcsV1Client::builder()
        .account(ACCOUNT)
        .base_url(&base)
        .api_key("wrong-key")
        .build()
        .unwrap();
    let err = v1.list_namespaces().await.expect_err("wrong key");
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    // A wrong v1 key is 403; still `Unauthorized`, with its status.
    assert_eq!(err.status(), Some(reqwest::StatusCode::FORBIDDEN));
    assert!(!format!("{err} {err:?}").contains("wrong-key"));

    let v2 = CcsV2Client::builder()
        .account(ACCOUNT)
        .base_url(&base)
        .access_token("wrong-token")
        .build()
        .unwrap();
    let err = v2
        .session_document("myNamespace", "s")
        .unwrap()
        .get()
        .await
        .expect_err("wrong token");
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    assert!(!format!("{err} {err:?}").contains("wrong-token"));
}

#[tokio::test]
async fn server_side_validation_when_the_client_check_is_bypassed() {
    let s = setup().await;
    // The typed layer refuses a reserved namespace before sending...
    assert!(matches!(
        s.v1.create_namespace("consumer").await,
        Err(Error::InvalidInput { .. })
    ));
    // ...and so does the generated client, which takes the same `Namespace`:
    // its body builder cannot hold the name, so `send` fails before sending.
    let raw = s
        .v1
        .raw()
        .create_namespace()
        .account_id(ACCOUNT)
        .body(liveperson_ccs::raw::v1::types::CreateNamespaceRequest::builder().name("consumer"))
        .send()
        .await;
    assert!(
        matches!(raw, Err(liveperson_ccs::raw::v1::Error::InvalidRequest(_))),
        "{raw:?}"
    );
    // A client that checks nothing (plain reqwest) sends it, and the emulator
    // answers 400 with a JSON message, saving nothing.
    let response = reqwest::Client::new()
        .post(format!("{}/v1/account/{ACCOUNT}", s.emulator.base_url()))
        .header("maven-api-key", API_KEY)
        .json(&json!({"name": "consumer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("consumer"),
        "{body}"
    );
    assert!(s.v1.list_namespaces().await.unwrap().is_empty());
}

#[tokio::test]
async fn messaging_opens_conversations() {
    let s = setup().await;
    let messaging = MessagingClient::builder()
        .account(ACCOUNT)
        .base_url(s.emulator.base_url())
        .app_jwt("app-jwt")
        .build()
        .unwrap();
    let request = ConversationRequest::new()
        .customer_info(CustomerInfo {
            social_id: Some("1234567890".into()),
            ctype: Some("vip".into()),
        })
        .personal_info(PersonalInfo {
            firstname: Some("John".into()),
            lastname: Some("Doe".into()),
            gender: Some(Gender::Male),
        })
        .campaign(Campaign {
            campaign_id: "99999".into(),
            engagement_id: "888888".into(),
        })
        .urgency(Urgency::Normal)
        .skill("-1");
    let first = messaging
        .create_conversation("consumer-jws", &request)
        .await
        .unwrap();
    let second = messaging
        .create_conversation("consumer-jws", &ConversationRequest::new())
        .await
        .unwrap();
    assert_eq!(
        first.conversation_id.len(),
        36,
        "a UUID: {}",
        first.conversation_id
    );
    assert_ne!(first.conversation_id, second.conversation_id);
    assert_eq!(
        first.profile_message.as_deref(),
        Some("OK User Profile set successfully")
    );
    // An empty ConsumerJWS never leaves the client.
    let err = messaging
        .create_conversation("", &request)
        .await
        .expect_err("empty JWS");
    assert!(matches!(err, Error::Credentials { .. }), "{err}");
}

#[tokio::test]
async fn a_v2_upsert_sets_the_whole_documents_ttl() {
    let s = setup().await;
    // Written through v1 with no TTL: it never expires...
    let session = s.v1.session("myNamespace", "handoff").unwrap();
    session.set_property("fromBot", "intent").await.unwrap();
    let doc = s.v2.session_document("myNamespace", "handoff").unwrap();
    assert_eq!(doc.get().await.unwrap().unwrap().expires_at, None);
    // ...until a v2 upsert gives the document a TTL: v2 keeps one per document.
    doc.set_properties(&json!({"fromAgent": "noted"}), Duration::from_secs(1))
        .await
        .unwrap();
    let read = doc.get().await.unwrap().unwrap();
    assert!(read.expires_at.is_some(), "the document has a TTL now");
    assert_eq!(read.payload.len(), 2);
    // The emulator's clock, not a wait: the TTL passes at once.
    s.emulator.advance_clock(Duration::from_secs(2)).unwrap();
    assert_eq!(doc.get().await.unwrap(), None, "the whole document expired");
    assert!(session.get().await.unwrap().is_empty());
}

/// A client whose base URL has a wrong path prefix, as a misconfigured proxy
/// route gives: the emulator answers 404 to everything.
fn wrong_prefix(s: &Setup) -> (CcsV1Client, CcsV2Client) {
    let wrong = format!("{}/wrong", s.emulator.base_url());
    let v1 = CcsV1Client::builder()
        .account(ACCOUNT)
        .base_url(&wrong)
        .api_key(API_KEY)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("v1 client");
    let v2 = CcsV2Client::builder()
        .account(ACCOUNT)
        .base_url(&wrong)
        .access_token(TOKEN)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("v2 client");
    (v1, v2)
}

#[tokio::test]
async fn missing_data_is_none_but_a_wrong_path_prefix_is_not_found() {
    let s = setup().await;
    // Well configured: what does not exist reads as None.
    s.v1.check().await.expect("v1 check");
    s.v2.check().await.expect("v2 check");
    let session = s.v1.session("myNamespace", "nobody").unwrap();
    assert_eq!(
        session.get_property::<Value>("nothing").await.unwrap(),
        None
    );
    let namespace = s.v1.namespace("myNamespace").unwrap();
    assert_eq!(namespace.get_property_value("nothing").await.unwrap(), None);
    let doc = s.v2.session_document("myNamespace", "nobody").unwrap();
    assert_eq!(doc.get().await.unwrap(), None);

    // A wrong path prefix: every read fails, as the writes do.
    let (v1, v2) = wrong_prefix(&s);
    let not_found = |label: &str, result: Result<(), Error>| match result {
        Err(Error::NotFound { body, .. }) => {
            assert!(body.contains("/wrong/"), "{label}: {body}")
        }
        other => panic!("{label}: expected NotFound, got {other:?}"),
    };
    not_found("v1 check", v1.check().await);
    not_found("v2 check", v2.check().await);
    let session = v1.session("myNamespace", "nobody").unwrap();
    not_found(
        "get_property",
        session.get_property::<Value>("nothing").await.map(drop),
    );
    let namespace = v1.namespace("myNamespace").unwrap();
    not_found(
        "get_property_value",
        namespace.get_property_value("nothing").await.map(drop),
    );
    let doc = v2.session_document("myNamespace", "nobody").unwrap();
    not_found("v2 get", doc.get().await.map(drop));
}

#[tokio::test]
async fn check_reports_a_wrong_credential() {
    let s = setup().await;
    let base = s.emulator.base_url();
    let v1 = CcsV1Client::builder()
        .account(ACCOUNT)
        .base_url(&base)
        .api_key("not-the-key")
        .build()
        .unwrap();
    let error = v1.check().await.expect_err("wrong key");
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    let v2 = CcsV2Client::builder()
        .account(ACCOUNT)
        .base_url(&base)
        .access_token("not-the-token")
        .build()
        .unwrap();
    let error = v2.check().await.expect_err("wrong token");
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
}

#[tokio::test]
async fn ttl_on_the_session_handle() {
    let s = setup().await;
    let session = s.v1.session("myNamespace", "withTtl").unwrap();
    let namespace = s.v1.namespace("myNamespace").unwrap();
    s.v1.create_namespace("myNamespace").await.unwrap();
    assert_eq!(session.ttl().await.unwrap(), None, "no TTL set yet");
    assert_eq!(namespace.ttl().await.unwrap(), None);

    session.set_ttl(Duration::from_secs(120)).await.unwrap();
    namespace.set_ttl(Duration::from_secs(3600)).await.unwrap();
    assert_eq!(session.ttl().await.unwrap(), Some(Duration::from_secs(120)));
    assert_eq!(
        namespace.ttl().await.unwrap(),
        Some(Duration::from_secs(3600))
    );
    // Another session of the namespace has none of its own.
    let other = s.v1.session("myNamespace", "other").unwrap();
    assert_eq!(other.ttl().await.unwrap(), None);
    // Zero: set, meaning no expiry.
    session.set_ttl(Duration::ZERO).await.unwrap();
    assert_eq!(session.ttl().await.unwrap(), Some(Duration::ZERO));
}

#[tokio::test]
async fn session_entries_read_as_a_type() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct Handoff {
        intent: String,
        tier: Option<String>,
    }
    let s = setup().await;
    let session = s.v1.session("myNamespace", "s1").unwrap();
    session
        .set_properties(&json!({"intent": "billing", "tier": "gold"}))
        .await
        .unwrap();
    let entries: Vec<_> =
        s.v1.session_properties("myNamespace")
            .unwrap()
            .stream()
            .try_collect()
            .await
            .unwrap();
    assert_eq!(entries.len(), 1);
    let handoff: Handoff = entries[0].properties_as().unwrap();
    assert_eq!(
        handoff,
        Handoff {
            intent: "billing".into(),
            tier: Some("gold".into())
        }
    );
    let error = entries[0]
        .properties_as::<Vec<String>>()
        .expect_err("not a list");
    assert!(matches!(error, Error::TypeMismatch { .. }), "{error:?}");
}

#[tokio::test]
async fn a_refreshing_credential_serves_every_client_call() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use liveperson_ccs::{RefreshingCredential, Token};

    let s = setup().await;
    let refreshes = Arc::new(AtomicUsize::new(0));
    let counter = refreshes.clone();
    let token = RefreshingCredential::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, std::io::Error>(Token::new(TOKEN, Duration::from_secs(3600))) }
    });
    let v2 = CcsV2Client::builder()
        .account(ACCOUNT)
        .base_url(s.emulator.base_url())
        .access_token(token.clone())
        .build()
        .unwrap();
    let doc = v2.session_document("myNamespace", "s1").unwrap();
    doc.set_property("tier", "gold", Duration::from_secs(60))
        .await
        .unwrap();
    let calls = (0..50).map(|_| doc.get_property::<String>("tier"));
    for tier in futures::future::join_all(calls).await {
        assert_eq!(tier.unwrap().as_deref(), Some("gold"));
    }
    assert_eq!(refreshes.load(Ordering::SeqCst), 1, "cached for every call");
    // The emulator refuses any other token: a refresh gave the right one.
    token.invalidate();
    doc.delete_property("tier").await.unwrap();
    assert_eq!(refreshes.load(Ordering::SeqCst), 2);
    assert_eq!(doc.get_property::<String>("tier").await.unwrap(), None);
}

/// `levels` nested arrays around `1`: `[[1]]` is 2 levels deep.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!([inner]))
}

/// The one nesting limit: a value 64 levels deep is accepted by every write
/// and comes back from every read (whose answers wrap it in up to 3 more
/// levels); 65 levels is refused by the client before anything is sent.
#[tokio::test]
async fn values_at_the_nesting_limit_read_back_everywhere_and_deeper_ones_are_refused() {
    let s = setup().await;
    let deep = nested(64);
    let session = s.v1.session("deepNs", "deepSession").unwrap();
    session.set_property("put", &deep).await.unwrap();
    session
        .set_properties(&json!({ "patched": deep }))
        .await
        .unwrap();
    let doc = s.v2.session_document("deepNs", "v2Session").unwrap();
    doc.set_properties(&json!({ "upserted": deep }), Duration::from_secs(60))
        .await
        .unwrap();

    assert_eq!(
        session.get_property_value("put").await.unwrap(),
        Some(deep.clone())
    );
    let all = session.get().await.unwrap();
    assert_eq!(all.get("patched"), Some(&deep));
    let selected = session.get_properties(["put"]).await.unwrap();
    assert_eq!(selected.get("put"), Some(&deep));
    let listed: Vec<_> =
        s.v1.session_properties("deepNs")
            .unwrap()
            .stream()
            .try_collect()
            .await
            .unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|e| e.properties.values().all(|v| *v == deep))
    );
    let document = doc.get().await.unwrap().expect("the document exists");
    assert_eq!(document.payload.get("upserted"), Some(&deep));
    let properties = doc.get_properties(["upserted"]).await.unwrap();
    assert_eq!(properties.get("upserted"), Some(&deep));

    // One level more: refused before sending, by every write.
    let deeper = nested(65);
    let errors = [
        session
            .set_property("p", &deeper)
            .await
            .expect_err("too deep"),
        session
            .set_properties(&json!({ "p": deeper }))
            .await
            .expect_err("too deep"),
        doc.set_properties(&json!({ "p": deeper }), Duration::from_secs(60))
            .await
            .expect_err("too deep"),
    ];
    for error in errors {
        assert!(matches!(error, Error::InvalidInput { .. }), "{error}");
        assert!(error.to_string().contains("at most 64"), "{error}");
    }
    assert_eq!(session.get_property_value("p").await.unwrap(), None);
}
