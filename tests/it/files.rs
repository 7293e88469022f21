//! File sharing against the emulator (`ccs serve`): the upload URL, the
//! PUT to its `swift` stand-in, the `hosted/file` message and the download,
//! through `OpenConversation::send_file` / `download_file` and over plain
//! HTTP; each documented limit refused (by the client before sending, by
//! the emulator with a 4xx and nothing stored); an expired or forged URL
//! refused on the emulator's clock.

use std::time::Duration;

use liveperson_ccs::connector::{AppJwtProvider, Discovery};
use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
use liveperson_ccs::messaging::{
    ConversationRequest, FileType, MAX_FILE_BYTES, MAX_PREVIEW_BYTES, OpenConversation,
};
use liveperson_ccs::{Error, MessagingClient};
use serde_json::{Value, json};

const ACC: &str = "le12345678";
const CLIENT_ID: &str = "75588e18-0213-4e33-8174-883acac7e3c4";
const CLIENT_SECRET: &str = "the-client-secret-0123456789";
const CONSUMER: &str = "John_Doe_facebook12345";

/// An emulator, a conversation opened on it, and the two tokens (for the
/// plain HTTP calls).
async fn opened() -> (Emulator, OpenConversation, String, String) {
    let emulator = Emulator::start(EmulatorConfig::new().app_credentials(CLIENT_ID, CLIENT_SECRET))
        .await
        .expect("emulator starts");
    let discovery = Discovery::builder()
        .account(ACC)
        .domain_api(emulator.base_url())
        .build()
        .expect("discovery");
    let app = AppJwtProvider::new(&discovery, CLIENT_ID, CLIENT_SECRET);
    let consumer = app.consumer(CONSUMER);
    let app_jwt = app.get().await.expect("AppJWT").expose().to_owned();
    let consumer_jws = consumer
        .get()
        .await
        .expect("ConsumerJWS")
        .expose()
        .to_owned();
    let conversation = MessagingClient::builder()
        .discovery(&discovery)
        .app_jwt(app)
        .build()
        .expect("client")
        .open(consumer, &ConversationRequest::new())
        .await
        .expect("opened");
    (emulator, conversation, app_jwt, consumer_jws)
}

/// A SEND over plain HTTP: status and body.
async fn send(emulator: &Emulator, tokens: (&str, &str), payload: Value) -> (u16, Value) {
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/api/account/{ACC}/messaging/consumer/conversation/send?v=3",
            emulator.base_url()
        ))
        .header("authorization", tokens.0)
        .header("x-lp-on-behalf", tokens.1)
        .json(&payload)
        .send()
        .await
        .expect("answered");
    let status = answer.status().as_u16();
    (status, answer.json().await.expect("JSON"))
}

/// A PUT or GET of the swift stand-in at the URL a SEND answered.
async fn swift(
    emulator: &Emulator,
    method: reqwest::Method,
    url: &Value,
    body: Vec<u8>,
) -> reqwest::Response {
    let params = &url["queryParams"];
    reqwest::Client::new()
        .request(
            method,
            format!(
                "{}{}",
                emulator.base_url(),
                url["relativePath"].as_str().expect("a path")
            ),
        )
        .query(&[
            (
                "temp_url_sig",
                params["temp_url_sig"].as_str().expect("sig"),
            ),
            (
                "temp_url_expires",
                params["temp_url_expires"].as_str().expect("expires"),
            ),
        ])
        .body(body)
        .send()
        .await
        .expect("answered")
}

fn upload_url(size: Value, file_type: &str) -> Value {
    json!({"kind": "req", "id": "1", "type": "ms.GenerateURLForUploadFile",
           "body": {"fileSize": size, "fileType": file_type}})
}

fn hosted_file(conversation: &str, path: &Value, preview: Option<String>) -> Value {
    let mut message = json!({"caption": "logo", "relativePath": path, "fileType": "PNG"});
    if let Some(preview) = preview {
        message["preview"] = json!(preview);
    }
    json!({"kind": "req", "id": "2", "type": "ms.PublishEvent",
           "body": {"dialogId": conversation,
                    "event": {"type": "ContentEvent", "contentType": "hosted/file", "message": message}}})
}

