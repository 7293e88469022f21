//! The Messaging API of a connector: CONVERSATION opens a conversation on
//! behalf of a consumer; SEND publishes into it and closes it. Both check
//! the connector tokens first (the AppJWT and the ConsumerJWS that
//! `connector.rs` issued).
//!
//! | file | holds | uses |
//! | --- | --- | --- |
//! | `conversation.rs` | CONVERSATION and its payloads' shapes | `auth`, `context`, `error`, `json` |
//! | `send.rs` | SEND and its payloads' shapes | `auth`, `context`, `error` |
//! | `auth.rs` | the AppJWT and ConsumerJWS checks, the documented 401 body | `context`, `error`, `tokens` |
//! | `state.rs` | the conversations: who opened each, open or closed, the next sequence number | `error`, `files` |
//! | `files.rs` | file sharing: the temporary URLs and their check, the stored files | `error` |
//! | `swift.rs` | the `swift` host's PUT and GET of a file | `context`, `error`, `files` |
//!
//! `state.rs` is held by [`Shared`](super::context::Shared) (so it is below
//! `context.rs`), the handlers take a [`Call`](super::context::Call) (so
//! they are above it): the files form no circle.

mod auth;
mod conversation;
pub(super) mod files;
mod send;
pub(super) mod state;
mod swift;

pub(super) use conversation::create_conversation;
pub(super) use send::send_to_conversation;
pub(super) use swift::{download_file, upload_file};
