//! Named namespaces that are always deleted, even when a test fails, and the check that the
//! test thread never left the namespace it started in.
//!
//! They live under a test-only directory (not `/run/netns`, so the machine's `ip netns`
//! listing and other software's namespaces there are never involved), each named after the
//! process and a per-process sandbox number, so tests of several processes never collide.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use twill_kernel::NetNsDir;

use crate::home::Home;
use crate::host_settings::HostSettings;
use crate::ns::Ns;
use crate::root::require_root;

/// The directory every sandbox keeps its namespaces in, unless it has one of its own.
pub const ROOT: &str = "/run/twill-tests";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The namespaces of one test, deleted on drop.
#[derive(Debug)]
pub struct Namespaces {
    dir: NetNsDir,
    /// Prepended to every name in a shared directory; empty in a directory of our own.
    prefix: String,
    /// The sandbox's own directory, whose every entry goes on drop (programs under test
    /// may add namespaces to it), and its parent.
    own_dir: Option<PathBuf>,
    names: Vec<String>,
    id: String,
    home: Home,
}

impl Namespaces {
    /// Namespaces named `<pid>-<n>-<name>` in the shared directory [`ROOT`].
    pub fn new() -> Namespaces {
        Namespaces::start(|id| (NetNsDir::unshared(ROOT), format!("{id}-"), None))
    }

    /// Namespaces in a directory of this sandbox's own, `<root>/<pid>-<n>`, named as asked:
    /// for programs under test that are given the directory and create or list namespaces
    /// in it themselves (the CLI's `--netns-dir`). It is a shared mount point, as `ip netns`
    /// makes one, and everything in it is deleted on drop.
    pub fn own_dir(root: &Path) -> Namespaces {
        Namespaces::start(|id| {
            let dir = root.join(id);
            (NetNsDir::new(&dir), String::new(), Some(root.to_owned()))
        })
    }

    fn start(layout: impl FnOnce(&str) -> (NetNsDir, String, Option<PathBuf>)) -> Namespaces {
        require_root();
        let home = Home::here();
        let id = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let (dir, prefix, own_dir) = layout(&id);
        Namespaces {
            dir,
            prefix,
            own_dir,
            names: Vec::new(),
            id,
            home,
        }
    }

    /// This sandbox's `<pid>-<n>`, unique on the machine while the process lives.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The directory of named namespaces.
    pub fn dir(&self) -> &NetNsDir {
        &self.dir
    }

    /// The name `name` gets in the directory.
    pub fn full_name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// A name nobody has used yet; the caller may create it or use it to test failures.
    pub fn unique_name(&self) -> String {
        static UNIQUE: AtomicU32 = AtomicU32::new(0);
        let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
        self.full_name(&format!("u{n}"))
    }

    /// A test host namespace `name` with `settings` ([`HostSettings::default`]: a real
    /// host's) and its loopback up. Every namespace playing a host is made here.
    pub fn host(&mut self, name: &str, settings: &HostSettings) -> Ns {
        let mut ns = self.plain(name);
        settings.apply(&ns.ns);
        ns.nl.link_set_up(twill_kernel::LinkId::Index(1)).unwrap();
        ns
    }

    /// A namespace `name` as the kernel makes it (a pod's, before any plugin ran), with a
    /// socket inside.
    pub fn plain(&mut self, name: &str) -> Ns {
        let full = self.full_name(name);
        // Another process removing the shared directory when it found it empty can race
        // with creating our file in it: one retry recreates the directory.
        let ns = self
            .dir
            .create(&full)
            .or_else(|_| self.dir.create(&full))
            .unwrap();
        self.names.push(full.clone());
        let nl = ns.netlink().unwrap();
        Ns {
            path: self.dir.path(&full).unwrap(),
            name: full,
            ns,
            nl,
        }
    }

    /// Deletes namespace `full_name` now (its links go with it once nothing holds it).
    pub fn delete(&mut self, full_name: &str) {
        self.dir.delete(full_name).unwrap();
        self.names.retain(|n| n != full_name);
    }

    /// Registers a namespace created outside this sandbox for deletion on drop.
    pub fn adopt(&mut self, full_name: &str) {
        self.names.push(full_name.to_owned());
    }
}

impl Default for Namespaces {
    fn default() -> Self {
        Namespaces::new()
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        let mut names: Vec<String> = self.names.drain(..).collect();
        if self.own_dir.is_some() {
            names.extend(self.dir.list().unwrap_or_default());
            names.sort();
            names.dedup();
        }
        for name in names {
            if let Err(e) = self.dir.delete(&name) {
                if !e.is_not_found() {
                    eprintln!("sandbox cleanup: {e}");
                }
            }
        }
        match &self.own_dir {
            Some(root) => {
                unmount(self.dir.dir());
                let _ = std::fs::remove_dir(self.dir.dir());
                // The shared parent goes with the last sandbox (fails while others remain).
                let _ = std::fs::remove_dir(root);
            }
            None => self.dir.remove_if_empty(),
        }
        self.home.assert_still_here();
    }
}

/// Detaches the mount a shared namespace directory is (failure: it was none).
fn unmount(dir: &Path) {
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return;
    };
    // SAFETY: umount2(2) with a valid NUL-terminated path.
    unsafe {
        libc::umount2(c.as_ptr(), libc::MNT_DETACH);
    }
}
