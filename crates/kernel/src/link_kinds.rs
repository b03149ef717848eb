//! More kinds of link: dummy, 802.1Q vlan and vrf — created (optionally straight into another
//! namespace), and their kind-specific data read back ([`KindInfo`]).
//!
//! Requests carry the attributes in iproute2's order (`ip link add link X name Y type vlan id
//! N` sends `IFLA_LINK`, `IFLA_IFNAME`, `IFLA_LINKINFO`); as everywhere in this crate the kind
//! string is NUL-terminated, the one byte difference from iproute2 (the kernel accepts both).
//!
//! Created with [`LinkKind`] and [`Netlink::link_add_kind`] rather than [`crate::NewLink`]:
//! these kinds need a lower device (`IFLA_LINK`) and their own `IFLA_INFO_DATA`.
//!
//! A link created with `netns` set lands in that namespace directly, under its final name
//! (the kernel checks the name there), while its lower device (a vlan's parent) is looked up
//! in the socket's namespace — no temporary name and no separate move.

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::error::{Error, Result};
use crate::link::{check_name, LinkId, IFINFO_LEN};
use crate::link_info;
use crate::net::MacAddr;
use crate::nl::consts::{
    IFLA_ADDRESS, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINK, IFLA_LINKINFO, IFLA_MTU,
    IFLA_NET_NS_FD, NLM_F_CREATE, NLM_F_EXCL, RTM_NEWLINK,
};
use crate::nl::{MessageBuilder, Netlink, WireError};

/// `IFLA_VLAN_ID` (u16).
pub const IFLA_VLAN_ID: u16 = 1;
/// `IFLA_VLAN_PROTOCOL` (big-endian u16).
pub const IFLA_VLAN_PROTOCOL: u16 = 5;
/// `IFLA_VRF_TABLE` (u32).
pub const IFLA_VRF_TABLE: u16 = 1;
/// Highest 802.1Q VLAN id (4095 is reserved).
pub const MAX_VLAN_ID: u16 = 4094;

/// The kind of link to create, with its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A dummy device: no lower device, drops what it is sent.
    Dummy,
    /// An 802.1Q vlan on lower device `parent` (an index in the socket's namespace).
    Vlan {
        /// The lower device.
        parent: u32,
        /// The VLAN id, 0–4094.
        id: u16,
    },
    /// A vrf (an L3 master device) bound to routing table `table`.
    Vrf {
        /// The routing table; not 0.
        table: u32,
    },
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Dummy => "dummy",
            Kind::Vlan { .. } => "vlan",
            Kind::Vrf { .. } => "vrf",
        }
    }
}

/// A link of one of these kinds to create.
#[derive(Debug, Clone, Copy)]
pub struct LinkKind<'a> {
    /// Its name (in the namespace it is created in).
    pub name: &'a str,
    /// The kind and its settings.
    pub kind: Kind,
    /// Its MTU; the kind's default (a vlan: its parent's) when unset.
    pub mtu: Option<u32>,
    /// Its MAC; random (a vlan: its parent's) when unset.
    pub mac: Option<MacAddr>,
    /// Create it in this namespace instead of the socket's.
    pub netns: Option<BorrowedFd<'a>>,
}

