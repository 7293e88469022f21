//! Validated names: checked when made, so a bad name never reaches the wire.
//!
//! The generated clients use these types too (build.rs maps the specs'
//! `AccountId`, `NamespaceName`, `SessionId` and `PropertyName` schemas to
//! them), so a name is checked once, here, and the `raw()` clients take the
//! same types as the layer.
//!
//! Every name in every path, in the layer's requests and the generated
//! clients' alike, is percent-encoded by one rule, [`encode_path`]: it
//! reaches the service as exactly one path segment that decodes back to
//! exactly that name, whatever its characters (`\`, `/`, `%`, `?`, `#`,
//! controls, any Unicode). What no segment can carry (the empty name, `.`
//! and `..`) is refused when the name is made. Behind that, the transport
//! refuses any request whose path does not have the segments its operation
//! declares (`transport::check_path`).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The namespaces LivePerson reserves for internal use.
pub const RESERVED_NAMESPACES: [&str; 6] = [
    "consumer",
    "operational",
    "conversation",
    "faas",
    "custom",
    "sde",
];

/// The session that holds a namespace's own (namespace-level) properties.
pub const DEFAULT_SESSION: &str = "__default__";

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:path) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            #[doc = concat!("Checks and wraps a ", $what, ".")]
            pub fn new(value: impl Into<String>) -> Result<Self, Error> {
                let value = value.into();
                $check(&value).map_err(|reason| Error::invalid($what, reason))?;
                Ok($name(value))
            }

            #[doc = concat!("The ", $what, " as text.")]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                $name::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(s: &str) -> Result<Self, Error> {
                $name::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                $name::new(s)
            }
        }

        impl TryFrom<&String> for $name {
            type Error = Error;
            fn try_from(s: &String) -> Result<Self, Error> {
                $name::new(s.as_str())
            }
        }

        impl TryFrom<&$name> for $name {
            type Error = Error;
            fn try_from(s: &$name) -> Result<Self, Error> {
                Ok(s.clone())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        /// Deserializing checks the value as [`new`](Self::new) does.
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                $check(&value).map_err(|reason| {
                    serde::de::Error::custom(format_args!("invalid {}: {reason}", $what))
                })?;
                Ok($name(value))
            }
        }
    };
}

name_type!(
    /// A LivePerson account (site) id: ASCII letters, digits, `-` and `_`,
    /// e.g. `le12345678` or `90233`.
    AccountId,
    "account id",
    check_account
);
name_type!(
    /// A namespace: ASCII letters, digits and `_`, not one of the
    /// [reserved](RESERVED_NAMESPACES) names.
    Namespace,
    "namespace",
    check_namespace
);
name_type!(
    /// A session id: any non-empty text that can travel as one path segment
    /// (not `.` or `..`). [`SessionId::default_session`] is the namespace level.
    SessionId,
    "session id",
    check_segment
);
name_type!(
    /// A property name: any non-empty text that can travel as one path
    /// segment (not `.` or `..`).
    PropertyName,
    "property name",
    check_segment
);

/// Anything a name parameter takes: the name type itself (owned or
/// borrowed), or text, which is checked.
///
/// Every parameter that names an account, a namespace, a session or a
/// property takes `impl IntoName<...>`, so the crate's own types and the
/// usual string types all fit, including the `&&str` that `iter()` gives:
///
/// | given | result |
/// | --- | --- |
/// | `Namespace`, `&Namespace` (and the other name types) | used as is |
/// | `&str`, `&&str`, `String`, `&String`, `Cow<str>` | checked, an [`Error::InvalidInput`] if bad |
///
/// ```no_run
/// use std::borrow::Cow;
/// use liveperson_ccs::{CcsV1Client, Error, Namespace};
///
/// # async fn demo(ccs: CcsV1Client) -> Result<(), Error> {
/// let namespace = Namespace::new("myNamespace")?;
/// ccs.create_namespace(namespace.clone()).await?; // an owned Namespace
/// ccs.create_namespace(&namespace).await?; // a borrowed one
///
/// for name in ["orders", "billing"].iter() {
///     ccs.create_namespace(name).await?; // a &&str
/// }
/// let session = ccs.session(String::from("myNamespace"), format!("conv-{}", 42))?; // Strings
/// let tier: Option<String> = session.get_property(Cow::Borrowed("tier")).await?;
/// # let _ = tier;
/// # Ok(()) }
/// ```
///
/// The trait is sealed: it cannot be implemented outside this crate.
pub trait IntoName<N>: sealed::Sealed {
    /// Checks the text (if it is text) and returns the name.
    fn into_name(self) -> Result<N, Error>;
}

