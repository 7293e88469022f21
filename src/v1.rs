//! The CCS v1 client: namespaces, namespace and session properties, TTLs,
//! and the session listings as streams.
//!
//! Each method's docs name the request it sends (`Sends ...`) and what a
//! success answers. Any other answer is an [`Error`]: 401 or 403
//! [`Error::Unauthorized`], 404 [`Error::NotFound`] (but a single-property
//! read's `None` for the service's own "property not found"), 413
//! [`Error::DocumentTooLarge`], 429 [`Error::RateLimited`] once the retries
//! are spent, 3xx [`Error::Redirected`], anything else [`Error::Api`]. A
//! write or delete takes any 2xx as success (a 200 where the spec says 204).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, TryStreamExt, stream};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::Error;
use crate::client::builder::{ClientBuilder, env, required_env};
use crate::client::secret::Credential;
use crate::client::transport::{Auth, PathPart, RawCall, Transport};
use crate::error::is_missing;
use crate::generated::v1 as raw;
use crate::names::{AccountId, IntoName, Namespace, PropertyName, SessionId};
use crate::values::{from_value, raw_object};

/// A client for CCS v1, bound to one account.
///
/// Cheap to clone: clones share one connection pool.
///
/// ```no_run
/// # async fn demo() -> Result<(), liveperson_ccs::Error> {
/// use liveperson_ccs::{CcsV1Client, Region};
/// use serde_json::json;
///
/// let ccs = CcsV1Client::builder()
///     .account("le12345678")
///     .region(Region::Americas)
///     .api_key("ABCD12BigSbWF2ZW4tcm91dGluZw==")
///     .build()?;
/// ccs.check().await?; // the base URL and the key work
/// ccs.create_namespace("myNamespace").await?;
/// let session = ccs.session("myNamespace", "mySessionId")?;
/// session.set_properties(&json!({"intent": "billing", "tier": "gold"})).await?;
/// let intent: Option<String> = session.get_property("intent").await?;
/// assert_eq!(intent.as_deref(), Some("billing"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CcsV1Client {
    inner: Arc<Inner>,
}

struct Inner {
    raw: raw::Client,
    account: AccountId,
}

impl fmt::Debug for CcsV1Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CcsV1Client")
            .field("account", &self.inner.account.as_str())
            .field("base_url", &self.base_url())
            .field("api_key", &"[redacted]")
            .finish()
    }
}

/// The credentials of a CCS v1 client (see [`ClientBuilder::api_key`]).
#[derive(Debug, Clone, Default)]
pub struct V1Credentials {
    pub(crate) api_key: Option<Credential>,
}

impl ClientBuilder<V1Credentials> {
    /// Applies the environment: `LP_ACCOUNT_ID`, `LP_REGION`,
    /// `LP_CCS_BASE_URL` and `LP_CCS_API_KEY`, each only where it is set (and
    /// not empty); every other setting stays as it is. Setters called after
    /// this override it, so a key given in code needs no variable:
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), liveperson_ccs::Error> {
    /// use std::time::Duration;
    /// use liveperson_ccs::{CcsV1Client, RetryPolicy};
    ///
    /// let ccs = CcsV1Client::builder()
    ///     .with_env()? // LP_ACCOUNT_ID, LP_REGION, LP_CCS_BASE_URL
    ///     .api_key("ABCD12BigSbWF2ZW4tcm91dGluZw==")
    ///     .retry_policy(RetryPolicy::default().with_max_attempts(5))
    ///     .call_deadline(Duration::from_secs(20))
    ///     .build()?;
    /// # let _ = ccs; Ok(()) }
    /// ```
    ///
    /// Fails only on a variable that is set but wrong (`LP_REGION`).
    pub fn with_env(self) -> Result<Self, Error> {
        let mut builder = self.env_common("LP_CCS_BASE_URL")?;
        if let Some(key) = env("LP_CCS_API_KEY") {
            builder.kind.api_key = Some(key.into());
        }
        Ok(builder)
    }

    /// The Conversation Orchestrator developer key, sent as `maven-api-key`.
    /// Required. A key that changes can be given as a
    /// [`RefreshingCredential`](crate::RefreshingCredential), or any
    /// [`CredentialProvider`](crate::CredentialProvider) through
    /// [`Credential::from_provider`].
    pub fn api_key(mut self, key: impl Into<Credential>) -> Self {
        self.kind.api_key = Some(key.into());
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<CcsV1Client, Error> {
        let default_base = self.region.ccs_v1_url();
        let Some(api_key) = self.kind.api_key.clone() else {
            return Err(Error::invalid("API key", "no API key was given"));
        };
        let parts = self.parts(default_base)?;
        let transport = Transport::new(Auth::ApiKey(api_key), parts.policy);
        Ok(CcsV1Client {
            inner: Arc::new(Inner {
                raw: raw::Client::new_with_client(&parts.base_url, parts.http, transport),
                account: parts.account,
            }),
        })
    }
}

/// A namespace as [`CcsV1Client::list_namespaces`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "Namespace", rename_all = "camelCase")
)]
#[non_exhaustive]
pub struct NamespaceInfo {
    /// The namespace name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Its TTL, where one is set.
    #[cfg_attr(
        feature = "schemars",
        schemars(rename = "ttlSecond", with = "Option<u64>")
    )]
    pub ttl: Option<Duration>,
}

/// A session with a TTL, as [`CcsV1Client::list_session_ttls`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "SessionTtl", rename_all = "camelCase")
)]
#[non_exhaustive]
pub struct SessionTtl {
    /// The session id.
    pub session_id: String,
    /// When the TTL was set.
    pub created_at: DateTime<Utc>,
    /// The TTL; zero means no expiry.
    #[cfg_attr(feature = "schemars", schemars(rename = "ttlSecond", with = "u64"))]
    pub ttl: Duration,
}

