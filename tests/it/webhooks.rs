//! `liveperson_ccs::webhooks`: the documented notifications parsed to their
//! typed form, signatures against independently computed vectors, the
//! receiver's checks and redelivery suppression, the axum route over real
//! HTTP, and awaiting a conversation's events.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use liveperson_ccs::StatusCode;
use liveperson_ccs::messaging::{AcceptStatus, ChatState};
use liveperson_ccs::raw::webhooks::types as webhooks_types;
use liveperson_ccs::webhooks::{
    self, ChangeType, ConversationState, Notification, Receiver, Role, SignatureAlgorithm,
    SignatureEncoding, SignatureError, WaitError, WebhookError, parse, sign, verify_signature,
};
use serde_json::{Value, json};

const CLIENT_ID: &str = "my-client-id";
const SECRET: &str = "my-client-secret-🔑";
const ACCOUNT: &str = "64467156";
const CONV: &str = "5491244f-e462-4c63-bf4e-faf4b2d3e7b5";
const CONSUMER: &str = "ade26082b1185839d17e0794924c1a0005cf5663e7c35e38f80dd8552a1a96e5";
const AGENT: &str = "29c3019d-fe0b-5200-afe8-737abfeae4b4";

// ---------------------------------------------------------------------------
// LivePerson's "Webhooks Examples" page
// (developer-center: pages/documents/MessagingChannels/ConnectorAPI/webhooks/examples.md),
// each example's payload as a value, in the page's order.

fn conversation_change(participants: Value, last_update: i64) -> Value {
    json!({"kind": "notification", "body": {"changes": [{"type": "UPSERT", "result": {
        "convId": CONV, "conversationDetails": {"participants": participants,
        "brandId": ACCOUNT, "state": "OPEN", "startTs": 1528371161882_i64,
        "metaDataLastUpdateTs": last_update, "ttr": {"ttrType": "PRIORITIZED", "value": 600}}}}]},
        "type": "cqm.ExConversationChangeNotification"})
}

fn message_change(
    sequence: Option<u64>,
    originator: &str,
    role: &str,
    ts: Option<i64>,
    event: Value,
) -> Value {
    let mut change = json!({"originatorId": originator,
        "originatorMetadata": {"id": originator, "role": role},
        "event": event, "dialogId": CONV});
    if let Some(sequence) = sequence {
        change["sequence"] = json!(sequence);
    }
    if let Some(ts) = ts {
        change["serverTimestamp"] = json!(ts);
    }
    json!({"kind": "notification", "body": {"changes": [change]}, "type": "ms.MessagingEventNotification"})
}

fn text(message: &str) -> Value {
    json!({"type": "ContentEvent", "message": message, "contentType": "text/plain"})
}

/// The page's eight examples, by their headings.
fn documented_examples() -> Vec<(&'static str, Value)> {
    vec![
        (
            "Consumer created an new conversation",
            conversation_change(json!([{"id": CONSUMER, "role": "CONSUMER"}]), 1528371161882),
        ),
        (
            "Consumer sent a text message",
            message_change(
                Some(0),
                CONSUMER,
                "CONSUMER",
                Some(1528371161893),
                text("Hello from Consumer"),
            ),
        ),
        (
            "Agent assigned to the conversation",
            conversation_change(
                json!([{"id": AGENT, "role": "ASSIGNED_AGENT"}, {"id": CONSUMER, "role": "CONSUMER"}]),
                1528371195521,
            ),
        ),
        (
            "Agent read the message",
            message_change(
                Some(1),
                AGENT,
                "ASSIGNED_AGENT",
                Some(1528371196009),
                json!({"type": "AcceptStatusEvent", "status": "READ", "sequenceList": [0]}),
            ),
        ),
        (
            "Agent is typing",
            message_change(
                None,
                AGENT,
                "ASSIGNED_AGENT",
                None,
                json!({"type": "ChatStateEvent", "chatState": "COMPOSING"}),
            ),
        ),
        (
            "Agent has stopped typing but still on the chat window - ACTIVE",
            message_change(
                None,
                AGENT,
                "ASSIGNED_AGENT",
                None,
                json!({"type": "ChatStateEvent", "chatState": "ACTIVE"}),
            ),
        ),
        (
            "Agent sent a text messages",
            message_change(
                Some(2),
                AGENT,
                "ASSIGNED_AGENT",
                Some(1528371199686),
                text("Hello from the Agent\n"),
            ),
        ),
        (
            "Agent sent another message",
            message_change(
                Some(3),
                AGENT,
                "ASSIGNED_AGENT",
                Some(1528372178604),
                text("Hello from Agent\n"),
            ),
        ),
    ]
}

fn one(body: &Value) -> Notification {
    let mut notes = parse(body.to_string().as_bytes()).expect("a documented example parses");
    assert_eq!(notes.len(), 1, "{body}");
    notes.remove(0)
}

#[test]
fn every_documented_example_parses_to_its_typed_form() {
    let examples = documented_examples();
    assert_eq!(examples.len(), 8);
    for (heading, body) in &examples {
        let note = one(body);
        assert_eq!(note.conversation_id(), Some(CONV), "{heading}");
        assert!(!matches!(note, Notification::Unknown(_)), "{heading}");
        assert_eq!(
            serde_json::from_str::<Value>(note.raw_json()).unwrap(),
            body["body"]["changes"][0],
            "{heading}"
        );
    }

    let Notification::Conversation(opened) = one(&examples[0].1) else {
        panic!("a conversation change")
    };
    assert_eq!(opened.change_type, ChangeType::Upsert);
    assert_eq!(opened.conversation_id, CONV);
    assert_eq!(opened.details.state, Some(ConversationState::Open));
    assert_eq!(opened.details.brand_id.as_deref(), Some(ACCOUNT));
    assert_eq!(opened.details.participants.len(), 1);
    assert_eq!(opened.details.participants[0].id, CONSUMER);
    assert_eq!(opened.details.participants[0].role, Role::Consumer);
    assert_eq!(opened.details.start_ts, Some(1528371161882));
    assert_eq!(opened.details.meta_data_last_update_ts, Some(1528371161882));
    let ttr = opened.details.ttr.as_ref().unwrap();
    assert_eq!(
        (ttr.ttr_type.as_deref(), ttr.value),
        (Some("PRIORITIZED"), Some(600))
    );
    assert_eq!(opened.assigned_agent(), None);
    assert!(!opened.is_closed());

    let Notification::Content(hello) = one(&examples[1].1) else {
        panic!("a text")
    };
    assert_eq!(hello.event.message, "Hello from Consumer");
    assert_eq!(hello.event.content_type, "text/plain");
    assert_eq!(hello.sequence, Some(0));
    assert_eq!(hello.dialog_id, CONV);
    assert_eq!(hello.conversation_id, None);
    assert_eq!(hello.originator_id.as_deref(), Some(CONSUMER));
    assert_eq!(hello.role(), Some(&Role::Consumer));
    assert_eq!(hello.server_timestamp, Some(1528371161893));
    assert!(hello.is_from_consumer() && !hello.is_from_agent());

    let Notification::Conversation(assigned) = one(&examples[2].1) else {
        panic!("a conversation change")
    };
    assert_eq!(assigned.assigned_agent(), Some(AGENT));
    assert_eq!(
        assigned.details.meta_data_last_update_ts,
        Some(1528371195521)
    );

    let Notification::AcceptStatus(read) = one(&examples[3].1) else {
        panic!("an accept status")
    };
    assert_eq!(read.event.status(), Some(AcceptStatus::Read));
    assert_eq!(read.event.status_text, "READ");
    assert_eq!(read.event.sequence_list, vec![0]);
    assert_eq!(read.sequence, Some(1));
    assert_eq!(read.role(), Some(&Role::AssignedAgent));

    for (example, state, text) in [
        (4, ChatState::Composing, "COMPOSING"),
        (5, ChatState::Active, "ACTIVE"),
    ] {
        let Notification::ChatState(typing) = one(&examples[example].1) else {
            panic!("a chat state")
        };
        assert_eq!(typing.event.state(), Some(state));
        assert_eq!(typing.event.chat_state_text, text);
        assert_eq!((typing.sequence, typing.server_timestamp), (None, None));
        assert!(typing.is_from_agent());
    }

    for (example, sequence, message) in [
        (6, 2, "Hello from the Agent\n"),
        (7, 3, "Hello from Agent\n"),
    ] {
        let Notification::Content(reply) = one(&examples[example].1) else {
            panic!("a text")
        };
        assert_eq!(reply.event.message, message);
        assert_eq!(reply.sequence, Some(sequence));
        assert!(reply.is_from_agent());
        assert_eq!(reply.originator.as_ref().unwrap().id, AGENT);
    }
}

