//! The emulator playing LivePerson's side of the return channel: webhook
//! registration (config, admin routes, `ccs serve` flags), signed
//! deliveries of every consumer SEND and conversation change, the agent's
//! admin routes, the echo agent, the retry schedule on the emulator's
//! clock, delivery faults. Each test runs a small loopback receiver that
//! verifies every delivery's signature over the raw bytes.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus, Uri};
use axum::response::{IntoResponse, Response};
use liveperson_ccs::emulator::{
    DEFAULT_WEBHOOK_CLIENT_ID, DEFAULT_WEBHOOK_CLIENT_SECRET, Emulator, EmulatorConfig, Fault,
    WebhookEvent,
};
use liveperson_ccs::webhooks::{SignatureAlgorithm, SignatureEncoding, verify_signature};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const ACC: &str = "le12345678";
const CLIENT_ID: &str = "webhook-test-client";
const SECRET: &str = "webhook-test-secret-0123456789";
/// Generous: a delivery normally arrives in milliseconds.
const WAIT: Duration = Duration::from_secs(20);

/// One delivery as the receiver got it, its signature already verified.
#[derive(Debug)]
struct Delivery {
    path: String,
    headers: HeaderMap,
    json: Value,
}

impl Delivery {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The envelope type.
    fn kind(&self) -> &str {
        self.json["type"].as_str().unwrap_or_default()
    }

    fn change(&self) -> &Value {
        &self.json["body"]["changes"][0]
    }
}

/// What the receiver answers, in order; then 200.
#[derive(Default)]
struct Script {
    answers: VecDeque<Answer>,
}

#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    /// Waits this long before answering 200 (longer than the emulator's 5 s read timeout).
    Slow(Duration),
}

struct ReceiverState {
    secret: String,
    sent: mpsc::UnboundedSender<Result<Delivery, String>>,
    script: Mutex<Script>,
}

/// A loopback webhook receiver: verifies each delivery's signature over the
/// raw body with `verify_signature`, and hands it to the test.
struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
    deliveries: mpsc::UnboundedReceiver<Result<Delivery, String>>,
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let verified = headers
        .get("x-liveperson-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| "no signature header".to_owned())
        .and_then(|signature| {
            verify_signature(&state.secret, signature, &body).map_err(|e| e.to_string())
        })
        .and_then(|()| serde_json::from_slice::<Value>(&body).map_err(|e| e.to_string()))
        .map(|json| Delivery {
            path: uri.path().to_owned(),
            headers: headers.clone(),
            json,
        });
    let _ = state.sent.send(verified);
    let answer = state
        .script
        .lock()
        .expect("not poisoned")
        .answers
        .pop_front();
    match answer {
        None => AxumStatus::OK.into_response(),
        Some(Answer::Status(status)) => {
            let status = AxumStatus::from_u16(status).expect("a status");
            let mut response = status.into_response();
            if status.is_redirection() {
                response.headers_mut().insert(
                    "location",
                    axum::http::HeaderValue::from_static("http://127.0.0.1:1/elsewhere"),
                );
            }
            response
        }
        Some(Answer::Slow(wait)) => {
            tokio::time::sleep(wait).await;
            AxumStatus::OK.into_response()
        }
    }
}

