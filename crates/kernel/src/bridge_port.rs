//! Bridge ports: per-port options (hairpin, isolation, learning) and the STP state.
//!
//! Options travel as the bridge's per-port data, `IFLA_LINKINFO` / `IFLA_INFO_SLAVE_DATA`
//! holding `IFLA_BRPORT_*` attributes: set with an ordinary `RTM_NEWLINK` (what `ip link set
//! dev X type bridge_slave hairpin on` sends), read from an ordinary `RTM_GETLINK` reply. Both
//! name the link by index or by name, so a plugin that just created a port by name needs no
//! lookup first. (The `AF_BRIDGE` `RTM_SETLINK` with `IFLA_PROTINFO` that `bridge link set`
//! sends reaches the same kernel code but takes an index only.) The link must already be a
//! port: the kernel applies port data through the master it has when the request arrives.

use crate::error::{Error, Result};
use crate::link::LinkId;
use crate::link_info::{self, Info};
use crate::nl::consts::{IFLA_LINKINFO, RTM_NEWLINK};
use crate::nl::{Attrs, MessageBuilder, Netlink, WireError};

/// `IFLA_LINKINFO` member: the kind of the master a link is a port of (`bridge`).
pub const IFLA_INFO_SLAVE_KIND: u16 = 4;
/// `IFLA_LINKINFO` member: the master's per-port data (`IFLA_BRPORT_*` for a bridge).
pub const IFLA_INFO_SLAVE_DATA: u16 = 5;
/// Port attribute: STP state (`u8`, [`PortState`]).
pub const IFLA_BRPORT_STATE: u16 = 1;
/// Port attribute: hairpin mode, frames may leave by the port they came in on (`u8`).
pub const IFLA_BRPORT_MODE: u16 = 4;
/// Port attribute: learn source MACs into the forwarding database (`u8`).
pub const IFLA_BRPORT_LEARNING: u16 = 8;
/// Port attribute: isolated, no traffic to other isolated ports (`u8`).
pub const IFLA_BRPORT_ISOLATED: u16 = 33;

/// The STP state of a port (`BR_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortState(pub u8);

impl PortState {
    /// Not forwarding: the port or its link is down.
    pub const DISABLED: PortState = PortState(0);
    /// Listening (STP).
    pub const LISTENING: PortState = PortState(1);
    /// Learning addresses, not forwarding yet (STP).
    pub const LEARNING: PortState = PortState(2);
    /// Forwarding frames.
    pub const FORWARDING: PortState = PortState(3);
    /// Blocked by STP.
    pub const BLOCKING: PortState = PortState(4);
}

/// A bridge port's options and state, as the kernel reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgePort {
    /// STP state.
    pub state: PortState,
    /// Hairpin mode.
    pub hairpin: bool,
    /// Isolated.
    pub isolated: bool,
    /// Learning.
    pub learning: bool,
}

impl BridgePort {
    /// Reads the port information from a link message payload (`ifinfomsg` + attributes);
    /// `Ok(None)` when the link is not a bridge port.
    pub fn parse(payload: &[u8]) -> Result<Option<BridgePort>, WireError> {
        let info = link_info::parse(payload, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA)?;
        match info {
            Some(Info {
                kind: Some("bridge"),
                data: Some(data),
            }) => BridgePort::from_slave_data(data.nested()).map(Some),
            _ => Ok(None),
        }
    }

    fn from_slave_data(attrs: Attrs<'_>) -> Result<BridgePort, WireError> {
        let mut port = BridgePort {
            state: PortState::DISABLED,
            hairpin: false,
            isolated: false,
            learning: false,
        };
        for attr in attrs {
            let attr = attr?;
            match attr.kind() {
                IFLA_BRPORT_STATE => port.state = PortState(attr.as_u8()?),
                IFLA_BRPORT_MODE => port.hairpin = attr.as_u8()? != 0,
                IFLA_BRPORT_ISOLATED => port.isolated = attr.as_u8()? != 0,
                IFLA_BRPORT_LEARNING => port.learning = attr.as_u8()? != 0,
                _ => {}
            }
        }
        Ok(port)
    }
}

/// Changes to a bridge port's options, applied in one request. Unset fields stay as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BridgePortChange {
    /// Hairpin mode on or off.
    pub hairpin: Option<bool>,
    /// Isolation on or off.
    pub isolated: Option<bool>,
    /// Learning on or off.
    pub learning: Option<bool>,
}

impl BridgePortChange {
    /// Whether nothing would change (no request is needed).
    pub fn is_empty(&self) -> bool {
        *self == BridgePortChange::default()
    }

