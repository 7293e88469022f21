//! Snapshots of every request of the connector flow, captured on the wire,
//! with the example values of LivePerson's pages ("Domain API", "Connector
//! API: Authorization and Authentication", "SEND", "Examples") as the specs
//! quote them: account `le12345678`, client id
//! `75588e18-0213-4e33-8174-883acac7e3c4`, consumer
//! `John_Doe_facebook12345`, conversation
//! `8602832d-dce1-446b-8445-0d51f5926a42`.
//!
//! A snapshot (`tests/it/snapshots/it__connector_shapes__<name>.snap`) shows the
//! request line, the headers that matter (sorted; credential values
//! `[redacted]` after checking they are exactly the credential), and the
//! body: pretty JSON with the random request id as `[id]`, or a form body
//! as its pairs in order with the client secret `[redacted]`. Any other
//! header fails the test, and so does progenitor's `api-version`.

use crate::support::{CaptureServer, Captured, Reply};
use liveperson_ccs::MessagingClient;
use liveperson_ccs::connector::{AppJwtProvider, Discovery};
use liveperson_ccs::messaging::{
    AcceptStatus, Action, ChatState, ClientFeature, ConversationRequest, Element, FileType,
    OpenConversation, QuickReplies, RichContent,
};
use serde_json::{Value, json};

const ACC: &str = "le12345678";
const CLIENT_ID: &str = "75588e18-0213-4e33-8174-883acac7e3c4";
const CLIENT_SECRET: &str = "the-client-secret";
const CONSUMER: &str = "John_Doe_facebook12345";
const CONVERSATION: &str = "8602832d-dce1-446b-8445-0d51f5926a42";
/// The page's example AppJWT (its `exp` is in the past: it is renewed at
/// each use, which these tests do not mind).
const APP_JWT: &str = "eyJraWQiOiJhcHBqd3QtMTMtMDUtMTciLCJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJsZTgxODIzMTE4IiwiYXpwIjoiNzU1ODhlMTgtMDIxMy00ZTMzLTgxNzQtODgzYWNhYzdlM2M0Iiwic2NvcGUiOiJtc2cuY29uc3VtZXIiLCJpc3MiOiJTZW50aW5lbCIsImV4cCI6MTUyNDY0NjI3MCwiaWF0IjoxNTI0NjQyNjcwfQ.aC1EbVQDIKJkrMgfoqhDqo5KZVMILTGP5UnK_4lUJQIfpFcrymvQKU9E6zt_WDhWmM2SOOcr1sz4u5xVZ9rMWZciDW_9KofEM2NDgVw1EVBxAIgGYeO0sbE9o--HKjk9DHZvukJkQFhYaHMDnj6ay4BNUqTJpDn6y3XQY7eh7rM";
const CONSUMER_JWS: &str = "eyJraWQiOiJhcHBqd3QtMTMtMDUtMTciLCJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhY2NvdW50X2lkIjoibGUxMjM0NTY3OCJ9.c2lnbmF0dXJl";

const SHOWN: &[&str] = &[
    "accept",
    "authorization",
    "client-properties",
    "content-type",
    "user-agent",
    "x-lp-on-behalf",
];
const TRANSPORT_HEADERS: &[&str] = &["host", "content-length"];

