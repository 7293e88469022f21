//! The typed notifications: [`Notification`], one per change of a webhook
//! body, and [`parse`], which reads them from the raw bytes.
//!
//! DESIGN: one pass of serde over the body. The envelope is read with each
//! change borrowed as `&RawValue` (no copy, no tree); each change is then
//! read into a flat private struct of optional fields, which never refuses an
//! unknown field nor an unknown value of an open enum (role, state, chat
//! state). Only when that fails (a field of the wrong type) is the change
//! read again as a `serde_json::Value`, to name the field: the cost of a
//! good message is paid by bad bodies only. The change's own JSON text is
//! kept (`Notification::raw_json`), so fields LivePerson adds later are
//! still there for whoever wants them.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::diagnose::{
    CONVERSATION_FIELDS, MESSAGE_FIELDS, describe, diagnose, diagnose_envelope, serde_message,
};
use super::error::BodyError;
use crate::messaging::send::{AcceptStatus, ChatState};

/// The envelope `type` of message changes (text, rich content, accept
/// statuses, chat states).
pub const MESSAGING_EVENT_NOTIFICATION: &str = "ms.MessagingEventNotification";
/// The envelope `type` of conversation changes (opened, agent assigned,
/// transferred, closed).
pub const CONVERSATION_CHANGE_NOTIFICATION: &str = "cqm.ExConversationChangeNotification";

/// One change of a webhook notification, typed: what a connector `match`es on.
///
/// A body holds one or more changes (`body.changes`); [`parse`] and
/// [`Receiver::receive`](super::Receiver::receive) give one `Notification`
/// for each, in the body's order.
///
/// Nothing LivePerson sends is refused for being new: an envelope type or
/// event type this crate does not know is [`Notification::Unknown`], with
/// the change kept as JSON; a field it does not know is kept in the change's
/// text ([`raw_json`](Self::raw_json), [`pointer`](Self::pointer)).
///
/// ```
/// use liveperson_ccs::webhooks::{parse, Notification};
///
/// let body = br#"{"kind":"notification","type":"ms.MessagingEventNotification",
///   "body":{"changes":[{"sequence":2,"originatorId":"agent-1",
///   "originatorMetadata":{"id":"agent-1","role":"ASSIGNED_AGENT"},
///   "serverTimestamp":1528371199686,"dialogId":"conv-1",
///   "event":{"type":"ContentEvent","message":"Hello from the Agent","contentType":"text/plain"}}]}}"#;
/// for notification in parse(body)? {
///     match notification {
///         Notification::Content(text) if text.is_from_agent() => {
///             assert_eq!(text.event.message, "Hello from the Agent");
///             assert_eq!(text.conversation(), "conv-1");
///             assert_eq!(text.sequence, Some(2));
///         }
///         Notification::Conversation(change) if change.is_closed() => { /* ... */ }
///         _ => {}
///     }
/// }
/// # Ok::<(), liveperson_ccs::webhooks::BodyError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Notification {
    /// A text (`ContentEvent`): from the consumer or from an agent.
    Content(Message<ContentEvent>),
    /// Structured content (`RichContentEvent`).
    RichContent(Message<RichContentEvent>),
    /// Messages accepted, read, ... (`AcceptStatusEvent`).
    AcceptStatus(Message<AcceptStatusEvent>),
    /// Someone's chat state (`ChatStateEvent`): composing, active, ...
    ChatState(Message<ChatStateEvent>),
    /// A change of the conversation (`cqm.ExConversationChangeNotification`):
    /// opened, an agent assigned, transferred, closed (`UPSERT`), or removed
    /// (`DELETE`).
    Conversation(ConversationChange),
    /// A change this crate does not know (a new envelope type or event
    /// type), kept whole.
    Unknown(UnknownChange),
}

