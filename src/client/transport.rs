//! What every generated client carries: credentials, retry policy, and the
//! hooks that apply them to each request.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Request, Response, ResponseBuilderExt, StatusCode};
use tracing::Instrument;

use crate::client::retry::{
    RetryPolicy, is_retryable_failure, is_retryable_status, parse_retry_after,
};
use crate::client::secret::{Credential, Secret, scrub};
use crate::error::{BODY_CUT_MARK, Error};
use crate::generated;

/// The `tracing` target of this file's events: the module path it had before
/// `src/client/`, kept so that filters written for it still match.
const LOG_TARGET: &str = "liveperson_ccs::transport";

/// The one operation that must never be repeated automatically: it is not
/// idempotent (a retry could open a second conversation). SEND of a text
/// message is not repeated either: the layer gives those calls a policy
/// without retries (see `crate::messaging::OpenConversation`).
const NOT_IDEMPOTENT: &[&str] = &["create_conversation"];

/// How a request proves who sends it.
#[derive(Clone, Debug)]
pub(crate) enum Auth {
    /// CCS v1: the `maven-api-key` header.
    ApiKey(Credential),
    /// CCS v2: the `access_token` query parameter.
    AccessToken(Credential),
    /// Messaging: the AppJWT in `Authorization`, the ConsumerJWS in `X-LP-ON-BEHALF`.
    Messaging {
        app_jwt: Credential,
        consumer_jws: Credential,
    },
    /// The IDP: the AppJWT in `Authorization` only.
    AppJwt(Credential),
    /// No credential on the request (the Domain API; Sentinel, whose client
    /// secret is in the body): `scrub` lists the secrets an answer must never
    /// carry back into an error.
    None { scrub: Vec<Secret> },
}

/// How each call is carried out: retries, time limits, the size of answers.
#[derive(Clone, Debug)]
pub(crate) struct Policy {
    pub(crate) retry: RetryPolicy,
    /// The longest one attempt may take, its whole answer included.
    pub(crate) attempt_timeout: Duration,
    /// The longest a call may take, every attempt and wait included.
    pub(crate) deadline: Duration,
    /// The largest success body read.
    pub(crate) max_response_bytes: u64,
    /// The total timeout of the `reqwest::Client` the requests go through,
    /// when this crate built it (`None` for one the caller gave): an attempt
    /// whose timeout is that one needs none of its own on the request
    /// (reqwest keeps a request's in an extension map, two allocations).
    pub(crate) client_timeout: Option<Duration>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            retry: RetryPolicy::default(),
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            deadline: DEFAULT_CALL_DEADLINE,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            client_timeout: None,
        }
    }
}

/// The state each generated client carries (progenitor's "inner type").
#[derive(Clone, Debug)]
pub struct Transport {
    auth: Auth,
    policy: Policy,
    /// The credential values sent most recently, so that an error built from
    /// a body the service sent (even a 2xx one) never carries them.
    sent: Arc<Mutex<Vec<Secret>>>,
    /// The headers of fixed, valid credentials (an API key; an AppJWT and a
    /// ConsumerJWS), made once instead of per call; empty otherwise.
    fixed_headers: Arc<[(HeaderName, Secret, HeaderValue)]>,
    /// Every credential's value, when all are fixed: exactly what `prepare`
    /// puts on each request, so they need not be read back from one.
    fixed_secrets: Option<Arc<[Secret]>>,
    /// Errors of `prepare` that the generated client can carry only as text
    /// (`Custom`), kept so that `convert` returns them whole, source and all.
    parked: Arc<Mutex<Vec<(String, Error)>>>,
}

/// How many distinct credential values a transport remembers for scrubbing:
/// enough for every credential of one client across a refresh or two.
const REMEMBERED: usize = 8;

/// The most of an error body kept (and read): 64 KiB.
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;

static MAVEN_API_KEY: HeaderName = HeaderName::from_static("maven-api-key");
static API_VERSION: HeaderName = HeaderName::from_static("api-version");
static X_LP_ON_BEHALF: HeaderName = HeaderName::from_static("x-lp-on-behalf");

fn sensitive(value: &str, name: &'static str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(value).map_err(|_| Error::Credentials {
        reason: format!("the {name} contains characters a header cannot carry"),
    })?;
    value.set_sensitive(true);
    Ok(value)
}

impl Transport {
    pub(crate) fn new(auth: Auth, policy: Policy) -> Self {
        // An empty or unsendable credential is left to `prepare`, which
        // reports it on each call as before.
        let header = |name: &HeaderName, credential: &Credential| {
            let secret = credential.fixed().filter(|secret| !secret.is_empty())?;
            let value = sensitive(secret.expose(), "credential").ok()?;
            Some((name.clone(), secret.clone(), value))
        };
        let fixed_headers: Arc<[_]> = match &auth {
            Auth::ApiKey(key) => header(&MAVEN_API_KEY, key).into_iter().collect(),
            Auth::AppJwt(app_jwt) => header(&reqwest::header::AUTHORIZATION, app_jwt)
                .into_iter()
                .collect(),
            Auth::Messaging {
                app_jwt,
                consumer_jws,
            } => header(&reqwest::header::AUTHORIZATION, app_jwt)
                .zip(header(&X_LP_ON_BEHALF, consumer_jws))
                .map(|(app, consumer)| vec![app, consumer])
                .unwrap_or_default(),
            Auth::AccessToken(_) | Auth::None { .. } => Vec::new(),
        }
        .into();
        // Their values are remembered (for scrubbing) from the start.
        let sent = fixed_headers
            .iter()
            .map(|(_, secret, _)| secret.clone())
            .collect();
        let fixed_secrets = fixed_secrets(&auth).map(Arc::from);
        Transport {
            auth,
            policy,
            sent: Arc::new(Mutex::new(sent)),
            fixed_headers,
            fixed_secrets,
            parked: Arc::default(),
        }
    }

