//! Running plugin binaries — ours and the reference — inside a sandbox's host namespace:
//! the shared harness's, under the names the plugin tests use.

pub use twill_test_support::plugins::{link_plugins, OURS, REFERENCE_DIR};
pub use twill_test_support::run::{Impl, Request, Run};
pub use twill_test_support::sandbox::FIXED_IPAM;

/// The multi-call binary under test, as cargo built it for this crate's tests.
pub const TWILL_CNI: &str = env!("CARGO_BIN_EXE_twill-cni");
