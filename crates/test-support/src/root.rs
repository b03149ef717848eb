//! The integration tests need root.

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