#[test]
fn rich_content_and_conversation_close_and_delete() {
    let rich = message_change(
        Some(4),
        AGENT,
        "ASSIGNED_AGENT",
        Some(1),
        json!({"type": "RichContentEvent",
        "content": {"type": "vertical", "elements": [{"type": "text", "text": "Pick one"}]}}),
    );
    let Notification::RichContent(card) = one(&rich) else {
        panic!("rich content")
    };
    assert_eq!(card.event.content["elements"][0]["text"], "Pick one");

    let closed = json!({"kind": "notification", "type": "cqm.ExConversationChangeNotification",
        "body": {"changes": [
            {"type": "UPSERT", "result": {"convId": CONV, "effectiveTTR": -1, "conversationDetails": {
                "skillId": "-1", "participants": [], "dialogs": [{"dialogId": CONV, "state": "CLOSE"}],
                "brandId": ACCOUNT, "state": "CLOSE", "stage": "CLOSE", "closeReason": "AGENT",
                "startTs": 1, "endTs": 9, "metaDataLastUpdateTs": 9}}},
            {"type": "DELETE", "result": {"convId": CONV, "conversationDetails": {
                "participants": [], "state": "CLOSE", "startTs": 1}}}]}});
    let notes = parse(closed.to_string().as_bytes()).unwrap();
    let Notification::Conversation(close) = &notes[0] else {
        panic!("a conversation change")
    };
    assert!(close.is_closed());
    assert_eq!(close.details.stage, Some(ConversationState::Close));
    assert_eq!(close.details.close_reason.as_deref(), Some("AGENT"));
    assert_eq!(close.details.skill_id.as_deref(), Some("-1"));
    assert_eq!(close.details.end_ts, Some(9));
    assert_eq!(close.effective_ttr, Some(-1));
    assert_eq!(close.details.dialogs[0]["state"], "CLOSE");
    let Notification::Conversation(delete) = &notes[1] else {
        panic!("a conversation change")
    };
    assert_eq!(delete.change_type, ChangeType::Delete);
    assert_eq!(delete.details.participants.len(), 0);
}

#[test]
fn unknown_types_and_fields_are_kept() {
    // A field LivePerson adds, an unknown role, an unknown chat state.
    let body = json!({"kind": "notification", "type": "ms.MessagingEventNotification", "newTop": 1,
        "body": {"changes": [{"sequence": 5, "dialogId": CONV, "originatorId": "b", "conversationId": "main-conv", "metadata": [{"k": "v"}],
            "originatorMetadata": {"id": "b", "role": "BOT_OVERSEER", "clientProperties": {"x": 1}},
            "event": {"type": "ChatStateEvent", "chatState": "DREAMING", "extra": true}},
          {"sequence": 6, "dialogId": CONV, "event": {"type": "ConversationMetadataEvent", "message": {"an": "object"}}},
          {"event": {"type": "NoDialogEvent"}}]}});
    let notes = parse(body.to_string().as_bytes()).unwrap();
    let Notification::ChatState(state) = &notes[0] else {
        panic!("a chat state")
    };
    assert_eq!(state.event.state(), None);
    assert_eq!(state.event.chat_state_text, "DREAMING");
    assert_eq!(state.role(), Some(&Role::Other("BOT_OVERSEER".into())));
    assert_eq!(state.conversation(), "main-conv");
    assert_eq!(notes[0].pointer("/metadata/0/k"), Some(json!("v")));
    assert_eq!(notes[0].pointer("/event/extra"), Some(json!(true)));
    assert_eq!(
        notes[0].pointer("/originatorMetadata/clientProperties/x"),
        Some(json!(1))
    );
    // An unknown event type whose `message` is an object: kept, not refused.
    let Notification::Unknown(unknown) = &notes[1] else {
        panic!("unknown")
    };
    assert_eq!(unknown.notification_type, "ms.MessagingEventNotification");
    assert_eq!(
        unknown.event_type.as_deref(),
        Some("ConversationMetadataEvent")
    );
    assert_eq!(unknown.change["event"]["message"]["an"], "object");
    assert_eq!(notes[1].conversation_id(), Some(CONV));

    let Notification::Unknown(no_dialog) = &notes[2] else {
        panic!("unknown")
    };
    assert_eq!(no_dialog.event_type.as_deref(), Some("NoDialogEvent"));
    assert_eq!(notes[2].conversation_id(), None);

    // An unknown envelope type: every change kept as JSON.
    let other = json!({"kind": "notification", "type": "ms.SomethingNew", "body": {"changes": [{"convId": "c9", "x": [1]}]}});
    let notes = parse(other.to_string().as_bytes()).unwrap();
    let Notification::Unknown(unknown) = &notes[0] else {
        panic!("unknown")
    };
    assert_eq!(unknown.notification_type, "ms.SomethingNew");
    assert_eq!(unknown.event_type, None);
    assert_eq!(unknown.change, json!({"convId": "c9", "x": [1]}));
    assert_eq!(notes[0].notification_type(), "ms.SomethingNew");
    assert_eq!(notes[0].conversation_id(), Some("c9"));
}