/// A session with its properties, as [`CcsV1Client::session_properties`] streams them.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "SessionProperties", rename_all = "camelCase")
)]
#[non_exhaustive]
pub struct SessionEntry {
    /// The session id (`__default__` for the namespace level).
    pub session_id: String,
    /// Its properties.
    // The service sends them as `properties` or `property`, either optional;
    // the layer reads both into this field, empty when neither came.
    #[cfg_attr(feature = "schemars", schemars(default))]
    pub properties: Map<String, Value>,
}

impl SessionEntry {
    /// The properties as a type of yours (a struct with the property names
    /// as fields, say), as [`Session::get_as`] reads them; properties that do
    /// not fit `T` are [`Error::TypeMismatch`].
    ///
    /// ```
    /// # fn demo(entry: liveperson_ccs::v1::SessionEntry) -> Result<(), liveperson_ccs::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Handoff {
    ///     intent: String,
    ///     tier: Option<String>,
    /// }
    /// let handoff: Handoff = entry.properties_as()?;
    /// println!("{}: {} ({:?})", entry.session_id, handoff.intent, handoff.tier);
    /// # Ok(()) }
    /// ```
    pub fn properties_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        from_value(
            "list_session_properties",
            None,
            Value::Object(self.properties.clone()),
        )
    }
}

