//! The reference runtime: a small Go program over Debian's libcni (`tools/libcni-driver`,
//! `libcni-driver add|del|check|gc CONFDIR NETWORK [CONTAINERID NETNS IFNAME]`, with
//! `DRIVER_CNI_PATH`, `DRIVER_CACHE_DIR`, `DRIVER_CNI_ARGS`, `DRIVER_CAP_ARGS`), built once
//! per test process into the target directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The driver's path, built on first use.
pub fn driver() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/libcni-driver");
        let dir = crate::binaries::target_dir().join("libcni-driver-build");
        std::fs::create_dir_all(&dir).unwrap();
        // Test binaries build it concurrently: each builds to a name of its own, then renames
        // over the shared one (atomic; every version is the same program).
        let tmp = dir.join(format!(".libcni-driver-{}", std::process::id()));
        let out = dir.join("libcni-driver");
        let built = Command::new("go")
            .args(["build", "-o"])
            .arg(&tmp)
            .arg(".")
            .current_dir(&src)
            .env("GOPATH", "/usr/share/gocode")
            .env("GO111MODULE", "off")
            .env("GOFLAGS", "")
            .env("GOCACHE", dir.join("go-cache"))
            .output()
            .unwrap_or_else(|e| panic!("cannot run go ({e}): run scripts/setup.sh (as root)"));
        assert!(
            built.status.success(),
            "building tools/libcni-driver failed (run scripts/setup.sh for golang-go and \
             golang-github-appc-cni-dev): {}",
            String::from_utf8_lossy(&built.stderr)
        );
        std::fs::rename(&tmp, &out).unwrap();
        out
    })
}