impl Notification {
    /// The conversation the change belongs to: a message's
    /// `conversationId` (or its `dialogId` when absent), a conversation
    /// change's `convId`, and for an unknown change whichever of those it
    /// has at its top level (or under `result`).
    pub fn conversation_id(&self) -> Option<&str> {
        match self {
            Notification::Content(m) => Some(m.conversation()),
            Notification::RichContent(m) => Some(m.conversation()),
            Notification::AcceptStatus(m) => Some(m.conversation()),
            Notification::ChatState(m) => Some(m.conversation()),
            Notification::Conversation(c) => Some(&c.conversation_id),
            Notification::Unknown(u) => u.conversation_id(),
        }
    }

    /// The change's JSON exactly as it was in the body (every field,
    /// including those this crate does not read).
    pub fn raw_json(&self) -> &str {
        match self {
            Notification::Content(m) => &m.raw,
            Notification::RichContent(m) => &m.raw,
            Notification::AcceptStatus(m) => &m.raw,
            Notification::ChatState(m) => &m.raw,
            Notification::Conversation(c) => &c.raw,
            Notification::Unknown(u) => &u.raw,
        }
    }

    /// A value of the change by its JSON Pointer (RFC 6901), e.g.
    /// `/event/quickReplies` or `/result/conversationDetails/dialogs/0`:
    /// the way to read a field LivePerson added after this crate was
    /// written. Reads the change's text again (cheap, but not free).
    ///
    /// ```
    /// let body = br#"{"kind":"notification","type":"ms.MessagingEventNotification",
    ///   "body":{"changes":[{"dialogId":"c1","sequence":0,"newField":{"x":1},
    ///   "event":{"type":"ContentEvent","message":"hi","contentType":"text/plain"}}]}}"#;
    /// let notes = liveperson_ccs::webhooks::parse(body)?;
    /// assert_eq!(notes[0].pointer("/newField/x"), Some(serde_json::json!(1)));
    /// # Ok::<(), liveperson_ccs::webhooks::BodyError>(())
    /// ```
    pub fn pointer(&self, pointer: &str) -> Option<Value> {
        let mut value: Value = serde_json::from_str(self.raw_json()).ok()?;
        value.pointer_mut(pointer).map(Value::take)
    }

    /// The envelope `type` the change came in, e.g.
    /// `ms.MessagingEventNotification`.
    pub fn notification_type(&self) -> &str {
        match self {
            Notification::Content(_)
            | Notification::RichContent(_)
            | Notification::AcceptStatus(_)
            | Notification::ChatState(_) => MESSAGING_EVENT_NOTIFICATION,
            Notification::Conversation(_) => CONVERSATION_CHANGE_NOTIFICATION,
            Notification::Unknown(u) => &u.notification_type,
        }
    }
}

/// A message change (`ms.MessagingEventNotification`): who did what, when,
/// in which conversation; `E` is the event ([`ContentEvent`], ...).
///
/// `sequence` and `server_timestamp` are absent from chat states in
/// LivePerson's examples; everything but `dialog_id` and the event is
/// optional.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Message<E> {
    /// `dialogId`: the dialog, which for the conversation's main dialog is
    /// the conversation id CONVERSATION answered.
    pub dialog_id: String,
    /// `conversationId`, when LivePerson sends it beside `dialogId`.
    pub conversation_id: Option<String>,
    /// `sequence`: the event's number within the dialog, counted from 0.
    pub sequence: Option<u64>,
    /// `originatorId`: who sent it.
    pub originator_id: Option<String>,
    /// `originatorMetadata`: who sent it, with their role.
    pub originator: Option<Participant>,
    /// `serverTimestamp`: when LivePerson received it, in milliseconds
    /// since the Unix epoch.
    pub server_timestamp: Option<i64>,
    /// The event itself.
    pub event: E,
    pub(crate) raw: Arc<str>,
}

impl<E> Message<E> {
    /// The conversation: `conversationId` when present, else `dialogId`.
    pub fn conversation(&self) -> &str {
        self.conversation_id.as_deref().unwrap_or(&self.dialog_id)
    }

