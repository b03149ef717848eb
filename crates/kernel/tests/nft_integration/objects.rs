//! Tables, chains, sets, maps and rules made by our encoder, read back by `nft` and by our
//! own listing.

use std::time::Duration;

use serde_json::json;
use twill_kernel::nft::expr::Verdict;
use twill_kernel::nft::*;

use crate::common::Sandbox;
use crate::fixtures::{hostport_key, nft_json, objects, skeleton, T};

#[test]
fn objects_read_back_through_nft() {
    let mut sb = Sandbox::new();
    let ns = sb.ns();
    let mut nft = Nftables::open_in(&ns.ns).unwrap();
    nft.apply(&skeleton(Family::Inet).install_batch()).unwrap();
    let extra = [
        Set::new(Family::Inet, T, "by_port", &[DataType::InetService]).map(SetData::Verdict),
        Set::new(Family::Inet, T, "recent", &[DataType::Ipv4Addr])
            .timeout(Duration::from_secs(30))
            .comment("expiring"),
        Set::new(Family::Inet, T, "ranges", &hostport_key()).flags(SET_INTERVAL),
    ];
    let mut batch = Batch::new();
    for s in &extra {
        batch.add_set(s);
    }
    nft.apply(&batch).unwrap();

    let listing = nft_json(&ns);
    let tables = objects(&listing, "table");
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0]["name"], T);
    assert_eq!(tables[0]["family"], "inet");

    let chains = objects(&listing, "chain");
    let find = |name: &str| *chains.iter().find(|c| c["name"] == name).unwrap();
    let pre = find("prerouting");
    assert_eq!(
        (&pre["type"], &pre["hook"], &pre["prio"], &pre["policy"]),
        (
            &json!("nat"),
            &json!("prerouting"),
            &json!(-100),
            &json!("accept")
        )
    );
    assert_eq!(find("forward")["hook"], "forward");
    assert_eq!(find("admin").get("hook"), None);

    let maps = objects(&listing, "map");
    let hostports = maps.iter().find(|m| m["name"] == "hostports").unwrap();
    assert_eq!(
        hostports["type"],
        json!(["ipv4_addr", "inet_proto", "inet_service"])
    );
    assert_eq!(hostports["map"], "ipv4_addr . inet_service");
    let vmap = maps.iter().find(|m| m["name"] == "by_port").unwrap();
    assert_eq!(
        (&vmap["type"], &vmap["map"]),
        (&json!("inet_service"), &json!("verdict"))
    );

    let sets = objects(&listing, "set");
    let set = |name: &str| *sets.iter().find(|s| s["name"] == name).unwrap();
    assert_eq!(set("pod_nets")["flags"], json!(["interval"]));
    assert_eq!(set("recent")["timeout"], 30);
    assert_eq!(set("recent")["comment"], "expiring");
    assert_eq!(set("ranges")["flags"], json!(["interval"]));
    assert_eq!(set("blocked")["type"], "inet_service");

    let rules = objects(&listing, "rule");
    let dnat = rules.iter().find(|r| r["chain"] == "prerouting").unwrap();
    assert_eq!(dnat["comment"], "host ports");
    let exprs = dnat["expr"].as_array().unwrap();
    assert_eq!(
        exprs[0]["match"]["left"],
        json!({"fib": {"result": "type", "flags": ["daddr"]}})
    );
    assert_eq!(exprs[0]["match"]["right"], "local");
    let target = &exprs[1]["dnat"];
    assert_eq!(target["family"], "ip");
    assert_eq!(target["addr"]["map"]["data"], "@hostports");
    assert_eq!(
        target["addr"]["map"]["key"]["concat"],
        json!([
            {"payload": {"protocol": "ip", "field": "daddr"}},
            {"meta": {"key": "l4proto"}},
            {"payload": {"protocol": "th", "field": "dport"}}
        ])
    );
    let masq = rules.iter().find(|r| r["chain"] == "postrouting").unwrap();
    assert_eq!(
        masq["expr"],
        json!([
            {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                       "right": {"prefix": {"addr": "10.88.0.0", "len": 16}}}},
            {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "daddr"}},
                       "right": "@pod_nets"}},
            {"counter": {"packets": 0, "bytes": 0}},
            {"masquerade": null}
        ])
    );
    let fwd: Vec<_> = rules.iter().filter(|r| r["chain"] == "forward").collect();
    assert_eq!(fwd[0]["expr"], json!([{"jump": {"target": "admin"}}]));
    // `nft` folds the protocol match into the port: `udp dport @blocked drop`.
    assert_eq!(
        fwd[1]["expr"],
        json!([
            {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}},
                       "right": "@blocked"}},
            {"drop": null}
        ])
    );
}

