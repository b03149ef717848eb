//! Link attributes a tuning plugin changes and reads back: promiscuous and all-multicast
//! mode (device flags, set through `ifi_flags` masked by `ifi_change`), the transmit queue
//! length (`IFLA_TXQLEN`), and, read together with them, MAC and MTU.
//!
//! The flags a link reports are the ones asked for through `SIOCSIFFLAGS`/netlink (the
//! kernel's `gflags`), not the running promiscuity count: a packet socket or a bridge that
//! makes a port promiscuous does not show here, so what is read back is exactly what was
//! set, and restoring it undoes only our own change.

use super::{check_name, IfInfo, LinkId, LinkMessage, IFINFO_LEN};
use crate::error::{Error, Result};
use crate::net::MacAddr;
use crate::nl::consts::{RTEXT_FILTER_SKIP_STATS, RTM_GETLINK, RTM_NEWLINK};
use crate::nl::{Attrs, MessageBuilder, Netlink, WireError};

/// `IFF_PROMISC`: receive all packets.
pub const IFF_PROMISC: u32 = 0x100;
/// `IFF_ALLMULTI`: receive all multicast packets.
pub const IFF_ALLMULTI: u32 = 0x200;
/// `IFLA_TXQLEN`: the transmit queue length (u32).
pub const IFLA_TXQLEN: u16 = 13;

/// The tunable attributes of a link, as the kernel reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkTunables {
    /// Interface index.
    pub index: u32,
    /// Ethernet address, when the link has one of 6 bytes.
    pub mac: Option<MacAddr>,
    /// MTU.
    pub mtu: u32,
    /// Transmit queue length.
    pub txqlen: u32,
    /// Promiscuous mode as set by a user (`IFF_PROMISC`).
    pub promisc: bool,
    /// All-multicast mode as set by a user (`IFF_ALLMULTI`).
    pub allmulti: bool,
}

impl LinkTunables {
    /// Decodes a link message payload (after the netlink header).
    pub fn parse(payload: &[u8]) -> Result<Self, WireError> {
        let msg = LinkMessage::parse(payload)?;
        let mut txqlen = None;
        // `LinkMessage` does not know IFLA_TXQLEN; the attributes were already checked by
        // its parse, so this second walk only picks the one it skips.
        for attr in Attrs::new(payload.get(IFINFO_LEN..).unwrap_or_default()) {
            let attr = attr?;
            if attr.kind() == IFLA_TXQLEN {
                txqlen = Some(attr.as_u32()?);
            }
        }
        let mac = msg
            .address
            .as_deref()
            .and_then(|a| <[u8; 6]>::try_from(a).ok())
            .map(MacAddr);
        Ok(LinkTunables {
            index: msg.header.index,
            mac,
            mtu: msg.mtu.ok_or(WireError::Missing("link MTU"))?,
            txqlen: txqlen.ok_or(WireError::Missing("link transmit queue length"))?,
            promisc: msg.header.flags & IFF_PROMISC != 0,
            allmulti: msg.header.flags & IFF_ALLMULTI != 0,
        })
    }
}

/// A change of one tunable attribute, one request each, so a refusal names its attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tunable {
    /// Promiscuous mode on or off.
    Promisc(bool),
    /// All-multicast mode on or off.
    Allmulti(bool),
    /// Transmit queue length.
    TxQueueLen(u32),
}

impl Tunable {
    /// The request setting this attribute on link `id`: only the named flag is in
    /// `ifi_change`, so every other flag (up, …) stays as it is.
    pub fn request(self, id: LinkId<'_>) -> MessageBuilder {
        let mut header = IfInfo::default();
        let mut name = None;
        match id {
            LinkId::Index(index) => header.index = index,
            LinkId::Name(n) => name = Some(n),
        }
        let mut flag = |mask: u32, on: bool| {
            header.change = mask;
            header.flags = if on { mask } else { 0 };
        };
        match self {
            Tunable::Promisc(on) => flag(IFF_PROMISC, on),
            Tunable::Allmulti(on) => flag(IFF_ALLMULTI, on),
            Tunable::TxQueueLen(_) => {}
        }
        let msg = LinkMessage {
            header,
            name: name.map(str::to_owned),
            ..LinkMessage::default()
        };
        let mut req = MessageBuilder::new(RTM_NEWLINK, 0);
        msg.emit(&mut req);
        if let Tunable::TxQueueLen(len) = self {
            req.attr_u32(IFLA_TXQLEN, len);
        }
        req
    }

