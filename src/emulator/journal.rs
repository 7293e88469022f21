//! The journal: the most recent requests that reached LivePerson's routes,
//! shown with every credential value redacted.
//!
//! Recording costs a request one small copy and no lock that another
//! recording waits on (see [`Journal`]): the bytes of its method, path,
//! query, body and headers as they arrived, in one allocation
//! ([`Recorded`]); the header map is rebuilt, and the redaction (headers,
//! query, path, body) and the JSON check of the body are done, when the
//! journal is read, which is rare. So
//! credentials are held in memory as received until then (the emulator holds
//! the ones it checks anyway); nothing the journal gives out carries one.
//!
//! What it gives out is bounded and plain: a body is shown as JSON only when
//! it is JSON nested at most [`MAX_VALUE_DEPTH`] levels and kept whole;
//! any other body is shown as the text of its first [`MAX_BODY_TEXT`] bytes,
//! so that the journal reads with any JSON parser's recursion limit.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::VecDeque;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, header};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::value::RawValue;

use super::json::timestamp;
use crate::values::{MAX_VALUE_DEPTH, raw_depth, string_close, value_end};

/// What a redacted credential shows.
pub(super) const REDACTED: &str = "[redacted]";

/// The headers that carry credentials (as `http` names them: lowercase).
/// Any header whose name is a credential name ([`is_credential_name`], e.g.
/// `x-access-token`) is one too.
const CREDENTIAL_HEADERS: [&str; 6] = [
    "authorization",
    "cookie",
    "maven-api-key",
    "proxy-authorization",
    "x-api-key",
    "x-lp-on-behalf",
];

/// The names that carry a credential, wherever a name meets a value: query
/// and form parameters, path parameters (`;access_token=...`), JSON members,
/// `name=value` or `name: value` text. A name is one when, in lowercase and
/// with `-` read as `_`, it ends with one of these (`ACCESS_TOKEN`,
/// `Api-Key`, `x_api_key`).
const CREDENTIAL_NAMES: [&str; 3] = ["access_token", "api_key", "client_secret"];

/// Bodies larger than this are recorded without their body, so that the
/// journal's memory stays bounded (1,000 entries hold at most 256 MiB of
/// bodies): only their first [`MAX_BODY_TEXT`] bytes are kept (copied).
pub(super) const MAX_RECORDED_BODY: usize = 256 * 1024;

/// The most bytes of a body shown as text (a body that is not JSON, nested
/// deeper than [`MAX_VALUE_DEPTH`], or larger than [`MAX_RECORDED_BODY`]).
pub(super) const MAX_BODY_TEXT: usize = 4096;

/// A credential value found elsewhere in a request (another header, the
/// path, the body) is redacted there too when it is at least this long;
/// shorter ones (`k`) would redact ordinary text.
const MIN_SECRET_ELSEWHERE: usize = 6;

/// How a recorded request ended, when it was not answered: `"outcome"` in
/// the journal (absent when the answer, its `status`, was sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// `"dropped"`: a `drop` fault closed the connection without an answer.
    Dropped,
    /// `"client_gone"`: the client closed the connection before the answer
    /// was ready (e.g. it gave up during a `delay_ms` fault, which is then
    /// used up and the request never handled).
    ClientGone,
}

impl Outcome {
    /// As the journal shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Dropped => "dropped",
            Outcome::ClientGone => "client_gone",
        }
    }
}

/// One recorded request and its answer.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) status: Option<u16>,
    pub(super) at: DateTime<Utc>,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Option<Body>,
    pub(super) fault: Option<u64>,
    pub(super) outcome: Option<Outcome>,
    /// Set on an attempt of a webhook delivery (the emulator's own request).
    pub(super) delivery: Option<DeliveryInfo>,
}

/// What an entry of a webhook delivery adds: which delivery and attempt.
#[derive(Clone, Debug)]
pub(super) struct DeliveryInfo {
    pub(super) event: &'static str,
    /// 1 for the first attempt; 0 when it was never sent.
    pub(super) attempt: u32,
    pub(super) conversation: String,
    /// Why there was no answer (or why it was not sent).
    pub(super) error: Option<String>,
}

/// One attempt of a webhook delivery, to record.
pub(super) struct Delivery {
    /// Without user info, query or fragment.
    pub(super) endpoint: String,
    pub(super) at: DateTime<Utc>,
    pub(super) status: Option<u16>,
    pub(super) account: String,
    pub(super) client_id: String,
    pub(super) body: Bytes,
    pub(super) event: &'static str,
    pub(super) attempt: u32,
    pub(super) conversation: String,
    pub(super) error: Option<String>,
    pub(super) fault: Option<u64>,
}

impl Delivery {
    /// As the journal shows it: the signature header `[redacted]`.
    fn entry(self) -> Entry {
        let body = match std::str::from_utf8(&self.body)
            .ok()
            .and_then(|text| serde_json::from_str::<Box<RawValue>>(text).ok())
        {
            Some(raw) => Body::Json(raw),
            None => Body::Text {
                text: String::from_utf8_lossy(&self.body).into_owned(),
                truncated: false,
            },
        };
        Entry {
            method: "POST".to_owned(),
            path: self.endpoint,
            status: self.status,
            at: self.at,
            headers: vec![
                ("content-type".to_owned(), "application/json".to_owned()),
                ("x-liveperson-account-id".to_owned(), self.account),
                ("x-liveperson-client-id".to_owned(), self.client_id),
                ("x-liveperson-signature".to_owned(), REDACTED.to_owned()),
            ],
            body: Some(body),
            fault: self.fault,
            outcome: None,
            delivery: Some(DeliveryInfo {
                event: self.event,
                attempt: self.attempt,
                conversation: self.conversation,
                error: self.error,
            }),
        }
    }
}

/// What the journal holds: a request as received (redacted when read), or
/// a delivery attempt (already as shown).
#[derive(Clone)]
enum Item {
    Request(Recorded),
    Delivery(Box<Entry>),
}

/// A body as shown (redacted).
#[derive(Clone, Debug)]
pub(super) enum Body {
    /// JSON, kept whole, nested at most [`MAX_VALUE_DEPTH`] levels.
    Json(Box<RawValue>),
    /// Any other body: at most [`MAX_BODY_TEXT`] bytes of its text (lossy
    /// UTF-8); `truncated` when that is only its start.
    Text { text: String, truncated: bool },
}

