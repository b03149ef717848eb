//! flannel's `udp` backend: pod packets carried between nodes by this process, for
//! networks where neither vxlan nor host-gw works.
//!
//! A TUN device (`twill0` unless named otherwise; flannel's is `flannel0`) holds our
//! subnet's first address with the pod network's prefix length, so the kernel routes the
//! whole network to it. Each packet read from it is sent in one UDP datagram (port 8285)
//! to the peer whose subnet contains the destination; the payload is the IP packet itself,
//! with no header ([`wire`]). A datagram received is written to the device if it comes
//! from a peer's address and is for one of our own subnets ([`peers`]); anything else is
//! dropped and counted ([`UdpStats`]).
//!
//! The data path (`forward.rs`) runs on plain threads, not on the agent's tokio runtime: per
//! lane one thread TUN → UDP and one UDP → TUN, sharing one TUN queue and one socket.
//! Datagrams move in batches of up to 64 per `recvmmsg`/`sendmmsg`, with UDP segmentation
//! offload on send and GRO on receive where the kernel has them (`send.rs`, `batch.rs`);
//! a thread blocks in `poll` only when its input is drained, with a stop eventfd in the
//! poll set (`wake.rs`).
//!
//! The TUN device has offloads too, as a virtio NIC would (`IFF_VNET_HDR`): reads are
//! TCP/UDP super-packets of up to 64 KiB, cut into MTU-sized packets in `tso.rs` (the
//! wire format stays one inner packet per datagram), and consecutive received segments
//! of a TCP flow are merged back into super-packets (`gro.rs`) before one write each.
//! The peer table is swapped whole by [`UdpBackend::set_peers`] and picked up by each
//! thread at its next batch.
//!
//! Like flannel's, this data plane lives and dies with the process: the device is not
//! persistent and disappears when the backend stops, is dropped, or the process exits.

mod batch;
mod csum;
mod device;
mod error;
mod forward;
mod gro;
pub mod peers;
mod send;
mod socket;
mod stats;
mod tso;
mod wake;
pub mod wire;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;

use twill_kernel::IpPrefix;

pub use error::UdpError;
pub use stats::{UdpDrops, UdpStats};
pub use twill_kernel::tun::Offloads;

use device::Device;
use forward::{PeerSlot, Shared};
use peers::{OwnSubnets, PeerTable};
use socket::UdpSocket;
use wake::Stop;

/// The backend's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpConfig {
    /// The TUN device's name (`twill0`).
    pub tun_name: String,
    /// The TUN device's MTU; 0 derives it from the interface holding `bind`, minus 28
    /// bytes (IPv4 underlay) or 48 (IPv6).
    pub mtu: u32,
    /// Our subnets (one per address family): the only destinations we accept.
    pub own: Vec<IpPrefix>,
    /// The pod networks the subnets belong to; they set the device address's length.
    pub networks: Vec<IpPrefix>,
    /// Our public (underlay) address: the socket binds to it.
    pub bind: IpAddr,
    /// The UDP port, the same on every node (8285).
    pub port: u16,
}

/// A running udp backend: the TUN device, the socket(s), the forwarding threads.
pub struct UdpBackend {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    device: Option<Device>,
    name: String,
    offloads: Offloads,
}

impl fmt::Debug for UdpBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpBackend")
            .field("device", &self.name)
            .field("threads", &self.threads.len())
            .finish()
    }
}

impl UdpBackend {
    /// Creates the TUN device (in the calling thread's network namespace) and the socket,
    /// starts the forwarding threads.
    pub fn start(cfg: UdpConfig) -> Result<UdpBackend, UdpError> {
        UdpBackend::start_with_lanes(cfg, 1)
    }

    /// [`UdpBackend::start`] with `lanes` forwarding lanes (at least 1), each a TUN queue,
    /// a socket sharing the port (`SO_REUSEPORT`) and two threads. The kernel spreads
    /// flows over the queues and senders over the sockets, so more lanes help with many
    /// peers and flows; one lane already uses two cores.
    pub fn start_with_lanes(cfg: UdpConfig, lanes: usize) -> Result<UdpBackend, UdpError> {
        UdpBackend::start_with_offloads(cfg, lanes, device::ALL_OFFLOADS)
    }

