//! The flannel meta-plugin against the real kernel, with a `subnet.env` written by each
//! test in its sandbox: the stock kube-flannel conflist (flannel delegating to bridge and
//! host-local, then portmap) run plugin by plugin as a runtime runs it, dual stack, the
//! saved delegate configuration, DEL's idempotence, failures that leave nothing, GC,
//! STATUS and CHECK. Each test runs in its own host and pod namespaces.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde_json::{json, Value};
use support::{state, traffic, Ns, Sandbox};
use twill_kernel::LinkId;

const V4_ENV: &str = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n\
                      FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";
const DUAL_ENV: &str = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n\
                        FLANNEL_IPV6_NETWORK=fd00:10::/56\n\
                        FLANNEL_IPV6_SUBNET=fd00:10:0:1::1/64\n\
                        FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";

fn subnet_file(sb: &Sandbox) -> PathBuf {
    sb.tmp.join("subnet.env")
}

fn write_env(sb: &Sandbox, text: &str) {
    std::fs::write(subnet_file(sb), text).unwrap();
}

fn data_dir(sb: &Sandbox) -> PathBuf {
    sb.tmp.join("flannel")
}

fn saved(sb: &Sandbox, id: &str) -> PathBuf {
    data_dir(sb).join(id)
}

fn saved_json(sb: &Sandbox, id: &str) -> Value {
    serde_json::from_slice(&std::fs::read(saved(sb, id)).unwrap()).unwrap()
}

/// The flannel entry of kube-flannel's conflist, as the runtime hands it over, with the
/// sandbox's subnet file and state directories (host-local's through the merged `ipam`).
fn flannel(sb: &Sandbox, version: &str, name: &str) -> Value {
    let path = |p: PathBuf| p.to_string_lossy().into_owned();
    sb.conf(json!({
        "cniVersion": version, "name": name, "type": "flannel",
        "subnetFile": path(subnet_file(sb)), "dataDir": path(data_dir(sb)),
        "delegate": {"hairpinMode": true, "isDefaultGateway": true},
        "ipam": {},
    }))
}

fn portmap(sb: &Sandbox, version: &str, name: &str, prev: Option<&Value>) -> Value {
    let mut c = json!({
        "cniVersion": version, "name": name, "type": "portmap",
        "capabilities": {"portMappings": true},
        "dataDir": sb.tmp.join("portmap").to_string_lossy(),
        "runtimeConfig": {"portMappings": [
            {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]},
    });
    if let Some(p) = prev {
        c["prevResult"] = p.clone();
    }
    c
}

fn has(v: &Value, needle: &str) -> bool {
    v.to_string().contains(needle)
}

fn route<'a>(cs: &'a Value, dst: &str) -> Option<&'a Value> {
    cs["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["dst"] == dst)
}

/// No link, no reservation, no saved file of this pod is left.
fn assert_gone(sb: &mut Sandbox, pod: &mut Ns, id: &str, net: &str) {
    assert_eq!(state::container(pod, "eth0"), json!({"link": null}));
    assert!(sb.reserved(net).is_empty(), "{:?}", sb.reserved(net));
    assert!(!saved(sb, id).exists());
    let host = state::host(&mut sb.host, "cni0");
    assert!(
        host["ports"].as_array().map_or(true, Vec::is_empty),
        "{host}"
    );
}

