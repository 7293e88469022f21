//! The clients progenitor generates from `openapi/*.yaml` at build time.
//!
//! Private to the crate; [`crate::raw`] re-exports them on purpose, for what
//! the hand-written layer does not cover.

/// CCS v1, from `openapi/ccs-v1.yaml`.
#[allow(missing_docs, unused_imports, clippy::all, clippy::pedantic, dead_code)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/ccs_v1.rs"));
}

/// CCS v2, from `openapi/ccs-v2.yaml`.
#[allow(missing_docs, unused_imports, clippy::all, clippy::pedantic, dead_code)]
pub mod v2 {
    include!(concat!(env!("OUT_DIR"), "/ccs_v2.rs"));
}

/// Messaging CONVERSATION, from `openapi/messaging.yaml`.
#[allow(missing_docs, unused_imports, clippy::all, clippy::pedantic, dead_code)]
pub mod messaging {
    include!(concat!(env!("OUT_DIR"), "/messaging.rs"));
}

/// The Domain API, from `openapi/domain.yaml`.
#[allow(missing_docs, unused_imports, clippy::all, clippy::pedantic, dead_code)]
pub mod domain {
    include!(concat!(env!("OUT_DIR"), "/domain.rs"));
}

/// The connector tokens (Sentinel's AppJWT, the IDP's ConsumerJWS), from
/// `openapi/connector-auth.yaml`.
#[allow(missing_docs, unused_imports, clippy::all, clippy::pedantic, dead_code)]
pub mod connector_auth {
    include!(concat!(env!("OUT_DIR"), "/connector_auth.rs"));
}
