//! The connector flow: the Domain API, Sentinel (AppJWT), the IDP
//! (ConsumerJWS), the tokens' checks on CONVERSATION and SEND, and SEND
//! itself on the conversations CONVERSATION opened.
//!
//! Tokens are JWT-shaped and **unsigned** (`"alg":"none"`, empty signature):
//! the emulator knows its tokens by keeping each one it issued (with its
//! expiry, account and consumer) until it has expired, not by a signature.
//! So a token is "issued by the emulator" only if this very process issued
//! it; expired ones are forgotten a while after they expire.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::http::{StatusCode, header};
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::context::{Call, Shared, same_secret};
use super::error::{ApiError, ApiResult, json as json_response};

/// The services the Domain API names, each at the emulator's own address.
pub(super) const SERVICES: &[&str] = &[
    "asyncMessagingEnt",
    "sentinel",
    "idp",
    "mavenContext",
    "accountConfigReadOnly",
    "agentVep",
];

/// How many tokens may be issued between two sweeps of expired ones.
const SWEEP_EVERY: usize = 1024;

/// How many closed conversations are remembered (a SEND to one answers 409,
/// closing it again succeeds); past this, the longest closed is forgotten
/// and answers 404 like an unknown one. Open conversations are all kept.
pub(super) const CLOSED_KEPT: usize = 10_000;

/// "Now" for token lifetimes: the emulator's clock (real time plus what
/// `/__emulator/clock` advanced), so a one-hour token can expire at once.
fn now(shared: &Shared) -> DateTime<Utc> {
    shared.clock.now()
}

/// What kind of token.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    AppJwt,
    ConsumerJws,
}

/// A token this emulator issued.
struct Issued {
    kind: Kind,
    account: String,
    expires_at: DateTime<Utc>,
    /// The external consumer id a ConsumerJWS is bound to.
    consumer: Option<String>,
}

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

/// The connector state shared by every request.
#[derive(Default)]
pub(super) struct ConnectorState {
    tokens: Mutex<HashMap<String, Issued>>,
    issued: AtomicUsize,
    conversations: Mutex<Conversations>,
}

/// The conversations, and the closed ones' ids, longest closed first.
#[derive(Default)]
struct Conversations {
    by_id: HashMap<String, Conversation>,
    closed: std::collections::VecDeque<String>,
}

impl Conversations {
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
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ConnectorState {
    /// Keeps a token just issued; every [`SWEEP_EVERY`] tokens, forgets the
    /// expired ones (they are then "not issued by the emulator": still
    /// refused when credentials are checked, accepted by default).
    fn keep(&self, token: String, issued: Issued, now: DateTime<Utc>) {
        let mut tokens = lock(&self.tokens);
        if self.issued.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            tokens.retain(|_, t| t.expires_at > now);
        }
        tokens.insert(token, issued);
    }

    /// Forgets every issued token and every conversation (`/__emulator/reset`).
    pub(super) fn clear(&self) {
        lock(&self.tokens).clear();
        let mut conversations = lock(&self.conversations);
        conversations.by_id.clear();
        conversations.closed.clear();
    }