#[test]
fn malformed_bodies_name_the_problem() {
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (b"not json".to_vec(), "(body)", "not JSON"),
        (
            b"[1,2]".to_vec(),
            "(body)",
            "expected an object, found an array",
        ),
        (br#"{"body":{"changes":[]}}"#.to_vec(), "type", "missing"),
        (
            br#"{"type":7,"body":{"changes":[]}}"#.to_vec(),
            "type",
            "expected a string, found the number 7",
        ),
        (
            br#"{"type":"ms.MessagingEventNotification"}"#.to_vec(),
            "body",
            "missing",
        ),
        (
            br#"{"type":"ms.MessagingEventNotification","body":{}}"#.to_vec(),
            "body.changes",
            "missing",
        ),
        (
            br#"{"type":"ms.MessagingEventNotification","body":{"changes":{}}}"#.to_vec(),
            "body.changes",
            "expected an array",
        ),
        (
            message_body(json!({"event": {"type": "ContentEvent", "message": "x"}})),
            "body.changes[1].dialogId",
            "missing",
        ),
        (
            message_body(json!({"dialogId": "c", "event": {"type": "ContentEvent"}})),
            "body.changes[1].event.message",
            "missing",
        ),
        (
            message_body(json!({"dialogId": "c", "event": {"message": "x"}})),
            "body.changes[1].event.type",
            "missing",
        ),
        (
            message_body(json!({"dialogId": "c"})),
            "body.changes[1].event",
            "missing",
        ),
        (
            message_body(
                json!({"dialogId": "c", "sequence": "three", "event": {"type": "ContentEvent", "message": "x"}}),
            ),
            "body.changes[1].sequence",
            "expected a non-negative integer, found the string \"three\"",
        ),
        (
            message_body(
                json!({"dialogId": "c", "event": {"type": "ContentEvent", "message": 42}}),
            ),
            "body.changes[1].event.message",
            "expected a string or an object (a file), found the number 42",
        ),
        (
            message_body(
                json!({"dialogId": "c", "event": {"type": "AcceptStatusEvent", "status": "READ", "sequenceList": [0, -1]}}),
            ),
            "body.changes[1].event.sequenceList[1]",
            "expected a non-negative integer",
        ),
        (
            message_body(
                json!({"dialogId": "c", "originatorMetadata": {"id": "a"}, "event": {"type": "ChatStateEvent", "chatState": "ACTIVE"}}),
            ),
            "body.changes[1].originatorMetadata.role",
            "missing",
        ),
        (
            message_body(json!(17)),
            "body.changes[1]",
            "expected an object, found the number 17",
        ),
        (
            conversation_body(json!({"type": "UPSERT", "result": {}})),
            "body.changes[0].result.convId",
            "missing",
        ),
        (
            conversation_body(
                json!({"type": "UPSERT", "result": {"convId": "c", "conversationDetails": {"participants": [{"id": "a", "role": 3}]}}}),
            ),
            "body.changes[0].result.conversationDetails.participants[0].role",
            "expected a string",
        ),
        (
            conversation_body(json!({"result": {"convId": "c"}})),
            "body.changes[0].type",
            "missing",
        ),
    ];
    for (body, path, problem) in cases {
        let err = parse(&body).expect_err(&String::from_utf8_lossy(&body));
        assert_eq!(err.path(), path, "{err}");
        assert!(err.problem().starts_with(problem), "{err}");
        assert_eq!(
            err.to_string(),
            format!("webhook body: {}: {}", err.path(), err.problem())
        );
        // No position counted from somewhere else than the body.
        if err.path() != "(body)" {
            assert!(!err.problem().contains(" at line "), "{err}");
        }
    }
}

/// A message notification whose second change is `change` (the first is fine).
fn message_body(change: Value) -> Vec<u8> {
    let good = json!({"dialogId": "c", "originatorId": "a",
        "event": {"type": "ContentEvent", "message": "ok", "contentType": "text/plain"}});
    json!({"kind": "notification", "type": "ms.MessagingEventNotification", "body": {"changes": [good, change]}})
        .to_string()
        .into_bytes()
}

fn conversation_body(change: Value) -> Vec<u8> {
    json!({"kind": "notification", "type": "cqm.ExConversationChangeNotification", "body": {"changes": [change]}})
        .to_string()
        .into_bytes()
}

// ---------------------------------------------------------------------------
// Read with the spec's generated types: what the spec declares is reachable,
// what it requires is required (LivePerson's JSON schemas decide), what it
// leaves open stays open.

#[test]
fn fields_the_spec_declares_are_reachable_through_to_raw() {
    // `metadata` and a ContentEvent's `quickReplies`: declared by the spec,
    // not read into the layer's own fields.
    let body = json!({"kind": "notification", "type": "ms.MessagingEventNotification",
        "region": "eu", "body": {"changes": [{"sequence": 3, "originatorId": AGENT, "dialogId": CONV,
        "metadata": [{"type": "ExternalId", "id": "order-4711"}],
        "event": {"type": "ContentEvent", "message": "Yes or no?", "contentType": "text/plain",
            "quickReplies": {"type": "quickReplies", "itemsPerRow": 8, "replies": []}}}]}});
    let note = one(&body);
    let Notification::Content(asked) = &note else {
        panic!("a text")
    };
    let raw = asked
        .to_raw()
        .expect("a change parse gave follows the spec");
    assert_eq!(raw.metadata.unwrap()[0]["id"], "order-4711");
    let webhooks_types::MessagingEvent::ContentEvent(event) = raw.event else {
        panic!("a ContentEvent")
    };
    assert_eq!(event.quick_replies.unwrap()["itemsPerRow"], 8);
    // A field at the envelope's top level is kept too.
    assert_eq!(note.envelope_extra().unwrap()["region"], "eu");

    // `delay`, `manualETTR` and a dialog's `participantsDetails`.
    let body = json!({"kind": "notification", "type": "cqm.ExConversationChangeNotification",
        "body": {"changes": [{"type": "UPSERT", "result": {"convId": CONV, "conversationDetails": {
            "participants": [{"id": CONSUMER, "role": "CONSUMER"}], "state": "OPEN", "startTs": 1,
            "delay": {"type": "NIGHT", "tillWhen": 1528380000000_i64}, "manualETTR": 1528375800000_i64,
            "dialogs": [{"dialogId": CONV, "dialogType": "MAIN",
                "participantsDetails": [{"id": CONSUMER, "role": "CONSUMER", "state": "ACTIVE"}]}]}}}]}});
    let note = one(&body);
    assert_eq!(note.envelope_extra(), None);
    let Notification::Conversation(change) = note else {
        panic!("a conversation change")
    };
    assert_eq!(
        change.details.dialogs[0]["participantsDetails"][0]["state"],
        "ACTIVE"
    );
    let details = change.to_raw().unwrap().result.conversation_details;
    assert_eq!(details.delay.unwrap().till_when, 1528380000000);
    assert_eq!(details.manual_ettr, Some(1528375800000));
    assert_eq!(
        details.dialogs[0].participants_details[0].role.as_str(),
        "CONSUMER"
    );
}

#[test]
fn is_closed_reads_stage_before_state() {
    let change = |details: Value| {
        let mut details_with = json!({"participants": [], "startTs": 1});
        details_with
            .as_object_mut()
            .unwrap()
            .extend(details.as_object().unwrap().clone());
        let Notification::Conversation(change) = one(&json!({"kind": "notification",
            "type": "cqm.ExConversationChangeNotification", "body": {"changes": [{"type": "UPSERT",
            "result": {"convId": CONV, "conversationDetails": details_with}}]}}))
        else {
            panic!("a conversation change")
        };
        change
    };
    // A post-conversation survey: the main dialog closed, the conversation not.
    assert!(!change(json!({"state": "CLOSE", "stage": "OPEN"})).is_closed());
    assert!(change(json!({"state": "CLOSE", "stage": "CLOSE"})).is_closed());
    // No stage (the Webhooks Examples): state decides.
    assert!(change(json!({"state": "CLOSE"})).is_closed());
    assert!(!change(json!({"state": "OPEN"})).is_closed());
}