/// send_file then download_file: the same bytes; the conversation keeps
/// the hosted/file event.
#[tokio::test]
async fn a_file_goes_up_and_comes_back() -> Result<(), Error> {
    let (emulator, conversation, _, _) = opened().await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
    let shared = conversation
        .send_file(
            bytes.clone(),
            FileType::Png,
            "the receipt",
            Some("data:image/png;base64,iVBORw0KGgo=".into()),
        )
        .await?;
    assert_eq!(shared.sent.sequence, Some(0));
    assert!(
        shared
            .relative_path
            .starts_with(&format!("/v1/AUTH_async-images/{ACC}/")),
        "{}",
        shared.relative_path
    );
    assert!(shared.relative_path.ends_with(".PNG"));
    assert_eq!(
        conversation.download_file(&shared.relative_path).await?,
        bytes
    );
    let kept = emulator.conversation(conversation.id()).expect("kept");
    assert_eq!(
        kept["events"][0]["event"],
        json!({"type": "ContentEvent", "contentType": "hosted/file", "message": {
            "caption": "the receipt", "relativePath": shared.relative_path, "fileType": "PNG",
            "preview": "data:image/png;base64,iVBORw0KGgo=",
        }})
    );
    Ok(())
}

/// The client refuses what the documents refuse, and sends nothing.
#[tokio::test]
async fn the_client_checks_the_limits_before_sending() {
    let (emulator, conversation, _, _) = opened().await;
    emulator.clear_requests();
    fn invalid<T: std::fmt::Debug>(result: Result<T, Error>) {
        assert!(
            matches!(result, Err(Error::InvalidInput { .. })),
            "{result:?}"
        )
    }
    invalid(
        conversation
            .send_file(Vec::new(), FileType::Gif, "", None)
            .await,
    );
    invalid(
        conversation
            .send_file(vec![0; MAX_FILE_BYTES + 1], FileType::Jpg, "", None)
            .await,
    );
    invalid(
        conversation
            .send_file(
                vec![1],
                FileType::Jpeg,
                "",
                Some("a".repeat(MAX_PREVIEW_BYTES)),
            )
            .await,
    );
    invalid(conversation.download_file("/elsewhere/file.PNG").await);
    assert!(emulator.requests().is_empty(), "{:?}", emulator.requests());
    // At the limits, accepted.
    conversation
        .send_file(
            vec![7; MAX_FILE_BYTES],
            FileType::Jpg,
            "",
            Some("a".repeat(MAX_PREVIEW_BYTES - 1)),
        )
        .await
        .expect("a 3 MB file with a preview just under 30 KB");
}

/// Over HTTP, each limit is a 4xx with a JSON message, and nothing is
/// stored.
#[tokio::test]
async fn the_emulator_refuses_each_limit() {
    let (emulator, conversation, app, consumer) = opened().await;
    let tokens = (app.as_str(), consumer.as_str());
    let (status, body) = send(&emulator, tokens, upload_url(json!(1000), "BMP")).await;
    assert_eq!((status, body["message"].is_string()), (400, true), "{body}");
    let (status, body) = send(&emulator, tokens, upload_url(json!(3_145_729), "PNG")).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("3 MB"),
        "{body}"
    );
    let (status, body) = send(&emulator, tokens, upload_url(json!(0), "PNG")).await;
    assert_eq!(status, 400, "{body}");
    // The pages' string form is taken.
    let (status, url) = send(&emulator, tokens, upload_url(json!("1000"), "PNG")).await;
    assert_eq!(status, 200, "{url}");
    let url = &url["body"];
    // Over 3 MB: 413, and the path holds nothing.
    let answer = swift(
        &emulator,
        reqwest::Method::PUT,
        url,
        vec![0; MAX_FILE_BYTES + 1],
    )
    .await;
    assert_eq!(answer.status().as_u16(), 413);
    let message: Value = answer.json().await.expect("JSON");
    assert!(message["message"].is_string(), "{message}");
    let answer = swift(&emulator, reqwest::Method::PUT, url, Vec::new()).await;
    assert_eq!(answer.status().as_u16(), 400);
    let publish = hosted_file(conversation.id(), &url["relativePath"], None);
    let (status, body) = send(&emulator, tokens, publish.clone()).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = send(
        &emulator,
        tokens,
        json!({"kind": "req", "id": "3", "type": "ms.GenerateURLForDownloadFile",
               "body": {"relativePath": url["relativePath"]}}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    // Uploaded: a preview of 30 KB is refused, one under it taken.
    let answer = swift(&emulator, reqwest::Method::PUT, url, vec![1, 2, 3]).await;
    assert_eq!(answer.status().as_u16(), 201);
    let too_large = hosted_file(
        conversation.id(),
        &url["relativePath"],
        Some("a".repeat(MAX_PREVIEW_BYTES)),
    );
    let (status, body) = send(&emulator, tokens, too_large).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("30 KB"),
        "{body}"
    );
    let fine = hosted_file(
        conversation.id(),
        &url["relativePath"],
        Some("a".repeat(MAX_PREVIEW_BYTES - 1)),
    );
    let (status, body) = send(&emulator, tokens, fine).await;
    assert_eq!(
        (status, &body["body"]["sequence"]),
        (200, &json!(0)),
        "{body}"
    );
    let mut wrong_type = publish;
    wrong_type["body"]["event"]["message"]["fileType"] = json!("TIFF");
    let (status, body) = send(&emulator, tokens, wrong_type).await;
    assert_eq!(status, 400, "{body}");
}

