//! Webhooks: the registrations (the App Installation manifest's
//! `capabilities.webhooks`) and the outbox that delivers each notification
//! to its endpoint, signed as LivePerson signs, with LivePerson's timeouts
//! (5 s to connect, 5 s for each read, and the whole exchange cut at 10 s
//! however slowly the receiver trickles its answer) and retry schedule on
//! the emulator's clock.
//!
//! Deliveries run on tasks of their own (one "lane" per endpoint and
//! conversation, so that the deliveries of a lane keep their order), never
//! in the request that caused them. At most [`MAX_PENDING`] deliveries wait
//! or run at once; past that a notification is not delivered, and the
//! journal says so. [`Outbox::stop`] (reset, shutdown) ends every lane.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use super::clock::Clock;
use super::faults::{Action, Faults};
use super::journal::{Delivery, Journal};
use super::json::timestamp;
use crate::webhooks::{SignatureAlgorithm, SignatureEncoding, sign};

/// How many deliveries may be pending at once (queued, running or waiting
/// for a retry), over every endpoint and conversation; a notification past
/// it is not delivered (the journal records it, `error` `queue full`).
pub(super) const MAX_PENDING: usize = 10_000;

/// How many deliveries each conversation remembers for
/// `GET /__emulator/conversations/{id}`; past it the oldest are forgotten.
pub(super) const DELIVERIES_KEPT: usize = 1_000;

/// LivePerson's wait between two attempts ("Retry Policy"), on the
/// emulator's clock.
pub(super) const RETRY_INTERVAL_SECONDS: i64 = 30;

/// The most retries a registration may ask for (`max_retries` 0 to 5).
pub(super) const MAX_RETRIES: u8 = 5;

/// How long a delivery hit by a `reorder` fault waits for the next delivery
/// of its lane, to be sent after it; with none by then, it is sent alone.
const REORDER_WAIT: Duration = Duration::from_secs(5);

/// The timeouts of a delivery: 5 s to connect, 5 s for each read.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole exchange (connect, send, the answer's head and body) ends
/// within this, however the receiver trickles its answer: a receiver that
/// keeps each read under [`READ_TIMEOUT`] cannot hold a delivery longer.
const EXCHANGE_DEADLINE: Duration = Duration::from_secs(10);
/// At most this much of an answer's body is read (it is not used; reading
/// lets the connection be reused); past it the connection is dropped.
const ANSWER_BODY_READ: usize = 64 * 1024;

/// The client id the deliveries carry when no app credentials are
/// configured (`ccs serve` without `--app-client-id`).
pub const DEFAULT_WEBHOOK_CLIENT_ID: &str = "ccs-serve-client";

/// The secret the deliveries are signed with when no app credentials are
/// configured (`ccs serve` without `--app-client-secret`): a receiver under
/// test verifies with this value.
pub const DEFAULT_WEBHOOK_CLIENT_SECRET: &str = "ccs-serve-webhook-secret";

/// One of the event types a connector registers an endpoint for: the keys
/// of the App Installation manifest's `capabilities.webhooks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// `ms.MessagingEventNotification.ContentEvent`: text messages.
    ContentEvent,
    /// `ms.MessagingEventNotification.RichContentEvent`: structured content
    /// (a consumer's SEND of a `RichContentEvent`; the emulator's agent
    /// sends text only).
    RichContentEvent,
    /// `ms.MessagingEventNotification.AcceptStatusEvent`: accept and read receipts.
    AcceptStatusEvent,
    /// `ms.MessagingEventNotification.ChatStateEvent`: typing and presence.
    ChatStateEvent,
    /// `cqm.ExConversationChangeNotification`: a conversation opened, an
    /// agent joined, a transfer, a close.
    ConversationChange,
}

impl WebhookEvent {
    /// Every event type, in manifest order.
    pub const ALL: [WebhookEvent; 5] = [
        WebhookEvent::ContentEvent,
        WebhookEvent::RichContentEvent,
        WebhookEvent::AcceptStatusEvent,
        WebhookEvent::ChatStateEvent,
        WebhookEvent::ConversationChange,
    ];

