//! The builder all three clients share.

use std::time::Duration;

use crate::Error;
use crate::client::retry::RetryPolicy;
use crate::client::transport::{
    DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_CALL_DEADLINE, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES, Policy,
};
use crate::names::AccountId;
use crate::region::Region;

/// Builds a [`CcsV1Client`](crate::CcsV1Client),
/// [`CcsV2Client`](crate::CcsV2Client),
/// [`MessagingClient`](crate::MessagingClient) or
/// [`Discovery`](crate::connector::Discovery).
///
/// The setters common to all three are here; each client adds its
/// credentials. Nothing is checked until `build`, which reports the first
/// problem as [`Error::InvalidInput`].
///
/// The defaults, and what each limit bounds:
///
/// | setting | default | bounds |
/// | --- | --- | --- |
/// | [`connect_timeout`](Self::connect_timeout) | 10 s | making one connection |
/// | [`attempt_timeout`](Self::attempt_timeout) | 30 s | one attempt: request, answer and its whole body |
/// | [`call_deadline`](Self::call_deadline) | 60 s | a whole call: every attempt and every wait between them |
/// | [`retry_policy`](Self::retry_policy) | 3 attempts | which failures are tried again, how often, how late |
/// | [`max_response_bytes`](Self::max_response_bytes) | 10 MiB | a success answer's body |
///
/// So a server that hangs costs a call at most 60 s (two 30 s attempts); one
/// that answers 503 at once gets all three attempts. Error bodies are kept to
/// their first 64 KiB.
///
/// **Redirects are never followed.** LivePerson's APIs do not redirect, and a
/// redirect to another host would carry the `maven-api-key`, the
/// `access_token` query parameter or the messaging JWTs there. A 3xx answer
/// is [`Error::Redirected`], naming the status and the `Location` host.
///
/// From the environment: [`with_env`](ClientBuilder::with_env) (on each
/// client's builder) applies the variables listed in the README, and leaves
/// the rest to the setters.
#[derive(Debug, Clone)]
pub struct ClientBuilder<K> {
    pub(crate) account: Option<String>,
    pub(crate) region: Region,
    pub(crate) base_url: Option<String>,
    pub(crate) connect_timeout: Duration,
    pub(crate) policy: Policy,
    pub(crate) user_agent: String,
    /// A client to use; its total timeout, when this crate built it (a
    /// discovery's, taken by a messaging client), is `policy.client_timeout`.
    pub(crate) http: Option<reqwest::Client>,
    pub(crate) kind: K,
}

/// What `build` hands each client.
pub(crate) struct Parts {
    pub(crate) account: AccountId,
    pub(crate) base_url: String,
    pub(crate) http: reqwest::Client,
    pub(crate) policy: Policy,
}

impl<K: Default> ClientBuilder<K> {
    pub(crate) fn new() -> Self {
        ClientBuilder {
            account: None,
            region: Region::default(),
            base_url: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            policy: Policy {
                retry: RetryPolicy::default(),
                attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
                deadline: DEFAULT_CALL_DEADLINE,
                max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
                client_timeout: None,
            },
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

    /// The longest wait for a connection (default 10 s). A setting of the
    /// `reqwest::Client` the builder makes: not applied to one given with
    /// [`http_client`](Self::http_client).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The longest one attempt may take, from sending the request to the
    /// last byte of the answer (default 30 s). An attempt that runs out is
    /// retried like a failed connection, within the
    /// [call deadline](Self::call_deadline). It holds with your own
    /// [`http_client`](Self::http_client) too (set on each request); the
    /// `reqwest::Client` the builder makes carries it as its total timeout,
    /// which also bounds a request you send through that client yourself
    /// (a raw client's `client()`).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.policy.attempt_timeout = timeout;
        self
    }

    /// The longest a whole call may take, every attempt and every wait
    /// between retries included (default 60 s). No retry starts that would
    /// begin after it; an attempt under way when it passes ends with
    /// [`Error::Timeout`].
    pub fn call_deadline(mut self, deadline: Duration) -> Self {
        self.policy.deadline = deadline;
        self
    }

    /// When to retry (default: [`RetryPolicy::default`]; [`RetryPolicy::none`]
    /// turns retries off). [`RetryPolicy`] lists which failures are retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy.retry = policy;
        self
    }

