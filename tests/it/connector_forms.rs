//! The connector forms LivePerson's own code sends (issue 25), over HTTP
//! against `ccs serve`'s emulator: `Authorization: Bearer <token>` as well
//! as the bare token; Sentinel's query-parameter, v2 and `v=2.0` forms and
//! its `expires_in`; CONVERSATION's numeric campaign ids; the Domain API
//! without `.json` and its longer service list; `X-Request-Id` and
//! `Client-Properties`.

use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};

const ACC: &str = "le12345678";
const CLIENT_ID: &str = "75588e18-0213-4e33-8174-883acac7e3c4";
const CLIENT_SECRET: &str = "the-client-secret-0123456789";
const FORM: &str = "application/x-www-form-urlencoded";

struct Ccs {
    emulator: Emulator,
    http: Client,
}

impl Ccs {
    /// An emulator that checks the connector's credentials (so only the
    /// tokens it issued are accepted).
    async fn start() -> Ccs {
        Ccs::start_with(EmulatorConfig::new()).await
    }

    /// As [`Ccs::start`], with `config`'s other settings.
    async fn start_with(config: EmulatorConfig) -> Ccs {
        let config = config.app_credentials(CLIENT_ID, CLIENT_SECRET);
        Ccs {
            emulator: Emulator::start(config).await.expect("emulator starts"),
            http: Client::new(),
        }
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.http
            .post(format!("{}{path}", self.emulator.base_url()))
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.http.get(format!("{}{path}", self.emulator.base_url()))
    }