/// A request's head as it arrived, borrowed until it is recorded.
pub(super) struct Head<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    at: DateTime<Utc>,
}

/// The most bytes of a [`SCRATCH`] buffer kept for the next request (a
/// head larger than this, rare, gets a buffer of its own).
const MAX_SCRATCH: usize = 16 * 1024;

thread_local! {
    /// Where [`Head::record`] writes a request's head before copying it.
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Appends `part` to `bytes` as its length (LEB128: seven bits a byte, the
/// low ones first, the high bit set on every byte but the last) and its
/// bytes.
fn push_part(bytes: &mut Vec<u8>, part: &[u8]) {
    let mut len = part.len();
    while len >= 0x80 {
        // The low seven bits, with the high bit: more bytes follow.
        bytes.push((len & 0x7f) as u8 | 0x80);
        len >>= 7;
    }
    // Below 0x80 here, so the cast keeps it whole.
    bytes.push(len as u8);
    bytes.extend_from_slice(part);
}

/// The bytes [`push_part`] appends for a part of `len` bytes.
fn part_size(len: usize) -> usize {
    let bits = usize::BITS - len.leading_zeros();
    len + (bits as usize).div_ceil(7).max(1)
}

/// The parts of [`Recorded::bytes`], in order.
struct Parts<'a>(&'a [u8]);

impl<'a> Iterator for Parts<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let mut len = 0usize;
        let mut shift = 0u32;
        loop {
            let (&byte, rest) = self.0.split_first()?;
            self.0 = rest;
            len |= usize::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let part = self.0.get(..len)?;
        self.0 = &self.0[len..];
        Some(part)
    }
}

impl<'a> Head<'a> {
    /// The head of a request that arrived `at`.
    pub(super) fn new(
        method: &'a Method,
        uri: &'a Uri,
        headers: &'a HeaderMap,
        at: DateTime<Utc>,
    ) -> Head<'a> {
        Head {
            method,
            uri,
            headers,
            at,
        }
    }

    /// The record of this request, answered `status` (`None`: no answer,
    /// for the reason `outcome` gives): its body, method, path, query and
    /// headers copied into one allocation. The body is kept whole when it is
    /// at most [`MAX_RECORDED_BODY`] bytes, else its first [`MAX_BODY_TEXT`].
    pub(super) fn record(
        &self,
        body: Option<&[u8]>,
        status: Option<u16>,
        fault: Option<u64>,
        outcome: Option<Outcome>,
    ) -> Recorded {
        let body = body.unwrap_or_default();
        let kept = if body.len() <= MAX_RECORDED_BODY {
            body
        } else {
            &body[..MAX_BODY_TEXT]
        };
        let (path, query) = (self.uri.path().as_bytes(), self.uri.query());
        // The head's parts, in one pass over the headers, go first into a
        // buffer this thread keeps, then with the body into one allocation
        // of their size.
        let mut head = SCRATCH.try_with(Cell::take).unwrap_or_default();
        head.clear();
        push_part(&mut head, self.method.as_str().as_bytes());
        push_part(&mut head, path);
        push_part(&mut head, query.unwrap_or_default().as_bytes());
        for (name, value) in self.headers {
            push_part(&mut head, name.as_str().as_bytes());
            push_part(&mut head, value.as_bytes());
        }
        let mut bytes = Vec::with_capacity(part_size(kept.len()) + head.len());
        push_part(&mut bytes, kept);
        bytes.extend_from_slice(&head);
        if head.capacity() <= MAX_SCRATCH {
            // Kept for the next request (none when the thread is ending).
            let _ = SCRATCH.try_with(|scratch| scratch.set(head));
        }
        Recorded {
            bytes: bytes.into_boxed_slice(),
            at: self.at,
            // Fault ids start at 1 (`Faults::insert`).
            fault: fault.and_then(NonZeroU64::new),
            // At most MAX_BODY_BYTES (10 MiB) are read.
            body_len: u32::try_from(body.len()).unwrap_or(u32::MAX),
            status,
            outcome,
            has_query: query.is_some(),
        }
    }
}

/// A request as recorded, not yet redacted: 48 bytes and one allocation,
/// so that a [`Slot`] is one cache line and the journal's 1,000 entries
/// stay small beside the connections' buffers. Its header map is rebuilt
/// only when the journal is read.
///
/// Not the request's own URI and header map: their bytes are slices of the
/// connection's read buffer, so keeping them would keep each request's
/// buffer alive (1,000 entries, up to 1,000 buffers of 8 KiB) and make hyper
/// allocate a new buffer for every request instead of reusing its own. The
/// body (read into a buffer of its own) is copied too, so that an entry is
/// one allocation.
#[derive(Clone)]
pub(super) struct Recorded {
    /// The body (empty if none; its first [`MAX_BODY_TEXT`] bytes when it
    /// was larger than [`MAX_RECORDED_BODY`]), the method, the path, the
    /// query (empty if none), then each header's name and value in the
    /// order of [`HeaderMap::iter`] (grouped by name); each part as written
    /// by [`push_part`].
    bytes: Box<[u8]>,
    at: DateTime<Utc>,
    fault: Option<NonZeroU64>,
    /// The size of the whole body as sent.
    body_len: u32,
    status: Option<u16>,
    outcome: Option<Outcome>,
    /// Whether the URI has a query (possibly empty).
    has_query: bool,
}

/// A [`Recorded`] request's parts.
struct Decoded<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    /// The body kept (`None`: none was sent).
    body: Option<&'a [u8]>,
    headers: HeaderMap,
}

