//! Per-namespace network sysctls (`/proc/sys/net/...`).
//!
//! `/proc/sys/net` shows the values of the network namespace of the thread that opens the
//! file, so [`read_in`] and [`write_in`] do the file access on a thread inside the target
//! namespace ([`NetNs::run`]); [`read()`] and [`write()`] act on the calling thread's namespace.

use std::fs;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::netns::NetNs;

/// Maps a key to its file: `net.ipv4.ip_forward` or `net/ipv4/ip_forward`. Interface names
/// may contain dots, so keys naming an interface must use the slash form
/// (`net/ipv4/conf/eth0.100/forwarding`). Only keys under `net` are accepted.
pub fn path(key: &str) -> Result<PathBuf> {
    let rel = if key.contains('/') {
        key.to_owned()
    } else {
        key.replace('.', "/")
    };
    let ok = rel.starts_with("net/")
        && rel
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains('\0'));
    if !ok {
        let why = "key: must be a path under net, like net.ipv4.ip_forward";
        return Err(Error::invalid("use sysctl", format!("{key:?}"), why));
    }
    Ok(PathBuf::from("/proc/sys").join(rel))
}

/// Reads a sysctl of the calling thread's namespace, without the trailing newline.
pub fn read(key: &str) -> Result<String> {
    let file = path(key)?;
    let text = fs::read_to_string(&file).map_err(|e| Error::io("read sysctl", key, e))?;
    Ok(text.trim_end_matches('\n').to_owned())
}

/// Writes a sysctl of the calling thread's namespace.
pub fn write(key: &str, value: &str) -> Result<()> {
    let file = path(key)?;
    fs::write(&file, value).map_err(|e| Error::io("write sysctl", format!("{key} = {value:?}"), e))
}

/// Reads a sysctl of namespace `ns`.
pub fn read_in(ns: &NetNs, key: &str) -> Result<String> {
    ns.run(|| read(key))?
}

/// Writes a sysctl of namespace `ns`.
pub fn write_in(ns: &NetNs, key: &str, value: &str) -> Result<()> {
    ns.run(|| write(key, value))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_proc_sys_net_only() {
        assert_eq!(
            path("net.ipv4.ip_forward").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            path("net/ipv4/conf/eth0.100/forwarding").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/conf/eth0.100/forwarding")
        );
        for bad in [
            "kernel.hostname",
            "net/../kernel/x",
            "net",
            "net//x",
            "/net/x",
            "net.ipv4..x",
            "",
        ] {
            assert!(path(bad).is_err(), "{bad}");
        }
    }
}