    fn describe(self, id: LinkId<'_>) -> String {
        match self {
            Tunable::Promisc(on) => format!("{id} (promisc {})", on_off(on)),
            Tunable::Allmulti(on) => format!("{id} (allmulticast {})", on_off(on)),
            Tunable::TxQueueLen(len) => format!("{id} (txqueuelen {len})"),
        }
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

impl Netlink {
    /// Reads a link's MAC, MTU, transmit queue length, promiscuous and all-multicast mode.
    pub fn link_tunables(&mut self, id: LinkId<'_>) -> Result<LinkTunables> {
        if let LinkId::Name(name) = id {
            check_name(name).map_err(|why| Error::invalid("get link", id.to_string(), why))?;
        }
        let mut msg = LinkMessage::default();
        match id {
            LinkId::Index(index) => msg.header.index = index,
            LinkId::Name(name) => msg.name = Some(name.to_owned()),
        }
        msg.ext_mask = Some(RTEXT_FILTER_SKIP_STATS);
        let mut req = MessageBuilder::new(RTM_GETLINK, 0);
        msg.emit(&mut req);
        self.request_one("get link", &id, req, |m| LinkTunables::parse(m.payload()))
    }

    /// Changes one tunable attribute of a link.
    pub fn link_set_tunable(&mut self, id: LinkId<'_>, change: Tunable) -> Result<()> {
        let object = change.describe(id);
        if let LinkId::Name(name) = id {
            check_name(name).map_err(|why| Error::invalid("set link", object.clone(), why))?;
        }
        self.request_ack("set link", &object, change.request(id))
    }

    /// Turns promiscuous mode on or off.
    pub fn link_set_promisc(&mut self, id: LinkId<'_>, on: bool) -> Result<()> {
        self.link_set_tunable(id, Tunable::Promisc(on))
    }

    /// Turns all-multicast mode on or off.
    pub fn link_set_allmulti(&mut self, id: LinkId<'_>, on: bool) -> Result<()> {
        self.link_set_tunable(id, Tunable::Allmulti(on))
    }

    /// Sets the transmit queue length.
    pub fn link_set_txqlen(&mut self, id: LinkId<'_>, len: u32) -> Result<()> {
        self.link_set_tunable(id, Tunable::TxQueueLen(len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nl::consts::{IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU};

    fn body(req: MessageBuilder) -> Vec<u8> {
        let bytes = req.finish(1, 0).unwrap();
        bytes[16..].to_vec()
    }

    fn header(index: u32, flags: u32, change: u32) -> Vec<u8> {
        let mut b = vec![0u8; 16];
        b[4..8].copy_from_slice(&index.to_ne_bytes());
        b[8..12].copy_from_slice(&flags.to_ne_bytes());
        b[12..16].copy_from_slice(&change.to_ne_bytes());
        b
    }

    #[test]
    fn flag_requests_change_only_their_flag() {
        assert_eq!(
            body(Tunable::Promisc(true).request(LinkId::Index(7))),
            header(7, IFF_PROMISC, IFF_PROMISC)
        );
        assert_eq!(
            body(Tunable::Promisc(false).request(LinkId::Index(7))),
            header(7, 0, IFF_PROMISC)
        );
        assert_eq!(
            body(Tunable::Allmulti(true).request(LinkId::Index(3))),
            header(3, IFF_ALLMULTI, IFF_ALLMULTI)
        );
        assert_eq!(
            body(Tunable::Allmulti(false).request(LinkId::Index(3))),
            header(3, 0, IFF_ALLMULTI)
        );
    }

    #[test]
    fn txqlen_request_carries_the_attribute() {
        let mut want = header(0, 0, 0);
        // IFLA_IFNAME "eth0\0" padded to 8, then IFLA_TXQLEN u32.
        want.extend_from_slice(&9u16.to_ne_bytes());
        want.extend_from_slice(&IFLA_IFNAME.to_ne_bytes());
        want.extend_from_slice(b"eth0\0\0\0\0");
        want.extend_from_slice(&8u16.to_ne_bytes());
        want.extend_from_slice(&IFLA_TXQLEN.to_ne_bytes());
        want.extend_from_slice(&2000u32.to_ne_bytes());
        assert_eq!(
            body(Tunable::TxQueueLen(2000).request(LinkId::Name("eth0"))),
            want
        );
    }

    fn reply(flags: u32, txqlen: Option<u32>) -> Vec<u8> {
        let mut b = MessageBuilder::new(RTM_NEWLINK, 0);
        b.push_bytes(&header(5, flags | 0x1, 0));
        b.attr_str(IFLA_IFNAME, "eth0");
        b.attr_u32(IFLA_MTU, 1400);
        b.attr(IFLA_ADDRESS, &[2, 0, 0, 0, 0, 9]);
        if let Some(len) = txqlen {
            b.attr_u32(IFLA_TXQLEN, len);
        }
        body(b)
    }

    #[test]
    fn replies_decode_to_tunables() {
        let t = LinkTunables::parse(&reply(IFF_PROMISC, Some(1000))).unwrap();
        assert_eq!(
            t,
            LinkTunables {
                index: 5,
                mac: Some(MacAddr([2, 0, 0, 0, 0, 9])),
                mtu: 1400,
                txqlen: 1000,
                promisc: true,
                allmulti: false,
            }
        );
        let t = LinkTunables::parse(&reply(IFF_ALLMULTI, Some(0))).unwrap();
        assert!(!t.promisc && t.allmulti && t.txqlen == 0);
    }

    #[test]
    fn missing_or_broken_attributes_are_errors_not_panics() {
        assert_eq!(
            LinkTunables::parse(&reply(0, None)),
            Err(WireError::Missing("link transmit queue length"))
        );
        let full = reply(0, Some(1000));
        for len in 0..full.len() {
            let _ = LinkTunables::parse(&full[..len]);
        }
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let n = (seed % 64) as usize;
            let bytes: Vec<u8> = (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = LinkTunables::parse(&bytes);
        }
    }
}
