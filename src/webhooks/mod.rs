//! The return channel: the webhooks LivePerson sends a connector (the
//! agent's messages, chat states, read receipts, and every change of a
//! conversation), verified and typed.
//!
//! Source: LivePerson's developer docs, Connector API → Webhooks
//! ("Notification Protocol", "Retry Policy", "Configuration", "Webhooks
//! Examples"); the contract is `openapi/connector-webhooks.yaml`.

mod signature;

pub use signature::{
    SIGNATURE_HEADER, SignatureAlgorithm, SignatureEncoding, SignatureError, sign, verify_signature,
};
