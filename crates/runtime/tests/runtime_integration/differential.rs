//! Differential tests: our runtime and libcni drive the same plugin chain, each on its own
//! test host, through ADD, CHECK, GC and DEL; results, cache records and the state left in
//! the host and container namespaces must be the same after normalization.

use serde_json::{json, Value};
use twill_runtime::GcAttachment;

use crate::chains::{
    assert_gone, att, container_chains, normalized, ns_state, wait_for_veths, Host,
};
use crate::support::Sandbox;

/// One chain to compare.
struct Spec {
    tag: &'static str,
    conflist: Value,
    /// Plugins run from `twill-cni`; the rest are the reference plugins.
    ours: &'static [&'static str],
    caps: Option<Value>,
    /// Sysctl files read inside the container after ADD.
    sysctls: &'static [&'static str],
    /// Whether each container gets packet-filter chains of its own (masquerade, portmap).
    has_chains: bool,
    /// Whether the main plugin masquerades: the reference bridge and ptp find the addresses
    /// to unmasquerade on the container's link, so a DEL after the namespace is gone
    /// (GC's case) leaves the masquerade rule and chain, whichever runtime asks.
    masq: bool,
    /// What a CHECK error must say when the chain's CHECK fails on both runtimes alike.
    check_fails: Option<&'static str>,
}

const CIDS: [&str; 2] = ["ctr1", "ctr2"];

/// Runs the scenario on two hosts, ours and libcni's, and compares them at every step.
fn differential(spec: &Spec) {
    let mut sb = Sandbox::new();
    let ours = Host::new(
        &mut sb,
        &format!("{}-o", spec.tag),
        &spec.conflist,
        spec.ours,
    );
    let go = Host::new(
        &mut sb,
        &format!("{}-g", spec.tag),
        &spec.conflist,
        spec.ours,
    );
    let (rt, net, caps) = (ours.runtime(), ours.net(), spec.caps.as_ref());
    let mut ctrs = Vec::new();
    for cid in CIDS {
        let (o_ns, o_path) = sb.ns(&format!("{cid}o"));
        let (g_ns, g_path) = sb.ns(&format!("{cid}g"));
        let a = rt.add(&net, &att(cid, &o_path, caps)).unwrap().value;
        let g = go.go(caps).op("add", cid, g_path.to_str().unwrap());
        let g: Value = serde_json::from_str(&g.unwrap()).unwrap();
        assert_eq!(normalized(a.clone()), normalized(g), "{cid}; ours: {a}");
        // The container ends up the same (links, addresses, routes, sysctls).
        let inside = |ns| {
            let mut s = ns_state(ns);
            for f in spec.sysctls {
                s += &crate::support::in_ns(ns, "cat", &[f]);
            }
            s
        };
        assert_eq!(inside(&o_ns), inside(&g_ns), "{cid}");
        let ip = a["ips"][0]["address"].as_str().unwrap();
        let ip = ip.split('/').next().unwrap().to_owned();
        ctrs.push((cid, ip, (o_ns, o_path), (g_ns, g_path)));
    }
    let state = ours.state();
    assert_eq!(state, go.state());
    for cid in CIDS {
        let o = ours.cache_record(cid).unwrap();
        assert_eq!(o, go.cache_record(cid).unwrap());
        assert_eq!(o["capabilityArgs"], caps.cloned().unwrap_or(Value::Null));
    }
    let mut chains = Vec::new();
    for (cid, ip, ..) in &ctrs {
        let c = container_chains(&state, cid, ip);
        // Proves the chain really set up something per container, so "gone" means removed.
        assert_eq!(!c.is_empty(), spec.has_chains, "{cid}: {c:?}\n{state}");
        chains.push(c);
    }

    // CHECK passes on both, for every attachment (or fails alike, for a plugin's reason).
    for (cid, _, (_, o_path), (_, g_path)) in &ctrs {
        let o = rt
            .check(&net, &att(cid, o_path, caps))
            .map_err(|e| e.to_string());
        let g = go.go(caps).op("check", cid, g_path.to_str().unwrap());
        match spec.check_fails {
            None => assert_eq!((o, g), (Ok(()), Ok(String::new()))),
            Some(why) => {
                let (o, g) = (o.unwrap_err(), g.unwrap_err());
                assert!(o.contains(why) && g.contains(why), "ours: {o}\nlibcni: {g}");
            }
        }
    }

    // ctr2 is gone: its namespace deleted. GC keeping ctr1 removes exactly ctr2.
    let (_, ip2, (o2, o2_path), (g2, g2_path)) = ctrs.pop().unwrap();
    drop((o2, g2));
    sb.remove(&o2_path);
    sb.remove(&g2_path);
    for host in [&ours, &go] {
        wait_for_veths(&host.ns, 1);
    }
    rt.gc(&net, &[GcAttachment::new("ctr1", "eth0")]).unwrap();
    go.go(caps).gc(&["ctr1/eth0"]).unwrap();
    let ip1 = ctrs[0].1.clone();
    for host in [&ours, &go] {
        assert_eq!(host.cached(), ["ctr1"]);
        // static reserves nothing; host-local keeps ctr1's address alone.
        let kept = if spec.tag == "static" {
            vec![]
        } else {
            vec![ip1.clone()]
        };
        assert_eq!(host.reservations(), kept);
        let state = host.state();
        let (masq, left) = masq_left(&state, "ctr2", &ip2);
        assert_eq!(masq.is_some(), spec.masq, "{left:?}");
        let others: Vec<String> = chains[1]
            .iter()
            .filter(|c| masq.as_ref() != Some(*c))
            .cloned()
            .collect();
        assert_gone(&left, "ctr2", &ip2, &others);
    }
    assert_eq!(ours.state(), go.state());

    // DEL of ctr1 on both: nothing of it is left.
    let (cid, ip, (o_ns, o_path), (g_ns, g_path)) = ctrs.pop().unwrap();
    rt.del(&net, &att(cid, &o_path, caps)).unwrap();
    go.go(caps)
        .op("del", cid, g_path.to_str().unwrap())
        .unwrap();
    for (host, ns) in [(&ours, &o_ns), (&go, &g_ns)] {
        assert!(host.cached().is_empty());
        assert!(host.reservations().is_empty());
        let state = host.state();
        assert_gone(&state, cid, &ip, &chains[0]);
        assert!(!ns_state(ns).contains("eth0"), "{}", ns_state(ns));
    }
    assert_eq!(ours.state(), go.state());
}

