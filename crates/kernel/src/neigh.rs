//! Neighbours (static ARP/NDP entries) and the bridge/vxlan forwarding database: add,
//! replace, append, delete, list.
//!
//! [`Neighbour`] is both the request and the reply: its `parse` and `emit` are the wire form
//! (`struct ndmsg` plus `NDA_*` attributes). An FDB entry is a neighbour of family
//! [`NeighFamily::Bridge`] whose key is a MAC; on a vxlan device its `dst` is the remote
//! tunnel endpoint that frames for that MAC are sent to — what the overlay agent programs
//! for every peer, together with an IP neighbour for the peer's VTEP address.

use std::fmt;
use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::net::{IpFamily, MacAddr};
use crate::nl::consts::{
    AF_BRIDGE, AF_INET, AF_INET6, NDA_DST, NDA_IFINDEX, NDA_LLADDR, NLM_F_APPEND, NLM_F_CREATE,
    NLM_F_EXCL, NLM_F_REPLACE, RTM_DELNEIGH, RTM_GETNEIGH, RTM_NEWNEIGH,
};
use crate::nl::message::{read_u16, read_u32};
use crate::nl::{Attrs, MessageBuilder, Netlink, WireError};

/// Length of `struct ndmsg`.
const NDMSG_LEN: usize = 12;

/// State: resolution in progress.
pub const NUD_INCOMPLETE: u16 = 0x01;
/// State: confirmed reachable.
pub const NUD_REACHABLE: u16 = 0x02;
/// State: valid but unconfirmed.
pub const NUD_STALE: u16 = 0x04;
/// State: waiting before probing.
pub const NUD_DELAY: u16 = 0x08;
/// State: probing.
pub const NUD_PROBE: u16 = 0x10;
/// State: resolution failed.
pub const NUD_FAILED: u16 = 0x20;
/// State: no resolution needed (the device has no link-layer addresses to resolve).
pub const NUD_NOARP: u16 = 0x40;
/// State: static; never expires, never garbage-collected, survives carrier loss.
pub const NUD_PERMANENT: u16 = 0x80;

/// Flag: the entry belongs to the device itself (a vxlan's FDB), not to its master bridge.
pub const NTF_SELF: u8 = 0x02;
/// Flag: the entry belongs to the master bridge of the device.
pub const NTF_MASTER: u8 = 0x04;
/// Flag: a proxy ARP/NDP entry.
pub const NTF_PROXY: u8 = 0x08;
/// Flag: learned by an external control plane (switchdev, a routing daemon).
pub const NTF_EXT_LEARNED: u8 = 0x10;
/// Flag: the neighbour is a router (IPv6).
pub const NTF_ROUTER: u8 = 0x80;

/// Which table a neighbour lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NeighFamily {
    /// The ARP table (`AF_INET`).
    Inet,
    /// The NDP table (`AF_INET6`).
    Inet6,
    /// The forwarding database of bridges and vxlan devices (`AF_BRIDGE`).
    Bridge,
}

impl NeighFamily {
    /// The `AF_*` value on the wire.
    pub fn af(self) -> u8 {
        match self {
            NeighFamily::Inet => AF_INET,
            NeighFamily::Inet6 => AF_INET6,
            NeighFamily::Bridge => AF_BRIDGE,
        }
    }

    /// The family for an `AF_*` value, if it is one of these three.
    pub fn from_af(af: u8) -> Option<Self> {
        match af {
            AF_INET => Some(NeighFamily::Inet),
            AF_INET6 => Some(NeighFamily::Inet6),
            AF_BRIDGE => Some(NeighFamily::Bridge),
            _ => None,
        }
    }

    /// The ARP or NDP table for addresses of `family`.
    pub fn of_ip(family: IpFamily) -> Self {
        match family {
            IpFamily::V4 => NeighFamily::Inet,
            IpFamily::V6 => NeighFamily::Inet6,
        }
    }
}

/// A neighbour (ARP/NDP entry) or a forwarding database entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Neighbour {
    /// Interface index.
    pub ifindex: u32,
    /// Table.
    pub family: NeighFamily,
    /// IP neighbours: the protocol address (required). FDB entries: the remote tunnel
    /// endpoint on a vxlan device (`dst` in `bridge fdb`), none on a bridge.
    pub dst: Option<IpAddr>,
    /// IP neighbours: the resolved MAC. FDB entries: the MAC the entry is for (required).
    /// `None` also when a reply carries a link-layer address that is not 6 bytes long.
    pub lladdr: Option<MacAddr>,
    /// `NUD_*` state bits.
    pub state: u16,
    /// `NTF_*` flags.
    pub flags: u8,
}