    /// The manifest's key, e.g. `ms.MessagingEventNotification.ContentEvent`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::ContentEvent => "ms.MessagingEventNotification.ContentEvent",
            WebhookEvent::RichContentEvent => "ms.MessagingEventNotification.RichContentEvent",
            WebhookEvent::AcceptStatusEvent => "ms.MessagingEventNotification.AcceptStatusEvent",
            WebhookEvent::ChatStateEvent => "ms.MessagingEventNotification.ChatStateEvent",
            WebhookEvent::ConversationChange => "cqm.ExConversationChangeNotification",
        }
    }
}

impl fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WebhookEvent {
    type Err = String;

    /// Reads a manifest key.
    fn from_str(key: &str) -> Result<Self, String> {
        WebhookEvent::ALL
            .into_iter()
            .find(|event| event.as_str() == key)
            .ok_or_else(|| {
                format!(
                    "unknown event type {key:?}; expected one of {}",
                    WebhookEvent::ALL.map(WebhookEvent::as_str).join(", ")
                )
            })
    }
}

/// Where one event type is delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Registration {
    pub(super) endpoint: reqwest::Url,
    pub(super) max_retries: u8,
}

/// Checks an endpoint: an absolute `http` or `https` URL with a host.
pub(super) fn endpoint(text: &str) -> Result<reqwest::Url, String> {
    let url =
        reqwest::Url::parse(text).map_err(|e| format!("endpoint: not an absolute URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err("endpoint: must be an http or https URL with a host".into());
    }
    Ok(url)
}

/// Checks `max_retries`: 0 to [`MAX_RETRIES`].
pub(super) fn max_retries(retries: u64) -> Result<u8, String> {
    u8::try_from(retries)
        .ok()
        .filter(|r| *r <= MAX_RETRIES)
        .ok_or_else(|| format!("max_retries: must be from 0 to {MAX_RETRIES}"))
}

/// The registrations, by event type.
pub(super) type Registrations = BTreeMap<WebhookEvent, Registration>;

/// Reads a manifest's `capabilities.webhooks` object; unknown event types
/// or fields, bad URLs and `max_retries` out of range are errors.
pub(super) fn parse_manifest(body: &Map<String, Value>) -> Result<Registrations, String> {
    let mut out = Registrations::new();
    for (key, value) in body {
        let event = key.parse::<WebhookEvent>()?;
        let Value::Object(fields) = value else {
            return Err(format!(
                "{key}: must be an object {{\"endpoint\", \"max_retries\"}}"
            ));
        };
        let mut url = None;
        let mut retries = 0;
        for (field, value) in fields {
            match field.as_str() {
                "endpoint" => {
                    let text = value
                        .as_str()
                        .ok_or_else(|| format!("{key}: endpoint: must be a string"))?;
                    url = Some(endpoint(text).map_err(|e| format!("{key}: {e}"))?);
                }
                "max_retries" => {
                    let n = value.as_u64().ok_or_else(|| {
                        format!("{key}: max_retries: must be an integer from 0 to {MAX_RETRIES}")
                    })?;
                    retries = max_retries(n).map_err(|e| format!("{key}: {e}"))?;
                }
                other => return Err(format!("{key}: unknown field {other:?}")),
            }
        }
        let endpoint = url.ok_or_else(|| format!("{key}: endpoint: required"))?;
        out.insert(
            event,
            Registration {
                endpoint,
                max_retries: retries,
            },
        );
    }
    Ok(out)
}

/// The registrations as `GET /__emulator/webhooks` answers them.
pub(super) fn manifest_json(registrations: &Registrations) -> Value {
    let map: Map<String, Value> = registrations
        .iter()
        .map(|(event, r)| {
            (
                event.as_str().to_owned(),
                json!({"endpoint": r.endpoint.as_str(), "max_retries": r.max_retries}),
            )
        })
        .collect();
    Value::Object(map)
}

/// An endpoint as the journal and the conversation show it: no user info,
/// no query, no fragment (either may carry a secret).
pub(super) fn shown_endpoint(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// The app credentials and signature form deliveries use.
#[derive(Clone)]
pub(super) struct Signing {
    pub(super) client_id: String,
    pub(super) client_secret: String,
    pub(super) algorithm: SignatureAlgorithm,
    pub(super) encoding: SignatureEncoding,
}

/// A notification to deliver: its event type, conversation, account and
/// body (the exact bytes signed and sent).
pub(super) struct Notification {
    pub(super) event: WebhookEvent,
    pub(super) account: String,
    pub(super) conversation: String,
    pub(super) body: Bytes,
}

/// One attempt of a delivery, as the conversation shows it.
#[derive(Clone, Debug)]
pub(super) struct Attempt {
    pub(super) attempt: u32,
    pub(super) at: DateTime<Utc>,
    pub(super) status: Option<u16>,
    pub(super) error: Option<String>,
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    /// Queued, being sent, or waiting for a retry.
    Pending,
    /// An attempt was answered 200 or 201.
    Delivered,
    /// Every attempt failed.
    Failed,
    /// Not sent: a `drop` fault, the queue was full, or the emulator was
    /// reset or shut down first.
    Dropped,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Delivered => "delivered",
            State::Failed => "failed",
            State::Dropped => "dropped",
        }
    }
}