impl<'a> LinkKind<'a> {
    /// A link `name` of `kind`, defaults otherwise.
    pub fn new(name: &'a str, kind: Kind) -> LinkKind<'a> {
        LinkKind {
            name,
            kind,
            mtu: None,
            mac: None,
            netns: None,
        }
    }

    /// Checks what the kernel would refuse with a bare `EINVAL`/`ERANGE`.
    pub fn validate(&self) -> std::result::Result<(), String> {
        check_name(self.name)?;
        match self.kind {
            Kind::Vlan { id, .. } if id > MAX_VLAN_ID => {
                Err(format!("vlan id {id}: must be 0 to {MAX_VLAN_ID}"))
            }
            Kind::Vrf { table: 0 } => Err("vrf table 0: must be a table id above 0".into()),
            _ => Ok(()),
        }
    }

    /// The creation request (`RTM_NEWLINK`, `NLM_F_CREATE | NLM_F_EXCL`).
    pub fn request(&self) -> MessageBuilder {
        let mut req = MessageBuilder::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        req.push_bytes(&[0u8; IFINFO_LEN]);
        if let Kind::Vlan { parent, .. } = self.kind {
            req.attr_u32(IFLA_LINK, parent);
        }
        req.attr_str(IFLA_IFNAME, self.name);
        if let Some(mtu) = self.mtu {
            req.attr_u32(IFLA_MTU, mtu);
        }
        if let Some(mac) = self.mac {
            req.attr(IFLA_ADDRESS, &mac.0);
        }
        if let Some(fd) = self.netns {
            req.attr_i32(IFLA_NET_NS_FD, fd.as_raw_fd());
        }
        let info = req.nest_start(IFLA_LINKINFO);
        req.attr_str(IFLA_INFO_KIND, self.kind.name());
        match self.kind {
            Kind::Dummy => {}
            Kind::Vlan { id, .. } => {
                let data = req.nest_start(IFLA_INFO_DATA);
                req.attr_u16(IFLA_VLAN_ID, id);
                req.nest_end(data);
            }
            Kind::Vrf { table } => {
                let data = req.nest_start(IFLA_INFO_DATA);
                req.attr_u32(IFLA_VRF_TABLE, table);
                req.nest_end(data);
            }
        }
        req.nest_end(info);
        req
    }
}

/// A link's kind and what this module reads of its kind-specific data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindInfo {
    /// A vlan: its id and protocol (`0x8100` for 802.1Q).
    Vlan {
        /// VLAN id.
        id: u16,
        /// Ethertype of the tag.
        protocol: Option<u16>,
    },
    /// A vrf and its table.
    Vrf {
        /// Routing table.
        table: u32,
    },
    /// Any other kind, by name (`dummy`, `veth`, …); `None` for a link without one.
    Other(Option<String>),
}

impl KindInfo {
    /// From a link message payload.
    pub fn parse(payload: &[u8]) -> Result<KindInfo, WireError> {
        let Some(info) = link_info::parse(payload, IFLA_INFO_KIND, IFLA_INFO_DATA)? else {
            return Ok(KindInfo::Other(None));
        };
        match (info.kind, info.data) {
            (Some("vlan"), Some(d)) => {
                let (mut id, mut protocol) = (None, None);
                for a in d.nested() {
                    let a = a?;
                    match a.kind() {
                        IFLA_VLAN_ID => id = Some(a.as_u16()?),
                        IFLA_VLAN_PROTOCOL => protocol = Some(u16::from_be(a.as_u16()?)),
                        _ => {}
                    }
                }
                let id = id.ok_or(WireError::Missing("vlan id"))?;
                Ok(KindInfo::Vlan { id, protocol })
            }
            (Some("vrf"), Some(d)) => {
                for a in d.nested() {
                    let a = a?;
                    if a.kind() == IFLA_VRF_TABLE {
                        return Ok(KindInfo::Vrf { table: a.as_u32()? });
                    }
                }
                Err(WireError::Missing("vrf table"))
            }
            _ => Ok(KindInfo::Other(info.kind.map(str::to_owned))),
        }
    }
}

impl Netlink {
    /// Creates a dummy, vlan or vrf link. Fails with `EEXIST` when the name is taken (in the
    /// namespace it is created in), `ENODEV` when a vlan's parent does not exist, and — on a
    /// kernel without the kind — `EOPNOTSUPP`.
    pub fn link_add_kind(&mut self, spec: &LinkKind<'_>) -> Result<()> {
        let object = match spec.kind {
            Kind::Dummy => format!("{:?} (dummy)", spec.name),
            Kind::Vlan { parent, id } => {
                format!("{:?} (vlan id {id} on index {parent})", spec.name)
            }
            Kind::Vrf { table } => format!("{:?} (vrf table {table})", spec.name),
        };
        spec.validate()
            .map_err(|why| Error::invalid("create link", object.clone(), why))?;
        self.request_ack("create link", &object, spec.request())
    }

