//! The binaries under test and the reference plugins beside which they are judged.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Where Debian's `containernetworking-plugins` puts the reference plugins (v1.1.1).
pub const REFERENCE_DIR: &str = "/usr/lib/cni";

/// The plugin names a test sandbox's plugin directory offers ([`link_plugins`]).
pub const OURS: [&str; 19] = [
    "bandwidth",
    "bridge",
    "dhcp",
    "dummy",
    "firewall",
    "flannel",
    "host-device",
    "host-local",
    "ipvlan",
    "loopback",
    "macvlan",
    "portmap",
    "ptp",
    "sbr",
    "static",
    "tap",
    "tuning",
    "vlan",
    "vrf",
];

/// The multi-call plugin binary `twill-cni` of this build: `cargo test` puts a crate's test
/// executables in `<target>/<profile>/deps` and the workspace's binaries in
/// `<target>/<profile>`; it is built there when missing (a crate's tests alone do not build
/// another crate's binaries).
pub fn twill_cni() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| workspace_bin("twill-plugins", "twill-cni"))
        .clone()
}

/// Binary `bin` of package `package`, beside the test executable's `deps` directory; built
/// with the test's profile when missing.
pub fn workspace_bin(package: &str, bin: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
    let path = profile_dir.join(bin);
    if path.is_file() {
        return path;
    }
    let profile = match profile_dir.file_name().unwrap().to_str().unwrap() {
        "debug" => "dev".to_owned(),
        other => other.to_owned(),
    };
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "build",
            "-q",
            "-p",
            package,
            "--bin",
            bin,
            "--profile",
            &profile,
        ])
        .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(
        status.success() && path.is_file(),
        "cannot build {bin}: run `cargo build -p {package}`"
    );
    path
}

/// The names `twill-cni --list` answers to (every plugin it has).
pub fn all_names() -> Vec<String> {
    let out = Command::new(twill_cni()).arg("--list").output().unwrap();
    assert!(out.status.success(), "twill-cni --list failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Makes `dir` (which must exist) a plugin directory: one symlink to `twill-cni` per name, as
/// an install does.
pub fn link_plugins<S: AsRef<str>>(dir: &Path, names: &[S]) {
    let cni = twill_cni();
    for name in names {
        std::os::unix::fs::symlink(&cni, dir.join(name.as_ref())).unwrap();
    }
}

/// The reference plugin directory, checked to hold `names`: a missing installation fails
/// the test with what to do.
pub fn reference_dir(names: &[&str]) -> &'static Path {
    for name in names {
        assert!(
            Path::new(REFERENCE_DIR).join(name).is_file(),
            "{REFERENCE_DIR}/{name} is missing: run scripts/setup.sh (as root) to install \
             Debian's containernetworking-plugins"
        );
    }
    Path::new(REFERENCE_DIR)
}

/// Writes an executable script `name` with `body` into `dir`; its path.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}
