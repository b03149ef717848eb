//! The integration harness: every test gets its own "host" network namespace and pod
//! namespaces, runs the real plugin binaries inside the host namespace, reads the kernel's
//! state back through twill_kernel, and cleans everything up on drop, also on failure.
//!
//! The machine's own namespace is never touched: plugins run as child processes that enter
//! the test's host namespace before exec, and the test thread itself never changes
//! namespace (checked on drop).

#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod run;
pub mod state;
pub mod traffic;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use twill_kernel::{NetNs, NetNsDir, Netlink};

#[allow(unused_imports)] // as above: not every test binary names it
pub use run::Impl;

/// Where the tests keep their namespaces (not `/run/netns`, so the machine's `ip netns`
/// listing stays clean); names carry the process id and a sandbox number, so they are unique.
pub const ROOT: &str = "/run/twill-plugin-tests";

/// Fails the test unless it runs as root: a skipped test would hide a broken setup.
pub fn require_root() {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "twill plugin integration tests need root (CAP_SYS_ADMIN, CAP_NET_ADMIN): run them as root"
    );
}

/// A namespace made by a sandbox, with a netlink socket inside it.
pub struct Ns {
    /// Its name under the sandbox's directory.
    pub name: String,
    /// Its path, for `CNI_NETNS`.
    pub path: PathBuf,
    /// The open namespace.
    pub ns: NetNs,
    /// A socket inside it.
    pub nl: Netlink,
}

impl Ns {
    /// The path as a string, as it appears in results.
    pub fn path_str(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }
}

/// One test's world: a host namespace, pods, a temporary directory (plugin symlinks, IPAM
/// state). Dropping it deletes the namespaces (and with them every link the plugins made)
/// and the directories.
pub struct Sandbox {
    dir: NetNsDir,
    id: String,
    names: Vec<String>,
    /// The host namespace the plugins run in.
    pub host: Ns,
    /// Temporary files of this sandbox.
    pub tmp: PathBuf,
    home: (u64, u64),
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Sandbox {
    /// A fresh sandbox with its host namespace.
    pub fn new() -> Sandbox {
        require_root();
        let home = NetNs::current().unwrap().identity().unwrap();
        let id = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = NetNsDir::unshared(ROOT);
        let tmp = std::env::temp_dir().join(format!("twill-plugin-test-{id}"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("bin")).unwrap();
        let host_name = format!("{id}-host");
        let host = make(&dir, &host_name);
        let mut sb = Sandbox {
            dir,
            id,
            names: vec![host_name],
            host,
            tmp,
            home,
        };
        run::link_plugins(&sb.tmp.join("bin"));
        sb.host
            .nl
            .link_set_up(twill_kernel::LinkId::Index(1))
            .unwrap();
        sb
    }

    /// A new pod namespace; `name` need only be unique within the sandbox.
    pub fn pod(&mut self, name: &str) -> Ns {
        let full = format!("{}-{name}", self.id);
        let ns = make(&self.dir, &full);
        self.names.push(full);
        ns
    }

    /// Deletes pod namespace `ns` now (its links go with it), as when a pod dies before
    /// its DEL. Its path stays in `ns.path` for the DEL that follows.
    pub fn delete_pod(&mut self, ns: Ns) -> PathBuf {
        let (name, path) = (ns.name.clone(), ns.path.clone());
        drop(ns);
        self.dir.delete(&name).unwrap();
        self.names.retain(|n| *n != name);
        path
    }

    /// The directory host-local keeps its state in for this sandbox.
    pub fn ipam_dir(&self) -> PathBuf {
        self.tmp.join("ipam")
    }
}

fn make(dir: &NetNsDir, name: &str) -> Ns {
    let ns = dir.create(name).unwrap();
    let nl = ns.netlink().unwrap();
    Ns {
        name: name.to_owned(),
        path: dir.path(name).unwrap(),
        ns,
        nl,
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for name in self.names.drain(..) {
            if let Err(e) = self.dir.delete(&name) {
                if !e.is_not_found() {
                    eprintln!("sandbox cleanup: {e}");
                }
            }
        }
        self.dir.remove_if_empty();
        let _ = std::fs::remove_dir_all(&self.tmp);
        let now = NetNs::current().and_then(|ns| ns.identity());
        if !std::thread::panicking() {
            assert_eq!(
                now.unwrap(),
                self.home,
                "the test thread changed network namespace"
            );
        }
    }
}