    /// A link's kind-specific information.
    pub fn link_kind_info(&mut self, id: LinkId<'_>) -> Result<KindInfo> {
        let req = link_info::get_request("get link", id)?;
        self.request_one("get kind of link", &id, req, |m| {
            KindInfo::parse(m.payload())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nl::Attrs;
    use crate::nl::Message;

    fn payload(spec: &LinkKind<'_>) -> Vec<u8> {
        let bytes = spec.request().finish(1, 0).unwrap();
        let msg = Message::new_checked(&bytes).unwrap();
        assert_eq!(msg.msg_type(), RTM_NEWLINK);
        assert_eq!(
            msg.flags() & (NLM_F_CREATE | NLM_F_EXCL),
            NLM_F_CREATE | NLM_F_EXCL
        );
        msg.payload().to_vec()
    }

    /// `ip link add link lo name v10 type vlan id 10` (iproute2 6.1, strace): IFLA_LINK 1,
    /// IFLA_IFNAME "v10", IFLA_LINKINFO { KIND "vlan" (iproute2: no NUL), DATA { VLAN_ID 10 } }.
    #[test]
    fn vlan_is_iproute2s_request_but_the_nul() {
        let got = payload(&LinkKind::new("v10", Kind::Vlan { parent: 1, id: 10 }));
        let mut want = vec![0u8; IFINFO_LEN];
        want.extend_from_slice(&[8, 0, 5, 0, 1, 0, 0, 0]); // IFLA_LINK 1
        want.extend_from_slice(&[8, 0, 3, 0, b'v', b'1', b'0', 0]); // IFLA_IFNAME
                                                                    // LINKINFO: 4 + KIND (4+5 → 12 padded) + DATA (4 + 6 → 12 padded) = 28.
        want.extend_from_slice(&[28, 0, 18, 0]);
        want.extend_from_slice(&[9, 0, 1, 0, b'v', b'l', b'a', b'n', 0, 0, 0, 0]);
        want.extend_from_slice(&[12, 0, 2, 0, 6, 0, 1, 0, 10, 0, 0, 0]);
        assert_eq!(got, want);
    }

    /// `ip link add vrf-b type vrf table 100`: IFLA_IFNAME, LINKINFO { KIND "vrf", DATA {
    /// VRF_TABLE 100 } }.
    #[test]
    fn vrf_and_dummy_requests() {
        let got = payload(&LinkKind::new("vrf-b", Kind::Vrf { table: 100 }));
        let mut want = vec![0u8; IFINFO_LEN];
        want.extend_from_slice(&[10, 0, 3, 0, b'v', b'r', b'f', b'-', b'b', 0, 0, 0]);
        want.extend_from_slice(&[24, 0, 18, 0]);
        want.extend_from_slice(&[8, 0, 1, 0, b'v', b'r', b'f', 0]);
        want.extend_from_slice(&[12, 0, 2, 0, 8, 0, 1, 0, 100, 0, 0, 0]);
        assert_eq!(got, want);
        // `ip link add d0 type dummy`: no IFLA_INFO_DATA.
        let got = payload(&LinkKind::new("d0", Kind::Dummy));
        let mut want = vec![0u8; IFINFO_LEN];
        want.extend_from_slice(&[7, 0, 3, 0, b'd', b'0', 0, 0]);
        want.extend_from_slice(&[16, 0, 18, 0, 10, 0, 1, 0]);
        want.extend_from_slice(b"dummy\0\0\0");
        assert_eq!(got, want);
    }

    #[test]
    fn settings_and_refusals() {
        let mac: MacAddr = "02:00:00:00:00:01".parse().unwrap();
        let spec = LinkKind {
            mtu: Some(1400),
            mac: Some(mac),
            ..LinkKind::new("d0", Kind::Dummy)
        };
        let p = payload(&spec);
        let attrs: Vec<u16> = Attrs::new(&p[IFINFO_LEN..])
            .map(|a| a.unwrap().kind())
            .collect();
        assert_eq!(attrs, [IFLA_IFNAME, IFLA_MTU, IFLA_ADDRESS, IFLA_LINKINFO]);
        assert!(LinkKind::new(
            "v",
            Kind::Vlan {
                parent: 1,
                id: 4095
            }
        )
        .validate()
        .is_err());
        assert!(LinkKind::new("v", Kind::Vrf { table: 0 })
            .validate()
            .is_err());
        assert!(LinkKind::new("a/b", Kind::Dummy).validate().is_err());
    }

    #[test]
    fn kind_info_round_trips_through_the_parser() {
        for (spec, want) in [
            (
                LinkKind::new("v10", Kind::Vlan { parent: 1, id: 10 }),
                KindInfo::Vlan {
                    id: 10,
                    protocol: None,
                },
            ),
            (
                LinkKind::new("vrf-b", Kind::Vrf { table: 100 }),
                KindInfo::Vrf { table: 100 },
            ),
            (
                LinkKind::new("d0", Kind::Dummy),
                KindInfo::Other(Some("dummy".into())),
            ),
        ] {
            let p = payload(&spec);
            assert_eq!(KindInfo::parse(&p).unwrap(), want);
            for cut in 0..p.len() {
                let _ = KindInfo::parse(&p[..cut]);
            }
        }
        assert_eq!(
            KindInfo::parse(&[0u8; IFINFO_LEN]).unwrap(),
            KindInfo::Other(None)
        );
    }
}
