//! Reading what a plugin printed: a result after a successful ADD, an error after a failure.

use serde_json::Value;

use crate::error::{CniError, Code};
use crate::json::{self, Obj};
use crate::result::CniResult;
use crate::version::Version;

use super::process::ExecOutput;

/// A result as a plugin printed it, with the spec version it is in.
#[derive(Debug, Clone, PartialEq)]
pub struct RawResult {
    /// The version of the result: its own `cniVersion`, or the request's when it had none.
    pub cni_version: Version,
    /// The result object; `cniVersion` is always present in it (added when it was missing), so
    /// the value can be cached or passed on as a `prevResult` as is.
    pub value: Value,
}

impl RawResult {
    /// The typed view of this result, in its own version. [`parse_result_value`] has already
    /// checked that it parses, so this fails only for a value changed since.
    pub fn typed(&self) -> Result<CniResult, CniError> {
        CniResult::from_value(&self.value, self.cni_version)
    }
}

/// What an ADD returns: the result as printed (so a runtime caches and threads exactly what the
/// plugin said), already checked to be a valid result of its version.
pub type AddResult = RawResult;

/// Parses an ADD's stdout as a result. `request` is the configuration the plugin was given:
/// a result without a `cniVersion` is taken to be in the configuration's version, as libcni
/// does for plugins that omit it (the spec's own default, 0.1.0, would misread them).
///
/// Empty output, output that is not JSON and JSON that is not an object are code 6: the plugin
/// claimed success without a usable result. A version this crate does not know is code 1.
pub fn parse_result_value(stdout: &[u8], request: &[u8]) -> Result<AddResult, CniError> {
    if stdout.iter().all(u8::is_ascii_whitespace) {
        return Err(CniError::decoding("plugin printed no result"));
    }
    let mut value = json::parse(stdout, "result")?;
    let own = Obj::root(&value)
        .map_err(|_| CniError::decoding("result: expected an object"))?
        .str("cniVersion")?
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let cni_version = match own {
        Some(v) => v.parse::<Version>()?,
        None => {
            let version = request_version(request)?;
            if let Value::Object(map) = &mut value {
                json::replace_key(map, "cniVersion", version.as_str().into());
            }
            version
        }
    };
    // A plugin that claims success must have printed a result a runtime can use; checking it
    // here means a broken plugin is named now, not when a later plugin chokes on prevResult.
    CniResult::from_value_at(&value, "result", cni_version)?;
    Ok(RawResult { cni_version, value })
}

/// The `cniVersion` of a request's configuration; empty or absent means 0.1.0.
pub fn request_version(request: &[u8]) -> Result<Version, CniError> {
    let config = json::parse(request, "configuration")?;
    let version = Obj::root(&config)?.str("cniVersion")?.unwrap_or_default();
    Ok(Version::parse_config(version)?)
}

/// The error a failed run reports, before it is attributed to a plugin and command.
///
/// The plugin's own error object on stdout comes first. An object with a `msg` but no `code`
/// is read as code 0, as Go reads it. Otherwise the failure is wrapped as code 0 (unknown
/// error): the plugin said nothing a runtime could act on, and 999 is what Go plugins use for
/// their own internal errors, which this is not. The message then carries how it ended, its
/// stderr (which is where such plugins explain themselves) and any stray stdout.
pub fn failure_error(out: &ExecOutput) -> CniError {
    let stdout = trim(&out.stdout);
    if !stdout.is_empty() {
        if let Ok(value) = serde_json::from_slice::<Value>(stdout) {
            if let Some(err) = CniError::from_json(&value) {
                return err;
            }
            if let Some(Ok(Some(msg))) = Obj::root(&value).ok().map(|o| o.str("msg")) {
                return CniError::new(Code::UNKNOWN, msg);
            }
        }
    }
    let stderr = out.stderr.as_deref().map(trim).unwrap_or_default();
    let mut msg = out.exit.to_string();
    if !stderr.is_empty() {
        msg.push_str(": ");
        msg.push_str(&snippet(stderr));
    } else if stdout.is_empty() {
        msg.push_str(" with no error message");
    }
    let err = CniError::new(Code::UNKNOWN, msg);
    if stdout.is_empty() {
        err
    } else {
        err.with_details(format!(
            "output is not a CNI error object: {}",
            snippet(stdout)
        ))
    }
}

/// Prefixes an error with the plugin and command, in libcni's words:
/// `plugin type="bridge" name="net" failed (add): …`. The code and details are the plugin's.
pub fn attribute(err: CniError, plugin_type: &str, network: Option<&str>, label: &str) -> CniError {
    let name = network.map(|n| format!(" name={n:?}")).unwrap_or_default();
    CniError {
        msg: format!(
            "plugin type={plugin_type:?}{name} failed ({label}): {}",
            err.msg
        ),
        ..err
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace());
    match (start, end) {
        (Some(s), Some(e)) => bytes.get(s..=e).unwrap_or_default(),
        _ => &[],
    }
}