    /// Keeps an error the generated client can only carry as text; returns
    /// that text, which [`unpark`](Self::unpark) takes back.
    fn park(&self, error: Error) -> String {
        let text = error.to_string();
        let mut parked = self.parked.lock().unwrap_or_else(PoisonError::into_inner);
        if parked.len() == REMEMBERED {
            parked.remove(0);
        }
        parked.push((text.clone(), error));
        text
    }

    fn unpark(&self, text: &str) -> Option<Error> {
        let mut parked = self.parked.lock().unwrap_or_else(PoisonError::into_inner);
        let at = parked.iter().position(|(t, _)| t == text)?;
        Some(parked.remove(at).1)
    }

    fn remember(&self, secret: &Secret) {
        let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        if !sent.contains(secret) {
            if sent.len() == REMEMBERED {
                sent.remove(0);
            }
            sent.push(secret.clone());
        }
    }

    /// Removes every credential this transport has sent, and any
    /// `access_token=` value, from a text the service sent.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        let secrets: Vec<&str> = sent.iter().map(Secret::expose).collect();
        scrub(text, &secrets)
    }

    /// A decode error whose body is scrubbed and cut to 64 KiB.
    pub(crate) fn decode_error(
        &self,
        operation: &'static str,
        reason: impl Into<String>,
        body: &[u8],
    ) -> Error {
        let sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        let secrets: Vec<&str> = sent.iter().map(Secret::expose).collect();
        let cut = body.len() > MAX_ERROR_BODY;
        Error::Decode {
            operation,
            status: None,
            reason: reason.into(),
            body: bounded_text(&body[..body.len().min(MAX_ERROR_BODY)], cut, &secrets),
        }
    }

    /// Adds the credentials to a request, and removes progenitor's
    /// `api-version` header, which LivePerson's APIs do not define.
    async fn prepare(&self, request: &mut Request) -> Result<(), Error> {
        request.headers_mut().remove(&API_VERSION);
        if !self.fixed_headers.is_empty() {
            // Their values were remembered when the transport was made.
            for (name, _, value) in self.fixed_headers.iter() {
                request.headers_mut().insert(name.clone(), value.clone());
            }
            return Ok(());
        }
        match &self.auth {
            Auth::None { scrub } => {
                for secret in scrub {
                    self.remember(secret);
                }
            }
            Auth::AppJwt(app_jwt) => {
                let app = app_jwt.resolve("AppJWT").await?;
                self.remember(&app);
                request.headers_mut().insert(
                    reqwest::header::AUTHORIZATION,
                    sensitive(app.expose(), "AppJWT")?,
                );
            }
            Auth::ApiKey(key) => {
                let key = key.resolve("API key").await?;
                self.remember(&key);
                let value = sensitive(key.expose(), "API key")?;
                request.headers_mut().insert(MAVEN_API_KEY.clone(), value);
            }
            Auth::AccessToken(token) => {
                let token = token.resolve("access token").await?;
                self.remember(&token);
                request
                    .url_mut()
                    .query_pairs_mut()
                    .append_pair("access_token", token.expose());
            }
            Auth::Messaging {
                app_jwt,
                consumer_jws,
            } => {
                let app = app_jwt.resolve("AppJWT").await?;
                let consumer = consumer_jws.resolve("ConsumerJWS").await?;
                self.remember(&app);
                self.remember(&consumer);
                let headers = request.headers_mut();
                headers.insert(
                    reqwest::header::AUTHORIZATION,
                    sensitive(app.expose(), "AppJWT")?,
                );
                headers.insert(
                    X_LP_ON_BEHALF.clone(),
                    sensitive(consumer.expose(), "ConsumerJWS")?,
                );
            }
        }
        Ok(())
    }

    /// Sends a request, retrying as the policy allows within the call's
    /// deadline, and reads its answer: a success body whole (up to the
    /// limit), an error body up to 64 KiB, scrubbed of the credentials the
    /// request carried. Logs one completion event per call.
    async fn execute(
        &self,
        http: &reqwest::Client,
        request: Request,
        operation: &'static str,
    ) -> reqwest::Result<Answer> {
        let span = tracing::info_span!(
            target: LOG_TARGET,
            "liveperson_ccs.call",
            operation,
            method = %request.method(),
        );
        async {
            let started = Instant::now();
            let (result, attempts) = self.attempts(http, request, operation, started).await;
            // The clock is read again only for a debug event that is wanted.
            if tracing::enabled!(target: LOG_TARGET, tracing::Level::DEBUG) {
                let duration_ms = started.elapsed().as_millis() as u64;
                match &result {
                    Ok(response) => tracing::debug!(
                        target: LOG_TARGET,
                        status = response.status().as_u16(),
                        attempts,
                        duration_ms,
                        "call finished"
                    ),
                    Err(error) => tracing::debug!(
                        target: LOG_TARGET,
                        cause = failure_cause(error),
                        error = %Causes(error),
                        attempts,
                        duration_ms,
                        "call finished"
                    ),
                }
            }
            result
        }
        .instrument(span)
        .await
    }

    /// The attempts of one call, and how many were made.
    async fn attempts(
        &self,
        http: &reqwest::Client,
        mut request: Request,
        operation: &'static str,
        started: Instant,
    ) -> (reqwest::Result<Answer>, u32) {
        // The credential values the request carries, read only when an
        // answer must be scrubbed: from the copy kept for a retry, or, when
        // none is kept, from the request before it leaves.
        let mut secrets: Option<Vec<Secret>> = None;
        let policy = &self.policy;
        let may_retry = !NOT_IDEMPOTENT.contains(&operation);
        let mut attempt = 1;
        loop {
            // The copy is taken before the timeout is set (reqwest keeps it
            // in the request's extensions, which a copy would clone): the
            // next attempt sets its own.
            let again = if may_retry && attempt < policy.retry.max_attempts() {
                copy_for_retry(&request)
            } else {
                None
            };
            // Each attempt gets its own timeout, cut short by the call's
            // deadline. reqwest applies it until the body is read (below).
            // The first starts as the call does (no clock read needed).
            let left = if attempt == 1 {
                policy.deadline
            } else {
                policy.deadline.saturating_sub(started.elapsed())
            };
            let timeout = policy.attempt_timeout.min(left);
            // The client's own total timeout is the same limit, applied the
            // same way (reqwest takes a request's timeout, or else its
            // client's, until the body is read).
            if policy.client_timeout != Some(timeout) {
                *request.timeout_mut() = Some(timeout);
            }
            if again.is_none() && secrets.is_none() && !self.credentials_fixed() {
                secrets = Some(self.secrets_of(&request));
            }
            let result = http
                .execute(request)
                .await
                .map_err(reqwest::Error::without_url);
            // Boxed, as the sleep below: these futures would otherwise make
            // every call's future larger (and so slower to move).
            let (retry_after, outcome) = match result {
                Ok(response) if response.status().is_success() => {
                    match Box::pin(read_success(response, policy.max_response_bytes)).await {
                        Ok(read) => return (Ok(Answer::Success(read)), attempt),
                        Err(error) => (None, Err(error)),
                    }
                }
                Ok(response) => {
                    let status = response.status();
                    // Unread so far only when a copy was kept or they are
                    // fixed (see above).
                    debug_assert!(secrets.is_some() || again.is_some() || self.credentials_fixed());
                    let secrets = secrets.get_or_insert_with(|| {
                        self.fixed_secrets().unwrap_or_else(|| {
                            again.as_ref().map_or_else(Vec::new, |r| self.secrets_of(r))
                        })
                    });
                    match Box::pin(scrubbed(response, secrets)).await {
                        Ok(response) if !is_retryable_status(status) => {
                            return (Ok(Answer::Other(response)), attempt);
                        }
                        Ok(response) => {
                            let retry_after = response
                                .headers()
                                .get(reqwest::header::RETRY_AFTER)
                                .and_then(|v| v.to_str().ok())
                                .and_then(parse_retry_after);
                            (retry_after, Ok(Answer::Other(response)))
                        }
                        Err(error) => (None, Err(error)),
                    }
                }
                Err(error) => (None, Err(error)),
            };
            if let Err(error) = &outcome
                && !is_retryable_failure(error)
            {
                return (outcome, attempt);
            }
            let Some(next) = again else {
                return (outcome, attempt);
            };
            let wait = policy.retry.delay(attempt, retry_after);
            // No attempt starts that the deadline would cut at once.
            if started.elapsed() + wait >= policy.deadline {
                return (outcome, attempt);
            }
            match &outcome {
                Ok(response) => tracing::warn!(
                    target: LOG_TARGET,
                    attempt,
                    cause = "status",
                    status = response.status().as_u16(),
                    wait_ms = wait.as_millis() as u64,
                    "retrying"
                ),
                Err(error) => tracing::warn!(
                    target: LOG_TARGET,
                    attempt,
                    cause = failure_cause(error),
                    error = %Causes(error),
                    wait_ms = wait.as_millis() as u64,
                    "retrying"
                ),
            }
            drop(outcome);
            Box::pin(tokio::time::sleep(wait)).await;
            request = next;
            attempt += 1;
        }
    }
}