/// One notification's delivery to one endpoint.
#[derive(Clone, Debug)]
pub(super) struct Record {
    id: u64,
    event: WebhookEvent,
    endpoint: String,
    state: State,
    fault: Option<u64>,
    attempts: Vec<Attempt>,
}

impl Record {
    pub(super) fn to_json(&self) -> Value {
        let attempts: Vec<Value> = self
            .attempts
            .iter()
            .map(|a| {
                let mut out = Map::new();
                out.insert("attempt".into(), Value::from(a.attempt));
                out.insert("at".into(), Value::from(timestamp(a.at)));
                if let Some(status) = a.status {
                    out.insert("status".into(), Value::from(status));
                }
                if let Some(error) = &a.error {
                    out.insert("error".into(), Value::from(error.clone()));
                }
                Value::Object(out)
            })
            .collect();
        let mut out = json!({
            "id": self.id.to_string(),
            "event_type": self.event.as_str(),
            "endpoint": self.endpoint,
            "state": self.state.as_str(),
            "attempts": attempts,
        });
        if let (Some(fault), Value::Object(map)) = (self.fault, &mut out) {
            map.insert("fault".into(), Value::from(fault.to_string()));
        }
        out
    }
}

/// A delivery waiting in its lane.
struct Job {
    id: u64,
    notification: Notification,
    endpoint: reqwest::Url,
    max_retries: u8,
    signature: String,
    /// Held while the delivery is pending: the bound of [`MAX_PENDING`].
    _permit: OwnedSemaphorePermit,
}

/// A lane: the deliveries to one endpoint for one conversation, in order.
type LaneKey = (String, String);

/// The registrations and the deliveries in flight.
pub(super) struct Outbox {
    /// The registrations at start (what a reset restores).
    initial: Registrations,
    registrations: RwLock<Registrations>,
    signing: Signing,
    /// `None` when the HTTP client could not be built (no TLS backend, ...):
    /// every delivery then fails with that error.
    http: Result<reqwest::Client, String>,
    clock: Arc<Clock>,
    journal: Arc<Journal>,
    faults: Arc<Faults>,
    permits: Arc<Semaphore>,
    lanes: Mutex<HashMap<LaneKey, (u64, mpsc::UnboundedSender<Job>)>>,
    /// Bumped by [`Outbox::stop`]: every lane of an older epoch ends.
    epoch: watch::Sender<u64>,
    /// After shutdown nothing new is delivered.
    closed: AtomicBool,
    next_id: AtomicU64,
    records: Mutex<HashMap<String, VecDeque<Record>>>,
}

