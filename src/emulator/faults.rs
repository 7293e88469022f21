//! Injected faults: the next matching requests answer a status, answer late,
//! or get no answer at all.
//!
//! Faults are matched before any CCS handler. Every active fault sits in one
//! list under one lock, so that a fault of `times: N` hits exactly N requests
//! however many arrive at once; with no fault active a request only reads
//! one atomic counter.
//!
//! A fault whose path starts with [`DELIVERY_PREFIX`] (`/__webhooks/`) hits
//! webhook deliveries instead of requests: a delivery of event type `E` is
//! matched as `POST /__webhooks/E` (so `/__webhooks/*` hits every
//! delivery). Such a fault may `drop` the delivery (never sent), `delay` it,
//! send it twice (`duplicate`) or send it after the next delivery of its
//! lane (`reorder`); it may not answer a `status`.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::http::Method;
use serde_json::{Map, Value};

/// The most faults active at once.
pub(super) const MAX_ACTIVE_FAULTS: usize = 1000;
/// The largest `times`.
const MAX_TIMES: u64 = 1_000_000;
/// The largest `delay_ms` (10 minutes).
const MAX_DELAY_MS: u64 = 600_000;
/// The largest `retry_after`, in seconds (one day).
const MAX_RETRY_AFTER: u64 = 86_400;
/// The statuses a fault may answer. HTTP/1.1 has no final 1xx answer (hyper
/// cannot send one), so informational statuses are refused.
const STATUSES: std::ops::RangeInclusive<u64> = 200..=599;
/// The path prefix of the faults that hit webhook deliveries.
pub(super) const DELIVERY_PREFIX: &str = "/__webhooks/";
/// The methods a fault may name.
const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// What a fault does to a request it hits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Action {
    /// Answer this status at once (with `Retry-After` when given).
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Answer normally after this delay.
    Delay(Duration),
    /// Close the connection without an answer (a delivery: never sent).
    Drop,
    /// A delivery only: sent twice.
    Duplicate,
    /// A delivery only: sent after the next delivery of its lane.
    Reorder,
}

/// A fault to inject into a running emulator, built from one of
/// [`Fault::status`], [`Fault::delay`] and [`Fault::drop_connection`].
///
/// It hits every path (`/*`) and method, once, unless [`Fault::path`],
/// [`Fault::method`] and [`Fault::times`] say otherwise; it is checked when
/// injected ([`Emulator::inject_fault`](super::Emulator::inject_fault)).
///
/// ```
/// use liveperson_ccs::emulator::Fault;
///
/// // The next two GETs under account le1 answer 429 with `Retry-After: 2`.
/// let fault = Fault::status(429)
///     .method(liveperson_ccs::Method::GET)
///     .path("/v1/account/le1/*")
///     .retry_after(2)
///     .times(2);
/// # let _ = fault;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    method: Option<Method>,
    path: String,
    status: Option<u64>,
    retry_after: Option<u64>,
    delay_ms: Option<u64>,
    drop: bool,
    duplicate: bool,
    reorder: bool,
    times: u64,
}

impl Fault {
    fn new() -> Fault {
        Fault {
            method: None,
            path: "/*".to_owned(),
            status: None,
            retry_after: None,
            delay_ms: None,
            drop: false,
            duplicate: false,
            reorder: false,
            times: 1,
        }
    }

    /// Answer `status` (200 to 599) at once, with a JSON body
    /// `{"message": "injected fault <id>"}` (none for 204, 205 and 304).
    pub fn status(status: u16) -> Fault {
        Fault {
            status: Some(u64::from(status)),
            ..Fault::new()
        }
    }

