//! The Domain API: every service's host of one account, asked once and cached.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::time::Instant;

use crate::Error;
use crate::client::builder::ClientBuilder;
use crate::client::transport::{Auth, Policy, Transport};
use crate::generated::domain as raw;
use crate::names::AccountId;

/// The Domain API's service name of the messaging host (CONVERSATION, SEND).
pub const SERVICE_MESSAGING: &str = "asyncMessagingEnt";
/// The Domain API's service name of Sentinel (the AppJWT).
pub const SERVICE_SENTINEL: &str = "sentinel";
/// The Domain API's service name of the IDP (the ConsumerJWS).
pub const SERVICE_IDP: &str = "idp";
/// The Domain API's service name of the Conversation Context Service.
pub const SERVICE_CONTEXT: &str = "mavenContext";

const OPERATION: &str = "list_service_domains";

/// LivePerson's Domain API, as its page writes it.
pub const DEFAULT_DOMAIN_API: &str = "https://api.liveperson.net";

/// How long an answer of the Domain API is used before it is asked again:
/// 5 minutes.
///
/// LivePerson's own clients cache it for 60 s (node-agent-sdk) to 600 s
/// (faas-cli). Hosts change rarely (an account migrating between data
/// centres), and a host that moved fails loudly, so a longer cache costs
/// little; 5 minutes keeps such a change visible within minutes while a busy
/// connector asks once per 5 minutes per account rather than per call.
pub const DEFAULT_DISCOVERY_TTL: Duration = Duration::from_secs(300);

/// How long past its TTL the last good answer is still used when the Domain
/// API cannot be asked: 30 minutes.
///
/// An outage of the directory alone should not stop a connector whose hosts
/// have not moved, but a connector must not keep using a host for ever
/// without confirmation: after the grace period a failed lookup is an error.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(1800);

/// After a failed lookup within the grace period, the stale answer is served
/// without asking again for this long, so that an outage is not met with a
/// request per call.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// The settings of a [`Discovery`] (see [`ClientBuilder::cache_ttl`],
/// [`ClientBuilder::grace`] and [`ClientBuilder::domain_api`]).
#[derive(Debug, Clone)]
pub struct DiscoverySettings {
    ttl: Duration,
    grace: Duration,
}

impl Default for DiscoverySettings {
    fn default() -> Self {
        DiscoverySettings {
            ttl: DEFAULT_DISCOVERY_TTL,
            grace: DEFAULT_GRACE,
        }
    }
}

/// Service name to host (`host[:port]`).
type Services = BTreeMap<String, String>;

/// A lookup under way, shared by every caller that needs it: the answer and
/// when it arrived.
type Flight = Shared<BoxFuture<'static, Result<(Arc<Services>, Instant), Arc<Error>>>>;

struct State {
    good: Option<(Arc<Services>, Instant)>,
    flight: Option<Flight>,
    failed_at: Option<Instant>,
}

struct Inner {
    account: AccountId,
    domain_api: String,
    /// `http` or `https`: the Domain API's scheme, used for every host it names.
    scheme: &'static str,
    http: reqwest::Client,
    policy: Policy,
    ttl: Duration,
    grace: Duration,
    state: Mutex<State>,
}

/// The hosts of one account's LivePerson services, from the Domain API.
///
/// - **One request per account**: the all-services form
///   (`GET /api/account/{accountId}/service/baseURI.json?version=1.0`)
///   answers every service at once; every lookup is served from that answer.
/// - **Cached** for [`DEFAULT_DISCOVERY_TTL`] (5 minutes; see there why),
///   set with [`cache_ttl`](ClientBuilder::cache_ttl).
/// - **Single-flight**: when the answer must be fetched, one request serves
///   every concurrent lookup (100 lookups at once make 1 request).
/// - **Grace**: if a refresh fails, the last good answer is used for up to
///   [`DEFAULT_GRACE`] (30 minutes) past its TTL, set with
///   [`grace`](ClientBuilder::grace); it is asked again at most every 5 s
///   meanwhile. With no answer that recent, the lookup fails with
///   [`Error::Discovery`], whose `source()` is what the request met.
/// - **The Domain API host** is [`DEFAULT_DOMAIN_API`]; give another (a
///   vanity or test environment, the emulator) with
///   [`domain_api`](ClientBuilder::domain_api). **The hosts it names are used
///   over the Domain API's own scheme**: `https://` normally; pointed at an
///   `http://` Domain API (the emulator), every discovered host is used over
///   `http://` too.
///
/// Cheap to clone; clones share one cache. Keep one per account.
#[derive(Clone)]
pub struct Discovery {
    inner: Arc<Inner>,
}

