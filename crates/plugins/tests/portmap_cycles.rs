//! portmap's per-pod work is elements only: the chain runs with `nft`, `iptables`, `ip`
//! and `sh` on PATH replaced by traps, and 1,000 ADD/DEL cycles leave the ruleset exactly
//! as it was after the first ADD's skeleton.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod portmap_support;
mod support;

use portmap_support::*;
use serde_json::json;
use support::Sandbox;

#[test]
fn the_chain_never_executes_a_program() {
    let mut sb = Sandbox::new();
    let a = sb.pod("a");
    let (path, marker) = sb.traps(&[
        "nft",
        "iptables",
        "ip6tables",
        "ip",
        "sh",
        "iptables-restore",
        "conntrack",
    ]);
    let netns = a.path_str();
    let bc = bridge_conf(&sb);
    let r = sb.run_with_path("bridge", "ADD", "a", &netns, &path, &bc);
    let m = json!([{"hostPort": 8080, "containerPort": 80},
                   {"hostPort": 5353, "containerPort": 53, "protocol": "udp"}]);
    let pc = portmap_conf(&sb, &r, m, json!({}));
    sb.run_with_path("portmap", "ADD", "a", &netns, &path, &pc);
    assert_eq!(elements(&sb.host.path, "ip", "hostports").len(), 2);
    sb.run_with_path("portmap", "DEL", "a", &netns, &path, &pc);
    sb.run_with_path("bridge", "DEL", "a", &netns, &path, &bc);
    assert!(elements(&sb.host.path, "ip", "hostports").is_empty());
    assert!(
        !marker.exists(),
        "a plugin executed: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}

#[test]
fn a_thousand_add_del_cycles_leave_the_skeleton_exactly_as_installed() {
    let mut sb = Sandbox::new();
    let (a, ra) = pod(&mut sb, "a");
    let m = json!([{"hostPort": 8080, "containerPort": 80},
                   {"hostPort": 8443, "containerPort": 443, "hostIP": HOST},
                   {"hostPort": 5353, "containerPort": 53, "protocol": "udp"}]);
    let c = portmap_conf(&sb, &ra, m, json!({}));
    sb.twill("portmap", "ADD", "a", &a.path, &c).ok();
    assert_eq!(elements(&sb.host.path, "ip", "hostports").len(), 2);
    sb.twill("portmap", "DEL", "a", &a.path, &c).ok();
    let skeleton = ruleset(&sb.host.path);
    assert!(skeleton.to_string().contains("twill_portmap"));
    for i in 0..1000 {
        let id = format!("ctr-{i}");
        sb.twill("portmap", "ADD", &id, &a.path, &c).ok();
        sb.twill("portmap", "DEL", &id, &a.path, &c).ok();
    }
    assert_eq!(ruleset(&sb.host.path), skeleton);
    // The network's record directory goes with its last record.
    let records = std::fs::read_dir(sb.tmp.join("portmap/testnet")).map_or(0, Iterator::count);
    assert_eq!(records, 0);
}
