//! What CONVERSATION sends for the consumer: [`ConversationRequest`] and the
//! SDEs and routing it carries.

use crate::generated::messaging as raw;

/// The Customer Info SDE (`ctmrinfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "CustomerInfo", rename_all = "camelCase")
)]
pub struct CustomerInfo {
    /// A social media id of your choice.
    pub social_id: Option<String>,
    /// The customer type or tier, e.g. `vip` (case insensitive).
    pub ctype: Option<String>,
}

/// A visitor's gender, for the Personal Info SDE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename_all = "UPPERCASE")
)]
pub enum Gender {
    /// `MALE`
    Male,
    /// `FEMALE`
    Female,
    /// `OTHER`
    Other,
}

/// The Personal Info SDE (`personal`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "PersonalInfo", rename_all = "camelCase")
)]
pub struct PersonalInfo {
    /// The visitor's first name.
    pub firstname: Option<String>,
    /// The visitor's surname.
    pub lastname: Option<String>,
    /// The visitor's gender.
    pub gender: Option<Gender>,
}

/// How urgent the conversation is (`ttrDefName`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename_all = "UPPERCASE")
)]
pub enum Urgency {
    /// `NORMAL`
    Normal,
    /// `URGENT`
    Urgent,
    /// `PRIORITIZED`
    Prioritized,
}

/// Where the conversation was created and by whom (a `SharkContext`), from
/// the Monitoring API.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "ConversationContext", rename_all = "camelCase")
)]
pub struct ConversationContext {
    /// The consumer device's LivePerson id.
    pub visitor_id: Option<String>,
    /// The device's current monitoring session id.
    pub session_id: Option<String>,
    /// The context id from the Monitoring API.
    pub interaction_context_id: Option<String>,
    /// The context type; `SharkContext` when Monitoring API values are used.
    #[cfg_attr(feature = "schemars", schemars(rename = "type"))]
    pub context_type: Option<String>,
    /// The conversation language, e.g. `en-US`.
    pub lang: Option<String>,
}

/// Routing by campaign and engagement, both from the Monitoring API. Named
/// fields, so the two ids cannot be swapped unseen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Campaign {
    /// The campaign id, e.g. `99999`.
    pub campaign_id: String,
    /// The engagement id within that campaign, e.g. `888888`.
    pub engagement_id: String,
}

/// A feature the connector's client declares in the `Client-Properties`
/// header (`{"type": ".ClientProperties", "features": [...]}`), as the
/// Connector API's "Examples" page ("How to enable a feature") and the
/// Messaging Window API's client properties describe them. A feature must
/// also be enabled on the account to have an effect.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientFeature {
    /// `AUTO_MESSAGES`: the account's automatic messages (e.g. a welcome or
    /// "we are closed" message) are sent to the conversation, from the
    /// system ([`Role::Controller`](crate::webhooks::Role::Controller) in
    /// the webhooks). The account must have them on too; `ccs serve
    /// --auto-messages` (or `EmulatorConfig::auto_messages`) plays such an
    /// account.
    AutoMessages,
    /// `RICH_CONTENT`: the client shows structured content, so agents and
    /// bots may send it.
    RichContent,
    /// `QUICK_REPLIES`: the client shows quick replies.
    QuickReplies,
    /// `MULTI_DIALOG`: the client handles more than one dialog per
    /// conversation (e.g. the post-conversation survey).
    MultiDialog,
    /// Any other feature name, sent as given (e.g. `PHOTO_SHARING`).
    Other(String),
}

impl ClientFeature {
    /// The name as the header carries it, e.g. `AUTO_MESSAGES`.
    pub fn as_str(&self) -> &str {
        match self {
            ClientFeature::AutoMessages => "AUTO_MESSAGES",
            ClientFeature::RichContent => "RICH_CONTENT",
            ClientFeature::QuickReplies => "QUICK_REPLIES",
            ClientFeature::MultiDialog => "MULTI_DIALOG",
            ClientFeature::Other(name) => name,
        }
    }
}

/// What to open: the consumer's SDEs, the routing, and the client's
/// features. Every part is optional; LivePerson recommends SDEs and a
/// campaign.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationRequest {
    customer_info: Option<CustomerInfo>,
    personal_info: Option<PersonalInfo>,
    campaign: Option<Campaign>,
    skill_id: Option<String>,
    urgency: Option<Urgency>,
    context: Option<ConversationContext>,
    features: Vec<ClientFeature>,
}

impl ConversationRequest {
    /// An empty request: a conversation with no SDEs and default routing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends the Customer Info SDE.
    pub fn customer_info(mut self, info: CustomerInfo) -> Self {
        self.customer_info = Some(info);
        self
    }

    /// Sends the Personal Info SDE.
    pub fn personal_info(mut self, info: PersonalInfo) -> Self {
        self.personal_info = Some(info);
        self
    }

    /// Routes by campaign and engagement (from the Monitoring API): the
    /// recommended way.
    pub fn campaign(mut self, campaign: Campaign) -> Self {
        self.campaign = Some(campaign);
        self
    }

