//! Every call the CLI makes into the crate's layer, in one place: when the
//! layer's API changes, this file is the one to follow it.

use std::time::Duration;

use crate::Failure;
use futures::{Stream, TryStreamExt};
use liveperson_ccs::v1::{MAX_PAGE_SIZE, RawProperties};
use liveperson_ccs::v2::MAX_TTL;
use liveperson_ccs::{
    CcsV1Client, CcsV2Client, DEFAULT_SESSION, Error, Namespace, Region, RetryPolicy,
};

/// Where to connect and with what, resolved from flags and the environment.
pub struct Settings {
    pub account: String,
    pub region: Region,
    pub base_url: Option<String>,
    pub api_key: Option<String>,
    pub access_token: Option<String>,
    /// Attempts per call in all (the layer's retry policy).
    pub attempts: u32,
    /// How to give a missing API key, for the error message.
    pub api_key_hint: String,
    /// How to give a missing access token, for the error message.
    pub access_token_hint: String,
}

/// A namespace as listed.
pub struct NamespaceInfo {
    pub name: String,
    pub ttl_seconds: Option<u64>,
    pub created_at: String,
}

/// A session's id and properties. Values are always the JSON text the
/// service holds (the layer's raw methods): no number is rewritten.
pub type Session = (String, RawProperties);

/// A v2 document as read.
pub struct DocumentInfo {
    pub payload: RawProperties,
    pub expires_at: Option<String>,
}

/// The layer's clients for one connection.
pub struct Store {
    account: String,
    v1: Option<CcsV1Client>,
    v2: Option<CcsV2Client>,
    api_key_hint: String,
    access_token_hint: String,
}

impl Store {
    /// Builds the clients the credentials allow (v1 with an API key, v2 with
    /// an access token). Nothing is sent.
    pub fn connect(settings: Settings) -> Result<Store, Failure> {
        let retry = RetryPolicy::default()
            .with_max_attempts(settings.attempts)
            .with_max_delay(Duration::from_secs(30));
        let v1 = match settings.api_key {
            Some(key) => {
                let mut builder = CcsV1Client::builder()
                    .account(settings.account.clone())
                    .region(settings.region)
                    .retry_policy(retry.clone())
                    .api_key(key);
                if let Some(url) = &settings.base_url {
                    builder = builder.base_url(url.clone());
                }
                Some(builder.build()?)
            }
            None => None,
        };
        let v2 = match settings.access_token {
            Some(token) => {
                let mut builder = CcsV2Client::builder()
                    .account(settings.account.clone())
                    .region(settings.region)
                    .retry_policy(retry)
                    .access_token(token);
                if let Some(url) = &settings.base_url {
                    builder = builder.base_url(url.clone());
                }
                Some(builder.build()?)
            }
            None => None,
        };
        Ok(Store {
            account: settings.account,
            v1,
            v2,
            api_key_hint: settings.api_key_hint,
            access_token_hint: settings.access_token_hint,
        })
    }

    /// The account this store works on.
    pub fn account(&self) -> &str {
        &self.account
    }

    fn v1(&self) -> Result<&CcsV1Client, Failure> {
        self.v1.as_ref().ok_or_else(|| {
            Failure::usage(format!(
                "this command uses CCS v1, which needs an API key: {}",
                self.api_key_hint
            ))
        })
    }

    fn v2(&self) -> Result<&CcsV2Client, Failure> {
        self.v2.as_ref().ok_or_else(|| {
            Failure::usage(format!(
                "this command uses CCS v2, which needs an access token: {}",
                self.access_token_hint
            ))
        })
    }

    /// Fails early, before any work, when the API a command needs has no credential.
    pub fn require(&self, v2: bool) -> Result<(), Failure> {
        if v2 {
            self.v2().map(|_| ())
        } else {
            self.v1().map(|_| ())
        }
    }

    /// Every namespace of the account, with its TTL where set.
    pub async fn namespaces(&self) -> Result<Vec<NamespaceInfo>, Failure> {
        let list = self.v1()?.list_namespaces().await?;
        Ok(list
            .into_iter()
            .map(|n| NamespaceInfo {
                name: n.name,
                ttl_seconds: n.ttl.map(|t| t.as_secs()),
                created_at: n.created_at.to_rfc3339(),
            })
            .collect())
    }

    /// Creates a namespace, with a TTL if given (which also sets it on an
    /// existing one).
    pub async fn create_namespace(&self, ns: &str, ttl: Option<u64>) -> Result<(), Failure> {
        let v1 = self.v1()?;
        match ttl {
            Some(seconds) => {
                v1.set_namespace_ttl(ns, Duration::from_secs(seconds))
                    .await?
            }
            None => v1.create_namespace(ns).await?,
        }
        Ok(())
    }

    pub async fn delete_namespace(&self, ns: &str) -> Result<(), Failure> {
        Ok(self.v1()?.delete_namespace(ns).await?)
    }

