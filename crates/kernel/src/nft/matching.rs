//! Rule building in terms of packet fields rather than registers: `ip saddr 10.0.0.0/8`,
//! `ip daddr . meta l4proto . th dport @hostports`, `dnat ip to … map @m`.
//!
//! Each method appends the kernel expressions `nft` would generate, including the network
//! protocol check an address needs in `inet`, `bridge` and `netdev` tables (added once per
//! rule), so `nft list` shows the rules the way an operator would have written them.

use super::element::{concat, Value};
use super::expr::*;
use super::rule::Rule;
use super::set::{concat_len, DataType};
use super::table::Family;
use crate::net::IpPrefix;

/// A packet field that rules match on and set keys are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `ip saddr`.
    IpSaddr,
    /// `ip daddr`.
    IpDaddr,
    /// `ip6 saddr`.
    Ip6Saddr,
    /// `ip6 daddr`.
    Ip6Daddr,
    /// `th sport`: the transport source port (TCP, UDP, SCTP alike).
    ThSport,
    /// `th dport`.
    ThDport,
    /// `meta l4proto`.
    L4Proto,
    /// `meta nfproto`.
    NfProto,
    /// `meta iifname`.
    IifName,
    /// `meta oifname`.
    OifName,
    /// `meta iif` (index).
    Iif,
    /// `meta oif` (index).
    Oif,
    /// `ether saddr` (bridge and netdev tables).
    EtherSaddr,
    /// `meta mark`.
    Mark,
}

/// The network protocol a field belongs to, when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    Ipv4,
    Ipv6,
}

impl Field {
    /// The set key type of the field.
    pub fn data_type(self) -> DataType {
        match self {
            Field::IpSaddr | Field::IpDaddr => DataType::Ipv4Addr,
            Field::Ip6Saddr | Field::Ip6Daddr => DataType::Ipv6Addr,
            Field::ThSport | Field::ThDport => DataType::InetService,
            Field::L4Proto => DataType::InetProto,
            Field::NfProto => DataType::NfProto,
            Field::IifName | Field::OifName => DataType::IfName,
            Field::Iif | Field::Oif => DataType::IfIndex,
            Field::EtherSaddr => DataType::EtherAddr,
            Field::Mark => DataType::Mark,
        }
    }

    /// The expression that loads the field into `dreg`.
    pub fn load(self, dreg: Reg) -> Expr {
        let payload = |base, offset, len| {
            Expr::Payload(Payload {
                dreg,
                base,
                offset,
                len,
            })
        };
        let meta = |key| Expr::Meta(Meta { key, dreg });
        match self {
            Field::IpSaddr => payload(PayloadBase::Network, 12, 4),
            Field::IpDaddr => payload(PayloadBase::Network, 16, 4),
            Field::Ip6Saddr => payload(PayloadBase::Network, 8, 16),
            Field::Ip6Daddr => payload(PayloadBase::Network, 24, 16),
            Field::ThSport => payload(PayloadBase::Transport, 0, 2),
            Field::ThDport => payload(PayloadBase::Transport, 2, 2),
            Field::EtherSaddr => payload(PayloadBase::LinkLayer, 6, 6),
            Field::L4Proto => meta(MetaKey::L4Proto),
            Field::NfProto => meta(MetaKey::NfProto),
            Field::IifName => meta(MetaKey::IifName),
            Field::OifName => meta(MetaKey::OifName),
            Field::Iif => meta(MetaKey::Iif),
            Field::Oif => meta(MetaKey::Oif),
            Field::Mark => meta(MetaKey::Mark),
        }
    }

    fn needs(self) -> Option<Needs> {
        match self {
            Field::IpSaddr | Field::IpDaddr => Some(Needs::Ipv4),
            Field::Ip6Saddr | Field::Ip6Daddr => Some(Needs::Ipv6),
            _ => None,
        }
    }
}

/// The check that the packet is of `needs`' protocol, in a table of `family`.
fn dependency(family: Family, needs: Needs) -> Vec<Expr> {
    let (nfproto, ethertype) = match needs {
        Needs::Ipv4 => (2u8, 0x0800u16),
        Needs::Ipv6 => (10u8, 0x86dd),
    };
    let (key, data) = match family {
        Family::Inet => (MetaKey::NfProto, vec![nfproto]),
        Family::Bridge | Family::Netdev => (MetaKey::Protocol, ethertype.to_be_bytes().to_vec()),
        _ => return Vec::new(),
    };
    vec![
        Expr::Meta(Meta { key, dreg: Reg::R1 }),
        Expr::Cmp(Cmp {
            sreg: Reg::R1,
            op: CmpOp::Eq,
            data,
        }),
    ]
}

fn cmp(op: CmpOp, data: Vec<u8>) -> Expr {
    Expr::Cmp(Cmp {
        sreg: Reg::R1,
        op,
        data,
    })
}

impl Rule {
    /// Adds the protocol checks `fields` need that the rule does not have yet.
    fn require(mut self, fields: &[Field]) -> Rule {
        for needs in fields.iter().filter_map(|f| f.needs()) {
            let dep = dependency(self.family, needs);
            let present = dep.is_empty() || self.exprs.windows(2).any(|w| w == dep.as_slice());
            if !present {
                self.exprs.extend(dep);
            }
        }
        self
    }