    /// Routes to a skill (`-1` for all skills). Prefer campaigns.
    pub fn skill(mut self, skill_id: impl Into<String>) -> Self {
        self.skill_id = Some(skill_id.into());
        self
    }

    /// Sets the urgency.
    pub fn urgency(mut self, urgency: Urgency) -> Self {
        self.urgency = Some(urgency);
        self
    }

    /// Sets the conversation context.
    pub fn context(mut self, context: ConversationContext) -> Self {
        self.context = Some(context);
        self
    }

    /// Declares a client feature in the `Client-Properties` header, e.g.
    /// [`ClientFeature::AutoMessages`]. The header goes on CONVERSATION and,
    /// as the documents require once it was given there, on every SEND of
    /// the [`OpenConversation`](super::OpenConversation) that
    /// [`MessagingClient::open`](super::MessagingClient::open) returns.
    /// Without a feature, no header is sent. A feature given twice is sent
    /// once.
    pub fn feature(mut self, feature: ClientFeature) -> Self {
        if !self.features.contains(&feature) {
            self.features.push(feature);
        }
        self
    }

    /// The features declared with [`feature`](Self::feature), in order.
    pub fn features(&self) -> &[ClientFeature] {
        &self.features
    }

    /// The `Client-Properties` header value, when a feature was declared:
    /// `{"type":".ClientProperties","features":[...]}`.
    pub(super) fn client_properties(&self) -> Option<String> {
        if self.features.is_empty() {
            return None;
        }
        let features: Vec<&str> = self.features.iter().map(ClientFeature::as_str).collect();
        // `type` first, as in the documents' example (a JSON map would sort it last).
        let features = serde_json::Value::from(features);
        Some(format!(
            r#"{{"type":".ClientProperties","features":{features}}}"#
        ))
    }

    /// The batch as the endpoint takes it, with the given request ids.
    pub(super) fn to_raw(&self, brand_id: &str, ids: [&str; 2]) -> raw::types::ConversationRequest {
        use raw::types as t;
        let mut sdes = Vec::new();
        if let Some(info) = &self.customer_info {
            sdes.push(t::Sde::CustomerInfoSde(t::CustomerInfoSde {
                type_: t::CustomerInfoSdeType::Ctmrinfo,
                info: Some(t::CustomerInfo {
                    social_id: info.social_id.clone(),
                    ctype: info.ctype.clone(),
                }),
            }));
        }
        if let Some(info) = &self.personal_info {
            sdes.push(t::Sde::PersonalInfoSde(t::PersonalInfoSde {
                type_: t::PersonalInfoSdeType::Personal,
                personal: Some(t::PersonalInfo {
                    firstname: info.firstname.clone(),
                    lastname: info.lastname.clone(),
                    gender: info.gender.map(|g| match g {
                        Gender::Male => t::PersonalInfoGender::Male,
                        Gender::Female => t::PersonalInfoGender::Female,
                        Gender::Other => t::PersonalInfoGender::Other,
                    }),
                }),
            }));
        }
        let profile = t::SetUserProfileRequest {
            kind: t::RequestKind::Req,
            id: t::RequestId(ids[0].to_owned()),
            type_: t::SetUserProfileRequestType::UserprofileSetUserProfile,
            body: t::SetUserProfileBody {
                authenticated_data: (!sdes.is_empty())
                    .then_some(t::AuthenticatedData { lp_sdes: sdes }),
            },
        };
        let conversation = t::ConsumerRequestConversationRequest {
            kind: t::RequestKind::Req,
            id: t::RequestId(ids[1].to_owned()),
            type_: t::ConsumerRequestConversationRequestType::CmConsumerRequestConversation,
            body: t::ConsumerRequestConversationBody {
                brand_id: brand_id.to_owned(),
                channel_type: Some(t::ConsumerRequestConversationBodyChannelType::Messaging),
                ttr_def_name: self.urgency.map(|u| match u {
                    Urgency::Normal => t::ConsumerRequestConversationBodyTtrDefName::Normal,
                    Urgency::Urgent => t::ConsumerRequestConversationBodyTtrDefName::Urgent,
                    Urgency::Prioritized => {
                        t::ConsumerRequestConversationBodyTtrDefName::Prioritized
                    }
                }),
                campaign_info: self.campaign.as_ref().map(|c| t::CampaignInfo {
                    campaign_id: Some(c.campaign_id.clone()),
                    engagement_id: Some(c.engagement_id.clone()),
                }),
                conversation_context: self.context.as_ref().map(|c| t::ConversationContext {
                    visitor_id: c.visitor_id.clone(),
                    session_id: c.session_id.clone(),
                    interaction_context_id: c.interaction_context_id.clone(),
                    type_: c.context_type.clone(),
                    lang: c.lang.clone(),
                }),
                skill_id: self.skill_id.clone(),
            },
        };
        t::ConversationRequest(vec![
            t::ConversationRequestItem::SetUserProfileRequest(profile),
            t::ConversationRequestItem::ConsumerRequestConversationRequest(conversation),
        ])
    }
}
