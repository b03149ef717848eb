//! Where things are: configuration directories, plugins, cache, run state, namespaces.

use std::path::PathBuf;

use twill_cni::exec::{RealExec, StderrMode};
use twill_kernel::NetNsDir;
use twill_runtime::Runtime;

use crate::args::Global;

/// The settings of one invocation, from flags and the environment.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Print JSON.
    pub json: bool,
    /// Configuration directories, in search order; `net create` writes to the first.
    pub conf_dirs: Vec<PathBuf>,
    /// Plugin directories.
    pub cni_path: Vec<PathBuf>,
    /// The attachment cache.
    pub cache_dir: PathBuf,
    /// Run-state files and the embedded default network.
    pub state_dir: PathBuf,
    /// Named network namespaces made by `twill run`.
    pub netns_dir: PathBuf,
}

impl Ctx {
    /// From the parsed global options. Empty entries of `:`-separated lists are dropped, as
    /// an empty CNI_PATH entry would otherwise mean the current directory.
    pub fn new(g: &Global) -> Ctx {
        let non_empty = |v: &[PathBuf]| -> Vec<PathBuf> {
            v.iter()
                .filter(|p| !p.as_os_str().is_empty())
                .cloned()
                .collect()
        };
        Ctx {
            json: g.json,
            conf_dirs: non_empty(&g.conf_dirs),
            cni_path: non_empty(&g.cni_path),
            cache_dir: g.cache_dir.clone(),
            state_dir: g.state_dir.clone(),
            netns_dir: g.netns_dir.clone(),
        }
    }

    /// A runtime whose plugins' stderr passes through to ours, as cnitool's does.
    pub fn runtime(&self) -> Runtime {
        Runtime::with_path(self.cni_path.clone()).with_cache_dir(&self.cache_dir)
    }

    /// A runtime that keeps plugins' stderr for error messages only: for probing (VERSION)
    /// where a failing plugin's own complaint would only be noise.
    pub fn quiet_runtime(&self) -> Runtime {
        let exec = RealExec {
            stderr: StderrMode::Capture,
            ..RealExec::default()
        };
        Runtime::new(exec, self.cni_path.clone()).with_cache_dir(&self.cache_dir)
    }

    /// Where the embedded default network is written.
    pub fn default_net_dir(&self) -> PathBuf {
        self.state_dir.join("net.d")
    }

    /// host-local's `dataDir` for the configurations twill writes: unset (host-local's own
    /// default, /var/lib/cni/networks) with libcni's cache directory, otherwise beside the
    /// cache — so a private cache directory keeps its address reservations private too.
    pub fn ipam_data_dir(&self) -> Option<PathBuf> {
        (self.cache_dir != std::path::Path::new(twill_runtime::cache::DEFAULT_CACHE_DIR))
            .then(|| self.cache_dir.join("networks"))
    }

    /// Where run-state files live.
    pub fn runs_dir(&self) -> PathBuf {
        self.state_dir.join("runs")
    }

    /// The named-namespace directory.
    pub fn netns(&self) -> NetNsDir {
        NetNsDir::new(&self.netns_dir)
    }

    /// The first configuration directory (where `net create` writes).
    pub fn primary_conf_dir(&self) -> PathBuf {
        self.conf_dirs
            .first()
            .cloned()
            .unwrap_or_else(|| PathBuf::from("/etc/cni/net.d"))
    }

    /// CNI_PATH as a string, for messages.
    pub fn cni_path_str(&self) -> String {
        twill_cni::exec::env::join_cni_path(&self.cni_path)
    }
}
