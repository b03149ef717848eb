//! Link operations on a [`Netlink`] socket.

use std::os::fd::AsRawFd;

use super::{check_name, IfInfo, Link, LinkChange, LinkId, LinkMessage, NewLink, NewLinkKind};
use crate::error::{Error, Result};
use crate::nl::consts::{
    IFF_UP, NLM_F_CREATE, NLM_F_EXCL, RTEXT_FILTER_SKIP_STATS, RTM_DELLINK, RTM_GETLINK,
    RTM_NEWLINK,
};
use crate::nl::{MessageBuilder, Netlink, WireError};

/// Request message naming `id`: by index in the header, or by `IFLA_IFNAME`.
fn message_for(id: LinkId<'_>) -> LinkMessage {
    let mut msg = LinkMessage::default();
    match id {
        LinkId::Index(index) => msg.header.index = index,
        LinkId::Name(name) => msg.name = Some(name.to_owned()),
    }
    msg
}

fn build(msg_type: u16, flags: u16, msg: &LinkMessage) -> MessageBuilder {
    let mut req = MessageBuilder::new(msg_type, flags);
    msg.emit(&mut req);
    req
}

fn parse_link(payload: &[u8]) -> Result<Link, WireError> {
    Link::from_message(LinkMessage::parse(payload)?)
}

/// Fills in the kind-specific part of a creation request; refuses what the kernel would
/// answer with a bare `EINVAL` or `ERANGE`.
pub(crate) fn set_kind(msg: &mut LinkMessage, kind: &NewLinkKind<'_>) -> Result<(), String> {
    match kind {
        NewLinkKind::Veth(peer) => {
            check_name(peer.name)?;
            msg.kind = Some("veth".to_owned());
            msg.peer = Some(Box::new(LinkMessage {
                name: Some(peer.name.to_owned()),
                mtu: peer.mtu,
                address: peer.mac.map(|m| m.0.to_vec()),
                net_ns_fd: peer.netns.map(|fd| fd.as_raw_fd()),
                ..LinkMessage::default()
            }));
        }
        NewLinkKind::Bridge => msg.kind = Some("bridge".to_owned()),
        NewLinkKind::Vxlan(vxlan) => {
            if vxlan.vni > MAX_VNI {
                return Err(format!("vxlan id {}: must be at most {MAX_VNI}", vxlan.vni));
            }
            msg.kind = Some("vxlan".to_owned());
            msg.vxlan = Some(*vxlan);
        }
        NewLinkKind::Macvlan(spec) => {
            msg.kind = Some("macvlan".to_owned());
            msg.link = Some(spec.lower);
            msg.macvlan_mode = Some(spec.mode);
            msg.net_ns_fd = spec.netns.map(|fd| fd.as_raw_fd());
        }
        NewLinkKind::Ipvlan(spec) => {
            msg.kind = Some("ipvlan".to_owned());
            msg.link = Some(spec.lower);
            msg.ipvlan_mode = Some(spec.mode);
            msg.net_ns_fd = spec.netns.map(|fd| fd.as_raw_fd());
        }
    }
    Ok(())
}

/// VNIs have 24 bits.
const MAX_VNI: u32 = 0xff_ffff;

fn up_flags(header: &mut IfInfo, up: bool) {
    header.change |= IFF_UP;
    if up {
        header.flags |= IFF_UP;
    } else {
        header.flags &= !IFF_UP;
    }
}

impl Netlink {
    /// Lists every link in the socket's namespace.
    pub fn link_list(&mut self) -> Result<Vec<Link>> {
        let msg = LinkMessage {
            ext_mask: Some(RTEXT_FILTER_SKIP_STATS),
            ..LinkMessage::default()
        };
        let req = build(RTM_GETLINK, 0, &msg);
        self.dump("list", &"links", req, |m| parse_link(m.payload()).map(Some))
    }

    /// Gets one link by index or name.
    pub fn link_get(&mut self, id: LinkId<'_>) -> Result<Link> {
        if let LinkId::Name(name) = id {
            check_name(name).map_err(|why| Error::invalid("get link", id.to_string(), why))?;
        }
        let mut msg = message_for(id);
        msg.ext_mask = Some(RTEXT_FILTER_SKIP_STATS);
        let req = build(RTM_GETLINK, 0, &msg);
        self.request_one("get link", &id, req, |m| parse_link(m.payload()))
    }

    /// Gets a link's index from its name.
    pub fn link_index(&mut self, name: &str) -> Result<u32> {
        self.link_get(LinkId::Name(name)).map(|l| l.index)
    }

