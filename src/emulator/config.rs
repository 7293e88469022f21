//! How an emulator is configured: [`EmulatorConfig`] and its defaults.

use std::fmt;
use std::time::Duration;

use super::webhooks::{self, Registration, Registrations, WebhookEvent};
use crate::webhooks::{SignatureAlgorithm, SignatureEncoding};

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
    pub(super) api_key: Option<String>,
    pub(super) access_token: Option<String>,
    pub(super) sweep_interval: Duration,
    pub(super) idle_timeout: Duration,
    pub(super) header_read_timeout: Duration,
    pub(super) body_read_timeout: Duration,
    pub(super) app_client_id: Option<String>,
    pub(super) app_client_secret: Option<String>,
    pub(super) token_ttl: Duration,
    pub(super) admin: bool,
    pub(super) journal_limit: usize,
    /// Webhook registrations as given (checked when the emulator starts).
    pub(super) webhooks: Vec<(WebhookEvent, String, u8)>,
    pub(super) webhook_algorithm: SignatureAlgorithm,
    pub(super) webhook_encoding: SignatureEncoding,
    pub(super) echo_agent: bool,
    pub(super) auto_messages: bool,
    pub(super) survey: bool,
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
            webhooks: Vec::new(),
            webhook_algorithm: SignatureAlgorithm::Sha1,
            webhook_encoding: SignatureEncoding::Base64,
            echo_agent: false,
            auto_messages: false,
            survey: false,
        }
    }

    /// Registers `endpoint` (an absolute `http` or `https` URL) for one
    /// event type, as the App Installation manifest's `capabilities.webhooks`
    /// does, with LivePerson's `max_retries` (0 to 5): a failed delivery
    /// (any answer but 200 or 201, no answer within 5 s of connecting or
    /// between reads, or no connection within 5 s) is tried again up to that
    /// many times, 30 s apart on the emulator's clock (so
    /// [`Emulator::advance_clock`](super::Emulator::advance_clock) makes a
    /// retry due at once). A later registration of the same event type
    /// replaces an earlier one. A bad URL or `max_retries` makes
    /// [`Emulator::start`](super::Emulator::start) fail with
    /// [`std::io::ErrorKind::InvalidInput`] ([`router`](super::router) logs
    /// it and leaves the event type unregistered). The admin route
    /// `PUT /__emulator/webhooks` replaces them while running.
    ///
    /// Every notification is a `POST` of LivePerson's body, with the headers
    /// `x-liveperson-account-id`, `x-liveperson-client-id` (the client id of
    /// [`app_credentials`](Self::app_credentials), else
    /// [`DEFAULT_WEBHOOK_CLIENT_ID`](super::DEFAULT_WEBHOOK_CLIENT_ID)) and
    /// `x-liveperson-signature`, the HMAC of the body keyed with the client
    /// secret of [`app_credentials`](Self::app_credentials), else
    /// [`DEFAULT_WEBHOOK_CLIENT_SECRET`](super::DEFAULT_WEBHOOK_CLIENT_SECRET)
    /// (see [`webhook_signature`](Self::webhook_signature)).
    ///
    /// ```
    /// use liveperson_ccs::emulator::{EmulatorConfig, WebhookEvent};
    ///
    /// let config = EmulatorConfig::new()
    ///     .app_credentials("my-client-id", "my-client-secret")
    ///     .webhook(WebhookEvent::ContentEvent, "http://127.0.0.1:9000/content", 2)
    ///     .webhook(WebhookEvent::ConversationChange, "http://127.0.0.1:9000/conversations", 0);
    /// # let _ = config;
    /// ```
    pub fn webhook(
        mut self,
        event: WebhookEvent,
        endpoint: impl Into<String>,
        max_retries: u8,
    ) -> Self {
        self.webhooks.push((event, endpoint.into(), max_retries));
        self
    }

    /// Registers `endpoint` for every event type (see [`webhook`](Self::webhook)).
    pub fn webhook_all(mut self, endpoint: impl Into<String>, max_retries: u8) -> Self {
        let endpoint = endpoint.into();
        for event in WebhookEvent::ALL {
            self = self.webhook(event, endpoint.clone(), max_retries);
        }
        self
    }

    /// How deliveries are signed: LivePerson's `sha1=` in Base64 by default;
    /// `sha256=` and hex for receivers that accept those forms.
    pub fn webhook_signature(
        mut self,
        algorithm: SignatureAlgorithm,
        encoding: SignatureEncoding,
    ) -> Self {
        self.webhook_algorithm = algorithm;
        self.webhook_encoding = encoding;
        self
    }

    /// Plays an echo agent (`ccs serve --agent echo`): an agent accepts each
    /// new conversation at once (a conversation change with an
    /// `ASSIGNED_AGENT`) and answers each text the consumer sends with an
    /// agent text of the same message, so that a connector's whole loop
    /// runs with nothing scripted. After a transfer (the agent leaves), it
    /// answers again once an agent accepts
    /// (`POST /__emulator/conversations/{id}/agent/accept`). Off by default.
    pub fn echo_agent(mut self, on: bool) -> Self {
        self.echo_agent = on;
        self
    }

    /// Turns the emulated account's automatic messages on (`ccs serve
    /// --auto-messages`), as an account team does on LivePerson's side
    /// ("Connector API: How to enable a feature"). They reach only a
    /// conversation whose consumer declared the `AUTO_MESSAGES` feature in
    /// `Client-Properties` on CONVERSATION: a `ContentEvent` text from the
    /// system (role `CONTROLLER`, one participant id per account) when it
    /// opens, when an agent joins and when it is transferred, numbered and
    /// delivered like any other message. Off by default.
    pub fn auto_messages(mut self, on: bool) -> Self {
        self.auto_messages = on;
        self
    }

    /// Gives the emulated account a post-conversation survey (`ccs serve
    /// --survey`), as LivePerson's "Post Conversation Survey" tutorial
    /// describes it, for a consumer that declared the `MULTI_DIALOG`
    /// feature in `Client-Properties` on CONVERSATION. When such a
    /// conversation's `MAIN` dialog closes (the consumer's close or
    /// `DialogChange`, or the agent's), a `POST_SURVEY` dialog opens: the
    /// conversation change then has `state` `CLOSE` and `stage` `OPEN`, and
    /// the survey's bot (role `AGENT`) asks one question in that dialog.
    /// The consumer's text published there (`dialogId` = the survey
    /// dialog's id) is the answer: the bot thanks and closes the survey,
    /// and the conversation is over (`stage` `CLOSE`). Closing the survey
    /// dialog (`DialogChange` with its id, or the conversation's close)
    /// skips it. Other consumers' conversations close at once, as without
    /// a survey. Off by default.
    pub fn post_conversation_survey(mut self, on: bool) -> Self {
        self.survey = on;
        self
    }

    /// The registrations, checked.
    pub(super) fn registrations(&self) -> Result<Registrations, String> {
        let mut out = Registrations::new();
        for (event, endpoint, retries) in &self.webhooks {
            let endpoint = webhooks::endpoint(endpoint).map_err(|e| format!("{event}: {e}"))?;
            let max_retries =
                webhooks::max_retries(u64::from(*retries)).map_err(|e| format!("{event}: {e}"))?;
            out.insert(
                *event,
                Registration {
                    endpoint,
                    max_retries,
                },
            );
        }
        Ok(out)
    }

    /// Serves the admin routes of `openapi/emulator-admin.yaml` (under
    /// `/__emulator/`, `/openapi/` and `/docs`; on by default). Off, they
    /// answer 404 as any unknown path (`ccs serve --no-admin`); the journal
    /// and faults still work through the methods of [`Emulator`](super::Emulator).
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

    /// How long a connection of [`Emulator`](super::Emulator) may wait, with no request in
    /// flight, for the first byte of its next request (a new connection or a
    /// keep-alive one) before it is closed (default 60 s; at least 1 ms).
    /// Not used by [`router`](super::router), whose server is the caller's.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout.max(MIN_CONNECTION_TIMEOUT);
        self
    }

    /// How long a request's head (request line and headers) may take from
    /// its first byte on a connection of [`Emulator`](super::Emulator); a client still sending
    /// it then is disconnected (default 10 s; at least 1 ms). Not used by
    /// [`router`](super::router).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout.max(MIN_CONNECTION_TIMEOUT);
        self
    }

    /// How long a request's body may take on a connection of [`Emulator`](super::Emulator),
    /// from the end of its head (more exactly, from when the emulator starts
    /// reading it, which is later only for a chunked body, with no declared
    /// length, held by an injected `delay` fault) to
    /// its last byte. A body still arriving then is cut off: the request is
    /// answered 408 `{"message":"request body not received in time"}` and
    /// the connection is closed (a client still sending may see the
    /// connection reset before it reads the answer). Default
    /// [`DEFAULT_BODY_READ_TIMEOUT`] (30 s), enough for the 10 MiB body limit
    /// at 350 KB/s; at least 1 ms. Not used by [`router`](super::router).
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
            .field("webhooks", &self.webhooks.len())
            .field("webhook_algorithm", &self.webhook_algorithm)
            .field("webhook_encoding", &self.webhook_encoding)
            .field("echo_agent", &self.echo_agent)
            .field("auto_messages", &self.auto_messages)
            .field("survey", &self.survey)
            .finish()
    }
}

/// How many requests the journal keeps by default.
const DEFAULT_JOURNAL_LIMIT: usize = 1000;
