//! Expressions that test or transform a register: `cmp`, `bitwise` (prefix masks) and
//! `lookup` (set membership, or a map's value into a register).

use super::data::{reg, Data, Reg};
use crate::nft::wire::{be32, put_be32, string};
use crate::nl::{Attrs, MessageBuilder, WireError};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// Equal.
    Eq,
    /// Not equal.
    Neq,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
}

impl CmpOp {
    fn from_raw(raw: u32) -> Result<CmpOp, WireError> {
        Ok(match raw {
            0 => CmpOp::Eq,
            1 => CmpOp::Neq,
            2 => CmpOp::Lt,
            3 => CmpOp::Lte,
            4 => CmpOp::Gt,
            5 => CmpOp::Gte,
            _ => return Err(WireError::BadValue("cmp op")),
        })
    }
}

/// Compares `sreg` with a constant; the rule stops here when the comparison fails.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cmp {
    /// Source register.
    pub sreg: Reg,
    /// Operator.
    pub op: CmpOp,
    /// The constant, in the register's byte order.
    pub data: Vec<u8>,
}

impl Cmp {
    pub(crate) fn emit(&self, b: &mut MessageBuilder) {
        put_be32(b, 1, self.sreg.0);
        put_be32(b, 2, self.op as u32);
        Data::Value(self.data.clone()).emit(b, 3);
    }

    pub(crate) fn parse(attrs: Attrs<'_>) -> Result<Cmp, WireError> {
        let (mut sreg, mut op, mut data) = (None, CmpOp::Eq, None);
        for attr in attrs {
            let attr = attr?;
            match attr.kind() {
                1 => sreg = Some(reg(&attr)?),
                2 => op = CmpOp::from_raw(be32(&attr)?)?,
                3 => data = Some(Data::parse(&attr)?.bytes().to_vec()),
                _ => {}
            }
        }
        Ok(Cmp {
            sreg: sreg.ok_or(WireError::Missing("cmp sreg"))?,
            op,
            data: data.ok_or(WireError::Missing("cmp data"))?,
        })
    }
}

/// `dreg = (sreg & mask) ^ xor` over `len` bytes: prefix matches and bit tests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bitwise {
    /// Source register.
    pub sreg: Reg,
    /// Destination register.
    pub dreg: Reg,
    /// Length in bytes (mask and xor have this length).
    pub len: u32,
    /// The mask.
    pub mask: Vec<u8>,
    /// The xor.
    pub xor: Vec<u8>,
}

impl Bitwise {
    pub(crate) fn emit(&self, b: &mut MessageBuilder) {
        put_be32(b, 1, self.sreg.0);
        put_be32(b, 2, self.dreg.0);
        put_be32(b, 3, self.len);
        Data::Value(self.mask.clone()).emit(b, 4);
        Data::Value(self.xor.clone()).emit(b, 5);
    }

    pub(crate) fn parse(attrs: Attrs<'_>) -> Result<Bitwise, WireError> {
        let mut bw = Bitwise {
            sreg: Reg::R1,
            dreg: Reg::R1,
            len: 0,
            mask: Vec::new(),
            xor: Vec::new(),
        };
        for attr in attrs {
            let attr = attr?;
            match attr.kind() {
                1 => bw.sreg = reg(&attr)?,
                2 => bw.dreg = reg(&attr)?,
                3 => bw.len = be32(&attr)?,
                4 => bw.mask = Data::parse(&attr)?.bytes().to_vec(),
                5 => bw.xor = Data::parse(&attr)?.bytes().to_vec(),
                // Shifts (NFTA_BITWISE_OP other than mask-xor) are not modelled.
                6 if be32(&attr)? != 0 => return Err(WireError::BadValue("bitwise shift")),
                _ => {}
            }
        }
        Ok(bw)
    }
}

/// Lookup flag: the rule goes on when the key is *not* in the set.
pub const LOOKUP_F_INV: u32 = 1;

/// Looks the key in `sreg` up in a named set; for a map with `dreg`, loads the value (or,
/// with `dreg` = verdict register, applies the verdict). A missing key stops the rule
/// (unless inverted).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lookup {
    /// The set or map.
    pub set: String,
    /// Register holding the key (concatenations start at register 1).
    pub sreg: Reg,
    /// Where a map's value goes.
    pub dreg: Option<Reg>,
    /// The set's id in the same batch (only needed for anonymous sets).
    pub set_id: Option<u32>,
    /// `LOOKUP_F_INV`.
    pub flags: u32,
}

impl Lookup {
    pub(crate) fn emit(&self, b: &mut MessageBuilder) {
        put_be32(b, 2, self.sreg.0);
        if let Some(dreg) = self.dreg {
            put_be32(b, 3, dreg.0);
        }
        b.attr_str(1, &self.set);
        if let Some(id) = self.set_id {
            put_be32(b, 4, id);
        }
        if self.flags != 0 {
            put_be32(b, 5, self.flags);
        }
    }

    pub(crate) fn parse(attrs: Attrs<'_>) -> Result<Lookup, WireError> {
        let mut lk = Lookup {
            set: String::new(),
            sreg: Reg::R1,
            dreg: None,
            set_id: None,
            flags: 0,
        };
        for attr in attrs {
            let attr = attr?;
            match attr.kind() {
                1 => lk.set = string(&attr)?,
                2 => lk.sreg = reg(&attr)?,
                3 => lk.dreg = Some(reg(&attr)?),
                4 => lk.set_id = Some(be32(&attr)?),
                5 => lk.flags = be32(&attr)?,
                _ => {}
            }
        }
        if lk.set.is_empty() {
            return Err(WireError::Missing("lookup set"));
        }
        Ok(lk)
    }
}
