//! The export format: JSON Lines, one [`Line`] per line.
//!
//! ```text
//! {"type":"header","format":"liveperson-ccs-export","version":2,"account":"le12345678","exported_at":"..."}
//! {"type":"namespace","name":"orders","ttl_seconds":3600}
//! {"type":"session","namespace":"orders","session":"s1","properties":{"intent":"billing"},"ttl_seconds":600}
//! {"type":"trailer","namespaces":1,"sessions":1,"properties":1,"sha256":"..."}
//! ```
//!
//! The first line is the header; a namespace's line comes before its
//! sessions; the trailer is the last line, written only when the export
//! finished. The JSON Schema (`ccs schema`, committed as
//! `schemas/ccs-export.schema.json`) is generated from these types.
//!
//! The trailer's `sha256` is the SHA-256 of every byte of the file before
//! the trailer line: the header and every line after it, each with its
//! line ending (`\n`), blank lines included, exactly as stored. Any change
//! to those bytes (a value altered, a line cut, removed or reordered, line
//! endings rewritten) makes it disagree. [`FileCheck`] checks a whole file.

use std::collections::HashMap;

use liveperson_ccs::v1::RawProperties;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
#[cfg(test)]
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::store::{V2_MAX_TTL_SECONDS, rules};

/// The `format` of the header line.
pub const FORMAT: &str = "liveperson-ccs-export";
/// The version this tool writes; it reads this one and version 1 (the
/// format before the trailer).
pub const VERSION: u32 = 2;
/// The most a session's properties may take, as compact JSON, in characters
/// (the library's rule).
pub const MAX_SESSION_CHARS: usize = liveperson_ccs::values::MAX_DOCUMENT_CHARS;
/// The deepest a property value may nest arrays and objects (the library's
/// rule).
pub const MAX_VALUE_DEPTH: usize = liveperson_ccs::values::MAX_VALUE_DEPTH;

/// One line of an export. Read with [`parse`] (each property value is kept
/// as the JSON text it was written with, which serde cannot do through an
/// internally tagged enum), written with serde.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schemars(
    title = "liveperson-ccs export line",
    description = "One line of a `ccs export` file (JSON Lines). The first line of a file is a `header`; a `namespace` line comes before the `session` lines of that namespace, and each namespace and session appears once; from version 2 the last line is a `trailer` (counts and the SHA-256 of every byte before it), written only when the export finished. Readers ignore members they do not know."
)]
pub enum Line {
    /// The first line: what the file is.
    Header(Header),
    /// A namespace and its TTL.
    Namespace(NamespaceLine),
    /// A session and its properties.
    Session(SessionLine),
    /// The last line (version 2): what the lines before it hold.
    Trailer(Trailer),
}

/// The header line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Header {
    /// Always `liveperson-ccs-export`.
    #[schemars(extend("const" = "liveperson-ccs-export"))]
    pub format: String,
    /// The format version: 2 (with a trailer) or 1 (without; still read).
    #[schemars(range(min = 1, max = 2))]
    pub version: u32,
    /// The account the data was exported from (always written; an import
    /// into another account needs `--from-other-account`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// When the export started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub exported_at: Option<String>,
    /// The tool that wrote the file, e.g. `ccs 0.1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
}

/// A namespace line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NamespaceLine {
    /// The namespace: ASCII letters, digits and `_`; not one of LivePerson's
    /// reserved names (consumer, operational, conversation, faas, custom, sde).
    #[schemars(regex(pattern = r"^[A-Za-z0-9_]+$"))]
    pub name: String,
    /// The namespace's TTL in seconds (0: no expiry), where one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 9_223_372_036_854_775_807u64))]
    pub ttl_seconds: Option<u64>,
}

/// A session line.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SessionLine {
    /// The namespace (see the namespace line).
    #[schemars(regex(pattern = r"^[A-Za-z0-9_]+$"))]
    pub namespace: String,
    /// The session id: any non-empty text but `.` and `..`; `__default__`
    /// holds the namespace-level properties.
    #[schemars(length(min = 1))]
    pub session: String,
    /// The session's properties: name to any JSON value. As compact JSON, at
    /// most 800,000 characters.
    // Each value is the JSON text read (a `RawValue`), so every digit of a
    // number is kept from export to import; the schema says "any JSON value".
    #[schemars(with = "Map<String, Value>")]
    pub properties: RawProperties,
    /// The session's own TTL in seconds (0: no expiry), where one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 9_223_372_036_854_775_807u64))]
    pub ttl_seconds: Option<u64>,
}

