//! CCS v1: namespaces, properties, session listings and TTLs.

use std::collections::{HashMap, HashSet};
use std::ops::RangeInclusive;

use axum::Json;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::context::Call;
use super::error::{ApiError, ApiResult, json, no_content};
use super::json::{JsonObject, Obj, timestamp};
use super::names;
use super::store::Expiry;

/// Largest `perPage` of the session listings.
const MAX_PER_PAGE: u64 = 1000;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NamespaceItem {
    name: String,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl_second: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionTtlItem {
    session_id: String,
    created_at: String,
    ttl_second: u64,
}

#[derive(Deserialize)]
struct NewNamespace {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionTtlBody {
    session_id: String,
}

/// Largest `ttlSecond`: the spec declares it `int64`.
const MAX_TTL_SECOND: u64 = i64::MAX as u64;

/// Largest `page`: the documents give its type as `int` (the spec: `int32`).
const MAX_PAGE: u64 = i32::MAX as u64;

/// The optional `ttlSecond` query parameter: an integer from 0 to 2^63 - 1.
fn ttl_second(c: &Call<'_>) -> Result<Option<u64>, ApiError> {
    c.query("ttlSecond")
        .map(|v| {
            v.parse()
                .ok()
                .filter(|ttl| *ttl <= MAX_TTL_SECOND)
                .ok_or_else(|| ApiError::bad_request("ttlSecond must be an integer ≥ 0 (int64)"))
        })
        .transpose()
}

fn int_query(
    c: &Call<'_>,
    name: &str,
    default: u64,
    range: RangeInclusive<u64>,
    rule: &str,
) -> Result<u64, ApiError> {
    match c.query(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| ApiError::bad_request(format!("{name} must be {rule}"))),
    }
}

/// `page` (≥ 0, default 0) and `perPage` (1..=1000, default 100) as (skip, take).
fn pagination(c: &Call<'_>) -> Result<(usize, usize), ApiError> {
    let page = int_query(c, "page", 0, 0..=MAX_PAGE, "an integer ≥ 0 (int32)")?;
    let per_page = int_query(
        c,
        "perPage",
        100,
        1..=MAX_PER_PAGE,
        "an integer between 1 and 1000",
    )?;
    let skip = usize::try_from(page.saturating_mul(per_page)).unwrap_or(usize::MAX);
    let take = usize::try_from(per_page).unwrap_or(usize::MAX);
    Ok((skip, take))
}

/// `GET /v1/account/{accountId}`: every namespace of the account.
pub(super) fn list_namespaces(c: &Call<'_>) -> ApiResult {
    let account = c.account()?;
    let items: Vec<NamespaceItem> = c
        .store
        .namespaces(account)
        .into_iter()
        .map(|n| NamespaceItem {
            name: n.name,
            created_at: timestamp(n.created_at),
            ttl_second: n.ttl,
        })
        .collect();
    Ok(Json(items).into_response())
}

/// `POST /v1/account/{accountId}[?ttlSecond=N]` with `{"name": ns}`.
pub(super) fn create_namespace(c: &Call<'_>) -> ApiResult {
    let account = c.account()?;
    let ttl = ttl_second(c)?;
    let Obj(body): Obj<NewNamespace> = c.json()?;
    let ns = names::namespace(&body.name)?;
    c.store.create_namespace(account, ns, ttl, c.now);
    Ok(no_content())
}

/// `DELETE /v1/account/{accountId}/{ns}`: the namespace, its data and TTLs.
pub(super) fn delete_namespace(c: &Call<'_>) -> ApiResult {
    let (account, ns, _) = c.location()?;
    c.store.delete_namespace(account, ns);
    Ok(no_content())
}

/// `GET .../properties[?include=a,b]`: all (or the included) properties; `{}` if none.
/// An empty `include` is refused: the spec gives it `minLength: 1`.
pub(super) fn get_properties(c: &Call<'_>) -> ApiResult {
    let (account, ns, session) = c.location()?;
    let now = c.now;
    let body = match c.query("include") {
        Some("") => {
            return Err(ApiError::bad_request(
                "include must name at least one property",
            ));
        }
        Some(list) => {
            // First occurrences in order; a set keeps this linear in the names.
            let mut seen: HashSet<&str> = HashSet::new();
            let keys: Vec<&str> = list
                .split(',')
                .filter(|k| !k.is_empty() && seen.insert(k))
                .collect();
            let values = c.store.properties(account, ns, session, &keys, now);
            let mut object = JsonObject::new();
            for (key, value) in keys.iter().zip(values) {
                if let Some(value) = value {
                    object.raw(key, &value);
                }
            }
            object.finish()
        }
        None => c
            .store
            .document(account, ns, session, now)
            .map_or_else(|| b"{}".to_vec(), |d| d.json),
    };
    Ok(json(StatusCode::OK, body))
}

/// `PATCH .../properties` with a JSON object: merges it into the document.
pub(super) fn patch_properties(c: &Call<'_>) -> ApiResult {
    let location = c.location()?;
    let body: &RawValue = c.json()?;
    if !body.get().starts_with('{') {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object of properties",
        ));
    }
    let properties: HashMap<String, &RawValue> = serde_json::from_str(body.get())
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))?;
    c.save(location, properties, Expiry::Inherit)?;
    Ok(no_content())
}

