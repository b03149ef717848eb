//! A result together with the spec version it is written in.

use serde_json::Value;

use super::legacy::LegacyResult;
use super::read;
use super::v04::V04Result;
use super::v1::V1Result;
use crate::error::CniError;
use crate::json;
use crate::version::{ResultFamily, Version};

/// A result of any spec version: one variant per version, holding that version's shape, so the
/// label and the shape cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CniResult {
    /// A 0.1.0 result.
    V0_1_0(LegacyResult),
    /// A 0.2.0 result.
    V0_2_0(LegacyResult),
    /// A 0.3.0 result.
    V0_3_0(V04Result),
    /// A 0.3.1 result.
    V0_3_1(V04Result),
    /// A 0.4.0 result.
    V0_4_0(V04Result),
    /// A 1.0.0 result.
    V1_0_0(V1Result),
    /// A 1.1.0 result.
    V1_1_0(V1Result),
}

impl CniResult {
    /// Parses a result as a plugin printed it.
    ///
    /// A result with no (or an empty) `cniVersion` is taken to be `version_if_missing`, which a
    /// runtime sets to the configuration's version. Keys match as Go matches them and unknown
    /// keys are ignored.
    ///
    /// # Errors
    ///
    /// Code 6 when the bytes are not JSON, a field has the wrong type, or an address does not
    /// parse, naming the field (`ips[1].address: invalid CIDR address "10.0.0.1"`); code 1 when
    /// `cniVersion` names no version this crate knows.
    pub fn parse(bytes: &[u8], version_if_missing: Version) -> Result<CniResult, CniError> {
        let value = json::parse(bytes, "result").map_err(read::decode_error)?;
        CniResult::from_value(&value, version_if_missing)
    }

    /// Reads a result from parsed JSON; see [`CniResult::parse`].
    pub fn from_value(value: &Value, version_if_missing: Version) -> Result<CniResult, CniError> {
        CniResult::from_value_at(value, "", version_if_missing)
    }

    /// Reads a result found at `path` inside a larger document (such as `prevResult`), so that
    /// errors name the full path; see [`CniResult::parse`].
    pub fn from_value_at(
        value: &Value,
        path: &str,
        version_if_missing: Version,
    ) -> Result<CniResult, CniError> {
        let obj = read::object(value, path)?;
        let version = match obj.str("cniVersion").map_err(read::decode_error)? {
            None | Some("") => version_if_missing,
            Some(s) => s.parse().map_err(|e: crate::version::UnknownVersion| {
                CniError::incompatible_version(format!("{}: {e}", obj.field_path("cniVersion")))
            })?,
        };
        Ok(match version {
            Version::V0_1_0 => CniResult::V0_1_0(LegacyResult::read(&obj)?),
            Version::V0_2_0 => CniResult::V0_2_0(LegacyResult::read(&obj)?),
            Version::V0_3_0 => CniResult::V0_3_0(V04Result::read(&obj)?),
            Version::V0_3_1 => CniResult::V0_3_1(V04Result::read(&obj)?),
            Version::V0_4_0 => CniResult::V0_4_0(V04Result::read(&obj)?),
            Version::V1_0_0 => CniResult::V1_0_0(V1Result::read(&obj)?),
            Version::V1_1_0 => CniResult::V1_1_0(V1Result::read(&obj)?),
        })
    }

    /// A result built in the latest shape, labelled `version` (converted when older).
    ///
    /// # Errors
    ///
    /// As [`CniResult::convert`]: a result without addresses has no 0.1.0/0.2.0 form.
    pub fn from_latest(result: V1Result, version: Version) -> Result<CniResult, CniError> {
        CniResult::V1_1_0(result).convert(version)
    }

    /// The spec version this result is written in.
    pub const fn version(&self) -> Version {
        match self {
            CniResult::V0_1_0(_) => Version::V0_1_0,
            CniResult::V0_2_0(_) => Version::V0_2_0,
            CniResult::V0_3_0(_) => Version::V0_3_0,
            CniResult::V0_3_1(_) => Version::V0_3_1,
            CniResult::V0_4_0(_) => Version::V0_4_0,
            CniResult::V1_0_0(_) => Version::V1_0_0,
            CniResult::V1_1_0(_) => Version::V1_1_0,
        }
    }

    /// The shape of this result's version.
    pub const fn family(&self) -> ResultFamily {
        self.version().family()
    }

