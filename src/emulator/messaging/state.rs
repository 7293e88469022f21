//! The conversations CONVERSATION opened, as SEND and the agent routes find
//! them: who opened each, its participants, skill and state, and its events
//! (the most recent [`EVENTS_KEPT`]). Every change is also a webhook
//! notification, queued to the outbox in the order it happened.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::files::Files;
use crate::emulator::error::ApiError;
use crate::emulator::json::timestamp;
use crate::emulator::webhooks::{Notification, Outbox, WebhookEvent};

/// How many closed conversations are remembered (a SEND to one answers 409,
/// closing it again succeeds); past this, the longest closed is forgotten
/// and answers 404 like an unknown one. Open conversations are all kept.
const CLOSED_KEPT: usize = 10_000;

/// How many events each conversation keeps (for
/// `GET /__emulator/conversations/{id}`); past it the oldest are forgotten
/// (and counted), while numbering goes on.
pub(crate) const EVENTS_KEPT: usize = 1_000;

/// Who sent an event or takes part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Consumer,
    AssignedAgent,
    /// An agent of another dialog: the post-conversation survey's bot.
    Agent,
    /// The system: the account's automatic messages.
    Controller,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Consumer => "CONSUMER",
            Role::AssignedAgent => "ASSIGNED_AGENT",
            Role::Agent => "AGENT",
            Role::Controller => "CONTROLLER",
        }
    }
}

/// The client feature (`Client-Properties`) that lets the account's
/// automatic messages into a conversation.
const AUTO_MESSAGES: &str = "AUTO_MESSAGES";

/// The client feature (`Client-Properties`) of a client that handles more
/// than one dialog: the post-conversation survey's.
const MULTI_DIALOG: &str = "MULTI_DIALOG";

/// The client features (`Client-Properties`) of a client that shows
/// structured content, and quick replies.
const RICH_CONTENT: &str = "RICH_CONTENT";
const QUICK_REPLIES: &str = "QUICK_REPLIES";

/// 409 when the agent's structured content needs a feature the consumer's
/// client did not declare on CONVERSATION.
fn undeclared(conv: &Conversation, published: &Published) -> Result<(), ApiError> {
    let Published::Rich(event) = published else {
        return Ok(());
    };
    let mut needed = vec![RICH_CONTENT];
    if event.get("quickReplies").is_some() {
        needed.push(QUICK_REPLIES);
    }
    match needed.into_iter().find(|f| !conv.has_feature(f)) {
        Some(missing) => Err(ApiError::conflict(format!(
            "the consumer's client did not declare {missing} (Client-Properties on CONVERSATION), so it does not show this content"
        ))),
        None => Ok(()),
    }
}

/// What the post-conversation survey's bot says (with
/// [`EmulatorConfig::post_conversation_survey`](crate::emulator::EmulatorConfig::post_conversation_survey)
/// on, in conversations whose consumer declared `MULTI_DIALOG`).
pub(crate) mod survey {
    /// When the survey dialog opens.
    pub(crate) const QUESTION: &str =
        "How would you rate this conversation, from 1 (poor) to 5 (excellent)?";
    /// After the consumer's answer, before the bot closes the survey dialog.
    pub(crate) const THANKS: &str = "Thank you for your feedback.";
}

/// A post-conversation survey dialog (`POST_SURVEY`).
struct Survey {
    /// The dialog's id (not the conversation's).
    id: String,
    /// The survey bot's participant id (role `AGENT`).
    bot: String,
    open: bool,
    started: DateTime<Utc>,
    ended: Option<DateTime<Utc>>,
    /// `CONSUMER` or `AGENT` (the bot, after the answer), once closed.
    closed_by: Option<&'static str>,
}

/// The automatic messages the emulated account sends (with
/// [`EmulatorConfig::auto_messages`](crate::emulator::EmulatorConfig::auto_messages)
/// on, into conversations whose consumer declared `AUTO_MESSAGES`), by the
/// conversation event that triggers each (the names of LivePerson's
/// "Automatic Messages" page).
pub(crate) mod auto_message {
    /// `CONSUMER_OPEN_NEW_CONVERSATION`: CONVERSATION opened it.
    pub(crate) const OPENED: &str = "Welcome! An agent will be with you shortly.";
    /// `YOU_ARE_CONNECTED_TO`: an agent accepted it.
    pub(crate) const CONNECTED: &str = "You are now connected to an agent.";
    /// `ENGAGEMENT_TRANSFERED`: it was transferred to another skill.
    pub(crate) const TRANSFERRED: &str = "Your conversation is being transferred to another agent.";
}

