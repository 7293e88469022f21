//! `openapi/connector-webhooks.yaml` against the Rust types generated from
//! it (`liveperson_ccs::raw::webhooks::types`, types only): every example
//! of the spec (request bodies, named examples, schema examples) parses
//! into its generated type, to its typed form (no fallback variant), and
//! serializes back to the same JSON; what LivePerson may add (fields, event
//! and notification types, roles and other values) still parses and is
//! kept; a malformed body of a known type is still an error.

use std::collections::BTreeSet;
use std::path::Path;

use liveperson_ccs::raw::webhooks::types;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn spec() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/connector-webhooks.yaml");
    let text = std::fs::read_to_string(&path).expect("the spec is readable");
    serde_norway::from_str(&text).expect("the spec is YAML")
}

/// `#/components/examples/Name` → its `value`; an inline example as is.
fn example_value<'a>(spec: &'a Value, example: &'a Value) -> (String, &'a Value) {
    match example.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/examples/")
                .unwrap_or_else(|| panic!("{reference}: not a components example"));
            (
                name.to_owned(),
                &spec["components"]["examples"][name]["value"],
            )
        }
        None => ("(inline)".to_owned(), &example["value"]),
    }
}

/// Parses `value` as `T` and serializes it back: nothing is lost or
/// changed; only a declared `default` may be written out where it was
/// absent (`max_retries: 0`).
fn round_trip<T: DeserializeOwned + serde::Serialize>(what: &str, value: &Value) -> T {
    let parsed: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| {
        panic!(
            "{what}: does not parse as {}: {e}",
            std::any::type_name::<T>()
        )
    });
    let back = serde_json::to_value(&parsed).expect("serializes");
    assert_kept(what, "", value, &back);
    parsed
}

/// Every member of `original` is in `back`, with the same value; `back` may
/// add only `max_retries: 0`, the one default of the spec.
fn assert_kept(what: &str, at: &str, original: &Value, back: &Value) {
    match (original, back) {
        (Value::Object(original), Value::Object(back)) => {
            for (key, value) in original {
                let here = format!("{at}/{key}");
                let kept = back
                    .get(key)
                    .unwrap_or_else(|| panic!("{what}: {here} is lost"));
                assert_kept(what, &here, value, kept);
            }
            for (key, value) in back {
                if !original.contains_key(key) {
                    assert!(
                        key == "max_retries" && *value == json!(0),
                        "{what}: {at}/{key} = {value} was added"
                    );
                }
            }
        }
        (Value::Array(original), Value::Array(back)) => {
            assert_eq!(original.len(), back.len(), "{what}: {at}");
            for (i, (a, b)) in original.iter().zip(back).enumerate() {
                assert_kept(what, &format!("{at}/{i}"), a, b);
            }
        }
        _ => assert_eq!(original, back, "{what}: {at} changed"),
    }
}

/// A notification parsed to its typed form: no fallback at any level.
fn assert_typed(what: &str, notification: &types::Notification) {
    match notification {
        types::Notification::MessagingEventNotification(n) => {
            assert!(!n.body.changes.is_empty(), "{what}");
            for change in &n.body.changes {
                assert!(
                    !matches!(
                        change.event,
                        types::MessagingEvent::UnknownMessagingEvent(_)
                    ),
                    "{what}: an event fell back to UnknownMessagingEvent: {:?}",
                    change.event
                );
            }
        }
        types::Notification::ExConversationChangeNotification(n) => {
            assert!(!n.body.changes.is_empty(), "{what}");
        }
        types::Notification::UnknownNotification(n) => {
            panic!("{what}: fell back to UnknownNotification: {n:?}")
        }
    }
}