#[test]
fn stock_conflist_attaches_the_pod_to_cni0_and_del_removes_everything() {
    let mut sb = Sandbox::new();
    write_env(&sb, V4_ENV);
    let mut a = sb.pod("a");
    let fl = flannel(&sb, "0.3.1", "cbr0");
    let r = sb.twill("flannel", "ADD", "ctr-a", &a.path, &fl).ok();
    assert_eq!(r["cniVersion"], "0.3.1");
    assert_eq!(
        r["ips"],
        json!([{"version": "4", "interface": 2, "address": "10.244.1.2/24",
                "gateway": "10.244.1.1"}])
    );
    let pm = portmap(&sb, "0.3.1", "cbr0", Some(&r));
    let r2 = sb.twill("portmap", "ADD", "ctr-a", &a.path, &pm).ok();
    assert_eq!(r2["ips"], r["ips"]);

    // The pod: its address, flanneld's MTU, the default route via the bridge, the
    // cluster's network via the gateway.
    let cs = state::container(&mut a, "eth0");
    assert_eq!(cs["mtu"], 1450, "{cs}");
    assert!(has(&cs["addrs"], "10.244.1.2/24"), "{cs}");
    assert_eq!(route(&cs, "0.0.0.0/0").unwrap()["gw"], "10.244.1.1", "{cs}");
    assert_eq!(
        route(&cs, "10.244.0.0/16").unwrap()["gw"],
        "10.244.1.1",
        "{cs}"
    );
    // The node: cni0 holds the gateway, the port hairpins, forwarding is on.
    let hs = state::host(&mut sb.host, "cni0");
    assert_eq!(hs["kind"], "bridge");
    assert!(has(&hs["addrs"], "10.244.1.1/24"), "{hs}");
    let ports = hs["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 1, "{hs}");
    assert_eq!(
        (ports[0]["hairpin"].clone(), ports[0]["mtu"].clone()),
        (json!(true), json!(1450))
    );
    assert_eq!(hs["ip_forward"], "1");
    traffic::udp(&a, &sb.host, "10.244.1.1".parse().unwrap()).unwrap();

    // The saved delegate configuration: what the bridge was given, private to root.
    let file = saved(&sb, "ctr-a");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        saved_json(&sb, "ctr-a"),
        json!({
            "cniVersion": "0.3.1", "name": "cbr0", "type": "bridge",
            "hairpinMode": true, "isDefaultGateway": true,
            "ipMasq": false, "mtu": 1450, "isGateway": true,
            "ipam": {"dataDir": sb.ipam_dir().to_string_lossy(), "type": "host-local",
                     "ranges": [[{"subnet": "10.244.1.0/24"}]],
                     "routes": [{"dst": "10.244.0.0/16"}]},
        })
    );
    assert_eq!(sb.reserved("cbr0"), ["10.244.1.2"]);

    // DEL in reverse order, as the runtime runs it, then again.
    let pm = portmap(&sb, "0.3.1", "cbr0", None);
    sb.twill("portmap", "DEL", "ctr-a", &a.path, &pm).ok();
    sb.twill("flannel", "DEL", "ctr-a", &a.path, &fl).ok();
    assert_gone(&mut sb, &mut a, "ctr-a", "cbr0");
    sb.twill("flannel", "DEL", "ctr-a", &a.path, &fl).ok();
    // The bridge stays, as the reference bridge leaves it.
    assert!(sb.host.nl.link_get(LinkId::Name("cni0")).is_ok());
}

#[test]
fn dual_stack_pod_gets_both_families() {
    let mut sb = Sandbox::new();
    write_env(&sb, DUAL_ENV);
    let mut a = sb.pod("a");
    let fl = flannel(&sb, "1.0.0", "cbr0");
    let r = sb.twill("flannel", "ADD", "ctr-a", &a.path, &fl).ok();
    assert_eq!(
        r["ips"],
        json!([{"interface": 2, "address": "10.244.1.2/24", "gateway": "10.244.1.1"},
               {"interface": 2, "address": "fd00:10:0:1::2/64", "gateway": "fd00:10:0:1::1"}])
    );
    let cs = state::container(&mut a, "eth0");
    assert!(has(&cs["addrs"], "fd00:10:0:1::2/64"), "{cs}");
    assert_eq!(
        route(&cs, "fd00:10::/56").unwrap()["gw"],
        "fd00:10:0:1::1",
        "{cs}"
    );
    assert_eq!(route(&cs, "::/0").unwrap()["gw"], "fd00:10:0:1::1", "{cs}");
    let hs = state::host(&mut sb.host, "cni0");
    assert!(has(&hs["addrs"], "fd00:10:0:1::1/64"), "{hs}");
    assert_eq!(
        saved_json(&sb, "ctr-a")["ipam"]["ranges"],
        json!([[{"subnet": "10.244.1.0/24"}], [{"subnet": "fd00:10:0:1::/64"}]])
    );
    traffic::udp(&a, &sb.host, "fd00:10:0:1::1".parse().unwrap()).unwrap();

    sb.twill("flannel", "CHECK", "ctr-a", &a.path, &with_prev(&fl, &r))
        .ok();
    sb.twill("flannel", "DEL", "ctr-a", &a.path, &fl).ok();
    assert_gone(&mut sb, &mut a, "ctr-a", "cbr0");
}

fn with_prev(conf: &Value, prev: &Value) -> Value {
    let mut c = conf.clone();
    c["prevResult"] = prev.clone();
    c
}

