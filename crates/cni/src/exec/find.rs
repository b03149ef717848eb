//! Finding a plugin binary by its `type` in the CNI_PATH directories.

use std::path::{Path, PathBuf};

use crate::error::CniError;

/// Checks that a plugin `type` is a bare file name. A configuration is untrusted input, and a
/// `type` such as `../../bin/sh` or `/tmp/x` would otherwise run any binary on the host.
/// Besides `/`, a `\` is refused so that a configuration written for Windows cannot walk out of
/// the directory either, and NUL cannot be part of a path at all. The error is code 7 (invalid
/// network configuration) because the fault is in the configuration's `type` field.
pub fn validate_type(plugin_type: &str) -> Result<(), CniError> {
    let reason = if plugin_type.is_empty() {
        Some("it is empty")
    } else if plugin_type == "." || plugin_type == ".." {
        Some("it names a directory")
    } else if plugin_type.contains(['/', '\\']) {
        Some("it contains a path separator")
    } else if plugin_type.contains('\0') {
        Some("it contains a NUL byte")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(why) => Err(CniError::invalid_config(format!(
            "invalid plugin type {plugin_type:?}: {why}; type must be the file name of a plugin in CNI_PATH"
        ))),
    }
}

/// Finds the plugin named `plugin_type`: the first regular, executable file of that name in
/// `cni_path`, in order. Symbolic links are followed, so a multi-call binary installed once
/// with a link per plugin name is found. A file that is not executable is passed over rather
/// than chosen and then failing to run, so a later directory can still provide the plugin.
///
/// Not found is code 7 too: the configuration names a plugin this host does not have. The
/// message is Go's, which operators grep for: `failed to find plugin "x" in path [/a /b]`.
pub fn find_plugin(plugin_type: &str, cni_path: &[PathBuf]) -> Result<PathBuf, CniError> {
    validate_type(plugin_type)?;
    if let Some(found) = cni_path
        .iter()
        .map(|dir| dir.join(plugin_type))
        .find(|candidate| is_executable_file(candidate))
    {
        return Ok(found);
    }
    let dirs = cni_path
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    Err(CniError::invalid_config(format!(
        "failed to find plugin {plugin_type:?} in path [{dirs}]"
    )))
}

#[cfg(unix)]
fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    #[test]
    fn path_like_types_are_refused_with_code_7_naming_the_type() {
        for bad in ["", ".", "..", "a/b", "/bin/sh", "../x", "a\\b", "a\0b"] {
            let err = validate_type(bad).unwrap_err();
            assert_eq!(err.code, Code::INVALID_NETWORK_CONFIG, "{bad:?}");
            assert!(err.msg.contains(&format!("{bad:?}")), "{}", err.msg);
            // Refused before any directory is looked at.
            assert_eq!(find_plugin(bad, &["/usr/bin".into()]).unwrap_err(), err);
        }
        for good in ["bridge", "host-local", "my.plugin", "..x", "a b"] {
            assert_eq!(validate_type(good), Ok(()), "{good:?}");
        }
    }

    #[test]
    fn not_found_names_the_type_and_every_directory_like_go() {
        let err = find_plugin(
            "twill-no-such-plugin",
            &["/nonexistent/a".into(), "/nonexistent/b".into()],
        )
        .unwrap_err();
        assert_eq!(err.code, Code::INVALID_NETWORK_CONFIG);
        assert_eq!(
            err.msg,
            "failed to find plugin \"twill-no-such-plugin\" in path [/nonexistent/a /nonexistent/b]"
        );
        let err = find_plugin("x", &[]).unwrap_err();
        assert_eq!(err.msg, "failed to find plugin \"x\" in path []");
    }
}
