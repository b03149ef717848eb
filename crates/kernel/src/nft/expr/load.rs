//! Expressions that load packet or connection facts into a register: `payload`, `meta`,
//! `ct` and `fib`.

use super::data::{reg, Reg};
use crate::nft::wire::{be32, put_be32};
use crate::nl::{Attrs, MessageBuilder, WireError};

/// Which header a payload offset counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadBase {
    /// The link-layer (Ethernet) header.
    LinkLayer = 0,
    /// The network (IP) header.
    Network = 1,
    /// The transport (TCP/UDP/SCTP) header.
    Transport = 2,
}

/// Loads `len` bytes at `offset` from a header into `dreg` (`ip daddr`, `th dport`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Payload {
    /// Destination register.
    pub dreg: Reg,
    /// The header.
    pub base: PayloadBase,
    /// Offset in bytes.
    pub offset: u32,
    /// Length in bytes.
    pub len: u32,
}

impl Payload {
    pub(crate) fn emit(&self, b: &mut MessageBuilder) {
        put_be32(b, 1, self.dreg.0);
        put_be32(b, 2, self.base as u32);
        put_be32(b, 3, self.offset);
        put_be32(b, 4, self.len);
    }

    pub(crate) fn parse(attrs: Attrs<'_>) -> Result<Payload, WireError> {
        let mut p = Payload {
            dreg: Reg::R1,
            base: PayloadBase::Network,
            offset: 0,
            len: 0,
        };
        for attr in attrs {
            let attr = attr?;
            match attr.kind() {
                1 => p.dreg = reg(&attr)?,
                2 => {
                    p.base = match be32(&attr)? {
                        0 => PayloadBase::LinkLayer,
                        1 => PayloadBase::Network,
                        2 => PayloadBase::Transport,
                        _ => return Err(WireError::BadValue("payload base")),
                    }
                }
                3 => p.offset = be32(&attr)?,
                4 => p.len = be32(&attr)?,
                // A payload *write* (sreg, checksums) is not modelled.
                5 => return Err(WireError::BadValue("payload write")),
                _ => {}
            }
        }
        Ok(p)
    }
}

/// A packet meta-information key (`NFT_META_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetaKey {
    /// The packet's ethertype (2 bytes, big-endian).
    Protocol,
    /// The packet mark (4 bytes, host order).
    Mark,
    /// Input interface index (4 bytes, host order).
    Iif,
    /// Output interface index.
    Oif,
    /// Input interface name (16 bytes, NUL-padded).
    IifName,
    /// Output interface name.
    OifName,
    /// The netfilter family of the packet (1 byte: 2 IPv4, 10 IPv6).
    NfProto,
    /// The layer-4 protocol (1 byte), extension headers skipped.
    L4Proto,
    /// Bridge port the frame came in on (name).
    BriIifName,
    /// Bridge port the frame goes out on (name).
    BriOifName,
    /// Any other key, by number.
    Other(u32),
}

impl MetaKey {
    fn raw(self) -> u32 {
        match self {
            MetaKey::Protocol => 1,
            MetaKey::Mark => 3,
            MetaKey::Iif => 4,
            MetaKey::Oif => 5,
            MetaKey::IifName => 6,
            MetaKey::OifName => 7,
            MetaKey::NfProto => 15,
            MetaKey::L4Proto => 16,
            MetaKey::BriIifName => 17,
            MetaKey::BriOifName => 18,
            MetaKey::Other(k) => k,
        }
    }

    fn from_raw(raw: u32) -> MetaKey {
        match raw {
            1 => MetaKey::Protocol,
            3 => MetaKey::Mark,
            4 => MetaKey::Iif,
            5 => MetaKey::Oif,
            6 => MetaKey::IifName,
            7 => MetaKey::OifName,
            15 => MetaKey::NfProto,
            16 => MetaKey::L4Proto,
            17 => MetaKey::BriIifName,
            18 => MetaKey::BriOifName,
            k => MetaKey::Other(k),
        }
    }
}

/// Loads a meta key into `dreg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Meta {
    /// The key.
    pub key: MetaKey,
    /// Destination register.
    pub dreg: Reg,
}

impl Meta {
    pub(crate) fn emit(&self, b: &mut MessageBuilder) {
        put_be32(b, 2, self.key.raw());
        put_be32(b, 1, self.dreg.0);
    }

    pub(crate) fn parse(attrs: Attrs<'_>) -> Result<Meta, WireError> {
        let (mut key, mut dreg) = (None, None);
        for attr in attrs {
            let attr = attr?;
            match attr.kind() {
                1 => dreg = Some(reg(&attr)?),
                2 => key = Some(MetaKey::from_raw(be32(&attr)?)),
                // `meta set` (a source register) is not modelled.
                3 => return Err(WireError::BadValue("meta set")),
                _ => {}
            }
        }
        Ok(Meta {
            key: key.ok_or(WireError::Missing("meta key"))?,
            dreg: dreg.ok_or(WireError::Missing("meta dreg"))?,
        })
    }
}