    /// The sender's role (`originatorMetadata.role`), when given.
    pub fn role(&self) -> Option<&Role> {
        self.originator.as_ref().map(|o| &o.role)
    }

    /// Sent by an agent (see [`Role::is_agent`]).
    pub fn is_from_agent(&self) -> bool {
        self.role().is_some_and(Role::is_agent)
    }

    /// Sent by the consumer.
    pub fn is_from_consumer(&self) -> bool {
        self.role() == Some(&Role::Consumer)
    }

    /// The change as the spec's generated type
    /// ([`raw::webhooks::types::MessagingEventChange`](crate::raw::webhooks::types::MessagingEventChange)),
    /// read from its text: every field `openapi/connector-webhooks.yaml`
    /// describes, typed. An error when the change does not follow the
    /// spec where this layer is lenient (e.g. no `originatorId`).
    pub fn to_raw(&self) -> Result<crate::raw::webhooks::types::MessagingEventChange, BodyError> {
        serde_json::from_str(&self.raw)
            .map_err(|err| BodyError::new("(change)", serde_message(&err)))
    }
}

/// A message (`ContentEvent`): a text, or a file the consumer shared.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContentEvent {
    /// `message`: the text; for a file, its caption (empty when none).
    pub message: String,
    /// `contentType`: `text/plain` (also when absent), `hosted/file`, ...
    pub content_type: String,
    /// The file, when `message` is a file's description (`hosted/file`).
    pub file: Option<HostedFile>,
}

/// A file the consumer shared, stored by LivePerson (a `ContentEvent`'s
/// `message` with `contentType` `hosted/file`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HostedFile {
    /// `caption`: the caption the consumer gave.
    pub caption: Option<String>,
    /// `relativePath`: where LivePerson stores it (the Messaging API's
    /// `GenerateURLForDownloadFile` gives a URL for it).
    pub relative_path: String,
    /// `fileType`: `JPG`, `PNG`, `PDF`, ... as sent.
    pub file_type: String,
    /// `preview`: a small preview of an image, as a Base64 data URL.
    pub preview: Option<String>,
}

/// Structured content (`RichContentEvent`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RichContentEvent {
    /// `content`: the structured content, as sent (LivePerson's
    /// "Structured Content" templates). LivePerson's JSON schema names it
    /// `message` while its pages show `content`: either is read (`content`
    /// first); `null` when neither is there.
    pub content: Value,
}

/// Messages accepted, read, ... (`AcceptStatusEvent`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AcceptStatusEvent {
    /// `status` as sent: `ACCEPT`, `READ`, `ACCESS`, `NACK`, `ACTION`, or
    /// one LivePerson added later. [`status`](Self::status) reads it.
    pub status_text: String,
    /// `sequenceList`: the sequence numbers of the messages it is about.
    pub sequence_list: Vec<u64>,
}

impl AcceptStatusEvent {
    /// The status, when it is one this crate knows.
    pub fn status(&self) -> Option<AcceptStatus> {
        Some(match self.status_text.as_str() {
            "ACCEPT" => AcceptStatus::Accept,
            "READ" => AcceptStatus::Read,
            "ACCESS" => AcceptStatus::Access,
            "NACK" => AcceptStatus::Nack,
            "ACTION" => AcceptStatus::Action,
            _ => return None,
        })
    }
}

/// Someone's chat state (`ChatStateEvent`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChatStateEvent {
    /// `chatState` as sent: `COMPOSING`, `ACTIVE`, `INACTIVE`, `GONE`,
    /// `PAUSE`, or one LivePerson added later. [`state`](Self::state) reads it.
    pub chat_state_text: String,
}

impl ChatStateEvent {
    /// The state, when it is one this crate knows.
    pub fn state(&self) -> Option<ChatState> {
        Some(match self.chat_state_text.as_str() {
            "ACTIVE" => ChatState::Active,
            "INACTIVE" => ChatState::Inactive,
            "GONE" => ChatState::Gone,
            "COMPOSING" => ChatState::Composing,
            "PAUSE" => ChatState::Pause,
            _ => return None,
        })
    }
}