/// Whole seconds for a TTL, rounding a fraction up so a TTL never shortens.
fn ttl_seconds(ttl: Duration) -> i64 {
    let seconds = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

fn to_map<T: Serialize + ?Sized>(
    what: &'static str,
    value: &T,
) -> Result<Map<String, Value>, Error> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => {
            map.values()
                .try_for_each(|v| crate::values::check("property value", v))?;
            Ok(map)
        }
        Ok(other) => Err(Error::invalid(
            what,
            format!(
                "properties must serialize to a JSON object, not {}",
                kind_of(&other)
            ),
        )),
        Err(e) => Err(Error::invalid(what, format!("cannot serialize: {e}"))),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, Error> {
    let value = serde_json::to_value(value)
        .map_err(|e| Error::invalid("property value", format!("cannot serialize: {e}")))?;
    crate::values::check("property value", &value)?;
    Ok(value)
}

impl CcsV1Client {
    /// A builder; [`account`](ClientBuilder::account) and
    /// [`api_key`](ClientBuilder::api_key) are required.
    pub fn builder() -> ClientBuilder<V1Credentials> {
        ClientBuilder::new()
    }

    /// A client from the environment: `LP_ACCOUNT_ID` and `LP_CCS_API_KEY`
    /// (required), `LP_REGION` (`americas`, `emea`, `apac`) and
    /// `LP_CCS_BASE_URL` (optional). To combine the environment with other
    /// settings, use [`with_env`](ClientBuilder::with_env) on the builder.
    pub fn from_env() -> Result<Self, Error> {
        required_env("LP_CCS_API_KEY")?;
        Self::builder().with_env()?.build()
    }

    /// The account this client works on.
    pub fn account(&self) -> &AccountId {
        &self.inner.account
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        progenitor_client::ClientInfo::baseurl(&self.inner.raw)
    }

    /// The generated client, for what this layer does not cover. It follows
    /// `openapi/ccs-v1.yaml` and may change with it.
    pub fn raw(&self) -> &raw::Client {
        &self.inner.raw
    }

    /// Checks this client's configuration against the service with one cheap
    /// read that needs no data: it lists the account's namespaces
    /// (`GET /v1/account/{accountId}`) and discards them.
    ///
    /// `Ok(())` means the base URL reaches CCS v1 and the API key is accepted
    /// for the account. A wrong base URL or path prefix fails with
    /// [`Error::NotFound`] (or [`Error::Transport`] when nothing answers), a
    /// wrong key with [`Error::Unauthorized`]. Call it once at start-up:
    /// without it, a wrong base URL shows only at the first call.
    ///
    /// Sends `GET /v1/account/{accountId}`; 200 → `Ok(())`.
    pub async fn check(&self) -> Result<(), Error> {
        self.list_namespaces().await.map(drop)
    }

    fn acc(&self) -> &AccountId {
        &self.inner.account
    }

    fn t(&self) -> &Transport {
        progenitor_client::ClientInfo::inner(&self.inner.raw)
    }

    /// Creates a namespace (`POST /v1/account/{accountId}`). Writing to a
    /// namespace that does not exist creates it too.
    ///
    /// Sends `POST /v1/account/{accountId}` with `{"name"}`; 204 → `Ok(())`.
    pub async fn create_namespace(&self, namespace: impl IntoName<Namespace>) -> Result<(), Error> {
        self.post_namespace(namespace.into_name()?, None).await
    }

    /// Sets the TTL of a namespace (creating it if needed): properties written
    /// from now on at namespace level expire after `ttl`. [`Duration::ZERO`]
    /// means no expiry; a fraction of a second rounds up.
    ///
    /// Sends `POST /v1/account/{accountId}?ttlSecond=` with `{"name"}`; 204 →
    /// `Ok(())`.
    pub async fn set_namespace_ttl(
        &self,
        namespace: impl IntoName<Namespace>,
        ttl: Duration,
    ) -> Result<(), Error> {
        self.post_namespace(namespace.into_name()?, Some(ttl_seconds(ttl)))
            .await
    }

    async fn post_namespace(&self, namespace: Namespace, ttl: Option<i64>) -> Result<(), Error> {
        let body = raw::types::CreateNamespaceRequest { name: namespace };
        let mut call = self
            .inner
            .raw
            .create_namespace()
            .account_id(self.acc())
            .body(body);
        if let Some(ttl) = ttl {
            call = call.ttl_second(raw::types::TtlSecond(ttl));
        }
        self.t().unit("create_namespace", call.send().await).await
    }

    /// Lists the namespaces of the account, with their TTLs where set.
    ///
    /// Sends `GET /v1/account/{accountId}`; 200 → the list.
    pub async fn list_namespaces(&self) -> Result<Vec<NamespaceInfo>, Error> {
        let list = self
            .t()
            .value(
                "list_namespaces",
                self.inner
                    .raw
                    .list_namespaces()
                    .account_id(self.acc())
                    .send()
                    .await,
            )
            .await?;
        Ok(list
            .0
            .into_iter()
            .map(|n| NamespaceInfo {
                name: n.name,
                created_at: n.created_at,
                ttl: n.ttl_second.map(|s| Duration::from_secs(s.max(0) as u64)),
            })
            .collect())
    }

    /// Deletes a namespace with all its properties and its TTL.
    ///
    /// Sends `DELETE /v1/account/{accountId}/{customNamespace}`; 204 → `Ok(())`.
    pub async fn delete_namespace(&self, namespace: impl IntoName<Namespace>) -> Result<(), Error> {
        let namespace = namespace.into_name()?;
        let call = self
            .inner
            .raw
            .delete_namespace()
            .account_id(self.acc())
            .custom_namespace(namespace);
        self.t().unit("delete_namespace", call.send().await).await
    }

    /// The namespace-level properties of a namespace, as a [`Session`] handle
    /// (the namespace level is the session `__default__`).
    pub fn namespace(&self, namespace: impl IntoName<Namespace>) -> Result<Session, Error> {
        Ok(Session {
            client: self.clone(),
            namespace: namespace.into_name()?,
            session: None,
        })
    }

    /// The properties of one session of a namespace. The session
    /// `__default__` is the namespace level, reached through the session paths.
    pub fn session(
        &self,
        namespace: impl IntoName<Namespace>,
        session: impl IntoName<SessionId>,
    ) -> Result<Session, Error> {
        Ok(Session {
            client: self.clone(),
            namespace: namespace.into_name()?,
            session: Some(session.into_name()?),
        })
    }

    /// Lists the sessions of a namespace that have a TTL (one answer, not
    /// paginated). [`Session::ttl`] reads one session's.
    ///
    /// Sends `GET /v1/account/{accountId}/namespace/{customNamespace}/session`;
    /// 200 → the list.
    pub async fn list_session_ttls(
        &self,
        namespace: impl IntoName<Namespace>,
    ) -> Result<Vec<SessionTtl>, Error> {
        let namespace = namespace.into_name()?;
        let call = self
            .inner
            .raw
            .list_session_ttls()
            .account_id(self.acc())
            .custom_namespace(namespace);
        let list = self
            .t()
            .value("list_session_ttls", call.send().await)
            .await?;
        Ok(list
            .0
            .into_iter()
            .map(|s| SessionTtl {
                session_id: s.session_id,
                created_at: s.created_at,
                ttl: Duration::from_secs(s.ttl_second.max(0) as u64),
            })
            .collect())
    }

    /// The ids of the sessions of a namespace that hold properties, page by
    /// page (`GET .../session-ids`).
    ///
    /// Sends nothing itself: [`page`](SessionListing::page) and
    /// [`stream`](SessionListing::stream) send
    /// `GET /v1/account/{accountId}/{customNamespace}/session-ids?page=&perPage=`.
    pub fn session_ids(
        &self,
        namespace: impl IntoName<Namespace>,
    ) -> Result<SessionListing<String>, Error> {
        Ok(SessionListing::new(
            self.clone(),
            namespace.into_name()?,
            ListingKind::SessionIds,
        ))
    }

    /// The sessions of a namespace with their properties, page by page
    /// (`GET .../session-properties`).
    ///
    /// Sends nothing itself: [`page`](SessionListing::page) and
    /// [`stream`](SessionListing::stream) send
    /// `GET /v1/account/{accountId}/{customNamespace}/session-properties?page=&perPage=`.
    pub fn session_properties(
        &self,
        namespace: impl IntoName<Namespace>,
    ) -> Result<SessionListing<SessionEntry>, Error> {
        Ok(SessionListing::new(
            self.clone(),
            namespace.into_name()?,
            ListingKind::SessionProperties,
        ))
    }
}

/// The properties of one session of a namespace, or of the namespace level
/// (the session `__default__`).
///
/// Made by [`CcsV1Client::session`] or [`CcsV1Client::namespace`]; its names
/// are already checked. The verbs are those of [`v2::Document`](crate::v2::Document):
/// `get`, `delete` act on the whole session; `get_property`, `set_property`,
/// `get_properties`, `set_properties`, `delete_property` on properties.
///
/// ```no_run
/// # async fn demo(ccs: liveperson_ccs::CcsV1Client) -> Result<(), liveperson_ccs::Error> {
/// use std::time::Duration;
///
/// let session = ccs.session("myNamespace", "mySessionId")?;
/// session.set_ttl(Duration::from_secs(3600)).await?; // for the writes below
/// session.set_property("tier", "gold").await?;
/// let tier: Option<String> = session.get_property("tier").await?;
/// let everything = session.get().await?;
/// session.delete().await?;
/// # let _ = (tier, everything);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Session {
    client: CcsV1Client,
    namespace: Namespace,
    session: Option<SessionId>,
}

/// The old name of [`Session`].
#[deprecated(note = "renamed `Session`")]
pub type Scope = Session;