/// What CONVERSATION said about a conversation, beyond its skill and TTR:
/// kept to show it (`GET /__emulator/conversations/{id}`) and to honour the
/// client's features.
#[derive(Clone, Debug, Default)]
pub(crate) struct Opening {
    /// `skillId`, if given.
    pub(crate) skill: Option<String>,
    /// `ttrDefName`, if given.
    pub(crate) ttr: Option<String>,
    /// `campaignInfo.campaignId`, as text (a number is read as its digits).
    pub(crate) campaign_id: Option<String>,
    /// `campaignInfo.engagementId`, as text.
    pub(crate) engagement_id: Option<String>,
    /// `conversationContext.interactionContextId`, as text.
    pub(crate) interaction_context_id: Option<String>,
    /// The `Client-Properties` header: its JSON, or its text when it is not
    /// JSON (accepted all the same).
    pub(crate) client_properties: Option<Value>,
}

impl Opening {
    /// The features `Client-Properties` declared (its `features` strings,
    /// when it is a JSON object that has them).
    fn features(&self) -> impl Iterator<Item = &str> {
        self.client_properties
            .as_ref()
            .and_then(|p| p.get("features"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }
}

/// An event published into a conversation (by the consumer through SEND,
/// or by the agent through the admin routes).
#[derive(Clone, Debug)]
pub(crate) enum Published {
    /// A `ContentEvent` of `text/plain`.
    Text(String),
    /// A `ChatStateEvent`.
    ChatState(String),
    /// An `AcceptStatusEvent`.
    AcceptStatus { status: String, sequences: Vec<u64> },
    /// A `RichContentEvent`, the whole event as delivered (checked).
    Rich(Value),
    /// A `ContentEvent` of `hosted/file`: its `message` object, checked.
    File(Value),
}

impl Published {
    /// A `RichContentEvent` as it is delivered, from its structured
    /// `content` and optional `quickReplies` (found at `{at}/content` and
    /// `{at}/quickReplies`), checked against LivePerson's schema: 400 names
    /// the first member at fault.
    pub(crate) fn rich(
        content: Option<&Value>,
        quick_replies: Option<&Value>,
        at: &str,
    ) -> Result<Published, ApiError> {
        let Some(content) = content else {
            return Err(ApiError::bad_request(format!(
                "{at}/content: required (the structured content)"
            )));
        };
        crate::messaging::rich::check_event(content, quick_replies, at)
            .map_err(|violation| ApiError::bad_request(violation.to_string()))?;
        let mut event = json!({"type": "RichContentEvent", "content": content});
        if let (Some(quick_replies), Value::Object(map)) = (quick_replies, &mut event) {
            map.insert("quickReplies".into(), quick_replies.clone());
        }
        Ok(Published::Rich(event))
    }

    fn event(&self) -> Value {
        match self {
            Published::Text(text) => {
                json!({"type": "ContentEvent", "message": text, "contentType": "text/plain"})
            }
            Published::ChatState(state) => json!({"type": "ChatStateEvent", "chatState": state}),
            Published::AcceptStatus { status, sequences } => {
                json!({"type": "AcceptStatusEvent", "status": status, "sequenceList": sequences})
            }
            Published::Rich(event) => event.clone(),
            Published::File(message) => {
                json!({"type": "ContentEvent", "message": message, "contentType": "hosted/file"})
            }
        }
    }

    fn webhook(&self) -> WebhookEvent {
        match self {
            Published::Text(_) | Published::File(_) => WebhookEvent::ContentEvent,
            Published::ChatState(_) => WebhookEvent::ChatStateEvent,
            Published::AcceptStatus { .. } => WebhookEvent::AcceptStatusEvent,
            Published::Rich(_) => WebhookEvent::RichContentEvent,
        }
    }
}

/// What the agent does (`POST /__emulator/conversations/{id}/agent/{action}`).
#[derive(Clone, Debug)]
pub(crate) enum AgentAction {
    Accept,
    Publish(Published),
    /// Shares a file (stored as an upload of the conversation's account,
    /// then published as a `hosted/file` `ContentEvent`).
    File(AgentFile),
    Transfer(String),
    Close,
}

/// A file the agent shares, checked (`POST .../agent/file`).
#[derive(Clone, Debug)]
pub(crate) struct AgentFile {
    /// One of [`FILE_TYPES`](super::files::FILE_TYPES).
    pub(crate) file_type: &'static str,
    /// The bytes: 1 byte to 3 MB.
    pub(crate) bytes: Bytes,
    pub(crate) caption: Option<String>,
    /// Under 30 KB.
    pub(crate) preview: Option<String>,
}

/// One event as kept.
struct Event {
    /// The dialog it was published in: the conversation's id for its MAIN
    /// dialog, the survey's id for the survey's.
    dialog: String,
    /// `None` for an agent's chat state, which LivePerson does not number.
    sequence: Option<u64>,
    role: Role,
    originator: String,
    at: DateTime<Utc>,
    event: Value,
}

/// A conversation CONVERSATION opened.
struct Conversation {
    account: String,
    /// Who opened it: `ext:<ext_consumer_id>` for an emulator-issued
    /// ConsumerJWS (so a renewed one keeps it), else `jws:<token>`.
    consumer: String,
    /// The consumer's participant id (never the token).
    consumer_id: String,
    /// The assigned agent's participant id.
    agent: Option<String>,
    open: bool,
    close_reason: Option<&'static str>,
    skill: String,
    ttr_type: &'static str,
    started: DateTime<Utc>,
    ended: Option<DateTime<Utc>>,
    updated: DateTime<Utc>,
    /// The sequence number of the next numbered event.
    next_sequence: u64,
    events: VecDeque<Event>,
    /// Events no longer kept (past [`EVENTS_KEPT`]).
    forgotten: u64,
    /// What CONVERSATION said.
    opening: Opening,
    /// Its post-conversation survey dialog, once the MAIN dialog closed.
    survey: Option<Survey>,
}

impl Conversation {
    fn has_feature(&self, feature: &str) -> bool {
        self.opening.features().any(|f| f == feature)
    }

    /// The whole conversation is open: its MAIN dialog, or its survey's.
    fn stage_open(&self) -> bool {
        self.open || self.survey.as_ref().is_some_and(|s| s.open)
    }

    fn stage(&self) -> &'static str {
        if self.stage_open() { "OPEN" } else { "CLOSE" }
    }

    /// The dialogs as the conversation-change notification carries them.
    fn dialogs(&self, id: &str) -> Vec<Value> {
        let ms = |t: DateTime<Utc>| t.timestamp_millis();
        let mut main = json!({
            "dialogId": id,
            "dialogType": "MAIN",
            "channelType": "MESSAGING",
            "state": self.state(),
            "creationTs": ms(self.started),
        });
        if let (Value::Object(fields), Some(ended)) = (&mut main, self.ended) {
            fields.insert("endTs".into(), Value::from(ms(ended)));
            if let Some(reason) = self.close_reason {
                fields.insert("closedBy".into(), Value::from(reason));
            }
        }
        let mut dialogs = vec![main];
        if let Some(survey) = &self.survey {
            let mut dialog = json!({
                "dialogId": survey.id,
                "participantsDetails": [
                    {"id": self.consumer_id, "role": Role::Consumer.as_str()},
                    {"id": survey.bot, "role": Role::Agent.as_str()},
                ],
                "dialogType": "POST_SURVEY",
                "channelType": "MESSAGING",
                "state": if survey.open { "OPEN" } else { "CLOSE" },
                "creationTs": ms(survey.started),
            });
            if let (Value::Object(fields), Some(ended)) = (&mut dialog, survey.ended) {
                fields.insert("endTs".into(), Value::from(ms(ended)));
                if let Some(by) = survey.closed_by {
                    fields.insert("closedBy".into(), Value::from(by));
                }
            }
            dialogs.push(dialog);
        }
        dialogs
    }

    fn ttr_seconds(&self) -> i64 {
        match self.ttr_type {
            "URGENT" => 300,
            "PRIORITIZED" => 600,
            _ => 3600,
        }
    }

    fn participants(&self) -> Vec<Value> {
        let mut out = Vec::new();
        if let Some(agent) = &self.agent {
            out.push(json!({"id": agent, "role": Role::AssignedAgent.as_str()}));
        }
        out.push(json!({"id": self.consumer_id, "role": Role::Consumer.as_str()}));
        if let Some(survey) = &self.survey {
            out.push(json!({"id": survey.bot, "role": Role::Agent.as_str()}));
        }
        out
    }

    fn state(&self) -> &'static str {
        if self.open { "OPEN" } else { "CLOSE" }
    }

