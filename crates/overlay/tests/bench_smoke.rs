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
    let child = Command::new(&exe)
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
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The benchmark's namespaces are named after its process id, as every harness user's are
    // (other test processes may have theirs under the same directory meanwhile).
    let prefix = format!("{}-", child.id());
    let out = child.wait_with_output().unwrap();
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
    let left: Vec<String> = std::fs::read_dir(twill_test_support::namespaces::ROOT)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "namespaces left under {}: {left:?}",
        twill_test_support::namespaces::ROOT
    );
}
