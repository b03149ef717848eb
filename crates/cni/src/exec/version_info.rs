//! The answer to VERSION: which spec versions a plugin speaks.

use serde_json::Value;

use crate::error::CniError;
use crate::json::{self, Obj};
use crate::version::Version;

/// What a plugin reported about its versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// The version the answer itself is in.
    pub cni_version: String,
    /// Every version the plugin accepts, as it spelled them; a plugin may list versions newer
    /// than this crate knows.
    pub supported_versions: Vec<String>,
}

/// The message an old plugin, whose skeleton predates VERSION, fails with.
pub const UNKNOWN_VERSION_COMMAND: &str = "unknown CNI_COMMAND: VERSION";

impl PluginInfo {
    /// What a plugin from before VERSION existed (spec 0.1.0) is taken to support.
    pub fn legacy() -> PluginInfo {
        PluginInfo {
            cni_version: Version::V0_1_0.as_str().to_owned(),
            supported_versions: vec![Version::V0_1_0.as_str().to_owned()],
        }
    }

    /// Whether the plugin accepts `version`.
    pub fn supports(&self, version: Version) -> bool {
        self.supported_versions
            .iter()
            .any(|v| v == version.as_str())
    }

    /// The supported versions this crate knows, oldest first.
    pub fn known_versions(&self) -> Vec<Version> {
        Version::ALL
            .into_iter()
            .filter(|v| self.supports(*v))
            .collect()
    }
}

/// Reads a VERSION answer. `cniVersion` is required. An answer without `supportedVersions` is
/// only accepted from a 0.2.0 plugin — the one version that had VERSION but printed no list —
/// and means 0.1.0 and 0.2.0; from anything else it is malformed. Malformed answers are code 6.
pub fn decode_version_info(stdout: &[u8]) -> Result<PluginInfo, CniError> {
    let value: Value = json::parse(stdout, "version info")?;
    let obj =
        Obj::root(&value).map_err(|_| CniError::decoding("version info: expected an object"))?;
    let cni_version = match obj.str("cniVersion")? {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => return Err(CniError::decoding("version info: missing field cniVersion")),
    };
    let supported: Vec<String> = obj
        .str_array("supportedVersions")?
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect();
    if !supported.is_empty() {
        return Ok(PluginInfo {
            cni_version,
            supported_versions: supported,
        });
    }
    if cni_version == Version::V0_2_0.as_str() {
        return Ok(PluginInfo {
            cni_version,
            supported_versions: vec![
                Version::V0_1_0.as_str().to_owned(),
                Version::V0_2_0.as_str().to_owned(),
            ],
        });
    }
    Err(CniError::decoding(
        "version info: missing field supportedVersions",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    #[test]
    fn a_current_answer_is_read_as_is() {
        let info = decode_version_info(
            br#"{"cniVersion":"1.0.0","supportedVersions":["0.3.1","1.0.0","1.2.0"]}"#,
        )
        .unwrap();
        assert_eq!(info.cni_version, "1.0.0");
        assert_eq!(info.supported_versions, ["0.3.1", "1.0.0", "1.2.0"]);
        assert_eq!(info.known_versions(), [Version::V0_3_1, Version::V1_0_0]);
        assert!(info.supports(Version::V1_0_0));
        assert!(!info.supports(Version::V1_1_0));
    }

    #[test]
    fn a_0_2_0_answer_without_a_list_means_0_1_and_0_2() {
        let info = decode_version_info(br#"{"cniVersion":"0.2.0"}"#).unwrap();
        assert_eq!(info.known_versions(), [Version::V0_1_0, Version::V0_2_0]);
        let info = decode_version_info(br#"{"cniVersion":"0.2.0","supportedVersions":[]}"#);
        assert!(info.is_ok());
    }

    #[test]
    fn malformed_answers_are_code_6() {
        for bad in [
            &br#"{"cniVersion":"0.3.1"}"#[..],
            br#"{"supportedVersions":["1.0.0"]}"#,
            br#"{"cniVersion":"","supportedVersions":["1.0.0"]}"#,
            br#"{"cniVersion":"1.0.0","supportedVersions":"1.0.0"}"#,
            b"",
            b"[]",
        ] {
            let err = decode_version_info(bad).unwrap_err();
            assert_eq!(
                err.code,
                Code::DECODING_FAILURE,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn legacy_is_0_1_0_only() {
        assert_eq!(PluginInfo::legacy().known_versions(), [Version::V0_1_0]);
    }
}
