//! The ptp plugin against the real kernel: results, container and host state, traffic in
//! both directions and between pods through the host's routing, every spec version, 1.1.0
//! delegation, MTU and DNS, CHECK. Each test runs in its own host and pod namespaces.

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

fn conf(version: &str, ranges: Value) -> Value {
    json!({
        "cniVersion": version, "name": "ptpnet", "type": "ptp",
        "ipam": {"type": "host-local", "ranges": ranges,
                 "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]},
    })
}

fn dual() -> Value {
    json!([[{"subnet": "10.1.0.0/24"}], [{"subnet": "fd00:1::/64"}]])
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn has(v: &Value, needle: &str) -> bool {
    v.to_string().contains(needle)
}

#[test]
fn dual_stack_pods_reach_the_host_and_each_other() {
    // Forwarding starts off, so that ptp turning it on for both families shows.
    let mut sb = Sandbox::with_settings(&HostSettings::default().forwarding(false));
    let (mut a, b) = (sb.pod("a"), sb.pod("b"));
    let c = sb.conf(conf("1.0.0", dual()));
    let ra = sb.twill("ptp", "ADD", "ctr-a", &a.path, &c).ok();
    let rb = sb.twill("ptp", "ADD", "ctr-b", &b.path, &c).ok();

    assert_eq!(ra["cniVersion"], "1.0.0");
    let ifaces = ra["interfaces"].as_array().unwrap();
    assert_eq!(ifaces.len(), 2, "{ra}");
    let host_veth = ifaces[0]["name"].as_str().unwrap().to_owned();
    assert!(host_veth.starts_with("veth") && host_veth.len() == 12);
    assert!(ifaces[0].get("sandbox").is_none());
    assert_eq!(ifaces[1]["name"], "eth0");
    assert_eq!(ifaces[1]["sandbox"], a.path_str().as_str());
    assert_eq!(
        ra["ips"],
        json!([{"interface": 1, "address": "10.1.0.2/24", "gateway": "10.1.0.1"},
               {"interface": 1, "address": "fd00:1::2/64", "gateway": "fd00:1::1"}])
    );
    assert_eq!(ra["routes"], json!([{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]));
    assert_eq!(rb["ips"][0]["address"], "10.1.0.3/24");
    let hv = sb.host.nl.link_get(LinkId::Name(&host_veth)).unwrap();
    assert_eq!(ifaces[0]["mac"], hv.mac.unwrap().to_string());
    let eth0 = a.nl.link_get(LinkId::Name("eth0")).unwrap();
    assert_eq!(ifaces[1]["mac"], eth0.mac.unwrap().to_string());
    assert_eq!(hv.master, None);

    // The container: the subnet is not on-link, only the gateway is.
    let cs = state::container(&mut a, "eth0");
    assert_eq!(
        (cs["up"].clone(), cs["kind"].clone()),
        (json!(true), json!("veth"))
    );
    assert!(
        has(&cs["addrs"], "10.1.0.2/24") && has(&cs["addrs"], "fd00:1::2/64"),
        "{cs}"
    );
    let routes = cs["routes"].as_array().unwrap();
    let route = |dst: &str| {
        let r = routes.iter().find(|r| r["dst"] == dst);
        let r = r.unwrap_or_else(|| panic!("no route to {dst}: {routes:#?}"));
        (
            r["gw"].clone(),
            r["scope"].clone(),
            r["src"].clone(),
            r["dev"].clone(),
        )
    };
    let v4src = json!("10.1.0.2");
    assert_eq!(
        route("10.1.0.1/32"),
        (json!(null), json!(253), v4src.clone(), json!(true))
    );
    assert_eq!(
        route("10.1.0.0/24"),
        (json!("10.1.0.1"), json!(0), v4src, json!(true))
    );
    assert_eq!(route("0.0.0.0/0").0, "10.1.0.1");
    let v6src = json!("fd00:1::2");
    assert_eq!(route("fd00:1::1/128").2, v6src);
    assert_eq!(route("fd00:1::/64").0, "fd00:1::1");
    assert_eq!(route("::/0").0, "fd00:1::1");
    assert_eq!(routes.len(), 6, "{routes:#?}");
    assert!(
        routes.iter().all(|r| r["proto"] == 3),
        "no kernel subnet route: {routes:#?}"
    );

    // The host: each end holds the gateways and routes its pod's addresses.
    let hs = state::routed_host(&mut sb.host);
    assert_eq!(
        (hs["ip_forward"].clone(), hs["ipv6_forwarding"].clone()),
        (json!("1"), json!("1"))
    );
    let veths = hs["veths"].as_array().unwrap();
    assert_eq!(veths.len(), 2);
    for v in veths {
        assert_eq!(v["accept_ra"], "0");
        assert_eq!(v["up"], true);
        assert!(
            has(&v["addrs"], "10.1.0.1/32") && has(&v["addrs"], "fd00:1::1/128"),
            "{v}"
        );
    }
    for pod in [
        "10.1.0.2/32",
        "10.1.0.3/32",
        "fd00:1::2/128",
        "fd00:1::3/128",
    ] {
        let to_pod = hs["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["dst"] == pod);
        assert_eq!(to_pod.unwrap()["dev"], "veth", "{pod}: {hs:#}");
    }

    // Traffic: pod to gateway, host to pod, pod to pod through the host; both families.
    traffic::udp(&a, &sb.host, ip("10.1.0.1")).unwrap();
    traffic::udp(&a, &sb.host, ip("fd00:1::1")).unwrap();
    traffic::udp(&sb.host, &a, ip("10.1.0.2")).unwrap();
    traffic::udp(&sb.host, &b, ip("fd00:1::3")).unwrap();
    traffic::udp(&a, &b, ip("10.1.0.3")).unwrap();
    traffic::udp(&b, &a, ip("fd00:1::2")).unwrap();

    // CHECK passes; DEL removes the pod's pair, its routes and its reservations.
    let mut check = c.clone();
    check["prevResult"] = ra;
    sb.twill("ptp", "CHECK", "ctr-a", &a.path, &check).ok();
    sb.twill("ptp", "DEL", "ctr-a", &a.path, &c).ok();
    assert!(a
        .nl
        .link_get(LinkId::Name("eth0"))
        .unwrap_err()
        .is_not_found());
    assert!(sb.host.nl.link_get(LinkId::Name(&host_veth)).is_err());
    assert_eq!(sb.reserved("ptpnet"), vec!["10.1.0.3", "fd00:1::3"]);
    let hs = state::routed_host(&mut sb.host);
    assert!(!has(&hs["routes"], "10.1.0.2/32"), "{hs:#}");
    traffic::udp(&sb.host, &b, ip("10.1.0.3")).unwrap();
}

#[test]
fn every_spec_version_gets_its_own_result_shape() {
    let mut sb = Sandbox::new();
    let versions = [
        "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
    ];
    for (i, version) in versions.iter().enumerate() {
        let mut pod = sb.pod(&format!("p{i}"));
        let id = format!("ctr-{i}");
        let c = sb.conf(conf(version, dual()));
        let r = sb.twill("ptp", "ADD", &id, &pod.path, &c).ok();
        assert_eq!(r["cniVersion"], *version);
        let n = i + 2;
        if version.starts_with("0.1") || version.starts_with("0.2") {
            assert_eq!(r["ip4"]["ip"], format!("10.1.0.{n}/24"), "{r}");
            assert_eq!(r["ip4"]["gateway"], "10.1.0.1");
            assert_eq!(r["ip4"]["routes"], json!([{"dst": "0.0.0.0/0"}]), "{r}");
            assert_eq!(r["ip6"]["ip"], format!("fd00:1::{n:x}/64"), "{r}");
            assert!(r.get("interfaces").is_none());
        } else {
            assert_eq!(r["interfaces"].as_array().unwrap().len(), 2, "{r}");
            assert_eq!(r["ips"][0]["address"], format!("10.1.0.{n}/24"));
            assert_eq!(r["ips"][1]["interface"], 1);
            let has_version = r["ips"][0].get("version").is_some();
            assert_eq!(has_version, version.starts_with("0."), "{r}");
        }
        let cs = state::container(&mut pod, "eth0");
        assert!(has(&cs["addrs"], &format!("10.1.0.{n}/24")), "{cs}");
        traffic::udp(&pod, &sb.host, ip("10.1.0.1")).unwrap();
        sb.twill("ptp", "DEL", &id, &pod.path, &c).ok();
    }
    assert!(sb.reserved("ptpnet").is_empty());
    assert_eq!(state::routed_host(&mut sb.host)["veths"], json!([]));
}

/// 1.1.0 through an IPAM that speaks it: ADD, CHECK, DEL, GC and STATUS all reach it.
#[test]
fn version_1_1_0_delegates_every_command_to_ipam() {
    let mut sb = Sandbox::new();
    let pod = sb.pod("p");
    let c = json!({"cniVersion": "1.1.0", "name": "ptpnet", "type": "ptp",
                   "ipam": {"type": support::run::FIXED_IPAM}});
    let r = sb.twill("ptp", "ADD", "ctr", &pod.path, &c).ok();
    assert_eq!(r["cniVersion"], "1.1.0");
    assert_eq!(
        r["ips"],
        json!([{"interface": 1, "address": "10.1.0.2/24", "gateway": "10.1.0.1"}])
    );
    traffic::udp(&sb.host, &pod, ip("10.1.0.2")).unwrap();
    let mut check = c.clone();
    check["prevResult"] = r;
    sb.twill("ptp", "CHECK", "ctr", &pod.path, &check).ok();
    sb.twill("ptp", "DEL", "ctr", &pod.path, &c).ok();
    let bare = Request {
        container_id: "",
        netns: None,
        ifname: "",
        ..Request::new("STATUS", "", &pod.path)
    };
    sb.exec(Impl::Twill, "ptp", &bare, &c).ok();
    let mut gc = c.clone();
    gc["cni.dev/valid-attachments"] = json!([]);
    let gc_req = Request {
        command: "GC",
        ..bare.clone()
    };
    sb.exec(Impl::Twill, "ptp", &gc_req, &gc).ok();
    assert_eq!(sb.fixed_ipam_log(), ["ADD", "CHECK", "DEL", "STATUS", "GC"]);
    // STATUS of a configuration that can never ADD says why.
    let no_ipam = json!({"cniVersion": "1.1.0", "name": "ptpnet", "type": "ptp"});
    let (code, msg) = sb.exec(Impl::Twill, "ptp", &bare, &no_ipam).err();
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("ipam"), "{msg}");
}

#[test]
fn ipv6_only_mtu_and_dns() {
    // IPv6-only ptp turns IPv6 forwarding on and leaves IPv4 forwarding as it found it, off
    // or on; the host namespace is set up either way rather than left to what it inherits
    // from the machine.
    for ipv4_forwarding in ["0", "1"] {
        let host = HostSettings::default()
            .with("net.ipv4.ip_forward", ipv4_forwarding)
            .with("net.ipv6.conf.all.forwarding", "0");
        ipv6_only_mtu_and_dns_on(&host, ipv4_forwarding);
    }
}

fn ipv6_only_mtu_and_dns_on(host: &HostSettings, ipv4_forwarding: &str) {
    let mut sb = Sandbox::with_settings(host);
    let mut pod = sb.pod("p");
    // The pod's interface copies its namespace's IPv4 `default`, which a new namespace
    // copies from the machine: arp_notify starts off, so what the plugin does with it shows.
    twill_kernel::sysctl::write_in(&pod.ns, "net/ipv4/conf/default/arp_notify", "0").unwrap();
    let mut c = conf("1.0.0", json!([[{"subnet": "fd00:2::/64"}]]));
    c["ipam"]["routes"] = json!([{"dst": "::/0"}]);
    c["mtu"] = 1400.into();
    c["dns"] = json!({"nameservers": ["fd00:2::53"], "search": ["example.test"]});
    let c = sb.conf(c);
    let r = sb.twill("ptp", "ADD", "ctr", &pod.path, &c).ok();
    assert_eq!(
        r["dns"],
        json!({"nameservers": ["fd00:2::53"], "search": ["example.test"]})
    );
    assert_eq!(r["routes"], json!([{"dst": "::/0"}]));
    let cs = state::container(&mut pod, "eth0");
    assert_eq!(cs["mtu"], 1400);
    assert_eq!(cs["sysctl"]["disable_ipv6"], "0");
    assert_eq!(
        cs["sysctl"]["arp_notify"], "0",
        "ptp sends no gratuitous ARP"
    );
    let hs = state::routed_host(&mut sb.host);
    assert_eq!(hs["veths"][0]["mtu"], 1400);
    assert_eq!(
        hs["veths"][0]["addrs"],
        json!([{"addr": "fd00:2::1/128", "brd": null}])
    );
    assert_eq!(
        hs["ip_forward"], ipv4_forwarding,
        "no IPv4 address: IPv4 forwarding stays as it was"
    );
    assert_eq!(hs["ipv6_forwarding"], "1");
    // No duplicate address detection to wait for: both ends answer at once.
    traffic::udp(&pod, &sb.host, ip("fd00:2::1")).unwrap();
    traffic::udp(&sb.host, &pod, ip("fd00:2::2")).unwrap();
}