    /// The `cqm.ExConversationChangeNotification` body of its current state.
    fn change_body(&self, id: &str) -> Bytes {
        let ms = |t: DateTime<Utc>| t.timestamp_millis();
        let mut details = Map::new();
        details.insert("skillId".into(), Value::from(self.skill.clone()));
        details.insert("participants".into(), Value::from(self.participants()));
        details.insert("dialogs".into(), Value::from(self.dialogs(id)));
        details.insert("brandId".into(), Value::from(self.account.clone()));
        details.insert("state".into(), Value::from(self.state()));
        details.insert("stage".into(), Value::from(self.stage()));
        if let Some(reason) = self.close_reason {
            details.insert("closeReason".into(), Value::from(reason));
        }
        details.insert("startTs".into(), Value::from(ms(self.started)));
        if let Some(ended) = self.ended {
            details.insert("endTs".into(), Value::from(ms(ended)));
        }
        details.insert("metaDataLastUpdateTs".into(), Value::from(ms(self.updated)));
        details.insert(
            "ttr".into(),
            json!({"ttrType": self.ttr_type, "value": self.ttr_seconds()}),
        );
        let body = json!({
            "kind": "notification",
            "type": "cqm.ExConversationChangeNotification",
            "body": {"changes": [{
                "type": "UPSERT",
                "result": {
                    "convId": id,
                    "effectiveTTR": ms(self.started) + self.ttr_seconds() * 1000,
                    "conversationDetails": details,
                },
            }]},
        });
        Bytes::from(body.to_string())
    }

