//! The typed notifications: [`Notification`], one per change of a webhook
//! body, and [`parse`], which reads them from the raw bytes.
//!
//! DESIGN: the spec is the one reading of the wire. The envelope is read
//! with each change borrowed as `&RawValue` (no copy, no tree) and its
//! `type` chooses the change's generated type
//! (`raw::webhooks::types::MessagingEventChange` or `ConversationChange`,
//! from `openapi/connector-webhooks.yaml`); the change's text is read into
//! it once, and the layer's structs are built from it by moving fields.
//! The generated types keep unknown fields (`extra`) and take any string
//! for a role, state, chat state, ... (the spec's open enums), so nothing
//! new is refused; what the spec requires is required. Only when serde
//! refuses a change is it read again as a `serde_json::Value`, to name the
//! field (`diagnose.rs`): the cost of a good message is paid by bad bodies
//! only. The change's own JSON text is kept (`Notification::raw_json`).

use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::diagnose::{CONVERSATION, MESSAGE, diagnose, diagnose_envelope, serde_message};
use super::error::BodyError;
use crate::messaging::send::{AcceptStatus, ChatState};
use crate::raw::webhooks::types as t;

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
    ///   "body":{"changes":[{"dialogId":"c1","originatorId":"u1","sequence":0,"newField":{"x":1},
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

    /// The fields of the envelope (the body's top level) other than
    /// `kind`, `type` and `body`, when LivePerson sent any: a field it
    /// added after this crate was written. Each change of the body shares
    /// them.
    ///
    /// ```
    /// let body = br#"{"kind":"notification","type":"cqm.ExConversationChangeNotification",
    ///   "region":"eu","body":{"changes":[{"type":"DELETE","result":{"convId":"c1",
    ///   "conversationDetails":{"participants":[],"state":"CLOSE","startTs":1}}}]}}"#;
    /// let notes = liveperson_ccs::webhooks::parse(body)?;
    /// let extra = notes[0].envelope_extra().expect("a field beside kind, type, body");
    /// assert_eq!(extra["region"], "eu");
    /// # Ok::<(), liveperson_ccs::webhooks::BodyError>(())
    /// ```
    pub fn envelope_extra(&self) -> Option<&Map<String, Value>> {
        match self {
            Notification::Content(m) => m.envelope.as_deref(),
            Notification::RichContent(m) => m.envelope.as_deref(),
            Notification::AcceptStatus(m) => m.envelope.as_deref(),
            Notification::ChatState(m) => m.envelope.as_deref(),
            Notification::Conversation(c) => c.envelope.as_deref(),
            Notification::Unknown(u) => u.envelope.as_deref(),
        }
    }
}

/// A message change (`ms.MessagingEventNotification`): who did what, when,
/// in which conversation; `E` is the event ([`ContentEvent`], ...).
///
/// Read with the spec's generated type: `dialogId`, `originatorId` and the
/// event are required (`originator_id` is always `Some`); `sequence` and
/// `serverTimestamp` are absent from chat states in LivePerson's examples.
/// Every field the spec describes, typed, is one [`to_raw`](Self::to_raw)
/// away.
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
    pub(crate) envelope: Option<Arc<Map<String, Value>>>,
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
    /// the type [`parse`] read it with, read again from its text: every
    /// field `openapi/connector-webhooks.yaml` describes, typed (`metadata`,
    /// a `ContentEvent`'s `quickReplies`, ...), and the fields it does not
    /// in each struct's `extra`. Never an error for a change [`parse`]
    /// gave; the `Result` is there for a change the spec would refuse.
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
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// `message` while its pages show `content`: either is taken
    /// (`content` first; the spec declares `content`, and keeps `message`
    /// as an unknown field); `null` when neither is there.
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
    /// `result.conversationDetails` (required by the spec, `DELETE`
    /// included, as LivePerson's JSON schema requires it).
    pub details: ConversationDetails,
    pub(crate) raw: Arc<str>,
    pub(crate) envelope: Option<Arc<Map<String, Value>>>,
}

