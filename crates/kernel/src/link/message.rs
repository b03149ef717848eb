//! The wire form of a link: `struct ifinfomsg` and the `IFLA_*` attributes this crate reads
//! and writes, as one value ([`LinkMessage`]) with `parse` and `emit`.

use std::os::fd::RawFd;

use super::macvlan::{self, IpvlanMode, MacvlanMode};
use super::vxlan::{VxlanInfo, VxlanSpec};
use crate::nl::consts::{
    IFLA_ADDRESS, IFLA_EXT_MASK, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINK,
    IFLA_LINKINFO, IFLA_LINK_NETNSID, IFLA_MASTER, IFLA_MTU, IFLA_NET_NS_FD, IFLA_OPERSTATE,
    VETH_INFO_PEER,
};
use crate::nl::message::{read_u16, read_u32};
use crate::nl::{Attrs, MessageBuilder, WireError};

/// Length of `struct ifinfomsg`.
pub const IFINFO_LEN: usize = 16;

/// `struct ifinfomsg`: the fixed header of every link message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IfInfo {
    /// Address family, `AF_UNSPEC` for links.
    pub family: u8,
    /// Device type (`ARPHRD_*`).
    pub link_type: u16,
    /// Interface index; 0 in a request means "by name" or "kernel chooses".
    pub index: u32,
    /// Device flags (`IFF_*`).
    pub flags: u32,
    /// Which of `flags` a request changes.
    pub change: u32,
}

impl IfInfo {
    /// Decodes the header at the start of a message payload.
    pub fn parse(buf: &[u8]) -> Result<Self, WireError> {
        let short = WireError::Truncated("ifinfomsg");
        Ok(IfInfo {
            family: *buf.first().ok_or(short.clone())?,
            link_type: read_u16(buf, 2).ok_or(short.clone())?,
            index: read_u32(buf, 4).ok_or(short.clone())?,
            flags: read_u32(buf, 8).ok_or(short.clone())?,
            change: read_u32(buf, 12).ok_or(short)?,
        })
    }

    /// Encodes the header.
    pub fn emit(&self, out: &mut MessageBuilder) {
        let mut b = [0u8; IFINFO_LEN];
        b[0] = self.family;
        b[2..4].copy_from_slice(&self.link_type.to_ne_bytes());
        b[4..8].copy_from_slice(&self.index.to_ne_bytes());
        b[8..12].copy_from_slice(&self.flags.to_ne_bytes());
        b[12..16].copy_from_slice(&self.change.to_ne_bytes());
        out.push_bytes(&b);
    }
}

/// A link message: header plus the attributes this crate understands. Parsing ignores
/// attributes it does not know; emitting writes only the fields that are set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkMessage {
    /// The fixed header.
    pub header: IfInfo,
    /// `IFLA_IFNAME`.
    pub name: Option<String>,
    /// `IFLA_MTU`.
    pub mtu: Option<u32>,
    /// `IFLA_ADDRESS`: the link-layer address.
    pub address: Option<Vec<u8>>,
    /// `IFLA_MASTER`: the master's index; `Some(0)` in a request detaches from the master.
    pub master: Option<u32>,
    /// `IFLA_LINK`: the peer (veth) or lower device's index.
    pub link: Option<u32>,
    /// `IFLA_LINK_NETNSID`: the namespace id of the peer or lower device, when it lives in
    /// another namespace that has an id here.
    pub link_netnsid: Option<i32>,
    /// `IFLA_OPERSTATE`.
    pub oper_state: Option<u8>,
    /// `IFLA_LINKINFO` / `IFLA_INFO_KIND`: `veth`, `bridge`, …
    pub kind: Option<String>,
    /// `IFLA_NET_NS_FD` (requests): move or create the link in the namespace of this fd.
    pub net_ns_fd: Option<RawFd>,
    /// `IFLA_EXT_MASK` (GET requests): what to leave out of the reply.
    pub ext_mask: Option<u32>,
    /// `VETH_INFO_PEER` (requests creating a veth): the peer's own header and attributes.
    pub peer: Option<Box<LinkMessage>>,
    /// `IFLA_INFO_DATA` of a vxlan (requests creating one).
    pub vxlan: Option<VxlanSpec>,
    /// `IFLA_INFO_DATA` of a vxlan (replies about one).
    pub vxlan_info: Option<VxlanInfo>,
    /// `IFLA_MACVLAN_MODE` of a macvlan (requests creating one, replies about one).
    pub macvlan_mode: Option<MacvlanMode>,
    /// `IFLA_IPVLAN_MODE` of an ipvlan (requests creating one, replies about one).
    pub ipvlan_mode: Option<IpvlanMode>,
}

