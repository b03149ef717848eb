//! nf_tables integration tests against the running kernel. Every test works inside its own
//! network namespaces (nftables state is per namespace), reads the kernel back with our
//! listing and with `nft -j list ruleset` (allowed in tests, never on a plugin's path),
//! and deletes the namespaces on drop, also on failure. Root is required: without it the
//! tests fail, they do not skip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// The sandbox of the rtnetlink tests, shared; not every helper is used here.
#[allow(dead_code)]
#[path = "../kernel_integration/common.rs"]
mod common;
mod fixtures;

mod elements;
mod families;
mod objects;
mod skeleton;
mod traffic;
