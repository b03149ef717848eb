//! The vxlan backend end to end.

use twill_test_support::cluster::{Cluster, PREFIX};

const VXLAN: &str = r#"{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}"#;

#[test]
fn pods_on_two_hosts_talk_over_vxlan_and_etcd_reads_like_flannel() {
    let mut c = Cluster::new(2, VXLAN);
    c.start_all(&[]);
    let a = c.pod(0, "a");
    let b = c.pod(1, "b");
    assert_ne!(c.subnet(0), c.subnet(1));
    // Pod to pod across hosts, both ways.
    assert!(
        a.node.ping(&b.ip.to_string(), 10),
        "a → b\n{}\n{}",
        c.log(0),
        c.log(1)
    );
    assert!(b.node.ping(&a.ip.to_string(), 10), "b → a");
    // Pod to the other host's underlay address.
    assert!(a.node.ping("198.18.0.2", 5), "a → host 2");
    // The leases read as flannel's.
    let leases = c.leases();
    assert_eq!(leases.len(), 2, "{leases:?}");
    for (key, v) in &leases {
        assert!(key.ends_with("-24"), "{key}");
        assert_eq!(v["BackendType"], "vxlan");
        assert_eq!(v["BackendData"]["VNI"], 1);
        assert!(v["BackendData"]["VtepMAC"].as_str().unwrap().len() == 17);
        assert!(v["PublicIP"].as_str().unwrap().starts_with("198.18.0."));
    }
    // The device is flannel's shape: vxlan id 1, port 8472, nolearning, MTU 1450.
    let link = c.hosts[0]
        .node
        .run("ip", &["-d", "link", "show", "twill.1"]);
    assert!(link.contains("vxlan id 1"), "{link}");
    assert!(link.contains("dstport 8472"), "{link}");
    assert!(link.contains("nolearning"), "{link}");
    assert!(link.contains("mtu 1450"), "{link}");
    let env = c.wait_subnet_env(0);
    assert!(env.contains("FLANNEL_NETWORK=10.244.0.0/16"), "{env}");
    assert!(env.contains("FLANNEL_MTU=1450"), "{env}");
    assert!(env.contains("FLANNEL_IPMASQ=true"), "{env}");
    // `twill overlay` reads what the agent knows.
    let twill = twill_test_support::binaries::binary("twill");
    let agent_dir = c.hosts[0].dir.join("state");
    let out = std::process::Command::new(&twill)
        .args(["overlay", "ls", "--json", "--agent-dir"])
        .arg(&agent_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let nodes: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let nodes = nodes.as_array().unwrap();
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    assert_eq!(nodes.iter().filter(|n| n["self"] == true).count(), 1);
    assert!(nodes.iter().any(|n| n["subnet"] == c.subnet(1).as_str()));
    let out = std::process::Command::new(&twill)
        .args(["overlay", "status", "--agent-dir"])
        .arg(&agent_dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("healthy") && text.contains("true"), "{text}");
    assert!(text.contains("peers           1"), "{text}");
    let etcd_keys = c.etcd.get_prefix(PREFIX);
    assert_eq!(etcd_keys.len(), 3, "config + 2 leases: {etcd_keys:?}");
    c.del(&a);
    c.del(&b);
}

#[test]
fn pod_traffic_leaving_the_cluster_is_masqueraded_and_pod_to_pod_is_not() {
    use twill_test_support::cluster::udp_source;
    let mut c = Cluster::new(2, VXLAN);
    c.start_all(&[]);
    let a = c.pod(0, "a");
    let b = c.pod(1, "b");
    // Beyond the underlay: the outside sees host 1's underlay address.
    let outside: std::net::IpAddr = twill_test_support::multihost::OUTSIDE.parse().unwrap();
    let src = udp_source(&a.node, &c.world.outside, outside, 9000);
    assert_eq!(src, Some("198.18.0.1".parse().unwrap()), "{}", c.log(0));
    // Across hosts, pod to pod: the pod's own address arrives.
    let src = udp_source(&a.node, &b.node, b.ip, 9001);
    assert_eq!(src, Some(a.ip));
    // A host reaching another host's pod is masqueraded to its VTEP address, so the reply
    // finds its way back through the overlay.
    assert!(c.hosts[0].node.ping(&b.ip.to_string(), 5));
}

#[test]
fn a_pod_attached_by_the_reference_libcni_talks_to_one_attached_by_twill() {
    let mut c = Cluster::new(2, VXLAN);
    c.start_all(&[]);
    let a = c.pod(0, "a");
    let r = c.pod_libcni(1, "r");
    assert!(r.ip.to_string().starts_with("10.244."), "{}", r.ip);
    assert!(a.node.ping(&r.ip.to_string(), 10));
    assert!(r.node.ping(&a.ip.to_string(), 10));
}

#[test]
fn dual_stack_pods_talk_over_one_vtep() {
    let mut c = Cluster::new(
        2,
        r#"{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10::/48","Backend":{"Type":"vxlan"}}"#,
    );
    c.start_all(&[]);
    let env = c.wait_subnet_env(0);
    assert!(env.contains("FLANNEL_IPV6_NETWORK=fd00:10::/48"), "{env}");
    assert!(env.contains("FLANNEL_IPV6_SUBNET=fd00:10:"), "{env}");
    let a = c.pod(0, "a");
    let b = c.pod(1, "b");
    let (a6, b6) = (a.ip6.unwrap(), b.ip6.unwrap());
    assert!(a.node.ping(&b.ip.to_string(), 10));
    assert!(a.node.ping(&b6.to_string(), 10), "{}", c.log(0));
    assert!(b.node.ping(&a6.to_string(), 10));
    let leases = c.leases();
    assert!(
        leases.iter().all(|(k, _)| k.contains("&fd00:10:")),
        "{leases:?}"
    );
}

#[test]
fn ipv6_only_network() {
    let mut c = Cluster::new(
        2,
        r#"{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00:20::/48","Backend":{"Type":"vxlan"}}"#,
    );
    c.start_all(&[]);
    let a = c.pod(0, "a");
    let b = c.pod(1, "b");
    assert!(a.ip.is_ipv6());
    assert!(a.node.ping(&b.ip.to_string(), 10), "{}", c.log(0));
    let leases = c.leases();
    assert!(
        leases
            .iter()
            .all(|(k, _)| k.starts_with("0.0.0.0-0&fd00:20:")),
        "{leases:?}"
    );
}

#[test]
fn direct_routing_uses_plain_routes_between_neighbours() {
    let mut c = Cluster::new(
        2,
        r#"{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","DirectRouting":true}}"#,
    );
    c.start_all(&[]);
    let a = c.pod(0, "a");
    let b = c.pod(1, "b");
    assert!(a.node.ping(&b.ip.to_string(), 10));
    let routes = c.hosts[0].node.run("ip", &["route", "show", &c.subnet(1)]);
    assert!(routes.contains("via 198.18.0.2 dev eth0"), "{routes}");
}
