//! host-local's on-disk store, file for file the reference's format (see docs/ipam.md):
//!
//! ```text
//! <dataDir>/<network>/lock                 flock(2)ed by every operation
//! <dataDir>/<network>/<ip>                 "<containerID>\r\n<ifname>" (older: "<containerID>")
//! <dataDir>/<network>/last_reserved_ip.<n> the last address handed out from range set n
//! <dataDir>/<network>/.twill-owners/       our owner index ([`index`]), ignored by the scans
//! ```
//!
//! A [`Store`] holds the lock for its whole life, so everything done through it is atomic
//! with respect to other twill and reference processes. Crash safety: a reservation is written
//! to a temporary file and `link(2)`ed to the address's name, which creates the name with its
//! full content or fails with `EEXIST`; the cursor is written and `rename(2)`d. Whatever a
//! killed process leaves is either a complete reservation (released by DEL) or a temporary
//! file (removed by the next operation that takes the lock, and by GC).

mod entry;
pub mod index;
mod lock;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub use entry::{classify, Kind, Owner, CURSOR_TMP, LAST_RESERVED_PREFIX, RESERVE_TMP};
pub use index::{IndexFile, INDEX_DIR, INDEX_TMP};
pub use lock::{DirLock, LOCK_FILE};

use crate::config::StoreConf;
use crate::error::IpamError;

/// The most of a file read: a container ID, a line break and an interface name fit many times
/// over; anything longer is not a reservation a runtime could have made.
const MAX_CONTENT: usize = 64 * 1024;

/// The first read's size, which every real reservation fits.
const FAST_READ: usize = 512;

/// A network's directory, locked.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    _lock: DirLock,
}

/// A file of the directory, read under the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A reservation and its owner.
    Reservation(IpAddr, Owner),
    /// A temporary file left by a killed process.
    Temp(String),
}

impl Store {
    /// Creates the directory when missing (mode 0755, as the reference) and locks it.
    pub fn open(conf: &StoreConf) -> Result<Store, IpamError> {
        let dir = conf.dir();
        fs::create_dir_all(&dir).map_err(|e| IpamError::io(&dir, e))?;
        Store::lock(dir)
    }

    /// Locks the directory if it exists; `None` when there is none (nothing was ever reserved,
    /// so there is nothing to release or check).
    pub fn open_existing(conf: &StoreConf) -> Result<Option<Store>, IpamError> {
        let dir = conf.dir();
        match fs::metadata(&dir) {
            Ok(m) if m.is_dir() => Store::lock(dir).map(Some),
            Ok(_) => Err(IpamError::io(
                &dir,
                io::Error::new(io::ErrorKind::InvalidInput, "not a directory"),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(IpamError::io(&dir, e)),
        }
    }

    fn lock(dir: PathBuf) -> Result<Store, IpamError> {
        let lock = DirLock::acquire(&dir)?;
        Ok(Store { dir, _lock: lock })
    }

    /// The network's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Prepares reservations for `(container_id, ifname)`: the owner content is written once to
    /// a temporary file, and every [`Claimer::claim`] links it to an address's name.
    pub fn claimer(&self, container_id: &str, ifname: &str) -> Result<Claimer<'_>, IpamError> {
        let tmp = self.dir.join(RESERVE_TMP);
        // Only a killed process leaves this file (we hold the lock). It may share its inode
        // with a reservation it was linked to, so it is unlinked, never truncated.
        remove_if_present(&tmp)?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)
            .map_err(|e| IpamError::io(&tmp, e))?;
        let claimer = Claimer { store: self, tmp };
        file.write_all(Owner::content(container_id, ifname).as_bytes())
            .map_err(|e| IpamError::io(&claimer.tmp, e))?;
        Ok(claimer)
    }

    /// Removes the reservation of `ip`; an absent one is already released.
    pub fn release(&self, ip: IpAddr) -> Result<(), IpamError> {
        remove_if_present(&self.dir.join(ip.to_string()))
    }

    /// Removes a file named `name` of this directory, if present.
    pub fn remove(&self, name: &str) -> Result<(), IpamError> {
        remove_if_present(&self.dir.join(name))
    }

