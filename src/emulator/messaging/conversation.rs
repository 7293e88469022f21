//! CONVERSATION: the batch endpoint that opens a conversation.

use axum::Json;
use axum::response::IntoResponse;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::auth::consumer;
use super::state::Opening;
use crate::emulator::context::Call;
use crate::emulator::error::{ApiError, ApiResult};

const SET_USER_PROFILE: &str = "userprofile.SetUserProfile";
const REQUEST_CONVERSATION: &str = "cm.ConsumerRequestConversation";

/// `POST /api/account/{accountId}/messaging/consumer/conversation?v=3` with
/// `[SetUserProfile, ConsumerRequestConversation]` → 200 with one answer per
/// request; each `reqId` echoes the request `id` as sent.
///
/// Each payload is checked against its schema in `openapi/messaging.yaml`
/// (types, enums, required members; unknown members are ignored), and the
/// batch must be exactly these two payloads in this order, as the documents
/// describe it.
pub(crate) fn create_conversation(c: &Call<'_>) -> ApiResult {
    let consumer = match consumer(c) {
        Ok(consumer) => consumer,
        Err(refused) => return Ok(*refused),
    };
    let account = c.account()?;
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
    let profile: shape::Request<shape::ProfileBody> = request(profile, SET_USER_PROFILE)?;
    let ttr = conversation["body"]["ttrDefName"]
        .as_str()
        .map(str::to_owned);
    let conversation: shape::Request<shape::ConversationBody> =
        request(conversation, REQUEST_CONVERSATION)?;
    let body = &conversation.body.0;
    let campaign = body.campaign_info.as_ref().map(|c| &c.0);
    let context = body.conversation_context.as_ref().map(|c| &c.0);
    let opening = Opening {
        skill: body.skill_id.clone(),
        ttr,
        campaign_id: campaign.and_then(|c| c.campaign_id.clone()),
        engagement_id: campaign.and_then(|c| c.engagement_id.clone()),
        interaction_context_id: context.and_then(|c| c.interaction_context_id.clone()),
        // Any text is accepted (some of LivePerson's integrations send
        // `[object Object]`); only a JSON one declares features.
        client_properties: c.header("client-properties").map(|text| {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
        }),
    };
    let answers = json!([
        {
            "code": "OK",
            "body": { "msg": "OK User Profile set successfully" },
            "reqId": profile.id,
        },
        {
            "code": "OK",
            "body": {
                "conversationId": c.shared.conversations.open(account, consumer, opening, c.now),
            },
            "reqId": conversation.id,
        },
    ]);
    Ok(Json(answers).into_response())
}

/// Checks that `item` is a payload of type `kind` and of its schema.
fn request<T: DeserializeOwned>(item: &Value, kind: &str) -> Result<T, ApiError> {
    let bad = |what: &str| ApiError::bad_request(format!("{kind} request: {what}"));
    let object = item
        .as_object()
        .ok_or_else(|| bad("each request must be a JSON object"))?;
    if object.get("type").is_none_or(|t| t != kind) {
        return Err(bad(&format!(
            "expected type {kind} here ({SET_USER_PROFILE} first, {REQUEST_CONVERSATION} second)"
        )));
    }
    T::deserialize(item).map_err(|e| bad(&e.to_string()))
}

/// The request payloads as `openapi/messaging.yaml` declares them; read only
/// to check their shape.
#[allow(dead_code)]
mod shape {
    use serde::Deserialize;

    use crate::emulator::json::{Obj, id_text, present};

    #[derive(Deserialize)]
    #[serde(bound = "B: serde::de::DeserializeOwned")]
    pub(super) struct Request<B> {
        pub(super) kind: Kind,
        /// Echoed verbatim as `reqId`.
        pub(super) id: String,
        pub(super) body: Obj<B>,
    }

    #[derive(Deserialize)]
    pub(super) enum Kind {
        #[serde(rename = "req")]
        Req,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct ProfileBody {
        #[serde(default, deserialize_with = "present")]
        authenticated_data: Option<Obj<AuthenticatedData>>,
    }

    #[derive(Deserialize)]
    pub(super) struct AuthenticatedData {
        #[serde(default, deserialize_with = "present")]
        lp_sdes: Option<Vec<Obj<Sde>>>,
    }

    #[derive(Deserialize)]
    #[serde(tag = "type")]
    pub(super) enum Sde {
        #[serde(rename = "ctmrinfo")]
        CustomerInfo {
            #[serde(default, deserialize_with = "present")]
            info: Option<Obj<CustomerInfo>>,
        },
        #[serde(rename = "personal")]
        Personal {
            #[serde(default, deserialize_with = "present")]
            personal: Option<Obj<PersonalInfo>>,
        },
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct CustomerInfo {
        #[serde(default, deserialize_with = "present")]
        social_id: Option<String>,
        #[serde(default, deserialize_with = "present")]
        ctype: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct PersonalInfo {
        #[serde(default, deserialize_with = "present")]
        firstname: Option<String>,
        #[serde(default, deserialize_with = "present")]
        lastname: Option<String>,
        #[serde(default, deserialize_with = "present")]
        gender: Option<Gender>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "UPPERCASE")]
    pub(super) enum Gender {
        Male,
        Female,
        Other,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct ConversationBody {
        brand_id: String,
        #[serde(default, deserialize_with = "present")]
        channel_type: Option<ChannelType>,
        /// Nullable in the documents ("NORMAL" / "URGENT" / "PRIORITIZED" / null).
        #[serde(default)]
        ttr_def_name: Option<TtrDefName>,
        #[serde(default, deserialize_with = "present")]
        pub(super) campaign_info: Option<Obj<CampaignInfo>>,
        #[serde(default, deserialize_with = "present")]
        pub(super) conversation_context: Option<Obj<ConversationContext>>,
        #[serde(default, deserialize_with = "present")]
        pub(super) skill_id: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "UPPERCASE")]
    pub(super) enum ChannelType {
        Messaging,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "UPPERCASE")]
    pub(super) enum TtrDefName {
        Normal,
        Urgent,
        Prioritized,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct CampaignInfo {
        /// A string, or a JSON number as LivePerson's demo app sends it.
        #[serde(default, deserialize_with = "id_text")]
        pub(super) campaign_id: Option<String>,
        /// A string, or a JSON number as LivePerson's demo app sends it.
        #[serde(default, deserialize_with = "id_text")]
        pub(super) engagement_id: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct ConversationContext {
        #[serde(default, deserialize_with = "present")]
        visitor_id: Option<String>,
        #[serde(default, deserialize_with = "present")]
        session_id: Option<String>,
        /// A string, or a JSON number as LivePerson's demo app sends it.
        #[serde(default, deserialize_with = "id_text")]
        pub(super) interaction_context_id: Option<String>,
        #[serde(default, deserialize_with = "present", rename = "type")]
        context_type: Option<String>,
        #[serde(default, deserialize_with = "present")]
        lang: Option<String>,
    }
}
