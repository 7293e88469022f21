//! Verify + parse of a webhook notification through `liveperson_ccs::webhooks`
//! against the bare work on the same bytes.
//!
//! `cargo bench --bench webhooks`. The body is a typical ContentEvent
//! notification of about 1 KB (one change, an agent's text with some
//! non-ASCII), signed `sha1=` Base64 as LivePerson signs. Two parts:
//!
//! 1. **divan**: the time per call of each side:
//!    - `layer_receiver_check`: `Receiver::check`, i.e. the client id and
//!      account id headers, the signature, and the typed `Notification`s;
//!    - `layer_verify_then_parse`: `verify_signature` then `parse`;
//!    - `bare_hmac_then_value`: Base64-decode the header, HMAC-SHA1 of the
//!      body, constant-time compare (`hmac`'s `verify_slice`), then
//!      `serde_json::from_slice::<serde_json::Value>`;
//!    - `bare_hmac_then_generated`: the same HMAC, then
//!      `serde_json::from_slice` into the spec's generated `Notification`;
//!    - `receiver_receive`: `Receiver::receive` (check, then redelivery
//!      suppression: after the first call each call is a redelivery);
//!    - `part_*`: the parts alone: the HMAC check, the layer's `parse`,
//!      `serde_json::Value`.
//! 2. **Paired ratios**: batches of the layer (`Receiver::check`) and of the
//!    bare HMAC + `Value` interleaved over `CCS_BENCH_ROUNDS` rounds (default
//!    31; `0` skips), the order swapped every round; prints the median time
//!    per call of each side and the median per-round ratio with its
//!    interquartile range, against the target (≤ 1.10).

use std::hint::black_box;
use std::time::Instant;

use base64::Engine as _;
use divan::Bencher;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderValue};
use liveperson_ccs::webhooks::{
    Notification, Receiver, SignatureAlgorithm, SignatureEncoding, parse, sign, verify_signature,
};

const CLIENT_ID: &str = "2f7e4c9a-1b3d-4e5f-8a9b-0c1d2e3f4a5b";
const SECRET: &str = "a-client-secret-of-thirty-two-ch";
const ACCOUNT: &str = "64467156";
/// Calls per paired batch.
const BATCH: usize = 2_000;
/// The target of the ratio layer / bare.
const TARGET: f64 = 1.10;

/// A ContentEvent notification of about 1 KB, written as LivePerson writes it.
fn body() -> Vec<u8> {
    let message = "Thanks for waiting! Your order #A-20931 left our warehouse this morning \
        and should reach you on Thursday. Le colis est en route — suivez-le ici. \
        If anything looks wrong, reply here and an agent will pick it up. 📦🚚 \
        Also: our returns window is 30 days from delivery, and exchanges are free \
        for sizes. Anything else I can help you with today? Merci et à bientôt! \
        Reference for this chat: 5491244f-e462-4c63-bf4e-faf4b2d3e7b5. \
        Opening hours: Monday to Friday, 8:00–20:00; Saturday 9:00–13:00.";
    let body = serde_json::json!({
        "kind": "notification",
        "body": {"changes": [{
            "sequence": 12,
            "originatorId": "29c3019d-fe0b-5200-afe8-737abfeae4b4",
            "originatorMetadata": {"id": "29c3019d-fe0b-5200-afe8-737abfeae4b4", "role": "ASSIGNED_AGENT"},
            "serverTimestamp": 1528371199686_i64,
            "event": {"type": "ContentEvent", "message": message, "contentType": "text/plain"},
            "conversationId": "5491244f-e462-4c63-bf4e-faf4b2d3e7b5",
            "dialogId": "5491244f-e462-4c63-bf4e-faf4b2d3e7b5"
        }]},
        "type": "ms.MessagingEventNotification"
    });
    // serde_json writes non-ASCII as is, as LivePerson does.
    serde_json::to_vec(&body).expect("a JSON value serializes")
}

struct Fixture {
    body: Vec<u8>,
    header: String,
    headers: HeaderMap,
    receiver: Receiver,
}

fn fixture() -> Fixture {
    let body = body();
    let header = sign(
        SECRET,
        &body,
        SignatureAlgorithm::Sha1,
        SignatureEncoding::Base64,
    );
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-liveperson-account-id", HeaderValue::from_static(ACCOUNT));
    headers.insert(
        "x-liveperson-client-id",
        HeaderValue::from_static(CLIENT_ID),
    );
    headers.insert(
        "x-liveperson-signature",
        HeaderValue::from_str(&header).expect("a signature is ASCII"),
    );
    Fixture {
        body,
        header,
        headers,
        receiver: Receiver::new(CLIENT_ID, SECRET, ACCOUNT),
    }
}

fn layer(f: &Fixture) -> usize {
    let checked = f
        .receiver
        .check(&f.headers, &f.body)
        .expect("the bench's body is signed");
    checked.notifications.len()
}

