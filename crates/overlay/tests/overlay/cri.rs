//! Two Kubernetes nodes: each host runs twilld and its own containerd, whose CRI plugin runs
//! the stock kube-flannel conflist (flannel delegating to bridge, then portmap) with twill's
//! plugins. Pods created through the CRI on each node reach each other over the overlay, and a
//! host port on one node serves a pod to the other node's pods.

use twill_test_support::cluster::Cluster;
use twill_test_support::cri::containerd::Containerd;
use twill_test_support::cri::{CriConfig, PodSpec};
use twill_test_support::tcp;

const VXLAN: &str = r#"{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}"#;

fn in_subnet(ip: std::net::IpAddr, subnet: &str) -> bool {
    let net: twill_kernel::IpPrefix = subnet.parse().unwrap();
    twill_kernel::IpPrefix::new(ip, net.len())
        .unwrap()
        .network()
        == net
}

const VXLAN_DUAL: &str = r#"{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10::/48","Backend":{"Type":"vxlan"}}"#;

#[test]
fn pods_created_through_containerd_on_two_nodes_talk_over_the_overlay() {
    two_nodes(VXLAN, false);
}

#[test]
fn dual_stack_pods_created_through_containerd_on_two_nodes_talk_over_one_vtep() {
    two_nodes(VXLAN_DUAL, true);
}

fn two_nodes(config: &str, dual: bool) {
    let mut c = Cluster::new(2, config);
    c.start_all(&[]);
    // Each node's containerd reads the stock conflist, kube-flannel's version included.
    let mut nodes: Vec<Containerd> = (0..2)
        .map(|i| {
            let conf = c.hosts[i].dir.join("cri-net.d");
            std::fs::create_dir_all(&conf).unwrap();
            let mut list = c.flannel_conflist(i);
            list["cniVersion"] = "0.3.1".into();
            std::fs::write(conf.join("10-flannel.conflist"), list.to_string()).unwrap();
            let mut d = Containerd::start(&c.hosts[i].node, CriConfig::new(&c.bin, &conf));
            d.wait_network_ready();
            d
        })
        .collect();
    let a = nodes[0].run_pod(&PodSpec::new("a").port(18080, 80, "tcp"));
    let b = nodes[1].run_pod(&PodSpec::new("b"));
    assert!(
        in_subnet(a.ipv4(), &c.subnet(0)),
        "{:?} {}",
        a.ips,
        c.subnet(0)
    );
    assert!(
        in_subnet(b.ipv4(), &c.subnet(1)),
        "{:?} {}",
        b.ips,
        c.subnet(1)
    );
    if dual {
        // PodSandboxStatus reports both families; IPv6 crosses the same VTEP.
        assert_eq!(
            (a.ips.len(), b.ips.len()),
            (2, 2),
            "{:?} {:?}",
            a.ips,
            b.ips
        );
        let b6 = b.ipv6().unwrap();
        assert!(b6.to_string().starts_with("fd00:10:"), "{b6}");
        let server6 = tcp::serve_on(&b.ns, "::", 82, "b6", 30);
        let got = tcp::fetch(&a.ns, &b6.to_string(), 82).unwrap();
        assert_eq!(got, format!("b6 {}", a.ipv6().unwrap()));
        let _ = server6;
    }
    // Pod to pod across the overlay, both ways.
    let server = tcp::serve(&a.ns, 80, "a", 30);
    let got = tcp::fetch(&b.ns, &a.ipv4().to_string(), 80).unwrap();
    assert_eq!(
        got,
        format!("a {}", b.ipv4()),
        "pod to pod keeps its source"
    );
    let server_b = tcp::serve(&b.ns, 81, "b", 30);
    let got = tcp::fetch(&a.ns, &b.ipv4().to_string(), 81).unwrap();
    assert_eq!(got, format!("b {}", a.ipv4()));
    // Node 1's pod through node 0's host port (portmap after flannel's bridge).
    let got = tcp::fetch(&b.ns, "198.18.0.1", 18080).unwrap();
    assert!(got.starts_with("a "), "{got}");
    let _ = (server, server_b);
    // Stop and remove through the CRI: each node is left without pods' state.
    let (ida, idb) = (a.id.clone(), b.id.clone());
    drop((a, b));
    nodes[0].stop_and_remove(&ida);
    nodes[1].stop_and_remove(&idb);
    for (i, n) in nodes.iter().enumerate() {
        assert!(
            n.cache_entries().is_empty(),
            "node {i}: {:?}",
            n.cache_entries()
        );
        assert!(n.mounts().is_empty(), "node {i}: {:?}", n.mounts());
        let veths: Vec<String> = c.hosts[i]
            .node
            .ns
            .netlink()
            .unwrap()
            .link_list()
            .unwrap()
            .into_iter()
            .filter(|l| l.kind.as_deref() == Some("veth") && l.name != "eth0")
            .map(|l| l.name)
            .collect();
        assert!(veths.is_empty(), "node {i}: {veths:?}");
        let ipam = c.hosts[i].dir.join("ipam/cbr0");
        let held = twill_test_support::files::reservations(&ipam);
        assert!(held.is_empty(), "node {i}: {held:?}");
    }
    // containerd goes before the hosts' namespaces.
    drop(nodes);
}