impl Recorded {
    /// The body, method, path, query and headers, as they arrived.
    fn decode(&self) -> Decoded<'_> {
        let mut parts = Parts(&self.bytes);
        // The method, path and query of a request are ASCII.
        let body = parts.next().unwrap_or_default();
        let mut text = || {
            parts
                .next()
                .and_then(|part| std::str::from_utf8(part).ok())
                .unwrap_or_default()
        };
        let (method, path, query) = (text(), text(), text());
        let mut headers = HeaderMap::new();
        while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
            // Both were a `HeaderName` and a `HeaderValue`, so both parse.
            if let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
            {
                headers.append(name, value);
            }
        }
        Decoded {
            method,
            path,
            query: self.has_query.then_some(query),
            body: (self.body_len > 0).then_some(body),
            headers,
        }
    }

    /// The entry as shown: every credential value `[redacted]`, in the
    /// credential headers, the query, the path, the body, and wherever else
    /// it appears.
    fn redacted(&self) -> Entry {
        let Decoded {
            method,
            path,
            query,
            body,
            headers,
        } = self.decode();
        let mut secrets = Vec::new();
        for name in headers.keys().filter(|n| is_credential_header(n.as_str())) {
            for value in headers.get_all(name) {
                header_secrets(&String::from_utf8_lossy(value.as_bytes()), &mut secrets);
            }
        }
        let path = redact_pairs(path, &['/', ';'], Decoding::Path, &mut secrets);
        let path = match query {
            Some(query) => {
                let query = redact_pairs(query, &['&', ';'], Decoding::Form, &mut secrets);
                format!("{path}?{query}")
            }
            None => path.into_owned(),
        };
        let whole = body.is_some_and(|b| b.len() == self.body_len as usize);
        let body = body.map(|body| redact_body(body, whole, is_form(&headers), &mut secrets));
        secrets.retain(|s| s.len() >= MIN_SECRET_ELSEWHERE && !s.starts_with(REDACTED));
        // Longest first, so a token is not half-replaced by a shorter one.
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        let mut recorded = Vec::with_capacity(headers.keys_len());
        for name in headers.keys() {
            let value = if is_credential_header(name.as_str()) {
                REDACTED.to_owned()
            } else {
                let joined = headers
                    .get_all(name)
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()))
                    .collect::<Vec<_>>()
                    .join(", ");
                scrub(joined, &secrets)
            };
            recorded.push((name.as_str().to_owned(), value));
        }
        Entry {
            method: method.to_owned(),
            path: scrub(path, &secrets),
            status: self.status,
            at: self.at,
            headers: recorded,
            body: body.map(|body| body.shown(whole, &secrets)),
            fault: self.fault.map(NonZeroU64::get),
            outcome: self.outcome,
            delivery: None,
        }
    }
}

/// Whether a body is declared a form (`application/x-www-form-urlencoded`).
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// A body redacted, not yet scrubbed nor cut.
enum Redacted {
    /// Valid JSON, within the depth limit.
    Json(String),
    Text(String),
}

impl Redacted {
    /// As shown: scrubbed of `secrets`; JSON if it still is, else text cut
    /// to [`MAX_BODY_TEXT`] bytes.
    fn shown(self, whole: bool, secrets: &[String]) -> Body {
        let text = match self {
            Redacted::Json(text) => {
                let text = scrub_json(text, secrets);
                match serde_json::from_str::<Box<RawValue>>(&text) {
                    Ok(raw) => return Body::Json(raw),
                    // A secret replaced across JSON tokens: shown as text.
                    Err(_) => text,
                }
            }
            Redacted::Text(text) => scrub(text, secrets),
        };
        cut(text, whole, secrets)
    }
}

/// The body with every credential member or parameter redacted (their
/// values collected into `secrets`), not yet scrubbed of the secrets found
/// elsewhere. `whole`: the body was kept whole (else it is its first bytes).
fn redact_body(body: &[u8], whole: bool, form: bool, secrets: &mut Vec<String>) -> Redacted {
    if whole
        && let Ok(text) = std::str::from_utf8(body)
        && serde_json::from_str::<&RawValue>(text).is_ok()
        && raw_depth(text) <= MAX_VALUE_DEPTH
    {
        return Redacted::Json(redact_json(text, secrets));
    }
    let bytes = if whole { body } else { without_cut_char(body) };
    let text = String::from_utf8_lossy(bytes);
    // In a body not declared a form, `+` may be meant as a plus: only `%XX`
    // escapes are read.
    let decoding = if form { Decoding::Form } else { Decoding::Path };
    Redacted::Text(redact_pairs(&text, &['&', ';'], decoding, secrets).into_owned())
}

/// `bytes` without a last character cut short (its first bytes only).
fn without_cut_char(bytes: &[u8]) -> &[u8] {
    let tail = bytes.len().saturating_sub(3);
    for i in (tail..bytes.len()).rev() {
        let b = bytes[i];
        if b & 0xC0 != 0x80 {
            let wanted = match b {
                0xF0.. => 4,
                0xE0.. => 3,
                0xC0.. => 2,
                _ => 1,
            };
            return if bytes.len() - i < wanted {
                &bytes[..i]
            } else {
                bytes
            };
        }
    }
    bytes
}

/// Whether a header carries a credential.
fn is_credential_header(name: &str) -> bool {
    CREDENTIAL_HEADERS.contains(&name) || is_credential_name(name)
}

/// Whether a parameter or member of this name carries a credential (see
/// [`CREDENTIAL_NAMES`]).
fn is_credential_name(name: &str) -> bool {
    let name = name.trim().as_bytes();
    CREDENTIAL_NAMES.iter().any(|credential| {
        name.len() >= credential.len()
            && name[name.len() - credential.len()..]
                .iter()
                .zip(credential.bytes())
                .all(|(&b, c)| normal(b) == c)
    })
}

/// A byte as names are compared: lowercase, `-` as `_`.
fn normal(b: u8) -> u8 {
    if b == b'-' {
        b'_'
    } else {
        b.to_ascii_lowercase()
    }
}

/// The secrets of one credential header's value: the whole value, the
/// token after its scheme (`Bearer <token>`), and each cookie's value.
fn header_secrets(value: &str, secrets: &mut Vec<String>) {
    let value = value.trim();
    secrets.push(value.to_owned());
    if let Some((_scheme, token)) = value.split_once(' ') {
        secrets.push(token.trim().to_owned());
    }
    for cookie in value.split(';') {
        if let Some((_name, cookie)) = cookie.split_once('=') {
            secrets.push(cookie.trim().trim_matches('"').to_owned());
        }
    }
}

/// How the parts of a text are percent-decoded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Decoding {
    /// `%XX` only (a path, a body not declared a form).
    Path,
    /// `%XX`, and `+` is a space: a query or form, decoded exactly as the
    /// routes decode the query (axum's `Query`, i.e. serde_urlencoded), so
    /// the journal finds the `access_token` the routes read.
    Form,
}

