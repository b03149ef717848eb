//! The runtime: plugins found in a search path, run by an [`Exec`], with a cache and locks.

use std::path::{Path, PathBuf};

use serde_json::Value;
use twill_cni::exec::{Exec, Invoker, RealExec};
use twill_cni::result::CniResult;
use twill_cni::Version;

use crate::cache::{Cache, CacheContent, CacheRead, CacheRecord};
use crate::error::RuntimeError;
use crate::lock::Locks;
use crate::network::NetworkList;

/// What to do when an ADD fails part-way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddOptions {
    /// DEL the whole list (in reverse, without a `prevResult`) before returning the error, as
    /// the spec asks of every runtime ("every ADD eventually gets a DEL"). Off by default, as
    /// libcni does nothing: runtimes such as containerd DEL themselves.
    pub rollback: bool,
}

/// A CNI runtime: network-list operations over plugins found in `cni_path`.
///
/// `E` is how plugins are started: [`RealExec`] for child processes, or a substitute (tests,
/// a runtime that starts plugins in a sandbox). The runtime is `Sync` when `E` is, and every
/// operation may be called from many threads at once; per-network and per-attachment locks
/// (see [`crate::lock`]) keep them apart where the spec requires.
#[derive(Debug)]
pub struct Runtime<E = RealExec> {
    pub(crate) exec: E,
    pub(crate) cni_path: Vec<PathBuf>,
    pub(crate) cache: Cache,
    pub(crate) locks: Locks,
}

impl Runtime<RealExec> {
    /// A runtime starting plugins as child processes (stderr passed through), with the cache
    /// in `/var/lib/cni`.
    pub fn with_path(cni_path: Vec<PathBuf>) -> Runtime<RealExec> {
        Runtime::new(RealExec::default(), cni_path)
    }
}

impl<E: Exec> Runtime<E> {
    /// A runtime with the default cache directory (`/var/lib/cni`).
    pub fn new(exec: E, cni_path: Vec<PathBuf>) -> Runtime<E> {
        let cache = Cache::default();
        Runtime {
            exec,
            cni_path,
            locks: Locks::new(cache.dir()),
            cache,
        }
    }

    /// Uses `dir` for the cache and lock files.
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Runtime<E> {
        self.cache = Cache::new(dir);
        self.locks = Locks::new(self.cache.dir());
        self
    }

    /// The attachment cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The directories plugins are looked up in.
    pub fn cni_path(&self) -> &[PathBuf] {
        &self.cni_path
    }

    /// The cache directory.
    pub fn cache_dir(&self) -> &Path {
        self.cache.dir()
    }

    /// The executor.
    pub fn exec(&self) -> &E {
        &self.exec
    }

    pub(crate) fn invoker<'a>(&'a self, net: &'a NetworkList) -> Invoker<'a> {
        Invoker::new(&self.exec, &self.cni_path).with_network(net.name())
    }
}

/// A result in version `to`, as JSON in libcni's shape. A result with no `cniVersion` is
/// taken to be `to` already.
pub(crate) fn convert_result(value: &Value, to: Version) -> Result<Value, RuntimeError> {
    let typed = CniResult::from_value(value, to)?;
    Ok(typed.convert(to)?.to_json())
}

/// The cached record and result of an attachment, read for DEL and CHECK.
pub(crate) struct Cached {
    /// The record, when the file is a readable `cniCacheV1` record.
    pub record: Option<CacheRecord>,
    /// The result in the list's version, when there is one that converts.
    pub result: Option<Value>,
    /// Why there is no usable result, when a file exists but cannot be used.
    pub problem: Option<String>,
}

impl Cached {
    pub(crate) fn read(cache: &Cache, net: &NetworkList, cid: &str, ifname: &str) -> Cached {
        let (record, raw, problem) = match cache.read(net.name(), cid, ifname) {
            CacheRead::Missing => (None, None, None),
            CacheRead::Unreadable { path, reason } => {
                (None, None, Some(format!("{}: {reason}", path.display())))
            }
            CacheRead::Found(CacheContent::LegacyResult(v)) => (None, Some(v), None),
            CacheRead::Found(CacheContent::Record(r)) => {
                let raw = r.result.clone();
                (Some(*r), raw, None)
            }
        };
        let mut cached = Cached {
            record,
            result: None,
            problem,
        };
        if let Some(raw) = raw {
            match convert_result(&raw, net.version()) {
                Ok(v) => cached.result = Some(v),
                Err(e) => cached.problem = Some(format!("cached result: {e}")),
            }
        }
        cached
    }
}