/// The masquerade chain `state` still has for a container (jumped to from POSTROUTING by
/// its address), and `state` without it and the jump.
fn masq_left(state: &str, cid: &str, ip: &str) -> (Option<String>, String) {
    let jump = format!("-A POSTROUTING -s {ip}/32 ");
    let masq = crate::chains::container_lines(state, cid, ip)
        .iter()
        .find(|l| l.starts_with(&jump))
        .and_then(|l| l.rsplit(" -j ").next())
        .map(str::to_owned);
    let left = state
        .lines()
        .filter(|l| match &masq {
            Some(c) => !l.starts_with(&jump) && !l.contains(c.as_str()),
            None => true,
        })
        .collect::<Vec<_>>()
        .join("\n");
    (masq, left)
}

fn host_local(subnet: &str) -> Value {
    json!({"type": "host-local", "dataDir": "@DATA@", "ranges": [[{"subnet": subnet}]],
           "routes": [{"dst": "0.0.0.0/0"}]})
}

#[test]
fn ptp_with_host_local_reference() {
    differential(&Spec {
        tag: "ptp",
        conflist: json!({"cniVersion": "1.0.0", "name": "ptpnet", "plugins": [
            {"type": "ptp", "ipMasq": true, "mtu": 1400, "ipam": host_local("10.20.0.0/24")}
        ]}),
        ours: &[],
        caps: None,
        sysctls: &[],
        has_chains: true,
        masq: true,
        check_fails: None,
    });
}

#[test]
fn ptp_with_host_local_ours() {
    // Our ptp refuses ipMasq until masquerading is on nftables (a documented decision).
    differential(&Spec {
        tag: "ptp",
        conflist: json!({"cniVersion": "1.0.0", "name": "ptpnet", "plugins": [
            {"type": "ptp", "mtu": 1400, "ipam": host_local("10.20.0.0/24")}
        ]}),
        ours: &["ptp", "host-local"],
        caps: None,
        sysctls: &[],
        has_chains: false,
        masq: false,
        check_fails: None,
    });
}

