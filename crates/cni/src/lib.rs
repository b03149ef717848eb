//! The Container Network Interface protocol, with no kernel code.
//!
//! * [`version`]: the seven spec versions and how they compare.
//! * [`error`]: the spec's error object and codes.
//! * [`command`]: the CNI commands, shared by both sides.
//! * [`json`]: Go-compatible field matching (case-insensitive keys) with errors naming the field.
//! * [`config`]: network configurations and conflists, typed views that keep unknown keys.
//! * [`result`]: results for every spec version and the conversions between them.
//! * [`skel`]: the plugin entry point: environment, stdin, dispatch, output.
//! * [`exec`]: the runtime side: finding, executing and delegating to plugins.
//!
//! Everything here is pure: it reads and writes bytes and never touches the network stack, so a
//! runtime, a plugin and a fuzzer can all use it.

pub mod command;
pub mod config;
pub mod error;
pub mod exec;
pub mod json;
pub mod result;
pub mod skel;
pub mod version;

pub use error::{CniError, Code};
pub use version::{ResultFamily, SemVer, Version};
