//! The plugin tests' harness: the shared one of `twill-test-support` — every test gets its
//! own "host" network namespace (with a real host's settings) and pod namespaces, runs the
//! real plugin binaries inside the host namespace and cleans everything up on drop, also on
//! failure — plus [`state`], the kernel's state around an attachment as JSON, which only the
//! plugin tests compare.
//!
//! The names here are the ones the plugin tests have always used (`support::Sandbox`,
//! `support::run::Request`, `support::traffic::udp`, …).

#![allow(dead_code, unused_imports)] // each test binary uses a different part of the harness

pub mod child_diff;
pub mod run;
pub mod state;

pub use twill_test_support::namespaces::ROOT;
pub use twill_test_support::{require_root, traffic, HostSettings, Impl, Ns, Sandbox};
