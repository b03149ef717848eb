//! Integration tests against the running kernel. Each test makes its own named network
//! namespaces (the shared harness's, under /run/twill-tests) and works only inside them; the
//! machine's own namespace is never changed. They need root: without it they fail, they do
//! not skip.

// clippy.toml lets `#[test]` functions unwrap; the helpers they share (the sandbox, fixtures)
// are test code too, where a panic is the failure report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod addrs;
mod bridge_ports;
mod common;
mod flags;
mod links;
mod macvlan;
mod namespaces;
mod neighbours;
mod overlay;
mod reclaim;
mod routes;
mod rules;
mod scale;
mod tc;
mod traffic;
mod tun;
