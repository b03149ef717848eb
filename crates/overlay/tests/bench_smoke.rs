//! The overlay benchmark runs: a short run (3 hosts, 1 s per iperf3 figure) prints every
//! figure for every path and leaves no namespace behind.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn the_overlay_benchmark_runs_and_reports_every_path() {
    twill_test_support::require_root();
    let exe = twill_test_support::binaries::target_dir().join("examples/overlay_bench");
    assert!(
        exe.is_file(),
        "{} missing: build it first (`cargo build --workspace --examples`, as `make unit` does)",
        exe.display()
    );
    let out = Command::new(&exe)
        .args([
            "--hosts",
            "3",
            "--joins",
            "1",
            "--seconds",
            "1",
            "--rounds",
            "2",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for path in [
        "underlay",
        "twill vxlan",
        "flannel's vxlan device",
        "twill udp",
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(path))
            .unwrap_or_else(|| panic!("{path}: {text}"));
        assert!(line.contains("Gb/s") && line.contains(" ms"), "{line}");
    }
    assert!(text.contains("convergence at 3 hosts"), "{text}");
    assert!(text.contains("twilld RSS"), "{text}");
    let left = std::fs::read_dir(twill_test_support::namespaces::ROOT)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(
        left,
        0,
        "namespaces left under {}",
        twill_test_support::namespaces::ROOT
    );
}
