//! The rules of property values as LivePerson counts them, written once and
//! shared by the clients, the emulator and the `ccs` binary:
//!
//! * **Nesting**: a property value may nest arrays and objects at most
//!   [`MAX_VALUE_DEPTH`] levels deep. The clients refuse a deeper value
//!   before sending it; the emulator refuses it with a 400 and saves nothing.
//! * **Size**: a session document (its properties as one compact JSON
//!   object) may take at most [`MAX_DOCUMENT_CHARS`] characters. Characters
//!   are counted in the document as the service keeps it: without whitespace
//!   between tokens, each string written as serde_json writes it (`"\u00e9"`
//!   counts as `"é"`), numbers as sent ([`compact_chars`],
//!   [`document_chars`]).
//! * **Scanning** JSON text without parsing it: [`string_end`] and
//!   [`string_close`] find the end of a string literal, and the scans of
//!   this module skip strings that way.
//! * **The clients' value helpers** that v1 and v2 share: decoding a value
//!   into the caller's type, and the JSON object of raw values a write sends
//!   (crate-private).
//!
//! Why 64 levels: the answers wrap a value in up to three more levels (the v1
//! session listing `[{"properties": {"p": value}}]`), and serde_json stops
//! reading at 128 levels. 64 leaves room for those wrappings and for a
//! caller's own types, so whatever is accepted can be read back by every read.
//!
//! Not part of the crate's API: the module is public (and hidden from the
//! docs) only so that the `ccs` binary, a separate crate, counts as the
//! library does. Its items may change in any release.

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use crate::Error;
use crate::names::{IntoName, PropertyName};

pub(crate) mod sorted_text;

/// Properties as the JSON text of each value, exactly as the service holds
/// it: name to [`RawValue`], in name order.
///
/// [`serde_json::Value`] rewrites numbers it cannot hold
/// (`123456789012345678901234` reads back as `1.2345678901234567e+23`, `1e2`
/// as `100.0`, `1.10` as `1.1`); a `RawValue` keeps the text. The raw methods
/// ([`Session::get_raw`](crate::v1::Session::get_raw), [`Session::set_raw`](crate::v1::Session::set_raw),
/// [`CcsV1Client::session_properties_raw`](crate::v1::CcsV1Client::session_properties_raw), and v2's
/// [`Document::get_raw`](crate::v2::Document::get_raw) and
/// [`Document::set_raw`](crate::v2::Document::set_raw)) read and write this
/// type: what a backup reads is what a restore writes, digit for digit.
///
/// ```
/// use liveperson_ccs::v1::RawProperties;
/// use serde_json::value::RawValue;
///
/// let mut properties = RawProperties::new();
/// properties.insert("big".into(), RawValue::from_string("123456789012345678901234".into())?);
/// assert_eq!(properties["big"].get(), "123456789012345678901234");
/// # Ok::<(), serde_json::Error>(())
/// ```
pub type RawProperties = std::collections::BTreeMap<String, Box<RawValue>>;

/// A property value as the JSON text it was written with (serde_json's).
pub use serde_json::value::RawValue;

/// The deepest nesting of arrays and objects a property value may have:
/// `1` and `"a"` are 0 levels deep, `[]` and `{}` 1, `[[1]]` 2.
pub const MAX_VALUE_DEPTH: usize = 64;

/// The most characters a session document (all its properties as one
/// compact JSON object) may take; a write that would make it larger is
/// refused (413) and nothing is saved.
pub const MAX_DOCUMENT_CHARS: usize = 800_000;

/// How deeply `value` nests arrays and objects (without recursion, so an
/// absurdly deep value cannot overflow the stack).
pub(crate) fn depth(value: &Value) -> usize {
    fn nests(value: &&Value) -> bool {
        matches!(value, Value::Array(_) | Value::Object(_))
    }
    let mut deepest = 0;
    // Only arrays and objects wait their turn (a scalar adds no level), so a
    // flat value, the usual one, allocates nothing.
    let mut pending: Vec<(&Value, usize)> = Vec::new();
    let mut next = Some((value, 0));
    while let Some((value, above)) = next.take().or_else(|| pending.pop()) {
        let level = above + 1;
        match value {
            Value::Array(items) => {
                pending.extend(items.iter().filter(nests).map(|child| (child, level)));
            }
            Value::Object(members) => {
                pending.extend(members.values().filter(nests).map(|child| (child, level)));
            }
            _ => continue,
        }
        deepest = deepest.max(level);
    }
    deepest
}

