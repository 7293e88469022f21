//! The whole return channel in Rust, as a connector service runs it: the
//! emulator delivers signed webhooks, the layer's axum route checks and types
//! them, and the connector awaits the agent through
//! `OpenConversation::events`. Nothing here is scripted on the test's side:
//! the emulator's echo agent answers.

use std::time::Duration;

use liveperson_ccs::MessagingClient;
use liveperson_ccs::connector::{AppJwtProvider, Discovery};
use liveperson_ccs::emulator::{Emulator, EmulatorConfig, Fault};
use liveperson_ccs::messaging::{
    Action, ClientFeature, ConversationRequest, Element, OpenConversation, QuickReplies,
    RichContent,
};
use liveperson_ccs::webhooks::{Notification, Receiver, Role};
use tokio::sync::mpsc;

const ACC: &str = "le12345678";
const CLIENT_ID: &str = "loop-client";
const SECRET: &str = "loop-secret-🔑-0123456789";
/// Generous: a delivery normally arrives in milliseconds.
const WAIT: Duration = Duration::from_secs(20);

/// A connector service: the webhook route on a loopback port, an emulator
/// delivering there with its echo agent on, and a conversation opened
/// through the whole connector flow.
struct Loop {
    receiver: Receiver,
    queue: mpsc::Receiver<Notification>,
    emulator: Emulator,
    conversation: OpenConversation,
}

async fn start(faults: &[Fault]) -> Loop {
    start_with(faults, EmulatorConfig::new(), &ConversationRequest::new()).await
}

/// As [`start`], with the emulator's other settings and the conversation
/// opened as `request` asks.
async fn start_with(
    faults: &[Fault],
    config: EmulatorConfig,
    request: &ConversationRequest,
) -> Loop {
    let receiver = Receiver::new(CLIENT_ID, SECRET, ACC);
    let (route, queue) = receiver.axum_channel(1024);
    let app = axum::Router::new().route("/lp/webhooks", route);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/lp/webhooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let emulator = Emulator::start(
        config
            .app_credentials(CLIENT_ID, SECRET)
            .webhook_all(&url, 0)
            .echo_agent(true),
    )
    .await
    .unwrap();
    for fault in faults {
        emulator.inject_fault(fault.clone()).unwrap();
    }
    let discovery = Discovery::builder()
        .account(ACC)
        .domain_api(emulator.base_url())
        .build()
        .unwrap();
    let app_jwt = AppJwtProvider::new(&discovery, CLIENT_ID, SECRET);
    let messaging = MessagingClient::builder()
        .discovery(&discovery)
        .app_jwt(app_jwt.clone())
        .build()
        .unwrap();
    let conversation = messaging
        .open(app_jwt.consumer("loop-consumer"), request)
        .await
        .unwrap();
    Loop {
        receiver,
        queue,
        emulator,
        conversation,
    }
}

/// Everything the route queued until `done` says the story is complete.
async fn collect(
    queue: &mut mpsc::Receiver<Notification>,
    mut done: impl FnMut(&[Notification]) -> bool,
) -> Vec<Notification> {
    let mut seen = Vec::new();
    while !done(&seen) {
        match tokio::time::timeout(WAIT, queue.recv()).await {
            Ok(Some(n)) => seen.push(n),
            other => panic!("the route queued nothing more ({other:?}); so far: {seen:#?}"),
        }
    }
    seen
}

/// The first notification the route queues that `pick` takes, skipping the
/// others.
async fn first<T>(
    queue: &mut mpsc::Receiver<Notification>,
    mut pick: impl FnMut(&Notification) -> Option<T>,
) -> T {
    let mut skipped = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, queue.recv()).await {
            Ok(Some(n)) => match pick(&n) {
                Some(found) => return found,
                None => skipped.push(n),
            },
            other => panic!("the route queued nothing more ({other:?}); skipped: {skipped:#?}"),
        }
    }
}

