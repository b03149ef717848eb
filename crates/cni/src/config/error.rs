//! Why a configuration is refused, and the CNI code each reason maps to.

use crate::error::{CniError, Code};
use crate::json::FieldError;

/// A configuration that cannot be used. Every variant names the field it is about, so the
/// message alone tells a user what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not JSON, a field of the wrong type (code 6), or a field missing or invalid (code 7).
    #[error(transparent)]
    Field(#[from] FieldError),
    /// `cniVersion` is not a version this crate speaks (code 1).
    #[error("{path}: unknown CNI version {value:?} (supported: {supported})")]
    UnknownVersion {
        /// The field's path, `cniVersion` or `plugins[0].cniVersion`.
        path: String,
        /// The version as written.
        value: String,
        /// The versions that would have been accepted, comma-separated.
        supported: String,
    },
    /// None of the versions a conflist offers is one the runtime supports (code 1).
    #[error("{path}: none of the configuration's versions {offered:?} is supported (supported: {supported})")]
    NoCommonVersion {
        /// `cniVersions` when the list has it, else `cniVersion`.
        path: String,
        /// Every version the configuration offers, as written.
        offered: Vec<String>,
        /// The versions the runtime supports, comma-separated.
        supported: String,
    },
}

impl ConfigError {
    /// The CNI error code a plugin or runtime reports for this error.
    pub fn code(&self) -> Code {
        match self {
            ConfigError::Field(e) => CniError::from(e.clone()).code,
            ConfigError::UnknownVersion { .. } | ConfigError::NoCommonVersion { .. } => {
                Code::INCOMPATIBLE_VERSION
            }
        }
    }

    /// The path of the field the error is about (`configuration` for the document itself).
    pub fn path(&self) -> &str {
        match self {
            ConfigError::Field(FieldError::NotJson { what, .. }) => what,
            ConfigError::Field(
                FieldError::WrongType { path, .. }
                | FieldError::Missing { path }
                | FieldError::Invalid { path, .. },
            )
            | ConfigError::UnknownVersion { path, .. }
            | ConfigError::NoCommonVersion { path, .. } => path,
        }
    }
}

impl From<ConfigError> for CniError {
    fn from(e: ConfigError) -> CniError {
        CniError::new(e.code(), e.to_string())
    }
}

/// The versions in `supported` as `0.4.0, 1.0.0`, for messages.
pub(crate) fn list_versions(supported: &[crate::Version]) -> String {
    supported
        .iter()
        .map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_spec() {
        let wrong = ConfigError::from(FieldError::WrongType {
            path: "name".into(),
            expected: "string",
            found: "number",
        });
        assert_eq!(wrong.code(), Code::DECODING_FAILURE);
        let missing = ConfigError::from(FieldError::Missing {
            path: "plugins[0].type".into(),
        });
        assert_eq!(missing.code(), Code::INVALID_NETWORK_CONFIG);
        assert_eq!(missing.path(), "plugins[0].type");
        let version = ConfigError::UnknownVersion {
            path: "cniVersion".into(),
            value: "9.9.9".into(),
            supported: "1.1.0".into(),
        };
        assert_eq!(version.code(), Code::INCOMPATIBLE_VERSION);
        let cni = CniError::from(version);
        assert_eq!(cni.code, Code::INCOMPATIBLE_VERSION);
        assert_eq!(
            cni.msg,
            "cniVersion: unknown CNI version \"9.9.9\" (supported: 1.1.0)"
        );
    }
}
