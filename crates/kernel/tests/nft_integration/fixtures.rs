//! Shared objects and the `nft` reader.

use serde_json::Value as Json;
use twill_kernel::nft::expr::Verdict;
use twill_kernel::nft::*;

use crate::common::TestNs;

pub const T: &str = "twill_t";

/// `nft -j list ruleset` inside the test namespace, parsed: the list of objects.
pub fn nft_json(ns: &TestNs) -> Vec<Json> {
    let out = nft(ns, &["-j", "list", "ruleset"]);
    let json: Json = serde_json::from_str(&out).unwrap();
    json["nftables"].as_array().unwrap().clone()
}

/// Runs `nft args…` inside the test namespace and returns its output.
pub fn nft(ns: &TestNs, args: &[&str]) -> String {
    twill_test_support::nft::nft(&ns.path, args)
}

/// The objects of one kind (`"chain"`, `"set"`, `"map"`, `"rule"`, …) of the listing.
pub fn objects<'a>(listing: &'a [Json], kind: &str) -> Vec<&'a Json> {
    listing.iter().filter_map(|o| o.get(kind)).collect()
}

/// The key of a pod's host port: `ipv4_addr . inet_proto . inet_service`.
pub fn hostport_key() -> Vec<DataType> {
    vec![
        DataType::Ipv4Addr,
        DataType::InetProto,
        DataType::InetService,
    ]
}

/// A network's skeleton: NAT for host ports through a map, a forward chain that drops
/// what a set names, masquerade of the pod network, an admin chain left to the operator.
pub fn skeleton(family: Family) -> Skeleton {
    let fields = [Field::IpDaddr, Field::L4Proto, Field::ThDport];
    let prerouting = Chain::base(
        family,
        T,
        "prerouting",
        ChainType::Nat,
        Hook::Prerouting,
        -100,
    );
    let postrouting = Chain::base(
        family,
        T,
        "postrouting",
        ChainType::Nat,
        Hook::Postrouting,
        100,
    );
    let forward = Chain::base(family, T, "forward", ChainType::Filter, Hook::Forward, 0);
    let pods: twill_kernel::IpPrefix = "10.88.0.0/16".parse().unwrap();
    Skeleton::new(Table::new(family, T).comment("twill test"))
        .set(
            Set::new(family, T, "hostports", &hostport_key()).map(SetData::Values(vec![
                DataType::Ipv4Addr,
                DataType::InetService,
            ])),
        )
        .set(Set::new(family, T, "blocked", &[DataType::InetService]))
        .set(Set::new(family, T, "pod_nets", &[DataType::Ipv4Addr]).flags(SET_INTERVAL))
        .chain(
            prerouting,
            vec![Rule::new(family, T, "prerouting")
                .match_local_daddr()
                .dnat_map(Family::Ip, &fields, "hostports")
                .comment("host ports")],
        )
        .chain(
            postrouting,
            vec![Rule::new(family, T, "postrouting")
                .match_prefix(Field::IpSaddr, &pods, false)
                .match_set(&[Field::IpDaddr], "pod_nets", true)
                .counter()
                .masquerade()],
        )
        .unmanaged_chain(Chain::regular(family, T, "admin"))
        .chain(
            forward,
            vec![
                Rule::new(family, T, "forward").verdict(Verdict::Jump("admin".into())),
                Rule::new(family, T, "forward")
                    .match_value(Field::L4Proto, &Value::Proto(17), false)
                    .match_set(&[Field::ThDport], "blocked", false)
                    .verdict(Verdict::Drop),
            ],
        )
}
