//! The connector's tokens: the AppJWT (Sentinel) and each consumer's
//! ConsumerJWS (IDP), as refreshing credential providers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::discovery::{Discovery, SERVICE_IDP, SERVICE_SENTINEL};
use crate::Error;
use crate::client::refresh::{RefreshingCredential, Token};
use crate::client::secret::{Credential, CredentialFuture, CredentialProvider, Secret};
use crate::client::transport::{Auth, Transport};
use crate::generated::connector_auth as raw;

/// How long a token is taken to live when it says nothing itself (no JWT
/// `exp`, no `expires_in`): one hour, the AppJWT's documented lifetime. The
/// documented ConsumerJWS has no `exp` either; it is renewed after this
/// long, or at once when a call is refused with `errorCode` 40103.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The lifetime of a token: the answer's `expires_in`, else its JWT `exp`,
/// else one hour.
///
/// `expires_in` comes first: it is relative to the answer, so a client
/// clock that differs from the server's (or the emulator's clock, moved by
/// `/__emulator/clock`) does not make the token look longer- or
/// shorter-lived than it is, as the absolute `exp` would.
fn token(secret: Secret, expires_in: Option<u64>) -> Token {
    if let Some(seconds) = expires_in {
        return Token::new(secret, Duration::from_secs(seconds));
    }
    match jwt_expiry(secret.expose()) {
        Some(exp) => Token::expiring_at(secret, exp),
        None => Token::new(secret, DEFAULT_TOKEN_LIFETIME),
    }
}

/// Sentinel's `expires_in`, a JSON number or a string of digits (LivePerson's
/// own toolbelt reads it as a string); anything else is as if absent.
fn expires_in(value: Option<&raw::types::ExpiresIn>) -> Option<u64> {
    match value? {
        raw::types::ExpiresIn::Integer(seconds) => Some(*seconds),
        raw::types::ExpiresIn::String(text) => text.trim().parse().ok(),
    }
}

struct AppInner {
    discovery: Discovery,
    client_id: String,
    credential: RefreshingCredential,
}

/// The connector's AppJWT, from Sentinel (OAuth 2.0 client credentials).
///
/// A [`CredentialProvider`] built on [`RefreshingCredential`]: the token is
/// cached, renewed before it expires (the answer's `expires_in`, a number
/// or a string, else its JWT `exp`, else one hour; renewed 60 s before, or at half its life if
/// shorter), and fetched once for all concurrent callers (1,000 calls at
/// expiry make one token request). Sentinel's host comes from the
/// [`Discovery`] (service `sentinel`).
///
/// Neither the client secret nor the AppJWT ever appears in its `Debug`, in
/// an error or in a log. Cheap to clone; clones share the token.
#[derive(Clone)]
pub struct AppJwtProvider {
    inner: Arc<AppInner>,
}

impl fmt::Debug for AppJwtProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppJwtProvider")
            .field("account", &self.inner.discovery.account().as_str())
            .field("client_id", &self.inner.client_id)
            .field("client_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl AppJwtProvider {
    /// A provider for the connector registered with this client id and
    /// secret, on the discovery's account.
    pub fn new(
        discovery: &Discovery,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Self {
        let client_id = client_id.into();
        let secret = client_secret.into();
        let (d, id) = (discovery.clone(), client_id.clone());
        let credential = RefreshingCredential::new(move || {
            let (d, id, secret) = (d.clone(), id.clone(), secret.clone());
            async move { fetch_app_jwt(&d, id, secret).await }
        });
        AppJwtProvider {
            inner: Arc::new(AppInner {
                discovery: discovery.clone(),
                client_id,
                credential,
            }),
        }
    }

    /// Renews the token once less than `margin` of its life is left (default
    /// 60 s; at half its life for a token living less than twice that).
    pub fn renew_before(self, margin: Duration) -> Self {
        let _ = self.inner.credential.clone().renew_before(margin);
        self
    }

    /// The AppJWT to send now: cached, or fetched from Sentinel.
    ///
    /// Sends `POST /sentinel/api/account/{accountId}/app/token?v=1.0&grant_type=client_credentials`
    /// with the form `client_id`, `client_secret`, when no valid token is
    /// cached (to the `sentinel` host of the [`Discovery`], which may ask the
    /// Domain API first); 200 → the AppJWT. A failure is [`Error::CredentialRefresh`], its `status()` the
    /// one Sentinel answered.
    pub async fn get(&self) -> Result<Secret, Error> {
        self.inner.credential.get().await
    }

    /// The discovery this provider asks for Sentinel's host.
    pub fn discovery(&self) -> &Discovery {
        &self.inner.discovery
    }

    /// A ConsumerJWS provider for one consumer, with this AppJWT.
    pub fn consumer(&self, ext_consumer_id: impl Into<String>) -> ConsumerJwsProvider {
        ConsumerJwsProvider::new(self, ext_consumer_id)
    }
}

impl CredentialProvider for AppJwtProvider {
    fn credential(&self) -> CredentialFuture<'_> {
        Box::pin(self.get())
    }

    fn reject(&self, rejected: &Secret) {
        self.inner.credential.reject(rejected);
    }

    fn ready(&self) -> Option<Secret> {
        self.inner.credential.ready()
    }
}