    /// Keeps an event, forgetting the oldest past [`EVENTS_KEPT`].
    fn keep(&mut self, event: Event) {
        while self.events.len() >= EVENTS_KEPT {
            self.events.pop_front();
            self.forgotten += 1;
        }
        self.events.push_back(event);
    }
}

/// The `ms.MessagingEventNotification` body of one event.
fn message_body(id: &str, event: &Event) -> Bytes {
    let mut change = Map::new();
    // LivePerson's examples number neither a chat state nor time it.
    let chat_state = event.event["type"] == "ChatStateEvent";
    if let (Some(sequence), false) = (event.sequence, chat_state) {
        change.insert("sequence".into(), Value::from(sequence));
    }
    change.insert("originatorId".into(), Value::from(event.originator.clone()));
    change.insert(
        "originatorMetadata".into(),
        json!({"id": event.originator, "role": event.role.as_str()}),
    );
    if !chat_state {
        change.insert(
            "serverTimestamp".into(),
            Value::from(event.at.timestamp_millis()),
        );
    }
    change.insert("event".into(), event.event.clone());
    change.insert("conversationId".into(), Value::from(id));
    change.insert("dialogId".into(), Value::from(event.dialog.clone()));
    let body = json!({
        "kind": "notification",
        "type": "ms.MessagingEventNotification",
        "body": {"changes": [change]},
    });
    Bytes::from(body.to_string())
}

/// The conversations, shared by every request.
pub(crate) struct Conversations {
    held: Mutex<Held>,
    outbox: Arc<Outbox>,
    /// The echo agent: accepts each new conversation, echoes each text.
    echo: bool,
    /// The account has automatic messages on.
    auto_messages: bool,
    /// The account has a post-conversation survey.
    survey: bool,
    /// The files shared (file sharing's `swift` host); a conversation's
    /// files are forgotten with it.
    pub(crate) files: Files,
}

/// The conversations, and the closed ones' ids, longest closed first.
#[derive(Default)]
struct Held {
    by_id: HashMap<String, Conversation>,
    closed: VecDeque<String>,
    /// The conversation of each survey dialog, by the dialog's id.
    surveys: HashMap<String, String>,
}

impl Held {
    /// Notes that `id` was just closed; keeps at most `keep` closed ones,
    /// forgetting the longest closed; returns the ids forgotten.
    fn closed(&mut self, id: String, keep: usize) -> Vec<String> {
        let mut forgotten = Vec::new();
        self.closed.push_back(id);
        while self.closed.len() > keep {
            match self.closed.pop_front() {
                Some(oldest) => {
                    if let Some(survey) = self.by_id.remove(&oldest).and_then(|c| c.survey) {
                        self.surveys.remove(&survey.id);
                    }
                    forgotten.push(oldest);
                }
                None => break,
            };
        }
        forgotten
    }

    /// The conversation `id` of this account and consumer; 404 for an
    /// unknown one or another consumer's.
    fn find(
        &mut self,
        id: &str,
        account: &str,
        consumer: &str,
    ) -> Result<&mut Conversation, ApiError> {
        self.by_id
            .get_mut(id)
            .filter(|conv| conv.account == account && conv.consumer == consumer)
            .ok_or_else(|| ApiError::not_found("conversation not found"))
    }

