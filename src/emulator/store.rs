//! The in-memory store shared by CCS v1 and v2.
//!
//! Layout: account → namespace → session → property. Namespace-level data lives in
//! the session [`DEFAULT_SESSION`](super::names::DEFAULT_SESSION). Every property
//! keeps its value as the minified JSON text it was sent (so a read is a cheap
//! clone of [`Bytes`], and numbers keep their digits) together with its size in characters and its own expiry.
//!
//! One `RwLock` guards everything: reads share it, every write holds it
//! exclusively for a short, allocation-light section, so concurrent writes never
//! lose updates. The sweeper takes the lock once per namespace that has expired
//! data, never for the whole store at once.

use std::collections::{BTreeMap, HashMap};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::body::Bytes;
use chrono::{DateTime, TimeDelta, Utc};

use super::json::JsonObject;
use crate::values::{MAX_DOCUMENT_CHARS, member_chars, object_chars};

/// A point in time.
pub(super) type Time = DateTime<Utc>;

/// The whole store.
#[derive(Default)]
pub(super) struct Store {
    accounts: RwLock<HashMap<String, Account>>,
}

#[derive(Default)]
struct Account {
    namespaces: BTreeMap<String, Namespace>,
}

struct Namespace {
    created_at: Time,
    /// TTL for later writes, in seconds (`0` = forever); `None` = never set.
    ttl: Option<u64>,
    session_ttls: BTreeMap<String, SessionTtl>,
    sessions: BTreeMap<String, Session>,
    /// A lower bound of the earliest expiry of any property (`None` = nothing expires).
    next_expiry: Option<Time>,
}

/// The TTL set on one session with `POST .../namespace/{ns}/session`.
#[derive(Clone, Copy)]
pub(super) struct SessionTtl {
    /// When the TTL was first set.
    pub created_at: Time,
    /// TTL for later writes, in seconds (`0` = forever).
    pub ttl: u64,
}

#[derive(Default)]
struct Session {
    props: BTreeMap<String, Prop>,
    /// Sum of [`Prop::chars`] over `props`.
    chars: usize,
    /// A lower bound of the earliest expiry among `props`.
    next_expiry: Option<Time>,
}

struct Prop {
    raw: Bytes,
    /// Characters this property adds to its document: `"key":value`.
    chars: usize,
    expires: Option<Time>,
}

/// One property about to be written: its value serialized once, outside the lock.
pub(super) struct Entry {
    key: String,
    raw: Bytes,
    chars: usize,
}

impl Entry {
    /// A value for storage under `key`, as its minified JSON text.
    pub(super) fn new(key: String, raw: String) -> Entry {
        let chars = member_chars(&key, raw.chars().count());
        Entry {
            key,
            raw: Bytes::from(raw),
            chars,
        }
    }
}

/// How a write picks the expiry of the properties it writes.
#[derive(Clone, Copy)]
pub(super) enum Expiry {
    /// v1: the session's TTL if set, else the namespace's TTL, else none.
    Inherit,
    /// v2: the whole document expires this many seconds from now. v2 keeps
    /// one TTL per context document, so an upsert moves the expiry of every
    /// property already in it, not only of those it writes.
    Document(u64),
}

/// The write would make the session document larger than [`MAX_DOCUMENT_CHARS`].
#[derive(Debug)]
pub(super) struct TooLarge;

/// One namespace as listed by `GET /v1/account/{accountId}`.
pub(super) struct NamespaceInfo {
    pub name: String,
    pub created_at: Time,
    pub ttl: Option<u64>,
}

/// All live properties of one session document.
pub(super) struct Document {
    /// The properties as one JSON object.
    pub json: Vec<u8>,
    /// When the last property expires; `None` if some property never expires.
    pub expires: Option<Time>,
}

