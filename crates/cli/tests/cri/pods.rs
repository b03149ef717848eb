//! Pods get their addresses and reach the gateway and each other: IPv4 and dual stack.

use std::net::IpAddr;

use twill_test_support::cri::{CriNode, Plugins, PodSpec};

use crate::common::{addresses, bridge_list, ping, Snapshot, BRIDGE, GW4, GW6};

fn in_subnet(a: IpAddr, subnet: &str) -> bool {
    let net: twill_kernel::IpPrefix = subnet.parse().unwrap();
    a.is_ipv4() == net.addr().is_ipv4()
        && twill_kernel::IpPrefix::new(a, net.len()).unwrap().network() == net
}

fn pods_talk(dual: bool) {
    let mut node = CriNode::new(Plugins::Twill, |p| bridge_list(p, dual));
    node.containerd.wait_network_ready();
    let a = node.containerd.run_pod(&PodSpec::new("a"));
    let b = node.containerd.run_pod(&PodSpec::new("b"));
    for pod in [&a, &b] {
        // PodSandboxStatus reports the pod's addresses, primary family first.
        assert_eq!(pod.ips.len(), if dual { 2 } else { 1 }, "{:?}", pod.ips);
        assert!(
            in_subnet(pod.ipv4(), crate::common::SUBNET4),
            "{:?}",
            pod.ips
        );
        assert_eq!(pod.ips[0], pod.ipv4(), "IPv4 is the primary address");
        if dual {
            assert!(in_subnet(pod.ipv6().unwrap(), crate::common::SUBNET6));
        }
        // The same addresses are on eth0 inside the pod's namespace.
        let on_eth0 = addresses(&pod.ns.ns, "eth0");
        for ip in &pod.ips {
            assert!(
                on_eth0.iter().any(|a| a.starts_with(&format!("{ip}/"))),
                "{ip} not on eth0: {on_eth0:?}"
            );
        }
        assert!(
            ping(&pod.ns.ns, GW4.parse().unwrap()),
            "{} → gateway",
            pod.id
        );
        if dual {
            assert!(
                ping(&pod.ns.ns, GW6.parse().unwrap()),
                "{} → gateway6",
                pod.id
            );
        }
    }
    assert_ne!(a.ipv4(), b.ipv4());
    assert!(ping(&a.ns.ns, b.ipv4()), "a → b");
    assert!(ping(&b.ns.ns, a.ipv4()), "b → a");
    if dual {
        assert!(ping(&a.ns.ns, b.ipv6().unwrap()), "a → b (IPv6)");
    }
    // The bridge holds the gateway addresses.
    let br = addresses(&node.host.ns, BRIDGE);
    assert!(
        br.iter().any(|a| a.starts_with(&format!("{GW4}/"))),
        "{br:?}"
    );
    let live = Snapshot::of(&node);
    assert_eq!(live.veths.len(), 2, "{live:?}");
    assert_eq!(
        live.reservations.len(),
        2 * if dual { 2 } else { 1 },
        "{live:?}"
    );
    assert_eq!(live.cache.len(), 4, "eth0 and lo per pod: {live:?}");
    for pod in [a, b] {
        node.containerd.stop_and_remove(&pod.id);
    }
    Snapshot::of(&node).assert_empty("after stop and remove");
}

#[test]
fn ipv4_pods_get_addresses_and_reach_the_gateway_and_each_other() {
    pods_talk(false);
}

#[test]
fn dual_stack_pods_get_both_addresses_and_reach_each_other() {
    pods_talk(true);
}
