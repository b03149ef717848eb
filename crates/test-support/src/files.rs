//! Listings of the directories plugins and runtimes keep state in.

use std::path::Path;

/// Every name in `dir` (none when it does not exist), sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The names in `dir` without dot files (twill's host-local owner index, temporary files).
pub fn list(dir: &Path) -> Vec<String> {
    let mut v = names(dir);
    v.retain(|n| !n.starts_with('.'));
    v
}

/// Every file (not directory) below `dir`, as paths relative to it, sorted.
pub fn files_below(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap_or(&p);
                out.push(rel.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The addresses host-local holds in network directory `dir` (one file per address; the
/// lock, the last-reserved markers and the owner index left out).
pub fn reservations(dir: &Path) -> Vec<String> {
    let mut v = names(dir);
    v.retain(|n| n.parse::<std::net::IpAddr>().is_ok());
    v
}