impl LinkMessage {
    /// Decodes a link message payload (after the netlink header).
    pub fn parse(payload: &[u8]) -> Result<Self, WireError> {
        let header = IfInfo::parse(payload)?;
        let mut msg = LinkMessage {
            header,
            ..LinkMessage::default()
        };
        for attr in Attrs::new(payload.get(IFINFO_LEN..).unwrap_or_default()) {
            let attr = attr?;
            match attr.kind() {
                IFLA_IFNAME => msg.name = Some(attr.as_str()?.to_owned()),
                IFLA_MTU => msg.mtu = Some(attr.as_u32()?),
                IFLA_ADDRESS => msg.address = Some(attr.payload().to_vec()),
                IFLA_MASTER => msg.master = Some(attr.as_u32()?),
                IFLA_LINK => msg.link = Some(attr.as_u32()?),
                IFLA_LINK_NETNSID => msg.link_netnsid = Some(attr.as_i32()?),
                IFLA_OPERSTATE => msg.oper_state = Some(attr.as_u8()?),
                IFLA_LINKINFO => {
                    let mut data = None;
                    for info in attr.nested() {
                        let info = info?;
                        match info.kind() {
                            IFLA_INFO_KIND => msg.kind = Some(info.as_str()?.to_owned()),
                            IFLA_INFO_DATA => data = Some(info.payload()),
                            _ => {}
                        }
                    }
                    // The data's meaning depends on the kind, which may come after it.
                    match (msg.kind.as_deref(), data) {
                        (Some("vxlan"), Some(data)) => {
                            msg.vxlan_info = Some(VxlanInfo::parse(data)?);
                        }
                        (Some("macvlan" | "macvtap"), Some(data)) => {
                            msg.macvlan_mode = macvlan::parse_macvlan(data)?;
                        }
                        (Some("ipvlan" | "ipvtap"), Some(data)) => {
                            msg.ipvlan_mode = macvlan::parse_ipvlan(data)?;
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        Ok(msg)
    }

    /// Encodes the header and the set attributes.
    pub fn emit(&self, out: &mut MessageBuilder) {
        self.header.emit(out);
        self.emit_attrs(out);
        if self.kind.is_some() || self.peer.is_some() || self.vxlan.is_some() {
            let info = out.nest_start(IFLA_LINKINFO);
            if let Some(kind) = &self.kind {
                out.attr_str(IFLA_INFO_KIND, kind);
            }
            if let Some(peer) = &self.peer {
                let data = out.nest_start(IFLA_INFO_DATA);
                let nest = out.nest_start(VETH_INFO_PEER);
                peer.header.emit(out);
                peer.emit_attrs(out);
                out.nest_end(nest);
                out.nest_end(data);
            } else if let Some(vxlan) = &self.vxlan {
                let data = out.nest_start(IFLA_INFO_DATA);
                vxlan.emit(out);
                out.nest_end(data);
            } else if let Some(mode) = self.macvlan_mode {
                let data = out.nest_start(IFLA_INFO_DATA);
                macvlan::emit_macvlan(mode, out);
                out.nest_end(data);
            } else if let Some(mode) = self.ipvlan_mode {
                let data = out.nest_start(IFLA_INFO_DATA);
                macvlan::emit_ipvlan(mode, out);
                out.nest_end(data);
            }
            out.nest_end(info);
        }
    }

    fn emit_attrs(&self, out: &mut MessageBuilder) {
        // First, where iproute2 puts it (`ip link add link DEV …`).
        if let Some(link) = self.link {
            out.attr_u32(IFLA_LINK, link);
        }
        if let Some(name) = &self.name {
            out.attr_str(IFLA_IFNAME, name);
        }
        if let Some(mtu) = self.mtu {
            out.attr_u32(IFLA_MTU, mtu);
        }
        if let Some(address) = &self.address {
            out.attr(IFLA_ADDRESS, address);
        }
        if let Some(master) = self.master {
            out.attr_u32(IFLA_MASTER, master);
        }
        if let Some(fd) = self.net_ns_fd {
            out.attr_i32(IFLA_NET_NS_FD, fd);
        }
        if let Some(mask) = self.ext_mask {
            out.attr_u32(IFLA_EXT_MASK, mask);
        }
    }
}