impl fmt::Debug for Discovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Discovery")
            .field("account", &self.inner.account.as_str())
            .field("domain_api", &self.inner.domain_api)
            .field("ttl", &self.inner.ttl)
            .field("grace", &self.inner.grace)
            .finish()
    }
}

impl ClientBuilder<DiscoverySettings> {
    /// The Domain API's host (`https://` is added) or full base URL, e.g.
    /// the emulator's `http://127.0.0.1:8080`. Default
    /// [`DEFAULT_DOMAIN_API`]. The same as
    /// [`base_url`](ClientBuilder::base_url) with a full URL.
    pub fn domain_api(mut self, host: impl AsRef<str>) -> Self {
        let host = host.as_ref().trim();
        self.base_url = Some(if host.contains("://") {
            host.to_owned()
        } else {
            format!("https://{host}")
        });
        self
    }

    /// How long an answer is used before the Domain API is asked again
    /// (default [`DEFAULT_DISCOVERY_TTL`], 5 minutes).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.kind.ttl = ttl;
        self
    }

    /// How long past its TTL the last good answer is used when a refresh
    /// fails (default [`DEFAULT_GRACE`], 30 minutes; zero: never).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.kind.grace = grace;
        self
    }

    /// Applies the environment: `LP_ACCOUNT_ID` and `LP_DOMAIN_API` (a host
    /// or a full base URL), each only where it is set (and not empty);
    /// setters called after this override it.
    pub fn with_env(mut self) -> Result<Self, Error> {
        if let Some(account) = crate::client::builder::env("LP_ACCOUNT_ID") {
            self.account = Some(account);
        }
        if let Some(host) = crate::client::builder::env("LP_DOMAIN_API") {
            self = self.domain_api(host);
        }
        Ok(self)
    }

    /// Builds the discovery; nothing is asked until the first lookup.
    pub fn build(self) -> Result<Discovery, Error> {
        let settings = self.kind.clone();
        let parts = self.parts(DEFAULT_DOMAIN_API)?;
        let scheme = if parts.base_url.starts_with("http://") {
            "http"
        } else {
            "https"
        };
        Ok(Discovery {
            inner: Arc::new(Inner {
                account: parts.account,
                domain_api: parts.base_url,
                scheme,
                http: parts.http,
                policy: parts.policy,
                ttl: settings.ttl,
                grace: settings.grace,
                state: Mutex::new(State {
                    good: None,
                    flight: None,
                    failed_at: None,
                }),
            }),
        })
    }
}

impl Discovery {
    /// A builder; [`account`](ClientBuilder::account) is required.
    pub fn builder() -> ClientBuilder<DiscoverySettings> {
        ClientBuilder::new()
    }

    /// The account whose hosts this finds.
    pub fn account(&self) -> &AccountId {
        &self.inner.account
    }

    /// The Domain API's base URL.
    pub fn domain_api(&self) -> &str {
        &self.inner.domain_api
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The host (`host[:port]`, no scheme) of a service, e.g.
    /// `va.msg.liveperson.net` for `asyncMessagingEnt`. Service names are
    /// case sensitive. [`Error::ServiceNotFound`] if the account has none.
    ///
    /// Sends `GET /api/account/{accountId}/service/baseURI.json?version=1.0`
    /// when the cached answer is stale (see [`services`](Self::services));
    /// nothing otherwise.
    pub async fn base_uri(&self, service: &str) -> Result<String, Error> {
        let services = self.services().await?;
        services
            .get(service)
            .cloned()
            .ok_or_else(|| self.not_found(service))
    }

    /// The error of a service the Domain API did not name.
    pub(crate) fn not_found(&self, service: &str) -> Error {
        Error::ServiceNotFound {
            account: self.inner.account.as_str().to_owned(),
            service: service.to_owned(),
        }
    }

    /// The scheme of every discovered host (the Domain API's own).
    pub(crate) fn scheme(&self) -> &'static str {
        self.inner.scheme
    }

    /// The base URL of a service: its host with the Domain API's scheme,
    /// e.g. `https://va.msg.liveperson.net`.
    ///
    /// Sends `GET /api/account/{accountId}/service/baseURI.json?version=1.0`
    /// when the cached answer is stale (see [`services`](Self::services));
    /// nothing otherwise.
    pub async fn base_url(&self, service: &str) -> Result<String, Error> {
        let host = self.base_uri(service).await?;
        Ok(format!("{}://{host}", self.inner.scheme))
    }

