//! SEND's payload types: the consumer's chat states and accept statuses,
//! the answer ([`Sent`]), and the request ids each payload carries.

use serde_json::Value;

use crate::Error;
use crate::generated::messaging as raw;

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
    pub(super) fn to_raw(self) -> raw::types::ChatState {
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
    pub(super) fn to_raw(self) -> raw::types::AcceptStatus {
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

/// A fresh request id: 32 hex digits, a random half drawn once per process
/// and a counter. Unique within the process and, with odds of a UUID,
/// between processes, without drawing random bytes (a system call) per
/// message.
pub(super) fn request_id() -> String {
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
    transport: &crate::client::transport::Transport,
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