    /// Who holds `ip`, if anyone.
    pub fn owner_of(&self, ip: IpAddr) -> Result<Option<Owner>, IpamError> {
        let path = self.dir.join(ip.to_string());
        match read_small(&path) {
            Ok(text) => Ok(Some(Owner::parse(&text))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(IpamError::io(&path, e)),
        }
    }

    /// The last address handed out from range set `set`; `None` when unknown or unreadable
    /// (round-robin then restarts at the set's beginning, which is harmless).
    pub fn last_reserved(&self, set: usize) -> Option<IpAddr> {
        let text = read_small(&self.dir.join(format!("{LAST_RESERVED_PREFIX}{set}"))).ok()?;
        text.trim().parse().ok()
    }

    /// Records the last address handed out from range set `set`, rewriting the file in place
    /// as the reference does. Every reader holds the directory lock, and a value torn by a
    /// crash only restarts the round-robin at the set's beginning ([`Store::last_reserved`]),
    /// so a temporary file and a rename — a fresh inode per ADD, a third of host-local's
    /// file-system work — buy nothing here. (Leftover `CURSOR_TMP` files of older versions
    /// are still cleaned up.)
    pub fn set_last_reserved(&self, set: usize, ip: IpAddr) -> Result<(), IpamError> {
        use std::os::unix::fs::FileExt;
        let path = self.dir.join(format!("{LAST_RESERVED_PREFIX}{set}"));
        let text = ip.to_string();
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| IpamError::io(&path, e))?;
        file.write_all_at(text.as_bytes(), 0)
            .and_then(|()| file.set_len(text.len() as u64))
            .map_err(|e| IpamError::io(&path, e))
    }

    /// Every reservation and leftover temporary file. Files that vanish or cannot be read
    /// while listing are skipped: under the lock only an outside hand removes them.
    pub fn entries(&self) -> Result<Vec<Entry>, IpamError> {
        let list = fs::read_dir(&self.dir).map_err(|e| IpamError::io(&self.dir, e))?;
        let mut out = Vec::new();
        for item in list {
            let item = item.map_err(|e| IpamError::io(&self.dir, e))?;
            let name = item.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            match classify(name) {
                Kind::Reservation(ip) => {
                    if let Ok(text) = read_small(&item.path()) {
                        out.push(Entry::Reservation(ip, Owner::parse(&text)));
                    }
                }
                Kind::Temp => out.push(Entry::Temp(name.to_owned())),
                Kind::Other => {}
            }
        }
        Ok(out)
    }
}

/// Links the owner content to address names; the temporary file goes when this is dropped.
#[derive(Debug)]
pub struct Claimer<'s> {
    store: &'s Store,
    tmp: PathBuf,
}

impl Claimer<'_> {
    /// Reserves `ip`: `true` when it is now ours, `false` when someone holds it.
    pub fn claim(&self, ip: IpAddr) -> Result<bool, IpamError> {
        let path = self.store.dir.join(ip.to_string());
        match fs::hard_link(&self.tmp, &path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(IpamError::io(&path, e)),
        }
    }
}

impl Drop for Claimer<'_> {
    fn drop(&mut self) {
        // A failure leaves a file the next locked operation or GC removes.
        let _ = fs::remove_file(&self.tmp);
    }
}

fn remove_if_present(path: &Path) -> Result<(), IpamError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(IpamError::io(path, e)),
    }
}

/// Reads a reservation-sized file with one open, one read and a close: the directory scan of
/// DEL, GC and the duplicate check does this once per reservation, so every syscall counts. A
/// regular file's read returns all it has up to the buffer's size, so a short read is the end;
/// only a file filling the buffer is read on (up to [`MAX_CONTENT`]).
fn read_small(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut buf = [0u8; FAST_READ];
    let n = file.read(&mut buf)?;
    let mut bytes = buf.get(..n).unwrap_or_default().to_vec();
    if n == FAST_READ {
        file.take((MAX_CONTENT - FAST_READ) as u64)
            .read_to_end(&mut bytes)?;
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