/// The error `parse` gives for a body whose only change is `change`.
fn refused(notification_type: &str, change: Value) -> (String, String) {
    let body =
        json!({"kind": "notification", "type": notification_type, "body": {"changes": [change]}});
    let err = parse(body.to_string().as_bytes()).expect_err(&body.to_string());
    (err.path().to_owned(), err.problem().to_owned())
}

#[test]
fn originator_id_is_required_as_livepersons_schema_requires_it() {
    // ms/messagingEventNotification.json requires it, and every example of
    // the Webhooks Examples page has it, chat states included.
    let change = json!({"dialogId": CONV, "sequence": 0,
        "event": {"type": "ContentEvent", "message": "hi", "contentType": "text/plain"}});
    assert_eq!(
        refused("ms.MessagingEventNotification", change),
        ("body.changes[0].originatorId".into(), "missing".into())
    );
}

#[test]
fn content_type_is_required_as_livepersons_schema_requires_it() {
    // ms/TextValue.json requires `contentType` beside `message`.
    let change = json!({"dialogId": CONV, "originatorId": AGENT,
        "event": {"type": "ContentEvent", "message": "hi"}});
    assert_eq!(
        refused("ms.MessagingEventNotification", change),
        ("body.changes[0].event.contentType".into(), "missing".into())
    );
}

#[test]
fn conversation_details_are_required_in_a_delete_too() {
    // aam/subscribeExConversationsNotification.json requires `convId` and
    // `conversationDetails` in every change, UPSERT or DELETE, and in the
    // details `participants`, `state` and `startTs`.
    let cqm = "cqm.ExConversationChangeNotification";
    assert_eq!(
        refused(cqm, json!({"type": "DELETE", "result": {"convId": CONV}})),
        (
            "body.changes[0].result.conversationDetails".into(),
            "missing".into()
        )
    );
    for (missing, details) in [
        ("participants", json!({"state": "CLOSE", "startTs": 1})),
        ("state", json!({"participants": [], "startTs": 1})),
        ("startTs", json!({"participants": [], "state": "CLOSE"})),
    ] {
        let change =
            json!({"type": "DELETE", "result": {"convId": CONV, "conversationDetails": details}});
        assert_eq!(
            refused(cqm, change),
            (
                format!("body.changes[0].result.conversationDetails.{missing}"),
                "missing".into()
            )
        );
    }
    // The same schema requires both fields of a `ttr`.
    let change = json!({"type": "UPSERT", "result": {"convId": CONV, "conversationDetails": {
        "participants": [], "state": "OPEN", "startTs": 1, "ttr": {"ttrType": "NORMAL"}}}});
    assert_eq!(
        refused(cqm, change),
        (
            "body.changes[0].result.conversationDetails.ttr.value".into(),
            "missing".into()
        )
    );
}

#[test]
fn ids_are_strings_as_livepersons_examples_write_them() {
    // `skillId` "-1", `brandId` "64467156": strings on every page; a number
    // is refused with a clear message rather than guessed at.
    let change = json!({"type": "UPSERT", "result": {"convId": CONV, "conversationDetails": {
        "participants": [], "state": "OPEN", "startTs": 1, "skillId": -1}}});
    assert_eq!(
        refused("cqm.ExConversationChangeNotification", change),
        (
            "body.changes[0].result.conversationDetails.skillId".into(),
            "expected a string, found the number -1".into()
        )
    );
    // The spec's `minimum: 0` on sequence numbers holds too.
    let change = json!({"dialogId": CONV, "originatorId": AGENT, "sequence": -2,
        "event": {"type": "ChatStateEvent", "chatState": "ACTIVE"}});
    assert_eq!(
        refused("ms.MessagingEventNotification", change),
        (
            "body.changes[0].sequence".into(),
            "expected a non-negative integer, found the number -2".into()
        )
    );
}

#[test]
fn open_values_and_unknown_fields_stay_open_in_the_generated_types() {
    // Roles, states, statuses, close reasons and TTR types are strings in
    // the generated types: any value is kept, and so is any field.
    let body = json!({"kind": "notification", "type": "cqm.ExConversationChangeNotification",
        "body": {"subscriptionId": "s1", "changes": [{"type": "ARCHIVE", "novel": 1, "result": {"convId": CONV,
            "conversationDetails": {"participants": [{"id": "x", "role": "OBSERVER", "since": 3}],
            "state": "PAUSED", "stage": "SURVEY", "startTs": 1, "closeReason": "ROBOT",
            "ttr": {"ttrType": "GLACIAL", "value": 1}, "csat": {"score": 5}}}}]}});
    let Notification::Conversation(change) = one(&body) else {
        panic!("a conversation change")
    };
    assert_eq!(change.change_type, ChangeType::Other("ARCHIVE".into()));
    assert_eq!(
        change.details.participants[0].role,
        Role::Other("OBSERVER".into())
    );
    assert_eq!(
        change.details.state,
        Some(ConversationState::Other("PAUSED".into()))
    );
    assert_eq!(change.details.close_reason.as_deref(), Some("ROBOT"));
    assert!(!change.is_closed());
    let raw = change.to_raw().unwrap();
    assert_eq!(raw.extra["novel"], 1);
    assert_eq!(raw.result.conversation_details.extra["csat"]["score"], 5);
    assert_eq!(
        raw.result.conversation_details.participants[0].extra["since"],
        3
    );
}

// ---------------------------------------------------------------------------
// Signatures

#[derive(serde::Deserialize)]
struct Vectors {
    vectors: Vec<Vector>,
}

#[derive(serde::Deserialize)]
struct Vector {
    secret: String,
    body: String,
    body_hex: String,
    algorithm: String,
    encoding: String,
    header: String,
}