/// `text` percent-decoded: a bad escape is kept as written, and bytes that
/// are not UTF-8 are read lossily.
fn decode(text: &str, decoding: Decoding) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if decoding == Decoding::Form => out.push(b' '),
            b'%' => {
                let hex = |at: usize| {
                    bytes
                        .get(at)
                        .and_then(|&b| char::from(b).to_digit(16))
                        .and_then(|d| u8::try_from(d).ok())
                };
                if let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` (a path, a query, a form or other text) split at `separators`,
/// with every credential parameter's value `[redacted]` (and collected into
/// `secrets`, as sent and decoded); everything else kept as written.
fn redact_pairs<'t>(
    text: &'t str,
    separators: &[char],
    decoding: Decoding,
    secrets: &mut Vec<String>,
) -> Cow<'t, str> {
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut offset = 0;
    for piece in text.split(separators) {
        if offset > 0 {
            // The separator before this piece (one ASCII byte).
            out.push_str(&text[offset - 1..offset]);
        }
        match redact_piece(piece, decoding, secrets) {
            Some(redacted) => {
                changed = true;
                out.push_str(&redacted);
            }
            None => out.push_str(piece),
        }
        offset += piece.len() + 1;
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// One `name=value` (or other text) of [`redact_pairs`], redacted; `None`
/// when it holds no credential.
fn redact_piece(piece: &str, decoding: Decoding, secrets: &mut Vec<String>) -> Option<String> {
    let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
    if piece.contains('=') && is_credential_name(&decode(name, decoding)) {
        if value.is_empty() || value.starts_with(REDACTED) {
            return None;
        }
        secrets.push(decode(value, decoding));
        secrets.push(value.to_owned());
        return Some(format!("{name}={REDACTED}"));
    }
    if let Cow::Owned(redacted) = redact_text(piece, secrets) {
        return Some(redacted);
    }
    // A credential hidden by escapes (`%3D`, `%26`, `%3B`), e.g. in another
    // parameter's value: that whole value goes.
    if !piece.contains('%') {
        return None;
    }
    let mut found = Vec::new();
    if let Cow::Borrowed(_) = redact_text(&decode(piece, decoding), &mut found) {
        return None;
    }
    secrets.append(&mut found);
    Some(if piece.contains('=') {
        format!("{name}={REDACTED}")
    } else {
        REDACTED.to_owned()
    })
}

/// The index just after the first credential name in `bytes` at or after
/// `from` (compared as [`is_credential_name`] does).
fn find_credential_name(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len()).find_map(|at| {
        CREDENTIAL_NAMES.iter().find_map(|name| {
            let end = at + name.len();
            let found = bytes.get(at..end).is_some_and(|candidate| {
                candidate
                    .iter()
                    .zip(name.bytes())
                    .all(|(&b, c)| normal(b) == c)
            });
            found.then_some(end)
        })
    })
}

/// The index of the first byte after `at` that is not a space or tab.
fn skip_blanks(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t')) {
        at += 1;
    }
    at
}

/// The index of the quote `quote` that closes a quoted text whose content
/// starts at `start` (a backslash escapes the next byte), or the end.
fn quoted_end(bytes: &[u8], start: usize, quote: u8) -> usize {
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            _ if b == quote => return i,
            _ => {}
        }
    }
    bytes.len()
}

/// The end of an unquoted value starting at `start`.
fn bare_end(bytes: &[u8], start: usize) -> usize {
    bytes
        .iter()
        .skip(start)
        .position(|&b| {
            b.is_ascii_whitespace()
                || matches!(
                    b,
                    b'&' | b';'
                        | b','
                        | b'#'
                        | b'}'
                        | b']'
                        | b')'
                        | b'"'
                        | b'\''
                        | b'\\'
                        | b'<'
                        | b'>'
                )
        })
        .map_or(bytes.len(), |n| start + n)
}

/// `text` with the value of every `name=value`, `name: value` or
/// `"name": "value"` whose name is a credential name `[redacted]` (and
/// collected into `secrets`).
fn redact_text<'t>(text: &'t str, secrets: &mut Vec<String>) -> Cow<'t, str> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    while let Some(name_end) = find_credential_name(bytes, from) {
        from = name_end;
        // The name's closing quote: `"`, `'`, or `\"` in JSON written in a
        // JSON string.
        let escaped_quote = |at: usize| bytes.get(at..at + 2) == Some(b"\\\"".as_slice());
        let mut at = name_end;
        if escaped_quote(at) {
            at += 2;
        } else if matches!(bytes.get(at), Some(b'"' | b'\'')) {
            at += 1;
        }
        at = skip_blanks(bytes, at);
        if !matches!(bytes.get(at), Some(b'=' | b':')) {
            continue;
        }
        at = skip_blanks(bytes, at + 1);
        // Every index here is at an ASCII byte or the end: a char boundary.
        let (start, end) = match bytes.get(at) {
            Some(&quote @ (b'"' | b'\'')) => (at + 1, quoted_end(bytes, at + 1, quote)),
            Some(b'\\') if escaped_quote(at) => {
                let start = at + 2;
                let end = bytes
                    .iter()
                    .skip(start)
                    .position(|&b| b == b'\\')
                    .map_or(bytes.len(), |n| start + n);
                (start, end)
            }
            _ => (at, bare_end(bytes, at)),
        };
        from = end;
        let value = &text[start..end];
        if value.is_empty() || text[start..].starts_with(REDACTED) {
            continue;
        }
        secrets.push(value.to_owned());
        out.push_str(&text[copied..start]);
        out.push_str(REDACTED);
        copied = end;
    }
    if copied == 0 {
        Cow::Borrowed(text)
    } else {
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }
}

