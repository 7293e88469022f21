//! The connector tokens the emulator issued: Sentinel's AppJWTs and the
//! IDP's ConsumerJWSs, kept to be checked on the IDP, CONVERSATION and SEND.
//!
//! Tokens are JWT-shaped and **unsigned** (`"alg":"none"`, empty signature):
//! the emulator knows its tokens by keeping each one it issued (with its
//! expiry, account and consumer) until it has expired, not by a signature.
//! So a token is "issued by the emulator" only if this very process issued
//! it; expired ones are forgotten a while after they expire.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// How many tokens may be issued between two sweeps of expired ones.
const SWEEP_EVERY: usize = 1024;

/// What kind of token.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    AppJwt,
    ConsumerJws,
}

/// A token this emulator issued.
pub(super) struct Issued {
    pub(super) kind: Kind,
    pub(super) account: String,
    pub(super) expires_at: DateTime<Utc>,
    /// The external consumer id a ConsumerJWS is bound to.
    pub(super) consumer: Option<String>,
}

/// The issued tokens, shared by every request.
pub(super) struct Tokens {
    tokens: Mutex<HashMap<String, Issued>>,
    issued: AtomicUsize,
    /// Connector credentials are configured
    /// ([`EmulatorConfig::app_credentials`](super::EmulatorConfig::app_credentials)):
    /// only tokens this emulator issued are accepted.
    only_issued: bool,
}

impl Tokens {
    /// No token yet; `only_issued`: refuse every token the emulator did not
    /// issue (else any non-empty one is accepted).
    pub(super) fn new(only_issued: bool) -> Tokens {
        Tokens {
            tokens: Mutex::default(),
            issued: AtomicUsize::new(0),
            only_issued,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Issued>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps a token just issued; every [`SWEEP_EVERY`] tokens, forgets the
    /// expired ones (they are then "not issued by the emulator": still
    /// refused when credentials are checked, accepted by default).
    pub(super) fn keep(&self, token: String, issued: Issued, now: DateTime<Utc>) {
        let mut tokens = self.lock();
        if self.issued.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            tokens.retain(|_, t| t.expires_at > now);
        }
        tokens.insert(token, issued);
    }

    /// Whether a token is acceptable as the given kind for the account at
    /// `now`: one this emulator issued and that has not expired, or, unless
    /// connector credentials are configured, any other non-empty token.
    pub(super) fn accepts(
        &self,
        token: &str,
        kind: Kind,
        account: &str,
        now: DateTime<Utc>,
    ) -> bool {
        match self.lock().get(token) {
            Some(issued) => {
                issued.kind == kind && issued.account == account && issued.expires_at > now
            }
            None => !self.only_issued,
        }
    }

    /// The external consumer id an issued ConsumerJWS is bound to.
    pub(super) fn consumer(&self, token: &str) -> Option<String> {
        self.lock().get(token).and_then(|t| t.consumer.clone())
    }

    /// Forgets every issued token (`/__emulator/reset`).
    pub(super) fn clear(&self) {
        self.lock().clear();
    }

    /// How many issued tokens are held (for tests of the sweep).
    pub(super) fn held(&self) -> usize {
        self.lock().len()
    }
}

/// An unsigned JWT (`alg` `none`) with these claims.
pub(super) fn unsigned_jwt(claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT", "kid": "ccs-emulator"});
    format!(
        "{}.{}.",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The token of an `Authorization` value: without the `Bearer ` prefix
/// LivePerson's own clients send (the scheme in any case, then spaces),
/// or the whole value when it is the bare token the pages show. A lone
/// `Bearer` (what `Bearer ` arrives as, trailing spaces trimmed) is no token.
pub(super) fn bearer_token(value: &str) -> &str {
    if value.eq_ignore_ascii_case("bearer") {
        return "";
    }
    match value.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => {
            value[7..].trim_start_matches(' ')
        }
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_prefix_is_optional() {
        assert_eq!(bearer_token("eyJ.a."), "eyJ.a.");
        assert_eq!(bearer_token("Bearer eyJ.a."), "eyJ.a.");
        assert_eq!(bearer_token("bearer  eyJ.a."), "eyJ.a.");
        assert_eq!(bearer_token("Bearer "), "");
        assert_eq!(bearer_token("BEARER"), "");
        assert_eq!(bearer_token("Béarer x"), "Béarer x");
    }
}