/// The trailer line: the last line of a version-2 file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Trailer {
    /// How many namespace lines come before it.
    pub namespaces: u64,
    /// How many session lines come before it.
    pub sessions: u64,
    /// How many properties those session lines hold in all.
    pub properties: u64,
    /// The SHA-256, as 64 lowercase hex digits, of every byte of the file
    /// before this line: the header and every line after it, each with its
    /// line ending, exactly as stored.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
}

impl PartialEq for SessionLine {
    /// The same session, properties and TTL; values compared as JSON text.
    fn eq(&self, other: &Self) -> bool {
        self.namespace == other.namespace
            && self.session == other.session
            && self.ttl_seconds == other.ttl_seconds
            && self.properties.len() == other.properties.len()
            && self
                .properties
                .iter()
                .zip(&other.properties)
                .all(|((a, x), (b, y))| a == b && x.get() == y.get())
    }
}

impl Header {
    /// The header this tool writes.
    pub fn new(account: &str) -> Header {
        Header {
            format: FORMAT.to_owned(),
            version: VERSION,
            account: Some(account.to_owned()),
            exported_at: Some(chrono::Utc::now().to_rfc3339()),
            generator: Some(concat!("ccs ", env!("CARGO_PKG_VERSION")).to_owned()),
        }
    }
}

/// The JSON Schema of a line, as committed in `schemas/ccs-export.schema.json`.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Line);
    // Serializing a schema (a JSON value) cannot fail.
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Reads one line: `Ok(None)` for a blank line.
///
/// First its `type` alone, then the whole line as that variant's struct:
/// serde's internally tagged enums buffer the line, and a buffered value
/// cannot be read as a `RawValue`, which keeps each property's text.
pub fn parse(text: &str) -> Result<Option<Line>, String> {
    /// The `type` member; every other member is skipped unread.
    #[derive(Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: Option<Value>,
    }
    if text.trim().is_empty() {
        return Ok(None);
    }
    if !text.trim_start().starts_with('{') {
        // Valid JSON or not, say what is wrong with it.
        return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => "not a JSON object".into(),
            Err(e) => format!("not valid JSON: {e}"),
        });
    }
    let kind = serde_json::from_str::<Kind>(text)
        .map_err(|e| format!("not valid JSON: {e}"))?
        .kind;
    let kind = match kind {
        Some(Value::String(kind)) => kind,
        Some(_) | None => {
            return Err("no \"type\" member (header, namespace or session)".into());
        }
    };
    let invalid = |e: serde_json::Error| format!("not a valid {kind} line: {e}");
    match kind.as_str() {
        "header" => serde_json::from_str(text).map(Line::Header),
        "namespace" => serde_json::from_str(text).map(Line::Namespace),
        "session" => serde_json::from_str(text).map(Line::Session),
        "trailer" => serde_json::from_str(text).map(Line::Trailer),
        other => {
            return Err(format!(
                "unknown line type {other:?} (expected header, namespace, session or trailer)"
            ));
        }
    }
    .map(Some)
    .map_err(invalid)
}

/// What [`check`] needs to know about where the data goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    V1,
    V2,
}

