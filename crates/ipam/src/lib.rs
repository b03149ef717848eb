//! IP address management for twill's plugins, with no kernel code.
//!
//! * [`host_local`]: addresses from range sets, reserved in files under
//!   `<dataDir>/<network>/` in exactly the reference plugin's format and under the same lock,
//!   so both implementations can share one directory ([`store`], [`allocator`], [`range`]).
//! * [`static_ipam`]: the addresses written in the configuration or given by the runtime.
//! * [`dhcp`]: the DHCPv4 client of the `dhcp` plugin's daemon — message and option
//!   formats, the client's states and leases — with no sockets.
//! * [`config`]: host-local's configuration, validated with the reference's rules; every
//!   refusal names the field (`ipam.ranges[0][1].subnet`).
//!
//! Errors are typed ([`IpamError`]) and become a [`twill_cni::CniError`] with the right code at
//! the plugin's edge. The on-disk format, locking, crash safety and GC are described in
//! `docs/ipam.md`.

pub mod addr;
pub mod allocator;
mod common;
pub mod config;
pub mod dhcp;
pub mod error;
pub mod host_local;
pub mod range;
pub mod resolv;
pub mod static_ipam;
pub mod store;

pub use config::{HostLocalConf, StoreConf, DEFAULT_DATA_DIR};
pub use error::IpamError;
pub use host_local::GcReport;
pub use static_ipam::StaticConf;
