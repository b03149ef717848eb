//! Saved delegate configurations: `<dataDir>/<containerID>`, the exact bytes ADD sent the
//! delegate, so DEL sends it the same even after `subnet.env` or the network's
//! configuration changed. The reference's path and content, so a node moving from the
//! reference plugin to twill (or back) deletes its existing pods correctly.
//!
//! Unlike twill's other plugin records (see `common::record`), these are synced: they live
//! under /var/lib because they must outlive a reboot — the delegate's IPAM reservations on
//! disk do, and the DEL a runtime sends after the reboot must find the configuration that
//! releases them. The file is written to a temporary name, synced, renamed into place and
//! the directory synced, so a crash or power loss leaves the old file or the new one.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Temporary files start with this, which no container ID can (IDs start with a letter or
/// digit), so they never shadow a saved configuration.
const TMP_PREFIX: &str = ".tmp-";

/// The saved configuration of `container_id`. The entry point has checked the ID (letters,
/// digits, `_.-`), so it cannot leave `data_dir`.
pub fn path(data_dir: &Path, container_id: &str) -> PathBuf {
    data_dir.join(container_id)
}

/// Saves `bytes` as `file`, durably and atomically; the directory is made (mode 0700) if
/// needed, the file is mode 0600 (it may carry runtime arguments).
pub fn store(file: &Path, bytes: &[u8]) -> io::Result<()> {
    let (dir, name) = match (file.parent(), file.file_name()) {
        (Some(d), Some(n)) => (d, n),
        _ => {
            return Err(io::Error::other(
                "saved configuration path has no directory",
            ))
        }
    };
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let mut tmp_name = std::ffi::OsString::from(TMP_PREFIX);
    tmp_name.push(name);
    let tmp = dir.join(tmp_name);
    // A leftover of an interrupted write is replaced, never reused with its old mode.
    let _ = fs::remove_file(&tmp);
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, file)?;
        File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Reads a saved configuration; `Ok(None)` when there is none.
pub fn load(file: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(file) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes a saved configuration; a missing one is fine. Not synced: a file that comes back
/// after a power loss only makes the next DEL repeat a DEL, which is always safe.
pub fn remove(file: &Path) -> io::Result<()> {
    match fs::remove_file(file) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Every saved configuration in `data_dir`, as (container ID, file), sorted; temporary
/// files are left out. A missing directory holds none.
pub fn list(data_dir: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let entries = match fs::read_dir(data_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !name.starts_with(TMP_PREFIX) && entry.file_type()?.is_file() {
            out.push((name, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn store_load_list_remove() {
        let dir = std::env::temp_dir()
            .join(format!("twill-flannel-saved-{}", std::process::id()))
            .join("data");
        let file = path(&dir, "ctr-1");
        assert_eq!(load(&file).unwrap(), None);
        assert!(list(&dir).unwrap().is_empty());
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(".tmp-ctr-1"), b"stale").unwrap();
        store(&file, b"{\"type\":\"bridge\"}").unwrap();
        store(&file, b"{\"type\":\"ipvlan\"}").unwrap();
        assert_eq!(load(&file).unwrap().unwrap(), b"{\"type\":\"ipvlan\"}");
        let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            list(&dir).unwrap(),
            vec![("ctr-1".to_owned(), file.clone())]
        );
        assert!(!dir.join(".tmp-ctr-1").exists());
        remove(&file).unwrap();
        remove(&file).unwrap();
        assert!(list(&dir).unwrap().is_empty());
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_new_directory_is_private() {
        let top = std::env::temp_dir().join(format!("twill-flannel-dir-{}", std::process::id()));
        let dir = top.join("a/b");
        store(&path(&dir, "c"), b"{}").unwrap();
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        fs::remove_dir_all(&top).unwrap();
    }
}