    /// Encodes the link header naming the port and the nested port data.
    pub fn emit(&self, id: LinkId<'_>, out: &mut MessageBuilder) {
        link_info::push_header(out, id);
        let info = out.nest_start(IFLA_LINKINFO);
        let data = out.nest_start(IFLA_INFO_SLAVE_DATA);
        let flags = [
            (IFLA_BRPORT_MODE, self.hairpin),
            (IFLA_BRPORT_ISOLATED, self.isolated),
            (IFLA_BRPORT_LEARNING, self.learning),
        ];
        for (kind, value) in flags {
            if let Some(on) = value {
                out.attr_u8(kind, u8::from(on));
            }
        }
        out.nest_end(data);
        out.nest_end(info);
    }
}

fn checked(op: &'static str, id: LinkId<'_>) -> Result<()> {
    match id {
        LinkId::Name(name) => {
            crate::link::check_name(name).map_err(|why| Error::invalid(op, id.to_string(), why))
        }
        LinkId::Index(_) => Ok(()),
    }
}

impl Netlink {
    /// Applies `change` to the bridge port `id`. Fails when the link is not a bridge port
    /// (`EOPNOTSUPP`, from the kernel).
    pub fn bridge_port_set(&mut self, id: LinkId<'_>, change: &BridgePortChange) -> Result<()> {
        checked("set bridge port", id)?;
        let mut req = MessageBuilder::new(RTM_NEWLINK, 0);
        change.emit(id, &mut req);
        let object = format!("{id} ({change:?})");
        self.request_ack("set bridge port", &object, req)
    }

    /// The bridge port options and state of a link; `None` when it is not a bridge port.
    pub fn bridge_port_get(&mut self, id: LinkId<'_>) -> Result<Option<BridgePort>> {
        let req = link_info::get_request("get bridge port", id)?;
        self.request_one("get bridge port", &id, req, |m| {
            BridgePort::parse(m.payload())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::IFINFO_LEN;
    use crate::nl::consts::{IFLA_IFNAME, RTM_GETLINK};
    use crate::nl::Message;

    #[test]
    fn change_encodes_port_data_under_linkinfo() {
        let change = BridgePortChange {
            hairpin: Some(true),
            isolated: Some(false),
            learning: None,
        };
        let mut req = MessageBuilder::new(RTM_NEWLINK, 0);
        change.emit(LinkId::Name("veth0"), &mut req);
        let bytes = req.finish(1, 0).unwrap();
        let msg = Message::new_checked(&bytes).unwrap();
        let payload = msg.payload();
        assert_eq!(&payload[4..8], &0u32.to_ne_bytes());
        let attrs: Vec<_> = Attrs::new(&payload[IFINFO_LEN..])
            .map(|a| a.unwrap())
            .collect();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0].kind(), IFLA_IFNAME);
        assert_eq!(attrs[0].as_str().unwrap(), "veth0");
        assert_eq!(attrs[1].kind(), IFLA_LINKINFO);
        let data = attrs[1].nested().next().unwrap().unwrap();
        assert_eq!(data.kind(), IFLA_INFO_SLAVE_DATA);
        let inner: Vec<_> = data
            .nested()
            .map(|a| {
                let a = a.unwrap();
                (a.kind(), a.as_u8().unwrap())
            })
            .collect();
        assert_eq!(
            inner,
            vec![(IFLA_BRPORT_MODE, 1), (IFLA_BRPORT_ISOLATED, 0)]
        );
        assert!(BridgePortChange::default().is_empty());
    }

    fn link_payload(slave_kind: &str, data: &[(u16, u8)]) -> Vec<u8> {
        let mut b = MessageBuilder::new(RTM_GETLINK, 0);
        b.push_bytes(&[0u8; IFINFO_LEN]);
        b.attr_str(IFLA_IFNAME, "veth0");
        let info = b.nest_start(IFLA_LINKINFO);
        b.attr_str(IFLA_INFO_SLAVE_KIND, slave_kind);
        let d = b.nest_start(IFLA_INFO_SLAVE_DATA);
        for (k, v) in data {
            b.attr_u8(*k, *v);
        }
        b.nest_end(d);
        b.nest_end(info);
        let bytes = b.finish(1, 0).unwrap();
        Message::new_checked(&bytes).unwrap().payload().to_vec()
    }

    #[test]
    fn port_info_is_read_from_slave_data() {
        let p = link_payload(
            "bridge",
            &[
                (IFLA_BRPORT_STATE, 3),
                (IFLA_BRPORT_MODE, 1),
                (IFLA_BRPORT_ISOLATED, 1),
                (IFLA_BRPORT_LEARNING, 0),
            ],
        );
        let port = BridgePort::parse(&p).unwrap().unwrap();
        assert_eq!(port.state, PortState::FORWARDING);
        assert!(port.hairpin && port.isolated && !port.learning);
        let bond = link_payload("bond", &[(1, 1)]);
        assert_eq!(BridgePort::parse(&bond).unwrap(), None);
        for cut in 0..p.len() {
            let _ = BridgePort::parse(&p[..cut]);
        }
    }
}
