//! SEND: what an open conversation can publish, and its close.

use std::fmt;

use serde_json::Value;

use crate::Error;
use crate::generated::messaging as raw;
use crate::messaging::MessagingClient;
use crate::secret::Credential;

pub(crate) const OPERATION: &str = "send_to_conversation";

/// The consumer's chat state (`ChatStateEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChatState {
    /// `ACTIVE`: the consumer is in the chat.
    Active,
    /// `INACTIVE`: they navigated away; the application is still open.
    Inactive,
    /// `GONE`: they closed the application.
    Gone,
    /// `COMPOSING`: they are typing. Send another state afterwards to show
    /// they stopped (a text message does not).
    Composing,
    /// `PAUSE`: they stopped typing.
    Pause,
}

impl ChatState {
    fn to_raw(self) -> raw::types::ChatState {
        use raw::types::ChatState as R;
        match self {
            ChatState::Active => R::Active,
            ChatState::Inactive => R::Inactive,
            ChatState::Gone => R::Gone,
            ChatState::Composing => R::Composing,
            ChatState::Pause => R::Pause,
        }
    }
}

/// The consumer's acceptance of agent messages (`AcceptStatusEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AcceptStatus {
    /// `ACCEPT`: the messages were received.
    Accept,
    /// `READ`: they were read.
    Read,
    /// `ACCESS`: the consumer opened the file.
    Access,
    /// `NACK`: the messages were not received.
    Nack,
    /// `ACTION`: a reply to structured content.
    Action,
}

impl AcceptStatus {
    fn to_raw(self) -> raw::types::AcceptStatus {
        use raw::types::AcceptStatus as R;
        match self {
            AcceptStatus::Accept => R::Accept,
            AcceptStatus::Read => R::Read,
            AcceptStatus::Access => R::Access,
            AcceptStatus::Nack => R::Nack,
            AcceptStatus::Action => R::Action,
        }
    }
}

/// The answer to a SEND.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// The `reqId` of the answer (this client's request id, echoed).
    pub req_id: String,
    /// The number the conversation gave a published event (`body.sequence`);
    /// `None` for a close.
    pub sequence: Option<u64>,
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
/// | [`chat_state`](Self::chat_state) | `ChatStateEvent` | yes: it sets a state |
/// | [`accept`](Self::accept) | `AcceptStatusEvent` | yes: it sets a state |
/// | [`close`](Self::close) | `cm.UpdateConversationField` | yes: closing twice is closing |
///
/// Every call, `send_text` included, is repeated once after the service
/// refused a token as expired or invalid (`errorCode` 40102 or 40103) and the
/// token was renewed: a refused call was not carried out.
#[derive(Clone)]
pub struct OpenConversation {
    pub(crate) client: MessagingClient,
    pub(crate) consumer: Credential,
    pub(crate) id: String,
    pub(crate) profile_message: Option<String>,
    /// Shared by clones, which send for the same consumer.
    pub(crate) slot: std::sync::Arc<crate::messaging::ClientSlot>,
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

    /// What the service said of the profile, e.g. `OK User Profile set successfully`.
    pub fn profile_message(&self) -> Option<&str> {
        self.profile_message.as_deref()
    }

    /// Sends a text message (`text/plain`) from the consumer. Never repeated
    /// automatically (see above).
    pub async fn send_text(&self, message: impl Into<String>) -> Result<Sent, Error> {
        use raw::types as t;
        let event = t::PublishedEvent::ContentEvent(t::ContentEvent {
            type_: t::ContentEventType::ContentEvent,
            content_type: t::ContentEventContentType::TextPlain,
            message: message.into(),
        });
        self.publish(event, false).await
    }

    /// Sends the consumer's chat state, e.g. [`ChatState::Composing`] while
    /// they type.
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
    pub async fn close(&self) -> Result<Sent, Error> {
        use raw::types as t;
        let request =
            t::SendRequest::UpdateConversationFieldRequest(t::UpdateConversationFieldRequest {
                kind: t::RequestKind::Req,
                id: t::RequestId(request_id()),
                type_: t::UpdateConversationFieldRequestType::CmUpdateConversationField,
                body: t::UpdateConversationFieldBody {
                    conversation_id: self.id.clone(),
                    conversation_field: t::ConversationStateField {
                        field: t::ConversationStateFieldField::ConversationStateField,
                        conversation_state: t::ConversationStateFieldConversationState::Close,
                    },
                },
            });
        self.client
            .send_raw(&self.consumer, &self.slot, request, true)
            .await
    }

    async fn publish(&self, event: raw::types::PublishedEvent, retry: bool) -> Result<Sent, Error> {
        use raw::types as t;
        let request = t::SendRequest::PublishEventRequest(t::PublishEventRequest {
            kind: t::RequestKind::Req,
            id: t::RequestId(request_id()),
            type_: t::PublishEventRequestType::MsPublishEvent,
            body: t::PublishEventBody {
                dialog_id: self.id.clone(),
                event,
            },
        });
        self.client
            .send_raw(&self.consumer, &self.slot, request, retry)
            .await
    }
}

/// A fresh request id: 32 hex digits, a random half drawn once per process
/// and a counter. Unique within the process and, with odds of a UUID,
/// between processes, without drawing random bytes (a system call) per
/// message.
fn request_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static PROCESS: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let process = *PROCESS.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = [0u8; 32];
    for (i, digit) in id.iter_mut().enumerate() {
        let (word, place) = if i < 16 { (process, i) } else { (n, i - 16) };
        *digit = HEX[((word >> ((15 - place) * 4)) & 0xf) as usize];
    }
    // Hex digits only: always UTF-8.
    std::str::from_utf8(&id)
        .map(str::to_owned)
        .unwrap_or_default()
}

/// Reads a SEND answer: `code` must be `OK`.
pub(crate) fn sent(
    transport: &crate::transport::Transport,
    answer: raw::types::SendResponse,
) -> Result<Sent, Error> {
    if answer.code != "OK" {
        return Err(Error::Rejected {
            operation: OPERATION,
            req_id: answer.req_id,
            code: transport.scrub(&answer.code),
            body: transport.scrub(&answer.body.to_string()),
        });
    }
    Ok(Sent {
        req_id: answer.req_id,
        sequence: answer.body.get("sequence").and_then(Value::as_u64),
    })
}

#[cfg(test)]
mod tests {
    use super::request_id;

    #[test]
    fn request_ids_are_32_hex_digits_and_never_repeat() {
        let ids: Vec<String> = (0..1000).map(|_| request_id()).collect();
        for id in &ids {
            assert_eq!(id.len(), 32, "{id}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{id}"
            );
        }
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        // One process half, then a counter that moves by one per id.
        assert_eq!(ids[0][..16], ids[999][..16]);
        let first = u64::from_str_radix(&ids[0][16..], 16).unwrap();
        let last = u64::from_str_radix(&ids[999][16..], 16).unwrap();
        assert!(last >= first + 999, "{first} {last}");
    }
}
