//! podman's whole chain — bridge (ipMasq, hairpinMode) with host-local, portmap with a
//! mapping, firewall, tuning — through ADD, CHECK, GC and DEL with `nft`, `iptables`, `ip`,
//! `sh` and friends on PATH replaced by traps: no plugin of it executes a program, and the
//! pod's elements come and go with it. The same for macvlan with host-local, whose
//! reference execs nothing either but which a rewrite might be tempted to build on `ip`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod masq_support;
mod portmap_support;
mod support;

use serde_json::{json, Value};
#[allow(unused_imports)]
use support::{Impl, Sandbox};
use twill_test_support::{chain as run_chain, nft};

/// The chain, plugin by plugin, as libcni would inject it (name, version, runtimeConfig),
/// each plugin's state under the sandbox or under a network name of this test process.
fn chain(sb: &Sandbox, net: &str) -> Vec<Value> {
    let dir = |d: &str| sb.tmp.join(d).to_string_lossy().into_owned();
    let bridge = sb.conf(json!({
        "type": "bridge", "bridge": "br-chain", "isGateway": true,
        "ipMasq": true, "hairpinMode": true,
        "ipam": {"type": "host-local", "routes": [{"dst": "0.0.0.0/0"}],
                 "ranges": [[{"subnet": "10.12.0.0/24", "gateway": "10.12.0.1"}]]},
    }));
    let plugins = [
        bridge,
        json!({"type": "portmap", "dataDir": dir("portmap"),
               "runtimeConfig": {"portMappings": [
                   {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}}),
        json!({"type": "firewall", "backend": "", "dataDir": dir("firewall")}),
        json!({"type": "tuning", "dataDir": dir("tuning")}),
    ];
    plugins
        .into_iter()
        .map(|mut p| {
            p["cniVersion"] = "1.1.0".into();
            p["name"] = net.into();
            p
        })
        .collect()
}

fn plugin(conf: &Value) -> String {
    conf["type"].as_str().unwrap().to_owned()
}

/// How many elements of the node's ruleset name `needle`.
fn mentions(sb: &Sandbox, needle: &str) -> usize {
    nft::elements_naming(&sb.host.path, needle).len()
}

#[test]
fn podmans_chain_never_executes_a_program() {
    let mut sb = Sandbox::new();
    let (traps, marker) = sb.traps(&[
        "nft",
        "iptables",
        "ip6tables",
        "iptables-nft",
        "iptables-restore",
        "ip",
        "sh",
        "conntrack",
        "firewall-cmd",
    ]);
    let net = masq_support::net_name("chain");
    let pod = sb.pod("p");
    let netns = pod.path_str();
    let confs = chain(&sb, &net);

    let result = run_chain::add(&confs, |c| {
        sb.run_with_path(&plugin(c), "ADD", "ctr", &netns, &traps, c)
    });
    let ip = masq_support::addr_of(&result);
    assert!(ip.starts_with("10.12.0."), "{result}");
    // portmap's, masquerade's and firewall's elements all name the pod's address.
    assert!(
        mentions(&sb, &ip) >= 3,
        "{}",
        portmap_support::ruleset(&sb.host.path)
    );

    for conf in &confs {
        let mut c = conf.clone();
        c["prevResult"] = result.clone();
        sb.run_with_path(&plugin(conf), "CHECK", "ctr", &netns, &traps, &c);
        let mut g = conf.clone();
        g["cni.dev/valid-attachments"] = json!([{"containerID": "ctr", "ifname": "eth0"}]);
        sb.run_with_path(&plugin(conf), "GC", "ctr", &netns, &traps, &g);
    }
    let kept = mentions(&sb, &ip);
    assert!(kept >= 3, "GC of a valid attachment removed elements");

    run_chain::del(&confs, &result, |c| {
        sb.run_with_path(&plugin(c), "DEL", "ctr", &netns, &traps, c);
    });
    assert_eq!(mentions(&sb, &ip), 0);
    assert!(
        !marker.exists(),
        "a plugin executed: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}

#[test]
fn macvlan_never_executes_a_program() {
    let mut sb = Sandbox::new();
    let (traps, marker) = sb.traps(&["ip", "sh", "sysctl", "nft", "iptables", "modprobe"]);
    let _wire = sb.wire(None, "up0", &["198.18.40.1/24"], &["10.40.0.254/24"]);
    let pod = sb.pod("p");
    let netns = pod.path_str();
    let conf = sb.conf(json!({
        "cniVersion": "1.1.0", "name": "chain-mv", "type": "macvlan", "master": "up0",
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.40.0.0/24"}],
                                                  [{"subnet": "fd00:40::/64"}]]},
    }));
    let result = sb.run_with_path("macvlan", "ADD", "ctr", &netns, &traps, &conf);
    assert_eq!(result["ips"].as_array().map(Vec::len), Some(2), "{result}");
    let mut c = conf.clone();
    c["prevResult"] = result;
    sb.run_with_path("macvlan", "CHECK", "ctr", &netns, &traps, &c);
    let mut g = conf.clone();
    g["cni.dev/valid-attachments"] = json!([{"containerID": "ctr", "ifname": "eth0"}]);
    sb.run_with_path("macvlan", "GC", "ctr", &netns, &traps, &g);
    sb.run_with_path("macvlan", "STATUS", "ctr", &netns, &traps, &conf);
    sb.run_with_path("macvlan", "DEL", "ctr", &netns, &traps, &c);
    assert!(sb.reserved("chain-mv").is_empty());
    assert!(
        !marker.exists(),
        "macvlan executed: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}
