//! The integration tests that touch process-wide state, apart from the rest
//! (`tests/it/`) so that nothing else runs beside them:
//!
//! | module | what it covers | the process-wide state |
//! | --- | --- | --- |
//! | `env` | the builders' `with_env()` / `from_env()` | environment variables |
//! | `logs` | no secret in any log event; one completion event per call; the emulator's own target; `check()` logs no 404 | the tracing dispatcher and its callsite cache |
//!
//! Each test holds [`ONE_AT_A_TIME`]: `logs` captures events with a
//! thread-local default subscriber, and while another thread made calls with
//! no subscriber (the `env` test, or any test of `tests/it/`), it missed the
//! crate's own events (tracing caches each callsite's interest process-wide).

#[path = "../support/mod.rs"]
mod support;

mod env;
mod logs;

/// Held by every test of this binary for its whole run, so that none runs
/// beside another.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
