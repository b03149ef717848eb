//! macvlan and ipvlan devices: children of a lower (parent) device that share its wire. A
//! macvlan child has a MAC of its own; an ipvlan child shares the parent's MAC and is told
//! apart by IP address. Both are created with the parent's index in `IFLA_LINK` and their
//! mode in `IFLA_INFO_DATA`, and may be created straight into another namespace
//! (`IFLA_NET_NS_FD`), where they keep their parent in the creating namespace.
//!
//! [`MacvlanSpec`] and [`IpvlanSpec`] are what a creation request asks for; the modes are
//! also what the kernel reports about an existing device ([`Netlink::macvlan_mode`],
//! [`Netlink::ipvlan_mode`]).

use std::fmt;
use std::os::fd::BorrowedFd;

use super::LinkId;
use crate::error::Result;
use crate::nl::{Attrs, MessageBuilder, Netlink, WireError};

/// `IFLA_MACVLAN_MODE` (u32).
const IFLA_MACVLAN_MODE: u16 = 1;
/// `IFLA_IPVLAN_MODE` (u16).
const IFLA_IPVLAN_MODE: u16 = 1;

/// How a macvlan child reaches its siblings and the parent's wire (`MACVLAN_MODE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacvlanMode {
    /// No traffic between siblings at all.
    Private,
    /// Everything goes out to the wire; siblings meet through an external switch's hairpin.
    Vepa,
    /// Siblings talk to each other directly; everything else goes out to the wire.
    Bridge,
    /// The one child takes the parent's place (and its MAC).
    Passthru,
    /// Receives only frames from a list of source MACs.
    Source,
}

impl MacvlanMode {
    /// The kernel's value.
    pub fn raw(self) -> u32 {
        match self {
            MacvlanMode::Private => 1,
            MacvlanMode::Vepa => 2,
            MacvlanMode::Bridge => 4,
            MacvlanMode::Passthru => 8,
            MacvlanMode::Source => 16,
        }
    }

    /// The mode of a kernel value.
    pub fn from_raw(raw: u32) -> Option<MacvlanMode> {
        Some(match raw {
            1 => MacvlanMode::Private,
            2 => MacvlanMode::Vepa,
            4 => MacvlanMode::Bridge,
            8 => MacvlanMode::Passthru,
            16 => MacvlanMode::Source,
            _ => return None,
        })
    }

    /// The name iproute2 and CNI configurations use.
    pub fn name(self) -> &'static str {
        match self {
            MacvlanMode::Private => "private",
            MacvlanMode::Vepa => "vepa",
            MacvlanMode::Bridge => "bridge",
            MacvlanMode::Passthru => "passthru",
            MacvlanMode::Source => "source",
        }
    }
}

