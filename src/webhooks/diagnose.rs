//! The messages of a refused body: which field, and what is wrong with it.
//!
//! Used only when the generated types refused a body or a change (the cold
//! path): serde's messages for the untagged enums and flattened `extra`
//! maps of the generated types name no field ("data did not match any
//! variant of untagged enum MessagingEvent"), so the change is read again
//! as a `serde_json::Value` and walked against the fields
//! `openapi/connector-webhooks.yaml` declares: first for a value of the
//! wrong type anywhere, then for a required field that is missing. When
//! the walk finds nothing, serde's own message is given. The tables below
//! mirror the spec's schemas; the unit test at the end checks them against
//! the YAML, so that the spec and the messages cannot drift apart.

use serde_json::Value;

use super::error::BodyError;

/// What a field must be, for the messages of a refused change.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    Str,
    Unsigned,
    Integer,
    Object(&'static [Field]),
    Array(&'static Kind),
    /// A `ContentEvent`'s `message`: a text, or a file (an object).
    TextOrFile,
    /// A messaging event: an object whose fields depend on its `type`.
    Event,
    Any,
}

/// A declared field: its name, what it must be, and whether it is required.
#[derive(Clone, Copy)]
pub(super) struct Field {
    pub(super) name: &'static str,
    pub(super) kind: Kind,
    pub(super) required: bool,
}

const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
    }
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Str => "a string",
            Kind::Unsigned => "a non-negative integer",
            Kind::Integer => "an integer",
            Kind::Object(_) | Kind::Event => "an object",
            Kind::Array(_) => "an array",
            Kind::TextOrFile => "a string or an object (a file)",
            Kind::Any => "any value",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        match self {
            Kind::Str => value.is_string(),
            Kind::Unsigned => value.is_u64(),
            Kind::Integer => value.is_i64(),
            Kind::Object(_) | Kind::Event => value.is_object(),
            Kind::Array(_) => value.is_array(),
            Kind::TextOrFile => value.is_string() || value.is_object(),
            Kind::Any => true,
        }
    }
}

// The tables, in the order their problems are reported: what names the
// change first (`dialogId`, `type`, `convId`), then the rest.

const PARTICIPANT: &[Field] = &[req("id", Kind::Str), req("role", Kind::Str)];
const HOSTED_FILE: &[Field] = &[
    req("relativePath", Kind::Str),
    req("fileType", Kind::Str),
    opt("caption", Kind::Str),
    opt("preview", Kind::Str),
];
const CONTENT_EVENT: &[Field] = &[
    req("type", Kind::Str),
    req("message", Kind::TextOrFile),
    req("contentType", Kind::Str),
    opt("quickReplies", Kind::Any),
];
const RICH_CONTENT_EVENT: &[Field] = &[req("type", Kind::Str), opt("content", Kind::Any)];
const ACCEPT_STATUS_EVENT: &[Field] = &[
    req("type", Kind::Str),
    req("status", Kind::Str),
    req("sequenceList", Kind::Array(&Kind::Unsigned)),
];
const CHAT_STATE_EVENT: &[Field] = &[req("type", Kind::Str), req("chatState", Kind::Str)];
/// The event fields when its `type` is missing or not a string.
const ANY_EVENT: &[Field] = &[req("type", Kind::Str)];
pub(super) const MESSAGE: &[Field] = &[
    req("dialogId", Kind::Str),
    req("event", Kind::Event),
    opt("sequence", Kind::Unsigned),
    opt("originatorMetadata", Kind::Object(PARTICIPANT)),
    req("originatorId", Kind::Str),
    opt("serverTimestamp", Kind::Integer),
    opt("conversationId", Kind::Str),
    opt("metadata", Kind::Any),
];
const TTR: &[Field] = &[req("ttrType", Kind::Str), req("value", Kind::Integer)];
const DELAY: &[Field] = &[req("type", Kind::Str), req("tillWhen", Kind::Integer)];
const DIALOG_PARTICIPANT: &[Field] = &[
    req("id", Kind::Str),
    req("role", Kind::Str),
    opt("state", Kind::Str),
];
const DIALOG: &[Field] = &[
    req("dialogId", Kind::Str),
    opt(
        "participantsDetails",
        Kind::Array(&Kind::Object(DIALOG_PARTICIPANT)),
    ),
    opt("dialogType", Kind::Str),
    opt("channelType", Kind::Str),
    opt("state", Kind::Str),
    opt("creationTs", Kind::Integer),
    opt("endTs", Kind::Integer),
    opt("metaDataLastUpdateTs", Kind::Integer),
    opt("closedBy", Kind::Str),
];
const DETAILS: &[Field] = &[
    req("participants", Kind::Array(&Kind::Object(PARTICIPANT))),
    req("state", Kind::Str),
    req("startTs", Kind::Integer),
    opt("skillId", Kind::Str),
    opt("dialogs", Kind::Array(&Kind::Object(DIALOG))),
    opt("brandId", Kind::Str),
    opt("stage", Kind::Str),
    opt("closeReason", Kind::Str),
    opt("endTs", Kind::Integer),
    opt("metaDataLastUpdateTs", Kind::Integer),
    opt("ttr", Kind::Object(TTR)),
    opt("delay", Kind::Object(DELAY)),
    opt("manualETTR", Kind::Integer),
];
const RESULT: &[Field] = &[
    req("convId", Kind::Str),
    req("conversationDetails", Kind::Object(DETAILS)),
    opt("effectiveTTR", Kind::Integer),
];
pub(super) const CONVERSATION: &[Field] =
    &[req("type", Kind::Str), req("result", Kind::Object(RESULT))];