impl Session {
    /// The namespace.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// The session, or `None` for the namespace level.
    pub fn session(&self) -> Option<&SessionId> {
        self.session.as_ref()
    }

    fn raw(&self) -> &raw::Client {
        &self.client.inner.raw
    }

    fn t(&self) -> &Transport {
        self.client.t()
    }

    fn acc(&self) -> &AccountId {
        self.client.acc()
    }

    fn ns(&self) -> &Namespace {
        &self.namespace
    }

    /// Sets the TTL of this session (or, for the namespace level, of the
    /// namespace).
    ///
    /// **It applies to later writes only**: properties written from now on
    /// expire `ttl` after their write; properties already saved keep the
    /// expiry they were written with. So set it before the writes it is
    /// meant for. A session TTL overrides the namespace's. [`Duration::ZERO`]
    /// means no expiry; a fraction of a second rounds up.
    ///
    /// Sends `POST /v1/account/{accountId}/namespace/{customNamespace}/session?ttlSecond=`
    /// with `{"sessionId"}` (at namespace level, `POST /v1/account/{accountId}?ttlSecond=`
    /// with `{"name"}`); 204 → `Ok(())`.
    pub async fn set_ttl(&self, ttl: Duration) -> Result<(), Error> {
        let Some(session) = &self.session else {
            return self
                .client
                .post_namespace(self.namespace.clone(), Some(ttl_seconds(ttl)))
                .await;
        };
        let body = raw::types::SetSessionTtlRequest {
            session_id: raw::types::SetSessionTtlRequestSessionId::try_from(session.as_str())
                .map_err(|e| Error::invalid("session id", e.to_string()))?,
        };
        let call = self
            .raw()
            .set_session_ttl()
            .account_id(self.acc())
            .custom_namespace(self.ns())
            .ttl_second(raw::types::TtlSecond(ttl_seconds(ttl)))
            .body(body);
        self.t().unit("set_session_ttl", call.send().await).await
    }

    /// The TTL set on this session (or, for the namespace level, on the
    /// namespace); `None` when none is set, `Some(Duration::ZERO)` for "no
    /// expiry". The service has no per-session read: this reads the
    /// namespace's whole TTL listing ([`CcsV1Client::list_session_ttls`], or
    /// [`CcsV1Client::list_namespaces`] for the namespace level).
    ///
    /// Sends `GET /v1/account/{accountId}/namespace/{customNamespace}/session`
    /// (at namespace level, `GET /v1/account/{accountId}`); 200 → the TTL found
    /// in it, or `None`.
    pub async fn ttl(&self) -> Result<Option<Duration>, Error> {
        match &self.session {
            None => Ok(self
                .client
                .list_namespaces()
                .await?
                .into_iter()
                .find(|n| n.name == self.namespace.as_str())
                .and_then(|n| n.ttl)),
            Some(session) => Ok(self
                .client
                .list_session_ttls(self.ns())
                .await?
                .into_iter()
                .find(|s| s.session_id == session.as_str())
                .map(|s| s.ttl)),
        }
    }

    /// Saves several properties at once (PATCH): named ones are inserted or
    /// overwritten, others are kept. `properties` must serialize to a JSON
    /// object (a map or a struct).
    ///
    /// Sends `PATCH /v1/account/{accountId}/{customNamespace}/{sessionId}/properties`
    /// (at namespace level without `/{sessionId}`) with the object; 204 → `Ok(())`, 413 →
    /// [`Error::DocumentTooLarge`].
    pub async fn set_properties<T: Serialize + ?Sized>(&self, properties: &T) -> Result<(), Error> {
        // The same bytes either way (keys sorted, each value's depth checked);
        // written without a `Value` where that is sure to give them.
        let body = match crate::values::sorted_text::properties_text(properties) {
            Some(text) => text,
            None => serde_json::to_vec(&to_map("properties", properties)?)
                .map_err(|e| Error::invalid("properties", format!("cannot serialize: {e}")))?,
        };
        // Written by hand, not through the generated `set_session_properties`
        // (`set_namespace_properties`): the same request (no `Accept` of its
        // own, as the generated call) and the same answers: any 2xx is
        // `Ok(())`, as `Transport::unit` makes it.
        let call = RawCall {
            operation: match self.session {
                None => "set_namespace_properties",
                Some(_) => "set_session_properties",
            },
            method: reqwest::Method::PATCH,
            base_url: self.client.base_url(),
            path: &self.properties_path(),
            query: &[],
            body: Some(body),
            accept_json: false,
        };
        self.t().raw_unit(self.client.http(), call).await
    }

    /// Saves one property (PUT) to any value that serializes to JSON.
    ///
    /// Sends `PUT /v1/account/{accountId}/{customNamespace}/{sessionId}/properties/{property}`
    /// (at namespace level without `/{sessionId}`) with the value as JSON; 204 → `Ok(())`, 413
    /// → [`Error::DocumentTooLarge`].
    pub async fn set_property<T: Serialize + ?Sized>(
        &self,
        name: impl IntoName<PropertyName>,
        value: &T,
    ) -> Result<(), Error> {
        let name = name.into_name()?;
        let body = raw::types::PropertyValue(to_value(value)?);
        match &self.session {
            None => {
                let call = self
                    .raw()
                    .set_namespace_property()
                    .account_id(self.acc())
                    .custom_namespace(self.ns())
                    .property(name)
                    .body(body);
                self.t()
                    .unit("set_namespace_property", call.send().await)
                    .await
            }
            Some(session) => {
                let call = self
                    .raw()
                    .set_session_property()
                    .account_id(self.acc())
                    .custom_namespace(self.ns())
                    .session_id(session)
                    .property(name)
                    .body(body);
                self.t()
                    .unit("set_session_property", call.send().await)
                    .await
            }
        }
    }

