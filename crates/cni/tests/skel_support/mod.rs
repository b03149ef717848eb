//! Helpers shared by the `skel_*` integration tests. Each test crate uses a part of them (and
//! of the re-exported names), so the rest is unused there.
#![allow(dead_code, unused_imports)]

pub mod memory;
pub mod process;
