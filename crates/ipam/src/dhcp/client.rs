//! The client side of RFC 2131, without sockets: the messages a client sends in each state,
//! the replies it accepts, and the lease an ACK makes. The daemon owns the sockets and the
//! clock and drives this: DISCOVER → OFFER → REQUEST → ACK (bound), then at T1 a unicast
//! REQUEST to the server (renewing), from T2 a broadcast one (rebinding), RELEASE at the end.

use std::net::Ipv4Addr;

use super::message::{Op, Repr};
use super::options::{code, MessageType, Options};

/// What every message of one attachment carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientParams {
    /// The interface's Ethernet address (`chaddr`).
    pub mac: [u8; 6],
    /// Option 61's value (type byte included).
    pub client_id: Vec<u8>,
    /// Option 55: the options asked of the server.
    pub requested: Vec<u8>,
    /// Options sent as given (the configuration's `provide`); they override the client id.
    pub provided: Vec<(u8, Vec<u8>)>,
    /// Ask the server to broadcast its replies (the daemon's `-broadcast`).
    pub broadcast: bool,
}

/// The client identifier the reference daemon sends for an attachment, so that both
/// implementations hold the same lease at a server: type 0 followed by
/// `<container id>/<network>/<ifname>`, cut to 254 bytes.
pub fn client_id(container_id: &str, network: &str, ifname: &str) -> Vec<u8> {
    let mut id = format!("{container_id}/{network}/{ifname}").into_bytes();
    id.truncate(254);
    let mut out = Vec::with_capacity(id.len() + 1);
    out.push(0);
    out.extend_from_slice(&id);
    out
}

impl ClientParams {
    fn message(&self, t: MessageType, xid: u32, ciaddr: Ipv4Addr, broadcast: bool) -> Repr {
        let mut options = Options::default();
        options.push(code::MESSAGE_TYPE, vec![t as u8]);
        options.push(code::CLIENT_ID, self.client_id.clone());
        Repr {
            op: Op::Request,
            xid,
            secs: 0,
            broadcast,
            ciaddr,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: self.mac,
            options,
        }
    }

    fn with_requests(&self, mut m: Repr) -> Repr {
        for (c, v) in &self.provided {
            m.options.push(*c, v.clone());
        }
        m.options
            .push(code::PARAMETER_REQUEST_LIST, self.requested.clone());
        m
    }

    /// DHCPDISCOVER; `previous` (an address held before) is asked for again (option 50).
    pub fn discover(&self, xid: u32, previous: Option<Ipv4Addr>) -> Repr {
        let mut m = self.message(
            MessageType::Discover,
            xid,
            Ipv4Addr::UNSPECIFIED,
            self.broadcast,
        );
        if let Some(ip) = previous {
            m.options.push(code::REQUESTED_IP, ip.octets().to_vec());
        }
        self.with_requests(m)
    }

    /// DHCPREQUEST answering `offer` (SELECTING: broadcast, with server id and address).
    pub fn select(&self, xid: u32, offer: &Repr) -> Repr {
        let mut m = self.message(
            MessageType::Request,
            xid,
            Ipv4Addr::UNSPECIFIED,
            self.broadcast,
        );
        m.options
            .push(code::REQUESTED_IP, offer.yiaddr.octets().to_vec());
        if let Some(server) = offer.options.ipv4(code::SERVER_ID) {
            m.options.push(code::SERVER_ID, server.octets().to_vec());
        }
        self.with_requests(m)
    }

    /// DHCPREQUEST extending `lease`: RENEWING (unicast to the server) and REBINDING
    /// (broadcast) look the same on the wire: `ciaddr` set, no server id, no option 50.
    pub fn extend(&self, xid: u32, lease: &Lease) -> Repr {
        let m = self.message(MessageType::Request, xid, lease.address, false);
        self.with_requests(m)
    }

    /// DHCPRELEASE of `lease`, unicast to its server.
    pub fn release(&self, xid: u32, lease: &Lease) -> Repr {
        let mut m = self.message(MessageType::Release, xid, lease.address, false);
        m.options
            .push(code::SERVER_ID, lease.server.octets().to_vec());
        m
    }
}