impl Transport {
    /// Whether every credential is fixed (see `fixed_secrets`).
    fn credentials_fixed(&self) -> bool {
        self.fixed_secrets.is_some()
    }

    /// The credentials' values when they are all fixed.
    fn fixed_secrets(&self) -> Option<Vec<Secret>> {
        self.fixed_secrets.as_deref().map(<[Secret]>::to_vec)
    }

    /// The credential values a request carries, and those its body carries
    /// (a client secret), to scrub from answers.
    fn secrets_of(&self, request: &Request) -> Vec<Secret> {
        if let Some(known) = self.fixed_secrets() {
            return known;
        }
        let mut secrets = secrets_of(request);
        if let Auth::None { scrub } = &self.auth {
            secrets.extend(scrub.iter().cloned());
        }
        secrets
    }
}

/// A copy of a request, to send again: what reqwest's `try_clone` gives,
/// without its cost. `try_clone` makes the copy's extension map for its
/// timeout, then drops it for the original's extensions (two allocations,
/// about 600 instructions).
///
/// The copy is taken before the attempt's timeout is set, so the request's
/// extensions are empty: every request sent here is made by a reqwest
/// `RequestBuilder` (the generated clients', or `RawCall`'s), whose only
/// extension is the timeout, which none of them sets. A small body is
/// copied (for a few hundred bytes that costs what `try_clone`'s sharing
/// does: its first clone allocates the shared count); a larger one is
/// shared by `try_clone`, and a stream is not copied, as `try_clone` does
/// not.
fn copy_for_retry(request: &Request) -> Option<Request> {
    /// Up to this size a body is copied rather than shared.
    const COPIED_BODY: usize = 4096;
    if request.timeout().is_some() {
        return request.try_clone();
    }
    let body = match request.body() {
        None => None,
        Some(body) => match body.as_bytes() {
            Some(bytes) if bytes.len() <= COPIED_BODY => Some(reqwest::Body::from(bytes.to_vec())),
            _ => return request.try_clone(),
        },
    };
    let mut copy = Request::new(request.method().clone(), request.url().clone());
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    *copy.body_mut() = body;
    Some(copy)
}

