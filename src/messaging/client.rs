//! [`MessagingClient`]: its builder, the hosts it sends to (fixed or
//! discovered), the tokens it carries and the one renewal of a refused
//! token, CONVERSATION (`create_conversation`), and the SEND call that
//! [`OpenConversation`](super::OpenConversation) makes through it.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::Error;
use crate::client::builder::{ClientBuilder, env, required_env};
use crate::client::retry::RetryPolicy;
use crate::client::secret::{Credential, Secret};
use crate::client::transport::{Auth, Policy, Transport};
use crate::connector::{ConnectorErrorCode, Discovery, SERVICE_MESSAGING};
use crate::generated::messaging as raw;
use crate::names::AccountId;

use super::request::ConversationRequest;
use super::send::{self, Sent};

/// The `tracing` target of this file's events: the module path it had before
/// `src/messaging/`, kept so that filters written for it still match.
const LOG_TARGET: &str = "liveperson_ccs::messaging";

const OPERATION: &str = "create_conversation";

/// Where a client's host comes from.
#[derive(Clone)]
enum Base {
    /// Given: [`domain`](ClientBuilder::domain) or [`base_url`](ClientBuilder::base_url).
    Fixed(String),
    /// The Domain API's `asyncMessagingEnt`, looked up (cached) per call.
    Discovered(Discovery),
}

/// A host for `raw()` of a discovered client that has looked nothing up
/// yet: a reserved name (RFC 2606) that never resolves.
const UNDISCOVERED: &str = "https://asyncmessagingent.invalid";

/// The Domain API's name of file sharing's host.
const SERVICE_SWIFT: &str = "swift";

/// A client for the Messaging CONVERSATION endpoint, bound to one account.
///
/// The host comes from LivePerson's Domain API (service `asyncMessagingEnt`):
/// give a [`Discovery`] with [`discovery`](ClientBuilder::discovery), or the
/// host itself with [`domain`](ClientBuilder::domain). The connector's AppJWT
/// is set on the client (a fixed token, or an
/// [`AppJwtProvider`](crate::connector::AppJwtProvider)); the consumer's
/// ConsumerJWS is given per conversation (a fixed token, or a
/// [`ConsumerJwsProvider`](crate::connector::ConsumerJwsProvider)).
///
/// Creating a conversation is not idempotent, so it is never retried
/// automatically, whatever the retry policy; nor is a text message sent
/// with [`OpenConversation::send_text`](super::OpenConversation::send_text). When the service refuses a token
/// given by a provider as expired or invalid (`errorCode` 40102, 40103),
/// the token is renewed and the call repeated once, for every operation
/// (a refused call was not carried out). The whole flow is in
/// [`connector`](crate::connector).
///
/// ```no_run
/// # async fn demo() -> Result<(), liveperson_ccs::Error> {
/// use liveperson_ccs::messaging::{Campaign, ConversationRequest, CustomerInfo, Gender, PersonalInfo};
/// use liveperson_ccs::MessagingClient;
///
/// let messaging = MessagingClient::builder()
///     .account("le12345678")
///     .domain("va.msg.liveperson.net")
///     .app_jwt("the-app-jwt")
///     .build()?;
/// let request = ConversationRequest::new()
///     .customer_info(CustomerInfo { social_id: Some("1234567890".into()), ctype: Some("vip".into()) })
///     .personal_info(PersonalInfo {
///         firstname: Some("John".into()),
///         lastname: Some("Doe".into()),
///         gender: Some(Gender::Male),
///     })
///     .campaign(Campaign { campaign_id: "99999".into(), engagement_id: "888888".into() });
/// let conversation = messaging.create_conversation("the-consumer-jws", &request).await?;
/// println!("opened {}", conversation.conversation_id);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MessagingClient {
    inner: Arc<Inner>,
}

struct Inner {
    account: AccountId,
    base: Base,
    http: reqwest::Client,
    app_jwt: Credential,
    policy: Policy,
    /// The same policy without retries, for calls never repeated.
    once: Policy,
}