mod sealed {
    /// Keeps [`IntoName`](super::IntoName) implemented only here.
    pub trait Sealed {}
    impl Sealed for &str {}
    impl Sealed for &&str {}
    impl Sealed for String {}
    impl Sealed for &String {}
    impl Sealed for std::borrow::Cow<'_, str> {}
}

macro_rules! into_name {
    ($name:ident) => {
        impl sealed::Sealed for $name {}
        impl sealed::Sealed for &$name {}

        impl IntoName<$name> for $name {
            fn into_name(self) -> Result<$name, Error> {
                Ok(self)
            }
        }

        impl IntoName<$name> for &$name {
            fn into_name(self) -> Result<$name, Error> {
                Ok(self.clone())
            }
        }

        impl IntoName<$name> for &str {
            fn into_name(self) -> Result<$name, Error> {
                $name::new(self)
            }
        }

        impl IntoName<$name> for &&str {
            fn into_name(self) -> Result<$name, Error> {
                $name::new(*self)
            }
        }

        impl IntoName<$name> for String {
            fn into_name(self) -> Result<$name, Error> {
                $name::new(self)
            }
        }

        impl IntoName<$name> for &String {
            fn into_name(self) -> Result<$name, Error> {
                $name::new(self.as_str())
            }
        }

        impl IntoName<$name> for Cow<'_, str> {
            fn into_name(self) -> Result<$name, Error> {
                $name::new(self.into_owned())
            }
        }
    };
}

into_name!(AccountId);
into_name!(Namespace);
into_name!(SessionId);
into_name!(PropertyName);

impl SessionId {
    /// The `__default__` session, which holds the namespace-level properties.
    pub fn default_session() -> Self {
        SessionId(DEFAULT_SESSION.to_owned())
    }

    /// Whether this is the `__default__` session.
    pub fn is_default(&self) -> bool {
        self.0 == DEFAULT_SESSION
    }
}

pub(crate) fn check_account(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".into());
    }
    match value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        Some(c) => Err(format!(
            "{value:?} contains {c:?}; only ASCII letters, digits, '-' and '_' are allowed"
        )),
        None => Ok(()),
    }
}

pub(crate) fn check_namespace(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".into());
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(format!(
            "{value:?} contains {c:?}; only ASCII letters, digits and '_' are allowed"
        ));
    }
    if RESERVED_NAMESPACES.contains(&value) {
        return Err(format!("{value:?} is reserved by LivePerson"));
    }
    Ok(())
}

/// Session ids and property names go on the wire percent-encoded as one path
/// segment ([`encode_path`]). Any text survives that except an empty segment
/// and the two that URL normalisation removes whatever their encoding: `.`
/// and `..` (the URL standard also reads `%2e` and `%2E%2e` as dots).
pub(crate) fn check_segment(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".into());
    }
    if value == "." || value == ".." {
        return Err(format!(
            "{value:?} cannot travel as a path segment (URLs resolve it as a directory step)"
        ));
    }
    Ok(())
}

