//! LivePerson regions and their CCS hosts.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The LivePerson region (zone) an account lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Region {
    /// AMERICAS, zone 1 (`z1`).
    #[default]
    Americas,
    /// EMEA, zone 2 (`z2`).
    Emea,
    /// APAC, zone 3 (`z3`).
    Apac,
}

impl Region {
    /// The CCS v1 base URL, e.g. `https://z1.context.liveperson.net`.
    pub fn ccs_v1_url(self) -> &'static str {
        match self {
            Region::Americas => "https://z1.context.liveperson.net",
            Region::Emea => "https://z2.context.liveperson.net",
            Region::Apac => "https://z3.context.liveperson.net",
        }
    }

    /// The CCS v2 base URL, e.g. `https://z1.ccs.liveperson.net`.
    pub fn ccs_v2_url(self) -> &'static str {
        match self {
            Region::Americas => "https://z1.ccs.liveperson.net",
            Region::Emea => "https://z2.ccs.liveperson.net",
            Region::Apac => "https://z3.ccs.liveperson.net",
        }
    }

    /// The zone name: `z1`, `z2` or `z3`.
    pub fn zone(self) -> &'static str {
        match self {
            Region::Americas => "z1",
            Region::Emea => "z2",
            Region::Apac => "z3",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Region::Americas => "AMERICAS",
            Region::Emea => "EMEA",
            Region::Apac => "APAC",
        })
    }
}

impl FromStr for Region {
    type Err = Error;

    /// Accepts `americas`, `emea`, `apac` (any case) or the zones `z1`, `z2`, `z3`.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "americas" | "z1" => Ok(Region::Americas),
            "emea" | "z2" => Ok(Region::Emea),
            "apac" | "z3" => Ok(Region::Apac),
            _ => Err(Error::invalid(
                "region",
                format!("{s:?} is not one of americas, emea, apac, z1, z2, z3"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_map_to_the_documented_hosts() {
        assert_eq!(
            Region::Emea.ccs_v1_url(),
            "https://z2.context.liveperson.net"
        );
        assert_eq!(Region::Apac.ccs_v2_url(), "https://z3.ccs.liveperson.net");
        assert_eq!("Z1".parse::<Region>().ok(), Some(Region::Americas));
        assert_eq!("emea".parse::<Region>().ok(), Some(Region::Emea));
        assert!("mars".parse::<Region>().is_err());
    }
}