impl fmt::Debug for MessagingClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("MessagingClient");
        s.field("account", &self.inner.account.as_str());
        match &self.inner.base {
            Base::Fixed(url) => s.field("base_url", url),
            Base::Discovered(discovery) => s.field("discovery", discovery),
        };
        s.field("app_jwt", &"[redacted]").finish()
    }
}

/// The credentials and domain of a messaging client (see
/// [`ClientBuilder::app_jwt`] and [`ClientBuilder::domain`]).
#[derive(Debug, Clone, Default)]
pub struct MessagingCredentials {
    pub(crate) app_jwt: Option<Credential>,
    pub(crate) discovery: Option<crate::connector::Discovery>,
}

impl ClientBuilder<MessagingCredentials> {
    /// Applies the environment: `LP_ACCOUNT_ID`, `LP_MESSAGING_BASE_URL` (a
    /// full base URL), then `LP_MESSAGING_DOMAIN` (a host, or a full base URL;
    /// it wins over `LP_MESSAGING_BASE_URL` when both are set) and
    /// `LP_APP_JWT`, each only where it is set (and not empty); setters
    /// called after this override it. See
    /// [`ClientBuilder::<V1Credentials>::with_env`](ClientBuilder#method.with_env).
    pub fn with_env(self) -> Result<Self, Error> {
        let mut builder = self.env_common("LP_MESSAGING_BASE_URL")?;
        if let Some(domain) = env("LP_MESSAGING_DOMAIN") {
            builder = builder.domain(domain);
        }
        if let Some(jwt) = env("LP_APP_JWT") {
            builder.kind.app_jwt = Some(jwt.into());
        }
        Ok(builder)
    }

    /// The connector's AppJWT, sent in `Authorization`. Required. It lasts 60
    /// minutes: give a [`RefreshingCredential`](crate::RefreshingCredential)
    /// to have it renewed before it expires.
    pub fn app_jwt(mut self, token: impl Into<Credential>) -> Self {
        self.kind.app_jwt = Some(token.into());
        self
    }

    /// The account's `asyncMessagingEnt` host from LivePerson's Domain API,
    /// e.g. `va.msg.liveperson.net`; `https://` is added. Same as
    /// [`base_url`](ClientBuilder::base_url) with a full URL.
    pub fn domain(mut self, domain: impl AsRef<str>) -> Self {
        let domain = domain.as_ref().trim();
        self.base_url = Some(if domain.contains("://") {
            domain.to_owned()
        } else {
            format!("https://{domain}")
        });
        self
    }

    /// Finds the host through LivePerson's Domain API (`asyncMessagingEnt`),
    /// looked up per call from the discovery's cache, so a host that moves
    /// is followed. The account is the discovery's unless
    /// [`account`](ClientBuilder::account) names it (it must be the same),
    /// and the discovery's HTTP client is used unless
    /// [`http_client`](ClientBuilder::http_client) gives one. An `http://`
    /// Domain API (the emulator) means an `http://` messaging host. A
    /// [`domain`](ClientBuilder::domain) or base URL given too wins.
    pub fn discovery(mut self, discovery: &Discovery) -> Self {
        if self.account.is_none() {
            self.account = Some(discovery.account().as_str().to_owned());
        }
        self.kind.discovery = Some(discovery.clone());
        self
    }