impl Receiver {
    async fn start(secret: &str) -> Receiver {
        let (sent, deliveries) = mpsc::unbounded_channel();
        let state = Arc::new(ReceiverState {
            secret: secret.to_owned(),
            sent,
            script: Mutex::default(),
        });
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            addr,
            state,
            deliveries,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn answer(&self, answers: &[Answer]) {
        self.state
            .script
            .lock()
            .expect("not poisoned")
            .answers
            .extend(answers.iter().copied());
    }

    /// The next delivery (its signature verified).
    async fn next(&mut self) -> Delivery {
        let got = tokio::time::timeout(WAIT, self.deliveries.recv())
            .await
            .expect("a delivery in time")
            .expect("the receiver runs");
        got.unwrap_or_else(|error| panic!("a delivery failed verification: {error}"))
    }

    /// No delivery arrived that the test did not take.
    fn none_pending(&mut self) {
        if let Ok(extra) = self.deliveries.try_recv() {
            panic!("unexpected delivery: {extra:?}");
        }
    }
}

/// A connector talking to an emulator over HTTP, as any language would.
struct Connector {
    base: String,
    http: Client,
    app_jwt: String,
    consumer_jws: String,
}

impl Connector {
    async fn new(base: &str, client_id: &str, secret: &str) -> Connector {
        let http = Client::new();
        let token: Value = http
            .post(format!(
                "{base}/sentinel/api/account/{ACC}/app/token?v=1.0&grant_type=client_credentials"
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("client_id={client_id}&client_secret={secret}"))
            .send()
            .await
            .expect("sentinel")
            .json()
            .await
            .expect("json");
        let app_jwt = token["access_token"].as_str().expect("token").to_owned();
        let jws: Value = http
            .post(format!("{base}/api/account/{ACC}/consumer?v=1.0"))
            .header("authorization", &app_jwt)
            .json(&json!({"ext_consumer_id": "consumer-1"}))
            .send()
            .await
            .expect("idp")
            .json()
            .await
            .expect("json");
        Connector {
            base: base.to_owned(),
            http,
            app_jwt,
            consumer_jws: jws["token"].as_str().expect("jws").to_owned(),
        }
    }

    async fn open(&self) -> String {
        let answer: Value = self
            .http
            .post(format!(
                "{}/api/account/{ACC}/messaging/consumer/conversation?v=3",
                self.base
            ))
            .header("authorization", &self.app_jwt)
            .header("x-lp-on-behalf", &self.consumer_jws)
            .json(&json!([
                {"kind": "req", "id": "1", "type": "userprofile.SetUserProfile", "body": {}},
                {"kind": "req", "id": "2", "type": "cm.ConsumerRequestConversation",
                 "body": {"brandId": ACC, "skillId": "42", "ttrDefName": "PRIORITIZED"}},
            ]))
            .send()
            .await
            .expect("conversation")
            .json()
            .await
            .expect("json");
        answer[1]["body"]["conversationId"]
            .as_str()
            .expect("an id")
            .to_owned()
    }

    async fn send(&self, payload: Value) -> Value {
        let answer = self
            .http
            .post(format!(
                "{}/api/account/{ACC}/messaging/consumer/conversation/send?v=3",
                self.base
            ))
            .header("authorization", &self.app_jwt)
            .header("x-lp-on-behalf", &self.consumer_jws)
            .json(&payload)
            .send()
            .await
            .expect("send");
        assert_eq!(answer.status(), StatusCode::OK);
        answer.json().await.expect("json")
    }

    async fn publish(&self, conversation: &str, event: Value) -> Value {
        self.send(json!({"kind": "req", "id": "p", "type": "ms.PublishEvent",
            "body": {"dialogId": conversation, "event": event}}))
            .await
    }

    async fn text(&self, conversation: &str, text: &str) -> Value {
        self.publish(
            conversation,
            json!({"type": "ContentEvent", "contentType": "text/plain", "message": text}),
        )
        .await
    }

    async fn close(&self, conversation: &str) {
        self.send(
            json!({"kind": "req", "id": "c", "type": "cm.UpdateConversationField",
            "body": {"conversationId": conversation, "conversationField":
                {"field": "ConversationStateField", "conversationState": "CLOSE"}}}),
        )
        .await;
    }

    /// A SEND whatever its answer: its status and JSON body.
    async fn try_send(&self, payload: Value) -> (u16, Value) {
        let answer = self
            .http
            .post(format!(
                "{}/api/account/{ACC}/messaging/consumer/conversation/send?v=3",
                self.base
            ))
            .header("authorization", &self.app_jwt)
            .header("x-lp-on-behalf", &self.consumer_jws)
            .json(&payload)
            .send()
            .await
            .expect("send");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    async fn agent(&self, conversation: &str, action: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.post(format!(
            "{}/__emulator/conversations/{conversation}/agent/{action}",
            self.base
        ));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.expect("agent");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    async fn conversation(&self, conversation: &str) -> Value {
        self.http
            .get(format!(
                "{}/__emulator/conversations/{conversation}",
                self.base
            ))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json")
    }

    async fn advance(&self, seconds: u64) {
        let answer = self
            .http
            .post(format!("{}/__emulator/clock", self.base))
            .json(&json!({"advance_seconds": seconds}))
            .send()
            .await
            .expect("clock");
        assert_eq!(answer.status(), StatusCode::OK);
    }
}

fn config(receiver: &Receiver, retries: u8) -> EmulatorConfig {
    EmulatorConfig::new()
        .app_credentials(CLIENT_ID, SECRET)
        .webhook_all(receiver.url("/hooks"), retries)
}

async fn start(config: EmulatorConfig) -> (Emulator, Connector) {
    let emulator = Emulator::start(config).await.expect("emulator starts");
    let connector = Connector::new(&emulator.base_url(), CLIENT_ID, SECRET).await;
    (emulator, connector)
}

/// Polls the emulator's view of a conversation until `done` holds (the
/// deliveries are recorded by their own task).
async fn conversation_until(
    connector: &Connector,
    conversation: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let seen = connector.conversation(conversation).await;
        if done(&seen) {
            return seen;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never reached: {seen:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn delivery_states(conversation: &Value) -> Vec<String> {
    conversation["deliveries"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|d| d["state"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn consumer_sends_and_conversation_changes_are_delivered_signed_in_order() {
    let mut receiver = Receiver::start(SECRET).await;
    let (emulator, connector) = start(config(&receiver, 0)).await;
    let conversation = connector.open().await;
    let opened = receiver.next().await;
    assert_eq!(opened.path, "/hooks");
    assert_eq!(opened.header("x-liveperson-account-id"), Some(ACC));
    assert_eq!(opened.header("x-liveperson-client-id"), Some(CLIENT_ID));
    assert_eq!(opened.header("content-type"), Some("application/json"));
    assert_eq!(opened.kind(), "cqm.ExConversationChangeNotification");
    assert_eq!(opened.json["kind"], "notification");
    let result = &opened.change()["result"];
    assert_eq!(opened.change()["type"], "UPSERT");
    assert_eq!(result["convId"], conversation.as_str());
    let details = &result["conversationDetails"];
    assert_eq!(details["state"], "OPEN");
    assert_eq!(details["stage"], "OPEN");
    assert_eq!(details["brandId"], ACC);
    assert_eq!(details["skillId"], "42");
    assert_eq!(
        details["ttr"],
        json!({"ttrType": "PRIORITIZED", "value": 600})
    );
    assert_eq!(details["participants"].as_array().map(Vec::len), Some(1));
    assert_eq!(details["participants"][0]["role"], "CONSUMER");
    let consumer_id = details["participants"][0]["id"].clone();
    assert_eq!(
        result["effectiveTTR"].as_i64(),
        details["startTs"].as_i64().map(|start| start + 600_000)
    );

    let answer = connector.text(&conversation, "Hello 👋 é").await;
    assert_eq!(answer["body"]["sequence"], 0);
    let text = receiver.next().await;
    assert_eq!(text.kind(), "ms.MessagingEventNotification");
    let change = text.change();
    assert_eq!(change["sequence"], 0);
    assert_eq!(change["dialogId"], conversation.as_str());
    assert_eq!(change["originatorId"], consumer_id);
    assert_eq!(
        change["originatorMetadata"],
        json!({"id": consumer_id, "role": "CONSUMER"})
    );
    assert!(change["serverTimestamp"].as_i64().is_some());
    assert_eq!(
        change["event"],
        json!({"type": "ContentEvent", "message": "Hello 👋 é", "contentType": "text/plain"})
    );

    connector
        .publish(
            &conversation,
            json!({"type": "ChatStateEvent", "chatState": "COMPOSING"}),
        )
        .await;
    let typing = receiver.next().await;
    assert_eq!(
        typing.change()["event"],
        json!({"type": "ChatStateEvent", "chatState": "COMPOSING"})
    );
    assert!(typing.change().get("sequence").is_none());

    connector
        .publish(
            &conversation,
            json!({"type": "AcceptStatusEvent", "status": "READ", "sequenceList": [0]}),
        )
        .await;
    let read = receiver.next().await;
    assert_eq!(
        read.change()["event"],
        json!({"type": "AcceptStatusEvent", "status": "READ", "sequenceList": [0]})
    );
    assert_eq!(read.change()["sequence"], 2);

    connector.close(&conversation).await;
    let closed = receiver.next().await;
    let details = &closed.change()["result"]["conversationDetails"];
    assert_eq!(details["state"], "CLOSE");
    assert_eq!(details["closeReason"], "CONSUMER");
    assert!(details["endTs"].as_i64().is_some());

    // Every attempt is in the journal, the signature redacted.
    let seen = conversation_until(&connector, &conversation, |c| {
        delivery_states(c).iter().all(|s| s == "delivered")
    })
    .await;
    assert_eq!(delivery_states(&seen).len(), 5);
    let attempts: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.webhook.is_some())
        .collect();
    assert_eq!(attempts.len(), 5);
    for attempt in &attempts {
        assert_eq!(attempt.status, Some(200));
        assert_eq!(attempt.header("x-liveperson-signature"), Some("[redacted]"));
        assert_eq!(attempt.path, receiver.url("/hooks"));
        let webhook = attempt.webhook.as_ref().expect("a delivery");
        assert_eq!(webhook.attempt, 1);
        assert_eq!(webhook.conversation_id, conversation);
    }
    assert_eq!(
        attempts[1].webhook.as_ref().map(|w| w.event_type.as_str()),
        Some(WebhookEvent::ContentEvent.as_str())
    );
    receiver.none_pending();
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_echo_agent_accepts_and_answers_each_text() {
    let mut receiver = Receiver::start(DEFAULT_WEBHOOK_CLIENT_SECRET).await;
    let emulator = Emulator::start(
        EmulatorConfig::new()
            .webhook_all(receiver.url("/hooks"), 0)
            .echo_agent(true),
    )
    .await
    .expect("starts");
    // No app credentials: the documented defaults sign and identify.
    let connector = Connector::new(&emulator.base_url(), "any-id", "any-secret").await;
    let conversation = connector.open().await;
    let opened = receiver.next().await;
    assert_eq!(
        opened.header("x-liveperson-client-id"),
        Some(DEFAULT_WEBHOOK_CLIENT_ID)
    );
    assert_eq!(
        opened.change()["result"]["conversationDetails"]["participants"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let joined = receiver.next().await;
    let participants = &joined.change()["result"]["conversationDetails"]["participants"];
    assert_eq!(participants[0]["role"], "ASSIGNED_AGENT");
    assert_eq!(participants[1]["role"], "CONSUMER");
    let agent = participants[0]["id"].clone();

    connector.text(&conversation, "ping").await;
    let mine = receiver.next().await;
    assert_eq!(mine.change()["originatorMetadata"]["role"], "CONSUMER");
    let echo = receiver.next().await;
    assert_eq!(echo.change()["sequence"], 1);
    assert_eq!(
        echo.change()["originatorMetadata"],
        json!({"id": agent, "role": "ASSIGNED_AGENT"})
    );
    assert_eq!(echo.change()["event"]["message"], "ping");
    // A chat state is not echoed.
    connector
        .publish(
            &conversation,
            json!({"type": "ChatStateEvent", "chatState": "ACTIVE"}),
        )
        .await;
    let state = receiver.next().await;
    assert_eq!(state.change()["originatorMetadata"]["role"], "CONSUMER");
    connector.text(&conversation, "pong").await;
    assert_eq!(receiver.next().await.change()["event"]["message"], "pong");
    assert_eq!(
        receiver.next().await.change()["originatorMetadata"]["role"],
        "ASSIGNED_AGENT"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn each_agent_action_sends_what_liveperson_sends() {
    let mut receiver = Receiver::start(SECRET).await;
    let (emulator, connector) = start(config(&receiver, 0)).await;
    let conversation = connector.open().await;
    receiver.next().await;
    // Before an agent joins, the agent cannot talk.
    let (status, body) = connector
        .agent(&conversation, "text", Some(json!({"text": "hi"})))
        .await;
    assert_eq!(status, 409, "{body}");

    let (status, body) = connector.agent(&conversation, "accept", None).await;
    assert_eq!(status, 200, "{body}");
    let agent = body["agent_id"].clone();
    let joined = receiver.next().await;
    assert_eq!(joined.kind(), "cqm.ExConversationChangeNotification");
    assert_eq!(
        joined.change()["result"]["conversationDetails"]["participants"][0],
        json!({"id": agent, "role": "ASSIGNED_AGENT"})
    );
    let (status, _) = connector
        .agent(&conversation, "accept", Some(json!({})))
        .await;
    assert_eq!(status, 409, "already assigned");

    connector.text(&conversation, "question").await;
    receiver.next().await;
    let (status, body) = connector
        .agent(
            &conversation,
            "chat-state",
            Some(json!({"state": "COMPOSING"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let typing = receiver.next().await;
    assert_eq!(
        typing.change()["event"],
        json!({"type": "ChatStateEvent", "chatState": "COMPOSING"})
    );
    assert_eq!(
        typing.change()["originatorMetadata"]["role"],
        "ASSIGNED_AGENT"
    );
    assert!(typing.change().get("sequence").is_none());

    let (status, body) = connector
        .agent(&conversation, "read", Some(json!({"sequences": [0]})))
        .await;
    assert_eq!((status, &body["sequence"]), (200, &json!(1)), "{body}");
    let read = receiver.next().await;
    assert_eq!(read.change()["sequence"], 1);
    assert_eq!(
        read.change()["event"],
        json!({"type": "AcceptStatusEvent", "status": "READ", "sequenceList": [0]})
    );

    let (status, body) = connector
        .agent(&conversation, "text", Some(json!({"text": "answer"})))
        .await;
    assert_eq!((status, &body["sequence"]), (200, &json!(2)), "{body}");
    let text = receiver.next().await;
    assert_eq!(text.change()["sequence"], 2);
    assert_eq!(text.change()["originatorId"], agent);
    assert_eq!(text.change()["event"]["message"], "answer");

    // Bad input: 400, nothing sent, nothing changed.
    for (action, body) in [
        ("text", None),
        ("text", Some(json!({"text": ""}))),
        ("text", Some(json!({"text": 1}))),
        ("text", Some(json!({"text": "x", "extra": 1}))),
        ("chat-state", Some(json!({"state": "SLEEPING"}))),
        ("read", Some(json!({"sequences": []}))),
        ("read", Some(json!({"sequences": [99]}))),
        ("read", Some(json!({"sequences": [-1]}))),
        ("transfer", Some(json!({}))),
        ("accept", Some(json!({"x": 1}))),
        ("dance", None),
    ] {
        let (status, answer) = connector.agent(&conversation, action, body.clone()).await;
        assert_eq!(status, 400, "{action} {body:?}: {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    let (status, _) = connector
        .agent("no-such-conversation", "accept", None)
        .await;
    assert_eq!(status, 404);

    let (status, body) = connector
        .agent(&conversation, "transfer", Some(json!({"skill": "77"})))
        .await;
    assert_eq!(status, 200, "{body}");
    let transferred = receiver.next().await;
    let details = &transferred.change()["result"]["conversationDetails"];
    assert_eq!(details["skillId"], "77");
    assert_eq!(details["participants"].as_array().map(Vec::len), Some(1));
    assert_eq!(details["participants"][0]["role"], "CONSUMER");

    let (status, _) = connector.agent(&conversation, "accept", None).await;
    assert_eq!(status, 200);
    receiver.next().await;
    let (status, _) = connector.agent(&conversation, "close", None).await;
    assert_eq!(status, 200);
    let closed = receiver.next().await;
    let details = &closed.change()["result"]["conversationDetails"];
    assert_eq!(details["state"], "CLOSE");
    assert_eq!(details["closeReason"], "AGENT");
    // Closed: the agent gets 409, the consumer's SEND too.
    let (status, _) = connector
        .agent(&conversation, "text", Some(json!({"text": "late"})))
        .await;
    assert_eq!(status, 409);
    let late = connector
        .http
        .post(format!(
            "{}/api/account/{ACC}/messaging/consumer/conversation/send?v=3",
            connector.base
        ))
        .header("authorization", &connector.app_jwt)
        .header("x-lp-on-behalf", &connector.consumer_jws)
        .json(&json!({"kind": "req", "id": "p", "type": "ms.PublishEvent",
            "body": {"dialogId": conversation, "event":
                {"type": "ContentEvent", "contentType": "text/plain", "message": "late"}}}))
        .send()
        .await
        .expect("send");
    assert_eq!(late.status(), StatusCode::CONFLICT);

    // The emulator's view: participants, state, skill, events, deliveries.
    let seen = conversation_until(&connector, &conversation, |c| {
        delivery_states(c).len() == 9 && delivery_states(c).iter().all(|s| s == "delivered")
    })
    .await;
    assert_eq!(seen["state"], "CLOSE");
    assert_eq!(seen["close_reason"], "AGENT");
    assert_eq!(seen["skill_id"], "77");
    let events = seen["events"].as_array().expect("events");
    let summary: Vec<(Value, Value, Value)> = events
        .iter()
        .map(|e| (e["sequence"].clone(), e["type"].clone(), e["role"].clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (json!(0), json!("ContentEvent"), json!("CONSUMER")),
            (
                Value::Null,
                json!("ChatStateEvent"),
                json!("ASSIGNED_AGENT")
            ),
            (
                json!(1),
                json!("AcceptStatusEvent"),
                json!("ASSIGNED_AGENT")
            ),
            (json!(2), json!("ContentEvent"), json!("ASSIGNED_AGENT")),
        ]
    );
    assert!(events.iter().all(|e| e["at"].is_string()));
    let first = &seen["deliveries"][0];
    assert_eq!(first["event_type"], "cqm.ExConversationChangeNotification");
    assert_eq!(first["attempts"][0]["status"], 200);
    assert_eq!(first["attempts"][0]["attempt"], 1);
    let (status, _) = {
        let answer = connector
            .http
            .get(format!("{}/__emulator/conversations/nope", connector.base))
            .send()
            .await
            .expect("get");
        (answer.status().as_u16(), ())
    };
    assert_eq!(status, 404);
    receiver.none_pending();
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_30_seconds_apart_on_the_emulators_clock() {
    let mut receiver = Receiver::start(SECRET).await;
    let (emulator, connector) = start(
        EmulatorConfig::new()
            .app_credentials(CLIENT_ID, SECRET)
            .webhook(WebhookEvent::ContentEvent, receiver.url("/text"), 2),
    )
    .await;
    let conversation = connector.open().await;
    receiver.answer(&[Answer::Status(500), Answer::Status(503)]);
    connector.text(&conversation, "retry me").await;
    let first = receiver.next().await;
    // Once the attempt is recorded, its retry is due 30 s later on the
    // emulator's clock: advancing it makes the retry now.
    conversation_until(&connector, &conversation, |c| {
        c["deliveries"][0]["attempts"].as_array().map(Vec::len) == Some(1)
    })
    .await;
    connector.advance(30).await;
    let second = receiver.next().await;
    assert_eq!(first.json, second.json, "the same notification");
    conversation_until(&connector, &conversation, |c| {
        c["deliveries"][0]["attempts"].as_array().map(Vec::len) == Some(2)
    })
    .await;
    connector.advance(30).await;
    let third = receiver.next().await;
    assert_eq!(third.json, first.json);
    let seen = conversation_until(&connector, &conversation, |c| {
        delivery_states(c) == ["delivered"]
    })
    .await;
    let statuses: Vec<Value> = seen["deliveries"][0]["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(500), json!(503), json!(200)]);
    let journal: Vec<u32> = emulator
        .requests()
        .iter()
        .filter_map(|r| r.webhook.as_ref().map(|w| w.attempt))
        .collect();
    assert_eq!(journal, [1, 2, 3]);
    receiver.none_pending();
    emulator.shutdown().await;
}

#[tokio::test]
async fn with_no_retries_a_failed_delivery_is_sent_once() {
    let mut receiver = Receiver::start(SECRET).await;
    let (emulator, connector) = start(
        EmulatorConfig::new()
            .app_credentials(CLIENT_ID, SECRET)
            .webhook(WebhookEvent::ContentEvent, receiver.url("/text"), 0),
    )
    .await;
    let conversation = connector.open().await;
    receiver.answer(&[Answer::Status(500)]);
    connector.text(&conversation, "once").await;
    receiver.next().await;
    conversation_until(&connector, &conversation, |c| {
        delivery_states(c) == ["failed"]
    })
    .await;
    // Well past any retry's time (within the tokens' hour).
    connector.advance(600).await;
    // A later text is delivered (and the failed one is not sent again).
    connector.text(&conversation, "next").await;
    assert_eq!(receiver.next().await.change()["event"]["message"], "next");
    receiver.none_pending();
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_reset_ends_the_pending_retries() {
    let mut receiver = Receiver::start(SECRET).await;
    let (emulator, connector) = start(
        EmulatorConfig::new()
            .app_credentials(CLIENT_ID, SECRET)
            .webhook(WebhookEvent::ContentEvent, receiver.url("/text"), 5),
    )
    .await;
    let conversation = connector.open().await;
    receiver.answer(&[Answer::Status(500)]);
    connector.text(&conversation, "never retried").await;
    assert_eq!(
        receiver.next().await.change()["event"]["message"],
        "never retried"
    );
    conversation_until(&connector, &conversation, |c| {
        c["deliveries"][0]["attempts"].as_array().map(Vec::len) == Some(1)
    })
    .await;
    emulator.reset();
    // The retry would be due now; the reset ended it. The registration of
    // the start is back, and the next delivery is the new conversation's.
    connector.advance(60).await;
    let connector = Connector::new(&emulator.base_url(), CLIENT_ID, SECRET).await;
    let again = connector.open().await;
    connector.text(&again, "after the reset").await;
    let next = receiver.next().await;
    assert_eq!(next.change()["event"]["message"], "after the reset");
    assert_eq!(next.change()["dialogId"], again.as_str());
    receiver.none_pending();
    emulator.shutdown().await;
}

#[tokio::test]
async fn only_200_and_201_are_success() {
    let mut receiver = Receiver::start(SECRET).await;
    let (emulator, connector) = start(
        EmulatorConfig::new()
            .app_credentials(CLIENT_ID, SECRET)
            .webhook(WebhookEvent::ContentEvent, receiver.url("/text"), 0),
    )
    .await;
    let conversation = connector.open().await;
    receiver.answer(&[
        Answer::Status(201),
        Answer::Status(204),
        Answer::Status(302),
        Answer::Status(404),
        Answer::Status(500),
    ]);
    for text in ["a", "b", "c", "d", "e"] {
        connector.text(&conversation, text).await;
        receiver.next().await;
    }
    let seen = conversation_until(&connector, &conversation, |c| {
        delivery_states(c).len() == 5 && !delivery_states(c).iter().any(|s| s == "pending")
    })
    .await;
    assert_eq!(
        delivery_states(&seen),
        ["delivered", "failed", "failed", "failed", "failed"]
    );
    receiver.none_pending();
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_slow_endpoint_times_out_after_5_seconds() {
    let mut receiver = Receiver::start(SECRET).await;
    let (emulator, connector) = start(
        EmulatorConfig::new()
            .app_credentials(CLIENT_ID, SECRET)
            .webhook(WebhookEvent::ContentEvent, receiver.url("/text"), 0),
    )
    .await;
    let conversation = connector.open().await;
    receiver.answer(&[Answer::Slow(Duration::from_secs(30))]);
    connector.text(&conversation, "slow").await;
    receiver.next().await;
    // The SEND was answered while its delivery waits on the receiver (which
    // holds it for 30 s; the emulator gives up after 5).
    let seen = connector.conversation(&conversation).await;
    assert_eq!(delivery_states(&seen), ["pending"]);
    let seen = conversation_until(&connector, &conversation, |c| {
        delivery_states(c) == ["failed"]
    })
    .await;
    let error = seen["deliveries"][0]["attempts"][0]["error"]
        .as_str()
        .expect("an error");
    assert!(error.contains("timed out"), "{error}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_receiver_that_trickles_its_answer_cannot_hold_a_delivery() {
    // Answers its head at once, then one byte of a chunked body every
    // second: each read is within the 5 s read timeout, but the whole
    // exchange is cut at 10 s and counts as a failure.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/trickle", listener.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 8192];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if socket.write_all(b"1\r\nx\r\n").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let (emulator, connector) = start(
        EmulatorConfig::new()
            .app_credentials(CLIENT_ID, SECRET)
            .webhook(WebhookEvent::ContentEvent, url, 0),
    )
    .await;
    let conversation = connector.open().await;
    connector.text(&conversation, "trickle").await;
    let seen = conversation_until(&connector, &conversation, |c| {
        delivery_states(c) == ["failed"]
    })
    .await;
    let error = seen["deliveries"][0]["attempts"][0]["error"]
        .as_str()
        .expect("an error");
    assert!(error.contains("timed out"), "{error}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn faults_drop_duplicate_and_reorder_deliveries() {
    let mut receiver = Receiver::start(SECRET).await;
    let (emulator, connector) = start(
        EmulatorConfig::new()
            .app_credentials(CLIENT_ID, SECRET)
            .webhook(WebhookEvent::ContentEvent, receiver.url("/text"), 3),
    )
    .await;
    let conversation = connector.open().await;
    // drop: never sent, not retried.
    let http = &connector.http;
    let inject = |body: Value| {
        let url = format!("{}/__emulator/faults", connector.base);
        async move {
            let answer = http.post(url).json(&body).send().await.expect("fault");
            assert_eq!(answer.status(), StatusCode::CREATED);
        }
    };
    inject(json!({"path": "/__webhooks/ms.MessagingEventNotification.ContentEvent", "drop": true}))
        .await;
    connector.text(&conversation, "lost").await;
    connector.text(&conversation, "kept").await;
    assert_eq!(receiver.next().await.change()["event"]["message"], "kept");
    // duplicate: the same body twice.
    emulator
        .inject_fault(Fault::duplicate_delivery())
        .expect("valid");
    connector.text(&conversation, "twice").await;
    let one = receiver.next().await;
    let two = receiver.next().await;
    assert_eq!(one.json, two.json);
    assert_eq!(one.change()["event"]["message"], "twice");
    // reorder: sent after the next one.
    inject(json!({"path": "/__webhooks/*", "reorder": true})).await;
    connector.text(&conversation, "first").await;
    connector.text(&conversation, "second").await;
    assert_eq!(receiver.next().await.change()["event"]["message"], "second");
    assert_eq!(receiver.next().await.change()["event"]["message"], "first");
    // delay: sent late, still in order.
    inject(json!({"path": "/__webhooks/*", "delay_ms": 200})).await;
    connector.text(&conversation, "late").await;
    connector.text(&conversation, "after").await;
    assert_eq!(receiver.next().await.change()["event"]["message"], "late");
    assert_eq!(receiver.next().await.change()["event"]["message"], "after");
    let seen = conversation_until(&connector, &conversation, |c| {
        !delivery_states(c).iter().any(|s| s == "pending")
    })
    .await;
    assert_eq!(delivery_states(&seen)[0], "dropped");
    assert!(seen["deliveries"][0]["fault"].is_string());
    // status: the first attempt is not sent and counts as that answer; the
    // retry (due 30 s later on the emulator's clock) is sent.
    inject(json!({"path": "/__webhooks/*", "status": 503})).await;
    connector.text(&conversation, "retried").await;
    let seen = conversation_until(&connector, &conversation, |c| {
        c["deliveries"][7]["attempts"].as_array().map(Vec::len) == Some(1)
    })
    .await;
    assert_eq!(seen["deliveries"][7]["attempts"][0]["status"], 503);
    connector.advance(30).await;
    assert_eq!(
        receiver.next().await.change()["event"]["message"],
        "retried"
    );
    // Bad delivery faults are refused.
    for bad in [
        json!({"path": "/v1/*", "duplicate": true}),
        json!({"path": "/__webhooks/*", "duplicate": true, "reorder": true}),
    ] {
        let answer = http
            .post(format!("{}/__emulator/faults", connector.base))
            .json(&bad)
            .send()
            .await
            .expect("fault");
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    receiver.none_pending();
    emulator.shutdown().await;
}

#[tokio::test]
async fn registration_through_the_admin_routes_is_checked_whole() {
    let mut receiver = Receiver::start(SECRET).await;
    let (emulator, connector) =
        start(EmulatorConfig::new().app_credentials(CLIENT_ID, SECRET)).await;
    let http = &connector.http;
    let url = format!("{}/__emulator/webhooks", connector.base);
    let get = || async {
        let answer = http.get(&url).send().await.expect("get");
        assert_eq!(answer.status(), StatusCode::OK);
        answer.json::<Value>().await.expect("json")
    };
    assert_eq!(get().await, json!({}));
    let manifest = json!({
        "ms.MessagingEventNotification.ContentEvent": {"endpoint": receiver.url("/text"), "max_retries": 1},
        "cqm.ExConversationChangeNotification": {"endpoint": receiver.url("/conv")},
    });
    let answer = http.put(&url).json(&manifest).send().await.expect("put");
    assert_eq!(answer.status(), StatusCode::OK);
    let expected = json!({
        "ms.MessagingEventNotification.ContentEvent": {"endpoint": receiver.url("/text"), "max_retries": 1},
        "cqm.ExConversationChangeNotification": {"endpoint": receiver.url("/conv"), "max_retries": 0},
    });
    assert_eq!(get().await, expected);
    for bad in [
        json!({"ms.MessagingEventNotification.Nope": {"endpoint": "http://h/"}}),
        json!({"cqm.ExConversationChangeNotification": {"endpoint": "not a url"}}),
        json!({"cqm.ExConversationChangeNotification": {"endpoint": "ftp://h/x"}}),
        json!({"cqm.ExConversationChangeNotification": {"endpoint": "http://h/", "max_retries": 6}}),
        json!({"cqm.ExConversationChangeNotification": {"endpoint": "http://h/", "max_retries": -1}}),
        json!({"cqm.ExConversationChangeNotification": {"max_retries": 1}}),
        json!({"cqm.ExConversationChangeNotification": {"endpoint": "http://h/", "x": 1}}),
        json!({"cqm.ExConversationChangeNotification": "http://h/"}),
        json!([]),
    ] {
        let answer = http.put(&url).json(&bad).send().await.expect("put");
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = answer.json().await.expect("json");
        assert!(body["message"].is_string());
        assert_eq!(get().await, expected, "nothing changed by {bad}");
    }
    let conversation = connector.open().await;
    let opened = receiver.next().await;
    assert_eq!(opened.path, "/conv");
    connector.text(&conversation, "hi").await;
    assert_eq!(receiver.next().await.path, "/text");
    // `{}` clears; reset restores the registrations of the start (none).
    let answer = http.put(&url).json(&json!({})).send().await.expect("put");
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(get().await, json!({}));
    connector.text(&conversation, "unheard").await;
    http.put(&url).json(&manifest).send().await.expect("put");
    emulator.reset();
    assert_eq!(get().await, json!({}));
    receiver.none_pending();
    emulator.shutdown().await;
}

#[tokio::test]
async fn sha256_and_hex_signatures_by_choice() {
    for (algorithm, encoding, prefix) in [
        (
            SignatureAlgorithm::Sha256,
            SignatureEncoding::Hex,
            "sha256=",
        ),
        (SignatureAlgorithm::Sha1, SignatureEncoding::Hex, "sha1="),
        (
            SignatureAlgorithm::Sha256,
            SignatureEncoding::Base64,
            "sha256=",
        ),
    ] {
        let mut receiver = Receiver::start(SECRET).await;
        let (emulator, connector) =
            start(config(&receiver, 0).webhook_signature(algorithm, encoding)).await;
        connector.open().await;
        let opened = receiver.next().await;
        let signature = opened.header("x-liveperson-signature").expect("signed");
        assert!(signature.starts_with(prefix), "{signature}");
        let digest = &signature[prefix.len()..];
        let hex = digest.bytes().all(|b| b.is_ascii_hexdigit());
        assert_eq!(hex, encoding == SignatureEncoding::Hex, "{signature}");
        emulator.shutdown().await;
    }
}

#[tokio::test]
async fn bad_registrations_in_the_config_refuse_to_start() {
    for config in [
        EmulatorConfig::new().webhook(WebhookEvent::ContentEvent, "nope", 0),
        EmulatorConfig::new().webhook(WebhookEvent::ContentEvent, "http://h/", 6),
    ] {
        let error = Emulator::start(config).await.expect_err("refused");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    }
}

#[tokio::test]
async fn ccs_serve_flags_register_sign_and_echo() {
    let mut receiver = Receiver::start(SECRET).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ccs"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--app-client-id",
            CLIENT_ID,
            "--app-client-secret",
            SECRET,
            "--webhook",
            &receiver.url("/all"),
            "--webhook",
            &format!(
                "cqm.ExConversationChangeNotification={}",
                receiver.url("/conv")
            ),
            "--webhook-retries",
            "1",
            "--webhook-signature",
            "sha256-hex",
            "--agent",
            "echo",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("ccs serve starts");
    let base = crate::support::listening_base_url(&mut child).await;
    let connector = Connector::new(&base, CLIENT_ID, SECRET).await;
    let answer: Value = connector
        .http
        .get(format!("{base}/__emulator/webhooks"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        answer["cqm.ExConversationChangeNotification"],
        json!({"endpoint": receiver.url("/conv"), "max_retries": 1})
    );
    assert_eq!(
        answer["ms.MessagingEventNotification.ChatStateEvent"],
        json!({"endpoint": receiver.url("/all"), "max_retries": 1})
    );
    let conversation = connector.open().await;
    let opened = receiver.next().await;
    assert_eq!(opened.path, "/conv");
    assert!(
        opened
            .header("x-liveperson-signature")
            .is_some_and(|s| s.starts_with("sha256="))
    );
    assert_eq!(receiver.next().await.path, "/conv", "the echo agent joins");
    connector.text(&conversation, "marco").await;
    assert_eq!(receiver.next().await.path, "/all");
    let echo = receiver.next().await;
    assert_eq!(echo.change()["event"]["message"], "marco");
    assert_eq!(
        echo.change()["originatorMetadata"]["role"],
        "ASSIGNED_AGENT"
    );
    let _ = child.kill();
    let _ = child.wait();
    // A bad flag is refused before anything starts.
    let output = Command::new(env!("CARGO_BIN_EXE_ccs"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--webhook",
            "ms.Nope=http://h/",
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test]
async fn the_same_controls_are_methods_of_emulator() {
    let mut receiver = Receiver::start(SECRET).await;
    let (emulator, connector) =
        start(EmulatorConfig::new().app_credentials(CLIENT_ID, SECRET)).await;
    assert_eq!(emulator.webhooks(), json!({}));
    let refused = emulator
        .set_webhooks(&json!({"cqm.Nope": {"endpoint": "http://h/"}}))
        .expect_err("unknown event type");
    assert_eq!(refused.status(), 400);
    emulator
        .set_webhooks(&json!({
            "ms.MessagingEventNotification.ContentEvent": {"endpoint": receiver.url("/text")},
        }))
        .expect("valid");
    let conversation = connector.open().await;
    assert_eq!(
        emulator
            .agent("nope", "accept", None)
            .map_err(|e| e.status()),
        Err(404)
    );
    assert_eq!(
        emulator
            .agent(&conversation, "dance", None)
            .map_err(|e| e.status()),
        Err(400)
    );
    let accepted = emulator
        .agent(&conversation, "accept", None)
        .expect("accepted");
    assert!(accepted["agent_id"].is_string());
    let sent = emulator
        .agent(&conversation, "text", Some(&json!({"text": "from Rust"})))
        .expect("sent");
    assert_eq!(sent["sequence"], 0);
    let text = receiver.next().await;
    assert_eq!(text.change()["event"]["message"], "from Rust");
    assert_eq!(text.change()["originatorId"], accepted["agent_id"]);
    emulator
        .agent(&conversation, "close", None)
        .expect("closed");
    let closed = emulator
        .agent(&conversation, "close", None)
        .expect_err("closed already");
    assert_eq!(
        (closed.status(), closed.message()),
        (409, "conversation is closed")
    );
    let seen = emulator.conversation(&conversation).expect("kept");
    assert_eq!(seen["state"], "CLOSE");
    assert_eq!(seen["events"][0]["role"], "ASSIGNED_AGENT");
    assert!(emulator.conversation("nope").is_none());
    receiver.none_pending();
    emulator.shutdown().await;
}

/// The Messaging Window API's close of a dialog, as LivePerson's
/// post-conversation survey page sends it.
fn dialog_change(conversation: &str, dialog: Value) -> Value {
    json!({"kind": "req", "id": "2", "type": "cm.UpdateConversationField",
        "body": {"conversationId": conversation, "conversationField":
            {"field": "DialogChange", "type": "UPDATE", "dialog": dialog}}})
}

#[tokio::test]
async fn closing_the_main_dialog_closes_the_conversation_as_a_close_does() {
    let mut receiver = Receiver::start(SECRET).await;
    let (emulator, connector) = start(config(&receiver, 0)).await;
    let conversation = connector.open().await;
    receiver.next().await;

    // Bad forms: 400 naming what is wrong, and nothing changes.
    for (dialog, wrong) in [
        (json!({"dialogId": conversation, "state": "OPEN"}), "OPEN"),
        (json!({"state": "CLOSE"}), "dialogId"),
        (json!({"dialogId": conversation}), "state"),
    ] {
        let (status, body) = connector
            .try_send(dialog_change(&conversation, dialog))
            .await;
        assert_eq!(status, 400, "{body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(wrong), "{message}");
    }
    // serde would read a number as the variant's index: refused.
    let mut numbered = dialog_change(
        &conversation,
        json!({"dialogId": conversation, "state": "CLOSE"}),
    );
    numbered["body"]["conversationField"]["field"] = json!(0);
    let (status, body) = connector.try_send(numbered).await;
    assert_eq!(
        (status, &body["message"]),
        (
            400,
            &json!("/body/conversationField/field: must be a string")
        )
    );
    let mut no_update = dialog_change(
        &conversation,
        json!({"dialogId": conversation, "state": "CLOSE"}),
    );
    no_update["body"]["conversationField"]["type"] = json!("CREATE");
    let (status, body) = connector.try_send(no_update).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("CREATE"),
        "{body}"
    );
    // A dialog the conversation does not have; a conversation that does not exist.
    let (status, body) = connector
        .try_send(dialog_change(
            &conversation,
            json!({"dialogId": "post-survey-1", "state": "CLOSE"}),
        ))
        .await;
    assert_eq!(
        (status, &body["message"]),
        (404, &json!("dialog not found"))
    );
    let (status, body) = connector
        .try_send(dialog_change(
            "no-such-conversation",
            json!({"dialogId": "post-survey-1", "state": "CLOSE"}),
        ))
        .await;
    assert_eq!(
        (status, &body["message"]),
        (404, &json!("conversation not found"))
    );
    assert_eq!(connector.conversation(&conversation).await["state"], "OPEN");

    let answer = connector
        .send(dialog_change(
            &conversation,
            json!({"dialogId": conversation, "state": "CLOSE", "closedCause": "Closed by consumer"}),
        ))
        .await;
    assert_eq!(answer, json!({"reqId": "2", "code": "OK", "body": {}}));
    let closed = receiver.next().await;
    assert_eq!(closed.kind(), "cqm.ExConversationChangeNotification");
    let details = &closed.change()["result"]["conversationDetails"];
    assert_eq!(details["state"], "CLOSE");
    assert_eq!(details["stage"], "CLOSE");
    assert_eq!(details["dialogs"][0]["state"], "CLOSE");
    assert_eq!(details["closeReason"], "CONSUMER");
    assert!(details["endTs"].as_i64().is_some());
    let seen = connector.conversation(&conversation).await;
    assert_eq!(seen["state"], "CLOSE");
    assert_eq!(seen["close_reason"], "CONSUMER");

    // Again: 200, and no second notification; publishing now is refused.
    let again = connector
        .send(dialog_change(
            &conversation,
            json!({"dialogId": conversation, "state": "CLOSE"}),
        ))
        .await;
    assert_eq!(again["code"], "OK");
    let (status, _) = connector
        .try_send(json!({"kind": "req", "id": "p", "type": "ms.PublishEvent",
            "body": {"dialogId": conversation, "event":
                {"type": "ContentEvent", "contentType": "text/plain", "message": "late"}}}))
        .await;
    assert_eq!(status, 409);
    conversation_until(&connector, &conversation, |c| {
        delivery_states(c).iter().all(|s| s == "delivered")
    })
    .await;
    receiver.none_pending();
    emulator.shutdown().await;
}

/// A card with quick replies, as LivePerson's structured content pages
/// write one.
fn card() -> Value {
    json!({
        "type": "vertical",
        "elements": [
            {"type": "image", "url": "https://shop.example.org/img/4711.png", "caption": "Order 4711",
             "click": {"metadata": [{"type": "ExternalId", "id": "4711"}]}},
            {"type": "text", "text": "Order 4711", "tooltip": "the order", "rtl": false,
             "style": {"bold": true, "italic": false, "color": "#000000", "size": "large"}},
            {"type": "button", "title": "Track it",
             "click": {"actions": [{"type": "link", "name": "Track", "uri": "https://shop.example.org/t/4711"}]}},
            {"type": "map", "la": 40.7562, "lo": -73.99861,
             "click": {"actions": [{"type": "navigate", "name": "Go", "la": 40.7562, "lo": -73.99861}]}},
        ],
    })
}

fn quick_replies() -> Value {
    json!({"type": "quickReplies", "itemsPerRow": 8, "replies": [
        {"type": "button", "title": "yes", "tooltip": "yes i do",
         "click": {"actions": [{"type": "publishText", "text": "yep"}],
                   "metadata": [{"type": "ExternalId", "id": "Yes-1234"}]},
         "style": {"color": "#fff", "background-color": "#333", "border-radius": 25, "bold": true}},
    ]})
}

#[tokio::test]
async fn structured_content_is_checked_and_delivered_as_a_rich_content_event() {
    let mut receiver = Receiver::start(SECRET).await;
    let (emulator, connector) = start(config(&receiver, 0)).await;
    let conversation = connector.open().await;
    receiver.next().await;

    let rich = |content: Value| json!({"type": "RichContentEvent", "content": content});
    let mut bad_quick_replies = rich(card());
    bad_quick_replies["quickReplies"] = json!({"type": "quickReplies", "itemsPerRow": 8,
        "replies": [{"type": "button", "click": {}}]});
    let refusals = [
        (
            json!({"type": "RichContentEvent"}),
            "/body/event/content: required",
        ),
        (
            rich(
                json!({"type": "vertical", "elements": [{"type": "text", "text": "a"}, {"type": "button"}]}),
            ),
            "/body/event/content/elements/1/title: required",
        ),
        (
            rich(json!({"type": "carousel", "elements": [card()]})),
            "/body/event/content/elements: at least 2 items",
        ),
        (
            rich(
                json!({"type": "image", "url": "https://x.example/i.png", "caption": "c".repeat(129)}),
            ),
            "/body/event/content/caption: at most 128 characters",
        ),
        (
            rich(json!({"type": "gallery", "elements": []})),
            "/body/event/content/type: unknown element type \"gallery\"",
        ),
        (
            rich(
                json!({"type": "button", "title": "t", "click": {"actions": [{"type": "call", "phone": "1"}]}}),
            ),
            "/body/event/content/click/actions/0/type: must be one of publishText, navigate, link",
        ),
        (
            bad_quick_replies,
            "/body/event/quickReplies/replies/0/title: required",
        ),
    ];
    for (event, expected) in refusals {
        let (status, body) = connector
            .try_send(json!({"kind": "req", "id": "r", "type": "ms.PublishEvent",
                "body": {"dialogId": conversation, "event": event}}))
            .await;
        assert_eq!(status, 400, "{body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(expected),
            "{message:?} is not {expected:?}"
        );
    }
    assert_eq!(
        connector.conversation(&conversation).await["events"],
        json!([]),
        "a refused SEND publishes nothing"
    );

    let mut event = rich(card());
    event["quickReplies"] = quick_replies();
    let answer = connector.publish(&conversation, event.clone()).await;
    assert_eq!(answer["body"]["sequence"], 0);
    let delivered = receiver.next().await;
    assert_eq!(delivered.kind(), "ms.MessagingEventNotification");
    assert_eq!(delivered.change()["sequence"], 0);
    assert_eq!(delivered.change()["originatorMetadata"]["role"], "CONSUMER");
    assert_eq!(delivered.change()["event"], event, "delivered as sent");

    // The JSON schema's name for the content, `message`, is delivered as `content`.
    let answer = connector
        .publish(
            &conversation,
            json!({"type": "RichContentEvent", "message": {"type": "text", "text": "hi"}}),
        )
        .await;
    assert_eq!(answer["body"]["sequence"], 1);
    assert_eq!(
        receiver.next().await.change()["event"],
        json!({"type": "RichContentEvent", "content": {"type": "text", "text": "hi"}})
    );

    conversation_until(&connector, &conversation, |c| {
        delivery_states(c).iter().all(|s| s == "delivered")
    })
    .await;
    let kinds: Vec<String> = emulator
        .requests()
        .into_iter()
        .filter_map(|r| r.webhook.map(|w| w.event_type))
        .collect();
    assert_eq!(
        kinds[1..],
        [
            WebhookEvent::RichContentEvent.as_str(),
            WebhookEvent::RichContentEvent.as_str()
        ]
    );
    receiver.none_pending();
    emulator.shutdown().await;
}

#[tokio::test]
async fn rich_content_goes_to_its_own_registration() {
    let mut receiver = Receiver::start(SECRET).await;
    let config = EmulatorConfig::new()
        .app_credentials(CLIENT_ID, SECRET)
        .webhook(WebhookEvent::RichContentEvent, receiver.url("/rich"), 0);
    let (emulator, connector) = start(config).await;
    let conversation = connector.open().await;
    connector
        .text(&conversation, "not delivered: no ContentEvent registration")
        .await;
    connector
        .publish(
            &conversation,
            json!({"type": "RichContentEvent", "content": card()}),
        )
        .await;
    let delivered = receiver.next().await;
    assert_eq!(delivered.path, "/rich");
    assert_eq!(delivered.change()["event"]["content"], card());
    assert_eq!(delivered.change()["sequence"], 1);
    receiver.none_pending();
    emulator.shutdown().await;
}