/// Every credential's value, when all of `auth`'s are fixed.
fn fixed_secrets(auth: &Auth) -> Option<Vec<Secret>> {
    let fixed = |credential: &Credential| credential.fixed().cloned();
    match auth {
        Auth::ApiKey(one) | Auth::AccessToken(one) | Auth::AppJwt(one) => {
            fixed(one).map(|one| vec![one])
        }
        Auth::Messaging {
            app_jwt,
            consumer_jws,
        } => fixed(app_jwt)
            .zip(fixed(consumer_jws))
            .map(|(a, c)| vec![a, c]),
        Auth::None { .. } => None,
    }
}

/// The credential values a request carries, to scrub from answers.
fn secrets_of(request: &Request) -> Vec<Secret> {
    let mut secrets: Vec<Secret> = request
        .headers()
        .iter()
        .filter(|(_, value)| value.is_sensitive())
        .filter_map(|(_, value)| value.to_str().ok().map(Secret::new))
        .collect();
    secrets.extend(
        request
            .url()
            .query_pairs()
            .filter(|(key, _)| key == "access_token")
            .map(|(_, value)| Secret::new(value)),
    );
    secrets
}

/// A success answer larger than the limit: its body is refused, not read.
#[derive(Debug)]
struct TooLarge {
    limit: u64,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the answer is larger than {} bytes", self.limit)
    }
}

impl std::error::Error for TooLarge {}

impl TooLarge {
    /// What [`from_failure`] makes of it when a reader of the body meets it.
    fn error(&self, operation: &'static str) -> Error {
        Error::ResponseTooLarge {
            operation,
            limit: self.limit,
        }
    }
}

/// What one call's attempts end with.
pub(crate) enum Answer {
    /// A 2xx answer, its body read (or refused as too large).
    Success(ReadAnswer),
    /// Any other answer, its body cut to 64 KiB and scrubbed.
    Other(Response),
}

impl Answer {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Answer::Success(read) => read.response.status(),
            Answer::Other(response) => response.status(),
        }
    }

    /// The answer as reqwest gives it, its body in memory: what the
    /// generated clients read.
    pub(crate) fn into_response(self) -> Response {
        match self {
            Answer::Success(read) => read.into_response(),
            Answer::Other(response) => response,
        }
    }
}

/// A success answer whose body was read in the retry loop (so that a body
/// cut in the middle is retried like any failed attempt).
pub(crate) struct ReadAnswer {
    /// The answer, its body consumed.
    response: Response,
    /// Its body (a reusable `Body`, made from bytes), or [`TooLarge`].
    body: Result<reqwest::Body, TooLarge>,
}

impl ReadAnswer {
    /// The body alone, or the error for one over the limit: the answer is
    /// dropped before the body is decoded. (Kept until then, it made the
    /// heap grow and shrink twice as often while a 700 KB document was
    /// decoded: 13 `brk` calls per read instead of 6, 10 to 20 % slower.)
    fn into_body(self, operation: &'static str) -> Result<reqwest::Body, Error> {
        self.body.map_err(|too_large| too_large.error(operation))
    }

    /// The answer rebuilt around its body, for a reader of
    /// `reqwest::Response` (the generated clients). A body over the limit
    /// becomes one whose reading fails with [`TooLarge`], which
    /// [`Transport::convert`] turns into [`Error::ResponseTooLarge`].
    fn into_response(self) -> Response {
        let ReadAnswer { mut response, body } = self;
        let status = response.status();
        let version = response.version();
        let headers = std::mem::take(response.headers_mut());
        // The answer's URL goes along, without its query (CCS v2's carries the
        // access token): without a URL, reqwest would parse a placeholder one
        // for every answer (about 3.5k instructions a call).
        let mut url = response.url().clone();
        url.set_query(None);
        // The extensions hyper and reqwest attached go along too (and the URL
        // joins them, in the map they already have).
        let extensions = std::mem::take(response.extensions_mut());
        let body = body.unwrap_or_else(|TooLarge { limit }| {
            let failing =
                futures::stream::once(async move { Err::<Vec<u8>, _>(TooLarge { limit }) });
            reqwest::Body::wrap_stream(failing)
        });
        let mut rebuilt = http::Response::new(body);
        *rebuilt.status_mut() = status;
        *rebuilt.version_mut() = version;
        *rebuilt.headers_mut() = headers;
        // `ResponseUrl` is reqwest's own extension, set only through its
        // builder (which cannot fail with no status or header given). Were
        // it to fail, the answer would carry reqwest's placeholder URL.
        let mut builder = http::Response::builder();
        if let Some(slot) = builder.extensions_mut() {
            *slot = extensions;
        }
        if let Ok(with_url) = builder.url(url).body(()) {
            *rebuilt.extensions_mut() = with_url.into_parts().0.extensions;
        }
        Response::from(rebuilt)
    }
}

