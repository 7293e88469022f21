#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod client;
pub mod connector;
mod error;
mod generated;
mod names;
mod region;
// Public only for the `ccs` binary (a separate crate), so that it counts
// documents as the library does: not part of the API, may change in any release.
#[doc(hidden)]
pub mod values;

pub mod messaging;
pub mod v1;
pub mod v2;
pub mod webhooks;

#[cfg(feature = "emulator")]
pub mod emulator;

pub use client::builder::ClientBuilder;
pub use client::refresh::{
    BoxError, DEFAULT_RENEW_BEFORE, RefreshError, RefreshingCredential, Token,
};
pub use client::retry::RetryPolicy;
pub use client::secret::{Credential, CredentialFuture, CredentialProvider, Secret};
pub use connector::discovery::DiscoverySettings;
pub use error::{BODY_CUT_MARK, Error};
pub use messaging::MessagingClient;
pub use messaging::MessagingCredentials;
pub use names::{
    AccountId, DEFAULT_SESSION, IntoName, Namespace, PropertyName, RESERVED_NAMESPACES, SessionId,
};
pub use region::Region;
pub use v1::CcsV1Client;
pub use v1::V1Credentials;
pub use v2::CcsV2Client;
pub use v2::V2Credentials;

/// The `http` crate's types the API uses ([`Error::status`] answers a
/// `StatusCode`; the emulator's `Fault::method` takes a `Method`), so that
/// matching on them needs no dependency of your own.
pub use http::{Method, StatusCode};

/// The clients progenitor generates from `openapi/*.yaml`, for anything the
/// typed layer does not cover (reach them with `raw()` on each client).
///
/// They follow the specs exactly and change whenever a spec does: they are
/// not covered by this crate's semver promise the way the layer is. Names
/// are the layer's own validated types ([`AccountId`], [`Namespace`],
/// [`SessionId`], [`PropertyName`]) in the generated code too, so a raw call
/// refuses a bad name before sending, just as the layer does.
///
/// [`domain`](raw::domain) (the Domain API) and
/// [`connector_auth`](raw::connector_auth) (Sentinel's AppJWT, the IDP's
/// ConsumerJWS) are the connector flow's specs; their types are here, and
/// their clients are reached through the layer that uses them.
///
/// [`webhooks`](raw::webhooks) has types only, no client: it is generated
/// from `openapi/connector-webhooks.yaml`, the calls LivePerson makes to the
/// connector, not calls the crate makes. `raw::webhooks::types::Notification`
/// is one webhook body: an enum of `MessagingEventNotification` and
/// `ExConversationChangeNotification`, and `UnknownNotification` for a
/// `type` the spec does not list; each change's `event` is a
/// `MessagingEvent`, with `UnknownMessagingEvent` likewise. Unknown fields
/// are kept in each struct's `extra`, and roles, chat states and the like
/// are strings, so what LivePerson adds never makes a body fail to parse.
pub mod raw {
    // One module for each spec of `openapi/specs.txt` that names one (for a
    // `types` spec, its `types` module only).
    pub use crate::generated::*;
}
