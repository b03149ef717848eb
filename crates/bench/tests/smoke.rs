//! The benchmark itself runs: a short run of each scenario against the real kernel and the
//! reference plugins produces a sample per pod and per side, and leaves nothing behind.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const PODS: usize = 3;

/// The benchmark's scratch directories, and anything of its pods or its network that the
/// plugins keep on the machine's disk (records, backups), by name.
fn leftovers() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["/run", "/tmp"] {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("twill-bench-") {
                out.push(format!("{dir}/{name}"));
            }
        }
    }
    walk(Path::new("/run/cni"), 4, &mut out);
    out
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.to_string_lossy().contains("bench") {
            out.push(path.display().to_string());
        } else if depth > 0 && path.is_dir() {
            walk(&path, depth - 1, out);
        }
    }
}

fn run(scenario: &str) -> Value {
    twill_test_support::require_root();
    let json = std::env::temp_dir().join(format!("smoke-{scenario}-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_twill-bench"))
        .args([
            "--pods",
            &PODS.to_string(),
            "--scenario",
            scenario,
            "--twill-cni",
        ])
        .arg(twill_test_support::plugins::twill_cni())
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{PODS} pods per side")),
        "{stdout}"
    );
    let figures = std::fs::read(&json);
    let _ = std::fs::remove_file(&json);
    serde_json::from_slice(&figures.unwrap()).unwrap()
}

fn check(figures: &Value, scenario: &str) {
    assert_eq!(figures["scenario"], scenario);
    let sides = figures["sides"].as_array().unwrap();
    assert_eq!(sides.len(), 2);
    for (side, label) in sides.iter().zip(["twill", "reference"]) {
        assert_eq!(side["label"], label);
        for key in ["add_ms", "del_ms"] {
            let samples = side[key].as_array().unwrap();
            assert_eq!(samples.len(), PODS, "{label} {key}");
            assert!(samples.iter().all(|v| v.as_f64().unwrap() > 0.0), "{side}");
        }
        for key in [
            "exec_floor_ms",
            "veth_delete_floor_ms",
            "nft_delete_floor_ms",
            "peak_rss_mib",
        ] {
            assert!(side[key].as_f64().unwrap() > 0.0, "{label} {key}: {side}");
        }
    }
}

#[test]
fn each_scenario_runs_and_leaves_nothing() {
    let before = leftovers();
    for scenario in ["bridge", "podman", "bandwidth", "macvlan"] {
        check(&run(scenario), scenario);
    }
    assert_eq!(leftovers(), before);
}
