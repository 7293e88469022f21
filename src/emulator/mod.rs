//! An emulator of LivePerson's Conversation Context Service (CCS v1 and v2) and
//! of the Messaging CONVERSATION endpoint, for offline tests and demos.
//!
//! It behaves like the documented service, not like a stub: one in-memory store
//! serves v1 and v2 (a v1 write is visible through v2 and back), with merges,
//! pagination, validation, auth checks, real TTL expiry and size limits.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
//!
//! let emulator = Emulator::start(EmulatorConfig::new().api_key("my-key")).await?;
//! println!("CCS at {}", emulator.base_url());
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Endpoints
//!
//! Every path matches with or without a trailing slash; path segments are
//! percent-decoded exactly once (`+` is a literal plus). As in OpenAPI, a
//! path without parameters wins over patterns with parameters
//! (`/v2/context/document/property/delete` is only the v2 delete).
//!
//! * CCS v1 (header `maven-api-key`): `POST|GET /v1/account/{accountId}`,
//!   `DELETE /v1/account/{accountId}/{ns}`,
//!   `PATCH|GET /v1/account/{accountId}/{ns}/properties`,
//!   `PUT|GET|DELETE /v1/account/{accountId}/{ns}/properties/{property}`,
//!   `PATCH|GET|DELETE /v1/account/{accountId}/{ns}/{sessionId}/properties`,
//!   `PUT|GET|DELETE /v1/account/{accountId}/{ns}/{sessionId}/properties/{property}`,
//!   `GET /v1/account/{accountId}/{ns}/session-ids` and `.../session-properties`
//!   (`page` ≥ 0, `perPage` 1..=1000, sorted by session id), and
//!   `POST|GET /v1/account/{accountId}/namespace/{ns}/session`.
//! * CCS v2 (query `access_token`): `POST /v2/context/document/create`,
//!   `GET /v2/context/document/{accountId}/{nameSpace}[/{sessionId}]`,
//!   `POST /v2/context/document/properties`,
//!   `DELETE /v2/context/document/property/delete`.
//! * Messaging (headers `Authorization` and `X-LP-ON-BEHALF`):
//!   `POST /api/account/{accountId}/messaging/consumer/conversation?v=3` and
//!   SEND, `POST .../messaging/consumer/conversation/send?v=3` (a message, a
//!   chat state or an accept status, each numbered from 0 per conversation,
//!   or the close). Conversations are kept with their consumer, state and
//!   events. SEND to an unknown conversation or another consumer's answers
//!   404 `conversation not found`; publishing to a closed one, 409.
//! * The connector flow, all at this same base URL: the Domain API
//!   (`GET /api/account/{accountId}/service/baseURI.json?version=1.0`, and
//!   `.../service/{serviceName}/baseURI.json`) names the emulator's own
//!   `host:port` (from the request's `Host`) for every service;
//!   Sentinel (`POST /sentinel/api/account/{accountId}/app/token?v=1.0&grant_type=client_credentials`,
//!   or `v=2.0`, or `POST /sentinel/api/v2/account/{accountId}/app/token`;
//!   `grant_type`, `client_id`, `client_secret` in the form or the query)
//!   issues an AppJWT with `expires_in` (a string, as LivePerson's toolbelt
//!   wants it); a wrong or empty credential is 401 `invalid_client`; the
//!   IDP (`POST /api/account/{accountId}/consumer?v=1.0`)
//!   a ConsumerJWS bound to the `ext_consumer_id`, for an unexpired AppJWT.
//!   Every token is taken bare or as `Bearer <token>`. `X-Request-Id` and
//!   `Client-Properties` are accepted (any value) and shown in the journal;
//!   CONVERSATION's `Client-Properties` is kept with the conversation, and
//!   its `AUTO_MESSAGES` feature lets the account's automatic messages in
//!   when [`EmulatorConfig::auto_messages`] turns them on; its
//!   `MULTI_DIALOG` feature opens a post-conversation survey dialog when
//!   the main dialog closes, with
//!   [`EmulatorConfig::post_conversation_survey`]; the agent's structured
//!   content (`agent/rich-content`) is refused (409) to a client that did
//!   not declare `RICH_CONTENT` (and `QUICK_REPLIES` for quick replies).
//!   Tokens are JWT-shaped and **unsigned** (`alg` `none`): the emulator
//!   keeps those it issued. AppJWT claims: `aud` (the account), `azp` (the
//!   client id), `scope` `msg.consumer`, `iss` `Sentinel`, `iat`, `exp`;
//!   both kinds live [`EmulatorConfig::token_ttl`]. On CONVERSATION and
//!   SEND a missing token, an expired token the emulator issued, or (with
//!   [`EmulatorConfig::app_credentials`]) any token it did not issue is
//!   answered 401 with the documented body
//!   `{kind, code, body: {title, details, errorCode}, type}` (40105, 40104,
//!   40102, 40103).
//!
//! # Rules
//!
//! * **Names**: a namespace is `[A-Za-z0-9_]+` and not one of `consumer`,
//!   `operational`, `conversation`, `faas`, `custom`, `sde`; an account id is
//!   `[A-Za-z0-9_-]+`; a session id or property name is any non-empty string
//!   but `.` and `..`. Namespace-level properties live in the session
//!   `__default__`, which is also the v2 document without a session id
//!   (document key `acc:ns:`).
//! * **TTL**: each property keeps the expiry it was written with. A v1 write
//!   takes the session's TTL if one is set for that session, else the
//!   namespace's, else none. v2 keeps one TTL per document: an upsert sets the
//!   expiry of the whole document, properties already in it included, to its
//!   `ttlSeconds` (1 to 34,214,400 s, i.e. 13 months read as 396 days). A v1
//!   TTL of 0 means forever; changing a v1 TTL affects later writes only.
//!   Expired properties are invisible
//!   at once and removed from memory by a sweeper every
//!   [`EmulatorConfig::sweep_interval`].
//! * **v2 `ttl`**: the envelope's `ttl` is when the document's last live
//!   property expires, and is left out when some property never expires.
//! * **Size**: a session document (its properties as compact JSON) over
//!   800,000 characters answers 413 `{"message":"document too large"}` and
//!   nothing is saved. Characters are counted in the value as stored (a
//!   `\u00e9` escape is the one character `é`), so any legal document fits
//!   the request body limit of 10 MiB (800,000 emoji sent as `\uXXXX\uXXXX`
//!   escapes are 9.6 MB); a body over it answers 413 before it is read whole.
//! * **Values** are stored and returned as the JSON text they were sent,
//!   minified: numbers keep every digit (`123456789012345678901234`, `1e2`),
//!   strings are written as serde_json writes them. A value may nest arrays
//!   and objects at most 64 levels deep (`[[1]]` is 2); a deeper one is a 400
//!   and nothing is saved, so that every read (whose answers wrap a value in
//!   up to three more levels) stays within the 128 levels JSON parsers such
//!   as serde_json accept.
//! * **Input** is checked against `openapi/*.yaml`, and what a spec forbids is
//!   a 400: types, enums, ranges (`page` is an int32, `ttlSecond` an int64),
//!   required members, lengths (`include`, `filter`); an optional member may
//!   be left out but not sent as `null` unless the spec allows it; unknown
//!   members are ignored. A v2 `filter` entry that does not start with
//!   `{nameSpace}.` names no property of the document and is left out.
//! * **Connections** (of [`Emulator`] and `ccs serve`; HTTP/1.1): one with
//!   no request in flight is closed when the first byte of its next request
//!   has not come within [`EmulatorConfig::idle_timeout`] (60 s), and one
//!   whose request headers are not complete within
//!   [`EmulatorConfig::header_read_timeout`] (10 s) of their first byte, so
//!   idle or slow clients cannot hold connections forever. A request body
//!   must arrive whole within [`EmulatorConfig::body_read_timeout`] (30 s)
//!   of the end of its head, else the request is answered 408
//!   `{"message":"request body not received in time"}` and the connection is
//!   closed. A body being read holds one buffer, at most twice the bytes
//!   received so far (or 256 bytes) and never more than the 10 MiB body
//!   limit, however slowly they come.
//! * **Test double** (`openapi/emulator-admin.yaml`): admin routes under
//!   `/__emulator/` (reset, the journal of requests, injected faults, the
//!   clock), `/openapi/{file}` and `/docs`, on unless
//!   [`EmulatorConfig::admin`] is off; the same controls are methods of
//!   [`Emulator`] ([`Emulator::reset`], [`Emulator::requests`],
//!   [`Emulator::inject_fault`], [`Emulator::advance_clock`]). TTLs, v2
//!   `ttl` and the sweeper follow the emulator's clock: the real clock plus
//!   every advance.
//! * **Webhooks** (LivePerson's return channel): with endpoints registered
//!   ([`EmulatorConfig::webhook`], [`EmulatorConfig::webhook_all`],
//!   `ccs serve --webhook`, or `PUT /__emulator/webhooks` with the App
//!   Installation manifest's `capabilities.webhooks` object), every consumer
//!   SEND (a text `ContentEvent`, a `ChatStateEvent`, an `AcceptStatusEvent`)
//!   is delivered as an `ms.MessagingEventNotification`, and every change of
//!   a conversation (opened, an agent joined, a transfer, a close by the
//!   consumer or the agent) as a `cqm.ExConversationChangeNotification`
//!   `UPSERT`, with LivePerson's bodies and headers
//!   (`x-liveperson-account-id`, `x-liveperson-client-id`,
//!   `x-liveperson-signature`: `sha1=` and the Base64 HMAC of the raw body,
//!   keyed with the app client secret, or
//!   [`DEFAULT_WEBHOOK_CLIENT_SECRET`] without
//!   [`EmulatorConfig::app_credentials`]; other forms by
//!   [`EmulatorConfig::webhook_signature`]). Only 200 and 201 are success;
//!   a delivery gets 5 s to connect and 5 s for each read; a failed one is
//!   retried `max_retries` times (0 to 5), 30 s apart on the emulator's
//!   clock, so [`Emulator::advance_clock`] makes a retry due at once.
//!   Deliveries run on their own tasks, never in the request that caused
//!   them; those to one endpoint for one conversation keep their order.
//!   At most 10,000 deliveries are pending at once (queued, in flight or
//!   waiting for a retry): past that a notification is not delivered, and
//!   the journal says so (`queue full`). Every attempt is in the journal
//!   ([`RecordedRequest::webhook`]), the signature `[redacted]`; a fault
//!   whose path starts with `/__webhooks/` drops, delays, duplicates or
//!   reorders deliveries ([`Fault::duplicate_delivery`],
//!   [`Fault::reorder_delivery`]). A reset or [`Emulator::shutdown`] ends the
//!   pending deliveries (not sent).
//! * **The agent** (`openapi/emulator-admin.yaml`):
//!   `POST /__emulator/conversations/{id}/agent/{action}` with `accept`,
//!   `text`, `file`, `chat-state`, `read`, `transfer` or `close` does what a
//!   LivePerson agent does, and `GET /__emulator/conversations/{id}` shows
//!   the conversation: participants, state, skill, its most recent 1,000
//!   events (older ones are counted in `events_forgotten`) and the last
//!   1,000 deliveries with their attempts. [`EmulatorConfig::echo_agent`]
//!   (`ccs serve --agent echo`) plays an agent that accepts each new
//!   conversation and answers each consumer text with the same text, so a
//!   connector's whole loop runs offline with nothing scripted.
//! * **Errors** are JSON `{"message": ...}`: 400 bad input (nothing saved),
//!   401 missing or wrong credentials (checked before anything else; a v1
//!   `maven-api-key` that is present but wrong is 403), 404,
//!   405 with an `Allow` header, 408 (a body too slow), 413.
//! * **Logs** go to `tracing` under the emulator's own target,
//!   [`LOG_TARGET`] (`ccs_emulator`), not under `liveperson_ccs`: a filter
//!   that shows the clients' calls (`liveperson_ccs=debug`) leaves out the
//!   emulator's side; `ccs_emulator=debug` adds a `request` event (method,
//!   path without its query, status) for each request answered, and the
//!   webhook deliveries' events (a delivery failed, a notification not
//!   delivered).

