//! Round trips: the crate's clients against the in-process emulator, every
//! operation and the error paths, over real HTTP.

use std::time::Duration;

use futures::TryStreamExt;
use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
use liveperson_ccs::messaging::{ConversationRequest, CustomerInfo, Gender, PersonalInfo, Urgency};
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
    props.set("myProperty1", "myValue1").await.unwrap();
    s.v1.delete_namespace("myNamespace").await.unwrap();
    assert!(props.get_all().await.unwrap().is_empty());
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
    ns.set_many(
        &json!({"myProperty1": "myValue1", "myProperty2": 2, "myProperty3": {"name": "myValue3"}}),
    )
    .await
    .unwrap();
    ns.set("myProperty4", "value4").await.unwrap();
    // PATCH merges: properties not named stay.
    ns.set_many(&json!({"myProperty2": 3})).await.unwrap();
    assert_eq!(
        Value::Object(ns.get_all().await.unwrap()),
        json!({"myProperty1": "myValue1", "myProperty2": 3, "myProperty3": {"name": "myValue3"}, "myProperty4": "value4"})
    );
    assert_eq!(
        ns.get::<String>("myProperty1").await.unwrap().as_deref(),
        Some("myValue1")
    );
    assert_eq!(ns.get::<u32>("myProperty2").await.unwrap(), Some(3));
    assert_eq!(
        Value::Object(
            ns.get_selected(["myProperty1", "myProperty4", "absent"])
                .await
                .unwrap()
        ),
        json!({"myProperty1": "myValue1", "myProperty4": "value4"})
    );
    ns.delete("myProperty1").await.unwrap();
    assert_eq!(ns.get::<String>("myProperty1").await.unwrap(), None);
    // Namespace level is the `__default__` session.
    let default = s.v1.session("myNamespace", "__default__").unwrap();
    assert_eq!(
        default
            .get::<String>("myProperty4")
            .await
            .unwrap()
            .as_deref(),
        Some("value4")
    );
    ns.delete_all().await.unwrap();
    assert!(ns.get_all().await.unwrap().is_empty());
}