impl From<AppJwtProvider> for Credential {
    fn from(value: AppJwtProvider) -> Self {
        Credential::from_provider(value)
    }
}

async fn fetch_app_jwt(
    discovery: &Discovery,
    client_id: String,
    client_secret: Secret,
) -> Result<Token, Error> {
    const OPERATION: &str = "get_app_jwt";
    let base = discovery.base_url(SERVICE_SENTINEL).await?;
    let transport = Transport::new(
        Auth::None {
            scrub: vec![client_secret.clone()],
        },
        discovery.policy().clone(),
    );
    let client = raw::Client::new_with_client(&base, discovery.http().clone(), transport);
    let transport = progenitor_client::ClientInfo::inner(&client);
    let result = client
        .get_app_jwt()
        .account_id(discovery.account())
        .v(raw::types::GetAppJwtV::X10)
        .grant_type(raw::types::GetAppJwtGrantType::ClientCredentials)
        .body(raw::types::AppJwtRequest {
            client_id: Some(client_id),
            client_secret: Some(client_secret),
            grant_type: None,
        })
        .send()
        .await;
    let answer = transport.value(OPERATION, result).await?;
    let lifetime = expires_in(answer.expires_in.as_ref());
    Ok(token(answer.access_token, lifetime))
}

struct ConsumerInner {
    app_jwt: AppJwtProvider,
    ext_consumer_id: String,
    credential: RefreshingCredential,
}

/// One consumer's ConsumerJWS, from the IDP, asked for with the connector's
/// AppJWT and the consumer's external id (`ext_consumer_id`).
///
/// A [`CredentialProvider`] built on [`RefreshingCredential`], like
/// [`AppJwtProvider`]: cached, renewed before it expires, one request for all
/// concurrent callers. The documented ConsumerJWS carries no `exp`: it is
/// kept for one hour ([`DEFAULT_TOKEN_LIFETIME`]) unless a call is refused
/// with `errorCode` 40103, when it is renewed at once and the call repeated
/// once. If the IDP refuses the AppJWT (401), the AppJWT is renewed and the
/// request repeated once. The IDP's host comes from the [`Discovery`]
/// (service `idp`).
///
/// Keep one per consumer (in a map, say); clones share the token. Its
/// `Debug` shows the external id, never a token.
#[derive(Clone)]
pub struct ConsumerJwsProvider {
    inner: Arc<ConsumerInner>,
}

impl fmt::Debug for ConsumerJwsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerJwsProvider")
            .field("ext_consumer_id", &self.inner.ext_consumer_id)
            .finish_non_exhaustive()
    }
}

impl ConsumerJwsProvider {
    /// A provider for the consumer the connector knows as `ext_consumer_id`.
    pub fn new(app_jwt: &AppJwtProvider, ext_consumer_id: impl Into<String>) -> Self {
        let ext_consumer_id = ext_consumer_id.into();
        let (app, id) = (app_jwt.clone(), ext_consumer_id.clone());
        let credential = RefreshingCredential::new(move || {
            let (app, id) = (app.clone(), id.clone());
            async move { fetch_consumer_jws(&app, id).await }
        });
        ConsumerJwsProvider {
            inner: Arc::new(ConsumerInner {
                app_jwt: app_jwt.clone(),
                ext_consumer_id,
                credential,
            }),
        }
    }

    /// The consumer's external id.
    pub fn ext_consumer_id(&self) -> &str {
        &self.inner.ext_consumer_id
    }

    /// The AppJWT provider this one asks the IDP with.
    pub fn app_jwt(&self) -> &AppJwtProvider {
        &self.inner.app_jwt
    }

    /// The ConsumerJWS to send now: cached, or fetched from the IDP.
    ///
    /// Sends `POST /api/account/{accountId}/consumer?v=1.0` with
    /// `{"ext_consumer_id"}` and the AppJWT as `Authorization`, when no valid
    /// token is cached (to the `idp` host of the [`Discovery`]); 201 → the
    /// ConsumerJWS. A failure is
    /// [`Error::CredentialRefresh`], its `status()` the one the IDP answered.
    pub async fn get(&self) -> Result<Secret, Error> {
        self.inner.credential.get().await
    }
}

