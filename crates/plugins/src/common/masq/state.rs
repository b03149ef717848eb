//! The per-attachment record: `<dir>/<network>/<containerID>-<ifname>`, the table and
//! the pod addresses an ADD added as elements, so DEL removes exactly those without the
//! netns, the configuration's subnets or `prevResult`, and without listing the maps.
//! Stored with [`crate::common::record`], as portmap's and the spoof check's records are.

use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::common::record;

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
    record::path(Path::new(DIR), network, container_id, ifname)
}

/// Reads a record: `Ok(None)` when there is none.
pub fn load(file: &Path) -> io::Result<Option<Record>> {
    record::load(file)
}

/// Writes `rec` to `file` atomically.
pub fn store(file: &Path, rec: &Record) -> io::Result<()> {
    record::store(file, rec)
}

/// Removes a record; a missing one is fine. With the last network's records the fixed
/// root goes too.
pub fn remove(file: &Path) -> io::Result<()> {
    if record::remove(file)? {
        let _ = fs::remove_dir(DIR);
    }
    Ok(())
}