fn shape(request: &Captured) -> String {
    let line = request.request_line();
    assert!(
        request.header("api-version").is_none(),
        "{line}: progenitor's api-version header must be removed"
    );
    let mut out = format!("{} {}\n", request.method, request.target);
    let mut headers: Vec<&(String, String)> = request.headers.iter().collect();
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, value) in headers {
        if TRANSPORT_HEADERS.contains(&name.as_str()) {
            continue;
        }
        assert!(
            SHOWN.contains(&name.as_str()),
            "{line}: unexpected header {name:?}"
        );
        let shown = match name.as_str() {
            "authorization" => {
                assert_eq!(value, APP_JWT, "{line}: the AppJWT as issued, no Bearer");
                "[redacted]".to_owned()
            }
            "x-lp-on-behalf" => {
                assert_eq!(value, CONSUMER_JWS, "{line}: the ConsumerJWS as issued");
                "[redacted]".to_owned()
            }
            "user-agent" => {
                assert_eq!(value, concat!("liveperson-ccs/", env!("CARGO_PKG_VERSION")));
                "liveperson-ccs/[version]".to_owned()
            }
            _ => value.clone(),
        };
        out.push_str(&format!("{name}: {shown}\n"));
    }
    out.push('\n');
    let form = request
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let binary = request.header("content-type") == Some("application/octet-stream");
    if binary {
        out.push_str(&format!("({} bytes)", request.body.len()));
    } else if form {
        let text = request.body_text();
        assert!(
            text.contains(&format!("client_secret={CLIENT_SECRET}")),
            "{text}"
        );
        out.push_str(&text.replace(CLIENT_SECRET, "[redacted]"));
    } else {
        match request.body_json() {
            None => out.push_str("(no body)"),
            Some(mut body) => {
                if let Some(id) = body.get_mut("id") {
                    let text = id.as_str().expect("a string id");
                    assert!(text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()));
                    *id = json!("[id]");
                }
                out.push_str(&serde_json::to_string_pretty(&body).expect("JSON prints"));
            }
        }
    }
    out
}

/// A capture server answering the whole flow as the pages do, every host
/// being itself.
async fn flow() -> (CaptureServer, Discovery) {
    let capture = CaptureServer::start().await;
    let host = capture.base_url().trim_start_matches("http://").to_owned();
    let services: Vec<Value> = ["asyncMessagingEnt", "sentinel", "idp", "swift"]
        .iter()
        .map(|s| json!({"service": s, "account": ACC, "baseURI": host}))
        .collect();
    capture.default_for(
        format!("/api/account/{ACC}/service/"),
        Reply::json(200, &json!({ "baseURIs": services })),
    );
    capture.default_for(
        "/sentinel/",
        Reply::json(
            200,
            &json!({"access_token": APP_JWT, "token_type": "Bearer"}),
        ),
    );
    capture.default_for(
        format!("/api/account/{ACC}/consumer"),
        Reply::json(201, &json!({ "token": CONSUMER_JWS })),
    );
    capture.respond_with(|request| {
        if request.path().ends_with("/consumer/conversation") {
            // CONVERSATION: each result echoes its payload's id.
            let body = request.body_json()?;
            return Some(Reply::json(
                200,
                &json!([
                    {"code": "OK", "body": {"msg": "OK User Profile set successfully"},
                     "reqId": body[0]["id"]},
                    {"code": "OK", "body": {"conversationId": CONVERSATION}, "reqId": body[1]["id"]},
                ]),
            ));
        }
        if request.path() == FILE_PATH {
            return Some(match request.method.as_str() {
                "PUT" => Reply::json(201, &json!({"message": "created"})),
                _ => Reply::status(200)
                    .header("content-type", "application/octet-stream")
                    .body(b"GIF89a".to_vec()),
            });
        }
        if !request.path().ends_with("/conversation/send") {
            return None;
        }
        let body = request.body_json()?;
        let answer = match body["type"].as_str() {
            Some("ms.PublishEvent") => json!({"sequence": 0}),
            Some("ms.GenerateURLForUploadFile" | "ms.GenerateURLForDownloadFile") => json!({
                "relativePath": FILE_PATH,
                "queryParams": {
                    "temp_url_sig": "dd9e3bdb2bebbc254653f0dd090922b40489ca6e",
                    "temp_url_expires": "1528099919",
                },
            }),
            _ => json!({}),
        };
        Some(Reply::json(
            200,
            &json!({"reqId": body["id"], "code": "OK", "body": answer}),
        ))
    });
    let discovery = Discovery::builder()
        .account(ACC)
        .domain_api(capture.base_url())
        .build()
        .expect("discovery");
    (capture, discovery)
}

/// The one request to a path, of those captured.
fn request_to(capture: &CaptureServer, path: &str) -> Captured {
    let found: Vec<Captured> = capture
        .requests()
        .into_iter()
        .filter(|r| r.path() == path)
        .collect();
    assert_eq!(found.len(), 1, "one request to {path}");
    found.into_iter().next().expect("one")
}

#[tokio::test]
async fn list_service_domains() {
    let (capture, discovery) = flow().await;
    discovery
        .base_uri("asyncMessagingEnt")
        .await
        .expect("found");
    insta::assert_snapshot!("list_service_domains", shape(&capture.only_request()));
}

