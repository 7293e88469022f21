//! CCS v2: context documents.

use std::collections::{HashMap, HashSet};

use axum::Json;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::context::Call;
use super::error::{ApiError, ApiResult, json};
use super::json::{JsonObject, present, timestamp};
use super::names::{self, DEFAULT_SESSION};
use super::store::Expiry;

/// Largest v2 `ttlSeconds`: "13 months" read as 396 days (365 + 31), the
/// longest span 13 calendar months can cover, so no real value is refused.
pub(super) const MAX_TTL_SECONDS: u64 = 396 * 24 * 60 * 60;

/// The document a v2 body names.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    account_id: String,
    name_space: String,
    #[serde(default, deserialize_with = "present")]
    session_id: Option<String>,
}

impl Target {
    /// The validated account, namespace and session (`__default__` if absent).
    fn location(&self) -> Result<(&str, &str, &str), ApiError> {
        let account = names::account(&self.account_id)?;
        let ns = names::namespace(&self.name_space)?;
        let session = self
            .session_id
            .as_deref()
            .map_or(Ok(DEFAULT_SESSION), names::session)?;
        Ok((account, ns, session))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    #[serde(flatten)]
    target: Target,
    ttl_seconds: u64,
    #[serde(borrow)]
    payload: HashMap<String, &'a RawValue>,
}

#[derive(Deserialize)]
struct PropertiesBody {
    #[serde(flatten)]
    target: Target,
    filter: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteBody {
    #[serde(flatten)]
    target: Target,
    #[serde(default, deserialize_with = "present")]
    property_to_delete: Option<Vec<String>>,
}

/// `acc:ns:session`, or `acc:ns:` for the namespace document.
fn document_key(account: &str, ns: &str, session: &str) -> String {
    let session = if session == DEFAULT_SESSION {
        ""
    } else {
        session
    };
    format!("{account}:{ns}:{session}")
}

/// `{"documentKey", "tenantId", "success": true}`.
fn acknowledge(status: StatusCode, (account, ns, session): (&str, &str, &str)) -> ApiResult {
    let body = json!({
        "documentKey": document_key(account, ns, session),
        "tenantId": account,
        "success": true,
    });
    Ok((status, Json(body)).into_response())
}

/// `POST /v2/context/document/create`: upserts properties with their TTL → 201.
pub(super) fn create(c: &Call<'_>) -> ApiResult {
    let CreateBody {
        target,
        ttl_seconds,
        payload,
    } = c.json()?;
    let location = target.location()?;
    if !(1..=MAX_TTL_SECONDS).contains(&ttl_seconds) {
        return Err(ApiError::bad_request(format!(
            "ttlSeconds must be between 1 and {MAX_TTL_SECONDS} (13 months)"
        )));
    }
    c.save(location, payload, Expiry::Document(ttl_seconds))?;
    acknowledge(StatusCode::CREATED, location)
}

/// `GET /v2/context/document/{accountId}/{nameSpace}[/{sessionId}]`: the
/// document envelope, 404 if it has no live property.
pub(super) fn get_document(c: &Call<'_>) -> ApiResult {
    let (account, ns, session) = c.location()?;
    let document = c
        .store
        .document(account, ns, session, c.now)
        .ok_or_else(|| ApiError::not_found("document not found"))?;
    let mut envelope = JsonObject::new();
    envelope.string("accountId", account);
    envelope.string("documentKey", &document_key(account, ns, session));
    envelope.string("documentType", "CONTEXT");
    envelope.string("nameSpace", ns);
    envelope.raw("payload", &document.json);
    if session != DEFAULT_SESSION {
        envelope.string("sessionId", session);
    }
    envelope.string("tenantId", account);
    if let Some(expires) = document.expires {
        envelope.string("ttl", &timestamp(expires));
    }
    Ok(json(StatusCode::OK, envelope.finish()))
}

/// `POST /v2/context/document/properties`: the values of `filter`
/// (`"nameSpace.property"`), keyed the same way; missing ones are left out,
/// and so are entries that do not start with `"{nameSpace}."` (they name no
/// property of this document). An empty `filter` is refused (`minItems: 1`).
pub(super) fn read_properties(c: &Call<'_>) -> ApiResult {
    let body: PropertiesBody = c.json()?;
    let (account, ns, session) = body.target.location()?;
    if body.filter.is_empty() {
        return Err(ApiError::bad_request(
            "filter must name at least one property",
        ));
    }
    if body.filter.iter().any(String::is_empty) {
        return Err(ApiError::bad_request("filter entries must not be empty"));
    }
    let prefix = format!("{ns}.");
    // First occurrences in order; a set keeps this linear in the entries.
    let mut seen: HashSet<&str> = HashSet::with_capacity(body.filter.len());
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    for entry in &body.filter {
        let Some(property) = entry.strip_prefix(&prefix) else {
            continue;
        };
        if seen.insert(entry) {
            wanted.push((entry, property));
        }
    }
    let keys: Vec<&str> = wanted.iter().map(|(_, property)| *property).collect();
    let values = c.store.properties(account, ns, session, &keys, c.now);
    let mut object = JsonObject::new();
    for ((entry, _), value) in wanted.iter().zip(values) {
        if let Some(value) = value {
            object.raw(entry, &value);
        }
    }
    Ok(json(StatusCode::OK, object.finish()))
}

/// `DELETE /v2/context/document/property/delete`: the listed properties, or the
/// whole document without `propertyToDelete` → 200.
pub(super) fn delete(c: &Call<'_>) -> ApiResult {
    let body: DeleteBody = c.json()?;
    let location @ (account, ns, session) = body.target.location()?;
    match &body.property_to_delete {
        Some(properties) => {
            if properties.iter().any(String::is_empty) {
                return Err(ApiError::bad_request(
                    "propertyToDelete entries must not be empty",
                ));
            }
            let keys: Vec<&str> = properties.iter().map(String::as_str).collect();
            c.store.delete_properties(account, ns, session, &keys);
        }
        None => c.store.delete_session(account, ns, session),
    }
    acknowledge(StatusCode::OK, location)
}
