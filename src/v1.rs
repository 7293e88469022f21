//! The CCS v1 client: namespaces, namespace and session properties, TTLs,
//! and the session listings as streams.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, TryStreamExt, stream};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::Error;
use crate::builder::{ClientBuilder, V1Credentials, required_env};
use crate::generated::v1 as raw;
use crate::names::{AccountId, Namespace, PropertyName, SessionId};
use crate::secret::Credential;
use crate::transport::{Auth, Transport};

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
/// ccs.create_namespace("myNamespace").await?;
/// let session = ccs.session("myNamespace", "mySessionId")?;
/// session.set_many(&json!({"intent": "billing", "tier": "gold"})).await?;
/// let intent: Option<String> = session.get("intent").await?;
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

impl ClientBuilder<V1Credentials> {
    /// The Conversation Orchestrator developer key, sent as `maven-api-key`.
    /// Required. A [`CredentialProvider`](crate::CredentialProvider) works too,
    /// through [`Credential::from_provider`].
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
        let transport = Transport::new(Auth::ApiKey(api_key), parts.retry);
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
        Ok(Value::Object(map)) => Ok(map),
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
    serde_json::to_value(value)
        .map_err(|e| Error::invalid("property value", format!("cannot serialize: {e}")))
}

pub(crate) fn from_value<T: DeserializeOwned>(
    operation: &'static str,
    value: Value,
) -> Result<T, Error> {
    // From a reference: the value is kept, uncloned, for the error's body.
    T::deserialize(&value).map_err(|e| Error::Decode {
        operation,
        status: None,
        reason: format!("the value does not fit the requested type: {e}"),
        body: value.to_string(),
    })
}

impl CcsV1Client {
    /// A builder; [`account`](ClientBuilder::account) and
    /// [`api_key`](ClientBuilder::api_key) are required.
    pub fn builder() -> ClientBuilder<V1Credentials> {
        ClientBuilder::new()
    }

