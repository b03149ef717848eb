//! What can stop the udp backend from starting. Each message names the object it is about.

use std::io;
use std::net::{IpAddr, SocketAddr};

/// Why [`super::UdpBackend::start`] failed. Nothing is left behind: a device created
/// before the failure goes away with its descriptors.
#[derive(Debug, thiserror::Error)]
pub enum UdpError {
    /// The configuration cannot work (the message names the field).
    #[error("udp backend config: {0}")]
    Config(String),
    /// Creating or configuring the TUN device failed.
    #[error("udp backend device {device:?}: {error}")]
    Device {
        /// The device's name.
        device: String,
        /// The kernel's error, naming the operation.
        error: twill_kernel::Error,
    },
    /// No MTU was set and no interface holds the public address to derive it from.
    #[error("udp backend: no interface holds the public address {0}, so the TUN MTU cannot be derived from the underlay; set the MTU")]
    NoUnderlay(IpAddr),
    /// The underlay socket could not be opened or bound.
    #[error("udp backend socket {addr}: {error}")]
    Socket {
        /// The address it was to be bound to.
        addr: SocketAddr,
        /// The system's error.
        error: io::Error,
    },
    /// The stop eventfd or a forwarding thread could not be created.
    #[error("udp backend: {what}: {error}")]
    Resource {
        /// What was being created.
        what: &'static str,
        /// The system's error.
        error: io::Error,
    },
}
