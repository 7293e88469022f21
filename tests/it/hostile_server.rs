//! The clients against servers that misbehave: a redirect to another host,
//! a server that hangs, one that closes the connection before answering, and
//! answers of 50 MB. Every server is on loopback and records what it got.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{CaptureServer, Reply};
use liveperson_ccs::messaging::ConversationRequest;
use liveperson_ccs::{
    BODY_CUT_MARK, CcsV1Client, CcsV2Client, Error, MessagingClient, RetryPolicy,
};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const ACCOUNT: &str = "le12345678";
const API_KEY: &str = "hostile-test-api-key-5d2e";
const TOKEN: &str = "hostile-test-access-token-91c0";
const APP_JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJhcHAiOiJob3N0aWxlIn0.c2lnLWFwcC1ob3N0aWxl";
const CONSUMER_JWS: &str = "eyJhbGciOiJIUzI1NiJ9.eyJjb24iOiJob3N0aWxlIn0.c2lnLWNvbi1ob3N0aWxl";
const FIFTY_MB: u64 = 50 * 1024 * 1024;

fn quick() -> RetryPolicy {
    RetryPolicy::default().with_initial_delay(Duration::from_millis(5))
}

fn v1(base: &str) -> liveperson_ccs::ClientBuilder<liveperson_ccs::V1Credentials> {
    CcsV1Client::builder()
        .account(ACCOUNT)
        .base_url(base)
        .api_key(API_KEY)
        .retry_policy(quick())
}

fn v2(base: &str) -> CcsV2Client {
    CcsV2Client::builder()
        .account(ACCOUNT)
        .base_url(base)
        .access_token(TOKEN)
        .retry_policy(quick())
        .build()
        .unwrap()
}

fn messaging(base: &str) -> MessagingClient {
    MessagingClient::builder()
        .account(ACCOUNT)
        .base_url(base)
        .app_jwt(APP_JWT)
        .build()
        .unwrap()
}

fn assert_no_secret(error: &Error) {
    for text in [format!("{error}"), format!("{error:?}")] {
        for secret in [API_KEY, TOKEN, APP_JWT, CONSUMER_JWS] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}

// ---------------------------------------------------------------- redirects

/// A 307 to another loopback port: nothing may arrive there, for each
/// credential the clients send, and the error names the status and the
/// target's host only.
#[tokio::test]
async fn a_redirect_is_not_followed_and_carries_no_credential() {
    let elsewhere = CaptureServer::start().await;
    let redirecting = CaptureServer::start().await;
    let target = format!("{}/stolen?access_token=kept-out", elsewhere.base_url());
    redirecting.set_fallback(Reply::status(307).header("location", target.clone()));
    let base = redirecting.base_url();
    let elsewhere_host = elsewhere
        .base_url()
        .trim_start_matches("http://")
        .to_owned();

    let v1_error = v1(&base)
        .build()
        .unwrap()
        .list_namespaces()
        .await
        .unwrap_err();
    let v2_error = v2(&base)
        .session_document("myNamespace", "mySessionId")
        .unwrap()
        .get()
        .await
        .unwrap_err();
    let messaging_error = messaging(&base)
        .create_conversation(CONSUMER_JWS, &ConversationRequest::new())
        .await
        .unwrap_err();

    assert!(
        elsewhere.requests().is_empty(),
        "the redirect target received {:?}",
        elsewhere.requests()
    );
    assert_eq!(
        redirecting.requests().len(),
        3,
        "one request each, not retried"
    );
    for (api, error) in [
        ("v1", &v1_error),
        ("v2", &v2_error),
        ("messaging", &messaging_error),
    ] {
        let Error::Redirected {
            status, location, ..
        } = error
        else {
            panic!("{api}: expected Redirected, got {error:?}");
        };
        assert_eq!(*status, StatusCode::TEMPORARY_REDIRECT, "{api}");
        assert_eq!(location.as_deref(), Some(elsewhere_host.as_str()), "{api}");
        assert_eq!(error.status(), Some(StatusCode::TEMPORARY_REDIRECT));
        assert!(!error.is_retryable(), "{api}");
        let shown = format!("{error} {error:?}");
        assert!(
            shown.contains("307") && shown.contains(&elsewhere_host),
            "{shown}"
        );
        assert!(
            !shown.contains("stolen") && !shown.contains("kept-out"),
            "{shown}"
        );
        assert_no_secret(error);
    }
}

/// A relative `Location` is reported as the same host.
#[tokio::test]
async fn a_relative_redirect_names_the_same_host() {
    let redirecting = CaptureServer::start().await;
    redirecting.set_fallback(Reply::status(301).header("location", "/v1/elsewhere"));
    let error = v1(&redirecting.base_url())
        .build()
        .unwrap()
        .list_namespaces()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Redirected { status, location: Some(host), .. }
            if *status == StatusCode::MOVED_PERMANENTLY && host == "the same host"),
        "{error:?}"
    );
}

