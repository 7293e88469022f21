//! The emulator as a test double (`openapi/emulator-admin.yaml`): reset, the
//! journal, faults, the clock, and the specs and reference it serves; over
//! HTTP and through the methods of `Emulator`.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use liveperson_ccs::emulator::{Emulator, EmulatorConfig, Fault, Outcome};
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "admin-test-api-key";
const TOKEN: &str = "admin-test-access-token";
const ACC: &str = "le12345678";
const NS: &str = "adminNs";

struct Ccs {
    emulator: Emulator,
    http: Client,
}

impl Ccs {
    async fn start() -> Ccs {
        Ccs::with(EmulatorConfig::new()).await
    }

    async fn with(config: EmulatorConfig) -> Ccs {
        Ccs {
            emulator: Emulator::start(config).await.expect("emulator starts"),
            http: Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.base_url())
    }

    fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(&format!("/__emulator/{path}")))
    }

    fn v1(&self, method: Method, rest: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(&format!("/v1/account/{ACC}{rest}")))
            .header("maven-api-key", KEY)
    }

    fn v2(&self, method: Method, rest: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(&format!("/v2/context/document{rest}")))
            .query(&[("access_token", TOKEN)])
    }

    async fn journal(&self) -> Vec<Value> {
        let (status, body) = call(self.admin(Method::GET, "requests")).await;
        assert_eq!(status, StatusCode::OK);
        match body {
            Value::Array(entries) => entries,
            other => panic!("the journal is not an array: {other}"),
        }
    }

    async fn faults(&self) -> Value {
        let (status, body) = call(self.admin(Method::GET, "faults")).await;
        assert_eq!(status, StatusCode::OK);
        body
    }

    async fn clock(&self) -> String {
        let (status, body) = call(self.admin(Method::GET, "clock")).await;
        assert_eq!(status, StatusCode::OK);
        body["now"].as_str().expect("now is a string").to_owned()
    }

    async fn save_v1(&self, property: &str) -> StatusCode {
        call(
            self.v1(Method::PATCH, &format!("/{NS}/properties"))
                .json(&json!({ property: 1 })),
        )
        .await
        .0
    }

    async fn read_v1(&self) -> Value {
        let (status, body) = call(self.v1(Method::GET, &format!("/{NS}/properties"))).await;
        assert_eq!(status, StatusCode::OK);
        body
    }
}

/// Sends; the status and the body as JSON (`Null` if empty).
async fn call(request: RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let bytes = response.bytes().await.expect("body read");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{status}: not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, body)
}

fn parse_time(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"))
        .to_utc()
}

// ---------------------------------------------------------------- reset

