//! Property values as the JSON text they were sent, minified.
//!
//! A value is never parsed into `serde_json::Value` (which rewrites
//! `123456789012345678901234` as `1.2345678901234567e+23` and `1e2` as
//! `100.0`): it is kept as text, with the whitespace between tokens removed
//! and each string written the way serde_json writes it (so `"\u00e9"` and
//! `"é"` are the same value, of the same size). Numbers, `true`, `false` and
//! `null` stay byte for byte as sent. The same pass refuses values nested
//! deeper than [`MAX_VALUE_DEPTH`].

use serde_json::value::RawValue;

use super::error::ApiError;
use super::json::write_string;
use crate::values::MAX_VALUE_DEPTH;

/// The minified text of `raw`, a value already checked to be valid JSON; 400
/// if it nests deeper than [`MAX_VALUE_DEPTH`] or holds an escape that is not
/// a character (a lone surrogate).
pub(super) fn minified(raw: &RawValue) -> Result<String, ApiError> {
    let text = raw.get();
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_VALUE_DEPTH {
                    return Err(ApiError::bad_request(format!(
                        "a property value may nest arrays and objects at most \
                         {MAX_VALUE_DEPTH} levels deep"
                    )));
                }
                out.push(b);
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                out.push(b);
                i += 1;
            }
            b'"' => {
                let end = string_end(bytes, i);
                let literal = &text[i..end];
                if literal.contains('\\') {
                    let decoded: String = serde_json::from_str(literal)
                        .map_err(|e| ApiError::bad_request(format!("invalid string: {e}")))?;
                    write_string(&mut out, &decoded);
                } else {
                    out.extend_from_slice(literal.as_bytes());
                }
                i = end;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    // Only whole UTF-8 sequences were copied (strings whole, other tokens ASCII).
    String::from_utf8(out).map_err(|_| ApiError::bad_request("the value is not UTF-8"))
}

/// The index just past the string literal that starts at `start` (a `"`).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn min(text: &str) -> Result<String, ApiError> {
        let raw: Box<RawValue> = serde_json::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("test input is not JSON: {e}")))?;
        minified(&raw)
    }

    #[test]
    fn numbers_stay_as_written_and_whitespace_goes() {
        assert_eq!(
            min(" [ 123456789012345678901234 , 1e2 , -0.10 , true , null ] ").ok(),
            Some("[123456789012345678901234,1e2,-0.10,true,null]".to_owned())
        );
        assert_eq!(
            min("{ \"a b\" : { \"c\" : [ ] } }").ok(),
            Some(r#"{"a b":{"c":[]}}"#.to_owned())
        );
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        assert_eq!(
            min(r#"["\u00e9\/\"\\ [ {", "\ud83d\ude00", "\n"]"#).ok(),
            Some("[\"é/\\\"\\\\ [ {\",\"😀\",\"\\n\"]".to_owned())
        );
        assert!(min(r#""\ud800""#).is_err(), "a lone surrogate is refused");
    }

    #[test]
    fn depth_is_limited_and_brackets_in_strings_do_not_count() {
        let at_limit = format!("{}1{}", "[".repeat(64), "]".repeat(64));
        assert!(min(&at_limit).is_ok());
        let past = format!("{}1{}", "[".repeat(65), "]".repeat(65));
        assert!(min(&past).is_err());
        let in_strings = format!("[{}]", "\"[[[[\",".repeat(100) + "1");
        assert!(min(&in_strings).is_ok());
    }
}