/// Checks a line against the documented rules; `first` says whether it is
/// the file's first line. Returns every problem found.
pub fn check(line: &Line, first: bool, target: Target) -> Vec<String> {
    let mut problems = Vec::new();
    match line {
        Line::Header(header) => {
            if !first {
                problems.push("a header line may only be the first line".into());
            }
            if header.format != FORMAT {
                problems.push(format!(
                    "format {:?} is not {FORMAT:?}",
                    header.format
                ));
            }
            if !(1..=VERSION).contains(&header.version) {
                problems.push(format!(
                    "format version {} is not supported (this ccs reads versions 1 to {VERSION}); use the ccs that wrote the file",
                    header.version
                ));
            }
            if header.version >= 2 && header.account.is_none() {
                problems.push(format!(
                    "a version-{} header names its account (\"account\")",
                    header.version
                ));
            }
        }
        _ if first => problems.push(format!(
            "the first line must be the header {{\"type\":\"header\",\"format\":\"{FORMAT}\",\"version\":{VERSION}}}"
        )),
        Line::Namespace(ns) => {
            if let Err(e) = rules::namespace(&ns.name) {
                problems.push(e);
            }
            check_ttl(ns.ttl_seconds, &mut problems);
        }
        // Where a trailer may be, and what it says, is the file's matter
        // ([`FileCheck`]).
        Line::Trailer(_) => {}
        Line::Session(session) => {
            if let Err(e) = rules::namespace(&session.namespace) {
                problems.push(e);
            }
            if let Err(e) = rules::session(&session.session) {
                problems.push(e);
            }
            for (name, value) in &session.properties {
                if let Err(e) = rules::property(name) {
                    problems.push(e);
                }
                // The layer refuses such a value when writing it; said here,
                // `--dry-run` and the check before writing catch it too.
                let depth = liveperson_ccs::values::raw_depth(value.get());
                if depth > MAX_VALUE_DEPTH {
                    problems.push(format!(
                        "property {name:?} nests arrays and objects {depth} levels deep; at most {MAX_VALUE_DEPTH} are allowed"
                    ));
                }
            }
            let chars = compact_chars(&session.properties);
            if chars > MAX_SESSION_CHARS {
                problems.push(format!(
                    "the session's properties take {chars} characters as JSON, over the service's limit of {MAX_SESSION_CHARS}"
                ));
            }
            check_ttl(session.ttl_seconds, &mut problems);
            if target == Target::V2
                && let Some(ttl) = session.ttl_seconds
                && ttl > V2_MAX_TTL_SECONDS
            {
                problems.push(format!(
                    "ttl_seconds {ttl} is over v2's longest TTL ({V2_MAX_TTL_SECONDS} s, 13 months)"
                ));
            }
        }
    }
    problems
}

fn check_ttl(ttl: Option<u64>, problems: &mut Vec<String>) {
    if let Some(ttl) = ttl
        && i64::try_from(ttl).is_err()
    {
        problems.push(format!("ttl_seconds {ttl} is too large"));
    }
}

/// The longest line read, in bytes, line ending included: 8 MiB. A
/// session's properties take at most 800,000 characters as compact JSON;
/// as stored, a character may take up to 6 bytes (`\u00e9`), and whitespace
/// between tokens is allowed, so 8 MiB holds any line the service can take.
pub const MAX_LINE_BYTES: usize = 8 << 20;

/// What [`read_line`] read.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// A line (its ending included, when it has one).
    Line,
    /// The file has ended.
    End,
    /// The line is longer than the limit: reading stopped inside it, with
    /// at most the limit held.
    TooLong,
}

/// Reads the next line, through its `\n`, into `line` (cleared first),
/// holding at most `max` bytes of it: the size is checked as the line is
/// read, so memory stays bounded whatever the file. On
/// [`Read::TooLong`] the reader is left inside the line.
pub fn read_line(
    reader: &mut impl std::io::BufRead,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Read> {
    line.clear();
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if line.is_empty() {
                Read::End
            } else {
                Read::Line
            });
        }
        let (take, ends) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        if line.len() + take > max {
            return Ok(Read::TooLong);
        }
        line.extend_from_slice(&available[..take]);
        reader.consume(take);
        if ends {
            return Ok(Read::Line);
        }
    }
}

/// What a file's lines hold: what its trailer counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub namespaces: u64,
    pub sessions: u64,
    pub properties: u64,
}

