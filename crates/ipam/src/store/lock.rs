//! The network directory's lock: an exclusive `flock(2)` on the file `lock` inside it.
//!
//! This is the object the reference host-local locks (seen with strace: it opens
//! `<dir>/lock` with `O_RDONLY|O_CREAT` and calls `flock(fd, LOCK_EX)`), so the two
//! implementations exclude each other on one directory. `flock` locks belong to the open file
//! description: a killed holder releases the lock with its last descriptor, so a crash never
//! leaves the network locked.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::IpamError;

/// The lock file's name inside the network directory.
pub const LOCK_FILE: &str = "lock";

/// An exclusive lock on a network directory, released on drop.
#[derive(Debug)]
pub struct DirLock {
    file: File,
}

impl DirLock {
    /// Blocks until the directory's lock is ours. The lock file is created when missing.
    pub fn acquire(dir: &Path) -> Result<DirLock, IpamError> {
        let path = dir.join(LOCK_FILE);
        // Opened for writing only because the standard library refuses O_CREAT without write
        // access; flock does not care about the access mode.
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&path)
            .map_err(|e| IpamError::io(&path, e))?;
        loop {
            // SAFETY: the descriptor is open and owned by `file` for the whole call.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(DirLock { file });
            }
            let err = io::Error::last_os_error();
            // A signal delivered while waiting is not a failure to lock.
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(IpamError::io(&path, err));
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Closing the descriptor releases the lock anyway; unlocking first makes the release
        // independent of descriptors a concurrently forked child may still hold.
        // SAFETY: the descriptor is still open; `file` is dropped after this.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}