    /// The conversation dialog `dialog` belongs to (its MAIN dialog has
    /// its id; a survey dialog its own), if it is this consumer's: the
    /// conversation's id, and whether `dialog` is its survey's.
    fn find_dialog(
        &mut self,
        dialog: &str,
        account: &str,
        consumer: &str,
    ) -> Result<(String, bool), ApiError> {
        let (id, survey) = match self.surveys.get(dialog) {
            Some(conversation) => (conversation.clone(), true),
            None => (dialog.to_owned(), false),
        };
        self.find(&id, account, consumer)?;
        Ok((id, survey))
    }
}

/// 409 when no agent is assigned to `conv` (what the agent publishes needs one).
fn no_agent(conv: &Conversation) -> Result<(), ApiError> {
    if conv.agent.is_none() {
        return Err(ApiError::conflict(
            "no agent is assigned: accept the conversation first",
        ));
    }
    Ok(())
}

/// The participant id of the account's system (its automatic messages):
/// the same for every conversation of the account.
fn controller_id(account: &str) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    ("controller", account).hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// A participant id for a consumer: for an emulator-issued ConsumerJWS, the
/// `lp_consumer_id` its claims carry; never the token itself.
fn consumer_id(account: &str, consumer: &str) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    match consumer.strip_prefix("ext:") {
        Some(ext) => (account, ext).hash(&mut hasher),
        None => consumer.hash(&mut hasher),
    }
    format!("{:016x}", hasher.finish())
}

