//! A Kubernetes node as the CRI tests see it: a host namespace with a real container host's
//! settings, a plugin directory (twill's symlinks, or the reference plugins), a CNI
//! configuration directory, and a private containerd using both. Everything of the node goes
//! on drop: containerd first (its pods' DEL runs inside the host), then the namespace and the
//! files.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cri::{Containerd, CriConfig};
use crate::host_settings::HostSettings;
use crate::namespaces::Namespaces;
use crate::ns::Ns;
use crate::plugins::{link_plugins, reference_dir, OURS};
use crate::tempdir::TempDir;

/// Whose plugins the node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugins {
    /// A directory of `twill-cni` symlinks (every plugin a test node uses, loopback too).
    Twill,
    /// Debian's containernetworking-plugins in /usr/lib/cni.
    Reference,
}

/// One node.
pub struct CriNode {
    // Drop order is field order: containerd, then the namespaces, then the files.
    pub containerd: Containerd,
    pub host: Ns,
    namespaces: Namespaces,
    pub tmp: TempDir,
    /// The network's name: unique on the machine (twill's records and libcni's cache live in
    /// machine-wide directories keyed by it).
    pub network: String,
}

impl std::fmt::Debug for CriNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CriNode({})", self.network)
    }
}

/// containerd's `bin_dir`: twill's symlinks in `tmp/bin` (where a test may add plugins of its
/// own, such as a sleeper), or the reference directory.
fn bin_dir(tmp: &Path, plugins: Plugins) -> PathBuf {
    match plugins {
        Plugins::Twill => {
            let dir = tmp.join("bin");
            std::fs::create_dir_all(&dir).unwrap();
            link_plugins(&dir, &OURS);
            dir
        }
        Plugins::Reference => {
            reference_dir(&["bridge", "host-local", "portmap", "loopback"]).to_owned()
        }
    }
}

impl CriNode {
    /// A node running `plugins`, with configuration `conflist(node)` written as
    /// `10-<network>.conflist` before containerd starts (none when it returns `Null`).
    pub fn new(plugins: Plugins, conflist: impl FnOnce(&NodePaths) -> Value) -> CriNode {
        CriNode::with(plugins, |_| {}, conflist)
    }

    /// As [`CriNode::new`], `tune` adjusting containerd's configuration first (a template,
    /// extra plugins in [`NodePaths::bin`]).
    pub fn with(
        plugins: Plugins,
        tune: impl FnOnce(&mut CriConfig),
        conflist: impl FnOnce(&NodePaths) -> Value,
    ) -> CriNode {
        let mut namespaces = Namespaces::new();
        let host = namespaces.host("node", &HostSettings::default().forwarding(true));
        let tmp = TempDir::new("crinode");
        let network = format!("twill-cri-{}", namespaces.id());
        let paths = NodePaths {
            dir: tmp.path().to_owned(),
            bin: bin_dir(tmp.path(), plugins),
            conf: tmp.join("net.d"),
            network: network.clone(),
        };
        std::fs::create_dir_all(&paths.conf).unwrap();
        let list = conflist(&paths);
        if !list.is_null() {
            paths.write_conflist(&list);
        }
        let mut config = CriConfig::new(&paths.bin, &paths.conf);
        tune(&mut config);
        let containerd = Containerd::start(&host, config);
        CriNode {
            containerd,
            host,
            namespaces,
            tmp,
            network,
        }
    }

    /// The node's paths.
    pub fn paths(&self) -> NodePaths {
        NodePaths {
            dir: self.tmp.path().to_owned(),
            bin: self.containerd.config.bin_dir.clone(),
            conf: self.containerd.config.conf_dir.clone(),
            network: self.network.clone(),
        }
    }

    /// The namespaces of the node (for more namespaces a test needs).
    pub fn namespaces(&mut self) -> &mut Namespaces {
        &mut self.namespaces
    }
}

/// Where a node keeps its files, for the configuration a test writes.
#[derive(Debug, Clone)]
pub struct NodePaths {
    pub dir: PathBuf,
    /// containerd's `bin_dir`.
    pub bin: PathBuf,
    /// containerd's `conf_dir`.
    pub conf: PathBuf,
    /// The network name to use.
    pub network: String,
}

impl NodePaths {
    /// host-local's `dataDir`.
    pub fn ipam(&self) -> PathBuf {
        self.dir.join("ipam")
    }

    /// A `dataDir` of plugin `name` (twill's portmap, tuning…).
    pub fn data(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `list` as the node's only configuration (atomically: containerd watches the
    /// directory and must never read half a file).
    pub fn write_conflist(&self, list: &Value) {
        let tmp = self.dir.join(".conflist.tmp");
        std::fs::write(&tmp, list.to_string()).unwrap();
        std::fs::rename(
            &tmp,
            self.conf.join(format!("10-{}.conflist", self.network)),
        )
        .unwrap();
    }
}
