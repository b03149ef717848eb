//! The workspace's binaries as the tests run them: built by `cargo build --workspace` (which
//! `make unit` runs before the tests) into the same target directory as the test executable.

use std::path::{Path, PathBuf};

/// The target profile directory (`target/debug`) of the running test.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/<test> → target/debug
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap()
}

/// The path of workspace binary `name`, which must have been built.
pub fn binary(name: &str) -> PathBuf {
    let p = target_dir().join(name);
    assert!(
        p.is_file(),
        "{} is missing: build the workspace first (`cargo build --workspace`, as `make unit` does)",
        p.display()
    );
    p
}

/// Makes `dir` a CNI_PATH holding a `twill-cni` symlink for each of `plugins`.
pub fn plugin_dir(dir: &Path, plugins: &[&str]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let cni = binary("twill-cni");
    for p in plugins {
        let link = dir.join(p);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&cni, &link).unwrap();
    }
    dir.to_path_buf()
}