/// The expiry of a write made at `now` with a TTL of `seconds` (`0` = forever).
/// A TTL too long to represent is forever too.
pub(super) fn expiry_after(now: Time, seconds: u64) -> Option<Time> {
    if seconds == 0 {
        return None;
    }
    let delta = TimeDelta::try_seconds(i64::try_from(seconds).ok()?)?;
    now.checked_add_signed(delta)
}

/// The namespace in locked `accounts`, creating the account and namespace
/// first if needed.
fn namespace_mut<'a>(
    accounts: &'a mut HashMap<String, Account>,
    account: &str,
    ns: &str,
    now: Time,
) -> &'a mut Namespace {
    accounts
        .entry(account.to_owned())
        .or_default()
        .namespaces
        .entry(ns.to_owned())
        .or_insert_with(|| Namespace::new(now))
}

fn earliest(a: Option<Time>, b: Option<Time>) -> Option<Time> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn is_live(expires: Option<Time>, now: Time) -> bool {
    expires.is_none_or(|t| t > now)
}

impl Prop {
    fn live(&self, now: Time) -> bool {
        is_live(self.expires, now)
    }
}

impl Session {
    fn has_live(&self, now: Time) -> bool {
        self.props.values().any(|p| p.live(now))
    }

    /// The raw JSON of one property, if it exists and has not expired.
    fn live_value(&self, key: &str, now: Time) -> Option<Bytes> {
        self.props
            .get(key)
            .filter(|p| p.live(now))
            .map(|p| p.raw.clone())
    }

    /// Removes expired properties (only if one may have expired); returns how many.
    fn purge(&mut self, now: Time) -> usize {
        if is_live(self.next_expiry, now) {
            return 0;
        }
        let before = self.props.len();
        self.props.retain(|_, p| p.live(now));
        self.chars = self.props.values().map(|p| p.chars).sum();
        self.next_expiry = self
            .props
            .values()
            .fold(None, |t, p| earliest(t, p.expires));
        before - self.props.len()
    }

    /// The document size after merging `entries` into this session.
    fn chars_after(&self, entries: &[Entry]) -> usize {
        let (mut members, mut count) = (self.chars, self.props.len());
        for entry in entries {
            if let Some(old) = self.props.get(&entry.key) {
                members -= old.chars;
                count -= 1;
            }
            members += entry.chars;
            count += 1;
        }
        object_chars(members, count)
    }

    fn remove(&mut self, key: &str) {
        if let Some(old) = self.props.remove(key) {
            self.chars -= old.chars;
        }
    }

    fn write_object(&self, out: &mut JsonObject, now: Time) {
        for (key, prop) in self.props.iter().filter(|(_, p)| p.live(now)) {
            out.raw(key, &prop.raw);
        }
    }
}

impl Namespace {
    fn new(now: Time) -> Namespace {
        Namespace {
            created_at: now,
            ttl: None,
            session_ttls: BTreeMap::new(),
            sessions: BTreeMap::new(),
            next_expiry: None,
        }
    }

    fn live_sessions(&self, now: Time) -> impl Iterator<Item = (&String, &Session)> {
        self.sessions.iter().filter(move |(_, s)| s.has_live(now))
    }

    /// Purges every session that may hold expired properties; returns how many
    /// properties were removed.
    fn purge(&mut self, now: Time) -> usize {
        let mut removed = 0;
        for session in self.sessions.values_mut() {
            removed += session.purge(now);
        }
        self.sessions.retain(|_, s| !s.props.is_empty());
        self.next_expiry = self
            .sessions
            .values()
            .fold(None, |t, s| earliest(t, s.next_expiry));
        removed
    }
}

impl Store {
    fn lock_read(&self) -> RwLockReadGuard<'_, HashMap<String, Account>> {
        // A panic elsewhere cannot leave the maps half-updated in a way that
        // matters more than refusing service would, so poisoning is ignored.
        self.accounts.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_write(&self) -> RwLockWriteGuard<'_, HashMap<String, Account>> {
        self.accounts
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn with_namespace<T>(
        &self,
        account: &str,
        ns: &str,
        f: impl FnOnce(&Namespace) -> T,
    ) -> Option<T> {
        let accounts = self.lock_read();
        accounts
            .get(account)
            .and_then(|a| a.namespaces.get(ns))
            .map(f)
    }