/// Conntrack state bit: the packet is invalid.
pub const CT_STATE_INVALID: u32 = 1;
/// Conntrack state bit: the connection has seen traffic both ways.
pub const CT_STATE_ESTABLISHED: u32 = 2;
/// Conntrack state bit: the connection is related to another (ICMP errors, FTP data).
pub const CT_STATE_RELATED: u32 = 4;
/// Conntrack state bit: the first packet of a connection.
pub const CT_STATE_NEW: u32 = 8;

/// A conntrack key (`NFT_CT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtKey {
    /// State bits (`CT_STATE_*`, 4 bytes host order).
    State,
    /// The packet's direction (1 byte: 0 original, 1 reply).
    Direction,
    /// Status bits (`IPS_*`, e.g. DNAT done = 0x20).
    Status,
    /// The connection mark.
    Mark,
    /// Source address of the given direction (4 bytes).
    SrcIp,
    /// Destination address of the given direction (4 bytes).
    DstIp,
    /// Any other key, by number.
    Other(u32),
}

impl CtKey {
    fn raw(self) -> u32 {
        match self {
            CtKey::State => 0,
            CtKey::Direction => 1,
            CtKey::Status => 2,
            CtKey::Mark => 3,
            CtKey::SrcIp => 19,
            CtKey::DstIp => 20,
            CtKey::Other(k) => k,
        }
    }

    fn from_raw(raw: u32) -> CtKey {
        match raw {
            0 => CtKey::State,
            1 => CtKey::Direction,
            2 => CtKey::Status,
            3 => CtKey::Mark,
            19 => CtKey::SrcIp,
            20 => CtKey::DstIp,
            k => CtKey::Other(k),
        }
    }
}

/// Loads a conntrack key into `dreg`; `direction` (0 original, 1 reply) selects the tuple
/// for address keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ct {
    /// The key.
    pub key: CtKey,
    /// Destination register.
    pub dreg: Reg,
    /// Tuple direction, for keys that have one.
    pub direction: Option<u8>,
}

impl Ct {
    pub(crate) fn emit(&self, b: &mut MessageBuilder) {
        put_be32(b, 2, self.key.raw());
        put_be32(b, 1, self.dreg.0);
        if let Some(dir) = self.direction {
            b.attr_u8(3, dir);
        }
    }

    pub(crate) fn parse(attrs: Attrs<'_>) -> Result<Ct, WireError> {
        let (mut key, mut dreg, mut direction) = (None, None, None);
        for attr in attrs {
            let attr = attr?;
            match attr.kind() {
                1 => dreg = Some(reg(&attr)?),
                2 => key = Some(CtKey::from_raw(be32(&attr)?)),
                3 => direction = Some(attr.as_u8()?),
                4 => return Err(WireError::BadValue("ct set")),
                _ => {}
            }
        }
        Ok(Ct {
            key: key.ok_or(WireError::Missing("ct key"))?,
            dreg: dreg.ok_or(WireError::Missing("ct dreg"))?,
            direction,
        })
    }
}

/// Fib flag: look up the source address.
pub const FIB_SADDR: u32 = 1;
/// Fib flag: look up the destination address.
pub const FIB_DADDR: u32 = 2;
/// Fib flag: restrict the lookup to the input interface.
pub const FIB_IIF: u32 = 8;
/// Fib result: the output interface index.
pub const FIB_RESULT_OIF: u32 = 1;
/// Fib result: the address type (`RTN_*`, 4 bytes host order; `RTN_LOCAL` is 2).
pub const FIB_RESULT_ADDRTYPE: u32 = 3;
/// Address type of an address the host owns.
pub const RTN_LOCAL: u32 = 2;

/// Looks up a packet address in the routing tables (`fib daddr type local`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fib {
    /// `FIB_*` flags.
    pub flags: u32,
    /// `FIB_RESULT_*`.
    pub result: u32,
    /// Destination register.
    pub dreg: Reg,
}

impl Fib {
    pub(crate) fn emit(&self, b: &mut MessageBuilder) {
        put_be32(b, 3, self.flags);
        put_be32(b, 2, self.result);
        put_be32(b, 1, self.dreg.0);
    }

    pub(crate) fn parse(attrs: Attrs<'_>) -> Result<Fib, WireError> {
        let mut fib = Fib {
            flags: 0,
            result: 0,
            dreg: Reg::R1,
        };
        for attr in attrs {
            let attr = attr?;
            match attr.kind() {
                1 => fib.dreg = reg(&attr)?,
                2 => fib.result = be32(&attr)?,
                3 => fib.flags = be32(&attr)?,
                _ => {}
            }
        }
        Ok(fib)
    }
}