    /// Reads one property as `T`; `None` if the service says it does not
    /// exist (or has expired).
    ///
    /// Only the service's own "not found" answer (its JSON error,
    /// `{"message": "property ... not found"}`) is `None`: any other 404, from
    /// a wrong base URL or a proxy, is [`Error::NotFound`]. The documents
    /// show a string value answered without JSON quotes (`myValue1`); such an
    /// answer is read as that string. A value that does not fit `T` is
    /// [`Error::TypeMismatch`], naming the property.
    ///
    /// Sends `GET /v1/account/{accountId}/{customNamespace}/{sessionId}/properties/{property}`
    /// (at namespace level without `/{sessionId}`); 200 → `Some`, the service's 404 → `None`.
    pub async fn get_property<T: DeserializeOwned>(
        &self,
        name: impl IntoName<PropertyName>,
    ) -> Result<Option<T>, Error> {
        let name = name.into_name()?;
        match self.get_property_value(&name).await? {
            Some(value) => Ok(Some(from_value(
                self.get_operation(),
                Some(name.as_str()),
                value,
            )?)),
            None => Ok(None),
        }
    }

    fn get_operation(&self) -> &'static str {
        match self.session {
            None => "get_namespace_property",
            Some(_) => "get_session_property",
        }
    }

    /// Reads one property as raw JSON; `None` as for
    /// [`get_property`](Self::get_property).
    ///
    /// Sends `GET /v1/account/{accountId}/{customNamespace}/{sessionId}/properties/{property}`
    /// (at namespace level without `/{sessionId}`); 200 → `Some`, the service's 404 → `None`.
    pub async fn get_property_value(
        &self,
        name: impl IntoName<PropertyName>,
    ) -> Result<Option<Value>, Error> {
        let name = name.into_name()?;
        // Written by hand, not through the generated `get_session_property`
        // (`get_namespace_property`): the same request and the same answers
        // (see `Transport::raw_ok`), for about 6k fewer instructions a call.
        let mut path = self.properties_path();
        path.extend([PathPart::Literal("/"), PathPart::Param(name.as_str())]);
        let call = RawCall {
            operation: self.get_operation(),
            method: reqwest::Method::GET,
            base_url: self.client.base_url(),
            path: &path,
            query: &[],
            body: None,
            accept_json: true,
        };
        let result = self
            .t()
            .raw_ok(self.client.http(), call, |body| {
                match serde_json::from_slice(body) {
                    Ok(value) => Ok(value),
                    // A bare, unquoted string body, as the Methods v1 page shows it.
                    Err(_) => match std::str::from_utf8(body) {
                        Ok(text) if !text.trim().is_empty() => {
                            Ok(Value::String(text.trim().to_owned()))
                        }
                        _ => Err(Error::Decode {
                            operation: self.get_operation(),
                            status: None,
                            reason: "the answer is empty or not UTF-8".into(),
                            body: String::from_utf8_lossy(body).into_owned(),
                        }),
                    },
                }
            })
            .await;
        match result {
            Ok(value) => Ok(Some(value)),
            Err(missing) if is_missing(&missing, "property") => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Reads the whole session: every property (`{}` when there are none,
    /// or for a session that does not exist).
    ///
    /// Sends `GET /v1/account/{accountId}/{customNamespace}/{sessionId}/properties`
    /// (at namespace level without `/{sessionId}`); 200 → the properties.
    pub async fn get(&self) -> Result<Map<String, Value>, Error> {
        self.read(None).await
    }

    /// Reads the whole session into a type of yours (a struct with the
    /// property names as fields, say). Properties that do not fit `T` are
    /// [`Error::TypeMismatch`], naming the property where it can.
    ///
    /// Sends `GET /v1/account/{accountId}/{customNamespace}/{sessionId}/properties`
    /// (at namespace level without `/{sessionId}`); 200 → the properties as `T`.
    pub async fn get_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let map = self.read(None).await?;
        from_value(self.read_operation(), None, Value::Object(map))
    }

    /// Reads the named properties only (`?include=a,b`); those that do not
    /// exist are absent from the answer.
    ///
    /// Sends `GET /v1/account/{accountId}/{customNamespace}/{sessionId}/properties?include=a,b`
    /// (at namespace level without `/{sessionId}`); 200 → the properties found.
    pub async fn get_properties<I, N>(&self, names: I) -> Result<Map<String, Value>, Error>
    where
        I: IntoIterator<Item = N>,
        N: IntoName<PropertyName>,
    {
        self.read(Some(include_list(names)?)).await
    }

    fn read_operation(&self) -> &'static str {
        match self.session {
            None => "get_namespace_properties",
            Some(_) => "get_session_properties",
        }
    }

    async fn read(&self, include: Option<String>) -> Result<Map<String, Value>, Error> {
        let result = match &self.session {
            None => {
                let mut call = self
                    .raw()
                    .get_namespace_properties()
                    .account_id(self.acc())
                    .custom_namespace(self.ns());
                if let Some(include) = include {
                    call = call.include(include);
                }
                call.send().await
            }
            Some(session) => {
                let mut call = self
                    .raw()
                    .get_session_properties()
                    .account_id(self.acc())
                    .custom_namespace(self.ns())
                    .session_id(session);
                if let Some(include) = include {
                    call = call.include(include);
                }
                call.send().await
            }
        };
        Ok(self.t().value(self.read_operation(), result).await?.0)
    }

    /// Deletes one property (deleting one that does not exist succeeds).
    ///
    /// Sends `DELETE /v1/account/{accountId}/{customNamespace}/{sessionId}/properties/{property}`
    /// (at namespace level without `/{sessionId}`); 204 → `Ok(())`.
    pub async fn delete_property(&self, name: impl IntoName<PropertyName>) -> Result<(), Error> {
        let name = name.into_name()?;
        match &self.session {
            None => {
                let call = self
                    .raw()
                    .delete_namespace_property()
                    .account_id(self.acc())
                    .custom_namespace(self.ns())
                    .property(name);
                self.t()
                    .unit("delete_namespace_property", call.send().await)
                    .await
            }
            Some(session) => {
                let call = self
                    .raw()
                    .delete_session_property()
                    .account_id(self.acc())
                    .custom_namespace(self.ns())
                    .session_id(session)
                    .property(name);
                self.t()
                    .unit("delete_session_property", call.send().await)
                    .await
            }
        }
    }

    /// Deletes the whole session: every property (its TTL stays). At
    /// namespace level this deletes the properties of the `__default__`
    /// session; use [`CcsV1Client::delete_namespace`] to remove the namespace
    /// itself.
    ///
    /// Sends `DELETE /v1/account/{accountId}/{customNamespace}/{sessionId}/properties`
    /// (at namespace level with the session id `__default__`); 204 → `Ok(())`.
    pub async fn delete(&self) -> Result<(), Error> {
        let session = self
            .session
            .clone()
            .unwrap_or_else(SessionId::default_session);
        let call = self
            .raw()
            .delete_session_properties()
            .account_id(self.acc())
            .custom_namespace(self.ns())
            .session_id(session);
        self.t()
            .unit("delete_session_properties", call.send().await)
            .await
    }
}