/// Refuses a property value nested deeper than [`MAX_VALUE_DEPTH`].
pub(crate) fn check(what: &'static str, value: &Value) -> Result<(), Error> {
    let depth = depth(value);
    if depth > MAX_VALUE_DEPTH {
        return Err(Error::invalid(
            what,
            format!(
                "it nests arrays and objects {depth} levels deep; at most {MAX_VALUE_DEPTH} are allowed"
            ),
        ));
    }
    Ok(())
}

/// How deeply the JSON text of a value nests arrays and objects, counting
/// the brackets outside its strings (the text is already valid JSON).
pub fn raw_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for piece in pieces(text) {
        match piece {
            Piece::Open(_) => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            Piece::Close(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Refuses the JSON text of a property value nested deeper than
/// [`MAX_VALUE_DEPTH`], as [`check`] does for a parsed value.
pub(crate) fn check_raw(
    what: &'static str,
    value: &serde_json::value::RawValue,
) -> Result<(), Error> {
    let depth = raw_depth(value.get());
    if depth > MAX_VALUE_DEPTH {
        return Err(Error::invalid(
            what,
            format!(
                "it nests arrays and objects {depth} levels deep; at most {MAX_VALUE_DEPTH} are allowed"
            ),
        ));
    }
    Ok(())
}

// The client side's value helpers, used by v1 and v2 alike.

/// `value` as `T`; a value that does not fit is [`Error::TypeMismatch`],
/// naming `property` (one property's read) or, for a read of the properties
/// as a whole, the property the mismatch is in.
pub(crate) fn from_value<T: DeserializeOwned>(
    operation: &'static str,
    property: Option<&str>,
    value: Value,
) -> Result<T, Error> {
    // From a reference: the value is kept, uncloned, for the error. Read
    // plainly first: the path is tracked (about 1k instructions for a short
    // list) only to explain a value that does not fit, which the same
    // reading of the same value refuses the same way.
    if let Ok(typed) = T::deserialize(&value) {
        return Ok(typed);
    }
    match serde_path_to_error::deserialize::<_, T>(&value) {
        Ok(typed) => Ok(typed),
        Err(error) => {
            let mut segments = error.path().iter().peekable();
            let property = match property {
                Some(name) => Some(name.to_owned()),
                // The first segment of a whole read's path is the property.
                None => match segments.peek() {
                    Some(Segment::Map { key }) => {
                        let key = key.clone();
                        segments.next();
                        Some(key)
                    }
                    _ => None,
                },
            };
            // The rest of the path, inside that property: `items[2].id`.
            let mut inner = String::new();
            for segment in segments {
                if !inner.is_empty() && !matches!(segment, Segment::Seq { .. }) {
                    inner.push('.');
                }
                inner.push_str(&segment.to_string());
            }
            let message = error.inner().to_string();
            let reason = if inner.is_empty() {
                message
            } else {
                format!("at `{inner}`: {message}")
            };
            Err(Error::TypeMismatch {
                operation,
                property,
                expected: short_type_name(std::any::type_name::<T>()),
                reason,
                value: value.to_string(),
            })
        }
    }
}

/// A type's name without its module paths: `core::option::Option<alloc::string::String>`
/// becomes `Option<String>`.
fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    // Where the path being read began in `out`.
    let mut start = 0;
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.truncate(start);
        } else {
            out.push(c);
            if !(c.is_alphanumeric() || c == '_') {
                start = out.len();
            }
        }
    }
    out
}

/// The JSON object of named raw values, names checked and values' depth
/// limited; a name given twice keeps its last value.
pub(crate) fn raw_object<I, N, R>(properties: I) -> Result<Box<RawValue>, Error>
where
    I: IntoIterator<Item = (N, R)>,
    N: IntoName<PropertyName>,
    R: AsRef<RawValue>,
{
    let mut named: std::collections::BTreeMap<PropertyName, R> = std::collections::BTreeMap::new();
    for (name, value) in properties {
        crate::values::check_raw("property value", value.as_ref())?;
        named.insert(name.into_name()?, value);
    }
    let object: std::collections::BTreeMap<&str, &RawValue> = named
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_ref()))
        .collect();
    serde_json::value::to_raw_value(&object)
        .map_err(|e| Error::invalid("properties", format!("cannot serialize: {e}")))
}

