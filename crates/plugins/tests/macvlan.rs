//! The macvlan plugin on a parent veth whose wire leads to another namespace (a machine on
//! the parent's segment): pods reach each other and that machine directly over IPv4 and
//! IPv6; every spec version; layer 2 only; every mode, MTU and MAC source; the parent by
//! default route or inside the container; CHECK and its drift detection; DEL repeated,
//! without the namespace, without the parent; GC and STATUS.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::net::IpAddr;
use std::path::Path;

use serde_json::{json, Value};
use support::run::Request;
use support::{state, traffic, Impl, Ns, Sandbox};
use twill_kernel::{LinkId, MacvlanMode};
use twill_test_support::wire::{default_route, Wire};

const NET: &str = "mvnet";

/// A sandbox whose host has parent `up0` (198.18.20.1/24) on a wire to `far`, which holds
/// 198.18.20.2/24 and addresses in the pods' subnets.
fn world() -> (Sandbox, Wire) {
    let mut sb = Sandbox::new();
    let wire = sb.wire(
        None,
        "up0",
        &["198.18.20.1/24"],
        &["198.18.20.2/24", "10.20.0.254/24", "fd00:20::fe/64"],
    );
    (sb, wire)
}

fn conf(sb: &Sandbox, version: &str, extra: Value) -> Value {
    let mut c = json!({
        "cniVersion": version, "name": NET, "type": "macvlan", "master": "up0",
        "ipam": {"type": "host-local",
                 "ranges": [[{"subnet": "10.20.0.0/24"}], [{"subnet": "fd00:20::/64"}]],
                 "routes": [{"dst": "0.0.0.0/0"}]},
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    sb.conf(c)
}

fn run(sb: &Sandbox, cmd: &str, id: &str, pod: &Ns, c: &Value) -> support::run::Run {
    sb.exec(Impl::Twill, "macvlan", &Request::new(cmd, id, &pod.path), c)
}

fn with_prev(c: &Value, prev: &Value) -> Value {
    let mut c = c.clone();
    c["prevResult"] = prev.clone();
    c
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn up0(sb: &mut Sandbox) -> u32 {
    sb.host.nl.link_index("up0").unwrap()
}

#[test]
fn pods_reach_each_other_and_the_wire_in_both_families() {
    let (mut sb, wire) = world();
    let (mut a, mut b) = (sb.pod("a"), sb.pod("b"));
    let c = conf(&sb, "1.1.0", json!({}));
    let ra = run(&sb, "ADD", "ctr-a", &a, &c).ok();
    let rb = run(&sb, "ADD", "ctr-b", &b, &c).ok();

    assert_eq!(ra["cniVersion"], "1.1.0");
    assert_eq!(ra["interfaces"].as_array().unwrap().len(), 1, "{ra}");
    let iface = &ra["interfaces"][0];
    assert_eq!(
        (&iface["name"], &iface["sandbox"]),
        (&json!("eth0"), &json!(a.path_str()))
    );
    assert_eq!(ra["ips"][0]["address"], "10.20.0.2/24");
    assert_eq!(ra["ips"][1]["address"], "fd00:20::2/64");
    assert!(ra["ips"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["interface"] == 0));
    assert_eq!(ra["routes"], json!([{"dst": "0.0.0.0/0"}]));

    let link = a.nl.link_get(LinkId::Name("eth0")).unwrap();
    assert_eq!(link.kind.as_deref(), Some("macvlan"));
    assert_eq!(
        link.mac.unwrap().to_string(),
        iface["mac"].as_str().unwrap()
    );
    assert_eq!(
        a.nl.macvlan_mode(LinkId::Name("eth0")).unwrap(),
        Some(MacvlanMode::Bridge)
    );
    let parent = up0(&mut sb);
    let seen = state::child(&mut a, "eth0", parent, false);
    assert_eq!(seen["parent_ok"], true, "{seen:#}");
    assert_eq!(seen["container"]["mtu"], 1500);
    assert_eq!(seen["container"]["sysctl"]["arp_notify"], "1");
    assert_ne!(
        rb["interfaces"][0]["mac"], iface["mac"],
        "each child has a MAC of its own"
    );

    for (from, to, dst) in [
        (&a, &b, "10.20.0.3"),
        (&b, &a, "fd00:20::2"),
        (&a, &wire.far, "10.20.0.254"),
        (&wire.far, &b, "10.20.0.3"),
        (&b, &wire.far, "fd00:20::fe"),
    ] {
        traffic::udp(from, to, ip(dst)).unwrap();
    }

    run(&sb, "CHECK", "ctr-a", &a, &with_prev(&c, &ra)).ok();
    for _ in 0..2 {
        run(&sb, "DEL", "ctr-a", &a, &c).ok();
    }
    assert!(a.nl.link_get(LinkId::Name("eth0")).is_err());
    assert_eq!(sb.reserved(NET), ["10.20.0.3", "fd00:20::3"]);
    run(&sb, "DEL", "ctr-b", &b, &c).ok();
    assert!(sb.reserved(NET).is_empty());
    assert!(b.nl.link_get(LinkId::Name("eth0")).is_err());
}

#[test]
fn every_spec_version_adds_checks_and_deletes() {
    let (mut sb, _wire) = world();
    for v in [
        "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
    ] {
        let pod = sb.pod(&format!("p{}", v.replace('.', "")));
        let c = conf(&sb, v, json!({}));
        let r = run(&sb, "ADD", "ctr", &pod, &c).ok();
        assert_eq!(r["cniVersion"], v);
        if v < "0.3.0" {
            // host-local allocates round robin: each version gets the next address.
            let v4 = r["ip4"]["ip"].as_str().unwrap_or_default();
            let v6 = r["ip6"]["ip"].as_str().unwrap_or_default();
            assert!(
                v4.starts_with("10.20.0.") && v4.ends_with("/24"),
                "{v}: {r}"
            );
            assert!(
                v6.starts_with("fd00:20::") && v6.ends_with("/64"),
                "{v}: {r}"
            );
        } else {
            assert_eq!(r["interfaces"][0]["name"], "eth0", "{v}: {r}");
            assert_eq!(r["ips"].as_array().unwrap().len(), 2, "{v}: {r}");
        }
        if v >= "0.4.0" {
            run(&sb, "CHECK", "ctr", &pod, &with_prev(&c, &r)).ok();
        }
        run(&sb, "DEL", "ctr", &pod, &c).ok();
        assert!(sb.reserved(NET).is_empty(), "{v}");
    }
}

#[test]
fn layer_2_only_without_ipam() {
    let (mut sb, wire) = world();
    let (mut a, b) = (sb.pod("a"), sb.pod("b"));
    let c = conf(&sb, "1.0.0", json!({"ipam": null}));
    let r = run(&sb, "ADD", "ctr-a", &a, &c).ok();
    assert_eq!(r.get("ips"), None, "{r}");
    assert_eq!(r["interfaces"][0]["name"], "eth0");
    let link = a.nl.link_get(LinkId::Name("eth0")).unwrap();
    assert!(link.is_up());
    assert!(state::container(&mut a, "eth0")["addrs"] == json!([]));
    // Layer 2 reaches the wire once someone gives it an address.
    a.nl.addr_add(&twill_kernel::Address::new(
        link.index,
        "10.20.0.9/24".parse().unwrap(),
    ))
    .unwrap();
    traffic::udp(&a, &wire.far, ip("10.20.0.254")).unwrap();
    run(&sb, "CHECK", "ctr-a", &a, &with_prev(&c, &r)).ok();

    // 0.1.0 and 0.2.0 results need an address: refused before anything is made.
    for v in ["0.1.0", "0.2.0"] {
        let old = conf(&sb, v, json!({"ipam": null}));
        let (code, msg) = run(&sb, "ADD", "ctr-b", &b, &old).err();
        assert_eq!(code, 1, "{msg}");
        assert!(msg.contains("ipam"), "{msg}");
    }
    assert!(
        sb.host.nl.link_list().unwrap().len() == 2,
        "only lo and up0"
    );
    let mut b = b;
    assert!(b.nl.link_get(LinkId::Name("eth0")).is_err());

    for cmd in ["GC", "STATUS"] {
        let mut g = c.clone();
        g["cniVersion"] = "1.1.0".into();
        run(&sb, cmd, "ctr-a", &a, &g).ok();
    }
    run(&sb, "DEL", "ctr-a", &a, &c).ok();
    assert!(a.nl.link_get(LinkId::Name("eth0")).is_err());
}

#[test]
fn modes_mtu_and_mac_sources() {
    let (mut sb, _wire) = world();
    let parent = up0(&mut sb);
    let cases = [
        (
            json!({"mode": "private", "mtu": 1400}),
            "",
            MacvlanMode::Private,
            1400,
            None,
        ),
        (
            json!({"mode": "vepa", "mac": "02:00:00:00:20:01"}),
            "",
            MacvlanMode::Vepa,
            1500,
            Some("02:00:00:00:20:01"),
        ),
        (
            json!({"mac": "02:00:00:00:20:01"}),
            "IgnoreUnknown=1;MAC=02:00:00:00:20:02",
            MacvlanMode::Bridge,
            1500,
            Some("02:00:00:00:20:02"),
        ),
        (
            json!({"mode": "bridge", "runtimeConfig": {"mac": "02:00:00:00:20:03"}}),
            "MAC=02:00:00:00:20:02",
            MacvlanMode::Bridge,
            1500,
            Some("02:00:00:00:20:03"),
        ),
    ];
    for (i, (extra, args, mode, mtu, mac)) in cases.into_iter().enumerate() {
        let mut pod = sb.pod(&format!("p{i}"));
        let c = conf(&sb, "1.0.0", extra.clone());
        let req = Request {
            args,
            ..Request::new("ADD", "ctr", &pod.path)
        };
        let r = sb.exec(Impl::Twill, "macvlan", &req, &c).ok();
        let seen = state::child(&mut pod, "eth0", parent, false);
        assert_eq!(seen["mode"], mode.name(), "{extra}");
        assert_eq!(seen["container"]["mtu"], mtu, "{extra}");
        let link = pod.nl.link_get(LinkId::Name("eth0")).unwrap();
        assert_eq!(r["interfaces"][0]["mac"], link.mac.unwrap().to_string());
        if let Some(m) = mac {
            assert_eq!(r["interfaces"][0]["mac"], m, "{extra}");
        }
        let check = Request {
            args,
            ..Request::new("CHECK", "ctr", &pod.path)
        };
        sb.exec(Impl::Twill, "macvlan", &check, &with_prev(&c, &r))
            .ok();
        run(&sb, "DEL", "ctr", &pod, &c).ok();
    }

    // Passthru: the one child takes the parent's place, with the parent's MAC.
    let _solo = sb.wire(None, "up1", &[], &[]);
    let mut pod = sb.pod("pt");
    let c = conf(
        &sb,
        "1.0.0",
        json!({"master": "up1", "mode": "passthru", "ipam": null}),
    );
    let r = run(&sb, "ADD", "ctr", &pod, &c).ok();
    let up1 = sb.host.nl.link_get(LinkId::Name("up1")).unwrap();
    let seen = state::child(&mut pod, "eth0", up1.index, false);
    assert_eq!(seen["mode"], "passthru");
    assert_eq!(r["interfaces"][0]["mac"], up1.mac.unwrap().to_string());
    run(&sb, "CHECK", "ctr", &pod, &with_prev(&c, &r)).ok();
    run(&sb, "DEL", "ctr", &pod, &c).ok();
    // Passthru with a MAC asked for: the result says what the kernel made of it.
    let mut c = c.clone();
    c["mac"] = "02:00:00:00:20:09".into();
    let r = run(&sb, "ADD", "ctr", &pod, &c).ok();
    let link = pod.nl.link_get(LinkId::Name("eth0")).unwrap();
    assert_eq!(r["interfaces"][0]["mac"], link.mac.unwrap().to_string());
    run(&sb, "CHECK", "ctr", &pod, &with_prev(&c, &r)).ok();
    run(&sb, "DEL", "ctr", &pod, &c).ok();
}

#[test]
fn the_default_master_is_the_default_route_interface() {
    let (mut sb, _wire) = world();
    let mut pod = sb.pod("p");
    let c = conf(&sb, "1.0.0", json!({"master": null}));
    // No default route: nothing to pick.
    let (code, msg) = run(&sb, "ADD", "ctr", &pod, &c).err();
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("master"), "{msg}");
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());

    // A second parent carries the default route.
    let _other = sb.wire(None, "up2", &["198.18.21.1/24"], &["198.18.21.2/24"]);
    default_route(&mut sb.host, "up2", "198.18.21.2");
    let r = run(&sb, "ADD", "ctr", &pod, &c).ok();
    let up2 = sb.host.nl.link_index("up2").unwrap();
    let seen = state::child(&mut pod, "eth0", up2, false);
    assert_eq!(seen["parent_ok"], true, "{seen:#}");
    run(&sb, "CHECK", "ctr", &pod, &with_prev(&c, &r)).ok();
    run(&sb, "DEL", "ctr", &pod, &c).ok();
}

#[test]
fn a_parent_inside_the_container() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let wire = sb.wire(
        Some(&mut pod),
        "cp0",
        &[],
        &["10.20.0.254/24", "fd00:20::fe/64"],
    );
    let parent = pod.nl.link_index("cp0").unwrap();
    let c = conf(
        &sb,
        "1.0.0",
        json!({"master": "cp0", "linkInContainer": true}),
    );
    let r = run(&sb, "ADD", "ctr", &pod, &c).ok();
    let seen = state::child(&mut pod, "eth0", parent, true);
    assert_eq!(seen["parent_ok"], true, "{seen:#}");
    traffic::udp(&pod, &wire.far, ip("fd00:20::fe")).unwrap();
    traffic::udp(&wire.far, &pod, ip("10.20.0.2")).unwrap();
    run(&sb, "CHECK", "ctr", &pod, &with_prev(&c, &r)).ok();
    // The host has no such parent: without linkInContainer the same master is refused.
    let mut host_side = c.clone();
    host_side["linkInContainer"] = false.into();
    let (code, msg) = run(&sb, "CHECK", "ctr", &pod, &with_prev(&host_side, &r)).err();
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("master"), "{msg}");
    run(&sb, "DEL", "ctr", &pod, &c).ok();
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());
    assert!(pod.nl.link_get(LinkId::Name("cp0")).is_ok());
}

