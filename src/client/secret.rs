//! Credentials that never show themselves in `Debug` or `Display`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::Error;

/// A secret string: an API key, an access token or a JWT.
///
/// Its `Debug` prints `Secret([redacted])`; it has no `Display`. Read it with
/// [`Secret::expose`] only where it goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Arc::from(value.into()))
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The same value: the same allocation (a cached token; `Arc<str>`'s
    /// `==` compares the text even then), or equal text.
    pub(crate) fn same(&self, other: &Secret) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }

    /// Empty or only white space (stops at the first other character).
    pub(crate) fn is_empty(&self) -> bool {
        self.0.chars().all(char::is_whitespace)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

/// Serializes as the plain secret string: for the wire only (the generated
/// connector clients send a client secret in a form body with it). Never
/// serialize a `Secret` into a log or a snapshot.
impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

/// Deserializes from a JSON string: a token in a service's answer (an AppJWT,
/// a ConsumerJWS) is a `Secret` from the moment it is read.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::from)
    }
}

/// The future a [`CredentialProvider`] returns.
pub type CredentialFuture<'a> = Pin<Box<dyn Future<Output = Result<Secret, Error>> + Send + 'a>>;

/// Supplies a credential before each call.
///
/// Tokens that expire (a CCS v2 access token, a messaging AppJWT lasts 60
/// minutes) are best given as a [`RefreshingCredential`](crate::RefreshingCredential),
/// a provider built from an async closure that caches and renews them.
/// Implement this trait for anything else; the client asks it once per call
/// (its retries reuse the answer). A fixed [`Secret`] is a provider too.
pub trait CredentialProvider: Send + Sync + 'static {
    /// Returns the credential to send now.
    fn credential(&self) -> CredentialFuture<'_>;

    /// Told that the service refused `rejected` as expired or invalid (a
    /// connector API's `errorCode` 40102 or 40103), before the call is
    /// repeated once. A caching provider forgets that value, if it is still
    /// the one it holds, so that the next [`credential`](Self::credential)
    /// fetches a new one; concurrent callers refused with the same value
    /// then share one renewal. The default does nothing (a fixed secret
    /// cannot be renewed).
    fn reject(&self, rejected: &Secret) {
        let _ = rejected;
    }

    /// The credential to send now, when it is at hand without waiting (a
    /// cached token not yet due for renewal); `None` when
    /// [`credential`](Self::credential) must be asked. Clients try this
    /// first, so a call with a cached token needs no boxed future. The
    /// default is `None`.
    fn ready(&self) -> Option<Secret> {
        None
    }
}

impl CredentialProvider for Secret {
    fn credential(&self) -> CredentialFuture<'_> {
        let secret = self.clone();
        Box::pin(async move { Ok(secret) })
    }

    fn ready(&self) -> Option<Secret> {
        Some(self.clone())
    }
}

/// A credential as the clients hold it: a fixed secret or a provider.
#[derive(Clone)]
pub struct Credential(Source);

/// A fixed secret is kept as such, so that a call needs no boxed future to
/// read it (and the transport can make its header once).
#[derive(Clone)]
enum Source {
    Fixed(Secret),
    Provider(Arc<dyn CredentialProvider>),
}

impl Credential {
    /// A credential from a provider that is asked before each call.
    pub fn from_provider(provider: impl CredentialProvider) -> Self {
        Credential(Source::Provider(Arc::new(provider)))
    }

    /// The secret, when it is a fixed one.
    pub(crate) fn fixed(&self) -> Option<&Secret> {
        match &self.0 {
            Source::Fixed(secret) => Some(secret),
            Source::Provider(_) => None,
        }
    }

    /// Tells a provider its value was refused (see [`CredentialProvider::reject`]).
    pub(crate) fn reject(&self, rejected: &Secret) {
        if let Source::Provider(provider) = &self.0 {
            provider.reject(rejected);
        }
    }

    /// Whether a provider (rather than a fixed secret) gives the value.
    pub(crate) fn is_provider(&self) -> bool {
        matches!(self.0, Source::Provider(_))
    }

    /// The value to send now; an empty value is an error, not a request.
    /// A provider's value at hand (see [`CredentialProvider::ready`]) is
    /// taken without asking it for one.
    pub(crate) async fn resolve(&self, name: &'static str) -> Result<Secret, Error> {
        let secret = match &self.0 {
            Source::Fixed(secret) => secret.clone(),
            Source::Provider(provider) => match provider.ready() {
                Some(secret) => secret,
                None => provider.credential().await?,
            },
        };
        if secret.is_empty() {
            return Err(Error::Credentials {
                reason: format!("the {name} is empty"),
            });
        }
        Ok(secret)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential([redacted])")
    }
}

impl<S: Into<Secret>> From<S> for Credential {
    fn from(value: S) -> Self {
        Credential(Source::Fixed(value.into()))
    }
}

/// Replaces every occurrence of the given secrets, and every
/// `access_token=...` query value, with `[redacted]`.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret, "[redacted]");
    }
    redact_query_values(&out, "access_token=")
}

fn redact_query_values(text: &str, key: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        let value_start = at + key.len();
        out.push_str(&rest[..value_start]);
        let value = &rest[value_start..];
        let end = value
            .find(|c: char| matches!(c, '&' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace())
            .unwrap_or(value.len());
        if end > 0 && !value[..end].starts_with("[redacted]") {
            out.push_str("[redacted]");
        } else {
            out.push_str(&value[..end]);
        }
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let secret = Secret::new("ABCD12BigSbWF2ZW4tcm91dGluZw==");
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
        let credential = Credential::from(secret);
        assert_eq!(format!("{credential:?}"), "Credential([redacted])");
    }

    #[test]
    fn scrub_removes_known_secrets_and_access_tokens() {
        let text = "GET /v2/x?access_token=tok123&a=1 key=sekrit-key; again access_token=zzz";
        let scrubbed = scrub(text, &["sekrit-key"]);
        assert_eq!(
            scrubbed,
            "GET /v2/x?access_token=[redacted]&a=1 key=[redacted]; again access_token=[redacted]"
        );
        assert_eq!(scrub("access_token=", &[]), "access_token=");
    }
}
