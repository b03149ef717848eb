//! The masquerade skeleton of one network: a table of its own, whose rules never mention a
//! pod; pods are elements of two verdict maps keyed by source address.
//!
//! ```text
//! table inet twill_masq_<hash> {
//!   map pods4 { type ipv4_addr : verdict }   # pod address -> jump masq
//!   map pods6 { type ipv6_addr : verdict }
//!   chain postrouting { type nat hook postrouting priority srcnat
//!     ip saddr vmap @pods4
//!     ip6 saddr vmap @pods6 }
//!   chain masq {
//!     ip daddr <pod subnet> return      # one per subnet, IPv6 alike
//!     ip daddr 224.0.0.0/4 return
//!     ip6 daddr ff00::/8 return
//!     masquerade }
//! }
//! ```
//!
//! The table's name hashes the network name and its pod subnets, so the chain's contents
//! are a function of the name alone: `ensure` then verifies it with one element GET, and
//! two networks (or one network whose subnets changed) never repair each other's rules.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use twill_kernel::nft::{
    Chain, ChainType, DataType, Family, Field, Hook, Rule, Set, SetData, SetRef, Skeleton, Table,
    Verdict,
};
use twill_kernel::IpPrefix;

/// Prefix of every masquerade table's name.
pub const TABLE_PREFIX: &str = "twill_masq_";
/// The verdict map of IPv4 pod addresses.
pub const PODS4: &str = "pods4";
/// The verdict map of IPv6 pod addresses.
pub const PODS6: &str = "pods6";
/// The chain a pod's element jumps to.
pub const MASQ_CHAIN: &str = "masq";
/// nft's `srcnat` priority.
const SRCNAT: i32 = 100;

/// The table of `network` with pod subnets `subnets` (order does not matter).
pub fn table_name(network: &str, subnets: &[IpPrefix]) -> String {
    let mut parts: Vec<String> = subnets.iter().map(|s| s.network().to_string()).collect();
    parts.sort();
    parts.dedup();
    let text = format!("{network}\0{}", parts.join(","));
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{TABLE_PREFIX}{hash:016x}")
}

/// The map a pod address's element goes into.
pub fn map_of(table: &str, addr: IpAddr) -> SetRef {
    let name = if addr.is_ipv4() { PODS4 } else { PODS6 };
    SetRef::new(Family::Inet, table, name)
}

/// `prefix` of a literal address; the literals below are valid, so this never fails.
fn literal(addr: IpAddr, len: u8) -> Option<IpPrefix> {
    IpPrefix::new(addr, len).ok()
}

/// The skeleton of table `table` excluding `subnets` (and multicast) from masquerading.
pub fn skeleton(table: &str, network: &str, subnets: &[IpPrefix]) -> Skeleton {
    let inet = Family::Inet;
    let daddr = |p: &IpPrefix| match p.addr() {
        IpAddr::V4(_) => Field::IpDaddr,
        IpAddr::V6(_) => Field::Ip6Daddr,
    };
    let mut excluded: Vec<IpPrefix> = subnets.iter().map(IpPrefix::network).collect();
    excluded.sort_by_key(|p| (p.addr(), p.len()));
    excluded.dedup();
    excluded.extend(literal(Ipv4Addr::new(224, 0, 0, 0).into(), 4));
    excluded.extend(literal(
        Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0).into(),
        8,
    ));
    let mut masq: Vec<Rule> = excluded
        .iter()
        .map(|p| {
            Rule::new(inet, table, MASQ_CHAIN)
                .match_prefix(daddr(p), p, false)
                .verdict(Verdict::Return)
        })
        .collect();
    masq.push(Rule::new(inet, table, MASQ_CHAIN).masquerade());
    let lookups = vec![
        Rule::new(inet, table, "postrouting").verdict_map(&[Field::IpSaddr], PODS4),
        Rule::new(inet, table, "postrouting").verdict_map(&[Field::Ip6Saddr], PODS6),
    ];
    let pods = |name: &str, key| {
        Set::new(inet, table, name, &[key])
            .map(SetData::Verdict)
            .comment("pod address -> jump masq")
    };
    let comment = format!("twill ipMasq: network {network}");
    let comment: String = comment.chars().take(120).collect();
    Skeleton::new(Table::new(inet, table).comment(&comment))
        .set(pods(PODS4, DataType::Ipv4Addr))
        .set(pods(PODS6, DataType::Ipv6Addr))
        .chain(Chain::regular(inet, table, MASQ_CHAIN), masq)
        .chain(
            Chain::base(
                inet,
                table,
                "postrouting",
                ChainType::Nat,
                Hook::Postrouting,
                SRCNAT,
            ),
            lookups,
        )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn p(s: &str) -> IpPrefix {
        let (a, l) = s.split_once('/').unwrap();
        IpPrefix::new(a.parse().unwrap(), l.parse().unwrap()).unwrap()
    }

    #[test]
    fn name_depends_on_network_and_subnets_not_on_host_bits_or_order() {
        let a = table_name("net", &[p("10.0.0.5/24"), p("fd00::5/64")]);
        assert_eq!(a, table_name("net", &[p("fd00::9/64"), p("10.0.0.7/24")]));
        assert_ne!(a, table_name("net2", &[p("10.0.0.5/24"), p("fd00::5/64")]));
        assert_ne!(a, table_name("net", &[p("10.0.1.5/24"), p("fd00::5/64")]));
        assert!(a.starts_with(TABLE_PREFIX) && a.len() == TABLE_PREFIX.len() + 16);
    }

    #[test]
    fn masq_chain_returns_for_subnets_and_multicast_then_masquerades() {
        let t = table_name("net", &[p("10.0.0.5/24")]);
        let s = skeleton(&t, "net", &[p("10.0.0.5/24")]);
        let masq = s
            .chains
            .iter()
            .find(|c| c.chain.name == MASQ_CHAIN)
            .unwrap();
        assert_eq!(masq.rules.as_ref().unwrap().len(), 4);
        assert_eq!(s.sets.len(), 2);
        assert_eq!(
            s.version(),
            skeleton(&t, "net", &[p("10.0.0.9/24")]).version()
        );
    }
}
