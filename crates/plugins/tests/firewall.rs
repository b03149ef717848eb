//! firewall against the real kernel, judged by TCP connections between namespaces: a pod's
//! traffic to the outside and its replies pass its accept rules (and stop matching them
//! after DEL); `same-bridge` blocks pods of two such bridges from each other but not from
//! their own bridge, an open bridge, the host or the outside; an `isolated` pod is also
//! cut off from its own bridge, with and without `br_netfilter`; the last pod leaving a
//! bridge takes the bridge's elements with it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod firewall_support;
mod portmap_support;
mod support;

use firewall_support::*;
use serde_json::json;
use support::Sandbox;
use twill_test_support::host_settings::bridge_netfilter;

#[test]
fn pod_traffic_and_its_replies_are_accepted_by_the_pods_elements() {
    let mut sb = Sandbox::new();
    let out = outside(&mut sb);
    let n = net(&sb, "fwnet", "fw-a", 1);
    let (a, ra) = pod(&mut sb, &n, "a");
    let c = fw_conf(&sb, "fwnet", &ra, json!({}));
    let r = fw(&sb, "ADD", "a", &a.path, &c).ok();
    assert_eq!(r, ra, "prevResult is passed through unchanged");
    fw(&sb, "CHECK", "a", &a.path, &c).ok();
    let _srv = listen(&out, "outside", 30);

    let (out_rule, back_rule) = (["\"saddr\"", "@pods4"], ["\"daddr\"", "@pods4"]);
    let before = (
        counter(&sb.host.path, &out_rule),
        counter(&sb.host.path, &back_rule),
    );
    assert_eq!(before, (0, 0));
    let answer = reaches(&a, outside_addr()).unwrap();
    assert_eq!(answer, format!("outside {}", addr(&ra)), "not masqueraded");
    let after = (
        counter(&sb.host.path, &out_rule),
        counter(&sb.host.path, &back_rule),
    );
    assert!(
        after.0 > 0,
        "the pod's packets were accepted by `ip saddr @pods4`"
    );
    assert!(
        after.1 > 0,
        "the replies were accepted by `ip daddr @pods4 ct state established,related`"
    );

    // After DEL the pod's address is no element: its traffic no longer matches.
    fw(&sb, "DEL", "a", &a.path, &c).ok();
    assert!(elements(&sb.host.path, "inet", "twill_firewall", "pods4").is_empty());
    reaches(&a, outside_addr()).unwrap();
    let last = (
        counter(&sb.host.path, &out_rule),
        counter(&sb.host.path, &back_rule),
    );
    assert_eq!(last, after);
}

#[test]
fn same_bridge_blocks_other_same_bridge_bridges_only() {
    let mut sb = Sandbox::new();
    let out = outside(&mut sb);
    let (na, nb, nc) = (
        net(&sb, "neta", "fw-a", 1),
        net(&sb, "netb", "fw-b", 2),
        net(&sb, "netc", "fw-c", 3),
    );
    let (a1, r1) = pod(&mut sb, &na, "a1");
    let (a2, r2) = pod(&mut sb, &na, "a2");
    let (b1, rb) = pod(&mut sb, &nb, "b1");
    let (c1, rc) = pod(&mut sb, &nc, "c1");
    let mut servers = Vec::new();
    for (ns, tag) in [
        (&a1, "a1"),
        (&a2, "a2"),
        (&b1, "b1"),
        (&c1, "c1"),
        (&out, "out"),
    ] {
        servers.push(listen(ns, tag, 60));
    }
    servers.push(listen(&sb.host, "host", 60));
    // Without the firewall every pod reaches every other.
    reaches(&a1, &addr(&rb)).unwrap();

    let same = json!({"ingressPolicy": "same-bridge"});
    for (id, ns, net, r) in [
        ("a1", &a1, "neta", &r1),
        ("a2", &a2, "neta", &r2),
        ("b1", &b1, "netb", &rb),
    ] {
        fw(
            &sb,
            "ADD",
            id,
            &ns.path,
            &fw_conf(&sb, net, r, same.clone()),
        )
        .ok();
    }
    fw(
        &sb,
        "ADD",
        "c1",
        &c1.path,
        &fw_conf(&sb, "netc", &rc, json!({})),
    )
    .ok();

    assert!(blocked(&a1, &addr(&rb)), "a same-bridge bridge to another");
    assert!(blocked(&b1, &addr(&r1)), "and back");
    assert_eq!(
        reaches(&a1, &addr(&r2)).unwrap(),
        format!("a2 {}", addr(&r1))
    );
    assert!(
        reaches(&a1, &addr(&rc)).unwrap().starts_with("c1 "),
        "to an open bridge"
    );
    assert!(
        reaches(&c1, &addr(&r1)).unwrap().starts_with("a1 "),
        "from an open bridge"
    );
    assert!(reaches(&a1, outside_addr()).unwrap().starts_with("out "));
    assert!(reaches(&out, &addr(&r1)).unwrap().starts_with("a1 "));
    assert!(reaches(&a1, "10.10.1.1").unwrap().starts_with("host "));
    let path = &sb.host.path;
    let mut listed = elements(path, "inet", "twill_firewall", "bridges");
    listed.sort_by_key(ToString::to_string);
    assert_eq!(listed, [json!("fw-a"), json!("fw-b")]);
    assert_eq!(elements(path, "inet", "twill_firewall", "intra").len(), 2);

    // b1 was the last same-bridge pod of fw-b: its element goes, and with it the blocking.
    fw(
        &sb,
        "DEL",
        "b1",
        &b1.path,
        &fw_conf(&sb, "netb", &rb, same.clone()),
    )
    .ok();
    assert_eq!(
        elements(path, "inet", "twill_firewall", "bridges"),
        [json!("fw-a")]
    );
    assert!(reaches(&a1, &addr(&rb)).unwrap().starts_with("b1 "));
    // fw-a keeps its element until its last pod leaves.
    fw_del_bare(&sb, "neta", "a1");
    assert_eq!(elements(path, "inet", "twill_firewall", "bridges").len(), 1);
    fw_del_bare(&sb, "neta", "a2");
    assert!(elements(path, "inet", "twill_firewall", "bridges").is_empty());
    assert!(elements(path, "inet", "twill_firewall", "intra").is_empty());
    assert!(!data_dir(&sb).join(".bridges/twill_firewall").exists());
}

