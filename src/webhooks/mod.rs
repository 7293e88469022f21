//! The return channel: the webhooks LivePerson sends a connector (the
//! agent's messages, chat states, read receipts, and every change of a
//! conversation), verified and typed.
//!
//! Source: LivePerson's developer docs, Connector API → Webhooks
//! ("Notification Protocol", "Retry Policy", "Configuration", "Webhooks
//! Examples"); the contract is `openapi/connector-webhooks.yaml`.
//!
//! # How LivePerson calls a connector
//!
//! The App Installation registers one endpoint per event type
//! (`capabilities.webhooks`: `ms.MessagingEventNotification.ContentEvent`,
//! `…RichContentEvent`, `…AcceptStatusEvent`, `…ChatStateEvent`,
//! `cqm.ExConversationChangeNotification`). LivePerson `POST`s each
//! notification there as JSON, with three headers:
//!
//! | header | holds | checked by |
//! | --- | --- | --- |
//! | `x-liveperson-account-id` | the account | [`Receiver`] (one account or several) |
//! | `x-liveperson-client-id` | the installation's `client_id` | [`Receiver`] |
//! | `x-liveperson-signature` | `sha1=` + Base64 of HMAC-SHA1(`client_secret`, raw body) | [`verify_signature`] |
//!
//! The body holds one or more changes: `{"kind": "notification", "type":
//! "ms.MessagingEventNotification" | "cqm.ExConversationChangeNotification",
//! "body": {"changes": [...]}}`. Only a 200 or 201 answer is a success;
//! anything else, or no answer within LivePerson's deadline (5 s to
//! connect, 5 s to read), is retried up to the registration's
//! `max_retries`, 30 s apart. So: answer at once, and expect a change
//! twice.
//!
//! # The pieces
//!
//! - [`Receiver`]: checks a call (client id, account id, signature), reads
//!   its body into [`Notification`]s, passes each change on once
//!   (redeliveries suppressed, see [`Receiver`]), and lets a task await one
//!   conversation's events ([`Receiver::conversation`]). Framework-neutral:
//!   headers and bytes in.
//! - With the feature `webhooks-axum`: `Receiver::axum_channel` and
//!   `Receiver::axum_handler`, the route a connector service mounts; it
//!   answers 200 at once and queues the notifications, 503 when the queue
//!   is full (LivePerson retries), 401 or 400 with a JSON message when a
//!   check fails.
//! - [`Notification`]: the enum to `match` on, one variant per kind of
//!   change; unknown types and fields are kept, never refused.
//! - [`parse`], [`verify_signature`], [`sign`]: the steps on their own.
//! - The spec's own types, generated from `openapi/connector-webhooks.yaml`
//!   ([`raw::webhooks::types`](crate::raw::webhooks::types)), are what
//!   [`parse`] reads each change with: the envelope's `type` picks
//!   `MessagingEventChange` or `ConversationChange`, and the layer's structs
//!   are built from the result by moving its fields. So the spec is the one
//!   reading of the wire: what it requires is required (e.g. `originatorId`,
//!   as LivePerson's JSON schemas require it), while roles, states and other
//!   open values are any string and unknown fields are kept (`extra`), so
//!   nothing LivePerson adds is refused. A refused change is a [`BodyError`]
//!   naming the field. Every field the spec describes, typed, is one
//!   [`Message::to_raw`] or [`ConversationChange::to_raw`] away; the change's
//!   text is kept ([`Notification::raw_json`]), and so are fields added to
//!   the envelope ([`Notification::envelope_extra`]). This costs about what a
//!   `serde_json::Value` of the body costs (see BENCHMARKS.md).
//!
//! LivePerson may deliver out of order (a retry comes after later
//! changes): order messages by [`Message::sequence`] and conversation
//! changes by [`ConversationDetails::meta_data_last_update_ts`].
//!
//! # A connector service with axum
//!
//! With the feature `webhooks-axum` (`liveperson-ccs = { version = "0.1",
//! features = ["webhooks-axum"] }`; it adds axum and its few own dependencies):
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use liveperson_ccs::webhooks::{Notification, Receiver};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // From the App Installation, and the account(s) it serves.
//!     let receiver = Receiver::new(
//!         std::env::var("LP_CLIENT_ID")?,
//!         std::env::var("LP_CLIENT_SECRET")?,
//!         std::env::var("LP_ACCOUNT_ID")?,
//!     );
//!
//!     // Every new change, once, in a task of its own; the endpoint has
//!     // already answered 200.
//!     let route = receiver.axum_handler(1024, |notification| async move {
//!         match notification {
//!             Notification::Content(text) if text.is_from_agent() => {
//!                 println!("agent in {}: {}", text.conversation(), text.event.message);
//!             }
//!             Notification::ChatState(state) => {
//!                 println!("{:?} is {}", state.role(), state.event.chat_state_text);
//!             }
//!             Notification::Conversation(change) if change.is_closed() => {
//!                 println!("{} closed ({:?})", change.conversation_id, change.details.close_reason);
//!             }
//!             Notification::Unknown(other) => {
//!                 println!("not known yet: {} {:?}", other.notification_type, other.event_type);
//!             }
//!             _ => {}
//!         }
//!     });
//!     let app = axum::Router::new().route("/liveperson/webhooks", route);
//!
//!     // Elsewhere in the service: await one conversation's answer.
//!     let waiting = receiver.clone();
//!     tokio::spawn(async move {
//!         let mut events = waiting.conversation("5491244f-e462-4c63-bf4e-faf4b2d3e7b5");
//!         // ... conversation.send_text("Hello").await ...
//!         match events.next_agent_text(Duration::from_secs(60)).await {
//!             Ok(reply) => println!("the agent answered {}", reply.event.message),
//!             Err(err) => println!("{err}"),
//!         }
//!     });
//!
//!     let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! # Without axum
//!
//! Give [`Receiver::receive`] the headers and the raw body, and answer
//! what it says: `Ok` → 200 (also when every change was a redelivery),
//! `Err(e)` → `e.status()` with `e.to_string()`. Hand the notifications to
//! your own work **after** answering; if you cannot take them (a full
//! queue), answer 503 instead, and call [`Receiver::check`] then
//! [`Receiver::admit`] only once you can, so the retry is not taken for a
//! redelivery.
//!
//! ```
//! use liveperson_ccs::webhooks::{sign, Receiver};
//! use http::HeaderMap;
//!
//! let receiver = Receiver::new("my-client-id", "my-client-secret", "64467156");
//! let body = br#"{"kind":"notification","type":"cqm.ExConversationChangeNotification",
//!   "body":{"changes":[{"type":"UPSERT","result":{"convId":"c1",
//!   "conversationDetails":{"participants":[],"state":"CLOSE","closeReason":"AGENT",
//!   "startTs":1,"metaDataLastUpdateTs":1}}}]}}"#;
//! let mut headers = HeaderMap::new();
//! headers.insert("x-liveperson-client-id", "my-client-id".parse()?);
//! headers.insert("x-liveperson-account-id", "64467156".parse()?);
//! headers.insert(
//!     "x-liveperson-signature",
//!     sign("my-client-secret", body, Default::default(), Default::default()).parse()?,
//! );
//! let (status, notifications) = match receiver.receive(&headers, body) {
//!     Ok(delivery) => (200, delivery.into_notifications()),
//!     Err(err) => (err.status().as_u16(), Vec::new()),
//! };
//! assert_eq!((status, notifications.len()), (200, 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Awaiting the agent's reply
//!
//! [`Receiver::conversation`] (or [`OpenConversation::events`](crate::messaging::OpenConversation::events))
//! gives one conversation's notifications as they arrive. Ask for it before
//! sending:
//!
//! ```no_run
//! # async fn demo(
//! #     receiver: liveperson_ccs::webhooks::Receiver,
//! #     conversation: liveperson_ccs::messaging::OpenConversation,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! let mut events = conversation.events(&receiver);
//! conversation.send_text("Where is my order?").await?;
//! let reply = events.next_agent_text(std::time::Duration::from_secs(60)).await?;
//! println!("{}", reply.event.message);
//! # Ok(()) }
//! ```

