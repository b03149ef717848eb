//! The bridge plugin against the real kernel: results, kernel state, traffic, options,
//! refused configurations, CHECK. Each test runs in its own host and pod namespaces.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::net::IpAddr;

use serde_json::{json, Value};
use support::run::Request;
use support::{state, traffic, HostSettings, Impl, Sandbox};
use twill_kernel::LinkId;

fn conf(version: &str, extra: Value, ranges: Value) -> Value {
    let mut c = json!({
        "cniVersion": version, "name": "testnet", "type": "bridge", "bridge": "br-test",
        "ipam": {"type": "host-local", "ranges": ranges},
    });
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    c
}

fn v4() -> Value {
    json!([[{"subnet": "10.1.0.0/24"}]])
}

fn dual() -> Value {
    json!([[{"subnet": "10.1.0.0/24"}], [{"subnet": "fd00:1::/64"}]])
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn dual_stack_pods_reach_each_other_and_the_gateway() {
    // Forwarding starts off, so that the gateway turning it on for both families shows.
    let mut sb = Sandbox::with_settings(&HostSettings::default().forwarding(false));
    let (mut a, b) = (sb.pod("a"), sb.pod("b"));
    // The pod's interface copies its namespace's IPv4 `default`, which a new namespace
    // copies from the machine: arp_notify starts off, so what the plugin does with it shows.
    twill_kernel::sysctl::write_in(&a.ns, "net/ipv4/conf/default/arp_notify", "0").unwrap();
    let c = sb.conf(conf("1.0.0", json!({"isDefaultGateway": true}), dual()));
    let ra = sb.twill("bridge", "ADD", "ctr-a", &a.path, &c).ok();
    let rb = sb.twill("bridge", "ADD", "ctr-b", &b.path, &c).ok();

    assert_eq!(ra["cniVersion"], "1.0.0");
    let ifaces = ra["interfaces"].as_array().unwrap();
    assert_eq!(ifaces.len(), 3);
    assert_eq!(ifaces[0]["name"], "br-test");
    assert!(ifaces[1]["name"].as_str().unwrap().starts_with("veth"));
    assert_eq!(ifaces[2]["name"], "eth0");
    assert_eq!(ifaces[2]["sandbox"], a.path_str().as_str());
    assert_eq!(
        ra["ips"],
        json!([{"interface": 2, "address": "10.1.0.2/24", "gateway": "10.1.0.1"},
               {"interface": 2, "address": "fd00:1::2/64", "gateway": "fd00:1::1"}])
    );
    assert_eq!(
        ra["routes"],
        json!([{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}, {"dst": "::/0", "gw": "fd00:1::1"}])
    );
    assert_eq!(rb["ips"][0]["address"], "10.1.0.3/24");

    // The kernel agrees with the result.
    let cs = state::container(&mut a, "eth0");
    assert_eq!(cs["up"], true);
    assert_eq!(cs["kind"], "veth");
    let addrs = cs["addrs"].to_string();
    assert!(
        addrs.contains("10.1.0.2/24") && addrs.contains("10.1.0.255"),
        "{addrs}"
    );
    assert!(addrs.contains("fd00:1::2/64"), "{addrs}");
    let routes = cs["routes"].to_string();
    assert!(
        routes.contains(r#""dst":"0.0.0.0/0","gw":"10.1.0.1""#),
        "{routes}"
    );
    assert!(
        routes.contains(r#""dst":"::/0","gw":"fd00:1::1""#),
        "{routes}"
    );
    assert_eq!(cs["sysctl"]["accept_dad"], "0");
    assert_eq!(cs["sysctl"]["arp_notify"], "1");
    assert_eq!(cs["sysctl"]["disable_ipv6"], "0");
    assert_eq!(
        state::sysctl(&a, "net/ipv6/conf/eth0/keep_addr_on_down"),
        "1"
    );
    let hs = state::host(&mut sb.host, "br-test");
    assert_eq!(hs["kind"], "bridge");
    assert_eq!(hs["up"], true);
    assert_eq!(hs["accept_ra"], "0");
    assert_eq!(hs["ports"].as_array().unwrap().len(), 2);
    assert_eq!(hs["ports"][0]["hairpin"], false);
    assert_eq!(hs["ip_forward"], "1");
    assert_eq!(hs["ipv6_forwarding"], "1");
    let braddrs = hs["addrs"].to_string();
    assert!(
        braddrs.contains("10.1.0.1/24") && braddrs.contains("fd00:1::1/64"),
        "{braddrs}"
    );
    // The bridge's MAC is pinned, so the result's stays true.
    let br = sb.host.nl.link_get(LinkId::Name("br-test")).unwrap();
    assert_eq!(ra["interfaces"][0]["mac"], br.mac.unwrap().to_string());
    assert_eq!(rb["interfaces"][0]["mac"], br.mac.unwrap().to_string());
    let host_veth = sb
        .host
        .nl
        .link_get(LinkId::Name(ifaces[1]["name"].as_str().unwrap()))
        .unwrap();
    assert_eq!(ifaces[1]["mac"], host_veth.mac.unwrap().to_string());
    assert_eq!(host_veth.master, Some(br.index));
    let eth0 = a.nl.link_get(LinkId::Name("eth0")).unwrap();
    assert_eq!(ifaces[2]["mac"], eth0.mac.unwrap().to_string());

    // Traffic: pod to pod, pod to gateway, both families.
    traffic::udp(&a, &b, ip("10.1.0.3")).unwrap();
    traffic::udp(&b, &a, ip("fd00:1::2")).unwrap();
    traffic::udp(&a, &sb.host, ip("10.1.0.1")).unwrap();
    traffic::udp(&b, &sb.host, ip("fd00:1::1")).unwrap();

    // The ports have no address of their own, not even IPv6 link-local: nothing of theirs
    // for the bridge to flood to every pod. The pods keep theirs.
    let ports: Vec<_> = sb.host.nl.link_list().unwrap();
    let ports: Vec<_> = ports
        .iter()
        .filter(|l| l.master == Some(br.index))
        .collect();
    assert_eq!(ports.len(), 2);
    for port in ports {
        let addrs = sb.host.nl.addr_list(None, Some(port.index)).unwrap();
        assert!(addrs.is_empty(), "port {}: {addrs:?}", port.name);
    }
    let pod_addrs = a.nl.addr_list(None, Some(eth0.index)).unwrap();
    assert!(
        pod_addrs
            .iter()
            .any(|x| x.prefix.to_string().starts_with("fe80:")),
        "{pod_addrs:?}"
    );

    // CHECK passes; DEL removes the pod's link and releases its addresses; the bridge stays.
    let check = sb.conf(conf(
        "1.0.0",
        json!({"isDefaultGateway": true, "prevResult": ra}),
        dual(),
    ));
    sb.twill("bridge", "CHECK", "ctr-a", &a.path, &check).ok();
    sb.twill("bridge", "DEL", "ctr-a", &a.path, &c).ok();
    assert!(a
        .nl
        .link_get(LinkId::Name("eth0"))
        .unwrap_err()
        .is_not_found());
    assert!(sb
        .host
        .nl
        .link_get(LinkId::Name(ifaces[1]["name"].as_str().unwrap()))
        .is_err());
    assert_eq!(sb.reserved("testnet"), vec!["10.1.0.3", "fd00:1::3"]);
    assert!(sb.host.nl.link_get(LinkId::Name("br-test")).is_ok());
    traffic::udp(&b, &sb.host, ip("10.1.0.1")).unwrap();
}

#[test]
fn every_spec_version_gets_its_own_result_shape() {
    let mut sb = Sandbox::new();
    let versions = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"];
    for (i, version) in versions.iter().enumerate() {
        let mut pod = sb.pod(&format!("p{i}"));
        let id = format!("ctr-{i}");
        let c = sb.conf(conf(version, json!({"isGateway": true}), dual()));
        let r = sb.twill("bridge", "ADD", &id, &pod.path, &c).ok();
        assert_eq!(r["cniVersion"], *version);
        let n = i + 2;
        if version.starts_with("0.1") || version.starts_with("0.2") {
            assert_eq!(r["ip4"]["ip"], format!("10.1.0.{n}/24"), "{r}");
            assert_eq!(r["ip4"]["gateway"], "10.1.0.1");
            assert_eq!(r["ip6"]["ip"], format!("fd00:1::{n:x}/64"), "{r}");
            assert!(r.get("interfaces").is_none());
        } else {
            assert_eq!(r["interfaces"].as_array().unwrap().len(), 3, "{r}");
            assert_eq!(r["ips"][0]["address"], format!("10.1.0.{n}/24"));
            assert_eq!(r["ips"][0]["interface"], 2);
            let has_version = r["ips"][0].get("version").is_some();
            assert_eq!(has_version, version.starts_with("0."), "{r}");
        }
        let addrs = state::container(&mut pod, "eth0")["addrs"].to_string();
        assert!(addrs.contains(&format!("10.1.0.{n}/24")), "{addrs}");
        sb.twill("bridge", "DEL", &id, &pod.path, &c).ok();
    }
    assert!(sb.reserved("testnet").is_empty());
}

/// 1.1.0 through an IPAM that speaks it (the reference's host-local stops at 1.0.0): ADD,
/// CHECK, DEL, GC and STATUS all reach the delegate.
#[test]
fn version_1_1_0_delegates_every_command_to_ipam() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let mut c = conf("1.1.0", json!({"isDefaultGateway": true}), json!(null));
    c["ipam"] = json!({"type": support::run::FIXED_IPAM});
    let r = sb.twill("bridge", "ADD", "ctr", &pod.path, &c).ok();
    assert_eq!(r["cniVersion"], "1.1.0");
    assert_eq!(
        r["ips"],
        json!([{"interface": 2, "address": "10.1.0.2/24", "gateway": "10.1.0.1"}])
    );
    assert_eq!(r["routes"], json!([{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}]));
    assert!(state::container(&mut pod, "eth0")["addrs"]
        .to_string()
        .contains("10.1.0.2/24"));
    let mut check = c.clone();
    check["prevResult"] = r;
    sb.twill("bridge", "CHECK", "ctr", &pod.path, &check).ok();
    sb.twill("bridge", "DEL", "ctr", &pod.path, &c).ok();
    let bare = Request {
        container_id: "",
        netns: None,
        ifname: "",
        ..Request::new("STATUS", "", &pod.path)
    };
    sb.exec(Impl::Twill, "bridge", &bare, &c).ok();
    let mut gc = c.clone();
    gc["cni.dev/valid-attachments"] = json!([]);
    sb.exec(
        Impl::Twill,
        "bridge",
        &Request {
            command: "GC",
            ..bare
        },
        &gc,
    )
    .ok();
    assert_eq!(sb.fixed_ipam_log(), ["ADD", "CHECK", "DEL", "STATUS", "GC"]);
}

#[test]
fn port_options_mtu_and_mac_precedence() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let path = pod.path.clone();
    let extra = json!({"hairpinMode": true, "portIsolation": true, "mtu": 1400,
                       "runtimeConfig": {"mac": "02:00:00:00:00:aa"},
                       "args": {"cni": {"mac": "02:00:00:00:00:bb"}}});
    let c = sb.conf(conf("1.0.0", extra, v4()));
    let req = Request {
        args: "IgnoreUnknown=1;MAC=02:00:00:00:00:cc",
        ..Request::new("ADD", "ctr", &path)
    };
    let r = sb.exec(Impl::Twill, "bridge", &req, &c).ok();
    assert_eq!(r["interfaces"][2]["mac"], "02:00:00:00:00:aa");
    let hs = state::host(&mut sb.host, "br-test");
    assert_eq!(hs["mtu"], 1400);
    assert_eq!(hs["ports"][0]["hairpin"], true);
    assert_eq!(hs["ports"][0]["isolated"], true);
    assert_eq!(hs["ports"][0]["mtu"], 1400);
    let cs = state::container(&mut pod, "eth0");
    assert_eq!(cs["mtu"], 1400);
    sb.twill("bridge", "DEL", "ctr", &pod.path, &c).ok();

    // Without runtimeConfig, args.cni wins over CNI_ARGS; without both, CNI_ARGS counts.
    let extra = json!({"args": {"cni": {"mac": "02:00:00:00:00:bb"}}});
    let c = sb.conf(conf("1.0.0", extra, v4()));
    let r = sb.exec(Impl::Twill, "bridge", &req, &c).ok();
    assert_eq!(r["interfaces"][2]["mac"], "02:00:00:00:00:bb");
    sb.twill("bridge", "DEL", "ctr", &pod.path, &c).ok();
    let c = sb.conf(conf("1.0.0", json!({"promiscMode": true}), v4()));
    let r = sb.exec(Impl::Twill, "bridge", &req, &c).ok();
    assert_eq!(r["interfaces"][2]["mac"], "02:00:00:00:00:cc");
    assert_eq!(state::host(&mut sb.host, "br-test")["promisc"], true);
}

#[test]
fn layer_2_only_and_disabled_container_interface() {
    let mut sb = Sandbox::new();
    let (mut a, mut b) = (sb.pod("a"), sb.pod("b"));
    let c = json!({"cniVersion": "1.0.0", "name": "l2", "type": "bridge", "bridge": "br-l2"});
    let r = sb.twill("bridge", "ADD", "a", &a.path, &c).ok();
    assert!(r.get("ips").is_none(), "{r}");
    assert_eq!(state::container(&mut a, "eth0")["up"], true);
    assert_eq!(state::container(&mut a, "eth0")["addrs"], json!([]));

    let mut c2 = c.clone();
    c2["disableContainerInterface"] = true.into();
    sb.twill("bridge", "ADD", "b", &b.path, &c2).ok();
    assert_eq!(state::container(&mut b, "eth0")["up"], false);
    c2["ipam"] = json!({"type": "host-local", "subnet": "10.2.0.0/24"});
    let (code, msg) = sb.twill("bridge", "ADD", "b2", &b.path, &c2).err();
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("disableContainerInterface"), "{msg}");
    // 0.1.0/0.2.0 results need an address: a layer-2 attachment has none, so ADD fails and
    // leaves nothing behind.
    let mut old = c.clone();
    old["cniVersion"] = "0.2.0".into();
    let mut p = sb.pod("old");
    sb.twill("bridge", "ADD", "old", &p.path, &old).err();
    assert!(p.nl.link_get(LinkId::Name("eth0")).is_err());
    assert_eq!(
        state::host(&mut sb.host, "br-l2")["ports"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}
