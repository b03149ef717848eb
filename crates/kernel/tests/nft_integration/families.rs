//! IPv6 and bridge tables: the address and link-layer fields read back through `nft`.

use serde_json::json;
use twill_kernel::nft::expr::Verdict;
use twill_kernel::nft::*;
use twill_kernel::MacAddr;

use crate::common::Sandbox;
use crate::fixtures::{nft_json, objects};

#[test]
fn ipv6_masquerade_and_dnat_map() {
    let mut sb = Sandbox::new();
    let ns = sb.ns();
    let mut nft = Nftables::open_in(&ns.ns).unwrap();
    let f = Family::Ip6;
    let key = [
        DataType::Ipv6Addr,
        DataType::InetProto,
        DataType::InetService,
    ];
    let data = SetData::Values(vec![DataType::Ipv6Addr, DataType::InetService]);
    let fields = [Field::Ip6Daddr, Field::L4Proto, Field::ThDport];
    let pods = "fd00:10::/64".parse().unwrap();
    let mut batch = Batch::new();
    batch
        .add_table(&Table::new(f, "t6"))
        .add_chain(&Chain::base(
            f,
            "t6",
            "post",
            ChainType::Nat,
            Hook::Postrouting,
            100,
        ))
        .add_chain(&Chain::base(
            f,
            "t6",
            "pre",
            ChainType::Nat,
            Hook::Prerouting,
            -100,
        ))
        .add_set(&Set::new(f, "t6", "nets", &[DataType::Ipv6Addr]).flags(SET_INTERVAL))
        .add_set(&Set::new(f, "t6", "hp", &key).map(data))
        .add_rule(
            &Rule::new(f, "t6", "post")
                .match_prefix(Field::Ip6Saddr, &pods, false)
                .match_set(&[Field::Ip6Daddr], "nets", true)
                .masquerade(),
        )
        .add_rule(&Rule::new(f, "t6", "pre").dnat_map(Family::Ip6, &fields, "hp"))
        .add_elements(&SetRef::new(f, "t6", "nets"), &Element::prefix(&pods))
        .add_elements(
            &SetRef::new(f, "t6", "hp"),
            &[Element::new(&[
                Value::Ipv6("fd00::1".parse().unwrap()),
                Value::Proto(6),
                Value::Port(8080),
            ])
            .to_values(&[Value::Ipv6("fd00:10::5".parse().unwrap()), Value::Port(80)])],
        );
    nft.apply(&batch).unwrap();

    let listing = nft_json(&ns);
    let rules = objects(&listing, "rule");
    let post = rules.iter().find(|r| r["chain"] == "post").unwrap();
    assert_eq!(
        post["expr"][0]["match"]["right"],
        json!({"prefix": {"addr": "fd00:10::", "len": 64}})
    );
    assert_eq!(post["expr"][2], json!({"masquerade": null}));
    let pre = rules.iter().find(|r| r["chain"] == "pre").unwrap();
    assert_eq!(pre["expr"][0]["dnat"]["family"], "ip6");
    let maps = objects(&listing, "map");
    assert_eq!(
        maps[0]["elem"],
        json!([[{"concat": ["fd00::1", "tcp", 8080]}, {"concat": ["fd00:10::5", 80]}]])
    );
    let sets = objects(&listing, "set");
    assert_eq!(
        sets[0]["elem"],
        json!([{"prefix": {"addr": "fd00:10::", "len": 64}}])
    );
}

#[test]
fn bridge_port_and_source_mac_pairs() {
    let mut sb = Sandbox::new();
    let ns = sb.ns();
    let mut nft = Nftables::open_in(&ns.ns).unwrap();
    let f = Family::Bridge;
    let pre = Chain::base(f, "tb", "pre", ChainType::Filter, Hook::Prerouting, -300);
    let key = [DataType::IfName, DataType::EtherAddr];
    let mac: MacAddr = "02:42:0a:58:00:05".parse().unwrap();
    let mut batch = Batch::new();
    batch
        .add_table(&Table::new(f, "tb"))
        .add_chain(&pre)
        .add_set(&Set::new(f, "tb", "ports", &[DataType::IfName]))
        .add_set(&Set::new(f, "tb", "macs", &key))
        .add_rule(
            &Rule::new(f, "tb", "pre")
                .match_set(&[Field::IifName], "ports", false)
                .match_set(&[Field::IifName, Field::EtherSaddr], "macs", true)
                .verdict(Verdict::Drop),
        )
        .add_elements(
            &SetRef::new(f, "tb", "ports"),
            &[Element::new(&[Value::IfName("veth5".into())])],
        )
        .add_elements(
            &SetRef::new(f, "tb", "macs"),
            &[Element::new(&[
                Value::IfName("veth5".into()),
                Value::Mac(mac),
            ])],
        );
    nft.apply(&batch).unwrap();

    let listing = nft_json(&ns);
    let rule = objects(&listing, "rule")[0];
    assert_eq!(
        rule["expr"][1]["match"]["left"],
        json!({"concat": [{"meta": {"key": "iifname"}},
                          {"payload": {"protocol": "ether", "field": "saddr"}}]})
    );
    assert_eq!(rule["expr"][1]["match"]["op"], "!=");
    let sets = objects(&listing, "set");
    let macs = sets.iter().find(|s| s["name"] == "macs").unwrap();
    assert_eq!(
        macs["elem"],
        json!([{"concat": ["veth5", "02:42:0a:58:00:05"]}])
    );
    // A lone interface-name key prints as the name only with the key byte-order hint in
    // the set's userdata (without it `nft` byte-swaps the 16 bytes and prints "").
    let ports = sets.iter().find(|s| s["name"] == "ports").unwrap();
    assert_eq!(ports["type"], "ifname");
    assert_eq!(ports["elem"], json!(["veth5"]));
    let text = crate::fixtures::nft(&ns, &["list", "set", "bridge", "tb", "ports"]);
    assert!(text.contains("\"veth5\""), "{text}");
}