    /// The largest success answer read, in bytes (default 10 MiB). The
    /// largest answer these APIs send is one document of 800,000 characters
    /// of JSON: at most 9.6 MB even if every character were escaped as a
    /// 12-byte surrogate pair. A larger answer is refused as it arrives, with
    /// [`Error::ResponseTooLarge`], without reading it whole. Only a v1
    /// listing of sessions with their properties can legitimately pass it
    /// (a page of many large sessions): take smaller pages, or raise this.
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.policy.max_response_bytes = limit;
        self
    }

    /// The `User-Agent` header (default `liveperson-ccs/<version>`). Not
    /// applied to a client given with [`http_client`](Self::http_client).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Uses this `reqwest::Client` as it is: the escape hatch for what the
    /// builder does not set (proxies, TLS roots, ...), and the one place
    /// where a `reqwest` type is part of this crate's API.
    ///
    /// The builder's [`connect_timeout`](Self::connect_timeout) and
    /// [`user_agent`](Self::user_agent) are then not applied, nor its
    /// redirect policy: **configure yours with
    /// `reqwest::redirect::Policy::none()`**, or a redirect may carry the
    /// credentials to another host (reqwest's default policy drops only
    /// `Authorization` there). The attempt timeout, call deadline, retries
    /// and response limit still apply: they act on each request.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self.policy.client_timeout = None;
        self
    }

    pub(crate) fn parts(self, default_base: &str) -> Result<Parts, Error> {
        let account = match self.account {
            Some(account) => AccountId::new(account)?,
            None => return Err(Error::invalid("account id", "no account was given")),
        };
        let base_url = normalize_base_url(self.base_url.as_deref().unwrap_or(default_base))?;
        let mut policy = self.policy;
        let http = match self.http {
            Some(http) => http,
            // The attempt timeout is the client's total timeout, so that an
            // attempt given all of it needs none of its own; a shorter one
            // (the deadline near) is set on the request (see `Transport`).
            None => {
                policy.client_timeout = Some(policy.attempt_timeout);
                reqwest::Client::builder()
                    .connect_timeout(self.connect_timeout)
                    .timeout(policy.attempt_timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(self.user_agent)
                    .build()
                    .map_err(|e| {
                        Error::invalid("HTTP client settings", e.without_url().to_string())
                    })?
            }
        };
        Ok(Parts {
            account,
            base_url,
            http,
            policy,
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

/// Checks a base URL and returns it as the URL parser writes it, without a
/// trailing `/`: the path that requests start with is then exactly the one
/// the transport's path check expects.
fn normalize_base_url(url: &str) -> Result<String, Error> {
    let shown = shown_url(url);
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| Error::invalid("base URL", format!("{shown:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::invalid(
            "base URL",
            format!("{shown:?} is not http or https"),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::invalid(
            "base URL",
            format!("{shown:?} has a query or fragment"),
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid(
            "base URL",
            format!("{shown:?} has a user name or password"),
        ));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// A URL as an error may show it: without its query and fragment (an
/// `access_token` travels there) and without a user name or password.
pub(crate) fn shown_url(url: &str) -> String {
    let (head, cut) = match url.find(['?', '#']) {
        Some(at) => (&url[..at], true),
        None => (url, false),
    };
    let mut shown = match head.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://[redacted]@{}", &rest[at + 1..]),
                None => head.to_owned(),
            }
        }
        None => head.to_owned(),
    };
    if cut {
        shown.push_str("?[redacted]");
    }
    shown
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
        // The parser's own form: the transport's path check compares paths.
        assert_eq!(
            normalize_base_url("HTTP://Example.COM:80/p/")
                .ok()
                .as_deref(),
            Some("http://example.com/p")
        );
    }

    /// No error shows a URL's query, fragment or user information: a token
    /// may travel there.
    #[test]
    fn a_bad_base_url_is_shown_without_its_secrets() {
        for url in [
            "http://127.0.0.1:9/?access_token=SECRETX",
            "http://127.0.0.1:9/#SECRETX",
            "ftp://h/?SECRETX",
            "not a url?access_token=SECRETX",
            "http://user:SECRETX@h/",
            "http://SECRETX@h/p?x",
        ] {
            let err = normalize_base_url(url).expect_err(url);
            let text = format!("{err} {err:?}");
            assert!(!text.contains("SECRETX"), "{url}: {text}");
            assert!(text.contains("base URL"), "{text}");
        }
        assert_eq!(
            shown_url("https://u:p@h:1/a?b#c"),
            "https://[redacted]@h:1/a?[redacted]"
        );
        assert_eq!(shown_url("https://h/a@b"), "https://h/a@b");
    }
}
