//! The journal: the most recent requests that reached LivePerson's routes,
//! shown with every credential value redacted.
//!
//! Recording costs a request only reference-counted copies of its head and
//! body and one short lock: the head's header map, URI and body are kept as
//! they arrived, and the redaction (headers, query, path, body) and the JSON
//! check of the body are done when the journal is read, which is rare. So
//! credentials are held in memory as received until then (the emulator holds
//! the ones it checks anyway); nothing the journal gives out carries one.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::value::RawValue;

use super::json::timestamp;

/// What a redacted credential shows.
pub(super) const REDACTED: &str = "[redacted]";

/// The headers that carry credentials.
const CREDENTIAL_HEADERS: [&str; 3] = ["maven-api-key", "authorization", "x-lp-on-behalf"];

/// The query parameter that carries a credential.
const CREDENTIAL_QUERY: &str = "access_token";

/// Bodies larger than this are recorded without their body, so that the
/// journal's memory stays bounded (1,000 entries hold at most 256 MiB of
/// bodies).
pub(super) const MAX_RECORDED_BODY: usize = 256 * 1024;

/// A credential value found elsewhere in a request (another header, the
/// path, the body) is redacted there too when it is at least this long;
/// shorter ones (`k`) would redact ordinary text.
const MIN_SECRET_ELSEWHERE: usize = 6;

/// One recorded request and its answer.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) status: Option<u16>,
    pub(super) at: DateTime<Utc>,
    pub(super) headers: Vec<(String, String)>,
    /// The body as sent (redacted), not yet known to be JSON.
    pub(super) body: Option<Box<str>>,
    pub(super) fault: Option<u64>,
}

/// A request's head, kept as it arrived (cheap copies: the URI and the
/// header values share their bytes with the request's).
#[derive(Clone)]
pub(super) struct Head {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    at: DateTime<Utc>,
}

impl Head {
    pub(super) fn capture(
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        at: DateTime<Utc>,
    ) -> Head {
        Head {
            method: method.clone(),
            uri: uri.clone(),
            headers: headers.clone(),
            at,
        }
    }

    /// The record of this request, answered `status` (`None`: no answer).
    pub(super) fn answered(
        self,
        body: Option<&Bytes>,
        status: Option<u16>,
        fault: Option<u64>,
    ) -> Recorded {
        Recorded {
            body: body
                .filter(|b| !b.is_empty() && b.len() <= MAX_RECORDED_BODY)
                .cloned(),
            head: self,
            status,
            fault,
        }
    }
}

/// A request as recorded, not yet redacted.
#[derive(Clone)]
pub(super) struct Recorded {
    head: Head,
    body: Option<Bytes>,
    status: Option<u16>,
    fault: Option<u64>,
}

impl Recorded {
    /// The entry as shown: every credential value `[redacted]`, in the
    /// credential headers, the query, and wherever else it appears.
    fn redacted(&self) -> Entry {
        let Head {
            method,
            uri,
            headers,
            at,
        } = &self.head;
        let mut secrets = Vec::new();
        for name in CREDENTIAL_HEADERS {
            for value in headers.get_all(name) {
                let value = String::from_utf8_lossy(value.as_bytes());
                // `Bearer <token>`: the token alone may appear elsewhere.
                if let Some((_scheme, token)) = value.split_once(' ') {
                    secrets.push(token.trim().to_owned());
                }
                secrets.push(value.trim().to_owned());
            }
        }
        let path = redact_query(uri, &mut secrets);
        secrets.retain(|s| s.len() >= MIN_SECRET_ELSEWHERE);
        // Longest first, so a token is not half-replaced by a shorter one.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        let mut recorded = Vec::with_capacity(headers.keys_len());
        for name in headers.keys() {
            let value = if CREDENTIAL_HEADERS.contains(&name.as_str()) {
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
        let body = self
            .body
            .as_ref()
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(|text| scrub(text.to_owned(), &secrets).into_boxed_str());
        Entry {
            method: method.as_str().to_owned(),
            path: scrub(path, &secrets),
            status: self.status,
            at: *at,
            headers: recorded,
            body,
            fault: self.fault,
        }
    }
}

/// The path and query, with every `access_token` value `[redacted]` (and
/// collected into `secrets`, decoded).
fn redact_query(uri: &Uri, secrets: &mut Vec<String>) -> String {
    let path = uri.path();
    let Some(query) = uri.query() else {
        return path.to_owned();
    };
    let mut out = String::with_capacity(path.len() + 1 + query.len());
    out.push_str(path);
    out.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if form_decode(key) == CREDENTIAL_QUERY && !value.is_empty() {
            secrets.push(form_decode(value));
            secrets.push(value.to_owned());
            out.push_str(key);
            out.push('=');
            out.push_str(REDACTED);
        } else {
            out.push_str(pair);
        }
    }
    out
}

/// `application/x-www-form-urlencoded` decoding, as the query is read by the
/// routes (`+` is a space; a bad escape is kept as written).
fn form_decode(text: &str) -> String {
    if !text.contains(['%', '+']) {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
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

/// The bounded journal.
pub(super) struct Journal {
    limit: usize,
    entries: Mutex<VecDeque<Recorded>>,
}

impl Journal {
    /// A journal of the most recent `limit` requests (`0`: records nothing).
    pub(super) fn new(limit: usize) -> Journal {
        Journal {
            limit,
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// Whether requests are recorded at all.
    pub(super) fn enabled(&self) -> bool {
        self.limit > 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Recorded>> {
        // An entry is pushed or popped whole: a panic elsewhere leaves no
        // half-made state.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds an entry, dropping the oldest one when full.
    pub(super) fn push(&self, entry: Recorded) {
        if self.limit == 0 {
            return;
        }
        let mut entries = self.lock();
        while entries.len() >= self.limit {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// The entries, oldest first, redacted (outside the lock: recording
    /// requests do not wait for it).
    pub(super) fn entries(&self) -> Vec<Entry> {
        let recorded: Vec<Recorded> = self.lock().iter().cloned().collect();
        recorded.iter().map(Recorded::redacted).collect()
    }

    /// Forgets every entry.
    pub(super) fn clear(&self) {
        self.lock().clear();
    }
}

impl Entry {
    /// The body, when it is JSON.
    pub(super) fn json_body(&self) -> Option<&RawValue> {
        self.body
            .as_deref()
            .and_then(|text| serde_json::from_str::<&RawValue>(text).ok())
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
        let body = self.json_body();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("method", &self.method)?;
        map.serialize_entry("path", &self.path)?;
        map.serialize_entry("status", &self.status)?;
        map.serialize_entry("at", &timestamp(self.at))?;
        map.serialize_entry("headers", &HeaderObject(&self.headers))?;
        if let Some(body) = body {
            map.serialize_entry("body", body)?;
        }
        if let Some(fault) = self.fault {
            map.serialize_entry("fault", &fault.to_string())?;
        }
        map.end()
    }
}