impl Outbox {
    pub(super) fn new(
        initial: Registrations,
        signing: Signing,
        clock: Arc<Clock>,
        journal: Arc<Journal>,
        faults: Arc<Faults>,
    ) -> Outbox {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"));
        Outbox {
            registrations: RwLock::new(initial.clone()),
            initial,
            signing,
            http,
            clock,
            journal,
            faults,
            permits: Arc::new(Semaphore::new(MAX_PENDING)),
            lanes: Mutex::new(HashMap::new()),
            epoch: watch::Sender::new(0),
            closed: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            records: Mutex::new(HashMap::new()),
        }
    }

    fn records(&self) -> MutexGuard<'_, HashMap<String, VecDeque<Record>>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lanes(&self) -> MutexGuard<'_, HashMap<LaneKey, (u64, mpsc::UnboundedSender<Job>)>> {
        self.lanes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The registrations now.
    pub(super) fn registrations(&self) -> Registrations {
        self.registrations
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces every registration.
    pub(super) fn register(&self, registrations: Registrations) {
        *self
            .registrations
            .write()
            .unwrap_or_else(PoisonError::into_inner) = registrations;
    }

    /// Whether any endpoint is registered for `event` (so that callers can
    /// skip building a body nobody receives).
    pub(super) fn wants(&self, event: WebhookEvent) -> bool {
        self.registrations
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&event)
    }

    /// The deliveries of a conversation, oldest first.
    pub(super) fn deliveries(&self, conversation: &str) -> Vec<Value> {
        self.records()
            .get(conversation)
            .map(|list| list.iter().map(Record::to_json).collect())
            .unwrap_or_default()
    }

    /// Forgets the deliveries of a conversation the emulator forgot.
    pub(super) fn forget(&self, conversation: &str) {
        self.records().remove(conversation);
    }

    /// Ends every pending delivery and forgets them; restores the
    /// registrations of the start (reset).
    pub(super) fn reset(&self) {
        self.stop();
        self.records().clear();
        self.register(self.initial.clone());
    }

    /// Ends every lane: pending deliveries are not sent.
    pub(super) fn stop(&self) {
        self.epoch.send_modify(|epoch| *epoch += 1);
        self.lanes().clear();
    }

    /// Stops for good (shutdown): nothing more is delivered.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.stop();
    }

    fn update(&self, conversation: &str, id: u64, change: impl FnOnce(&mut Record)) {
        if let Some(record) = self
            .records()
            .get_mut(conversation)
            .and_then(|list| list.iter_mut().rev().find(|r| r.id == id))
        {
            change(record);
        }
    }