/// Reads a success answer's body, chunk by chunk, into memory. A body over
/// `limit` bytes (by its `Content-Length`, or as it arrives) is not read
/// further: it is [`TooLarge`].
async fn read_success(mut response: Response, limit: u64) -> reqwest::Result<ReadAnswer> {
    let refuse = |response| {
        tracing::warn!(target: LOG_TARGET, limit, "answer too large: refused");
        Ok(ReadAnswer {
            response,
            body: Err(TooLarge { limit }),
        })
    };
    let expected = response.content_length();
    if expected.is_some_and(|length| length > limit) {
        return refuse(response);
    }
    // One chunk (the usual case for a small answer) is kept as it came.
    let mut first = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut total: u64 = 0;
    while let Some(chunk) = response.chunk().await? {
        total += chunk.len() as u64;
        if total > limit {
            return refuse(response);
        }
        match first.take() {
            None if joined.is_empty() => first = Some(chunk),
            None => joined.extend_from_slice(&chunk),
            Some(earlier) => {
                // At most `limit` bytes, checked above.
                joined.reserve(usize::try_from(expected.unwrap_or(total)).unwrap_or(0));
                joined.extend_from_slice(&earlier);
                joined.extend_from_slice(&chunk);
            }
        }
    }
    let body = match first {
        Some(chunk) => reqwest::Body::from(chunk),
        None => reqwest::Body::from(joined),
    };
    Ok(ReadAnswer {
        response,
        body: Ok(body),
    })
}

/// The bytes of a body read whole (a body made from bytes always has them:
/// `as_bytes` is `None` only for a stream).
fn bytes_of(body: &reqwest::Body) -> &[u8] {
    body.as_bytes().unwrap_or_default()
}

/// Rebuilds an error answer with the first 64 KiB of its body, scrubbed (and
/// no URL attached). The rest is not read: the connection is dropped.
async fn scrubbed(mut response: Response, secrets: &[Secret]) -> reqwest::Result<Response> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let mut bytes: Vec<u8> = Vec::new();
    let mut cut = false;
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_ERROR_BODY - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            cut = true;
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    let secrets: Vec<&str> = secrets.iter().map(Secret::expose).collect();
    let body = bounded_text(&bytes, cut, &secrets);
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.headers_mut() = headers;
    rebuilt
        .headers_mut()
        .remove(reqwest::header::CONTENT_LENGTH);
    Ok(Response::from(rebuilt))
}

/// The text of a body, scrubbed of the secrets; when it was `cut`, also of
/// any start of a secret the cut left at its end, and marked as cut.
fn bounded_text(bytes: &[u8], cut: bool, secrets: &[&str]) -> String {
    let mut text = scrub(&String::from_utf8_lossy(bytes), secrets);
    if cut {
        // A secret the cut split in two would survive the scrub as its
        // first part: remove any end of the text that begins a secret.
        for secret in secrets {
            for (at, _) in secret.char_indices().rev().filter(|(at, _)| *at > 0) {
                if text.ends_with(&secret[..at]) {
                    text.truncate(text.len() - at);
                    break;
                }
            }
        }
        text.push_str(BODY_CUT_MARK);
    }
    text
}

impl Transport {
    /// Turns a generated client's error into the crate's.
    pub(crate) async fn convert<E>(
        &self,
        operation: &'static str,
        error: progenitor_client::Error<E>,
    ) -> Error {
        use progenitor_client::Error as P;
        match error {
            P::InvalidRequest(reason) => Error::invalid("request", reason),
            P::Custom(reason) => self
                .unpark(&reason)
                .unwrap_or(Error::Credentials { reason }),
            P::CommunicationError(source)
            | P::InvalidUpgrade(source)
            | P::ResponseBodyError(source) => from_failure(operation, source),
            P::ErrorResponse(value) => Error::Api {
                operation,
                status: value.status(),
                body: String::new(),
            },
            P::InvalidResponsePayload(bytes, reason) => {
                self.decode_error(operation, reason.to_string(), &bytes)
            }
            // Its body was scrubbed in `exec`, before progenitor saw it.
            P::UnexpectedResponse(response) => from_response(operation, response).await,
        }
    }

    /// For calls that answer no body: any 2xx is success, even one the spec
    /// does not list (a 200 where the documents say 204).
    pub(crate) async fn unit<T, E>(
        &self,
        operation: &'static str,
        result: Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>,
    ) -> Result<(), Error> {
        match result {
            Ok(_) => Ok(()),
            Err(progenitor_client::Error::UnexpectedResponse(r)) if r.status().is_success() => {
                Ok(())
            }
            Err(e) => Err(self.convert(operation, e).await),
        }
    }

    /// For calls that answer a value.
    pub(crate) async fn value<T, E>(
        &self,
        operation: &'static str,
        result: Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>,
    ) -> Result<T, Error> {
        match result {
            Ok(value) => Ok(value.into_inner()),
            Err(e) => Err(self.convert(operation, e).await),
        }
    }
}

