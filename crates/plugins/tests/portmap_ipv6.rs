//! portmap over IPv6 against the real kernel, judged by TCP connections between
//! namespaces, mirroring the IPv4 tests: dual-stack pods on a bridge (10.1.0.0/24 and
//! fd00:1::/64), an outside namespace at fd00:18::2 reaching the host's fd00:18::1; the
//! host through its own addresses; another pod and the pod itself (masqueraded); the
//! loopback address ::1; hostIP-bound mappings; DEL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod portmap_support;
mod support;

use portmap_support::*;
use serde_json::{json, Value};
use support::Sandbox;

/// The `[key, value]` pairs of an `nft -j` map's elements, comments dropped.
fn pairs(elems: &[Value]) -> Vec<Value> {
    elems
        .iter()
        .map(|e| {
            let key = e[0].get("elem").map_or(&e[0], |el| &el["val"]);
            json!([key, e[1]])
        })
        .collect()
}

#[test]
fn ipv6_host_port_reaches_the_pod_from_outside_the_host_other_pod_and_itself() {
    let mut sb = Sandbox::new();
    let out = outside(&mut sb);
    let dual = bridge_conf_dual(&sb);
    let (a, ra) = pod_on(&mut sb, "a", &dual);
    let (b, _) = pod_on(&mut sb, "b", &dual);
    let m = json!([{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]);
    let c = portmap_conf(&sb, &ra, m, json!({}));
    let r = sb.twill("portmap", "ADD", "a", &a.path, &c).ok();
    assert_eq!(r["ips"], ra["ips"], "prevResult is passed through");
    let _srv = serve_on(&a, "::", 80, "pod-a", 40);

    // Outside: DNAT, no masquerade (the pod sees the real client); IPv4 of the same ADD too.
    assert_eq!(
        fetch(&out, HOST6, 8080).unwrap(),
        format!("pod-a {OUTSIDE6}")
    );
    assert_eq!(fetch(&out, HOST, 8080).unwrap(), format!("pod-a {OUTSIDE}"));
    // The host through its own addresses (output chain): the outside link's and the
    // bridge's; the pod sees the host's address, not masqueraded.
    assert_eq!(
        fetch(&sb.host, HOST6, 8080).unwrap(),
        format!("pod-a {HOST6}")
    );
    assert!(fetch(&sb.host, BRIDGE6, 8080)
        .unwrap()
        .starts_with("pod-a "));
    // Another pod and the pod itself: masqueraded to the bridge's address, so the answer
    // comes back through the host.
    assert_eq!(fetch(&b, HOST6, 8080).unwrap(), format!("pod-a {BRIDGE6}"));
    assert_eq!(fetch(&a, HOST6, 8080).unwrap(), format!("pod-a {BRIDGE6}"));
    // Pod to pod without a host port is not masqueraded.
    assert_eq!(fetch(&b, "fd00:1::2", 80).unwrap(), "pod-a fd00:1::3");

    // The elements, as `nft` prints them: the pod network only in the masquerade set
    // (IPv6 has no loopback range: see `loopback_ipv6_is_not_forwarded`).
    let dnat = pairs(&elements(&sb.host.path, "ip6", "hostports"));
    assert_eq!(
        dnat,
        [json!([{"concat": ["tcp", 8080]}, {"concat": ["fd00:1::2", 80]}])]
    );
    let masq = elements(&sb.host.path, "ip6", "masq");
    let pod_net = json!({"prefix": {"addr": "fd00:1::", "len": 64}});
    assert_eq!(masq.len(), 1, "{masq:?}");
    assert_eq!(
        masq[0]["elem"]["val"],
        json!({"concat": [pod_net, "fd00:1::2"]})
    );

    sb.twill("portmap", "CHECK", "a", &a.path, &c).ok();
    sb.twill("portmap", "DEL", "a", &a.path, &c).ok();
    for (ns, addr) in [(&out, HOST6), (&sb.host, HOST6), (&b, HOST6), (&out, HOST)] {
        let e = fetch_once(ns, addr, 8080).unwrap_err();
        assert!(e.contains("refused"), "{} -> {addr}: {e}", ns.name);
    }
    assert!(elements(&sb.host.path, "ip6", "hostports").is_empty());
    assert!(elements(&sb.host.path, "ip6", "masq").is_empty());
    let (code, msg) = sb.twill("portmap", "CHECK", "a", &a.path, &c).err();
    assert_eq!(code, 999);
    assert!(msg.contains("8080/tcp") && msg.contains("missing"), "{msg}");
    sb.twill("portmap", "DEL", "a", &a.path, &c).ok(); // idempotent
}

#[test]
fn ipv6_host_ip_bound_mapping_answers_only_on_that_address() {
    let mut sb = Sandbox::new();
    let out = outside(&mut sb);
    let dual = bridge_conf_dual(&sb);
    let (a, ra) = pod_on(&mut sb, "a", &dual);
    let m = json!([{"hostPort": 8081, "containerPort": 80, "hostIP": HOST6},
                   {"hostPort": 8082, "containerPort": 80, "hostIP": "::"}]);
    let c = portmap_conf(&sb, &ra, m, json!({}));
    sb.twill("portmap", "ADD", "a", &a.path, &c).ok();
    let _srv = serve_on(&a, "::", 80, "pod-a", 30);

    assert_eq!(
        fetch(&out, HOST6, 8081).unwrap(),
        format!("pod-a {OUTSIDE6}")
    );
    assert!(fetch(&sb.host, HOST6, 8081).is_ok());
    // The bridge's address is local too, but not the bound one; the IPv4 addresses are
    // another family.
    assert!(fetch_once(&sb.host, BRIDGE6, 8081).is_err());
    assert!(fetch_once(&out, HOST, 8081).is_err());
    // `::` binds every IPv6 address, and no IPv4 one.
    assert_eq!(
        fetch(&out, HOST6, 8082).unwrap(),
        format!("pod-a {OUTSIDE6}")
    );
    assert!(fetch(&sb.host, BRIDGE6, 8082).is_ok());
    assert!(fetch_once(&out, HOST, 8082).is_err());

    let bound = pairs(&elements(&sb.host.path, "ip6", "hostip_hostports"));
    assert_eq!(
        bound,
        [json!([{"concat": [HOST6, "tcp", 8081]}, {"concat": ["fd00:1::2", 80]}])]
    );
    assert_eq!(elements(&sb.host.path, "ip6", "hostports").len(), 1);
    for map in ["hostports", "hostip_hostports"] {
        assert!(elements(&sb.host.path, "ip", map).is_empty(), "ip {map}");
    }
    sb.twill("portmap", "DEL", "a", &a.path, &c).ok();
    assert!(fetch_once(&out, HOST6, 8081)
        .unwrap_err()
        .contains("refused"));
    assert!(fetch_once(&out, HOST6, 8082)
        .unwrap_err()
        .contains("refused"));
}

/// The reference DNATs [::1]:hostPort like any local address, and the connection hangs:
/// the kernel drops a loopback-sourced IPv6 packet leaving through another interface, and
/// IPv6 has no `route_localnet` (masquerading does not help: the drop comes first). The
/// skeleton leaves ::1 alone instead, so the connection is refused at once (clients fall
/// back to 127.0.0.1, which is forwarded) or reaches what listens on the host's ::1.
#[test]
fn loopback_ipv6_is_not_forwarded_and_a_mapping_bound_to_it_is_refused() {
    let mut sb = Sandbox::new();
    let dual = bridge_conf_dual(&sb);
    let (a, ra) = pod_on(&mut sb, "a", &dual);
    let m = json!([{"hostPort": 8080, "containerPort": 80}]);
    let c = portmap_conf(&sb, &ra, m, json!({}));
    sb.twill("portmap", "ADD", "a", &a.path, &c).ok();
    let _srv = serve_on(&a, "::", 80, "pod-a", 30);

    assert_eq!(
        fetch(&sb.host, "127.0.0.1", 8080).unwrap(),
        format!("pod-a {BRIDGE}")
    );
    assert!(fetch(&sb.host, BRIDGE6, 8080)
        .unwrap()
        .starts_with("pod-a "));
    let started = std::time::Instant::now();
    let e = fetch_once(&sb.host, "::1", 8080).unwrap_err();
    assert!(e.contains("refused"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_millis(500));
    // A server of the host's own on [::1]:8080 is what answers there.
    let _host_srv = serve_on(&sb.host, "::1", 8080, "host", 20);
    assert_eq!(fetch(&sb.host, "::1", 8080).unwrap(), "host ::1");

    // A mapping bound to ::1 is refused by name, and nothing of it is added.
    let before = ruleset(&sb.host.path);
    let (b, rb) = pod_on(&mut sb, "b", &dual);
    let m = json!([{"hostPort": 9090, "containerPort": 90},
                   {"hostPort": 9091, "containerPort": 91, "hostIP": "::1"}]);
    let cb = portmap_conf(&sb, &rb, m, json!({}));
    let (code, msg) = sb.twill("portmap", "ADD", "b", &b.path, &cb).err();
    assert_eq!(code, 2, "{msg}");
    assert!(
        msg.starts_with("runtimeConfig.portMappings[1].hostIP:"),
        "{msg}"
    );
    assert_eq!(ruleset(&sb.host.path), before);
    assert!(!sb.tmp.join("portmap/testnet/b-eth0").exists());
}