/// `DELETE /v1/account/{accountId}/{ns}/{sessionId}/properties`: all properties
/// of the session (its TTL setting stays).
pub(super) fn delete_session_properties(c: &Call<'_>) -> ApiResult {
    let (account, ns, session) = c.location()?;
    c.store.delete_session(account, ns, session);
    Ok(no_content())
}

/// `GET .../properties/{property}`: the bare JSON value, 404 if missing.
pub(super) fn get_property(c: &Call<'_>) -> ApiResult {
    let (account, ns, session) = c.location()?;
    let property = c.property()?;
    let value = c
        .store
        .property(account, ns, session, property, c.now)
        .ok_or_else(|| ApiError::not_found(format!("property '{property}' not found")))?;
    Ok(json(StatusCode::OK, value))
}

/// `PUT .../properties/{property}` with any JSON value.
pub(super) fn put_property(c: &Call<'_>) -> ApiResult {
    let location = c.location()?;
    let property = c.property()?;
    let value: &RawValue = c.json()?;
    c.save(location, [(property.to_owned(), value)], Expiry::Inherit)?;
    Ok(no_content())
}

/// `DELETE .../properties/{property}` (idempotent).
pub(super) fn delete_property(c: &Call<'_>) -> ApiResult {
    let (account, ns, session) = c.location()?;
    let property = c.property()?;
    c.store.delete_properties(account, ns, session, &[property]);
    Ok(no_content())
}

/// `GET /v1/account/{accountId}/{ns}/session-ids?page=&perPage=`.
pub(super) fn session_ids(c: &Call<'_>) -> ApiResult {
    let (account, ns, _) = c.location()?;
    let (skip, take) = pagination(c)?;
    let ids = c.store.session_ids(account, ns, skip, take, c.now);
    Ok(Json(ids).into_response())
}

/// `GET /v1/account/{accountId}/{ns}/session-properties?page=&perPage=`.
pub(super) fn session_properties(c: &Call<'_>) -> ApiResult {
    let (account, ns, _) = c.location()?;
    let (skip, take) = pagination(c)?;
    let body = c.store.session_properties(account, ns, skip, take, c.now);
    Ok(json(StatusCode::OK, body))
}

/// `POST /v1/account/{accountId}/namespace/{ns}/session?ttlSecond=N` with
/// `{"sessionId": ...}`.
pub(super) fn set_session_ttl(c: &Call<'_>) -> ApiResult {
    let (account, ns, _) = c.location()?;
    let ttl = ttl_second(c)?.ok_or_else(|| ApiError::bad_request("ttlSecond is required"))?;
    let Obj(body): Obj<SessionTtlBody> = c.json()?;
    let session = names::session(&body.session_id)?;
    c.store.set_session_ttl(account, ns, session, ttl, c.now);
    Ok(no_content())
}

/// `GET /v1/account/{accountId}/namespace/{ns}/session`: sessions with a TTL.
pub(super) fn list_session_ttls(c: &Call<'_>) -> ApiResult {
    let (account, ns, _) = c.location()?;
    let items: Vec<SessionTtlItem> = c
        .store
        .session_ttls(account, ns)
        .into_iter()
        .map(|(session_id, ttl)| SessionTtlItem {
            session_id,
            created_at: timestamp(ttl.created_at),
            ttl_second: ttl.ttl,
        })
        .collect();
    Ok(Json(items).into_response())
}