/// A request the layer writes itself, for the calls whose bodies must keep
/// each value's JSON text exactly (`serde_json::value::RawValue`): the
/// generated clients decode answers into `serde_json::Value`, which rewrites
/// numbers (`123456789012345678901234` becomes `1.2345678901234567e+23`,
/// `1e2` becomes `100.0`); and for the small calls made most often
/// (`Session::get_property_value`, `Session::set_properties`, v2
/// `Document::get`), which it makes without a generated call's builder,
/// path formatting and `api-version` header (about 6k instructions a call
/// fewer: BENCHMARKS.md, issue 28). Each mirrors one generated operation: the
/// same request bytes (the request-shape snapshots hold them) and the same
/// answers ([`Transport::raw_ok`], [`Transport::raw_unit`]).
///
/// The path segments are percent-encoded as the generated clients encode
/// theirs ([`crate::names::encode_path`]), and the request then takes the same
/// road as theirs: [`Transport::prepare`] (credentials, no `api-version`),
/// [`Transport::execute`] (retries, attempt timeout and call deadline, the
/// success body limit, error bodies cut and scrubbed, the call's span and
/// completion event), and the same error classification.
pub(crate) struct RawCall<'a> {
    /// The operation id, for logs and errors (the generated one it mirrors).
    pub(crate) operation: &'static str,
    pub(crate) method: reqwest::Method,
    /// The client's base URL (no trailing `/`).
    pub(crate) base_url: &'a str,
    /// Literal path pieces and path parameters, in order.
    pub(crate) path: &'a [PathPart<'a>],
    /// Query parameters, form-encoded.
    pub(crate) query: &'a [(&'a str, String)],
    /// A JSON body, as text already written.
    pub(crate) body: Option<Vec<u8>>,
    /// Whether to send `Accept: application/json`, as the generated calls
    /// that declare a JSON answer do; `false` leaves reqwest's `*/*`, as the
    /// generated calls that declare no answer body send.
    pub(crate) accept_json: bool,
}

/// One piece of a [`RawCall`]'s path.
pub(crate) enum PathPart<'a> {
    /// Written as is, e.g. `/v1/account/`.
    Literal(&'static str),
    /// A path parameter: percent-encoded.
    Param(&'a str),
}

impl RawCall<'_> {
    fn url(&self) -> String {
        // Room for the whole URL when no parameter needs encoding (the
        // usual case): one allocation.
        let room = self.path.iter().fold(self.base_url.len(), |room, part| {
            room + match part {
                PathPart::Literal(text) => text.len(),
                PathPart::Param(value) => value.len(),
            }
        });
        let mut url = String::with_capacity(room);
        url.push_str(self.base_url);
        for part in self.path {
            match part {
                PathPart::Literal(text) => url.push_str(text),
                PathPart::Param(value) => crate::names::push_encoded(&mut url, value),
            }
        }
        url
    }
}

impl Transport {
    /// Sends a [`RawCall`] and decodes its answer, a 2xx, as `T` (text kept
    /// where `T` holds `RawValue`s). Any other answer is the error the
    /// generated clients' calls give for it.
    pub(crate) async fn raw_json<T: serde::de::DeserializeOwned>(
        &self,
        http: &reqwest::Client,
        call: RawCall<'_>,
    ) -> Result<T, Error> {
        let operation = call.operation;
        let body = self.raw_send(http, call).await?.into_body(operation)?;
        let body = bytes_of(&body);
        serde_json::from_slice(body).map_err(|e| self.decode_error(operation, e.to_string(), body))
    }

    /// Sends a [`RawCall`] whose answer has no body: any 2xx is success.
    pub(crate) async fn raw_unit(
        &self,
        http: &reqwest::Client,
        call: RawCall<'_>,
    ) -> Result<(), Error> {
        self.raw_send(http, call).await.map(drop)
    }

    /// Sends a [`RawCall`] answered as a generated call that declares one
    /// `200` JSON answer is: a 200's body goes to `decode`; any other answer,
    /// another 2xx included, is the error that generated call gives for it.
    pub(crate) async fn raw_ok<T>(
        &self,
        http: &reqwest::Client,
        call: RawCall<'_>,
        decode: impl FnOnce(&[u8]) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let operation = call.operation;
        let read = self.raw_send(http, call).await?;
        if read.response.status() != StatusCode::OK {
            return Err(from_response(operation, read.into_response()).await);
        }
        decode(bytes_of(&read.into_body(operation)?))
    }

    /// Sends a [`RawCall`]: a 2xx answer, read, or the error for any other.
    async fn raw_send(
        &self,
        http: &reqwest::Client,
        call: RawCall<'_>,
    ) -> Result<ReadAnswer, Error> {
        const JSON: HeaderValue = HeaderValue::from_static("application/json");
        let operation = call.operation;
        let url = call.url();
        let mut builder = http.request(call.method.clone(), url.as_str());
        if call.accept_json {
            builder = builder.header(reqwest::header::ACCEPT, JSON);
        }
        if !call.query.is_empty() {
            builder = builder.query(call.query);
        }
        if let Some(body) = call.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, JSON)
                .body(body);
        }
        let mut request = builder
            .build()
            .map_err(|e| Error::invalid("request", e.without_url().to_string()))?;
        // The URL as parsed must keep the path exactly as written: a parser
        // that rewrote it (a `\` read as `/`, a `..` resolved) would send
        // the request somewhere else.
        if !request.url().path().ends_with(&url[call.base_url.len()..]) {
            return Err(Error::invalid(
                "request path",
                format!("{operation}: the URL parser rewrote the path"),
            ));
        }
        self.prepare(&mut request).await?;
        match self.execute(http, request, operation).await {
            Ok(Answer::Success(read)) => Ok(read),
            Ok(Answer::Other(response)) => Err(from_response(operation, response).await),
            Err(failure) => Err(from_failure(operation, failure)),
        }
    }
}

/// Classifies a failure without an answer.
pub(crate) fn from_failure(operation: &'static str, source: reqwest::Error) -> Error {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&source);
    while let Some(error) = cause {
        if let Some(too_large) = error.downcast_ref::<TooLarge>() {
            return Error::ResponseTooLarge {
                operation,
                limit: too_large.limit,
            };
        }
        cause = error.source();
    }
    if source.is_timeout() {
        return Error::Timeout { operation };
    }
    Error::Transport {
        operation,
        source: Box::new(source.without_url()),
    }
}