// ------------------------------------------------------- a scripted server

/// What the raw server does with each connection, once it has read the
/// request's head.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Never answers; keeps the connection open.
    Hang,
    /// Closes the connection without a byte of answer.
    Close,
    /// Sends a head promising 1,000 bytes, 10 of them, then hangs.
    HangMidBody,
    /// Answers `status` with a body of `FIFTY_MB` bytes, with or without a
    /// `Content-Length`.
    Huge { status: u16, chunked: bool },
}

struct RawServer {
    base_url: String,
    connections: Arc<AtomicUsize>,
    /// Body bytes the server managed to write, over every connection.
    written: Arc<AtomicU64>,
    /// Whether some connection wrote its whole huge body.
    completed: Arc<AtomicBool>,
}

impl RawServer {
    async fn start(behaviour: Behaviour) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let server = RawServer {
            base_url,
            connections: Arc::default(),
            written: Arc::default(),
            completed: Arc::default(),
        };
        let (connections, written, completed) = (
            server.connections.clone(),
            server.written.clone(),
            server.completed.clone(),
        );
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                connections.fetch_add(1, Ordering::SeqCst);
                let (written, completed) = (written.clone(), completed.clone());
                tokio::spawn(serve(stream, behaviour, written, completed));
            }
        });
        server
    }
}