const BODY: &[Field] = &[req("changes", Kind::Array(&Kind::Any))];
const ENVELOPE: &[Field] = &[req("type", Kind::Str), req("body", Kind::Object(BODY))];

/// The fields of a messaging event, by its `type` (none for a type this
/// crate does not know: such an event is kept, never diagnosed).
fn event_fields(event: &serde_json::Map<String, Value>) -> &'static [Field] {
    match event.get("type").and_then(Value::as_str) {
        Some("ContentEvent") => CONTENT_EVENT,
        Some("RichContentEvent") => RICH_CONTENT_EVENT,
        Some("AcceptStatusEvent") => ACCEPT_STATUS_EVENT,
        Some("ChatStateEvent") => CHAT_STATE_EVENT,
        Some(_) => &[],
        None => ANY_EVENT,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Look {
    /// A value of the wrong type.
    Misfit,
    /// A required field that is absent.
    Missing,
}

fn fields_of(
    kind: Kind,
    value: &Value,
) -> Option<(&'static [Field], &serde_json::Map<String, Value>)> {
    match (kind, value) {
        (Kind::Object(fields), Value::Object(map)) => Some((fields, map)),
        (Kind::Event, Value::Object(map)) => Some((event_fields(map), map)),
        (Kind::TextOrFile, Value::Object(map)) => Some((HOSTED_FILE, map)),
        _ => None,
    }
}

/// The first problem (depth first, in the tables' order) of the kind
/// `look` looks for.
fn find(path: &str, value: &Value, kind: Kind, look: Look) -> Option<BodyError> {
    if look == Look::Misfit && !kind.accepts(value) {
        return Some(BodyError::new(
            path,
            format!("expected {}, found {}", kind.describe(), describe(value)),
        ));
    }
    if let Some((fields, map)) = fields_of(kind, value) {
        return fields.iter().find_map(|field| match map.get(field.name) {
            // An explicit `null` is no value of a required field, and
            // serde takes it for an absent optional one.
            None | Some(Value::Null) if field.required && look == Look::Missing => {
                Some(BodyError::new(format!("{path}.{}", field.name), "missing"))
            }
            None | Some(Value::Null) => None,
            Some(v) => find(&format!("{path}.{}", field.name), v, field.kind, look),
        });
    }
    match (kind, value) {
        (Kind::Array(item), Value::Array(items)) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find(&format!("{path}[{i}]"), v, *item, look)),
        _ => None,
    }
}

