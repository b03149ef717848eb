//! The Container Network Interface protocol, with no kernel code.
//!
//! * [`version`]: the seven spec versions and how they compare.
//! * [`error`]: the spec's error object and codes.
//! * [`json`]: Go-compatible field matching (case-insensitive keys) with errors naming the field.
//!
//! Everything here is pure: it reads and writes bytes and never touches the network stack, so a
//! runtime, a plugin and a fuzzer can all use it.

pub mod error;
pub mod json;
pub mod version;

pub use error::{CniError, Code};
pub use version::{ResultFamily, SemVer, Version};