    /// Loads `fields` into consecutive 32-bit registers from register 1, the layout of a
    /// concatenated key; returns the key length in bytes.
    fn load_concat(mut self, fields: &[Field]) -> Rule {
        self = self.require(fields);
        let mut word = 0;
        for f in fields {
            self.exprs.push(f.load(Reg::word(word)));
            word += f.data_type().len().div_ceil(4);
        }
        self
    }

    /// `field == value` (or `!=` with `negate`).
    pub fn match_value(self, field: Field, value: &Value, negate: bool) -> Rule {
        let op = if negate { CmpOp::Neq } else { CmpOp::Eq };
        self.load_concat(&[field]).push(cmp(op, value.bytes()))
    }

    /// `field` within `prefix` (or not, with `negate`): a mask, then a comparison.
    pub fn match_prefix(self, field: Field, prefix: &IpPrefix, negate: bool) -> Rule {
        let net = prefix.network();
        let addr = concat(&[Value::ip(net.addr())]);
        let bits = usize::from(net.len());
        let mask: Vec<u8> = (0..addr.len())
            .map(|i| {
                let on = bits.saturating_sub(i * 8).min(8);
                (0xff_u16 << (8 - on)) as u8
            })
            .collect();
        let op = if negate { CmpOp::Neq } else { CmpOp::Eq };
        let len = addr.len() as u32;
        self.load_concat(&[field])
            .push(Expr::Bitwise(Bitwise {
                sreg: Reg::R1,
                dreg: Reg::R1,
                len,
                xor: vec![0; mask.len()],
                mask,
            }))
            .push(cmp(op, addr))
    }

    /// `fields` (concatenated) in `set` (or not, with `negate`).
    pub fn match_set(self, fields: &[Field], set: &str, negate: bool) -> Rule {
        let flags = if negate { LOOKUP_F_INV } else { 0 };
        self.load_concat(fields).push(Expr::Lookup(Lookup {
            set: set.to_owned(),
            sreg: Reg::R1,
            dreg: None,
            set_id: None,
            flags,
        }))
    }

    /// `ct state` has any of `bits` (`CT_STATE_ESTABLISHED | CT_STATE_RELATED`).
    pub fn match_ct_state(self, bits: u32) -> Rule {
        let ct = Ct {
            key: CtKey::State,
            dreg: Reg::R1,
            direction: None,
        };
        self.push(Expr::Ct(ct))
            .push(Expr::Bitwise(Bitwise {
                sreg: Reg::R1,
                dreg: Reg::R1,
                len: 4,
                mask: bits.to_ne_bytes().to_vec(),
                xor: vec![0; 4],
            }))
            .push(cmp(CmpOp::Neq, vec![0; 4]))
    }

    /// `fib daddr type local`: the destination is an address of this host.
    pub fn match_local_daddr(self) -> Rule {
        self.push(Expr::Fib(Fib {
            flags: FIB_DADDR,
            result: FIB_RESULT_ADDRTYPE,
            dreg: Reg::R1,
        }))
        .push(cmp(CmpOp::Eq, RTN_LOCAL.to_ne_bytes().to_vec()))
    }

    /// `counter`.
    pub fn counter(self) -> Rule {
        self.push(Expr::Counter(Counter::default()))
    }

    /// Ends the rule with a verdict.
    pub fn verdict(self, verdict: Verdict) -> Rule {
        self.push(Expr::verdict(verdict))
    }

    /// `fields vmap @map`: the verdict stored for the key (the rule falls through when the
    /// key is absent).
    pub fn verdict_map(self, fields: &[Field], map: &str) -> Rule {
        self.load_concat(fields).push(Expr::Lookup(Lookup {
            set: map.to_owned(),
            sreg: Reg::R1,
            dreg: Some(Reg::VERDICT),
            set_id: None,
            flags: 0,
        }))
    }

    /// `dnat <family> to fields map @map`, the map's data being `address . port`: the
    /// target address lands in register 1 and the port in the word after the address.
    pub fn dnat_map(self, family: Family, fields: &[Field], map: &str) -> Rule {
        let addr = if family == Family::Ip6 {
            DataType::Ipv6Addr
        } else {
            DataType::Ipv4Addr
        };
        let port_reg = Reg::word(concat_len(&[addr, DataType::InetService]) / 4 - 1);
        self.load_concat(fields)
            .push(Expr::Lookup(Lookup {
                set: map.to_owned(),
                sreg: Reg::R1,
                dreg: Some(Reg::R1),
                set_id: None,
                flags: 0,
            }))
            .push(Expr::Nat(Nat {
                kind: NatKind::Dnat,
                family,
                addr: Some(Reg::R1),
                addr_max: None,
                proto: Some(port_reg),
                proto_max: None,
                flags: 0,
            }))
    }

    /// `masquerade`.
    pub fn masquerade(self) -> Rule {
        self.push(Expr::Masq(Masq::default()))
    }
}