    /// How many issued tokens are held (for tests of the sweep).
    pub(super) fn held_tokens(&self) -> usize {
        lock(&self.tokens).len()
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An unsigned JWT (`alg` `none`) with these claims.
fn unsigned_jwt(claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT", "kid": "ccs-emulator"});
    format!(
        "{}.{}.",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// Whole seconds since the epoch, rounded down.
fn seconds(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

// ---------------------------------------------------------------------------
// Domain API
// ---------------------------------------------------------------------------

/// The emulator's own `host:port`, as the client reached it (`Host`).
fn own_host(c: &Call<'_>) -> Result<String, ApiError> {
    let host = c
        .header(header::HOST.as_str())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| ApiError::bad_request("a Host header is required"))?;
    let valid = !host.contains(['@', '/', '?', '#', ' '])
        && host.parse::<axum::http::uri::Authority>().is_ok();
    if !valid {
        return Err(ApiError::bad_request("the Host header is not host[:port]"));
    }
    Ok(host.to_owned())
}

fn domain_version(c: &Call<'_>) -> Result<(), ApiError> {
    match c.query("version") {
        Some("1.0") => Ok(()),
        _ => Err(ApiError::bad_request("version must be 1.0")),
    }
}

/// `GET /api/account/{accountId}/service/baseURI.json?version=1.0`: every
/// service, each at the emulator's own address.
pub(super) fn list_service_domains(c: &Call<'_>) -> ApiResult {
    let account = c.account()?;
    domain_version(c)?;
    let host = own_host(c)?;
    let entries: Vec<Value> = SERVICES
        .iter()
        .map(|service| json!({"service": service, "account": account, "baseURI": host}))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({ "baseURIs": entries }).to_string(),
    ))
}

/// `GET /api/account/{accountId}/service/{serviceName}/baseURI.json?version=1.0`.
pub(super) fn get_service_domain(c: &Call<'_>) -> ApiResult {
    let account = c.account()?;
    domain_version(c)?;
    let service = c.service();
    if !SERVICES.contains(&service) {
        return Err(ApiError::not_found(format!("service not found: {service}")));
    }
    let host = own_host(c)?;
    Ok(json_response(
        StatusCode::OK,
        json!({"service": service, "account": account, "baseURI": host}).to_string(),
    ))
}

// ---------------------------------------------------------------------------
// Sentinel
// ---------------------------------------------------------------------------

/// An OAuth 2.0 error answer (RFC 6749, 5.2).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> ApiResult {
    Ok(json_response(
        status,
        json!({"error": error, "error_description": description}).to_string(),
    ))
}

/// `POST /sentinel/api/account/{accountId}/app/token?v=1.0&grant_type=client_credentials`
/// with the form `client_id`, `client_secret`: an AppJWT living the
/// configured token TTL.
pub(super) fn get_app_jwt(c: &Call<'_>) -> ApiResult {
    // Sentinel's errors are OAuth 2.0's, the account's too.
    let Ok(account) = c.account() else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "invalid account id",
        );
    };
    if c.query("v") != Some("1.0") {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "v must be 1.0");
    }
    if c.query("grant_type") != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    let form = c
        .header(header::CONTENT_TYPE.as_str())
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    }
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&c.body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body is not a form",
        );
    };
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    };
    let (Some(client_id), Some(client_secret)) = (field("client_id"), field("client_secret"))
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and client_secret are required",
        );
    };
    let config = &c.shared.config;
    if let (Some(id), Some(secret)) = (&config.app_client_id, &config.app_client_secret) {
        // Both compared, whatever the first says: no timing hint of which.
        let id_ok = same_secret(client_id.as_bytes(), id.as_bytes());
        let secret_ok = same_secret(client_secret.as_bytes(), secret.as_bytes());
        if !(id_ok & secret_ok) {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            );
        }
    }
    let now = now(c.shared);
    let expires_at = now + ttl(c.shared);
    let claims = json!({
        "aud": account,
        "azp": client_id,
        "scope": "msg.consumer",
        "iss": "Sentinel",
        "iat": seconds(now),
        "exp": seconds(expires_at),
        "jti": uuid::Uuid::new_v4().simple().to_string(),
    });
    let token = unsigned_jwt(&claims);
    c.shared.connector.keep(
        token.clone(),
        Issued {
            kind: Kind::AppJwt,
            account: account.to_owned(),
            expires_at,
            consumer: None,
        },
        now,
    );
    Ok(json_response(
        StatusCode::OK,
        json!({"access_token": token, "token_type": "Bearer"}).to_string(),
    ))
}

fn ttl(shared: &Shared) -> TimeDelta {
    TimeDelta::from_std(shared.config.token_ttl).unwrap_or(TimeDelta::MAX)
}

// ---------------------------------------------------------------------------
// IDP
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct ConsumerJwsRequest {
    ext_consumer_id: String,
}

/// Whether a token is acceptable as the given kind for the account: one
/// this emulator issued and that has not expired, or, unless connector
/// credentials are configured, any other non-empty token.
fn token_ok(c: &Call<'_>, token: &str, kind: Kind, account: &str) -> bool {
    let tokens = lock(&c.shared.connector.tokens);
    match tokens.get(token) {
        Some(issued) => {
            issued.kind == kind && issued.account == account && issued.expires_at > now(c.shared)
        }
        None => c.shared.config.app_client_id.is_none(),
    }
}

