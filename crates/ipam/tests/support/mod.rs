//! Shared by the IPAM tests: temporary data directories and configuration builders.

// Test helpers: a panic is a test failure with its reason.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

/// A directory removed with its content on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("twill-ipam-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A host-local configuration of network `net` at `version` with `ipam` keys merged in.
pub fn conf(version: &str, data_dir: &Path, ipam: Value) -> Value {
    let mut ipam_obj = json!({"type": "host-local", "dataDir": data_dir});
    for (k, v) in ipam.as_object().unwrap() {
        ipam_obj[k] = v.clone();
    }
    json!({"cniVersion": version, "name": "net", "type": "bridge", "ipam": ipam_obj})
}

/// The sorted file names of a directory (none when it does not exist).
pub fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The reservation files (named by an address) of a directory.
pub fn reservations(dir: &Path) -> Vec<String> {
    files(dir)
        .into_iter()
        .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
        .collect()
}
