//! The cgroup the test's containers (and their conmon) live under: podman with cgroupfs
//! creates it in the machine's cgroup hierarchies (by default `/libpod_parent`, which it never
//! removes), so every container gets `--cgroup-parent` with a name of this test's own, and the
//! sandbox removes that tree when it is empty.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Every place `name` exists as a cgroup: under the unified root and under each v1 hierarchy.
fn instances(name: &str) -> Vec<PathBuf> {
    let root = Path::new(CGROUP_ROOT);
    let mut dirs = vec![root.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(root) {
        dirs.extend(entries.flatten().map(|e| e.path()));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .filter(|p| p.is_dir())
        .collect()
}

/// Sub-cgroups of `dir`, deepest first (a cgroup is removed with rmdir once its children are).
fn depth_first(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                depth_first(&e.path(), out);
            }
        }
    }
    out.push(dir.to_path_buf());
}

/// Removes cgroup `name` everywhere; retried for a while, as the kernel keeps a cgroup busy
/// for a moment after its last process is gone. Returns what could not be removed.
pub fn remove(name: &str) -> Vec<PathBuf> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut left = Vec::new();
        for top in instances(name) {
            let mut all = Vec::new();
            depth_first(&top, &mut all);
            for d in all {
                if std::fs::remove_dir(&d).is_err() {
                    left.push(d);
                }
            }
        }
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Processes in cgroup `name` or below it, in any hierarchy (containers, conmon, exec'd
/// commands): what the OCI runtime started has mount and network namespaces of its own, so
/// only the cgroup finds it.
pub fn processes(name: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for top in instances(name) {
        let mut all = Vec::new();
        depth_first(&top, &mut all);
        for d in all {
            let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
            pids.extend(procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}