impl fmt::Display for MacvlanMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How an ipvlan child handles packets (`IPVLAN_MODE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpvlanMode {
    /// Layer 2: the child answers ARP/ND itself; broadcasts reach it.
    L2,
    /// Layer 3: the parent routes to the child; no broadcast, no multicast.
    L3,
    /// Layer 3 with the parent namespace's netfilter hooks on the way (`l3s`).
    L3s,
}

impl IpvlanMode {
    /// The kernel's value.
    pub fn raw(self) -> u16 {
        match self {
            IpvlanMode::L2 => 0,
            IpvlanMode::L3 => 1,
            IpvlanMode::L3s => 2,
        }
    }

    /// The mode of a kernel value.
    pub fn from_raw(raw: u16) -> Option<IpvlanMode> {
        Some(match raw {
            0 => IpvlanMode::L2,
            1 => IpvlanMode::L3,
            2 => IpvlanMode::L3s,
            _ => return None,
        })
    }

    /// The name iproute2 and CNI configurations use.
    pub fn name(self) -> &'static str {
        match self {
            IpvlanMode::L2 => "l2",
            IpvlanMode::L3 => "l3",
            IpvlanMode::L3s => "l3s",
        }
    }
}

impl fmt::Display for IpvlanMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A macvlan child to create.
#[derive(Debug, Clone, Copy)]
pub struct MacvlanSpec<'a> {
    /// The parent's index, in the namespace of the socket that creates the child.
    pub lower: u32,
    /// Its mode.
    pub mode: MacvlanMode,
    /// Create it directly in this namespace (its parent stays where it is).
    pub netns: Option<BorrowedFd<'a>>,
}

/// An ipvlan child to create.
#[derive(Debug, Clone, Copy)]
pub struct IpvlanSpec<'a> {
    /// The parent's index, in the namespace of the socket that creates the child.
    pub lower: u32,
    /// Its mode.
    pub mode: IpvlanMode,
    /// Create it directly in this namespace (its parent stays where it is).
    pub netns: Option<BorrowedFd<'a>>,
}

/// The `IFLA_INFO_DATA` members of a macvlan to create.
pub(crate) fn emit_macvlan(mode: MacvlanMode, out: &mut MessageBuilder) {
    out.attr_u32(IFLA_MACVLAN_MODE, mode.raw());
}

/// The `IFLA_INFO_DATA` members of an ipvlan to create.
pub(crate) fn emit_ipvlan(mode: IpvlanMode, out: &mut MessageBuilder) {
    out.attr_u16(IFLA_IPVLAN_MODE, mode.raw());
}

/// The mode in a macvlan's `IFLA_INFO_DATA`; `None` when absent or of a kind this crate
/// does not know (a newer kernel's), so reading the link still works.
pub(crate) fn parse_macvlan(data: &[u8]) -> Result<Option<MacvlanMode>, WireError> {
    for attr in Attrs::new(data) {
        let attr = attr?;
        if attr.kind() == IFLA_MACVLAN_MODE {
            return Ok(MacvlanMode::from_raw(attr.as_u32()?));
        }
    }
    Ok(None)
}

/// The mode in an ipvlan's `IFLA_INFO_DATA`; `None` when absent or unknown.
pub(crate) fn parse_ipvlan(data: &[u8]) -> Result<Option<IpvlanMode>, WireError> {
    for attr in Attrs::new(data) {
        let attr = attr?;
        if attr.kind() == IFLA_IPVLAN_MODE {
            return Ok(IpvlanMode::from_raw(attr.as_u16()?));
        }
    }
    Ok(None)
}

impl Netlink {
    /// The mode of a macvlan; `Ok(None)` when the link is of another kind, and an error
    /// that [`crate::Error::is_not_found`] recognises when it is gone.
    pub fn macvlan_mode(&mut self, id: LinkId<'_>) -> Result<Option<MacvlanMode>> {
        Ok(self.link_get_message(id)?.macvlan_mode)
    }

    /// The mode of an ipvlan; `Ok(None)` when the link is of another kind.
    pub fn ipvlan_mode(&mut self, id: LinkId<'_>) -> Result<Option<IpvlanMode>> {
        Ok(self.link_get_message(id)?.ipvlan_mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{LinkMessage, NewLink};
    use crate::nl::consts::{NLM_F_CREATE, NLM_F_EXCL, RTM_NEWLINK};

    /// `ip link add link va name mv0 type macvlan mode bridge` (va = index 3), captured
    /// with strace in a scratch namespace: the payload after the netlink header. (*) One
    /// deliberate difference: iproute2 sends the kind without its NUL (length 11); the crate
    /// terminates every string attribute, which the kernel's `NLA_STRING` policy accepts.
    #[rustfmt::skip]
    const MACVLAN_REQUEST: &[u8] = &[
        0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,          // ifinfomsg
        8, 0, 5, 0,  3, 0, 0, 0,                                    // IFLA_LINK
        8, 0, 3, 0,  b'm', b'v', b'0', 0,                           // IFLA_IFNAME
        28, 0, 18, 0,                                               // IFLA_LINKINFO
          12, 0, 1, 0,  b'm', b'a', b'c', b'v', b'l', b'a', b'n', 0, //   KIND (*)
          12, 0, 2, 0,                                              //   IFLA_INFO_DATA
            8, 0, 1, 0,  4, 0, 0, 0,                                //     MODE bridge
    ];

    /// `ip link add link va name iv0 type ipvlan mode l3`, likewise. (*) as above (iproute2:
    /// length 10); (**) iproute2 also sends `IFLA_IPVLAN_FLAGS` 0 (bridge), the kernel's
    /// default, which the crate leaves out (so its `IFLA_LINKINFO` is 36 bytes long).
    #[rustfmt::skip]
    const IPVLAN_REQUEST: &[u8] = &[
        0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,          // ifinfomsg
        8, 0, 5, 0,  3, 0, 0, 0,                                    // IFLA_LINK
        8, 0, 3, 0,  b'i', b'v', b'0', 0,                           // IFLA_IFNAME
        28, 0, 18, 0,                                               // IFLA_LINKINFO (**)
          11, 0, 1, 0,  b'i', b'p', b'v', b'l', b'a', b'n', 0, 0,   //   KIND (*)
          12, 0, 2, 0,                                              //   IFLA_INFO_DATA
            6, 0, 1, 0,  1, 0, 0, 0,                                //     MODE l3 (**)
    ];

    fn request(link: &NewLink<'_>) -> Vec<u8> {
        let mut msg = LinkMessage {
            name: Some(link.name.to_owned()),
            ..LinkMessage::default()
        };
        crate::link::ops::set_kind(&mut msg, &link.kind).unwrap();
        let mut b = MessageBuilder::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        msg.emit(&mut b);
        b.finish(1, 0).unwrap()
    }

    #[test]
    fn creation_requests_match_ip_link() {
        let mv = MacvlanSpec {
            lower: 3,
            mode: MacvlanMode::Bridge,
            netns: None,
        };
        assert_eq!(
            &request(&NewLink::macvlan("mv0", mv))[16..],
            MACVLAN_REQUEST
        );
        let iv = IpvlanSpec {
            lower: 3,
            mode: IpvlanMode::L3,
            netns: None,
        };
        assert_eq!(&request(&NewLink::ipvlan("iv0", iv))[16..], IPVLAN_REQUEST);
    }

    #[test]
    fn modes_round_trip() {
        for m in [
            MacvlanMode::Private,
            MacvlanMode::Vepa,
            MacvlanMode::Bridge,
            MacvlanMode::Passthru,
            MacvlanMode::Source,
        ] {
            assert_eq!(MacvlanMode::from_raw(m.raw()), Some(m));
        }
        assert_eq!(MacvlanMode::from_raw(3), None);
        for m in [IpvlanMode::L2, IpvlanMode::L3, IpvlanMode::L3s] {
            assert_eq!(IpvlanMode::from_raw(m.raw()), Some(m));
        }
        assert_eq!(IpvlanMode::from_raw(3), None);
        assert_eq!(MacvlanMode::Passthru.to_string(), "passthru");
        assert_eq!(IpvlanMode::L3s.to_string(), "l3s");
    }

    #[test]
    fn info_data_parses_what_is_emitted() {
        let mut b = MessageBuilder::new(0, 0);
        emit_macvlan(MacvlanMode::Vepa, &mut b);
        let bytes = b.finish(1, 0).unwrap();
        // The attributes follow the 16-byte netlink header.
        assert_eq!(parse_macvlan(&bytes[16..]), Ok(Some(MacvlanMode::Vepa)));
        let mut b = MessageBuilder::new(0, 0);
        emit_ipvlan(IpvlanMode::L3s, &mut b);
        let bytes = b.finish(1, 0).unwrap();
        assert_eq!(parse_ipvlan(&bytes[16..]), Ok(Some(IpvlanMode::L3s)));
        assert_eq!(parse_macvlan(&[]), Ok(None));
        // A mode this crate does not know reads as unknown, not as a broken link.
        let mut b = MessageBuilder::new(0, 0);
        b.attr_u32(IFLA_MACVLAN_MODE, 64);
        let bytes = b.finish(1, 0).unwrap();
        assert_eq!(parse_macvlan(&bytes[16..]), Ok(None));
    }
}