impl ConversationChange {
    /// The conversation is over: `stage` is `CLOSE`, or, when there is no
    /// `stage`, `state` is `CLOSE`.
    ///
    /// `stage` covers the whole conversation, `state` only its main
    /// dialog: with a post-conversation survey, closing the main dialog
    /// gives `state` `CLOSE` while `stage` stays `OPEN` until the survey
    /// ends (LivePerson's "Post Conversation Survey" tutorial; the spec's
    /// Note on `ConversationDetails`). LivePerson's Webhooks Examples show
    /// `state` only, hence the fallback.
    pub fn is_closed(&self) -> bool {
        let details = &self.details;
        details.stage.as_ref().or(details.state.as_ref()) == Some(&ConversationState::Close)
    }

    /// The change as the spec's generated type
    /// ([`raw::webhooks::types::ConversationChange`](crate::raw::webhooks::types::ConversationChange)),
    /// the type [`parse`] read it with, read again from its text: every
    /// field `openapi/connector-webhooks.yaml` describes (the dialogs and
    /// their participants, `delay`, `manualETTR`, ...), typed, and the
    /// fields it does not in each struct's `extra`. Never an error for a
    /// change [`parse`] gave; the `Result` is there for a change the spec
    /// would refuse.
    pub fn to_raw(&self) -> Result<crate::raw::webhooks::types::ConversationChange, BodyError> {
        serde_json::from_str(&self.raw)
            .map_err(|err| BodyError::new("(change)", serde_message(&err)))
    }

    /// The id of the conversation's open post-conversation survey dialog
    /// (a `dialogs` entry of `dialogType` `POST_SURVEY` and `state`
    /// `OPEN`), if it has one: the dialog to answer the survey in
    /// ([`OpenConversation::send_text_to_dialog`](crate::messaging::OpenConversation::send_text_to_dialog))
    /// or to close ([`OpenConversation::close_dialog`](crate::messaging::OpenConversation::close_dialog)).
    pub fn survey_dialog(&self) -> Option<&str> {
        self.details
            .dialogs
            .iter()
            .find(|d| d["dialogType"] == "POST_SURVEY" && d["state"] == "OPEN")
            .and_then(|d| d["dialogId"].as_str())
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
    /// `dialogs`, each as JSON (as the spec's `Dialog` reads and writes
    /// it; typed: [`ConversationChange::to_raw`]).
    pub dialogs: Vec<Value>,
    /// `brandId`: the account id.
    pub brand_id: Option<String>,
    /// `state`: whether the main dialog is open (required by the spec,
    /// so always `Some` from [`parse`]).
    pub state: Option<ConversationState>,
    /// `stage`: whether the whole conversation is open, when sent (see
    /// [`ConversationChange::is_closed`]).
    pub stage: Option<ConversationState>,
    /// `closeReason`: `CONSUMER`, `AGENT`, `SYSTEM`, ... as sent.
    pub close_reason: Option<String>,
    /// `startTs`, in milliseconds since the Unix epoch (required by the
    /// spec, so always `Some` from [`parse`]).
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
    pub(crate) envelope: Option<Arc<Map<String, Value>>>,
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
/// Each change is read with the types generated from
/// `openapi/connector-webhooks.yaml` (what the spec requires is required
/// here). An unknown envelope type or event type is a
/// [`Notification::Unknown`], never an error; an unknown field or an unknown
/// value of a role, state, ... is kept. A body that is not the documented
/// envelope, or a change that does not follow the spec, is a [`BodyError`]
/// naming the field, e.g. `body.changes[1].dialogId: missing`.
///
/// ```
/// let err = liveperson_ccs::webhooks::parse(
///     br#"{"type":"ms.MessagingEventNotification","body":{"changes":[{"originatorId":"a",
///     "event":{"type":"ContentEvent","message":"hi","contentType":"text/plain"}}]}}"#,
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
    let extra = envelope.extra.map(Arc::new);
    changes
        .into_iter()
        .enumerate()
        .map(|(index, change)| {
            let text = change.get();
            let mut note = match notification_type.as_str() {
                MESSAGING_EVENT_NOTIFICATION => parse_message(index, text),
                CONVERSATION_CHANGE_NOTIFICATION => parse_conversation(index, text),
                other => unknown(other, None, index, text),
            }?;
            if let Some(extra) = &extra {
                note.set_envelope_extra(extra.clone());
            }
            Ok(note)
        })
        .collect()
}

fn parse_message(index: usize, text: &str) -> Result<Notification, BodyError> {
    let refused = |err: Option<&serde_json::Error>| {
        diagnose(&format!("body.changes[{index}]"), text, MESSAGE, err)
    };
    let change: t::MessagingEventChange = match serde_json::from_str(text) {
        Ok(change) => change,
        Err(err) => {
            // An event type this crate does not know is kept whatever the
            // change holds (it may use a known field name for something
            // else, or lack what the known events have).
            if let Some(event_type) = unknown_event_type(text) {
                return unknown(MESSAGING_EVENT_NOTIFICATION, Some(event_type), index, text);
            }
            return Err(refused(Some(&err)));
        }
    };
    let raw: Arc<str> = Arc::from(text);
    // The only refusal left: a negative sequence number, which the
    // generated `i64`s take and the layer's `u64`s do not.
    Notification::from_message(change, raw).ok_or_else(|| refused(None))
}

/// The change's `event.type`, when it is a type this crate does not know.
fn unknown_event_type(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Change {
        event: Option<Event>,
    }
    #[derive(serde::Deserialize)]
    struct Event {
        #[serde(rename = "type")]
        type_: Option<serde_json::Value>,
    }
    let change: Change = serde_json::from_str(text).ok()?;
    match change.event?.type_? {
        Value::String(event_type) if !KNOWN_EVENTS.contains(&event_type.as_str()) => {
            Some(event_type)
        }
        _ => None,
    }
}

fn parse_conversation(index: usize, text: &str) -> Result<Notification, BodyError> {
    match serde_json::from_str::<t::ConversationChange>(text) {
        Ok(change) => Ok(Notification::Conversation(
            ConversationChange::from_generated(change, Arc::from(text)),
        )),
        Err(err) => Err(diagnose(
            &format!("body.changes[{index}]"),
            text,
            CONVERSATION,
            Some(&err),
        )),
    }
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
        envelope: None,
    }))
}