// DESIGN (for maintainers; users read the docs above).
//
// One file a concern, one module per API; the files import each other
// without any circle, in layers: a file uses only files of the layers
// below it (and `crate::values`, `crate::names`, the rules the clients
// share).
//
// | layer | file | holds | uses |
// | --- | --- | --- | --- |
// | face | `mod.rs` | `Emulator` (start, shutdown, the test double's controls), `router`, the sweeper | `admin`, `config`, `context`, `faults`, `journal`, `routes`, `server` |
// | router | `routes.rs` | the table of endpoints, path decoding, v1/v2 credentials, 404/405, faults and the journal around each request | `admin`, `body`, `config`, `connector`, `context`, `error`, `faults`, `journal`, `messaging`, `server`, `v1`, `v2` |
// | handlers | `v1.rs` | CCS v1 | `context`, `error`, `json`, `names`, `store` |
// | | `v2.rs` | CCS v2 | `context`, `error`, `json`, `names`, `store` |
// | | `messaging/` | CONVERSATION, SEND, their token checks and the conversations (its own table) | `context`, `error`, `json`, `tokens` |
// | | `connector.rs` | the Domain API, Sentinel (AppJWT), the IDP (ConsumerJWS) | `context`, `error`, `tokens` |
// | | `admin.rs` | the admin routes of `openapi/emulator-admin.yaml`, `RecordedRequest`, `AdminError` | `body`, `context`, `error`, `faults`, `journal`, `json`, `server` |
// | context | `context.rs` | `Shared` (the state every request shares) and `Call` (one request: path parameters, query, headers, body, time) | `body`, `clock`, `config`, `error`, `faults`, `journal`, `messaging/state`, `names`, `store`, `tokens`, `value` |
// | state and rules | `store.rs` | the CCS data: accounts, namespaces, sessions, properties, TTLs, sizes | `json` |
// | | `value.rs` | a property value minified as sent, its depth checked | `error`, `json` |
// | | `names.rs` | names checked as 400s | `error` |
// | | `journal.rs` | the journal of requests, redacted | `json` |
// | | `body.rs` | reading a request body under its limit and deadline | `error`, `server` |
// | | `messaging/state.rs` | the conversations, their events; queues their notifications | `error`, `json`, `webhooks` |
// | | `webhooks.rs` | webhook registrations and the outbox that delivers them | `clock`, `faults`, `journal`, `json` |
// | leaves | `config.rs` | `EmulatorConfig` and its defaults | |
// | | `tokens.rs` | the connector tokens issued, and their check | |
// | | `faults.rs` | injected faults (`Fault`) | |
// | | `clock.rs` | the emulator's clock | |
// | | `server.rs` | the accept loop and its three timeouts; the log target | |
// | | `error.rs` | `{"message"}` errors and JSON answers | |
// | | `json.rs` | writing JSON around stored text; timestamps | |
//
// Handlers take a `Call` from `context.rs` and never import the router;
// the router names every handler. The state a handler file owns lives in a
// file of its own below `context.rs` (`tokens.rs` for `connector.rs`,
// `messaging/state.rs` for `messaging/`), so that `Shared` can hold it
// without a circle. The character count of a document, the depth scan and
// the scan of JSON strings are `crate::values`, shared with the clients
// and the `ccs` binary.
//