/// A participant: `{id, role}` (a message's `originatorMetadata`, a
/// conversation's `participants`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Participant {
    /// `id`: the consumer's or the agent's id.
    pub id: String,
    /// `role`.
    pub role: Role,
}

/// A participant's role.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// `CONSUMER`.
    Consumer,
    /// `ASSIGNED_AGENT`: the agent (human or bot) the conversation is assigned to.
    AssignedAgent,
    /// `AGENT`: an agent who joined (not the assigned one).
    Agent,
    /// `MANAGER`.
    Manager,
    /// `READER`: watches the conversation.
    Reader,
    /// `CONTROLLER`: the system (e.g. the messages of a transfer).
    Controller,
    /// A role this crate does not know, as sent.
    Other(String),
}

impl Role {
    /// The role as LivePerson writes it, e.g. `ASSIGNED_AGENT`.
    pub fn as_str(&self) -> &str {
        match self {
            Role::Consumer => "CONSUMER",
            Role::AssignedAgent => "ASSIGNED_AGENT",
            Role::Agent => "AGENT",
            Role::Manager => "MANAGER",
            Role::Reader => "READER",
            Role::Controller => "CONTROLLER",
            Role::Other(other) => other,
        }
    }

    /// `ASSIGNED_AGENT`, `AGENT` or `MANAGER`: a person or bot answering
    /// for the brand.
    pub fn is_agent(&self) -> bool {
        matches!(self, Role::AssignedAgent | Role::Agent | Role::Manager)
    }

    fn from_text(text: String) -> Role {
        match text.as_str() {
            "CONSUMER" => Role::Consumer,
            "ASSIGNED_AGENT" => Role::AssignedAgent,
            "AGENT" => Role::Agent,
            "MANAGER" => Role::Manager,
            "READER" => Role::Reader,
            "CONTROLLER" => Role::Controller,
            _ => Role::Other(text),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to the conversation: the change's `type`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChangeType {
    /// `UPSERT`: opened, or changed (an agent assigned, a transfer, a close).
    Upsert,
    /// `DELETE`: no longer one of the connector's conversations.
    Delete,
    /// A type this crate does not know, as sent.
    Other(String),
}

impl ChangeType {
    /// The type as LivePerson writes it.
    pub fn as_str(&self) -> &str {
        match self {
            ChangeType::Upsert => "UPSERT",
            ChangeType::Delete => "DELETE",
            ChangeType::Other(other) => other,
        }
    }

    fn from_text(text: String) -> ChangeType {
        match text.as_str() {
            "UPSERT" => ChangeType::Upsert,
            "DELETE" => ChangeType::Delete,
            _ => ChangeType::Other(text),
        }
    }
}

/// A conversation's `state` or `stage`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConversationState {
    /// `OPEN`.
    Open,
    /// `CLOSE`.
    Close,
    /// A value this crate does not know, as sent.
    Other(String),
}

impl ConversationState {
    /// The value as LivePerson writes it.
    pub fn as_str(&self) -> &str {
        match self {
            ConversationState::Open => "OPEN",
            ConversationState::Close => "CLOSE",
            ConversationState::Other(other) => other,
        }
    }