/// Text for a message: lossy UTF-8, at most 2 KiB, so a chatty plugin cannot make an error
/// unreadable.
fn snippet(bytes: &[u8]) -> String {
    const MAX: usize = 2048;
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= MAX {
        return text.into_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", text.get(..end).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::ExitState;
    use serde_json::json;

    fn out(exit: ExitState, stdout: &str, stderr: Option<&str>) -> ExecOutput {
        ExecOutput {
            exit,
            stdout: stdout.into(),
            stderr: stderr.map(Into::into),
        }
    }

    #[test]
    fn result_version_is_its_own_or_the_requests() {
        let conf = br#"{"cniVersion":"0.4.0","name":"n","type":"x"}"#;
        let r = parse_result_value(br#"{"cniVersion":"1.0.0","ips":[]}"#, conf).unwrap();
        assert_eq!(r.cni_version, Version::V1_0_0);
        let r = parse_result_value(br#"{"ips":[]}"#, conf).unwrap();
        assert_eq!(r.cni_version, Version::V0_4_0);
        assert_eq!(r.value, json!({"ips":[], "cniVersion":"0.4.0"}));
        // An empty string counts as absent, in any spelling of the key.
        let r = parse_result_value(br#"{"CNIVersion":""}"#, conf).unwrap();
        assert_eq!(r.value, json!({"cniVersion":"0.4.0"}));
        // A configuration without a version is 0.1.0.
        let r = parse_result_value(b"{}", br#"{"name":"n"}"#).unwrap();
        assert_eq!(r.cni_version, Version::V0_1_0);
    }

    #[test]
    fn unusable_results_are_refused() {
        let conf = br#"{"cniVersion":"1.0.0"}"#;
        for (stdout, code) in [
            (&b""[..], Code::DECODING_FAILURE),
            (b" \n", Code::DECODING_FAILURE),
            (b"not json", Code::DECODING_FAILURE),
            (b"[1]", Code::DECODING_FAILURE),
            (b"null", Code::DECODING_FAILURE),
            (br#"{"cniVersion":"9.9.9"}"#, Code::INCOMPATIBLE_VERSION),
            (br#"{"cniVersion":7}"#, Code::DECODING_FAILURE),
        ] {
            let err = parse_result_value(stdout, conf).unwrap_err();
            assert_eq!(err.code, code, "{:?}", String::from_utf8_lossy(stdout));
        }
    }

    #[test]
    fn the_plugins_error_object_wins() {
        let e = failure_error(&out(
            ExitState::Code(1),
            r#"{"code":7,"msg":"bad","details":"d"}"#,
            Some("noise"),
        ));
        assert_eq!(e, CniError::new(Code(7), "bad").with_details("d"));
        let e = failure_error(&out(ExitState::Code(1), r#"{"msg":"no code"}"#, None));
        assert_eq!(e, CniError::new(Code::UNKNOWN, "no code"));
    }

    #[test]
    fn failures_without_an_error_object_are_wrapped_as_code_0() {
        let e = failure_error(&out(ExitState::Code(2), "", Some("  it broke\n")));
        assert_eq!(e, CniError::new(Code::UNKNOWN, "exit status 2: it broke"));
        let e = failure_error(&out(ExitState::Signal(9), "", None));
        assert_eq!(e.msg, "killed by signal 9 with no error message");
        let e = failure_error(&out(ExitState::Code(1), "panic: boom", Some("trace")));
        assert_eq!(e.code, Code::UNKNOWN);
        assert_eq!(e.msg, "exit status 1: trace");
        assert_eq!(e.details, "output is not a CNI error object: panic: boom");
        let e = failure_error(&out(ExitState::Code(1), "[]", Some("")));
        assert_eq!(e.msg, "exit status 1");
    }

    #[test]
    fn long_stderr_is_cut_on_a_character_boundary() {
        let long = "é".repeat(3000);
        let e = failure_error(&out(ExitState::Code(1), "", Some(&long)));
        assert!(e.msg.len() < 2100, "{}", e.msg.len());
        assert!(e.msg.ends_with('…'));
    }

    #[test]
    fn attribution_reads_like_libcni_and_keeps_the_code() {
        let e = CniError::new(Code(11), "busy").with_details("d");
        let a = attribute(e.clone(), "bridge", Some("net"), "add");
        assert_eq!(
            a.msg,
            "plugin type=\"bridge\" name=\"net\" failed (add): busy"
        );
        assert_eq!((a.code, a.details.as_str()), (Code(11), "d"));
        let a = attribute(e, "host-local", None, "del");
        assert_eq!(a.msg, "plugin type=\"host-local\" failed (del): busy");
    }
}