fn find_any(path: &str, value: &Value, fields: &'static [Field]) -> Option<BodyError> {
    find(path, value, Kind::Object(fields), Look::Misfit)
        .or_else(|| find(path, value, Kind::Object(fields), Look::Missing))
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

/// The error for a change the generated types refused (`err`), or that the
/// layer could not take from them (`err` is `None`): the first misfit or
/// missing field when there is one, else serde's own message (without its
/// line and column, which count from the change, not the body).
pub(super) fn diagnose(
    path: &str,
    text: &str,
    fields: &'static [Field],
    err: Option<&serde_json::Error>,
) -> BodyError {
    let value: Option<Value> = serde_json::from_str(text).ok();
    value
        .as_ref()
        .and_then(|v| find_any(path, v, fields))
        .unwrap_or_else(|| match err {
            Some(err) => BodyError::new(path, serde_message(err)),
            None => BodyError::new(path, "does not follow the spec"),
        })
}

pub(super) fn diagnose_envelope(body: &[u8], err: &serde_json::Error) -> BodyError {
    match serde_json::from_slice::<Value>(body) {
        Err(_) => BodyError::new("(body)", format!("not JSON: {err}")),
        Ok(value) => find_any("", &value, ENVELOPE)
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

#[cfg(test)]
mod tests {
    //! The tables against `openapi/connector-webhooks.yaml`: the same
    //! fields, the same required ones, the same kinds.

    use super::*;

    fn spec() -> Value {
        let text = include_str!("../../openapi/connector-webhooks.yaml");
        serde_norway::from_str(text).expect("the spec is YAML")
    }

    /// The kind a property's schema asks for.
    fn kind_of(spec: &Value, schema: &Value) -> &'static str {
        if let Some(reference) = schema["$ref"].as_str() {
            let name = reference.trim_start_matches("#/components/schemas/");
            return match name {
                "MessagingEvent" => "event",
                "ContentMessage" => "text-or-file",
                _ => kind_of(spec, &spec["components"]["schemas"][name]),
            };
        }
        match schema["type"].as_str() {
            Some("string") => "string",
            Some("integer") if schema["minimum"] == 0 => "unsigned",
            Some("integer") => "integer",
            Some("object") => "object",
            Some("array") => "array",
            _ => "any",
        }
    }

    fn kind_name(kind: Kind) -> &'static str {
        match kind {
            Kind::Str => "string",
            Kind::Unsigned => "unsigned",
            Kind::Integer => "integer",
            Kind::Object(_) => "object",
            Kind::Array(_) => "array",
            Kind::TextOrFile => "text-or-file",
            Kind::Event => "event",
            Kind::Any => "any",
        }
    }

    #[test]
    fn the_tables_follow_the_spec() {
        let spec = spec();
        let tables: &[(&str, &[Field])] = &[
            ("MessagingEventChange", MESSAGE),
            ("OriginatorMetadata", PARTICIPANT),
            ("Participant", PARTICIPANT),
            ("HostedFile", HOSTED_FILE),
            ("ContentEvent", CONTENT_EVENT),
            ("RichContentEvent", RICH_CONTENT_EVENT),
            ("AcceptStatusEvent", ACCEPT_STATUS_EVENT),
            ("ChatStateEvent", CHAT_STATE_EVENT),
            ("ConversationChange", CONVERSATION),
            ("ConversationChangeResult", RESULT),
            ("ConversationDetails", DETAILS),
            ("Ttr", TTR),
            ("Delay", DELAY),
            ("Dialog", DIALOG),
            ("DialogParticipant", DIALOG_PARTICIPANT),
        ];
        for (name, fields) in tables {
            let schema = &spec["components"]["schemas"][name];
            let properties = schema["properties"].as_object().expect(name);
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut declared: Vec<&str> = properties.keys().map(String::as_str).collect();
            let mut listed: Vec<&str> = fields.iter().map(|f| f.name).collect();
            declared.sort_unstable();
            listed.sort_unstable();
            assert_eq!(listed, declared, "{name}: the fields");
            for field in *fields {
                assert_eq!(
                    field.required,
                    required.contains(&field.name),
                    "{name}.{}: required",
                    field.name
                );
                let expected = kind_of(&spec, &properties[field.name]);
                assert_eq!(
                    kind_name(field.kind),
                    expected,
                    "{name}.{}: kind",
                    field.name
                );
                if let (Kind::Array(item), Some(items)) =
                    (field.kind, properties[field.name].get("items"))
                {
                    assert_eq!(
                        kind_name(*item),
                        kind_of(&spec, items),
                        "{name}.{}[]: kind",
                        field.name
                    );
                }
            }
        }
    }
}
