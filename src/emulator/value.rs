//! Property values as the JSON text they were sent, minified.
//!
//! A value is never parsed into `serde_json::Value` (which rewrites
//! `123456789012345678901234` as `1.2345678901234567e+23` and `1e2` as
//! `100.0`): it is kept as text, with the whitespace between tokens removed
//! and each string written the way serde_json writes it (so `"\u00e9"` and
//! `"é"` are the same value, of the same size). Numbers, `true`, `false` and
//! `null` stay byte for byte as sent. The same pass refuses values nested
//! deeper than [`MAX_VALUE_DEPTH`]. The text is read as `crate::values`
//! scans JSON, so a value is stored with the size that module counts.

use serde_json::value::RawValue;

use super::error::ApiError;
use super::json::write_string;
use crate::values::{MAX_VALUE_DEPTH, Piece, pieces};

/// The minified text of `raw`, a value already checked to be valid JSON; 400
/// if it nests deeper than [`MAX_VALUE_DEPTH`] or holds an escape that is not
/// a character (a lone surrogate).
pub(super) fn minified(raw: &RawValue) -> Result<String, ApiError> {
    let text = raw.get();
    let mut out = Vec::with_capacity(text.len());
    let mut depth = 0usize;
    for piece in pieces(text) {
        match piece {
            Piece::Blank => {}
            Piece::Open(b) => {
                depth += 1;
                if depth > MAX_VALUE_DEPTH {
                    return Err(ApiError::bad_request(format!(
                        "a property value may nest arrays and objects at most \
                         {MAX_VALUE_DEPTH} levels deep"
                    )));
                }
                out.push(b);
            }
            Piece::Close(b) => {
                depth = depth.saturating_sub(1);
                out.push(b);
            }
            Piece::String(literal) => {
                if literal.contains('\\') {
                    let decoded: String = serde_json::from_str(literal)
                        .map_err(|e| ApiError::bad_request(format!("invalid string: {e}")))?;
                    write_string(&mut out, &decoded);
                } else {
                    out.extend_from_slice(literal.as_bytes());
                }
            }
            Piece::Other(b) => out.push(b),
        }
    }
    // Only whole UTF-8 sequences were copied (strings whole, other tokens ASCII).
    String::from_utf8(out).map_err(|_| ApiError::bad_request("the value is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::compact_chars;

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
        // What is stored takes the characters `crate::values` counts (as
        // the `ccs` binary does before an import).
        for text in [
            " [ 123456789012345678901234 , 1e2 , -0.10 , true , null ] ",
            r#"{ "a b" : { "c" : [ ] } }"#,
            r#"["\u00e9\/\"\\ [ {", "\ud83d\ude00", "\n", "é€😀"]"#,
        ] {
            let stored = min(text).unwrap_or_default();
            assert_eq!(compact_chars(text), stored.chars().count(), "{text}");
        }
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
