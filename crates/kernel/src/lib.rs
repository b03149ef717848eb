//! Everything in twill that talks to Linux, synchronously.
//!
//! * [`nl`]: the netlink core — a checked view over message and attribute bytes, a request
//!   builder, reply assembly (ACKs, errors with the kernel's extended-ACK text, dumps that
//!   are repeated when the kernel flags them interrupted) and the `NETLINK_ROUTE` socket,
//!   [`Netlink`].
//! * [`link`], [`addr`], [`route`], [`neigh`]: one small typed API per object, as methods
//!   on [`Netlink`] (`link_add`, `addr_list`, `route_replace`, `neigh_append`, …).
//! * [`tc`]: traffic control — qdiscs (tbf, ingress, clsact), u32 filters with mirred
//!   actions, ifb links; [`rule`]: policy routing rules.
//! * [`tun`]: tun devices, created by opening `/dev/net/tun`.
//! * [`netns`]: network namespaces — open, create and delete named ones, run a closure
//!   inside one on a dedicated thread, open a netlink socket inside one.
//! * [`packet`]: packet sockets on one interface (a DHCP client's, before it has an address).
//! * [`reclaim`]: the kernel's reclamation after a deletion (a link's unregistration, the
//!   freeing behind a netfilter socket's close) done by a detached process, off the caller's
//!   path.
//! * [`sysctl`]: per-namespace `/proc/sys/net` values.
//! * [`nft`]: nf_tables over `NETLINK_NETFILTER` — tables, chains, sets and maps, elements,
//!   rules from a typed expression model, atomic batches, listing, and the per-network
//!   skeleton that is installed once and verified with one request.
//!
//! Two rules shape the crate. First, the calling thread never changes namespace: work that
//! must happen inside one runs on a short-lived thread ([`NetNs::run`]), and a netlink socket
//! opened there keeps operating on that namespace from any thread. Second, every error names
//! the operation and the object (`create link "veth0": File exists`), so callers can pass it
//! up unchanged. See `docs/kernel.md` for the architecture and what is still to come.

#![warn(missing_docs)]

pub mod addr;
pub mod bridge_port;
pub mod bridge_vlan;
pub mod conntrack;
pub mod error;
pub mod link;
pub mod link_alias;
pub mod link_ext;
mod link_info;
pub mod link_kinds;
pub mod neigh;
pub mod net;
pub mod netns;
pub mod nft;
pub mod nl;
pub mod packet;
pub mod reclaim;
pub mod route;
pub mod rule;
pub mod sysctl;
pub mod tap;
pub mod tc;
pub mod tun;

pub use addr::{AddrFlags, Address};
pub use error::{Errno, Error, ErrorKind, Result};
pub use link::{
    IpvlanMode, IpvlanSpec, Link, LinkChange, LinkId, MacvlanMode, MacvlanSpec, NewLink, VxlanInfo,
    VxlanSpec,
};
pub use neigh::{NeighFamily, Neighbour};
pub use net::{IpFamily, IpPrefix, MacAddr, Scope};
pub use netns::{NetNs, NetNsDir};
pub use nl::Netlink;
pub use route::{Route, RouteProtocol, RouteType};

#[cfg(test)]
mod overlay_wire_tests;
#[cfg(test)]
mod wire_tests;