/// The index of the `"` that closes the JSON string literal whose opening
/// `"` is at `start` (a backslash escapes the byte after it); `None` if the
/// literal is not closed.
pub fn string_close(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The index just past the JSON string literal whose opening `"` is at
/// `start`, or the end of `bytes` if the literal is not closed.
pub fn string_end(bytes: &[u8], start: usize) -> usize {
    string_close(bytes, start).map_or(bytes.len(), |close| close + 1)
}

/// The index just past the JSON value starting at `at`, in valid JSON text
/// (compact or not): a string, an object or array, or a scalar (up to the
/// blank, `,`, `}` or `]` after it).
pub(crate) fn value_end(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b'"') => string_end(bytes, at),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = at;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => i = string_close(bytes, i).unwrap_or(bytes.len()),
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        _ => bytes
            .iter()
            .skip(at)
            .position(|&b| b.is_ascii_whitespace() || matches!(b, b',' | b'}' | b']'))
            .map_or(bytes.len(), |n| at + n),
    }
}

/// How many characters `s` takes as a JSON string literal written as
/// serde_json writes it (quotes and escapes included).
pub fn json_string_chars(s: &str) -> usize {
    let mut out = Vec::with_capacity(s.len() + 2);
    // Serializing a `str` into a `Vec` has no failure case.
    let _ = serde_json::to_writer(&mut out, s);
    // `out` is UTF-8: count the bytes that start a character.
    out.iter().filter(|b| (**b & 0xC0) != 0x80).count()
}

/// How many characters the JSON text of a value (valid JSON) takes written
/// compactly, as the service keeps it: whitespace between tokens is not
/// counted, a string counts as serde_json writes it (`"\u00e9"` as `"é"`),
/// and numbers, `true`, `false` and `null` as written.
pub fn compact_chars(text: &str) -> usize {
    pieces(text)
        .map(|piece| match piece {
            Piece::Blank => 0,
            Piece::String(literal) if literal.contains('\\') => {
                match serde_json::from_str::<String>(literal) {
                    Ok(decoded) => json_string_chars(&decoded),
                    Err(_) => literal.chars().count(),
                }
            }
            Piece::String(literal) => literal.chars().count(),
            Piece::Open(_) | Piece::Close(_) | Piece::Other(_) => 1,
        })
        .sum()
}

/// How many characters one member `"name":value` adds to a document, for a
/// value of `value_chars` characters (see [`compact_chars`]).
pub fn member_chars(name: &str, value_chars: usize) -> usize {
    json_string_chars(name) + 1 + value_chars
}

/// How many characters a JSON object takes with `count` members whose
/// `"name":value` parts add up to `members` characters (its braces and the
/// commas between members added).
pub fn object_chars(members: usize, count: usize) -> usize {
    2 + members + count.saturating_sub(1)
}

/// How many characters a session document with these properties takes, as
/// the service counts it against [`MAX_DOCUMENT_CHARS`].
pub fn document_chars(properties: &RawProperties) -> usize {
    let members = properties
        .iter()
        .map(|(name, value)| member_chars(name, compact_chars(value.get())))
        .sum();
    object_chars(members, properties.len())
}

/// One piece of JSON text as the scans of this module read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Piece<'t> {
    /// A whitespace byte between tokens.
    Blank,
    /// `[` or `{`.
    Open(u8),
    /// `]` or `}`.
    Close(u8),
    /// A whole string literal, quotes included (up to the end of the text
    /// if it is not closed).
    String(&'t str),
    /// Any other byte: of a number, `true`, `false`, `null`, or `:` or `,`.
    Other(u8),
}

/// The pieces of `text`, in order; string literals are skipped whole (see
/// [`string_end`]), so a bracket inside a string is not a bracket.
pub(crate) fn pieces(text: &str) -> Pieces<'_> {
    Pieces { text, at: 0 }
}

/// The iterator of [`pieces`].
pub(crate) struct Pieces<'t> {
    text: &'t str,
    at: usize,
}