/// Every request body example of every operation (each a named example of
/// `components/examples`) parses as `Notification`, typed, and back.
#[test]
fn every_request_example_parses_as_a_notification() {
    let spec = spec();
    let mut seen = BTreeSet::new();
    let paths = spec["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 5);
    for (path, item) in paths {
        let media = &item["post"]["requestBody"]["content"]["application/json"];
        assert_eq!(
            media["schema"]["$ref"], "#/components/schemas/Notification",
            "{path}"
        );
        assert!(
            media.get("example").is_none(),
            "{path}: named examples only"
        );
        let examples = media["examples"].as_object().expect("examples");
        assert!(!examples.is_empty(), "{path}");
        for (key, example) in examples {
            let (name, value) = example_value(&spec, example);
            let what = format!("{path} {key} ({name})");
            let notification: types::Notification = round_trip(&what, value);
            assert_typed(&what, &notification);
            // The path is the registration key: its notification type, and
            // for a messaging event, its event type.
            let registration = path.trim_start_matches('/');
            let (envelope, event) = registration
                .rsplit_once('.')
                .filter(|(envelope, _)| *envelope == "ms.MessagingEventNotification")
                .unwrap_or((registration, ""));
            assert_eq!(value["type"], envelope, "{what}");
            if !event.is_empty() {
                for change in value["body"]["changes"].as_array().expect("changes") {
                    assert_eq!(change["event"]["type"], event, "{what}");
                }
            }
            seen.insert(name);
        }
    }
    // Every named example is used by an operation.
    let all: BTreeSet<String> = spec["components"]["examples"]
        .as_object()
        .expect("examples")
        .keys()
        .cloned()
        .collect();
    assert_eq!(seen, all);
}

/// The eight notifications of LivePerson's "Webhooks Examples" page are
/// among the examples, marked so in their summary, and each parses to the
/// typed form the page describes.
#[test]
fn the_webhooks_examples_page_is_covered() {
    let spec = spec();
    let examples = spec["components"]["examples"]
        .as_object()
        .expect("examples");
    let from_page: BTreeSet<&str> = examples
        .iter()
        .filter(|(_, e)| {
            e["summary"]
                .as_str()
                .is_some_and(|s| s.ends_with("(Webhooks Examples)"))
        })
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        from_page,
        BTreeSet::from([
            "ConsumerCreatedConversation",
            "ConsumerSentText",
            "AgentAssigned",
            "AgentReadMessage",
            "AgentIsTyping",
            "AgentStoppedTyping",
            "AgentSentText",
            "AgentSentAnotherText",
        ])
    );
    let parse = |name: &str| -> types::Notification {
        serde_json::from_value(examples[name]["value"].clone()).expect(name)
    };
    let types::Notification::MessagingEventNotification(text) = parse("ConsumerSentText") else {
        panic!("ConsumerSentText is a messaging event notification");
    };
    let change = &text.body.changes[0];
    assert_eq!(change.sequence, Some(0));
    assert_eq!(change.dialog_id, "5491244f-e462-4c63-bf4e-faf4b2d3e7b5");
    assert_eq!(change.server_timestamp, Some(1528371161893));
    let metadata = change
        .originator_metadata
        .as_ref()
        .expect("originatorMetadata");
    assert_eq!(metadata.role.0, "CONSUMER");
    let types::MessagingEvent::ContentEvent(content) = &change.event else {
        panic!("a ContentEvent: {:?}", change.event);
    };
    assert_eq!(content.content_type, "text/plain");
    let types::ContentMessage::TextMessage(message) = &content.message else {
        panic!("a text: {:?}", content.message);
    };
    assert_eq!(message.0, "Hello from Consumer");

    let types::Notification::MessagingEventNotification(typing) = parse("AgentIsTyping") else {
        panic!("AgentIsTyping is a messaging event notification");
    };
    let change = &typing.body.changes[0];
    assert_eq!((change.sequence, change.server_timestamp), (None, None));
    let types::MessagingEvent::ChatStateEvent(state) = &change.event else {
        panic!("a ChatStateEvent: {:?}", change.event);
    };
    assert_eq!(state.chat_state.0, "COMPOSING");

    let types::Notification::MessagingEventNotification(read) = parse("AgentReadMessage") else {
        panic!("AgentReadMessage is a messaging event notification");
    };
    let types::MessagingEvent::AcceptStatusEvent(status) = &read.body.changes[0].event else {
        panic!("an AcceptStatusEvent");
    };
    assert_eq!(
        (status.status.0.as_str(), status.sequence_list.as_slice()),
        ("READ", &[0][..])
    );

    let types::Notification::ExConversationChangeNotification(assigned) = parse("AgentAssigned")
    else {
        panic!("AgentAssigned is a conversation change notification");
    };
    let change = &assigned.body.changes[0];
    assert_eq!(change.type_.0, "UPSERT");
    let details = &change.result.conversation_details;
    let roles: Vec<&str> = details
        .participants
        .iter()
        .map(|p| p.role.0.as_str())
        .collect();
    assert_eq!(roles, ["ASSIGNED_AGENT", "CONSUMER"]);
    assert_eq!(details.state.0, "OPEN");
    assert_eq!(details.meta_data_last_update_ts, Some(1528371195521));
    let ttr = details.ttr.as_ref().expect("ttr");
    assert_eq!((ttr.ttr_type.as_str(), ttr.value), ("PRIORITIZED", 600));
}

