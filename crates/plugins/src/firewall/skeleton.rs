//! The firewall's skeletons: rules that never mention a pod or a bridge, only sets.
//!
//! ```text
//! table inet twill_firewall {                      # one per admin chain name
//!   set pods4      { type ipv4_addr }              # every pod address
//!   set pods6      { type ipv6_addr }
//!   set isolated4  { type ipv4_addr }              # addresses of isolated pods
//!   set isolated6  { type ipv6_addr }
//!   set bridges    { type ifname }                 # bridges with same-bridge or isolated pods
//!   set intra      { type ifname . ifname }        # "br . br" for each of them
//!   chain CNI-ADMIN { }                            # the operator's; never written by twill
//!   chain forward { type filter hook forward priority filter; policy accept;
//!     jump CNI-ADMIN
//!     iifname @bridges oifname @bridges iifname . oifname != @intra counter drop
//!     iifname . oifname @intra ip saddr @isolated4 counter drop
//!     iifname . oifname @intra ip daddr @isolated4 counter drop
//!     iifname . oifname @intra ip6 saddr @isolated6 counter drop
//!     iifname . oifname @intra ip6 daddr @isolated6 counter drop
//!     ip daddr @pods4 ct state established,related counter accept
//!     ip saddr @pods4 counter accept
//!     ip6 daddr @pods6 ct state established,related counter accept
//!     ip6 saddr @pods6 counter accept }
//! }
//! table bridge twill_firewall {                    # once a pod is isolated
//!   set isolated_ports { type ifname }             # bridge ports of isolated pods
//!   chain forward { type filter hook forward priority filter; policy accept;
//!     iifname @isolated_ports counter drop
//!     oifname @isolated_ports counter drop }
//! }
//! ```
//!
//! The first drop is the reference's two isolation stages (`-i br ! -o br -j STAGE-2`,
//! then `-o br -j DROP`) in one rule: traffic between two listed bridges. Within a bridge,
//! frames between two ports only reach the inet hook with `br_netfilter`; the bridge
//! family's forward hook always sees them, so an isolated pod's port is dropped there, and
//! its addresses in the inet chain catch what the host routes back into the same bridge.

use twill_kernel::nft::expr::{CT_STATE_ESTABLISHED, CT_STATE_RELATED};
use twill_kernel::nft::{
    Chain, ChainType, DataType, Family, Field, Hook, Rule, Set, SetRef, Skeleton, Table, Verdict,
};

use super::config::DEFAULT_ADMIN_CHAIN;

/// The table's name for the default admin chain.
pub const TABLE: &str = "twill_firewall";
/// The base chain, in both families.
pub const FORWARD_CHAIN: &str = "forward";
/// IPv4 pod addresses.
pub const PODS4: &str = "pods4";
/// IPv6 pod addresses.
pub const PODS6: &str = "pods6";
/// IPv4 addresses of isolated pods.
pub const ISOLATED4: &str = "isolated4";
/// IPv6 addresses of isolated pods.
pub const ISOLATED6: &str = "isolated6";
/// Bridges with a `same-bridge` or `isolated` attachment.
pub const BRIDGES: &str = "bridges";
/// `bridge . bridge` for each listed bridge: traffic that stays within it.
pub const INTRA: &str = "intra";
/// Bridge ports of isolated pods (bridge-family table).
pub const ISOLATED_PORTS: &str = "isolated_ports";
/// nft's `filter` priority in the inet and bridge families.
const INET_FILTER: i32 = 0;
const BRIDGE_FILTER: i32 = -200;

/// The table of admin chain `admin`. A base chain can jump to one admin chain only, so each
/// name has its own table; the default keeps the plain name.
pub fn table_name(admin: &str) -> String {
    if admin == DEFAULT_ADMIN_CHAIN {
        TABLE.to_owned()
    } else {
        format!("{TABLE}_{admin}")
    }
}

/// A set of the inet table `table`.
pub fn inet_set(table: &str, name: &str) -> SetRef {
    SetRef::new(Family::Inet, table, name)
}

/// The isolated-ports set of the bridge table `table`.
pub fn ports_set(table: &str) -> SetRef {
    SetRef::new(Family::Bridge, table, ISOLATED_PORTS)
}

/// Drops traffic within one bridge from and to the addresses in `set`.
fn isolated_rules(table: &str, saddr: Field, daddr: Field, set: &str) -> [Rule; 2] {
    let within = || {
        Rule::new(Family::Inet, table, FORWARD_CHAIN).match_set(
            &[Field::IifName, Field::OifName],
            INTRA,
            false,
        )
    };
    [saddr, daddr].map(|field| {
        within()
            .match_set(&[field], set, false)
            .counter()
            .verdict(Verdict::Drop)
    })
}

