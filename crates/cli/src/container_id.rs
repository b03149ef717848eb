//! cnitool's container ID and the namespace argument of the cnitool verbs.

use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha512};

/// cnitool's container ID for a namespace path: `cnitool-` and the first 20 hex digits
/// (10 bytes) of the SHA-512 of the absolute path. Same path, same ID, in both tools, so an
/// attachment made by one is found by the other.
pub fn cnitool_id(abs_netns: &Path) -> String {
    let digest = Sha512::digest(abs_netns.as_os_str().as_encoded_bytes());
    let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
    format!("cnitool-{hex}")
}

/// `path` made absolute against `cwd` and cleaned lexically, as Go's `filepath.Abs` does:
/// `.` dropped, `..` removing the previous component, no symbolic link resolved.
pub fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The namespace path for a cnitool verb: a bare name (no `/`) that exists in `netns_dir`
/// is that namespace (`twill add net pod1`, as `ip netns` names it); anything else is a path,
/// made absolute as cnitool does.
pub fn netns_path(arg: &str, netns_dir: &Path, cwd: &Path) -> PathBuf {
    if !arg.contains('/') && !arg.is_empty() {
        let named = netns_dir.join(arg);
        if named.exists() {
            return absolute(&named, cwd);
        }
    }
    absolute(Path::new(arg), cwd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_sha512sum_of_the_path() {
        // printf %s /var/run/netns/pod1 | sha512sum | cut -c1-20
        assert_eq!(
            cnitool_id(Path::new("/var/run/netns/pod1")),
            "cnitool-bea13e247008fe5f4a37"
        );
    }

    #[test]
    fn paths_are_cleaned_like_go() {
        let cwd = Path::new("/home/u/work");
        assert_eq!(absolute(Path::new("ns"), cwd), Path::new("/home/u/work/ns"));
        assert_eq!(
            absolute(Path::new("../x/./y/"), cwd),
            Path::new("/home/u/x/y")
        );
        assert_eq!(absolute(Path::new("/a//b/../c"), cwd), Path::new("/a/c"));
        assert_eq!(absolute(Path::new("/../.."), cwd), Path::new("/"));
    }

    #[test]
    fn bare_names_resolve_in_the_netns_dir_only_when_present() {
        let dir = std::env::temp_dir().join(format!("twill-cid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pod1"), b"").unwrap();
        let cwd = Path::new("/w");
        assert_eq!(netns_path("pod1", &dir, cwd), dir.join("pod1"));
        assert_eq!(netns_path("pod2", &dir, cwd), Path::new("/w/pod2"));
        assert_eq!(netns_path("./pod1", &dir, cwd), Path::new("/w/pod1"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
