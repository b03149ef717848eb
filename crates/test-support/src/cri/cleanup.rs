//! What a containerd leaves on the machine when it is stopped hard, found and removed: mounts
//! under its directory (rootfs overlays, namespace pins, shm), the pods' cgroup tree (every
//! hierarchy of a hybrid layout), its shims and their sockets.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if let Some(Ok(v)) = s.get(i + 1..i + 4).map(|o| u8::from_str_radix(o, 8)) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `(mount point, fs type)` of every mount this process sees.
pub fn mounts() -> Vec<(PathBuf, String)> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-")?;
            Some((
                PathBuf::from(unescape(f.get(4)?)),
                (*f.get(sep + 1)?).to_owned(),
            ))
        })
        .collect()
}

/// The mount points at or below `base`.
pub fn mounts_below(base: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = mounts()
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.starts_with(base))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Detaches every mount below `base`, deepest first.
pub fn unmount_below(base: &Path) {
    let mut v = mounts_below(base);
    v.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    for p in v {
        let Ok(c) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) else {
            continue;
        };
        // SAFETY: umount2(2) with a valid NUL-terminated path.
        unsafe {
            libc::umount2(c.as_ptr(), libc::MNT_DETACH);
        }
    }
}

/// `<hierarchy>/<name>` for every cgroup hierarchy mounted (v1 controllers and v2).
pub fn cgroup_dirs(name: &str) -> Vec<PathBuf> {
    let name = name.trim_start_matches('/');
    mounts()
        .into_iter()
        .filter(|(_, t)| t == "cgroup" || t == "cgroup2")
        .map(|(p, _)| p.join(name))
        .collect()
}

fn dirs_below(dir: &Path, out: &mut Vec<PathBuf>) {
    out.push(dir.to_owned());
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                dirs_below(&e.path(), out);
            }
        }
    }
}

/// The pids in the cgroup trees `name` (every hierarchy).
pub fn cgroup_pids(name: &str) -> Vec<i32> {
    let mut dirs = Vec::new();
    for d in cgroup_dirs(name) {
        if d.is_dir() {
            dirs_below(&d, &mut dirs);
        }
    }
    let mut pids: Vec<i32> = dirs
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|t| {
            t.lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Kills every process in the cgroup trees `name` and removes the trees (deepest first,
/// retrying while the killed processes exit).
pub fn remove_cgroups(name: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for pid in cgroup_pids(name) {
            // SAFETY: kill(2) on a pid of the test's own pods' cgroup.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let mut dirs = Vec::new();
        for d in cgroup_dirs(name) {
            if d.is_dir() {
                dirs_below(&d, &mut dirs);
            }
        }
        dirs.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
        let mut left = false;
        for d in &dirs {
            if std::fs::remove_dir(d).is_err() && d.exists() {
                left = true;
            }
        }
        if !left {
            return;
        }
        if Instant::now() > deadline {
            eprintln!("cri cleanup: cgroups {name} could not be removed");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The shims of the containerd whose task directory is `tasks`: `(pid, socket path)`.
pub fn shims(tasks: &Path) -> Vec<(i32, Option<PathBuf>)> {
    let mut out = Vec::new();
    let Ok(nss) = std::fs::read_dir(tasks) else {
        return out;
    };
    for ns in nss.flatten() {
        let Ok(bundles) = std::fs::read_dir(ns.path()) else {
            continue;
        };
        for b in bundles.flatten() {
            let pid = std::fs::read_to_string(b.path().join("shim.pid"))
                .ok()
                .and_then(|t| t.trim().parse().ok());
            let sock = std::fs::read_to_string(b.path().join("address"))
                .ok()
                .map(|a| PathBuf::from(a.trim().trim_start_matches("unix://")));
            if let Some(pid) = pid {
                out.push((pid, sock));
            }
        }
    }
    out
}

/// Kills the shims and removes their sockets.
pub fn kill_shims(tasks: &Path) {
    for (pid, sock) in shims(tasks) {
        // SAFETY: kill(2) on a shim pid the containerd we started recorded.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        if let Some(s) = sock {
            let _ = std::fs::remove_file(s);
        }
    }
}