impl Conversations {
    pub(crate) fn new(
        outbox: Arc<Outbox>,
        echo: bool,
        auto_messages: bool,
        survey: bool,
    ) -> Conversations {
        Conversations {
            held: Mutex::new(Held::default()),
            outbox,
            echo,
            auto_messages,
            survey,
            files: Files::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues the conversation-change notification of `conv` as it is now.
    fn notify_change(&self, id: &str, conv: &Conversation) {
        if self.outbox.wants(WebhookEvent::ConversationChange) {
            self.outbox.notify(Notification {
                event: WebhookEvent::ConversationChange,
                account: conv.account.clone(),
                conversation: id.to_owned(),
                body: conv.change_body(id),
            });
        }
    }

    /// Keeps an event of `conv`'s MAIN dialog and queues its notification.
    fn publish_event(
        &self,
        id: &str,
        conv: &mut Conversation,
        role: Role,
        published: &Published,
        now: DateTime<Utc>,
    ) -> Option<u64> {
        self.publish_in(id, id, conv, role, published, now)
    }

    /// Keeps an event of `conv`, published in its dialog `dialog`, and
    /// queues its notification.
    fn publish_in(
        &self,
        id: &str,
        dialog: &str,
        conv: &mut Conversation,
        role: Role,
        published: &Published,
        now: DateTime<Utc>,
    ) -> Option<u64> {
        let numbered = role == Role::Consumer || !matches!(published, Published::ChatState(_));
        let sequence = numbered.then(|| {
            let sequence = conv.next_sequence;
            conv.next_sequence += 1;
            sequence
        });
        let originator = match role {
            Role::Consumer => conv.consumer_id.clone(),
            Role::AssignedAgent => conv.agent.clone().unwrap_or_default(),
            Role::Agent => conv
                .survey
                .as_ref()
                .map(|s| s.bot.clone())
                .unwrap_or_default(),
            Role::Controller => controller_id(&conv.account),
        };
        let event = Event {
            dialog: dialog.to_owned(),
            sequence,
            role,
            originator,
            at: now,
            event: published.event(),
        };
        if self.outbox.wants(published.webhook()) {
            self.outbox.notify(Notification {
                event: published.webhook(),
                account: conv.account.clone(),
                conversation: id.to_owned(),
                body: message_body(id, &event),
            });
        }
        conv.keep(event);
        sequence
    }

    /// Publishes an automatic message of the account into `conv`, when the
    /// account has them on and its consumer declared `AUTO_MESSAGES`.
    fn auto_message(&self, id: &str, conv: &mut Conversation, text: &str, now: DateTime<Utc>) {
        if self.auto_messages && conv.has_feature(AUTO_MESSAGES) {
            let published = Published::Text(text.to_owned());
            self.publish_event(id, conv, Role::Controller, &published, now);
        }
    }

    /// An agent joins `conv` as ASSIGNED_AGENT.
    fn accept(&self, id: &str, conv: &mut Conversation, now: DateTime<Utc>) {
        conv.agent = Some(uuid::Uuid::new_v4().to_string());
        conv.updated = now;
        self.notify_change(id, conv);
        self.auto_message(id, conv, auto_message::CONNECTED, now);
    }

    /// Keeps a conversation CONVERSATION just opened as `opening` says;
    /// returns its id.
    pub(crate) fn open(
        &self,
        account: &str,
        consumer: String,
        opening: Opening,
        now: DateTime<Utc>,
    ) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let mut conv = Conversation {
            account: account.to_owned(),
            consumer_id: consumer_id(account, &consumer),
            consumer,
            agent: None,
            open: true,
            close_reason: None,
            skill: opening.skill.clone().unwrap_or_else(|| "-1".to_owned()),
            ttr_type: match opening.ttr.as_deref() {
                Some("URGENT") => "URGENT",
                Some("PRIORITIZED") => "PRIORITIZED",
                _ => "NORMAL",
            },
            started: now,
            ended: None,
            updated: now,
            next_sequence: 0,
            events: VecDeque::new(),
            forgotten: 0,
            opening,
            survey: None,
        };
        let mut held = self.lock();
        self.notify_change(&id, &conv);
        self.auto_message(&id, &mut conv, auto_message::OPENED, now);
        if self.echo {
            self.accept(&id, &mut conv, now);
        }
        held.by_id.insert(id.clone(), conv);
        id
    }

    /// Publishes an event of the consumer into dialog `dialog`: the
    /// conversation's MAIN dialog (the conversation's id) or its survey
    /// dialog. Answers its sequence number (from 0) and the conversation's
    /// id. 404 if it is not the consumer's, 409 if the dialog is closed.
    /// With the echo agent, a text in the MAIN dialog is answered with
    /// itself; in the survey dialog, a text is the answer: the bot thanks
    /// the consumer and closes the survey.
    pub(crate) fn publish(
        &self,
        dialog: &str,
        account: &str,
        consumer: &str,
        published: &Published,
        now: DateTime<Utc>,
    ) -> Result<(u64, String), ApiError> {
        let mut held = self.lock();
        let (id, in_survey) = held.find_dialog(dialog, account, consumer)?;
        let conv = held.find(&id, account, consumer)?;
        if in_survey {
            if !conv.survey.as_ref().is_some_and(|s| s.open) {
                return Err(ApiError::conflict("the survey dialog is closed"));
            }
            let sequence = self
                .publish_in(&id, dialog, conv, Role::Consumer, published, now)
                .unwrap_or_default();
            if let Published::Text(_) = published {
                let thanks = Published::Text(survey::THANKS.to_owned());
                self.publish_in(&id, dialog, conv, Role::Agent, &thanks, now);
                self.close_survey(held, id.clone(), "AGENT", now);
            }
            return Ok((sequence, id));
        }
        if !conv.open {
            return Err(match conv.survey.as_ref().filter(|s| s.open) {
                Some(survey) => ApiError::conflict(format!(
                    "the conversation's main dialog is closed; its post-conversation survey dialog {} is open",
                    survey.id
                )),
                None => ApiError::conflict("conversation is closed"),
            });
        }
        let sequence = self
            .publish_event(&id, conv, Role::Consumer, published, now)
            .unwrap_or_default();
        if self.echo
            && conv.agent.is_some()
            && let Published::Text(text) = published
        {
            let echo = Published::Text(text.clone());
            self.publish_event(&id, conv, Role::AssignedAgent, &echo, now);
        }
        Ok((sequence, id))
    }

    /// Closes conversation `id` (`ConversationStateField` `CLOSE`): its
    /// MAIN dialog when that is open (which opens the survey, if there is
    /// one), else its open survey dialog; once all is closed, again changes
    /// nothing. 404 if it is not the consumer's.
    pub(crate) fn close(
        &self,
        id: String,
        account: &str,
        consumer: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let mut held = self.lock();
        let conv = held.find(&id, account, consumer)?;
        if conv.open {
            self.close_main(held, id, "CONSUMER", now);
        } else if conv.survey.as_ref().is_some_and(|s| s.open) {
            self.close_survey(held, id, "CONSUMER", now);
        }
        Ok(())
    }

    /// Closes dialog `dialog` of conversation `id` (`DialogChange`): its
    /// MAIN dialog (the conversation's id) as [`close`](Self::close) does,
    /// or its survey dialog; a closed one again changes nothing. 404 if the
    /// conversation is not the consumer's, or has no such dialog.
    pub(crate) fn close_dialog(
        &self,
        id: String,
        dialog: &str,
        account: &str,
        consumer: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let mut held = self.lock();
        let conv = held.find(&id, account, consumer)?;
        if dialog == id {
            if conv.open {
                self.close_main(held, id, "CONSUMER", now);
            }
            return Ok(());
        }
        match &conv.survey {
            Some(survey) if survey.id == dialog => {
                if survey.open {
                    self.close_survey(held, id, "CONSUMER", now);
                }
                Ok(())
            }
            _ => Err(ApiError::not_found("dialog not found")),
        }
    }

    /// Closes the open MAIN dialog of conversation `id`, by `reason`: with
    /// a survey for the account and a consumer that declared
    /// `MULTI_DIALOG`, the survey dialog opens (`stage` stays `OPEN`) and
    /// its bot asks its question; else the whole conversation is closed.
    fn close_main(
        &self,
        mut held: MutexGuard<'_, Held>,
        id: String,
        reason: &'static str,
        now: DateTime<Utc>,
    ) {
        let Some(conv) = held.by_id.get_mut(&id) else {
            return;
        };
        Self::end(conv, reason, now);
        if self.survey && conv.has_feature(MULTI_DIALOG) {
            let survey = uuid::Uuid::new_v4().to_string();
            conv.survey = Some(Survey {
                id: survey.clone(),
                bot: uuid::Uuid::new_v4().to_string(),
                open: true,
                started: now,
                ended: None,
                closed_by: None,
            });
            self.notify_change(&id, conv);
            let question = Published::Text(survey::QUESTION.to_owned());
            self.publish_in(&id, &survey, conv, Role::Agent, &question, now);
            held.surveys.insert(survey, id);
        } else {
            self.notify_change(&id, conv);
            let forgotten = held.closed(id, CLOSED_KEPT);
            self.forget(forgotten);
        }
    }

    /// Closes the open survey dialog of conversation `id`, by `by`: the
    /// conversation is over (`stage` `CLOSE`).
    fn close_survey(
        &self,
        mut held: MutexGuard<'_, Held>,
        id: String,
        by: &'static str,
        now: DateTime<Utc>,
    ) {
        let Some(conv) = held.by_id.get_mut(&id) else {
            return;
        };
        if let Some(survey) = &mut conv.survey {
            survey.open = false;
            survey.ended = Some(now);
            survey.closed_by = Some(by);
        }
        conv.updated = now;
        self.notify_change(&id, conv);
        let forgotten = held.closed(id, CLOSED_KEPT);
        self.forget(forgotten);
    }

    fn end(conv: &mut Conversation, reason: &'static str, now: DateTime<Utc>) {
        conv.open = false;
        conv.close_reason = Some(reason);
        conv.ended = Some(now);
        conv.updated = now;
    }

    fn forget(&self, ids: Vec<String>) {
        self.files.forget_conversations(&ids);
        for id in ids {
            self.outbox.forget(&id);
        }
    }

    /// What the agent does in conversation `id` (any account or consumer):
    /// 404 for an unknown conversation, 409 when it is closed or the action
    /// needs an agent and none is assigned (or one is, for `accept`), 400
    /// for a read receipt of a sequence not yet published. Answers what
    /// the action made (a sequence number, the agent id).
    pub(crate) fn agent(
        &self,
        id: &str,
        action: AgentAction,
        now: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        let mut held = self.lock();
        let conv = held
            .by_id
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("conversation not found"))?;
        if !conv.open {
            return Err(ApiError::conflict("conversation is closed"));
        }
        let answer = match action {
            AgentAction::Accept => {
                if conv.agent.is_some() {
                    return Err(ApiError::conflict("an agent is already assigned"));
                }
                self.accept(id, conv, now);
                json!({"agent_id": conv.agent})
            }
            AgentAction::Publish(published) => {
                no_agent(conv)?;
                undeclared(conv, &published)?;
                if let Published::AcceptStatus { sequences, .. } = &published
                    && let Some(unknown) = sequences.iter().find(|s| **s >= conv.next_sequence)
                {
                    return Err(ApiError::bad_request(format!(
                        "sequences: no event {unknown} was published in this conversation"
                    )));
                }
                let sequence = self.publish_event(id, conv, Role::AssignedAgent, &published, now);
                match sequence {
                    Some(sequence) => json!({"sequence": sequence}),
                    None => json!({}),
                }
            }
            AgentAction::File(file) => {
                no_agent(conv)?;
                let path = super::files::new_path(&conv.account, file.file_type);
                self.files.store(path.clone(), file.bytes);
                self.files.attach(&path, id);
                let mut message = json!({"relativePath": path, "fileType": file.file_type});
                if let Value::Object(fields) = &mut message {
                    if let Some(caption) = file.caption {
                        fields.insert("caption".into(), Value::String(caption));
                    }
                    if let Some(preview) = file.preview {
                        fields.insert("preview".into(), Value::String(preview));
                    }
                }
                let published = Published::File(message);
                let sequence = self.publish_event(id, conv, Role::AssignedAgent, &published, now);
                match sequence {
                    Some(sequence) => json!({"sequence": sequence}),
                    None => json!({}),
                }
            }
            AgentAction::Transfer(skill) => {
                conv.skill = skill;
                conv.agent = None;
                conv.updated = now;
                self.notify_change(id, conv);
                self.auto_message(id, conv, auto_message::TRANSFERRED, now);
                json!({"skill_id": conv.skill})
            }
            AgentAction::Close => {
                self.close_main(held, id.to_owned(), "AGENT", now);
                json!({})
            }
        };
        Ok(answer)
    }

