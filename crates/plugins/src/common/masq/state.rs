//! The per-attachment record: `<dir>/<network>/<containerID>-<ifname>`, the table and
//! the pod addresses an ADD added as elements, so DEL removes exactly those without the
//! netns, the configuration's subnets or `prevResult`, and without listing the maps.
//! Written to a temporary name, synced and renamed (as portmap's records), so a crash
//! leaves the old record or the new one, never a torn one.

use std::fs;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where the records live. Under `/run`: the elements they describe do not survive a
/// reboot either. The bridge and ptp configurations have no key for it (the reference has
/// none to match), so it is fixed.
pub const DIR: &str = "/run/cni/twill-masq";

/// What one attachment added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// `CNI_IFNAME`.
    pub ifname: String,
    /// The masquerade table the elements are in.
    pub table: String,
    /// The pod's addresses: one element each, in `pods4` or `pods6`.
    pub addresses: Vec<IpAddr>,
}

/// The record file of one attachment.
pub fn path(network: &str, container_id: &str, ifname: &str) -> PathBuf {
    Path::new(DIR)
        .join(network)
        .join(format!("{container_id}-{ifname}"))
}

/// Reads a record: `Ok(None)` when there is none.
pub fn load(file: &Path) -> io::Result<Option<Record>> {
    let bytes = match fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Writes `rec` to `file` atomically.
pub fn store(file: &Path, rec: &Record) -> io::Result<()> {
    let dir = file
        .parent()
        .ok_or_else(|| io::Error::other("record path has no directory"))?;
    fs::create_dir_all(dir)?;
    let mut tmp_name = file.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let bytes = serde_json::to_vec(rec).map_err(io::Error::other)?;
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, file)?;
        fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Removes a record; a missing one is fine. The network's directory goes with its last
/// record, so a network that is gone leaves nothing under /run.
pub fn remove(file: &Path) -> io::Result<()> {
    match fs::remove_file(file) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    if let Some(dir) = file.parent() {
        // Fails harmlessly while other records remain (or another ADD just made one); the
        // root goes the same way with the last network.
        if fs::remove_dir(dir).is_ok() {
            if let Some(root) = dir.parent() {
                let _ = fs::remove_dir(root);
            }
        }
    }
    Ok(())
}

/// Every record file of `network`, leftover temporaries included (GC removes them).
pub fn list(network: &str) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(Path::new(DIR).join(network)) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        out.push(entry?.path());
    }
    out.sort();
    Ok(out)
}
