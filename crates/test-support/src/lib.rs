//! Test code shared by every crate's integration tests, so no crate copies another's harness.
//!
//! Tests use it as a dev-dependency only; nothing here is part of a shipped binary. It may
//! panic freely: a failed setup step is a failed test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(missing_debug_implementations)]

/// Fails the test unless it runs as root: namespaces and links need CAP_SYS_ADMIN and
/// CAP_NET_ADMIN, and a skipped test would hide a broken setup.
pub fn require_root() {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "twill's integration tests need root (CAP_SYS_ADMIN, CAP_NET_ADMIN): run them as root"
    );
}

pub mod binaries;
pub mod cluster;
pub mod etcd;
pub mod multihost;
