//! Test code shared by every crate's integration tests, so no crate copies another's harness.
//!
//! One module per concern:
//! - [`root`]: the tests need root and fail (never skip) without it;
//! - [`host_settings`]: the sysctls every test host namespace starts with — a real container
//!   host's, not whatever the machine running the tests happens to have;
//! - [`namespaces`]: named namespaces under a test-only directory, deleted on drop (also on
//!   panic), and [`home`], the check that the test thread never changed namespace;
//! - [`ns`]: one namespace of a test, open, with a netlink socket inside it;
//! - [`sandbox`]: one plugin test's world — a host namespace, pods, a plugin directory — and
//!   [`run`], running plugin binaries inside its host namespace;
//! - [`child`]: starting any program inside a test namespace (never the test thread);
//! - [`plugins`]: the binaries under test and the reference plugins;
//! - [`traffic`] and [`tcp`]: UDP datagrams and TCP connections between namespaces;
//!   [`iperf`]: TCP throughput between them, with iperf3;
//! - [`nft`]: reading a namespace's nf_tables rule set with `nft -j`;
//! - [`tempdir`] and [`files`]: temporary directories and listings of state directories;
//! - [`multihost`], [`etcd`] and [`cluster`]: several hosts on an underlay bridge, a real
//!   etcd on it, and twilld on each host with pods attached through the flannel conflist —
//!   the overlay's world; [`binaries`]: the workspace's binaries the tests run;
//! - [`cri`]: a private containerd in a test host namespace, driven over the CRI as a kubelet
//!   drives it (Kubernetes' node path to the CNI plugins);
//! - [`dhcp`]: a DHCP LAN (bridge, dnsmasq in a server namespace) and the `dhcp` daemon;
//! - [`wire`]: a parent device whose wire leads to another namespace (macvlan, ipvlan);
//! - [`vm`]: tests in a QEMU VM booting Debian's own kernel, for the kernel features this
//!   machine's kernel lacks (vlan, ipvlan, dummy, vrf, wireguard).
//!
//! Tests use it as a dev-dependency only; nothing here is part of a shipped binary. It may
//! panic freely: a failed setup step is a failed test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(missing_debug_implementations)]

pub mod binaries;
pub mod chain;
pub mod child;
pub mod cluster;
pub mod cri;
pub mod dhcp;
pub mod etcd;
pub mod files;
pub mod home;
pub mod host_settings;
pub mod iperf;
pub mod libcni;
pub mod multihost;
pub mod namespaces;
pub mod nft;
pub mod ns;
pub mod plugins;
pub mod root;
pub mod run;
pub mod sandbox;
pub mod tcp;
pub mod tempdir;
pub mod traffic;
pub mod vm;
pub mod wire;

pub use host_settings::HostSettings;
pub use namespaces::Namespaces;
pub use ns::Ns;
pub use root::require_root;
pub use run::Impl;
pub use sandbox::Sandbox;
pub use tempdir::TempDir;
