//! Links (network interfaces): list, get, create (veth, bridge, vxlan, macvlan, ipvlan),
//! change, delete.
//!
//! [`Link`] is what a reply says about a link; [`NewLink`] and [`LinkChange`] describe
//! requests. All go through the wire value [`LinkMessage`]. The operations are methods on
//! [`crate::Netlink`] (see `ops.rs`).

mod flags;
mod macvlan;
mod message;
pub(crate) mod ops;
mod vxlan;

use std::fmt;
use std::os::fd::BorrowedFd;

pub use flags::{LinkTunables, Tunable, IFF_ALLMULTI, IFF_PROMISC, IFLA_TXQLEN};
pub use macvlan::{IpvlanMode, IpvlanSpec, MacvlanMode, MacvlanSpec};
pub use message::{IfInfo, LinkMessage, IFINFO_LEN};
pub use vxlan::{VxlanInfo, VxlanSpec};

use crate::net::MacAddr;
use crate::nl::consts::{IFF_LOWER_UP, IFF_UP};
use crate::nl::WireError;

/// Longest interface name the kernel accepts (`IFNAMSIZ` minus the terminating NUL).
pub const MAX_NAME_LEN: usize = 15;

/// A link as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Ethernet address, when the link has one of 6 bytes.
    pub mac: Option<MacAddr>,
    /// MTU.
    pub mtu: u32,
    /// Device flags (`IFF_*`).
    pub flags: u32,
    /// Index of the master (bridge) the link is a port of.
    pub master: Option<u32>,
    /// Kind (`veth`, `bridge`, …); `None` for links without one, like loopback.
    pub kind: Option<String>,
    /// Index of the peer (veth) or lower device, in the namespace given by `link_netnsid`.
    pub link: Option<u32>,
    /// Namespace id of the peer or lower device when it lives in another namespace.
    pub link_netnsid: Option<i32>,
}

impl Link {
    /// Builds a link from a decoded reply; a link without a name is malformed.
    pub fn from_message(msg: LinkMessage) -> Result<Self, WireError> {
        let mac = msg
            .address
            .as_deref()
            .and_then(|a| <[u8; 6]>::try_from(a).ok())
            .map(MacAddr);
        Ok(Link {
            index: msg.header.index,
            name: msg.name.ok_or(WireError::Missing("link name"))?,
            mac,
            mtu: msg.mtu.unwrap_or_default(),
            flags: msg.header.flags,
            master: msg.master.filter(|&m| m != 0),
            kind: msg.kind,
            link: msg.link,
            link_netnsid: msg.link_netnsid,
        })
    }

    /// Administratively up (`IFF_UP`).
    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }

    /// Has carrier (`IFF_LOWER_UP`).
    pub fn has_carrier(&self) -> bool {
        self.flags & IFF_LOWER_UP != 0
    }
}

/// How a request names an existing link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkId<'a> {
    /// By interface index.
    Index(u32),
    /// By interface name.
    Name(&'a str),
}

impl fmt::Display for LinkId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkId::Index(i) => write!(f, "index {i}"),
            LinkId::Name(n) => write!(f, "{n:?}"),
        }
    }
}

impl From<u32> for LinkId<'_> {
    fn from(index: u32) -> Self {
        LinkId::Index(index)
    }
}

impl<'a> From<&'a str> for LinkId<'a> {
    fn from(name: &'a str) -> Self {
        LinkId::Name(name)
    }
}

/// What kind of link to create.
#[derive(Debug, Clone, Copy)]
pub enum NewLinkKind<'a> {
    /// A veth pair; the link named in [`NewLink`] is one end, this is the other.
    Veth(VethPeer<'a>),
    /// A bridge.
    Bridge,
    /// A vxlan tunnel device.
    Vxlan(VxlanSpec),
    /// A macvlan child of a parent device.
    Macvlan(MacvlanSpec<'a>),
    /// An ipvlan child of a parent device.
    Ipvlan(IpvlanSpec<'a>),
}

/// The far end of a veth pair.
#[derive(Debug, Clone, Copy)]
pub struct VethPeer<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its MTU; the kernel uses the near end's when unset.
    pub mtu: Option<u32>,
    /// Its MAC; random when unset.
    pub mac: Option<MacAddr>,
    /// Create it directly in this namespace (no separate move, no name clash in the host).
    pub netns: Option<BorrowedFd<'a>>,
}

/// A link to create.
#[derive(Debug, Clone, Copy)]
pub struct NewLink<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its MTU; the kind's default when unset.
    pub mtu: Option<u32>,
    /// Its MAC; random when unset.
    pub mac: Option<MacAddr>,
    /// Bring it up on creation. For a veth this is the near end only: the kernel configures
    /// the peer before the pair is joined, so a peer asked to come up fails with `ENOTCONN`;
    /// bring it up afterwards with a socket in the peer's namespace.
    pub up: bool,
    /// Its kind and kind-specific settings.
    pub kind: NewLinkKind<'a>,
}