/// The SHA-256 of what `digest` has seen, as lowercase hex.
pub fn sha256_hex(digest: &Sha256) -> String {
    digest
        .clone()
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The most problems a [`FileCheck`] keeps to print (all are counted).
const KEPT_PROBLEMS: usize = 100;

/// A whole file checked in one pass, line after line, before anything is
/// written: each line against the rules ([`check`]), and the file as a
/// whole: the header first, its account (unless any is taken), each
/// session after its namespace's line, and from version 2 a trailer as the
/// last line whose counts and digest agree with the lines before it.
pub struct FileCheck {
    target: Target,
    account: Option<String>,
    version: Option<u32>,
    seen_first: bool,
    digest: Sha256,
    /// Each namespace's line number.
    namespaces: HashMap<String, usize>,
    /// Each session's line number (names only: memory grows with the
    /// number of sessions, not with their values).
    sessions: HashMap<(String, String), usize>,
    counts: Counts,
    trailer: Option<usize>,
    last: usize,
    /// The line at which reading stopped (a line over [`MAX_LINE_BYTES`]).
    stopped: Option<usize>,
    problems: Vec<(usize, String)>,
    problem_count: usize,
}

/// What [`FileCheck::finish`] found.
pub struct Checked {
    /// Line number and problem, in line order; at most 100.
    pub problems: Vec<(usize, String)>,
    /// Every problem found.
    pub problem_count: usize,
    pub counts: Counts,
    /// The header's version, if the file has a header.
    pub version: Option<u32>,
}

impl FileCheck {
    /// A check of data written into `account`; `None` takes a file of any
    /// account (`--from-other-account`).
    pub fn new(target: Target, account: Option<&str>) -> FileCheck {
        FileCheck {
            target,
            account: account.map(str::to_owned),
            version: None,
            seen_first: false,
            digest: Sha256::new(),
            namespaces: HashMap::new(),
            sessions: HashMap::new(),
            counts: Counts::default(),
            trailer: None,
            last: 0,
            stopped: None,
            problems: Vec::new(),
            problem_count: 0,
        }
    }

    fn problem(&mut self, number: usize, problem: String) {
        self.problem_count += 1;
        if self.problems.len() < KEPT_PROBLEMS {
            self.problems.push((number, problem));
        }
    }

    /// Line `number` (from 1): its bytes as read, with its line ending.
    pub fn line(&mut self, number: usize, bytes: &[u8]) {
        self.last = number;
        if let Some(at) = self.trailer {
            if !bytes.iter().all(u8::is_ascii_whitespace) {
                self.problem(
                    number,
                    format!(
                        "a line after the trailer (line {at}): the trailer must be the last line"
                    ),
                );
            }
            return;
        }
        let parsed = std::str::from_utf8(bytes)
            .map_err(|e| format!("not UTF-8 text: {e}"))
            .and_then(parse);
        let line = match parsed {
            Ok(None) => {
                self.digest.update(bytes);
                return;
            }
            Ok(Some(line)) => line,
            Err(problem) => {
                self.digest.update(bytes);
                self.seen_first = true;
                self.problem(number, problem);
                return;
            }
        };
        let first = !self.seen_first;
        self.seen_first = true;
        for problem in check(&line, first, self.target) {
            self.problem(number, problem);
        }
        match line {
            Line::Trailer(trailer) => {
                // The trailer is not part of its own digest.
                self.trailer = Some(number);
                self.check_trailer(number, &trailer);
                return;
            }
            Line::Header(header) => {
                if first {
                    self.version = Some(header.version);
                    if let (Some(expected), Some(found)) = (&self.account, &header.account)
                        && expected != found
                    {
                        let problem = format!(
                            "the file was exported from account {found}, not {expected} (the account this import writes to); pass --from-other-account to restore it into {expected} deliberately"
                        );
                        self.problem(number, problem);
                    }
                }
            }
            Line::Namespace(ns) => {
                self.counts.namespaces += 1;
                if let Some(at) = self.namespaces.get(&ns.name) {
                    let problem = format!(
                        "namespace {:?} again (first at line {at}): a repeated namespace line would change its TTL midway",
                        ns.name
                    );
                    self.problem(number, problem);
                } else {
                    self.namespaces.insert(ns.name, number);
                }
            }
            Line::Session(session) => {
                self.counts.sessions += 1;
                self.counts.properties += session.properties.len() as u64;
                if !self.namespaces.contains_key(&session.namespace) {
                    let problem = format!(
                        "session {}/{} comes before any namespace line for {:?}: an export writes each namespace's line before its sessions (a cut or edited file?)",
                        session.namespace, session.session, session.namespace
                    );
                    self.problem(number, problem);
                }
                let key = (session.namespace, session.session);
                if let Some(at) = self.sessions.get(&key) {
                    let problem = format!(
                        "session {}/{} again (first at line {at}): two lines for one session would be merged, the later winning",
                        key.0, key.1
                    );
                    self.problem(number, problem);
                } else {
                    self.sessions.insert(key, number);
                }
            }
        }
        self.digest.update(bytes);
    }

    fn check_trailer(&mut self, number: usize, trailer: &Trailer) {
        if self.version == Some(1) {
            self.problem(
                number,
                "a trailer line in a version-1 file (trailers came with version 2)".into(),
            );
            return;
        }
        let found = Counts {
            namespaces: trailer.namespaces,
            sessions: trailer.sessions,
            properties: trailer.properties,
        };
        if found != self.counts {
            let problem = format!(
                "the trailer counts {} namespaces, {} sessions and {} properties, but the lines before it hold {}, {} and {}: the file is incomplete or was edited",
                found.namespaces,
                found.sessions,
                found.properties,
                self.counts.namespaces,
                self.counts.sessions,
                self.counts.properties
            );
            self.problem(number, problem);
        }
        let digest = sha256_hex(&self.digest);
        if trailer.sha256 != digest {
            let problem = format!(
                "the trailer's sha256 is not the SHA-256 of lines 1 to {} ({digest}): the file was altered after its export",
                number - 1
            );
            self.problem(number, problem);
        }
    }

    /// Reads `reader` to its end (or to a line over [`MAX_LINE_BYTES`],
    /// where it stops), checking each line, and says what was found. An
    /// error reading comes with its line number; so does `stop()` becoming
    /// true (checked before each line), as [`std::io::ErrorKind::Interrupted`].
    pub fn read(
        mut self,
        reader: &mut impl std::io::BufRead,
        stop: fn() -> bool,
    ) -> Result<Checked, (usize, std::io::Error)> {
        let mut bytes = Vec::new();
        let mut number = 0usize;
        loop {
            if stop() {
                return Err((
                    number + 1,
                    std::io::Error::from(std::io::ErrorKind::Interrupted),
                ));
            }
            let read =
                read_line(reader, &mut bytes, MAX_LINE_BYTES).map_err(|e| (number + 1, e))?;
            match read {
                Read::End => break,
                Read::Line => {
                    number += 1;
                    self.line(number, &bytes);
                }
                Read::TooLong => {
                    number += 1;
                    self.last = number;
                    self.stopped = Some(number);
                    self.problem(
                        number,
                        format!(
                            "the line is longer than {MAX_LINE_BYTES} bytes (8 MiB; a session takes at most {MAX_SESSION_CHARS} characters): the file was not read further"
                        ),
                    );
                    break;
                }
            }
        }
        Ok(self.finish())
    }

    /// The file has ended: what was found.
    pub fn finish(mut self) -> Checked {
        if self.stopped.is_some() {
            // Not read to its end: whether it has a trailer is unknown.
        } else if !self.seen_first {
            self.problem(
                1,
                "the file is empty: an export starts with its header line".into(),
            );
        } else if self.version == Some(VERSION) && self.trailer.is_none() {
            let problem = format!(
                "the file ends here, after line {}, without its trailer line: it is incomplete (an export that failed or was interrupted, or a cut file)",
                self.last
            );
            self.problem(self.last, problem);
        }
        Checked {
            problems: self.problems,
            problem_count: self.problem_count,
            counts: self.counts,
            version: self.version,
        }
    }
}

/// The length of the properties as compact JSON, in characters, counted as
/// the library and the emulator count a session document (whitespace
/// between tokens not counted, a string as serde_json writes it, numbers as
/// written): `liveperson_ccs::values::document_chars`.
pub fn compact_chars(properties: &RawProperties) -> usize {
    liveperson_ccs::values::document_chars(properties)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_schema_matches_the_types() {
        let committed = include_str!("../../../schemas/ccs-export.schema.json");
        assert_eq!(
            committed,
            schema_json(),
            "schemas/ccs-export.schema.json is stale: run `cargo run --features cli --bin ccs -- schema > schemas/ccs-export.schema.json`"
        );
    }

    #[test]
    fn lines_round_trip_and_keep_every_digit() {
        let text = r#"{"type":"session","namespace":"ns","session":"s 1","properties":{"big":123456789012345678901234,"f":1.10,"u":"é"},"ttl_seconds":60}"#;
        let line = parse(text).unwrap().unwrap();
        let Line::Session(session) = &line else {
            panic!("a session line: {line:?}");
        };
        assert_eq!(session.ttl_seconds, Some(60));
        let written = serde_json::to_string(&line).unwrap();
        assert!(written.contains("123456789012345678901234"), "{written}");
        assert!(written.contains("1.10"), "{written}");
        assert_eq!(parse(&written).unwrap().unwrap(), line);
    }

    #[test]
    fn bad_lines_are_named() {
        assert!(parse("{").unwrap_err().contains("not valid JSON"));
        assert!(
            parse(r#"{"type":"x"}"#)
                .unwrap_err()
                .contains("unknown line type")
        );
        assert!(parse(r#"{"name":"a"}"#).unwrap_err().contains("\"type\""));
        assert!(parse("[1]").unwrap_err().contains("object"));
        assert!(
            parse(r#"{"type":"session","namespace":"a"}"#)
                .unwrap_err()
                .contains("session")
        );
        assert_eq!(parse("  ").unwrap(), None);

        let header = Line::Header(Header::new("le1"));
        assert!(check(&header, true, Target::V1).is_empty());
        assert!(!check(&header, false, Target::V1).is_empty());
        let mut old = Header::new("le1");
        old.version = 3;
        assert!(check(&Line::Header(old), true, Target::V1)[0].contains("version 3"));
        let mut nameless = Header::new("le1");
        nameless.account = None;
        assert!(check(&Line::Header(nameless), true, Target::V1)[0].contains("names its account"));

        let reserved = Line::Namespace(NamespaceLine {
            name: "sde".into(),
            ttl_seconds: None,
        });
        assert!(check(&reserved, false, Target::V1)[0].contains("reserved"));
        assert!(check(&reserved, true, Target::V1)[0].contains("first line"));

        let mut properties = RawProperties::new();
        properties.insert("".into(), raw("null"));
        properties.insert(
            "big".into(),
            serde_json::value::to_raw_value(&"é".repeat(MAX_SESSION_CHARS)).unwrap(),
        );
        let session = Line::Session(SessionLine {
            namespace: "ns".into(),
            session: "..".into(),
            properties,
            ttl_seconds: Some(V2_MAX_TTL_SECONDS + 1),
        });
        let problems = check(&session, false, Target::V2);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert_eq!(check(&session, false, Target::V1).len(), 3);
    }

    /// Checks `text` as a file, for account le1.
    fn check_text(text: &str) -> Checked {
        FileCheck::new(Target::V1, Some("le1"))
            .read(&mut text.as_bytes(), || false)
            .unwrap()
    }

    #[test]
    fn the_digest_covers_every_byte_before_the_trailer() {
        let body = concat!(
            r#"{"type":"header","format":"liveperson-ccs-export","version":2,"account":"le1"}"#,
            "\n\n",
            r#"{"type":"namespace","name":"ns"}"#,
            "\n",
            r#"{"type":"session","namespace":"ns","session":"s","properties":{"a":1,"b":[2]}}"#,
            "\n",
        );
        let mut digest = Sha256::new();
        digest.update(body.as_bytes());
        let trailer = format!(
            r#"{{"type":"trailer","namespaces":1,"sessions":1,"properties":2,"sha256":"{}"}}"#,
            sha256_hex(&digest)
        );
        let good = format!("{body}{trailer}\n");
        let checked = check_text(&good);
        assert_eq!(checked.problem_count, 0, "{:?}", checked.problems);
        assert_eq!(checked.version, Some(2));

        // A blank line removed: the same lines, other bytes.
        let checked = check_text(&good.replacen("\n\n", "\n", 1));
        assert_eq!(checked.problems.len(), 1, "{:?}", checked.problems);
        assert_eq!(checked.problems[0].0, 4);
        assert!(checked.problems[0].1.contains("sha256"));

        // Line endings rewritten.
        assert_eq!(check_text(&good.replace('\n', "\r\n")).problem_count, 1);

        // Something after the trailer; a trailer in a version-1 file.
        let checked = check_text(&format!("{good}{trailer}\n"));
        assert!(checked.problems[0].1.contains("after the trailer (line 5)"));
        let old = good.replacen(r#""version":2"#, r#""version":1"#, 1);
        assert!(
            check_text(&old)
                .problems
                .iter()
                .any(|(n, p)| *n == 5 && p.contains("version-1"))
        );
    }

    /// A file whose second line is `size` bytes long, made as it is read
    /// (never held), counting the bytes pulled from it.
    struct HugeLine {
        prefix: Vec<u8>,
        size: usize,
        sent: usize,
        pulled: std::rc::Rc<std::cell::Cell<usize>>,
    }

    impl std::io::Read for HugeLine {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let total = self.prefix.len() + self.size;
            let n = buf.len().min(total - self.sent);
            for (i, byte) in buf[..n].iter_mut().enumerate() {
                let at = self.sent + i;
                *byte = match self.prefix.get(at) {
                    Some(b) => *b,
                    None if at + 1 == total => b'\n',
                    None => b'x',
                };
            }
            self.sent += n;
            self.pulled.set(self.pulled.get() + n);
            Ok(n)
        }
    }

    #[test]
    fn a_200_mb_line_is_refused_after_reading_at_most_the_limit() {
        let pulled = std::rc::Rc::new(std::cell::Cell::new(0));
        let prefix = concat!(
            r#"{"type":"header","format":"liveperson-ccs-export","version":2,"account":"le1"}"#,
            "\n",
            r#"{"type":"namespace","name":"ns"}"#,
            "\n",
            r#"{"type":"session","namespace":"ns","session":"s","properties":{"a":""#
        );
        let mut file = std::io::BufReader::with_capacity(
            64 * 1024,
            HugeLine {
                prefix: prefix.as_bytes().to_vec(),
                size: 200 << 20,
                sent: 0,
                pulled: pulled.clone(),
            },
        );
        let checked = FileCheck::new(Target::V1, Some("le1"))
            .read(&mut file, || false)
            .unwrap();
        assert_eq!(checked.problem_count, 1, "{:?}", checked.problems);
        assert_eq!(checked.problems[0].0, 3);
        assert!(checked.problems[0].1.contains("longer than 8388608 bytes"));
        // Read no further than the limit (and one buffer): not the 200 MB.
        assert!(
            pulled.get() <= prefix.len() + MAX_LINE_BYTES + 64 * 1024,
            "{} bytes pulled",
            pulled.get()
        );

        // At the limit, a line is read whole.
        let mut line = Vec::new();
        let mut exact = std::io::Cursor::new(b"abc\nde".to_vec());
        assert_eq!(read_line(&mut exact, &mut line, 4).unwrap(), Read::Line);
        assert_eq!(line, b"abc\n");
        assert_eq!(read_line(&mut exact, &mut line, 4).unwrap(), Read::Line);
        assert_eq!(line, b"de");
        assert_eq!(read_line(&mut exact, &mut line, 4).unwrap(), Read::End);
        let mut long = std::io::Cursor::new(b"abcde\n".to_vec());
        assert_eq!(read_line(&mut long, &mut line, 5).unwrap(), Read::TooLong);
    }

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn characters_are_counted_not_bytes() {
        let mut properties = RawProperties::new();
        properties.insert("a".into(), raw(r#""é€😀""#));
        assert_eq!(
            compact_chars(&properties),
            r#"{"a":"é€😀"}"#.chars().count()
        );
    }

    #[test]
    fn the_count_is_of_compact_json_as_the_service_keeps_it() {
        let line = parse(
            r#"{"type":"session","namespace":"ns","session":"s","properties":{"a" : [ 1e2 , "x y" ],"b":"\u00e9\n","c":{}}}"#,
        )
        .unwrap()
        .unwrap();
        let Line::Session(session) = line else {
            panic!("a session line");
        };
        let compact = r#"{"a":[1e2,"x y"],"b":"é\n","c":{}}"#;
        assert_eq!(compact_chars(&session.properties), compact.chars().count());
        assert_eq!(compact_chars(&RawProperties::new()), 2);
    }
}
