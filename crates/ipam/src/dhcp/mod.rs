//! The DHCPv4 client of the `dhcp` plugin's daemon, without sockets or clocks, so all of it
//! is unit-tested: the wire formats as a checked view plus a parsed value
//! ([`message`]: the BOOTP/DHCP message; [`options`]: its options and the route options;
//! [`frame`]: the IPv4/UDP headers a packet-socket client writes and reads), the messages
//! of each client state and the lease an ACK grants ([`client`]), the CNI result a lease
//! makes ([`result`]) and the plugin's configuration ([`conf`]).
//!
//! The daemon in the plugins crate owns the packet sockets (opened inside each pod's
//! namespace), the timers and the lease files, and drives [`client`].

pub mod client;
pub mod conf;
pub mod frame;
pub mod message;
pub mod options;
pub mod result;

#[cfg(test)]
mod robustness_tests;

pub use client::{client_id, ClientParams, Lease, Phase, Reply};
pub use conf::{DhcpConf, DEFAULT_SOCKET_PATH};

/// Bytes that are not a well-formed packet; names the part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Shorter than its header or length field says.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// A field with an impossible value.
    #[error("malformed {0}")]
    Malformed(&'static str),
}
