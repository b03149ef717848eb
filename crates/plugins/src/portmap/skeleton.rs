//! The host-port skeleton: one table per address family, shared by every network on the
//! host (host ports are a host-wide resource, so one map per family is what makes a port
//! held through one network refused through another). Its rules never mention a pod:
//!
//! ```text
//! table ip twill_portmap {
//!   map hostip_hostports { ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service }
//!   map hostports { inet_proto . inet_service : ipv4_addr . inet_service }
//!   set masq { ipv4_addr . ipv4_addr; flags interval }
//!   chain prerouting { type nat hook prerouting priority dstnat
//!     dnat ip to ip daddr . meta l4proto . th dport map @hostip_hostports
//!     fib daddr type local dnat ip to meta l4proto . th dport map @hostports }
//!   chain output { type nat hook output priority dstnat; the same two rules }
//!   chain postrouting { type nat hook postrouting priority srcnat
//!     ct status dnat ip saddr . ip daddr @masq masquerade }
//! }
//! ```
//!
//! The `ip6` table's output chain starts with `ip6 daddr ::1 return` (see `dnat_rules`).
//!
//! `masq` holds, per container with `snat`, the ranges of sources that must be
//! masqueraded on their way to it: its own pod network (hairpin: the reply would otherwise
//! bypass the host over the bridge) and 127.0.0.0/8 (localhost: the pod cannot answer a
//! loopback source). Matching DNAT'd connections only leaves pod-to-pod traffic alone.

use std::net::Ipv6Addr;

use twill_kernel::nft::expr::{Bitwise, Cmp, CmpOp, Ct, CtKey};
use twill_kernel::nft::{
    Chain, ChainType, DataType, Expr, Family, Field, Hook, Reg, Rule, Set, SetData, SetRef,
    Skeleton, Table, Value, Verdict, SET_INTERVAL,
};

/// The table's name, in both families.
pub const TABLE: &str = "twill_portmap";
/// Mappings bound to a host address: `hostaddr . proto . hostport`.
pub const HOSTIP_MAP: &str = "hostip_hostports";
/// Mappings on every local address: `proto . hostport`.
pub const ANY_MAP: &str = "hostports";
/// Source ranges masqueraded towards a container: `saddr . daddr`.
pub const MASQ_SET: &str = "masq";

/// conntrack's "destination NAT done" status bit (`IPS_DST_NAT`).
const IPS_DST_NAT: u32 = 1 << 5;
/// nft's `dstnat` and `srcnat` priorities.
const DSTNAT: i32 = -100;
const SRCNAT: i32 = 100;

/// The address type, the source and destination fields of `family` (ip or ip6).
fn fields(family: Family) -> (DataType, Field, Field) {
    if family == Family::Ip6 {
        (DataType::Ipv6Addr, Field::Ip6Saddr, Field::Ip6Daddr)
    } else {
        (DataType::Ipv4Addr, Field::IpSaddr, Field::IpDaddr)
    }
}

/// A set of the skeleton, by name.
pub fn set_ref(family: Family, name: &str) -> SetRef {
    SetRef::new(family, TABLE, name)
}

/// `ct status dnat`: the connection's destination was translated.
fn dnat_done(rule: Rule) -> Rule {
    rule.push(Expr::Ct(Ct {
        key: CtKey::Status,
        dreg: Reg::R1,
        direction: None,
    }))
    .push(Expr::Bitwise(Bitwise {
        sreg: Reg::R1,
        dreg: Reg::R1,
        len: 4,
        mask: IPS_DST_NAT.to_ne_bytes().to_vec(),
        xor: vec![0; 4],
    }))
    .push(Expr::Cmp(Cmp {
        sreg: Reg::R1,
        op: CmpOp::Neq,
        data: vec![0; 4],
    }))
}

fn dnat_rules(family: Family, chain: &str) -> Vec<Rule> {
    let (_, _, daddr) = fields(family);
    let ports = [Field::L4Proto, Field::ThDport];
    let mut rules = Vec::new();
    if family == Family::Ip6 && chain == "output" {
        // ::1 is left alone: the kernel never lets a loopback-sourced IPv6 packet leave
        // through another interface (IPv6 has no `route_localnet`, and the drop comes
        // before masquerading could change the source), so a DNAT would only make the
        // connection hang. Untranslated, it is refused at once (or reaches whatever
        // listens on the host's ::1) and clients fall back to 127.0.0.1, which works.
        let lo = Value::Ipv6(Ipv6Addr::LOCALHOST);
        rules.push(
            Rule::new(family, TABLE, chain)
                .match_value(daddr, &lo, false)
                .verdict(Verdict::Return),
        );
    }
    rules.extend([
        Rule::new(family, TABLE, chain).dnat_map(
            family,
            &[daddr, Field::L4Proto, Field::ThDport],
            HOSTIP_MAP,
        ),
        Rule::new(family, TABLE, chain)
            .match_local_daddr()
            .dnat_map(family, &ports, ANY_MAP),
    ]);
    rules
}

/// The skeleton of `family` (`Family::Ip` or `Family::Ip6`).
pub fn skeleton(family: Family) -> Skeleton {
    let (addr, saddr, daddr) = fields(family);
    let target = SetData::Values(vec![addr, DataType::InetService]);
    let nat = |name: &str, hook, priority| {
        Chain::base(family, TABLE, name, ChainType::Nat, hook, priority)
    };
    let masq = dnat_done(Rule::new(family, TABLE, "postrouting"))
        .match_set(&[saddr, daddr], MASQ_SET, false)
        .masquerade();
    Skeleton::new(Table::new(family, TABLE).comment("twill portmap: host ports"))
        .set(
            Set::new(
                family,
                TABLE,
                HOSTIP_MAP,
                &[addr, DataType::InetProto, DataType::InetService],
            )
            .map(target.clone())
            .comment("host port bound to an address -> container address . port"),
        )
        .set(
            Set::new(
                family,
                TABLE,
                ANY_MAP,
                &[DataType::InetProto, DataType::InetService],
            )
            .map(target)
            .comment("host port on every local address -> container address . port"),
        )
        .set(
            Set::new(family, TABLE, MASQ_SET, &[addr, addr])
                .flags(SET_INTERVAL)
                .comment("sources masqueraded towards a mapped container"),
        )
        .chain(
            nat("prerouting", Hook::Prerouting, DSTNAT),
            dnat_rules(family, "prerouting"),
        )
        .chain(
            nat("output", Hook::Output, DSTNAT),
            dnat_rules(family, "output"),
        )
        .chain(nat("postrouting", Hook::Postrouting, SRCNAT), vec![masq])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn versions_differ_by_family_and_are_stable() {
        let v4 = skeleton(Family::Ip);
        assert_eq!(v4.version(), skeleton(Family::Ip).version());
        assert_ne!(v4.version(), skeleton(Family::Ip6).version());
        assert_eq!(v4.chains.len(), 3);
        assert_eq!(v4.sets.len(), 3);
        let rules = |sk: &Skeleton, chain: &str| {
            let c = sk.chains.iter().find(|c| c.chain.name == chain).unwrap();
            c.rules.as_ref().map_or(0, Vec::len)
        };
        // Only IPv6 output has the ::1 exclusion.
        let v6 = skeleton(Family::Ip6);
        assert_eq!((rules(&v4, "output"), rules(&v6, "output")), (2, 3));
        assert_eq!(rules(&v6, "prerouting"), 2);
    }
}