/// Valid JSON `text` with the value of every member whose name is a
/// credential name `"[redacted]"` (strings and scalars collected into
/// `secrets`), and credentials written inside strings (`"...?access_token=x"`)
/// `[redacted]`; everything else kept byte for byte.
fn redact_json(text: &str, secrets: &mut Vec<String>) -> String {
    let bytes = text.as_bytes();
    if find_credential_name(bytes, 0).is_none() {
        return text.to_owned();
    }
    let quoted_redacted = format!("\"{REDACTED}\"");
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let Some(end) = string_close(bytes, i) else {
            break;
        };
        let after = skip_json_blanks(bytes, end + 1);
        if bytes.get(after) == Some(&b':') {
            let name = serde_json::from_str::<String>(&text[i..=end]);
            if name.is_ok_and(|name| is_credential_name(&name)) {
                let start = skip_json_blanks(bytes, after + 1);
                let value_end = value_end(bytes, start);
                let value = &text[start..value_end];
                if value != quoted_redacted {
                    match bytes.get(start) {
                        Some(b'"') => {
                            if let Ok(decoded) = serde_json::from_str::<String>(value) {
                                secrets.push(decoded);
                            }
                            secrets.push(value.trim_matches('"').to_owned());
                        }
                        Some(b'{' | b'[') => {}
                        _ => secrets.push(value.to_owned()),
                    }
                    out.push_str(&text[copied..start]);
                    out.push_str(&quoted_redacted);
                    copied = value_end;
                }
                i = value_end;
                continue;
            }
        } else {
            // A string value: credentials written in it.
            if let Cow::Owned(redacted) = redact_text(&text[i + 1..end], secrets) {
                out.push_str(&text[copied..=i]);
                out.push_str(&redacted);
                copied = end;
            }
        }
        i = end + 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// The index of the first byte at or after `at` that is not JSON whitespace.
fn skip_json_blanks(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        at += 1;
    }
    at
}

/// `text` with every one of `secrets` replaced by `[redacted]`.
fn scrub(mut text: String, secrets: &[String]) -> String {
    for secret in secrets {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), REDACTED);
        }
    }
    text
}

/// JSON `text` scrubbed of `secrets`, also where a string writes one with
/// escapes (`\/`, `\u0041`).
fn scrub_json(text: String, secrets: &[String]) -> String {
    let text = scrub(text, secrets);
    if secrets.is_empty() || !text.contains('\\') {
        return text;
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let Some(end) = string_close(bytes, i) else {
            break;
        };
        // (Serializing a `String` cannot fail.)
        if text[i..end].contains('\\')
            && let Ok(decoded) = serde_json::from_str::<String>(&text[i..=end])
            && secrets.iter().any(|s| decoded.contains(s.as_str()))
            && let Ok(scrubbed) = serde_json::to_string(&scrub(decoded, secrets))
        {
            out.push_str(&text[copied..i]);
            out.push_str(&scrubbed);
            copied = end + 1;
        }
        i = end + 1;
    }
    if copied == 0 {
        return text;
    }
    out.push_str(&text[copied..]);
    out
}

/// A body shown as text: at most [`MAX_BODY_TEXT`] bytes (whole
/// characters), without the start of a secret cut short at its end.
/// `whole`: `text` is the whole body (else only its start was kept).
fn cut(mut text: String, whole: bool, secrets: &[String]) -> Body {
    let truncated = !whole || text.len() > MAX_BODY_TEXT;
    if text.len() > MAX_BODY_TEXT {
        let mut end = MAX_BODY_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    if truncated {
        for secret in secrets {
            let tail = text.len().saturating_sub(secret.len().saturating_sub(1));
            let start = (tail..text.len()).find(|&at| {
                text.is_char_boundary(at) && secret.as_bytes().starts_with(&text.as_bytes()[at..])
            });
            if let Some(start) = start {
                text.truncate(start);
            }
        }
    }
    Body::Text { text, truncated }
}

/// The bounded journal.
///
/// Recording takes no lock that another recording waits on: a request takes
/// the next number of one counter (an atomic add), and its entry goes in
/// the slot of that number in a ring of `limit` slots, each under a lock of
/// its own, held only to swap the entry in. The entry it replaces (the one
/// `limit` requests older) is dropped after the lock is released. So two
/// requests contend only when their numbers are `limit` apart and both are
/// still being recorded. Reading locks each slot in turn to copy its entry,
/// and orders them by number.
pub(super) struct Journal {
    limit: usize,
    entries: Entries,
}

/// Where the entries are kept.
enum Entries {
    /// A ring of `limit` slots, allocated [`RING_CHUNK`] at a time when
    /// first written.
    Ring(Ring),
    /// Above [`MAX_RING_SLOTS`]: one queue under one lock (the evicted entry
    /// is dropped after the lock is released).
    Queue(Mutex<VecDeque<Item>>),
}

/// The largest journal kept in a [`Ring`]: its chunk table is allocated
/// whole (1,024 chunks at most).
const MAX_RING_SLOTS: usize = 1 << 16;

/// The slots of a [`Ring`] allocated at once: a journal's memory grows with
/// what it holds (64 slots are 4 KiB), as a queue's would.
const RING_CHUNK: usize = 64;

/// `limit` slots; the entry of number `n` goes in slot `n % limit`.
struct Ring {
    /// The number of the next entry.
    next: AtomicU64,
    /// `ceil(limit / RING_CHUNK)` chunks of slots, each allocated on its
    /// first write.
    chunks: Box<[OnceLock<Box<[Slot]>>]>,
}

/// One slot of a [`Ring`]: the entry last written there, with its number.
/// One cache line (64 bytes, aligned), so that two cores recording
/// neighbouring entries do not write to the same line.
#[repr(align(64))]
struct Slot(Mutex<Option<(u64, Item)>>);

/// Locks a slot or the queue. An entry is put in or taken out whole: a
/// panic elsewhere leaves no half-made state, so a poisoned lock is used
/// as is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Ring {
    fn new(limit: usize) -> Ring {
        Ring {
            next: AtomicU64::new(0),
            chunks: (0..limit.div_ceil(RING_CHUNK))
                .map(|_| OnceLock::new())
                .collect(),
        }
    }

    /// The slot of `index` (below `limit`), allocating its chunk if needed.
    fn slot(&self, index: usize, limit: usize) -> Option<&Slot> {
        let chunk = index / RING_CHUNK;
        let slots = self.chunks.get(chunk)?.get_or_init(|| {
            let len = RING_CHUNK.min(limit - chunk * RING_CHUNK);
            (0..len).map(|_| Slot(Mutex::new(None))).collect()
        });
        slots.get(index % RING_CHUNK)
    }

    fn push(&self, item: Item, limit: usize) {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        // `limit` is at most MAX_RING_SLOTS, so the index fits.
        let index = usize::try_from(number % limit as u64).unwrap_or_default();
        let Some(slot) = self.slot(index, limit) else {
            return;
        };
        let replaced = {
            let mut slot = lock(&slot.0);
            match &*slot {
                // A later entry got there first (this one was recorded
                // `limit` entries ago and is already out of the journal).
                Some((held, _)) if *held > number => Some((number, item)),
                _ => slot.replace((number, item)),
            }
        };
        drop(replaced);
    }

    /// Every entry held, oldest first: at most the `limit` most recent.
    fn items(&self, limit: usize) -> Vec<Item> {
        let mut held: Vec<(u64, Item)> = Vec::new();
        for slots in self.chunks.iter().filter_map(OnceLock::get) {
            for slot in slots.iter() {
                if let Some((number, item)) = &*lock(&slot.0) {
                    held.push((*number, item.clone()));
                }
            }
        }
        held.sort_unstable_by_key(|(number, _)| *number);
        // While entries are being recorded, a slot may still hold the entry
        // `limit` older than the one about to replace it: not shown, since
        // a newer one already is.
        if let Some(&(newest, _)) = held.last() {
            held.retain(|(number, _)| newest - number < limit as u64);
        }
        held.into_iter().map(|(_, item)| item).collect()
    }

    fn clear(&self) {
        for slots in self.chunks.iter().filter_map(OnceLock::get) {
            for slot in slots.iter() {
                let taken = lock(&slot.0).take();
                drop(taken);
            }
        }
    }
}