// DESIGN: one file a concern:
//
// | file | holds | uses |
// | --- | --- | --- |
// | `signature.rs` | `sign`, `verify_signature` | (hmac, sha1, sha2) |
// | `notification.rs` | `Notification` and its types, `parse` (with the generated types) | `error`, `diagnose`, `crate::raw::webhooks::types`, `crate::messaging::send` (its `ChatState`, `AcceptStatus`) |
// | `diagnose.rs` | naming the field of a refused body (the cold path; its tables tested against the spec) | `error` |
// | `error.rs` | `WebhookError`, `BodyError` | `signature` |
// | `receiver.rs` | `Receiver`, `Delivery`, redeliveries, `ConversationEvents` | all the above (`messaging/conversation.rs` uses it: `OpenConversation::events`) |
// | `axum.rs` | the axum route (feature `webhooks-axum`) | `receiver` |

#[cfg(feature = "webhooks-axum")]
mod axum;
mod diagnose;
mod error;
mod notification;
mod receiver;
mod signature;

pub use error::{BodyError, WebhookError};
/// The `http` crate's header map [`Receiver::receive`] takes (axum's
/// `axum::http::HeaderMap` is the same type), so that building one needs
/// no dependency of your own.
pub use http::{HeaderMap, HeaderValue};
pub use notification::{
    AcceptStatusEvent, CONVERSATION_CHANGE_NOTIFICATION, ChangeType, ChatStateEvent, ContentEvent,
    ConversationChange, ConversationDetails, ConversationState, HostedFile,
    MESSAGING_EVENT_NOTIFICATION, Message, Notification, Participant, RichContentEvent, Role, Ttr,
    UnknownChange, parse,
};
pub use receiver::{
    ACCOUNT_ID_HEADER, CLIENT_ID_HEADER, CONVERSATION_BUFFER, Checked, ConversationEvents,
    DEFAULT_REMEMBERED, Delivery, Receiver, WaitError,
};
pub use signature::{
    SIGNATURE_HEADER, SignatureAlgorithm, SignatureEncoding, SignatureError, sign, verify_signature,
};
