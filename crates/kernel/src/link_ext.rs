//! Link operations beyond [`crate::link`]'s basic set, for plugins that attach containers to
//! bridges in as few requests as possible:
//!
//! * [`Netlink::link_add_enslaved`]: create a link (a veth whose peer goes straight into a
//!   container's namespace) already attached to a master and up, in one request: the kernel
//!   applies `IFLA_MASTER` and the `IFF_UP` flag of a creation request to the new device.
//! * [`Netlink::link_set_promisc_flag`]: the `IFF_PROMISC` device flag.
//! * [`Netlink::link_get_message`]: the whole decoded reply of a GET, for attributes that
//!   [`crate::Link`] does not surface (the operational state).
//! * [`Netlink::link_set_ipv6_addr_gen_none`]: no IPv6 link-local address for a link, set
//!   over netlink (`IFLA_AF_SPEC`) rather than through a `/proc/sys` file.

use crate::error::{Error, Result};
use crate::link::ops::set_kind;
use crate::link::{check_name, LinkId, LinkMessage, NewLink, NewLinkKind};
use crate::nl::consts::{
    IFF_UP, NLM_F_CREATE, NLM_F_EXCL, RTEXT_FILTER_SKIP_STATS, RTM_GETLINK, RTM_NEWLINK,
};
use crate::nl::{MessageBuilder, Netlink};

/// `IFLA_AF_SPEC`: per-address-family link settings.
const IFLA_AF_SPEC: u16 = 26;
/// `AF_INET6`, as the nest type inside `IFLA_AF_SPEC`.
const AF_INET6: u16 = 10;
/// `IFLA_INET6_ADDR_GEN_MODE` inside the `AF_INET6` nest.
const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;
/// `IN6_ADDR_GEN_MODE_NONE`: the kernel generates no link-local address.
const IN6_ADDR_GEN_MODE_NONE: u8 = 1;

/// `if.h`: the device receives all packets.
pub const IFF_PROMISC: u32 = 0x100;

/// `IF_OPER_UP` (RFC 2863 operational state "up"), as `IFLA_OPERSTATE` reports it.
pub const OPER_UP: u8 = 6;

impl Netlink {
    /// Creates `spec` as a port of the master with index `master`. For a veth, the near end
    /// is the port and `spec.up` brings it up; the peer stays down (see [`NewLink::up`]).
    /// Fails with `EEXIST` if a name is taken, in either namespace.
    pub fn link_add_enslaved(&mut self, spec: &NewLink<'_>, master: u32) -> Result<()> {
        let object = match &spec.kind {
            NewLinkKind::Veth(peer) => {
                format!("{:?} (peer {:?}, master {master})", spec.name, peer.name)
            }
            NewLinkKind::Bridge => format!("{:?} (master {master})", spec.name),
            NewLinkKind::Vxlan(vxlan) => {
                format!("{:?} (vxlan id {}, master {master})", spec.name, vxlan.vni)
            }
            NewLinkKind::Macvlan(_) | NewLinkKind::Ipvlan(_) => {
                format!("{:?} (master {master})", spec.name)
            }
        };
        let invalid = |why| Error::invalid("create link", object.clone(), why);
        check_name(spec.name).map_err(invalid)?;
        let mut msg = LinkMessage {
            name: Some(spec.name.to_owned()),
            mtu: spec.mtu,
            address: spec.mac.map(|m| m.0.to_vec()),
            master: Some(master),
            ..LinkMessage::default()
        };
        if spec.up {
            msg.header.flags |= IFF_UP;
            msg.header.change |= IFF_UP;
        }
        set_kind(&mut msg, &spec.kind).map_err(invalid)?;
        let mut req = MessageBuilder::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        msg.emit(&mut req);
        self.request_ack("create link", &object, req)
    }

    /// Turns promiscuous mode on or off.
    pub fn link_set_promisc_flag(&mut self, id: LinkId<'_>, on: bool) -> Result<()> {
        let mut msg = message_for(id);
        msg.header.change = IFF_PROMISC;
        msg.header.flags = if on { IFF_PROMISC } else { 0 };
        let mut req = MessageBuilder::new(RTM_NEWLINK, 0);
        msg.emit(&mut req);
        self.request_ack("set promiscuous mode of link", &id, req)
    }

    /// Stops the kernel from giving the link an IPv6 link-local address when it next gets
    /// a carrier. A link that needs no IPv6 address of its own (a bridge port) then sends no
    /// duplicate-address probe, listener report or router solicitation, which a bridge
    /// floods to every other port. Fails with `EAFNOSUPPORT` where IPv6 is off.
    pub fn link_set_ipv6_addr_gen_none(&mut self, id: LinkId<'_>) -> Result<()> {
        let msg = message_for(id);
        let mut req = MessageBuilder::new(RTM_NEWLINK, 0);
        msg.emit(&mut req);
        let spec = req.nest_start(IFLA_AF_SPEC);
        let inet6 = req.nest_start(AF_INET6);
        req.attr_u8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
        req.nest_end(inet6);
        req.nest_end(spec);
        self.request_ack("set IPv6 address generation of link", &id, req)
    }

    /// Gets one link's whole decoded reply (operational state included).
    pub fn link_get_message(&mut self, id: LinkId<'_>) -> Result<LinkMessage> {
        if let LinkId::Name(name) = id {
            check_name(name).map_err(|why| Error::invalid("get link", id.to_string(), why))?;
        }
        let mut msg = message_for(id);
        msg.ext_mask = Some(RTEXT_FILTER_SKIP_STATS);
        let mut req = MessageBuilder::new(RTM_GETLINK, 0);
        msg.emit(&mut req);
        self.request_one("get link", &id, req, |m| LinkMessage::parse(m.payload()))
    }
}

fn message_for(id: LinkId<'_>) -> LinkMessage {
    let mut msg = LinkMessage::default();
    match id {
        LinkId::Index(index) => msg.header.index = index,
        LinkId::Name(name) => msg.name = Some(name.to_owned()),
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nl::consts::IFLA_MASTER;
    use crate::nl::{Attrs, Message};

    #[test]
    fn promisc_request_changes_only_that_flag() {
        let mut msg = message_for(LinkId::Index(3));
        msg.header.change = IFF_PROMISC;
        msg.header.flags = IFF_PROMISC;
        let mut req = MessageBuilder::new(RTM_NEWLINK, 0);
        msg.emit(&mut req);
        let bytes = req.finish(1, 0).unwrap();
        let parsed = LinkMessage::parse(Message::new_checked(&bytes).unwrap().payload()).unwrap();
        assert_eq!(parsed.header.index, 3);
        assert_eq!(parsed.header.change, IFF_PROMISC);
        assert_eq!(parsed.header.flags, IFF_PROMISC);
    }

    #[test]
    fn master_is_a_top_level_attribute() {
        let msg = LinkMessage {
            name: Some("veth0".into()),
            master: Some(9),
            ..LinkMessage::default()
        };
        let mut req = MessageBuilder::new(RTM_NEWLINK, 0);
        msg.emit(&mut req);
        let bytes = req.finish(1, 0).unwrap();
        let payload = Message::new_checked(&bytes).unwrap().payload().to_vec();
        let master = Attrs::new(&payload[crate::link::IFINFO_LEN..])
            .map(|a| a.unwrap())
            .find(|a| a.kind() == IFLA_MASTER)
            .unwrap();
        assert_eq!(master.as_u32().unwrap(), 9);
    }
}