/// Every component schema's own `example` parses as the generated type of
/// that name, and back. The list below names every component schema: a new
/// schema fails here until it is added.
#[test]
fn every_schema_example_parses_as_its_type() {
    let spec = spec();
    let schemas = spec["components"]["schemas"].as_object().expect("schemas");
    let mut checked = BTreeSet::new();
    macro_rules! check {
        ($($name:ident),* $(,)?) => {$(
            let name = stringify!($name);
            let schema = schemas.get(name).unwrap_or_else(|| panic!("no schema {name}"));
            if let Some(example) = schema.get("example") {
                let _: types::$name = round_trip(&format!("schema {name}"), example);
            }
            checked.insert(name.to_owned());
        )*};
    }
    check!(
        Notification,
        NotificationKind,
        MessagingEventNotification,
        MessagingEventNotificationBody,
        MessagingEventChange,
        OriginatorMetadata,
        ParticipantRole,
        MessagingEvent,
        ContentEvent,
        ContentMessage,
        TextMessage,
        HostedFile,
        RichContentEvent,
        AcceptStatusEvent,
        AcceptStatus,
        ChatStateEvent,
        ChatState,
        ExConversationChangeNotification,
        ExConversationChangeNotificationBody,
        ConversationChange,
        ConversationChangeType,
        ConversationChangeResult,
        ConversationDetails,
        Participant,
        Dialog,
        DialogParticipant,
        ConversationState,
        ConversationStage,
        CloseReason,
        Ttr,
        Delay,
        WebhooksCapability,
        WebhookRegistration,
    );
    let all: BTreeSet<String> = schemas.keys().cloned().collect();
    assert_eq!(checked, all, "add the new schemas to the list above");
}

/// The "Consumer sent a text message" example with what LivePerson may add:
/// a field on every object, an unknown role, and a second change whose event
/// is of a type the spec does not list. Everything parses and is kept.
#[test]
fn unknown_fields_and_event_types_are_kept() {
    let body = json!({
        "kind": "notification",
        "type": "ms.MessagingEventNotification",
        "traceId": "a1b2",
        "body": {
            "changes": [
                {
                    "sequence": 0,
                    "originatorId": "ade26082",
                    "originatorMetadata": {"id": "ade26082", "role": "CONSUMER", "clientProperties": {"type": ".ClientProperties"}},
                    "serverTimestamp": 1528371161893u64,
                    "event": {"type": "ContentEvent", "message": "Hello 👋", "contentType": "text/plain", "quotedMessage": {"sequence": 1}},
                    "dialogId": "5491244f",
                    "metadata": [{"type": "ExternalId", "id": "x-1"}],
                    "sentTs": 1528371161890u64
                },
                {
                    "sequence": 1,
                    "originatorId": "29c3019d",
                    "originatorMetadata": {"id": "29c3019d", "role": "BOT_OBSERVER"},
                    "serverTimestamp": 1528371161999u64,
                    "event": {"type": "FormSubmitEvent", "formId": "f-7", "fields": [{"name": "email"}]},
                    "dialogId": "5491244f"
                }
            ],
            "page": 1
        }
    });
    let notification: types::Notification = round_trip("extended body", &body);
    let types::Notification::MessagingEventNotification(n) = &notification else {
        panic!("a messaging event notification: {notification:?}");
    };
    assert_eq!(n.extra["traceId"], "a1b2");
    assert_eq!(n.body.extra["page"], 1);
    let first = &n.body.changes[0];
    assert_eq!(first.extra["sentTs"], 1528371161890u64);
    assert_eq!(
        first.metadata.as_ref().map(|m| &m[0]["type"]),
        Some(&json!("ExternalId"))
    );
    let metadata = first.originator_metadata.as_ref().expect("metadata");
    assert_eq!(
        metadata.extra["clientProperties"]["type"],
        ".ClientProperties"
    );
    let types::MessagingEvent::ContentEvent(content) = &first.event else {
        panic!("a known ContentEvent with an extra field stays a ContentEvent");
    };
    assert_eq!(content.extra["quotedMessage"]["sequence"], 1);

    let second = &n.body.changes[1];
    let role = &second.originator_metadata.as_ref().expect("metadata").role;
    assert_eq!(role.0, "BOT_OBSERVER");
    let types::MessagingEvent::UnknownMessagingEvent(unknown) = &second.event else {
        panic!("an unknown event type falls back: {:?}", second.event);
    };
    assert_eq!(unknown.type_.as_str(), "FormSubmitEvent");
    assert_eq!(unknown.extra["formId"], "f-7");
}

