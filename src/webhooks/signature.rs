//! The `x-liveperson-signature` header: an HMAC of the raw body, keyed with
//! the app installation's `client_secret`.
//!
//! LivePerson's "Notification Protocol" page shows `sha1=` followed by the
//! Base64 of HMAC-SHA1; other pages and integrations use SHA-256 and hex.
//! [`verify_signature`] accepts all four forms (the algorithm from the
//! prefix, the encoding from the length) and compares in constant time;
//! [`sign`] writes any of them (the emulator signs with it, and so can your
//! tests).

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};

/// The header LivePerson signs each webhook call with.
pub const SIGNATURE_HEADER: &str = "x-liveperson-signature";

/// The hash under the HMAC: the header's prefix (`sha1=`, `sha256=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// HMAC-SHA1, `sha1=` (what LivePerson documents and sends).
    #[default]
    Sha1,
    /// HMAC-SHA256, `sha256=`.
    Sha256,
}

impl SignatureAlgorithm {
    /// The header's prefix without the `=`: `sha1` or `sha256`.
    pub fn name(self) -> &'static str {
        match self {
            SignatureAlgorithm::Sha1 => "sha1",
            SignatureAlgorithm::Sha256 => "sha256",
        }
    }

    /// The digest's length in bytes.
    fn digest_len(self) -> usize {
        match self {
            SignatureAlgorithm::Sha1 => 20,
            SignatureAlgorithm::Sha256 => 32,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("sha1") {
            Some(SignatureAlgorithm::Sha1)
        } else if name.eq_ignore_ascii_case("sha256") {
            Some(SignatureAlgorithm::Sha256)
        } else {
            None
        }
    }
}

impl std::fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How the digest is written after the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SignatureEncoding {
    /// Standard Base64 with padding (what LivePerson documents and sends).
    #[default]
    Base64,
    /// Lowercase hexadecimal.
    Hex,
}

/// Why a signature was refused. It never holds the secret, nor the
/// signature that was expected, nor the one received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The header is absent or empty.
    #[error("x-liveperson-signature: missing")]
    Missing,
    /// The header is not `ALGORITHM=DIGEST`, or the digest is neither the
    /// Base64 nor the hex of a digest of that algorithm.
    #[error("x-liveperson-signature: malformed: {reason}")]
    Malformed {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The prefix names an algorithm other than `sha1` or `sha256`.
    #[error("x-liveperson-signature: unsupported algorithm (expected sha1= or sha256=)")]
    UnsupportedAlgorithm,
    /// The header is well formed but is not the HMAC of this body with this
    /// secret: the wrong `client_secret`, or a body changed on the way
    /// (including a body re-serialized before verifying: verify the bytes
    /// as received).
    #[error(
        "x-liveperson-signature: does not match the body ({algorithm} HMAC with the client secret)"
    )]
    Mismatch {
        /// The algorithm the header named.
        algorithm: SignatureAlgorithm,
    },
}

/// The signature header's value for `body`: `sha1=` (or `sha256=`) and the
/// HMAC of the body keyed with `client_secret`, in Base64 or hex.
///
/// ```
/// use liveperson_ccs::webhooks::{sign, verify_signature, SignatureAlgorithm, SignatureEncoding};
///
/// let body = br#"{"kind":"notification"}"#;
/// let header = sign("s3cret", body, SignatureAlgorithm::Sha1, SignatureEncoding::Base64);
/// assert!(header.starts_with("sha1="));
/// assert!(verify_signature("s3cret", &header, body).is_ok());
/// ```
pub fn sign(
    client_secret: impl AsRef<[u8]>,
    body: &[u8],
    algorithm: SignatureAlgorithm,
    encoding: SignatureEncoding,
) -> String {
    let digest = match algorithm {
        SignatureAlgorithm::Sha1 => hmac_sha1(client_secret.as_ref(), body)
            .finalize()
            .into_bytes()
            .to_vec(),
        SignatureAlgorithm::Sha256 => hmac_sha256(client_secret.as_ref(), body)
            .finalize()
            .into_bytes()
            .to_vec(),
    };
    let written = match encoding {
        SignatureEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(&digest),
        SignatureEncoding::Hex => hex(&digest),
    };
    format!("{}={written}", algorithm.name())
}