const KNOWN_EVENTS: &[&str] = &[
    "ContentEvent",
    "RichContentEvent",
    "AcceptStatusEvent",
    "ChatStateEvent",
];

// From the generated types to the layer's: fields moved, nothing read again.

impl Notification {
    /// A message change, typed by its event; `None` when a sequence number
    /// is negative.
    fn from_message(change: t::MessagingEventChange, raw: Arc<str>) -> Option<Notification> {
        let t::MessagingEventChange {
            conversation_id,
            dialog_id,
            event,
            originator_id,
            originator_metadata,
            sequence,
            server_timestamp,
            metadata: _,
            extra: _,
        } = change;
        let sequence = match sequence {
            Some(n) => Some(u64::try_from(n).ok()?),
            None => None,
        };
        macro_rules! message {
            ($event:expr) => {
                Message {
                    dialog_id,
                    conversation_id,
                    sequence,
                    originator_id: Some(originator_id),
                    originator: originator_metadata.map(|o| Participant {
                        id: o.id,
                        role: Role::from_text(o.role.0),
                    }),
                    server_timestamp,
                    event: $event,
                    raw,
                    envelope: None,
                }
            };
        }
        Some(match event {
            t::MessagingEvent::ContentEvent(event) => {
                let (message, file) = match event.message {
                    t::ContentMessage::TextMessage(text) => (text.0, None),
                    t::ContentMessage::HostedFile(file) => (
                        file.caption.clone().unwrap_or_default(),
                        Some(HostedFile {
                            caption: file.caption,
                            relative_path: file.relative_path,
                            file_type: file.file_type,
                            preview: file.preview,
                        }),
                    ),
                };
                Notification::Content(message!(ContentEvent {
                    message,
                    content_type: event.content_type,
                    file,
                }))
            }
            t::MessagingEvent::RichContentEvent(mut event) => {
                // LivePerson's JSON schema names the content `message`.
                let content = event
                    .content
                    .or_else(|| event.extra.remove("message"))
                    .unwrap_or(Value::Null);
                Notification::RichContent(message!(RichContentEvent { content }))
            }
            t::MessagingEvent::AcceptStatusEvent(event) => {
                let sequence_list = event
                    .sequence_list
                    .into_iter()
                    .map(|n| u64::try_from(n).ok())
                    .collect::<Option<_>>()?;
                Notification::AcceptStatus(message!(AcceptStatusEvent {
                    status_text: event.status.0,
                    sequence_list,
                }))
            }
            t::MessagingEvent::ChatStateEvent(event) => {
                Notification::ChatState(message!(ChatStateEvent {
                    chat_state_text: event.chat_state.0,
                }))
            }
            t::MessagingEvent::UnknownMessagingEvent(event) => {
                // Only the change's text holds it whole (fields a known
                // event would have are in the generated struct's fields).
                let change = serde_json::from_str(&raw).ok()?;
                Notification::Unknown(UnknownChange {
                    notification_type: MESSAGING_EVENT_NOTIFICATION.to_owned(),
                    event_type: Some(String::from(event.type_)),
                    change,
                    raw,
                    envelope: None,
                })
            }
        })
    }

