//! [`Receiver`]: headers and raw body in, verified and typed notifications
//! out, each change once; [`ConversationEvents`]: one conversation's
//! notifications, awaited.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use http::HeaderMap;
use tokio::sync::mpsc;

use super::error::WebhookError;
use super::notification::{ContentEvent, Message, Notification, parse};
use super::signature::{KeyedVerifier, SIGNATURE_HEADER};
use crate::Secret;

/// The header naming the account a call is for.
pub const ACCOUNT_ID_HEADER: &str = "x-liveperson-account-id";
/// The header naming the app installation (its `client_id`).
pub const CLIENT_ID_HEADER: &str = "x-liveperson-client-id";

/// How many changes a [`Receiver`] remembers, by default, to suppress
/// redeliveries (and how many originators' last chat state): about 6 MB at
/// most. LivePerson retries a change for at most `max_retries` (5) × 30 s,
/// so this covers about 400 changes a second.
pub const DEFAULT_REMEMBERED: usize = 65_536;

/// How many notifications a [`ConversationEvents`] holds before it drops the
/// newest (see [`ConversationEvents::missed`]).
pub const CONVERSATION_BUFFER: usize = 256;

/// Checks and reads the webhook calls of one app installation: headers and
/// raw body in, verified typed [`Notification`]s out, each change once.
///
/// Built from the installation's `client_id` and `client_secret` and the
/// account (or accounts) it serves. Cloning is cheap and shares everything
/// (what was seen, the conversations awaited). Its `Debug` never shows the
/// secret.
///
/// # What [`receive`](Self::receive) checks, in this order
///
/// 1. `x-liveperson-client-id` is the client id;
/// 2. `x-liveperson-account-id` is one of the accounts;
/// 3. `x-liveperson-signature` is the HMAC of the raw body with the client
///    secret ([`verify_signature`](super::verify_signature));
/// 4. the body is a notification ([`parse`]).
///
/// # Redeliveries
///
/// LivePerson retries a call that did not get a 200 or 201 in time, so the
/// same change can arrive twice (or more). The receiver passes each change
/// on once, recognising it by:
///
/// | change | identity |
/// | --- | --- |
/// | a message with a `sequence` (text, rich content, accept status) | `dialogId` + `sequence` |
/// | a chat state | passed on when it differs from the last one passed on for the same originator in the same dialog (state and `serverTimestamp`): a state repeated is no news |
/// | a conversation change with `metaDataLastUpdateTs` | `convId` + `type` + `metaDataLastUpdateTs`, and what can change within one millisecond: `state`, `stage`, `closeReason`, `skillId`, `endTs`, the participants |
/// | anything else (no sequence, no timestamp, unknown types) | the change's exact text |
///
/// It remembers the last [`DEFAULT_REMEMBERED`] identities (a 64-bit hash
/// each; change it with [`remember`](Self::remember)) and the last chat state
/// of as many originators, forgetting the oldest first: a redelivery of a
/// change older than that is passed on again. The check and the remembering
/// are one step under a lock, so the same change received by many tasks at
/// once is passed on by one of them. (Two different changes with the same
/// hash: a chance of about 1 in 3 × 10¹⁴ per change with 65,536
/// remembered.)
///
/// A chat state is a state, not an event: a redelivery of an older state
/// that arrives after a newer one is passed on again. Chat states carry no
/// `sequence`; when they carry a `serverTimestamp`, compare it with the last
/// one you acted on.
///
/// # Order
///
/// LivePerson may deliver out of order: a retry arrives after later
/// changes, and calls made at once may arrive in any order. Order messages
/// by `sequence` and conversation changes by `metaDataLastUpdateTs` when
/// order matters; the receiver passes changes on in the order it receives
/// them.
///
/// ```
/// use liveperson_ccs::webhooks::{sign, Notification, Receiver};
/// use http::HeaderMap;
///
/// let receiver = Receiver::new("my-client-id", "my-client-secret", "64467156");
///
/// let body = br#"{"kind":"notification","type":"ms.MessagingEventNotification",
///   "body":{"changes":[{"sequence":0,"dialogId":"c1","serverTimestamp":1528371161893,
///   "originatorId":"u1","originatorMetadata":{"id":"u1","role":"CONSUMER"},
///   "event":{"type":"ContentEvent","message":"Hello","contentType":"text/plain"}}]}}"#;
/// let mut headers = HeaderMap::new();
/// headers.insert("x-liveperson-client-id", "my-client-id".parse()?);
/// headers.insert("x-liveperson-account-id", "64467156".parse()?);
/// let signature = sign("my-client-secret", body, Default::default(), Default::default());
/// headers.insert("x-liveperson-signature", signature.parse()?);
///
/// let delivery = receiver.receive(&headers, body)?;
/// assert!(matches!(&delivery.notifications()[0], Notification::Content(m) if m.event.message == "Hello"));
///
/// // The same call again (a redelivery): verified, and passed on no more.
/// let again = receiver.receive(&headers, body)?;
/// assert!(again.is_empty());
/// assert_eq!(again.duplicates(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