    /// The conversation as `GET /__emulator/conversations/{id}` shows it.
    pub(crate) fn snapshot(&self, id: &str) -> Option<Value> {
        let held = self.lock();
        let conv = held.by_id.get(id)?;
        let events: Vec<Value> = conv
            .events
            .iter()
            .map(|e| {
                json!({
                    "sequence": e.sequence,
                    "dialog_id": e.dialog,
                    "type": e.event["type"],
                    "role": e.role.as_str(),
                    "originator_id": e.originator,
                    "at": timestamp(e.at),
                    "event": e.event,
                })
            })
            .collect();
        let mut out = json!({
            "conversation_id": id,
            "account_id": conv.account,
            "state": conv.state(),
            "stage": conv.stage(),
            "dialogs": conv.dialogs(id).iter().map(|d| json!({
                "dialog_id": d["dialogId"],
                "type": d["dialogType"],
                "state": d["state"],
            })).collect::<Vec<_>>(),
            "skill_id": conv.skill,
            "started_at": timestamp(conv.started),
            "participants": conv.participants(),
            "events": events,
            "events_forgotten": conv.forgotten,
            "deliveries": self.outbox.deliveries(id),
        });
        if let Value::Object(map) = &mut out {
            if let Some(reason) = conv.close_reason {
                map.insert("close_reason".into(), Value::from(reason));
            }
            if let Some(ended) = conv.ended {
                map.insert("ended_at".into(), Value::from(timestamp(ended)));
            }
            let opening = &conv.opening;
            for (name, value) in [
                ("campaign_id", &opening.campaign_id),
                ("engagement_id", &opening.engagement_id),
                ("interaction_context_id", &opening.interaction_context_id),
            ] {
                if let Some(value) = value {
                    map.insert(name.into(), Value::from(value.clone()));
                }
            }
            if let Some(properties) = &opening.client_properties {
                map.insert("client_properties".into(), properties.clone());
            }
            let features: Vec<&str> = opening.features().collect();
            map.insert("features".into(), Value::from(features));
        }
        Some(out)
    }