    fn from_text(text: String) -> ConversationState {
        match text.as_str() {
            "OPEN" => ConversationState::Open,
            "CLOSE" => ConversationState::Close,
            _ => ConversationState::Other(text),
        }
    }
}

/// A change of a conversation (`cqm.ExConversationChangeNotification`).
///
/// ```
/// use liveperson_ccs::webhooks::{parse, Notification, Role};
///
/// let body = br#"{"kind":"notification","type":"cqm.ExConversationChangeNotification",
///   "body":{"changes":[{"type":"UPSERT","result":{"convId":"c1","conversationDetails":{
///   "participants":[{"id":"a1","role":"ASSIGNED_AGENT"},{"id":"u1","role":"CONSUMER"}],
///   "brandId":"64467156","state":"OPEN","startTs":1528371161882,
///   "metaDataLastUpdateTs":1528371195521}}}]}}"#;
/// let Notification::Conversation(change) = &parse(body)?[0] else { unreachable!() };
/// assert_eq!(change.conversation_id, "c1");
/// assert_eq!(change.assigned_agent(), Some("a1"));
/// assert!(!change.is_closed());
/// # Ok::<(), liveperson_ccs::webhooks::BodyError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ConversationChange {
    /// `type`: `UPSERT` or `DELETE`.
    pub change_type: ChangeType,
    /// `result.convId`.
    pub conversation_id: String,
    /// `result.effectiveTTR`: when the conversation is due an answer
    /// (milliseconds since the Unix epoch; `-1` when none).
    pub effective_ttr: Option<i64>,
    /// `result.conversationDetails` (empty when absent, e.g. in a `DELETE`).
    pub details: ConversationDetails,
    pub(crate) raw: Arc<str>,
}

impl ConversationChange {
    /// `state` is `CLOSE`.
    pub fn is_closed(&self) -> bool {
        self.details.state == Some(ConversationState::Close)
    }

    /// The change as the spec's generated type
    /// ([`raw::webhooks::types::ConversationChange`](crate::raw::webhooks::types::ConversationChange)),
    /// read from its text: every field `openapi/connector-webhooks.yaml`
    /// describes (the dialogs and their participants, delays, ...), typed.
    /// An error when the change does not follow the spec where this layer
    /// is lenient (e.g. no `conversationDetails`).
    pub fn to_raw(&self) -> Result<crate::raw::webhooks::types::ConversationChange, BodyError> {
        serde_json::from_str(&self.raw)
            .map_err(|err| BodyError::new("(change)", serde_message(&err)))
    }

    /// The id of the participant whose role is `ASSIGNED_AGENT`, if any.
    pub fn assigned_agent(&self) -> Option<&str> {
        self.details
            .participants
            .iter()
            .find(|p| p.role == Role::AssignedAgent)
            .map(|p| p.id.as_str())
    }
}

/// `result.conversationDetails` of a conversation change.
#[derive(Clone, Debug, PartialEq, Default)]
#[non_exhaustive]
pub struct ConversationDetails {
    /// `skillId` (`-1` when none).
    pub skill_id: Option<String>,
    /// `participants`.
    pub participants: Vec<Participant>,
    /// `dialogs`, as sent.
    pub dialogs: Vec<Value>,
    /// `brandId`: the account id.
    pub brand_id: Option<String>,
    /// `state`.
    pub state: Option<ConversationState>,
    /// `stage`.
    pub stage: Option<ConversationState>,
    /// `closeReason`: `CONSUMER`, `AGENT`, `SYSTEM`, ... as sent.
    pub close_reason: Option<String>,
    /// `startTs`, in milliseconds since the Unix epoch.
    pub start_ts: Option<i64>,
    /// `endTs`, in milliseconds since the Unix epoch.
    pub end_ts: Option<i64>,
    /// `metaDataLastUpdateTs`: when the conversation last changed, in
    /// milliseconds since the Unix epoch.
    pub meta_data_last_update_ts: Option<i64>,
    /// `ttr`: the time to respond.
    pub ttr: Option<Ttr>,
}

/// A conversation's time to respond (`ttr`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ttr {
    /// `ttrType`: `PRIORITIZED`, `NORMAL`, `URGENT`, `CUSTOM`, as sent.
    pub ttr_type: Option<String>,
    /// `value`, in seconds.
    pub value: Option<i64>,
}

/// A change of a type this crate does not know, kept whole.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct UnknownChange {
    /// The envelope's `type`.
    pub notification_type: String,
    /// The change's `event.type`, when it has one.
    pub event_type: Option<String>,
    /// The change, as JSON.
    pub change: Value,
    pub(crate) raw: Arc<str>,
}

