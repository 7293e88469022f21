//! The messages of a refused body: which field, and what is wrong with it.
//!
//! Used only when serde refused a body or a change (the cold path): the
//! body is read again as a `serde_json::Value` and walked against the
//! fields the layer reads, to name the first one of the wrong type.

use serde_json::Value;

use super::error::BodyError;

/// What a field must be, for the messages of a refused change.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    Str,
    /// A string or a number (ids LivePerson writes either way).
    Id,
    Unsigned,
    Integer,
    Object(&'static [(&'static str, Kind)]),
    Array(&'static Kind),
    Any,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Str => "a string",
            Kind::Id => "a string or a number",
            Kind::Unsigned => "a non-negative integer",
            Kind::Integer => "an integer",
            Kind::Object(_) => "an object",
            Kind::Array(_) => "an array",
            Kind::Any => "any value",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        match self {
            _ if value.is_null() => true,
            Kind::Str => value.is_string(),
            Kind::Id => value.is_string() || value.is_number(),
            Kind::Unsigned => value.is_u64(),
            Kind::Integer => value.is_i64(),
            Kind::Object(_) => value.is_object(),
            Kind::Array(_) => value.is_array(),
            Kind::Any => true,
        }
    }
}

const PARTICIPANT_FIELDS: &[(&str, Kind)] = &[("id", Kind::Str), ("role", Kind::Str)];
const EVENT_FIELDS: &[(&str, Kind)] = &[
    ("type", Kind::Str),
    ("message", Kind::Any),
    ("contentType", Kind::Str),
    ("content", Kind::Any),
    ("status", Kind::Str),
    ("sequenceList", Kind::Array(&Kind::Unsigned)),
    ("chatState", Kind::Str),
];
pub(super) const MESSAGE_FIELDS: &[(&str, Kind)] = &[
    ("sequence", Kind::Unsigned),
    ("originatorId", Kind::Str),
    ("originatorMetadata", Kind::Object(PARTICIPANT_FIELDS)),
    ("serverTimestamp", Kind::Integer),
    ("dialogId", Kind::Str),
    ("conversationId", Kind::Str),
    ("event", Kind::Object(EVENT_FIELDS)),
];
const TTR_FIELDS: &[(&str, Kind)] = &[("ttrType", Kind::Str), ("value", Kind::Integer)];
const DETAILS_FIELDS: &[(&str, Kind)] = &[
    ("skillId", Kind::Id),
    (
        "participants",
        Kind::Array(&Kind::Object(PARTICIPANT_FIELDS)),
    ),
    ("dialogs", Kind::Array(&Kind::Any)),
    ("brandId", Kind::Id),
    ("state", Kind::Str),
    ("stage", Kind::Str),
    ("closeReason", Kind::Str),
    ("startTs", Kind::Integer),
    ("endTs", Kind::Integer),
    ("metaDataLastUpdateTs", Kind::Integer),
    ("ttr", Kind::Object(TTR_FIELDS)),
];
const RESULT_FIELDS: &[(&str, Kind)] = &[
    ("convId", Kind::Str),
    ("effectiveTTR", Kind::Integer),
    ("conversationDetails", Kind::Object(DETAILS_FIELDS)),
];
pub(super) const CONVERSATION_FIELDS: &[(&str, Kind)] =
    &[("type", Kind::Str), ("result", Kind::Object(RESULT_FIELDS))];
const BODY_FIELDS: &[(&str, Kind)] = &[("changes", Kind::Array(&Kind::Any))];
const ENVELOPE_FIELDS: &[(&str, Kind)] = &[
    ("kind", Kind::Str),
    ("type", Kind::Str),
    ("body", Kind::Object(BODY_FIELDS)),
];

/// The first field (depth first) whose value `kind` refuses.
fn find_misfit(path: &str, value: &Value, kind: Kind) -> Option<BodyError> {
    if !kind.accepts(value) {
        return Some(BodyError::new(
            path,
            format!("expected {}, found {}", kind.describe(), describe(value)),
        ));
    }
    match (kind, value) {
        (Kind::Object(fields), Value::Object(map)) => fields.iter().find_map(|(name, kind)| {
            map.get(*name)
                .and_then(|v| find_misfit(&format!("{path}.{name}"), v, *kind))
        }),
        (Kind::Array(kind), Value::Array(items)) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_misfit(&format!("{path}[{i}]"), v, *kind)),
        _ => None,
    }
}

pub(super) fn describe(value: &Value) -> String {
    let shown = match value {
        Value::Null => return "null".into(),
        Value::Bool(b) => return format!("{b}"),
        Value::Number(n) => return format!("the number {n}"),
        Value::String(s) => s,
        Value::Array(_) => return "an array".into(),
        Value::Object(_) => return "an object".into(),
    };
    let mut cut: String = shown.chars().take(40).collect();
    if cut.len() < shown.len() {
        cut.push('…');
    }
    format!("the string {cut:?}")
}

/// The error for a change serde refused: the misfit field when there is
/// one, else serde's own message (without its line and column, which count
/// from the change, not the body).
pub(super) fn diagnose(
    path: &str,
    value: Option<&Value>,
    fields: &'static [(&'static str, Kind)],
    err: &serde_json::Error,
) -> BodyError {
    value
        .and_then(|v| find_misfit(path, v, Kind::Object(fields)))
        .unwrap_or_else(|| BodyError::new(path, serde_message(err)))
}

pub(super) fn diagnose_envelope(body: &[u8], err: &serde_json::Error) -> BodyError {
    match serde_json::from_slice::<Value>(body) {
        Err(_) => BodyError::new("(body)", format!("not JSON: {err}")),
        Ok(value) => find_misfit("", &value, Kind::Object(ENVELOPE_FIELDS))
            .map(|mut e| {
                // The root's path is empty: `.type` reads better as `type`.
                e.path = e.path.trim_start_matches('.').to_owned();
                if e.path.is_empty() {
                    e.path = "(body)".into();
                }
                e
            })
            .unwrap_or_else(|| BodyError::new("(body)", serde_message(err))),
    }
}

pub(super) fn serde_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(cut) if err.line() != 0 => text[..cut].to_owned(),
        _ => text,
    }
}