impl<'a> NewLink<'a> {
    /// A veth pair `name` ↔ `peer`, both in the socket's namespace until told otherwise.
    pub fn veth(name: &'a str, peer: &'a str) -> Self {
        let peer = VethPeer {
            name: peer,
            mtu: None,
            mac: None,
            netns: None,
        };
        NewLink::new(name, NewLinkKind::Veth(peer))
    }

    /// A bridge.
    pub fn bridge(name: &'a str) -> Self {
        NewLink::new(name, NewLinkKind::Bridge)
    }

    /// A vxlan device. Its MTU is the kernel's default (the underlay device's minus the 50
    /// or 70 bytes of encapsulation) unless set.
    pub fn vxlan(name: &'a str, spec: VxlanSpec) -> Self {
        NewLink::new(name, NewLinkKind::Vxlan(spec))
    }

    /// A macvlan child of `spec.lower`. Its MTU is the parent's unless set.
    pub fn macvlan(name: &'a str, spec: MacvlanSpec<'a>) -> Self {
        NewLink::new(name, NewLinkKind::Macvlan(spec))
    }

    /// An ipvlan child of `spec.lower`. Its MTU is the parent's unless set; its MAC is
    /// always the parent's.
    pub fn ipvlan(name: &'a str, spec: IpvlanSpec<'a>) -> Self {
        NewLink::new(name, NewLinkKind::Ipvlan(spec))
    }

    fn new(name: &'a str, kind: NewLinkKind<'a>) -> Self {
        NewLink {
            name,
            mtu: None,
            mac: None,
            up: false,
            kind,
        }
    }

    /// Sets the MTU (of both ends, for a veth).
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        if let NewLinkKind::Veth(peer) = &mut self.kind {
            peer.mtu = Some(mtu);
        }
        self
    }

    /// Sets the MAC address.
    pub fn mac(mut self, mac: MacAddr) -> Self {
        self.mac = Some(mac);
        self
    }

    /// Brings the link up on creation (for a veth, the near end only; see [`NewLink::up`]).
    pub fn up(mut self) -> Self {
        self.up = true;
        self
    }

    /// Creates a veth's peer directly in the namespace of `netns`; no effect on other kinds.
    pub fn peer_netns(mut self, netns: BorrowedFd<'a>) -> Self {
        if let NewLinkKind::Veth(peer) = &mut self.kind {
            peer.netns = Some(netns);
        }
        self
    }

    /// Sets a veth peer's MAC address; no effect on other kinds.
    pub fn peer_mac(mut self, mac: MacAddr) -> Self {
        if let NewLinkKind::Veth(peer) = &mut self.kind {
            peer.mac = Some(mac);
        }
        self
    }
}

/// Changes to an existing link, applied in one request. Unset fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct LinkChange<'a> {
    /// Bring up (`true`) or down (`false`).
    pub up: Option<bool>,
    /// New MTU.
    pub mtu: Option<u32>,
    /// New MAC.
    pub mac: Option<MacAddr>,
    /// New master: `Some(Some(index))` attaches, `Some(None)` detaches.
    pub master: Option<Option<u32>>,
    /// New name.
    pub name: Option<&'a str>,
    /// Move into the namespace of this fd.
    pub netns: Option<BorrowedFd<'a>>,
}

/// Checks a name the way the kernel's `dev_valid_name` does, so a bad name fails with a
/// message instead of a bare `EINVAL`.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(format!("name {name:?}: must be 1 to {MAX_NAME_LEN} bytes"));
    }
    if name == "." || name == ".." {
        return Err(format!("name {name:?}: reserved"));
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c == '\0' || c.is_whitespace())
    {
        return Err(format!(
            "name {name:?}: contains '/', ':', NUL or whitespace"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_like_the_kernel_does() {
        for good in ["eth0", "veth1234567890a", "br-0.1", "x"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "veth1234567890ab",
            ".",
            "..",
            "a/b",
            "a:b",
            "a b",
            "a\0",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn link_ids_name_the_object() {
        assert_eq!(LinkId::from("veth0").to_string(), "\"veth0\"");
        assert_eq!(LinkId::from(7).to_string(), "index 7");
    }
}