fn static_conflist() -> Value {
    json!({"cniVersion": "1.0.0", "name": "static", "plugins": [
        {"type": "bridge", "bridge": "cnist0", "isGateway": true,
         "ipam": {"type": "static",
                  "addresses": [{"address": "10.30.0.5/24", "gateway": "10.30.0.1"}],
                  "routes": [{"dst": "10.31.0.0/16", "gw": "10.30.0.1"}]}}
    ]})
}

#[test]
fn static_under_bridge_reference() {
    differential(&Spec {
        tag: "static",
        conflist: static_conflist(),
        ours: &[],
        caps: None,
        sysctls: &[],
        has_chains: false,
        masq: false,
        check_fails: None,
    });
}

#[test]
fn static_under_bridge_ours() {
    differential(&Spec {
        tag: "static",
        conflist: static_conflist(),
        ours: &["bridge", "static"],
        caps: None,
        sysctls: &[],
        has_chains: false,
        masq: false,
        check_fails: None,
    });
}

fn tuning_conflist() -> Value {
    json!({"cniVersion": "1.0.0", "name": "tuned", "plugins": [
        {"type": "bridge", "bridge": "cnitu0", "isGateway": true,
         "ipam": host_local("10.40.0.0/24")},
        {"type": "tuning", "dataDir": "@DATA@/tuning", "mtu": 1300, "promisc": true,
         "sysctl": {"net.ipv4.conf.eth0.arp_filter": "1"}}
    ]})
}

#[test]
fn tuning_after_bridge_reference() {
    differential(&Spec {
        tag: "tuning",
        conflist: tuning_conflist(),
        ours: &[],
        caps: None,
        sysctls: &["/proc/sys/net/ipv4/conf/eth0/arp_filter"],
        has_chains: false,
        masq: false,
        check_fails: None,
    });
}

#[test]
fn tuning_after_bridge_ours() {
    differential(&Spec {
        tag: "tuning",
        conflist: tuning_conflist(),
        ours: &["bridge", "host-local", "tuning"],
        caps: None,
        sysctls: &["/proc/sys/net/ipv4/conf/eth0/arp_filter"],
        has_chains: false,
        masq: false,
        check_fails: None,
    });
}

/// podman's default network: bridge with masquerade and host-local, portmap with the
/// `portMappings` capability, firewall, tuning.
pub fn podman_conflist(ip_masq: bool) -> Value {
    json!({"cniVersion": "0.4.0", "name": "podman", "plugins": [
        {"type": "bridge", "bridge": "cni-podman0", "isGateway": true, "ipMasq": ip_masq,
         "hairpinMode": true, "ipam": host_local("10.88.0.0/16")},
        {"type": "portmap", "capabilities": {"portMappings": true}},
        {"type": "firewall"},
        {"type": "tuning", "dataDir": "@DATA@/tuning"}
    ]})
}

/// The reference portmap's CHECK looks for its chain in ip6tables whenever ip6tables works,
/// also for a container without IPv6 (and with IPv6, for the IPv4 rules in it): CHECK of a
/// chain with portmap fails whichever runtime runs it.
const PORTMAP_CHECK: &str = "could not check ipv6 dnat";

pub fn port_mappings() -> Value {
    json!({"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
                            {"hostPort": 5353, "containerPort": 53, "protocol": "udp"}]})
}

#[test]
fn podman_chain_reference() {
    differential(&Spec {
        tag: "podman",
        conflist: podman_conflist(true),
        ours: &[],
        caps: Some(port_mappings()),
        sysctls: &[],
        has_chains: true,
        masq: true,
        check_fails: Some(PORTMAP_CHECK),
    });
}

#[test]
fn podman_chain_with_our_bridge_host_local_and_tuning() {
    // Our bridge refuses ipMasq (a documented decision of the bridge plugin), so the
    // per-container chains here are portmap's alone.
    differential(&Spec {
        tag: "podman",
        conflist: podman_conflist(false),
        ours: &["bridge", "host-local", "tuning"],
        caps: Some(port_mappings()),
        sysctls: &[],
        has_chains: true,
        masq: false,
        check_fails: Some(PORTMAP_CHECK),
    });
}