impl UnknownChange {
    fn conversation_id(&self) -> Option<&str> {
        let top = ["conversationId", "dialogId", "convId"]
            .iter()
            .find_map(|key| self.change.get(key).and_then(Value::as_str));
        top.or_else(|| {
            self.change
                .pointer("/result/convId")
                .and_then(Value::as_str)
        })
    }
}

/// Reads the notifications of a webhook body: one [`Notification`] per
/// change, in the body's order.
///
/// Read the bytes as received (after [`verify_signature`](super::verify_signature)).
/// An unknown envelope type or event type is a [`Notification::Unknown`],
/// never an error; a body that is not the documented envelope, or a change
/// whose known fields have the wrong type, is a [`BodyError`] naming the
/// field, e.g. `body.changes[1].dialogId: missing`.
///
/// ```
/// let err = liveperson_ccs::webhooks::parse(
///     br#"{"type":"ms.MessagingEventNotification","body":{"changes":[{"event":{"type":"ContentEvent","message":"hi"}}]}}"#,
/// ).unwrap_err();
/// assert_eq!(err.path(), "body.changes[0].dialogId");
/// assert_eq!(err.to_string(), "webhook body: body.changes[0].dialogId: missing");
/// ```
pub fn parse(body: &[u8]) -> Result<Vec<Notification>, BodyError> {
    let envelope: WireEnvelope<'_> = match serde_json::from_slice(body) {
        Ok(envelope) => envelope,
        Err(err) => return Err(diagnose_envelope(body, &err)),
    };
    let notification_type = envelope
        .type_
        .ok_or_else(|| BodyError::new("type", "missing"))?;
    let changes = envelope
        .body
        .ok_or_else(|| BodyError::new("body", "missing"))?
        .changes
        .ok_or_else(|| BodyError::new("body.changes", "missing"))?;
    changes
        .into_iter()
        .enumerate()
        .map(|(index, change)| parse_change(&notification_type, index, change))
        .collect()
}

fn parse_change(
    notification_type: &str,
    index: usize,
    change: &RawValue,
) -> Result<Notification, BodyError> {
    let text = change.get();
    match notification_type {
        MESSAGING_EVENT_NOTIFICATION => parse_message(index, text),
        CONVERSATION_CHANGE_NOTIFICATION => parse_conversation(index, text),
        other => unknown(other, None, index, text),
    }
}

