//! One plugin test's world: a host namespace (with a real host's settings, see
//! [`crate::host_settings`]), pod namespaces, and a temporary directory holding a plugin
//! directory and IPAM state. Dropping it deletes the namespaces (and with them every link
//! the plugins made) and the directory, also when the test fails. Plugins run as child
//! processes that enter the host namespace before exec ([`crate::run`]); the machine's own
//! namespace is never touched.

use std::path::PathBuf;

use crate::host_settings::HostSettings;
use crate::namespaces::Namespaces;
use crate::ns::Ns;
use crate::plugins::{link_plugins, script, OURS};

/// An IPAM stand-in that speaks 1.1.0 (the reference's host-local stops at 1.0.0): ADD
/// prints one fixed address; every command is appended to `fixed-ipam.log` beside it.
pub const FIXED_IPAM: &str = "fixed-ipam";

const FIXED_IPAM_SCRIPT: &str = r#"#!/bin/sh
cat >/dev/null
echo "$CNI_COMMAND" >> "$(dirname "$0")/fixed-ipam.log"
if [ "$CNI_COMMAND" = ADD ]; then
  printf '{"cniVersion":"1.1.0","ips":[{"address":"10.1.0.2/24","gateway":"10.1.0.1"}]}'
fi
"#;

/// A host namespace, its pods and temporary files.
#[derive(Debug)]
pub struct Sandbox {
    /// The host namespace the plugins run in.
    pub host: Ns,
    /// Temporary files of this sandbox: `bin/` (the plugin directory), IPAM state, records.
    pub tmp: PathBuf,
    nss: Namespaces,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

impl Sandbox {
    /// A fresh sandbox whose host namespace has a real host's settings.
    pub fn new() -> Sandbox {
        Sandbox::with_settings(&HostSettings::default())
    }

    /// A fresh sandbox whose host namespace has `settings`: for tests that depend on a value
    /// ([`HostSettings::with`]).
    pub fn with_settings(settings: &HostSettings) -> Sandbox {
        let mut nss = Namespaces::new();
        let tmp = std::env::temp_dir().join(format!("twill-test-{}", nss.id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("bin")).unwrap();
        // From here on a failure still removes `tmp` (Drop).
        let host = nss.host("host", settings);
        let sb = Sandbox { host, tmp, nss };
        link_plugins(&sb.bin_dir(), &OURS);
        script(&sb.bin_dir(), FIXED_IPAM, FIXED_IPAM_SCRIPT);
        sb
    }

    /// The sandbox's `<pid>-<n>`.
    pub fn id(&self) -> &str {
        self.nss.id()
    }

    /// A new pod namespace; `name` need only be unique within the sandbox.
    pub fn pod(&mut self, name: &str) -> Ns {
        self.nss.plain(name)
    }

    /// Another namespace playing a host (a second node, the far end of an underlay), with
    /// `settings`.
    pub fn another_host(&mut self, name: &str, settings: &HostSettings) -> Ns {
        self.nss.host(name, settings)
    }

    /// Deletes pod namespace `ns` now (its links go with it), as when a pod dies before
    /// its DEL. Its path is returned for the DEL that follows.
    pub fn delete_pod(&mut self, ns: Ns) -> PathBuf {
        let (name, path) = (ns.name.clone(), ns.path.clone());
        drop(ns);
        self.nss.delete(&name);
        path
    }

    /// The namespaces of this sandbox.
    pub fn namespaces(&mut self) -> &mut Namespaces {
        &mut self.nss
    }

    /// The plugin directory: a symlink to `twill-cni` per name in [`OURS`], and
    /// [`FIXED_IPAM`].
    pub fn bin_dir(&self) -> PathBuf {
        self.tmp.join("bin")
    }

    /// The directory host-local keeps its state in for this sandbox.
    pub fn ipam_dir(&self) -> PathBuf {
        self.tmp.join("ipam")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // The namespaces go when `nss` drops, right after this.
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}