    /// Builds the client.
    pub fn build(mut self) -> Result<MessagingClient, Error> {
        let Some(app_jwt) = self.kind.app_jwt.clone() else {
            return Err(Error::invalid("AppJWT", "no AppJWT was given"));
        };
        let discovery = self.kind.discovery.take();
        let base = match (&self.base_url, discovery) {
            (Some(_), _) => None,
            (None, Some(discovery)) => {
                if self.http.is_none() {
                    self.http = Some(discovery.http().clone());
                    self.policy.client_timeout = discovery.policy().client_timeout;
                }
                Some(discovery)
            }
            (None, None) => {
                return Err(Error::invalid(
                    "messaging domain",
                    "no domain was given: give a Discovery, or ask LivePerson's Domain API for `asyncMessagingEnt`",
                ));
            }
        };
        let parts = self.parts("http://unused.invalid")?;
        let base = match base {
            Some(discovery) => {
                if discovery.account() != &parts.account {
                    return Err(Error::invalid(
                        "account id",
                        "the client's account is not the discovery's",
                    ));
                }
                Base::Discovered(discovery)
            }
            None => Base::Fixed(parts.base_url),
        };
        let once = Policy {
            retry: RetryPolicy::none(),
            ..parts.policy.clone()
        };
        Ok(MessagingClient {
            inner: Arc::new(Inner {
                account: parts.account,
                base,
                http: parts.http,
                app_jwt,
                policy: parts.policy,
                once,
            }),
        })
    }
}

/// A conversation just opened.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Conversation {
    /// The conversation id, for the SEND calls.
    pub conversation_id: String,
    /// What the service said of the profile, e.g. `OK User Profile set successfully`.
    pub profile_message: Option<String>,
}

/// One result of the batch, read leniently.
struct Item {
    code: String,
    req_id: Option<String>,
    body: Value,
}

impl MessagingClient {
    /// A builder; [`account`](ClientBuilder::account),
    /// [`domain`](ClientBuilder::domain) and [`app_jwt`](ClientBuilder::app_jwt)
    /// are required.
    pub fn builder() -> ClientBuilder<MessagingCredentials> {
        ClientBuilder::new()
    }

    /// A client from the environment: `LP_ACCOUNT_ID`, `LP_APP_JWT` and
    /// `LP_MESSAGING_DOMAIN` (a host, or a full base URL such as the
    /// emulator's) or `LP_MESSAGING_BASE_URL`. To combine the environment
    /// with other settings, use [`with_env`](ClientBuilder::with_env) on the
    /// builder.
    pub fn from_env() -> Result<Self, Error> {
        required_env("LP_APP_JWT")?;
        Self::builder().with_env()?.build()
    }

    /// The account this client works on.
    pub fn account(&self) -> &AccountId {
        &self.inner.account
    }

    /// The base URL requests go to, when it was given; `None` for a client
    /// built from a [`Discovery`] (see [`current_base_url`](Self::current_base_url)).
    pub fn base_url(&self) -> Option<&str> {
        match &self.inner.base {
            Base::Fixed(url) => Some(url),
            Base::Discovered(_) => None,
        }
    }

    /// The base URL the next call goes to: the given one, or the
    /// `asyncMessagingEnt` host the discovery finds now.
    ///
    /// Sends nothing for a fixed base URL; with a [`Discovery`], what
    /// [`Discovery::base_url`] sends when its answer is stale:
    /// `GET /api/account/{accountId}/service/baseURI.json?version=1.0`.
    pub async fn current_base_url(&self) -> Result<String, Error> {
        match &self.inner.base {
            Base::Fixed(url) => Ok(url.clone()),
            Base::Discovered(discovery) => discovery.base_url(SERVICE_MESSAGING).await,
        }
    }

    /// The generated client for one consumer, for what this layer does not
    /// cover. It follows `openapi/messaging.yaml` and may change with it.
    ///
    /// For a client built from a [`Discovery`], it uses the host the
    /// discovery holds now (call [`current_base_url`](Self::current_base_url)
    /// first to look it up), or, before any lookup, a host that never
    /// resolves (`asyncmessagingent.invalid`). A raw client does not renew
    /// a refused token.
    pub fn raw(&self, consumer_jws: impl Into<Credential>) -> raw::Client {
        let base = match &self.inner.base {
            Base::Fixed(url) => url.clone(),
            Base::Discovered(discovery) => discovery
                .cached_base_url(SERVICE_MESSAGING)
                .unwrap_or_else(|| UNDISCOVERED.to_owned()),
        };
        self.raw_at(
            &base,
            self.inner.app_jwt.clone(),
            consumer_jws.into(),
            &self.inner.policy,
        )
    }