impl CredentialProvider for ConsumerJwsProvider {
    fn credential(&self) -> CredentialFuture<'_> {
        Box::pin(self.get())
    }

    fn reject(&self, rejected: &Secret) {
        self.inner.credential.reject(rejected);
    }

    fn ready(&self) -> Option<Secret> {
        self.inner.credential.ready()
    }
}

impl From<ConsumerJwsProvider> for Credential {
    fn from(value: ConsumerJwsProvider) -> Self {
        Credential::from_provider(value)
    }
}

async fn fetch_consumer_jws(
    app_jwt: &AppJwtProvider,
    ext_consumer_id: String,
) -> Result<Token, Error> {
    const OPERATION: &str = "get_consumer_jws";
    let discovery = app_jwt.discovery();
    let base = discovery.base_url(SERVICE_IDP).await?;
    let mut renewed = false;
    loop {
        let app = app_jwt.get().await?;
        let transport = Transport::new(
            Auth::AppJwt(Credential::from(app.clone())),
            discovery.policy().clone(),
        );
        let client = raw::Client::new_with_client(&base, discovery.http().clone(), transport);
        let transport = progenitor_client::ClientInfo::inner(&client);
        let result = client
            .get_consumer_jws()
            .account_id(discovery.account())
            .v(raw::types::GetConsumerJwsV::X10)
            .body(raw::types::ConsumerJwsRequest {
                ext_consumer_id: ext_consumer_id.clone(),
            })
            .send()
            .await;
        match transport.value(OPERATION, result).await {
            Ok(answer) => return Ok(token(answer.token, None)),
            // The IDP refused the AppJWT: renew it and ask once more.
            Err(error) if !renewed && error.status() == Some(reqwest::StatusCode::UNAUTHORIZED) => {
                tracing::debug!("the IDP refused the AppJWT; renewing it and asking again");
                app_jwt.reject(&app);
                renewed = true;
            }
            Err(error) => return Err(error),
        }
    }
}

/// The `exp` claim of a JWT (seconds since the epoch), if the token is a JWT
/// with one. Nothing is verified: the claim only tells when to renew.
pub(super) fn jwt_expiry(token: &str) -> Option<std::time::SystemTime> {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let (_header, claims, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    let seconds = exp.as_u64().or_else(|| {
        exp.as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| s as u64)
    })?;
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use raw::types::ExpiresIn;

    /// A token's lifetime, as its `Debug` shows it (never the secret).
    fn lifetime(token: &Token) -> String {
        let shown = format!("{token:?}");
        let start = shown
            .find("lifetime: ")
            .map_or(0, |i| i + "lifetime: ".len());
        shown[start..].trim_end_matches([' ', '}']).to_owned()
    }

    #[test]
    fn expires_in_is_read_as_a_number_or_a_string() {
        assert_eq!(expires_in(Some(&ExpiresIn::Integer(3600))), Some(3600));
        assert_eq!(
            expires_in(Some(&ExpiresIn::String("3600".into()))),
            Some(3600)
        );
        assert_eq!(
            expires_in(Some(&ExpiresIn::String(" 60 ".into()))),
            Some(60)
        );
        assert_eq!(expires_in(Some(&ExpiresIn::String("soon".into()))), None);
        assert_eq!(expires_in(Some(&ExpiresIn::String("-1".into()))), None);
        assert_eq!(expires_in(None), None);
        // As Sentinel sends them.
        for (answer, seconds) in [
            (
                r#"{"access_token":"t","token_type":"Bearer","expires_in":"3599"}"#,
                Some(3599),
            ),
            (
                r#"{"access_token":"t","token_type":"Bearer","expires_in":3599}"#,
                Some(3599),
            ),
            (r#"{"access_token":"t","token_type":"Bearer"}"#, None),
        ] {
            let answer: raw::types::AppJwtResponse =
                serde_json::from_str(answer).unwrap_or_else(|e| panic!("{answer}: {e}"));
            assert_eq!(expires_in(answer.expires_in.as_ref()), seconds);
        }
    }

    #[test]
    fn expires_in_wins_over_the_jwt_exp() {
        use base64::Engine as _;
        let claims =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"exp":4102444800}"#);
        let jwt = format!("eyJhbGciOiJub25lIn0.{claims}.");
        let token = token(Secret::new(jwt.clone()), Some(5));
        assert_eq!(lifetime(&token), "5s");
        // Without it, the exp (year 2100: decades away), else one hour.
        let by_exp = super::token(Secret::new(jwt), None);
        assert!(
            lifetime(&by_exp).len() > "3600s".len(),
            "{}",
            lifetime(&by_exp)
        );
        let default = super::token(Secret::new("not-a-jwt"), None);
        assert_eq!(lifetime(&default), "3600s");
    }
}
