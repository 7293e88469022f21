//! No secret in the logs: every tracing event at TRACE level, from the crate,
//! reqwest, hyper and the in-process emulator, is captured while the clients
//! make successful calls, rejected calls, and retried calls; none of them may
//! hold an API key, access token or JWT.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
use liveperson_ccs::messaging::ConversationRequest;
use liveperson_ccs::{CcsV1Client, CcsV2Client, MessagingClient, RetryPolicy};
use serde_json::json;

const API_KEY: &str = "log-test-api-key-8f1c";
const TOKEN: &str = "log-test-access-token-77ab";
const APP_JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJhcHAiOiJsb2cifQ.c2lnbmF0dXJlLWFwcA";
const CONSUMER_JWS: &str = "eyJhbGciOiJIUzI1NiJ9.eyJjb25zdW1lciI6ImxvZyJ9.c2lnbmF0dXJlLWNvbg";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every event up to `level` on this thread while the guard lives
/// (the test runtime is single-threaded: the emulator's tasks log here too).
fn capture(level: tracing::Level) -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

/// A v1 call to `base`, where nothing listens any more: three attempts, each
/// refused, then the error.
async fn call_refused(base: &str) {
    let refused = CcsV1Client::builder()
        .account("le12345678")
        .base_url(base)
        .api_key(API_KEY)
        .retry_policy(RetryPolicy::default().with_initial_delay(Duration::from_millis(1)))
        .build()
        .unwrap();
    assert!(refused.list_namespaces().await.is_err());
}

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let _alone = crate::ONE_AT_A_TIME.lock().await;
    // The test runtime is single-threaded: the emulator's tasks log here too.
    let (captured, _guard) = capture(tracing::Level::TRACE);

    let emulator = Emulator::start(EmulatorConfig::new().api_key(API_KEY).access_token(TOKEN))
        .await
        .unwrap();
    let base = emulator.base_url();
    let quick = RetryPolicy::default().with_initial_delay(Duration::from_millis(1));
    let v1 = CcsV1Client::builder()
        .account("le12345678")
        .base_url(&base)
        .api_key(API_KEY)
        .retry_policy(quick.clone())
        .build()
        .unwrap();
    let v2 = CcsV2Client::builder()
        .account("le12345678")
        .base_url(&base)
        .access_token(TOKEN)
        .build()
        .unwrap();
    let messaging = MessagingClient::builder()
        .account("le12345678")
        .base_url(&base)
        .app_jwt(APP_JWT)
        .build()
        .unwrap();

    // Successful calls of each API.
    let session = v1.session("myNamespace", "mySessionId").unwrap();
    session.set_properties(&json!({"a": 1})).await.unwrap();
    assert_eq!(session.get_property::<u32>("a").await.unwrap(), Some(1));
    let doc = v2.session_document("myNamespace", "mySessionId").unwrap();
    assert!(doc.get().await.unwrap().is_some());
    messaging
        .create_conversation(CONSUMER_JWS, &ConversationRequest::new())
        .await
        .unwrap();
    // Rejected calls: a wrong key and a wrong token (the emulator logs them).
    let wrong_v1 = CcsV1Client::builder()
        .account("le12345678")
        .base_url(&base)
        .api_key(format!("{API_KEY}-wrong"))
        .build()
        .unwrap();
    assert!(wrong_v1.list_namespaces().await.is_err());
    let wrong_v2 = CcsV2Client::builder()
        .account("le12345678")
        .base_url(&base)
        .access_token(format!("{TOKEN}-wrong"))
        .build()
        .unwrap();
    assert!(
        wrong_v2
            .session_document("myNamespace", "s")
            .unwrap()
            .get()
            .await
            .is_err()
    );
    emulator.shutdown().await;
    // Retried calls: connection refused, three attempts.
    let refused = CcsV1Client::builder()
        .account("le12345678")
        .base_url(&base)
        .api_key(API_KEY)
        .retry_policy(quick)
        .build()
        .unwrap();
    assert!(refused.list_namespaces().await.is_err());

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("liveperson_ccs.call") && logs.contains("retrying"),
        "the calls were logged: {logs}"
    );
    for secret in [API_KEY, TOKEN, APP_JWT, CONSUMER_JWS] {
        assert!(!logs.contains(secret), "{secret} is in the logs:\n{logs}");
    }
    // Nor the JWTs' distinctive parts.
    assert!(
        !logs.contains("c2lnbmF0dXJl"),
        "a JWT signature is in the logs"
    );
}

