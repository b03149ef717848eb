//! Shared by the IPAM tests: configuration builders; temporary directories and listings are
//! the shared harness's.

// Test helpers: a panic is a test failure with its reason.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use serde_json::{json, Value};

pub use twill_test_support::files::{names as files, reservations};
pub use twill_test_support::TempDir;

/// A host-local configuration of network `net` at `version` with `ipam` keys merged in.
pub fn conf(version: &str, data_dir: &Path, ipam: Value) -> Value {
    let mut ipam_obj = json!({"type": "host-local", "dataDir": data_dir});
    for (k, v) in ipam.as_object().unwrap() {
        ipam_obj[k] = v.clone();
    }
    json!({"cniVersion": version, "name": "net", "type": "bridge", "ipam": ipam_obj})
}
