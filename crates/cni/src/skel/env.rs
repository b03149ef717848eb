//! The `CNI_*` environment: looking variables up, which are missing, and validating the
//! container ID and interface name.
//!
//! Nothing here reads or changes the process environment: every function takes an
//! [`EnvLookup`], which `run` backs with the real environment and tests back with a map.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::{CniError, Code};

use super::cni_args::CniArgs;
use super::command::Command;

/// The operation to perform.
pub const CNI_COMMAND: &str = "CNI_COMMAND";
/// The container's ID.
pub const CNI_CONTAINERID: &str = "CNI_CONTAINERID";
/// The path of the container's network namespace.
pub const CNI_NETNS: &str = "CNI_NETNS";
/// The interface to create inside the container.
pub const CNI_IFNAME: &str = "CNI_IFNAME";
/// Extra `K=V;K2=V2` arguments.
pub const CNI_ARGS: &str = "CNI_ARGS";
/// The directories to search for plugin binaries, `:`-separated.
pub const CNI_PATH: &str = "CNI_PATH";
/// Set by callers that deliberately pass the plugin's own namespace as `CNI_NETNS`.
pub const CNI_NETNS_OVERRIDE: &str = "CNI_NETNS_OVERRIDE";

/// Looks up one environment variable; `None` when unset.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// The longest interface name Linux accepts (`IFNAMSIZ` less the terminating NUL), in bytes.
pub const MAX_IFNAME_LEN: usize = 15;

/// The per-attachment part of the environment, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attachment {
    /// `CNI_CONTAINERID`; empty for GC and STATUS.
    pub container_id: String,
    /// `CNI_NETNS`; `None` when unset or empty (allowed for DEL, always so for GC and STATUS).
    pub netns: Option<PathBuf>,
    /// `CNI_IFNAME`; empty for GC and STATUS.
    pub ifname: String,
    /// `CNI_ARGS`, parsed; empty for GC and STATUS.
    pub args: CniArgs,
}

/// A variable's raw value, with the empty string counted as unset, as the Go library (which
/// cannot tell the two apart) does.
pub fn raw(env: EnvLookup<'_>, name: &str) -> Option<OsString> {
    env(name).filter(|v| !v.is_empty())
}

/// A variable as text; `None` when unset or empty. A value that is not UTF-8 is refused with
/// code 4 naming the variable rather than being silently mangled.
pub fn text(env: EnvLookup<'_>, name: &str) -> Result<Option<String>, CniError> {
    match raw(env, name) {
        None => Ok(None),
        Some(v) => v
            .into_string()
            .map(Some)
            .map_err(|_| CniError::invalid_environment(format!("{name} is not valid UTF-8"))),
    }
}

/// Checks that every variable `command` requires is set and non-empty. The message lists all
/// missing ones at once, in Go's wording, so a runtime author sees the whole problem in one run.
pub fn check_required(env: EnvLookup<'_>, command: Command) -> Result<(), CniError> {
    let missing: Vec<&str> = command
        .required_vars()
        .iter()
        .copied()
        .filter(|name| raw(env, name).is_none())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CniError::invalid_environment(format!(
            "required env variables [{}] missing",
            missing.join(",")
        )))
    }
}

/// `CNI_PATH` split on `:`. Empty entries are dropped: a shell would read them as the current
/// directory, and a plugin must never run binaries from wherever it happens to be started.
pub fn search_path(env: EnvLookup<'_>) -> Vec<PathBuf> {
    match raw(env, CNI_PATH) {
        None => Vec::new(),
        Some(v) => std::env::split_paths(&v)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
    }
}

/// Whether `CNI_NETNS_OVERRIDE` is `1` or `true` (any case), the values callers use.
pub fn netns_override(env: EnvLookup<'_>) -> bool {
    raw(env, CNI_NETNS_OVERRIDE)
        .and_then(|v| v.into_string().ok())
        .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// Reads and validates the per-attachment variables of `command`. For GC and STATUS they are
/// not read at all (see [`Command::is_per_attachment`]).
pub fn attachment(env: EnvLookup<'_>, command: Command) -> Result<Attachment, CniError> {
    if !command.is_per_attachment() {
        return Ok(Attachment::default());
    }
    let container_id = text(env, CNI_CONTAINERID)?.unwrap_or_default();
    validate_container_id(&container_id)?;
    let ifname = text(env, CNI_IFNAME)?.unwrap_or_default();
    validate_ifname(&ifname)?;
    let args = match text(env, CNI_ARGS)? {
        Some(s) => CniArgs::parse(&s)?,
        None => CniArgs::default(),
    };
    Ok(Attachment {
        container_id,
        netns: raw(env, CNI_NETNS).map(PathBuf::from),
        ifname,
        args,
    })
}

/// Whether `s` matches `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`, the spec's rule for container IDs and
/// network names (both end up in file names, so nothing path-like may pass).
pub fn is_valid_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    match bytes.next() {
        Some(first) if first.is_ascii_alphanumeric() => {
            bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        }
        _ => false,
    }
}

/// Validates a container ID: empty is code 3 (unknown container), other characters than the
/// name rule allows are code 4 with the ID in the details.
pub fn validate_container_id(id: &str) -> Result<(), CniError> {
    if id.is_empty() {
        return Err(CniError::new(
            Code::UNKNOWN_CONTAINER,
            "CNI_CONTAINERID: missing container ID",
        ));
    }
    if !is_valid_name(id) {
        return Err(CniError::invalid_environment(
            "CNI_CONTAINERID: invalid characters in container ID (allowed: letters, digits, \
             '_', '.', '-', not first)",
        )
        .with_details(id));
    }
    Ok(())
}

