//! The test sandbox: the shared harness's namespaces (`twill-test-support`), always deleted,
//! even when a test fails, with the check that the test thread never left its namespace.
//!
//! Each namespace stands for a machine, so it starts with a real host's settings
//! (forwarding on, strict reverse-path filtering), not whatever the machine running the
//! tests has; the loopback stays as the kernel made it (down), which some tests look at.

use twill_kernel::NetNsDir;
use twill_test_support::{HostSettings, Namespaces};

pub use twill_test_support::Ns as TestNs;

/// Owns the namespaces a test made and deletes them all on drop (also during a panic).
pub struct Sandbox {
    nss: Namespaces,
    made: u32,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            nss: Namespaces::new(),
            made: 0,
        }
    }

    pub fn dir(&self) -> &NetNsDir {
        self.nss.dir()
    }

    /// A unique name; the caller may create it or use it to test failures.
    pub fn unique_name(&self) -> String {
        self.nss.unique_name()
    }

    /// Creates a fresh namespace with a socket inside it.
    pub fn ns(&mut self) -> TestNs {
        self.made += 1;
        let ns = self.nss.plain(&format!("n{}", self.made));
        HostSettings::default().apply(&ns.ns);
        ns
    }

    /// Registers a namespace created outside `ns()` for cleanup.
    pub fn adopt(&mut self, name: &str) {
        self.nss.adopt(name);
    }
}
