//! The clients progenitor generates from `openapi/*.yaml` at build time: one
//! module for each spec of `openapi/specs.txt` that names one (build.rs
//! writes the list of modules, with their docs, into `OUT_DIR`).
//!
//! Private to the crate; [`crate::raw`] re-exports them on purpose, for what
//! the hand-written layer does not cover.

include!(concat!(env!("OUT_DIR"), "/generated_modules.rs"));