#[test]
fn listing_round_trips() {
    let mut sb = Sandbox::new();
    let ns = sb.ns();
    let mut nft = Nftables::open_in(&ns.ns).unwrap();
    let sk = skeleton(Family::Inet);
    nft.apply(&sk.install_batch()).unwrap();

    let tables = nft.list_tables(Family::Unspec).unwrap();
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0].comment.as_deref(), Some("twill test"));
    assert_eq!(nft.get_table(Family::Inet, T).unwrap().unwrap().name, T);
    assert_eq!(nft.get_table(Family::Ip, T).unwrap(), None);

    let chains = nft.list_chains(Family::Inet, T).unwrap();
    assert_eq!(chains.len(), sk.chains.len());
    for want in &sk.chains {
        let got = chains.iter().find(|c| c.name == want.chain.name).unwrap();
        assert!(got.handle.is_some());
        assert_eq!(
            Chain {
                handle: None,
                ..got.clone()
            },
            want.chain
        );
    }

    let sets = nft.list_sets(Family::Inet, T).unwrap();
    for want in &sk.sets {
        let got = sets.iter().find(|s| s.name == want.name).unwrap();
        assert_eq!(
            Set {
                handle: None,
                ..got.clone()
            },
            *want
        );
    }
    assert!(sets.iter().any(|s| s.name == MARKER_SET));

    let rules = nft.list_rules(Family::Inet, T, None).unwrap();
    let wanted: Vec<&Rule> = sk
        .chains
        .iter()
        .filter_map(|c| c.rules.as_ref())
        .flatten()
        .collect();
    assert_eq!(rules.len(), wanted.len());
    for want in wanted {
        assert!(
            rules.iter().any(|r| r.same_as(want)),
            "{want:#?} not listed"
        );
    }
    let fwd = nft.list_rules(Family::Inet, T, Some("forward")).unwrap();
    assert_eq!(fwd.len(), 2);
    assert!(fwd[0]
        .same_as(&Rule::new(Family::Inet, T, "forward").verdict(Verdict::Jump("admin".into()))));
    assert!(nft.generation().unwrap() > 0);
}

#[test]
fn errors_name_the_object_and_failed_batches_leave_nothing() {
    let mut sb = Sandbox::new();
    let ns = sb.ns();
    let mut nft = Nftables::open_in(&ns.ns).unwrap();
    let set = SetRef::new(Family::Inet, T, "nope");
    let e = nft
        .apply(Batch::new().add_elements(&set, &[Element::new(&[Value::Port(1)])]))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "add element to set \"inet twill_t nope\": No such file or directory"
    );
    assert!(e.is_not_found());

    // A table followed by a rule in a missing chain: the table is not created either.
    let mut batch = Batch::new();
    batch
        .add_table(&Table::new(Family::Ip, "half"))
        .add_rule(&Rule::new(Family::Ip, "half", "missing").verdict(Verdict::Accept));
    let e = nft.apply(&batch).unwrap_err();
    assert_eq!(e.op(), "add rule");
    assert!(
        e.to_string()
            .starts_with("add rule in chain \"ip half missing\": "),
        "{e}"
    );
    assert_eq!(nft.list_tables(Family::Unspec).unwrap(), []);
}
