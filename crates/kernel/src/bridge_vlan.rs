//! Bridge VLAN filtering: the bridge's switch (`IFLA_BR_VLAN_FILTERING`) and the VLANs of a
//! port (`bridge vlan add|del|show`).
//!
//! * Filtering is bridge data: `RTM_NEWLINK` with `IFLA_LINKINFO { KIND "bridge", DATA {
//!   IFLA_BR_VLAN_FILTERING u8 } }` — `ip link set dev BR type bridge vlan_filtering 1`.
//! * A port's VLANs go in an `AF_BRIDGE` message: `RTM_SETLINK` to add, `RTM_DELLINK` to
//!   remove, `IFLA_AF_SPEC { IFLA_BRIDGE_VLAN_INFO { flags u16, vid u16 } … }`, a range as a
//!   `RANGE_BEGIN` entry and a `RANGE_END` entry — byte for byte what `bridge vlan add dev P
//!   vid 10 pvid untagged` and `vid 20-30` send (seen with strace).
//! * Listing is an `AF_BRIDGE` link dump asking for VLANs (`RTEXT_FILTER_BRVLAN`): one message
//!   per port, each VLAN an entry of its `IFLA_AF_SPEC`.

use crate::error::{Error, Result};
use crate::link::{LinkId, IFINFO_LEN};
use crate::link_info;
use crate::nl::consts::{
    IFLA_EXT_MASK, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO, RTM_DELLINK, RTM_GETLINK,
    RTM_NEWLINK,
};
use crate::nl::message::read_u32;
use crate::nl::{Attrs, MessageBuilder, Netlink, WireError};

/// `RTM_SETLINK`.
pub const RTM_SETLINK: u16 = 19;
/// `AF_BRIDGE`.
pub const AF_BRIDGE: u8 = 7;
/// `IFLA_AF_SPEC`.
pub const IFLA_AF_SPEC: u16 = 26;
/// `IFLA_BRIDGE_VLAN_INFO` inside `IFLA_AF_SPEC` (`struct bridge_vlan_info`).
pub const IFLA_BRIDGE_VLAN_INFO: u16 = 2;
/// `IFLA_BR_VLAN_FILTERING` (bridge data, u8).
pub const IFLA_BR_VLAN_FILTERING: u16 = 7;
/// `BRIDGE_VLAN_INFO_PVID`: untagged frames arriving on the port belong to this VLAN.
pub const VLAN_INFO_PVID: u16 = 1 << 1;
/// `BRIDGE_VLAN_INFO_UNTAGGED`: frames of this VLAN leave the port untagged.
pub const VLAN_INFO_UNTAGGED: u16 = 1 << 2;
/// `BRIDGE_VLAN_INFO_RANGE_BEGIN`.
pub const VLAN_INFO_RANGE_BEGIN: u16 = 1 << 3;
/// `BRIDGE_VLAN_INFO_RANGE_END`.
pub const VLAN_INFO_RANGE_END: u16 = 1 << 4;
/// `RTEXT_FILTER_BRVLAN`: link dumps of `AF_BRIDGE` carry each port's VLANs.
pub const RTEXT_FILTER_BRVLAN: u32 = 1 << 1;

/// VLANs of a port: one id, or a range `vid..=end` sharing flags (a range cannot be the
/// PVID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortVlan {
    /// The (first) VLAN id, 1–4094.
    pub vid: u16,
    /// The last id of a range.
    pub end: Option<u16>,
    /// The port's PVID.
    pub pvid: bool,
    /// Leaves the port untagged.
    pub untagged: bool,
}

impl PortVlan {
    /// One tagged VLAN.
    pub fn tagged(vid: u16) -> PortVlan {
        PortVlan {
            vid,
            end: None,
            pvid: false,
            untagged: false,
        }
    }

    /// The access VLAN: PVID and untagged.
    pub fn access(vid: u16) -> PortVlan {
        PortVlan {
            pvid: true,
            untagged: true,
            ..PortVlan::tagged(vid)
        }
    }

