//! [`OpenConversation`]: a conversation opened for one consumer, what it
//! sends (text, chat states, accept statuses) and its close; and the
//! [`MessagingClient`] methods that make one.

use std::fmt;
use std::sync::Arc;

use super::client::{ClientSlot, MessagingClient};
use super::request::ConversationRequest;
use super::rich::{RichContent, check_event};
use super::send::{AcceptStatus, ChatState, Sent, request_id};
use crate::Error;
use crate::client::secret::Credential;
use crate::generated::messaging as raw;

impl MessagingClient {
    /// Opens a conversation on behalf of the consumer (as
    /// [`create_conversation`](Self::create_conversation)) and returns it
    /// ready to send to: text, chat states, accept statuses, and its close.
    ///
    /// Give the consumer as a
    /// [`ConsumerJwsProvider`](crate::connector::ConsumerJwsProvider) to have
    /// the ConsumerJWS renewed when it is refused, or as a fixed token.
    ///
    /// Sends `POST /api/account/{accountId}/messaging/consumer/conversation?v=3`,
    /// and answers, as [`create_conversation`](Self::create_conversation) does.
    pub async fn open(
        &self,
        consumer_jws: impl Into<Credential>,
        request: &ConversationRequest,
    ) -> Result<OpenConversation, Error> {
        let consumer = consumer_jws.into();
        let opened = self.create_conversation(consumer.clone(), request).await?;
        Ok(OpenConversation {
            client: self.clone(),
            consumer,
            id: opened.conversation_id,
            profile_message: opened.profile_message,
            // Its SENDs repeat the Client-Properties CONVERSATION was sent with.
            slot: Arc::new(ClientSlot::with_client_properties(
                request.client_properties(),
            )),
        })
    }

    /// An [`OpenConversation`] for a conversation opened earlier (its id, as
    /// CONVERSATION answered it), for the same consumer. Its SENDs carry no
    /// `Client-Properties` header: use the one [`open`](Self::open) returned
    /// for a conversation opened with
    /// [`ConversationRequest::feature`].
    pub fn conversation(
        &self,
        consumer_jws: impl Into<Credential>,
        conversation_id: impl Into<String>,
    ) -> OpenConversation {
        OpenConversation {
            client: self.clone(),
            consumer: consumer_jws.into(),
            id: conversation_id.into(),
            profile_message: None,
            slot: Arc::default(),
        }
    }
}

/// A conversation opened by [`MessagingClient::open`], for one consumer:
/// sends to it and closes it.
///
/// Which SEND calls are repeated automatically (by the client's
/// [`RetryPolicy`](crate::RetryPolicy), on 429, 502, 503, 504, a failed
/// connection or a timeout):
///
/// | call | payload | repeated |
/// | --- | --- | --- |
/// | [`send_text`](Self::send_text) | `ContentEvent` | **never**: a repeat could post the message twice |
/// | [`send_rich_content`](Self::send_rich_content) | `RichContentEvent` | **never**: a repeat could post the content twice |
/// | [`chat_state`](Self::chat_state) | `ChatStateEvent` | yes: it sets a state |
/// | [`accept`](Self::accept) | `AcceptStatusEvent` | yes: it sets a state |
/// | [`close`](Self::close) | `cm.UpdateConversationField` | yes: closing twice is closing |
/// | [`close_dialog`](Self::close_dialog) | `cm.UpdateConversationField` (`DialogChange`) | yes: closing twice is closing |
///
/// Every call, `send_text` included, is repeated once after the service
/// refused a token as expired or invalid (`errorCode` 40102 or 40103) and the
/// token was renewed: a refused call was not carried out.
///
/// What each call can be refused with (besides a failed connection or a
/// timeout, [`Error::Transport`] and [`Error::Timeout`]):
///
/// | refusal | error | when |
/// | --- | --- | --- |
/// | conversation closed | [`Error::Api`] with 409; [`Error::is_conversation_closed`] | `send_text`, `chat_state`, `accept` after the conversation was closed (`close` and `close_dialog` on a closed conversation succeed) |
/// | not found | [`Error::NotFound`] | an id that is unknown, or not this consumer's |
/// | token refused | [`Error::Connector`] (401, with its [`ConnectorErrorCode`](crate::connector::ConnectorErrorCode)); [`Error::is_unauthorized`] | the AppJWT or ConsumerJWS was still refused after one renewal, or could not be renewed |
/// | payload refused | [`Error::Rejected`] | the service answered 200 with a code other than `OK` |
/// | bad input | [`Error::InvalidInput`] | `accept` with no sequence number, or one too large; structured content the schema refuses; nothing was sent |
/// | rate limited | [`Error::RateLimited`] | 429 after the retries the policy allows (never retried for `send_text`) |
#[derive(Clone)]
pub struct OpenConversation {
    pub(crate) client: MessagingClient,
    pub(crate) consumer: Credential,
    pub(crate) id: String,
    pub(crate) profile_message: Option<String>,
    /// Shared by clones, which send for the same consumer.
    pub(crate) slot: Arc<ClientSlot>,
}

