//! The request context: what every request shares ([`Shared`]: the
//! configuration, the store and the emulator's other state) and what one
//! request brings to its handler ([`Call`]: its path parameters, query,
//! headers, body and time). The handlers of every API take a [`Call`] and
//! import this file, never the router.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::Query;
use axum::http::{HeaderMap, Uri};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::body::BodyMemory;
use super::clock::Clock;
use super::config::EmulatorConfig;
use super::error::ApiError;
use super::faults::Faults;
use super::journal::Journal;
use super::messaging::state::Conversations;
use super::names::{self, DEFAULT_SESSION};
use super::store::{Entry, Expiry, Store};
use super::tokens::Tokens;
use super::value;
use super::webhooks::{
    DEFAULT_WEBHOOK_CLIENT_ID, DEFAULT_WEBHOOK_CLIENT_SECRET, Outbox, Registrations, Signing,
};

/// State shared by every request.
pub(super) struct Shared {
    pub(super) config: EmulatorConfig,
    pub(super) store: Store,
    /// The connector tokens Sentinel and the IDP issued.
    pub(super) tokens: Tokens,
    /// The conversations CONVERSATION opened.
    pub(super) conversations: Conversations,
    /// The one source of "now" (TTLs, `expiresAt`, the sweeper, the journal,
    /// webhook retries).
    pub(super) clock: Arc<Clock>,
    pub(super) journal: Arc<Journal>,
    pub(super) faults: Arc<Faults>,
    /// The webhook registrations and deliveries.
    pub(super) webhooks: Arc<Outbox>,
    /// The memory held by request bodies being read.
    pub(super) bodies: BodyMemory,
    /// Set when no background sweeper runs ([`router`](super::router)): requests sweep instead.
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
    /// The shared state of `config`, with these webhook registrations
    /// (checked by the caller).
    pub(super) fn new(
        config: EmulatorConfig,
        background_sweeper: bool,
        registrations: Registrations,
    ) -> Shared {
        let inline_sweep = (!background_sweeper).then(|| InlineSweep {
            started: Instant::now(),
            every_ms: u64::try_from(config.sweep_interval.as_millis()).unwrap_or(u64::MAX),
            last_ms: AtomicU64::new(0),
        });
        let journal = Arc::new(Journal::new(config.journal_limit));
        let clock = Arc::new(Clock::default());
        let faults = Arc::new(Faults::default());
        let signing = Signing {
            client_id: config
                .app_client_id
                .clone()
                .unwrap_or_else(|| DEFAULT_WEBHOOK_CLIENT_ID.to_owned()),
            client_secret: config
                .app_client_secret
                .clone()
                .unwrap_or_else(|| DEFAULT_WEBHOOK_CLIENT_SECRET.to_owned()),
            algorithm: config.webhook_algorithm,
            encoding: config.webhook_encoding,
        };
        let webhooks = Arc::new(Outbox::new(
            registrations,
            signing,
            Arc::clone(&clock),
            Arc::clone(&journal),
            Arc::clone(&faults),
        ));
        Shared {
            journal,
            store: Store::default(),
            tokens: Tokens::new(config.app_client_id.is_some()),
            conversations: Conversations::new(
                Arc::clone(&webhooks),
                config.echo_agent,
                config.auto_messages,
                config.survey,
            ),
            webhooks,
            clock,
            faults,
            bodies: BodyMemory::default(),
            inline_sweep,
            config,
        }
    }

    /// Forgets all data, faults and the journal, and sets the clock back.
    /// State added to `Shared` (e.g. issued tokens) must be forgotten here too.
    pub(super) fn reset(&self) {
        self.webhooks.reset();
        self.faults.clear();
        self.store.clear();
        self.tokens.clear();
        self.conversations.clear();
        self.clock.reset();
        self.journal.clear();
    }