    /// Wait `delay` (1 ms to 10 minutes, counted in whole milliseconds), then
    /// answer normally.
    pub fn delay(delay: Duration) -> Fault {
        Fault {
            delay_ms: Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)),
            ..Fault::new()
        }
    }

    /// Close the connection without an answer.
    pub fn drop_connection() -> Fault {
        Fault {
            drop: true,
            ..Fault::new()
        }
    }

    /// Send a webhook delivery twice (a fault on deliveries: its
    /// [`path`](Self::path) starts with `/__webhooks/`, e.g.
    /// `/__webhooks/ms.MessagingEventNotification.ContentEvent`).
    pub fn duplicate_delivery() -> Fault {
        Fault {
            duplicate: true,
            path: "/__webhooks/*".to_owned(),
            ..Fault::new()
        }
    }

    /// Send a webhook delivery after the next delivery to the same endpoint
    /// for the same conversation (waiting up to 5 s for it). Its path is
    /// `/__webhooks/*` unless [`path`](Self::path) narrows it.
    pub fn reorder_delivery() -> Fault {
        Fault {
            reorder: true,
            path: "/__webhooks/*".to_owned(),
            ..Fault::new()
        }
    }

    /// Hit only requests of this method (GET, POST, PUT, PATCH or DELETE).
    pub fn method(mut self, method: Method) -> Fault {
        self.method = Some(method);
        self
    }

    /// Hit only this path (without the query, percent-encoded as sent):
    /// exactly, or as a prefix when it ends in `*` (default `/*`, every path).
    pub fn path(mut self, path: impl Into<String>) -> Fault {
        self.path = path.into();
        self
    }

    /// Send `Retry-After: <seconds>` (0 to 86,400) with a status fault.
    pub fn retry_after(mut self, seconds: u32) -> Fault {
        self.retry_after = Some(u64::from(seconds));
        self
    }

    /// Hit this many requests (1 to 1,000,000; default 1), then stop.
    pub fn times(mut self, times: u32) -> Fault {
        self.times = u64::from(times);
        self
    }

    /// Reads the JSON body of `POST /__emulator/faults`; unknown fields,
    /// wrong types and `null`s are errors.
    pub(super) fn from_json(body: &Map<String, Value>) -> Result<Fault, String> {
        let mut fault = Fault::new();
        let mut path = None;
        for (key, value) in body {
            match key.as_str() {
                "method" => {
                    let text = value.as_str().ok_or("method: must be a string")?;
                    let method = METHODS
                        .iter()
                        .find(|m| m.as_str() == text)
                        .ok_or("method: must be one of GET, POST, PUT, PATCH, DELETE")?;
                    fault.method = Some(method.clone());
                }
                "path" => path = Some(value.as_str().ok_or("path: must be a string")?.to_owned()),
                "status" => fault.status = Some(integer(key, value)?),
                "retry_after" => fault.retry_after = Some(integer(key, value)?),
                "delay_ms" => fault.delay_ms = Some(integer(key, value)?),
                "times" => fault.times = integer(key, value)?,
                "drop" => match value {
                    Value::Bool(true) => fault.drop = true,
                    _ => return Err("drop: only true is accepted".into()),
                },
                "duplicate" => match value {
                    Value::Bool(true) => fault.duplicate = true,
                    _ => return Err("duplicate: only true is accepted".into()),
                },
                "reorder" => match value {
                    Value::Bool(true) => fault.reorder = true,
                    _ => return Err("reorder: only true is accepted".into()),
                },
                other => return Err(format!("unknown field {other:?}")),
            }
        }
        fault.path = path.ok_or("path: required")?;
        Ok(fault)
    }

    /// Checks the fault; what it does.
    pub(super) fn action(&self) -> Result<Action, String> {
        if !valid_path(&self.path) {
            return Err(
                "path: must start with / and may end in * (a prefix); no other * is allowed".into(),
            );
        }
        if self.method.as_ref().is_some_and(|m| !METHODS.contains(m)) {
            return Err("method: must be one of GET, POST, PUT, PATCH, DELETE".into());
        }
        if !(1..=MAX_TIMES).contains(&self.times) {
            return Err(format!("times: must be from 1 to {MAX_TIMES}"));
        }
        let delivery = self.path.starts_with(DELIVERY_PREFIX);
        if self.duplicate || self.reorder {
            if !delivery {
                return Err(format!(
                    "duplicate and reorder hit webhook deliveries only: the path must start with {DELIVERY_PREFIX}"
                ));
            }
            if self.status.is_some()
                || self.delay_ms.is_some()
                || self.drop
                || self.retry_after.is_some()
                || (self.duplicate && self.reorder)
            {
                return Err(
                    "only one of status, delay_ms, drop, duplicate and reorder may be given".into(),
                );
            }
            return Ok(if self.duplicate {
                Action::Duplicate
            } else {
                Action::Reorder
            });
        }
        if delivery && self.status.is_some() {
            return Err(format!(
                "a fault on webhook deliveries (path {DELIVERY_PREFIX}...) takes drop, delay_ms, duplicate or reorder, not status"
            ));
        }
        let action = match (self.status, self.delay_ms, self.drop) {
            (Some(status), None, false) => {
                if !STATUSES.contains(&status) {
                    return Err(
                        "status: must be from 200 to 599 (HTTP/1.1 has no final 1xx answer)".into(),
                    );
                }
                if self
                    .retry_after
                    .is_some_and(|seconds| seconds > MAX_RETRY_AFTER)
                {
                    return Err(format!("retry_after: must be from 0 to {MAX_RETRY_AFTER}"));
                }
                Action::Status {
                    // In 200..=599: fits.
                    status: u16::try_from(status).unwrap_or(500),
                    retry_after: self.retry_after,
                }
            }
            (None, Some(ms), false) if self.retry_after.is_none() => {
                if !(1..=MAX_DELAY_MS).contains(&ms) {
                    return Err(format!("delay_ms: must be from 1 to {MAX_DELAY_MS}"));
                }
                Action::Delay(Duration::from_millis(ms))
            }
            (None, None, true) if self.retry_after.is_none() => Action::Drop,
            (None, None, false) => {
                return Err(
                    "one of status, delay_ms, drop, duplicate and reorder is required".into(),
                );
            }
            (None, _, _) => return Err("retry_after: only with status".into()),
            _ => {
                return Err(
                    "only one of status, delay_ms, drop, duplicate and reorder may be given".into(),
                );
            }
        };
        Ok(action)
    }
}

