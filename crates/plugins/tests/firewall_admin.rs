//! The admin chain: an operator's rule in it is honoured (by packets) before twill's rules,
//! and survives every later ADD and a skeleton upgrade (another version marker and a
//! missing rule, repaired by the next ADD); `iptablesAdminChainName` names the chain, in a
//! table of its own.

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

#[test]
fn an_operator_rule_survives_adds_and_a_skeleton_upgrade_and_is_honoured() {
    let mut sb = Sandbox::new();
    let out = outside(&mut sb);
    let n = net(&sb, "fwnet", "fw-a", 1);
    let (a, ra) = pod(&mut sb, &n, "a");
    let (b, rb) = pod(&mut sb, &n, "b");
    let ca = fw_conf(&sb, "fwnet", &ra, json!({}));
    fw(&sb, "ADD", "a", &a.path, &ca).ok();
    let _srv = listen(&out, "out", 60);
    reaches(&a, outside_addr()).unwrap();
    let path = &sb.host.path;
    let pristine = rules(path, "inet", "twill_firewall", "forward");

    let drop_a = format!("ip saddr {} ip daddr {} drop", addr(&ra), outside_addr());
    let mut cmd = vec!["add", "rule", "inet", "twill_firewall", "CNI-ADMIN"];
    cmd.extend(drop_a.split(' '));
    nft(path, &cmd);
    assert!(blocked(&a, outside_addr()), "the admin chain runs first");
    assert!(
        reaches(&b, outside_addr()).is_ok(),
        "only what the rule says"
    );
    let admin = rules(path, "inet", "twill_firewall", "CNI-ADMIN");
    assert_eq!(admin.len(), 1);

    // More attachments, and a repeated ADD of the same one.
    fw(
        &sb,
        "ADD",
        "b",
        &b.path,
        &fw_conf(&sb, "fwnet", &rb, json!({})),
    )
    .ok();
    fw(&sb, "ADD", "a", &a.path, &ca).ok();
    assert_eq!(rules(path, "inet", "twill_firewall", "CNI-ADMIN"), admin);

    // An upgrade: the table carries another version's marker and lacks a rule.
    nft(
        path,
        &["flush", "set", "inet", "twill_firewall", "skeleton_version"],
    );
    nft(
        path,
        &[
            "add",
            "element",
            "inet",
            "twill_firewall",
            "skeleton_version",
            "{ 7 }",
        ],
    );
    let handle = forward_rule_handle(path, 1);
    nft(
        path,
        &[
            "delete",
            "rule",
            "inet",
            "twill_firewall",
            "forward",
            "handle",
            &handle,
        ],
    );
    assert_ne!(rules(path, "inet", "twill_firewall", "forward"), pristine);
    fw(&sb, "ADD", "a", &a.path, &ca).ok();
    assert_eq!(rules(path, "inet", "twill_firewall", "forward"), pristine);
    assert_eq!(rules(path, "inet", "twill_firewall", "CNI-ADMIN"), admin);
    fw(&sb, "CHECK", "a", &a.path, &ca).ok();
    assert!(
        blocked(&a, outside_addr()),
        "still honoured after the repair"
    );

    // The operator takes the rule out again.
    nft(
        path,
        &["flush", "chain", "inet", "twill_firewall", "CNI-ADMIN"],
    );
    assert!(reaches(&a, outside_addr()).is_ok());
}

/// The handle of rule number `n` of the forward chain.
fn forward_rule_handle(path: &std::path::Path, n: usize) -> String {
    let rs = ruleset(path);
    let handles: Vec<u64> = rs["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o.get("rule"))
        .filter(|r| r["table"] == "twill_firewall" && r["chain"] == "forward")
        .map(|r| r["handle"].as_u64().unwrap())
        .collect();
    handles[n].to_string()
}

#[test]
fn a_named_admin_chain_lives_in_a_table_of_its_own() {
    let mut sb = Sandbox::new();
    let out = outside(&mut sb);
    let n = net(&sb, "fwnet", "fw-a", 1);
    let (a, ra) = pod(&mut sb, &n, "a");
    let c = fw_conf(&sb, "fwnet", &ra, json!({"iptablesAdminChainName": "OPS"}));
    fw(&sb, "ADD", "a", &a.path, &c).ok();
    let path = &sb.host.path;
    let table = "twill_firewall_OPS";
    let forward = rules(path, "inet", table, "forward");
    assert_eq!(forward[0], json!([{"jump": {"target": "OPS"}}]));
    assert_eq!(
        elements(path, "inet", table, "pods4"),
        vec![json!(addr(&ra))]
    );
    assert!(rules(path, "inet", "twill_firewall", "forward").is_empty());

    let _srv = listen(&out, "out", 30);
    reaches(&a, outside_addr()).unwrap();
    nft(
        path,
        &[
            "add",
            "rule",
            "inet",
            table,
            "OPS",
            "ip",
            "daddr",
            outside_addr(),
            "drop",
        ],
    );
    assert!(blocked(&a, outside_addr()));
    fw_del_bare(&sb, "fwnet", "a");
    assert!(elements(path, "inet", table, "pods4").is_empty());
    assert_eq!(
        rules(path, "inet", table, "OPS").len(),
        1,
        "DEL never touches it"
    );
}