/// A server's answer to one of our messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// DHCPOFFER.
    Offer(Repr),
    /// DHCPACK.
    Ack(Repr),
    /// DHCPNAK, with the server's reason when it gave one.
    Nak(String),
}

/// Classifies `m` as a reply to the message with `xid` from the client with `mac`; `None`
/// for anything else (another client's traffic, our own requests, other message types).
pub fn accept(m: Repr, xid: u32, mac: [u8; 6]) -> Option<Reply> {
    if m.op != Op::Reply || m.xid != xid || m.chaddr != mac {
        return None;
    }
    match m.options.message_type()? {
        MessageType::Offer if !m.yiaddr.is_unspecified() => Some(Reply::Offer(m)),
        MessageType::Ack if !m.yiaddr.is_unspecified() => Some(Reply::Ack(m)),
        MessageType::Nak => {
            let why = m.options.get(code::MESSAGE).unwrap_or_default();
            Some(Reply::Nak(String::from_utf8_lossy(why).into_owned()))
        }
        _ => None,
    }
}

/// Why an ACK cannot become a lease.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// The reference requires the subnet mask too.
    #[error("DHCP option Subnet Mask not found in DHCPACK")]
    NoMask,
    /// Without a lease time there is nothing to renew by.
    #[error("DHCP option IP Address Lease Time not found in DHCPACK")]
    NoLeaseTime,
    /// Without a server id there is nowhere to renew at.
    #[error("DHCP option Server Identifier not found in DHCPACK")]
    NoServer,
}

/// A bound lease: everything the daemon needs to answer, renew and release, with absolute
/// times in seconds since the Unix epoch (so they survive a restart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The address (`yiaddr`).
    pub address: Ipv4Addr,
    /// Its prefix length (option 1).
    pub prefix_len: u8,
    /// The server (option 54).
    pub server: Ipv4Addr,
    /// When the ACK was received.
    pub bound_at: u64,
    /// When to start renewing (T1).
    pub renew_at: u64,
    /// When to start rebinding (T2).
    pub rebind_at: u64,
    /// When the lease is gone.
    pub expires_at: u64,
    /// The ACK's options: router, routes, name servers.
    pub options: Options,
}

/// Where a lease stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before T1.
    Bound,
    /// T1..T2: renew with the server that granted it.
    Renewing,
    /// T2..expiry: any server may extend it.
    Rebinding,
    /// Past expiry.
    Expired,
}

impl Lease {
    /// The lease an ACK received at `now` grants. T2 defaults to 7/8 and T1 to 1/2 of the
    /// lease (RFC 2131 §4.4.5), also when the server's values are out of order.
    pub fn from_ack(ack: &Repr, now: u64) -> Result<Lease, AckError> {
        let o = &ack.options;
        let prefix_len = o.prefix_len().ok_or(AckError::NoMask)?;
        let lease = u64::from(o.u32(code::LEASE_TIME).ok_or(AckError::NoLeaseTime)?);
        let server = o.ipv4(code::SERVER_ID).ok_or(AckError::NoServer)?;
        let t2 = o
            .u32(code::REBINDING_TIME)
            .map(u64::from)
            .filter(|&t| t <= lease)
            .unwrap_or(lease * 7 / 8);
        let t1 = o
            .u32(code::RENEWAL_TIME)
            .map(u64::from)
            .filter(|&t| t <= t2)
            .unwrap_or(lease / 2);
        Ok(Lease {
            address: ack.yiaddr,
            prefix_len,
            server,
            bound_at: now,
            renew_at: now.saturating_add(t1),
            rebind_at: now.saturating_add(t2),
            expires_at: now.saturating_add(lease),
            options: o.clone(),
        })
    }

    /// The phase at `now`.
    pub fn phase(&self, now: u64) -> Phase {
        if now >= self.expires_at {
            Phase::Expired
        } else if now >= self.rebind_at {
            Phase::Rebinding
        } else if now >= self.renew_at {
            Phase::Renewing
        } else {
            Phase::Bound
        }
    }

