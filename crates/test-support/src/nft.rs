//! A namespace's nf_tables state as `nft` prints it (tests only: plugins never exec). `nft`
//! runs through `nsenter` in the namespace at a path, never in the machine's.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Runs `nft args…` in the namespace at `path`; its output. A failure fails the test.
pub fn nft(path: &Path, args: &[&str]) -> String {
    let out = Command::new("nsenter")
        .arg(format!("--net={}", path.display()))
        .arg("nft")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run nsenter nft ({e}): run scripts/setup.sh"));
    assert!(
        out.status.success(),
        "nft {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `nft -j list ruleset` in the namespace at `path`, parsed.
pub fn ruleset(path: &Path) -> Value {
    serde_json::from_str(&nft(path, &["-j", "list", "ruleset"])).unwrap()
}

/// The objects of `ruleset` (`{"nftables": [...]}`), the metainfo included.
pub fn objects(ruleset: &Value) -> &[Value] {
    ruleset["nftables"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("not nft's JSON: {ruleset}"))
}

/// The elements of every set and map in the namespace at `path` whose JSON text mentions
/// `needle` (a pod's address, a container ID), as JSON text.
pub fn elements_naming(path: &Path, needle: &str) -> Vec<String> {
    let rs = ruleset(path);
    objects(&rs)
        .iter()
        .filter_map(|o| o.get("set").or_else(|| o.get("map")))
        .flat_map(|s| s["elem"].as_array().cloned().unwrap_or_default())
        .map(|e| e.to_string())
        .filter(|e| e.contains(needle))
        .collect()
}