#[tokio::test]
async fn get_app_jwt() {
    let (capture, discovery) = flow().await;
    let app = AppJwtProvider::new(&discovery, CLIENT_ID, CLIENT_SECRET);
    assert_eq!(app.get().await.expect("token").expose(), APP_JWT);
    let request = request_to(&capture, &format!("/sentinel/api/account/{ACC}/app/token"));
    insta::assert_snapshot!("get_app_jwt", shape(&request));
}

#[tokio::test]
async fn get_consumer_jws() {
    let (capture, discovery) = flow().await;
    let app = AppJwtProvider::new(&discovery, CLIENT_ID, CLIENT_SECRET);
    let consumer = app.consumer(CONSUMER);
    assert_eq!(consumer.get().await.expect("token").expose(), CONSUMER_JWS);
    let request = request_to(&capture, &format!("/api/account/{ACC}/consumer"));
    insta::assert_snapshot!("get_consumer_jws", shape(&request));
}

async fn conversation(discovery: &Discovery) -> OpenConversation {
    let app = AppJwtProvider::new(discovery, CLIENT_ID, CLIENT_SECRET);
    let consumer = app.consumer(CONSUMER);
    MessagingClient::builder()
        .discovery(discovery)
        .app_jwt(app)
        .build()
        .expect("client")
        .conversation(consumer, CONVERSATION)
}

/// The pages' example `relativePath` (its account made the example one).
const FILE_PATH: &str = "/v1/AUTH_async-images/le12345678/6be59ddb8f54d88845a4fd4987cf5717878eacd2f893b7a7331717f113d2589f_uuid_326931e5-062f-46cb-b981-a383040d2cb8_04-06-2018_04-10-59-845.PNG";

/// The three requests of a shared file (upload URL, PUT to the swift
/// host with no token, `hosted/file`), then the two of its download.
#[tokio::test]
async fn send_and_download_file() {
    let (capture, discovery) = flow().await;
    let conversation = conversation(&discovery).await;
    let shared = conversation
        .send_file(
            b"GIF89a".to_vec(),
            FileType::Png,
            "File logo",
            Some("data:image/png;base64,iVBORw0KGgo=".to_owned()),
        )
        .await
        .expect("shared");
    assert_eq!(shared.relative_path, FILE_PATH);
    assert_eq!(shared.sent.sequence, Some(0));
    let bytes = conversation
        .download_file(FILE_PATH)
        .await
        .expect("downloaded");
    assert_eq!(bytes, b"GIF89a");
    let sends: Vec<Captured> = capture
        .requests()
        .into_iter()
        .filter(|r| r.path() == send_path() || r.path() == FILE_PATH)
        .collect();
    let names = [
        "upload_url",
        "upload_file",
        "send_hosted_file",
        "download_url",
        "download_file",
    ];
    assert_eq!(sends.len(), names.len());
    for (name, request) in names.iter().zip(&sends) {
        insta::assert_snapshot!(*name, shape(request));
    }
}

fn send_path() -> String {
    format!("/api/account/{ACC}/messaging/consumer/conversation/send")
}

#[tokio::test]
async fn send_text() {
    let (capture, discovery) = flow().await;
    let sent = conversation(&discovery)
        .await
        .send_text("Hi from Send Message only - Send a line")
        .await
        .expect("sent");
    assert_eq!(sent.sequence, Some(0));
    insta::assert_snapshot!("send_text", shape(&request_to(&capture, &send_path())));
}

/// A text into another dialog of the conversation (a post-conversation
/// survey's): the same `ms.PublishEvent`, with that dialog's id.
#[tokio::test]
async fn send_text_to_dialog() {
    let (capture, discovery) = flow().await;
    let sent = conversation(&discovery)
        .await
        .send_text_to_dialog("Qm9uam91ciBsZSBzdXJ2ZXk", "5")
        .await
        .expect("sent");
    assert_eq!(sent.sequence, Some(0));
    insta::assert_snapshot!(
        "send_text_to_dialog",
        shape(&request_to(&capture, &send_path()))
    );
}

