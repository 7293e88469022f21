//! The credentials of CONVERSATION and SEND: the AppJWT (`Authorization`)
//! and the ConsumerJWS (`X-LP-ON-BEHALF`), checked against the tokens the
//! emulator issued (`tokens.rs`) before anything else of the request, and
//! refused with the documented connector error body.

use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::json;

use crate::emulator::context::Call;
use crate::emulator::error::json as json_response;
use crate::emulator::tokens::{Kind, bearer_token};

/// The documented connector error body.
fn connector_error(status: StatusCode, title: &str, details: &str, code: u32) -> Response {
    json_response(
        status,
        json!({
            "kind": "resp",
            "code": status.as_u16(),
            "body": {"title": title, "details": details, "errorCode": code},
            "type": ".ReqBody$ErrorResp",
        })
        .to_string(),
    )
}

/// Checks the AppJWT and ConsumerJWS of a CONVERSATION or SEND call before
/// anything else; returns who the consumer is, or the documented 401.
pub(crate) fn consumer(c: &Call<'_>) -> Result<String, Box<Response>> {
    let unauthorized = StatusCode::UNAUTHORIZED;
    // The bare token (the pages) or `Bearer <token>` (LivePerson's clients).
    let app_jwt = bearer_token(c.header(header::AUTHORIZATION.as_str()).unwrap_or_default());
    if app_jwt.is_empty() {
        return Err(Box::new(connector_error(
            unauthorized,
            "AppJWT is missing",
            "AUTHORIZATION header is not present",
            40105,
        )));
    }
    let jws = bearer_token(c.header("x-lp-on-behalf").unwrap_or_default());
    if jws.is_empty() {
        return Err(Box::new(connector_error(
            unauthorized,
            "ConsumerJWS is missing",
            "X_ON_BEHALF_HEADER is not present",
            40104,
        )));
    }
    let account = c.params_account();
    let tokens = &c.shared.tokens;
    if !tokens.accepts(app_jwt, Kind::AppJwt, account, c.shared.clock.now()) {
        return Err(Box::new(connector_error(
            unauthorized,
            "Invalid AppJWT",
            "AppJWT has expired or is invalid",
            40102,
        )));
    }
    if !tokens.accepts(jws, Kind::ConsumerJws, account, c.shared.clock.now()) {
        return Err(Box::new(connector_error(
            unauthorized,
            "Invalid ConsumerJWS",
            "ConsumerJWS is invalid",
            40103,
        )));
    }
    Ok(match tokens.consumer(jws) {
        Some(ext) => format!("ext:{ext}"),
        None => format!("jws:{jws}"),
    })
}