mod admin;
mod body;
mod clock;
mod config;
mod connector;
mod context;
mod error;
mod faults;
mod journal;
mod json;
mod messaging;
mod names;
mod routes;
mod server;
mod store;
mod tokens;
mod v1;
mod v2;
mod value;
mod webhooks;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use context::Shared;

pub use admin::{AdminError, RecordedRequest, WebhookAttempt};
pub use config::{DEFAULT_BODY_READ_TIMEOUT, DEFAULT_TOKEN_TTL, EmulatorConfig};
pub use faults::{Fault, FaultId};
pub use journal::Outcome;
pub use server::LOG_TARGET;
pub use webhooks::{DEFAULT_WEBHOOK_CLIENT_ID, DEFAULT_WEBHOOK_CLIENT_SECRET, WebhookEvent};

/// How long [`Emulator::shutdown`] waits for open requests before closing them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The emulator as an axum [`Router`], for embedding in another server.
///
/// It spawns nothing: instead of a background sweeper, requests remove expired
/// data from memory at most once per [`EmulatorConfig::sweep_interval`].
///
/// Webhook deliveries run on tasks spawned on the runtime of the request
/// that caused them.
pub fn router(config: EmulatorConfig) -> Router {
    let registrations = config.registrations().unwrap_or_else(|error| {
        tracing::error!(target: LOG_TARGET, %error, "a webhook registration is invalid: none is registered");
        Default::default()
    });
    app(Arc::new(Shared::new(config, false, registrations)))
}

