//! The connector's own APIs: the Domain API (where each service is: here,
//! always the emulator itself), Sentinel (an AppJWT for client credentials)
//! and the IDP (a ConsumerJWS for an AppJWT). The tokens they issue are kept
//! in `tokens.rs`; CONVERSATION and SEND, which check them, are in
//! `messaging/`.

use std::hash::{Hash, Hasher};

use axum::http::{StatusCode, header};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::context::{Call, Shared, same_secret};
use super::error::{ApiError, ApiResult, json as json_response};
use super::tokens::{Issued, Kind, bearer_token, unsigned_jwt};

/// The services the Domain API names, each at the emulator's own address:
/// those LivePerson's own code looks up. The emulator serves the APIs of
/// the first four (CONVERSATION and SEND, Sentinel, the IDP, the
/// Conversation Context Service) and `swift` (shared files); the others
/// are named so that a client
/// that looks every one of them up at start (node-agent-sdk, the Functions
/// toolbelt) gets its answer, but their APIs answer 404 here.
pub(super) const SERVICES: &[&str] = &[
    "asyncMessagingEnt",
    "sentinel",
    "idp",
    "mavenContext",
    "accountConfigReadOnly",
    "accountConfigReadWrite",
    "agentVep",
    "facadeMsg",
    "msgHist",
    // The file host of file sharing (`messaging/files.rs`).
    "swift",
];

/// "Now" for token lifetimes: the emulator's clock (real time plus what
/// `/__emulator/clock` advanced), so a one-hour token can expire at once.
fn now(shared: &Shared) -> DateTime<Utc> {
    shared.clock.now()
}

/// Whole seconds since the epoch, rounded down.
fn seconds(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

// ---------------------------------------------------------------------------
// Domain API
// ---------------------------------------------------------------------------

/// The emulator's own `host:port`, as the client reached it (`Host`).
fn own_host(c: &Call<'_>) -> Result<String, ApiError> {
    let host = c
        .header(header::HOST.as_str())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| ApiError::bad_request("a Host header is required"))?;
    let valid = !host.contains(['@', '/', '?', '#', ' '])
        && host.parse::<axum::http::uri::Authority>().is_ok();
    if !valid {
        return Err(ApiError::bad_request("the Host header is not host[:port]"));
    }
    Ok(host.to_owned())
}

fn domain_version(c: &Call<'_>) -> Result<(), ApiError> {
    match c.query("version") {
        Some("1.0") => Ok(()),
        _ => Err(ApiError::bad_request("version must be 1.0")),
    }
}

/// `GET /api/account/{accountId}/service/baseURI.json?version=1.0`: every
/// service, each at the emulator's own address.
pub(super) fn list_service_domains(c: &Call<'_>) -> ApiResult {
    let account = c.account()?;
    domain_version(c)?;
    let host = own_host(c)?;
    let entries: Vec<Value> = SERVICES
        .iter()
        .map(|service| json!({"service": service, "account": account, "baseURI": host}))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({ "baseURIs": entries }).to_string(),
    ))
}

/// `GET /api/account/{accountId}/service/{serviceName}/baseURI.json?version=1.0`.
pub(super) fn get_service_domain(c: &Call<'_>) -> ApiResult {
    let account = c.account()?;
    domain_version(c)?;
    let service = c.service();
    if !SERVICES.contains(&service) {
        return Err(ApiError::not_found(format!("service not found: {service}")));
    }
    let host = own_host(c)?;
    Ok(json_response(
        StatusCode::OK,
        json!({"service": service, "account": account, "baseURI": host}).to_string(),
    ))
}

// ---------------------------------------------------------------------------
// Sentinel
// ---------------------------------------------------------------------------

/// An OAuth 2.0 error answer (RFC 6749, 5.2).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> ApiResult {
    Ok(json_response(
        status,
        json!({"error": error, "error_description": description}).to_string(),
    ))
}

/// `POST /sentinel/api/account/{accountId}/app/token?v=1.0` (or `v=2.0`):
/// an AppJWT living the configured token TTL. See [`app_jwt`] for the forms.
pub(super) fn get_app_jwt(c: &Call<'_>) -> ApiResult {
    app_jwt(c, Path::V1)
}

/// `POST /sentinel/api/v2/account/{accountId}/app/token` (`v=2.0` optional):
/// as [`get_app_jwt`].
pub(super) fn get_app_jwt_v2(c: &Call<'_>) -> ApiResult {
    app_jwt(c, Path::V2)
}

/// Which of Sentinel's two token paths was called.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    V1,
    V2,
}