#[tokio::test]
async fn send_a_text_and_await_the_echo_agents_reply() {
    let mut lp = start(&[]).await;
    let id = lp.conversation.id().to_owned();
    let mut events = lp.conversation.events(&lp.receiver);
    let text = "Héllo 👋 — where is my order? «ﬁ» \u{1F600}";
    lp.conversation.send_text(text).await.unwrap();

    let reply = events.next_agent_text(WAIT).await.unwrap();
    assert_eq!(reply.event.message, text);
    assert_eq!(reply.conversation(), id);
    assert!(reply.is_from_agent());
    assert!(reply.sequence.is_some());

    // The route queued the same story: the conversation opened, the agent
    // joined, the consumer's own text, the agent's echo.
    let seen = collect(&mut lp.queue, |seen| {
        seen.iter()
            .any(|n| matches!(n, Notification::Content(m) if m.is_from_agent()))
            && seen
                .iter()
                .any(|n| matches!(n, Notification::Conversation(c) if c.assigned_agent().is_some()))
            && seen
                .iter()
                .any(|n| matches!(n, Notification::Content(m) if m.is_from_consumer()))
    })
    .await;
    assert!(
        seen.iter()
            .all(|n| n.conversation_id() == Some(id.as_str())),
        "{seen:#?}"
    );
    let consumer_text = seen
        .iter()
        .find_map(|n| match n {
            Notification::Content(m) if m.is_from_consumer() => Some(m),
            _ => None,
        })
        .unwrap();
    assert_eq!(consumer_text.event.message, text);

    // Closing is a conversation change the connector hears too.
    lp.conversation.close().await.unwrap();
    let closed = events
        .wait_for(WAIT, |n| match n {
            Notification::Conversation(c) if c.is_closed() => Some(c),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(closed.conversation_id, id);
    lp.emulator.shutdown().await;
}

#[tokio::test]
async fn a_delivery_sent_twice_reaches_the_connector_once() {
    // Every delivery is sent twice, as LivePerson does when an answer comes
    // late: the route answers both, the layer passes each change on once.
    let mut lp = start(&[Fault::duplicate_delivery().times(10_000)]).await;
    let texts = ["one", "two", "three"];
    for text in texts {
        lp.conversation.send_text(text).await.unwrap();
    }
    let seen = collect(&mut lp.queue, |seen| {
        seen.iter()
            .filter(|n| matches!(n, Notification::Content(m) if m.is_from_agent()))
            .count()
            == texts.len()
    })
    .await;
    // Give any stray second copy the time to arrive, then look at all.
    let mut rest = Vec::new();
    while let Ok(Some(n)) = tokio::time::timeout(Duration::from_millis(300), lp.queue.recv()).await
    {
        rest.push(n);
    }
    let all: Vec<_> = seen.into_iter().chain(rest).collect();
    for from_agent in [false, true] {
        let mut sequences: Vec<u64> = all
            .iter()
            .filter_map(|n| match n {
                Notification::Content(m) if m.is_from_agent() == from_agent => m.sequence,
                _ => None,
            })
            .collect();
        let count = sequences.len();
        sequences.dedup();
        assert_eq!(sequences.len(), count, "a change passed on twice: {all:#?}");
        assert_eq!(count, texts.len(), "{all:#?}");
    }
    // And the emulator did send each delivery twice.
    let attempts = lp
        .emulator
        .requests()
        .into_iter()
        .filter(|r| {
            r.webhook
                .as_ref()
                .is_some_and(|w| w.event_type == "ms.MessagingEventNotification.ContentEvent")
        })
        .count();
    assert!(
        attempts >= 2 * 2 * texts.len(),
        "{attempts} ContentEvent deliveries journaled"
    );
    lp.emulator.shutdown().await;
}

#[tokio::test]
async fn closing_the_main_dialog_is_a_close_the_connector_hears() {
    let lp = start(&[]).await;
    let id = lp.conversation.id().to_owned();
    let mut events = lp.conversation.events(&lp.receiver);
    let error = lp
        .conversation
        .close_dialog("a-post-survey-dialog")
        .await
        .expect_err("not a dialog of this conversation");
    assert!(error.is_not_found(), "{error:?}");
    lp.conversation.close_dialog(id.as_str()).await.unwrap();
    let closed = events
        .wait_for(WAIT, |n| match n {
            Notification::Conversation(c) if c.is_closed() => Some(c),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(closed.conversation_id, id);
    // As after `close`: closing again is fine, a text is refused.
    lp.conversation.close_dialog(id.as_str()).await.unwrap();
    let error = lp.conversation.send_text("late").await.expect_err("closed");
    assert!(error.is_conversation_closed(), "{error:?}");
    lp.emulator.shutdown().await;
}

#[tokio::test]
async fn a_card_sent_is_received_through_the_webhook_route_as_rich_content() {
    let mut lp = start(&[]).await;
    let id = lp.conversation.id().to_owned();
    let card = RichContent::new(Element::vertical([
        Element::image("https://shop.example.org/img/4711.png").caption("Order 4711"),
        Element::text("Where is order 4711?").bold(),
        Element::button("Track it").action(Action::link("https://shop.example.org/t/4711")),
    ]))
    .quick_replies(QuickReplies::new(2).reply("Refund", "I want a refund"));

    // What the schema refuses is refused before anything is sent.
    let error = lp
        .conversation
        .send_rich_content(Element::vertical([Element::raw(
            serde_json::json!({"type": "button"}),
        )]))
        .await
        .expect_err("a button needs a title");
    assert!(
        matches!(error, liveperson_ccs::Error::InvalidInput { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("/content/elements/0/title: required"),
        "{error}"
    );

    let sent = lp
        .conversation
        .send_rich_content(card.clone())
        .await
        .unwrap();
    assert_eq!(sent.sequence, Some(0), "the refused content was not sent");
    let notification = first(&mut lp.queue, |n| {
        matches!(n, Notification::RichContent(_)).then(|| n.clone())
    })
    .await;
    let Notification::RichContent(received) = &notification else {
        unreachable!("picked above")
    };
    assert_eq!(received.conversation(), id);
    assert!(received.is_from_consumer());
    assert_eq!(received.sequence, Some(0));
    assert_eq!(&received.event.content, card.content());
    assert_eq!(
        notification.pointer("/event/quickReplies").as_ref(),
        card.quick_replies_json()
    );
    lp.emulator.shutdown().await;
}

/// The agent shares a file (`POST .../agent/file`): the connector's route
/// gets it as a typed `hosted/file` ContentEvent and downloads the same
/// bytes through `ms.GenerateURLForDownloadFile`. Refusals change nothing.
#[tokio::test]
async fn a_file_the_agent_shares_reaches_the_connector_and_downloads() {
    use base64::Engine as _;
    let mut lp = start(&[]).await;
    let id = lp.conversation.id().to_owned();
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..=255u8).cycle().take(50_000))
        .collect();
    let content = base64::engine::general_purpose::STANDARD.encode(&png);

    // Refusals first: each a 400 (404 for no such conversation), nothing kept.
    let before = lp.emulator.conversation(&id).unwrap()["events"].clone();
    let too_big = base64::engine::general_purpose::STANDARD.encode(vec![0u8; 3 * 1024 * 1024 + 1]);
    for (conversation, body, status, names) in [
        (
            id.as_str(),
            serde_json::json!({"fileType": "PDF", "content": content}),
            400,
            "fileType",
        ),
        (
            id.as_str(),
            serde_json::json!({"fileType": "PNG", "content": too_big}),
            400,
            "3 MB",
        ),
        (
            id.as_str(),
            serde_json::json!({"fileType": "PNG", "content": "not base64!"}),
            400,
            "base64",
        ),
        (
            id.as_str(),
            serde_json::json!({"fileType": "PNG", "content": ""}),
            400,
            "content",
        ),
        (
            id.as_str(),
            serde_json::json!({"fileType": "PNG", "content": content, "preview": "x".repeat(30 * 1024)}),
            400,
            "preview",
        ),
        (
            id.as_str(),
            serde_json::json!({"fileType": "PNG", "content": content, "preview": "data:é"}),
            400,
            "printable ASCII",
        ),
        (
            id.as_str(),
            serde_json::json!({"fileType": "PNG", "content": content, "size": 1}),
            400,
            "size",
        ),
        (
            "no-such-conversation",
            serde_json::json!({"fileType": "PNG", "content": content}),
            404,
            "not found",
        ),
    ] {
        let error = lp
            .emulator
            .agent(conversation, "file", Some(&body))
            .expect_err("refused");
        assert_eq!(error.status(), status, "{error}");
        assert!(error.message().contains(names), "{error}");
    }
    assert_eq!(lp.emulator.conversation(&id).unwrap()["events"], before);

    // The echo agent accepted the conversation: the route shares the file.
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/__emulator/conversations/{id}/agent/file",
            lp.emulator.base_url()
        ))
        .json(&serde_json::json!({
            "fileType": "PNG", "content": content, "caption": "your receipt",
            "preview": "data:image/png;base64,iVBORw0KGgo=",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(answer, serde_json::json!({"sequence": 0}));

    let received = first(&mut lp.queue, |n| match n {
        Notification::Content(m) if m.is_from_agent() => Some(m.clone()),
        _ => None,
    })
    .await;
    assert_eq!(received.conversation(), id);
    assert_eq!(received.sequence, Some(0));
    assert_eq!(received.event.content_type, "hosted/file");
    let file = received.event.file.expect("the file's description");
    assert_eq!(file.file_type, "PNG");
    assert_eq!(file.caption.as_deref(), Some("your receipt"));
    assert_eq!(
        file.preview.as_deref(),
        Some("data:image/png;base64,iVBORw0KGgo=")
    );
    assert!(
        file.relative_path
            .starts_with(&format!("/v1/AUTH_async-images/{ACC}/")),
        "{}",
        file.relative_path
    );
    assert_eq!(
        lp.conversation
            .download_file(&file.relative_path)
            .await
            .unwrap(),
        png
    );

    // Closed: 409, as for the agent's text.
    lp.emulator.agent(&id, "close", None).unwrap();
    let error = lp
        .emulator
        .agent(
            &id,
            "file",
            Some(&serde_json::json!({"fileType": "GIF", "content": "R0lGODlh"})),
        )
        .expect_err("closed");
    assert_eq!(error.status(), 409, "{error}");
    lp.emulator.shutdown().await;
}

/// A connector that declares `AUTO_MESSAGES`, on an account with automatic
/// messages on, hears the system's texts (role CONTROLLER) through its
/// route, and waiting for the agent's text skips them.
#[tokio::test]
async fn automatic_messages_reach_a_connector_that_declared_them() {
    let request = ConversationRequest::new().feature(ClientFeature::AutoMessages);
    let mut lp = start_with(&[], EmulatorConfig::new().auto_messages(true), &request).await;
    let mut events = lp.conversation.events(&lp.receiver);
    lp.conversation.send_text("ping").await.unwrap();
    let reply = events.next_agent_text(WAIT).await.unwrap();
    assert_eq!(reply.event.message, "ping");

    let system = |seen: &[Notification]| -> Vec<String> {
        seen.iter()
            .filter_map(|n| match n {
                Notification::Content(m) if m.role() == Some(&Role::Controller) => {
                    Some(m.event.message.clone())
                }
                _ => None,
            })
            .collect()
    };
    let seen = collect(&mut lp.queue, |seen| system(seen).len() == 2).await;
    assert_eq!(
        system(&seen),
        [
            "Welcome! An agent will be with you shortly.",
            "You are now connected to an agent.",
        ]
    );
    assert!(
        seen.iter().all(|n| match n {
            Notification::Content(m) if m.role() == Some(&Role::Controller) => !m.is_from_agent(),
            _ => true,
        }),
        "{seen:#?}"
    );
    lp.emulator.shutdown().await;
}

/// The post-conversation survey through the layer: a connector that
/// declares `MULTI_DIALOG` closes the conversation, hears the survey
/// dialog open (the conversation not yet closed) and its bot's question,
/// answers in that dialog, and hears the conversation end.
#[tokio::test]
async fn a_connector_answers_the_post_conversation_survey() {
    let request = ConversationRequest::new().feature(ClientFeature::MultiDialog);
    let config = EmulatorConfig::new().post_conversation_survey(true);
    let lp = start_with(&[], config, &request).await;
    let mut events = lp.conversation.events(&lp.receiver);
    lp.conversation.send_text("thanks, bye").await.unwrap();
    let echo = events.next_agent_text(WAIT).await.unwrap();
    assert_eq!(echo.event.message, "thanks, bye");

    lp.conversation.close().await.unwrap();
    let survey = events
        .wait_for(WAIT, |n| match n {
            Notification::Conversation(c) => c.survey_dialog().map(str::to_owned),
            _ => None,
        })
        .await
        .unwrap();
    let question = events.next_agent_text(WAIT).await.unwrap();
    assert_eq!(question.role(), Some(&Role::Agent));
    assert!(question.event.message.contains("rate this conversation"));

    // The MAIN dialog is closed: a plain text is refused as such.
    let refused = lp.conversation.send_text("still there?").await.unwrap_err();
    assert!(refused.is_conversation_closed(), "{refused:?}");
    assert!(matches!(
        lp.conversation.send_text_to_dialog("", "5").await,
        Err(liveperson_ccs::Error::InvalidInput { .. })
    ));

    lp.conversation
        .send_text_to_dialog(&survey, "5")
        .await
        .unwrap();
    let thanks = events.next_agent_text(WAIT).await.unwrap();
    assert_eq!(thanks.event.message, "Thank you for your feedback.");
    let over = events
        .wait_for(WAIT, |n| match n {
            Notification::Conversation(c) if c.is_closed() => Some(c),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(over.survey_dialog(), None);
    lp.emulator.shutdown().await;
}

/// A bot's card (`POST .../agent/rich-content`) reaches a connector that
/// declared `RICH_CONTENT` as typed rich content from the agent.
#[tokio::test]
async fn the_agents_card_reaches_a_connector_that_declared_rich_content() {
    let request = ConversationRequest::new().feature(ClientFeature::RichContent);
    let mut lp = start_with(&[], EmulatorConfig::new(), &request).await;
    let id = lp.conversation.id().to_owned();
    let card = RichContent::new(Element::vertical([
        Element::text("Your order has shipped"),
        Element::button("Track it").action(Action::link("https://shop.example.org/t/4711")),
    ]));
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/__emulator/conversations/{id}/agent/rich-content",
            lp.emulator.base_url()
        ))
        .json(&serde_json::json!({"content": card.content()}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    let received = first(&mut lp.queue, |n| match n {
        Notification::RichContent(m) if m.is_from_agent() => Some(m.clone()),
        _ => None,
    })
    .await;
    assert_eq!(received.conversation(), id);
    assert_eq!(&received.event.content, card.content());
    lp.emulator.shutdown().await;
}
