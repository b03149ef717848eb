//! Integration tests of the `twill` binary: each test runs it inside a network namespace of
//! its own that plays the host, with every directory it uses in a temporary place. They need
//! root, the plugin binary built beside `twill` (`cargo build --workspace`) and the reference
//! plugins in /usr/lib/cni (scripts/setup.sh); anything missing fails the test.

// Test code: a panic is a test failure with its reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod cnitool;
mod listing;
mod net;
mod run;
mod run_modes;
mod support;