    /// Forgets every conversation (`/__emulator/reset`).
    pub(crate) fn clear(&self) {
        let mut held = self.lock();
        held.by_id.clear();
        held.closed.clear();
        held.surveys.clear();
        self.files.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::{Conversation, Held};
    use chrono::Utc;

    fn open(conversations: &mut Held, id: &str) {
        let now = Utc::now();
        conversations.by_id.insert(
            id.to_owned(),
            Conversation {
                account: "le1".into(),
                consumer: "ext:c".into(),
                consumer_id: "c".into(),
                agent: None,
                open: true,
                close_reason: None,
                skill: "-1".into(),
                ttr_type: "NORMAL",
                started: now,
                ended: None,
                updated: now,
                next_sequence: 0,
                events: Default::default(),
                forgotten: 0,
                opening: Default::default(),
                survey: None,
            },
        );
    }

    /// Past the bound, the longest closed conversation is forgotten; open
    /// ones are never forgotten, however many are closed.
    #[test]
    fn only_the_latest_closed_conversations_are_kept() {
        let mut conversations = Held::default();
        for id in ["a", "b", "c", "d", "open"] {
            open(&mut conversations, id);
        }
        for id in ["a", "b", "c"] {
            conversations.by_id.get_mut(id).unwrap().open = false;
            conversations.closed(id.to_owned(), 2);
        }
        let mut held: Vec<&str> = conversations.by_id.keys().map(String::as_str).collect();
        held.sort_unstable();
        assert_eq!(held, ["b", "c", "d", "open"]);
        conversations.by_id.get_mut("d").unwrap().open = false;
        assert_eq!(conversations.closed("d".to_owned(), 2), ["b"]);
        let mut held: Vec<&str> = conversations.by_id.keys().map(String::as_str).collect();
        held.sort_unstable();
        assert_eq!(held, ["c", "d", "open"]);
        assert_eq!(conversations.closed, ["c", "d"]);
    }
}
