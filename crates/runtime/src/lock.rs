//! Per-network and per-attachment locks between runtimes on one host.
//!
//! Each network has one lock file, `<cacheDir>/locks/<network>.lock`, and every lock is an
//! open-file-description (OFD) record lock on a byte of it:
//!
//! * byte 0 is the network: ADD, DEL and CHECK hold it shared, so operations on different
//!   containers run side by side; GC holds it exclusively, so GC never runs beside an ADD or
//!   DEL of the same network (the spec forbids it: GC would release what an ADD is setting up);
//! * one byte per attachment, at an offset hashed from the container ID and interface, held
//!   exclusively by ADD, DEL and CHECK: the spec forbids parallel operations on one container.
//!
//! Why byte locks rather than a file per attachment: the files would pile up (one per pod ever
//! started) or, if deleted, race with a waiter holding the old inode. Two attachments whose
//! hashes collide just take turns. OFD locks belong to the open file, not the process, so two
//! threads of one process exclude each other exactly like two processes, and a lock is
//! released when its descriptor closes — also when the holder crashes.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::RuntimeError;

/// How the network is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Beside other shared holders (ADD, DEL, CHECK of different attachments).
    Shared,
    /// Alone (GC).
    Exclusive,
}

/// The lock directory of a cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locks {
    dir: PathBuf,
}

/// A held lock; released on drop.
#[derive(Debug)]
pub struct Held {
    _files: Vec<File>,
}

impl Locks {
    /// Locks under `<cache_dir>/locks`.
    pub fn new(cache_dir: &Path) -> Locks {
        Locks {
            dir: cache_dir.join("locks"),
        }
    }

    /// The lock file of a network.
    pub fn file(&self, network: &str) -> PathBuf {
        self.dir.join(format!("{network}.lock"))
    }

    /// Holds the network alone (GC). Waits for every operation in progress to finish.
    pub fn network_exclusive(&self, network: &str) -> Result<Held, RuntimeError> {
        let file = self.open(network)?;
        self.lock(&file, network, Mode::Exclusive, 0)?;
        Ok(Held { _files: vec![file] })
    }

    /// Holds the network shared and one attachment exclusively (ADD, DEL, CHECK).
    pub fn attachment(
        &self,
        network: &str,
        container_id: &str,
        ifname: &str,
    ) -> Result<Held, RuntimeError> {
        let net = self.open(network)?;
        self.lock(&net, network, Mode::Shared, 0)?;
        // A second open file description: OFD locks of one description would merge.
        let att = self.open(network)?;
        self.lock(
            &att,
            network,
            Mode::Exclusive,
            attachment_offset(container_id, ifname),
        )?;
        Ok(Held {
            _files: vec![net, att],
        })
    }

    fn open(&self, network: &str) -> Result<File, RuntimeError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| RuntimeError::io("create lock directory", &self.dir, e))?;
        let path = self.file(network);
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| RuntimeError::io("open lock file", path, e))
    }

    fn lock(
        &self,
        file: &File,
        network: &str,
        mode: Mode,
        offset: i64,
    ) -> Result<(), RuntimeError> {
        let kind = match mode {
            Mode::Shared => libc::F_RDLCK,
            Mode::Exclusive => libc::F_WRLCK,
        };
        // SAFETY: `flock` is a plain C struct of integers; all-zero is a valid value (and
        // l_pid must be 0 for OFD locks).
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = kind as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        fl.l_start = offset;
        fl.l_len = 1;
        loop {
            // SAFETY: fcntl(2) F_OFD_SETLKW with a valid descriptor and a valid `flock`
            // that outlives the call.
            let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLKW, &mut fl) };
            if rc == 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(RuntimeError::io("lock", self.file(network), e));
            }
        }
    }
}

/// The byte of an attachment: FNV-1a of `containerID NUL ifname`, above byte 0 and far below
/// the largest offset.
fn attachment_offset(container_id: &str, ifname: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in container_id.bytes().chain([0]).chain(ifname.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::try_from(h >> 2)
        .unwrap_or(i64::MAX >> 2)
        .saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread;
    use std::time::Duration;

    fn locks(tag: &str) -> (PathBuf, Locks) {
        let dir = std::env::temp_dir().join(format!("twill-lock-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let l = Locks::new(&dir);
        (dir, l)
    }

    /// Whether `take` gets its lock while `held` is held, within a short wait. The thread
    /// goes on waiting; it joins `waiting` so the test can wait for it before removing the
    /// directory (a late taker would create its lock file again).
    fn blocks(
        waiting: &mut Vec<thread::JoinHandle<()>>,
        take: impl FnOnce() -> Held + Send + 'static,
    ) -> bool {
        let (tx, rx) = mpsc::channel();
        waiting.push(thread::spawn(move || {
            let h = take();
            let _ = tx.send(());
            drop(h);
        }));
        rx.recv_timeout(Duration::from_millis(300)).is_err()
    }

    #[test]
    fn attachments_share_the_network_and_gc_excludes_them() {
        let (dir, l) = locks("a");
        let mut waiting = Vec::new();
        let w = &mut waiting;
        let a = l.attachment("net", "c1", "eth0").unwrap();
        // Another container proceeds; the same one waits; GC waits.
        let l2 = l.clone();
        assert!(!blocks(w, move || l2
            .attachment("net", "c2", "eth0")
            .unwrap()));
        let l2 = l.clone();
        assert!(blocks(w, move || l2
            .attachment("net", "c1", "eth0")
            .unwrap()));
        let l2 = l.clone();
        assert!(blocks(w, move || l2.network_exclusive("net").unwrap()));
        // Another network is unaffected.
        let l2 = l.clone();
        assert!(!blocks(w, move || l2.network_exclusive("other").unwrap()));
        drop(a);
        let gc = l.network_exclusive("net").unwrap();
        let l2 = l.clone();
        assert!(blocks(w, move || l2
            .attachment("net", "c3", "eth0")
            .unwrap()));
        drop(gc);
        for t in waiting {
            t.join().unwrap();
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn offsets_are_stable_and_above_zero() {
        assert_eq!(
            attachment_offset("c1", "eth0"),
            attachment_offset("c1", "eth0")
        );
        assert_ne!(
            attachment_offset("c1", "eth0"),
            attachment_offset("c1", "eth1")
        );
        assert_ne!(
            attachment_offset("c1e", "th0"),
            attachment_offset("c1", "eth0")
        );
        assert!(attachment_offset("", "") > 0);
    }
}
