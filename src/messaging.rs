//! The Messaging CONVERSATION client: opens a conversation on behalf of a
//! consumer, with the consumer's SDEs and routing.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::Error;
use crate::builder::{ClientBuilder, MessagingCredentials, env, required_env};
use crate::generated::messaging as raw;
use crate::names::AccountId;
use crate::retry::RetryPolicy;
use crate::secret::Credential;
use crate::transport::{Auth, Transport};

const OPERATION: &str = "create_conversation";

/// A client for the Messaging CONVERSATION endpoint, bound to one account.
///
/// The host comes from LivePerson's Domain API (service `asyncMessagingEnt`);
/// give it with [`domain`](ClientBuilder::domain). The connector's AppJWT is
/// set on the client; the consumer's ConsumerJWS is given per call.
///
/// Creating a conversation is not idempotent, so it is never retried
/// automatically, whatever the retry policy.
///
/// ```no_run
/// # async fn demo() -> Result<(), liveperson_ccs::Error> {
/// use liveperson_ccs::messaging::{ConversationRequest, CustomerInfo, PersonalInfo, Gender};
/// use liveperson_ccs::MessagingClient;
///
/// let messaging = MessagingClient::builder()
///     .account("le12345678")
///     .domain("va.msg.liveperson.net")
///     .app_jwt("the-app-jwt")
///     .build()?;
/// let request = ConversationRequest::new()
///     .customer_info(CustomerInfo { social_id: Some("1234567890".into()), ctype: Some("vip".into()) })
///     .personal_info(PersonalInfo {
///         firstname: Some("John".into()),
///         lastname: Some("Doe".into()),
///         gender: Some(Gender::Male),
///     })
///     .campaign("99999", "888888");
/// let conversation = messaging.create_conversation("the-consumer-jws", &request).await?;
/// println!("opened {}", conversation.conversation_id);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MessagingClient {
    inner: Arc<Inner>,
}

struct Inner {
    account: AccountId,
    base_url: String,
    http: reqwest::Client,
    app_jwt: Credential,
}

impl fmt::Debug for MessagingClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessagingClient")
            .field("account", &self.inner.account.as_str())
            .field("base_url", &self.inner.base_url)
            .field("app_jwt", &"[redacted]")
            .finish()
    }
}

impl ClientBuilder<MessagingCredentials> {
    /// The connector's AppJWT, sent in `Authorization`. Required. It lasts 60
    /// minutes: give a [`CredentialProvider`](crate::CredentialProvider)
    /// through [`Credential::from_provider`] to refresh it.
    pub fn app_jwt(mut self, token: impl Into<Credential>) -> Self {
        self.kind.app_jwt = Some(token.into());
        self
    }

