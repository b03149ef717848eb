//! The record of one attachment: which host device went into the container and what to
//! give back on DEL. Kept in `<dataDir>/<network>/<containerID>-<ifname>` (see
//! `common::record`), written before the device moves, so a plugin killed half way still
//! leaves DEL what it needs.
//!
//! The original name is also the device's alias (as the reference keeps it): that one
//! travels with the device, so DEL finds it for a device added by the reference too, and
//! once the container's namespace is gone the record names the device the kernel returned.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;

use crate::common::error::internal;
use crate::common::record;

/// What ADD took from the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    /// `CNI_CONTAINERID`, for GC.
    pub container_id: String,
    /// `CNI_IFNAME`, for GC.
    pub ifname: String,
    /// The device's name on the host.
    pub original: String,
    /// Its MAC, when it has one: with the alias, how a device the kernel handed back is
    /// told apart from others.
    pub mac: Option<String>,
    /// Its alias before ADD set it to the original name; DEL puts it back.
    pub alias: Option<String>,
    /// Whether it was up on the host; DEL brings it up again if so.
    pub up: bool,
}

/// The record file of this attachment.
pub fn file(data_dir: &Path, args: &CmdArgs) -> PathBuf {
    record::path(data_dir, &args.name, &args.container_id, &args.ifname)
}

/// Writes the record.
pub fn store(file: &Path, saved: &Saved) -> Result<(), CniError> {
    record::store(file, saved)
        .map_err(|e| internal(format!("failed to write record {}: {e}", file.display())))
}

/// DEL's read: `None` when there is none (an unreadable one is discarded with a message).
pub fn load(file: &Path) -> Result<Option<Saved>, CniError> {
    record::load_for_del(file, "host-device", |f| record::remove(f).map(drop))
        .map_err(|e| internal(format!("failed to read record {}: {e}", file.display())))
}

/// Removes the record.
pub fn remove(file: &Path) -> Result<(), CniError> {
    record::remove(file)
        .map(drop)
        .map_err(|e| internal(format!("failed to remove record {}: {e}", file.display())))
}
