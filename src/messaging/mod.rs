//! The Messaging API of a connector: CONVERSATION opens a conversation on
//! behalf of a consumer, with the consumer's SDEs and routing; SEND publishes
//! into it and closes it.
//!
//! The connector's other APIs (the Domain API, Sentinel's AppJWT, the IDP's
//! ConsumerJWS) are in [`crate::connector`].

// DESIGN: one file a concern, no import circle between them:
//
// | file | holds | uses |
// | --- | --- | --- |
// | `client.rs` | `MessagingClient`: builder, hosts, tokens, the renew-once call, CONVERSATION, the SEND call | `request`, `send` |
// | `request.rs` | `ConversationRequest` and its SDEs | (generated types only) |
// | `conversation.rs` | `OpenConversation` and `MessagingClient::open` / `::conversation` | `client`, `request`, `send` |
// | `rich.rs` | structured content: `RichContent`, its builders, the schema check | (none) |
// | `send.rs` | SEND's payload types (`ChatState`, `AcceptStatus`), its answer `Sent`, request ids | (generated types only) |
// | `files.rs` | file sharing: `OpenConversation::send_file` / `::download_file`, `FileType`, the limits | `conversation`, `send` (and `OpenConversation`'s fields) |

mod client;
mod conversation;
mod files;
mod request;
pub(crate) mod rich; // the emulator checks SEND's structured content with it
pub(crate) mod send; // webhooks reads its ChatState and AcceptStatus

pub use client::{Conversation, MessagingClient, MessagingCredentials};
pub use conversation::OpenConversation;
pub use files::{FileSent, FileType, MAX_FILE_BYTES, MAX_PREVIEW_BYTES};
pub use request::{
    Campaign, ClientFeature, ConversationContext, ConversationRequest, CustomerInfo, Gender,
    PersonalInfo, Urgency,
};
pub use rich::{Action, Element, QuickReplies, RichContent};
pub use send::{AcceptStatus, ChatState, Sent};
