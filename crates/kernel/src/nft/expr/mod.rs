//! The expression model: one typed value per kernel expression a CNI data path needs, each
//! with `emit` (its attributes inside `NFTA_EXPR_DATA`) and `parse`. A rule is a list of
//! them, run in order by the kernel's register machine. Anything else the kernel lists
//! (rules written by an operator) is kept as [`Expr::Other`] with its raw attributes, so a
//! listing never fails on a rule this model does not know.

pub mod action;
pub mod compare;
pub mod data;
pub mod load;

pub use action::{Counter, Immediate, Masq, Nat, NatKind, NAT_PERSISTENT, NAT_RANDOM_FULLY};
pub use compare::{Bitwise, Cmp, CmpOp, Lookup, LOOKUP_F_INV};
pub use data::{Data, Reg, Verdict};
pub use load::{Ct, CtKey, Fib, Meta, MetaKey, Payload, PayloadBase};
pub use load::{CT_STATE_ESTABLISHED, CT_STATE_INVALID, CT_STATE_NEW, CT_STATE_RELATED};
pub use load::{FIB_DADDR, FIB_IIF, FIB_RESULT_ADDRTYPE, FIB_RESULT_OIF, FIB_SADDR, RTN_LOCAL};

use super::consts::{NFTA_EXPR_DATA, NFTA_EXPR_NAME, NFTA_LIST_ELEM};
use crate::nl::{Attr, Attrs, MessageBuilder, WireError};

/// One expression of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// Load header bytes.
    Payload(Payload),
    /// Load packet meta information.
    Meta(Meta),
    /// Load conntrack information.
    Ct(Ct),
    /// Route lookup.
    Fib(Fib),
    /// Compare a register with a constant.
    Cmp(Cmp),
    /// Mask and xor a register.
    Bitwise(Bitwise),
    /// Set membership or map lookup.
    Lookup(Lookup),
    /// Load a constant or set the verdict.
    Immediate(Immediate),
    /// Source or destination NAT.
    Nat(Nat),
    /// Masquerade.
    Masq(Masq),
    /// Packet and byte counter.
    Counter(Counter),
    /// An expression this model does not know: its name and raw `NFTA_EXPR_DATA` payload.
    Other {
        /// The kernel's expression name.
        name: String,
        /// The attributes, undecoded.
        data: Vec<u8>,
    },
}

impl Expr {
    /// The kernel's name for the expression.
    pub fn name(&self) -> &str {
        match self {
            Expr::Payload(_) => "payload",
            Expr::Meta(_) => "meta",
            Expr::Ct(_) => "ct",
            Expr::Fib(_) => "fib",
            Expr::Cmp(_) => "cmp",
            Expr::Bitwise(_) => "bitwise",
            Expr::Lookup(_) => "lookup",
            Expr::Immediate(_) => "immediate",
            Expr::Nat(_) => "nat",
            Expr::Masq(_) => "masq",
            Expr::Counter(_) => "counter",
            Expr::Other { name, .. } => name,
        }
    }

    /// A verdict expression (`immediate` into the verdict register).
    pub fn verdict(v: Verdict) -> Expr {
        Expr::Immediate(Immediate {
            dreg: Reg::VERDICT,
            data: Data::Verdict(v),
        })
    }

    /// Writes the expression as one element of a rule's expression list.
    pub(crate) fn emit(&self, b: &mut MessageBuilder) {
        let elem = b.nest_start_flagged(NFTA_LIST_ELEM);
        b.attr_str(NFTA_EXPR_NAME, self.name());
        if let Expr::Other { data, .. } = self {
            b.attr(NFTA_EXPR_DATA | crate::nl::consts::NLA_F_NESTED, data);
        } else {
            let nest = b.nest_start_flagged(NFTA_EXPR_DATA);
            match self {
                Expr::Payload(e) => e.emit(b),
                Expr::Meta(e) => e.emit(b),
                Expr::Ct(e) => e.emit(b),
                Expr::Fib(e) => e.emit(b),
                Expr::Cmp(e) => e.emit(b),
                Expr::Bitwise(e) => e.emit(b),
                Expr::Lookup(e) => e.emit(b),
                Expr::Immediate(e) => e.emit(b),
                Expr::Nat(e) => e.emit(b),
                Expr::Masq(e) => e.emit(b),
                Expr::Counter(e) => e.emit(b),
                Expr::Other { .. } => {}
            }
            b.nest_end(nest);
        }
        b.nest_end(elem);
    }

    /// Decodes one `NFTA_LIST_ELEM` of a rule's expression list.
    pub(crate) fn parse(elem: &Attr<'_>) -> Result<Expr, WireError> {
        let (mut name, mut data) = (None, &[][..]);
        for attr in elem.nested() {
            let attr = attr?;
            match attr.kind() {
                NFTA_EXPR_NAME => name = Some(attr.as_str()?),
                NFTA_EXPR_DATA => data = attr.payload(),
                _ => {}
            }
        }
        let name = name.ok_or(WireError::Missing("expression name"))?;
        let attrs = Attrs::new(data);
        let known = match name {
            "payload" => Payload::parse(attrs).map(Expr::Payload),
            "meta" => Meta::parse(attrs).map(Expr::Meta),
            "ct" => Ct::parse(attrs).map(Expr::Ct),
            "fib" => Fib::parse(attrs).map(Expr::Fib),
            "cmp" => Cmp::parse(attrs).map(Expr::Cmp),
            "bitwise" => Bitwise::parse(attrs).map(Expr::Bitwise),
            "lookup" => Lookup::parse(attrs).map(Expr::Lookup),
            "immediate" => Immediate::parse(attrs).map(Expr::Immediate),
            "nat" => Nat::parse(attrs).map(Expr::Nat),
            "masq" => Masq::parse(attrs).map(Expr::Masq),
            "counter" => Counter::parse(attrs).map(Expr::Counter),
            _ => Err(WireError::BadValue("unmodelled expression")),
        };
        match known {
            Ok(expr) => Ok(expr),
            // A variant this model does not cover (a payload write, `meta set`) is kept
            // raw rather than misread; broken framing is still an error.
            Err(WireError::BadValue(_)) => Ok(Expr::Other {
                name: name.to_owned(),
                data: data.to_vec(),
            }),
            Err(e) => Err(e),
        }
    }

    /// The expression with volatile state (counter values) cleared, for comparing a listed
    /// rule with a desired one.
    pub fn normalized(&self) -> Expr {
        match self {
            Expr::Counter(_) => Expr::Counter(Counter::default()),
            Expr::Lookup(l) => Expr::Lookup(Lookup {
                set_id: None,
                ..l.clone()
            }),
            other => other.clone(),
        }
    }
}
