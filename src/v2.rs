//! The CCS v2 client: context documents with a TTL.
//!
//! Each method's docs name the request it sends (`Sends ...`) and what a
//! success answers. Every request carries the access token as
//! `?access_token=`; a body's `sessionId` is left out for the namespace
//! document. Any other answer is an [`Error`]: 401 or 403
//! [`Error::Unauthorized`], 404 [`Error::NotFound`] (but a document read's
//! `None` for the service's own "document not found"), 413
//! [`Error::DocumentTooLarge`], 429 [`Error::RateLimited`] once the retries
//! are spent, 3xx [`Error::Redirected`], anything else [`Error::Api`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::Error;
use crate::client::builder::{ClientBuilder, env, required_env};
use crate::client::secret::Credential;
use crate::client::transport::{Auth, PathPart, RawCall, Transport};
use crate::error::is_missing;
use crate::generated::v2 as raw;
use crate::names::{AccountId, IntoName, Namespace, PropertyName, SessionId};
use crate::v1::{RawProperties, RawValue};
use crate::values::{from_value, raw_object};

/// The namespace whose document [`CcsV2Client::check`] reads (it need not
/// exist; nothing is written).
pub const CHECK_NAMESPACE: &str = "liveperson_ccs_check";

/// The property of [`CHECK_NAMESPACE`]'s document that [`CcsV2Client::check`] reads.
const CHECK_PROPERTY: &str = "check";

/// The longest TTL v2 accepts: "13 months", read as 396 days (365 + 31) so
/// that no TTL the service takes is refused here.
pub const MAX_TTL: Duration = Duration::from_secs(396 * 24 * 60 * 60);

/// A client for CCS v2, bound to one account.
///
/// Cheap to clone: clones share one connection pool.
///
/// ```no_run
/// # async fn demo() -> Result<(), liveperson_ccs::Error> {
/// use std::time::Duration;
/// use liveperson_ccs::{CcsV2Client, Region};
/// use serde_json::json;
///
/// let ccs = CcsV2Client::builder()
///     .account("le12345678")
///     .region(Region::Emea)
///     .access_token("my-token")
///     .build()?;
/// ccs.check().await?; // the base URL and the token work
/// let doc = ccs.session_document("myNamespace", "mySessionId")?;
/// doc.set_properties(&json!({"property1": 100, "Property2": "abc"}), Duration::from_secs(3600))
///     .await?;
/// let value: Option<u32> = doc.get_property("property1").await?;
/// assert_eq!(value, Some(100));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CcsV2Client {
    inner: Arc<Inner>,
}

struct Inner {
    raw: raw::Client,
    account: AccountId,
}

impl fmt::Debug for CcsV2Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CcsV2Client")
            .field("account", &self.inner.account.as_str())
            .field("base_url", &self.base_url())
            .field("access_token", &"[redacted]")
            .finish()
    }
}

/// The credentials of a CCS v2 client (see [`ClientBuilder::access_token`]).
#[derive(Debug, Clone, Default)]
pub struct V2Credentials {
    pub(crate) access_token: Option<Credential>,
}

impl ClientBuilder<V2Credentials> {
    /// Applies the environment: `LP_ACCOUNT_ID`, `LP_REGION`,
    /// `LP_CCS_BASE_URL` and `LP_CCS_ACCESS_TOKEN`, each only where it is set
    /// (and not empty); setters called after this override it. See
    /// [`ClientBuilder::<V1Credentials>::with_env`](ClientBuilder#method.with_env).
    pub fn with_env(self) -> Result<Self, Error> {
        let mut builder = self.env_common("LP_CCS_BASE_URL")?;
        if let Some(token) = env("LP_CCS_ACCESS_TOKEN") {
            builder.kind.access_token = Some(token.into());
        }
        Ok(builder)
    }