    /// [`UdpBackend::start_with_lanes`] asking the TUN device for no more than `wanted`
    /// offloads ([`Offloads::NONE`]: plain packets, no vnet headers). The kernel may
    /// grant less ([`UdpBackend::offloads`]); the data path adapts to what it gets.
    pub fn start_with_offloads(
        cfg: UdpConfig,
        lanes: usize,
        wanted: Offloads,
    ) -> Result<UdpBackend, UdpError> {
        let lanes = lanes.max(1);
        let resource = |what| move |error| UdpError::Resource { what, error };
        let stop = Stop::new().map_err(resource("create stop eventfd"))?;
        let addr = SocketAddr::new(cfg.bind, cfg.port);
        // The socket first: a port in use fails before a device is made.
        let sockets = (0..lanes)
            .map(|_| {
                UdpSocket::bind(addr, lanes > 1)
                    .map(Arc::new)
                    .map_err(|error| UdpError::Socket { addr, error })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let device = Device::create(&cfg, lanes, wanted)?;
        let path = forward::Path {
            vnet_hdr: device.vnet_hdr,
            offloads: device.offloads,
        };
        let shared = Arc::new(Shared {
            stop,
            counters: Default::default(),
            peers: PeerSlot::default(),
            own: OwnSubnets::new(&cfg.own),
        });
        let mut backend = UdpBackend {
            shared,
            threads: Vec::with_capacity(2 * lanes),
            device: None,
            name: cfg.tun_name.clone(),
            offloads: device.offloads,
        };
        for (lane, sock) in sockets.into_iter().enumerate() {
            let Some(queue) = device.queue(lane) else {
                break;
            };
            let (s, q, sh) = (
                Arc::clone(&sock),
                Arc::clone(&queue),
                Arc::clone(&backend.shared),
            );
            let tx = std::thread::Builder::new()
                .name(format!("udp-tx{lane}"))
                .spawn(move || forward::tun_to_udp(&sh, &q, &s, path));
            // On failure `backend` is dropped: it stops the threads started so far and
            // removes the device.
            backend
                .threads
                .push(tx.map_err(resource("start forwarding thread"))?);
            let sh = Arc::clone(&backend.shared);
            let rx = std::thread::Builder::new()
                .name(format!("udp-rx{lane}"))
                .spawn(move || forward::udp_to_tun(&sh, &sock, &queue, path));
            backend
                .threads
                .push(rx.map_err(resource("start forwarding thread"))?);
        }
        backend.device = Some(device);
        Ok(backend)
    }

    /// Replaces the peer table: (peer subnet, peer public address) pairs. Cheap; the
    /// forwarding threads pick the new table up at their next batch.
    pub fn set_peers(&self, peers: Vec<(IpPrefix, IpAddr)>) {
        self.shared.peers.replace(PeerTable::new(peers));
    }

    /// Packets and bytes forwarded each way, and drops by reason.
    pub fn stats(&self) -> UdpStats {
        self.shared.counters.snapshot()
    }

    /// The offloads the TUN device runs with (what the kernel granted of those asked).
    pub fn offloads(&self) -> Offloads {
        self.offloads
    }

    /// The TUN device's name.
    pub fn device_name(&self) -> &str {
        &self.name
    }

    /// Stops the threads and removes the device (dropping the backend does the same).
    pub fn stop(self) {
        drop(self);
    }

    fn shutdown(&mut self) {
        self.shared.stop.signal();
        for t in self.threads.drain(..) {
            // A forwarding thread has nothing that can panic on input; if one did, the
            // panic was already reported and the device must still go.
            let _ = t.join();
        }
        if let Some(device) = self.device.take() {
            device.remove();
        }
    }
}

impl Drop for UdpBackend {
    fn drop(&mut self) {
        self.shutdown();
    }
}
