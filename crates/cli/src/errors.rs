//! Reporting failures: what went wrong, the CNI code when there is one, and what to do.

use std::fmt;

use serde_json::{json, Value};
use twill_cni::{CniError, Code};
use twill_runtime::RuntimeError;

/// A failure that comes with advice on what to do about it.
#[derive(Debug)]
pub struct Advice {
    /// What went wrong.
    pub msg: String,
    /// What to do.
    pub hint: String,
}

impl fmt::Display for Advice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Advice {}

/// An error with a hint.
pub fn advise(msg: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Advice {
        msg: msg.into(),
        hint: hint.into(),
    })
}

/// A failure already reported on stdout/stderr by the command itself (a partial success
/// such as a GC with some failures): only the exit status remains to be set.
#[derive(Debug)]
pub struct Reported;

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("failed (reported above)")
    }
}

impl std::error::Error for Reported {}

/// A failure, ready to print.
#[derive(Debug, PartialEq)]
pub struct Report {
    /// The whole chain of causes, outermost first.
    pub msg: String,
    /// The CNI error, when the failure is one (a plugin's or the runtime's).
    pub cni: Option<CniError>,
    /// What to do, when there is something to say.
    pub hint: Option<String>,
}

impl Report {
    /// Builds the report of `err`; `cni_path` goes into the hint for a missing plugin.
    pub fn of(err: &anyhow::Error, cni_path: &str) -> Report {
        let msg = format!("{err:#}");
        let cni = err.chain().find_map(|cause| {
            if let Some(e) = cause.downcast_ref::<RuntimeError>() {
                Some(e.to_cni())
            } else {
                cause.downcast_ref::<CniError>().cloned()
            }
        });
        let hint = err
            .chain()
            .find_map(|cause| cause.downcast_ref::<Advice>().map(|a| a.hint.clone()))
            .or_else(|| automatic_hint(&msg, cni_path));
        Report { msg, cni, hint }
    }

    /// The human form, for stderr.
    pub fn human(&self) -> String {
        let mut out = format!("twill: {}\n", self.msg);
        if let Some(e) = &self.cni {
            if !e.details.is_empty() {
                out.push_str(&format!("  details: {}\n", e.details));
            }
            out.push_str(&format!(
                "  (CNI error {}: {})\n",
                e.code,
                code_name(e.code)
            ));
        }
        if let Some(h) = &self.hint {
            out.push_str(&format!("  hint: {h}\n"));
        }
        out
    }

    /// The JSON form, for stdout under `--json`: a CNI error object (code 0 when the
    /// failure is not a CNI one) with the hint added.
    pub fn json(&self) -> Value {
        let mut v = json!({
            "code": self.cni.as_ref().map_or(0, |e| e.code.0),
            "msg": self.msg,
        });
        if let Some(e) = self.cni.as_ref().filter(|e| !e.details.is_empty()) {
            crate::output::set(&mut v, "details", e.details.clone());
        }
        if let Some(h) = &self.hint {
            crate::output::set(&mut v, "hint", h.clone());
        }
        v
    }
}

/// Advice for failures that say enough about themselves to guess the remedy.
fn automatic_hint(msg: &str, cni_path: &str) -> Option<String> {
    if msg.contains("failed to find plugin") {
        return Some(format!(
            "plugins are looked up in CNI_PATH ({cni_path}); `twill plugins` lists what is \
             there, `make install` installs twill's plugins into /opt/cni/bin"
        ));
    }
    if msg.contains("File exists") && (msg.contains("0.0.0.0/0") || msg.contains("::/0")) {
        return Some(
            "two networks of this namespace both add a default route; create the second \
             with `twill net create NAME --no-default-route`, or drop its default route"
                .to_owned(),
        );
    }
    if msg.contains("has no cached result") {
        return Some(
            "`twill ls` lists the attachments; without --container-id the ID is derived from \
             the NETNS path, so give the same path (or the same --container-id and -i) as to \
             `twill add`"
                .to_owned(),
        );
    }
    let denied = [
        "Operation not permitted",
        "Permission denied",
        "EPERM",
        "EACCES",
    ];
    if denied.iter().any(|d| msg.contains(d)) {
        return Some(
            "this needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN): run twill with sudo".to_owned(),
        );
    }
    None
}

/// What a CNI code means, in a few words.
pub fn code_name(code: Code) -> &'static str {
    match code.0 {
        0 => "unknown",
        1 => "incompatible CNI version",
        2 => "unsupported field in network configuration",
        3 => "container unknown or does not exist",
        4 => "invalid environment variables",
        5 => "I/O failure",
        6 => "failed to decode content",
        7 => "invalid network configuration",
        8 => "invalid network namespace",
        11 => "try again later",
        50 => "plugin not available",
        51 => "plugin not available, existing containers may be limited",
        999 => "internal plugin error",
        100.. => "plugin-specific error",
        _ => "reserved code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runtime_error_keeps_its_code_and_gets_a_hint() {
        let e = anyhow::Error::new(RuntimeError::Cni(CniError::new(
            Code(7),
            "failed to find plugin \"bridge\" in path [/nowhere]",
        )))
        .context("ADD of network \"n\"");
        let r = Report::of(&e, "/nowhere");
        assert_eq!(r.cni.as_ref().map(|e| e.code), Some(Code(7)));
        assert!(r
            .msg
            .starts_with("ADD of network \"n\": failed to find plugin"));
        assert!(r
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("CNI_PATH (/nowhere)"));
        let human = r.human();
        assert!(
            human.contains("(CNI error 7: invalid network configuration)"),
            "{human}"
        );
        assert_eq!(r.json()["code"], 7);
    }

    #[test]
    fn advice_wins_and_plain_errors_are_code_0() {
        let e = advise(
            "network \"x\" not found",
            "create it with `twill net create x`",
        );
        let r = Report::of(&e, "");
        assert_eq!(
            r.hint.as_deref(),
            Some("create it with `twill net create x`")
        );
        assert_eq!(r.json()["code"], 0);
        assert!(!r.human().contains("CNI error"));
    }
}