fn bare(f: &Fixture) -> usize {
    let written = f
        .header
        .strip_prefix("sha1=")
        .expect("the bench signs sha1=");
    let digest = base64::engine::general_purpose::STANDARD
        .decode(written)
        .expect("the bench's signature is Base64");
    let mut mac =
        <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(&f.body);
    mac.verify_slice(&digest)
        .expect("the bench's body is signed");
    let value: serde_json::Value = serde_json::from_slice(&f.body).expect("the body is JSON");
    value["body"]["changes"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0)
}

#[divan::bench]
fn layer_receiver_check(bencher: Bencher) {
    let f = fixture();
    bencher.bench_local(|| black_box(layer(black_box(&f))));
}

#[divan::bench]
fn layer_verify_then_parse(bencher: Bencher) {
    let f = fixture();
    bencher.bench_local(|| {
        verify_signature(SECRET, black_box(&f.header), black_box(&f.body))
            .expect("the bench's body is signed");
        black_box(parse(black_box(&f.body)).expect("the body parses"))
    });
}

#[divan::bench]
fn bare_hmac_then_value(bencher: Bencher) {
    let f = fixture();
    bencher.bench_local(|| black_box(bare(black_box(&f))));
}

#[divan::bench]
fn bare_hmac_then_generated(bencher: Bencher) {
    let f = fixture();
    bencher.bench_local(|| {
        let written = f.header.strip_prefix("sha1=").expect("sha1=");
        let digest = base64::engine::general_purpose::STANDARD
            .decode(written)
            .expect("Base64");
        let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(SECRET.as_bytes())
            .expect("any key length");
        mac.update(black_box(&f.body));
        mac.verify_slice(&digest).expect("signed");
        black_box(
            serde_json::from_slice::<liveperson_ccs::raw::webhooks::types::Notification>(
                black_box(&f.body),
            )
            .expect("the generated types read it"),
        )
    });
}

/// The parts: the HMAC alone, the layer's parse alone, `Value` alone.
#[divan::bench]
fn part_hmac_only(bencher: Bencher) {
    let f = fixture();
    bencher.bench_local(|| {
        verify_signature(SECRET, black_box(&f.header), black_box(&f.body))
            .expect("the bench's body is signed")
    });
}

#[divan::bench]
fn part_layer_parse_only(bencher: Bencher) {
    let f = fixture();
    bencher.bench_local(|| black_box(parse(black_box(&f.body)).expect("the body parses")));
}

#[divan::bench]
fn part_value_only(bencher: Bencher) {
    let f = fixture();
    bencher.bench_local(|| {
        black_box(serde_json::from_slice::<serde_json::Value>(black_box(&f.body)).expect("JSON"))
    });
}

#[divan::bench]
fn receiver_receive(bencher: Bencher) {
    let f = fixture();
    bencher.bench_local(|| {
        black_box(
            f.receiver
                .receive(black_box(&f.headers), black_box(&f.body))
                .expect("signed"),
        )
    });
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn quartiles(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[values.len() / 4], values[values.len() * 3 / 4])
}

/// µs per call of a batch.
fn batch(f: &Fixture, side: fn(&Fixture) -> usize) -> f64 {
    let start = Instant::now();
    for _ in 0..BATCH {
        black_box(side(black_box(f)));
    }
    start.elapsed().as_secs_f64() * 1e6 / BATCH as f64
}

fn paired_ratios(rounds: usize) {
    let f = fixture();
    // Same work: the layer reads the same one ContentEvent the bare side does.
    let checked = f.receiver.check(&f.headers, &f.body).expect("signed");
    assert!(matches!(
        checked.notifications.as_slice(),
        [Notification::Content(m)] if m.event.message.contains("📦")
    ));
    assert_eq!(bare(&f), 1);
    // Warm both.
    batch(&f, layer);
    batch(&f, bare);
    let (mut layer_us, mut bare_us, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (l, b) = if round % 2 == 0 {
            let l = batch(&f, layer);
            (l, batch(&f, bare))
        } else {
            let b = batch(&f, bare);
            (batch(&f, layer), b)
        };
        layer_us.push(l);
        bare_us.push(b);
        ratios.push(l / b);
    }
    let (q1, q3) = quartiles(&mut ratios.clone());
    let ratio = median(&mut ratios);
    println!(
        "\npaired, {rounds} rounds of {BATCH} calls, body {} bytes:",
        f.body.len()
    );
    println!(
        "  layer (Receiver::check) {:.2} µs/call, bare (HMAC-SHA1 + Value) {:.2} µs/call",
        median(&mut layer_us),
        median(&mut bare_us)
    );
    println!(
        "  layer/bare {ratio:.3} (IQR {q1:.3}–{q3:.3}), target ≤ {TARGET:.2}: {}",
        if ratio <= TARGET { "ok" } else { "MISSED" }
    );
}

fn main() {
    println!(
        "load average at start: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    divan::main();
    let rounds = std::env::var("CCS_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(31);
    if rounds > 0 {
        paired_ratios(rounds);
    }
    println!(
        "load average at end: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