/// Validates an interface name the way the kernel's `dev_valid_name` does: not empty, at most
/// 15 bytes, not `.` or `..`, and no `/`, `:` or whitespace. Failures are code 4.
pub fn validate_ifname(name: &str) -> Result<(), CniError> {
    let fail = |why: &str| {
        Err(
            CniError::invalid_environment(format!("CNI_IFNAME: interface name {why}"))
                .with_details(name),
        )
    };
    if name.is_empty() {
        return fail("is empty");
    }
    if name.len() > MAX_IFNAME_LEN {
        return fail("is longer than 15 bytes");
    }
    if name == "." || name == ".." {
        return fail("is . or ..");
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        return fail("contains / or : or whitespace");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(*v)))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn missing_and_empty_variables_are_listed_together_in_order() {
        let env = lookup(&[("CNI_NETNS", "/x"), ("CNI_IFNAME", "")]);
        let e = check_required(&env, Command::Add).unwrap_err();
        assert_eq!(e.code, Code::INVALID_ENVIRONMENT);
        assert_eq!(
            e.msg,
            "required env variables [CNI_CONTAINERID,CNI_IFNAME] missing"
        );
        assert!(check_required(&env, Command::Status).is_ok());
        assert!(check_required(&lookup(&[]), Command::Version).is_ok());
        let gc = check_required(&lookup(&[]), Command::Gc).unwrap_err();
        assert_eq!(gc.msg, "required env variables [CNI_PATH] missing");
    }

    #[test]
    fn names_follow_the_spec_regex() {
        for good in ["a", "A9", "9", "abc-def_1.2", "a..", "a-"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in [
            "", "-a", "_a", ".a", "a/b", "a b", "a:b", "ä", "a\n", "a+b", "a\0",
        ] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn container_id_empty_is_code_3_and_bad_characters_code_4() {
        assert_eq!(
            validate_container_id("").unwrap_err().code,
            Code::UNKNOWN_CONTAINER
        );
        let e = validate_container_id("a/../b").unwrap_err();
        assert_eq!(e.code, Code::INVALID_ENVIRONMENT);
        assert!(e.msg.contains("CNI_CONTAINERID"));
        assert_eq!(e.details, "a/../b");
        assert!(validate_container_id("0123abc").is_ok());
    }

    #[test]
    fn interface_names_follow_the_kernel_rules() {
        for good in ["eth0", "a", "123456789012345", "veth-1_x.2", "ä"] {
            assert!(validate_ifname(good).is_ok(), "{good}");
        }
        let sixteen = "1234567890123456";
        let umlauts = "ääääääää"; // 8 characters, 16 bytes
        for bad in [
            "", ".", "..", "a/b", "a:b", "a b", "a\tb", "a\u{a0}b", sixteen, umlauts,
        ] {
            let e = validate_ifname(bad).unwrap_err();
            assert_eq!(e.code, Code::INVALID_ENVIRONMENT, "{bad:?}");
            assert!(e.msg.starts_with("CNI_IFNAME: "), "{}", e.msg);
        }
    }

    #[test]
    fn attachment_is_read_only_for_per_attachment_commands() {
        let env = lookup(&[
            ("CNI_CONTAINERID", "bad/id"),
            ("CNI_IFNAME", "bad/if"),
            ("CNI_ARGS", "garbage"),
            ("CNI_NETNS", "/var/run/netns/x"),
        ]);
        assert_eq!(attachment(&env, Command::Gc), Ok(Attachment::default()));
        assert_eq!(attachment(&env, Command::Status), Ok(Attachment::default()));
        assert!(attachment(&env, Command::Add).is_err());

        let env = lookup(&[
            ("CNI_CONTAINERID", "c1"),
            ("CNI_IFNAME", "eth0"),
            ("CNI_ARGS", "IP=10.0.0.2"),
            ("CNI_NETNS", ""),
        ]);
        let a = attachment(&env, Command::Del).unwrap();
        assert_eq!(a.container_id, "c1");
        assert_eq!(a.ifname, "eth0");
        assert_eq!(a.netns, None);
        assert_eq!(a.args.get("IP"), Some("10.0.0.2"));
    }

    #[test]
    fn search_path_drops_empty_entries() {
        let env = lookup(&[("CNI_PATH", "/opt/cni/bin::/usr/lib/cni:")]);
        assert_eq!(
            search_path(&env),
            [PathBuf::from("/opt/cni/bin"), PathBuf::from("/usr/lib/cni")]
        );
        assert!(search_path(&lookup(&[])).is_empty());
    }

    #[test]
    fn netns_override_accepts_1_and_true_only() {
        for (v, want) in [
            ("1", true),
            ("true", true),
            ("TRUE", true),
            ("0", false),
            ("no", false),
        ] {
            assert_eq!(
                netns_override(&lookup(&[("CNI_NETNS_OVERRIDE", v)])),
                want,
                "{v}"
            );
        }
        assert!(!netns_override(&lookup(&[])));
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_values_are_refused_naming_the_variable() {
        use std::os::unix::ffi::OsStringExt;
        let env = |k: &str| (k == "CNI_IFNAME").then(|| OsString::from_vec(vec![0xff, b'a']));
        let e = text(&env, CNI_IFNAME).unwrap_err();
        assert_eq!(e.code, Code::INVALID_ENVIRONMENT);
        assert_eq!(e.msg, "CNI_IFNAME is not valid UTF-8");
    }
}