/// A URL is valid one minute on the emulator's clock, for its own path and
/// method only.
#[tokio::test]
async fn an_expired_or_forged_url_is_refused() {
    let (emulator, _conversation, app, consumer) = opened().await;
    let tokens = (app.as_str(), consumer.as_str());
    let (_, answer) = send(&emulator, tokens, upload_url(json!(3), "GIF")).await;
    let url = answer["body"].clone();
    emulator
        .advance_clock(Duration::from_secs(61))
        .expect("advanced");
    let refused = swift(&emulator, reqwest::Method::PUT, &url, vec![1, 2, 3]).await;
    assert_eq!(refused.status().as_u16(), 401);
    let body: Value = refused.json().await.expect("JSON");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("expired"),
        "{body}"
    );

    let (_, answer) = send(&emulator, tokens, upload_url(json!(3), "GIF")).await;
    let url = answer["body"].clone();
    let mut forged = url.clone();
    forged["queryParams"]["temp_url_sig"] = json!("0".repeat(64));
    let refused = swift(&emulator, reqwest::Method::PUT, &forged, vec![1]).await;
    assert_eq!(refused.status().as_u16(), 401);
    // The upload signature does not sign a download.
    let refused = swift(&emulator, reqwest::Method::GET, &url, Vec::new()).await;
    assert_eq!(refused.status().as_u16(), 401);
    let stored = swift(&emulator, reqwest::Method::PUT, &url, vec![1, 2, 3]).await;
    assert_eq!(stored.status().as_u16(), 201);

    let (status, answer) = send(
        &emulator,
        tokens,
        json!({"kind": "req", "id": "3", "type": "ms.GenerateURLForDownloadFile",
               "body": {"relativePath": url["relativePath"]}}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let download = answer["body"].clone();
    let got = swift(&emulator, reqwest::Method::GET, &download, Vec::new()).await;
    assert_eq!(got.status().as_u16(), 200);
    assert_eq!(got.bytes().await.expect("bytes").as_ref(), [1, 2, 3]);
    emulator
        .advance_clock(Duration::from_secs(61))
        .expect("advanced");
    let refused = swift(&emulator, reqwest::Method::GET, &download, Vec::new()).await;
    assert_eq!(refused.status().as_u16(), 401);
}

/// The shared file reaches the connector's webhook route as any
/// ContentEvent does, signed, typed with its `hosted/file` description.
#[tokio::test]
async fn the_hosted_file_is_delivered_to_the_connector() {
    use liveperson_ccs::webhooks::{Notification, Receiver};
    const SECRET: &str = "files-secret-0123456789";
    let receiver = Receiver::new(CLIENT_ID, SECRET, ACC);
    let (route, mut queue) = receiver.axum_channel(64);
    let app = axum::Router::new().route("/lp/webhooks", route);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bound");
    let url = format!(
        "http://{}/lp/webhooks",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let emulator = Emulator::start(
        EmulatorConfig::new()
            .app_credentials(CLIENT_ID, SECRET)
            .webhook_all(&url, 0),
    )
    .await
    .expect("emulator starts");
    let discovery = Discovery::builder()
        .account(ACC)
        .domain_api(emulator.base_url())
        .build()
        .expect("discovery");
    let app = AppJwtProvider::new(&discovery, CLIENT_ID, SECRET);
    let conversation = MessagingClient::builder()
        .discovery(&discovery)
        .app_jwt(app.clone())
        .build()
        .expect("client")
        .open(app.consumer(CONSUMER), &ConversationRequest::new())
        .await
        .expect("opened");
    let shared = conversation
        .send_file(b"GIF89a".to_vec(), FileType::Gif, "a gif", None)
        .await
        .expect("shared");
    let content = loop {
        match tokio::time::timeout(Duration::from_secs(20), queue.recv()).await {
            Ok(Some(Notification::Content(m))) => break m,
            Ok(Some(_)) => continue,
            other => panic!("no ContentEvent delivered: {other:?}"),
        }
    };
    assert!(content.is_from_consumer());
    assert_eq!(content.event.content_type, "hosted/file");
    let file = content.event.file.expect("the file's description");
    assert_eq!(file.relative_path, shared.relative_path);
    assert_eq!(file.file_type, "GIF");
    assert_eq!(file.caption.as_deref(), Some("a gif"));
    emulator.shutdown().await;
}
