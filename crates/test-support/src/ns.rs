//! One namespace of a test.

use std::path::PathBuf;

use twill_kernel::{NetNs, Netlink};

/// A namespace made by a test, with a netlink socket inside it.
#[derive(Debug)]
pub struct Ns {
    /// Its name in the test's namespace directory.
    pub name: String,
    /// Its path, for `CNI_NETNS` and `nsenter --net=`.
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