#[test]
fn an_isolated_pod_is_cut_off_from_its_own_bridge_too_with_or_without_br_netfilter() {
    let mut sb = Sandbox::new();
    let out = outside(&mut sb);
    let (na, nb) = (net(&sb, "neta", "fw-a", 1), net(&sb, "netb", "fw-b", 2));
    let (a1, r1) = pod(&mut sb, &na, "a1");
    let (a2, r2) = pod(&mut sb, &na, "a2");
    let (b1, rb) = pod(&mut sb, &nb, "b1");
    let mut servers = Vec::new();
    for (ns, tag) in [(&a1, "a1"), (&a2, "a2"), (&b1, "b1"), (&out, "out")] {
        servers.push(listen(ns, tag, 60));
    }
    servers.push(listen(&sb.host, "host", 60));
    reaches(&a2, &addr(&r1)).unwrap();

    let iso = json!({"ingressPolicy": "isolated"});
    let same = json!({"ingressPolicy": "same-bridge"});
    fw(
        &sb,
        "ADD",
        "a1",
        &a1.path,
        &fw_conf(&sb, "neta", &r1, iso.clone()),
    )
    .ok();
    fw(
        &sb,
        "ADD",
        "a2",
        &a2.path,
        &fw_conf(&sb, "neta", &r2, same.clone()),
    )
    .ok();
    fw(
        &sb,
        "ADD",
        "b1",
        &b1.path,
        &fw_conf(&sb, "netb", &rb, same.clone()),
    )
    .ok();

    // Both ways where the kernel has br_netfilter (its calls are per namespace); where it
    // has not, bridged frames never reach the inet hooks, which is the "without" case.
    let bnf = "net/bridge/bridge-nf-call-iptables";
    let has_bnf = bridge_netfilter(&sb.host.ns);
    let cases: &[&str] = if has_bnf { &["1", "0"] } else { &["absent"] };
    for on in cases {
        if has_bnf {
            twill_kernel::sysctl::write_in(&sb.host.ns, bnf, on).unwrap();
        }
        assert!(
            blocked(&a2, &addr(&r1)),
            "within the bridge (br_netfilter {on})"
        );
        assert!(
            blocked(&a1, &addr(&r2)),
            "within the bridge (br_netfilter {on})"
        );
        assert!(
            blocked(&a1, &addr(&rb)),
            "to another bridge (br_netfilter {on})"
        );
        assert!(reaches(&a1, "10.10.1.1").unwrap().starts_with("host "));
        assert!(reaches(&a1, outside_addr()).unwrap().starts_with("out "));
    }
    let path = &sb.host.path;
    assert_eq!(
        elements(path, "bridge", "twill_firewall", "isolated_ports").len(),
        1
    );
    assert_eq!(
        elements(path, "inet", "twill_firewall", "isolated4").len(),
        1
    );
    assert_eq!(elements(path, "inet", "twill_firewall", "intra").len(), 2);
    fw(
        &sb,
        "CHECK",
        "a1",
        &a1.path,
        &fw_conf(&sb, "neta", &r1, iso.clone()),
    )
    .ok();

    // The isolated pod leaves: its elements go, the bridges' stay.
    fw_del_bare(&sb, "neta", "a1");
    assert!(elements(path, "bridge", "twill_firewall", "isolated_ports").is_empty());
    assert!(elements(path, "inet", "twill_firewall", "isolated4").is_empty());
    assert_eq!(elements(path, "inet", "twill_firewall", "intra").len(), 2);
    assert!(reaches(&a2, &addr(&r1)).unwrap().starts_with("a1 "));
    assert!(blocked(&a2, &addr(&rb)), "fw-a and fw-b are still apart");
}