    fn flags(&self) -> u16 {
        let mut f = 0;
        if self.pvid {
            f |= VLAN_INFO_PVID;
        }
        if self.untagged {
            f |= VLAN_INFO_UNTAGGED;
        }
        f
    }

    fn check(&self) -> std::result::Result<(), String> {
        let ok = |v: u16| (1..=4094).contains(&v);
        match self.end {
            _ if !ok(self.vid) => Err(format!("vlan {}: must be 1 to 4094", self.vid)),
            Some(e) if !ok(e) || e <= self.vid => Err(format!(
                "vlan range {}-{e}: must ascend within 1 to 4094",
                self.vid
            )),
            Some(_) if self.pvid => Err("a vlan range cannot be the pvid".into()),
            _ => Ok(()),
        }
    }
}

fn vlan_info(req: &mut MessageBuilder, flags: u16, vid: u16) {
    let mut b = [0u8; 4];
    b[..2].copy_from_slice(&flags.to_ne_bytes());
    b[2..].copy_from_slice(&vid.to_ne_bytes());
    req.attr(IFLA_BRIDGE_VLAN_INFO, &b);
}

fn bridge_header(req: &mut MessageBuilder, index: u32) {
    let mut hdr = [0u8; IFINFO_LEN];
    hdr[0] = AF_BRIDGE;
    hdr[4..8].copy_from_slice(&index.to_ne_bytes());
    req.push_bytes(&hdr);
}

/// The request adding (`RTM_SETLINK`) or removing (`RTM_DELLINK`) `vlans` on port `index`.
pub fn port_vlans_request(msg_type: u16, index: u32, vlans: &[PortVlan]) -> MessageBuilder {
    let mut req = MessageBuilder::new(msg_type, 0);
    bridge_header(&mut req, index);
    let spec = req.nest_start(IFLA_AF_SPEC);
    for v in vlans {
        match v.end {
            None => vlan_info(&mut req, v.flags(), v.vid),
            Some(end) => {
                vlan_info(&mut req, v.flags() | VLAN_INFO_RANGE_BEGIN, v.vid);
                vlan_info(&mut req, v.flags() | VLAN_INFO_RANGE_END, end);
            }
        }
    }
    req.nest_end(spec);
    req
}

/// The request switching VLAN filtering of bridge `id` on or off.
pub fn vlan_filtering_request(id: LinkId<'_>, on: bool) -> MessageBuilder {
    let mut req = MessageBuilder::new(RTM_NEWLINK, 0);
    link_info::push_header(&mut req, id);
    let info = req.nest_start(IFLA_LINKINFO);
    req.attr_str(IFLA_INFO_KIND, "bridge");
    let data = req.nest_start(IFLA_INFO_DATA);
    req.attr_u8(IFLA_BR_VLAN_FILTERING, u8::from(on));
    req.nest_end(data);
    req.nest_end(info);
    req
}

/// Whether a bridge link message (payload) has VLAN filtering on; `None` when it is not a
/// bridge or does not say.
pub fn parse_vlan_filtering(payload: &[u8]) -> Result<Option<bool>, WireError> {
    let Some(info) = link_info::parse(payload, IFLA_INFO_KIND, IFLA_INFO_DATA)? else {
        return Ok(None);
    };
    let Some(data) = info.data.filter(|_| info.kind == Some("bridge")) else {
        return Ok(None);
    };
    for a in data.nested() {
        let a = a?;
        if a.kind() == IFLA_BR_VLAN_FILTERING {
            return Ok(Some(a.as_u8()? != 0));
        }
    }
    Ok(None)
}