/// What [`encode_path`] leaves as it is: ASCII letters, digits and
/// `-._~!$&'()*+,:=@` (RFC 3986's unreserved characters and the
/// sub-delimiters a path segment may hold, less `;`). Everything else is
/// percent-encoded as UTF-8, `%` itself included.
///
/// Why more than progenitor's own `encode_path` (which this replaces in the
/// generated clients, see build.rs): URL parsers that follow the WHATWG URL
/// standard, reqwest's `url` among them, read a `\` as `/` in `http(s)`
/// URLs and then resolve `..`, so `..\nsY\victim` left unencoded walked
/// into another namespace. `;` starts a path parameter on many servers
/// (Tomcat drops `;jsessionid=...` from a segment), and `[`, `]`, `^`, `|`
/// and the rest are not allowed in a segment by RFC 3986.
const SEGMENT_KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b':')
    .remove(b'=')
    .remove(b'@');

/// Encodes one path parameter as exactly one path segment that decodes back
/// to exactly the text given: what the crate sends for every name in every
/// path, in the layer's own requests and in the generated clients' (build.rs
/// makes their `encode_path` this one).
///
/// A segment that is `.` or `..` cannot be sent at all: the name types
/// refuse those before a request is built, and the transport refuses a
/// request whose path does not have the segments its operation declares.
pub(crate) fn encode_path(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    push_encoded(&mut encoded, segment);
    encoded
}