impl<'t> Iterator for Pieces<'t> {
    type Item = Piece<'t>;

    fn next(&mut self) -> Option<Piece<'t>> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let &b = bytes.get(start)?;
        self.at = start + 1;
        Some(match b {
            b' ' | b'\t' | b'\n' | b'\r' => Piece::Blank,
            b'[' | b'{' => Piece::Open(b),
            b']' | b'}' => Piece::Close(b),
            b'"' => {
                // Ends after a `"` or at the end: a character boundary.
                let end = string_end(bytes, start);
                self.at = end;
                Piece::String(self.text.get(start..end).unwrap_or_default())
            }
            _ => Piece::Other(b),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(levels: usize) -> Value {
        (0..levels).fold(json!(1), |inner, _| json!([inner]))
    }

    #[test]
    fn depth_counts_arrays_and_objects() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!([])), 1);
        assert_eq!(depth(&json!({"a": [1, {"b": {}}], "c": 2})), 4);
        assert_eq!(depth(&nested(200)), 200);
    }

    #[test]
    fn the_limit_is_allowed_and_one_past_it_refused() {
        assert!(check("value", &nested(MAX_VALUE_DEPTH)).is_ok());
        let error = check("value", &nested(MAX_VALUE_DEPTH + 1)).expect_err("too deep");
        assert!(matches!(error, Error::InvalidInput { .. }), "{error}");
        assert!(error.to_string().contains("65 levels"), "{error}");
    }

    #[test]
    fn raw_depth_counts_brackets_outside_strings() {
        assert_eq!(raw_depth("1"), 0);
        assert_eq!(raw_depth(r#"{"a": [1, {"b": {}}], "c": 2}"#), 4);
        assert_eq!(raw_depth(r#"["[[[", "\\\"{{", {}]"#), 2);
        let past = format!("{}1{}", "[".repeat(65), "]".repeat(65));
        let raw = RawValue::from_string(past).expect("valid JSON");
        let error = check_raw("value", &raw).expect_err("too deep");
        assert!(error.to_string().contains("65 levels"), "{error}");
        let at = format!("{}1{}", "[".repeat(64), "]".repeat(64));
        let raw = RawValue::from_string(at).expect("valid JSON");
        assert!(check_raw("value", &raw).is_ok());
    }

    #[test]
    fn type_names_lose_their_module_paths() {
        assert_eq!(short_type_name("u32"), "u32");
        assert_eq!(
            short_type_name("core::option::Option<alloc::string::String>"),
            "Option<String>"
        );
        assert_eq!(
            short_type_name(
                "std::collections::hash::map::HashMap<alloc::string::String, my_crate::a::Handoff>"
            ),
            "HashMap<String, Handoff>"
        );
        assert_eq!(short_type_name("&str"), "&str");
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Handoff {
        intent: String,
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        id: u32,
    }

    #[test]
    fn a_mismatch_names_the_property_the_type_and_what_was_found() {
        let error = from_value::<u32>("get_session_property", Some("intent"), json!({"a": 1}))
            .expect_err("an object is no u32");
        let Error::TypeMismatch {
            property,
            expected,
            value,
            ..
        } = &error
        else {
            panic!("expected TypeMismatch, got {error:?}");
        };
        assert_eq!(
            (property.as_deref(), expected.as_str(), value.as_str()),
            (Some("intent"), "u32", r#"{"a":1}"#)
        );
        assert_eq!(
            error.to_string(),
            "get_session_property: property `intent` does not fit u32: invalid type: map, expected u32"
        );
        assert_eq!((error.status(), error.is_retryable()), (None, false));

        // A read of the whole session names the property from the path.
        let error = from_value::<Handoff>(
            "get_session_properties",
            None,
            json!({"intent": "billing", "items": [{"id": 1}, {"id": "two"}]}),
        )
        .expect_err("\"two\" is no u32");
        assert_eq!(
            error.to_string(),
            "get_session_properties: property `items` does not fit Handoff: \
             at `[1].id`: invalid type: string \"two\", expected u32"
        );
        let error = from_value::<Handoff>("get_session_properties", None, json!({"items": []}))
            .expect_err("intent is missing");
        assert_eq!(
            error.to_string(),
            "get_session_properties: the properties do not fit Handoff: missing field `intent`"
        );
    }
}