/// `POST /api/account/{accountId}/consumer?v=1.0` with the AppJWT and
/// `{"ext_consumer_id": ...}`: 201 with a ConsumerJWS bound to that consumer,
/// living the configured token TTL (the emulator's own limit: the token
/// carries no `exp`, as the documented one).
pub(super) fn get_consumer_jws(c: &Call<'_>) -> ApiResult {
    let account = c.account()?;
    let app_jwt = c.header(header::AUTHORIZATION.as_str()).unwrap_or_default();
    if app_jwt.is_empty() {
        return Err(ApiError::unauthorized("AppJWT is missing"));
    }
    if !token_ok(c, app_jwt, Kind::AppJwt, account) {
        return Err(ApiError::unauthorized("AppJWT has expired or is invalid"));
    }
    if c.query("v") != Some("1.0") {
        return Err(ApiError::bad_request("the query parameter v must be 1.0"));
    }
    let request: ConsumerJwsRequest = c.json()?;
    if request.ext_consumer_id.is_empty() {
        return Err(ApiError::bad_request("ext_consumer_id is missing"));
    }
    let now = now(c.shared);
    let mut hasher = std::hash::DefaultHasher::new();
    (account, &request.ext_consumer_id).hash(&mut hasher);
    let claims = json!({
        "account_id": account,
        "ext_consumer_id": request.ext_consumer_id,
        "lp_consumer_id": format!("{:016x}", hasher.finish()),
        "iat": seconds(now),
        "jti": uuid::Uuid::new_v4().simple().to_string(),
    });
    let token = unsigned_jwt(&claims);
    c.shared.connector.keep(
        token.clone(),
        Issued {
            kind: Kind::ConsumerJws,
            account: account.to_owned(),
            expires_at: now + ttl(c.shared),
            consumer: Some(request.ext_consumer_id),
        },
        now,
    );
    Ok(json_response(
        StatusCode::CREATED,
        json!({ "token": token }).to_string(),
    ))
}

// ---------------------------------------------------------------------------
// CONVERSATION and SEND: the tokens
// ---------------------------------------------------------------------------

/// The documented connector error body.
fn connector_error(
    status: StatusCode,
    title: &str,
    details: &str,
    code: u32,
) -> axum::response::Response {
    json_response(
        status,
        json!({
            "kind": "resp",
            "code": status.as_u16(),
            "body": {"title": title, "details": details, "errorCode": code},
            "type": ".ReqBody$ErrorResp",
        })
        .to_string(),
    )
}

/// Checks the AppJWT and ConsumerJWS of a CONVERSATION or SEND call before
/// anything else; returns who the consumer is, or the documented 401.
pub(super) fn consumer(c: &Call<'_>) -> Result<String, Box<axum::response::Response>> {
    let unauthorized = StatusCode::UNAUTHORIZED;
    let app_jwt = c.header(header::AUTHORIZATION.as_str()).unwrap_or_default();
    if app_jwt.is_empty() {
        return Err(Box::new(connector_error(
            unauthorized,
            "AppJWT is missing",
            "AUTHORIZATION header is not present",
            40105,
        )));
    }
    let jws = c.header("x-lp-on-behalf").unwrap_or_default();
    if jws.is_empty() {
        return Err(Box::new(connector_error(
            unauthorized,
            "ConsumerJWS is missing",
            "X_ON_BEHALF_HEADER is not present",
            40104,
        )));
    }
    let account = c.params_account();
    if !token_ok(c, app_jwt, Kind::AppJwt, account) {
        return Err(Box::new(connector_error(
            unauthorized,
            "Invalid AppJWT",
            "AppJWT has expired or is invalid",
            40102,
        )));
    }
    if !token_ok(c, jws, Kind::ConsumerJws, account) {
        return Err(Box::new(connector_error(
            unauthorized,
            "Invalid ConsumerJWS",
            "ConsumerJWS is invalid",
            40103,
        )));
    }
    let tokens = lock(&c.shared.connector.tokens);
    Ok(match tokens.get(jws).and_then(|t| t.consumer.as_deref()) {
        Some(ext) => format!("ext:{ext}"),
        None => format!("jws:{jws}"),
    })
}