    fn raw_at(
        &self,
        base: &str,
        app_jwt: Credential,
        consumer_jws: Credential,
        policy: &Policy,
    ) -> raw::Client {
        let transport = Transport::new(
            Auth::Messaging {
                app_jwt,
                consumer_jws,
            },
            policy.clone(),
        );
        raw::Client::new_with_client(base, self.inner.http.clone(), transport)
    }

    /// Runs one operation with the tokens resolved now. If the service
    /// refuses a token a provider gave as expired or invalid (40102, 40103),
    /// the provider is told, and the operation runs once more with a renewed
    /// token. `retry`: whether the client's retry policy applies.
    ///
    /// With a `slot`, the generated client of the previous call is used
    /// again while the host and both tokens are the same (its credential
    /// headers are made once, not per call).
    async fn with_tokens<T, F, Fut>(
        &self,
        consumer_jws: &Credential,
        retry: bool,
        slot: Option<&ClientSlot>,
        operation: F,
    ) -> Result<T, Error>
    where
        F: Fn(Arc<raw::Client>) -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        // The host is looked up once per call; its URL is written out only
        // when a client is made for it.
        let services;
        let base = match &self.inner.base {
            Base::Fixed(url) => BaseUrl {
                scheme: "",
                host: url,
            },
            Base::Discovered(discovery) => {
                services = discovery.services().await?;
                let host = services
                    .get(SERVICE_MESSAGING)
                    .ok_or_else(|| discovery.not_found(SERVICE_MESSAGING))?;
                BaseUrl {
                    scheme: discovery.scheme(),
                    host,
                }
            }
        };
        let policy = if retry {
            &self.inner.policy
        } else {
            &self.inner.once
        };
        let mut renewed = false;
        loop {
            let app: Secret = self.inner.app_jwt.resolve("AppJWT").await?;
            let consumer: Secret = consumer_jws.resolve("ConsumerJWS").await?;
            let make = |url: &str| {
                self.raw_at(
                    url,
                    Credential::from(app.clone()),
                    Credential::from(consumer.clone()),
                    policy,
                )
            };
            let client = match slot {
                Some(slot) => slot.client(&base, &app, &consumer, retry, make),
                None => Arc::new(make(&base.to_url())),
            };
            let error = match operation(client).await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let renew = match error.connector_code() {
                Some(ConnectorErrorCode::AppJwtInvalid) if self.inner.app_jwt.is_provider() => {
                    self.inner.app_jwt.reject(&app);
                    true
                }
                Some(ConnectorErrorCode::ConsumerJwsInvalid) if consumer_jws.is_provider() => {
                    consumer_jws.reject(&consumer);
                    true
                }
                _ => false,
            };
            if renewed || !renew {
                return Err(error);
            }
            tracing::debug!(target: LOG_TARGET, code = ?error.connector_code(), "token refused; renewing it and repeating the call once");
            renewed = true;
        }
    }

    /// The generated client of file sharing's `swift` host: the host the
    /// Domain API names `swift` for a discovered client, the client's own
    /// host for a fixed one (`ccs serve` plays both). No credential goes to
    /// it: the temporary URL's query signs each call.
    pub(crate) async fn swift(&self) -> Result<raw::Client, Error> {
        let base = match &self.inner.base {
            Base::Fixed(url) => url.clone(),
            Base::Discovered(discovery) => discovery.base_url(SERVICE_SWIFT).await?,
        };
        let transport = Transport::new(Auth::None { scrub: Vec::new() }, self.inner.policy.clone());
        Ok(raw::Client::new_with_client(
            &base,
            self.inner.http.clone(),
            transport,
        ))
    }

    /// Sends one SEND payload for the consumer.
    pub(crate) async fn send_raw(
        &self,
        consumer_jws: &Credential,
        slot: &ClientSlot,
        request: raw::types::SendRequest,
        retry: bool,
    ) -> Result<Sent, Error> {
        self.send_raw_body(consumer_jws, slot, request, retry)
            .await
            .map(|(sent, _)| sent)
    }

    /// Sends one SEND payload for the consumer: the answer, and its body.
    pub(crate) async fn send_raw_body(
        &self,
        consumer_jws: &Credential,
        slot: &ClientSlot,
        request: raw::types::SendRequest,
        retry: bool,
    ) -> Result<(Sent, Value), Error> {
        use send::{OPERATION as SEND, sent};
        let account = &self.inner.account;
        self.with_tokens(consumer_jws, retry, Some(slot), |client| {
            let request = request.clone();
            async move {
                let transport = progenitor_client::ClientInfo::inner(&*client);
                let mut call = client
                    .send_to_conversation()
                    .account_id(account)
                    .v(3_i64)
                    .body(request);
                if let Some(properties) = &slot.client_properties {
                    call = call.client_properties(properties.as_str());
                }
                let result = call.send().await;
                match result {
                    Ok(answer) => {
                        let answer = answer.into_inner();
                        let body = answer.body.clone();
                        sent(transport, answer).map(|sent| (sent, body))
                    }
                    Err(e) => Err(crate::connector::typed(transport.convert(SEND, e).await)),
                }
            }
        })
        .await
    }

    /// Opens a conversation on behalf of the consumer whose ConsumerJWS is
    /// given, and returns its id.
    ///
    /// Sends `userprofile.SetUserProfile` then `cm.ConsumerRequestConversation`
    /// (brand id: this client's account, channel `MESSAGING`), each with a
    /// fresh request id; fails with [`Error::Rejected`] if either payload is
    /// answered with a code other than `OK`.
    ///
    /// Sends `POST /api/account/{accountId}/messaging/consumer/conversation?v=3`
    /// with the two payloads as a JSON array, the AppJWT as `Authorization` and
    /// the ConsumerJWS as `X-LP-ON-BEHALF`; 200 with both codes `OK` → the
    /// [`Conversation`], 401 with a documented `errorCode` → [`Error::Connector`].
    pub async fn create_conversation(
        &self,
        consumer_jws: impl Into<Credential>,
        request: &ConversationRequest,
    ) -> Result<Conversation, Error> {
        let consumer = consumer_jws.into();
        let batch = uuid::Uuid::new_v4().simple().to_string();
        let ids = [format!("{batch}-1"), format!("{batch}-2")];
        let body = request.to_raw(self.inner.account.as_str(), [&ids[0], &ids[1]]);
        let properties = request.client_properties();
        let properties = properties.as_deref();
        let account = &self.inner.account;
        let ids = &ids;
        // Never retried (the transport refuses to repeat this operation);
        // repeated once only after a refused token was renewed.
        self.with_tokens(&consumer, false, None, |client| {
            let body = body.clone();
            async move { open_batch(&client, account, body, properties, ids).await }
        })
        .await
    }
}