struct Inner {
    client_id: String,
    client_secret: Secret,
    /// The HMACs keyed with `client_secret`, set up once.
    verifier: KeyedVerifier,
    accounts: HashSet<String>,
    seen: Mutex<Seen>,
    watchers: Mutex<HashMap<String, Vec<Watcher>>>,
    next_watcher: AtomicU64,
}

struct Watcher {
    id: u64,
    sender: mpsc::Sender<Notification>,
    missed: Arc<AtomicU64>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut accounts: Vec<&String> = self.inner.accounts.iter().collect();
        accounts.sort();
        f.debug_struct("Receiver")
            .field("client_id", &self.inner.client_id)
            .field("client_secret", &self.inner.client_secret)
            .field("accounts", &accounts)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// A receiver for the app installation `client_id` / `client_secret`,
    /// serving the account `account_id` (add others with
    /// [`account`](Self::account)).
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
        account_id: impl Into<String>,
    ) -> Self {
        let client_secret: Secret = client_secret.into();
        Receiver {
            inner: Arc::new(Inner {
                client_id: client_id.into(),
                verifier: KeyedVerifier::new(client_secret.expose().as_bytes()),
                client_secret,
                accounts: HashSet::from([account_id.into()]),
                seen: Mutex::new(Seen::new(DEFAULT_REMEMBERED)),
                watchers: Mutex::default(),
                next_watcher: AtomicU64::new(0),
            }),
        }
    }

    /// Accepts calls for `account_id` too (the same endpoint serving
    /// several accounts). Call it while building, before cloning: on a
    /// receiver already shared it makes a new one that shares nothing.
    pub fn account(self, account_id: impl Into<String>) -> Self {
        self.rebuild(|inner| {
            inner.accounts.insert(account_id.into());
        })
    }

    /// Remembers the last `changes` identities to suppress redeliveries
    /// (default [`DEFAULT_REMEMBERED`]; at least 1). Call it while
    /// building, as [`account`](Self::account).
    pub fn remember(self, changes: usize) -> Self {
        self.rebuild(|inner| {
            inner.seen = Mutex::new(Seen::new(changes.max(1)));
        })
    }

    fn rebuild(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            client_id: shared.client_id.clone(),
            client_secret: shared.client_secret.clone(),
            verifier: shared.verifier.clone(),
            accounts: shared.accounts.clone(),
            seen: Mutex::new(Seen::new(lock(&shared.seen).capacity)),
            watchers: Mutex::default(),
            next_watcher: AtomicU64::new(0),
        });
        change(&mut inner);
        Receiver {
            inner: Arc::new(inner),
        }
    }

    /// The client id calls must carry.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// Checks a call (see [above](Self#what-receive-checks-in-this-order)),
    /// reads its notifications, and keeps those not seen before; passes them
    /// to the [`conversation`](Self::conversation) streams awaiting them too.
    ///
    /// `body` must be the bytes as received. A delivery whose changes were
    /// all seen before is `Ok` and [empty](Delivery::is_empty): answer it
    /// 200 like any other.
    pub fn receive(&self, headers: &HeaderMap, body: &[u8]) -> Result<Delivery, WebhookError> {
        let checked = self.check(headers, body)?;
        Ok(self.admit(checked))
    }

    /// Checks a call and reads its notifications, as
    /// [`receive`](Self::receive), but remembers nothing and passes nothing
    /// on: for a connector that suppresses redeliveries itself.
    pub fn check(&self, headers: &HeaderMap, body: &[u8]) -> Result<Checked, WebhookError> {
        let inner = &self.inner;
        let client_id = header(headers, CLIENT_ID_HEADER);
        if client_id != Some(inner.client_id.as_str()) {
            return Err(WebhookError::ClientId {
                received: client_id.map(WebhookError::header_value),
            });
        }
        let account_id = match header(headers, ACCOUNT_ID_HEADER) {
            Some(account) if inner.accounts.contains(account) => account,
            other => {
                return Err(WebhookError::AccountId {
                    received: other.map(WebhookError::header_value),
                });
            }
        };
        inner
            .verifier
            .verify(header(headers, SIGNATURE_HEADER).unwrap_or(""), body)?;
        Ok(Checked {
            account_id: account_id.to_owned(),
            notifications: parse(body)?,
        })
    }

    /// Keeps the notifications of a checked call not seen before (see
    /// [Redeliveries](Self#redeliveries)), and passes them to the
    /// [`conversation`](Self::conversation) streams awaiting them.
    pub fn admit(&self, checked: Checked) -> Delivery {
        let total = checked.notifications.len();
        let fresh: Vec<Notification> = {
            let mut seen = lock(&self.inner.seen);
            checked
                .notifications
                .into_iter()
                .filter(|n| seen.admit(identity(n)))
                .collect()
        };
        if !fresh.is_empty() {
            self.dispatch(&fresh);
        }
        Delivery {
            account_id: checked.account_id,
            duplicates: total - fresh.len(),
            notifications: fresh,
        }
    }

    fn dispatch(&self, notifications: &[Notification]) {
        let mut watchers = lock(&self.inner.watchers);
        if watchers.is_empty() {
            return;
        }
        for notification in notifications {
            let Some(id) = notification.conversation_id() else {
                continue;
            };
            if let Some(list) = watchers.get_mut(id) {
                list.retain(|w| match w.sender.try_send(notification.clone()) {
                    Ok(()) => true,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        w.missed.fetch_add(1, Ordering::Relaxed);
                        true
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                });
                if list.is_empty() {
                    watchers.remove(id);
                }
            }
        }
    }

    /// The notifications of one conversation, from now on, as they are
    /// received (by [`receive`](Self::receive), [`admit`](Self::admit) or
    /// the axum handler): a [`Stream`](futures::Stream), with
    /// [`next`](ConversationEvents::next) and
    /// [`next_agent_text`](ConversationEvents::next_agent_text).
    ///
    /// Ask for it **before** sending what the agent answers, so that an
    /// answer that comes quickly is not missed. Several streams may await
    /// the same conversation; each gets every notification. It holds up to
    /// [`CONVERSATION_BUFFER`] notifications not yet read, and drops the
    /// newest beyond that (counted by
    /// [`missed`](ConversationEvents::missed)). It ends when every clone of
    /// the receiver is dropped.
    ///
    /// ```
    /// # use liveperson_ccs::webhooks::Receiver;
    /// # async fn demo(receiver: Receiver, conversation: liveperson_ccs::messaging::OpenConversation)
    /// # -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    ///
    /// let mut events = receiver.conversation(conversation.id());
    /// conversation.send_text("Hello").await?;
    /// let reply = events.next_agent_text(Duration::from_secs(30)).await?;
    /// println!("the agent says {}", reply.event.message);
    /// # Ok(()) }
    /// ```
    pub fn conversation(&self, conversation_id: impl Into<String>) -> ConversationEvents {
        let conversation_id = conversation_id.into();
        let (sender, receiver) = mpsc::channel(CONVERSATION_BUFFER);
        let id = self.inner.next_watcher.fetch_add(1, Ordering::Relaxed);
        let missed = Arc::new(AtomicU64::new(0));
        lock(&self.inner.watchers)
            .entry(conversation_id.clone())
            .or_default()
            .push(Watcher {
                id,
                sender,
                missed: missed.clone(),
            });
        ConversationEvents {
            conversation_id,
            receiver,
            owner: Arc::downgrade(&self.inner),
            id,
            missed,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // What the lock guards stays consistent at every step (a panic cannot
    // leave it half-changed), so a poisoned lock is used as is.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A call checked by [`Receiver::check`]: its account and its notifications,
/// redeliveries not yet suppressed. Give it to [`Receiver::admit`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Checked {
    /// The account the call was for (`x-liveperson-account-id`).
    pub account_id: String,
    /// Every change of the body, in order.
    pub notifications: Vec<Notification>,
}

/// What a call brought that was not seen before.
#[derive(Clone, Debug)]
pub struct Delivery {
    account_id: String,
    notifications: Vec<Notification>,
    duplicates: usize,
}

impl Delivery {
    /// The account the call was for (`x-liveperson-account-id`).
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The changes not seen before, in the body's order.
    pub fn notifications(&self) -> &[Notification] {
        &self.notifications
    }

    /// The changes not seen before, owned.
    pub fn into_notifications(self) -> Vec<Notification> {
        self.notifications
    }

    /// How many changes of the call were seen before (redeliveries).
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// No change not seen before.
    pub fn is_empty(&self) -> bool {
        self.notifications.is_empty()
    }
}

impl IntoIterator for Delivery {
    type Item = Notification;
    type IntoIter = std::vec::IntoIter<Notification>;

    fn into_iter(self) -> Self::IntoIter {
        self.notifications.into_iter()
    }
}

/// Why [`ConversationEvents::next_agent_text`] (or
/// [`wait_for`](ConversationEvents::wait_for)) returned without one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WaitError {
    /// Nothing that fits came within the time given.
    #[error("no such notification of conversation {conversation_id} within {waited:?}")]
    TimedOut {
        /// The conversation awaited.
        conversation_id: String,
        /// How long it waited.
        waited: Duration,
    },
    /// Every clone of the [`Receiver`] was dropped: nothing more can come.
    #[error(
        "the webhook receiver is gone: no more notifications of conversation {conversation_id}"
    )]
    Ended {
        /// The conversation awaited.
        conversation_id: String,
    },
}