/// Each call logs exactly one completion event, inside its span, with its
/// status (or error), its attempts and its duration, each field once.
#[tokio::test]
async fn one_completion_event_per_call() {
    let _alone = crate::ONE_AT_A_TIME.lock().await;
    let (captured, _guard) = capture(tracing::Level::DEBUG);

    let emulator = Emulator::start(EmulatorConfig::new()).await.unwrap();
    let v1 = CcsV1Client::builder()
        .account("le12345678")
        .base_url(emulator.base_url())
        .api_key(API_KEY)
        .build()
        .unwrap();
    let session = v1.session("myNamespace", "mySessionId").unwrap();
    session.set_properties(&json!({"a": 1})).await.unwrap();
    let base = emulator.base_url();
    emulator.shutdown().await;
    // Connection refused: three attempts, then the error.
    call_refused(&base).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let ours: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("liveperson_ccs.call{"))
        .collect();
    let finished: Vec<&str> = ours
        .iter()
        .copied()
        .filter(|line| line.contains("call finished"))
        .collect();
    assert_eq!(finished.len(), 2, "one per call:\n{logs}");
    // The target README's example shows, the same since the layout change.
    assert!(
        finished
            .iter()
            .all(|line| line.contains(" liveperson_ccs::transport: call finished")),
        "{finished:#?}"
    );
    assert!(
        finished[0].contains(" DEBUG ")
            && finished[0].contains("operation=\"set_session_properties\"")
            && finished[0].contains("method=PATCH")
            && finished[0].contains("status=204")
            && finished[0].contains("attempts=1")
            && finished[0].contains("duration_ms="),
        "{}",
        finished[0]
    );
    assert!(
        finished[1].contains("operation=\"list_namespaces\"")
            && finished[1].contains("attempts=3")
            && finished[1].contains("error=")
            && !finished[1].contains("status="),
        "{}",
        finished[1]
    );
    for line in &ours {
        for field in ["attempts=", "status=", "duration_ms=", "operation="] {
            assert!(line.matches(field).count() <= 1, "{field} twice: {line}");
        }
    }
    let retries = ours.iter().filter(|line| line.contains("retrying")).count();
    assert_eq!(retries, 2, "a WARN per retry:\n{logs}");
}

/// Every event that reports a failed attempt says why in a `cause` field
/// (one word of a closed set) and gives the error with its causes: a
/// timeout and a refused connection no longer read alike.
#[tokio::test]
async fn failed_attempts_name_their_cause() {
    let _alone = crate::ONE_AT_A_TIME.lock().await;
    let (captured, _guard) = capture(tracing::Level::DEBUG);

    // A server that answers too late for the attempt's timeout.
    let emulator = Emulator::start(EmulatorConfig::new()).await.unwrap();
    emulator
        .inject_fault(liveperson_ccs::emulator::Fault::delay(Duration::from_secs(3)).times(2))
        .unwrap();
    let slow = CcsV1Client::builder()
        .account("le12345678")
        .base_url(emulator.base_url())
        .api_key(API_KEY)
        .attempt_timeout(Duration::from_millis(300))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_initial_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let error = slow.list_namespaces().await.expect_err("too slow");
    assert!(
        matches!(error, liveperson_ccs::Error::Timeout { .. }),
        "{error:?}"
    );
    let base = emulator.base_url();
    emulator.shutdown().await;
    // Nothing listens there any more: refused.
    call_refused(&base).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let failed: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("retrying") || line.contains("call finished"))
        .collect();
    // Two calls: a retry and the end of each (timeout), two retries and the
    // end (refused).
    assert_eq!(failed.len(), 5, "{logs}");
    for line in &failed[..2] {
        assert!(line.contains("cause=\"timeout\""), "{line}");
    }
    for line in &failed[2..] {
        assert!(line.contains("cause=\"connect\""), "{line}");
        // The reason, not only reqwest's "error sending request".
        assert!(line.to_ascii_lowercase().contains("refused"), "{line}");
    }
}

/// README's filter (`liveperson_ccs` at DEBUG) shows the clients' calls but
/// not the in-process emulator answering them: the emulator logs under its
/// own target, `ccs_emulator`, which shows them when asked. And `check()`
/// of a well configured client logs no 404 (v2 reads a property, answered
/// 200 `{}`, rather than a document that does not exist).
#[tokio::test]
async fn the_emulator_logs_under_its_own_target_and_check_logs_no_404() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;

    let _alone = crate::ONE_AT_A_TIME.lock().await;
    let filtered = |targets: Targets| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || writer.clone()),
            )
            .with(targets);
        (captured, tracing::subscriber::set_default(subscriber))
    };
    let logs = |captured: &Captured| String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();

    let emulator = Emulator::start(EmulatorConfig::new()).await.unwrap();
    let base = emulator.base_url();
    let v1 = CcsV1Client::builder()
        .account("le12345678")
        .base_url(&base)
        .api_key(API_KEY)
        .build()
        .unwrap();
    let v2 = CcsV2Client::builder()
        .account("le12345678")
        .base_url(&base)
        .access_token(TOKEN)
        .build()
        .unwrap();

    let (captured, guard) =
        filtered(Targets::new().with_target("liveperson_ccs", tracing::Level::DEBUG));
    v1.check().await.unwrap();
    v2.check().await.unwrap();
    drop(guard);
    let readme = logs(&captured);
    let finished: Vec<&str> = readme
        .lines()
        .filter(|line| line.contains("call finished"))
        .collect();
    assert_eq!(finished.len(), 2, "{readme}");
    assert!(
        finished.iter().all(|line| line.contains("status=200")),
        "check() logs no 404: {readme}"
    );
    assert!(
        !readme.contains("emulator") && !readme.contains(" request "),
        "the emulator's events are not under liveperson_ccs: {readme}"
    );

    let (captured, guard) = filtered(
        Targets::new().with_target(liveperson_ccs::emulator::LOG_TARGET, tracing::Level::DEBUG),
    );
    v1.check().await.unwrap();
    drop(guard);
    let emulator_logs = logs(&captured);
    let requests: Vec<&str> = emulator_logs
        .lines()
        .filter(|line| line.contains(" ccs_emulator: request "))
        .collect();
    assert_eq!(requests.len(), 1, "{emulator_logs}");
    assert!(
        requests[0].contains("method=GET")
            && requests[0].contains("path=\"/v1/account/le12345678\"")
            && requests[0].contains("status=200"),
        "{}",
        requests[0]
    );
    assert!(!emulator_logs.contains("call finished"), "{emulator_logs}");
    emulator.shutdown().await;
}