/// Sentinel's client credentials grant, in every form LivePerson documents:
/// `grant_type=client_credentials`, `client_id` and `client_secret` each in
/// the form body or in the query (the "Get AppJWT" page, the Connector API
/// "Getting Started" page and the "OAuth 2.0 Client Credentials" page
/// disagree on where); a form value wins over a query one. The body, when
/// there is one, must be a form. Errors are OAuth 2.0's: 400 for a
/// malformed request, 401 `invalid_client` for credentials that do not
/// authenticate (wrong, or empty).
fn app_jwt(c: &Call<'_>, path: Path) -> ApiResult {
    // Sentinel's errors are OAuth 2.0's, the account's too.
    let Ok(account) = c.account() else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "invalid account id",
        );
    };
    let version_ok = match (path, c.query("v")) {
        (Path::V1, Some(v)) => v == "1.0" || v == "2.0",
        (Path::V2, v) => v.is_none_or(|v| v == "2.0"),
        (Path::V1, None) => false,
    };
    if !version_ok {
        let message = match path {
            Path::V1 => "v must be 1.0 or 2.0",
            Path::V2 => "v must be 2.0 (or absent) on this path",
        };
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", message);
    }
    let pairs = if c.body.is_empty() {
        Vec::new()
    } else {
        let form = c
            .header(header::CONTENT_TYPE.as_str())
            .and_then(|t| t.split(';').next())
            .is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the body must be application/x-www-form-urlencoded",
            );
        }
        let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&c.body) else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the body is not a form",
            );
        };
        pairs
    };
    // The form's value, else the query's.
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .or_else(|| c.query(name))
    };
    match field("grant_type") {
        Some("client_credentials") => {}
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required (in the form or the query)",
            );
        }
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be client_credentials",
            );
        }
    }
    let (Some(client_id), Some(client_secret)) = (field("client_id"), field("client_secret"))
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and client_secret are required (in the form or the query)",
        );
    };
    if client_id.is_empty() || client_secret.is_empty() {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let config = &c.shared.config;
    if let (Some(id), Some(secret)) = (&config.app_client_id, &config.app_client_secret) {
        // Both compared, whatever the first says: no timing hint of which.
        let id_ok = same_secret(client_id.as_bytes(), id.as_bytes());
        let secret_ok = same_secret(client_secret.as_bytes(), secret.as_bytes());
        if !(id_ok & secret_ok) {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            );
        }
    }
    let now = now(c.shared);
    let expires_at = now + ttl(c.shared);
    let claims = json!({
        "aud": account,
        "azp": client_id,
        "scope": "msg.consumer",
        "iss": "Sentinel",
        "iat": seconds(now),
        "exp": seconds(expires_at),
        "jti": uuid::Uuid::new_v4().simple().to_string(),
    });
    let token = unsigned_jwt(&claims);
    c.shared.tokens.keep(
        token.clone(),
        Issued {
            kind: Kind::AppJwt,
            account: account.to_owned(),
            expires_at,
            consumer: None,
        },
        now,
    );
    Ok(json_response(
        StatusCode::OK,
        // `expires_in` as a string: LivePerson's Functions toolbelt refuses
        // an answer whose `expires_in` is not one (RFC 6749 has a number;
        // the crate's provider reads both).
        json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": (expires_at - now).num_seconds().max(0).to_string(),
        })
        .to_string(),
    ))
}

fn ttl(shared: &Shared) -> TimeDelta {
    TimeDelta::from_std(shared.config.token_ttl).unwrap_or(TimeDelta::MAX)
}

// ---------------------------------------------------------------------------
// IDP
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct ConsumerJwsRequest {
    ext_consumer_id: String,
}

/// `POST /api/account/{accountId}/consumer?v=1.0` with the AppJWT and
/// `{"ext_consumer_id": ...}`: 201 with a ConsumerJWS bound to that consumer,
/// living the configured token TTL (the emulator's own limit: the token
/// carries no `exp`, as the documented one).
pub(super) fn get_consumer_jws(c: &Call<'_>) -> ApiResult {
    let account = c.account()?;
    // The bare token (the page) or `Bearer <token>` (LivePerson's clients).
    let app_jwt = bearer_token(c.header(header::AUTHORIZATION.as_str()).unwrap_or_default());
    if app_jwt.is_empty() {
        return Err(ApiError::unauthorized("AppJWT is missing"));
    }
    if !c
        .shared
        .tokens
        .accepts(app_jwt, Kind::AppJwt, account, now(c.shared))
    {
        return Err(ApiError::unauthorized("AppJWT has expired or is invalid"));
    }
    if c.query("v") != Some("1.0") {
        return Err(ApiError::bad_request("the query parameter v must be 1.0"));
    }
    let request: ConsumerJwsRequest = c.json()?;
    if request.ext_consumer_id.is_empty() {
        return Err(ApiError::bad_request("ext_consumer_id is missing"));
    }
    let now = now(c.shared);
    let mut hasher = std::hash::DefaultHasher::new();
    (account, &request.ext_consumer_id).hash(&mut hasher);
    let claims = json!({
        "account_id": account,
        "ext_consumer_id": request.ext_consumer_id,
        "lp_consumer_id": format!("{:016x}", hasher.finish()),
        "iat": seconds(now),
        "jti": uuid::Uuid::new_v4().simple().to_string(),
    });
    let token = unsigned_jwt(&claims);
    c.shared.tokens.keep(
        token.clone(),
        Issued {
            kind: Kind::ConsumerJws,
            account: account.to_owned(),
            expires_at: now + ttl(c.shared),
            consumer: Some(request.ext_consumer_id),
        },
        now,
    );
    Ok(json_response(
        StatusCode::CREATED,
        json!({ "token": token }).to_string(),
    ))
}
