//! Messaging: the CONVERSATION batch endpoint that opens a conversation.

use axum::Json;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use super::routes::Call;

const SET_USER_PROFILE: &str = "userprofile.SetUserProfile";
const REQUEST_CONVERSATION: &str = "cm.ConsumerRequestConversation";

/// `POST /api/account/{accountId}/messaging/consumer/conversation?v=3` with
/// `[SetUserProfile, ConsumerRequestConversation]` → 200 with one answer per
/// request; each `reqId` echoes the request `id` as sent.
pub(super) fn create_conversation(c: &Call<'_>) -> ApiResult {
    c.account()?;
    if c.query("v") != Some("3") {
        return Err(ApiError::bad_request("the query parameter v must be 3"));
    }
    let Value::Array(requests) = c.json()? else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON array of requests",
        ));
    };
    let [profile, conversation] = requests.as_slice() else {
        return Err(ApiError::bad_request(format!(
            "the body must hold two requests: {SET_USER_PROFILE} then {REQUEST_CONVERSATION}"
        )));
    };
    let (profile_id, _) = request(profile, SET_USER_PROFILE)?;
    let (conversation_id, body) = request(conversation, REQUEST_CONVERSATION)?;
    if !matches!(body.get("brandId"), Some(Value::String(brand)) if !brand.is_empty()) {
        return Err(ApiError::bad_request(format!(
            "{REQUEST_CONVERSATION} needs a string brandId"
        )));
    }
    if body
        .get("channelType")
        .is_some_and(|channel| channel != "MESSAGING")
    {
        return Err(ApiError::bad_request("channelType must be \"MESSAGING\""));
    }
    let answers = json!([
        {
            "code": "OK",
            "body": { "msg": "OK User Profile set successfully" },
            "reqId": profile_id,
        },
        {
            "code": "OK",
            "body": { "conversationId": Uuid::new_v4().to_string() },
            "reqId": conversation_id,
        },
    ]);
    Ok(Json(answers).into_response())
}

/// Checks one `{kind: "req", id, type, body}` item; returns its id and body.
fn request<'a>(
    item: &'a Value,
    kind: &str,
) -> Result<(&'a Value, &'a Map<String, Value>), ApiError> {
    let bad = |what: &str| ApiError::bad_request(format!("{kind} request: {what}"));
    let item = item
        .as_object()
        .ok_or_else(|| bad("each request must be a JSON object"))?;
    if item.get("kind").is_none_or(|k| k != "req") {
        return Err(bad("kind must be \"req\""));
    }
    let id = item
        .get("id")
        .filter(|id| id.is_string() || id.is_number())
        .ok_or_else(|| bad("id must be a string or a number"))?;
    if item.get("type").is_none_or(|t| t != kind) {
        return Err(bad(&format!(
            "expected type {kind} here ({SET_USER_PROFILE} first, {REQUEST_CONVERSATION} second)"
        )));
    }
    let body = item
        .get("body")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("body must be a JSON object"))?;
    Ok((id, body))
}
