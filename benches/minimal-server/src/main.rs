//! The minimal server `scripts/bench/bench-emulator` compares `ccs serve` with:
//! axum, the same runtime as `ccs serve` (tokio's multi-threaded one, a worker
//! per core), TCP_NODELAY like the emulator, and a fixed answer: `GET` answers
//! `BODY` as JSON, `PATCH` reads the body and answers 204, `POST` reads the
//! body and answers 200 (a webhook receiver, for scripts/bench/bench-webhooks),
//! whatever the path; but `GET /__posts` answers how many `POST`s it has
//! answered so far, as text.
//!
//! `minimal-server serve ADDR` serves until killed, printing
//! `listening on http://ADDR` first, as `ccs serve` does.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::routing::get;
use axum::serve::ListenerExt;

/// What `GET` answers: the value scripts/bench/bench-emulator stores in the emulator
/// first, so both servers answer the same bytes (keys in the order the
/// emulator writes them).
/// How many `POST`s were answered (`GET /__posts`).
static POSTS: AtomicU64 = AtomicU64::new(0);

const BODY: &[u8] = br#"{"confidence":0.92,"intent":"billing","n":1,"tier":"gold"}"#;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr: SocketAddr = match args.as_slice() {
        [serve, addr] if serve == "serve" => addr.parse().expect("ADDR is host:port"),
        _ => {
            eprintln!(
                "minimal-server: the baseline of scripts/bench/bench-emulator; usage: minimal-server serve ADDR"
            );
            std::process::exit(2);
        }
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(serve(addr));
}

async fn serve(addr: SocketAddr) {
    let app = Router::new()
        .route(
            "/__posts",
            get(|| async { POSTS.load(Ordering::Relaxed).to_string() }),
        )
        .fallback(
            get(|| async {
                (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )],
                    Bytes::from_static(BODY),
                )
            })
            .patch(|_body: Bytes| async { StatusCode::NO_CONTENT })
            .post(|_body: Bytes| async {
                POSTS.fetch_add(1, Ordering::Relaxed);
                StatusCode::OK
            }),
        );
    let listener = tokio::net::TcpListener::bind(addr).await.expect("binds");
    let local = listener.local_addr().expect("address");
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{local}").expect("stdout");
    stdout.flush().expect("stdout");
    drop(stdout);
    axum::serve(listener, app).await.expect("serves");
}