/// Keeps a conversation CONVERSATION just opened; returns its id.
pub(super) fn open_conversation(shared: &Shared, account: &str, consumer: String) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    lock(&shared.connector.conversations).by_id.insert(
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

// ---------------------------------------------------------------------------
// SEND
// ---------------------------------------------------------------------------

/// The SEND payloads as `openapi/messaging.yaml` declares them.
mod shape {
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub(super) enum Kind {
        #[serde(rename = "req")]
        Req,
    }

    #[derive(Deserialize)]
    #[serde(tag = "type")]
    pub(super) enum Request {
        #[serde(rename = "ms.PublishEvent")]
        Publish {
            #[allow(dead_code)]
            kind: Kind,
            id: String,
            body: PublishBody,
        },
        #[serde(rename = "cm.UpdateConversationField")]
        Update {
            #[allow(dead_code)]
            kind: Kind,
            id: String,
            body: UpdateBody,
        },
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct PublishBody {
        pub(super) dialog_id: String,
        pub(super) event: Event,
    }

    #[derive(Deserialize)]
    #[serde(tag = "type")]
    pub(super) enum Event {
        #[serde(rename = "ContentEvent", rename_all = "camelCase")]
        Content {
            #[allow(dead_code)]
            content_type: ContentType,
            #[allow(dead_code)]
            message: String,
        },
        #[serde(rename = "ChatStateEvent", rename_all = "camelCase")]
        State {
            #[allow(dead_code)]
            chat_state: ChatState,
        },
        #[serde(rename = "AcceptStatusEvent", rename_all = "camelCase")]
        Accept {
            #[allow(dead_code)]
            status: AcceptStatus,
            sequence_list: Vec<u64>,
        },
    }

    #[derive(Deserialize)]
    pub(super) enum ContentType {
        #[serde(rename = "text/plain")]
        TextPlain,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "UPPERCASE")]
    pub(super) enum ChatState {
        Active,
        Inactive,
        Gone,
        Composing,
        Pause,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "UPPERCASE")]
    pub(super) enum AcceptStatus {
        Accept,
        Read,
        Access,
        Nack,
        Action,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct UpdateBody {
        pub(super) conversation_id: String,
        #[allow(dead_code)]
        pub(super) conversation_field: Field,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Field {
        #[allow(dead_code)]
        field: FieldName,
        #[allow(dead_code)]
        conversation_state: State,
    }

    #[derive(Deserialize)]
    pub(super) enum FieldName {
        ConversationStateField,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "UPPERCASE")]
    pub(super) enum State {
        Close,
    }
}

/// `POST /api/account/{accountId}/messaging/consumer/conversation/send?v=3`:
/// one payload. A published event gets the conversation's next sequence
/// number (from 0); a close closes it (again: 200). Unknown conversation, or
/// another consumer's: 404 `conversation not found`; publishing to a closed
/// one: 409 `conversation is closed`.
pub(super) fn send_to_conversation(c: &Call<'_>) -> ApiResult {
    let consumer = match consumer(c) {
        Ok(consumer) => consumer,
        Err(refused) => return Ok(*refused),
    };
    let account = c.account()?;
    if c.query("v") != Some("3") {
        return Err(ApiError::bad_request("the query parameter v must be 3"));
    }
    let payload: Value = c.json()?;
    let request = shape::Request::deserialize(&payload).map_err(|e| {
        ApiError::bad_request(format!(
            "the payload must be ms.PublishEvent or cm.UpdateConversationField: {e}"
        ))
    })?;
    let (id, conversation_id, event) = match request {
        shape::Request::Publish { id, body, .. } => {
            if let shape::Event::Accept { sequence_list, .. } = &body.event
                && sequence_list.is_empty()
            {
                return Err(ApiError::bad_request(
                    "sequenceList must name at least one message",
                ));
            }
            (id, body.dialog_id, true)
        }
        shape::Request::Update { id, body, .. } => (id, body.conversation_id, false),
    };
    let mut guard = lock(&c.shared.connector.conversations);
    let conversations = &mut *guard;
    let conversation = conversations
        .by_id
        .get_mut(&conversation_id)
        .filter(|conv| conv.account == account && conv.consumer == consumer)
        .ok_or_else(|| ApiError::not_found("conversation not found"))?;
    let body = if event {
        if !conversation.open {
            return Err(ApiError::conflict("conversation is closed"));
        }
        let sequence = conversation.next_sequence;
        conversation.next_sequence += 1;
        json!({ "sequence": sequence })
    } else {
        if conversation.open {
            conversation.open = false;
            conversations.closed(conversation_id, CLOSED_KEPT);
        }
        json!({})
    };
    Ok(json_response(
        StatusCode::OK,
        json!({"reqId": id, "code": "OK", "body": body}).to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::{Conversation, Conversations};

    fn open(conversations: &mut Conversations, id: &str) {
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
        let mut conversations = Conversations::default();
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