/// Appends `segment` to `url`, percent-encoded as [`encode_path`] encodes
/// it: the pieces the encoder yields are copied in, with no `fmt` and no
/// allocation of their own (`to_string()` went through `fmt`, about 500
/// instructions a segment).
pub(crate) fn push_encoded(url: &mut String, segment: &str) {
    url.extend(percent_encoding::utf8_percent_encode(segment, SEGMENT_KEEP));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces() {
        assert!(Namespace::new("myNamespace").is_ok());
        assert!(Namespace::new("my_ns_2").is_ok());
        for bad in ["", "my-ns", "my ns", "ns.x", "é", "consumer", "sde", "faas"] {
            let err = Namespace::new(bad).expect_err(bad);
            assert!(
                matches!(
                    err,
                    Error::InvalidInput {
                        what: "namespace",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
        // Reserved names are matched exactly, as the documents list them.
        assert!(Namespace::new("Consumer").is_ok());
    }

    #[test]
    fn segments() {
        for good in [
            "mySessionId",
            "a b/c?d",
            "a b:c+é",
            "__default__",
            "x.y",
            "a\nb",
        ] {
            assert!(SessionId::new(good).is_ok(), "{good}");
            assert!(PropertyName::new(good).is_ok(), "{good}");
        }
        for bad in ["", ".", ".."] {
            assert!(SessionId::new(bad).is_err(), "{bad:?}");
            assert!(PropertyName::new(bad).is_err(), "{bad:?}");
        }
        assert!(SessionId::default_session().is_default());
    }

    /// `encode_path` and `push_encoded` write exactly what the encoder's
    /// `Display` writes (the way it was written before), for every ASCII
    /// character and some that are not.
    #[test]
    fn the_encoders_agree() {
        let mut names: Vec<String> = (0u8..128).map(|b| format!("a{}b", char::from(b))).collect();
        names.extend(["", "é", "😀 x", "%2e%2e", r"..\nsY\victim"].map(String::from));
        for name in &names {
            let before = percent_encoding::utf8_percent_encode(name, SEGMENT_KEEP).to_string();
            assert_eq!(encode_path(name), before, "{name:?}");
            let mut url = String::from("/x/");
            push_encoded(&mut url, name);
            assert_eq!(url, format!("/x/{before}"), "{name:?}");
        }
    }

    /// Every character, alone and with others, comes out of a WHATWG URL
    /// parser (reqwest's) as the one segment written, and decodes back.
    #[test]
    fn an_encoded_segment_survives_url_parsing() {
        let mut names: Vec<String> = (0u8..128)
            .map(char::from)
            .flat_map(|c| [c.to_string(), format!("x{c}{c}y"), format!("{c}..")])
            .collect();
        names.extend(
            [
                r"..\nsY\victim",
                "%2e%2e",
                ".%2E",
                "%2F",
                " a ",
                "\t\r\n",
                "é日😀",
                "\u{FEFF}",
                "\u{10FFFF}",
            ]
            .map(String::from),
        );
        for name in names.iter().filter(|n| check_segment(n).is_ok()) {
            let encoded = encode_path(name);
            let url = format!("http://h/a/{encoded}/b");
            let parsed = reqwest::Url::parse(&url).unwrap_or_else(|e| panic!("{name:?}: {e}"));
            assert_eq!(parsed.path(), format!("/a/{encoded}/b"), "{name:?}");
            let decoded = percent_encoding::percent_decode_str(&encoded).decode_utf8();
            assert_eq!(decoded.ok().as_deref(), Some(name.as_str()));
            assert!(
                encoded.bytes().all(|b| b.is_ascii_graphic()
                    && !matches!(b, b'/' | b'\\' | b'?' | b'#' | b';' | b'[' | b']')),
                "{name:?} -> {encoded}"
            );
        }
        assert_eq!(encode_path(r"..\x"), "..%5Cx");
        assert_eq!(encode_path("a b;c"), "a%20b%3Bc");
        assert_eq!(encode_path("a:b+c=d@e"), "a:b+c=d@e");
    }

    #[test]
    fn accounts() {
        assert!(AccountId::new("le12345678").is_ok());
        assert!(AccountId::new("90233").is_ok());
        for bad in ["", "12 34", "12/34", "../x"] {
            assert!(AccountId::new(bad).is_err(), "{bad:?}");
        }
    }

    fn take<N>(name: impl IntoName<N>) -> Result<N, Error> {
        name.into_name()
    }

    #[test]
    fn into_name_takes_names_and_checked_text() -> Result<(), Error> {
        let ns = Namespace::new("myNamespace")?;
        assert_eq!(take::<Namespace>(ns.clone())?, ns);
        assert_eq!(take::<Namespace>(&ns)?, ns);
        assert_eq!(take::<Namespace>("myNamespace")?, ns);
        for name in ["myNamespace", "other"].iter() {
            assert_eq!(take::<Namespace>(name)?.as_str(), *name);
        }
        let owned = String::from("myNamespace");
        assert_eq!(take::<Namespace>(&owned)?, ns);
        assert_eq!(take::<Namespace>(owned)?, ns);
        assert_eq!(take::<Namespace>(Cow::Borrowed("myNamespace"))?, ns);
        // Text is checked, whatever its type.
        for bad in [
            take::<Namespace>("my-ns"),
            take::<Namespace>(&"consumer"),
            take::<Namespace>(String::from("")),
            take::<Namespace>(Cow::Owned("a b".into())),
        ] {
            assert!(
                matches!(
                    bad,
                    Err(Error::InvalidInput {
                        what: "namespace",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        assert!(take::<SessionId>("..").is_err());
        assert!(take::<PropertyName>(&String::from(".")).is_err());
        assert_eq!(take::<SessionId>("s1")?.as_str(), "s1");
        Ok(())
    }

    /// The generated clients serialize and deserialize these types in
    /// request bodies: a name travels as a plain string, and deserializing
    /// checks it like `new`.
    #[test]
    fn serde_is_a_checked_string() {
        let ns = Namespace::new("myNamespace").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            serde_json::to_string(&ns).ok(),
            Some(r#""myNamespace""#.into())
        );
        let back: Namespace =
            serde_json::from_str(r#""myNamespace""#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, ns);
        let err = serde_json::from_str::<Namespace>(r#""consumer""#).expect_err("reserved");
        assert!(err.to_string().contains("invalid namespace"), "{err}");
        assert!(err.to_string().contains("reserved"), "{err}");
        assert!(serde_json::from_str::<SessionId>(r#"".""#).is_err());
        assert!(serde_json::from_str::<AccountId>(r#""a/b""#).is_err());
        assert!(
            serde_json::from_str::<PropertyName>("12").is_err(),
            "not a string"
        );
    }
}
