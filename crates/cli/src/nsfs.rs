//! Whether a network namespace path still holds a namespace.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The file system magic of nsfs: a bind-mounted namespace or a /proc/PID/ns file.
const NSFS_MAGIC: i64 = 0x6e73_6673;

/// `Some(true)` when `path` is a network namespace, `Some(false)` when it is gone (missing,
/// or a leftover file with nothing mounted on it), `None` when there is no path to check.
pub fn netns_exists(path: &str) -> Option<bool> {
    if path.is_empty() {
        return None;
    }
    let Ok(c) = CString::new(Path::new(path).as_os_str().as_bytes()) else {
        return Some(false);
    };
    // SAFETY: statfs(2) with a valid NUL-terminated path and a buffer we own.
    let magic = unsafe {
        let mut buf: libc::statfs = std::mem::zeroed();
        if libc::statfs(c.as_ptr(), &mut buf) != 0 {
            return Some(false);
        }
        buf.f_type
    };
    #[allow(clippy::useless_conversion)] // f_type's width differs between architectures
    let magic = i64::from(magic);
    Some(magic == NSFS_MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_namespaces_exist_and_plain_files_do_not() {
        assert_eq!(netns_exists("/proc/self/ns/net"), Some(true));
        assert_eq!(netns_exists("/etc/hostname"), Some(false));
        assert_eq!(netns_exists("/nonexistent/ns"), Some(false));
        assert_eq!(netns_exists(""), None);
    }
}