#[test]
fn del_without_namespace_or_parent() {
    let (mut sb, _wire) = world();
    let (a, b) = (sb.pod("a"), sb.pod("b"));
    let c = conf(&sb, "1.0.0", json!({}));
    run(&sb, "ADD", "ctr-a", &a, &c).ok();
    run(&sb, "ADD", "ctr-b", &b, &c).ok();
    // The pod died before its DEL.
    let gone = sb.delete_pod(a);
    let req = Request::new("DEL", "ctr-a", &gone);
    sb.exec(Impl::Twill, "macvlan", &req, &c).ok();
    assert_eq!(sb.reserved(NET), ["10.20.0.3", "fd00:20::3"]);
    // No CNI_NETNS at all.
    let req = Request {
        netns: None,
        ..Request::new("DEL", "ctr-a", Path::new("/"))
    };
    sb.exec(Impl::Twill, "macvlan", &req, &c).ok();
    // The parent is gone (its children went with it): DEL still releases.
    sb.host.nl.link_delete(LinkId::Name("up0")).unwrap();
    run(&sb, "DEL", "ctr-b", &b, &c).ok();
    assert!(sb.reserved(NET).is_empty());
}

#[test]
fn check_detects_drift() {
    let (mut sb, _wire) = world();
    let mut pod = sb.pod("p");
    let c = conf(&sb, "1.0.0", json!({}));
    let r = run(&sb, "ADD", "ctr", &pod, &c).ok();
    let ok = with_prev(&c, &r);
    run(&sb, "CHECK", "ctr", &pod, &ok).ok();

    let expect = |sb: &Sandbox, pod: &Ns, conf: &Value, needle: &str| {
        let (code, msg) = run(sb, "CHECK", "ctr", pod, conf).err();
        assert!(msg.contains(needle), "{needle}: {code} {msg}");
    };
    // Another mode than configured.
    expect(
        &sb,
        &pod,
        &with_prev(&conf(&sb, "1.0.0", json!({"mode": "vepa"})), &r),
        "mode",
    );
    // Another MAC than recorded.
    let mut other_mac = r.clone();
    other_mac["interfaces"][0]["mac"] = "02:00:00:00:00:99".into();
    expect(&sb, &pod, &with_prev(&c, &other_mac), "Mac");
    // No prevResult.
    expect(&sb, &pod, &c, "prevResult");
    // Another sandbox.
    let mut elsewhere = r.clone();
    elsewhere["interfaces"][0]["sandbox"] = "/run/netns/elsewhere".into();
    expect(&sb, &pod, &with_prev(&c, &elsewhere), "Sandbox");
    // The default route removed.
    let index = pod.nl.link_index("eth0").unwrap();
    let routes = pod.nl.route_list(None, None).unwrap();
    let default = routes
        .iter()
        .find(|r| r.dst.is_empty() && r.oif == Some(index))
        .unwrap();
    pod.nl.route_delete(default).unwrap();
    expect(&sb, &pod, &ok, "0.0.0.0/0");
    // An address removed.
    let addr = pod
        .nl
        .addr_list(None, Some(index))
        .unwrap()
        .into_iter()
        .find(|a| a.prefix.to_string() == "10.20.0.2/24")
        .unwrap();
    pod.nl.addr_delete(&addr).unwrap();
    expect(&sb, &pod, &ok, "10.20.0.2/24");
    // The interface gone.
    pod.nl.link_delete(LinkId::Name("eth0")).unwrap();
    expect(&sb, &pod, &ok, "eth0");
    run(&sb, "DEL", "ctr", &pod, &c).ok();
}

