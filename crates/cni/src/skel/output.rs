//! What the entry point writes: results and errors on stdout, the about text on stderr.

use std::io::{self, Write};

use serde_json::Value;

use crate::error::CniError;
use crate::version::Version;

/// Writes `value` as indented JSON and a newline, then flushes: the process may exit right
/// after, and a runtime reads stdout only to its end.
pub fn write_json(out: &mut dyn Write, value: &Value) -> io::Result<()> {
    // One write: stdout is line-buffered, and a pretty result is dozens of lines.
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    out.write_all(&bytes)?;
    out.flush()
}

/// Writes the spec's error object, with `cniVersion` when the configuration's is known.
pub fn write_error(
    out: &mut dyn Write,
    err: &CniError,
    version: Option<Version>,
) -> io::Result<()> {
    write_json(out, &err.to_json(version))
}

/// The versions a plugin supports, oldest first, each once.
pub fn normalise(supported: &[Version]) -> Vec<Version> {
    let mut v = supported.to_vec();
    v.sort();
    v.dedup();
    v
}

/// The VERSION answer: `cniVersion` is the newest supported version (1.1.0 when the list is
/// empty), `supportedVersions` the list.
///
/// The reply's shape is the same in every version since 0.2.0, so its `cniVersion` tells a
/// runtime nothing it needs; runtimes only check that it is present. Answering with the
/// newest supported version needs no stdin (which may be empty, garbage, or a terminal that
/// would block the read) and is what the reference plugins answer too.
pub fn version_reply(supported: &[Version]) -> Value {
    let list = normalise(supported);
    let newest = list.last().copied().unwrap_or(Version::LATEST);
    let mut obj = serde_json::Map::new();
    obj.insert("cniVersion".into(), newest.as_str().into());
    obj.insert(
        "supportedVersions".into(),
        list.iter().map(|v| Value::from(v.as_str())).collect(),
    );
    Value::Object(obj)
}

/// The text for a person who ran the plugin by hand: the about line, then the versions.
pub fn write_about(out: &mut dyn Write, about: &str, supported: &[Version]) -> io::Result<()> {
    if !about.is_empty() {
        writeln!(out, "{about}")?;
    }
    let list: Vec<&str> = normalise(supported).iter().map(|v| v.as_str()).collect();
    writeln!(out, "CNI protocol versions supported: {}", list.join(", "))?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;
    use serde_json::json;

    #[test]
    fn version_reply_names_the_newest_and_lists_all_sorted_once() {
        let v = version_reply(&[Version::V1_0_0, Version::V0_3_1, Version::V1_0_0]);
        assert_eq!(
            v,
            json!({"cniVersion":"1.0.0","supportedVersions":["0.3.1","1.0.0"]})
        );
        let all = version_reply(&Version::ALL);
        assert_eq!(all["cniVersion"], "1.1.0");
        assert_eq!(all["supportedVersions"].as_array().map(Vec::len), Some(7));
        assert_eq!(
            version_reply(&[]),
            json!({"cniVersion":"1.1.0","supportedVersions":[]})
        );
    }

    #[test]
    fn errors_are_one_json_document_with_a_newline() {
        let mut out = Vec::new();
        let e = CniError::new(Code::INVALID_ENVIRONMENT, "m").with_details("d");
        write_error(&mut out, &e, Some(Version::V0_4_0)).unwrap();
        assert!(out.ends_with(b"}\n"));
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            json!({"cniVersion":"0.4.0","code":4,"msg":"m","details":"d"})
        );
    }

    #[test]
    fn about_text() {
        let mut out = Vec::new();
        write_about(&mut out, "twill x", &[Version::V1_1_0, Version::V0_4_0]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "twill x\nCNI protocol versions supported: 0.4.0, 1.1.0\n"
        );
        let mut out = Vec::new();
        write_about(&mut out, "", &[Version::V1_1_0]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "CNI protocol versions supported: 1.1.0\n"
        );
    }
}