#[tokio::test]
async fn reset_forgets_data_faults_journal_and_the_clock_advance() {
    let ccs = Ccs::start().await;
    assert_eq!(ccs.save_v1("kept").await, StatusCode::NO_CONTENT);
    let (status, _) = call(
        ccs.admin(Method::POST, "faults")
            .json(&json!({ "path": "/nowhere", "status": 503 })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(
        ccs.admin(Method::POST, "clock")
            .json(&json!({ "advance_seconds": 86400 })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!ccs.journal().await.is_empty());

    let (status, body) = call(ccs.admin(Method::POST, "reset")).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));

    assert_eq!(ccs.journal().await, Vec::<Value>::new());
    assert_eq!(ccs.faults().await, json!([]));
    let now = parse_time(&ccs.clock().await);
    assert!(
        now < chrono::Utc::now() + chrono::TimeDelta::hours(1),
        "{now}"
    );
    assert_eq!(ccs.read_v1().await, json!({}));
    let (_, namespaces) = call(ccs.v1(Method::GET, "")).await;
    assert_eq!(namespaces, json!([]));
}

// ---------------------------------------------------------------- journal

#[tokio::test]
async fn the_journal_records_requests_with_credentials_redacted() {
    let ccs = Ccs::start().await;
    // The API key also sent in another header and in the body: redacted there too.
    let status = call(
        ccs.v1(Method::PATCH, &format!("/{NS}/properties?x=1"))
            .header("x-echo", format!("key={KEY}"))
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"p": "{KEY}", "n": 123456789012345678901234}}"#
            )),
    )
    .await
    .0;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(ccs.v2(Method::GET, &format!("/{ACC}/{NS}"))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        ccs.http
            .post(ccs.url(&format!(
                "/api/account/{ACC}/messaging/consumer/conversation?v=3"
            )))
            .header("Authorization", "Bearer the-app-jwt-value")
            .header("X-LP-ON-BEHALF", "the-consumer-jws-value")
            .header("content-type", "text/plain")
            .body("not json"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Admin requests are not recorded.
    let _ = ccs.faults().await;

    let journal = ccs.journal().await;
    assert_eq!(journal.len(), 3, "{journal:#?}");
    let text = serde_json::to_string(&journal).expect("serializable");
    for secret in [KEY, TOKEN, "the-app-jwt-value", "the-consumer-jws-value"] {
        assert!(!text.contains(secret), "{secret} in the journal: {text}");
    }

    let patch = &journal[0];
    assert_eq!(patch["method"], "PATCH");
    assert_eq!(
        patch["path"],
        format!("/v1/account/{ACC}/{NS}/properties?x=1")
    );
    assert_eq!(patch["status"], 204);
    assert_eq!(patch["headers"]["maven-api-key"], "[redacted]");
    assert_eq!(patch["headers"]["x-echo"], "key=[redacted]");
    assert_eq!(patch["headers"]["content-type"], "application/json");
    assert_eq!(patch["body"]["p"], "[redacted]");
    let raw = ccs
        .admin(Method::GET, "requests")
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(
        raw.contains(r#""n": 123456789012345678901234"#),
        "the body as sent: {raw}"
    );
    assert!(patch.get("fault").is_none());
    let at = parse_time(patch["at"].as_str().expect("at"));
    assert!((chrono::Utc::now() - at).num_seconds().abs() < 60, "{at}");

    let get = &journal[1];
    assert_eq!(get["method"], "GET");
    assert_eq!(
        get["path"],
        format!("/v2/context/document/{ACC}/{NS}?access_token=[redacted]")
    );
    assert_eq!(get["status"], 200);
    assert!(get.get("body").is_none());

    let messaging = &journal[2];
    assert_eq!(messaging["headers"]["authorization"], "[redacted]");
    assert_eq!(messaging["headers"]["x-lp-on-behalf"], "[redacted]");
    assert!(messaging.get("body").is_none(), "not JSON: no body");
    assert_eq!(messaging["body_text"], "not json", "but its text");

    // The same through the Rust API.
    let recorded = ccs.emulator.requests();
    assert_eq!(recorded.len(), 3);
    assert_eq!(recorded[0].header("Maven-Api-Key"), Some("[redacted]"));
    assert_eq!(
        recorded[0].body.as_ref().map(|b| &b["p"]),
        Some(&json!("[redacted]"))
    );
    assert_eq!(recorded[1].status, Some(200));

    let (status, _) = call(ccs.admin(Method::DELETE, "requests")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(ccs.journal().await.is_empty());
    assert!(ccs.emulator.requests().is_empty());
}

#[tokio::test]
async fn the_journal_keeps_the_most_recent_entries() {
    let ccs = Ccs::with(EmulatorConfig::new().journal_limit(3)).await;
    for i in 0..5 {
        let (status, _) = call(ccs.v1(Method::GET, &format!("/{NS}/properties?i={i}"))).await;
        assert_eq!(status, StatusCode::OK);
    }
    let paths: Vec<String> = ccs
        .journal()
        .await
        .iter()
        .map(|e| e["path"].as_str().unwrap_or_default().to_owned())
        .collect();
    let want: Vec<String> = (2..5)
        .map(|i| format!("/v1/account/{ACC}/{NS}/properties?i={i}"))
        .collect();
    assert_eq!(paths, want);

    let off = Ccs::with(EmulatorConfig::new().journal_limit(0)).await;
    assert_eq!(off.save_v1("p").await, StatusCode::NO_CONTENT);
    assert!(off.journal().await.is_empty());
}

#[tokio::test]
async fn refused_requests_are_recorded_too() {
    let ccs = Ccs::with(EmulatorConfig::new().api_key(KEY)).await;
    let (status, _) = call(
        ccs.http
            .get(ccs.url(&format!("/v1/account/{ACC}")))
            .header("maven-api-key", "a-wrong-key"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(ccs.http.get(ccs.url("/unknown"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let statuses: Vec<Option<u16>> = ccs.emulator.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(403), Some(404)]);
    assert_eq!(
        ccs.emulator.requests()[0].header("maven-api-key"),
        Some("[redacted]")
    );
}

// ------------------------------------------------- journal: what it hides

/// A secret of each test below: long enough to be found anywhere.
const SECRET: &str = "s3cr3t-never-shown";

impl Ccs {
    /// `GET /__emulator/requests` as text, exactly as served.
    async fn journal_text(&self) -> String {
        let response = self
            .admin(Method::GET, "requests")
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.expect("text")
    }

    /// Sends `request` (any answer will do), then checks that [`SECRET`] is
    /// nowhere in the journal, over HTTP or through the Rust API, and that
    /// the one entry shows `[redacted]`; that entry.
    async fn sent_without_secret(&self, request: RequestBuilder) -> Value {
        self.clear_journal_and_send(request).await;
        let text = self.journal_text().await;
        assert!(!text.contains(SECRET), "the secret in the journal: {text}");
        assert!(text.contains("[redacted]"), "nothing redacted: {text}");
        let rust = format!("{:?}", self.emulator.requests());
        assert!(!rust.contains(SECRET), "the secret in requests(): {rust}");
        let journal: Vec<Value> = serde_json::from_str(&text).expect("JSON");
        assert_eq!(journal.len(), 1, "{journal:#?}");
        journal[0].clone()
    }

    async fn clear_journal_and_send(&self, request: RequestBuilder) {
        self.emulator.clear_requests();
        let _ = request.send().await.expect("answered");
    }

    fn sentinel(&self, query: &str) -> RequestBuilder {
        self.http.post(self.url(&format!(
            "/sentinel/api/account/{ACC}/app/token?v=1.0&grant_type=client_credentials{query}"
        )))
    }
}

#[tokio::test]
async fn a_client_secret_in_the_query_is_redacted() {
    let ccs = Ccs::start().await;
    let entry = ccs
        .sent_without_secret(ccs.sentinel(&format!("&client_id=c&client_secret={SECRET}")))
        .await;
    assert_eq!(
        entry["path"],
        format!(
            "/sentinel/api/account/{ACC}/app/token?v=1.0&grant_type=client_credentials\
             &client_id=c&client_secret=[redacted]"
        )
    );
}

#[tokio::test]
async fn a_client_secret_in_a_form_body_is_redacted_and_the_form_shown() {
    let ccs = Ccs::start().await;
    let entry = ccs
        .sent_without_secret(
            ccs.sentinel("")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("client_id=c&client_secret={SECRET}")),
        )
        .await;
    assert_eq!(entry["status"], 200);
    assert!(entry.get("body").is_none(), "not JSON: {entry}");
    assert_eq!(entry["body_text"], "client_id=c&client_secret=[redacted]");
    assert_eq!(entry["body_truncated"], false);
    let recorded = &ccs.emulator.requests()[0];
    assert_eq!(
        recorded.body_text.as_deref(),
        Some("client_id=c&client_secret=[redacted]")
    );
    assert!(recorded.body.is_none() && !recorded.body_truncated);
}

#[tokio::test]
async fn a_client_secret_in_a_json_body_is_redacted_and_the_rest_kept_as_sent() {
    let ccs = Ccs::start().await;
    let entry = ccs
        .sent_without_secret(
            ccs.sentinel("")
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"client_id": "c", "nested": {{"CLIENT_SECRET": "{SECRET}", "n": 1.50}}}}"#
                )),
        )
        .await;
    assert_eq!(entry["status"], 400, "Sentinel wants a form");
    assert_eq!(
        entry["body"],
        json!({"client_id": "c", "nested": {"CLIENT_SECRET": "[redacted]", "n": 1.5}})
    );
    assert!(
        ccs.journal_text().await.contains(
            r#"{"client_id": "c", "nested": {"CLIENT_SECRET": "[redacted]", "n": 1.50}}"#
        ),
        "the rest of the body as sent"
    );
}

#[tokio::test]
async fn an_access_token_in_any_case_is_redacted() {
    let ccs = Ccs::start().await;
    let entry = ccs
        .sent_without_secret(ccs.v2(Method::GET, &format!("/{ACC}/{NS}?ACCESS_TOKEN={SECRET}")))
        .await;
    assert_eq!(
        entry["path"],
        format!("/v2/context/document/{ACC}/{NS}?ACCESS_TOKEN=[redacted]&access_token=[redacted]")
    );
}

#[tokio::test]
async fn an_access_token_as_a_path_parameter_is_redacted() {
    let ccs = Ccs::start().await;
    let entry = ccs
        .sent_without_secret(ccs.http.get(ccs.url(&format!(
            "/v2/context/document/{ACC}/{NS};access_token={SECRET};x=1/s?a=1"
        ))))
        .await;
    assert_eq!(
        entry["path"],
        format!("/v2/context/document/{ACC}/{NS};access_token=[redacted];x=1/s?a=1")
    );
    // Hidden by percent-encoding, in a segment or in another parameter.
    for (sent, shown) in [
        (
            format!("/v2/x%3BAccess%5Ftoken%3D{SECRET}/y"),
            "/v2/[redacted]/y".to_owned(),
        ),
        (
            format!("/v2/x?next=%2Fy%3Faccess_token%3D{SECRET}"),
            "/v2/x?next=[redacted]".to_owned(),
        ),
    ] {
        let entry = ccs.sent_without_secret(ccs.http.get(ccs.url(&sent))).await;
        assert_eq!(entry["path"], shown);
    }
}

#[tokio::test]
async fn an_api_key_in_the_query_is_redacted() {
    let ccs = Ccs::start().await;
    let entry = ccs
        .sent_without_secret(ccs.v1(Method::GET, &format!("?x=1&Api-Key={SECRET}")))
        .await;
    assert_eq!(
        entry["path"],
        format!("/v1/account/{ACC}?x=1&Api-Key=[redacted]")
    );
    assert_eq!(entry["status"], 200);
}

#[tokio::test]
async fn a_cookie_is_redacted() {
    let ccs = Ccs::start().await;
    let entry = ccs
        .sent_without_secret(
            ccs.v1(Method::GET, "")
                .header("Cookie", format!("theme=dark; session={SECRET}"))
                .header("x-echo", format!("was {SECRET}")),
        )
        .await;
    assert_eq!(entry["headers"]["cookie"], "[redacted]");
    assert_eq!(entry["headers"]["x-echo"], "was [redacted]");
}

#[tokio::test]
async fn every_credential_header_is_redacted_in_any_case() {
    let ccs = Ccs::start().await;
    for name in [
        "X-API-KEY",
        "x-api-key",
        "Authorization",
        "AUTHORIZATION",
        "Maven-Api-Key",
        "X-Lp-On-Behalf",
        "Proxy-Authorization",
        "X-Access-Token",
    ] {
        let entry = ccs
            .sent_without_secret(
                ccs.http
                    .get(ccs.url(&format!("/v1/account/{ACC}")))
                    .header(name, format!("Bearer {SECRET}")),
            )
            .await;
        assert_eq!(
            entry["headers"][name.to_ascii_lowercase()],
            "[redacted]",
            "{name}: {entry}"
        );
    }
}

// ------------------------------------------- journal: bounded and parseable

/// How deeply a JSON text nests arrays and objects (counted on the text, so
/// that it works however deep the text is).
fn text_depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        match b {
            _ if in_string && escaped => escaped = false,
            b'\\' if in_string => escaped = true,
            b'"' => in_string = !in_string,
            b'[' | b'{' if !in_string => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' if !in_string => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[tokio::test]
async fn a_body_too_deep_is_kept_as_a_short_string() {
    let ccs = Ccs::start().await;
    for levels in [1001, 100, 65] {
        let deep = format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
        ccs.clear_journal_and_send(
            ccs.v2(Method::POST, "/create")
                .header("content-type", "application/json")
                .body(deep.clone()),
        )
        .await;
        let text = ccs.journal_text().await;
        // The array of entries, an entry, its body: 64 levels at most.
        assert!(text_depth(&text) <= 66, "{levels}: {}", text_depth(&text));
        let journal: Vec<Value> = serde_json::from_str(&text).expect("serde_json reads it");
        assert_eq!(journal[0]["status"], 400);
        assert!(journal[0].get("body").is_none(), "{levels}");
        assert_eq!(journal[0]["body_text"], deep, "{levels}: the whole text");
        assert_eq!(journal[0]["body_truncated"], false);
    }
    // At the limit, still JSON.
    let at = format!("{}1{}", "[".repeat(64), "]".repeat(64));
    ccs.clear_journal_and_send(
        ccs.v2(Method::POST, "/create")
            .header("content-type", "application/json")
            .body(at.clone()),
    )
    .await;
    let journal = ccs.journal().await;
    assert_eq!(
        journal[0]["body"],
        serde_json::from_str::<Value>(&at).expect("JSON")
    );
}

#[tokio::test]
async fn a_body_too_large_or_not_json_is_kept_as_its_start() {
    let ccs = Ccs::start().await;
    // Over the 256 KiB kept whole: its first 4 KiB, cut after a whole character.
    let large = format!("é{}", "x".repeat(300 * 1024));
    ccs.clear_journal_and_send(
        ccs.v1(Method::PATCH, &format!("/{NS}/properties"))
            .header("content-type", "application/json")
            .body(large.clone()),
    )
    .await;
    let journal = ccs.journal().await;
    let text = journal[0]["body_text"].as_str().expect("a string");
    assert!(text.len() <= 4096 && text.len() > 4000, "{}", text.len());
    assert!(large.starts_with(text));
    assert_eq!(journal[0]["body_truncated"], true);
    assert!(journal[0].get("body").is_none());
    assert!(ccs.emulator.requests()[0].body_truncated);
    // Not UTF-8: shown lossily.
    ccs.clear_journal_and_send(
        ccs.v1(Method::PATCH, &format!("/{NS}/properties"))
            .header("content-type", "application/json")
            .body(vec![b'{', 0xff, b'}']),
    )
    .await;
    let journal = ccs.journal().await;
    assert_eq!(journal[0]["body_text"], "{\u{fffd}}");
    // A cut secret does not show its start either.
    // (its first 6 bytes end the 4 KiB kept)
    let cut = format!("{}{SECRET}", "x".repeat(4090));
    ccs.clear_journal_and_send(
        ccs.v1(Method::PATCH, &format!("/{NS}/properties"))
            .header("x-api-key", SECRET)
            .body(format!("{cut}{}", "y".repeat(300 * 1024))),
    )
    .await;
    let text = ccs.journal_text().await;
    assert!(!text.contains(&SECRET[..6]), "{text}");
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn a_status_fault_hits_times_requests_with_retry_after() {
    let ccs = Ccs::start().await;
    let (status, fault) = call(ccs.admin(Method::POST, "faults").json(&json!({
        "method": "GET", "path": format!("/v1/account/{ACC}/*"),
        "status": 429, "retry_after": 2, "times": 2,
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = fault["id"].as_str().expect("an id").to_owned();
    assert_eq!(
        fault,
        json!({ "id": id, "method": "GET", "path": format!("/v1/account/{ACC}/*"),
                "status": 429, "retry_after": 2, "times": 2, "remaining": 2 })
    );

    // Another method, or another account, is not hit.
    assert_eq!(ccs.save_v1("p").await, StatusCode::NO_CONTENT);
    let other = ccs
        .http
        .get(ccs.url("/v1/account/other/ns/properties"))
        .header("maven-api-key", KEY);
    assert_eq!(call(other).await.0, StatusCode::OK);

    for remaining in [1, 0] {
        let response = ccs
            .v1(Method::GET, &format!("/{NS}/properties"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response.headers().get("retry-after").map(|v| v.as_bytes()),
            Some(&b"2"[..])
        );
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body, json!({ "message": format!("injected fault {id}") }));
        let listed = ccs.faults().await;
        if remaining == 0 {
            assert_eq!(listed, json!([]));
        } else {
            assert_eq!(listed[0]["remaining"], remaining);
        }
    }
    assert_eq!(ccs.read_v1().await, json!({ "p": 1 }));
    let journal = ccs.journal().await;
    let faulted: Vec<&Value> = journal
        .iter()
        .filter(|e| e.get("fault").is_some())
        .collect();
    assert_eq!(faulted.len(), 2);
    assert!(
        faulted
            .iter()
            .all(|e| e["fault"] == id && e["status"] == 429)
    );
}

#[tokio::test]
async fn a_faulted_request_changes_no_data() {
    let ccs = Ccs::start().await;
    for fault in [
        Fault::status(503).method(http::Method::PATCH),
        Fault::status(204).path(format!("/v1/account/{ACC}/{NS}/properties")),
        Fault::drop_connection().method(http::Method::PATCH),
    ] {
        ccs.emulator.inject_fault(fault).expect("valid");
        // Sent without credentials: a fault answers before they are checked.
        let sent = ccs
            .http
            .patch(ccs.url(&format!("/v1/account/{ACC}/{NS}/properties")))
            .json(&json!({ "lost": true }))
            .send()
            .await;
        if let Ok(response) = sent {
            assert!(
                [StatusCode::SERVICE_UNAVAILABLE, StatusCode::NO_CONTENT]
                    .contains(&response.status())
            );
        }
    }
    assert_eq!(ccs.read_v1().await, json!({}));
    let (_, namespaces) = call(ccs.v1(Method::GET, "")).await;
    assert_eq!(namespaces, json!([]), "not even the namespace was created");
    let journal = ccs.emulator.requests();
    let bodies: Vec<Option<Value>> = journal.iter().take(3).map(|r| r.body.clone()).collect();
    assert_eq!(
        bodies,
        vec![Some(json!({ "lost": true })); 3],
        "faulted bodies are recorded"
    );
    assert_eq!(journal[2].status, None, "a dropped request has no status");
}

#[tokio::test]
async fn a_drop_fault_closes_the_connection_without_an_answer() {
    let ccs = Ccs::start().await;
    let (status, _) = call(
        ccs.admin(Method::POST, "faults")
            .json(&json!({ "path": "/api/account/*", "drop": true })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut tcp = tokio::net::TcpStream::connect(ccs.emulator.local_addr())
        .await
        .expect("connects");
    let request = format!(
        "POST /api/account/{ACC}/messaging/consumer/conversation?v=3 HTTP/1.1\r\n\
         host: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n[]"
    );
    tcp.write_all(request.as_bytes()).await.expect("written");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), tcp.read_to_end(&mut answer))
        .await
        .expect("the connection is closed, not left open");
    // Closed (EOF, or a reset), with not one byte of an answer.
    assert!(read.is_ok() || answer.is_empty(), "{read:?}");
    assert_eq!(String::from_utf8_lossy(&answer), "");

    // A client sees an error, not a status; the next request is answered.
    ccs.emulator
        .inject_fault(Fault::drop_connection().path("/v1/*"))
        .expect("valid");
    let error = ccs.v1(Method::GET, "").send().await.expect_err("no answer");
    assert!(error.status().is_none(), "{error:?}");
    assert_eq!(call(ccs.v1(Method::GET, "")).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_delay_fault_answers_normally_later() {
    let ccs = Ccs::start().await;
    ccs.emulator
        .inject_fault(Fault::delay(Duration::from_millis(300)).method(http::Method::PATCH))
        .expect("valid");
    let started = std::time::Instant::now();
    assert_eq!(ccs.save_v1("late").await, StatusCode::NO_CONTENT);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(ccs.read_v1().await, json!({ "late": 1 }));
    let journal = ccs.emulator.requests();
    assert_eq!(journal[0].status, Some(204));
    assert!(journal[0].fault.is_some());
}

impl Ccs {
    /// The journal entry of the fault `id`, waiting up to 10 s for it.
    async fn entry_of_fault(&self, id: &str) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let journal = self.journal().await;
            if let Some(entry) = journal.into_iter().find(|e| e["fault"] == id) {
                return entry;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "fault {id}: no entry in the journal"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn a_request_whose_client_gave_up_during_a_delay_is_recorded() {
    let ccs = Ccs::start().await;
    let patch = |body: &Value| {
        ccs.v1(Method::PATCH, &format!("/{NS}/properties"))
            .json(body)
    };
    let small = json!({ "never": "saved" });
    // Larger than hyper reads ahead of the handler.
    let large = json!({ "never": "x".repeat(1024 * 1024) });
    for (request, body, text) in [
        (ccs.v1(Method::GET, ""), None, None),
        (patch(&small), Some(small.clone()), None),
        (patch(&large), None, Some(r#"{"never":"xxxxxxxx"#)),
    ] {
        // Far longer than the test waits: the entry must not wait for it.
        let id = ccs
            .emulator
            .inject_fault(Fault::delay(Duration::from_secs(60)).path(format!("/v1/account/{ACC}*")))
            .expect("valid")
            .to_string();
        let error = request
            .timeout(Duration::from_millis(300))
            .send()
            .await
            .expect_err("the client gives up");
        assert!(error.is_timeout(), "{error:?}");
        let entry = ccs.entry_of_fault(&id).await;
        assert_eq!(entry["outcome"], "client_gone", "{entry}");
        assert_eq!(entry["status"], Value::Null, "{entry}");
        assert_eq!(entry.get("body").cloned(), body, "{entry}");
        if let Some(text) = text {
            let shown = entry["body_text"].as_str().expect("the body's start");
            assert!(shown.starts_with(text), "{shown}");
            assert_eq!(entry["body_truncated"], true);
        }
        assert_eq!(ccs.faults().await, json!([]), "the fault was used");
        let recorded = ccs.emulator.requests();
        let recorded = recorded
            .iter()
            .find(|r| r.fault.is_some_and(|f| f.to_string() == id))
            .expect("recorded");
        assert_eq!(recorded.outcome, Some(Outcome::ClientGone));
        assert_eq!(recorded.status, None);
    }
    // The PATCH was never handled.
    assert_eq!(ccs.read_v1().await, json!({}));
}

#[tokio::test]
async fn a_dropped_request_is_recorded_as_dropped() {
    let ccs = Ccs::start().await;
    let id = ccs
        .emulator
        .inject_fault(Fault::drop_connection().path("/v1/*"))
        .expect("valid")
        .to_string();
    let error = ccs.v1(Method::GET, "").send().await.expect_err("no answer");
    assert!(error.status().is_none(), "{error:?}");
    assert_eq!(call(ccs.v1(Method::GET, "")).await.0, StatusCode::OK);
    let journal = ccs.journal().await;
    assert_eq!(journal.len(), 2, "{journal:#?}");
    assert_eq!(journal[0]["fault"], id.as_str());
    assert_eq!(journal[0]["status"], Value::Null);
    assert_eq!(journal[0]["outcome"], "dropped");
    assert_eq!(journal[1]["status"], 200);
    assert!(journal[1].get("outcome").is_none(), "answered: no outcome");
    let recorded = ccs.emulator.requests();
    assert_eq!(recorded[0].outcome, Some(Outcome::Dropped));
    assert_eq!(recorded[1].outcome, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fault_hits_exactly_times_requests_under_64_concurrent_clients() {
    let ccs = Arc::new(Ccs::start().await);
    for round in 0..5 {
        let times = 7 + round * 5;
        let id = ccs
            .emulator
            .inject_fault(Fault::status(503).path("/v1/*").times(times))
            .expect("valid");
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let ccs = Arc::clone(&ccs);
                // A client each: 64 connections.
                tokio::spawn(async move {
                    let http = Client::new();
                    http.get(ccs.url(&format!("/v1/account/{ACC}")))
                        .header("maven-api-key", KEY)
                        .send()
                        .await
                        .expect("sent")
                        .status()
                })
            })
            .collect();
        let mut unavailable = 0;
        for task in tasks {
            match task.await.expect("task") {
                StatusCode::SERVICE_UNAVAILABLE => unavailable += 1,
                StatusCode::OK => {}
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(unavailable, times, "round {round}");
        assert!(!ccs.emulator.remove_fault(id), "gone after its times");
    }
}

#[tokio::test]
async fn faults_are_listed_removed_one_by_one_and_cleared() {
    let ccs = Ccs::start().await;
    let mut ids = Vec::new();
    for body in [
        json!({ "path": "/a", "status": 500 }),
        json!({ "path": "/b*", "delay_ms": 10, "times": 3 }),
        json!({ "path": "/c", "drop": true, "method": "DELETE" }),
    ] {
        let (status, fault) = call(ccs.admin(Method::POST, "faults").json(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(fault["id"].as_str().expect("id").to_owned());
    }
    let listed = ccs.faults().await;
    assert_eq!(
        listed,
        json!([
            { "id": ids[0], "path": "/a", "status": 500, "times": 1, "remaining": 1 },
            { "id": ids[1], "path": "/b*", "delay_ms": 10, "times": 3, "remaining": 3 },
            { "id": ids[2], "method": "DELETE", "path": "/c", "drop": true, "times": 1, "remaining": 1 },
        ])
    );
    let (status, _) = call(ccs.admin(Method::DELETE, &format!("faults/{}", ids[1]))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(ccs.admin(Method::DELETE, &format!("faults/{}", ids[1]))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({ "message": format!("no fault {}", ids[1]) }));
    assert_eq!(ccs.faults().await.as_array().map(Vec::len), Some(2));
    let (status, _) = call(ccs.admin(Method::DELETE, "faults")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(ccs.faults().await, json!([]));
    ccs.emulator
        .inject_fault(Fault::status(500))
        .expect("valid");
    ccs.emulator.clear_faults();
    assert_eq!(ccs.faults().await, json!([]));
}

#[tokio::test]
async fn bad_admin_input_is_a_400_and_changes_nothing() {
    let ccs = Ccs::start().await;
    let before = parse_time(&ccs.clock().await);
    for body in [
        json!({ "path": "/x", "status": 429, "surprise": 1 }),
        json!({ "path": "/x", "status": 429, "times": -1 }),
        json!({ "path": "/x", "status": 429, "times": 0 }),
        json!({ "path": "/x", "status": 99 }),
        json!({ "path": "/x", "status": 100 }),
        json!({ "path": "/x", "status": 600 }),
        json!({ "path": "/x", "status": 429, "retry_after": -1 }),
        json!({ "path": "/x", "status": 429, "drop": true }),
        json!({ "path": "/x" }),
        json!({ "path": "x*", "status": 500 }),
        json!({ "status": 500 }),
        json!({ "path": "/x", "delay_ms": 600001 }),
        json!([]),
    ] {
        let (status, answer) = call(ccs.admin(Method::POST, "faults").json(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    let (status, _) = call(ccs.admin(Method::POST, "faults").body("{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for body in [
        json!({ "advance_seconds": -1 }),
        json!({ "advance_seconds": 3_155_760_001u64 }),
        json!({ "advance_seconds": 1e300 }),
        json!({ "advance_seconds": "60" }),
        json!({ "advance_seconds": 60, "and": 1 }),
        json!({}),
    ] {
        let (status, answer) = call(ccs.admin(Method::POST, "clock").json(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    // The clock never passes the year 9999: then an advance is refused.
    let mut refused = None;
    for _ in 0..100 {
        let (status, answer) = call(
            ccs.admin(Method::POST, "clock")
                .json(&json!({ "advance_seconds": 3_155_760_000u64 })),
        )
        .await;
        if status != StatusCode::OK {
            refused = Some((status, answer));
            break;
        }
    }
    let (status, answer) = refused.expect("refused before 100 centuries");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("9999")),
        "{answer}"
    );
    let last = ccs.clock().await;
    assert!(last.starts_with("99"), "{last}");
    assert!(parse_time(&last) > before);
    assert_eq!(ccs.faults().await, json!([]));
    // The same checks through the Rust API.
    assert!(ccs.emulator.inject_fault(Fault::status(600)).is_err());
    assert!(
        ccs.emulator
            .inject_fault(Fault::status(429).times(0))
            .is_err()
    );
    assert!(
        ccs.emulator
            .inject_fault(Fault::delay(Duration::ZERO))
            .is_err()
    );
    assert!(
        ccs.emulator
            .inject_fault(Fault::drop_connection().retry_after(1))
            .is_err()
    );
    assert!(
        ccs.emulator
            .inject_fault(Fault::status(500).path("no-slash"))
            .is_err()
    );
    let error = ccs
        .emulator
        .advance_clock(Duration::from_secs(3_155_760_001))
        .expect_err("too far");
    assert!(error.message().contains("advance_seconds"), "{error}");
}

#[tokio::test]
async fn admin_routes_answer_405_and_404_in_json() {
    let ccs = Ccs::start().await;
    let response = ccs.admin(Method::GET, "reset").send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        response.headers().get("allow").map(|v| v.as_bytes()),
        Some(&b"POST"[..])
    );
    let (status, body) = call(ccs.admin(Method::GET, "nothing")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({ "message": "no endpoint at /__emulator/nothing" })
    );
    let (status, _) = call(ccs.http.get(ccs.url("/openapi/ccs-v3.yaml"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- clock

#[tokio::test]
async fn ttls_and_v2_expiry_follow_the_clock() {
    let ccs = Ccs::start().await;
    let (status, _) = call(
        ccs.v1(Method::POST, "?ttlSecond=3600")
            .json(&json!({ "name": NS })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(ccs.save_v1("hour").await, StatusCode::NO_CONTENT);
    let (status, _) = call(ccs.v2(Method::POST, "/create").json(&json!({
        "accountId": ACC, "nameSpace": "docs", "sessionId": "s", "ttlSeconds": 60,
        "payload": { "minute": true },
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, document) = call(ccs.v2(Method::GET, &format!("/{ACC}/docs/s"))).await;
    let expires = parse_time(document["ttl"].as_str().expect("ttl"));
    let now = parse_time(&ccs.clock().await);
    assert!(
        (expires - now - chrono::TimeDelta::seconds(60))
            .num_seconds()
            .abs()
            < 5
    );

    let (status, body) = call(
        ccs.admin(Method::POST, "clock")
            .json(&json!({ "advance_seconds": 61 })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let advanced = parse_time(body["now"].as_str().expect("now"));
    assert!(advanced - now >= chrono::TimeDelta::seconds(61));
    let (status, _) = call(ccs.v2(Method::GET, &format!("/{ACC}/docs/s"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the v2 document expired");
    assert_eq!(
        ccs.read_v1().await,
        json!({ "hour": 1 }),
        "the hour has not passed"
    );

    // A new v2 write's expiry is reckoned from the advanced clock.
    let (status, _) = call(ccs.v2(Method::POST, "/create").json(&json!({
        "accountId": ACC, "nameSpace": "docs", "ttlSeconds": 60, "payload": { "again": 1 },
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, document) = call(ccs.v2(Method::GET, &format!("/{ACC}/docs"))).await;
    let expires = parse_time(document["ttl"].as_str().expect("ttl"));
    assert!(expires > chrono::Utc::now() + chrono::TimeDelta::seconds(100));

    ccs.emulator
        .advance_clock(Duration::from_secs(3600))
        .expect("in range");
    assert_eq!(ccs.read_v1().await, json!({}), "the hour has passed");
    // The sweeper follows the clock too: the expired data leaves memory.
    for _ in 0..100 {
        if ccs.emulator.stored_properties() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ccs.emulator.stored_properties(), 0);
    let journal_at = ccs
        .emulator
        .requests()
        .last()
        .map(|r| r.at)
        .expect("recorded");
    assert!(journal_at > chrono::Utc::now() + chrono::TimeDelta::seconds(3600));
    assert!(ccs.emulator.now() > chrono::Utc::now() + chrono::TimeDelta::seconds(3600));
}

// ---------------------------------------------------------------- specs

/// The repository's `openapi/*.yaml`, by file name.
fn spec_files() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("openapi/ is readable")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml"))
        .map(|name| {
            let bytes = std::fs::read(format!("{dir}/{name}")).expect("readable");
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_spec_is_served_byte_for_byte() {
    let ccs = Ccs::start().await;
    let files = spec_files();
    assert!(
        files.len() >= 6,
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (name, bytes) in files {
        let response = ccs
            .http
            .get(ccs.url(&format!("/openapi/{name}")))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        assert_eq!(
            response.headers().get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/yaml"[..])
        );
        assert!(
            response.bytes().await.expect("body") == bytes,
            "{name} differs"
        );
    }
    // The spec's own list of files is the repository's.
    let admin: Value = serde_norway::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/openapi/emulator-admin.yaml"
        ))
        .expect("readable"),
    )
    .expect("YAML");
    let listed: BTreeSet<String> = admin["components"]["parameters"]["SpecFile"]["schema"]["enum"]
        .as_array()
        .expect("an enum")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let present: BTreeSet<String> = spec_files().into_iter().map(|f| f.0).collect();
    assert_eq!(listed, present);
}

/// The check of the reference a reader opens (`GET /docs`), for every spec
/// served: each operation and schema has its anchor
/// (`#<stem>/<operationId>`, `#<stem>/schemas/<Name>`) and the navigation
/// links each operation; every in-page link lands on an id; no text outside
/// code shows CommonMark unrendered (`**`, a pair of backticks, `](`, a
/// `- ` bullet); raw HTML of a description is shown as text; and nothing is
/// loaded from elsewhere (no script, no `src`, links only to anchors or web
/// pages).
#[tokio::test]
async fn the_reference_renders_its_text_and_anchors_every_operation_and_schema() {
    let ccs = Ccs::start().await;
    let response = ccs.http.get(ccs.url("/docs")).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/html; charset=utf-8"[..])
    );
    let html = response.text().await.expect("text");
    let page = HtmlPage::scan(&html);
    let mut problems = page.problems.clone();
    let ids: BTreeSet<&str> = page.ids.iter().map(|(id, _)| id.as_str()).collect();
    let links: BTreeSet<&str> = page.links.iter().map(|(l, _)| l.as_str()).collect();
    let mut operations = 0;
    for (name, bytes) in spec_files() {
        let spec: openapiv3::OpenAPI = serde_norway::from_slice(&bytes).expect("a spec");
        let stem = name.trim_end_matches(".yaml");
        for (path, item) in &spec.paths.paths {
            let item = item.as_item().expect("no path $refs");
            for (method, op) in item.iter() {
                let id = op
                    .operation_id
                    .as_deref()
                    .expect("every operation has an id");
                let anchor = format!("{stem}/{id}");
                if !ids.contains(anchor.as_str()) {
                    problems.push(format!("{method} {path} of {name}: no anchor #{anchor}"));
                }
                if !links.contains(anchor.as_str()) {
                    problems.push(format!("{method} {path} of {name}: no link to #{anchor}"));
                }
                operations += 1;
            }
        }
        for (schema, _) in spec.components.iter().flat_map(|c| &c.schemas) {
            let anchor = format!("{stem}/schemas/{schema}");
            if !ids.contains(anchor.as_str()) {
                problems.push(format!("schema {schema} of {name}: no anchor #{anchor}"));
            }
        }
    }
    assert!(operations > 20, "{operations}");
    for (link, near) in &page.links {
        if !ids.contains(link.as_str()) {
            problems.push(format!("broken link #{link} (near #{near})"));
        }
    }
    let mut seen = BTreeSet::new();
    for (id, _) in &page.ids {
        if !seen.insert(id) {
            problems.push(format!("id {id} twice"));
        }
    }
    assert!(problems.is_empty(), "/docs:\n{}", problems.join("\n"));
    // Descriptions are rendered, not shown as pre-wrapped source text.
    assert!(!html.contains("pre-wrap"), "pre-wrapped text");
    assert!(html.contains("<strong>Note:</strong>") && html.contains("<li>"));
    // Raw HTML in a description is text (connector-auth.yaml's `appjwt-<date>`).
    assert!(html.contains("appjwt-&lt;date&gt;"));
    // No external resource: no `src`, every link an anchor or a web page.
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains(" src="), "a src attribute");
    for (at, _) in lower.match_indices(" href=\"") {
        let value = &lower[at + 7..];
        assert!(
            ["#", "https://", "http://"]
                .iter()
                .any(|p| value.starts_with(p)),
            "href at {at}: {}",
            &html[at..(at + 80).min(html.len())]
        );
    }
    for banned in [
        "<script", "<link", "@import", "url(", "<iframe", "<img", "<object",
    ] {
        assert!(!lower.contains(banned), "{banned}");
    }
}

/// The check above fails on what it is for: unrendered CommonMark outside
/// code (none inside), and it sees ids and links.
#[test]
fn the_reference_check_finds_raw_markdown_outside_code() {
    let page = HtmlPage::scan(
        "<nav><a href=\"#a/op\">x</a></nav><section id=\"a/op\"><p>Some **bold**, \
         `code` and [a](#b).\n- item</p><pre><code>**fine** `here`</code></pre></section>",
    );
    assert_eq!(page.ids, [("a/op".to_owned(), "a/op".to_owned())]);
    assert_eq!(page.links, [("a/op".to_owned(), "top".to_owned())]);
    assert_eq!(page.problems.len(), 1, "{:?}", page.problems);
    let problem = &page.problems[0];
    for what in [
        "`**`",
        "a pair of backticks",
        "`](`",
        "a `- ` bullet",
        "near #a/op",
    ] {
        assert!(problem.contains(what), "{what}: {problem}");
    }
    assert!(
        !HtmlPage::scan("<p><code>`a`</code> **</p>")
            .problems
            .is_empty()
    );
    assert!(
        HtmlPage::scan("<p>a <code>`a` **b**</code></p>")
            .problems
            .is_empty()
    );
}

/// What the reference check reads of a page: its ids and in-page links
/// (each with the last id before it, for the message), and the problems of
/// its text outside `code`, `pre`, `style` and `title`.
struct HtmlPage {
    ids: Vec<(String, String)>,
    links: Vec<(String, String)>,
    problems: Vec<String>,
}

impl HtmlPage {
    /// Scans HTML as the emulator writes it: text escaped, attribute values
    /// in double quotes without `>`.
    fn scan(html: &str) -> HtmlPage {
        let mut page = HtmlPage {
            ids: Vec::new(),
            links: Vec::new(),
            problems: Vec::new(),
        };
        let mut near = String::from("top");
        let mut verbatim = 0usize; // inside code, pre, style or title
        let mut rest = html;
        while !rest.is_empty() {
            let (text, tag) = match rest.find('<') {
                Some(at) => (&rest[..at], &rest[at..]),
                None => (rest, ""),
            };
            if verbatim == 0 {
                page.check_text(text, &near);
            }
            let Some(end) = tag.find('>') else { break };
            let inside = &tag[1..end];
            rest = &tag[end + 1..];
            let closing = inside.starts_with('/');
            let name: String = inside
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            if matches!(name.as_str(), "code" | "pre" | "style" | "title") {
                if closing {
                    verbatim = verbatim.saturating_sub(1);
                } else {
                    verbatim += 1;
                }
            }
            if let Some(id) = attribute(inside, "id") {
                near = id.to_owned();
                page.ids.push((id.to_owned(), near.clone()));
            }
            if let Some(target) = attribute(inside, "href").and_then(|h| h.strip_prefix('#')) {
                page.links.push((target.to_owned(), near.clone()));
            }
        }
        page
    }

    fn check_text(&mut self, text: &str, near: &str) {
        let mut found = Vec::new();
        if text.contains("**") {
            found.push("`**`");
        }
        if text.matches('`').count() >= 2 {
            found.push("a pair of backticks");
        }
        if text.contains("](") {
            found.push("`](`");
        }
        if text
            .lines()
            .skip(1)
            .any(|l| l.trim_start().starts_with("- "))
        {
            found.push("a `- ` bullet");
        }
        if !found.is_empty() {
            self.problems.push(format!(
                "raw markdown ({}) near #{near}: {:?}",
                found.join(", "),
                text.chars().take(120).collect::<String>()
            ));
        }
    }
}

/// The value of `name="..."` in a tag's inside.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')?;
    Some(&tag[start..start + end])
}

// ---------------------------------------------------------------- off

#[tokio::test]
async fn with_admin_off_the_routes_answer_as_unknown_paths() {
    let ccs = Ccs::with(EmulatorConfig::new().admin(false)).await;
    for (method, path) in [
        (Method::POST, "/__emulator/reset"),
        (Method::GET, "/__emulator/requests"),
        (Method::GET, "/openapi/ccs-v1.yaml"),
        (Method::GET, "/docs"),
    ] {
        let (status, body) = call(ccs.http.request(method, ccs.url(path))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body, json!({ "message": format!("no endpoint at {path}") }));
    }
    // The Rust controls still work; the paths above were recorded as requests.
    assert_eq!(ccs.emulator.requests().len(), 4);
    ccs.emulator
        .inject_fault(Fault::status(418))
        .expect("valid");
    assert_eq!(
        call(ccs.v1(Method::GET, "")).await.0,
        StatusCode::IM_A_TEAPOT
    );
}

/// `ccs serve` with and without `--no-admin`: its first line, then the routes.
#[tokio::test]
async fn the_ccs_binary_serves_the_admin_routes_unless_told_not_to() {
    for (flag, want) in [
        (None, StatusCode::NO_CONTENT),
        (Some("--no-admin"), StatusCode::NOT_FOUND),
    ] {
        let mut args = vec!["serve", "--addr", "127.0.0.1:0"];
        args.extend(flag);
        let mut child = Command::new(env!("CARGO_BIN_EXE_ccs"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ccs starts");
        let base = crate::support::listening_base_url(&mut child).await;
        let status = Client::new()
            .post(format!("{base}/__emulator/reset"))
            .send()
            .await
            .map(|r| r.status());
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(status.expect("answered"), want, "{flag:?}");
    }
}

/// The connector's tokens live on the emulator's clock too: an AppJWT the
/// emulator issued is refused once the clock passes its `exp`, and a reset
/// forgets the tokens and conversations with the rest.
#[tokio::test]
async fn issued_tokens_expire_on_the_clock_and_reset_forgets_conversations() {
    let ccs = Ccs::start().await;
    let (status, token) = call(
        ccs.http
            .post(ccs.url(&format!(
                "/sentinel/api/account/{ACC}/app/token?v=1.0&grant_type=client_credentials"
            )))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("client_id=test-client&client_secret=test-secret"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let app_jwt = token["access_token"]
        .as_str()
        .expect("an AppJWT")
        .to_owned();
    let consumer = |app_jwt: &str| {
        ccs.http
            .post(ccs.url(&format!("/api/account/{ACC}/consumer?v=1.0")))
            .header("Authorization", app_jwt)
            .json(&json!({ "ext_consumer_id": "clock-consumer" }))
    };
    let (status, body) = call(consumer(&app_jwt)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let consumer_jws = body["token"].as_str().expect("a ConsumerJWS").to_owned();

    // Open a conversation with the fresh tokens.
    let (status, opened) = call(
        ccs.http
            .post(ccs.url(&format!(
                "/api/account/{ACC}/messaging/consumer/conversation?v=3"
            )))
            .header("Authorization", &app_jwt)
            .header("X-LP-ON-BEHALF", &consumer_jws)
            .json(&json!([
                {"kind": "req", "id": "1", "type": "userprofile.SetUserProfile",
                 "body": {"authenticatedData": {"lp_sdes": []}}},
                {"kind": "req", "id": "2", "type": "cm.ConsumerRequestConversation",
                 "body": {"brandId": ACC}}
            ])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    let conversation = opened[1]["body"]["conversationId"]
        .as_str()
        .expect("a conversation id")
        .to_owned();

    // An hour and a second later (the default token TTL), the AppJWT is refused.
    ccs.emulator
        .advance_clock(Duration::from_secs(3601))
        .expect("the clock moves");
    let (status, body) = call(consumer(&app_jwt)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // A reset forgets the conversation: a SEND to it is a 404.
    ccs.emulator.reset();
    let (status, body) = call(
        ccs.http
            .post(ccs.url(&format!(
                "/api/account/{ACC}/messaging/consumer/conversation/send?v=3"
            )))
            .header("Authorization", "any-app-jwt")
            .header("X-LP-ON-BEHALF", "any-consumer-jws")
            .json(&json!({
                "kind": "req", "id": "3", "type": "ms.PublishEvent",
                "body": {"dialogId": conversation,
                         "event": {"type": "ContentEvent", "contentType": "text/plain", "message": "hi"}}
            })),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}
