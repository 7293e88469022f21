//! The documented error codes of the connector APIs.

use std::fmt;

/// The documented `errorCode` of a connector API's error body ("Connector
/// API: Authorization and Authentication", "Error Responses"). Its first
/// three digits are the HTTP status; LivePerson says the code "won't change
/// over time", while titles and details may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectorErrorCode {
    /// 40001: a parameter is missing (the brand id), or a mandatory claim of
    /// the AppJWT (such as `iss`).
    MissingParameter,
    /// 40102: the AppJWT has expired or is invalid.
    AppJwtInvalid,
    /// 40103: the ConsumerJWS is invalid (or expired).
    ConsumerJwsInvalid,
    /// 40104: no ConsumerJWS was sent (`X-LP-ON-BEHALF`).
    ConsumerJwsMissing,
    /// 40105: no AppJWT was sent (`Authorization`).
    AppJwtMissing,
    /// A code the documents do not list.
    Other(i64),
}

impl ConnectorErrorCode {
    /// The variant for an `errorCode` number: the documented one for 40001,
    /// 40102, 40103, 40104 and 40105, [`Other`](Self::Other) for any other
    /// number (never a panic). [`code`](Self::code) gives the number back.
    ///
    /// ```
    /// use liveperson_ccs::connector::ConnectorErrorCode;
    ///
    /// assert_eq!(ConnectorErrorCode::from_code(40102), ConnectorErrorCode::AppJwtInvalid);
    /// assert_eq!(ConnectorErrorCode::from_code(40199), ConnectorErrorCode::Other(40199));
    /// assert_eq!(ConnectorErrorCode::from_code(40199).code(), 40199);
    /// ```
    pub fn from_code(code: i64) -> Self {
        match code {
            40001 => Self::MissingParameter,
            40102 => Self::AppJwtInvalid,
            40103 => Self::ConsumerJwsInvalid,
            40104 => Self::ConsumerJwsMissing,
            40105 => Self::AppJwtMissing,
            other => Self::Other(other),
        }
    }

    /// The number, e.g. `40102`.
    pub fn code(&self) -> i64 {
        match self {
            Self::MissingParameter => 40001,
            Self::AppJwtInvalid => 40102,
            Self::ConsumerJwsInvalid => 40103,
            Self::ConsumerJwsMissing => 40104,
            Self::AppJwtMissing => 40105,
            Self::Other(code) => *code,
        }
    }

    /// What it means and what to do, in this crate's words.
    pub fn meaning(&self) -> &'static str {
        match self {
            Self::MissingParameter => {
                "a parameter is missing: the brand id, or a mandatory AppJWT claim such as iss"
            }
            Self::AppJwtInvalid => {
                "AppJWT expired or invalid: get a new AppJWT from Sentinel and repeat the call once"
            }
            Self::ConsumerJwsInvalid => {
                "ConsumerJWS invalid or expired: get a new ConsumerJWS from the IDP and repeat the call once"
            }
            Self::ConsumerJwsMissing => "ConsumerJWS missing: no X-LP-ON-BEHALF header was sent",
            Self::AppJwtMissing => "AppJWT missing: no Authorization header was sent",
            Self::Other(_) => "an error code the connector documents do not list",
        }
    }
}

impl fmt::Display for ConnectorErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.meaning())
    }
}