    /// The first router (option 3).
    pub fn gateway(&self) -> Option<Ipv4Addr> {
        self.options.ipv4(code::ROUTER)
    }

    /// Name servers (option 6), when the server sent them.
    pub fn name_servers(&self) -> Vec<Ipv4Addr> {
        self.options.ipv4_list(code::DNS)
    }
}

/// How long to wait before retrying a failed renewal or rebinding at `now`: half the time
/// left until `deadline` (RFC 2131 §4.4.5), at least `floor` seconds, at most `ceiling`.
pub fn retry_after(now: u64, deadline: u64, floor: u64, ceiling: u64) -> u64 {
    (deadline.saturating_sub(now) / 2).clamp(floor, ceiling.max(floor))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn params() -> ClientParams {
        ClientParams {
            mac: [2, 0, 0, 0, 0, 9],
            client_id: client_id("c1", "net", "eth0"),
            requested: vec![1, 3],
            provided: vec![(code::HOST_NAME, b"pod".to_vec())],
            broadcast: false,
        }
    }

    fn ack(xid: u32, opts: &[(u8, Vec<u8>)]) -> Repr {
        let mut options = Options::default();
        options.push(code::MESSAGE_TYPE, vec![MessageType::Ack as u8]);
        for (c, v) in opts {
            options.push(*c, v.clone());
        }
        Repr {
            op: Op::Reply,
            xid,
            secs: 0,
            broadcast: false,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::new(10, 9, 0, 50),
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: [2, 0, 0, 0, 0, 9],
            options,
        }
    }

    fn full_ack(xid: u32) -> Repr {
        ack(
            xid,
            &[
                (code::SUBNET_MASK, vec![255, 255, 255, 0]),
                (code::LEASE_TIME, 120u32.to_be_bytes().to_vec()),
                (code::SERVER_ID, vec![10, 9, 0, 1]),
                (code::ROUTER, vec![10, 9, 0, 1, 10, 9, 0, 2]),
                (code::DNS, vec![10, 9, 0, 53]),
            ],
        )
    }

    #[test]
    fn client_id_is_the_references() {
        assert_eq!(client_id("abc", "net1", "eth0"), b"\0abc/net1/eth0");
        let long = "x".repeat(300);
        let id = client_id(&long, "n", "eth0");
        assert_eq!(id.len(), 255);
        assert_eq!(id[0], 0);
    }

    #[test]
    fn discover_and_select_carry_what_the_server_needs() {
        let p = params();
        let d = p.discover(7, Some(Ipv4Addr::new(10, 9, 0, 50)));
        assert_eq!(d.options.message_type(), Some(MessageType::Discover));
        assert_eq!(d.options.get(code::CLIENT_ID), Some(&b"\0c1/net/eth0"[..]));
        assert_eq!(d.options.get(code::HOST_NAME), Some(&b"pod"[..]));
        assert_eq!(
            d.options.get(code::PARAMETER_REQUEST_LIST),
            Some(&[1, 3][..])
        );
        assert_eq!(
            d.options.ipv4(code::REQUESTED_IP),
            Some(Ipv4Addr::new(10, 9, 0, 50))
        );
        let mut offer = full_ack(7);
        offer.options.push(code::MESSAGE_TYPE, vec![2]);
        let Some(Reply::Offer(offer)) = accept(offer, 7, p.mac) else {
            panic!("offer not accepted")
        };
        let r = p.select(8, &offer);
        assert_eq!(r.options.message_type(), Some(MessageType::Request));
        assert_eq!(r.options.ipv4(code::REQUESTED_IP), Some(offer.yiaddr));
        assert_eq!(
            r.options.ipv4(code::SERVER_ID),
            Some(Ipv4Addr::new(10, 9, 0, 1))
        );
        assert!(r.ciaddr.is_unspecified());
    }

    #[test]
    fn provided_client_id_overrides_ours() {
        let mut p = params();
        p.provided.push((code::CLIENT_ID, b"\x01mine".to_vec()));
        let d = p.discover(1, None);
        assert_eq!(d.options.get(code::CLIENT_ID), Some(&b"\x01mine"[..]));
    }

    #[test]
    fn replies_must_match_xid_and_mac() {
        let p = params();
        assert!(accept(full_ack(5), 5, p.mac).is_some());
        assert!(accept(full_ack(5), 6, p.mac).is_none());
        assert!(accept(full_ack(5), 5, [0; 6]).is_none());
        let mut ours = full_ack(5);
        ours.op = Op::Request;
        assert!(accept(ours, 5, p.mac).is_none());
        let mut nak = ack(5, &[(code::MESSAGE, b"wrong network".to_vec())]);
        nak.options.push(code::MESSAGE_TYPE, vec![6]);
        assert_eq!(
            accept(nak, 5, p.mac),
            Some(Reply::Nak("wrong network".into()))
        );
    }

    #[test]
    fn lease_timers_default_and_phases() {
        let l = Lease::from_ack(&full_ack(1), 1000).unwrap();
        assert_eq!((l.renew_at, l.rebind_at, l.expires_at), (1060, 1105, 1120));
        assert_eq!(l.prefix_len, 24);
        assert_eq!(l.gateway(), Some(Ipv4Addr::new(10, 9, 0, 1)));
        assert_eq!(l.name_servers(), [Ipv4Addr::new(10, 9, 0, 53)]);
        assert_eq!(l.phase(1059), Phase::Bound);
        assert_eq!(l.phase(1060), Phase::Renewing);
        assert_eq!(l.phase(1105), Phase::Rebinding);
        assert_eq!(l.phase(1120), Phase::Expired);
        // Server timers are used when in order, ignored when not.
        let mut a = full_ack(1);
        a.options
            .push(code::RENEWAL_TIME, 5u32.to_be_bytes().to_vec());
        a.options
            .push(code::REBINDING_TIME, 8u32.to_be_bytes().to_vec());
        let l = Lease::from_ack(&a, 0).unwrap();
        assert_eq!((l.renew_at, l.rebind_at), (5, 8));
        a.options
            .push(code::RENEWAL_TIME, 9u32.to_be_bytes().to_vec());
        a.options
            .push(code::REBINDING_TIME, 200u32.to_be_bytes().to_vec());
        let l = Lease::from_ack(&a, 0).unwrap();
        assert_eq!((l.renew_at, l.rebind_at), (9, 105));
    }

    #[test]
    fn incomplete_acks_are_refused() {
        let no_mask = ack(
            1,
            &[
                (code::LEASE_TIME, vec![0, 0, 0, 9]),
                (code::SERVER_ID, vec![1, 2, 3, 4]),
            ],
        );
        assert_eq!(Lease::from_ack(&no_mask, 0), Err(AckError::NoMask));
        let no_time = ack(
            1,
            &[
                (code::SUBNET_MASK, vec![255, 0, 0, 0]),
                (code::SERVER_ID, vec![1, 2, 3, 4]),
            ],
        );
        assert_eq!(Lease::from_ack(&no_time, 0), Err(AckError::NoLeaseTime));
    }

    #[test]
    fn extend_and_release_name_the_address() {
        let p = params();
        let l = Lease::from_ack(&full_ack(1), 0).unwrap();
        let r = p.extend(3, &l);
        assert_eq!(r.ciaddr, l.address);
        assert!(r.options.get(code::REQUESTED_IP).is_none());
        assert!(r.options.get(code::SERVER_ID).is_none());
        let rel = p.release(4, &l);
        assert_eq!(rel.options.message_type(), Some(MessageType::Release));
        assert_eq!(rel.options.ipv4(code::SERVER_ID), Some(l.server));
        assert_eq!(rel.ciaddr, l.address);
    }

    #[test]
    fn retries_halve_the_time_left() {
        assert_eq!(retry_after(0, 100, 1, 60), 50);
        assert_eq!(retry_after(0, 1000, 1, 60), 60);
        assert_eq!(retry_after(99, 100, 1, 60), 1);
        assert_eq!(retry_after(200, 100, 2, 60), 2);
    }
}