    /// Without a background sweeper, sweeps when an interval has passed (one
    /// request does it; the others go on).
    pub(super) fn sweep_if_due(&self) {
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

/// The path parameters of a matched route (`""`/`None` where the route has none).
#[derive(Clone, Copy, Default)]
pub(super) struct Params<'a> {
    pub(super) account: &'a str,
    pub(super) ns: &'a str,
    pub(super) session: Option<&'a str>,
    pub(super) property: &'a str,
    pub(super) service: &'a str,
    pub(super) file: &'a str,
}

/// The query string as decoded pairs.
pub(super) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(super) fn parse(uri: &Uri) -> Result<QueryParams, ApiError> {
        Query::try_from_uri(uri)
            .map(|Query(pairs)| QueryParams(pairs))
            .map_err(|_| ApiError::bad_request("invalid query string"))
    }

    /// The first value of `name`.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What a handler gets: the store, the validated-on-demand path parameters, the
/// query and the body.
pub(super) struct Call<'a> {
    /// The shared store.
    pub(super) store: &'a Store,
    /// Everything shared (configuration, connector state).
    pub(super) shared: &'a Shared,
    /// The request headers.
    pub(super) headers: &'a HeaderMap,
    /// The emulator's time for this request.
    pub(super) now: DateTime<Utc>,
    params: Params<'a>,
    query: &'a QueryParams,
    pub(super) body: Bytes,
}

impl<'a> Call<'a> {
    /// The context of one request, matched to a route with these `params`.
    pub(super) fn new(
        shared: &'a Shared,
        headers: &'a HeaderMap,
        now: DateTime<Utc>,
        params: Params<'a>,
        query: &'a QueryParams,
        body: Bytes,
    ) -> Call<'a> {
        Call {
            store: &shared.store,
            shared,
            headers,
            now,
            params,
            query,
            body,
        }
    }
}

impl Call<'_> {
    /// The `{accountId}` path parameter, validated.
    pub(super) fn account(&self) -> Result<&str, ApiError> {
        names::account(self.params.account)
    }

    /// The validated account, namespace and session (`__default__` where the path
    /// has no session).
    pub(super) fn location(&self) -> Result<(&str, &str, &str), ApiError> {
        let account = self.account()?;
        let ns = names::namespace(self.params.ns)?;
        let session = self
            .params
            .session
            .map_or(Ok(DEFAULT_SESSION), names::session)?;
        Ok((account, ns, session))
    }

    /// The `{accountId}` path parameter as sent (not validated).
    pub(super) fn params_account(&self) -> &str {
        self.params.account
    }

    /// The `{service}` path parameter (a Domain API service name).
    pub(super) fn service(&self) -> &str {
        self.params.service
    }

    /// The `{file}` path parameter (a file name of file sharing's host).
    pub(super) fn file(&self) -> &str {
        self.params.file
    }

    /// The `{property}` path parameter, validated.
    pub(super) fn property(&self) -> Result<&str, ApiError> {
        names::property(self.params.property)
    }

    /// A request header, trimmed (`None` if absent or not text).
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    }

    /// The first value of a query parameter.
    pub(super) fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name)
    }

    /// The body parsed as JSON (`T` may borrow from it, e.g. `&RawValue`).
    pub(super) fn json<'b, T: Deserialize<'b>>(&'b self) -> Result<T, ApiError> {
        if self.body.is_empty() {
            return Err(ApiError::bad_request("the request body must be JSON"));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
    }

    /// Validates property names and values (minified as sent, nesting at most
    /// [`MAX_VALUE_DEPTH`](crate::values::MAX_VALUE_DEPTH) levels) and merges
    /// them into a session document; 413 (and nothing saved) if it would grow
    /// too large.
    pub(super) fn save<'v>(
        &self,
        (account, ns, session): (&str, &str, &str),
        properties: impl IntoIterator<Item = (String, &'v RawValue)>,
        expiry: Expiry,
    ) -> Result<(), ApiError> {
        let entries = properties
            .into_iter()
            .map(|(key, value)| {
                names::property(&key)?;
                Ok(Entry::new(key, value::minified(value)?))
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        self.store
            .write(account, ns, session, entries, expiry, self.now)
            .map_err(|_| ApiError::document_too_large())
    }
}

/// Compares two secrets in time independent of where they differ.
pub(super) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}