impl Neighbour {
    /// A permanent ARP (IPv4) or NDP (IPv6) entry: `ip neigh add IP lladdr MAC dev DEV nud
    /// permanent`.
    pub fn arp(ifindex: u32, ip: IpAddr, mac: MacAddr) -> Self {
        Neighbour {
            ifindex,
            family: NeighFamily::of_ip(IpFamily::of(&ip)),
            dst: Some(ip),
            lladdr: Some(mac),
            state: NUD_PERMANENT,
            flags: 0,
        }
    }

    /// A permanent entry in a vxlan device's own FDB sending frames for `mac` to the tunnel
    /// endpoint `remote`: `bridge fdb append|replace MAC dev DEV dst REMOTE self permanent`
    /// (which sends `NUD_NOARP | NUD_PERMANENT`, as this does).
    pub fn fdb(ifindex: u32, mac: MacAddr, remote: IpAddr) -> Self {
        Neighbour {
            ifindex,
            family: NeighFamily::Bridge,
            dst: Some(remote),
            lladdr: Some(mac),
            state: NUD_NOARP | NUD_PERMANENT,
            flags: NTF_SELF,
        }
    }

    /// Whether every bit of `state` is set.
    pub fn has_state(&self, state: u16) -> bool {
        self.state & state == state
    }

    /// Decodes a neighbour message payload; `Ok(None)` for other families (`AF_MPLS`, …).
    pub fn parse(payload: &[u8]) -> Result<Option<Self>, WireError> {
        let short = || WireError::Truncated("ndmsg");
        let header = payload.get(..NDMSG_LEN).ok_or_else(short)?;
        let Some(family) = header.first().copied().and_then(NeighFamily::from_af) else {
            return Ok(None);
        };
        let mut neigh = Neighbour {
            ifindex: read_u32(header, 4).ok_or_else(short)?,
            family,
            dst: None,
            lladdr: None,
            state: read_u16(header, 8).ok_or_else(short)?,
            flags: header.get(10).copied().ok_or_else(short)?,
        };
        for attr in Attrs::new(payload.get(NDMSG_LEN..).unwrap_or_default()) {
            let attr = attr?;
            match attr.kind() {
                NDA_DST => neigh.dst = Some(attr.as_ip()?),
                // Tunnels and other non-Ethernet devices have link-layer addresses of other
                // sizes; one of them must not fail a whole dump.
                NDA_LLADDR => {
                    neigh.lladdr = <[u8; 6]>::try_from(attr.payload()).ok().map(MacAddr);
                }
                _ => {}
            }
        }
        if let (Some(dst), Some(ip)) = (neigh.dst, neigh.ip_family()) {
            if IpFamily::of(&dst) != ip {
                return Err(WireError::BadValue("neighbour address family"));
            }
        }
        Ok(Some(neigh))
    }

    /// Encodes the header and attributes.
    pub fn emit(&self, out: &mut MessageBuilder) {
        let mut header = [0u8; NDMSG_LEN];
        header[0] = self.family.af();
        header[4..8].copy_from_slice(&self.ifindex.to_ne_bytes());
        header[8..10].copy_from_slice(&self.state.to_ne_bytes());
        header[10] = self.flags;
        out.push_bytes(&header);
        // The order is iproute2's (the kernel does not care): `bridge fdb` puts the MAC
        // first, `ip neigh` the address.
        if self.family == NeighFamily::Bridge {
            self.emit_lladdr(out);
            self.emit_dst(out);
        } else {
            self.emit_dst(out);
            self.emit_lladdr(out);
        }
    }

    fn emit_dst(&self, out: &mut MessageBuilder) {
        if let Some(dst) = &self.dst {
            out.attr_ip(NDA_DST, dst);
        }
    }

    fn emit_lladdr(&self, out: &mut MessageBuilder) {
        if let Some(mac) = &self.lladdr {
            out.attr(NDA_LLADDR, &mac.0);
        }
    }

    fn ip_family(&self) -> Option<IpFamily> {
        match self.family {
            NeighFamily::Inet => Some(IpFamily::V4),
            NeighFamily::Inet6 => Some(IpFamily::V6),
            NeighFamily::Bridge => None,
        }
    }