/// Classifies a non-success answer on its status alone.
pub(crate) async fn from_response(operation: &'static str, response: Response) -> Error {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    if status.is_redirection() {
        return Error::Redirected {
            operation,
            status,
            location: response
                .headers()
                .get(reqwest::header::LOCATION)
                .map(location_host),
        };
    }
    // The body was read (and cut to 64 KiB) in `exec`: this takes it from memory.
    let body = match response.text().await {
        Ok(body) => body,
        Err(source) => return from_failure(operation, source),
    };
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Error::Unauthorized {
            operation,
            status,
            body,
        },
        StatusCode::NOT_FOUND => Error::NotFound { operation, body },
        StatusCode::PAYLOAD_TOO_LARGE => Error::DocumentTooLarge { operation, body },
        StatusCode::TOO_MANY_REQUESTS => Error::RateLimited {
            operation,
            retry_after,
            body,
        },
        _ => Error::Api {
            operation,
            status,
            body,
        },
    }
}

/// The host (and port) a `Location` header names: never its path or query,
/// which may carry anything, the request's `access_token` included.
fn location_host(value: &HeaderValue) -> String {
    let text = String::from_utf8_lossy(value.as_bytes());
    let text = text.trim();
    // `//host/path` is another host, on the request's scheme.
    let absolute = match text.strip_prefix("//") {
        Some(rest) => format!("http://{rest}"),
        None => text.to_owned(),
    };
    match reqwest::Url::parse(&absolute) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => "a location without a host".to_owned(),
        },
        // A path: not another host.
        Err(_) if !text.contains("://") => "the same host".to_owned(),
        Err(_) => "an unreadable location".to_owned(),
    }
}

/// Why an attempt got no answer, for the `cause` field of the log events
/// that report a failed attempt: one word of a closed set, so that logs can
/// be filtered and counted.
///
/// | cause | what happened |
/// | --- | --- |
/// | `timeout` | the attempt's timeout (or the call's deadline) ran out |
/// | `tls` | the TLS handshake failed (e.g. a certificate) |
/// | `connect` | no connection: refused, unreachable, DNS |
/// | `closed` | the connection closed or reset before the whole answer |
/// | `body` | the answer's body could not be read (or was over the limit) |
/// | `request` | the request could not be sent otherwise |
/// | `other` | anything else |
///
/// (`status`, the one more value the `retrying` event uses, is an answer
/// whose status is retried: 429, 502, 503, 504.)
pub(crate) fn failure_cause(error: &reqwest::Error) -> &'static str {
    let chain = || {
        std::iter::successors(Some(error as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
    };
    if error.is_timeout() {
        return "timeout";
    }
    // hyper and rustls keep their error kinds private: their words are what
    // tells a handshake or a closed connection apart.
    let said = |words: &[&str]| {
        chain().any(|e| {
            let text = e.to_string().to_ascii_lowercase();
            words.iter().any(|w| text.contains(w))
        })
    };
    if error.is_connect() {
        return if said(&["certificate", "tls", "handshake"]) {
            "tls"
        } else {
            "connect"
        };
    }
    if chain().any(|e| e.is::<TooLarge>()) || error.is_body() || error.is_decode() {
        return "body";
    }
    if said(&[
        "connection closed",
        "connection reset",
        "incomplete",
        "broken pipe",
    ]) {
        return "closed";
    }
    if error.is_request() {
        return "request";
    }
    "other"
}

/// An error and each of its causes, `: `-separated, for a log event: a
/// reqwest error's own message ("error sending request") does not say why.
pub(crate) struct Causes<'a>(pub(crate) &'a reqwest::Error);

impl std::fmt::Display for Causes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = std::error::Error::source(self.0);
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

/// Refuses a request whose URL path is not the client's base path followed
/// by exactly the segments `operation` declares in its spec (`paths`, made
/// by build.rs): the same literal segments, and one non-empty segment for
/// each path parameter.
///
/// Every name is encoded by [`crate::names::encode_path`], which gives one
/// segment that no URL parser rewrites; this check is the guard behind it,
/// so that a path parameter encoded some other way (a future spec, a change
/// of generator) that adds, removes or rewrites a segment is refused, never
/// sent. An operation missing from `paths` is refused too.
pub(crate) fn check_path(
    url: &reqwest::Url,
    base_url: &str,
    operation: &str,
    paths: &[(&str, &[Option<&str>])],
) -> Result<(), Error> {
    let refuse = |why: &str| {
        Err(Error::invalid(
            "request path",
            format!("{operation}: {why}; the request was not sent"),
        ))
    };
    let Some(&(_, declared)) = paths.iter().find(|(id, _)| *id == operation) else {
        return refuse("the operation has no declared path");
    };
    let mut path = url.path();
    for segment in declared.iter().rev() {
        let Some((rest, last)) = path.rsplit_once('/') else {
            return refuse("the path has fewer segments than declared");
        };
        let fits = match segment {
            Some(literal) => last == *literal,
            None => !last.is_empty(),
        };
        if !fits {
            return refuse("a path segment is not the one declared");
        }
        path = rest;
    }
    // What is left is the base URL's own path (`""` for none).
    let base_path = base_url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]))
        .unwrap_or("");
    if path != base_path.trim_end_matches('/') {
        return refuse("the path has more segments than declared");
    }
    Ok(())
}