#[test]
fn del_uses_the_saved_configuration_and_succeeds_without_it() {
    let mut sb = Sandbox::new();
    write_env(&sb, V4_ENV);
    let (mut a, b) = (sb.pod("a"), sb.pod("b"));
    let fl = flannel(&sb, "1.0.0", "cbr0");
    sb.twill("flannel", "ADD", "ctr-a", &a.path, &fl).ok();
    // flanneld's file gone (or changed) after ADD: DEL needs only what was saved.
    std::fs::remove_file(subnet_file(&sb)).unwrap();
    sb.twill("flannel", "DEL", "ctr-a", &a.path, &fl).ok();
    assert_gone(&mut sb, &mut a, "ctr-a", "cbr0");

    // No saved configuration: nothing this plugin can do, and that is success.
    write_env(&sb, V4_ENV);
    sb.twill("flannel", "ADD", "ctr-b", &b.path, &fl).ok();
    std::fs::remove_file(saved(&sb, "ctr-b")).unwrap();
    sb.twill("flannel", "DEL", "ctr-b", &b.path, &fl).ok();
    // A DEL for a container never added, and one without a namespace.
    sb.twill("flannel", "DEL", "ctr-never", &b.path, &fl).ok();
    let req = support::run::Request {
        netns: None,
        ..support::run::Request::new("DEL", "ctr-never", &b.path)
    };
    sb.exec(support::Impl::Twill, "flannel", &req, &fl).ok();
    // CHECK of a container without a saved configuration cannot pass.
    let (code, msg) = sb.twill("flannel", "CHECK", "ctr-b", &b.path, &fl).err();
    assert_eq!(code, 3, "{msg}");
    assert!(msg.contains("ctr-b") && msg.contains("dataDir"), "{msg}");
}

#[test]
fn add_without_subnet_env_fails_clearly_and_leaves_nothing() {
    let mut sb = Sandbox::new();
    let mut a = sb.pod("a");
    let fl = flannel(&sb, "1.1.0", "cbr0");
    let (code, msg) = sb.twill("flannel", "ADD", "ctr-a", &a.path, &fl).err();
    assert_eq!(code, 11, "{msg}");
    let file = subnet_file(&sb).display().to_string();
    assert!(msg.contains("subnetFile") && msg.contains(&file), "{msg}");
    assert!(!data_dir(&sb).exists());
    assert!(sb.host.nl.link_get(LinkId::Name("cni0")).is_err());
    assert_gone(&mut sb, &mut a, "ctr-a", "cbr0");
    // STATUS says why ADD cannot work: not available.
    let (code, msg) = sb.twill("flannel", "STATUS", "", &a.path, &fl).err();
    assert_eq!(code, 50, "{msg}");
    assert!(msg.contains("subnetFile"), "{msg}");
    // A file without the MTU is wrong, not late.
    write_env(
        &sb,
        "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_IPMASQ=true\n",
    );
    let (code, msg) = sb.twill("flannel", "ADD", "ctr-a", &a.path, &fl).err();
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("is missing FLANNEL_MTU"), "{msg}");
    write_env(&sb, V4_ENV);
    sb.twill("flannel", "STATUS", "", &a.path, &fl).ok();
}

#[test]
fn bad_delegates_are_refused_by_name_before_anything_happens() {
    let mut sb = Sandbox::new();
    write_env(&sb, V4_ENV);
    let mut a = sb.pod("a");
    for (delegate, code, needle) in [
        (json!({"type": 5}), 6, "delegate.type: expected string"),
        (
            json!({"type": "../bridge"}),
            7,
            "delegate.type: invalid plugin type",
        ),
        (
            json!({"type": "no-such-plugin"}),
            7,
            "delegate.type: failed to find plugin",
        ),
        (json!({"name": "x"}), 7, "delegate.name"),
        (json!({"ipam": {"type": "host-local"}}), 7, "delegate.ipam"),
        (json!("bridge"), 6, "delegate: expected object"),
    ] {
        let mut fl = flannel(&sb, "1.0.0", "cbr0");
        fl["delegate"] = delegate.clone();
        let (c, msg) = sb.twill("flannel", "ADD", "ctr-a", &a.path, &fl).err();
        assert_eq!(c, code, "{delegate}: {msg}");
        assert!(msg.contains(needle), "{delegate}: {msg}");
        assert!(!data_dir(&sb).exists(), "{delegate}");
    }
    assert_gone(&mut sb, &mut a, "ctr-a", "cbr0");
}

