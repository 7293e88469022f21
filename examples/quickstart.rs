//! The warm hand-off, end to end: a concierge bot stores what it learned in
//! the conversation's context, an agent reads it back, the same through CCS v2
//! documents, and then the connector flow: find the account's hosts with the
//! Domain API, get the AppJWT and the consumer's ConsumerJWS, open a
//! messaging conversation with the customer's SDEs, show typing, send a
//! text, receive the agent's reply through a verified webhook, and close it.
//!
//! `cargo run --example quickstart` runs it on an in-process emulator, whose
//! echo agent answers the text (the quickstart mounts the webhook route on a
//! loopback port and registers it with the emulator). With
//! `LP_ACCOUNT_ID` and credentials in the environment (see README.md) it runs
//! against LivePerson instead, and skips the parts whose credentials are not
//! set: the connector flow needs `LP_APP_CLIENT_ID` and `LP_APP_CLIENT_SECRET`
//! (`LP_DOMAIN_API` names another Domain API host). To receive LivePerson's
//! webhooks too, set `LP_WEBHOOK_LISTEN` (an address such as `0.0.0.0:8080`)
//! and register that host's public HTTPS URL, path `/liveperson/webhooks`, in
//! the App Installation's `capabilities.webhooks`; without it the quickstart
//! does not wait for an answer.

use std::time::Duration;

use liveperson_ccs::connector::{AppJwtProvider, Discovery};
use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
use liveperson_ccs::messaging::{
    ChatState, ConversationRequest, CustomerInfo, Gender, PersonalInfo, Urgency,
};
use liveperson_ccs::webhooks::Receiver;
use liveperson_ccs::{CcsV1Client, CcsV2Client, Credential, MessagingClient};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What the concierge bot learned.
#[derive(Debug, Serialize, Deserialize)]
struct Intent {
    name: String,
    confidence: f64,
}

/// Where the story runs.
struct Clients {
    v1: CcsV1Client,
    v2: Option<CcsV2Client>,
    connector: Option<Connector>,
    /// Where LivePerson's webhooks arrive, checked and typed.
    webhooks: Option<Receiver>,
    emulator: Option<Emulator>,
}

/// The path the webhook route is mounted at.
const WEBHOOK_PATH: &str = "/liveperson/webhooks";