/// The notifications of one conversation, as they are received: made by
/// [`Receiver::conversation`]. A [`Stream`](futures::Stream) of
/// [`Notification`]s; dropping it stops the delivery to it.
pub struct ConversationEvents {
    conversation_id: String,
    receiver: mpsc::Receiver<Notification>,
    owner: Weak<Inner>,
    id: u64,
    missed: Arc<AtomicU64>,
}

impl fmt::Debug for ConversationEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConversationEvents")
            .field("conversation_id", &self.conversation_id)
            .field("missed", &self.missed())
            .finish_non_exhaustive()
    }
}

impl ConversationEvents {
    /// The conversation.
    pub fn conversation_id(&self) -> &str {
        &self.conversation_id
    }

    /// The next notification; `None` once every clone of the receiver is
    /// dropped (and those already received were read).
    pub async fn next(&mut self) -> Option<Notification> {
        self.receiver.recv().await
    }

    /// How many notifications were dropped because
    /// [`CONVERSATION_BUFFER`] were waiting unread.
    pub fn missed(&self) -> u64 {
        self.missed.load(Ordering::Relaxed)
    }

    /// Waits up to `timeout` for the first notification `pick` turns into
    /// `Some`, skipping the others.
    ///
    /// ```
    /// # async fn demo(mut events: liveperson_ccs::webhooks::ConversationEvents)
    /// # -> Result<(), liveperson_ccs::webhooks::WaitError> {
    /// use liveperson_ccs::webhooks::Notification;
    /// use std::time::Duration;
    ///
    /// let closed = events
    ///     .wait_for(Duration::from_secs(30), |n| match n {
    ///         Notification::Conversation(c) if c.is_closed() => Some(c),
    ///         _ => None,
    ///     })
    ///     .await?;
    /// println!("closed by {:?}", closed.details.close_reason);
    /// # Ok(()) }
    /// ```
    pub async fn wait_for<T>(
        &mut self,
        timeout: Duration,
        mut pick: impl FnMut(Notification) -> Option<T>,
    ) -> Result<T, WaitError> {
        let wait = async {
            while let Some(notification) = self.receiver.recv().await {
                if let Some(found) = pick(notification) {
                    return Some(found);
                }
            }
            None
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Some(found)) => Ok(found),
            Ok(None) => Err(WaitError::Ended {
                conversation_id: self.conversation_id.clone(),
            }),
            Err(_) => Err(WaitError::TimedOut {
                conversation_id: self.conversation_id.clone(),
                waited: timeout,
            }),
        }
    }

    /// Waits up to `timeout` for the next text an agent sends in the
    /// conversation (a `ContentEvent` whose originator is an agent, see
    /// [`Role::is_agent`](super::Role::is_agent)), skipping everything else.
    pub async fn next_agent_text(
        &mut self,
        timeout: Duration,
    ) -> Result<Message<ContentEvent>, WaitError> {
        self.wait_for(timeout, |n| match n {
            Notification::Content(m) if m.is_from_agent() => Some(m),
            _ => None,
        })
        .await
    }
}