#[test]
fn python_vectors_verify_and_sign_alike() {
    // Written by tests/fixtures/webhook-signatures.py with Python's own hmac.
    let file = include_str!("../fixtures/webhook-signatures.json");
    let vectors: Vectors = serde_json::from_str(file).unwrap();
    assert_eq!(vectors.vectors.len(), 100);
    let mut non_ascii_bodies = 0;
    for v in &vectors.vectors {
        let body = v.body.as_bytes();
        assert_eq!(
            hex(body),
            v.body_hex,
            "the fixture's body is the bytes signed"
        );
        non_ascii_bodies += usize::from(!v.body.is_ascii());
        let algorithm = match v.algorithm.as_str() {
            "sha1" => SignatureAlgorithm::Sha1,
            "sha256" => SignatureAlgorithm::Sha256,
            other => panic!("{other}"),
        };
        let encoding = match v.encoding.as_str() {
            "base64" => SignatureEncoding::Base64,
            "hex" => SignatureEncoding::Hex,
            other => panic!("{other}"),
        };
        assert_eq!(
            verify_signature(&v.secret, &v.header, body),
            Ok(()),
            "{}",
            v.header
        );
        assert_eq!(sign(&v.secret, body, algorithm, encoding), v.header);
        // Another secret, or one byte more, is refused.
        let wrong = format!("{}x", v.secret);
        assert_eq!(
            verify_signature(&wrong, &v.header, body),
            Err(SignatureError::Mismatch { algorithm })
        );
        let mut tampered = body.to_vec();
        tampered.push(b' ');
        assert_eq!(
            verify_signature(&v.secret, &v.header, &tampered),
            Err(SignatureError::Mismatch { algorithm })
        );
    }
    assert!(
        non_ascii_bodies >= 20,
        "emoji and other non-ASCII bodies are covered"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_re_serialized_body_no_longer_verifies() {
    // Why the raw bytes: the same JSON written with \u escapes is another body.
    let raw = "{\"message\":\"Héllo 👋\"}";
    let header = sign(
        SECRET,
        raw.as_bytes(),
        SignatureAlgorithm::Sha1,
        SignatureEncoding::Base64,
    );
    let value: Value = serde_json::from_str(raw).unwrap();
    let escaped = "{\"message\":\"H\\u00e9llo \\ud83d\\udc4b\"}";
    assert_eq!(serde_json::from_str::<Value>(escaped).unwrap(), value);
    assert_eq!(verify_signature(SECRET, &header, raw.as_bytes()), Ok(()));
    assert!(verify_signature(SECRET, &header, escaped.as_bytes()).is_err());
}

// ---------------------------------------------------------------------------
// The receiver's checks

fn receiver() -> Receiver {
    Receiver::new(CLIENT_ID, SECRET, ACCOUNT).account("le12345678")
}

fn headers_for(body: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-liveperson-client-id",
        HeaderValue::from_static(CLIENT_ID),
    );
    headers.insert("x-liveperson-account-id", HeaderValue::from_static(ACCOUNT));
    let signature = sign(
        SECRET,
        body,
        SignatureAlgorithm::Sha1,
        SignatureEncoding::Base64,
    );
    headers.insert(
        "x-liveperson-signature",
        HeaderValue::from_str(&signature).unwrap(),
    );
    headers
}

fn agent_text(sequence: u64, message: &str) -> Vec<u8> {
    message_change(
        Some(sequence),
        AGENT,
        "ASSIGNED_AGENT",
        Some(1528371199686),
        text(message),
    )
    .to_string()
    .into_bytes()
}

#[test]
fn receiver_checks_each_header_and_says_which_failed() {
    let receiver = receiver();
    let body = agent_text(2, "Grüße 👋 — 日本語");
    assert_eq!(
        receiver
            .receive(&headers_for(&body), &body)
            .unwrap()
            .notifications()
            .len(),
        1
    );

    // Every signature form is accepted.
    for algorithm in [SignatureAlgorithm::Sha1, SignatureAlgorithm::Sha256] {
        for encoding in [SignatureEncoding::Base64, SignatureEncoding::Hex] {
            let mut headers = headers_for(&body);
            headers.insert(
                "x-liveperson-signature",
                sign(SECRET, &body, algorithm, encoding).parse().unwrap(),
            );
            assert!(
                receiver.check(&headers, &body).is_ok(),
                "{algorithm} {encoding:?}"
            );
        }
    }
    // A second account of the set.
    let mut headers = headers_for(&body);
    headers.insert(
        "x-liveperson-account-id",
        HeaderValue::from_static("le12345678"),
    );
    assert_eq!(
        receiver.check(&headers, &body).unwrap().account_id,
        "le12345678"
    );

    let refused = |change: &dyn Fn(&mut HeaderMap), body: &[u8]| {
        let mut headers = headers_for(&agent_text(2, "Grüße 👋 — 日本語"));
        change(&mut headers);
        receiver.receive(&headers, body).unwrap_err()
    };
    let err = refused(
        &|h| {
            h.remove("x-liveperson-client-id");
        },
        &body,
    );
    assert_eq!(err, WebhookError::ClientId { received: None });
    let err = refused(
        &|h| {
            h.insert("x-liveperson-client-id", HeaderValue::from_static("other"));
        },
        &body,
    );
    assert_eq!(
        err,
        WebhookError::ClientId {
            received: Some("other".into())
        }
    );
    assert_eq!(
        err.to_string(),
        "x-liveperson-client-id: \"other\" is not this receiver's client id"
    );
    let err = refused(
        &|h| {
            h.remove("x-liveperson-account-id");
        },
        &body,
    );
    assert_eq!(
        (err.check(), err.to_string().as_str()),
        ("account_id", "x-liveperson-account-id: missing")
    );
    let err = refused(
        &|h| {
            h.insert("x-liveperson-account-id", HeaderValue::from_static("999"));
        },
        &body,
    );
    assert_eq!(
        err,
        WebhookError::AccountId {
            received: Some("999".into())
        }
    );
    let err = refused(
        &|h| {
            h.remove("x-liveperson-signature");
        },
        &body,
    );
    assert_eq!(err, WebhookError::Signature(SignatureError::Missing));
    let err = refused(
        &|h| {
            h.insert(
                "x-liveperson-signature",
                HeaderValue::from_static("sha1=@@@"),
            );
        },
        &body,
    );
    assert!(
        matches!(
            err,
            WebhookError::Signature(SignatureError::Malformed { .. })
        ),
        "{err}"
    );
    let err = refused(
        &|h| {
            h.insert(
                "x-liveperson-signature",
                HeaderValue::from_static("md5=abcd"),
            );
        },
        &body,
    );
    assert_eq!(
        err,
        WebhookError::Signature(SignatureError::UnsupportedAlgorithm)
    );
    // Tampered body.
    let err = refused(&|_| {}, &agent_text(2, "Grüße 👋 — 日本語!"));
    assert_eq!(
        err,
        WebhookError::Signature(SignatureError::Mismatch {
            algorithm: SignatureAlgorithm::Sha1
        })
    );
    assert_eq!(
        (err.check(), err.status()),
        ("signature", StatusCode::UNAUTHORIZED)
    );
    // Wrong secret.
    let other = Receiver::new(CLIENT_ID, "another secret", ACCOUNT);
    let err = other.receive(&headers_for(&body), &body).unwrap_err();
    assert!(matches!(
        err,
        WebhookError::Signature(SignatureError::Mismatch { .. })
    ));
    // Signed correctly, not a notification.
    let junk = b"{\"type\":\"ms.MessagingEventNotification\",\"body\":{\"changes\":[{}]}}";
    let err = receiver.receive(&headers_for(junk), junk).unwrap_err();
    assert_eq!(
        (err.check(), err.status()),
        ("body", StatusCode::BAD_REQUEST)
    );
    assert_eq!(
        err.to_string(),
        "webhook body: body.changes[0].dialogId: missing"
    );
}

#[test]
fn the_secret_never_shows() {
    let receiver = receiver();
    let shown = format!("{receiver:?}");
    assert!(
        !shown.contains(SECRET) && shown.contains("redacted"),
        "{shown}"
    );
    let body = agent_text(1, "x");
    let expected = sign(
        SECRET,
        &body,
        SignatureAlgorithm::Sha1,
        SignatureEncoding::Base64,
    );
    let mut headers = headers_for(&body);
    headers.insert(
        "x-liveperson-signature",
        HeaderValue::from_static("sha1=AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    );
    let err = receiver.receive(&headers, &body).unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(
            !text.contains(SECRET) && !text.contains(&expected[5..]),
            "{text}"
        );
    }
}

// ---------------------------------------------------------------------------
// Redeliveries

#[test]
fn each_change_reaches_the_user_once() {
    let receiver = receiver();
    let deliver = |body: &Value| {
        let bytes = body.to_string().into_bytes();
        receiver.receive(&headers_for(&bytes), &bytes).unwrap()
    };
    for (heading, body) in documented_examples() {
        let first = deliver(&body);
        assert_eq!(
            (first.notifications().len(), first.duplicates()),
            (1, 0),
            "{heading}"
        );
        let again = deliver(&body);
        assert_eq!(
            (again.notifications().len(), again.duplicates()),
            (0, 1),
            "{heading}"
        );
        assert!(again.is_empty());
    }
    // The same sequence in the same dialog, even written differently: a redelivery.
    let reordered = json!({"type": "ms.MessagingEventNotification", "kind": "notification", "body": {"changes": [
        {"dialogId": CONV, "sequence": 2, "originatorId": AGENT, "event": {"contentType": "text/plain", "message": "Hello from the Agent\n", "type": "ContentEvent"}}]}});
    assert!(deliver(&reordered).is_empty());
    // A new sequence is news.
    assert_eq!(
        deliver(&message_change(
            Some(9),
            AGENT,
            "ASSIGNED_AGENT",
            None,
            text("more")
        ))
        .notifications()
        .len(),
        1
    );
    // A chat state is news when it changes: COMPOSING, ACTIVE were seen; COMPOSING again is news.
    let typing = message_change(
        None,
        AGENT,
        "ASSIGNED_AGENT",
        None,
        json!({"type": "ChatStateEvent", "chatState": "COMPOSING"}),
    );
    assert_eq!(deliver(&typing).notifications().len(), 1);
    assert!(deliver(&typing).is_empty());
    // Two conversation changes within one millisecond: the agent joined.
    let opened = conversation_change(json!([{"id": CONSUMER, "role": "CONSUMER"}]), 1528371888888);
    let joined = conversation_change(
        json!([{"id": AGENT, "role": "ASSIGNED_AGENT"}, {"id": CONSUMER, "role": "CONSUMER"}]),
        1528371888888,
    );
    assert_eq!(deliver(&opened).notifications().len(), 1);
    assert_eq!(deliver(&joined).notifications().len(), 1);
    assert!(deliver(&joined).is_empty());
    // A conversation change with a new metaDataLastUpdateTs is news.
    assert_eq!(
        deliver(&conversation_change(json!([]), 1528371999999))
            .notifications()
            .len(),
        1
    );
    // Two changes in one call, one of them seen: only the other passes.
    let mixed = json!({"type": "ms.MessagingEventNotification", "body": {"changes": [
        {"dialogId": CONV, "sequence": 9, "originatorId": AGENT, "event": text("more")},
        {"dialogId": CONV, "sequence": 10, "originatorId": AGENT, "event": text("new")}]}});
    let delivery = deliver(&mixed);
    assert_eq!(
        (delivery.notifications().len(), delivery.duplicates()),
        (1, 1)
    );
    let Notification::Content(new) = &delivery.notifications()[0] else {
        panic!("a text")
    };
    assert_eq!(new.event.message, "new");
}

#[test]
fn remembering_is_bounded() {
    let receiver = Receiver::new(CLIENT_ID, SECRET, ACCOUNT).remember(2);
    let deliver = |sequence| {
        let body = agent_text(sequence, "x");
        receiver
            .receive(&headers_for(&body), &body)
            .unwrap()
            .notifications()
            .len()
    };
    assert_eq!((deliver(0), deliver(1), deliver(2)), (1, 1, 1));
    assert_eq!(deliver(2), 0);
    // 0 was forgotten (the oldest of three): passed on again.
    assert_eq!(deliver(0), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_body_from_many_tasks_at_once_passes_once() {
    let receiver = receiver();
    let body = Arc::new(agent_text(7, "once 🙂"));
    let barrier = Arc::new(tokio::sync::Barrier::new(32));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (receiver, body, barrier) = (receiver.clone(), body.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                receiver
                    .receive(&headers_for(&body), &body)
                    .unwrap()
                    .notifications()
                    .len()
            })
        })
        .collect();
    let mut passed = 0;
    for task in tasks {
        passed += task.await.unwrap();
    }
    assert_eq!(passed, 1);
}

// ---------------------------------------------------------------------------
// Awaiting a conversation's events

#[tokio::test]
async fn awaiting_a_conversations_agent_text() {
    let receiver = receiver();
    let mut events = receiver.conversation(CONV);
    let mut other = receiver.conversation("another-conversation");
    // The consumer's own text, a chat state, then the agent's text.
    for (_, body) in documented_examples().into_iter().take(7) {
        let bytes = body.to_string().into_bytes();
        receiver.receive(&headers_for(&bytes), &bytes).unwrap();
    }
    let reply = events
        .next_agent_text(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(reply.event.message, "Hello from the Agent\n");
    assert_eq!(reply.sequence, Some(2));
    assert_eq!(events.missed(), 0);
    // Nothing for the other conversation; a redelivery does not come again.
    let again = agent_text(2, "Hello from the Agent\n");
    receiver.receive(&headers_for(&again), &again).unwrap();
    let next = agent_text(3, "and then");
    receiver.receive(&headers_for(&next), &next).unwrap();
    let Some(Notification::Content(then)) = futures::StreamExt::next(&mut events).await else {
        panic!("a text")
    };
    assert_eq!(then.event.message, "and then");
    drop(receiver);
    assert!(other.next().await.is_none());
    assert_eq!(
        events.next_agent_text(Duration::from_secs(60)).await,
        Err(WaitError::Ended {
            conversation_id: CONV.into()
        })
    );
}

#[tokio::test(start_paused = true)]
async fn waiting_in_vain_times_out() {
    let receiver = receiver();
    let mut events = receiver.conversation(CONV);
    let body = documented_examples()[1].1.to_string().into_bytes(); // the consumer's text
    receiver.receive(&headers_for(&body), &body).unwrap();
    let err = events
        .next_agent_text(Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        WaitError::TimedOut {
            conversation_id: CONV.into(),
            waited: Duration::from_secs(5)
        }
    );
}

#[tokio::test]
async fn a_full_conversation_buffer_counts_what_it_missed() {
    let receiver = receiver();
    let events = receiver.conversation(CONV);
    for sequence in 0..(webhooks::CONVERSATION_BUFFER as u64 + 3) {
        let body = agent_text(sequence, "x");
        receiver.receive(&headers_for(&body), &body).unwrap();
    }
    assert_eq!(events.missed(), 3);
}

// ---------------------------------------------------------------------------
// The axum route over real HTTP

async fn serve(route: axum::routing::MethodRouter) -> String {
    let app = axum::Router::new().route("/webhooks", route);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/webhooks")
}

async fn post(url: &str, headers: HeaderMap, body: Vec<u8>) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .headers(headers)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_route_answers_200_401_400_and_503_when_full() {
    let receiver = receiver();
    let (route, mut queue) = receiver.axum_channel(1);
    let url = serve(route).await;

    let first = agent_text(2, "première 👋");
    assert_eq!(
        post(&url, headers_for(&first), first.clone()).await,
        (200, json!({"received": 1, "duplicates": 0}))
    );
    // The queue (capacity 1) is full: another change is refused with 503, and not remembered.
    let second = agent_text(3, "deuxième");
    let (status, answer) = post(&url, headers_for(&second), second.clone()).await;
    assert_eq!((status, answer["error"].as_str()), (503, Some("busy")));
    // A redelivery of the queued change is acknowledged without queueing.
    // (It needs room too: the route reserves before it knows.)
    let Some(Notification::Content(got)) = queue.recv().await else {
        panic!("a text")
    };
    assert_eq!(got.event.message, "première 👋");
    assert_eq!(
        post(&url, headers_for(&first), first.clone()).await,
        (200, json!({"received": 0, "duplicates": 1}))
    );
    // LivePerson's retry of the refused change now goes through.
    assert_eq!(
        post(&url, headers_for(&second), second.clone()).await,
        (200, json!({"received": 1, "duplicates": 0}))
    );
    let Some(Notification::Content(got)) = queue.recv().await else {
        panic!("a text")
    };
    assert_eq!(got.event.message, "deuxième");

    // Bad signature, wrong account: 401 with a JSON message.
    let mut headers = headers_for(&first);
    headers.insert(
        "x-liveperson-signature",
        HeaderValue::from_static("sha1=AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    );
    let (status, answer) = post(&url, headers, first.clone()).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("signature")));
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("does not match"),
        "{answer}"
    );
    let mut headers = headers_for(&first);
    headers.insert("x-liveperson-account-id", HeaderValue::from_static("1"));
    let (status, answer) = post(&url, headers, first.clone()).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("account_id"))
    );
    // Malformed body, signed: 400 naming the field.
    let junk = br#"{"type":"ms.MessagingEventNotification","body":{"changes":[{"dialogId":"c","event":{"type":"ContentEvent"}}]}}"#.to_vec();
    let (status, answer) = post(&url, headers_for(&junk), junk.clone()).await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("body")));
    assert_eq!(
        answer["message"],
        "webhook body: body.changes[0].event.message: missing"
    );
    // Nothing else was queued.
    assert!(queue.try_recv().is_err());
    // The reader gone: 503, so LivePerson keeps the change for later.
    drop(queue);
    let third = agent_text(4, "troisième");
    assert_eq!(post(&url, headers_for(&third), third).await.0, 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_handler_gets_each_change_once_even_when_posted_at_once() {
    let receiver = receiver();
    let (seen, mut seen_reader) = tokio::sync::mpsc::unbounded_channel();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let route = receiver.axum_handler(64, move |notification| {
        let (seen, counted) = (seen.clone(), counted.clone());
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            if let Notification::Content(m) = notification {
                seen.send(m.event.message).unwrap();
            }
        }
    });
    let url = serve(route).await;
    let body = agent_text(11, "à la fois");
    let posts: Vec<_> = (0..16)
        .map(|_| {
            let (url, body) = (url.clone(), body.clone());
            tokio::spawn(async move { post(&url, headers_for(&body), body).await })
        })
        .collect();
    let mut received = 0;
    for post in posts {
        let (status, answer) = post.await.unwrap();
        assert_eq!(status, 200);
        received += answer["received"].as_u64().unwrap();
    }
    assert_eq!(received, 1);
    // One more change, to know the first was handled before it.
    let last = agent_text(12, "fin");
    assert_eq!(post(&url, headers_for(&last), last).await.0, 200);
    assert_eq!(seen_reader.recv().await.unwrap(), "à la fois");
    assert_eq!(seen_reader.recv().await.unwrap(), "fin");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_does_not_stop_the_next() {
    let receiver = receiver();
    let (seen, mut seen_reader) = tokio::sync::mpsc::unbounded_channel();
    let route = receiver.axum_handler(8, move |notification| {
        let seen = seen.clone();
        async move {
            let Notification::Content(m) = notification else {
                return;
            };
            if m.event.message == "boom" {
                panic!("the user's handler failed");
            }
            seen.send(m.event.message).unwrap();
        }
    });
    let url = serve(route).await;
    for (sequence, message) in [(1, "boom"), (2, "after")] {
        let body = agent_text(sequence, message);
        assert_eq!(post(&url, headers_for(&body), body).await.0, 200);
    }
    assert_eq!(seen_reader.recv().await.unwrap(), "after");
}

// ---------------------------------------------------------------------------
// The spec's examples (openapi/connector-webhooks.yaml, components.examples)

/// Every field the layer reads, held to the example's JSON.
fn assert_typed_as_json(note: &Notification, change: &Value, name: &str) {
    let str_at = |pointer: &str| change.pointer(pointer).and_then(Value::as_str);
    let int_at = |pointer: &str| change.pointer(pointer).and_then(Value::as_i64);
    let check_message = |dialog: &str,
                         conv: Option<&String>,
                         seq: Option<u64>,
                         originator: Option<&String>,
                         who: Option<&liveperson_ccs::webhooks::Participant>,
                         ts: Option<i64>| {
        assert_eq!(Some(dialog), str_at("/dialogId"), "{name}");
        assert_eq!(
            conv.map(String::as_str),
            str_at("/conversationId"),
            "{name}"
        );
        assert_eq!(
            seq,
            change.pointer("/sequence").and_then(Value::as_u64),
            "{name}"
        );
        assert_eq!(
            originator.map(String::as_str),
            str_at("/originatorId"),
            "{name}"
        );
        assert_eq!(
            who.map(|p| p.id.as_str()),
            str_at("/originatorMetadata/id"),
            "{name}"
        );
        assert_eq!(
            who.map(|p| p.role.as_str()),
            str_at("/originatorMetadata/role"),
            "{name}"
        );
        assert_eq!(ts, int_at("/serverTimestamp"), "{name}");
    };
    macro_rules! message {
        ($m:expr) => {
            check_message(
                &$m.dialog_id,
                $m.conversation_id.as_ref(),
                $m.sequence,
                $m.originator_id.as_ref(),
                $m.originator.as_ref(),
                $m.server_timestamp,
            )
        };
    }
    match note {
        Notification::Content(m) => {
            message!(m);
            assert_eq!(
                Some(m.event.content_type.as_str()),
                str_at("/event/contentType"),
                "{name}"
            );
            match &m.event.file {
                None => assert_eq!(
                    Some(m.event.message.as_str()),
                    str_at("/event/message"),
                    "{name}"
                ),
                Some(file) => {
                    assert_eq!(
                        Some(file.relative_path.as_str()),
                        str_at("/event/message/relativePath"),
                        "{name}"
                    );
                    assert_eq!(
                        Some(file.file_type.as_str()),
                        str_at("/event/message/fileType"),
                        "{name}"
                    );
                    assert_eq!(
                        file.caption.as_deref(),
                        str_at("/event/message/caption"),
                        "{name}"
                    );
                    assert_eq!(m.event.message, file.caption.clone().unwrap_or_default());
                }
            }
        }
        Notification::RichContent(m) => {
            message!(m);
            assert_eq!(
                Some(&m.event.content),
                change.pointer("/event/content"),
                "{name}"
            );
        }
        Notification::AcceptStatus(m) => {
            message!(m);
            assert_eq!(
                Some(m.event.status_text.as_str()),
                str_at("/event/status"),
                "{name}"
            );
            assert!(m.event.status().is_some(), "{name}");
            assert_eq!(
                json!(m.event.sequence_list),
                change["event"]["sequenceList"],
                "{name}"
            );
        }
        Notification::ChatState(m) => {
            message!(m);
            assert_eq!(
                Some(m.event.chat_state_text.as_str()),
                str_at("/event/chatState"),
                "{name}"
            );
            assert!(m.event.state().is_some(), "{name}");
        }
        Notification::Conversation(c) => {
            let d = &c.details;
            let details =
                |field: &str| change.pointer(&format!("/result/conversationDetails/{field}"));
            let text = |field: &str| details(field).and_then(Value::as_str);
            let int = |field: &str| details(field).and_then(Value::as_i64);
            assert_eq!(Some(c.change_type.as_str()), str_at("/type"), "{name}");
            assert_eq!(
                Some(c.conversation_id.as_str()),
                str_at("/result/convId"),
                "{name}"
            );
            assert_eq!(c.effective_ttr, int_at("/result/effectiveTTR"), "{name}");
            assert_eq!(d.skill_id.as_deref(), text("skillId"), "{name}");
            assert_eq!(d.brand_id.as_deref(), text("brandId"), "{name}");
            assert_eq!(
                d.state.as_ref().map(ConversationState::as_str),
                text("state"),
                "{name}"
            );
            assert_eq!(
                d.stage.as_ref().map(ConversationState::as_str),
                text("stage"),
                "{name}"
            );
            assert_eq!(d.close_reason.as_deref(), text("closeReason"), "{name}");
            assert_eq!(d.start_ts, int("startTs"), "{name}");
            assert_eq!(d.end_ts, int("endTs"), "{name}");
            assert_eq!(
                d.meta_data_last_update_ts,
                int("metaDataLastUpdateTs"),
                "{name}"
            );
            assert_eq!(
                d.ttr.as_ref().and_then(|t| t.ttr_type.as_deref()),
                text("ttr/ttrType"),
                "{name}"
            );
            assert_eq!(
                d.ttr.as_ref().and_then(|t| t.value),
                int("ttr/value"),
                "{name}"
            );
            let participants: Vec<Value> = d
                .participants
                .iter()
                .map(|p| json!({"id": p.id, "role": p.role.as_str()}))
                .collect();
            assert_eq!(
                json!(participants),
                details("participants").cloned().unwrap_or(json!([])),
                "{name}"
            );
            assert_eq!(
                json!(d.dialogs),
                details("dialogs").cloned().unwrap_or(json!([])),
                "{name}"
            );
        }
        other => panic!("{name}: a documented example is typed, not {other:?}"),
    }
}

#[test]
fn every_example_of_the_spec_parses_to_its_typed_form() {
    let spec: Value = serde_norway::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/openapi/connector-webhooks.yaml"
        ))
        .unwrap(),
    )
    .unwrap();
    let examples = spec["components"]["examples"].as_object().unwrap();
    let mut notifications = 0;
    for (name, example) in examples {
        let value = &example["value"];
        if value.get("kind") != Some(&json!("notification")) {
            continue; // not a notification (a registration, ...)
        }
        let body = serde_json::to_vec(value).unwrap();
        let notes = parse(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        let changes = value["body"]["changes"].as_array().unwrap();
        assert_eq!(notes.len(), changes.len(), "{name}");
        for (note, change) in notes.iter().zip(changes) {
            assert_eq!(note.notification_type(), value["type"], "{name}");
            assert_typed_as_json(note, change, name);
            notifications += 1;
        }
        // The spec's own generated types read it too, whole and change by change.
        serde_json::from_slice::<liveperson_ccs::raw::webhooks::types::Notification>(&body)
            .unwrap_or_else(|e| panic!("{name}: the generated types refuse it: {e}"));
        for note in &notes {
            let (layer, spec) = match note {
                Notification::Conversation(c) => {
                    (&c.conversation_id, c.to_raw().map(|r| r.result.conv_id))
                }
                Notification::Content(m) => (&m.dialog_id, m.to_raw().map(|r| r.dialog_id)),
                Notification::RichContent(m) => (&m.dialog_id, m.to_raw().map(|r| r.dialog_id)),
                Notification::AcceptStatus(m) => (&m.dialog_id, m.to_raw().map(|r| r.dialog_id)),
                Notification::ChatState(m) => (&m.dialog_id, m.to_raw().map(|r| r.dialog_id)),
                other => panic!("{name}: {other:?}"),
            };
            assert_eq!(
                &spec.unwrap_or_else(|e| panic!("{name}: {e}")),
                layer,
                "{name}"
            );
        }
    }
    assert!(notifications >= 13, "{notifications}");
}

