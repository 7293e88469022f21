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
//!   Sentinel (`POST /sentinel/api/account/{accountId}/app/token?v=1.0&grant_type=client_credentials`)
//!   issues an AppJWT; the IDP (`POST /api/account/{accountId}/consumer?v=1.0`)
//!   a ConsumerJWS bound to the `ext_consumer_id`, for an unexpired AppJWT.
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
//! * **Errors** are JSON `{"message": ...}`: 400 bad input (nothing saved),
//!   401 missing or wrong credentials (checked before anything else; a v1
//!   `maven-api-key` that is present but wrong is 403), 404,
//!   405 with an `Allow` header, 408 (a body too slow), 413.

mod admin;
mod body;
mod clock;
mod connector;
mod error;
mod faults;
mod journal;
mod json;
mod messaging;
mod names;
mod routes;
mod server;
mod store;
mod v1;
mod v2;
mod value;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use store::Store;

pub use admin::{AdminError, RecordedRequest};
pub use faults::{Fault, FaultId};
pub use journal::Outcome;

/// Largest request body read, in bytes: above the largest legal document,
/// so that the 800,000-character rule decides, not the transport. A document
/// of 800,000 characters each sent as a `\uXXXX\uXXXX` surrogate pair (12
/// bytes; Python's default `json.dumps` of emoji) is 9.6 MB; this leaves
/// 0.88 MB for the envelope and whitespace. A larger body answers 413 as soon
/// as the frame that takes it over the limit arrives.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// How long [`Emulator::shutdown`] waits for open requests before closing them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Shortest sweep interval (a zero interval would spin).
const MIN_SWEEP_INTERVAL: Duration = Duration::from_millis(1);

/// Shortest connection timeout.
const MIN_CONNECTION_TIMEOUT: Duration = Duration::from_millis(1);

/// How the emulator checks credentials, sweeps expired data and times out
/// connections.
///
/// By default any non-empty credential is accepted, expired data is swept
/// every second, an idle connection is closed after 60 s, a request's
/// headers must arrive within 10 s and its body within 30 s. `Debug` never
/// shows the configured secrets.
#[derive(Clone)]
pub struct EmulatorConfig {
    api_key: Option<String>,
    access_token: Option<String>,
    sweep_interval: Duration,
    idle_timeout: Duration,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    app_client_id: Option<String>,
    app_client_secret: Option<String>,
    token_ttl: Duration,
    admin: bool,
    journal_limit: usize,
}

/// How long the connector tokens the emulator issues live by default: one
/// hour, as LivePerson's AppJWT.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// How long a request body may take to arrive by default (see
/// [`EmulatorConfig::body_read_timeout`]): 30 s.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

impl EmulatorConfig {
    /// Accepts any non-empty credential; sweeps every second; closes idle
    /// connections after 60 s, those whose request headers take over 10 s
    /// and those whose request body takes over 30 s.
    pub fn new() -> Self {
        EmulatorConfig {
            api_key: None,
            access_token: None,
            sweep_interval: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(60),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            app_client_id: None,
            app_client_secret: None,
            token_ttl: DEFAULT_TOKEN_TTL,
            admin: true,
            journal_limit: DEFAULT_JOURNAL_LIMIT,
        }
    }

    /// Serves the admin routes of `openapi/emulator-admin.yaml` (under
    /// `/__emulator/`, `/openapi/` and `/docs`; on by default). Off, they
    /// answer 404 as any unknown path (`ccs serve --no-admin`); the journal
    /// and faults still work through the methods of [`Emulator`].
    pub fn admin(mut self, on: bool) -> Self {
        self.admin = on;
        self
    }

    /// How many of the most recent requests the journal keeps (default
    /// 1,000; `0` records nothing).
    pub fn journal_limit(mut self, entries: usize) -> Self {
        self.journal_limit = entries;
        self
    }

    /// How long a connection of [`Emulator`] may wait, with no request in
    /// flight, for the first byte of its next request (a new connection or a
    /// keep-alive one) before it is closed (default 60 s; at least 1 ms).
    /// Not used by [`router`], whose server is the caller's.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout.max(MIN_CONNECTION_TIMEOUT);
        self
    }

    /// How long a request's head (request line and headers) may take from
    /// its first byte on a connection of [`Emulator`]; a client still sending
    /// it then is disconnected (default 10 s; at least 1 ms). Not used by
    /// [`router`].
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout.max(MIN_CONNECTION_TIMEOUT);
        self
    }

    /// How long a request's body may take on a connection of [`Emulator`],
    /// from the end of its head (more exactly, from when the emulator starts
    /// reading it, which is later only for a chunked body, with no declared
    /// length, held by an injected `delay` fault) to
    /// its last byte. A body still arriving then is cut off: the request is
    /// answered 408 `{"message":"request body not received in time"}` and
    /// the connection is closed (a client still sending may see the
    /// connection reset before it reads the answer). Default
    /// [`DEFAULT_BODY_READ_TIMEOUT`] (30 s), enough for the 10 MiB body limit
    /// at 350 KB/s; at least 1 ms. Not used by [`router`].
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout.max(MIN_CONNECTION_TIMEOUT);
        self
    }

    /// Makes Sentinel accept only this client id and secret, and the
    /// connector APIs (IDP, CONVERSATION, SEND) only tokens this emulator
    /// issued. By default any non-empty client id and secret get an AppJWT,
    /// and any non-empty token is accepted (a token the emulator issued and
    /// that has expired is refused either way). Empty values keep the default.
    pub fn app_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        let (id, secret) = (client_id.into(), client_secret.into());
        if !id.is_empty() && !secret.is_empty() {
            self.app_client_id = Some(id);
            self.app_client_secret = Some(secret);
        }
        self
    }

    /// How long the AppJWTs and ConsumerJWSs the emulator issues live
    /// (default [`DEFAULT_TOKEN_TTL`], one hour; at least 1 s).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// Requires this exact `maven-api-key` header on v1 calls. An empty key
    /// means "any non-empty key", as by default.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into()).filter(|k| !k.is_empty());
        self
    }

    /// Requires this exact `access_token` query parameter on v2 calls. An empty
    /// token means "any non-empty token", as by default.
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(token.into()).filter(|t| !t.is_empty());
        self
    }

    /// How often expired data is removed from memory (default 1 s; at least
    /// 1 ms). Expired data is invisible to reads at once regardless.
    pub fn sweep_interval(mut self, every: Duration) -> Self {
        self.sweep_interval = every.max(MIN_SWEEP_INTERVAL);
        self
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("EmulatorConfig")
            .field("api_key", &secret(&self.api_key))
            .field("access_token", &secret(&self.access_token))
            .field("sweep_interval", &self.sweep_interval)
            .field("idle_timeout", &self.idle_timeout)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("app_client_id", &secret(&self.app_client_id))
            .field("app_client_secret", &secret(&self.app_client_secret))
            .field("token_ttl", &self.token_ttl)
            .field("admin", &self.admin)
            .field("journal_limit", &self.journal_limit)
            .finish()
    }
}