    fn with_session<T>(
        &self,
        account: &str,
        ns: &str,
        session: &str,
        f: impl FnOnce(&Session) -> T,
    ) -> Option<T> {
        self.with_namespace(account, ns, |n| n.sessions.get(session).map(f))
            .flatten()
    }

    fn with_namespace_mut<T>(
        &self,
        account: &str,
        ns: &str,
        f: impl FnOnce(&mut Namespace) -> T,
    ) -> Option<T> {
        let mut accounts = self.lock_write();
        accounts
            .get_mut(account)
            .and_then(|a| a.namespaces.get_mut(ns))
            .map(f)
    }

    /// Runs `f` on the namespace, creating the account and namespace first if needed.
    fn upsert_namespace<T>(
        &self,
        account: &str,
        ns: &str,
        now: Time,
        f: impl FnOnce(&mut Namespace) -> T,
    ) -> T {
        f(namespace_mut(&mut self.lock_write(), account, ns, now))
    }

    /// Creates a namespace if it does not exist; sets its TTL when `ttl` is given.
    pub(super) fn create_namespace(&self, account: &str, ns: &str, ttl: Option<u64>, now: Time) {
        self.upsert_namespace(account, ns, now, |n| {
            if ttl.is_some() {
                n.ttl = ttl;
            }
        });
    }

    /// Every namespace of the account, sorted by name.
    pub(super) fn namespaces(&self, account: &str) -> Vec<NamespaceInfo> {
        let accounts = self.lock_read();
        let Some(account) = accounts.get(account) else {
            return Vec::new();
        };
        account
            .namespaces
            .iter()
            .map(|(name, n)| NamespaceInfo {
                name: name.clone(),
                created_at: n.created_at,
                ttl: n.ttl,
            })
            .collect()
    }

    /// Removes a namespace with all its data and TTLs.
    pub(super) fn delete_namespace(&self, account: &str, ns: &str) {
        let mut accounts = self.lock_write();
        if let Some(a) = accounts.get_mut(account) {
            a.namespaces.remove(ns);
            if a.namespaces.is_empty() {
                accounts.remove(account);
            }
        }
    }

    /// Sets the TTL of later writes to one session.
    pub(super) fn set_session_ttl(
        &self,
        account: &str,
        ns: &str,
        session: &str,
        ttl: u64,
        now: Time,
    ) {
        self.upsert_namespace(account, ns, now, |n| {
            match n.session_ttls.get_mut(session) {
                Some(existing) => existing.ttl = ttl,
                None => {
                    let entry = SessionTtl {
                        created_at: now,
                        ttl,
                    };
                    n.session_ttls.insert(session.to_owned(), entry);
                }
            }
        });
    }

    /// The sessions of a namespace that have a TTL set, sorted by session id.
    pub(super) fn session_ttls(&self, account: &str, ns: &str) -> Vec<(String, SessionTtl)> {
        self.with_namespace(account, ns, |n| {
            n.session_ttls
                .iter()
                .map(|(id, ttl)| (id.clone(), *ttl))
                .collect()
        })
        .unwrap_or_default()
    }