#[tokio::test]
async fn session_properties_every_operation_and_typed_values() {
    let s = setup().await;
    let session = s.v1.session("myNamespace", "mySessionId").unwrap();
    session
        .set_many(&json!({"myProperty1": ["value1", "value2", "value3"]}))
        .await
        .unwrap();
    let item = Item {
        name: "value2".into(),
        items: vec!["A".into(), "B".into(), "C".into()],
    };
    session.set("myProperty2", &item).await.unwrap();
    assert_eq!(
        session.get::<Item>("myProperty2").await.unwrap(),
        Some(item)
    );
    assert_eq!(
        session.get::<Vec<String>>("myProperty1").await.unwrap(),
        Some(vec!["value1".to_owned(), "value2".into(), "value3".into()])
    );
    #[derive(Deserialize)]
    struct All {
        #[serde(rename = "myProperty1")]
        first: Vec<String>,
        #[serde(rename = "myProperty2")]
        second: Item,
    }
    let all: All = session.get_all_as().await.unwrap();
    assert_eq!((all.first.len(), all.second.items.len()), (3, 3));
    // Asking for the wrong type is a Decode error, not a panic.
    assert!(matches!(
        session.get::<u32>("myProperty1").await,
        Err(Error::Decode { .. })
    ));
    session.delete("myProperty1").await.unwrap();
    assert_eq!(session.get_value("myProperty1").await.unwrap(), None);
    session.delete_all().await.unwrap();
    assert!(session.get_all().await.unwrap().is_empty());
    // An unknown session reads as empty, not as an error.
    assert!(
        s.v1.session("myNamespace", "nobody")
            .unwrap()
            .get_all()
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
        session.set("k", id).await.unwrap();
        assert_eq!(
            session.get::<String>("k").await.unwrap().as_deref(),
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
    s.v1.set_session_ttl("myNamespace", "short", Duration::from_secs(1))
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
    short.set("k", "gone soon").await.unwrap();
    long.set("k", "stays").await.unwrap();
    assert_eq!(
        short.get::<String>("k").await.unwrap().as_deref(),
        Some("gone soon")
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(short.get::<String>("k").await.unwrap(), None);
    assert_eq!(
        long.get::<String>("k").await.unwrap().as_deref(),
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
            .set("n", &i)
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
    session.set_many(&json!({"fromV1": 1})).await.unwrap();
    let doc = s.v2.session_document("myNamespace", "mySessionId").unwrap();
    doc.upsert(
        &json!({"property1": 100, "Property2": "abc"}),
        Duration::from_secs(3600),
    )
    .await
    .unwrap();
    assert_eq!(
        Value::Object(session.get_all().await.unwrap()),
        json!({"fromV1": 1, "property1": 100, "Property2": "abc"})
    );
    let read = doc.get().await.unwrap().expect("the document exists");
    assert_eq!(read.document_key, "le12345678:myNamespace:mySessionId");
    assert_eq!(read.document_type, "CONTEXT");
    assert_eq!(read.payload.get("fromV1"), Some(&json!(1)));
    // Namespace level: v1 namespace properties are the v2 namespace document.
    s.v1.namespace("myNamespace")
        .unwrap()
        .set("global", &true)
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
        .upsert(
            &json!({"property1": 100, "Property2": "abc"}),
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    assert_eq!(written.document_key, "le12345678:myNamespace:mySessionId");
    assert!(written.success);
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
        .upsert(&json!({"a": 1}), Duration::from_secs(60))
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
    doc.upsert(&json!({"k": 1}), Duration::from_secs(1))
        .await
        .unwrap();
    assert!(doc.get().await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(doc.get().await.unwrap(), None);
}

#[tokio::test]
async fn document_too_large_saves_nothing() {
    let s = setup().await;
    let session = s.v1.session("myNamespace", "big").unwrap();
    session.set("small", "kept").await.unwrap();
    let big = "x".repeat(800_001);
    let err = session
        .set("huge", &big)
        .await
        .expect_err("over 800,000 characters");
    assert!(matches!(err, Error::DocumentTooLarge { .. }), "{err}");
    assert_eq!(err.status(), Some(reqwest::StatusCode::PAYLOAD_TOO_LARGE));
    let err =
        s.v2.session_document("myNamespace", "big")
            .unwrap()
            .upsert(&json!({"huge": big}), Duration::from_secs(60))
            .await
            .expect_err("over 800,000 characters");
    assert!(matches!(err, Error::DocumentTooLarge { .. }), "{err}");
    assert_eq!(
        Value::Object(session.get_all().await.unwrap()),
        json!({"small": "kept"})
    );
    // Just under the limit is accepted.
    let fits = "y".repeat(700_000);
    session.set("fits", &fits).await.unwrap();
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
        .campaign("99999", "888888")
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
    session.set("fromBot", "intent").await.unwrap();
    let doc = s.v2.session_document("myNamespace", "handoff").unwrap();
    assert_eq!(doc.get().await.unwrap().unwrap().expires_at, None);
    // ...until a v2 upsert gives the document a TTL: v2 keeps one per document.
    doc.upsert(&json!({"fromAgent": "noted"}), Duration::from_secs(1))
        .await
        .unwrap();
    let read = doc.get().await.unwrap().unwrap();
    assert!(read.expires_at.is_some(), "the document has a TTL now");
    assert_eq!(read.payload.len(), 2);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(doc.get().await.unwrap(), None, "the whole document expired");
    assert!(session.get_all().await.unwrap().is_empty());
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
    session.set("put", &deep).await.unwrap();
    session.set_many(&json!({ "patched": deep })).await.unwrap();
    let doc = s.v2.session_document("deepNs", "v2Session").unwrap();
    doc.upsert(&json!({ "upserted": deep }), Duration::from_secs(60))
        .await
        .unwrap();

    assert_eq!(session.get_value("put").await.unwrap(), Some(deep.clone()));
    let all = session.get_all().await.unwrap();
    assert_eq!(all.get("patched"), Some(&deep));
    let selected = session.get_selected(["put"]).await.unwrap();
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
        session.set("p", &deeper).await.expect_err("too deep"),
        session
            .set_many(&json!({ "p": deeper }))
            .await
            .expect_err("too deep"),
        doc.upsert(&json!({ "p": deeper }), Duration::from_secs(60))
            .await
            .expect_err("too deep"),
    ];
    for error in errors {
        assert!(matches!(error, Error::InvalidInput { .. }), "{error}");
        assert!(error.to_string().contains("at most 64"), "{error}");
    }
    assert_eq!(session.get_value("p").await.unwrap(), None);
}