/// How many requests the journal keeps by default.
const DEFAULT_JOURNAL_LIMIT: usize = 1000;

/// State shared by every request.
struct Shared {
    config: EmulatorConfig,
    store: Store,
    /// Issued tokens and conversations (the connector flow).
    connector: connector::ConnectorState,
    /// The one source of "now" (TTLs, `expiresAt`, the sweeper, the journal).
    clock: clock::Clock,
    journal: journal::Journal,
    faults: faults::Faults,
    /// The memory held by request bodies being read.
    bodies: body::BodyMemory,
    /// Set when no background sweeper runs ([`router`]): requests sweep instead.
    inline_sweep: Option<InlineSweep>,
}

/// Sweeping done by requests, at most once per interval.
struct InlineSweep {
    started: Instant,
    every_ms: u64,
    /// Milliseconds after `started` of the last sweep.
    last_ms: AtomicU64,
}

impl Shared {
    fn new(config: EmulatorConfig, background_sweeper: bool) -> Shared {
        let inline_sweep = (!background_sweeper).then(|| InlineSweep {
            started: Instant::now(),
            every_ms: u64::try_from(config.sweep_interval.as_millis()).unwrap_or(u64::MAX),
            last_ms: AtomicU64::new(0),
        });
        Shared {
            journal: journal::Journal::new(config.journal_limit),
            config,
            store: Store::default(),
            connector: connector::ConnectorState::default(),
            clock: clock::Clock::default(),
            faults: faults::Faults::default(),
            bodies: body::BodyMemory::default(),
            inline_sweep,
        }
    }

    /// Forgets all data, faults and the journal, and sets the clock back.
    /// State added to `Shared` (e.g. issued tokens) must be forgotten here too.
    fn reset(&self) {
        self.faults.clear();
        self.store.clear();
        self.connector.clear();
        self.clock.reset();
        self.journal.clear();
    }

    /// Without a background sweeper, sweeps when an interval has passed (one
    /// request does it; the others go on).
    fn sweep_if_due(&self) {
        let Some(sweep) = &self.inline_sweep else {
            return;
        };
        let now_ms = u64::try_from(sweep.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = sweep.last_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) >= sweep.every_ms
            && sweep
                .last_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.store.sweep(self.clock.now());
        }
    }
}

/// The emulator as an axum [`Router`], for embedding in another server.
///
/// It spawns nothing: instead of a background sweeper, requests remove expired
/// data from memory at most once per [`EmulatorConfig::sweep_interval`].
pub fn router(config: EmulatorConfig) -> Router {
    app(Arc::new(Shared::new(config, false)))
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
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let timeouts = server::Timeouts {
            idle: config.idle_timeout,
            header_read: config.header_read_timeout,
            body_read: config.body_read_timeout,
        };
        let shared = Arc::new(Shared::new(config, true));
        let (stop, stopped) = oneshot::channel::<()>();
        // The server stops on `stop.send(())` and also when `stop` is dropped.
        let server = tokio::spawn(server::serve(
            listener,
            app(Arc::clone(&shared)),
            timeouts,
            async {
                let _ = stopped.await;
            },
        ));
        let sweeper = tokio::spawn(sweep_forever(Arc::clone(&shared)));
        tracing::debug!(%addr, "CCS emulator listening");
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

    /// Stops accepting connections, lets open requests finish (up to 5 s) and
    /// stops the sweeper.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.sweeper.abort();
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut self.server)
            .await
            .is_err()
        {
            tracing::warn!("emulator connections still open after the grace period; closing them");
        }
        // `Drop` aborts whatever is left.
    }

    /// How many connector tokens are held in memory (for tests of their sweep).
    #[doc(hidden)]
    pub fn held_tokens(&self) -> usize {
        self.shared.connector.held_tokens()
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

impl Drop for Emulator {
    fn drop(&mut self) {
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
            tracing::trace!(removed, "swept expired properties");
        }
    }
}