    /// Merges `entries` into a session document, creating what is missing.
    /// Nothing is written if the document would grow over [`MAX_DOCUMENT_CHARS`].
    pub(super) fn write(
        &self,
        account: &str,
        ns: &str,
        session: &str,
        entries: Vec<Entry>,
        expiry: Expiry,
        now: Time,
    ) -> Result<(), TooLarge> {
        let mut accounts = self.lock_write();
        let existing = accounts
            .get_mut(account)
            .and_then(|a| a.namespaces.get_mut(ns));
        let (ttl, chars) = match existing {
            Some(n) => {
                let ttl = n.session_ttls.get(session).map(|t| t.ttl).or(n.ttl);
                let chars = match n.sessions.get_mut(session) {
                    Some(s) => {
                        s.purge(now);
                        s.chars_after(&entries)
                    }
                    None => Session::default().chars_after(&entries),
                };
                (ttl, chars)
            }
            None => (None, Session::default().chars_after(&entries)),
        };
        if chars > MAX_DOCUMENT_CHARS {
            return Err(TooLarge);
        }
        let expires = match expiry {
            Expiry::Inherit => ttl.and_then(|t| expiry_after(now, t)),
            Expiry::Document(seconds) => expiry_after(now, seconds),
        };

        let namespace = namespace_mut(&mut accounts, account, ns, now);
        if let (Expiry::Document(_), Some(s)) = (expiry, namespace.sessions.get_mut(session)) {
            for prop in s.props.values_mut() {
                prop.expires = expires;
            }
            // Properties that never expired now do: lower the sweep bounds.
            s.next_expiry = earliest(s.next_expiry, expires);
            namespace.next_expiry = earliest(namespace.next_expiry, expires);
        }
        if entries.is_empty() {
            return Ok(());
        }
        let s = namespace.sessions.entry(session.to_owned()).or_default();
        for Entry { key, raw, chars } in entries {
            s.remove(&key);
            s.chars += chars;
            s.props.insert(
                key,
                Prop {
                    raw,
                    chars,
                    expires,
                },
            );
        }
        s.next_expiry = earliest(s.next_expiry, expires);
        namespace.next_expiry = earliest(namespace.next_expiry, expires);
        Ok(())
    }

    /// One live property.
    pub(super) fn property(
        &self,
        account: &str,
        ns: &str,
        session: &str,
        key: &str,
        now: Time,
    ) -> Option<Bytes> {
        self.with_session(account, ns, session, |s| s.live_value(key, now))
            .flatten()
    }

    /// The live values of `keys` (in the same order; `None` where missing).
    pub(super) fn properties(
        &self,
        account: &str,
        ns: &str,
        session: &str,
        keys: &[&str],
        now: Time,
    ) -> Vec<Option<Bytes>> {
        self.with_session(account, ns, session, |s| {
            keys.iter().map(|k| s.live_value(k, now)).collect()
        })
        .unwrap_or_else(|| vec![None; keys.len()])
    }

    /// The whole session document, or `None` if it has no live property.
    pub(super) fn document(
        &self,
        account: &str,
        ns: &str,
        session: &str,
        now: Time,
    ) -> Option<Document> {
        self.with_session(account, ns, session, |s| {
            if !s.has_live(now) {
                return None;
            }
            let mut object = JsonObject::new();
            s.write_object(&mut object, now);
            // The latest expiry, unless some property never expires.
            let mut latest: Option<Time> = None;
            let mut forever = false;
            for prop in s.props.values().filter(|p| p.live(now)) {
                match prop.expires {
                    Some(e) => latest = Some(latest.map_or(e, |l| l.max(e))),
                    None => forever = true,
                }
            }
            Some(Document {
                json: object.finish(),
                expires: if forever { None } else { latest },
            })
        })
        .flatten()
    }

    /// Removes some properties of a session.
    pub(super) fn delete_properties(&self, account: &str, ns: &str, session: &str, keys: &[&str]) {
        self.with_namespace_mut(account, ns, |n| {
            if let Some(s) = n.sessions.get_mut(session) {
                for key in keys {
                    s.remove(key);
                }
                if s.props.is_empty() {
                    n.sessions.remove(session);
                }
            }
        });
    }

    /// Removes all properties of a session (its TTL setting stays).
    pub(super) fn delete_session(&self, account: &str, ns: &str, session: &str) {
        self.with_namespace_mut(account, ns, |n| n.sessions.remove(session));
    }