/// Checks `signature_header` (the value of `x-liveperson-signature`)
/// against the **raw body as received**, keyed with the app installation's
/// `client_secret`.
///
/// Accepts `sha1=` and `sha256=` (any case), the digest in standard Base64
/// (padded or not) or hex (any case), and surrounding whitespace. The
/// comparison is constant-time. Verify before parsing, and never verify a
/// body you re-serialized: a JSON encoder writes emoji and other non-ASCII
/// text its own way, and the signature no longer matches.
///
/// ```
/// use liveperson_ccs::webhooks::{verify_signature, SignatureError};
///
/// let body = "{\"message\":\"héllo 👋\"}".as_bytes();
/// // HMAC-SHA1 of that body with the key "s3cret", in Base64.
/// let header = liveperson_ccs::webhooks::sign(
///     "s3cret", body, Default::default(), Default::default());
/// assert_eq!(verify_signature("s3cret", &header, body), Ok(()));
/// assert!(matches!(
///     verify_signature("wrong", &header, body),
///     Err(SignatureError::Mismatch { .. })
/// ));
/// ```
pub fn verify_signature(
    client_secret: impl AsRef<[u8]>,
    signature_header: &str,
    raw_body: &[u8],
) -> Result<(), SignatureError> {
    let (algorithm, digest) = read_header(signature_header)?;
    let matches = match algorithm {
        SignatureAlgorithm::Sha1 => hmac_sha1(client_secret.as_ref(), raw_body)
            .verify_slice(&digest)
            .is_ok(),
        SignatureAlgorithm::Sha256 => hmac_sha256(client_secret.as_ref(), raw_body)
            .verify_slice(&digest)
            .is_ok(),
    };
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch { algorithm })
    }
}

/// The algorithm a header names and the digest it holds.
fn read_header(signature_header: &str) -> Result<(SignatureAlgorithm, Vec<u8>), SignatureError> {
    let value = signature_header.trim();
    if value.is_empty() {
        return Err(SignatureError::Missing);
    }
    let (name, written) = value.split_once('=').ok_or(SignatureError::Malformed {
        reason: "expected ALGORITHM=DIGEST, such as sha1=...",
    })?;
    let algorithm =
        SignatureAlgorithm::from_name(name.trim()).ok_or(SignatureError::UnsupportedAlgorithm)?;
    let digest = decode_digest(written.trim(), algorithm.digest_len())?;
    Ok((algorithm, digest))
}

/// [`verify_signature`] with the key already set up: a
/// [`Receiver`](super::Receiver) keys both HMACs once, not on every call.
/// Holds key material: no `Debug`.
#[derive(Clone)]
pub(crate) struct KeyedVerifier {
    sha1: Hmac<sha1::Sha1>,
    sha256: Hmac<sha2::Sha256>,
}

impl KeyedVerifier {
    pub(crate) fn new(client_secret: &[u8]) -> Self {
        KeyedVerifier {
            sha1: hmac_sha1(client_secret, b""),
            sha256: hmac_sha256(client_secret, b""),
        }
    }

    /// The same answer as [`verify_signature`] with this key.
    pub(crate) fn verify(
        &self,
        signature_header: &str,
        raw_body: &[u8],
    ) -> Result<(), SignatureError> {
        let (algorithm, digest) = read_header(signature_header)?;
        let matches = match algorithm {
            SignatureAlgorithm::Sha1 => {
                let mut mac = self.sha1.clone();
                mac.update(raw_body);
                mac.verify_slice(&digest).is_ok()
            }
            SignatureAlgorithm::Sha256 => {
                let mut mac = self.sha256.clone();
                mac.update(raw_body);
                mac.verify_slice(&digest).is_ok()
            }
        };
        if matches {
            Ok(())
        } else {
            Err(SignatureError::Mismatch { algorithm })
        }
    }
}

/// The digest's bytes: hex when it is exactly twice the digest's length in
/// hex digits, else Base64 (standard alphabet, padding optional).
fn decode_digest(written: &str, len: usize) -> Result<Vec<u8>, SignatureError> {
    if written.is_empty() {
        return Err(SignatureError::Malformed {
            reason: "no digest after the `=`",
        });
    }
    if written.len() == 2 * len && written.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(unhex(written));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(written)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(written))
        .map_err(|_| SignatureError::Malformed {
            reason: "the digest is neither Base64 nor hex",
        })?;
    if bytes.len() != len {
        return Err(SignatureError::Malformed {
            reason: "the digest's length does not fit the algorithm",
        });
    }
    Ok(bytes)
}

fn hmac_sha1(key: &[u8], body: &[u8]) -> Hmac<sha1::Sha1> {
    // HMAC takes a key of any length (longer ones are hashed): cannot fail.
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key)
        .expect("HMAC accepts keys of any length");
    mac.update(body);
    mac
}

