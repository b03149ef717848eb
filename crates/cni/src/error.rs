//! CNI errors: the spec's error object and its codes.
//!
//! Every failure a plugin or runtime reports travels as `{"cniVersion","code","msg","details"}`.
//! Codes 0–99 are the spec's; 100 and above belong to plugins.

use std::fmt;

use crate::version::Version;

/// A CNI error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code(pub u32);

impl Code {
    /// Unknown error.
    pub const UNKNOWN: Code = Code(0);
    /// Incompatible CNI version (also: a command the configuration's version does not have).
    pub const INCOMPATIBLE_VERSION: Code = Code(1);
    /// A field the plugin does not support; the message names the key and value.
    pub const UNSUPPORTED_FIELD: Code = Code(2);
    /// The container is unknown or does not exist.
    pub const UNKNOWN_CONTAINER: Code = Code(3);
    /// Invalid or missing environment variables; the message names them.
    pub const INVALID_ENVIRONMENT: Code = Code(4);
    /// I/O failure, such as reading stdin.
    pub const IO_FAILURE: Code = Code(5);
    /// The input could not be decoded (not JSON, or a field of the wrong type).
    pub const DECODING_FAILURE: Code = Code(6);
    /// The network configuration is invalid.
    pub const INVALID_NETWORK_CONFIG: Code = Code(7);
    /// The network namespace is invalid.
    pub const INVALID_NETNS: Code = Code(8);
    /// A transient condition; the runtime should retry later.
    pub const TRY_AGAIN_LATER: Code = Code(11);
    /// STATUS: the plugin cannot serve ADD requests.
    pub const PLUGIN_NOT_AVAILABLE: Code = Code(50);
    /// STATUS: unavailable, and existing containers may have limited connectivity.
    pub const PLUGIN_NOT_AVAILABLE_LIMITED: Code = Code(51);
    /// The first code plugins may use for their own errors.
    pub const FIRST_PLUGIN_CODE: Code = Code(100);
    /// The catch-all the Go library uses for errors without a code; kept for compatibility.
    pub const INTERNAL: Code = Code(999);
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A CNI error: a code, a short message, and optional details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CniError {
    /// The error code.
    pub code: Code,
    /// A short message; for configuration errors it names the field.
    pub msg: String,
    /// Longer details; may be empty.
    pub details: String,
}

impl CniError {
    /// An error with a code and message and no details.
    pub fn new(code: Code, msg: impl Into<String>) -> CniError {
        CniError {
            code,
            msg: msg.into(),
            details: String::new(),
        }
    }

    /// Adds details.
    pub fn with_details(mut self, details: impl Into<String>) -> CniError {
        self.details = details.into();
        self
    }

    /// Code 1.
    pub fn incompatible_version(msg: impl Into<String>) -> CniError {
        CniError::new(Code::INCOMPATIBLE_VERSION, msg)
    }

    /// Code 2, naming the key and its value.
    pub fn unsupported_field(field: &str, value: impl fmt::Display) -> CniError {
        CniError::new(
            Code::UNSUPPORTED_FIELD,
            format!("unsupported field {field:?}: {value}"),
        )
    }

    /// Code 4.
    pub fn invalid_environment(msg: impl Into<String>) -> CniError {
        CniError::new(Code::INVALID_ENVIRONMENT, msg)
    }

    /// Code 5.
    pub fn io(msg: impl Into<String>) -> CniError {
        CniError::new(Code::IO_FAILURE, msg)
    }

    /// Code 6.
    pub fn decoding(msg: impl Into<String>) -> CniError {
        CniError::new(Code::DECODING_FAILURE, msg)
    }

    /// Code 7.
    pub fn invalid_config(msg: impl Into<String>) -> CniError {
        CniError::new(Code::INVALID_NETWORK_CONFIG, msg)
    }

    /// The spec's error object. `cniVersion` is written when known; Go's library omits it and
    /// tolerates it, so writing it keeps the spec without breaking Go runtimes.
    pub fn to_json(&self, version: Option<Version>) -> serde_json::Value {
        let mut obj = serde_json::Map::new();
        if let Some(v) = version {
            obj.insert("cniVersion".into(), v.as_str().into());
        }
        obj.insert("code".into(), self.code.0.into());
        obj.insert("msg".into(), self.msg.clone().into());
        if !self.details.is_empty() {
            obj.insert("details".into(), self.details.clone().into());
        }
        serde_json::Value::Object(obj)
    }

    /// Reads an error object as a plugin printed it. Returns `None` when the value is not one
    /// (no numeric `code`).
    pub fn from_json(value: &serde_json::Value) -> Option<CniError> {
        let obj = crate::json::Obj::root(value).ok()?;
        let code = obj.u32("code").ok()??;
        let msg = obj.str("msg").ok().flatten().unwrap_or_default().to_owned();
        let details = obj
            .str("details")
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_owned();
        Some(CniError {
            code: Code(code),
            msg,
            details,
        })
    }
}

impl fmt::Display for CniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Go's format, which runtimes log and users grep for.
        f.write_str(&self.msg)?;
        if !self.details.is_empty() {
            write!(f, "; {}", self.details)?;
        }
        Ok(())
    }
}

impl std::error::Error for CniError {}

impl From<crate::json::FieldError> for CniError {
    fn from(e: crate::json::FieldError) -> CniError {
        use crate::json::FieldError;
        let code = match e {
            FieldError::WrongType { .. } | FieldError::NotJson { .. } => Code::DECODING_FAILURE,
            FieldError::Missing { .. } | FieldError::Invalid { .. } => Code::INVALID_NETWORK_CONFIG,
        };
        CniError::new(code, e.to_string())
    }
}

impl From<crate::version::UnknownVersion> for CniError {
    fn from(e: crate::version::UnknownVersion) -> CniError {
        CniError::incompatible_version(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_shape_matches_the_spec() {
        let e = CniError::new(Code::INVALID_NETWORK_CONFIG, "bad").with_details("more");
        assert_eq!(
            e.to_json(Some(Version::V1_0_0)),
            json!({"cniVersion":"1.0.0","code":7,"msg":"bad","details":"more"})
        );
        assert_eq!(
            CniError::new(Code(100), "x").to_json(None),
            json!({"code":100,"msg":"x"})
        );
    }

    #[test]
    fn parses_what_it_prints_and_what_go_prints() {
        let e = CniError::new(Code::TRY_AGAIN_LATER, "busy").with_details("d");
        assert_eq!(CniError::from_json(&e.to_json(None)), Some(e));
        let go = json!({"code":999,"msg":"failed"});
        assert_eq!(
            CniError::from_json(&go).map(|e| e.code),
            Some(Code::INTERNAL)
        );
        assert_eq!(CniError::from_json(&json!({"cniVersion":"1.0.0"})), None);
        assert_eq!(CniError::from_json(&json!([1])), None);
    }

    #[test]
    fn display_joins_details_like_go() {
        let e = CniError::new(Code(1), "incompatible").with_details("config is 9.9.9");
        assert_eq!(e.to_string(), "incompatible; config is 9.9.9");
    }
}