/// Serves the webhook route of `receiver` on `listener` in the background.
/// The route answers each call at once; the quickstart reads what came
/// through [`Receiver::conversation`], so the queue's own copy is dropped.
fn serve_webhooks(receiver: &Receiver, listener: tokio::net::TcpListener) {
    let (route, mut queue) = receiver.axum_channel(256);
    tokio::spawn(async move { while queue.recv().await.is_some() {} });
    let app = axum::Router::new().route(WEBHOOK_PATH, route);
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// The connector's side.
enum Connector {
    /// The whole flow: its hosts (Domain API) and its AppJWT (Sentinel).
    Flow {
        discovery: Discovery,
        app_jwt: AppJwtProvider,
    },
    /// Tokens got elsewhere: `LP_APP_JWT`, `LP_CONSUMER_JWS` and the
    /// messaging host `LP_MESSAGING_DOMAIN`.
    Fixed {
        messaging: MessagingClient,
        consumer_jws: String,
    },
}

impl Connector {
    fn new(discovery: Discovery, client_id: &str, client_secret: String) -> Connector {
        let app_jwt = AppJwtProvider::new(&discovery, client_id, client_secret);
        Connector::Flow { discovery, app_jwt }
    }
}

async fn clients() -> Result<Clients, Box<dyn std::error::Error>> {
    if std::env::var_os("LP_ACCOUNT_ID").is_some() {
        println!("running against LivePerson (LP_ACCOUNT_ID is set)");
        let v2 = std::env::var_os("LP_CCS_ACCESS_TOKEN")
            .map(|_| CcsV2Client::from_env())
            .transpose()?;
        let mut webhooks = None;
        let connector = match (
            std::env::var("LP_APP_CLIENT_ID"),
            std::env::var("LP_APP_CLIENT_SECRET"),
        ) {
            (Ok(id), Ok(secret)) => {
                if let Ok(address) = std::env::var("LP_WEBHOOK_LISTEN") {
                    let account = std::env::var("LP_ACCOUNT_ID")?;
                    let receiver = Receiver::new(id.as_str(), secret.as_str(), account);
                    let listener = tokio::net::TcpListener::bind(&address).await?;
                    serve_webhooks(&receiver, listener);
                    println!("   receiving webhooks at {address}{WEBHOOK_PATH}");
                    webhooks = Some(receiver);
                }
                // LP_ACCOUNT_ID, and LP_DOMAIN_API if set.
                let discovery = Discovery::builder().with_env()?.build()?;
                Some(Connector::new(discovery, &id, secret))
            }
            _ => match (
                std::env::var_os("LP_APP_JWT"),
                std::env::var("LP_CONSUMER_JWS"),
            ) {
                (Some(_), Ok(consumer_jws)) => Some(Connector::Fixed {
                    messaging: MessagingClient::from_env()?,
                    consumer_jws,
                }),
                _ => None,
            },
        };
        let v1 = CcsV1Client::from_env()?;
        // One cheap read each: a wrong base URL, proxy or key fails here, with
        // a clear error, rather than later as missing data.
        v1.check().await?;
        if let Some(v2) = &v2 {
            v2.check().await?;
        }
        println!("   configuration checked: CCS answers at {}", v1.base_url());
        return Ok(Clients {
            v1,
            v2,
            connector,
            webhooks,
            emulator: None,
        });
    }
    let account = "le12345678";
    let (client_id, client_secret) = ("demo-client-id", "demo-client-secret");
    // The connector's webhook route, on a loopback port of its own; the
    // emulator delivers every event type there, signed with the app's
    // secret, and its echo agent answers each consumer text.
    let receiver = Receiver::new(client_id, client_secret, account);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let webhook_url = format!("http://{}{WEBHOOK_PATH}", listener.local_addr()?);
    serve_webhooks(&receiver, listener);
    let emulator = Emulator::start(
        EmulatorConfig::new()
            .app_credentials(client_id, client_secret)
            .webhook_all(&webhook_url, 0)
            .echo_agent(true),
    )
    .await?;
    let base = emulator.base_url();
    println!("running on an in-process emulator at {base} (set LP_ACCOUNT_ID to use LivePerson)");
    Ok(Clients {
        v1: CcsV1Client::builder()
            .account(account)
            .base_url(&base)
            .api_key("demo-api-key")
            .build()?,
        v2: Some(
            CcsV2Client::builder()
                .account(account)
                .base_url(&base)
                .access_token("demo-access-token")
                .build()?,
        ),
        // The emulator is its own Domain API, Sentinel and IDP.
        connector: Some(Connector::new(
            Discovery::builder()
                .account(account)
                .domain_api(&base)
                .build()?,
            client_id,
            client_secret.to_owned(),
        )),
        webhooks: Some(receiver),
        emulator: Some(emulator),
    })
}

async fn story(c: &Clients, namespace: &str) -> Result<(), Box<dyn std::error::Error>> {
    let conversation = "conv-8602832d";

    // 1. The concierge bot prepares a namespace whose data lives one hour,
    //    and gives the conversation's session a TTL of its own. A TTL applies
    //    to the writes that follow it, so it is set first.
    c.v1.set_namespace_ttl(namespace, Duration::from_secs(3600))
        .await?;
    let session = c.v1.session(namespace, conversation)?;
    session.set_ttl(Duration::from_secs(2 * 3600)).await?;
    println!(
        "1. bot: namespace {namespace} ready (1 h), session {conversation} keeps its data {:?}",
        session.ttl().await?.unwrap_or_default()
    );

    // 2. It stores what it learned in the conversation's session.
    session
        .set_property(
            "intent",
            &Intent {
                name: "billing_dispute".into(),
                confidence: 0.92,
            },
        )
        .await?;
    session
        .set_properties(
            &json!({ "customerName": "John Doe", "tier": "vip", "lastOrders": [1042, 1057] }),
        )
        .await?;
    println!("2. bot: stored intent and customer details in session {conversation}");

    // 3. The agent picks the conversation up and reads the context back.
    let intent: Option<Intent> = session.get_property("intent").await?;
    let details = session.get_properties(["customerName", "tier"]).await?;
    match intent {
        Some(intent) => println!(
            "3. agent: customer {} ({}) wants {} (confidence {:.2})",
            details
                .get("customerName")
                .and_then(|v| v.as_str())
                .unwrap_or("?"),
            details.get("tier").and_then(|v| v.as_str()).unwrap_or("?"),
            intent.name,
            intent.confidence
        ),
        None => println!("3. agent: no intent was handed over"),
    }

    // 4. Sessions of the namespace, as a stream over pages.
    use futures::TryStreamExt;
    let sessions: Vec<String> =
        c.v1.session_ids(namespace)?
            .page_size(100)
            .stream()
            .try_collect()
            .await?;
    println!("4. agent: namespace {namespace} holds sessions {sessions:?}");

    // 5. The same context through CCS v2 documents (one store on upgraded accounts).
    if let Some(v2) = &c.v2 {
        let doc = v2.session_document(namespace, conversation)?;
        doc.set_properties(
            &json!({ "handoffReason": "needs a human" }),
            Duration::from_secs(3600),
        )
        .await?;
        let tier: Option<String> = doc.get_property("tier").await?;
        let document = doc.get().await?;
        println!(
            "5. v2: document {} holds {} properties (tier {}), expires {}",
            document
                .as_ref()
                .map(|d| d.document_key.as_str())
                .unwrap_or("(none)"),
            document.as_ref().map(|d| d.payload.len()).unwrap_or(0),
            tier.as_deref().unwrap_or("?"),
            document
                .as_ref()
                .and_then(|d| d.expires_at)
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "never".into())
        );
    } else {
        println!("5. v2: skipped (LP_CCS_ACCESS_TOKEN is not set)");
    }

    // 6. The connector flow: the Domain API names the hosts (one request,
    //    cached), Sentinel gives the AppJWT, the IDP the consumer's
    //    ConsumerJWS; both are cached and renewed before they expire.
    let (messaging, consumer): (Option<MessagingClient>, Option<Credential>) = match &c.connector {
        Some(Connector::Flow { discovery, app_jwt }) => {
            let messaging_host = discovery.base_uri("asyncMessagingEnt").await?;
            let consumer = app_jwt.consumer("John_Doe_facebook12345");
            consumer.get().await?;
            println!(
                "6. connector: messaging at {messaging_host}; AppJWT and ConsumerJWS for {} obtained",
                consumer.ext_consumer_id()
            );
            let messaging = MessagingClient::builder()
                .discovery(discovery)
                .app_jwt(app_jwt.clone())
                .build()?;
            (Some(messaging), Some(consumer.into()))
        }
        Some(Connector::Fixed {
            messaging,
            consumer_jws,
        }) => {
            println!("6. connector: using the AppJWT and ConsumerJWS of the environment");
            (Some(messaging.clone()), Some(consumer_jws.as_str().into()))
        }
        None => (None, None),
    };
    if let (Some(messaging), Some(consumer)) = (messaging, consumer) {
        let request = ConversationRequest::new()
            .customer_info(CustomerInfo {
                social_id: Some("1234567890".into()),
                ctype: Some("vip".into()),
            })
            .personal_info(PersonalInfo {
                firstname: Some("John".into()),
                lastname: Some("Doe".into()),
                gender: Some(Gender::Male),
            })
            .urgency(Urgency::Normal)
            .skill("-1");
        let conversation = messaging.open(consumer, &request).await?;
        println!(
            "7. messaging: opened conversation {} with the customer's SDEs",
            conversation.id()
        );
        // Listen before sending, so that no answer is missed.
        let mut events = c.webhooks.as_ref().map(|r| conversation.events(r));
        conversation.chat_state(ChatState::Composing).await?;
        let sent = conversation
            .send_text("Hi, I have a question about my last bill")
            .await?;
        conversation.chat_state(ChatState::Active).await?;
        println!(
            "8. messaging: showed typing, sent a text (sequence {})",
            sent.sequence.unwrap_or_default()
        );
        match &mut events {
            Some(events) => {
                let reply = events.next_agent_text(Duration::from_secs(30)).await?;
                println!(
                    "9. webhooks: the agent answered {:?} (signature, client and account checked)",
                    reply.event.message
                );
            }
            None => {
                println!("9. webhooks: not waiting for an answer (LP_WEBHOOK_LISTEN is not set)")
            }
        }
        conversation.close().await?;
        println!("10. messaging: conversation closed");
    } else {
        println!(
            "6-10. connector flow: skipped (LP_APP_CLIENT_ID and LP_APP_CLIENT_SECRET, or LP_APP_JWT, LP_CONSUMER_JWS and LP_MESSAGING_DOMAIN, are not set)"
        );
    }

    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clients = clients().await?;
    let namespace = format!(
        "quickstart_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let outcome = story(&clients, &namespace).await;
    // Clean up whatever happened.
    let cleanup = clients.v1.delete_namespace(namespace.as_str()).await;
    if let Some(emulator) = clients.emulator {
        emulator.shutdown().await;
    }
    outcome?;
    cleanup?;
    println!("11. done: namespace {namespace} deleted");
    Ok(())
}
