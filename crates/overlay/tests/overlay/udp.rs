//! The udp backend end to end: a TUN device per host and userspace encapsulation.

use twill_test_support::cluster::Cluster;

#[test]
fn pods_on_two_hosts_talk_over_the_udp_backend() {
    let mut c = Cluster::new(2, r#"{"Network":"10.244.0.0/16","Backend":{"Type":"udp"}}"#);
    c.start_all(&[]);
    let env = c.wait_subnet_env(0);
    assert!(env.contains("FLANNEL_MTU=1472"), "{env}");
    let a = c.pod(0, "a");
    let b = c.pod(1, "b");
    assert!(
        a.node.ping(&b.ip.to_string(), 10),
        "{}\n{}",
        c.log(0),
        c.log(1)
    );
    assert!(b.node.ping(&a.ip.to_string(), 10));
    let link = c.hosts[0].node.run("ip", &["-d", "link", "show", "twill0"]);
    assert!(link.contains("tun"), "{link}");
    let leases = c.leases();
    assert!(
        leases.iter().all(|(_, v)| v["BackendType"] == "udp"),
        "{leases:?}"
    );
    // The whole network goes to the TUN device; no per-peer routes.
    let routes = c.hosts[0]
        .node
        .run("ip", &["route", "show", "dev", "twill0"]);
    assert!(routes.contains("10.244.0.0/16"), "{routes}");
    // A restarted agent brings the forwarder back (it dies with the process).
    c.stop_agent(0, libc::SIGKILL);
    c.start_agent(0, &[]);
    assert!(
        a.node.ping(&b.ip.to_string(), 15),
        "after restart:\n{}",
        c.log(0)
    );
}