impl fmt::Debug for OpenConversation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenConversation")
            .field("conversation_id", &self.id)
            .field("consumer_jws", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl OpenConversation {
    /// The conversation id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// This conversation's webhook notifications, as `receiver` gets them
    /// (the same as [`receiver.conversation(self.id())`](crate::webhooks::Receiver::conversation)).
    /// Ask for it before sending what the agent answers:
    ///
    /// ```no_run
    /// # async fn demo(
    /// #     receiver: liveperson_ccs::webhooks::Receiver,
    /// #     conversation: liveperson_ccs::messaging::OpenConversation,
    /// # ) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut events = conversation.events(&receiver);
    /// conversation.send_text("Hello").await?;
    /// let reply = events.next_agent_text(std::time::Duration::from_secs(30)).await?;
    /// # Ok(()) }
    /// ```
    pub fn events(
        &self,
        receiver: &crate::webhooks::Receiver,
    ) -> crate::webhooks::ConversationEvents {
        receiver.conversation(self.id.clone())
    }

    /// What the service said of the profile, e.g. `OK User Profile set successfully`.
    pub fn profile_message(&self) -> Option<&str> {
        self.profile_message.as_deref()
    }

    /// Sends a text message (`text/plain`) from the consumer. Never repeated
    /// automatically (see above).
    ///
    /// Sends `POST /api/account/{accountId}/messaging/consumer/conversation/send?v=3`
    /// with an `ms.PublishEvent` (`ContentEvent`); 200 with the code
    /// `OK` → [`Sent`]; other answers as in the table above.
    pub async fn send_text(&self, message: impl Into<String>) -> Result<Sent, Error> {
        use raw::types as t;
        let event = t::PublishedEvent::ContentEvent(t::ContentEvent {
            type_: t::ContentEventType::ContentEvent,
            content_type: t::ContentEventContentType::TextPlain,
            message: message.into(),
        });
        self.publish(event, false).await
    }

    /// Sends a text message (`text/plain`) from the consumer into one
    /// dialog of the conversation: its post-conversation survey's, say,
    /// whose `POST_SURVEY` dialog opens when the `MAIN` dialog closes
    /// (for a client that declared
    /// [`ClientFeature::MultiDialog`](super::ClientFeature::MultiDialog);
    /// find its id with
    /// [`ConversationChange::survey_dialog`](crate::webhooks::ConversationChange::survey_dialog)).
    /// [`send_text`](Self::send_text) is this with the `MAIN` dialog, whose
    /// id is the conversation's. Never repeated automatically.
    ///
    /// An empty `dialog_id` is [`Error::InvalidInput`], and nothing is sent.
    ///
    /// The survey's whole path, with the conversation opened with
    /// `ConversationRequest::new().feature(ClientFeature::MultiDialog)`:
    ///
    /// ```no_run
    /// # async fn demo(
    /// #     receiver: liveperson_ccs::webhooks::Receiver,
    /// #     conversation: liveperson_ccs::messaging::OpenConversation,
    /// # ) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use liveperson_ccs::webhooks::Notification;
    ///
    /// let mut events = conversation.events(&receiver);
    /// conversation.close().await?; // the MAIN dialog: the survey opens
    /// let survey = events
    ///     .wait_for(Duration::from_secs(30), |n| match n {
    ///         Notification::Conversation(change) => change.survey_dialog().map(str::to_owned),
    ///         _ => None,
    ///     })
    ///     .await?;
    /// let question = events.next_agent_text(Duration::from_secs(30)).await?;
    /// println!("the survey asks: {}", question.event.message);
    /// conversation.send_text_to_dialog(&survey, "5").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// Sends `POST /api/account/{accountId}/messaging/consumer/conversation/send?v=3`
    /// with an `ms.PublishEvent` (`ContentEvent`, `dialogId` as given); 200
    /// with the code `OK` → [`Sent`]; a closed dialog is
    /// [`Error::is_conversation_closed`]; other answers as in the table above.
    pub async fn send_text_to_dialog(
        &self,
        dialog_id: impl Into<String>,
        message: impl Into<String>,
    ) -> Result<Sent, Error> {
        use raw::types as t;
        let dialog_id = dialog_id.into();
        if dialog_id.is_empty() {
            return Err(Error::invalid("dialog id", "name the dialog to send to"));
        }
        let event = t::PublishedEvent::ContentEvent(t::ContentEvent {
            type_: t::ContentEventType::ContentEvent,
            content_type: t::ContentEventContentType::TextPlain,
            message: message.into(),
        });
        self.publish_to(dialog_id, event, false).await
    }

    /// Sends structured content from the consumer (a card, a carousel, a
    /// map, ...) with optional quick replies: a `RichContentEvent`. Never
    /// repeated automatically, like [`send_text`](Self::send_text).
    ///
    /// The content is checked first against LivePerson's structured
    /// content schema: what it refuses (a button without a title, an
    /// unknown element type, a carousel of one card, ...) is
    /// [`Error::InvalidInput`] naming the JSON pointer of the first member
    /// at fault (e.g. `/content/elements/2/title: required`), and nothing
    /// is sent.
    ///
    /// Sends `POST /api/account/{accountId}/messaging/consumer/conversation/send?v=3`
    /// with an `ms.PublishEvent` (`RichContentEvent`); 200 with the code
    /// `OK` → [`Sent`]; other answers as in the table above.
    pub async fn send_rich_content(&self, content: impl Into<RichContent>) -> Result<Sent, Error> {
        use raw::types as t;
        let (content, quick_replies) = content.into().into_parts();
        check_event(&content, quick_replies.as_ref(), "")
            .map_err(|violation| Error::invalid("rich content", violation.to_string()))?;
        let event = t::PublishedEvent::RichContentEvent(t::RichContentEvent {
            type_: t::RichContentEventType::RichContentEvent,
            content,
            quick_replies,
        });
        self.publish(event, false).await
    }

    /// Sends the consumer's chat state, e.g. [`ChatState::Composing`] while
    /// they type.
    ///
    /// Sends `POST /api/account/{accountId}/messaging/consumer/conversation/send?v=3`
    /// with an `ms.PublishEvent` (`ChatStateEvent`); 200 with the code
    /// `OK` → [`Sent`]; other answers as in the table above.
    pub async fn chat_state(&self, state: ChatState) -> Result<Sent, Error> {
        use raw::types as t;
        let event = t::PublishedEvent::ChatStateEvent(t::ChatStateEvent {
            type_: t::ChatStateEventType::ChatStateEvent,
            chat_state: state.to_raw(),
        });
        self.publish(event, true).await
    }

    /// Sends the consumer's acceptance of the agent's messages named by their
    /// sequence numbers (at least one).
    ///
    /// Sends `POST /api/account/{accountId}/messaging/consumer/conversation/send?v=3`
    /// with an `ms.PublishEvent` (`AcceptStatusEvent`); 200 with the
    /// code `OK` → [`Sent`]; other answers as in the table above.
    pub async fn accept(&self, status: AcceptStatus, sequences: &[u64]) -> Result<Sent, Error> {
        use raw::types as t;
        if sequences.is_empty() {
            return Err(Error::invalid(
                "accept status",
                "name at least one message by its sequence number",
            ));
        }
        let sequence_list = sequences
            .iter()
            .map(|s| i64::try_from(*s))
            .collect::<Result<Vec<i64>, _>>()
            .map_err(|_| Error::invalid("accept status", "a sequence number is too large"))?;
        let event = t::PublishedEvent::AcceptStatusEvent(t::AcceptStatusEvent {
            type_: t::AcceptStatusEventType::AcceptStatusEvent,
            status: status.to_raw(),
            sequence_list,
        });
        self.publish(event, true).await
    }

    /// Closes the conversation (`cm.UpdateConversationField`,
    /// `ConversationStateField` `CLOSE`). Closing a closed conversation
    /// succeeds again.
    ///
    /// Sends `POST /api/account/{accountId}/messaging/consumer/conversation/send?v=3`
    /// with a `cm.UpdateConversationField`; 200 with the code `OK` →
    /// [`Sent`]; other answers as in the table above.
    pub async fn close(&self) -> Result<Sent, Error> {
        use raw::types as t;
        self.update_field(t::ConversationField::ConversationStateField(
            t::ConversationStateField {
                field: t::ConversationStateFieldField::ConversationStateField,
                conversation_state: t::ConversationStateFieldConversationState::Close,
            },
        ))
        .await
    }

    /// Closes one dialog of the conversation, the Messaging Window API's way
    /// (`cm.UpdateConversationField`, `DialogChange` `UPDATE`, `state`
    /// `CLOSE`, `closedCause` `Closed by consumer`).
    ///
    /// A conversation is a container of dialogs. Its `MAIN` dialog has the
    /// conversation's id: `close_dialog(conversation.id())` ends the
    /// conversation with the agent, where LivePerson then opens a
    /// `POST_SURVEY` dialog if the account has a post-conversation survey
    /// (its id is in the conversation-change notification's `dialogs`);
    /// close that one by its id when the survey is done. Without a survey,
    /// closing the `MAIN` dialog is the same as [`close`](Self::close).
    /// Repeated automatically like `close` (closing twice is closing).
    ///
    /// Sends `POST /api/account/{accountId}/messaging/consumer/conversation/send?v=3`
    /// with a `cm.UpdateConversationField`; 200 with the code `OK` →
    /// [`Sent`]; a dialog the conversation does not have: [`Error::NotFound`];
    /// other answers as in the table above.
    pub async fn close_dialog(&self, dialog_id: impl Into<String>) -> Result<Sent, Error> {
        use raw::types as t;
        let dialog_id = dialog_id.into();
        if dialog_id.is_empty() {
            return Err(Error::invalid("dialog id", "name the dialog to close"));
        }
        self.update_field(t::ConversationField::DialogChangeField(
            t::DialogChangeField {
                field: t::DialogChangeFieldField::DialogChange,
                type_: t::DialogChangeFieldType::Update,
                dialog: t::DialogUpdate {
                    dialog_id,
                    state: t::DialogUpdateState::Close,
                    closed_cause: Some("Closed by consumer".to_owned()),
                },
            },
        ))
        .await
    }

    /// A `cm.UpdateConversationField` of this conversation; it sets a
    /// state, so it is repeated by the retry policy.
    async fn update_field(&self, field: raw::types::ConversationField) -> Result<Sent, Error> {
        use raw::types as t;
        let request =
            t::SendRequest::UpdateConversationFieldRequest(t::UpdateConversationFieldRequest {
                kind: t::RequestKind::Req,
                id: t::RequestId(request_id()),
                type_: t::UpdateConversationFieldRequestType::CmUpdateConversationField,
                body: t::UpdateConversationFieldBody {
                    conversation_id: self.id.clone(),
                    conversation_field: field,
                },
            });
        self.client
            .send_raw(&self.consumer, &self.slot, request, true)
            .await
    }

    pub(super) async fn publish(
        &self,
        event: raw::types::PublishedEvent,
        retry: bool,
    ) -> Result<Sent, Error> {
        self.publish_to(self.id.clone(), event, retry).await
    }

    /// An `ms.PublishEvent` of `event` into dialog `dialog_id`.
    async fn publish_to(
        &self,
        dialog_id: String,
        event: raw::types::PublishedEvent,
        retry: bool,
    ) -> Result<Sent, Error> {
        use raw::types as t;
        let request = t::SendRequest::PublishEventRequest(t::PublishEventRequest {
            kind: t::RequestKind::Req,
            id: t::RequestId(request_id()),
            type_: t::PublishEventRequestType::MsPublishEvent,
            body: t::PublishEventBody { dialog_id, event },
        });
        self.client
            .send_raw(&self.consumer, &self.slot, request, retry)
            .await
    }
}
