//! The warm hand-off, end to end: a concierge bot stores what it learned in
//! the conversation's context, an agent reads it back, the same through CCS v2
//! documents, and a messaging conversation is opened with the customer's SDEs.
//!
//! `cargo run --example quickstart` runs it on an in-process emulator. With
//! `LP_ACCOUNT_ID` and credentials in the environment (see README.md) it runs
//! against LivePerson instead, and skips the parts whose credentials are not set.

use std::time::Duration;

use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
use liveperson_ccs::messaging::{ConversationRequest, CustomerInfo, Gender, PersonalInfo, Urgency};
use liveperson_ccs::{CcsV1Client, CcsV2Client, Error, MessagingClient};
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
    messaging: Option<(MessagingClient, String)>,
    emulator: Option<Emulator>,
}

async fn clients() -> Result<Clients, Box<dyn std::error::Error>> {
    if std::env::var_os("LP_ACCOUNT_ID").is_some() {
        println!("running against LivePerson (LP_ACCOUNT_ID is set)");
        let v2 = std::env::var_os("LP_CCS_ACCESS_TOKEN")
            .map(|_| CcsV2Client::from_env())
            .transpose()?;
        let messaging = match (
            std::env::var_os("LP_APP_JWT"),
            std::env::var("LP_CONSUMER_JWS"),
        ) {
            (Some(_), Ok(jws)) => Some((MessagingClient::from_env()?, jws)),
            _ => None,
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
            messaging,
            emulator: None,
        });
    }
    let emulator = Emulator::start(EmulatorConfig::new()).await?;
    let base = emulator.base_url();
    println!("running on an in-process emulator at {base} (set LP_ACCOUNT_ID to use LivePerson)");
    let account = "le12345678";
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
        messaging: Some((
            MessagingClient::builder()
                .account(account)
                .base_url(&base)
                .app_jwt("demo-app-jwt")
                .build()?,
            "demo-consumer-jws".to_owned(),
        )),
        emulator: Some(emulator),
    })
}

async fn story(c: &Clients, namespace: &str) -> Result<(), Error> {
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

    // 6. A messaging conversation, with the customer's SDEs.
    if let Some((messaging, consumer_jws)) = &c.messaging {
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
        let opened = messaging
            .create_conversation(consumer_jws.as_str(), &request)
            .await?;
        println!(
            "6. messaging: opened conversation {}",
            opened.conversation_id
        );
    } else {
        println!(
            "6. messaging: skipped (LP_APP_JWT, LP_MESSAGING_DOMAIN or LP_CONSUMER_JWS is not set)"
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
    println!("7. done: namespace {namespace} deleted");
    Ok(())
}
