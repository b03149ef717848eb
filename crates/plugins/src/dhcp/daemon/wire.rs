//! One attachment's conversation with DHCP servers: a packet socket opened inside the pod's
//! namespace on its interface, and the exchanges of RFC 2131 over it (acquire, extend,
//! release), each bounded by the daemon's `-timeout` and retransmitted at 1, 2, 4 … s up to
//! `-resendmax`.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use twill_ipam::dhcp::client::{accept, ClientParams, Lease, Reply};
use twill_ipam::dhcp::frame::{self, Datagram, CLIENT_PORT, SERVER_PORT};
use twill_ipam::dhcp::message::Repr;
use twill_kernel::packet::PacketSocket;
use twill_kernel::{LinkId, NetNs};

use crate::common::random;

const BROADCAST_MAC: [u8; 6] = [0xff; 6];

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum WireFailure {
    /// The namespace, interface or socket could not be used.
    #[error("{0}")]
    Kernel(#[from] twill_kernel::Error),
    /// No usable answer before the deadline.
    #[error("no answer from a DHCP server within {0:?}")]
    Timeout(Duration),
    /// The server refused.
    #[error("DHCP server refused (NAK): {0}")]
    Nak(String),
    /// The server's ACK cannot be used.
    #[error("{0}")]
    BadAck(String),
    /// Random transaction ids are unavailable.
    #[error("{0}")]
    Random(String),
}

/// How exchanges are timed (the daemon's flags).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// A whole exchange gives up after this.
    pub timeout: Duration,
    /// Retransmissions are at most this far apart.
    pub resend_max: Duration,
}

/// An open socket on the attachment's interface.
#[derive(Debug)]
pub struct Wire {
    sock: PacketSocket,
    /// The interface's Ethernet address.
    pub mac: [u8; 6],
}

/// Whether [`open`] brings a down interface up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Up {
    /// Acquiring: bring it up, as the reference does (a main plugin may leave it down).
    Ensure,
    /// Renewing, releasing: leave it as it is (down after an expired lease, or by choice).
    Leave,
}

/// Opens the socket on `ifname` inside `netns`.
pub fn open(netns: &NetNs, ifname: &str, up: Up) -> Result<Wire, WireFailure> {
    let mut nl = netns.netlink()?;
    let link = nl.link_get(LinkId::Name(ifname))?;
    if up == Up::Ensure && !link.is_up() {
        nl.link_set_up(LinkId::Index(link.index))?;
    }
    let mac = link.mac.map(|m| m.0).ok_or_else(|| {
        WireFailure::BadAck(format!("interface {ifname} has no Ethernet address"))
    })?;
    let index = link.index;
    let sock = netns.run(move || PacketSocket::open_ipv4(index, CLIENT_PORT))??;
    Ok(Wire { sock, mac })
}

fn xid() -> Result<u32, WireFailure> {
    random::bytes::<4>()
        .map(u32::from_ne_bytes)
        .map_err(|e| WireFailure::Random(e.msg))
}

/// Where a message goes: IP and link-layer destination, and our source address.
#[derive(Debug, Clone, Copy)]
struct Route {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    dst_mac: [u8; 6],
}

const BROADCAST: Route = Route {
    src: Ipv4Addr::UNSPECIFIED,
    dst: Ipv4Addr::BROADCAST,
    dst_mac: BROADCAST_MAC,
};

impl Wire {
    fn send(&self, msg: &Repr, to: Route) -> Result<(), WireFailure> {
        let payload = msg.emit();
        let packet = Datagram {
            src: to.src,
            dst: to.dst,
            src_port: CLIENT_PORT,
            dst_port: SERVER_PORT,
            payload: &payload,
        }
        .emit();
        Ok(self.sock.send(&packet, to.dst_mac)?)
    }

    /// Sends `msg` (retransmitting) until a reply to its xid arrives that `want` takes.
    fn transact<T>(
        &self,
        msg: &Repr,
        to: Route,
        timing: Timing,
        mut want: impl FnMut(Reply, [u8; 6]) -> Option<T>,
    ) -> Result<T, WireFailure> {
        let start = Instant::now();
        let deadline = start + timing.timeout;
        let mut gap = Duration::from_secs(1);
        let mut buf = vec![0u8; 2048];
        loop {
            self.send(msg, to)?;
            let resend = (Instant::now() + gap).min(deadline);
            while let Some((n, from_mac)) = self.sock.recv_until(&mut buf, resend)? {
                let Some(bytes) = buf.get(..n) else { continue };
                let Ok(d) = frame::parse(bytes) else { continue };
                if d.src_port != SERVER_PORT || d.dst_port != CLIENT_PORT {
                    continue;
                }
                let Ok(m) = Repr::parse_bytes(d.payload) else {
                    continue;
                };
                if let Some(reply) = accept(m, msg.xid, self.mac) {
                    if let Some(t) = want(reply, from_mac) {
                        return Ok(t);
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(WireFailure::Timeout(timing.timeout));
            }
            gap = (gap * 2).min(timing.resend_max.max(Duration::from_secs(1)));
        }
    }

    /// DISCOVER → OFFER → REQUEST → ACK. `previous` is asked for again. Returns the ACK
    /// and the link-layer address it came from (the server, or the relay before it).
    pub fn acquire(
        &self,
        params: &ClientParams,
        previous: Option<Ipv4Addr>,
        timing: Timing,
    ) -> Result<(Repr, [u8; 6]), WireFailure> {
        let discover = params.discover(xid()?, previous);
        let offer = self.transact(&discover, BROADCAST, timing, |r, _| match r {
            Reply::Offer(o) => Some(o),
            _ => None,
        })?;
        let request = params.select(xid()?, &offer);
        self.expect_ack(&request, BROADCAST, timing)
    }

    fn expect_ack(
        &self,
        msg: &Repr,
        to: Route,
        timing: Timing,
    ) -> Result<(Repr, [u8; 6]), WireFailure> {
        let answer = self.transact(msg, to, timing, |r, mac| match r {
            Reply::Ack(a) => Some(Ok((a, mac))),
            Reply::Nak(why) => Some(Err(why)),
            Reply::Offer(_) => None,
        })?;
        answer.map_err(WireFailure::Nak)
    }

    /// Extends `lease`: unicast to its server at `server_mac` (renewing) or broadcast
    /// (rebinding, `server_mac` `None`).
    pub fn extend(
        &self,
        params: &ClientParams,
        lease: &Lease,
        server_mac: Option<[u8; 6]>,
        timing: Timing,
    ) -> Result<(Repr, [u8; 6]), WireFailure> {
        let to = match server_mac {
            Some(mac) => Route {
                src: lease.address,
                dst: lease.server,
                dst_mac: mac,
            },
            None => Route {
                src: lease.address,
                ..BROADCAST
            },
        };
        self.expect_ack(&params.extend(xid()?, lease), to, timing)
    }

    /// Sends DHCPRELEASE for `lease` (no answer comes); broadcast at the link layer when
    /// the server's address is not known.
    pub fn release(
        &self,
        params: &ClientParams,
        lease: &Lease,
        server_mac: Option<[u8; 6]>,
    ) -> Result<(), WireFailure> {
        let to = Route {
            src: lease.address,
            dst: lease.server,
            dst_mac: server_mac.unwrap_or(BROADCAST_MAC),
        };
        self.send(&params.release(xid()?, lease), to)
    }
}