/// A notification of a `type` the spec does not list, and values outside
/// the documented ones (chat state, close reason, stage, ...), parse.
#[test]
fn unknown_notification_types_and_values_are_kept() {
    let body = json!({
        "kind": "notification",
        "type": "routing.RoutingTaskNotification",
        "body": {"changes": [{"type": "UPSERT", "result": {"taskId": "t-1"}}]}
    });
    let notification: types::Notification = round_trip("unknown notification", &body);
    let types::Notification::UnknownNotification(unknown) = &notification else {
        panic!("falls back: {notification:?}");
    };
    assert_eq!(unknown.type_.as_str(), "routing.RoutingTaskNotification");
    assert_eq!(
        unknown.extra["body"]["changes"][0]["result"]["taskId"],
        "t-1"
    );

    let state = json!({
        "kind": "notification",
        "type": "ms.MessagingEventNotification",
        "body": {"changes": [{"originatorId": "a", "dialogId": "d",
            "event": {"type": "ChatStateEvent", "chatState": "RECORDING_AUDIO"}}]}
    });
    let notification: types::Notification = round_trip("unknown chat state", &state);
    assert_typed("unknown chat state", &notification);

    let closed = json!({
        "kind": "notification",
        "type": "cqm.ExConversationChangeNotification",
        "body": {"changes": [{"type": "UPSERT", "result": {"convId": "c", "conversationDetails": {
            "participants": [{"id": "p", "role": "CONTROLLER"}],
            "state": "CLOSE", "stage": "ARCHIVED", "closeReason": "BRAND_POLICY", "startTs": 1,
            "ttr": {"ttrType": "SLA_GOLD", "value": 60},
            "dialogs": [{"dialogId": "c", "dialogType": "OTHER", "channelType": "VOICE"}]
        }}}]}
    });
    let notification: types::Notification = round_trip("unknown values", &closed);
    assert_typed("unknown values", &notification);
}

/// A body of a known type that breaks the spec is an error, not a fallback:
/// the fallback takes only types the spec does not list.
#[test]
fn a_malformed_known_body_is_an_error() {
    for (what, body) in [
        (
            "a ContentEvent without its message",
            json!({"kind": "notification", "type": "ms.MessagingEventNotification",
                "body": {"changes": [{"originatorId": "a", "dialogId": "d",
                    "event": {"type": "ContentEvent", "contentType": "text/plain"}}]}}),
        ),
        (
            "a change without its dialogId",
            json!({"kind": "notification", "type": "ms.MessagingEventNotification",
                "body": {"changes": [{"originatorId": "a",
                    "event": {"type": "ChatStateEvent", "chatState": "ACTIVE"}}]}}),
        ),
        (
            "a conversation change without details",
            json!({"kind": "notification", "type": "cqm.ExConversationChangeNotification",
                "body": {"changes": [{"type": "UPSERT", "result": {"convId": "c"}}]}}),
        ),
        (
            "a sequence that is not a number",
            json!({"kind": "notification", "type": "ms.MessagingEventNotification",
                "body": {"changes": [{"sequence": "0", "originatorId": "a", "dialogId": "d",
                    "event": {"type": "ChatStateEvent", "chatState": "ACTIVE"}}]}}),
        ),
        (
            "no type",
            json!({"kind": "notification", "body": {"changes": []}}),
        ),
    ] {
        let result = serde_json::from_value::<types::Notification>(body);
        assert!(result.is_err(), "{what}: parsed as {result:?}");
    }
}

/// The manifest's `capabilities.webhooks` object: the five registration keys
/// only, `endpoint` required; what LivePerson's Configuration page shows
/// parses.
#[test]
fn the_webhooks_capability_takes_the_registration_keys() {
    let capability: types::WebhooksCapability = serde_json::from_value(json!({
        "ms.MessagingEventNotification.ContentEvent": {"endpoint": "https://a.example.org/", "max_retries": 1},
        "ms.MessagingEventNotification.RichContentEvent": {"endpoint": "https://a.example.org/"},
        "ms.MessagingEventNotification.ChatStateEvent": {"endpoint": "https://a.example.org/"},
        "cqm.ExConversationChangeNotification": {"endpoint": "https://a.example.org/", "max_retries": 3}
    }))
    .expect("the Configuration page's manifest parses");
    let content = capability
        .ms_messaging_event_notification_content_event
        .as_ref()
        .expect("ContentEvent");
    assert_eq!(content.endpoint, "https://a.example.org/");
    assert!(
        capability
            .ms_messaging_event_notification_accept_status_event
            .is_none()
    );
    for (what, body) in [
        (
            "an unknown event type",
            json!({"ms.MessagingEventNotification.Other": {"endpoint": "https://a/"}}),
        ),
        (
            "no endpoint",
            json!({"cqm.ExConversationChangeNotification": {"max_retries": 1}}),
        ),
        (
            "an unknown field",
            json!({"cqm.ExConversationChangeNotification": {"endpoint": "https://a/", "retries": 1}}),
        ),
    ] {
        let result = serde_json::from_value::<types::WebhooksCapability>(body);
        assert!(result.is_err(), "{what}: parsed as {result:?}");
    }
}