    /// The access token, sent as the `access_token` query parameter. Required.
    /// For a token that expires, give a
    /// [`RefreshingCredential`](crate::RefreshingCredential) (or any
    /// [`CredentialProvider`](crate::CredentialProvider) through
    /// [`Credential::from_provider`]): it is asked before each call.
    pub fn access_token(mut self, token: impl Into<Credential>) -> Self {
        self.kind.access_token = Some(token.into());
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<CcsV2Client, Error> {
        let default_base = self.region.ccs_v2_url();
        let Some(token) = self.kind.access_token.clone() else {
            return Err(Error::invalid("access token", "no access token was given"));
        };
        let parts = self.parts(default_base)?;
        let transport = Transport::new(Auth::AccessToken(token), parts.policy);
        Ok(CcsV2Client {
            inner: Arc::new(Inner {
                raw: raw::Client::new_with_client(&parts.base_url, parts.http, transport),
                account: parts.account,
            }),
        })
    }
}

/// A context document as read.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "ContextDocument", rename_all = "camelCase")
)]
#[non_exhaustive]
pub struct ContextDocument {
    /// `{accountId}:{nameSpace}:{sessionId}`, the session part empty for a namespace document.
    pub document_key: String,
    /// The account id.
    pub account_id: String,
    /// The tenant (account) id.
    pub tenant_id: String,
    /// `CONTEXT` for these documents.
    pub document_type: String,
    /// The namespace.
    #[cfg_attr(feature = "schemars", schemars(rename = "nameSpace"))]
    pub namespace: String,
    /// The session; `None` for the namespace document.
    pub session_id: Option<String>,
    /// The properties.
    pub payload: Map<String, Value>,
    /// When the document expires, if it does.
    #[cfg_attr(feature = "schemars", schemars(rename = "ttl"))]
    pub expires_at: Option<DateTime<Utc>>,
}

impl ContextDocument {
    /// The payload as a type of yours; properties that do not fit `T` are
    /// [`Error::TypeMismatch`], naming the property where it can.
    pub fn payload_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        from_value(
            "get_session_document",
            None,
            Value::Object(self.payload.clone()),
        )
    }
}

/// What a successful write or delete answers.
///
/// An answer with `"success": false` is not a `WriteResult` but an
/// [`Error::WriteFailed`]: an `Ok` always means the service applied it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "DocumentResult", rename_all = "camelCase")
)]
#[non_exhaustive]
pub struct WriteResult {
    /// The document written.
    pub document_key: String,
    /// The tenant (account) id.
    pub tenant_id: String,
}

impl WriteResult {
    /// The answer as a result: `"success": false` is [`Error::WriteFailed`].
    fn from_answer(
        operation: &'static str,
        answer: raw::types::DocumentResult,
    ) -> Result<WriteResult, Error> {
        if !answer.success {
            return Err(Error::WriteFailed {
                operation,
                body: serde_json::to_string(&answer).unwrap_or_default(),
                document_key: answer.document_key,
            });
        }
        Ok(WriteResult {
            document_key: answer.document_key,
            tenant_id: answer.tenant_id,
        })
    }
}

/// A document's TTL in whole seconds (a fraction rounds up), from 1 s to
/// [`MAX_TTL`].
fn document_ttl(ttl: Duration) -> Result<std::num::NonZeroU64, Error> {
    let seconds = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    std::num::NonZeroU64::new(seconds)
        .filter(|s| s.get() <= MAX_TTL.as_secs())
        .ok_or_else(|| {
            Error::invalid(
                "TTL",
                format!(
                    "{seconds} s is not between 1 s and {} s (13 months)",
                    MAX_TTL.as_secs()
                ),
            )
        })
}