#[test]
fn bad_input_is_refused_naming_the_field_and_leaves_nothing() {
    let (mut sb, _wire) = world();
    let mut pod = sb.pod("p");
    for (extra, code, field) in [
        (json!({"mtu": 9000}), 7, "mtu"),
        (json!({"mtu": -1}), 7, "mtu"),
        (json!({"master": "nope0"}), 7, "master"),
        (json!({"master": "a/b"}), 7, "master"),
        (json!({"mode": "l3"}), 7, "mode"),
        (json!({"mode": 4}), 6, "mode"),
        (json!({"mac": "02:00:00:00:00"}), 7, "mac"),
        (
            json!({"runtimeConfig": {"mac": "ff:ff:ff:ff:ff:ff"}}),
            7,
            "runtimeConfig.mac",
        ),
        (json!({"linkInContainer": 1}), 6, "linkInContainer"),
    ] {
        let c = conf(&sb, "1.0.0", extra.clone());
        let (got, msg) = run(&sb, "ADD", "ctr", &pod, &c).err();
        assert_eq!(got, code, "{extra}: {msg}");
        assert!(msg.contains(field), "{extra}: {msg}");
    }
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());
    assert!(sb.reserved(NET).is_empty());

    // IPAM fails after the child exists: the child goes.
    let mut broken = conf(&sb, "1.0.0", json!({}));
    broken["ipam"]["ranges"] = json!([[{"subnet": "10.20.0.0/33"}]]);
    run(&sb, "ADD", "ctr", &pod, &broken).err();
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());

    // A second ADD of the same interface fails without touching the first's address.
    let c = conf(&sb, "1.0.0", json!({}));
    run(&sb, "ADD", "ctr", &pod, &c).ok();
    let (_, msg) = run(&sb, "ADD", "ctr-2", &pod, &c).err();
    assert!(msg.contains("eth0"), "{msg}");
    assert_eq!(sb.reserved(NET), ["10.20.0.2", "fd00:20::2"]);
    run(&sb, "DEL", "ctr", &pod, &c).ok();
}

