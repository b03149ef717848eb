//! Shared by the plugin tests: our binary installed under plugin names, the reference
//! plugins, temporary data directories, and one-call runs of a plugin through the exec layer.

// Test helpers: a panic is a test failure with its reason.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};
use twill_cni::exec::{Invoker, RealExec, RequestEnv, StderrMode};
use twill_cni::CniError;

/// Where Debian's containernetworking-plugins install the reference plugins.
pub const REFERENCE_DIR: &str = "/usr/lib/cni";

/// The plugin names our binary is installed under for the tests.
const NAMES: [&str; 2] = ["host-local", "static"];

pub use twill_test_support::files::{names as files, reservations};
pub use twill_test_support::TempDir;

/// The test process's directory of plugin symlinks, once made.
static BIN_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Removes [`BIN_DIR`] when the test process exits (the test harness returns from `main`,
/// which runs `atexit` handlers), so no run leaves it in /tmp.
extern "C" fn remove_bin_dir() {
    if let Some(dir) = BIN_DIR.get() {
        let _ = fs::remove_dir_all(dir);
    }
}

/// A directory holding a symlink to our `twill-cni` per plugin name, as an install does.
pub fn ours() -> PathBuf {
    BIN_DIR
        .get_or_init(|| {
            let dir =
                std::env::temp_dir().join(format!("twill-plugins-bin-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            for name in NAMES {
                std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_twill-cni"), dir.join(name))
                    .unwrap();
            }
            // SAFETY: registers a handler with C linkage that only removes a directory.
            unsafe {
                libc::atexit(remove_bin_dir);
            }
            dir
        })
        .clone()
}

/// The reference plugin directory; its absence fails the test with what to do.
pub fn reference() -> PathBuf {
    let dir = PathBuf::from(REFERENCE_DIR);
    assert!(
        dir.join("host-local").is_file() && dir.join("static").is_file(),
        "{REFERENCE_DIR}/host-local or static is missing: the reference CNI plugins are not \
         installed; run scripts/setup.sh (as root) to install containernetworking-plugins"
    );
    dir
}

/// The request environment of one attachment. host-local and static never enter the
/// namespace, so our own namespace is a harmless value for the required variable.
pub fn env(container: &str, ifname: &str, dir: &Path) -> RequestEnv {
    RequestEnv::new(container, "/proc/self/ns/net", ifname).with_path(vec![dir.to_path_buf()])
}

fn invoke<T>(
    dir: &Path,
    f: impl FnOnce(Invoker<'_>) -> Result<T, CniError>,
) -> Result<T, CniError> {
    let exec = RealExec {
        stderr: StderrMode::Capture,
        ..RealExec::default()
    };
    let path = [dir.to_path_buf()];
    f(Invoker::new(&exec, &path))
}

/// ADD through the exec layer; the result as printed.
pub fn add(dir: &Path, plugin: &str, conf: &Value, env: &RequestEnv) -> Result<Value, CniError> {
    invoke(dir, |i| {
        i.add(plugin, conf.to_string().as_bytes(), env)
            .map(|r| r.value)
    })
}

/// DEL through the exec layer.
pub fn del(dir: &Path, plugin: &str, conf: &Value, env: &RequestEnv) -> Result<(), CniError> {
    invoke(dir, |i| i.del(plugin, conf.to_string().as_bytes(), env))
}

/// CHECK through the exec layer.
pub fn check(dir: &Path, plugin: &str, conf: &Value, env: &RequestEnv) -> Result<(), CniError> {
    invoke(dir, |i| i.check(plugin, conf.to_string().as_bytes(), env))
}

/// GC through the exec layer.
pub fn gc(dir: &Path, plugin: &str, conf: &Value, env: &RequestEnv) -> Result<(), CniError> {
    invoke(dir, |i| i.gc(plugin, conf.to_string().as_bytes(), env))
}

/// A host-local configuration of network `net` with `ipam` keys merged in.
pub fn host_local(version: &str, data_dir: &Path, ipam: Value) -> Value {
    let mut obj = json!({"type": "host-local", "dataDir": data_dir});
    for (k, v) in ipam.as_object().unwrap() {
        obj[k] = v.clone();
    }
    json!({"cniVersion": version, "name": "net", "type": "bridge", "ipam": obj})
}

/// The owner index's directory inside a network directory.
pub const INDEX_DIR: &str = ".twill-owners";

/// Our temporary files in a network directory, its owner index's included.
pub fn temp_files(dir: &Path) -> Vec<String> {
    let index = files(&dir.join(INDEX_DIR))
        .into_iter()
        .filter(|n| n.ends_with(".tmp"))
        .map(|n| format!("{INDEX_DIR}/{n}"));
    files(dir)
        .into_iter()
        .filter(|n| n.starts_with(".twill") && n != INDEX_DIR)
        .chain(index)
        .collect()
}

/// The owner index's entries of a network directory.
pub fn index_entries(dir: &Path) -> Vec<String> {
    files(&dir.join(INDEX_DIR))
        .into_iter()
        .filter(|n| !n.ends_with(".tmp"))
        .collect()
}

/// The first address of a result, 0.1.0/0.2.0 or later.
pub fn first_ip(result: &Value) -> String {
    let cidr = result["ips"][0]["address"]
        .as_str()
        .or_else(|| result["ip4"]["ip"].as_str())
        .or_else(|| result["ip6"]["ip"].as_str())
        .unwrap_or_else(|| panic!("no address in {result}"));
    cidr.split('/').next().unwrap().to_owned()
}
