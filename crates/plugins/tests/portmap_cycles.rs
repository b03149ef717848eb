//! portmap's per-pod work is elements only: the chain runs with `nft`, `iptables`, `ip`
//! and `sh` on PATH replaced by traps, and 10,000 ADD/DEL cycles leave the ruleset exactly
//! as it was after the first ADD's skeleton.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod portmap_support;
mod support;

use std::path::PathBuf;

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

/// How many ADD/DEL cycles the ruleset must survive unchanged.
const CYCLES: usize = 10_000;

/// A directory on tmpfs for the records, as `/run` is on a host (on disk, each cycle's
/// fsyncs and directory updates would add a quarter to the test's time); removed on drop.
struct RunDir(PathBuf);

impl RunDir {
    fn new() -> RunDir {
        let dir = PathBuf::from(format!(
            "/dev/shm/twill-portmap-cycles-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        RunDir(dir)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn ten_thousand_add_del_cycles_leave_the_ruleset_exactly_as_after_the_first_add() {
    let mut sb = Sandbox::new();
    let dual = bridge_conf_dual(&sb);
    let (a, ra) = pod_on(&mut sb, "a", &dual);
    // Every kind of element: unbound and bound, both families, the three protocols, and
    // the masquerade ranges.
    let m = json!([{"hostPort": 8080, "containerPort": 80},
                   {"hostPort": 8443, "containerPort": 443, "hostIP": HOST},
                   {"hostPort": 8444, "containerPort": 443, "hostIP": HOST6},
                   {"hostPort": 5353, "containerPort": 53, "protocol": "udp"},
                   {"hostPort": 9132, "containerPort": 7132, "protocol": "sctp"}]);
    let run = RunDir::new();
    let extra = json!({"dataDir": run.0.to_string_lossy()});
    let c = portmap_conf(&sb, &ra, m, extra);
    sb.twill("portmap", "ADD", "a", &a.path, &c).ok();
    let added = ruleset(&sb.host.path);
    for (family, map, n) in [("ip", "hostports", 3), ("ip6", "hostports", 3)] {
        assert_eq!(
            elements(&sb.host.path, family, map).len(),
            n,
            "{family} {map}"
        );
    }
    sb.twill("portmap", "DEL", "a", &a.path, &c).ok();
    let skeleton = ruleset(&sb.host.path);
    assert_ne!(added, skeleton);
    for family in ["ip", "ip6"] {
        let tables = skeleton["nftables"].as_array().unwrap().iter();
        let has = |o: &&serde_json::Value| {
            o["table"]["family"] == family && o["table"]["name"] == "twill_portmap"
        };
        assert_eq!(tables.filter(has).count(), 1, "{family} twill_portmap");
    }

    // Each cycle is two plugin processes. What dominates is the kernel's work, not the
    // exec: per cycle, two walks of the conntrack table (the UDP and SCTP flushes) and
    // one RCU grace period when DEL's nf_tables socket closes after deleting elements.
    let started = std::time::Instant::now();
    for i in 0..CYCLES {
        let id = format!("ctr-{i}");
        sb.twill("portmap", "ADD", &id, &a.path, &c).ok();
        sb.twill("portmap", "DEL", &id, &a.path, &c).ok();
    }
    eprintln!("{CYCLES} ADD/DEL cycles: {:?}", started.elapsed());
    assert_eq!(ruleset(&sb.host.path), skeleton);
    // The first attachment again: exactly what its first ADD left, and DEL undoes it.
    sb.twill("portmap", "ADD", "a", &a.path, &c).ok();
    assert_eq!(ruleset(&sb.host.path), added);
    sb.twill("portmap", "DEL", "a", &a.path, &c).ok();
    assert_eq!(ruleset(&sb.host.path), skeleton);
    // The network's record directory goes with its last record.
    let records = std::fs::read_dir(run.0.join("testnet")).map_or(0, Iterator::count);
    assert_eq!(records, 0);
}
