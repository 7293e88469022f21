//! The builder all three clients share.

use std::time::Duration;

use crate::Error;
use crate::names::AccountId;
use crate::region::Region;
use crate::retry::RetryPolicy;
use crate::secret::Credential;
use crate::transport::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};

/// Builds a [`CcsV1Client`](crate::CcsV1Client),
/// [`CcsV2Client`](crate::CcsV2Client) or
/// [`MessagingClient`](crate::MessagingClient).
///
/// The setters common to all three are here; each client adds its
/// credentials. Nothing is checked until `build`, which reports the first
/// problem as [`Error::InvalidInput`].
#[derive(Debug, Clone)]
pub struct ClientBuilder<K> {
    pub(crate) account: Option<String>,
    pub(crate) region: Region,
    pub(crate) base_url: Option<String>,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) user_agent: String,
    pub(crate) http: Option<reqwest::Client>,
    pub(crate) kind: K,
}

/// The credentials of a CCS v1 client (see [`ClientBuilder::api_key`]).
#[derive(Debug, Clone, Default)]
pub struct V1Credentials {
    pub(crate) api_key: Option<Credential>,
}

/// The credentials of a CCS v2 client (see [`ClientBuilder::access_token`]).
#[derive(Debug, Clone, Default)]
pub struct V2Credentials {
    pub(crate) access_token: Option<Credential>,
}

/// The credentials and domain of a messaging client (see
/// [`ClientBuilder::app_jwt`] and [`ClientBuilder::domain`]).
#[derive(Debug, Clone, Default)]
pub struct MessagingCredentials {
    pub(crate) app_jwt: Option<Credential>,
}

/// What `build` hands each client.
pub(crate) struct Parts {
    pub(crate) account: AccountId,
    pub(crate) base_url: String,
    pub(crate) http: reqwest::Client,
    pub(crate) retry: RetryPolicy,
}

impl<K: Default> ClientBuilder<K> {
    pub(crate) fn new() -> Self {
        ClientBuilder {
            account: None,
            region: Region::default(),
            base_url: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            user_agent: concat!("liveperson-ccs/", env!("CARGO_PKG_VERSION")).to_owned(),
            http: None,
            kind: K::default(),
        }
    }
}

impl<K> ClientBuilder<K> {
    /// The LivePerson account (site) id, e.g. `le12345678`. Required.
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// The region whose hosts to use (default [`Region::Americas`]).
    /// Ignored when a [base URL](Self::base_url) is set.
    pub fn region(mut self, region: Region) -> Self {
        self.region = region;
        self
    }

    /// A base URL to use instead of the region's host: the emulator, a proxy,
    /// a test server. `http` and `https` are accepted.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The longest wait for a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The longest wait for a whole request and its answer (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// When to retry (default: [`RetryPolicy::default`]; [`RetryPolicy::none`] turns retries off).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The `User-Agent` header (default `liveperson-ccs/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Uses this `reqwest::Client` as it is; the timeouts and user agent of
    /// this builder are then not applied.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    pub(crate) fn parts(self, default_base: &str) -> Result<Parts, Error> {
        let account = match self.account {
            Some(account) => AccountId::new(account)?,
            None => return Err(Error::invalid("account id", "no account was given")),
        };
        let base_url = normalize_base_url(self.base_url.as_deref().unwrap_or(default_base))?;
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .timeout(self.timeout)
                .user_agent(self.user_agent)
                .build()
                .map_err(|e| Error::invalid("HTTP client settings", e.without_url().to_string()))?,
        };
        Ok(Parts {
            account,
            base_url,
            http,
            retry: self.retry,
        })
    }

    /// Applies `LP_ACCOUNT_ID`, `LP_REGION` and the given base-URL variable
    /// where they are set.
    pub(crate) fn env_common(mut self, base_url_var: &str) -> Result<Self, Error> {
        if let Some(account) = env("LP_ACCOUNT_ID") {
            self.account = Some(account);
        }
        if let Some(region) = env("LP_REGION") {
            self.region = region.parse()?;
        }
        if let Some(url) = env(base_url_var) {
            self.base_url = Some(url);
        }
        Ok(self)
    }
}

/// A non-empty environment variable.
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

pub(crate) fn required_env(name: &'static str) -> Result<String, Error> {
    env(name).ok_or_else(|| Error::invalid("environment", format!("{name} is not set")))
}

fn normalize_base_url(url: &str) -> Result<String, Error> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| Error::invalid("base URL", format!("{url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::invalid(
            "base URL",
            format!("{url:?} is not http or https"),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::invalid(
            "base URL",
            format!("{url:?} has a query or fragment"),
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            normalize_base_url("http://127.0.0.1:8080/").ok().as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert!(normalize_base_url("ftp://x").is_err());
        assert!(normalize_base_url("not a url").is_err());
        assert!(normalize_base_url("http://x/?access_token=1").is_err());
    }
}
