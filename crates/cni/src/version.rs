//! CNI specification versions.
//!
//! The seven published versions are a closed enum: every other module matches on it, so a new
//! version is a compile error everywhere it matters. [`SemVer`] compares version strings that are
//! not (yet) known, as `cniVersions` lists may hold versions newer than this crate.

use std::fmt;
use std::str::FromStr;

/// A published CNI specification version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// 0.1.0: the first; results carry `ip4`/`ip6`.
    V0_1_0,
    /// 0.2.0: adds the VERSION command.
    V0_2_0,
    /// 0.3.0: rich results, chaining.
    V0_3_0,
    /// 0.3.1: a typo fix of 0.3.0.
    V0_3_1,
    /// 0.4.0: CHECK, `prevResult` on DEL.
    V0_4_0,
    /// 1.0.0: `ips[].version` removed.
    V1_0_0,
    /// 1.1.0: GC, STATUS, `cniVersions`, richer interfaces and routes.
    V1_1_0,
}

/// The shape a result takes in a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultFamily {
    /// 0.1.0 and 0.2.0: `ip4`, `ip6`, `dns`.
    Legacy,
    /// 0.3.0, 0.3.1 and 0.4.0: `interfaces`, `ips` with `version`, `routes`, `dns`.
    V04,
    /// 1.0.0 and 1.1.0: `ips` without `version`, richer interfaces and routes.
    V1,
}

/// A version string that names no published CNI version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown CNI version {0:?} (supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)")]
pub struct UnknownVersion(pub String);

impl Version {
    /// Every published version, oldest first.
    pub const ALL: [Version; 7] = [
        Version::V0_1_0,
        Version::V0_2_0,
        Version::V0_3_0,
        Version::V0_3_1,
        Version::V0_4_0,
        Version::V1_0_0,
        Version::V1_1_0,
    ];

    /// The newest version this crate speaks.
    pub const LATEST: Version = Version::V1_1_0;

    /// The version string as the spec spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Version::V0_1_0 => "0.1.0",
            Version::V0_2_0 => "0.2.0",
            Version::V0_3_0 => "0.3.0",
            Version::V0_3_1 => "0.3.1",
            Version::V0_4_0 => "0.4.0",
            Version::V1_0_0 => "1.0.0",
            Version::V1_1_0 => "1.1.0",
        }
    }

    /// Parses a configuration's `cniVersion`. An empty string means 0.1.0, as the spec and Go's
    /// decoder both say (configs written before the key existed have none).
    pub fn parse_config(s: &str) -> Result<Version, UnknownVersion> {
        if s.is_empty() {
            return Ok(Version::V0_1_0);
        }
        s.parse()
    }

    /// The result shape of this version.
    pub const fn family(self) -> ResultFamily {
        match self {
            Version::V0_1_0 | Version::V0_2_0 => ResultFamily::Legacy,
            Version::V0_3_0 | Version::V0_3_1 | Version::V0_4_0 => ResultFamily::V04,
            Version::V1_0_0 | Version::V1_1_0 => ResultFamily::V1,
        }
    }

    /// CHECK exists from 0.4.0 on.
    pub fn supports_check(self) -> bool {
        self >= Version::V0_4_0
    }

    /// GC and STATUS exist from 1.1.0 on.
    pub fn supports_gc_and_status(self) -> bool {
        self >= Version::V1_1_0
    }

    /// This version as a comparable [`SemVer`].
    pub fn semver(self) -> SemVer {
        match self {
            Version::V0_1_0 => SemVer::new(0, 1, 0),
            Version::V0_2_0 => SemVer::new(0, 2, 0),
            Version::V0_3_0 => SemVer::new(0, 3, 0),
            Version::V0_3_1 => SemVer::new(0, 3, 1),
            Version::V0_4_0 => SemVer::new(0, 4, 0),
            Version::V1_0_0 => SemVer::new(1, 0, 0),
            Version::V1_1_0 => SemVer::new(1, 1, 0),
        }
    }
}

impl FromStr for Version {
    type Err = UnknownVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownVersion(s.to_owned()))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A `major.minor.patch` version, for ordering version strings that may not be published CNI
/// versions. Like Go's `version.ParseVersion`, one to three numeric parts are accepted and the
/// missing ones are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SemVer {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

/// A string that is not `N`, `N.N` or `N.N.N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version {0:?}: expected MAJOR.MINOR.PATCH")]
pub struct InvalidSemVer(pub String);

impl SemVer {
    /// A version from its parts.
    pub const fn new(major: u32, minor: u32, patch: u32) -> SemVer {
        SemVer {
            major,
            minor,
            patch,
        }
    }
}

impl FromStr for SemVer {
    type Err = InvalidSemVer;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidSemVer(s.to_owned());
        let mut parts = [0u32; 3];
        for (count, piece) in s.split('.').enumerate() {
            let slot = parts.get_mut(count).ok_or_else(bad)?;
            if piece.is_empty() || !piece.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            *slot = piece.parse().map_err(|_| bad())?;
        }
        let [major, minor, patch] = parts;
        Ok(SemVer::new(major, minor, patch))
    }
}

impl fmt::Display for SemVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_round_trips_through_its_string() {
        for v in Version::ALL {
            assert_eq!(v.as_str().parse::<Version>(), Ok(v));
            assert_eq!(v.semver().to_string(), v.as_str());
        }
    }

    #[test]
    fn order_follows_the_spec() {
        let mut sorted = Version::ALL;
        sorted.sort_by_key(|v| v.semver());
        assert_eq!(sorted, Version::ALL);
        assert!(Version::V0_3_1 < Version::V0_4_0);
    }

    #[test]
    fn empty_config_version_is_0_1_0_and_garbage_is_refused() {
        assert_eq!(Version::parse_config(""), Ok(Version::V0_1_0));
        assert!(Version::parse_config("1.0").is_err());
        assert!(Version::parse_config("banana").is_err());
        assert!(Version::parse_config(" 1.0.0").is_err());
    }

    #[test]
    fn command_floors() {
        assert!(!Version::V0_3_1.supports_check());
        assert!(Version::V0_4_0.supports_check());
        assert!(!Version::V1_0_0.supports_gc_and_status());
        assert!(Version::V1_1_0.supports_gc_and_status());
    }

    #[test]
    fn semver_parses_like_go() {
        assert_eq!("1".parse(), Ok(SemVer::new(1, 0, 0)));
        assert_eq!("1.2".parse(), Ok(SemVer::new(1, 2, 0)));
        assert_eq!("1.2.3".parse(), Ok(SemVer::new(1, 2, 3)));
        for bad in [
            "",
            "1.2.3.4",
            "a.b",
            "1..2",
            "-1.0.0",
            "1.0.0-rc1",
            "99999999999.0.0",
        ] {
            assert!(bad.parse::<SemVer>().is_err(), "{bad}");
        }
        assert!(SemVer::new(1, 10, 0) > SemVer::new(1, 9, 9));
    }
}