impl Journal {
    /// A journal of the most recent `limit` requests (`0`: records nothing).
    pub(super) fn new(limit: usize) -> Journal {
        let entries = if limit <= MAX_RING_SLOTS {
            Entries::Ring(Ring::new(limit))
        } else {
            Entries::Queue(Mutex::new(VecDeque::new()))
        };
        Journal { limit, entries }
    }

    /// Whether requests are recorded at all.
    pub(super) fn enabled(&self) -> bool {
        self.limit > 0
    }

    /// Adds an entry, dropping the oldest one when full.
    pub(super) fn push(&self, entry: Recorded) {
        self.push_item(Item::Request(entry));
    }

    /// Adds an attempt of a webhook delivery, dropping the oldest entry when full.
    pub(super) fn push_delivery(&self, delivery: Delivery) {
        if self.limit > 0 {
            self.push_item(Item::Delivery(Box::new(delivery.entry())));
        }
    }

    fn push_item(&self, item: Item) {
        if self.limit == 0 {
            return;
        }
        match &self.entries {
            Entries::Ring(ring) => ring.push(item, self.limit),
            Entries::Queue(queue) => {
                let evicted = {
                    let mut queue = lock(queue);
                    let evicted = if queue.len() >= self.limit {
                        queue.pop_front()
                    } else {
                        None
                    };
                    queue.push_back(item);
                    evicted
                };
                drop(evicted);
            }
        }
    }

    /// The entries, oldest first, redacted (outside any lock: recording
    /// requests do not wait for it).
    pub(super) fn entries(&self) -> Vec<Entry> {
        let items = match &self.entries {
            Entries::Ring(ring) => ring.items(self.limit),
            Entries::Queue(queue) => lock(queue).iter().cloned().collect(),
        };
        items
            .iter()
            .map(|item| match item {
                Item::Request(recorded) => recorded.redacted(),
                Item::Delivery(entry) => (**entry).clone(),
            })
            .collect()
    }

    /// Forgets every entry.
    pub(super) fn clear(&self) {
        match &self.entries {
            Entries::Ring(ring) => ring.clear(),
            Entries::Queue(queue) => {
                let taken = std::mem::take(&mut *lock(queue));
                drop(taken);
            }
        }
    }
}

/// Headers as a JSON object, in the order recorded.
struct HeaderObject<'a>(&'a [(String, String)]);

