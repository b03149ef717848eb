//! Nodes joining, leaving, dying, and agents restarting under live traffic.

use std::time::Duration;

use twill_test_support::cluster::{vtep_mac, Cluster, Stream};

const VXLAN: &str = r#"{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}"#;

#[test]
fn a_node_joins_leaves_and_dies_and_the_others_follow_without_restarts() {
    let mut c = Cluster::new(3, VXLAN);
    c.ttl = 4;
    c.start_agent(0, &[]);
    c.start_agent(1, &[]);
    c.wait_subnet_env(0);
    c.wait_subnet_env(1);
    let a = c.pod(0, "a");
    // Host 3 joins: hosts 1 and 2 route to it without being restarted.
    c.start_agent(2, &[]);
    let s3 = c.subnet(2);
    c.wait_route(0, &s3, true, 10);
    c.wait_route(1, &s3, true, 10);
    let z = c.pod(2, "z");
    assert!(a.node.ping(&z.ip.to_string(), 10), "a → z after the join");
    c.del(&z);

    // Host 3 leaves cleanly: its lease goes at once, the others drop its routes.
    c.stop_agent(2, libc::SIGTERM);
    let h = &c.hosts[2];
    let out = h
        .node
        .command(env!("CARGO_BIN_EXE_twilld"))
        .arg(format!("--etcd-endpoints={}", c.etcd.endpoint()))
        .args(["--iface", "eth0", "--leave"])
        .arg(format!(
            "--subnet-file={}",
            h.dir.join("subnet.env").display()
        ))
        .arg(format!("--state-dir={}", h.dir.join("state").display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(c.leases().len(), 2);
    c.wait_route(0, &s3, false, 10);
    let links = h.node.run("ip", &["link", "show"]);
    assert!(!links.contains("twill."), "device left behind: {links}");
    let rules = h.node.run("nft", &["list", "tables"]);
    assert!(!rules.contains("twill_overlay"), "{rules}");
    assert!(!h.dir.join("subnet.env").exists());

    // Host 2 dies (SIGKILL, never comes back): its TTL frees the subnet, the others drop it,
    // and a new node may take it.
    let s2 = c.subnet(1);
    c.stop_agent(1, libc::SIGKILL);
    c.wait_route(0, &s2, false, 20);
    assert_eq!(c.leases().len(), 1);
    assert!(c.log(0).contains("reconciled"));
}

#[test]
fn restarting_the_agent_touches_no_live_traffic_and_keeps_the_vtep_mac() {
    let mut c = Cluster::new(2, VXLAN);
    c.start_all(&[]);
    let a = c.pod(0, "a");
    let b = c.pod(1, "b");
    let mac = vtep_mac(&c, 0);
    let mut stream = Stream::open(&a.node, &b.node, b.ip, 7000);
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        c.stop_agent(0, signal);
        stream.keep_going(Duration::from_millis(300));
        c.start_agent(0, &[]);
        stream.keep_going(Duration::from_millis(1500));
        assert_eq!(
            vtep_mac(&c, 0),
            mac,
            "VTEP MAC changed after signal {signal}"
        );
    }
    // The restarted agent found everything in place: it changed nothing.
    let log = c.log(0);
    let starts = log.matches("twilld starting").count();
    assert_eq!(starts, 3, "{log}");
    assert!(log.contains("reused our lease"), "{log}");
    assert!(stream.exchanged > 10);
    // One lease per host, not one per start.
    assert_eq!(c.leases().len(), 2);
}