    /// The account's `asyncMessagingEnt` host from LivePerson's Domain API,
    /// e.g. `va.msg.liveperson.net`; `https://` is added. Same as
    /// [`base_url`](ClientBuilder::base_url) with a full URL.
    pub fn domain(mut self, domain: impl AsRef<str>) -> Self {
        let domain = domain.as_ref().trim();
        self.base_url = Some(if domain.contains("://") {
            domain.to_owned()
        } else {
            format!("https://{domain}")
        });
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<MessagingClient, Error> {
        let Some(app_jwt) = self.kind.app_jwt.clone() else {
            return Err(Error::invalid("AppJWT", "no AppJWT was given"));
        };
        if self.base_url.is_none() {
            return Err(Error::invalid(
                "messaging domain",
                "no domain was given: ask LivePerson's Domain API for `asyncMessagingEnt`",
            ));
        }
        let parts = self.parts("")?;
        Ok(MessagingClient {
            inner: Arc::new(Inner {
                account: parts.account,
                base_url: parts.base_url,
                http: parts.http,
                app_jwt,
            }),
        })
    }
}

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

/// What to open: the consumer's SDEs and the routing. Every part is
/// optional; LivePerson recommends SDEs and a campaign.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationRequest {
    customer_info: Option<CustomerInfo>,
    personal_info: Option<PersonalInfo>,
    campaign: Option<(String, String)>,
    skill_id: Option<String>,
    urgency: Option<Urgency>,
    context: Option<ConversationContext>,
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
    pub fn campaign(
        mut self,
        campaign_id: impl Into<String>,
        engagement_id: impl Into<String>,
    ) -> Self {
        self.campaign = Some((campaign_id.into(), engagement_id.into()));
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

    /// The batch as the endpoint takes it, with the given request ids.
    fn to_raw(&self, brand_id: &str, ids: [&str; 2]) -> raw::types::ConversationRequest {
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
                campaign_info: self.campaign.as_ref().map(|(campaign, engagement)| {
                    t::CampaignInfo {
                        campaign_id: Some(campaign.clone()),
                        engagement_id: Some(engagement.clone()),
                    }
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

/// A conversation just opened.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Conversation {
    /// The conversation id, for the SEND calls.
    pub conversation_id: String,
    /// What the service said of the profile, e.g. `OK User Profile set successfully`.
    pub profile_message: Option<String>,
}

/// One result of the batch, read leniently.
struct Item {
    code: String,
    req_id: Option<String>,
    body: Value,
}

impl MessagingClient {
    /// A builder; [`account`](ClientBuilder::account),
    /// [`domain`](ClientBuilder::domain) and [`app_jwt`](ClientBuilder::app_jwt)
    /// are required.
    pub fn builder() -> ClientBuilder<MessagingCredentials> {
        ClientBuilder::new()
    }

    /// A client from the environment: `LP_ACCOUNT_ID`, `LP_APP_JWT` and
    /// `LP_MESSAGING_DOMAIN` (a host, or a full base URL such as the
    /// emulator's).
    pub fn from_env() -> Result<Self, Error> {
        let mut builder = Self::builder().env_common("LP_MESSAGING_BASE_URL")?;
        if let Some(domain) = env("LP_MESSAGING_DOMAIN") {
            builder = builder.domain(domain);
        }
        builder.app_jwt(required_env("LP_APP_JWT")?).build()
    }

    /// The account this client works on.
    pub fn account(&self) -> &AccountId {
        &self.inner.account
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The generated client for one consumer, for what this layer does not
    /// cover. It follows `openapi/messaging.yaml` and may change with it.
    pub fn raw(&self, consumer_jws: impl Into<Credential>) -> raw::Client {
        let transport = Transport::new(
            Auth::Messaging {
                app_jwt: self.inner.app_jwt.clone(),
                consumer_jws: consumer_jws.into(),
            },
            // Never used: creating a conversation is never retried.
            RetryPolicy::none(),
        );
        raw::Client::new_with_client(&self.inner.base_url, self.inner.http.clone(), transport)
    }

    /// Opens a conversation on behalf of the consumer whose ConsumerJWS is
    /// given, and returns its id.
    ///
    /// Sends `userprofile.SetUserProfile` then `cm.ConsumerRequestConversation`
    /// (brand id: this client's account, channel `MESSAGING`), each with a
    /// fresh request id; fails with [`Error::Rejected`] if either payload is
    /// answered with a code other than `OK`.
    pub async fn create_conversation(
        &self,
        consumer_jws: impl Into<Credential>,
        request: &ConversationRequest,
    ) -> Result<Conversation, Error> {
        let batch = uuid::Uuid::new_v4().simple().to_string();
        let ids = [format!("{batch}-1"), format!("{batch}-2")];
        let body = request.to_raw(self.inner.account.as_str(), [&ids[0], &ids[1]]);
        let client = self.raw(consumer_jws);
        let transport = progenitor_client::ClientInfo::inner(&client);
        let result = client
            .create_conversation()
            .account_id(&self.inner.account)
            .v(3_i64)
            .body(body)
            .send()
            .await;
        let items: Vec<Item> = match result {
            Ok(answer) => answer
                .into_inner()
                .0
                .into_iter()
                .map(|item| Item {
                    code: item.code,
                    req_id: Some(item.req_id),
                    body: item.body,
                })
                .collect(),
            // A failed payload's body may not fit the success schema: read it as plain JSON.
            Err(progenitor_client::Error::InvalidResponsePayload(bytes, reason)) => {
                lenient_items(&bytes)
                    .ok_or_else(|| transport.decode_error(OPERATION, reason.to_string(), &bytes))?
            }
            Err(e) => return Err(transport.convert(OPERATION, e).await),
        };
        let profile = find(transport, &items, &ids[0], 0)?;
        let conversation = find(transport, &items, &ids[1], 1)?;
        let conversation_id = conversation
            .body
            .get("conversationId")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                transport.decode_error(
                    OPERATION,
                    "the conversation result has no conversationId",
                    conversation.body.to_string().as_bytes(),
                )
            })?;
        Ok(Conversation {
            conversation_id: conversation_id.to_owned(),
            profile_message: profile
                .body
                .get("msg")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}

/// Finds a payload's result by its `reqId`, else by position, and checks its code.
fn find<'a>(
    transport: &Transport,
    items: &'a [Item],
    req_id: &str,
    position: usize,
) -> Result<&'a Item, Error> {
    let item = items
        .iter()
        .find(|item| item.req_id.as_deref() == Some(req_id))
        .or_else(|| items.get(position))
        .ok_or_else(|| {
            transport.decode_error(OPERATION, format!("no result for payload {req_id:?}"), b"")
        })?;
    if item.code != "OK" {
        return Err(Error::Rejected {
            operation: OPERATION,
            req_id: req_id.to_owned(),
            code: transport.scrub(&item.code),
            body: transport.scrub(&item.body.to_string()),
        });
    }
    Ok(item)
}

fn lenient_items(bytes: &[u8]) -> Option<Vec<Item>> {
    let values: Vec<Value> = serde_json::from_slice(bytes).ok()?;
    Some(
        values
            .into_iter()
            .map(|mut value| Item {
                code: match value.get("code") {
                    Some(Value::String(code)) => code.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                },
                req_id: value
                    .get("reqId")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                body: value
                    .get_mut("body")
                    .map(Value::take)
                    .unwrap_or(Value::Null),
            })
            .collect(),
    )
}
