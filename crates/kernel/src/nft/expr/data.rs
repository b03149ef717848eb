//! Registers, verdicts and the `nft_data` nest that carries constants (cmp operands, masks,
//! immediates, element keys and map data).

use crate::nft::consts::*;
use crate::nft::wire::{be32, put_be32, string};
use crate::nl::{Attr, MessageBuilder, WireError};

/// A register of the nf_tables virtual machine. Register 0 holds the verdict; 1–4 are the
/// classic 16-byte registers; 8–23 are 32-bit registers overlaying them (8 is the first
/// word of register 1), which is how concatenated keys are laid out word by word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reg(pub u32);

impl Reg {
    /// The verdict register.
    pub const VERDICT: Reg = Reg(0);
    /// The first data register (also the first 32-bit word, `Reg::word(0)`).
    pub const R1: Reg = Reg(1);
    /// The second 16-byte data register.
    pub const R2: Reg = Reg(2);

    /// The 32-bit register `n` words after the start of register 1, as `nft` numbers
    /// them: word 0 is written as register 1, later words as 32-bit registers (9, 10, …).
    pub fn word(n: u32) -> Reg {
        if n == 0 {
            Reg::R1
        } else {
            Reg(8 + n)
        }
    }
}

/// What a rule (or a verdict map element) decides.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Accept the packet (for this hook).
    Accept,
    /// Drop the packet.
    Drop,
    /// Go on with the next rule.
    Continue,
    /// Return from a jump.
    Return,
    /// Run the named chain, then come back.
    Jump(String),
    /// Run the named chain and do not come back.
    Goto(String),
}

impl Verdict {
    fn code(&self) -> i32 {
        match self {
            Verdict::Accept => NF_ACCEPT,
            Verdict::Drop => NF_DROP,
            Verdict::Continue => NFT_CONTINUE,
            Verdict::Return => NFT_RETURN,
            Verdict::Jump(_) => NFT_JUMP,
            Verdict::Goto(_) => NFT_GOTO,
        }
    }

    /// Writes `NFTA_DATA_VERDICT` with its code and chain.
    pub(crate) fn emit(&self, b: &mut MessageBuilder) {
        let nest = b.nest_start_flagged(NFTA_DATA_VERDICT);
        put_be32(b, NFTA_VERDICT_CODE, self.code() as u32);
        if let Verdict::Jump(chain) | Verdict::Goto(chain) = self {
            b.attr_str(NFTA_VERDICT_CHAIN, chain);
        }
        b.nest_end(nest);
    }

    /// Decodes the payload of `NFTA_DATA_VERDICT`.
    pub(crate) fn parse(attr: &Attr<'_>) -> Result<Verdict, WireError> {
        let (mut code, mut chain) = (None, None);
        for inner in attr.nested() {
            let inner = inner?;
            match inner.kind() {
                NFTA_VERDICT_CODE => code = Some(be32(&inner)? as i32),
                NFTA_VERDICT_CHAIN => chain = Some(string(&inner)?),
                _ => {}
            }
        }
        let missing = || WireError::Missing("verdict chain");
        Ok(match code.ok_or(WireError::Missing("verdict code"))? {
            NF_ACCEPT => Verdict::Accept,
            NF_DROP => Verdict::Drop,
            NFT_CONTINUE | NFT_BREAK => Verdict::Continue,
            NFT_RETURN => Verdict::Return,
            NFT_JUMP => Verdict::Jump(chain.ok_or_else(missing)?),
            NFT_GOTO => Verdict::Goto(chain.ok_or_else(missing)?),
            _ => return Err(WireError::BadValue("verdict code")),
        })
    }
}

/// A constant: raw bytes (as they sit in a register) or a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Data {
    /// Bytes, in the byte order of the register they are compared with or loaded into.
    Value(Vec<u8>),
    /// A verdict.
    Verdict(Verdict),
}

impl Data {
    /// Writes the data as a nest of type `ty`.
    pub(crate) fn emit(&self, b: &mut MessageBuilder, ty: u16) {
        let nest = b.nest_start_flagged(ty);
        match self {
            Data::Value(bytes) => {
                b.attr(NFTA_DATA_VALUE, bytes);
            }
            Data::Verdict(v) => v.emit(b),
        }
        b.nest_end(nest);
    }

    /// Decodes a data nest.
    pub(crate) fn parse(attr: &Attr<'_>) -> Result<Data, WireError> {
        for inner in attr.nested() {
            let inner = inner?;
            match inner.kind() {
                NFTA_DATA_VALUE => return Ok(Data::Value(inner.payload().to_vec())),
                NFTA_DATA_VERDICT => return Ok(Data::Verdict(Verdict::parse(&inner)?)),
                _ => {}
            }
        }
        Err(WireError::Missing("data value or verdict"))
    }

    /// The bytes of a value (empty for a verdict).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Data::Value(v) => v,
            Data::Verdict(_) => &[],
        }
    }
}

/// Reads a register attribute.
pub(crate) fn reg(attr: &Attr<'_>) -> Result<Reg, WireError> {
    be32(attr).map(Reg)
}