/// A JSON integer ≥ 0 (negative ones are out of every range: say so).
fn integer(key: &str, value: &Value) -> Result<u64, String> {
    match value {
        Value::Number(n) if n.is_u64() => n
            .as_u64()
            .ok_or_else(|| format!("{key}: must be an integer")),
        Value::Number(n) if n.is_i64() => Err(format!("{key}: must not be negative")),
        _ => Err(format!("{key}: must be an integer")),
    }
}

/// `^/[^*]*\*?$`.
fn valid_path(path: &str) -> bool {
    let body = path.strip_suffix('*').unwrap_or(path);
    body.starts_with('/') && !body.contains('*')
}

/// The id of an injected fault, as `POST /__emulator/faults` answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FaultId(pub(super) u64);

impl fmt::Display for FaultId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An active fault.
#[derive(Clone, Debug)]
pub(super) struct Active {
    pub(super) id: u64,
    pub(super) fault: Fault,
    pub(super) action: Action,
    pub(super) remaining: u64,
}

impl Active {
    fn hits(&self, method: &Method, path: &str) -> bool {
        if self.fault.method.as_ref().is_some_and(|m| m != method) {
            return false;
        }
        match self.fault.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.fault.path,
        }
    }

    /// As `GET /__emulator/faults` lists it.
    pub(super) fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), Value::String(self.id.to_string()));
        if let Some(method) = &self.fault.method {
            out.insert("method".into(), Value::String(method.as_str().to_owned()));
        }
        out.insert("path".into(), Value::String(self.fault.path.clone()));
        match &self.action {
            Action::Status {
                status,
                retry_after,
            } => {
                out.insert("status".into(), Value::from(*status));
                if let Some(seconds) = retry_after {
                    out.insert("retry_after".into(), Value::from(*seconds));
                }
            }
            Action::Delay(delay) => {
                let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                out.insert("delay_ms".into(), Value::from(ms));
            }
            Action::Drop => {
                out.insert("drop".into(), Value::Bool(true));
            }
            Action::Duplicate => {
                out.insert("duplicate".into(), Value::Bool(true));
            }
            Action::Reorder => {
                out.insert("reorder".into(), Value::Bool(true));
            }
        }
        out.insert("times".into(), Value::from(self.fault.times));
        out.insert("remaining".into(), Value::from(self.remaining));
        Value::Object(out)
    }
}