fn parse_message(index: usize, text: &str) -> Result<Notification, BodyError> {
    let at = |field: &str| format!("body.changes[{index}].{field}");
    let wire: WireMessage = match serde_json::from_str(text) {
        Ok(wire) => wire,
        Err(err) => {
            // An event type this crate does not know may use a known field
            // name for something else: kept, not refused.
            let value: Option<Value> = serde_json::from_str(text).ok();
            if let Some(event_type) = value
                .as_ref()
                .and_then(|v| v.pointer("/event/type"))
                .and_then(Value::as_str)
                && !KNOWN_EVENTS.contains(&event_type)
            {
                return unknown(
                    MESSAGING_EVENT_NOTIFICATION,
                    Some(event_type.to_owned()),
                    index,
                    text,
                );
            }
            return Err(diagnose(
                &format!("body.changes[{index}]"),
                value.as_ref(),
                MESSAGE_FIELDS,
                &err,
            ));
        }
    };
    // An event type this crate does not know is kept whatever it holds.
    if let Some(event_type) = wire.event.as_ref().and_then(|e| e.type_.as_deref())
        && !KNOWN_EVENTS.contains(&event_type)
    {
        return unknown(
            MESSAGING_EVENT_NOTIFICATION,
            Some(event_type.to_owned()),
            index,
            text,
        );
    }
    let dialog_id = wire
        .dialog_id
        .ok_or_else(|| BodyError::new(at("dialogId"), "missing"))?;
    let event = wire
        .event
        .ok_or_else(|| BodyError::new(at("event"), "missing"))?;
    let event_type = event
        .type_
        .ok_or_else(|| BodyError::new(at("event.type"), "missing"))?;
    let originator = match wire.originator_metadata {
        Some(meta) => Some(Participant {
            id: meta
                .id
                .ok_or_else(|| BodyError::new(at("originatorMetadata.id"), "missing"))?,
            role: Role::from_text(
                meta.role
                    .ok_or_else(|| BodyError::new(at("originatorMetadata.role"), "missing"))?,
            ),
        }),
        None => None,
    };
    let raw: Arc<str> = Arc::from(text);
    macro_rules! message {
        ($event:expr) => {
            Message {
                dialog_id,
                conversation_id: wire.conversation_id,
                sequence: wire.sequence,
                originator_id: wire.originator_id,
                originator,
                server_timestamp: wire.server_timestamp,
                event: $event,
                raw,
            }
        };
    }
    let missing = |field: &str| BodyError::new(at(&format!("event.{field}")), "missing");
    Ok(match event_type.as_str() {
        "ContentEvent" => {
            let (message, file) = match event.message.ok_or_else(|| missing("message"))? {
                Value::String(text) => (text, None),
                file @ Value::Object(_) => {
                    let file: HostedFile = serde_json::from_value(file)
                        .map_err(|err| BodyError::new(at("event.message"), serde_message(&err)))?;
                    (file.caption.clone().unwrap_or_default(), Some(file))
                }
                other => {
                    return Err(BodyError::new(
                        at("event.message"),
                        format!(
                            "expected a string or an object (a file), found {}",
                            describe(&other)
                        ),
                    ));
                }
            };
            Notification::Content(message!(ContentEvent {
                message,
                content_type: event.content_type.unwrap_or_else(|| "text/plain".into()),
                file,
            }))
        }
        "RichContentEvent" => Notification::RichContent(message!(RichContentEvent {
            content: event.content.or(event.message).unwrap_or(Value::Null),
        })),
        "AcceptStatusEvent" => Notification::AcceptStatus(message!(AcceptStatusEvent {
            status_text: event.status.ok_or_else(|| missing("status"))?,
            sequence_list: event.sequence_list.ok_or_else(|| missing("sequenceList"))?,
        })),
        "ChatStateEvent" => Notification::ChatState(message!(ChatStateEvent {
            chat_state_text: event.chat_state.ok_or_else(|| missing("chatState"))?,
        })),
        other => {
            return unknown(
                MESSAGING_EVENT_NOTIFICATION,
                Some(other.to_owned()),
                index,
                text,
            );
        }
    })
}

fn parse_conversation(index: usize, text: &str) -> Result<Notification, BodyError> {
    let at = |field: &str| format!("body.changes[{index}].{field}");
    let wire: WireConversationChange = match serde_json::from_str(text) {
        Ok(wire) => wire,
        Err(err) => {
            let value: Option<Value> = serde_json::from_str(text).ok();
            return Err(diagnose(
                &format!("body.changes[{index}]"),
                value.as_ref(),
                CONVERSATION_FIELDS,
                &err,
            ));
        }
    };
    let change_type = wire
        .type_
        .ok_or_else(|| BodyError::new(at("type"), "missing"))?;
    let result = wire
        .result
        .ok_or_else(|| BodyError::new(at("result"), "missing"))?;
    let conversation_id = result
        .conv_id
        .ok_or_else(|| BodyError::new(at("result.convId"), "missing"))?;
    let details = match result.conversation_details {
        None => ConversationDetails::default(),
        Some(d) => ConversationDetails {
            skill_id: d.skill_id.map(|s| s.0),
            participants: d
                .participants
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
                    let at = |field: &str| {
                        at(&format!(
                            "result.conversationDetails.participants[{i}].{field}"
                        ))
                    };
                    Ok(Participant {
                        id: p.id.ok_or_else(|| BodyError::new(at("id"), "missing"))?,
                        role: Role::from_text(
                            p.role
                                .ok_or_else(|| BodyError::new(at("role"), "missing"))?,
                        ),
                    })
                })
                .collect::<Result<_, BodyError>>()?,
            dialogs: d.dialogs.unwrap_or_default(),
            brand_id: d.brand_id.map(|s| s.0),
            state: d.state.map(ConversationState::from_text),
            stage: d.stage.map(ConversationState::from_text),
            close_reason: d.close_reason,
            start_ts: d.start_ts,
            end_ts: d.end_ts,
            meta_data_last_update_ts: d.meta_data_last_update_ts,
            ttr: d.ttr.map(|t| Ttr {
                ttr_type: t.ttr_type,
                value: t.value,
            }),
        },
    };
    Ok(Notification::Conversation(ConversationChange {
        change_type: ChangeType::from_text(change_type),
        conversation_id,
        effective_ttr: result.effective_ttr,
        details,
        raw: Arc::from(text),
    }))
}