fn app(shared: Arc<Shared>) -> Router {
    Router::new().fallback(routes::dispatch).with_state(shared)
}

/// A running emulator: an HTTP server plus the sweeper of expired data.
///
/// Stop it with [`Emulator::shutdown`]; dropping it aborts both tasks.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    sweeper: JoinHandle<()>,
}

impl Emulator {
    /// Starts an emulator on `127.0.0.1` with a free port.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        Emulator::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config).await
    }

    /// Starts an emulator on `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, config: EmulatorConfig) -> std::io::Result<Emulator> {
        let registrations = config
            .registrations()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let timeouts = server::Timeouts {
            idle: config.idle_timeout,
            header_read: config.header_read_timeout,
            body_read: config.body_read_timeout,
        };
        let shared = Arc::new(Shared::new(config, true, registrations));
        let (stop, stopped) = oneshot::channel::<()>();
        // The server stops on `stop.send(())` and also when `stop` is dropped.
        let handled = Arc::clone(&shared);
        let server = tokio::spawn(server::serve(
            listener,
            move |request| routes::dispatch(State(Arc::clone(&handled)), request),
            timeouts,
            async {
                let _ = stopped.await;
            },
        ));
        let sweeper = tokio::spawn(sweep_forever(Arc::clone(&shared)));
        tracing::debug!(target: LOG_TARGET, %addr, "CCS emulator listening");
        Ok(Emulator {
            addr,
            shared,
            stop: Some(stop),
            server,
            sweeper,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, lets open requests finish (up to 5 s),
    /// stops the sweeper, and ends the pending webhook deliveries (not sent).
    pub async fn shutdown(mut self) {
        self.shared.webhooks.close();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.sweeper.abort();
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut self.server)
            .await
            .is_err()
        {
            tracing::warn!(target: LOG_TARGET, "emulator connections still open after the grace period; closing them");
        }
        // `Drop` aborts whatever is left.
    }

    /// How many connector tokens are held in memory (for tests of their sweep).
    #[doc(hidden)]
    pub fn held_tokens(&self) -> usize {
        self.shared.tokens.held()
    }

    /// How many bytes the request bodies being read hold now: the capacity
    /// of their buffers (for tests of the memory a slow body costs).
    #[doc(hidden)]
    pub fn body_bytes_held(&self) -> usize {
        self.shared.bodies.held()
    }

    /// How many properties are held in memory, expired or not (for tests of
    /// the sweeper).
    #[doc(hidden)]
    pub fn stored_properties(&self) -> usize {
        self.shared.store.stored_properties()
    }
}

