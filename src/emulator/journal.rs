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
        let (name, decoded) = decode_pair(pair);
        if name == CREDENTIAL_QUERY && !value.is_empty() {
            secrets.push(decoded);
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

/// The key and value of one `key=value` query pair, decoded exactly as the
/// routes decode the query (axum's `Query`, i.e. serde_urlencoded: `+` is a
/// space, a bad escape is kept as written), so the journal finds the
/// `access_token` the routes read.
fn decode_pair(pair: &str) -> (String, String) {
    serde_urlencoded::from_str::<Vec<(String, String)>>(pair)
        .ok()
        .and_then(|pairs| pairs.into_iter().next())
        .unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_access_token_is_found_as_the_routes_read_it() {
        let uri: Uri = "/v2/x?a=1&access%5Ftoken=tok%2Ben+d&b=2"
            .parse()
            .expect("a URI");
        let mut secrets = Vec::new();
        let path = redact_query(&uri, &mut secrets);
        assert_eq!(path, "/v2/x?a=1&access%5Ftoken=[redacted]&b=2");
        // Decoded as the routes decode it (`%2B` is `+`, `+` a space), and as sent.
        assert_eq!(secrets, ["tok+en d", "tok%2Ben+d"]);
    }

    #[test]
    fn an_empty_or_keyless_pair_is_kept_as_written() {
        let uri: Uri = "/v1/x?&access_token&=v".parse().expect("a URI");
        let mut secrets = Vec::new();
        assert_eq!(redact_query(&uri, &mut secrets), "/v1/x?&access_token&=v");
        assert!(secrets.is_empty());
    }
}
