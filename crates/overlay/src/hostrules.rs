//! The node's firewall rules for the pod network, on nftables through the kernel crate (no
//! `iptables` or `nft` exec, so no xtables lock shared with kube-proxy):
//!
//! ```text
//! table inet twill_overlay {
//!   chain postrouting { type nat hook postrouting priority srcnat   # only with --ip-masq
//!     ip saddr N ip daddr N return              # pod to pod, also across nodes: never NAT
//!     ip saddr N ip daddr 224.0.0.0/4 return    # multicast stays as it is
//!     ip saddr N masquerade                     # pod to the outside world
//!     ip saddr != N ip daddr S return           # the node to its own pods
//!     ip saddr != N ip daddr N masquerade }     # the node to other nodes' pods (replies come back)
//!   chain forward { type filter hook forward priority filter
//!     ip saddr N accept
//!     ip daddr N accept }
//! }
//! ```
//! (N: the pod network, S: this node's subnet; the same for IPv6.) It is a skeleton: installed
//! once, verified with one request, repaired in one atomic batch when the network changes.

use std::net::{Ipv4Addr, Ipv6Addr};

use twill_kernel::nft::{
    Chain, ChainType, Ensured, Family, Field, Hook, Nftables, Rule, Skeleton, Table, Verdict,
};
use twill_kernel::{IpFamily, IpPrefix};

/// The table's name.
pub const TABLE: &str = "twill_overlay";

/// nft's `srcnat` and `filter` priorities.
const SRCNAT: i32 = 100;
const FILTER: i32 = 0;

/// One family's networks.
#[derive(Debug, Clone, Copy)]
pub struct FamilyNets {
    /// The pod network.
    pub network: IpPrefix,
    /// This node's subnet of it.
    pub own: IpPrefix,
}

fn fields(f: IpFamily) -> (Field, Field) {
    match f {
        IpFamily::V4 => (Field::IpSaddr, Field::IpDaddr),
        IpFamily::V6 => (Field::Ip6Saddr, Field::Ip6Daddr),
    }
}

fn multicast(f: IpFamily) -> Option<IpPrefix> {
    match f {
        IpFamily::V4 => IpPrefix::new(Ipv4Addr::new(224, 0, 0, 0).into(), 4).ok(),
        IpFamily::V6 => IpPrefix::new(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0).into(), 8).ok(),
    }
}

/// The skeleton for `nets` (one per enabled family), with masquerading when `ip_masq`.
pub fn skeleton(nets: &[FamilyNets], ip_masq: bool) -> Skeleton {
    let inet = Family::Inet;
    let rule = |chain: &str| Rule::new(inet, TABLE, chain);
    let mut nat = Vec::new();
    let mut fwd = Vec::new();
    for n in nets {
        let (s, d) = fields(n.network.family());
        let net = n.network.network();
        let own = n.own.network();
        fwd.push(
            rule("forward")
                .match_prefix(s, &net, false)
                .verdict(Verdict::Accept),
        );
        fwd.push(
            rule("forward")
                .match_prefix(d, &net, false)
                .verdict(Verdict::Accept),
        );
        if !ip_masq {
            continue;
        }
        let from_pods = || rule("postrouting").match_prefix(s, &net, false);
        nat.push(
            from_pods()
                .match_prefix(d, &net, false)
                .verdict(Verdict::Return),
        );
        if let Some(m) = multicast(n.network.family()) {
            nat.push(
                from_pods()
                    .match_prefix(d, &m, false)
                    .verdict(Verdict::Return),
            );
        }
        nat.push(from_pods().masquerade());
        let from_node = || rule("postrouting").match_prefix(s, &net, true);
        nat.push(
            from_node()
                .match_prefix(d, &own, false)
                .verdict(Verdict::Return),
        );
        nat.push(from_node().match_prefix(d, &net, false).masquerade());
    }
    let mut sk = Skeleton::new(Table::new(inet, TABLE).comment("twilld: pod network host rules"));
    sk = sk.chain(
        Chain::base(
            inet,
            TABLE,
            "forward",
            ChainType::Filter,
            Hook::Forward,
            FILTER,
        ),
        fwd,
    );
    if ip_masq {
        sk = sk.chain(
            Chain::base(
                inet,
                TABLE,
                "postrouting",
                ChainType::Nat,
                Hook::Postrouting,
                SRCNAT,
            ),
            nat,
        );
    }
    sk
}

/// Installs or verifies the rules.
pub fn ensure(
    nft: &mut Nftables,
    nets: &[FamilyNets],
    ip_masq: bool,
) -> twill_kernel::Result<Ensured> {
    nft.ensure(&skeleton(nets, ip_masq))
}

/// Removes the table (leaving the cluster); a table already gone is no error.
pub fn remove(nft: &mut Nftables) -> twill_kernel::Result<()> {
    let mut b = twill_kernel::nft::Batch::new();
    b.delete_table(Family::Inet, TABLE);
    match nft.apply(&b) {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn nets() -> Vec<FamilyNets> {
        vec![FamilyNets {
            network: "10.244.0.0/16".parse().unwrap(),
            own: "10.244.3.0/24".parse().unwrap(),
        }]
    }

    #[test]
    fn masquerade_chain_only_with_ip_masq_and_versions_differ() {
        let with = skeleton(&nets(), true);
        let without = skeleton(&nets(), false);
        assert_eq!(with.chains.len(), 2);
        assert_eq!(without.chains.len(), 1);
        let nat = with
            .chains
            .iter()
            .find(|c| c.chain.name == "postrouting")
            .unwrap();
        assert_eq!(nat.rules.as_ref().unwrap().len(), 5);
        assert_ne!(with.version(), without.version());
        let mut other = nets();
        other[0].own = "10.244.4.0/24".parse().unwrap();
        assert_ne!(with.version(), skeleton(&other, true).version());
    }
}