/// A base URL in its parts: a fixed URL (with no `scheme`), or a discovered
/// host and the scheme it is reached over.
struct BaseUrl<'a> {
    scheme: &'a str,
    host: &'a str,
}

impl BaseUrl<'_> {
    fn to_url(&self) -> String {
        if self.scheme.is_empty() {
            self.host.to_owned()
        } else {
            format!("{}://{}", self.scheme, self.host)
        }
    }

    /// Whether `url` is this base URL.
    fn is(&self, url: &str) -> bool {
        if self.scheme.is_empty() {
            return url == self.host;
        }
        url.strip_prefix(self.scheme)
            .and_then(|rest| rest.strip_prefix("://"))
            == Some(self.host)
    }
}

/// The generated client one conversation used last, one for each retry
/// policy, kept while the host and both tokens stay the same.
#[derive(Default)]
pub(crate) struct ClientSlot {
    kept: std::sync::Mutex<[Option<Kept>; 2]>,
    /// The `Client-Properties` header the conversation was opened with,
    /// sent again on each of its SENDs (the documents require it).
    pub(crate) client_properties: Option<String>,
}

struct Kept {
    base: String,
    app: Secret,
    consumer: Secret,
    client: Arc<raw::Client>,
}

impl ClientSlot {
    /// A slot for a conversation opened with this `Client-Properties` header.
    pub(crate) fn with_client_properties(client_properties: Option<String>) -> ClientSlot {
        ClientSlot {
            kept: std::sync::Mutex::default(),
            client_properties,
        }
    }