    /// Refuses what the kernel would answer with a bare `EINVAL`, then builds the request.
    pub(crate) fn request(
        &self,
        op: &'static str,
        msg_type: u16,
        flags: u16,
    ) -> Result<MessageBuilder> {
        let why = match (self.ip_family(), &self.dst) {
            (Some(_), None) => Some("an ARP/NDP entry needs an IP address"),
            (Some(f), Some(dst)) if IpFamily::of(dst) != f => {
                Some("IP address of another family than the table")
            }
            (None, _) if self.lladdr.is_none() => Some("an FDB entry needs a MAC address"),
            _ => None,
        };
        if let Some(why) = why {
            return Err(Error::invalid(op, self.to_string(), why));
        }
        let mut req = MessageBuilder::new(msg_type, flags);
        self.emit(&mut req);
        Ok(req)
    }
}

impl fmt::Display for Neighbour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.family == NeighFamily::Bridge {
            f.write_str("fdb ")?;
            match self.lladdr {
                Some(mac) => write!(f, "{mac}")?,
                None => f.write_str("(no MAC)")?,
            }
            if let Some(dst) = self.dst {
                write!(f, " dst {dst}")?;
            }
        } else {
            match self.dst {
                Some(dst) => write!(f, "{dst}")?,
                None => f.write_str("(no address)")?,
            }
            if let Some(mac) = self.lladdr {
                write!(f, " lladdr {mac}")?;
            }
        }
        write!(f, " dev index {}", self.ifindex)
    }
}

impl Netlink {
    /// Adds a neighbour or FDB entry; fails with `EEXIST` if one with the same key exists.
    pub fn neigh_add(&mut self, neigh: &Neighbour) -> Result<()> {
        let req = neigh.request("add neighbour", RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL)?;
        self.request_ack("add neighbour", neigh, req)
    }

    /// Adds a neighbour or FDB entry, or replaces the one with the same key (for a vxlan
    /// FDB entry: the MAC's first remote is replaced).
    pub fn neigh_replace(&mut self, neigh: &Neighbour) -> Result<()> {
        let req = neigh.request(
            "replace neighbour",
            RTM_NEWNEIGH,
            NLM_F_CREATE | NLM_F_REPLACE,
        )?;
        self.request_ack("replace neighbour", neigh, req)
    }

    /// Adds a vxlan FDB entry, or a remote to the all-zeros (flood list) or a multicast
    /// MAC's entry. An equal remote already there is no error. For a unicast MAC already
    /// present the kernel keeps its first remote and changes nothing: use
    /// [`Netlink::neigh_replace`] to move a MAC to another endpoint.
    pub fn neigh_append(&mut self, neigh: &Neighbour) -> Result<()> {
        let req = neigh.request(
            "append neighbour",
            RTM_NEWNEIGH,
            NLM_F_CREATE | NLM_F_APPEND,
        )?;
        self.request_ack("append neighbour", neigh, req)
    }

    /// Deletes a neighbour or FDB entry; for a vxlan FDB entry with `dst`, only that remote.
    /// An entry already gone fails with `ENOENT` ([`Error::is_not_found`]) — except that
    /// the kernel answers success, changing nothing, for a vxlan remote missing from a MAC
    /// that still has other remotes (the flood list).
    pub fn neigh_delete(&mut self, neigh: &Neighbour) -> Result<()> {
        let req = neigh.request("delete neighbour", RTM_DELNEIGH, 0)?;
        self.request_ack("delete neighbour", neigh, req)
    }

    /// Lists the neighbours of `family` (for [`NeighFamily::Bridge`], the FDB entries of
    /// every bridge and vxlan device, and the addresses devices listen on), on interface
    /// `ifindex` only when given.
    pub fn neigh_list(
        &mut self,
        family: NeighFamily,
        ifindex: Option<u32>,
    ) -> Result<Vec<Neighbour>> {
        let mut req = MessageBuilder::new(RTM_GETNEIGH, 0);
        req.push_bytes(&[family.af(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        // ARP/NDP dumps filter in the kernel. An FDB dump request must stay a bare ndmsg:
        // with anything after it the kernel reads the header as an ifinfomsg.
        if let (Some(index), false) = (ifindex, family == NeighFamily::Bridge) {
            req.attr_u32(NDA_IFINDEX, index);
        }
        self.dump("list", &"neighbours", req, |m| {
            let neigh = Neighbour::parse(m.payload())?;
            Ok(neigh.filter(|n| n.family == family && ifindex.map_or(true, |i| n.ifindex == i)))
        })
    }
}