#[derive(Clone, Copy, Debug)]
enum ListingKind {
    SessionIds,
    SessionProperties,
}

/// The largest page the service serves.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// The page size the service uses when none is given.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// A paginated listing of a namespace's sessions (their ids, or their ids
/// with their properties): read one page with
/// [`page`](SessionListing::page), or all of them as a [`Stream`] with
/// [`stream`](SessionListing::stream).
///
/// ```no_run
/// # async fn demo(ccs: liveperson_ccs::CcsV1Client) -> Result<(), liveperson_ccs::Error> {
/// use futures::TryStreamExt;
///
/// let ids: Vec<String> = ccs.session_ids("myNamespace")?.page_size(500).stream().try_collect().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SessionListing<T> {
    client: CcsV1Client,
    namespace: Namespace,
    listing: ListingKind,
    page_size: u32,
    first_page: u32,
    _item: std::marker::PhantomData<fn() -> T>,
}

/// The old name of [`SessionListing`].
#[deprecated(note = "renamed `SessionListing`")]
pub type Pages<T> = SessionListing<T>;

/// What a listing's pages hold.
pub trait PageItem: Sized + Clone + PartialEq + Send + 'static {
    #[doc(hidden)]
    fn fetch(
        pages: &SessionListing<Self>,
        page: u32,
    ) -> impl Future<Output = Result<Vec<Self>, Error>> + Send;
}

impl PageItem for String {
    async fn fetch(pages: &SessionListing<Self>, page: u32) -> Result<Vec<Self>, Error> {
        let call = pages
            .client
            .inner
            .raw
            .list_session_ids()
            .account_id(pages.client.acc())
            .custom_namespace(&pages.namespace)
            .page(i32::try_from(page).unwrap_or(i32::MAX))
            .per_page(pages.non_zero_page_size()?);
        Ok(pages
            .client
            .t()
            .value("list_session_ids", call.send().await)
            .await?
            .0)
    }
}

impl PageItem for SessionEntry {
    async fn fetch(pages: &SessionListing<Self>, page: u32) -> Result<Vec<Self>, Error> {
        let call = pages
            .client
            .inner
            .raw
            .list_session_properties()
            .account_id(pages.client.acc())
            .custom_namespace(&pages.namespace)
            .page(i32::try_from(page).unwrap_or(i32::MAX))
            .per_page(pages.non_zero_page_size()?);
        let list = pages
            .client
            .t()
            .value("list_session_properties", call.send().await)
            .await?;
        Ok(list
            .0
            .into_iter()
            .map(|entry| SessionEntry {
                session_id: entry.session_id,
                // `properties` (overview page) or `property` (Methods v1 page).
                properties: entry
                    .properties
                    .or(entry.property)
                    .map(|p| p.0)
                    .unwrap_or_default(),
            })
            .collect())
    }
}

impl<T: PageItem> SessionListing<T> {
    fn new(client: CcsV1Client, namespace: Namespace, listing: ListingKind) -> Self {
        SessionListing {
            client,
            namespace,
            listing,
            page_size: DEFAULT_PAGE_SIZE,
            first_page: 0,
            _item: std::marker::PhantomData,
        }
    }