    /// The kept client for these, or a new one from `make` (then kept).
    fn client(
        &self,
        base: &BaseUrl<'_>,
        app: &Secret,
        consumer: &Secret,
        retry: bool,
        make: impl FnOnce(&str) -> raw::Client,
    ) -> Arc<raw::Client> {
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let kept = &mut kept[usize::from(retry)];
        match kept {
            Some(k) if base.is(&k.base) && k.app.same(app) && k.consumer.same(consumer) => {
                k.client.clone()
            }
            _ => {
                let url = base.to_url();
                let client = Arc::new(make(&url));
                *kept = Some(Kept {
                    base: url,
                    app: app.clone(),
                    consumer: consumer.clone(),
                    client: client.clone(),
                });
                client
            }
        }
    }
}

/// Sends one CONVERSATION batch and reads its two results.
async fn open_batch(
    client: &raw::Client,
    account: &AccountId,
    body: raw::types::ConversationRequest,
    client_properties: Option<&str>,
    ids: &[String; 2],
) -> Result<Conversation, Error> {
    {
        let transport = progenitor_client::ClientInfo::inner(client);
        let mut call = client
            .create_conversation()
            .account_id(account)
            .v(3_i64)
            .body(body);
        if let Some(properties) = client_properties {
            call = call.client_properties(properties);
        }
        let result = call.send().await;
        let items: Vec<Item> = match result {
            Ok(answer) => answer
                .into_inner()
                .0
                .into_iter()
                .map(|item| Item {
                    code: item.code,
                    req_id: Some(item.req_id),
                    body: item.body,
                })
                .collect(),
            // A failed payload's body may not fit the success schema: read it as plain JSON.
            Err(progenitor_client::Error::InvalidResponsePayload(bytes, reason)) => {
                lenient_items(&bytes)
                    .ok_or_else(|| transport.decode_error(OPERATION, reason.to_string(), &bytes))?
            }
            Err(e) => {
                return Err(crate::connector::typed(
                    transport.convert(OPERATION, e).await,
                ));
            }
        };
        let profile = find(transport, &items, &ids[0], 0)?;
        let conversation = find(transport, &items, &ids[1], 1)?;
        let conversation_id = conversation
            .body
            .get("conversationId")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                transport.decode_error(
                    OPERATION,
                    "the conversation result has no conversationId",
                    conversation.body.to_string().as_bytes(),
                )
            })?;
        Ok(Conversation {
            conversation_id: conversation_id.to_owned(),
            profile_message: profile
                .body
                .get("msg")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}

/// Finds a payload's result by its `reqId`, else by position, and checks its code.
fn find<'a>(
    transport: &Transport,
    items: &'a [Item],
    req_id: &str,
    position: usize,
) -> Result<&'a Item, Error> {
    let item = items
        .iter()
        .find(|item| item.req_id.as_deref() == Some(req_id))
        .or_else(|| items.get(position))
        .ok_or_else(|| {
            transport.decode_error(OPERATION, format!("no result for payload {req_id:?}"), b"")
        })?;
    if item.code != "OK" {
        return Err(Error::Rejected {
            operation: OPERATION,
            req_id: req_id.to_owned(),
            code: transport.scrub(&item.code),
            body: transport.scrub(&item.body.to_string()),
        });
    }
    Ok(item)
}

fn lenient_items(bytes: &[u8]) -> Option<Vec<Item>> {
    let values: Vec<Value> = serde_json::from_slice(bytes).ok()?;
    Some(
        values
            .into_iter()
            .map(|mut value| Item {
                code: match value.get("code") {
                    Some(Value::String(code)) => code.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                },
                req_id: value
                    .get("reqId")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                body: value
                    .get_mut("body")
                    .map(Value::take)
                    .unwrap_or(Value::Null),
            })
            .collect(),
    )
}
