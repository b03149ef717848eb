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
    let out = c.agent_command(2).arg("--leave").output().unwrap();
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

#[test]
fn a_dead_nodes_subnet_is_reused_once_its_ttl_frees_it() {
    // Two subnets in all: a third node can only get the dead node's.
    let mut c = Cluster::new(
        3,
        r#"{"Network":"10.244.0.0/16","SubnetMin":"10.244.1.0","SubnetMax":"10.244.2.0"}"#,
    );
    c.ttl = 3;
    c.start_agent(0, &[]);
    c.start_agent(1, &[]);
    let dead = c.subnet(1);
    c.subnet(0);
    c.stop_agent(1, libc::SIGKILL);
    c.start_agent(2, &[]);
    assert_eq!(c.subnet(2), dead, "{}", c.log(2));
    assert!(
        c.log(2).contains("out of subnets"),
        "it waited for the TTL:\n{}",
        c.log(2)
    );
    let a = c.pod(0, "a");
    let z = c.pod(2, "z");
    assert!(a.node.ping(&z.ip.to_string(), 10));
}

#[test]
fn hand_edits_and_stale_entries_are_repaired_at_the_next_resync() {
    let mut c = Cluster::new(2, VXLAN);
    c.start_all(&[]);
    let a = c.pod(0, "a");
    let b = c.pod(1, "b");
    let h = &c.hosts[0].node;
    let peer = c.subnet(1);
    let vtep = peer.split('/').next().unwrap().to_owned();
    // A departed node's leftovers, a wrong neighbour and a missing FDB entry.
    h.run(
        "ip",
        &[
            "route",
            "add",
            "10.244.250.0/24",
            "via",
            "10.244.250.0",
            "dev",
            "twill.1",
            "onlink",
        ],
    );
    h.run(
        "ip",
        &[
            "neigh",
            "replace",
            "10.244.250.0",
            "lladdr",
            "02:00:00:00:00:fa",
            "dev",
            "twill.1",
            "nud",
            "permanent",
        ],
    );
    h.run(
        "ip",
        &[
            "neigh",
            "replace",
            &vtep,
            "lladdr",
            "02:00:00:00:00:bb",
            "dev",
            "twill.1",
            "nud",
            "permanent",
        ],
    );
    let fdb = h.run("bridge", &["fdb", "show", "dev", "twill.1"]);
    let mac = fdb
        .lines()
        .find(|l| l.contains("dst 198.18.0.2"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    h.run(
        "bridge",
        &[
            "fdb",
            "del",
            &mac,
            "dev",
            "twill.1",
            "dst",
            "198.18.0.2",
            "self",
        ],
    );
    assert!(
        !a.node.ping(&b.ip.to_string(), 1),
        "the edits should break the path"
    );
    // The resync (5 s in the tests) repairs all of it without any store event.
    c.wait_route(0, "10.244.250.0/24", false, 15);
    assert!(a.node.ping(&b.ip.to_string(), 10), "{}", c.log(0));
    let neigh = h.run("ip", &["neigh", "show", "dev", "twill.1"]);
    assert!(
        !neigh.contains("10.244.250.0") && !neigh.contains("02:00:00:00:00:bb"),
        "{neigh}"
    );
    let fdb = h.run("bridge", &["fdb", "show", "dev", "twill.1"]);
    assert!(fdb.contains(&format!("{mac} dst 198.18.0.2")), "{fdb}");
}

#[test]
fn a_backend_change_in_etcd_is_applied_live_and_the_old_device_goes() {
    let mut c = Cluster::new(2, VXLAN);
    c.start_all(&[]);
    let a = c.pod(0, "a");
    let b = c.pod(1, "b");
    let subnets = (c.subnet(0), c.subnet(1));
    assert!(a.node.ping(&b.ip.to_string(), 10));
    c.etcd.put(
        "/coreos.com/network/config",
        r#"{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}"#,
    );
    let via = format!("{} via 198.18.0.2 dev eth0", subnets.1);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let routes = c.hosts[0].node.run("ip", &["route", "show"]);
        let links = c.hosts[0].node.run("ip", &["link", "show"]);
        if routes.contains(&via) && !links.contains("twill.1") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{routes}\n{links}\n{}",
            c.log(0)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        a.node.ping(&b.ip.to_string(), 10),
        "over host-gw\n{}",
        c.log(0)
    );
    assert_eq!((c.subnet(0), c.subnet(1)), subnets, "the leases were kept");
    let leases = c.leases();
    assert!(
        leases.iter().all(|(_, v)| v["BackendType"] == "host-gw"),
        "{leases:?}"
    );
    // And back: the device returns with its MAC, the pods talk over vxlan again.
    c.etcd.put("/coreos.com/network/config", VXLAN);
    c.wait_route(
        0,
        &format!(
            "{} via {} dev twill.1",
            subnets.1,
            subnets.1.split('/').next().unwrap()
        ),
        true,
        15,
    );
    assert!(a.node.ping(&b.ip.to_string(), 10));
}
