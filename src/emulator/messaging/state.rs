//! The conversations CONVERSATION opened, as SEND finds them: who opened
//! each, whether it is open, and its next sequence number.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::emulator::error::ApiError;

/// How many closed conversations are remembered (a SEND to one answers 409,
/// closing it again succeeds); past this, the longest closed is forgotten
/// and answers 404 like an unknown one. Open conversations are all kept.
const CLOSED_KEPT: usize = 10_000;

/// A conversation CONVERSATION opened.
struct Conversation {
    account: String,
    /// Who opened it: `ext:<ext_consumer_id>` for an emulator-issued
    /// ConsumerJWS (so a renewed one keeps it), else `jws:<token>`.
    consumer: String,
    open: bool,
    /// The sequence number of the next published event (the count so far;
    /// the events themselves are not kept).
    next_sequence: u64,
}

/// The conversations, shared by every request.
#[derive(Default)]
pub(crate) struct Conversations(Mutex<Held>);

/// The conversations, and the closed ones' ids, longest closed first.
#[derive(Default)]
struct Held {
    by_id: HashMap<String, Conversation>,
    closed: VecDeque<String>,
}

impl Held {
    /// Notes that `id` was just closed; keeps at most `keep` closed ones,
    /// forgetting the longest closed.
    fn closed(&mut self, id: String, keep: usize) {
        self.closed.push_back(id);
        while self.closed.len() > keep {
            match self.closed.pop_front() {
                Some(oldest) => self.by_id.remove(&oldest),
                None => break,
            };
        }
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
}

impl Conversations {
    fn lock(&self) -> MutexGuard<'_, Held> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps a conversation CONVERSATION just opened; returns its id.
    pub(crate) fn open(&self, account: &str, consumer: String) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.lock().by_id.insert(
            id.clone(),
            Conversation {
                account: account.to_owned(),
                consumer,
                open: true,
                next_sequence: 0,
            },
        );
        id
    }

    /// Publishes an event into conversation `id`: its sequence number (from
    /// 0). 404 if it is not the consumer's, 409 if it is closed.
    pub(crate) fn publish(&self, id: &str, account: &str, consumer: &str) -> Result<u64, ApiError> {
        let mut held = self.lock();
        let conversation = held.find(id, account, consumer)?;
        if !conversation.open {
            return Err(ApiError::conflict("conversation is closed"));
        }
        let sequence = conversation.next_sequence;
        conversation.next_sequence += 1;
        Ok(sequence)
    }

    /// Closes conversation `id` (again: nothing changes). 404 if it is not
    /// the consumer's.
    pub(crate) fn close(&self, id: String, account: &str, consumer: &str) -> Result<(), ApiError> {
        let mut held = self.lock();
        let conversation = held.find(&id, account, consumer)?;
        if conversation.open {
            conversation.open = false;
            held.closed(id, CLOSED_KEPT);
        }
        Ok(())
    }

    /// Forgets every conversation (`/__emulator/reset`).
    pub(crate) fn clear(&self) {
        let mut held = self.lock();
        held.by_id.clear();
        held.closed.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::{Conversation, Held};

    fn open(conversations: &mut Held, id: &str) {
        conversations.by_id.insert(
            id.to_owned(),
            Conversation {
                account: "le1".into(),
                consumer: "ext:c".into(),
                open: true,
                next_sequence: 0,
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
        conversations.closed("d".to_owned(), 2);
        let mut held: Vec<&str> = conversations.by_id.keys().map(String::as_str).collect();
        held.sort_unstable();
        assert_eq!(held, ["c", "d", "open"]);
        assert_eq!(conversations.closed, ["c", "d"]);
    }
}
