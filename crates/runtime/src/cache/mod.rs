//! The attachment cache, in libcni's format and place, so either runtime can DEL what the
//! other added: `<dir>/results/<network>-<containerID>-<ifname>` holding a `cniCacheV1`
//! record ([`CacheRecord`]), directory mode 0700, file mode 0600.
//!
//! Unlike libcni, files are replaced atomically ([`atomic::write`]), and a file that cannot be
//! read is reported as [`CacheRead::Unreadable`] instead of failing the caller: DEL goes on
//! without a `prevResult` and removes it (libcni refuses the DEL, and the pod's resources leak).

pub mod atomic;
pub mod record;

use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

pub use record::{CacheContent, CacheFormatError, CacheRecord, KIND_V1};

use crate::error::RuntimeError;

/// libcni's default cache directory.
pub const DEFAULT_CACHE_DIR: &str = "/var/lib/cni";

/// Mode of the `results` directory.
const DIR_MODE: u32 = 0o700;
/// Mode of a cache file: results can name addresses and namespaces of other tenants.
const FILE_MODE: u32 = 0o600;

/// A cache directory (`/var/lib/cni` by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    dir: PathBuf,
}

/// One attachment's cache file, as read.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheRead {
    /// No file.
    Missing,
    /// A record or a legacy result.
    Found(CacheContent),
    /// A file that exists but cannot be used (empty, torn, unreadable).
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// A cached attachment found by listing.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedAttachment {
    /// Its file.
    pub path: PathBuf,
    /// Its record.
    pub record: CacheRecord,
}

/// Everything in the cache (or one network's part of it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    /// Readable records, by file name.
    pub attachments: Vec<CachedAttachment>,
    /// Files that are not readable records (torn, empty, legacy bare results — which do not
    /// say which attachment they belong to), with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
}

impl Default for Cache {
    fn default() -> Self {
        Cache::new(DEFAULT_CACHE_DIR)
    }
}

impl Cache {
    /// The cache under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/results`.
    pub fn results_dir(&self) -> PathBuf {
        self.dir.join("results")
    }

    /// The file of one attachment. The caller validates the parts (the network name by
    /// parsing the configuration, the others with [`crate::Attachment::validate`]).
    pub fn file(&self, network: &str, container_id: &str, ifname: &str) -> PathBuf {
        self.results_dir()
            .join(format!("{network}-{container_id}-{ifname}"))
    }

    /// Reads one attachment's file. Never fails: a file that cannot be read for any reason is
    /// [`CacheRead::Unreadable`], so that a DEL is never blocked by its cache.
    pub fn read(&self, network: &str, container_id: &str, ifname: &str) -> CacheRead {
        let path = self.file(network, container_id, ifname);
        match fs::read(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => CacheRead::Missing,
            Err(e) => CacheRead::Unreadable {
                path,
                reason: e.to_string(),
            },
            Ok(bytes) => match record::parse(&bytes) {
                Ok(content) => CacheRead::Found(content),
                Err(e) => CacheRead::Unreadable {
                    path,
                    reason: e.to_string(),
                },
            },
        }
    }

    /// Writes a record atomically, creating the directory (0700) if needed.
    pub fn write(&self, record: &CacheRecord) -> Result<(), RuntimeError> {
        let dir = self.results_dir();
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(&dir)
            .map_err(|e| RuntimeError::io("create cache directory", &dir, e))?;
        let path = self.file(&record.network_name, &record.container_id, &record.ifname);
        atomic::write(&path, &record.to_bytes(), FILE_MODE)
            .map_err(|e| RuntimeError::io("write cache file", path, e))
    }

    /// Removes one attachment's file; absent is success.
    pub fn remove(
        &self,
        network: &str,
        container_id: &str,
        ifname: &str,
    ) -> Result<(), RuntimeError> {
        let path = self.file(network, container_id, ifname);
        atomic::remove(&path).map_err(|e| RuntimeError::io("remove cache file", path, e))
    }

    /// Removes a file found by [`Cache::list`] (for cleaning up unreadable ones).
    pub fn remove_path(&self, path: &Path) -> Result<(), RuntimeError> {
        let inside = path.parent() == Some(self.results_dir().as_path());
        if !inside {
            return Err(RuntimeError::io(
                "remove cache file",
                path,
                io::Error::new(io::ErrorKind::InvalidInput, "not a file of this cache"),
            ));
        }
        atomic::remove(path).map_err(|e| RuntimeError::io("remove cache file", path, e))
    }

    /// Lists cached attachments, all of them or one network's, in file name order.
    ///
    /// A readable record belongs to the network it names. An unreadable file is listed under
    /// `network` when its name starts with `<network>-`; as network names may contain `-`,
    /// such a file may also belong to a network whose name extends this one.
    pub fn list(&self, network: Option<&str>) -> Result<Listing, RuntimeError> {
        let dir = self.results_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Listing::default()),
            Err(e) => return Err(RuntimeError::io("read directory", dir, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| RuntimeError::io("read directory", &dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // Temporary files of a write in progress, and anything hidden, are not entries.
            if !name.starts_with('.') && entry.file_type().is_ok_and(|t| t.is_file()) {
                names.push(name);
            }
        }
        names.sort();
        let mut listing = Listing::default();
        for name in names {
            let path = dir.join(&name);
            let parsed = fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| record::parse(&b).map_err(|e| e.to_string()));
            match parsed {
                Ok(CacheContent::Record(record)) => {
                    if network.map_or(true, |n| n == record.network_name) {
                        listing.attachments.push(CachedAttachment {
                            path,
                            record: *record,
                        });
                    }
                }
                Ok(CacheContent::LegacyResult(_)) => {
                    if network.map_or(true, |n| name.starts_with(&format!("{n}-"))) {
                        let why = "a legacy bare result, which does not name its attachment";
                        listing.unreadable.push((path, why.to_owned()));
                    }
                }
                Err(reason) => {
                    if network.map_or(true, |n| name.starts_with(&format!("{n}-"))) {
                        listing.unreadable.push((path, reason));
                    }
                }
            }
        }
        Ok(listing)
    }
}
