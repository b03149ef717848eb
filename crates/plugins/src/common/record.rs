//! Per-attachment records on disk: `<dataDir>/<network>/<containerID>-<ifname>`, the exact
//! nf_tables elements an ADD added (portmap's host ports, bridge's spoof-check pairs), so
//! DEL is O(1) in pods (no listing of sets) and works without the netns and without the
//! keys the runtime may leave out of DEL. Written to a temporary name and renamed, so a
//! plugin killed at any instant leaves the old record or the new one, never a torn one.
//!
//! Not synced to disk: a record describes kernel state (elements, interfaces) that a reboot
//! erases, so making it outlive a power loss buys nothing, and where `/run` is on a disk a
//! sync costs milliseconds per ADD (~7 ms here). A record a power loss did tear is
//! discarded by DEL with a message, as every unreadable record is.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use twill_cni::config::GcAttachment;

/// The record file of one attachment.
pub fn path(data_dir: &Path, network: &str, container_id: &str, ifname: &str) -> PathBuf {
    data_dir
        .join(network)
        .join(format!("{container_id}-{ifname}"))
}

/// Reads a record: `Ok(None)` when there is none; an unreadable one is an error naming it.
pub fn load<T: DeserializeOwned>(file: &Path) -> io::Result<Option<T>> {
    let bytes = match fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// DEL's read of a record: `Ok(None)` when there is none, and also when it is unreadable.
/// Records are written atomically, so an unreadable one (torn by a power loss) describes
/// nothing to act on: it is removed with `discard`, and a message naming `who` says so.
pub fn load_for_del<T: DeserializeOwned>(
    file: &Path,
    who: &str,
    discard: impl Fn(&Path) -> io::Result<()>,
) -> io::Result<Option<T>> {
    match load(file) {
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            eprintln!(
                "{who}: discarding unreadable record {}: {e}",
                file.display()
            );
            discard(file).map(|()| None)
        }
        other => other,
    }
}

/// GC's pass over the records of `network`: every readable one, with its file. Files that
/// hold no record — temporaries of interrupted writes, records a power loss tore — describe
/// nothing that was added and are removed with `discard` on the way.
pub fn readable<T: DeserializeOwned>(
    data_dir: &Path,
    network: &str,
    discard: impl Fn(&Path),
) -> io::Result<Vec<(PathBuf, T)>> {
    let mut out = Vec::new();
    for file in list(data_dir, network)? {
        match load(&file) {
            Ok(Some(rec)) => out.push((file, rec)),
            Ok(None) | Err(_) => discard(&file),
        }
    }
    Ok(out)
}

/// Whether the attachment `container_id`/`ifname` is among GC's valid ones.
pub fn is_valid(valid: &[GcAttachment], container_id: &str, ifname: &str) -> bool {
    valid
        .iter()
        .any(|a| a.container_id == container_id && a.ifname == ifname)
}

/// Writes `rec` to `file` atomically.
pub fn store<T: Serialize>(file: &Path, rec: &T) -> io::Result<()> {
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
        fs::rename(&tmp, file)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Removes a record; a missing one is fine. The network's directory goes with its last
/// record, so a network that is gone leaves nothing behind; returns whether it went.
pub fn remove(file: &Path) -> io::Result<bool> {
    match fs::remove_file(file) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    // Fails harmlessly while other records remain (or another ADD just made one).
    Ok(file.parent().is_some_and(|dir| fs::remove_dir(dir).is_ok()))
}

/// Every record file of `network` (temporary files of interrupted writes included, so GC
/// can remove them).
pub fn list(data_dir: &Path, network: &str) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(data_dir.join(network)) {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::portmap::elements::Record;

    #[test]
    fn store_load_list_remove() {
        let dir = std::env::temp_dir().join(format!("twill-portmap-state-{}", std::process::id()));
        let file = path(&dir, "net", "ctr-1", "eth0");
        assert!(load::<Record>(&file).unwrap().is_none());
        let rec = Record {
            container_id: "ctr-1".into(),
            ifname: "eth0".into(),
            dnat: vec![],
            masq: vec![],
        };
        store(&file, &rec).unwrap();
        assert_eq!(load(&file).unwrap(), Some(rec));
        assert_eq!(list(&dir, "net").unwrap(), vec![file.clone()]);
        fs::write(&file, b"{torn").unwrap();
        assert!(load::<Record>(&file).is_err());
        remove(&file).unwrap();
        remove(&file).unwrap();
        assert!(list(&dir, "net").unwrap().is_empty());
        let _ = fs::remove_dir_all(&dir);
    }
}