    /// Queues `notification` for the endpoint registered for its event type
    /// (if any). Never waits: the delivery runs on its lane's task. Call it
    /// in the order the events happened (e.g. under the conversations'
    /// lock): each lane keeps that order.
    pub(super) fn notify(self: &Arc<Self>, notification: Notification) {
        let Some(registration) = self
            .registrations
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&notification.event)
            .cloned()
        else {
            return;
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let shown = shown_endpoint(&registration.endpoint);
        {
            let mut records = self.records();
            let list = records
                .entry(notification.conversation.clone())
                .or_default();
            while list.len() >= DELIVERIES_KEPT {
                list.pop_front();
            }
            list.push_back(Record {
                id,
                event: notification.event,
                endpoint: shown.clone(),
                state: State::Pending,
                fault: None,
                attempts: Vec::new(),
            });
        }
        let refuse = |why: &str| {
            self.update(&notification.conversation, id, |r| r.state = State::Dropped);
            self.journal_delivery(&notification, &shown, 0, None, Some(why.to_owned()), None);
            tracing::warn!(target: super::server::LOG_TARGET, event = %notification.event, why, "webhook not delivered");
        };
        if self.closed.load(Ordering::Acquire) {
            return refuse("the emulator is shutting down");
        }
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            return refuse("queue full: dropped");
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return refuse("no Tokio runtime to deliver on");
        };
        let signature = sign(
            &self.signing.client_secret,
            &notification.body,
            self.signing.algorithm,
            self.signing.encoding,
        );
        let key = (
            registration.endpoint.to_string(),
            notification.conversation.clone(),
        );
        let mut job = Job {
            id,
            notification,
            endpoint: registration.endpoint,
            max_retries: registration.max_retries,
            signature,
            _permit: permit,
        };
        // Subscribed before the lane exists: a stop from now on ends it.
        let epoch = self.epoch.subscribe();
        let mut lanes = self.lanes();
        if let Some((_, lane)) = lanes.get(&key) {
            match lane.send(job) {
                Ok(()) => return,
                // The lane ended (a stop): a new one takes it.
                Err(mpsc::error::SendError(back)) => job = back,
            }
        }
        let (lane, queue) = mpsc::unbounded_channel();
        // A fresh channel's receiver is alive: this send cannot fail.
        let _ = lane.send(job);
        let lane_id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        lanes.insert(key.clone(), (lane_id, lane));
        drop(lanes);
        runtime.spawn(Arc::clone(self).run_lane(key, lane_id, queue, epoch));
    }

    /// Delivers a lane's jobs one after the other until it is empty (then
    /// it removes itself) or the epoch changes.
    async fn run_lane(
        self: Arc<Self>,
        key: LaneKey,
        lane_id: u64,
        mut queue: mpsc::UnboundedReceiver<Job>,
        mut epoch: watch::Receiver<u64>,
    ) {
        let mut held: Option<Job> = None;
        loop {
            let next = if held.is_some() {
                tokio::select! {
                    job = queue.recv() => job,
                    () = tokio::time::sleep(REORDER_WAIT) => None,
                    _ = epoch.changed() => break,
                }
            } else {
                match queue.try_recv() {
                    Ok(job) => Some(job),
                    Err(_) => {
                        let mut lanes = self.lanes();
                        if queue.is_empty() {
                            // Only this lane's own entry (a stop may have
                            // replaced it already).
                            if lanes.get(&key).is_some_and(|(id, _)| *id == lane_id) {
                                lanes.remove(&key);
                            }
                            break;
                        }
                        continue;
                    }
                }
            };
            let work = async {
                match next {
                    Some(job) => match self.start(&job) {
                        Start::Send {
                            duplicate,
                            delay,
                            answered,
                        } => {
                            if let Some(delay) = delay {
                                tokio::time::sleep(delay).await;
                            }
                            self.deliver(&job, duplicate, answered).await;
                            if let Some(held) = held.take() {
                                self.deliver(&held, false, None).await;
                            }
                        }
                        Start::Hold => {
                            if let Some(earlier) = held.replace(job) {
                                self.deliver(&earlier, false, None).await;
                            }
                        }
                        Start::Skip => {}
                    },
                    None => {
                        if let Some(held) = held.take() {
                            self.deliver(&held, false, None).await;
                        }
                    }
                }
            };
            tokio::select! {
                () = work => {}
                _ = epoch.changed() => break,
            }
        }
        // Whatever is left was not sent: say so.
        let left = held
            .into_iter()
            .chain(std::iter::from_fn(|| queue.try_recv().ok()));
        for job in left {
            self.update(&job.notification.conversation, job.id, |r| {
                if r.state == State::Pending {
                    r.state = State::Dropped;
                }
            });
        }
    }

    /// Applies the delivery faults to a job about to start: what to do.
    fn start(&self, job: &Job) -> Start {
        let Some((fault, action)) = self.faults.hit_delivery(job.notification.event.as_str())
        else {
            return Start::Send {
                duplicate: false,
                delay: None,
                answered: None,
            };
        };
        self.update(&job.notification.conversation, job.id, |r| {
            r.fault = Some(fault)
        });
        match action {
            Action::Drop => {
                self.update(&job.notification.conversation, job.id, |r| {
                    r.state = State::Dropped
                });
                let shown = shown_endpoint(&job.endpoint);
                self.journal_delivery(
                    &job.notification,
                    &shown,
                    0,
                    None,
                    Some("dropped by a fault".into()),
                    Some(fault),
                );
                Start::Skip
            }
            Action::Duplicate => Start::Send {
                duplicate: true,
                delay: None,
                answered: None,
            },
            Action::Reorder => Start::Hold,
            Action::Delay(delay) => Start::Send {
                duplicate: false,
                delay: Some(delay),
                answered: None,
            },
            Action::Status { status, .. } => Start::Send {
                duplicate: false,
                delay: None,
                answered: Some(status),
            },
        }
    }

    /// Sends a job (twice when `duplicate`; the first attempt taken as
    /// answered `answered` without sending, when set), retrying on failure as its
    /// registration allows, 30 s apart on the emulator's clock.
    async fn deliver(&self, job: &Job, duplicate: bool, mut answered: Option<u16>) {
        let shown = shown_endpoint(&job.endpoint);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let at = self.clock.now();
            let result = match answered.take() {
                // A `status` fault stands for the receiver's answer.
                Some(status) => Ok(status),
                None => self.send(job).await,
            };
            // Before the attempt is recorded: whoever sees the record may
            // advance the clock past this.
            let due = self.clock.now() + TimeDelta::seconds(RETRY_INTERVAL_SECONDS);
            let (status, error) = match &result {
                Ok(status) => (Some(*status), None),
                Err(error) => (None, Some(error.clone())),
            };
            let delivered = matches!(status, Some(200 | 201));
            self.update(&job.notification.conversation, job.id, |r| {
                r.attempts.push(Attempt {
                    attempt,
                    at,
                    status,
                    error: error.clone(),
                });
            });
            self.journal_delivery(&job.notification, &shown, attempt, status, error, None);
            if delivered {
                if duplicate {
                    // The duplicate: one more send of the same body, recorded
                    // as its own attempt.
                    let at = self.clock.now();
                    let again = self.send(job).await;
                    let (status, error) = match again {
                        Ok(status) => (Some(status), None),
                        Err(error) => (None, Some(error)),
                    };
                    self.update(&job.notification.conversation, job.id, |r| {
                        r.attempts.push(Attempt {
                            attempt: attempt + 1,
                            at,
                            status,
                            error: error.clone(),
                        });
                    });
                    self.journal_delivery(
                        &job.notification,
                        &shown,
                        attempt + 1,
                        status,
                        error,
                        None,
                    );
                }
                self.update(&job.notification.conversation, job.id, |r| {
                    r.state = State::Delivered
                });
                return;
            }
            if attempt > u32::from(job.max_retries) {
                self.update(&job.notification.conversation, job.id, |r| {
                    r.state = State::Failed
                });
                tracing::debug!(target: super::server::LOG_TARGET, event = %job.notification.event, endpoint = %shown, attempt, "webhook delivery failed");
                return;
            }
            self.clock.wait_until(due).await;
        }
    }

    /// One POST: the status answered, or why there was none.
    async fn send(&self, job: &Job) -> Result<u16, String> {
        tokio::time::timeout(EXCHANGE_DEADLINE, self.exchange(job))
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "timed out: no whole answer within {} s",
                    EXCHANGE_DEADLINE.as_secs()
                ))
            })
    }

    /// The POST and its answer, without the overall deadline.
    async fn exchange(&self, job: &Job) -> Result<u16, String> {
        let http = self.http.as_ref().map_err(Clone::clone)?;
        let mut answer = http
            .post(job.endpoint.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("x-liveperson-account-id", &job.notification.account)
            .header("x-liveperson-client-id", &self.signing.client_id)
            .header(crate::webhooks::SIGNATURE_HEADER, &job.signature)
            .body(job.notification.body.clone())
            .send()
            .await
            .map_err(describe)?;
        let status = answer.status().as_u16();
        // Read the answer to its end (under the read timeout, and at most
        // ANSWER_BODY_READ bytes) so the connection can be reused; its
        // content does not matter.
        let mut read = 0usize;
        while let Ok(Some(chunk)) = answer.chunk().await {
            read = read.saturating_add(chunk.len());
            if read > ANSWER_BODY_READ {
                break;
            }
        }
        Ok(status)
    }

    /// Journals one attempt (or a refusal, attempt 0) of `notification`.
    fn journal_delivery(
        &self,
        notification: &Notification,
        shown: &str,
        attempt: u32,
        status: Option<u16>,
        error: Option<String>,
        fault: Option<u64>,
    ) {
        self.journal.push_delivery(Delivery {
            endpoint: shown.to_owned(),
            at: self.clock.now(),
            status,
            account: notification.account.clone(),
            client_id: self.signing.client_id.clone(),
            body: notification.body.clone(),
            event: notification.event.as_str(),
            attempt,
            conversation: notification.conversation.clone(),
            error,
            fault,
        });
    }
}