#[test]
fn a_failed_delegate_add_is_undone_and_its_file_removed() {
    let mut sb = Sandbox::new();
    // Room for one pod only: .1 is the gateway, .2 the only address.
    write_env(
        &sb,
        "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/30\n\
         FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n",
    );
    let (mut a, mut b) = (sb.pod("a"), sb.pod("b"));
    let fl = flannel(&sb, "1.0.0", "cbr0");
    sb.twill("flannel", "ADD", "ctr-a", &a.path, &fl).ok();
    let (_, msg) = sb.twill("flannel", "ADD", "ctr-b", &b.path, &fl).err();
    assert!(msg.contains("bridge"), "{msg}");
    assert_eq!(state::container(&mut b, "eth0"), json!({"link": null}));
    assert!(!saved(&sb, "ctr-b").exists());
    // The first pod is untouched.
    assert!(saved(&sb, "ctr-a").exists());
    assert_eq!(sb.reserved("cbr0"), ["10.244.1.2"]);
    assert!(has(
        &state::container(&mut a, "eth0")["addrs"],
        "10.244.1.2/30"
    ));

    // A delegate refusing its configuration: nothing is left either.
    let mut bad = fl.clone();
    bad["delegate"]["mtu"] = json!(5);
    let (code, msg) = sb.twill("flannel", "ADD", "ctr-b", &b.path, &bad).err();
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("mtu"), "{msg}");
    assert!(!saved(&sb, "ctr-b").exists());
    assert_eq!(state::container(&mut b, "eth0"), json!({"link": null}));
}

#[test]
fn gc_releases_vanished_containers_and_keeps_other_networks_files() {
    let mut sb = Sandbox::new();
    write_env(&sb, V4_ENV);
    // GC runs the bridge's own collection too, whose records are per network on the
    // machine: a name of this process keeps it to this test.
    let net = format!("fl{}gc", std::process::id());
    let (a, b) = (sb.pod("a"), sb.pod("b"));
    let fl = flannel(&sb, "1.1.0", &net);
    let ra = sb.twill("flannel", "ADD", "ctr-a", &a.path, &fl).ok();
    sb.twill("flannel", "ADD", "ctr-b", &b.path, &fl).ok();
    // Another flannel network sharing the directory, as the default dataDir is shared.
    let other = saved(&sb, "ctr-z");
    std::fs::write(
        &other,
        br#"{"cniVersion":"1.1.0","name":"other","type":"bridge"}"#,
    )
    .unwrap();
    assert_eq!(sb.reserved(&net), ["10.244.1.2", "10.244.1.3"]);

    // Pod b vanished without a DEL.
    sb.delete_pod(b);
    let mut gc = fl.clone();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "ctr-a", "ifname": "eth0"}]);
    sb.twill("flannel", "GC", "", &a.path, &gc).ok();
    assert_eq!(sb.reserved(&net), ["10.244.1.2"]);
    assert!(saved(&sb, "ctr-a").exists());
    assert!(!saved(&sb, "ctr-b").exists());
    assert!(other.exists());

    // Pod a is still fine.
    sb.twill("flannel", "CHECK", "ctr-a", &a.path, &with_prev(&fl, &ra))
        .ok();
    sb.twill("flannel", "DEL", "ctr-a", &a.path, &fl).ok();
    sb.twill("flannel", "DEL", "ctr-b", &a.path, &fl).ok();
    assert!(sb.reserved(&net).is_empty());
}

#[test]
fn flannel_executes_nothing_but_its_delegate() {
    let mut sb = Sandbox::new();
    write_env(&sb, V4_ENV);
    let (traps, marker) = sb.traps(&["ip", "iptables", "nft", "sh", "bridge", "host-local"]);
    let mut a = sb.pod("a");
    let fl = flannel(&sb, "1.0.0", "cbr0");
    let path = a.path_str();
    sb.run_with_path("flannel", "ADD", "ctr-a", &path, &traps, &fl);
    sb.run_with_path("flannel", "DEL", "ctr-a", &path, &traps, &fl);
    assert!(
        !marker.exists(),
        "{}",
        std::fs::read_to_string(&marker).unwrap()
    );
    assert_gone(&mut sb, &mut a, "ctr-a", "cbr0");
}