macro_rules! hooks {
    ($module:ident) => {
        impl ClientHooks<Transport> for generated::$module::Client {
            async fn pre<E>(
                &self,
                request: &mut Request,
                info: &OperationInfo,
            ) -> Result<(), progenitor_client::Error<E>> {
                check_path(
                    request.url(),
                    self.baseurl(),
                    info.operation_id,
                    generated::$module::OPERATION_PATHS,
                )
                .map_err(|e| progenitor_client::Error::Custom(self.inner().park(e)))?;
                self.inner().prepare(request).await.map_err(|e| match e {
                    Error::Credentials { reason } => progenitor_client::Error::Custom(reason),
                    other => progenitor_client::Error::Custom(self.inner().park(other)),
                })
            }

            async fn exec(
                &self,
                request: Request,
                info: &OperationInfo,
            ) -> reqwest::Result<Response> {
                self.inner()
                    .execute(self.client(), request, info.operation_id)
                    .await
                    .map(Answer::into_response)
            }
        }
    };
}

generated::for_each_client!(hooks);

/// The attempt timeout when none is set.
pub(crate) const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// The call deadline when none is set.
pub(crate) const DEFAULT_CALL_DEADLINE: Duration = Duration::from_secs(60);
/// The connect timeout when none is set.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest success body read when no other limit is set: 10 MiB. The
/// largest answer the APIs send is one document of at most 800,000
/// characters of JSON (v1 session properties, a v2 document) in a small
/// envelope. A server that re-escapes every character as a UTF-16 surrogate
/// pair (`\uD83D\uDE00`, 12 bytes) would send 9.6 MB; 10 MiB
/// (10,485,760 bytes) leaves 885 KB for the envelope.
pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_body_keeps_no_start_of_a_secret() {
        let secret = "cut-secret-0123456789";
        // The cut fell 6 bytes into the secret.
        let body = format!("{}{}", "a".repeat(100), &secret[..6]);
        let text = bounded_text(body.as_bytes(), true, &[secret]);
        assert_eq!(text, format!("{}{BODY_CUT_MARK}", "a".repeat(100)));
        // Whole secrets are scrubbed as ever; an uncut body is not marked.
        let text = bounded_text(format!("x {secret} y").as_bytes(), false, &[secret]);
        assert_eq!(text, "x [redacted] y");
    }

    const PATHS: &[(&str, &[Option<&str>])] = &[
        ("get_one", &[Some("v1"), Some("account"), None, None]),
        ("list", &[Some("v1"), Some("account"), None]),
    ];

    fn check(url: &str, base: &str, operation: &str) -> Result<(), Error> {
        let url = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        check_path(&url, base, operation, PATHS)
    }

    #[test]
    fn a_path_must_have_the_declared_segments() {
        let base = "http://h:1";
        assert!(check("http://h:1/v1/account/le1/x%5Cy", base, "get_one").is_ok());
        assert!(check("http://h:1/v1/account/le1?q=1", base, "list").is_ok());
        // A prefix in the base URL, with or without its trailing slash.
        assert!(check("http://h:1/p/q/v1/account/le1", "http://h:1/p/q", "list").is_ok());
        assert!(check("http://h:1/p/q/v1/account/le1", "http://h:1/p/q/", "list").is_ok());
        for (url, base, operation) in [
            // One segment more or fewer.
            ("http://h:1/v1/account/le1/a/b", base, "get_one"),
            ("http://h:1/v1/account/le1", base, "get_one"),
            // An empty parameter.
            ("http://h:1/v1/account/le1/", base, "get_one"),
            // A literal rewritten.
            ("http://h:1/v2/account/le1/x", base, "get_one"),
            // The base path lost or changed (a `..` resolved into it).
            ("http://h:1/v1/account/le1", "http://h:1/p", "list"),
            ("http://h:1/p/x/v1/account/le1", "http://h:1/p", "list"),
            // An operation the spec does not declare.
            ("http://h:1/v1/account/le1", base, "unknown"),
        ] {
            let err = check(url, base, operation).expect_err(url);
            assert!(
                matches!(
                    err,
                    Error::InvalidInput {
                        what: "request path",
                        ..
                    }
                ),
                "{url}: {err}"
            );
            assert!(err.to_string().contains("not sent"), "{err}");
        }
    }

    /// Every operation of every generated client has its declared path.
    #[test]
    fn every_operation_declares_its_path() {
        for paths in [
            generated::v1::OPERATION_PATHS,
            generated::v2::OPERATION_PATHS,
            generated::messaging::OPERATION_PATHS,
            generated::domain::OPERATION_PATHS,
            generated::connector_auth::OPERATION_PATHS,
        ] {
            assert!(!paths.is_empty());
            for (id, segments) in paths {
                assert!(!id.is_empty() && !segments.is_empty(), "{id}");
            }
        }
        assert!(generated::v1::OPERATION_PATHS.iter().any(|(id, segments)| {
            *id == "get_session_property"
                && segments
                    == &[
                        Some("v1"),
                        Some("account"),
                        None,
                        None,
                        None,
                        Some("properties"),
                        None,
                    ]
        }));
    }

    #[test]
    fn location_hosts() {
        let host = |v: &str| location_host(&HeaderValue::from_str(v).unwrap());
        assert_eq!(host("http://127.0.0.1:9/x?access_token=t"), "127.0.0.1:9");
        assert_eq!(host("https://evil.example/x"), "evil.example");
        assert_eq!(host("//evil.example/x?q=1"), "evil.example");
        assert_eq!(host("/v1/elsewhere?q=1"), "the same host");
    }
}