/// Converts a checked name into one of the generated body types that the
/// specs keep inline (a `minLength` check), e.g. a request's `sessionId`.
fn conv<T>(what: &'static str, value: &str) -> Result<T, Error>
where
    T: for<'a> TryFrom<&'a str, Error = raw::types::error::ConversionError>,
{
    T::try_from(value).map_err(|e| Error::invalid(what, e.to_string()))
}

impl CcsV2Client {
    /// A builder; [`account`](ClientBuilder::account) and
    /// [`access_token`](ClientBuilder::access_token) are required.
    pub fn builder() -> ClientBuilder<V2Credentials> {
        ClientBuilder::new()
    }

    /// A client from the environment: `LP_ACCOUNT_ID` and
    /// `LP_CCS_ACCESS_TOKEN` (required), `LP_REGION` and `LP_CCS_BASE_URL`
    /// (optional; the emulator serves v1 and v2 on one base URL).
    ///
    /// To combine the environment with other settings, use
    /// [`with_env`](ClientBuilder::with_env) on the builder.
    pub fn from_env() -> Result<Self, Error> {
        required_env("LP_CCS_ACCESS_TOKEN")?;
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
    /// `openapi/ccs-v2.yaml` and may change with it.
    pub fn raw(&self) -> &raw::Client {
        &self.inner.raw
    }

    /// Checks this client's configuration against the service with one cheap
    /// read that needs no data: it reads one property of the namespace
    /// document of [`CHECK_NAMESPACE`] (`POST /v2/context/document/properties`
    /// with `filter: ["liveperson_ccs_check.check"]`, answered 200 with the
    /// property or `{}`) and discards it. Nothing is written. The spec's
    /// answer to a missing property is a 200, so a well configured client
    /// logs no 404; the service's own "document not found" would mean
    /// success too.
    ///
    /// `Ok(())` means the base URL reaches CCS v2 and the access token is
    /// accepted for the account. A wrong base URL or path prefix fails with
    /// [`Error::NotFound`] (or [`Error::Transport`] when nothing answers), a
    /// wrong token with [`Error::Unauthorized`]. Call it once at start-up:
    /// without it, a wrong base URL shows only at the first call.
    ///
    /// Sends `POST /v2/context/document/properties`; 200 → `Ok(())`.
    pub async fn check(&self) -> Result<(), Error> {
        let document = self.namespace_document(CHECK_NAMESPACE)?;
        match document.get_properties([CHECK_PROPERTY]).await {
            Ok(_) => Ok(()),
            Err(missing) if is_missing(&missing, "document") => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// The namespace-level document of a namespace.
    pub fn namespace_document(
        &self,
        namespace: impl IntoName<Namespace>,
    ) -> Result<Document, Error> {
        Ok(Document {
            client: self.clone(),
            namespace: namespace.into_name()?,
            session: None,
        })
    }

    /// The document of one session of a namespace.
    pub fn session_document(
        &self,
        namespace: impl IntoName<Namespace>,
        session: impl IntoName<SessionId>,
    ) -> Result<Document, Error> {
        Ok(Document {
            client: self.clone(),
            namespace: namespace.into_name()?,
            session: Some(session.into_name()?),
        })
    }
}

/// One context document: a namespace's, or one session's.
///
/// The verbs are those of [`v1::Session`](crate::v1::Session): `get`,
/// `delete` act on the whole document; `get_property`, `set_property`,
/// `get_properties`, `set_properties`, `delete_property`,
/// `delete_properties` on properties.
#[derive(Clone, Debug)]
pub struct Document {
    client: CcsV2Client,
    namespace: Namespace,
    session: Option<SessionId>,
}

impl Document {
    /// The namespace.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// The session, or `None` for the namespace document.
    pub fn session(&self) -> Option<&SessionId> {
        self.session.as_ref()
    }

    fn raw(&self) -> &raw::Client {
        &self.client.inner.raw
    }

    fn t(&self) -> &Transport {
        progenitor_client::ClientInfo::inner(self.raw())
    }

    fn session_as<T>(&self) -> Result<Option<T>, Error>
    where
        T: for<'a> TryFrom<&'a str, Error = raw::types::error::ConversionError>,
    {
        self.session
            .as_ref()
            .map(|s| conv("session id", s.as_str()))
            .transpose()
    }

    /// Saves properties into the document, creating it if needed (the
    /// service's upsert): named ones are inserted or overwritten, others are
    /// kept. `properties` must serialize to a JSON object. The whole document
    /// expires `ttl` after this call: at least 1 s, at most [`MAX_TTL`]; a
    /// fraction of a second rounds up.
    ///
    /// Sends `POST /v2/context/document/create` with `{accountId, nameSpace,
    /// sessionId, ttlSeconds, payload}`; 201 with `"success": true` →
    /// the [`WriteResult`], `"success": false` → [`Error::WriteFailed`], 413 →
    /// [`Error::DocumentTooLarge`].
    pub async fn set_properties<T: Serialize + ?Sized>(
        &self,
        properties: &T,
        ttl: Duration,
    ) -> Result<WriteResult, Error> {
        let payload = match serde_json::to_value(properties) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return Err(Error::invalid(
                    "payload",
                    "it must serialize to a JSON object",
                ));
            }
            Err(e) => return Err(Error::invalid("payload", format!("cannot serialize: {e}"))),
        };
        payload
            .values()
            .try_for_each(|v| crate::values::check("property value", v))?;
        let ttl_seconds = document_ttl(ttl)?;
        let body = raw::types::UpsertDocumentRequest {
            account_id: self.client.inner.account.clone(),
            name_space: self.namespace.clone(),
            session_id: self.session_as()?,
            ttl_seconds,
            payload: raw::types::Payload(payload),
        };
        let result = self.raw().upsert_document().body(body).send().await;
        let answer = self.t().value("upsert_document", result).await?;
        WriteResult::from_answer("upsert_document", answer)
    }

    /// Saves one property to any value that serializes to JSON, as
    /// [`set_properties`](Self::set_properties) does with one name: the
    /// document expires `ttl` after this call.
    ///
    /// Sends `POST /v2/context/document/create` with `{accountId, nameSpace,
    /// sessionId, ttlSeconds, payload}`; answers as
    /// [`set_properties`](Self::set_properties).
    pub async fn set_property<T: Serialize + ?Sized>(
        &self,
        name: impl IntoName<PropertyName>,
        value: &T,
        ttl: Duration,
    ) -> Result<WriteResult, Error> {
        let name = name.into_name()?;
        let value = serde_json::to_value(value)
            .map_err(|e| Error::invalid("property value", format!("cannot serialize: {e}")))?;
        let mut properties = Map::new();
        properties.insert(name.as_str().to_owned(), value);
        self.set_properties(&properties, ttl).await
    }

    fn get_operation(&self) -> &'static str {
        match self.session {
            None => "get_namespace_document",
            Some(_) => "get_session_document",
        }
    }

    /// Reads the whole document; `None` if the service says it does not exist
    /// (or has expired).
    ///
    /// Only the service's own "not found" answer (its JSON error,
    /// `{"message": "document not found"}`) is `None`: any other 404, from a
    /// wrong base URL or a proxy, is [`Error::NotFound`].
    ///
    /// Sends `GET /v2/context/document/{accountId}/{nameSpace}/{sessionId}`
    /// (the namespace document without `/{sessionId}`); 200 → `Some`, the
    /// service's 404 → `None`.
    pub async fn get(&self) -> Result<Option<ContextDocument>, Error> {
        // Written by hand, not through the generated `get_session_document`
        // (`get_namespace_document`): the same request and the same answers
        // (see `Transport::raw_ok`), for about 6k fewer instructions a call.
        let operation = self.get_operation();
        let call = RawCall {
            operation,
            method: reqwest::Method::GET,
            base_url: self.client.base_url(),
            path: &self.document_path(),
            query: &[],
            body: None,
            accept_json: true,
        };
        let result = self
            .t()
            .raw_ok(self.http(), call, |body| {
                serde_json::from_slice::<raw::types::ContextDocument>(body)
                    .map_err(|e| self.t().decode_error(operation, e.to_string(), body))
            })
            .await;
        match result {
            Ok(doc) => Ok(Some(ContextDocument {
                document_key: doc.document_key,
                account_id: doc.account_id,
                tenant_id: doc.tenant_id,
                document_type: doc.document_type,
                namespace: doc.name_space,
                session_id: doc.session_id,
                payload: doc.payload.0,
                expires_at: doc.ttl,
            })),
            Err(missing) if is_missing(&missing, "document") => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// The document's path: `/v2/context/document/{accountId}/{nameSpace}`,
    /// then `/{sessionId}` for a session's document.
    fn document_path(&self) -> Vec<PathPart<'_>> {
        let mut path = Vec::with_capacity(6);
        path.extend([
            PathPart::Literal("/v2/context/document/"),
            PathPart::Param(self.client.inner.account.as_str()),
            PathPart::Literal("/"),
            PathPart::Param(self.namespace.as_str()),
        ]);
        if let Some(session) = &self.session {
            path.extend([PathPart::Literal("/"), PathPart::Param(session.as_str())]);
        }
        path
    }

    /// Reads the named properties. The service wants each name as
    /// `{nameSpace}.{property}`; this adds the prefix and removes it from the
    /// answer. Properties that do not exist are absent from the answer.
    ///
    /// Sends `POST /v2/context/document/properties` with `{accountId,
    /// nameSpace, sessionId, filter: ["{nameSpace}.{property}", ...]}`; 200 → the
    /// properties found.
    pub async fn get_properties<I, N>(&self, names: I) -> Result<Map<String, Value>, Error>
    where
        I: IntoIterator<Item = N>,
        N: IntoName<PropertyName>,
    {
        let prefix = format!("{}.", self.namespace.as_str());
        let mut filter = Vec::new();
        for name in names {
            let name = name.into_name()?;
            filter.push(conv(
                "property name",
                &format!("{prefix}{}", name.as_str()),
            )?);
        }
        if filter.is_empty() {
            return Err(Error::invalid("property names", "no property was named"));
        }
        let body = raw::types::GetPropertiesRequest {
            account_id: self.client.inner.account.clone(),
            name_space: self.namespace.clone(),
            session_id: self.session_as()?,
            filter,
        };
        let result = self.raw().get_document_properties().body(body).send().await;
        let answer = self.t().value("get_document_properties", result).await?;
        Ok(answer
            .0
            .into_iter()
            .map(|(key, value)| match key.strip_prefix(&prefix) {
                Some(name) => (name.to_owned(), value),
                None => (key, value),
            })
            .collect())
    }

    /// Reads one property as `T`; `None` if it does not exist. A value that
    /// does not fit `T` is [`Error::TypeMismatch`], naming the property.
    ///
    /// Sends `POST /v2/context/document/properties` with `{accountId,
    /// nameSpace, sessionId, filter: ["{nameSpace}.{property}"]}`; 200 → `Some`
    /// with the property, or `None` without it.
    pub async fn get_property<T: DeserializeOwned>(
        &self,
        name: impl IntoName<PropertyName>,
    ) -> Result<Option<T>, Error> {
        let name = name.into_name()?;
        let mut found = self.get_properties([&name]).await?;
        match found.remove(name.as_str()) {
            Some(value) => Ok(Some(from_value(
                "get_document_properties",
                Some(name.as_str()),
                value,
            )?)),
            None => Ok(None),
        }
    }

    /// Deletes one property from the document.
    ///
    /// Sends `DELETE /v2/context/document/property/delete` with `{accountId,
    /// nameSpace, sessionId, propertyToDelete: [name]}`; 200 with `"success":
    /// true` → the [`WriteResult`], `"success": false` → [`Error::WriteFailed`].
    pub async fn delete_property(
        &self,
        name: impl IntoName<PropertyName>,
    ) -> Result<WriteResult, Error> {
        self.delete_properties([name.into_name()?]).await
    }

    /// Deletes the named properties from the document.
    ///
    /// Sends `DELETE /v2/context/document/property/delete` with `{accountId,
    /// nameSpace, sessionId, propertyToDelete}`; 200 with `"success": true` → the
    /// [`WriteResult`], `"success": false` → [`Error::WriteFailed`].
    pub async fn delete_properties<I, N>(&self, names: I) -> Result<WriteResult, Error>
    where
        I: IntoIterator<Item = N>,
        N: IntoName<PropertyName>,
    {
        let mut properties = Vec::new();
        for name in names {
            properties.push(conv("property name", name.into_name()?.as_str())?);
        }
        if properties.is_empty() {
            // Without `propertyToDelete` the service deletes the whole
            // document: never do that by accident.
            return Err(Error::invalid(
                "property names",
                "no property was named; use `delete` to delete the whole document",
            ));
        }
        self.send_delete(properties).await
    }

    /// Deletes the whole document: every property in it.
    ///
    /// Sends `DELETE /v2/context/document/property/delete` with `{accountId,
    /// nameSpace, sessionId}` and no `propertyToDelete`; 200 with `"success":
    /// true` → the [`WriteResult`], `"success": false` → [`Error::WriteFailed`].
    pub async fn delete(&self) -> Result<WriteResult, Error> {
        self.send_delete(Vec::new()).await
    }

    async fn send_delete(
        &self,
        property_to_delete: Vec<raw::types::DeletePropertiesRequestPropertyToDeleteItem>,
    ) -> Result<WriteResult, Error> {
        let body = raw::types::DeletePropertiesRequest {
            account_id: self.client.inner.account.clone(),
            name_space: self.namespace.clone(),
            session_id: self.session_as()?,
            property_to_delete,
        };
        let result = self
            .raw()
            .delete_document_properties()
            .body(body)
            .send()
            .await;
        let answer = self.t().value("delete_document_properties", result).await?;
        WriteResult::from_answer("delete_document_properties", answer)
    }
}

// ------------------------------------------------------------ exact values

/// A context document as read by [`Document::get_raw`]: as
/// [`ContextDocument`], with each payload value the JSON text the service
/// holds (a [`RawProperties`]), so no number is rewritten.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RawContextDocument {
    /// `{accountId}:{nameSpace}:{sessionId}`, the session part empty for a namespace document.
    pub document_key: String,
    /// The account id.
    pub account_id: String,
    /// The tenant (account) id.
    pub tenant_id: String,
    /// `CONTEXT` for these documents.
    pub document_type: String,
    /// The namespace.
    pub namespace: String,
    /// The session; `None` for the namespace document.
    pub session_id: Option<String>,
    /// The properties, each value as JSON text.
    pub payload: RawProperties,
    /// When the document expires, if it does.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A document as the service answers it, its payload's values kept as text.
#[derive(serde::Deserialize)]
struct RawDocumentWire {
    #[serde(rename = "documentKey")]
    document_key: String,
    #[serde(rename = "accountId")]
    account_id: String,
    #[serde(rename = "tenantId")]
    tenant_id: String,
    #[serde(rename = "documentType")]
    document_type: String,
    #[serde(rename = "nameSpace")]
    name_space: String,
    #[serde(rename = "sessionId", default)]
    session_id: Option<String>,
    payload: RawProperties,
    #[serde(default)]
    ttl: Option<DateTime<Utc>>,
}

/// The body of an upsert whose payload values are JSON text.
#[derive(Serialize)]
struct RawUpsertBody<'a> {
    #[serde(rename = "accountId")]
    account_id: &'a str,
    #[serde(rename = "nameSpace")]
    name_space: &'a str,
    #[serde(rename = "sessionId", skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
    #[serde(rename = "ttlSeconds")]
    ttl_seconds: u64,
    payload: &'a RawValue,
}

impl Document {
    fn http(&self) -> &reqwest::Client {
        progenitor_client::ClientInfo::client(self.raw())
    }

    /// Reads the whole document with each payload value as the JSON text the
    /// service holds: as [`get`](Self::get), but `123456789012345678901234`,
    /// `1e2` and `1.10` read back as written. `None` as for `get`.
    ///
    /// Sends `GET /v2/context/document/{accountId}/{nameSpace}/{sessionId}`
    /// (the namespace document without `/{sessionId}`); 200 → `Some`, the
    /// service's 404 → `None`.
    ///
    /// ```no_run
    /// # async fn demo(ccs: liveperson_ccs::CcsV2Client) -> Result<(), liveperson_ccs::Error> {
    /// let doc = ccs.session_document("myNamespace", "mySessionId")?;
    /// if let Some(found) = doc.get_raw().await? {
    ///     for (name, value) in &found.payload {
    ///         println!("{name} = {}", value.get());
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_raw(&self) -> Result<Option<RawContextDocument>, Error> {
        let call = RawCall {
            operation: self.get_operation(),
            method: reqwest::Method::GET,
            base_url: self.client.base_url(),
            path: &self.document_path(),
            query: &[],
            body: None,
            accept_json: true,
        };
        match self
            .t()
            .raw_json::<RawDocumentWire>(self.http(), call)
            .await
        {
            Ok(doc) => Ok(Some(RawContextDocument {
                document_key: doc.document_key,
                account_id: doc.account_id,
                tenant_id: doc.tenant_id,
                document_type: doc.document_type,
                namespace: doc.name_space,
                session_id: doc.session_id,
                payload: doc.payload,
                expires_at: doc.ttl,
            })),
            Err(missing) if is_missing(&missing, "document") => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Saves properties into the document, each value sent as the JSON text
    /// given: as [`set_properties`](Self::set_properties) (an upsert; the
    /// whole document expires `ttl` after this call), with no number
    /// rewritten on the way. Names, value depth and the TTL are checked
    /// before anything is sent; a name given twice keeps its last value.
    ///
    /// Sends `POST /v2/context/document/create` with `{accountId, nameSpace,
    /// sessionId, ttlSeconds, payload}`; answers as
    /// [`set_properties`](Self::set_properties).
    ///
    /// ```no_run
    /// # async fn demo(ccs: liveperson_ccs::CcsV2Client) -> Result<(), liveperson_ccs::Error> {
    /// use std::time::Duration;
    /// use liveperson_ccs::v1::{RawProperties, RawValue};
    ///
    /// let mut payload = RawProperties::new();
    /// payload.insert("orderId".into(), RawValue::from_string("123456789012345678901234".into()).expect("JSON"));
    /// let doc = ccs.session_document("myNamespace", "mySessionId")?;
    /// doc.set_raw(&payload, Duration::from_secs(3600)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_raw<I, N, R>(&self, properties: I, ttl: Duration) -> Result<WriteResult, Error>
    where
        I: IntoIterator<Item = (N, R)>,
        N: IntoName<PropertyName>,
        R: AsRef<RawValue>,
    {
        let ttl_seconds = document_ttl(ttl)?.get();
        let payload = raw_object(properties)?;
        let body = RawUpsertBody {
            account_id: self.client.inner.account.as_str(),
            name_space: self.namespace.as_str(),
            session_id: self.session.as_ref().map(SessionId::as_str),
            ttl_seconds,
            payload: &payload,
        };
        let body = serde_json::to_vec(&body)
            .map_err(|e| Error::invalid("payload", format!("cannot serialize: {e}")))?;
        let call = RawCall {
            operation: "upsert_document",
            method: reqwest::Method::POST,
            base_url: self.client.base_url(),
            path: &[PathPart::Literal("/v2/context/document/create")],
            query: &[],
            body: Some(body),
            accept_json: true,
        };
        let answer: raw::types::DocumentResult = self.t().raw_json(self.http(), call).await?;
        WriteResult::from_answer("upsert_document", answer)
    }
}
