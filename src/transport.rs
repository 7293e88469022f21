//! What every generated client carries: credentials, retry policy, and the
//! hooks that apply them to each request.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Request, Response, StatusCode};
use tracing::Instrument;

use crate::error::Error;
use crate::generated;
use crate::retry::{RetryPolicy, is_retryable_status, parse_retry_after};
use crate::secret::{Credential, Secret, scrub};

/// The one operation that must never be repeated automatically: it is not
/// idempotent (a retry could open a second conversation).
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
}

/// The state each generated client carries (progenitor's "inner type").
#[derive(Clone, Debug)]
pub struct Transport {
    auth: Auth,
    retry: RetryPolicy,
    /// The credential values sent most recently, so that an error built from
    /// a body the service sent (even a 2xx one) never carries them.
    sent: Arc<Mutex<Vec<Secret>>>,
    /// A fixed, valid API key and its header, made once instead of per call.
    api_key_header: Option<(Secret, HeaderValue)>,
}

/// How many distinct credential values a transport remembers for scrubbing:
/// enough for every credential of one client across a refresh or two.
const REMEMBERED: usize = 8;

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
    pub(crate) fn new(auth: Auth, retry: RetryPolicy) -> Self {
        // An empty or unsendable key is left to `prepare`, which reports it
        // on each call as before.
        let api_key_header = match &auth {
            Auth::ApiKey(key) => key
                .fixed()
                .filter(|key| !key.is_empty())
                .and_then(|key| Some((key.clone(), sensitive(key.expose(), "API key").ok()?))),
            _ => None,
        };
        Transport {
            auth,
            retry,
            sent: Arc::default(),
            api_key_header,
        }
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

    /// A decode error whose body is scrubbed.
    pub(crate) fn decode_error(
        &self,
        operation: &'static str,
        reason: impl Into<String>,
        body: &[u8],
    ) -> Error {
        Error::Decode {
            operation,
            status: None,
            reason: reason.into(),
            body: self.scrub(&String::from_utf8_lossy(body)),
        }
    }

    /// Adds the credentials to a request, and removes progenitor's
    /// `api-version` header, which LivePerson's APIs do not define.
    async fn prepare(&self, request: &mut Request) -> Result<(), Error> {
        request.headers_mut().remove(&API_VERSION);
        if let Some((key, value)) = &self.api_key_header {
            self.remember(key);
            request
                .headers_mut()
                .insert(MAVEN_API_KEY.clone(), value.clone());
            return Ok(());
        }
        match &self.auth {
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

    /// Sends a request, retrying as the policy allows, and scrubs the body of
    /// every non-success answer of the credentials the request carried.
    async fn execute(
        &self,
        http: &reqwest::Client,
        request: Request,
        operation: &'static str,
    ) -> reqwest::Result<Response> {
        let span = tracing::info_span!(
            "liveperson_ccs.call",
            operation,
            method = %request.method(),
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        // The clock is read only for a span that is recorded.
        let started = (!span.is_disabled()).then(Instant::now);
        let result = self
            .attempts(http, request, operation)
            .instrument(span.clone())
            .await;
        if let Some(started) = started {
            span.record("duration_ms", started.elapsed().as_millis() as u64);
        }
        if let Ok(response) = &result {
            span.record("status", response.status().as_u16());
        }
        result
    }

    async fn attempts(
        &self,
        http: &reqwest::Client,
        mut request: Request,
        operation: &'static str,
    ) -> reqwest::Result<Response> {
        // The credential values the request carries, read only when an
        // answer must be scrubbed: from the copy kept for a retry, or, when
        // none is kept, from the request before it leaves.
        let mut secrets: Option<Vec<String>> = None;
        let may_retry = !NOT_IDEMPOTENT.contains(&operation);
        // The clock is read only when the debug events below are recorded.
        let timed = tracing::enabled!(tracing::Level::DEBUG);
        let mut attempt = 1;
        loop {
            tracing::Span::current().record("attempts", attempt);
            let again = if may_retry && attempt < self.retry.max_attempts() {
                request.try_clone()
            } else {
                None
            };
            if again.is_none() && secrets.is_none() {
                secrets = Some(secrets_of(&request));
            }
            let started = timed.then(Instant::now);
            let result = http
                .execute(request)
                .await
                .map_err(reqwest::Error::without_url);
            let elapsed_ms = started.map_or(0, |s| s.elapsed().as_millis() as u64);
            let (wait, response) = match result {
                Ok(response) if response.status().is_success() => {
                    tracing::debug!(
                        attempt,
                        status = response.status().as_u16(),
                        elapsed_ms,
                        "answered"
                    );
                    return Ok(response);
                }
                Ok(response) => {
                    let status = response.status();
                    tracing::debug!(attempt, status = status.as_u16(), elapsed_ms, "answered");
                    // Unread so far only when a copy was kept (see above).
                    debug_assert!(secrets.is_some() || again.is_some());
                    let secrets = secrets
                        .get_or_insert_with(|| again.as_ref().map_or_else(Vec::new, secrets_of));
                    // Boxed, as the sleep below: these futures of the error
                    // paths would otherwise make every call's future larger
                    // (and so slower to move), success or not.
                    let response = Box::pin(scrubbed(response, secrets)).await?;
                    if !is_retryable_status(status) {
                        return Ok(response);
                    }
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    (self.retry.delay(attempt, retry_after), Ok(response))
                }
                Err(error) => {
                    tracing::debug!(attempt, elapsed_ms, error = %error, "failed");
                    if !(error.is_connect() || error.is_request()) {
                        return Err(error);
                    }
                    (self.retry.delay(attempt, None), Err(error))
                }
            };
            let Some(next) = again else {
                return response;
            };
            tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, "retrying");
            drop(response);
            Box::pin(tokio::time::sleep(wait)).await;
            request = next;
            attempt += 1;
        }
    }
}

/// The credential values a request carries, to scrub from answers.
fn secrets_of(request: &Request) -> Vec<String> {
    let mut secrets: Vec<String> = request
        .headers()
        .iter()
        .filter(|(_, value)| value.is_sensitive())
        .filter_map(|(_, value)| value.to_str().ok().map(str::to_owned))
        .collect();
    secrets.extend(
        request
            .url()
            .query_pairs()
            .filter(|(key, _)| key == "access_token")
            .map(|(_, value)| value.into_owned()),
    );
    secrets
}

/// Rebuilds an error answer with its body scrubbed (and no URL attached).
async fn scrubbed(response: Response, secrets: &[String]) -> reqwest::Result<Response> {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .bytes()
        .await
        .map_err(reqwest::Error::without_url)?;
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let body = scrub(&String::from_utf8_lossy(&bytes), &secrets);
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.headers_mut() = headers;
    rebuilt
        .headers_mut()
        .remove(reqwest::header::CONTENT_LENGTH);
    Ok(Response::from(rebuilt))
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
            P::Custom(reason) => Error::Credentials { reason },
            P::CommunicationError(source)
            | P::InvalidUpgrade(source)
            | P::ResponseBodyError(source) => Error::Transport {
                operation,
                source: source.without_url(),
            },
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

/// Classifies a non-success answer on its status alone.
pub(crate) async fn from_response(operation: &'static str, response: Response) -> Error {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let body = match response.text().await {
        Ok(body) => body,
        Err(source) => {
            return Error::Transport {
                operation,
                source: source.without_url(),
            };
        }
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

macro_rules! hooks {
    ($client:ty) => {
        impl ClientHooks<Transport> for $client {
            async fn pre<E>(
                &self,
                request: &mut Request,
                _info: &OperationInfo,
            ) -> Result<(), progenitor_client::Error<E>> {
                self.inner().prepare(request).await.map_err(|e| match e {
                    Error::Credentials { reason } => progenitor_client::Error::Custom(reason),
                    other => progenitor_client::Error::Custom(other.to_string()),
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
            }
        }
    };
}

hooks!(generated::v1::Client);
hooks!(generated::v2::Client);
hooks!(generated::messaging::Client);
hooks!(generated::domain::Client);
hooks!(generated::connector_auth::Client);

/// The request timeout when none is set.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The connect timeout when none is set.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