#[test]
fn a_host_link_of_the_same_name_is_no_clash() {
    let (mut sb, _wire) = world();
    let _host_eth0 = sb.wire(None, "eth0", &[], &[]);
    let mut pod = sb.pod("p");
    let c = conf(&sb, "1.0.0", json!({}));
    run(&sb, "ADD", "ctr", &pod, &c).ok();
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_ok());
    run(&sb, "DEL", "ctr", &pod, &c).ok();
    assert!(sb.host.nl.link_get(LinkId::Name("eth0")).is_ok());
}

#[test]
fn gc_releases_stale_reservations_and_status_reports_the_ipam() {
    let (mut sb, _wire) = world();
    let (a, b) = (sb.pod("a"), sb.pod("b"));
    let c = conf(&sb, "1.1.0", json!({}));
    run(&sb, "ADD", "ctr-a", &a, &c).ok();
    run(&sb, "ADD", "ctr-b", &b, &c).ok();
    let mut g = c.clone();
    g["cni.dev/valid-attachments"] = json!([{"containerID": "ctr-b", "ifname": "eth0"}]);
    run(&sb, "GC", "", &b, &g).ok();
    assert_eq!(sb.reserved(NET), ["10.20.0.3", "fd00:20::3"]);
    run(&sb, "STATUS", "", &b, &c).ok();
    let mut broken = c.clone();
    broken["ipam"]["type"] = "no-such-ipam".into();
    let (code, _) = run(&sb, "STATUS", "", &b, &broken).err();
    assert_ne!(code, 0);
    for (id, pod) in [("ctr-a", &a), ("ctr-b", &b)] {
        run(&sb, "DEL", id, pod, &c).ok();
    }
}
