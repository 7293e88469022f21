//! The clients progenitor generates from `openapi/*.yaml` at build time: one
//! module for each spec of `openapi/specs.txt` that names one (build.rs
//! writes the list of modules, with their docs, into `OUT_DIR`). A spec
//! marked `types` there (`connector-webhooks.yaml`, the calls LivePerson
//! makes to the connector) gets its `types` module only, no client.
//!
//! Private to the crate; [`crate::raw`] re-exports them on purpose, for what
//! the hand-written layer does not cover.

include!(concat!(env!("OUT_DIR"), "/generated_modules.rs"));