    /// Every service's host, from the cache or a fresh lookup.
    ///
    /// Sends `GET /api/account/{accountId}/service/baseURI.json?version=1.0`
    /// when the cached answer is older than its TTL (one request for all
    /// concurrent callers); 200 → the services. A failed lookup is
    /// [`Error::Discovery`] unless the last good answer is within the grace
    /// period.
    pub async fn services(&self) -> Result<Arc<BTreeMap<String, String>>, Error> {
        let (flight, stale) = {
            let mut state = self.lock();
            let now = Instant::now();
            if let Some((services, at)) = &state.good
                && now < *at + self.inner.ttl
            {
                return Ok(Arc::clone(services));
            }
            let stale = state
                .good
                .as_ref()
                .filter(|(_, at)| now < *at + self.inner.ttl + self.inner.grace)
                .map(|(services, _)| Arc::clone(services));
            if let (Some(stale), Some(failed)) = (&stale, state.failed_at)
                && now < failed + RETRY_AFTER_FAILURE
            {
                return Ok(Arc::clone(stale));
            }
            let flight = match &state.flight {
                Some(flight) if !matches!(flight.peek(), Some(Err(_))) => flight.clone(),
                _ => {
                    let flight = self.start();
                    state.flight = Some(flight.clone());
                    flight
                }
            };
            (flight, stale)
        };
        let result = flight.clone().await;
        {
            let mut state = self.lock();
            if state.flight.as_ref().is_some_and(|f| f.ptr_eq(&flight)) {
                state.flight = None;
                match &result {
                    Ok(good) => {
                        state.good = Some(good.clone());
                        state.failed_at = None;
                    }
                    Err(_) => state.failed_at = Some(Instant::now()),
                }
            }
        }
        match (result, stale) {
            (Ok((services, _)), _) => Ok(services),
            (Err(error), Some(stale)) => {
                tracing::warn!(
                    error = %error,
                    account = self.inner.account.as_str(),
                    "Domain API lookup failed; using its last answer (within the grace period)"
                );
                Ok(stale)
            }
            (Err(source), None) => Err(Error::Discovery {
                account: self.inner.account.as_str().to_owned(),
                source,
            }),
        }
    }

    /// The base URL of a service from the answer held now (fresh or not),
    /// without asking the Domain API.
    pub(crate) fn cached_base_url(&self, service: &str) -> Option<String> {
        let state = self.lock();
        let (services, _) = state.good.as_ref()?;
        let host = services.get(service)?;
        Some(format!("{}://{host}", self.inner.scheme))
    }

    /// Forgets the cached answer: the next lookup asks the Domain API.
    pub fn invalidate(&self) {
        self.lock().good = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn start(&self) -> Flight {
        let inner = Arc::clone(&self.inner);
        async move {
            let transport = Transport::new(Auth::None { scrub: Vec::new() }, inner.policy.clone());
            let client =
                raw::Client::new_with_client(&inner.domain_api, inner.http.clone(), transport);
            let transport = progenitor_client::ClientInfo::inner(&client);
            let result = client
                .list_service_domains()
                .account_id(&inner.account)
                .version(raw::types::ListServiceDomainsVersion::X10)
                .send()
                .await;
            let list = transport.value(OPERATION, result).await.map_err(Arc::new)?;
            let mut services = Services::new();
            for entry in list.base_ur_is {
                let host = entry.base_uri.to_string();
                if valid_host(&host) {
                    services.insert(entry.service, host);
                } else {
                    tracing::warn!(
                        service = entry.service,
                        "the Domain API named a base URI that is not host[:port]; ignored"
                    );
                }
            }
            Ok((Arc::new(services), Instant::now()))
        }
        .boxed()
        .shared()
    }
}

/// `host` or `host:port`: no scheme, user, path, query or fragment.
fn valid_host(text: &str) -> bool {
    !text.is_empty()
        && !text.contains(['@', '/', '?', '#', ' '])
        && text.parse::<http::uri::Authority>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert!(valid_host("va.msg.liveperson.net"));
        assert!(valid_host("127.0.0.1:8080"));
        assert!(!valid_host("https://x"));
        assert!(!valid_host("x/y"));
        assert!(!valid_host("user@x"));
        assert!(!valid_host(""));
    }
}