    /// An AppJWT, asked for in the form the "Get AppJWT" page shows.
    async fn app_jwt(&self) -> String {
        let (status, body) = call(
            self.post(&format!(
                "/sentinel/api/account/{ACC}/app/token?v=1.0&grant_type=client_credentials"
            ))
            .header("content-type", FORM)
            .body(format!(
                "client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
            )),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().expect("a token").to_owned()
    }

    /// An AppJWT and a ConsumerJWS it got.
    async fn tokens(&self) -> (String, String) {
        let app = self.app_jwt().await;
        let (status, jws) = self.consumer_jws(&app).await;
        assert_eq!(status, StatusCode::CREATED, "{jws}");
        let jws = jws["token"].as_str().expect("a token").to_owned();
        (app, jws)
    }

    /// Opens a conversation (`body`: the ConsumerRequestConversation's),
    /// with `Client-Properties` as given; its id.
    async fn open(
        &self,
        tokens: &(String, String),
        properties: Option<&str>,
        body: Value,
    ) -> String {
        let mut request = self.conversation(&tokens.0, &tokens.1).json(&batch(body));
        if let Some(properties) = properties {
            request = request.header("client-properties", properties);
        }
        let (status, body) = call(request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body[1]["body"]["conversationId"]
            .as_str()
            .expect("an id")
            .to_owned()
    }

    /// The conversation as `GET /__emulator/conversations/{id}` shows it.
    async fn shown(&self, id: &str) -> Value {
        let (status, body) = call(self.get(&format!("/__emulator/conversations/{id}"))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// A ConsumerJWS, asked for with `authorization` as given.
    async fn consumer_jws(&self, authorization: &str) -> (StatusCode, Value) {
        call(
            self.post(&format!("/api/account/{ACC}/consumer?v=1.0"))
                .header("authorization", authorization)
                .json(&json!({"ext_consumer_id": "John_Doe_facebook12345"})),
        )
        .await
    }

    fn conversation(&self, app_jwt: &str, jws: &str) -> RequestBuilder {
        self.post(&format!(
            "/api/account/{ACC}/messaging/consumer/conversation?v=3"
        ))
        .header("authorization", app_jwt)
        .header("x-lp-on-behalf", jws)
    }

    fn send(&self, app_jwt: &str, jws: &str) -> RequestBuilder {
        self.post(&format!(
            "/api/account/{ACC}/messaging/consumer/conversation/send?v=3"
        ))
        .header("authorization", app_jwt)
        .header("x-lp-on-behalf", jws)
    }

    async fn journal(&self) -> Vec<Value> {
        let (status, body) = call(self.get("/__emulator/requests")).await;
        assert_eq!(status, StatusCode::OK);
        match body {
            Value::Array(entries) => entries,
            other => panic!("the journal is not an array: {other}"),
        }
    }
}

async fn call(request: RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("sent");
    let status = response.status();
    let text = response.text().await.expect("a body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The minimal CONVERSATION batch, with `conversation_body` as the body of
/// its `cm.ConsumerRequestConversation`.
fn batch(conversation_body: Value) -> Value {
    json!([
        {"kind": "req", "id": "1,", "type": "userprofile.SetUserProfile", "body": {}},
        {"kind": "req", "id": "2,", "type": "cm.ConsumerRequestConversation",
         "body": conversation_body},
    ])
}

/// A `Client-Properties` header declaring `features` (JSON strings, comma
/// separated).
fn features(features: &str) -> String {
    format!(r#"{{"type":".ClientProperties","features":[{features}]}}"#)
}

fn text(conversation: &str) -> Value {
    json!({"kind": "req", "id": "1", "type": "ms.PublishEvent", "body": {
        "dialogId": conversation,
        "event": {"type": "ContentEvent", "contentType": "text/plain", "message": "hi"},
    }})
}

/// Item 2: the IDP, CONVERSATION and SEND take the AppJWT (and the
/// ConsumerJWS) with or without `Bearer `; a wrong token stays refused
/// either way.
#[tokio::test]
async fn bearer_tokens_are_accepted_wherever_a_token_is_read() {
    let ccs = Ccs::start().await;
    let app = ccs.app_jwt().await;
    let bearer = format!("Bearer {app}");
    for authorization in [app.as_str(), bearer.as_str()] {
        let (status, body) = ccs.consumer_jws(authorization).await;
        assert_eq!(status, StatusCode::CREATED, "{authorization}: {body}");
    }
    let (status, body) = ccs.consumer_jws("Bearer not-issued").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = ccs.consumer_jws("Bearer ").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], "AppJWT is missing");

    let (_, jws) = ccs.consumer_jws(&app).await;
    let jws = jws["token"].as_str().expect("a token").to_owned();
    let bearer_jws = format!("Bearer {jws}");
    for (app_jwt, jws) in [
        (bearer.as_str(), jws.as_str()),
        (bearer.as_str(), bearer_jws.as_str()),
        (app.as_str(), jws.as_str()),
    ] {
        let (status, body) = call(
            ccs.conversation(app_jwt, jws)
                .json(&batch(json!({"brandId": ACC}))),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let id = body[1]["body"]["conversationId"]
            .as_str()
            .expect("an id")
            .to_owned();
        let (status, body) = call(ccs.send(app_jwt, jws).json(&text(&id))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["body"]["sequence"], 0);
    }
    let (status, body) = call(
        ccs.conversation("Bearer not-issued", &jws)
            .json(&batch(json!({"brandId": ACC}))),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["body"]["errorCode"], 40102, "{body}");
    let (status, body) = call(
        ccs.conversation("Bearer ", &jws)
            .json(&batch(json!({"brandId": ACC}))),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["body"]["errorCode"], 40105, "{body}");
    ccs.emulator.shutdown().await;
}

/// Item 1: every form LivePerson's pages give for the client credentials
/// grant gets an AppJWT that the IDP then accepts, with `expires_in` as a
/// string (as LivePerson's toolbelt demands).
#[tokio::test]
async fn sentinel_takes_every_documented_form() {
    let ccs = Ccs::start().await;
    let v1 = format!("/sentinel/api/account/{ACC}/app/token");
    let v2 = format!("/sentinel/api/v2/account/{ACC}/app/token");
    let creds = format!("client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}");
    let all = format!("{creds}&grant_type=client_credentials");
    let forms: Vec<(String, Option<String>)> = vec![
        // "Get AppJWT": grant_type in the query, credentials in the form.
        (
            format!("{v1}?v=1.0&grant_type=client_credentials"),
            Some(creds.clone()),
        ),
        // "Connector API: Getting Started": everything in the query.
        (
            format!("{v1}?v=1.0&grant_type=client_credentials&{creds}"),
            None,
        ),
        // "OAuth 2.0 Client Credentials", API V1: everything in the form.
        (format!("{v1}?v=1.0"), Some(all.clone())),
        // Its Postman example: v=2.0 on the v1 path.
        (format!("{v1}?v=2.0"), Some(all.clone())),
        // API V2, as the page shows it and as the toolbelt sends it.
        (v2.clone(), Some(all.clone())),
        (format!("{v2}?v=2.0"), Some(all.clone())),
        (
            format!("{v2}?grant_type=client_credentials"),
            Some(creds.clone()),
        ),
    ];
    for (path, body) in forms {
        let mut request = ccs.post(&path).header("x-request-id", "trace-1");
        if let Some(body) = body.clone() {
            request = request.header("content-type", FORM).body(body);
        }
        let (status, answer) = call(request).await;
        assert_eq!(status, StatusCode::OK, "{path} {body:?}: {answer}");
        assert_eq!(answer["token_type"], "Bearer");
        assert_eq!(answer["expires_in"], "3600", "{answer}");
        let token = answer["access_token"].as_str().expect("a token");
        let (status, _) = ccs.consumer_jws(&format!("Bearer {token}")).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{path}: the token is one the IDP takes"
        );
    }
    ccs.emulator.shutdown().await;
}

/// Item 1: a wrong or empty secret, in whichever form, is the documented
/// credential refusal (401 `invalid_client`); a missing one, a wrong grant
/// or version is a 400.
#[tokio::test]
async fn sentinel_refuses_credentials_with_401_and_malformed_requests_with_400() {
    let ccs = Ccs::start().await;
    let v1 = format!("/sentinel/api/account/{ACC}/app/token");
    let v2 = format!("/sentinel/api/v2/account/{ACC}/app/token");
    let grant = "grant_type=client_credentials";
    let cases: Vec<(String, Option<String>, StatusCode, &str)> = vec![
        (
            format!("{v1}?v=1.0&{grant}&client_id={CLIENT_ID}&client_secret=wrong-secret"),
            None,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            format!("{v1}?v=1.0&{grant}"),
            Some(format!("client_id={CLIENT_ID}&client_secret=")),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            v2.clone(),
            Some(format!("{grant}&client_id={CLIENT_ID}&client_secret=wrong")),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            format!("{v1}?v=1.0&{grant}"),
            Some(format!("client_id={CLIENT_ID}")),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            format!("{v1}?v=1.0"),
            Some(format!(
                "client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
            )),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            format!("{v1}?v=1.0&grant_type=password"),
            Some(format!(
                "client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
            )),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            format!("{v1}?v=3.0&{grant}"),
            Some(format!(
                "client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
            )),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            format!("{v2}?v=1.0"),
            Some(format!(
                "{grant}&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
            )),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (path, body, status, error) in cases {
        let mut request = ccs.post(&path);
        if let Some(body) = body.clone() {
            request = request.header("content-type", FORM).body(body);
        }
        let (got, answer) = call(request).await;
        assert_eq!(
            (got, answer["error"].as_str()),
            (status, Some(error)),
            "{path} {body:?}: {answer}"
        );
        assert!(!answer.to_string().contains("wrong"), "{answer}");
    }
    // A body that is not a form is refused, even with the query form.
    let (status, answer) = call(
        ccs.post(&format!(
            "{v1}?v=1.0&{grant}&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
        ))
        .json(&json!({"client_id": CLIENT_ID})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    // The journal shows neither secret in the query.
    for entry in ccs.journal().await {
        let shown = entry.to_string();
        assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    }
    ccs.emulator.shutdown().await;
}

/// Item 6: CONVERSATION takes `campaignId`, `engagementId` and
/// `interactionContextId` as JSON numbers (LivePerson's demo app sends
/// them so) as well as strings; other non-strings stay refused.
#[tokio::test]
async fn conversation_takes_numeric_campaign_ids() {
    let ccs = Ccs::start().await;
    let app = ccs.app_jwt().await;
    let (_, jws) = ccs.consumer_jws(&app).await;
    let jws = jws["token"].as_str().expect("a token").to_owned();
    let numeric = json!({
        "brandId": ACC,
        "campaignInfo": {"campaignId": i64::MAX, "engagementId": i64::MIN},
        "conversationContext": {"interactionContextId": 2, "type": "SharkContext"},
    });
    let (status, body) = call(ccs.conversation(&app, &jws).json(&batch(numeric))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body[1]["body"]["conversationId"].is_string(), "{body}");
    // Past int64 (the spec's bound): a u64 above it, and an integer that
    // JSON parsers read as a float.
    let past_int64: Value =
        serde_json::from_str("106402611386067339830133104746430464").expect("a JSON number");
    for wrong in [
        json!(1.5),
        json!(true),
        Value::Null,
        json!(-0.0),
        json!(u64::MAX),
        past_int64,
    ] {
        let body =
            json!({"brandId": ACC, "campaignInfo": {"campaignId": wrong, "engagementId": "1"}});
        let (status, answer) = call(ccs.conversation(&app, &jws).json(&batch(body))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{wrong}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.contains("campaign") || m.contains("string")),
            "{answer}"
        );
    }
    ccs.emulator.shutdown().await;
}

/// Item 6: the Domain API's all-services path without `.json` answers as
/// the `.json` one does.
#[tokio::test]
async fn the_domain_api_answers_without_json_too() {
    let ccs = Ccs::start().await;
    let (status, plain) =
        call(ccs.get(&format!("/api/account/{ACC}/service/baseURI?version=1.0"))).await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    let (_, json_form) = call(ccs.get(&format!(
        "/api/account/{ACC}/service/baseURI.json?version=1.0"
    )))
    .await;
    assert_eq!(plain, json_form);
    let (status, _) =
        call(ccs.get(&format!("/api/account/{ACC}/service/baseURI?version=2.0"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    ccs.emulator.shutdown().await;
}

/// Item 7: the Domain API names the services LivePerson's code looks up,
/// each at the emulator's own address, one by one as in the list.
#[tokio::test]
async fn the_domain_api_names_every_service_liveperson_code_looks_up() {
    let ccs = Ccs::start().await;
    let host = ccs
        .emulator
        .base_url()
        .trim_start_matches("http://")
        .to_owned();
    let (status, list) = call(ccs.get(&format!(
        "/api/account/{ACC}/service/baseURI.json?version=1.0"
    )))
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let named: Vec<&str> = list["baseURIs"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|e| e["service"].as_str())
        .collect();
    for service in [
        "asyncMessagingEnt",
        "sentinel",
        "idp",
        "mavenContext",
        "accountConfigReadOnly",
        "accountConfigReadWrite",
        "agentVep",
        "facadeMsg",
        "msgHist",
        "swift",
    ] {
        assert!(named.contains(&service), "{service} in {named:?}");
        let (status, one) = call(ccs.get(&format!(
            "/api/account/{ACC}/service/{service}/baseURI.json?version=1.0"
        )))
        .await;
        assert_eq!(status, StatusCode::OK, "{one}");
        assert_eq!(
            one,
            json!({"service": service, "account": ACC, "baseURI": host})
        );
    }
    let (status, _) = call(ccs.get(&format!(
        "/api/account/{ACC}/service/nope/baseURI.json?version=1.0"
    )))
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    ccs.emulator.shutdown().await;
}

/// Item 8: `X-Request-Id` and `Client-Properties` are accepted on
/// CONVERSATION and SEND (in any form LivePerson's integrations send the
/// latter) and shown in the journal; the Rust client sends its features on
/// both.
#[tokio::test]
async fn request_ids_and_client_properties_are_accepted_and_journaled() {
    use liveperson_ccs::MessagingClient;
    use liveperson_ccs::connector::{AppJwtProvider, Discovery};
    use liveperson_ccs::messaging::{ClientFeature, ConversationRequest};

    let ccs = Ccs::start().await;
    let app = ccs.app_jwt().await;
    let (_, jws) = ccs.consumer_jws(&app).await;
    let jws = jws["token"].as_str().expect("a token").to_owned();
    let documented = r#"{"type":".ClientProperties","features":["AUTO_MESSAGES","RICH_CONTENT","QUICK_REPLIES","MULTI_DIALOG"]}"#;
    for properties in [
        documented,
        r#"{"type":"ClientProperties","features":[]}"#,
        "[object Object]",
    ] {
        let (status, body) = call(
            ccs.conversation(&app, &jws)
                .header("x-request-id", "trace-conversation")
                .header("client-properties", properties)
                .json(&batch(json!({"brandId": ACC}))),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{properties}: {body}");
        let id = body[1]["body"]["conversationId"]
            .as_str()
            .expect("an id")
            .to_owned();
        let (status, body) = call(
            ccs.send(&app, &jws)
                .header("x-request-id", "trace-send")
                .header("client-properties", properties)
                .json(&text(&id)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{properties}: {body}");
    }
    let journal = ccs.journal().await;
    let shown = |trace: &str| {
        journal
            .iter()
            .filter(|e| e["headers"]["x-request-id"] == trace)
            .map(|e| e["headers"]["client-properties"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(shown("trace-conversation").len(), 3);
    assert_eq!(shown("trace-send").len(), 3);
    assert!(shown("trace-send").contains(&json!(documented)));

    // The Rust client: its features on CONVERSATION and on each SEND.
    let discovery = Discovery::builder()
        .account(ACC)
        .domain_api(ccs.emulator.base_url())
        .build()
        .expect("discovery");
    let provider = AppJwtProvider::new(&discovery, CLIENT_ID, CLIENT_SECRET);
    let consumer = provider.consumer("features-consumer");
    let messaging = MessagingClient::builder()
        .discovery(&discovery)
        .app_jwt(provider)
        .build()
        .expect("client");
    let request = ConversationRequest::new()
        .feature(ClientFeature::MultiDialog)
        .feature(ClientFeature::QuickReplies);
    let conversation = messaging.open(consumer, &request).await.expect("opened");
    conversation.send_text("hi").await.expect("sent");
    conversation.close().await.expect("closed");
    let header = r#"{"type":".ClientProperties","features":["MULTI_DIALOG","QUICK_REPLIES"]}"#;
    let messaging_calls: Vec<Value> = ccs
        .journal()
        .await
        .into_iter()
        .filter(|e| {
            e["path"]
                .as_str()
                .is_some_and(|p| p.contains("/messaging/"))
        })
        .filter(|e| e["headers"]["x-request-id"].is_null())
        .collect();
    assert_eq!(
        messaging_calls.len(),
        3,
        "CONVERSATION, the text, the close"
    );
    for entry in messaging_calls {
        assert_eq!(entry["headers"]["client-properties"], header, "{entry}");
    }
    ccs.emulator.shutdown().await;
}

/// Item 8, the features' effects: CONVERSATION's `Client-Properties` is
/// kept with the conversation, and `AUTO_MESSAGES` lets the account's
/// automatic messages in (system texts, role CONTROLLER, when the
/// conversation opens, an agent joins, and it is transferred) only when the
/// account has them on (`auto_messages`) and the consumer declared it.
/// Item 6: numeric campaign ids are kept and shown as their digits.
#[tokio::test]
async fn auto_messages_reach_only_the_conversations_that_declared_them() {
    let ccs = Ccs::start_with(EmulatorConfig::new().auto_messages(true)).await;
    let tokens = ccs.tokens().await;
    let opening = json!({
        "brandId": ACC,
        "campaignInfo": {"campaignId": 99999, "engagementId": "888888"},
        "conversationContext": {"type": "SharkContext", "interactionContextId": 2},
    });
    let open = |properties: Option<String>| {
        let (ccs, tokens, opening) = (&ccs, &tokens, opening.clone());
        async move { ccs.open(tokens, properties.as_deref(), opening).await }
    };
    let system_texts = |conversation: &Value| -> Vec<String> {
        conversation["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["role"] == "CONTROLLER")
            .map(|e| e["event"]["message"].as_str().expect("a text").to_owned())
            .collect()
    };

    let declared = open(Some(features(r#""AUTO_MESSAGES","RICH_CONTENT""#))).await;
    let conversation = ccs.shown(&declared).await;
    assert_eq!(
        conversation["features"],
        json!(["AUTO_MESSAGES", "RICH_CONTENT"])
    );
    assert_eq!(
        conversation["client_properties"]["type"], ".ClientProperties",
        "{conversation}"
    );
    assert_eq!(conversation["campaign_id"], "99999");
    assert_eq!(conversation["engagement_id"], "888888");
    assert_eq!(conversation["interaction_context_id"], "2");
    assert_eq!(
        system_texts(&conversation),
        ["Welcome! An agent will be with you shortly."]
    );
    let first = &conversation["events"][0];
    assert_eq!(first["sequence"], 0, "{first}");
    assert_eq!(first["type"], "ContentEvent");

    for action in ["accept", "transfer"] {
        let request = ccs.post(&format!(
            "/__emulator/conversations/{declared}/agent/{action}"
        ));
        let request = match action {
            "transfer" => request.json(&json!({"skill": "12345"})),
            _ => request,
        };
        let (status, body) = call(request).await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
    }
    let conversation = ccs.shown(&declared).await;
    assert_eq!(
        system_texts(&conversation),
        [
            "Welcome! An agent will be with you shortly.",
            "You are now connected to an agent.",
            "Your conversation is being transferred to another agent.",
        ]
    );
    // One system participant id per account, never the consumer's.
    let ids: Vec<&Value> = conversation["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| &e["originator_id"])
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    // The consumer's own text goes on numbering after them.
    let (status, body) = call(ccs.send(&tokens.0, &tokens.1).json(&text(&declared))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["body"]["sequence"], 3);

    // Not declared, or not JSON: kept as given, no automatic message.
    for (properties, shown_as) in [
        (None, Value::Null),
        (
            Some(features(r#""RICH_CONTENT""#)),
            json!({"type": ".ClientProperties", "features": ["RICH_CONTENT"]}),
        ),
        (Some("[object Object]".to_owned()), json!("[object Object]")),
    ] {
        let id = open(properties).await;
        let (status, body) =
            call(ccs.post(&format!("/__emulator/conversations/{id}/agent/accept"))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let conversation = ccs.shown(&id).await;
        assert_eq!(
            conversation["client_properties"], shown_as,
            "{conversation}"
        );
        assert!(system_texts(&conversation).is_empty(), "{conversation}");
        assert_eq!(conversation["events"], json!([]));
    }
    ccs.emulator.shutdown().await;

    // The account's automatic messages off (the default): none, even when
    // the consumer declares the feature.
    let ccs = Ccs::start().await;
    let tokens = ccs.tokens().await;
    let properties = features(r#""AUTO_MESSAGES""#);
    let id = ccs
        .open(&tokens, Some(&properties), json!({"brandId": ACC}))
        .await;
    let conversation = ccs.shown(&id).await;
    assert_eq!(conversation["features"], json!(["AUTO_MESSAGES"]));
    assert_eq!(conversation["events"], json!([]), "{conversation}");
    assert!(conversation.get("campaign_id").is_none(), "{conversation}");
    ccs.emulator.shutdown().await;
}

/// Item 8, `MULTI_DIALOG`: on an account with a post-conversation survey,
/// closing the MAIN dialog of a conversation that declared it opens a
/// `POST_SURVEY` dialog (`state` CLOSE, `stage` OPEN) whose bot asks one
/// question there; the consumer's answer in that dialog ends it, and so
/// does closing it. A conversation that did not declare it closes at once.
#[tokio::test]
async fn a_multi_dialog_conversation_gets_the_post_conversation_survey() {
    let ccs = Ccs::start_with(EmulatorConfig::new().post_conversation_survey(true)).await;
    let tokens = ccs.tokens().await;
    let (app, jws) = &tokens;
    let open = |list: &str| {
        let (ccs, tokens, properties) = (&ccs, &tokens, features(list));
        async move {
            ccs.open(tokens, Some(&properties), json!({"brandId": ACC}))
                .await
        }
    };
    let publish_in = |dialog: &str, message: &str| {
        ccs.send(app, jws).json(&json!({
            "kind": "req", "id": "1", "type": "ms.PublishEvent",
            "body": {"dialogId": dialog, "event": {
                "type": "ContentEvent", "contentType": "text/plain", "message": message,
            }},
        }))
    };
    let close_dialog = |conversation: &str, dialog: &str| {
        ccs.send(app, jws).json(&json!({
            "kind": "req", "id": "2", "type": "cm.UpdateConversationField",
            "body": {"conversationId": conversation, "conversationField": {
                "field": "DialogChange", "type": "UPDATE",
                "dialog": {"dialogId": dialog, "state": "CLOSE", "closedCause": "Closed by consumer"},
            }},
        }))
    };

    // The agent closes: the survey dialog opens and its bot asks.
    let id = open(r#""MULTI_DIALOG""#).await;
    for action in ["accept", "close"] {
        let (status, body) =
            call(ccs.post(&format!("/__emulator/conversations/{id}/agent/{action}"))).await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
    }
    let conversation = ccs.shown(&id).await;
    assert_eq!(conversation["state"], "CLOSE", "{conversation}");
    assert_eq!(conversation["stage"], "OPEN");
    assert_eq!(conversation["close_reason"], "AGENT");
    let dialogs = conversation["dialogs"].as_array().expect("dialogs");
    assert_eq!(dialogs.len(), 2, "{conversation}");
    assert_eq!(
        dialogs[0],
        json!({"dialog_id": id, "type": "MAIN", "state": "CLOSE"})
    );
    assert_eq!(dialogs[1]["type"], "POST_SURVEY");
    assert_eq!(dialogs[1]["state"], "OPEN");
    let survey = dialogs[1]["dialog_id"].as_str().expect("an id").to_owned();
    assert_ne!(survey, id);
    let question = conversation["events"]
        .as_array()
        .expect("events")
        .last()
        .cloned();
    let question = question.expect("the question");
    assert_eq!(question["role"], "AGENT", "{question}");
    assert_eq!(question["dialog_id"], survey.as_str());
    assert_eq!(
        question["event"]["message"],
        "How would you rate this conversation, from 1 (poor) to 5 (excellent)?"
    );
    assert!(
        conversation["participants"]
            .as_array()
            .expect("participants")
            .iter()
            .any(|p| p["role"] == "AGENT"),
        "{conversation}"
    );

    // The MAIN dialog takes nothing more; the survey's takes the answer.
    let (status, body) = call(publish_in(&id, "hello?")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("a message")
            .contains(&survey),
        "{body}"
    );
    let (status, body) = call(publish_in(&survey, "5")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let conversation = ccs.shown(&id).await;
    assert_eq!(conversation["stage"], "CLOSE", "{conversation}");
    assert_eq!(conversation["dialogs"][1]["state"], "CLOSE");
    let texts: Vec<(&str, &str)> = conversation["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["dialog_id"] == survey.as_str())
        .map(|e| {
            (
                e["role"].as_str().expect("a role"),
                e["event"]["message"].as_str().expect("a text"),
            )
        })
        .collect();
    assert_eq!(
        texts,
        [
            (
                "AGENT",
                "How would you rate this conversation, from 1 (poor) to 5 (excellent)?"
            ),
            ("CONSUMER", "5"),
            ("AGENT", "Thank you for your feedback."),
        ]
    );
    let (status, body) = call(publish_in(&survey, "again")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // The consumer closes (ConversationStateField): the survey opens; the
    // consumer closes the survey dialog (DialogChange): it is over. A
    // dialog the conversation does not have is 404.
    let id = open(r#""MULTI_DIALOG","AUTO_MESSAGES""#).await;
    let (status, body) = call(ccs.send(app, jws).json(&json!({
        "kind": "req", "id": "3", "type": "cm.UpdateConversationField",
        "body": {"conversationId": id, "conversationField": {
            "field": "ConversationStateField", "conversationState": "CLOSE",
        }},
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let conversation = ccs.shown(&id).await;
    assert_eq!(
        (
            conversation["state"].as_str(),
            conversation["stage"].as_str()
        ),
        (Some("CLOSE"), Some("OPEN"))
    );
    assert_eq!(conversation["close_reason"], "CONSUMER");
    let survey = conversation["dialogs"][1]["dialog_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let (status, body) = call(close_dialog(&id, "no-such-dialog")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    for _ in 0..2 {
        let (status, body) = call(close_dialog(&id, &survey)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let conversation = ccs.shown(&id).await;
    assert_eq!(conversation["stage"], "CLOSE", "{conversation}");
    assert_eq!(conversation["dialogs"][1]["state"], "CLOSE");

    // Without MULTI_DIALOG, closing is the end: no survey dialog.
    let id = open(r#""RICH_CONTENT""#).await;
    let (status, body) = call(close_dialog(&id, &id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let conversation = ccs.shown(&id).await;
    assert_eq!(conversation["stage"], "CLOSE", "{conversation}");
    assert_eq!(conversation["dialogs"].as_array().map(Vec::len), Some(1));
    ccs.emulator.shutdown().await;
}

/// Item 8, `RICH_CONTENT` and `QUICK_REPLIES`: the agent's structured
/// content (`POST .../agent/rich-content`) is checked against LivePerson's
/// schema (400 with the pointer) and reaches only a consumer whose client
/// declared the features it needs (409 otherwise, nothing published).
#[tokio::test]
async fn the_agents_rich_content_needs_the_features_the_client_declared() {
    let ccs = Ccs::start().await;
    let tokens = ccs.tokens().await;
    let open = |list: &str| {
        let (ccs, tokens, properties) = (&ccs, &tokens, features(list));
        async move {
            let id = ccs
                .open(tokens, Some(&properties), json!({"brandId": ACC}))
                .await;
            let accept = ccs.post(&format!("/__emulator/conversations/{id}/agent/accept"));
            let (status, body) = call(accept).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            id
        }
    };
    let card = json!({"type": "vertical", "elements": [
        {"type": "text", "text": "Your order has shipped"},
        {"type": "button", "title": "Track it", "click": {"actions": [
            {"type": "link", "name": "Track", "uri": "https://example.com/track/1"},
        ]}},
    ]});
    let replies = json!({"type": "quickReplies", "itemsPerRow": 1, "replies": [
        {"type": "button", "title": "Thanks", "click": {"actions": [
            {"type": "publishText", "text": "Thanks"},
        ]}},
    ]});
    let rich = |id: &str, body: Value| {
        ccs.post(&format!(
            "/__emulator/conversations/{id}/agent/rich-content"
        ))
        .json(&body)
    };
    let both = open(r#""RICH_CONTENT","QUICK_REPLIES""#).await;
    let (status, body) = call(rich(
        &both,
        json!({"content": card, "quickReplies": replies}),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"sequence": 0}));
    let shown = ccs.shown(&both).await["events"].clone();
    assert_eq!(shown[0]["type"], "RichContentEvent", "{shown}");
    assert_eq!(shown[0]["role"], "ASSIGNED_AGENT");
    assert_eq!(shown[0]["event"]["content"], card);
    assert_eq!(shown[0]["event"]["quickReplies"], replies);
    // What the schema refuses: 400 with the pointer; an unknown member too.
    let (status, body) = call(rich(
        &both,
        json!({"content": {"type": "vertical", "elements": [{"type": "button"}]}}),
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("a message")
            .contains("/content/elements/0/title: required"),
        "{body}"
    );
    let (status, body) = call(rich(&both, json!({"text": "hi"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Only RICH_CONTENT: a card goes, its quick replies do not.
    let rich_only = open(r#""RICH_CONTENT""#).await;
    let (status, body) = call(rich(
        &rich_only,
        json!({"content": card, "quickReplies": replies}),
    ))
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("a message")
            .contains("QUICK_REPLIES"),
        "{body}"
    );
    let (status, body) = call(rich(&rich_only, json!({"content": card}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Neither: refused, nothing published.
    let plain = open(r#""AUTO_MESSAGES""#).await;
    let (status, body) = call(rich(&plain, json!({"content": card}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("a message")
            .contains("RICH_CONTENT"),
        "{body}"
    );
    assert_eq!(ccs.shown(&plain).await["events"], json!([]));
    ccs.emulator.shutdown().await;
}
