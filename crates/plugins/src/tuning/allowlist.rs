//! The sysctl allowlist: when the file exists, every sysctl key a configuration sets must
//! match one of its regular expressions (one per line, blank lines ignored, unanchored as
//! Go's `regexp.MatchString` is). Without the file, every key under `net` is allowed.

use std::io;
use std::path::{Path, PathBuf};

use regex::Regex;
use twill_cni::{CniError, Code};

use super::config::Sysctl;

/// The reference's allowlist location.
pub const DEFAULT_PATH: &str = "/etc/cni/tuning/allowlist.conf";

/// Environment variable naming another allowlist file (for operators who keep
/// configuration elsewhere, and for tests that must not touch `/etc`).
pub const PATH_ENV: &str = "TWILL_TUNING_ALLOWLIST";

/// The allowlist file in force.
pub fn path() -> PathBuf {
    match std::env::var_os(PATH_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(DEFAULT_PATH),
    }
}

/// The compiled patterns of an allowlist file, `None` when there is no file.
///
/// # Errors
///
/// Code 5 when the file exists but cannot be read, 7 when a line is not a valid regular
/// expression (naming the file and line).
pub fn load(file: &Path) -> Result<Option<Vec<Regex>>, CniError> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CniError::io(format!(
                "reading the sysctl allowlist {}: {e}",
                file.display()
            )))
        }
    };
    let mut patterns = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let re = Regex::new(line).map_err(|e| {
            CniError::invalid_config(format!(
                "sysctl allowlist {} line {}: {line:?} is not a valid regular expression: {e}",
                file.display(),
                n + 1
            ))
        })?;
        patterns.push(re);
    }
    Ok(Some(patterns))
}

/// Checks every sysctl key against the allowlist `patterns` read from `file`.
///
/// # Errors
///
/// Code 2 naming the first key no pattern matches.
pub fn check(sysctls: &[Sysctl], patterns: &[Regex], file: &Path) -> Result<(), CniError> {
    for s in sysctls {
        if !patterns.iter().any(|re| re.is_match(&s.key)) {
            return Err(CniError::new(
                Code::UNSUPPORTED_FIELD,
                format!(
                    "sysctl[{:?}]: not allowed by the sysctl allowlist {}",
                    s.key,
                    file.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Loads the allowlist in force and checks `sysctls` against it.
pub fn enforce(sysctls: &[Sysctl]) -> Result<(), CniError> {
    if sysctls.is_empty() {
        return Ok(());
    }
    let file = path();
    match load(&file)? {
        Some(patterns) => check(sysctls, &patterns, &file),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sysctl(key: &str) -> Sysctl {
        Sysctl {
            key: key.into(),
            path: key.replace('.', "/"),
            value: "1".into(),
        }
    }

    fn write(text: &str) -> (PathBuf, impl Drop) {
        struct Rm(PathBuf);
        impl Drop for Rm {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "twill-allowlist-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&p, text).unwrap();
        (p.clone(), Rm(p))
    }

    #[test]
    fn missing_file_allows_everything() {
        let p = Path::new("/nonexistent/twill/allowlist.conf");
        assert!(load(p).unwrap().is_none());
    }

    #[test]
    fn keys_must_match_a_line_unanchored_unless_the_line_anchors() {
        let (p, _rm) = write("^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]+$\n\n   net.core.somaxconn  \n");
        let pats = load(&p).unwrap().unwrap();
        assert_eq!(pats.len(), 2);
        for ok in [
            "net.ipv4.conf.IFNAME.arp_filter",
            "net.core.somaxconn",
            "xnet.core.somaxconn.y",
        ] {
            check(&[sysctl(ok)], &pats, &p).unwrap();
        }
        let e = check(
            &[sysctl("net.core.somaxconn"), sysctl("net.ipv4.ip_forward")],
            &pats,
            &p,
        )
        .unwrap_err();
        assert_eq!(e.code, Code::UNSUPPORTED_FIELD);
        assert!(e.msg.contains("net.ipv4.ip_forward"), "{}", e.msg);
        let e = check(&[sysctl("net.ipv4.conf.eth0.arp_filter")], &pats, &p).unwrap_err();
        assert!(e.msg.contains("eth0"), "{}", e.msg);
    }

    #[test]
    fn a_bad_pattern_is_a_config_error_naming_the_line() {
        let (p, _rm) = write("net\\.core\n(unclosed\n");
        let e = load(&p).unwrap_err();
        assert_eq!(e.code, Code::INVALID_NETWORK_CONFIG);
        assert!(e.msg.contains("line 2"), "{}", e.msg);
    }
}