    /// Entries per page, 1 to 1000 (default 100); out of range is an error
    /// when the first page is read.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size;
        self
    }

    /// The page the stream starts at (default 0).
    pub fn starting_at(mut self, page: u32) -> Self {
        self.first_page = page;
        self
    }

    fn non_zero_page_size(&self) -> Result<std::num::NonZeroU32, Error> {
        self.check()?;
        std::num::NonZeroU32::new(self.page_size)
            .ok_or_else(|| Error::invalid("page size", "it is zero"))
    }

    fn check(&self) -> Result<(), Error> {
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            return Err(Error::invalid(
                "page size",
                format!("{} is not between 1 and {MAX_PAGE_SIZE}", self.page_size),
            ));
        }
        if i32::try_from(self.first_page).is_err() {
            return Err(Error::invalid(
                "page",
                format!("{} is too large", self.first_page),
            ));
        }
        Ok(())
    }

    /// Reads one page (from 0).
    ///
    /// Sends `GET /v1/account/{accountId}/{customNamespace}/session-ids` (or
    /// `.../session-properties`) `?page=&perPage=`; 200 → the page.
    pub async fn page(&self, page: u32) -> Result<Vec<T>, Error> {
        self.check()?;
        if i32::try_from(page).is_err() {
            return Err(Error::invalid("page", format!("{page} is too large")));
        }
        T::fetch(self, page).await
    }

    /// Every entry, page after page, until a page shorter than the page size.
    /// It also stops, rather than loop, on an empty page or on a page equal to
    /// the one before (a server that ignores `page`).
    ///
    /// Sends `GET /v1/account/{accountId}/{customNamespace}/session-ids` (or
    /// `.../session-properties`) `?page=&perPage=` once a page; each 200 → its
    /// entries, an error ends the stream with it.
    pub fn stream(self) -> impl Stream<Item = Result<T, Error>> + Send + 'static {
        struct State<T> {
            pages: Option<SessionListing<T>>,
            page: u32,
            previous: Option<Vec<T>>,
        }
        let state = State {
            page: self.first_page,
            pages: Some(self),
            previous: None,
        };
        stream::try_unfold(state, |mut state| async move {
            let Some(pages) = state.pages.take() else {
                return Ok(None);
            };
            let items = pages.page(state.page).await?;
            let repeated = state.previous.as_ref() == Some(&items);
            if items.is_empty() || repeated {
                return Ok(None);
            }
            let last = items.len() < pages.page_size as usize || state.page == i32::MAX as u32;
            let next = State {
                pages: if last { None } else { Some(pages) },
                page: state.page + 1,
                previous: Some(items.clone()),
            };
            Ok(Some((stream::iter(items.into_iter().map(Ok)), next)))
        })
        .try_flatten()
        .boxed()
    }

    /// Which listing this is, for logs.
    pub fn operation(&self) -> &'static str {
        match self.listing {
            ListingKind::SessionIds => "list_session_ids",
            ListingKind::SessionProperties => "list_session_properties",
        }
    }
}

// ------------------------------------------------------------ exact values

pub use crate::values::{RawProperties, RawValue};

/// A session with its properties as JSON text, as
/// [`CcsV1Client::session_properties_raw`] streams them.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RawSessionEntry {
    /// The session id (`__default__` for the namespace level).
    pub session_id: String,
    /// Its properties, each value the JSON text the service answered.
    pub properties: RawProperties,
}

impl PartialEq for RawSessionEntry {
    /// The same id and the same properties, each value the same text.
    fn eq(&self, other: &Self) -> bool {
        self.session_id == other.session_id
            && self.properties.len() == other.properties.len()
            && self
                .properties
                .iter()
                .zip(&other.properties)
                .all(|((a, x), (b, y))| a == b && x.get() == y.get())
    }
}

/// One entry of the session-properties listing, read with its values as text.
#[derive(serde::Deserialize)]
struct RawEntryWire {
    #[serde(rename = "sessionId")]
    session_id: String,
    #[serde(default)]
    properties: Option<RawProperties>,
    #[serde(default)]
    property: Option<RawProperties>,
}

impl PageItem for RawSessionEntry {
    async fn fetch(pages: &SessionListing<Self>, page: u32) -> Result<Vec<Self>, Error> {
        let per_page = pages.non_zero_page_size()?;
        let client = &pages.client;
        let query = [
            ("page", i32::try_from(page).unwrap_or(i32::MAX).to_string()),
            ("perPage", per_page.to_string()),
        ];
        let list: Vec<RawEntryWire> = client
            .t()
            .raw_json(
                client.http(),
                RawCall {
                    operation: "list_session_properties",
                    method: reqwest::Method::GET,
                    base_url: client.base_url(),
                    path: &[
                        PathPart::Literal("/v1/account/"),
                        PathPart::Param(client.acc().as_str()),
                        PathPart::Literal("/"),
                        PathPart::Param(pages.namespace.as_str()),
                        PathPart::Literal("/session-properties"),
                    ],
                    query: &query,
                    body: None,
                    accept_json: true,
                },
            )
            .await?;
        Ok(list
            .into_iter()
            .map(|entry| RawSessionEntry {
                session_id: entry.session_id,
                // `properties` (overview page) or `property` (Methods v1 page).
                properties: entry.properties.or(entry.property).unwrap_or_default(),
            })
            .collect())
    }
}

impl CcsV1Client {
    fn http(&self) -> &reqwest::Client {
        progenitor_client::ClientInfo::client(&self.inner.raw)
    }

    /// The sessions of a namespace with their properties as JSON text
    /// ([`RawProperties`]), page by page (`GET .../session-properties`): as
    /// [`session_properties`](Self::session_properties), with every number
    /// kept as written.
    ///
    /// Sends nothing itself: [`page`](SessionListing::page) and
    /// [`stream`](SessionListing::stream) send
    /// `GET /v1/account/{accountId}/{customNamespace}/session-properties?page=&perPage=`.
    ///
    /// ```no_run
    /// # async fn demo(ccs: liveperson_ccs::CcsV1Client) -> Result<(), liveperson_ccs::Error> {
    /// use futures::TryStreamExt;
    ///
    /// let mut sessions = ccs.session_properties_raw("myNamespace")?.page_size(1000).stream();
    /// while let Some(entry) = sessions.try_next().await? {
    ///     for (name, value) in &entry.properties {
    ///         println!("{} {name} = {}", entry.session_id, value.get());
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn session_properties_raw(
        &self,
        namespace: impl IntoName<Namespace>,
    ) -> Result<SessionListing<RawSessionEntry>, Error> {
        Ok(SessionListing::new(
            self.clone(),
            namespace.into_name()?,
            ListingKind::SessionProperties,
        ))
    }
}

