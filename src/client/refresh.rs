//! A credential that refreshes itself from an async closure: cached,
//! renewed before it expires, fetched once for all concurrent callers.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::time::Instant;

use crate::Error;
use crate::client::secret::{Credential, CredentialFuture, CredentialProvider, Secret};

/// The `tracing` target of this file's events: the module path it had before
/// `src/client/`, kept so that filters written for it still match.
const LOG_TARGET: &str = "liveperson_ccs::refresh";

/// The error type a refresh closure may return: anything that converts into
/// a boxed error (`std::io::Error`, `reqwest::Error`, `anyhow::Error`,
/// `String`, ...).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A token as a refresh closure returns it: the secret and how long it lasts.
///
/// Its `Debug` never shows the secret.
#[derive(Clone, Debug)]
pub struct Token {
    secret: Secret,
    lifetime: Duration,
}

impl Token {
    /// A token that lasts `lifetime` from the moment its refresh began (the
    /// `expires_in` of an OAuth answer, say).
    pub fn new(secret: impl Into<Secret>, lifetime: Duration) -> Self {
        Token {
            secret: secret.into(),
            lifetime,
        }
    }

    /// A token that expires at a point in time (the `exp` claim of a JWT,
    /// say). A time already past gives a token that is renewed at its next use.
    pub fn expiring_at(secret: impl Into<Secret>, expires_at: SystemTime) -> Self {
        let lifetime = expires_at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        Token::new(secret, lifetime)
    }
}

/// A fetched token with the moments it must be renewed and stops being valid.
#[derive(Clone)]
struct Fresh {
    secret: Secret,
    renew_at: Instant,
    expires_at: Instant,
}

/// The error of a failed refresh, shared by every caller that waited for
/// it: the refresh closure's own error, behind an `Arc`.
///
/// It is what [`Error::CredentialRefresh`] holds; that error's `source()` is
/// the closure's error itself, so `downcast_ref` to your error type works.
/// It dereferences to that error too.
#[derive(Clone)]
pub struct RefreshError(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl RefreshError {
    /// The refresh closure's error.
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl std::ops::Deref for RefreshError {
    type Target = dyn std::error::Error + Send + Sync + 'static;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl fmt::Debug for RefreshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for RefreshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

type Flight = Shared<BoxFuture<'static, Result<Fresh, RefreshError>>>;
type RefreshFn = dyn Fn() -> BoxFuture<'static, Result<Token, BoxError>> + Send + Sync;

struct State {
    renew_before: Duration,
    current: Option<Fresh>,
    /// The refresh under way, shared by every caller that needs its result.
    flight: Option<Flight>,
}

struct Inner {
    refresh: Box<RefreshFn>,
    state: Mutex<State>,
}

/// A credential fetched by an async closure of yours, cached until shortly
/// before it expires, then fetched again.
///
/// - **One refresh for all**: when the token must be renewed, one call of the
///   closure serves every concurrent caller (1,000 calls at expiry make 1
///   refresh).
/// - **Renewed before expiry**: a token is renewed once less than
///   [`renew_before`](Self::renew_before) of its lifetime is left (default
///   60 s, at most half the lifetime). While that renewal runs, other callers
///   keep getting the still-valid token; if the renewal fails, they do too,
///   until the token really expires.
/// - **The cause is kept**: a failed refresh (with no valid token left) is an
///   [`Error::CredentialRefresh`] whose `source()` is your closure's error.
///
/// It is a [`CredentialProvider`], so any client takes it, and cheap to clone
/// (clones share one cache): keep one per token, e.g. one per consumer in a
/// map for per-consumer tokens.
///
/// ```no_run
/// use std::time::Duration;
/// use liveperson_ccs::{CcsV2Client, RefreshingCredential, Token};
///
/// # async fn fetch_token() -> Result<(String, u64), std::io::Error> { unimplemented!() }
/// # async fn demo() -> Result<(), liveperson_ccs::Error> {
/// let token = RefreshingCredential::new(|| async {
///     // Ask your token service; any error type that converts to a boxed error works.
///     let (access_token, expires_in) = fetch_token().await?;
///     Ok::<_, std::io::Error>(Token::new(access_token, Duration::from_secs(expires_in)))
/// })
/// .renew_before(Duration::from_secs(120));
///
/// let ccs = CcsV2Client::builder()
///     .account("le12345678")
///     .access_token(token)
///     .build()?;
/// # let _ = ccs;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RefreshingCredential {
    inner: Arc<Inner>,
}

impl fmt::Debug for RefreshingCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingCredential")
            .field("renew_before", &self.lock().renew_before)
            .finish_non_exhaustive()
    }
}

/// The default of [`RefreshingCredential::renew_before`].
pub const DEFAULT_RENEW_BEFORE: Duration = Duration::from_secs(60);