fn hmac_sha256(key: &[u8], body: &[u8]) -> Hmac<sha2::Sha256> {
    // HMAC takes a key of any length (longer ones are hashed): cannot fail.
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key)
        .expect("HMAC accepts keys of any length");
    mac.update(body);
    mac
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Decodes hex digits already checked to be an even number of hex digits.
fn unhex(written: &str) -> Vec<u8> {
    fn digit(b: u8) -> u8 {
        match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            // Checked to be a hex digit before: not reached.
            _ => 0,
        }
    }
    written
        .as_bytes()
        .chunks_exact(2)
        .map(|pair| (digit(pair[0]) << 4) | digit(pair[1]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 2202 test case 2 (HMAC-SHA1) and RFC 4231 test case 2
    // (HMAC-SHA256): key "Jefe", data "what do ya want for nothing?".
    const DATA: &[u8] = b"what do ya want for nothing?";
    const SHA1_HEX: &str = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79";
    const SHA256_HEX: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    #[test]
    fn rfc_vectors_in_every_form() {
        assert_eq!(
            sign(
                "Jefe",
                DATA,
                SignatureAlgorithm::Sha1,
                SignatureEncoding::Hex
            ),
            format!("sha1={SHA1_HEX}")
        );
        assert_eq!(
            sign(
                "Jefe",
                DATA,
                SignatureAlgorithm::Sha256,
                SignatureEncoding::Hex
            ),
            format!("sha256={SHA256_HEX}")
        );
        for algorithm in [SignatureAlgorithm::Sha1, SignatureAlgorithm::Sha256] {
            for encoding in [SignatureEncoding::Base64, SignatureEncoding::Hex] {
                let header = sign("Jefe", DATA, algorithm, encoding);
                assert_eq!(verify_signature("Jefe", &header, DATA), Ok(()), "{header}");
                assert_eq!(
                    verify_signature("Jeff", &header, DATA),
                    Err(SignatureError::Mismatch { algorithm })
                );
            }
        }
        // Upper-case hex, an upper-case prefix, unpadded Base64, whitespace.
        let upper = format!("SHA1={}", SHA1_HEX.to_uppercase());
        assert_eq!(verify_signature("Jefe", &upper, DATA), Ok(()));
        let b64 = sign(
            "Jefe",
            DATA,
            SignatureAlgorithm::Sha256,
            SignatureEncoding::Base64,
        );
        let unpadded = format!(" {} ", b64.trim_end_matches('='));
        assert_eq!(verify_signature("Jefe", &unpadded, DATA), Ok(()));
    }

    #[test]
    fn the_keyed_verifier_answers_as_verify_signature() {
        let keyed = KeyedVerifier::new(b"Jefe");
        for algorithm in [SignatureAlgorithm::Sha1, SignatureAlgorithm::Sha256] {
            for encoding in [SignatureEncoding::Base64, SignatureEncoding::Hex] {
                let header = sign("Jefe", DATA, algorithm, encoding);
                assert_eq!(keyed.verify(&header, DATA), Ok(()));
                // Twice: the keyed state is not used up.
                assert_eq!(keyed.verify(&header, DATA), Ok(()));
                assert_eq!(
                    keyed.verify(&header, b"other"),
                    Err(SignatureError::Mismatch { algorithm })
                );
            }
        }
        for header in ["", "sha1", "md5=abcd", "sha1=***"] {
            assert_eq!(
                keyed.verify(header, DATA),
                verify_signature("Jefe", header, DATA)
            );
        }
    }

    #[test]
    fn malformed_headers_say_what_is_wrong() {
        assert_eq!(
            verify_signature("k", "", DATA),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature("k", "  ", DATA),
            Err(SignatureError::Missing)
        );
        assert!(matches!(
            verify_signature("k", SHA1_HEX, DATA),
            Err(SignatureError::Malformed { .. })
        ));
        assert_eq!(
            verify_signature("k", &format!("md5={SHA1_HEX}"), DATA),
            Err(SignatureError::UnsupportedAlgorithm)
        );
        assert!(matches!(
            verify_signature("k", "sha1=", DATA),
            Err(SignatureError::Malformed { .. })
        ));
        assert!(matches!(
            verify_signature("k", "sha1=***", DATA),
            Err(SignatureError::Malformed { .. })
        ));
        // A SHA-256 digest under sha1=.
        assert!(matches!(
            verify_signature("Jefe", &format!("sha1={SHA256_HEX}"), DATA),
            Err(SignatureError::Malformed { .. })
        ));
    }

    #[test]
    fn errors_never_show_the_secret_or_a_digest() {
        let header = sign(
            "Jefe",
            DATA,
            SignatureAlgorithm::Sha1,
            SignatureEncoding::Base64,
        );
        let err = verify_signature("Jefe", &header, b"tampered").unwrap_err();
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains("Jefe"), "{shown}");
            assert!(!shown.contains(&header[5..]), "{shown}");
            assert!(!shown.contains(SHA1_HEX), "{shown}");
        }
    }
}