    /// A client from the environment: `LP_ACCOUNT_ID` and `LP_CCS_API_KEY`
    /// (required), `LP_REGION` (`americas`, `emea`, `apac`) and
    /// `LP_CCS_BASE_URL` (optional).
    pub fn from_env() -> Result<Self, Error> {
        Self::builder()
            .env_common("LP_CCS_BASE_URL")?
            .api_key(required_env("LP_CCS_API_KEY")?)
            .build()
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

    fn acc(&self) -> &AccountId {
        &self.inner.account
    }

    fn t(&self) -> &Transport {
        progenitor_client::ClientInfo::inner(&self.inner.raw)
    }

    /// Creates a namespace (`POST /v1/account/{accountId}`). Writing to a
    /// namespace that does not exist creates it too.
    pub async fn create_namespace(
        &self,
        namespace: impl TryInto<Namespace, Error = Error>,
    ) -> Result<(), Error> {
        self.post_namespace(namespace.try_into()?, None).await
    }

    /// Sets the TTL of a namespace (creating it if needed): properties written
    /// from now on at namespace level expire after `ttl`. [`Duration::ZERO`]
    /// means no expiry; a fraction of a second rounds up.
    pub async fn set_namespace_ttl(
        &self,
        namespace: impl TryInto<Namespace, Error = Error>,
        ttl: Duration,
    ) -> Result<(), Error> {
        self.post_namespace(namespace.try_into()?, Some(ttl_seconds(ttl)))
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
    pub async fn delete_namespace(
        &self,
        namespace: impl TryInto<Namespace, Error = Error>,
    ) -> Result<(), Error> {
        let namespace = namespace.try_into()?;
        let call = self
            .inner
            .raw
            .delete_namespace()
            .account_id(self.acc())
            .custom_namespace(namespace);
        self.t().unit("delete_namespace", call.send().await).await
    }

    /// The namespace-level properties of a namespace.
    pub fn namespace(
        &self,
        namespace: impl TryInto<Namespace, Error = Error>,
    ) -> Result<Scope, Error> {
        Ok(Scope {
            client: self.clone(),
            namespace: namespace.try_into()?,
            session: None,
        })
    }

    /// The properties of one session of a namespace. The session
    /// `__default__` is the namespace level, reached through the session paths.
    pub fn session(
        &self,
        namespace: impl TryInto<Namespace, Error = Error>,
        session: impl TryInto<SessionId, Error = Error>,
    ) -> Result<Scope, Error> {
        Ok(Scope {
            client: self.clone(),
            namespace: namespace.try_into()?,
            session: Some(session.try_into()?),
        })
    }

    /// Sets the TTL of a session: its properties written from now on expire
    /// after `ttl` (overriding the namespace TTL). [`Duration::ZERO`] means no
    /// expiry; a fraction of a second rounds up.
    pub async fn set_session_ttl(
        &self,
        namespace: impl TryInto<Namespace, Error = Error>,
        session: impl TryInto<SessionId, Error = Error>,
        ttl: Duration,
    ) -> Result<(), Error> {
        let namespace = namespace.try_into()?;
        let session = session.try_into()?;
        let body = raw::types::SetSessionTtlRequest {
            session_id: raw::types::SetSessionTtlRequestSessionId::try_from(session.as_str())
                .map_err(|e| Error::invalid("session id", e.to_string()))?,
        };
        let call = self
            .inner
            .raw
            .set_session_ttl()
            .account_id(self.acc())
            .custom_namespace(namespace)
            .ttl_second(raw::types::TtlSecond(ttl_seconds(ttl)))
            .body(body);
        self.t().unit("set_session_ttl", call.send().await).await
    }

    /// Lists the sessions of a namespace that have a TTL.
    pub async fn list_session_ttls(
        &self,
        namespace: impl TryInto<Namespace, Error = Error>,
    ) -> Result<Vec<SessionTtl>, Error> {
        let namespace = namespace.try_into()?;
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
    pub fn session_ids(
        &self,
        namespace: impl TryInto<Namespace, Error = Error>,
    ) -> Result<Pages<String>, Error> {
        Ok(Pages::new(
            self.clone(),
            namespace.try_into()?,
            Listing::SessionIds,
        ))
    }

    /// The sessions of a namespace with their properties, page by page
    /// (`GET .../session-properties`).
    pub fn session_properties(
        &self,
        namespace: impl TryInto<Namespace, Error = Error>,
    ) -> Result<Pages<SessionEntry>, Error> {
        Ok(Pages::new(
            self.clone(),
            namespace.try_into()?,
            Listing::SessionProperties,
        ))
    }
}

/// The properties of a namespace (its namespace level) or of one session.
///
/// Made by [`CcsV1Client::namespace`] or [`CcsV1Client::session`]; its names
/// are already checked.
#[derive(Clone, Debug)]
pub struct Scope {
    client: CcsV1Client,
    namespace: Namespace,
    session: Option<SessionId>,
}

impl Scope {
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

    /// Saves several properties at once (PATCH): named ones are inserted or
    /// overwritten, others are kept. `properties` must serialize to a JSON
    /// object (a map or a struct).
    pub async fn set_many<T: Serialize + ?Sized>(&self, properties: &T) -> Result<(), Error> {
        let body = raw::types::Properties(to_map("properties", properties)?);
        match &self.session {
            None => {
                let call = self
                    .raw()
                    .set_namespace_properties()
                    .account_id(self.acc())
                    .custom_namespace(self.ns())
                    .body(body);
                self.t()
                    .unit("set_namespace_properties", call.send().await)
                    .await
            }
            Some(session) => {
                let call = self
                    .raw()
                    .set_session_properties()
                    .account_id(self.acc())
                    .custom_namespace(self.ns())
                    .session_id(session)
                    .body(body);
                self.t()
                    .unit("set_session_properties", call.send().await)
                    .await
            }
        }
    }

    /// Saves one property (PUT) to any value that serializes to JSON.
    pub async fn set<T: Serialize + ?Sized>(
        &self,
        name: impl TryInto<PropertyName, Error = Error>,
        value: &T,
    ) -> Result<(), Error> {
        let name = name.try_into()?;
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

    /// Reads one property as `T`; `None` if it does not exist (404).
    ///
    /// The documents show a string value answered without JSON quotes
    /// (`myValue1`); such an answer is read as that string.
    pub async fn get<T: DeserializeOwned>(
        &self,
        name: impl TryInto<PropertyName, Error = Error>,
    ) -> Result<Option<T>, Error> {
        match self.get_value(name).await? {
            Some(value) => Ok(Some(from_value(self.get_operation(), value)?)),
            None => Ok(None),
        }
    }

    fn get_operation(&self) -> &'static str {
        match self.session {
            None => "get_namespace_property",
            Some(_) => "get_session_property",
        }
    }

    /// Reads one property as raw JSON; `None` if it does not exist (404).
    pub async fn get_value(
        &self,
        name: impl TryInto<PropertyName, Error = Error>,
    ) -> Result<Option<Value>, Error> {
        let name = name.try_into()?;
        let result = match &self.session {
            None => {
                self.raw()
                    .get_namespace_property()
                    .account_id(self.acc())
                    .custom_namespace(self.ns())
                    .property(name)
                    .send()
                    .await
            }
            Some(session) => {
                self.raw()
                    .get_session_property()
                    .account_id(self.acc())
                    .custom_namespace(self.ns())
                    .session_id(session)
                    .property(name)
                    .send()
                    .await
            }
        };
        match result {
            Ok(value) => Ok(Some(value.into_inner().0)),
            // A bare, unquoted string body, as the Methods v1 page shows it.
            Err(progenitor_client::Error::InvalidResponsePayload(bytes, _)) => {
                match std::str::from_utf8(&bytes) {
                    Ok(text) if !text.trim().is_empty() => {
                        Ok(Some(Value::String(text.trim().to_owned())))
                    }
                    _ => Err(Error::Decode {
                        operation: self.get_operation(),
                        status: None,
                        reason: "the answer is empty or not UTF-8".into(),
                        body: String::from_utf8_lossy(&bytes).into_owned(),
                    }),
                }
            }
            Err(e) => match self.t().convert(self.get_operation(), e).await {
                Error::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Reads all properties (`{}` when there are none).
    pub async fn get_all(&self) -> Result<Map<String, Value>, Error> {
        self.read(None).await
    }

    /// Reads all properties into a type of yours (a struct with the property
    /// names as fields, say).
    pub async fn get_all_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let map = self.read(None).await?;
        from_value(self.read_operation(), Value::Object(map))
    }

    /// Reads the named properties only (`?include=a,b`); those that do not
    /// exist are absent from the answer.
    pub async fn get_selected<I, N>(&self, names: I) -> Result<Map<String, Value>, Error>
    where
        I: IntoIterator<Item = N>,
        N: TryInto<PropertyName, Error = Error>,
    {
        let mut include = Vec::new();
        for name in names {
            let name = name.try_into()?;
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
        self.read(Some(include.join(","))).await
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

    /// Deletes one property.
    pub async fn delete(
        &self,
        name: impl TryInto<PropertyName, Error = Error>,
    ) -> Result<(), Error> {
        let name = name.try_into()?;
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

    /// Deletes every property of the session (its TTL stays). At namespace
    /// level this deletes the properties of the `__default__` session; use
    /// [`CcsV1Client::delete_namespace`] to remove the namespace itself.
    pub async fn delete_all(&self) -> Result<(), Error> {
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
enum Listing {
    SessionIds,
    SessionProperties,
}

/// The largest page the service serves.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// The page size the service uses when none is given.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// A paginated listing of a namespace's sessions: read one page with
/// [`page`](Pages::page), or all of them as a [`Stream`] with
/// [`stream`](Pages::stream).
///
/// ```no_run
/// # async fn demo(ccs: liveperson_ccs::CcsV1Client) -> Result<(), liveperson_ccs::Error> {
/// use futures::TryStreamExt;
///
/// let ids: Vec<String> = ccs.session_ids("myNamespace")?.page_size(500).stream().try_collect().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Pages<T> {
    client: CcsV1Client,
    namespace: Namespace,
    listing: Listing,
    page_size: u32,
    first_page: u32,
    _item: std::marker::PhantomData<fn() -> T>,
}

/// What a listing's pages hold.
pub trait PageItem: Sized + Clone + PartialEq + Send + 'static {
    #[doc(hidden)]
    fn fetch(
        pages: &Pages<Self>,
        page: u32,
    ) -> impl Future<Output = Result<Vec<Self>, Error>> + Send;
}

impl PageItem for String {
    async fn fetch(pages: &Pages<Self>, page: u32) -> Result<Vec<Self>, Error> {
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
    async fn fetch(pages: &Pages<Self>, page: u32) -> Result<Vec<Self>, Error> {
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

impl<T: PageItem> Pages<T> {
    fn new(client: CcsV1Client, namespace: Namespace, listing: Listing) -> Self {
        Pages {
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
    pub fn stream(self) -> impl Stream<Item = Result<T, Error>> + Send + 'static {
        struct State<T> {
            pages: Option<Pages<T>>,
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
            Listing::SessionIds => "list_session_ids",
            Listing::SessionProperties => "list_session_properties",
        }
    }
}