async fn serve(
    mut stream: TcpStream,
    behaviour: Behaviour,
    written: Arc<AtomicU64>,
    completed: Arc<AtomicBool>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    match behaviour {
        Behaviour::Hang => {
            // Holds the connection until the client gives up.
            let _ = stream.read(&mut buf).await;
        }
        Behaviour::Close => drop(stream),
        Behaviour::HangMidBody => {
            let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n[         ";
            if stream.write_all(answer.as_bytes()).await.is_ok() {
                let _ = stream.read(&mut buf).await;
            }
        }
        Behaviour::Huge { status, chunked } => {
            let length = if chunked {
                "transfer-encoding: chunked".to_owned()
            } else {
                format!("content-length: {FIFTY_MB}")
            };
            let answer =
                format!("HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\n{length}\r\n\r\n");
            if stream.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
            let block = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < FIFTY_MB {
                let framed = if chunked {
                    let mut framed = format!("{:x}\r\n", block.len()).into_bytes();
                    framed.extend_from_slice(&block);
                    framed.extend_from_slice(b"\r\n");
                    framed
                } else {
                    block.clone()
                };
                if stream.write_all(&framed).await.is_err() {
                    return;
                }
                sent += block.len() as u64;
                written.fetch_add(block.len() as u64, Ordering::SeqCst);
            }
            if chunked && stream.write_all(b"0\r\n\r\n").await.is_err() {
                return;
            }
            completed.store(true, Ordering::SeqCst);
            let _ = stream.read(&mut buf).await;
        }
    }
}

// ---------------------------------------------------------------- time

/// Lists namespaces with `client` (whose call deadline is `deadline`)
/// against a server that does not answer: the call must end with
/// `Error::Timeout`, by its deadline (and 2 s of slack). Gives the error and
/// how many connections (attempts) the server saw.
async fn timed_out(
    server: &RawServer,
    client: liveperson_ccs::ClientBuilder<liveperson_ccs::V1Credentials>,
    deadline: Duration,
) -> (Error, usize) {
    let client = client.call_deadline(deadline).build().unwrap();
    let started = Instant::now();
    let error = client.list_namespaces().await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(elapsed < deadline + Duration::from_secs(2), "{elapsed:?}");
    (error, server.connections.load(Ordering::SeqCst))
}

/// A server that never answers: each attempt times out and is retried, and
/// the call ends by its deadline with `Error::Timeout`.
#[tokio::test]
async fn a_hung_server_costs_at_most_the_call_deadline() {
    let server = RawServer::start(Behaviour::Hang).await;
    let client = v1(&server.base_url).attempt_timeout(Duration::from_millis(300));
    let (error, attempts) = timed_out(&server, client, Duration::from_millis(1200)).await;
    assert!(
        error.is_retryable(),
        "a timeout is retryable, as the transport treats it"
    );
    assert_eq!(attempts, 3, "each timed-out attempt was retried");
    assert_no_secret(&error);
}

/// The deadline cuts an attempt short: with a 30 s attempt timeout the call
/// still ends by its 500 ms deadline.
#[tokio::test]
async fn the_deadline_cuts_a_long_attempt() {
    let server = RawServer::start(Behaviour::Hang).await;
    let client = v1(&server.base_url).attempt_timeout(Duration::from_secs(30));
    let (_, attempts) = timed_out(&server, client, Duration::from_millis(500)).await;
    assert_eq!(attempts, 1, "no time was left to retry");
}

/// A `reqwest::Client` given with `http_client` (here one with a 30 s total
/// timeout of its own) still has each attempt cut at the attempt timeout, and
/// the call at its deadline: the builder's own client carries the attempt
/// timeout, a given one gets it on every request.
#[tokio::test]
async fn a_given_http_client_keeps_the_attempt_timeout() {
    let server = RawServer::start(Behaviour::Hang).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = v1(&server.base_url)
        .http_client(http)
        .attempt_timeout(Duration::from_millis(300));
    let (_, attempts) = timed_out(&server, client, Duration::from_millis(1200)).await;
    assert_eq!(
        attempts, 3,
        "each attempt timed out at 300 ms and was retried"
    );
}

/// A body that stops arriving is under the same limits as the head.
#[tokio::test]
async fn a_body_that_stalls_times_out() {
    let server = RawServer::start(Behaviour::HangMidBody).await;
    let client = v1(&server.base_url).attempt_timeout(Duration::from_millis(300));
    let (_, attempts) = timed_out(&server, client, Duration::from_millis(800)).await;
    assert!(attempts >= 2, "retried");
}

/// A connection closed before any answer is retried by the transport, and
/// `is_retryable` agrees; the error says what happened once, the cause being
/// its `source()`.
#[tokio::test]
async fn a_connection_closed_before_answering_is_retried_and_retryable() {
    let server = RawServer::start(Behaviour::Close).await;
    let error = v1(&server.base_url)
        .build()
        .unwrap()
        .list_namespaces()
        .await
        .unwrap_err();
    assert_eq!(server.connections.load(Ordering::SeqCst), 3, "3 attempts");
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(error.is_retryable(), "{error:?}");

    let source = std::error::Error::source(&error).expect("the cause is the source");
    let message = error.to_string();
    assert!(
        !message.contains(&source.to_string()),
        "the message repeats its source: {message:?} / {source}"
    );
    // As `anyhow`'s `{:#}` would print it: the cause once.
    let mut chain = message.clone();
    let mut cause = Some(source);
    while let Some(c) = cause {
        chain.push_str(": ");
        chain.push_str(&c.to_string());
        cause = c.source();
    }
    assert_eq!(chain.matches(&source.to_string()).count(), 1, "{chain}");
    assert_no_secret(&error);
}

// ---------------------------------------------------------------- size

/// A 500 with a 50 MB body: the error keeps 64 KiB, marked as cut, and the
/// client stops reading (the server cannot write it all).
#[tokio::test]
async fn a_huge_error_body_is_cut() {
    for chunked in [false, true] {
        let server = RawServer::start(Behaviour::Huge {
            status: 500,
            chunked,
        })
        .await;
        let error = v1(&server.base_url)
            .build()
            .unwrap()
            .list_namespaces()
            .await
            .unwrap_err();
        let Error::Api { status, body, .. } = &error else {
            panic!("expected Api, got {error:?}");
        };
        assert_eq!(*status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body.ends_with(BODY_CUT_MARK), "marked as cut");
        assert_eq!(body.len(), 64 * 1024 + BODY_CUT_MARK.len());
        assert!(format!("{error:?}").len() < 70 * 1024, "Debug is bounded");
        assert!(error.to_string().len() < 1024, "Display is short");
        assert!(
            !server.completed.load(Ordering::SeqCst),
            "chunked {chunked}: the client read the whole body"
        );
    }
}

/// A 503 with a 50 MB body is retried; each attempt reads only its prefix.
#[tokio::test]
async fn a_huge_retryable_error_body_is_cut_on_every_attempt() {
    let server = RawServer::start(Behaviour::Huge {
        status: 503,
        chunked: false,
    })
    .await;
    let error = v1(&server.base_url)
        .build()
        .unwrap()
        .list_namespaces()
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert!(error.body().is_some_and(|b| b.ends_with(BODY_CUT_MARK)));
    assert_eq!(server.connections.load(Ordering::SeqCst), 3);
    assert!(!server.completed.load(Ordering::SeqCst));
}

/// A 200 of 50 MB, with and without `Content-Length`, is refused with a clear
/// error before it is read whole.
#[tokio::test]
async fn a_huge_success_body_is_refused() {
    for chunked in [false, true] {
        let server = RawServer::start(Behaviour::Huge {
            status: 200,
            chunked,
        })
        .await;
        let error = v1(&server.base_url)
            .build()
            .unwrap()
            .list_namespaces()
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::ResponseTooLarge { limit, .. } if limit == 10 * 1024 * 1024),
            "chunked {chunked}: {error:?}"
        );
        assert!(!error.is_retryable());
        assert!(
            error.to_string().contains("larger than 10485760 bytes"),
            "{error}"
        );
        assert!(
            !server.completed.load(Ordering::SeqCst),
            "chunked {chunked}: the client read the whole body"
        );
        assert_eq!(server.connections.load(Ordering::SeqCst), 1, "not retried");
        if !chunked {
            // Refused on its `Content-Length`, before reading it.
            assert!(server.written.load(Ordering::SeqCst) < FIFTY_MB);
        }
    }
}

/// The limit is a setting: an answer under it is read, one over it refused,
/// for a v2 read too.
#[tokio::test]
async fn the_response_limit_is_a_setting() {
    let capture = CaptureServer::start().await;
    let list = format!(
        r#"[{{"name":"ns","createdAt":"2021-02-26T02:46:38.220Z"}}{}]"#,
        " ".repeat(850)
    );
    capture.set_fallback(
        Reply::status(200)
            .header("content-type", "application/json")
            .body(list),
    );
    let small = |limit| {
        v1(&capture.base_url())
            .max_response_bytes(limit)
            .build()
            .unwrap()
    };
    assert_eq!(small(1000).list_namespaces().await.unwrap().len(), 1);
    let error = small(800).list_namespaces().await.unwrap_err();
    assert!(
        matches!(error, Error::ResponseTooLarge { limit: 800, .. }),
        "{error:?}"
    );
}