/// The controls of `openapi/emulator-admin.yaml`, for Rust tests. They work
/// whether or not [`EmulatorConfig::admin`]
/// serves them over HTTP.
impl Emulator {
    /// Forgets all data, faults and the journal, and sets the clock back to
    /// the real clock: the emulator answers as if freshly started.
    ///
    /// ```
    /// # async fn demo() -> std::io::Result<()> {
    /// use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
    ///
    /// let emulator = Emulator::start(EmulatorConfig::new()).await?;
    /// // ... a test ...
    /// emulator.reset();
    /// assert!(emulator.requests().is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// The journal: the most recent requests to LivePerson's routes, and
    /// attempts of webhook deliveries ([`RecordedRequest::webhook`]), oldest
    /// first ([`EmulatorConfig::journal_limit`]).
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
    ///
    /// let emulator = Emulator::start(EmulatorConfig::new()).await?;
    /// reqwest::Client::new()
    ///     .get(format!("{}/v1/account/le1", emulator.base_url()))
    ///     .header("maven-api-key", "secret")
    ///     .send()
    ///     .await?;
    /// let sent = emulator.requests();
    /// assert_eq!(sent[0].path, "/v1/account/le1");
    /// assert_eq!(sent[0].status, Some(200));
    /// assert_eq!(sent[0].header("maven-api-key"), Some("[redacted]"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .journal
            .entries()
            .iter()
            .map(RecordedRequest::from)
            .collect()
    }

    /// Empties the journal.
    pub fn clear_requests(&self) {
        self.shared.journal.clear();
    }

    /// Activates a fault: the next matching requests answer its status,
    /// answer late, or get no answer. Refused (nothing changes) when the
    /// fault is out of range (see [`Fault`]) or 1,000 are already active.
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use liveperson_ccs::emulator::{Emulator, EmulatorConfig, Fault};
    ///
    /// let emulator = Emulator::start(EmulatorConfig::new()).await?;
    /// emulator.inject_fault(Fault::status(503).path("/v2/*").times(2))?;
    /// // The next two v2 requests answer 503; then the service is back.
    /// # Ok(())
    /// # }
    /// ```
    pub fn inject_fault(&self, fault: Fault) -> Result<FaultId, AdminError> {
        self.shared
            .faults
            .insert(fault)
            .map(|active| FaultId(active.id))
            .map_err(AdminError::new)
    }

    /// Removes one fault; whether it was still active.
    pub fn remove_fault(&self, id: FaultId) -> bool {
        self.shared.faults.remove(id.0)
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Moves the emulator's clock forward (whole seconds, at most 100 years
    /// at once, never past the year 9999); returns the new time. TTLs and
    /// v2 `expiresAt` follow this clock.
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
    ///
    /// let emulator = Emulator::start(EmulatorConfig::new()).await?;
    /// let before = emulator.now();
    /// let after = emulator.advance_clock(Duration::from_secs(3600))?;
    /// assert!(after - before >= chrono::TimeDelta::hours(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn advance_clock(
        &self,
        by: std::time::Duration,
    ) -> Result<chrono::DateTime<chrono::Utc>, AdminError> {
        let seconds = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.shared
            .clock
            .advance(seconds)
            .map_err(|e| AdminError::new(e.to_string()))
    }

    /// The emulator's time: the real clock plus every advance since start or
    /// the last reset.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.shared.clock.now()
    }

    /// The webhook registrations, as `GET /__emulator/webhooks` answers them
    /// (the manifest's `capabilities.webhooks` object).
    pub fn webhooks(&self) -> serde_json::Value {
        webhooks::manifest_json(&self.shared.webhooks.registrations())
    }

    /// Replaces every webhook registration, as `PUT /__emulator/webhooks`:
    /// `manifest` is the App Installation manifest's `capabilities.webhooks`
    /// object (`{}` removes them all); refused, with nothing changed, as the
    /// route refuses it.
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
    ///
    /// let emulator = Emulator::start(EmulatorConfig::new()).await?;
    /// emulator.set_webhooks(&serde_json::json!({
    ///     "cqm.ExConversationChangeNotification": {"endpoint": "http://127.0.0.1:9000/conv"},
    /// }))?;
    /// assert_eq!(
    ///     emulator.webhooks()["cqm.ExConversationChangeNotification"]["max_retries"],
    ///     0
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_webhooks(&self, manifest: &serde_json::Value) -> Result<(), AdminError> {
        let serde_json::Value::Object(map) = manifest else {
            return Err(AdminError::new(
                "the request body must be a JSON object".to_owned(),
            ));
        };
        let registrations = webhooks::parse_manifest(map).map_err(AdminError::new)?;
        self.shared.webhooks.register(registrations);
        Ok(())
    }

    /// The conversation `conversation_id` as
    /// `GET /__emulator/conversations/{conversationId}` answers it
    /// (participants, state, skill, events, deliveries); `None` for an
    /// unknown one.
    pub fn conversation(&self, conversation_id: &str) -> Option<serde_json::Value> {
        self.shared.conversations.snapshot(conversation_id)
    }

    /// Acts as the agent in a conversation, as
    /// `POST /__emulator/conversations/{conversationId}/agent/{action}`:
    /// `action` is `accept`, `text`, `file` (a `fileType` and the base64
    /// `content`; the connector fetches it with `ms.GenerateURLForDownloadFile`),
    /// `chat-state`, `read`, `transfer` or `close`, and `body` its JSON body
    /// (`None` for none). Answers what the
    /// route answers with its 200, or its refusal ([`AdminError::status`]
    /// 400, 404 or 409; nothing changed).
    ///
    /// ```
    /// # async fn demo(emulator: liveperson_ccs::emulator::Emulator, id: &str)
    /// #     -> Result<(), liveperson_ccs::emulator::AdminError> {
    /// emulator.agent(id, "accept", None)?;
    /// let sent = emulator.agent(id, "text", Some(&serde_json::json!({"text": "Hi, how can I help?"})))?;
    /// assert!(sent["sequence"].is_u64());
    /// # Ok(())
    /// # }
    /// ```
    pub fn agent(
        &self,
        conversation_id: &str,
        action: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, AdminError> {
        let body = body.map(serde_json::Value::to_string).unwrap_or_default();
        let action =
            admin::agent_action(action, body.as_bytes()).map_err(|e| AdminError::from_api(&e))?;
        self.shared
            .conversations
            .agent(conversation_id, action, self.shared.clock.now())
            .map_err(|e| AdminError::from_api(&e))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.webhooks.close();
        self.server.abort();
        self.sweeper.abort();
    }
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

async fn sweep_forever(shared: Arc<Shared>) {
    let mut ticks = tokio::time::interval(shared.config.sweep_interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let removed = shared.store.sweep(shared.clock.now());
        if removed > 0 {
            tracing::trace!(target: LOG_TARGET, removed, "swept expired properties");
        }
    }
}