    /// This result in version `to`, as the spec and libcni convert it.
    ///
    /// Within a shape (0.1.0/0.2.0; 0.3.0/0.3.1/0.4.0; 1.0.0/1.1.0) only the label changes.
    /// Upward conversions lose nothing. Downward ones lose what the older shape cannot hold:
    /// 1.1.0 fields going to 0.x ([`V1Result::into_v04`]), and all but the first address of each
    /// family, interfaces and misplaced routes going to 0.1.0/0.2.0
    /// ([`V04Result::into_legacy`]).
    ///
    /// # Errors
    ///
    /// Code 1 with libcni's `cannot convert: no valid IP addresses` when a result without
    /// addresses is converted to 0.1.0 or 0.2.0.
    pub fn convert(self, to: Version) -> Result<CniResult, CniError> {
        let from = self.version();
        let annotate = |e: CniError| {
            let details = format!("converting a {from} result to {to}: {}", e.details);
            CniError { details, ..e }
        };
        Ok(match to {
            Version::V0_1_0 => CniResult::V0_1_0(self.into_legacy().map_err(annotate)?),
            Version::V0_2_0 => CniResult::V0_2_0(self.into_legacy().map_err(annotate)?),
            Version::V0_3_0 => CniResult::V0_3_0(self.into_v04()),
            Version::V0_3_1 => CniResult::V0_3_1(self.into_v04()),
            Version::V0_4_0 => CniResult::V0_4_0(self.into_v04()),
            Version::V1_0_0 => CniResult::V1_0_0(self.into_latest()),
            Version::V1_1_0 => CniResult::V1_1_0(self.into_latest()),
        })
    }

    /// The result in the 0.1.0/0.2.0 shape.
    ///
    /// # Errors
    ///
    /// See [`V04Result::into_legacy`].
    pub fn into_legacy(self) -> Result<LegacyResult, CniError> {
        match self {
            CniResult::V0_1_0(r) | CniResult::V0_2_0(r) => Ok(r),
            CniResult::V0_3_0(r) | CniResult::V0_3_1(r) | CniResult::V0_4_0(r) => r.into_legacy(),
            CniResult::V1_0_0(r) | CniResult::V1_1_0(r) => r.into_v04().into_legacy(),
        }
    }

    /// The result in the 0.3.x/0.4.0 shape; 1.1.0 fields are dropped.
    pub fn into_v04(self) -> V04Result {
        match self {
            CniResult::V0_1_0(r) | CniResult::V0_2_0(r) => V04Result::from_legacy(r),
            CniResult::V0_3_0(r) | CniResult::V0_3_1(r) | CniResult::V0_4_0(r) => r,
            CniResult::V1_0_0(r) | CniResult::V1_1_0(r) => r.into_v04(),
        }
    }

    /// The result in the latest shape, which every version converts to without loss.
    pub fn into_latest(self) -> V1Result {
        match self {
            CniResult::V0_1_0(r) | CniResult::V0_2_0(r) => {
                V1Result::from_v04(V04Result::from_legacy(r))
            }
            CniResult::V0_3_0(r) | CniResult::V0_3_1(r) | CniResult::V0_4_0(r) => {
                V1Result::from_v04(r)
            }
            CniResult::V1_0_0(r) | CniResult::V1_1_0(r) => r,
        }
    }

    /// A copy of the result in the latest shape; see [`CniResult::into_latest`].
    pub fn to_latest(&self) -> V1Result {
        self.clone().into_latest()
    }

    /// The body in the 1.x shape, when that is this result's shape.
    pub fn as_v1(&self) -> Option<&V1Result> {
        match self {
            CniResult::V1_0_0(r) | CniResult::V1_1_0(r) => Some(r),
            _ => None,
        }
    }

    /// The body in the 0.3.x/0.4.0 shape, when that is this result's shape.
    pub fn as_v04(&self) -> Option<&V04Result> {
        match self {
            CniResult::V0_3_0(r) | CniResult::V0_3_1(r) | CniResult::V0_4_0(r) => Some(r),
            _ => None,
        }
    }

    /// The body in the 0.1.0/0.2.0 shape, when that is this result's shape.
    pub fn as_legacy(&self) -> Option<&LegacyResult> {
        match self {
            CniResult::V0_1_0(r) | CniResult::V0_2_0(r) => Some(r),
            _ => None,
        }
    }

    /// The result as JSON, keys in libcni's order and omitted where libcni omits them.
    pub fn to_json(&self) -> Value {
        let v = self.version();
        match self {
            CniResult::V0_1_0(r) | CniResult::V0_2_0(r) => r.to_json(v),
            CniResult::V0_3_0(r) | CniResult::V0_3_1(r) | CniResult::V0_4_0(r) => r.to_json(v),
            CniResult::V1_0_0(r) | CniResult::V1_1_0(r) => r.to_json(v),
        }
    }

    /// The bytes a plugin prints: exactly what a Go plugin prints for the same result
    /// (indented by four spaces, Go's string escaping, no trailing newline).
    pub fn to_bytes(&self) -> Vec<u8> {
        super::gojson::to_go_pretty(&self.to_json())
    }

    /// The result on one line, as Go's `json.Marshal` writes it (for caches and logs).
    pub fn to_compact_bytes(&self) -> Vec<u8> {
        super::gojson::to_go_compact(&self.to_json())
    }
}
