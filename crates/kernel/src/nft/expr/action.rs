//! Expressions that act: `immediate` (verdicts, constants), `nat`, `masq` and `counter`.

use super::data::{reg, Data, Reg};
use crate::nft::table::Family;
use crate::nft::wire::{be32, be64, put_be32};
use crate::nl::{Attrs, MessageBuilder, WireError};

/// Loads a constant into `dreg`; into the verdict register it is the rule's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Immediate {
    /// Destination register.
    pub dreg: Reg,
    /// The constant or verdict.
    pub data: Data,
}

impl Immediate {
    pub(crate) fn emit(&self, b: &mut MessageBuilder) {
        put_be32(b, 1, self.dreg.0);
        self.data.emit(b, 2);
    }

    pub(crate) fn parse(attrs: Attrs<'_>) -> Result<Immediate, WireError> {
        let (mut dreg, mut data) = (Reg::VERDICT, None);
        for attr in attrs {
            let attr = attr?;
            match attr.kind() {
                1 => dreg = reg(&attr)?,
                2 => data = Some(Data::parse(&attr)?),
                _ => {}
            }
        }
        let data = data.ok_or(WireError::Missing("immediate data"))?;
        Ok(Immediate { dreg, data })
    }
}

/// Source or destination NAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NatKind {
    /// Rewrite the source.
    Snat,
    /// Rewrite the destination.
    Dnat,
}

/// NAT flag: keep the same mapping for a source across connections.
pub const NAT_PERSISTENT: u32 = 1 << 3;
/// NAT flag: fully randomised source ports.
pub const NAT_RANDOM_FULLY: u32 = 1 << 4;

/// `snat`/`dnat` to the address (and port) in registers. The kernel sets "map IPs" and
/// "proto specified" itself from which registers are given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Nat {
    /// Source or destination.
    pub kind: NatKind,
    /// Address family of the target (`Ip` or `Ip6`, also in `inet` tables).
    pub family: Family,
    /// Register holding the address (range start).
    pub addr: Option<Reg>,
    /// Register holding the range end, for an address range.
    pub addr_max: Option<Reg>,
    /// Register holding the port (range start), 2 bytes big-endian.
    pub proto: Option<Reg>,
    /// Register holding the port range end.
    pub proto_max: Option<Reg>,
    /// `NAT_*` flags.
    pub flags: u32,
}

impl Nat {
    pub(crate) fn emit(&self, b: &mut MessageBuilder) {
        put_be32(b, 1, self.kind as u32);
        put_be32(b, 2, u32::from(self.family.raw()));
        let regs = [
            (3, self.addr),
            (4, self.addr_max),
            (5, self.proto),
            (6, self.proto_max),
        ];
        for (ty, r) in regs {
            if let Some(r) = r {
                put_be32(b, ty, r.0);
            }
        }
        if self.flags != 0 {
            put_be32(b, 7, self.flags);
        }
    }

    pub(crate) fn parse(attrs: Attrs<'_>) -> Result<Nat, WireError> {
        let mut nat = Nat {
            kind: NatKind::Snat,
            family: Family::Ip,
            addr: None,
            addr_max: None,
            proto: None,
            proto_max: None,
            flags: 0,
        };
        for attr in attrs {
            let attr = attr?;
            match attr.kind() {
                1 => {
                    nat.kind = match be32(&attr)? {
                        0 => NatKind::Snat,
                        1 => NatKind::Dnat,
                        _ => return Err(WireError::BadValue("nat type")),
                    }
                }
                2 => {
                    let raw = u8::try_from(be32(&attr)?)
                        .map_err(|_| WireError::BadValue("nat family"))?;
                    nat.family = Family::from_raw(raw)?;
                }
                3 => nat.addr = Some(reg(&attr)?),
                4 => nat.addr_max = Some(reg(&attr)?),
                5 => nat.proto = Some(reg(&attr)?),
                6 => nat.proto_max = Some(reg(&attr)?),
                // The kernel echoes the flags it derived; keep only the caller's.
                7 => nat.flags = be32(&attr)? & !0x3,
                _ => {}
            }
        }
        // The kernel lists a single address or port as a range of one; keep the form it
        // was written in.
        if nat.addr_max == nat.addr {
            nat.addr_max = None;
        }
        if nat.proto_max == nat.proto {
            nat.proto_max = None;
        }
        Ok(nat)
    }
}

/// Source NAT to the address of the output interface (`masquerade`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Masq {
    /// `NAT_*` flags.
    pub flags: u32,
}

impl Masq {
    pub(crate) fn emit(&self, b: &mut MessageBuilder) {
        if self.flags != 0 {
            put_be32(b, 1, self.flags);
        }
    }

    pub(crate) fn parse(attrs: Attrs<'_>) -> Result<Masq, WireError> {
        let mut masq = Masq::default();
        for attr in attrs {
            let attr = attr?;
            if attr.kind() == 1 {
                masq.flags = be32(&attr)?;
            }
        }
        Ok(masq)
    }
}

/// Counts packets and bytes. Created at zero; listings report the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Counter {
    /// Packets counted.
    pub packets: u64,
    /// Bytes counted.
    pub bytes: u64,
}

impl Counter {
    pub(crate) fn emit(&self, _b: &mut MessageBuilder) {
        // Nothing: a new counter starts at zero, as `nft` creates it.
    }

    pub(crate) fn parse(attrs: Attrs<'_>) -> Result<Counter, WireError> {
        let mut c = Counter::default();
        for attr in attrs {
            let attr = attr?;
            match attr.kind() {
                1 => c.bytes = be64(&attr)?,
                2 => c.packets = be64(&attr)?,
                _ => {}
            }
        }
        Ok(c)
    }
}