#[tokio::test]
async fn send_typing() {
    let (capture, discovery) = flow().await;
    conversation(&discovery)
        .await
        .chat_state(ChatState::Composing)
        .await
        .expect("sent");
    insta::assert_snapshot!("send_typing", shape(&request_to(&capture, &send_path())));
}

#[tokio::test]
async fn send_accept() {
    let (capture, discovery) = flow().await;
    conversation(&discovery)
        .await
        .accept(AcceptStatus::Accept, &[1, 2])
        .await
        .expect("sent");
    insta::assert_snapshot!("send_accept", shape(&request_to(&capture, &send_path())));
}

#[tokio::test]
async fn send_close() {
    let (capture, discovery) = flow().await;
    let sent = conversation(&discovery)
        .await
        .close()
        .await
        .expect("closed");
    assert_eq!(sent.sequence, None);
    insta::assert_snapshot!("send_close", shape(&request_to(&capture, &send_path())));
}

#[tokio::test]
async fn send_close_dialog() {
    let (capture, discovery) = flow().await;
    let sent = conversation(&discovery)
        .await
        .close_dialog(CONVERSATION)
        .await
        .expect("closed");
    assert_eq!(sent.sequence, None);
    insta::assert_snapshot!(
        "send_close_dialog",
        shape(&request_to(&capture, &send_path()))
    );
}

#[tokio::test]
async fn send_rich_content() {
    let (capture, discovery) = flow().await;
    let card = RichContent::new(Element::vertical([
        Element::image("https://shop.example.org/img/order-4711.png").caption("Order 4711"),
        Element::text("My order 4711 has not arrived").bold(),
        Element::button("Track it")
            .tooltip("track the parcel")
            .action(Action::link("https://shop.example.org/track/4711").name("Track")),
    ]))
    .quick_replies(
        QuickReplies::new(2)
            .reply("Refund", "I want a refund")
            .reply("Wait", "I will wait"),
    );
    let sent = conversation(&discovery)
        .await
        .send_rich_content(card)
        .await
        .expect("sent");
    assert_eq!(sent.sequence, Some(0));
    insta::assert_snapshot!(
        "send_rich_content",
        shape(&request_to(&capture, &send_path()))
    );
}

#[tokio::test]
async fn send_rich_content_carousel() {
    let (capture, discovery) = flow().await;
    let card = |plan: &str| {
        Element::vertical([
            Element::text(plan),
            Element::button("Choose").action(Action::publish_text(format!("I choose {plan}"))),
        ])
    };
    conversation(&discovery)
        .await
        .send_rich_content(Element::carousel([card("S"), card("M")]))
        .await
        .expect("sent");
    insta::assert_snapshot!(
        "send_rich_content_carousel",
        shape(&request_to(&capture, &send_path()))
    );
}

/// The client's features go in `Client-Properties` on CONVERSATION and, as
/// the documents require once given there, on every SEND that follows.
#[tokio::test]
async fn client_properties_go_on_conversation_and_every_send() {
    let (capture, discovery) = flow().await;
    let app = AppJwtProvider::new(&discovery, CLIENT_ID, CLIENT_SECRET);
    let consumer = app.consumer(CONSUMER);
    let client = MessagingClient::builder()
        .discovery(&discovery)
        .app_jwt(app)
        .build()
        .expect("client");
    let request = ConversationRequest::new()
        .feature(ClientFeature::AutoMessages)
        .feature(ClientFeature::RichContent)
        .feature(ClientFeature::AutoMessages);
    assert_eq!(
        request.features().len(),
        2,
        "a feature given twice is sent once"
    );
    let conversation = client.open(consumer, &request).await.expect("opened");
    conversation
        .send_text("Hi from Send Message only - Send a line")
        .await
        .expect("sent");
    let opened = request_to(
        &capture,
        &format!("/api/account/{ACC}/messaging/consumer/conversation"),
    );
    let header = r#"{"type":".ClientProperties","features":["AUTO_MESSAGES","RICH_CONTENT"]}"#;
    assert_eq!(opened.header("client-properties"), Some(header));
    insta::assert_snapshot!(
        "send_text_with_client_properties",
        shape(&request_to(&capture, &send_path()))
    );
    // A conversation without features sends no such header.
    // (`send_text`'s snapshot shows a SEND without one.)
}