/// The VLANs in an `AF_BRIDGE` link message (payload) and the port's index.
pub fn parse_port_vlans(payload: &[u8]) -> Result<(u32, Vec<PortVlan>), WireError> {
    let attrs = payload
        .get(IFINFO_LEN..)
        .ok_or(WireError::Truncated("ifinfomsg"))?;
    let index = read_u32(payload, 4).ok_or(WireError::Truncated("ifinfomsg"))?;
    let mut out = Vec::new();
    for attr in Attrs::new(attrs) {
        let attr = attr?;
        if attr.kind() != IFLA_AF_SPEC {
            continue;
        }
        let mut begin: Option<(u16, u16)> = None;
        for a in attr.nested() {
            let a = a?;
            if a.kind() != IFLA_BRIDGE_VLAN_INFO {
                continue;
            }
            let p = a.payload();
            let (flags, vid) = match p {
                [f0, f1, v0, v1, ..] => (
                    u16::from_ne_bytes([*f0, *f1]),
                    u16::from_ne_bytes([*v0, *v1]),
                ),
                _ => return Err(WireError::Truncated("bridge_vlan_info")),
            };
            let entry = |vid, end| PortVlan {
                vid,
                end,
                pvid: flags & VLAN_INFO_PVID != 0,
                untagged: flags & VLAN_INFO_UNTAGGED != 0,
            };
            if flags & VLAN_INFO_RANGE_BEGIN != 0 {
                begin = Some((vid, flags));
            } else if flags & VLAN_INFO_RANGE_END != 0 {
                if let Some((first, _)) = begin.take() {
                    out.push(entry(first, Some(vid)));
                }
            } else {
                out.push(entry(vid, None));
            }
        }
    }
    Ok((index, out))
}

impl Netlink {
    /// Turns VLAN filtering of a bridge on or off.
    pub fn bridge_set_vlan_filtering(&mut self, id: LinkId<'_>, on: bool) -> Result<()> {
        self.request_ack(
            "set vlan filtering of bridge",
            &id,
            vlan_filtering_request(id, on),
        )
    }

    /// Whether a bridge filters VLANs (`None`: not a bridge).
    pub fn bridge_vlan_filtering(&mut self, id: LinkId<'_>) -> Result<Option<bool>> {
        if let LinkId::Name(n) = id {
            crate::link::check_name(n)
                .map_err(|why| Error::invalid("get bridge", id.to_string(), why))?;
        }
        self.request_one("get bridge", &id, vlan_get(id), |m| {
            parse_vlan_filtering(m.payload())
        })
    }

    /// Adds VLANs to bridge port `index`.
    pub fn bridge_port_vlans_add(&mut self, index: u32, vlans: &[PortVlan]) -> Result<()> {
        self.port_vlans(RTM_SETLINK, "add vlans to bridge port", index, vlans)
    }

    /// Removes VLANs from bridge port `index`.
    pub fn bridge_port_vlans_del(&mut self, index: u32, vlans: &[PortVlan]) -> Result<()> {
        self.port_vlans(RTM_DELLINK, "remove vlans from bridge port", index, vlans)
    }

    fn port_vlans(
        &mut self,
        t: u16,
        op: &'static str,
        index: u32,
        vlans: &[PortVlan],
    ) -> Result<()> {
        let object = format!("index {index}");
        for v in vlans {
            v.check()
                .map_err(|why| Error::invalid(op, object.clone(), why))?;
        }
        self.request_ack(op, &object, port_vlans_request(t, index, vlans))
    }

    /// The VLANs of bridge port `index`, one entry per id (the kernel's uncompressed list).
    pub fn bridge_port_vlans(&mut self, index: u32) -> Result<Vec<PortVlan>> {
        let mut req = MessageBuilder::new(RTM_GETLINK, 0);
        bridge_header(&mut req, 0);
        req.attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN);
        let all = self.dump("list", &"bridge port vlans", req, |m| {
            parse_port_vlans(m.payload()).map(Some)
        })?;
        Ok(all
            .into_iter()
            .filter(|(i, _)| *i == index)
            .flat_map(|(_, v)| v)
            .collect())
    }
}