impl RefreshingCredential {
    /// A credential fetched by `refresh`, called when there is no valid token
    /// (first use, expiry, [`invalidate`](Self::invalidate)).
    pub fn new<F, Fut, E>(refresh: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Token, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let refresh: Box<RefreshFn> =
            Box::new(move || refresh().map(|r| r.map_err(Into::into)).boxed());
        RefreshingCredential {
            inner: Arc::new(Inner {
                refresh,
                state: Mutex::new(State {
                    renew_before: DEFAULT_RENEW_BEFORE,
                    current: None,
                    flight: None,
                }),
            }),
        }
    }

    /// Renews a token once less than `margin` of its lifetime is left
    /// (default 60 s); for a token that lives less than twice `margin`, at
    /// half its lifetime. It applies, for every clone, from the next refresh.
    pub fn renew_before(self, margin: Duration) -> Self {
        self.lock().renew_before = margin;
        self
    }

    /// Forgets the current token, so that the next use fetches a new one
    /// (after the service rejected it, say). A refresh under way is kept.
    pub fn invalidate(&self) {
        self.lock().current = None;
    }

    /// Forgets the current token if it is `rejected` (the service refused
    /// it): the next use fetches a new one. A token fetched since is kept,
    /// so that many callers refused with the same token make one refresh.
    pub fn reject(&self, rejected: &Secret) {
        let mut state = self.lock();
        if state
            .current
            .as_ref()
            .is_some_and(|c| &c.secret == rejected)
        {
            state.current = None;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A new refresh, as a future every caller can await.
    fn start(&self, renew_before: Duration) -> Flight {
        let call = (self.inner.refresh)();
        async move {
            let started = Instant::now();
            let token = call.await.map_err(|e| RefreshError(Arc::from(e)))?;
            let expires_at = started + token.lifetime;
            let margin = renew_before.min(token.lifetime / 2);
            Ok(Fresh {
                secret: token.secret,
                renew_at: expires_at - margin,
                expires_at,
            })
        }
        .boxed()
        .shared()
    }

    /// The cached token, when it is valid and not yet due for renewal.
    pub(crate) fn ready(&self) -> Option<Secret> {
        let state = self.lock();
        let now = Instant::now();
        state
            .current
            .as_ref()
            .filter(|c| now < c.renew_at && now < c.expires_at)
            .map(|c| c.secret.clone())
    }

    /// The token to use now: the cached one, or a fresh one.
    pub async fn get(&self) -> Result<Secret, Error> {
        let (flight, still_valid) = {
            let mut state = self.lock();
            let now = Instant::now();
            let valid = state
                .current
                .as_ref()
                .filter(|c| now < c.expires_at)
                .map(|c| (c.secret.clone(), now < c.renew_at));
            match (valid, &state.flight) {
                (Some((secret, true)), _) => return Ok(secret),
                // Due for renewal, which another caller is running.
                (Some((secret, false)), Some(flight)) if !matches!(flight.peek(), Some(Err(_))) => {
                    return Ok(secret);
                }
                (valid, flight) => {
                    // Join the refresh under way unless it has failed (a
                    // failure is reported once to those who waited for it).
                    let flight = match flight {
                        Some(flight) if !matches!(flight.peek(), Some(Err(_))) => flight.clone(),
                        _ => {
                            let flight = self.start(state.renew_before);
                            state.flight = Some(flight.clone());
                            flight
                        }
                    };
                    (flight, valid.map(|(secret, _)| secret))
                }
            }
        };
        let result = flight.clone().await;
        if let Ok(fresh) = &result {
            let mut state = self.lock();
            if state.flight.as_ref().is_some_and(|f| f.ptr_eq(&flight)) {
                state.flight = None;
                state.current = Some(fresh.clone());
            }
        }
        match (result, still_valid) {
            (Ok(fresh), _) => Ok(fresh.secret),
            (Err(error), Some(secret)) => {
                tracing::warn!(target: LOG_TARGET, error = %error, "credential refresh failed; the current token is still valid");
                Ok(secret)
            }
            (Err(error), None) => Err(Error::CredentialRefresh { source: error }),
        }
    }
}

impl CredentialProvider for RefreshingCredential {
    fn credential(&self) -> CredentialFuture<'_> {
        Box::pin(self.get())
    }

    fn reject(&self, rejected: &Secret) {
        RefreshingCredential::reject(self, rejected);
    }

    fn ready(&self) -> Option<Secret> {
        RefreshingCredential::ready(self)
    }
}

impl From<RefreshingCredential> for Credential {
    fn from(value: RefreshingCredential) -> Self {
        Credential::from_provider(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A credential whose every refresh is counted, takes 1 s (of the
    /// paused test clock) and gives `token-N` for `lifetime`.
    fn counted(lifetime: Duration) -> (RefreshingCredential, Arc<AtomicUsize>) {
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        let credential = RefreshingCredential::new(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok::<_, std::io::Error>(Token::new(format!("token-{n}"), lifetime))
            }
        });
        (credential, count)
    }

    #[tokio::test(start_paused = true)]
    async fn a_thousand_callers_at_expiry_make_one_refresh() -> Result<(), Error> {
        let (credential, count) = counted(Duration::from_secs(600));
        assert_eq!(credential.get().await?.expose(), "token-1");
        // Past its expiry: every caller needs a new token at once.
        tokio::time::advance(Duration::from_secs(700)).await;
        let calls = (0..1000).map(|_| {
            let credential = credential.clone();
            tokio::spawn(async move { credential.get().await })
        });
        let results = futures::future::join_all(calls).await;
        assert_eq!(
            count.load(Ordering::SeqCst),
            2,
            "one refresh for 1,000 callers"
        );
        for result in results {
            let secret = result.map_err(|e| Error::invalid("task", e.to_string()))??;
            assert_eq!(secret.expose(), "token-2");
        }
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn renews_before_expiry_and_serves_the_cache_until_then() -> Result<(), Error> {
        let (credential, count) = counted(Duration::from_secs(600));
        let credential = credential.renew_before(Duration::from_secs(60));
        assert_eq!(credential.get().await?.expose(), "token-1");
        // The refresh took 1 s of the 600; 500 s later it is still fresh.
        tokio::time::advance(Duration::from_secs(500)).await;
        assert_eq!(credential.get().await?.expose(), "token-1");
        assert_eq!(count.load(Ordering::SeqCst), 1);
        // 50 s before expiry: inside the 60 s margin, so renewed now.
        tokio::time::advance(Duration::from_secs(49)).await;
        assert_eq!(credential.get().await?.expose(), "token-2");
        assert_eq!(count.load(Ordering::SeqCst), 2);
        // `invalidate` forces the next use to refresh.
        credential.invalidate();
        assert_eq!(credential.get().await?.expose(), "token-3");
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_token_is_renewed_at_half_its_life() -> Result<(), Error> {
        let (credential, count) = counted(Duration::from_secs(20));
        credential.get().await?;
        // 20 s life, 60 s margin: renewed from 10 s on, not at once.
        tokio::time::advance(Duration::from_secs(5)).await;
        credential.get().await?;
        assert_eq!(count.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(credential.get().await?.expose(), "token-2");
        Ok(())
    }

    #[derive(Debug, thiserror::Error)]
    #[error("token service said no")]
    struct Refused;

    #[tokio::test(start_paused = true)]
    async fn a_failed_refresh_keeps_its_source_and_is_tried_again() {
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        let credential = RefreshingCredential::new(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err(Refused)
                } else {
                    Ok(Token::new("second-try", Duration::from_secs(600)))
                }
            }
        });
        let error = credential.get().await.expect_err("the refresh fails");
        assert!(
            matches!(error, Error::CredentialRefresh { .. }),
            "{error:?}"
        );
        let source = std::error::Error::source(&error).expect("the cause is kept");
        assert!(source.downcast_ref::<Refused>().is_some(), "{source:?}");
        assert_eq!(source.to_string(), "token service said no");
        // Not cached: the next use refreshes again.
        assert_eq!(
            credential
                .get()
                .await
                .map(|s| s.expose().to_owned())
                .ok()
                .as_deref(),
            Some("second-try")
        );
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_renewal_keeps_serving_the_valid_token() -> Result<(), Error> {
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        let credential = RefreshingCredential::new(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => Ok(Token::new("first", Duration::from_secs(600))),
                    _ => Err(Refused),
                }
            }
        });
        assert_eq!(credential.get().await?.expose(), "first");
        tokio::time::advance(Duration::from_secs(570)).await;
        assert_eq!(credential.get().await?.expose(), "first", "still valid");
        tokio::time::advance(Duration::from_secs(40)).await;
        let error = credential.get().await.expect_err("expired, refresh fails");
        assert!(std::error::Error::source(&error).is_some());
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn reject_forgets_only_the_refused_token() -> Result<(), Error> {
        let (credential, count) = counted(Duration::from_secs(600));
        let first = credential.get().await?;
        credential.reject(&first);
        let second = credential.get().await?;
        assert_eq!(second.expose(), "token-2");
        // A late caller refused with the old token does not drop the new one.
        credential.reject(&first);
        assert_eq!(credential.get().await?.expose(), "token-2");
        assert_eq!(count.load(Ordering::SeqCst), 2);
        Ok(())
    }

    #[test]
    fn debug_shows_no_secret() {
        let token = Token::new("s3cr3t-token", Duration::from_secs(1));
        assert!(!format!("{token:?}").contains("s3cr3t"));
        let credential = RefreshingCredential::new(|| async {
            Ok::<_, std::io::Error>(Token::new("s3cr3t-token", Duration::from_secs(1)))
        });
        assert!(!format!("{credential:?}").contains("s3cr3t"));
    }
}
