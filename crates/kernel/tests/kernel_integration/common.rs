//! The test sandbox: namespaces that are always deleted, even when a test fails.

use std::sync::atomic::{AtomicU32, Ordering};

use twill_kernel::{NetNs, NetNsDir, Netlink};

/// Where the tests keep their named namespaces (not `/run/netns`, so `ip netns` listings on
/// the machine stay clean).
pub const NS_DIR: &str = "/run/twill-kernel-tests";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Fails the test unless it runs as root: namespaces and links need CAP_SYS_ADMIN and
/// CAP_NET_ADMIN, and a skipped test would hide a broken setup.
pub fn require_root() {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "twill-kernel integration tests need root (CAP_SYS_ADMIN, CAP_NET_ADMIN); run them as root"
    );
}

/// One test namespace: its name, an open handle, and a netlink socket opened inside it.
pub struct TestNs {
    #[allow(dead_code)] // kept for debugging output of failing tests
    pub name: String,
    pub ns: NetNs,
    pub nl: Netlink,
}

/// Owns the namespaces a test made and deletes them all on drop (also during a panic). It
/// also checks that the test thread never left the namespace it started in.
pub struct Sandbox {
    dir: NetNsDir,
    names: Vec<String>,
    home: (u64, u64),
}

impl Sandbox {
    pub fn new() -> Self {
        require_root();
        let home = NetNs::current().unwrap().identity().unwrap();
        Sandbox {
            dir: NetNsDir::unshared(NS_DIR),
            names: Vec::new(),
            home,
        }
    }

    pub fn dir(&self) -> &NetNsDir {
        &self.dir
    }

    /// A unique name; the caller may create it or use it to test failures.
    pub fn unique_name(&self) -> String {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        format!("twk-{}-{n}", std::process::id())
    }

    /// Creates a fresh namespace with a socket inside it.
    pub fn ns(&mut self) -> TestNs {
        let name = self.unique_name();
        let ns = self.dir.create(&name).unwrap();
        self.names.push(name.clone());
        let nl = ns.netlink().unwrap();
        TestNs { name, ns, nl }
    }

    /// Registers a namespace created outside `ns()` for cleanup.
    pub fn adopt(&mut self, name: &str) {
        self.names.push(name.to_owned());
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
