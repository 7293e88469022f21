//! The integration tests: one binary, one module per area, so that the crate
//! (with its emulator and CLI) is linked once rather than once per file.
//!
//! | module | what it covers |
//! | --- | --- |
//! | `layer` | the hand-written layer: validation, names in paths, scrubbing, retries, paging |
//! | `request_shapes` | insta snapshots of every CCS request, held to the documents' examples |
//! | `connector_shapes` | snapshots of the connector flow's requests |
//! | `connector_forms` | the connector forms LivePerson's own code sends (Bearer, Sentinel forms, headers) |
//! | `connector` | discovery, AppJWT and ConsumerJWS providers, the conversation flow |
//! | `errors` | error classification and messages |
//! | `hostile_server` | misbehaving servers: cut bodies, huge answers, redirects, stalls |
//! | `raw_values` | values kept as the JSON text sent, every digit |
//! | `round_trip` | the clients against the in-process emulator |
//! | `emulator_http` | the emulator over HTTP, as other-language clients meet it |
//! | `emulator_admin` | the emulator's test-double routes: reset, journal, faults, clock |
//! | `emulator_webhooks` | webhook deliveries, the agent's routes, the echo agent, retries |
//! | `cli` | the `ccs` binary, run as a process |
//! | `generated_api` | snapshots of the API progenitor generates from each spec |
//! | `schema_match` | the layer's types against their spec schemas (feature `schemars`) |
//! | `webhooks` | webhook notifications typed, signatures, the receiver, its axum route |
//! | `webhooks_spec` | `connector-webhooks.yaml`'s examples against its generated types |
//!
//! `tests/process/` is the other binary: the tests that change process-wide
//! state (the environment, the tracing dispatcher).
//! Shared helpers (a loopback capture server, replies) are in `tests/support/`.
//! Run one area with `cargo test --test it layer::`.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod connector;
mod connector_forms;
mod connector_shapes;
mod docs;
mod emulator_admin;
mod emulator_http;
mod emulator_webhooks;
mod errors;
mod files;
mod generated_api;
mod hostile_server;
mod layer;
mod layout;
mod raw_values;
mod request_shapes;
mod round_trip;
mod schema_match;
mod webhooks;
mod webhooks_loop;
mod webhooks_spec;