fn unknown(
    notification_type: &str,
    event_type: Option<String>,
    index: usize,
    text: &str,
) -> Result<Notification, BodyError> {
    let change = serde_json::from_str(text)
        .map_err(|err| BodyError::new(format!("body.changes[{index}]"), serde_message(&err)))?;
    Ok(Notification::Unknown(UnknownChange {
        notification_type: notification_type.to_owned(),
        event_type,
        change,
        raw: Arc::from(text),
    }))
}

const KNOWN_EVENTS: &[&str] = &[
    "ContentEvent",
    "RichContentEvent",
    "AcceptStatusEvent",
    "ChatStateEvent",
];

// The wire: flat structs of optional fields (unknown ones ignored; the
// change's text keeps them).

#[derive(Deserialize)]
struct WireEnvelope<'a> {
    #[serde(rename = "type")]
    type_: Option<String>,
    #[serde(borrow)]
    body: Option<WireBody<'a>>,
}

#[derive(Deserialize)]
struct WireBody<'a> {
    #[serde(borrow)]
    changes: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireMessage {
    sequence: Option<u64>,
    originator_id: Option<String>,
    originator_metadata: Option<WireParticipant>,
    server_timestamp: Option<i64>,
    dialog_id: Option<String>,
    conversation_id: Option<String>,
    event: Option<WireEvent>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEvent {
    #[serde(rename = "type")]
    type_: Option<String>,
    /// A text, a file (an object), or (rich content) the content.
    message: Option<Value>,
    content_type: Option<String>,
    content: Option<Value>,
    status: Option<String>,
    sequence_list: Option<Vec<u64>>,
    chat_state: Option<String>,
}

#[derive(Deserialize)]
struct WireParticipant {
    id: Option<String>,
    role: Option<String>,
}

#[derive(Deserialize)]
struct WireConversationChange {
    #[serde(rename = "type")]
    type_: Option<String>,
    result: Option<WireResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireResult {
    conv_id: Option<String>,
    #[serde(rename = "effectiveTTR")]
    effective_ttr: Option<i64>,
    conversation_details: Option<WireDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireDetails {
    skill_id: Option<IdText>,
    participants: Option<Vec<WireParticipant>>,
    dialogs: Option<Vec<Value>>,
    brand_id: Option<IdText>,
    state: Option<String>,
    stage: Option<String>,
    close_reason: Option<String>,
    start_ts: Option<i64>,
    end_ts: Option<i64>,
    meta_data_last_update_ts: Option<i64>,
    ttr: Option<WireTtr>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireTtr {
    ttr_type: Option<String>,
    value: Option<i64>,
}

/// An id LivePerson writes as a string (`"skillId": "-1"`) or a number.
struct IdText(String);

impl<'de> Deserialize<'de> for IdText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Number(serde_json::Number),
        }
        Ok(IdText(match Either::deserialize(deserializer)? {
            Either::Text(text) => text,
            Either::Number(number) => number.to_string(),
        }))
    }
}