impl futures::Stream for ConversationEvents {
    type Item = Notification;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Notification>> {
        self.receiver.poll_recv(cx)
    }
}

impl Drop for ConversationEvents {
    fn drop(&mut self) {
        if let Some(inner) = self.owner.upgrade() {
            let mut watchers = lock(&inner.watchers);
            if let Some(list) = watchers.get_mut(&self.conversation_id) {
                list.retain(|w| w.id != self.id);
                if list.is_empty() {
                    watchers.remove(&self.conversation_id);
                }
            }
        }
    }
}

/// How a change is recognised when delivered again.
enum Identity {
    /// Seen before when this key was.
    Key(u64),
    /// A state of `slot`: seen before when it is the slot's last value.
    State { slot: u64, value: u64 },
}

fn identity(notification: &Notification) -> Identity {
    fn hash(parts: impl Hash) -> u64 {
        // SipHash with fixed keys: the same on every run. Bodies are signed,
        // so nobody outside can choose them to collide.
        let mut hasher = DefaultHasher::new();
        parts.hash(&mut hasher);
        hasher.finish()
    }
    let sequenced = |dialog: &str, sequence: Option<u64>| {
        sequence.map(|s| Identity::Key(hash(("seq", dialog, s))))
    };
    let found = match notification {
        Notification::Content(m) => sequenced(&m.dialog_id, m.sequence),
        Notification::RichContent(m) => sequenced(&m.dialog_id, m.sequence),
        Notification::AcceptStatus(m) => sequenced(&m.dialog_id, m.sequence),
        Notification::ChatState(m) => Some(Identity::State {
            slot: hash((
                "chat-state",
                &m.dialog_id,
                m.originator
                    .as_ref()
                    .map(|o| o.id.as_str())
                    .or(m.originator_id.as_deref()),
            )),
            value: hash((&m.event.chat_state_text, m.server_timestamp)),
        }),
        Notification::Conversation(c) => c.details.meta_data_last_update_ts.map(|ts| {
            let d = &c.details;
            // Two changes within one millisecond (a conversation opened and
            // an agent assigned at once) differ in what changed: that is in
            // the key too.
            let participants: Vec<(&str, &str)> = d
                .participants
                .iter()
                .map(|p| (p.id.as_str(), p.role.as_str()))
                .collect();
            Identity::Key(hash((
                "conversation",
                &c.conversation_id,
                c.change_type.as_str(),
                ts,
                (
                    d.state.as_ref().map(|s| s.as_str()),
                    d.stage.as_ref().map(|s| s.as_str()),
                    &d.close_reason,
                    &d.skill_id,
                    d.end_ts,
                    participants,
                ),
            )))
        }),
        Notification::Unknown(_) => None,
    };
    found.unwrap_or_else(|| Identity::Key(hash(("text", notification.raw_json()))))
}

