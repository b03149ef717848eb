//! The firewall's per-pod work is elements only: the chain (bridge + firewall, every
//! command) runs with `nft`, `iptables`, `ip`, `sh` and friends on PATH replaced by traps,
//! none of which fires; and after hundreds of DEL/ADD cycles of an isolated and a
//! same-bridge pod the ruleset is what it was after the first ADDs.

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
use serde_json::{json, Value};
use support::Sandbox;

/// The ruleset with each set's elements in a fixed order (a hash set lists them in bucket
/// order, which re-insertion may change) and counters zeroed (the pods' own IPv6 neighbour
/// and multicast chatter is counted by the isolation rules meanwhile).
fn canonical(mut rs: Value) -> Value {
    for o in rs["nftables"].as_array_mut().unwrap() {
        for e in o
            .get_mut("rule")
            .and_then(|r| r.get_mut("expr"))
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(c) = e.get_mut("counter") {
                *c = json!({"packets": 0, "bytes": 0});
            }
        }
        if let Some(elems) = o
            .get_mut("set")
            .and_then(|s| s.get_mut("elem"))
            .and_then(Value::as_array_mut)
        {
            elems.sort_by_key(ToString::to_string);
        }
    }
    rs
}

#[test]
fn no_program_runs_and_cycles_leave_the_ruleset_as_after_the_first_add() {
    let mut sb = Sandbox::new();
    let (traps, marker) = sb.traps(&[
        "nft",
        "iptables",
        "ip6tables",
        "iptables-nft",
        "iptables-restore",
        "ip",
        "sh",
        "firewall-cmd",
    ]);
    let n = net(&sb, "fwnet", "fw-a", 1);
    let (a, b) = (sb.pod("a"), sb.pod("b"));
    let (pa, pb) = (a.path_str(), b.path_str());
    let ra = sb.run_with_path("bridge", "ADD", "a", &pa, &traps, &n);
    let rb = sb.run_with_path("bridge", "ADD", "b", &pb, &traps, &n);
    let ca = fw_conf(&sb, "fwnet", &ra, json!({"ingressPolicy": "isolated"}));
    let cb = fw_conf(&sb, "fwnet", &rb, json!({"ingressPolicy": "same-bridge"}));
    let run = |cmd: &str, id: &str, p: &str, c: &Value| {
        sb.run_with_path("firewall", cmd, id, p, &traps, c)
    };

    assert_eq!(run("ADD", "a", &pa, &ca), ra);
    run("ADD", "b", &pb, &cb);
    let first = canonical(ruleset(&sb.host.path));
    assert!(first.to_string().contains("\"isolated_ports\""));
    for _ in 0..100 {
        run("DEL", "a", &pa, &ca);
        run("DEL", "b", &pb, &cb);
        run("ADD", "b", &pb, &cb);
        run("ADD", "a", &pa, &ca);
    }
    run("CHECK", "a", &pa, &ca);
    run("CHECK", "b", &pb, &cb);
    assert_eq!(canonical(ruleset(&sb.host.path)), first);

    run("DEL", "a", &pa, &ca);
    run("DEL", "b", &pb, &cb);
    sb.run_with_path("bridge", "DEL", "a", &pa, &traps, &n);
    let path = &sb.host.path;
    assert!(elements(path, "inet", "twill_firewall", "pods4").is_empty());
    assert!(elements(path, "inet", "twill_firewall", "bridges").is_empty());
    assert!(elements(path, "bridge", "twill_firewall", "isolated_ports").is_empty());
    assert!(
        !marker.exists(),
        "a plugin executed: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}
