//! Small helpers to write JSON around values that are already serialized.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// For `#[serde(default, deserialize_with = "present")]` on an `Option`: a
/// member that may be left out but is not nullable in the spec. Left out, it
/// is `None`; sent as `null`, it fails to deserialize as `T` (a 400).
pub(super) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// For `#[serde(default, deserialize_with = "id_text")]` on an
/// `Option<String>`: an id that the spec types as a string but that
/// LivePerson's own code sends as a JSON number too (CONVERSATION's
/// `campaignId`, `engagementId`, `interactionContextId`, in the Connector
/// API demo app). An integer (int64, as the spec bounds it) is read as its
/// decimal text; any other non-string (`null`, a fraction, a boolean, an
/// integer past int64) fails (a 400).
pub(super) fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::String(text) => Ok(Some(text)),
        Value::Number(n) if n.is_i64() => Ok(Some(n.to_string())),
        other => Err(D::Error::custom(format!(
            "expected a string (or an int64 integer), found {other}"
        ))),
    }
}

/// A member whose schema is an object: it must be a JSON object. serde's
/// derived structs (and internally tagged enums) also take an array of the
/// members in order, which no spec allows: `"body": []` was accepted as an
/// empty `SetUserProfile` body.
pub(super) struct Obj<T>(pub(super) T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let members = Map::<String, Value>::deserialize(d)?;
        T::deserialize(Value::Object(members))
            .map(Obj)
            .map_err(D::Error::custom)
    }
}

/// Appends `s` as a JSON string literal.
pub(super) fn write_string(out: &mut Vec<u8>, s: &str) {
    // Serializing a `str` into a `Vec` has no failure case.
    let _ = serde_json::to_writer(out, s);
}

/// An ISO-8601 UTC timestamp with milliseconds, e.g. `2021-02-26T02:46:38.220Z`.
pub(super) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A JSON object written member by member.
pub(super) struct JsonObject {
    out: Vec<u8>,
}

impl JsonObject {
    /// An empty object.
    pub(super) fn new() -> JsonObject {
        JsonObject { out: vec![b'{'] }
    }

    /// Adds `"key":raw`, where `raw` is already valid JSON.
    pub(super) fn raw(&mut self, key: &str, raw: &[u8]) {
        if self.out.len() > 1 {
            self.out.push(b',');
        }
        write_string(&mut self.out, key);
        self.out.push(b':');
        self.out.extend_from_slice(raw);
    }

    /// Adds `"key":"value"`.
    pub(super) fn string(&mut self, key: &str, value: &str) {
        let mut raw = Vec::with_capacity(value.len() + 2);
        write_string(&mut raw, value);
        self.raw(key, &raw);
    }

    /// The finished object.
    pub(super) fn finish(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }
}