    /// One page of the ids of sessions with live properties, sorted.
    pub(super) fn session_ids(
        &self,
        account: &str,
        ns: &str,
        skip: usize,
        take: usize,
        now: Time,
    ) -> Vec<String> {
        self.with_namespace(account, ns, |n| {
            n.live_sessions(now)
                .skip(skip)
                .take(take)
                .map(|(id, _)| id.clone())
                .collect()
        })
        .unwrap_or_default()
    }

    /// One page of `[{"sessionId": ..., "properties": {...}}]`, sorted by session id.
    pub(super) fn session_properties(
        &self,
        account: &str,
        ns: &str,
        skip: usize,
        take: usize,
        now: Time,
    ) -> Vec<u8> {
        let mut out = vec![b'['];
        self.with_namespace(account, ns, |n| {
            for (i, (id, session)) in n.live_sessions(now).skip(skip).take(take).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let mut properties = JsonObject::new();
                session.write_object(&mut properties, now);
                let mut item = JsonObject::new();
                item.string("sessionId", id);
                item.raw("properties", &properties.finish());
                out.extend_from_slice(&item.finish());
            }
        });
        out.push(b']');
        out
    }

    /// Removes expired properties (and sessions left empty) from memory; returns
    /// how many properties were removed. Takes the lock once per namespace.
    pub(super) fn sweep(&self, now: Time) -> usize {
        let due: Vec<(String, String)> = {
            let accounts = self.lock_read();
            accounts
                .iter()
                .flat_map(|(account, a)| {
                    a.namespaces
                        .iter()
                        .filter(|(_, n)| !is_live(n.next_expiry, now))
                        .map(move |(ns, _)| (account.clone(), ns.clone()))
                })
                .collect()
        };
        due.iter()
            .filter_map(|(account, ns)| self.with_namespace_mut(account, ns, |n| n.purge(now)))
            .sum()
    }

    /// Forgets everything.
    pub(super) fn clear(&self) {
        self.lock_write().clear();
    }

    /// How many properties are held in memory, expired or not.
    pub(super) fn stored_properties(&self) -> usize {
        let accounts = self.lock_read();
        accounts
            .values()
            .flat_map(|a| a.namespaces.values())
            .flat_map(|n| n.sessions.values())
            .map(|s| s.props.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn entry(key: &str, value: Value) -> Entry {
        Entry::new(key.to_owned(), value.to_string())
    }

    #[test]
    fn tracked_size_matches_serialized_document() {
        let store = Store::default();
        let now = Utc::now();
        let entries = vec![entry("a", json!("é\"x")), entry("b\n", json!([1, 2]))];
        store
            .write("acc", "ns", "s", entries, Expiry::Inherit, now)
            .ok();
        store
            .write(
                "acc",
                "ns",
                "s",
                vec![entry("a", json!({"k": null}))],
                Expiry::Inherit,
                now,
            )
            .ok();
        let doc = store
            .document("acc", "ns", "s", now)
            .map(|d| d.json)
            .unwrap_or_default();
        let text = String::from_utf8(doc).unwrap_or_default();
        let tracked =
            store.with_session("acc", "ns", "s", |s| object_chars(s.chars, s.props.len()));
        assert_eq!(tracked, Some(text.chars().count()));
        // As `crate::values` counts a document (and the `ccs` binary with it).
        let properties: crate::v1::RawProperties = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(tracked, Some(crate::values::document_chars(&properties)));
        assert_eq!(text, r#"{"a":{"k":null},"b\n":[1,2]}"#);
    }

    #[test]
    fn expiry_of_huge_ttl_is_forever() {
        assert_eq!(expiry_after(Utc::now(), u64::MAX), None);
        assert_eq!(expiry_after(Utc::now(), 0), None);
        assert!(expiry_after(Utc::now(), 1).is_some());
    }
}