impl Serialize for HeaderObject<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl Serialize for Entry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("method", &self.method)?;
        map.serialize_entry("path", &self.path)?;
        map.serialize_entry("status", &self.status)?;
        map.serialize_entry("at", &timestamp(self.at))?;
        map.serialize_entry("headers", &HeaderObject(&self.headers))?;
        match &self.body {
            Some(Body::Json(body)) => map.serialize_entry("body", body)?,
            Some(Body::Text { text, truncated }) => {
                map.serialize_entry("body_text", text)?;
                map.serialize_entry("body_truncated", truncated)?;
            }
            None => {}
        }
        if let Some(fault) = self.fault {
            map.serialize_entry("fault", &fault.to_string())?;
        }
        if let Some(outcome) = self.outcome {
            map.serialize_entry("outcome", outcome.as_str())?;
        }
        if let Some(delivery) = &self.delivery {
            let mut info = serde_json::Map::new();
            info.insert("event_type".into(), delivery.event.into());
            info.insert("attempt".into(), delivery.attempt.into());
            info.insert(
                "conversation_id".into(),
                delivery.conversation.clone().into(),
            );
            if let Some(error) = &delivery.error {
                info.insert("error".into(), error.clone().into());
            }
            map.serialize_entry("webhook", &info)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str, decoding: Decoding) -> (String, Vec<String>) {
        let mut secrets = Vec::new();
        let redacted = redact_pairs(text, &['&', ';'], decoding, &mut secrets).into_owned();
        (redacted, secrets)
    }

    fn json(text: &str) -> (String, Vec<String>) {
        let mut secrets = Vec::new();
        let redacted = redact_json(text, &mut secrets);
        assert!(
            serde_json::from_str::<&RawValue>(&redacted).is_ok(),
            "still JSON: {redacted}"
        );
        (redacted, secrets)
    }

    #[test]
    fn an_encoded_access_token_is_found_as_the_routes_read_it() {
        let (query, secrets) = pairs("a=1&access%5Ftoken=tok%2Ben+d&b=2", Decoding::Form);
        assert_eq!(query, "a=1&access%5Ftoken=[redacted]&b=2");
        // Decoded as the routes decode it (`%2B` is `+`, `+` a space), and as sent.
        assert_eq!(secrets, ["tok+en d", "tok%2Ben+d"]);
    }

    #[test]
    fn an_empty_or_keyless_pair_is_kept_as_written() {
        let (query, secrets) = pairs("&access_token&=v&access_token=", Decoding::Form);
        assert_eq!(query, "&access_token&=v&access_token=");
        assert!(secrets.is_empty());
    }

    #[test]
    fn credential_names_in_any_case_and_spelling() {
        for name in [
            "access_token",
            "ACCESS_TOKEN",
            "Access-Token",
            "x-api-key",
            "API_KEY",
            "client_secret",
            "Client-Secret",
            " my_access_token ",
        ] {
            assert!(is_credential_name(name), "{name}");
        }
        for name in ["access", "token", "api_keys", "client_id", "secret", ""] {
            assert!(!is_credential_name(name), "{name}");
        }
        assert!(is_credential_header("cookie"));
        assert!(is_credential_header("x-access-token"));
        assert!(!is_credential_header("content-type"));
    }

    #[test]
    fn path_parameters_and_hidden_credentials_are_redacted() {
        let mut secrets = Vec::new();
        let path = redact_pairs(
            "/v2/a;Access_Token=t0ken1;x=1/b%3Bapi%5Fkey%3Dk3y123/c",
            &['/', ';'],
            Decoding::Path,
            &mut secrets,
        );
        assert_eq!(path, "/v2/a;Access_Token=[redacted];x=1/[redacted]/c");
        assert_eq!(secrets, ["t0ken1", "t0ken1", "k3y123"]);
        let (query, secrets) = pairs("next=%2Fx%3Fclient_secret%3Ds3cr3t&y=1", Decoding::Form);
        assert_eq!(query, "next=[redacted]&y=1");
        assert_eq!(secrets, ["s3cr3t"]);
    }

    #[test]
    fn credentials_written_in_text_are_redacted() {
        let mut secrets = Vec::new();
        let text = redact_text(
            r#"{"client_secret": "a b\"c", 'api_key':'k', x-api-key: v1 rest, access_token=t&z, api_key=}"#,
            &mut secrets,
        );
        assert_eq!(
            text,
            r#"{"client_secret": "[redacted]", 'api_key':'[redacted]', x-api-key: [redacted] rest, access_token=[redacted]&z, api_key=}"#
        );
        assert_eq!(secrets, [r#"a b\"c"#, "k", "v1", "t"]);
        // Already redacted: left alone.
        let mut again = Vec::new();
        assert!(matches!(redact_text(&text, &mut again), Cow::Borrowed(_)));
        assert!(again.is_empty());
        // JSON written in a JSON string.
        let mut secrets = Vec::new();
        let text = redact_text(r#"{\"access_token\": \"t0k\", \"n\": 1}"#, &mut secrets);
        assert_eq!(text, r#"{\"access_token\": \"[redacted]\", \"n\": 1}"#);
        assert_eq!(secrets, ["t0k"]);
    }

    #[test]
    fn credential_members_are_redacted_and_the_rest_kept_byte_for_byte() {
        let (text, secrets) = json(
            r#"{ "a" : 1.50, "Client_Secret" : "s\u0031", "n": {"api_key": 12345678, "k": [1]},
                "x-access-token": {"deep": ["v"]}, "url": "https://h/?access_token=t0k#f",
                "access_token": "[redacted]" }"#,
        );
        assert_eq!(
            text,
            r#"{ "a" : 1.50, "Client_Secret" : "[redacted]", "n": {"api_key": "[redacted]", "k": [1]},
                "x-access-token": "[redacted]", "url": "https://h/?access_token=[redacted]#f",
                "access_token": "[redacted]" }"#
        );
        assert_eq!(secrets, ["s1", r"s\u0031", "12345678", "t0k"]);
        let plain = r#"[ {"a": "b"}, 1e3 ]"#;
        assert_eq!(json(plain), (plain.to_owned(), Vec::new()));
    }

    #[test]
    fn a_secret_written_with_json_escapes_is_scrubbed() {
        let secrets = ["abc/defgh".to_owned()];
        assert_eq!(
            scrub_json(
                r#"{"p": "x abc\/defgh", "q": "abc/defgh"}"#.to_owned(),
                &secrets
            ),
            r#"{"p": "x [redacted]", "q": "[redacted]"}"#
        );
    }

    #[test]
    fn a_cut_body_ends_on_a_whole_character_and_shows_no_part_of_a_secret() {
        let long = format!("é{}", "x".repeat(MAX_BODY_TEXT));
        let Body::Text { text, truncated } = cut(long, true, &[]) else {
            panic!("text");
        };
        assert!(truncated);
        assert_eq!(text.len(), MAX_BODY_TEXT);
        let secrets = ["s3cr3t-value".to_owned()];
        let Body::Text { text, truncated } = cut("abc s3cr3t".to_owned(), false, &secrets) else {
            panic!("text");
        };
        assert!(truncated);
        assert_eq!(text, "abc ");
        let Body::Text { text, truncated } = cut("abc s3cr3t".to_owned(), true, &secrets) else {
            panic!("text");
        };
        assert!(!truncated, "whole: nothing was cut");
        assert_eq!(text, "abc s3cr3t");
        assert_eq!(without_cut_char("aé".as_bytes()), "aé".as_bytes());
        assert_eq!(without_cut_char(&"aé".as_bytes()[..2]), b"a");
        assert_eq!(without_cut_char(&"a€".as_bytes()[..3]), b"a");
    }

    fn recorded(content_type: &str, body: &[u8]) -> Recorded {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            content_type.parse().expect("a header value"),
        );
        headers.insert(
            "x-api-key",
            "header-secret".parse().expect("a header value"),
        );
        let uri = "/x?y=header-secret".parse().expect("a URI");
        Head::new(&Method::POST, &uri, &headers, Utc::now()).record(
            Some(body),
            Some(200),
            None,
            None,
        )
    }

    fn numbered(journal: &Journal, thread: usize, n: usize) {
        let uri = format!("/t{thread}/{n}").parse().expect("a URI");
        let headers = HeaderMap::new();
        let head = Head::new(&Method::GET, &uri, &headers, Utc::now());
        journal.push(head.record(None, Some(200), None, None));
    }

    fn paths(journal: &Journal) -> Vec<String> {
        journal.entries().into_iter().map(|e| e.path).collect()
    }

    #[test]
    fn parts_keep_every_length_and_a_cut_buffer_ends_them() {
        let lengths = [0, 1, 0x7f, 0x80, 300, 0x3fff, 0x4000, MAX_RECORDED_BODY + 1];
        let mut bytes = Vec::new();
        for len in lengths {
            let before = bytes.len();
            push_part(&mut bytes, &vec![b'x'; len]);
            assert_eq!(bytes.len() - before, part_size(len), "length {len}");
        }
        let read: Vec<usize> = Parts(&bytes).map(<[u8]>::len).collect();
        assert_eq!(read, lengths);
        // A cut in a length or in a part's bytes: the parts before it only.
        assert_eq!(Parts(&bytes[..bytes.len() - 1]).count(), lengths.len() - 1);
        assert_eq!(Parts(&[0x80]).count(), 0);
        assert_eq!(Parts(&[0xff; 12]).count(), 0, "a length past usize");
    }

    #[test]
    fn a_recorded_request_reads_back_as_it_arrived() {
        let mut headers = HeaderMap::new();
        headers.append("x-b", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        headers.append("x-b", HeaderValue::from_static("3"));
        let uri: Uri = "/p/q?".parse().expect("a URI");
        let method = Method::from_bytes(b"PURGE").expect("a method");
        let at = Utc::now();
        let recorded = Head::new(&method, &uri, &headers, at).record(
            Some(b"{}"),
            None,
            Some(7),
            Some(Outcome::ClientGone),
        );
        let decoded = recorded.decode();
        assert_eq!(
            (decoded.method, decoded.path, decoded.query, decoded.body),
            ("PURGE", "/p/q", Some(""), Some(&b"{}"[..]))
        );
        assert_eq!(decoded.headers, headers);
        let entry = recorded.redacted();
        assert_eq!((entry.path.as_str(), entry.at), ("/p/q?", at));
        assert_eq!(
            (entry.fault, entry.outcome),
            (Some(7), Some(Outcome::ClientGone))
        );
        let empty = Head::new(&Method::GET, &uri, &HeaderMap::new(), at).record(
            Some(b""),
            Some(200),
            None,
            None,
        );
        assert_eq!(empty.decode().body, None, "an empty body is none");
        // What keeps the journal small: an entry is one cache line.
        assert_eq!(std::mem::size_of::<Slot>(), 64);
    }

    #[test]
    fn the_ring_keeps_the_most_recent_entries_in_order() {
        for limit in [1, 3, 64, 65, 1000] {
            let journal = Journal::new(limit);
            for n in 0..2 * limit + 5 {
                numbered(&journal, 0, n);
                if limit > 100 && n % 97 != 0 {
                    continue;
                }
                let shown = paths(&journal);
                let first = (n + 1).saturating_sub(limit);
                let expected: Vec<String> = (first..=n).map(|i| format!("/t0/{i}")).collect();
                assert_eq!(shown, expected, "limit {limit} after {n}");
            }
            journal.clear();
            assert!(journal.entries().is_empty());
            numbered(&journal, 0, 7);
            assert_eq!(paths(&journal), ["/t0/7"]);
        }
        // Past the ring's size: one queue, same behaviour.
        let journal = Journal::new(MAX_RING_SLOTS + 1);
        assert!(matches!(journal.entries, Entries::Queue(_)));
        for n in 0..3 {
            numbered(&journal, 0, n);
        }
        assert_eq!(paths(&journal), ["/t0/0", "/t0/1", "/t0/2"]);
        assert!(!Journal::new(0).enabled());
    }

    #[test]
    fn concurrent_recordings_keep_the_limit_and_each_writers_order() {
        let journal = Journal::new(100);
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let journal = &journal;
                scope.spawn(move || {
                    for n in 0..500 {
                        numbered(journal, thread, n);
                    }
                });
            }
        });
        let shown = paths(&journal);
        assert_eq!(shown.len(), 100);
        for thread in 0..4 {
            let prefix = format!("/t{thread}/");
            let ns: Vec<usize> = shown
                .iter()
                .filter_map(|p| p.strip_prefix(&prefix))
                .map(|n| n.parse().expect("a number"))
                .collect();
            assert!(ns.windows(2).all(|w| w[0] < w[1]), "{ns:?}");
        }
    }

    #[test]
    fn bodies_are_shown_as_json_only_within_the_limits() {
        let form = recorded(
            "application/x-www-form-urlencoded; charset=utf-8",
            b"client_id=c&client%5Fsecret=form+secret&z=header-secret",
        )
        .redacted();
        let Some(Body::Text { text, truncated }) = &form.body else {
            panic!("text: {form:?}");
        };
        assert_eq!(text, "client_id=c&client%5Fsecret=[redacted]&z=[redacted]");
        assert!(!truncated);
        assert_eq!(form.path, "/x?y=[redacted]");

        let at = format!("{}1{}", "[".repeat(64), "]".repeat(64));
        let entry = recorded("application/json", at.as_bytes()).redacted();
        assert!(matches!(&entry.body, Some(Body::Json(raw)) if raw.get() == at));
        let past = format!("{}1{}", "[".repeat(65), "]".repeat(65));
        let entry = recorded("application/json", past.as_bytes()).redacted();
        assert!(
            matches!(&entry.body, Some(Body::Text { text, truncated: false }) if *text == past)
        );

        let large = format!("[\"{}\"]", "x".repeat(MAX_RECORDED_BODY));
        let kept = recorded("application/json", large.as_bytes());
        assert_eq!(kept.decode().body.map(<[u8]>::len), Some(MAX_BODY_TEXT));
        assert_eq!(kept.body_len as usize, large.len());
        let entry = kept.redacted();
        assert!(matches!(
            &entry.body,
            Some(Body::Text { text, truncated: true }) if large.starts_with(text.as_str())
                && text.len() == MAX_BODY_TEXT
        ));
        let json = serde_json::to_value(&entry).expect("serializable");
        assert_eq!(json["body_truncated"], true);
        assert!(json.get("body").is_none() && json.get("outcome").is_none());
    }
}