    fn set_envelope_extra(&mut self, extra: Arc<Map<String, Value>>) {
        let slot = match self {
            Notification::Content(m) => &mut m.envelope,
            Notification::RichContent(m) => &mut m.envelope,
            Notification::AcceptStatus(m) => &mut m.envelope,
            Notification::ChatState(m) => &mut m.envelope,
            Notification::Conversation(c) => &mut c.envelope,
            Notification::Unknown(u) => &mut u.envelope,
        };
        *slot = Some(extra);
    }
}

impl ConversationChange {
    fn from_generated(change: t::ConversationChange, raw: Arc<str>) -> ConversationChange {
        let t::ConversationChange { result, type_, .. } = change;
        let d = result.conversation_details;
        ConversationChange {
            change_type: ChangeType::from_text(type_.0),
            conversation_id: result.conv_id,
            effective_ttr: result.effective_ttr,
            details: ConversationDetails {
                skill_id: d.skill_id,
                participants: d
                    .participants
                    .into_iter()
                    .map(|p| Participant {
                        id: p.id,
                        role: Role::from_text(p.role.0),
                    })
                    .collect(),
                // The layer's dialogs are JSON (the typed ones:
                // `to_raw`); a generated struct always serializes.
                dialogs: d
                    .dialogs
                    .iter()
                    .map(|dialog| serde_json::to_value(dialog).unwrap_or(Value::Null))
                    .collect(),
                brand_id: d.brand_id,
                state: Some(ConversationState::from_text(d.state.0)),
                stage: d.stage.map(|s| ConversationState::from_text(s.0)),
                close_reason: d.close_reason.map(String::from),
                start_ts: Some(d.start_ts),
                end_ts: d.end_ts,
                meta_data_last_update_ts: d.meta_data_last_update_ts,
                ttr: d.ttr.map(|ttr| Ttr {
                    ttr_type: Some(ttr.ttr_type),
                    value: Some(ttr.value),
                }),
            },
            raw,
            envelope: None,
        }
    }
}

// The envelope: `type` and `body.changes` read, each change borrowed as its
// text (validated, not built), any other top-level field kept.

struct WireEnvelope<'a> {
    type_: Option<String>,
    body: Option<WireBody<'a>>,
    /// Top-level fields other than `kind`, `type` and `body`, if any.
    extra: Option<Map<String, Value>>,
}

#[derive(serde::Deserialize)]
struct WireBody<'a> {
    #[serde(borrow)]
    changes: Option<Vec<&'a RawValue>>,
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for WireEnvelope<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = WireEnvelope<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a notification object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut envelope = WireEnvelope {
                    type_: None,
                    body: None,
                    extra: None,
                };
                while let Some(key) = map.next_key::<EnvelopeKey>()? {
                    match key {
                        EnvelopeKey::Type => envelope.type_ = map.next_value()?,
                        EnvelopeKey::Body => envelope.body = map.next_value()?,
                        EnvelopeKey::Kind => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                        EnvelopeKey::Other(name) => {
                            let value: Value = map.next_value()?;
                            envelope
                                .extra
                                .get_or_insert_with(Map::new)
                                .insert(name, value);
                        }
                    }
                }
                Ok(envelope)
            }
        }
        deserializer.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

/// A key of the envelope; only an unknown one is copied.
enum EnvelopeKey {
    Type,
    Body,
    Kind,
    Other(String),
}

impl<'de> serde::Deserialize<'de> for EnvelopeKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = EnvelopeKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<EnvelopeKey, E> {
                Ok(match key {
                    "type" => EnvelopeKey::Type,
                    "body" => EnvelopeKey::Body,
                    "kind" => EnvelopeKey::Kind,
                    other => EnvelopeKey::Other(other.to_owned()),
                })
            }
        }
        deserializer.deserialize_identifier(Visitor)
    }
}
