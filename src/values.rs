//! The value rules: what the clients and the emulator must agree on about a
//! property value, written once.
//!
//! - The one nesting limit of property values, shared by the clients (which
//!   refuse a deeper value before sending it) and the emulator (which refuses
//!   it with a 400 and saves nothing).
//! - The clients' value helpers that v1 and v2 share: decoding a value into
//!   the caller's type, and the JSON object of raw values a write sends.
//!
//! Why 64: the answers wrap a value in up to three more levels (the v1 session
//! listing `[{"properties": {"p": value}}]`), and serde_json stops reading at
//! 128 levels. 64 leaves room for those wrappings and for a caller's own
//! types, so whatever is accepted can be read back by every read.

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::Error;
use crate::names::{IntoName, PropertyName};

/// The deepest nesting of arrays and objects a property value may have:
/// `1` and `"a"` are 0 levels deep, `[]` and `{}` 1, `[[1]]` 2.
pub(crate) const MAX_VALUE_DEPTH: usize = 64;

/// How deeply `value` nests arrays and objects (without recursion, so an
/// absurdly deep value cannot overflow the stack).
pub(crate) fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending: Vec<(&Value, usize)> = vec![(value, 0)];
    while let Some((value, above)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(members) => Box::new(members.values()),
            _ => continue,
        };
        let level = above + 1;
        deepest = deepest.max(level);
        pending.extend(children.map(|child| (child, level)));
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
pub(crate) fn raw_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut in_string = false;
    let mut escaped = false;
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
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

pub(crate) fn from_value<T: DeserializeOwned>(
    operation: &'static str,
    value: Value,
) -> Result<T, Error> {
    // From a reference: the value is kept, uncloned, for the error's body.
    T::deserialize(&value).map_err(|e| Error::Decode {
        operation,
        status: None,
        reason: format!("the value does not fit the requested type: {e}"),
        body: value.to_string(),
    })
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
        let raw = serde_json::value::RawValue::from_string(past).expect("valid JSON");
        let error = check_raw("value", &raw).expect_err("too deep");
        assert!(error.to_string().contains("65 levels"), "{error}");
        let at = format!("{}1{}", "[".repeat(64), "]".repeat(64));
        let raw = serde_json::value::RawValue::from_string(at).expect("valid JSON");
        assert!(check_raw("value", &raw).is_ok());
    }
}