fn pod_rules(table: &str, saddr: Field, daddr: Field, set: &str) -> [Rule; 2] {
    let rule = || Rule::new(Family::Inet, table, FORWARD_CHAIN);
    [
        rule()
            .match_set(&[daddr], set, false)
            .match_ct_state(CT_STATE_ESTABLISHED | CT_STATE_RELATED)
            .counter()
            .verdict(Verdict::Accept),
        rule()
            .match_set(&[saddr], set, false)
            .counter()
            .verdict(Verdict::Accept),
    ]
}

/// The inet skeleton of `table`, whose forward chain first jumps to `admin`.
pub fn inet(table: &str, admin: &str) -> Skeleton {
    let f = Family::Inet;
    let set = |name: &str, key: &[DataType], comment: &str| {
        Set::new(f, table, name, key).comment(comment)
    };
    let forward = Chain::base(
        f,
        table,
        FORWARD_CHAIN,
        ChainType::Filter,
        Hook::Forward,
        INET_FILTER,
    );
    let mut rules = vec![
        Rule::new(f, table, FORWARD_CHAIN).verdict(Verdict::Jump(admin.to_owned())),
        Rule::new(f, table, FORWARD_CHAIN)
            .match_set(&[Field::IifName], BRIDGES, false)
            .match_set(&[Field::OifName], BRIDGES, false)
            .match_set(&[Field::IifName, Field::OifName], INTRA, true)
            .counter()
            .verdict(Verdict::Drop),
    ];
    rules.extend(isolated_rules(
        table,
        Field::IpSaddr,
        Field::IpDaddr,
        ISOLATED4,
    ));
    rules.extend(isolated_rules(
        table,
        Field::Ip6Saddr,
        Field::Ip6Daddr,
        ISOLATED6,
    ));
    rules.extend(pod_rules(table, Field::IpSaddr, Field::IpDaddr, PODS4));
    rules.extend(pod_rules(table, Field::Ip6Saddr, Field::Ip6Daddr, PODS6));
    let comment = format!("twill firewall; operator rules go in chain {admin}");
    let comment: String = comment.chars().take(120).collect();
    Skeleton::new(Table::new(f, table).comment(&comment))
        .set(set(PODS4, &[DataType::Ipv4Addr], "pod addresses"))
        .set(set(PODS6, &[DataType::Ipv6Addr], "pod addresses"))
        .set(set(ISOLATED4, &[DataType::Ipv4Addr], "isolated pods"))
        .set(set(ISOLATED6, &[DataType::Ipv6Addr], "isolated pods"))
        .set(set(
            BRIDGES,
            &[DataType::IfName],
            "bridges with ingressPolicy same-bridge or isolated",
        ))
        .set(set(
            INTRA,
            &[DataType::IfName, DataType::IfName],
            "bridge . itself: traffic within a listed bridge",
        ))
        .unmanaged_chain(Chain::regular(f, table, admin).comment("operator rules, run first"))
        .chain(forward, rules)
}

/// The bridge-family skeleton of `table`: frames bridged from or to an isolated pod's
/// port are dropped.
pub fn bridge(table: &str) -> Skeleton {
    let f = Family::Bridge;
    let forward = Chain::base(
        f,
        table,
        FORWARD_CHAIN,
        ChainType::Filter,
        Hook::Forward,
        BRIDGE_FILTER,
    );
    let drop = |field| {
        Rule::new(f, table, FORWARD_CHAIN)
            .match_set(&[field], ISOLATED_PORTS, false)
            .counter()
            .verdict(Verdict::Drop)
    };
    Skeleton::new(Table::new(f, table).comment("twill firewall: isolated pods"))
        .set(
            Set::new(f, table, ISOLATED_PORTS, &[DataType::IfName])
                .comment("bridge ports of pods with ingressPolicy isolated"),
        )
        .chain(forward, vec![drop(Field::IifName), drop(Field::OifName)])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn one_table_per_admin_chain_and_stable_versions() {
        assert_eq!(table_name("CNI-ADMIN"), "twill_firewall");
        assert_eq!(table_name("MINE"), "twill_firewall_MINE");
        let a = inet(TABLE, "CNI-ADMIN");
        assert_eq!(a.version(), inet(TABLE, "CNI-ADMIN").version());
        assert_ne!(a.version(), inet(TABLE, "OTHER").version());
        assert_eq!(a.sets.len(), 6);
        let admin = a
            .chains
            .iter()
            .find(|c| c.chain.name == "CNI-ADMIN")
            .unwrap();
        assert!(
            admin.rules.is_none(),
            "the admin chain's rules are never ours"
        );
        let fwd = a
            .chains
            .iter()
            .find(|c| c.chain.name == FORWARD_CHAIN)
            .unwrap();
        assert_eq!(fwd.rules.as_ref().unwrap().len(), 10);
        assert_eq!(bridge(TABLE).version(), bridge(TABLE).version());
    }
}
