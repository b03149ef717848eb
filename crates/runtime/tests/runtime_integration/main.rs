//! Integration tests of the runtime with the reference plugins and the reference runtime
//! (Go's libcni, through tools/libcni-driver). They need root, /usr/lib/cni and Go: run
//! scripts/setup.sh first; anything missing fails the tests, never skips them.

// Test code: a panic is a test failure with its reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod bridge;
mod chain_interop;
mod chains;
mod crash;
mod differential;
mod host_local;
mod support;