#[test]
fn the_page_examples_hold_to_the_same_field_check() {
    for (heading, body) in documented_examples() {
        let note = one(&body);
        assert_typed_as_json(&note, &body["body"]["changes"][0], heading);
    }
}

/// `OpenConversation::events`: a conversation opened on the emulator, its
/// agent's reply delivered (signed, over HTTP) to the axum route, awaited.
/// (The emulator of this branch does not deliver webhooks itself: the reply
/// is posted as LivePerson would post it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_a_text_then_await_the_agents_reply() -> Result<(), Box<dyn std::error::Error>> {
    use liveperson_ccs::MessagingClient;
    use liveperson_ccs::connector::{AppJwtProvider, Discovery};
    use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
    use liveperson_ccs::messaging::ConversationRequest;

    let emulator =
        Emulator::start(EmulatorConfig::new().app_credentials(CLIENT_ID, SECRET)).await?;
    let discovery = Discovery::builder()
        .account(ACCOUNT)
        .domain_api(emulator.base_url())
        .build()?;
    let app_jwt = AppJwtProvider::new(&discovery, CLIENT_ID, SECRET);
    let messaging = MessagingClient::builder()
        .discovery(&discovery)
        .app_jwt(app_jwt.clone())
        .build()?;
    let conversation = messaging
        .open(app_jwt.consumer("consumer-1"), &ConversationRequest::new())
        .await?;

    let receiver = receiver();
    let (route, _queue) = receiver.axum_channel(16);
    let url = serve(route).await;

    let mut events = conversation.events(&receiver);
    conversation.send_text("Where is my order?").await?;
    let reply = json!({"kind": "notification", "type": "ms.MessagingEventNotification", "body": {"changes": [{
        "sequence": 1, "originatorId": AGENT, "originatorMetadata": {"id": AGENT, "role": "ASSIGNED_AGENT"},
        "serverTimestamp": 1528371199686_i64, "dialogId": conversation.id(),
        "event": {"type": "ContentEvent", "message": "It ships today 📦", "contentType": "text/plain"}}]}})
    .to_string()
    .into_bytes();
    assert_eq!(post(&url, headers_for(&reply), reply).await.0, 200);

    let answer = events.next_agent_text(Duration::from_secs(60)).await?;
    assert_eq!(answer.event.message, "It ships today 📦");
    assert_eq!(answer.conversation(), conversation.id());
    emulator.shutdown().await;
    Ok(())
}