/// What a lane does with a job, after the faults.
enum Start {
    /// Send it, after `delay`, and once more when `duplicate`; its first
    /// attempt not sent but taken as answered `answered`, when set.
    Send {
        duplicate: bool,
        delay: Option<Duration>,
        answered: Option<u16>,
    },
    /// Hold it, to send after the next job of the lane.
    Hold,
    /// Nothing: a `drop` fault.
    Skip,
}

/// Why a request got no answer, without its URL (whose query may hold a
/// secret).
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let error = error.without_url();
    let mut text = format!("{kind}: {error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(json: Value) -> Result<Registrations, String> {
        match json {
            Value::Object(map) => parse_manifest(&map),
            _ => Err("not an object".into()),
        }
    }

    #[test]
    fn reads_the_manifest_and_refuses_what_it_does_not_allow() {
        let read = manifest(json!({
            "ms.MessagingEventNotification.ContentEvent": {"endpoint": "https://h/x", "max_retries": 5},
            "cqm.ExConversationChangeNotification": {"endpoint": "http://127.0.0.1:9/c"},
        }))
        .expect("valid");
        assert_eq!(read.len(), 2);
        assert_eq!(read[&WebhookEvent::ContentEvent].max_retries, 5);
        assert_eq!(read[&WebhookEvent::ConversationChange].max_retries, 0);
        assert_eq!(
            manifest_json(&read)["cqm.ExConversationChangeNotification"],
            json!({"endpoint": "http://127.0.0.1:9/c", "max_retries": 0})
        );
        for (bad, why) in [
            (
                json!({"ms.X": {"endpoint": "http://h/"}}),
                "unknown event type",
            ),
            (
                json!({"cqm.ExConversationChangeNotification": {"endpoint": "h/x"}}),
                "endpoint",
            ),
            (
                json!({"cqm.ExConversationChangeNotification": {"endpoint": "mailto:a@b"}}),
                "http or https",
            ),
            (
                json!({"cqm.ExConversationChangeNotification": {"endpoint": "http://h/", "max_retries": 6}}),
                "max_retries",
            ),
            (
                json!({"cqm.ExConversationChangeNotification": {"endpoint": "http://h/", "max_retries": 1.5}}),
                "max_retries",
            ),
            (
                json!({"cqm.ExConversationChangeNotification": {}}),
                "required",
            ),
            (
                json!({"cqm.ExConversationChangeNotification": {"endpoint": "http://h/", "retries": 1}}),
                "unknown field",
            ),
            (
                json!({"cqm.ExConversationChangeNotification": null}),
                "must be an object",
            ),
        ] {
            let error = manifest(bad.clone()).expect_err("refused");
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    #[test]
    fn endpoints_are_shown_without_user_info_query_or_fragment() {
        let url =
            endpoint("https://user:pw@hooks.example.com:8443/in?token=s3cret#frag").expect("valid");
        assert_eq!(shown_endpoint(&url), "https://hooks.example.com:8443/in");
    }

    #[test]
    fn every_event_type_reads_back_from_its_key() {
        for event in WebhookEvent::ALL {
            assert_eq!(event.as_str().parse::<WebhookEvent>(), Ok(event));
        }
    }
}