    /// Creates a link: a veth pair (its peer optionally directly in another namespace) or a
    /// bridge. Fails with `EEXIST` if a name is taken.
    pub fn link_add(&mut self, spec: &NewLink<'_>) -> Result<()> {
        let object = match &spec.kind {
            NewLinkKind::Veth(peer) => format!("{:?} (peer {:?})", spec.name, peer.name),
            NewLinkKind::Bridge => format!("{:?}", spec.name),
            NewLinkKind::Vxlan(vxlan) => format!("{:?} (vxlan id {})", spec.name, vxlan.vni),
            NewLinkKind::Macvlan(m) => {
                format!("{:?} (macvlan {} of index {})", spec.name, m.mode, m.lower)
            }
            NewLinkKind::Ipvlan(m) => {
                format!("{:?} (ipvlan {} of index {})", spec.name, m.mode, m.lower)
            }
        };
        let invalid = |why| Error::invalid("create link", object.clone(), why);
        check_name(spec.name).map_err(invalid)?;
        let mut msg = LinkMessage {
            name: Some(spec.name.to_owned()),
            mtu: spec.mtu,
            address: spec.mac.map(|m| m.0.to_vec()),
            ..LinkMessage::default()
        };
        if spec.up {
            up_flags(&mut msg.header, true);
        }
        set_kind(&mut msg, &spec.kind).map_err(invalid)?;
        let req = build(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &msg);
        self.request_ack("create link", &object, req)
    }

    /// Deletes a link (for a veth, both ends go).
    pub fn link_delete(&mut self, id: LinkId<'_>) -> Result<()> {
        let req = build(RTM_DELLINK, 0, &message_for(id));
        self.request_ack("delete link", &id, req)
    }

    /// Applies `change` to a link in one request.
    pub fn link_set(&mut self, id: LinkId<'_>, change: &LinkChange<'_>) -> Result<()> {
        let object = match change.name {
            Some(new) => format!("{id} (rename to {new:?})"),
            None => id.to_string(),
        };
        // A rename must address the link by index: by name, IFLA_IFNAME would be read as
        // the link to change rather than its new name.
        let id = match (id, change.name) {
            (LinkId::Name(old), Some(new)) => {
                check_name(new).map_err(|why| Error::invalid("set link", object.clone(), why))?;
                LinkId::Index(self.link_index(old)?)
            }
            _ => id,
        };
        let mut msg = message_for(id);
        if let Some(new) = change.name {
            msg.name = Some(new.to_owned());
        }
        if let Some(up) = change.up {
            up_flags(&mut msg.header, up);
        }
        msg.mtu = change.mtu;
        msg.address = change.mac.map(|m| m.0.to_vec());
        msg.master = change.master.map(|m| m.unwrap_or(0));
        msg.net_ns_fd = change.netns.map(|fd| fd.as_raw_fd());
        let req = build(RTM_NEWLINK, 0, &msg);
        self.request_ack("set link", &object, req)
    }

    /// Brings a link up.
    pub fn link_set_up(&mut self, id: LinkId<'_>) -> Result<()> {
        let change = LinkChange {
            up: Some(true),
            ..LinkChange::default()
        };
        self.link_set(id, &change)
    }

    /// Brings a link down.
    pub fn link_set_down(&mut self, id: LinkId<'_>) -> Result<()> {
        let change = LinkChange {
            up: Some(false),
            ..LinkChange::default()
        };
        self.link_set(id, &change)
    }

    /// Sets a link's MTU.
    pub fn link_set_mtu(&mut self, id: LinkId<'_>, mtu: u32) -> Result<()> {
        let change = LinkChange {
            mtu: Some(mtu),
            ..LinkChange::default()
        };
        self.link_set(id, &change)
    }

    /// Sets a link's MAC address.
    pub fn link_set_mac(&mut self, id: LinkId<'_>, mac: crate::MacAddr) -> Result<()> {
        let change = LinkChange {
            mac: Some(mac),
            ..LinkChange::default()
        };
        self.link_set(id, &change)
    }

    /// Makes a link a port of the master (bridge) with index `master`, or detaches it from
    /// its master with `None`.
    pub fn link_set_master(&mut self, id: LinkId<'_>, master: Option<u32>) -> Result<()> {
        let change = LinkChange {
            master: Some(master),
            ..LinkChange::default()
        };
        self.link_set(id, &change)
    }

    /// Renames a link. Kernels before 6.2 refuse while the link is up (`EBUSY`).
    pub fn link_rename(&mut self, id: LinkId<'_>, new_name: &str) -> Result<()> {
        let change = LinkChange {
            name: Some(new_name),
            ..LinkChange::default()
        };
        self.link_set(id, &change)
    }

    /// Moves a link into the namespace of `netns`. It disappears from this socket's view.
    pub fn link_set_netns(
        &mut self,
        id: LinkId<'_>,
        netns: std::os::fd::BorrowedFd<'_>,
    ) -> Result<()> {
        let change = LinkChange {
            netns: Some(netns),
            ..LinkChange::default()
        };
        self.link_set(id, &change)
    }
}