/// The active faults.
#[derive(Default)]
pub(super) struct Faults {
    next_id: AtomicU64,
    /// How many are active: lets a request skip the lock when none is.
    count: AtomicUsize,
    active: Mutex<Vec<Active>>,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Active>> {
        // Every change under the lock is one push, retain or decrement.
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks and activates a fault.
    pub(super) fn insert(&self, fault: Fault) -> Result<Active, String> {
        let action = fault.action()?;
        let mut active = self.lock();
        if active.len() >= MAX_ACTIVE_FAULTS {
            return Err(format!(
                "{MAX_ACTIVE_FAULTS} faults are active; remove some first"
            ));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let entry = Active {
            id,
            remaining: fault.times,
            fault,
            action,
        };
        active.push(entry.clone());
        self.count.store(active.len(), Ordering::Release);
        Ok(entry)
    }

    /// The oldest active fault that hits this request, counted (and removed
    /// once it has hit its `times`).
    pub(super) fn hit(&self, method: &Method, path: &str) -> Option<(u64, Action)> {
        if self.count.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut active = self.lock();
        let index = active
            .iter()
            .position(|f| !f.fault.path.starts_with(DELIVERY_PREFIX) && f.hits(method, path))?;
        let fault = &mut active[index];
        fault.remaining -= 1;
        let hit = (fault.id, fault.action.clone());
        if fault.remaining == 0 {
            active.remove(index);
            self.count.store(active.len(), Ordering::Release);
        }
        Some(hit)
    }

    /// The oldest active fault on deliveries that hits a delivery of this
    /// event type (`POST /__webhooks/<event>`), counted.
    pub(super) fn hit_delivery(&self, event: &str) -> Option<(u64, Action)> {
        if self.count.load(Ordering::Acquire) == 0 {
            return None;
        }
        let path = format!("{DELIVERY_PREFIX}{event}");
        let mut active = self.lock();
        let index = active.iter().position(|f| {
            f.fault.path.starts_with(DELIVERY_PREFIX) && f.hits(&Method::POST, &path)
        })?;
        let fault = &mut active[index];
        fault.remaining -= 1;
        let hit = (fault.id, fault.action.clone());
        if fault.remaining == 0 {
            active.remove(index);
            self.count.store(active.len(), Ordering::Release);
        }
        Some(hit)
    }

    /// The active faults, oldest first.
    pub(super) fn list(&self) -> Vec<Active> {
        self.lock().clone()
    }

    /// Removes one fault; whether it was active.
    pub(super) fn remove(&self, id: u64) -> bool {
        let mut active = self.lock();
        let before = active.len();
        active.retain(|f| f.id != id);
        self.count.store(active.len(), Ordering::Release);
        active.len() != before
    }

    /// Removes every fault.
    pub(super) fn clear(&self) {
        let mut active = self.lock();
        active.clear();
        self.count.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Action, String> {
        let Value::Object(map) = serde_json::from_str(json).map_err(|e| e.to_string())? else {
            return Err("not an object".into());
        };
        Fault::from_json(&map)?.action()
    }

    #[test]
    fn reads_and_checks_the_three_kinds() {
        assert_eq!(
            parse(r#"{"path":"/v1/*","status":429,"retry_after":2,"times":2}"#),
            Ok(Action::Status {
                status: 429,
                retry_after: Some(2)
            })
        );
        assert_eq!(
            parse(r#"{"path":"/x","delay_ms":5}"#),
            Ok(Action::Delay(Duration::from_millis(5)))
        );
        assert_eq!(parse(r#"{"path":"/x","drop":true}"#), Ok(Action::Drop));
        for (bad, why) in [
            (r#"{"path":"/x"}"#, "one of"),
            (r#"{"path":"/x","status":429,"drop":true}"#, "only one"),
            (r#"{"path":"/x","status":99}"#, "status"),
            (r#"{"path":"/x","status":100}"#, "status"),
            (r#"{"path":"/x","status":600}"#, "status"),
            (r#"{"path":"/x","status":429,"times":-1}"#, "times"),
            (r#"{"path":"/x","status":429,"times":0}"#, "times"),
            (r#"{"path":"/x","status":429,"extra":1}"#, "unknown"),
            (r#"{"path":"/x","drop":false}"#, "drop"),
            (
                r#"{"path":"/x","delay_ms":1,"retry_after":1}"#,
                "retry_after",
            ),
            (r#"{"path":"/x","delay_ms":0}"#, "delay_ms"),
            (r#"{"path":"x","status":429}"#, "path"),
            (r#"{"path":"/a*b","status":429}"#, "path"),
            (r#"{"status":429}"#, "path"),
            (r#"{"path":"/x","status":429,"method":"HEAD"}"#, "method"),
            (r#"{"path":"/x","status":429,"method":null}"#, "method"),
            (r#"{"path":"/x","status":"429"}"#, "status"),
        ] {
            let error = parse(bad).expect_err(bad);
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    #[test]
    fn matches_exact_paths_prefixes_and_methods() {
        let faults = Faults::default();
        faults
            .insert(
                Fault::status(503)
                    .path("/v1/account/le1/*")
                    .method(Method::GET),
            )
            .expect("valid");
        assert!(faults.hit(&Method::POST, "/v1/account/le1/x").is_none());
        assert!(faults.hit(&Method::GET, "/v1/account/le12/x").is_none());
        assert!(faults.hit(&Method::GET, "/v1/account/le1/x").is_some());
        assert!(
            faults.hit(&Method::GET, "/v1/account/le1/x").is_none(),
            "times 1"
        );
        faults
            .insert(Fault::drop_connection().path("/exact"))
            .expect("valid");
        assert!(faults.hit(&Method::GET, "/exact/more").is_none());
        assert!(faults.hit(&Method::GET, "/exact").is_some());
    }
}
