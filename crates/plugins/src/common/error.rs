//! The edge between kernel errors and CNI errors.

use twill_cni::{CniError, Code};

/// A kernel failure as a CNI error. The kernel crate's message already names the operation
/// and the object (`create link "veth1a2b3c4d" (peer "eth0"): File exists`). The code is the
/// one the reference plugins report for such failures (999, their catch-all), so runtimes
/// that match on codes see the same thing.
pub fn kernel(e: twill_kernel::Error) -> CniError {
    CniError::new(Code::INTERNAL, e.to_string())
}

/// A failure described by `msg`, with the reference plugins' catch-all code.
pub fn internal(msg: impl Into<String>) -> CniError {
    CniError::new(Code::INTERNAL, msg)
}

/// The outcome of steps that were each attempted: `Ok` when none failed, otherwise one
/// error naming every failure.
pub fn all_done(failures: Vec<String>) -> Result<(), CniError> {
    if failures.is_empty() {
        Ok(())
    } else {
        Err(internal(failures.join("; ")))
    }
}
