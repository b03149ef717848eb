//! Shared by the exec integration tests: temporary directories that clean up after themselves,
//! the reference plugins, and standard binaries installed under plugin names.

// Each test file uses its own part of this module. The helpers serve tests only, where a
// panic is a test failure with its reason, so the workspace's no-panic lints do not apply.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where the reference plugins (Debian's containernetworking-plugins) are installed.
pub const REFERENCE_DIR: &str = "/usr/lib/cni";

/// The reference plugin directory, after checking the installation is there. A missing peer
/// is a failure with instructions, never a skip.
pub fn reference_dir() -> PathBuf {
    let dir = PathBuf::from(REFERENCE_DIR);
    assert!(
        dir.join("host-local").is_file(),
        "{REFERENCE_DIR}/host-local is missing: the reference CNI plugins are not installed; \
         run scripts/setup.sh (as root) to install containernetworking-plugins"
    );
    dir
}

/// A directory under the system temporary directory, removed with everything in it on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("twill-exec-{tag}-{}-{n}", std::process::id()));
        // A leftover from a crashed run with a recycled pid is ours to remove.
        let _ = fs::remove_dir_all(&path);
        fs::create_dir(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Finds a standard binary such as `cat` in /usr/bin or /bin.
pub fn system_binary(name: &str) -> PathBuf {
    ["/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed in /usr/bin or /bin"))
}

/// Copies the standard binary `binary` into `dir` as a plugin called `name`, with `mode`.
pub fn install_as(dir: &Path, binary: &str, name: &str, mode: u32) -> PathBuf {
    let target = dir.join(name);
    fs::copy(system_binary(binary), &target).unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(mode)).unwrap();
    target
}

/// The files directly in `dir`, sorted, or none when it does not exist.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}