fn vlan_get(id: LinkId<'_>) -> MessageBuilder {
    let mut req = MessageBuilder::new(RTM_GETLINK, 0);
    link_info::push_header(&mut req, id);
    req
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nl::Message;

    fn payload(req: MessageBuilder) -> (u16, Vec<u8>) {
        let bytes = req.finish(1, 0).unwrap();
        let m = Message::new_checked(&bytes).unwrap();
        (m.msg_type(), m.payload().to_vec())
    }

    fn af_bridge_hdr(index: u32) -> Vec<u8> {
        let mut h = vec![0u8; IFINFO_LEN];
        h[0] = AF_BRIDGE;
        h[4..8].copy_from_slice(&index.to_ne_bytes());
        h
    }

    /// `bridge vlan add dev ve0 vid 10 pvid untagged` (iproute2 6.1, strace, ve0 = index 3):
    /// RTM_SETLINK, AF_BRIDGE, IFLA_AF_SPEC { VLAN_INFO { PVID|UNTAGGED, 10 } }.
    #[test]
    fn access_vlan_is_iproute2s_request() {
        let (t, p) = payload(port_vlans_request(RTM_SETLINK, 3, &[PortVlan::access(10)]));
        assert_eq!(t, RTM_SETLINK);
        let mut want = af_bridge_hdr(3);
        want.extend_from_slice(&[12, 0, 26, 0, 8, 0, 2, 0, 6, 0, 10, 0]);
        assert_eq!(p, want);
        assert_eq!(
            parse_port_vlans(&p).unwrap(),
            (3, vec![PortVlan::access(10)])
        );
    }

    /// `bridge vlan add dev ve0 vid 20-30` and `bridge vlan del dev ve0 vid 1`.
    #[test]
    fn ranges_and_removal_are_iproute2s_requests() {
        let range = PortVlan {
            end: Some(30),
            ..PortVlan::tagged(20)
        };
        let (_, p) = payload(port_vlans_request(RTM_SETLINK, 3, &[range]));
        let mut want = af_bridge_hdr(3);
        want.extend_from_slice(&[
            20, 0, 26, 0, 8, 0, 2, 0, 8, 0, 20, 0, 8, 0, 2, 0, 16, 0, 30, 0,
        ]);
        assert_eq!(p, want);
        assert_eq!(parse_port_vlans(&p).unwrap().1, vec![range]);
        let (t, p) = payload(port_vlans_request(RTM_DELLINK, 3, &[PortVlan::tagged(1)]));
        assert_eq!(t, RTM_DELLINK);
        let mut want = af_bridge_hdr(3);
        want.extend_from_slice(&[12, 0, 26, 0, 8, 0, 2, 0, 0, 0, 1, 0]);
        assert_eq!(p, want);
        for cut in 0..p.len() {
            let _ = parse_port_vlans(&p[..cut]);
        }
    }

    /// `ip link set dev br0 type bridge vlan_filtering 1` (br0 = index 2): LINKINFO { KIND
    /// "bridge" (iproute2 without the NUL), DATA { VLAN_FILTERING 1 } }.
    #[test]
    fn vlan_filtering_request_and_reply() {
        let (t, p) = payload(vlan_filtering_request(LinkId::Index(2), true));
        assert_eq!(t, RTM_NEWLINK);
        let mut want = vec![0u8; IFINFO_LEN];
        want[4] = 2;
        want.extend_from_slice(&[28, 0, 18, 0, 11, 0, 1, 0]);
        want.extend_from_slice(b"bridge\0\0");
        want.extend_from_slice(&[12, 0, 2, 0, 5, 0, 7, 0, 1, 0, 0, 0]);
        assert_eq!(p, want);
        assert_eq!(parse_vlan_filtering(&p).unwrap(), Some(true));
        let (_, off) = payload(vlan_filtering_request(LinkId::Index(2), false));
        assert_eq!(parse_vlan_filtering(&off).unwrap(), Some(false));
        assert_eq!(parse_vlan_filtering(&[0u8; IFINFO_LEN]).unwrap(), None);
        for cut in 0..p.len() {
            let _ = parse_vlan_filtering(&p[..cut]);
        }
    }

    #[test]
    fn bad_vlans_are_refused() {
        for bad in [
            PortVlan::tagged(0),
            PortVlan::tagged(4095),
            PortVlan {
                end: Some(5),
                ..PortVlan::tagged(9)
            },
            PortVlan {
                end: Some(12),
                ..PortVlan::access(9)
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        assert!(PortVlan {
            end: Some(12),
            ..PortVlan::tagged(9)
        }
        .check()
        .is_ok());
    }
}