impl Session {
    /// The path of this session's properties: `.../{ns}/{session}/properties`,
    /// or `.../{ns}/properties` at namespace level.
    fn properties_path(&self) -> Vec<PathPart<'_>> {
        // Room for a property's path too (`get_property_value`).
        let mut path = Vec::with_capacity(9);
        path.extend([
            PathPart::Literal("/v1/account/"),
            PathPart::Param(self.acc().as_str()),
            PathPart::Literal("/"),
            PathPart::Param(self.namespace.as_str()),
        ]);
        if let Some(session) = &self.session {
            path.push(PathPart::Literal("/"));
            path.push(PathPart::Param(session.as_str()));
        }
        path.push(PathPart::Literal("/properties"));
        path
    }

    async fn read_raw(&self, include: Option<String>) -> Result<RawProperties, Error> {
        let query: Vec<(&str, String)> = include.map(|i| ("include", i)).into_iter().collect();
        self.t()
            .raw_json(
                self.client.http(),
                RawCall {
                    operation: self.read_operation(),
                    method: reqwest::Method::GET,
                    base_url: self.client.base_url(),
                    path: &self.properties_path(),
                    query: &query,
                    body: None,
                    accept_json: true,
                },
            )
            .await
    }

    /// Reads the whole session with each value as the JSON text the service
    /// holds ([`RawProperties`]): as [`get`](Self::get), but
    /// `123456789012345678901234`, `1e2` and `1.10` read back as written.
    ///
    /// Sends `GET /v1/account/{accountId}/{customNamespace}/{sessionId}/properties`
    /// (at namespace level without `/{sessionId}`); 200 → the properties.
    ///
    /// ```no_run
    /// # async fn demo(ccs: liveperson_ccs::CcsV1Client) -> Result<(), liveperson_ccs::Error> {
    /// let session = ccs.session("myNamespace", "mySessionId")?;
    /// let properties = session.get_raw().await?;
    /// if let Some(id) = properties.get("orderId") {
    ///     println!("orderId = {}", id.get()); // e.g. 123456789012345678901234, every digit
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_raw(&self) -> Result<RawProperties, Error> {
        self.read_raw(None).await
    }

    /// Reads the named properties only (`?include=a,b`), each value as JSON
    /// text; as [`get_properties`](Self::get_properties).
    ///
    /// Sends `GET /v1/account/{accountId}/{customNamespace}/{sessionId}/properties?include=a,b`
    /// (at namespace level without `/{sessionId}`); 200 → the properties found.
    pub async fn get_properties_raw<I, N>(&self, names: I) -> Result<RawProperties, Error>
    where
        I: IntoIterator<Item = N>,
        N: IntoName<PropertyName>,
    {
        self.read_raw(Some(include_list(names)?)).await
    }

    /// Saves several properties at once (PATCH), each value sent as the JSON
    /// text given: as [`set_properties`](Self::set_properties), with no
    /// number rewritten on the way. Names are checked, and a value nested
    /// deeper than the service allows is refused, before anything is sent;
    /// a name given twice keeps its last value.
    ///
    /// Sends `PATCH /v1/account/{accountId}/{customNamespace}/{sessionId}/properties`
    /// (at namespace level without `/{sessionId}`) with the object; 204 → `Ok(())`, 413 →
    /// [`Error::DocumentTooLarge`].
    ///
    /// ```no_run
    /// # async fn demo(ccs: liveperson_ccs::CcsV1Client) -> Result<(), liveperson_ccs::Error> {
    /// use liveperson_ccs::v1::{RawProperties, RawValue};
    ///
    /// let mut properties = RawProperties::new();
    /// let exact = |text: &str| RawValue::from_string(text.to_owned()).expect("valid JSON");
    /// properties.insert("orderId".into(), exact("123456789012345678901234"));
    /// properties.insert("price".into(), exact("1.10"));
    /// ccs.session("myNamespace", "mySessionId")?.set_raw(&properties).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_raw<I, N, R>(&self, properties: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = (N, R)>,
        N: IntoName<PropertyName>,
        R: AsRef<RawValue>,
    {
        let body = Box::<str>::from(raw_object(properties)?).into_string();
        let operation = match self.session {
            None => "set_namespace_properties",
            Some(_) => "set_session_properties",
        };
        self.t()
            .raw_unit(
                self.client.http(),
                RawCall {
                    operation,
                    method: reqwest::Method::PATCH,
                    base_url: self.client.base_url(),
                    path: &self.properties_path(),
                    query: &[],
                    body: Some(body.into_bytes()),
                    accept_json: true,
                },
            )
            .await
    }
}

/// The `include` query value naming `names` (`a,b`): each name checked, none
/// with a `,` (the separator), at least one.
fn include_list<I, N>(names: I) -> Result<String, Error>
where
    I: IntoIterator<Item = N>,
    N: IntoName<PropertyName>,
{
    let mut include = Vec::new();
    for name in names {
        let name = name.into_name()?;
        if name.as_str().contains(',') {
            return Err(Error::invalid(
                "property name",
                format!(
                    "{:?} contains ',', which `include` uses as separator",
                    name.as_str()
                ),
            ));
        }
        include.push(name.as_str().to_owned());
    }
    if include.is_empty() {
        return Err(Error::invalid("property names", "no property was named"));
    }
    Ok(include.join(","))
}