    /// Every session id of a namespace, page after page.
    pub fn session_ids(
        &self,
        ns: &str,
        page_size: u32,
    ) -> Result<impl Stream<Item = Result<String, Failure>> + Send + 'static, Failure> {
        let pages = self
            .v1()?
            .session_ids(ns)?
            .page_size(page_size.clamp(1, MAX_PAGE_SIZE));
        Ok(pages.stream().map_err(Failure::from))
    }

    /// Every session of a namespace with its properties, page after page.
    pub fn sessions(
        &self,
        ns: &str,
        page_size: u32,
    ) -> Result<impl Stream<Item = Result<Session, Failure>> + Send + 'static, Failure> {
        let pages = self
            .v1()?
            .session_properties_raw(ns)?
            .page_size(page_size.clamp(1, MAX_PAGE_SIZE));
        Ok(pages
            .stream()
            .map_ok(|entry| (entry.session_id, entry.properties))
            .map_err(Failure::from))
    }

    /// The sessions of a namespace that have a TTL, with it in seconds.
    pub async fn session_ttls(&self, ns: &str) -> Result<Vec<(String, u64)>, Failure> {
        let list = self.v1()?.list_session_ttls(ns).await?;
        Ok(list
            .into_iter()
            .map(|s| (s.session_id, s.ttl.as_secs()))
            .collect())
    }

    /// The properties of a session: all of them, or the named ones.
    pub async fn get(
        &self,
        ns: &str,
        session: &str,
        names: &[String],
    ) -> Result<RawProperties, Failure> {
        let handle = self.v1()?.session(ns, session)?;
        if names.is_empty() {
            return Ok(handle.get_raw().await?);
        }
        if names.iter().any(|n| n.contains(',')) {
            // `include` separates names with ',': read all, keep the named.
            let mut all = handle.get_raw().await?;
            all.retain(|k, _| names.contains(k));
            return Ok(all);
        }
        Ok(handle.get_properties_raw(names).await?)
    }

    /// Merges properties into a session (others are kept).
    pub async fn set(
        &self,
        ns: &str,
        session: &str,
        properties: &RawProperties,
    ) -> Result<(), Failure> {
        let handle = self.v1()?.session(ns, session)?;
        Ok(handle.set_raw(properties).await?)
    }

    /// Sets a session's TTL for its later writes.
    pub async fn set_session_ttl(&self, ns: &str, session: &str, ttl: u64) -> Result<(), Failure> {
        Ok(self
            .v1()?
            .session(ns, session)?
            .set_ttl(Duration::from_secs(ttl))
            .await?)
    }

    /// Deletes the named properties, or every property of the session.
    pub async fn delete(&self, ns: &str, session: &str, names: &[String]) -> Result<(), Failure> {
        let handle = self.v1()?.session(ns, session)?;
        if names.is_empty() {
            return Ok(handle.delete().await?);
        }
        for name in names {
            handle.delete_property(name).await?;
        }
        Ok(())
    }

    fn document(&self, ns: &str, session: &str) -> Result<liveperson_ccs::v2::Document, Failure> {
        let v2 = self.v2()?;
        Ok(if session == DEFAULT_SESSION {
            v2.namespace_document(ns)?
        } else {
            v2.session_document(ns, session)?
        })
    }

    /// A v2 document (`__default__`: the namespace's); `None` if absent.
    pub async fn doc_get(&self, ns: &str, session: &str) -> Result<Option<DocumentInfo>, Failure> {
        let doc = self.document(ns, session)?.get_raw().await?;
        Ok(doc.map(|d| DocumentInfo {
            payload: d.payload,
            expires_at: d.expires_at.map(|t| t.to_rfc3339()),
        }))
    }

    /// Upserts properties into a v2 document, which then expires after `ttl`.
    pub async fn doc_upsert(
        &self,
        ns: &str,
        session: &str,
        payload: &RawProperties,
        ttl: u64,
    ) -> Result<(), Failure> {
        // An answer with `"success": false` is an error of the layer's.
        self.document(ns, session)?
            .set_raw(payload, Duration::from_secs(ttl))
            .await?;
        Ok(())
    }

    /// Deletes the named properties of a v2 document, or the whole document.
    pub async fn doc_delete(
        &self,
        ns: &str,
        session: &str,
        names: &[String],
    ) -> Result<(), Failure> {
        let doc = self.document(ns, session)?;
        if names.is_empty() {
            doc.delete().await?;
        } else {
            doc.delete_properties(names).await?;
        }
        Ok(())
    }
}

/// The longest TTL v2 takes, in seconds.
pub const V2_MAX_TTL_SECONDS: u64 = MAX_TTL.as_secs();

/// The layer's own name rules, so a file is checked as the layer would check it.
pub mod rules {
    use super::*;

    pub fn namespace(name: &str) -> Result<(), String> {
        Namespace::new(name).map(|_| ()).map_err(reason)
    }

    pub fn session(id: &str) -> Result<(), String> {
        liveperson_ccs::SessionId::new(id)
            .map(|_| ())
            .map_err(reason)
    }

    pub fn property(name: &str) -> Result<(), String> {
        liveperson_ccs::PropertyName::new(name)
            .map(|_| ())
            .map_err(reason)
    }

    fn reason(error: Error) -> String {
        error.to_string()
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        let hint = match &error {
            Error::Unauthorized { .. } => {
                "; check the API key (LP_CCS_API_KEY) or access token (LP_CCS_ACCESS_TOKEN)"
            }
            Error::Transport { .. } => "; check --base-url / LP_CCS_BASE_URL and --region",
            _ => "",
        };
        let usage = matches!(error, Error::InvalidInput { .. });
        Failure {
            message: format!("{error}{hint}"),
            usage,
        }
    }
}
