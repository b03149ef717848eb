//! The CNI runtime library: what libcni is to Go runtimes, for Rust ones.
//!
//! * [`ConfDir`]: networks from a configuration directory (`/etc/cni/net.d`): `.conflist`
//!   files, single-plugin `.conf`/`.json` files, plugin objects from `<dir>/<network>/`;
//!   a broken file is reported beside the networks that loaded instead of hiding them.
//! * [`NetworkList`]: one network ready to run; [`Attachment`]: one container's attachment
//!   to it (libcni's `RuntimeConf`).
//! * [`Runtime`]: ADD, DEL, CHECK, GC, STATUS, validation and VERSION over a network list,
//!   with plugins started by any [`twill_cni::exec::Exec`], so tests and embedders can
//!   substitute how plugins run.
//! * [`cache`]: the attachment cache in libcni's format and place (`cniCacheV1` under
//!   `/var/lib/cni/results`), written atomically; either runtime DELs what the other added.
//! * [`lock`]: per-network and per-attachment locks, so runtimes on one host never run two
//!   operations on one attachment at once, nor GC beside an ADD or DEL.
//!
//! ```no_run
//! use twill_runtime::{Attachment, ConfDir, Runtime};
//!
//! let found = ConfDir::new("/etc/cni/net.d").find("mynet")?;
//! let runtime = Runtime::with_path(vec!["/opt/cni/bin".into()]).with_cache_dir("/var/lib/cni");
//! let att = Attachment::new("c0ffee", "/run/netns/pod1", "eth0");
//! let result = runtime.add(&found.network, &att)?;
//! println!("{}", result.value);
//! runtime.check(&found.network, &att)?;
//! runtime.del(&found.network, &att)?;
//! # Ok::<(), twill_runtime::RuntimeError>(())
//! ```
//!
//! Where this library and libcni differ, and why, is in `docs/runtime.md`.

#![warn(missing_docs)]

mod attachment;
pub mod cache;
mod confdir;
mod error;
pub mod lock;
mod network;
mod ops;
mod runtime;

#[cfg(test)]
mod confdir_tests;
#[cfg(test)]
mod testing;

pub use attachment::Attachment;
pub use confdir::{ConfDir, Found, Loaded};
pub use error::RuntimeError;
pub use network::NetworkList;
pub use runtime::{AddOptions, Runtime};
pub use twill_cni::config::GcAttachment;
pub use twill_cni::exec::RawResult;