/// The identities remembered: first in, first forgotten.
struct Seen {
    capacity: usize,
    keys: HashSet<u64>,
    order: VecDeque<u64>,
    states: HashMap<u64, u64>,
    state_order: VecDeque<u64>,
}

impl Seen {
    fn new(capacity: usize) -> Self {
        Seen {
            capacity,
            keys: HashSet::new(),
            order: VecDeque::new(),
            states: HashMap::new(),
            state_order: VecDeque::new(),
        }
    }

    /// Remembers `identity`; `false` when it was seen before.
    fn admit(&mut self, identity: Identity) -> bool {
        match identity {
            Identity::Key(key) => {
                if !self.keys.insert(key) {
                    return false;
                }
                self.order.push_back(key);
                if self.order.len() > self.capacity
                    && let Some(old) = self.order.pop_front()
                {
                    self.keys.remove(&old);
                }
                true
            }
            Identity::State { slot, value } => match self.states.insert(slot, value) {
                Some(last) => last != value,
                None => {
                    self.state_order.push_back(slot);
                    if self.state_order.len() > self.capacity
                        && let Some(old) = self.state_order.pop_front()
                    {
                        self.states.remove(&old);
                    }
                    true
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_forgets_the_oldest_beyond_its_capacity() {
        let mut seen = Seen::new(2);
        assert!(seen.admit(Identity::Key(1)));
        assert!(!seen.admit(Identity::Key(1)));
        assert!(seen.admit(Identity::Key(2)));
        assert!(seen.admit(Identity::Key(3)));
        assert_eq!(seen.keys.len(), 2);
        // 1 was forgotten: passed on again.
        assert!(seen.admit(Identity::Key(1)));
        assert!(!seen.admit(Identity::Key(3)));
    }

    #[test]
    fn a_state_is_news_when_it_changes() {
        let mut seen = Seen::new(8);
        let state = |value| Identity::State { slot: 7, value };
        assert!(seen.admit(state(1)));
        assert!(!seen.admit(state(1)));
        assert!(seen.admit(state(2)));
        assert!(seen.admit(state(1)));
        assert_eq!(seen.states.len(), 1);
    }
}
