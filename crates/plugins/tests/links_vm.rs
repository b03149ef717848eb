//! dummy, vlan, vrf — and host-device with a real PCI (virtio) NIC handed back by the
//! kernel — against Debian's kernel in one VM boot (this machine's kernel has no dummy,
//! 802.1Q or vrf, and no device a destroyed namespace hands back): results, the kernel's
//! state, traffic over a tagged link, differential against the reference vlan and vrf
//! (v1.1.1), DEL idempotent, CHECK, GC and STATUS.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use support::run::Request;
use support::{state, traffic, Impl, Ns, Sandbox};
use twill_kernel::bridge_vlan::PortVlan;
use twill_kernel::link_kinds::{Kind, KindInfo, LinkKind};
use twill_kernel::{Address, IpPrefix, LinkId, Netlink, NewLink};
use twill_test_support::vm::{self, Nic, VmOptions};
use twill_test_support::{HostSettings, Namespaces};

/// The host's side: one VM with a NIC (for host-device), this file's guest test in it.
#[test]
fn link_plugins_in_a_vm() {
    if vm::in_guest() {
        return guest();
    }
    let mut nss = Namespaces::new();
    let ns = nss.host("vm", &HostSettings::default());
    let opts = VmOptions::default()
        .nic(Nic::tap(&ns, "tap0"))
        .timeout(Duration::from_secs(400));
    let out = vm::run_test("link_plugins_in_a_vm", &opts);
    eprintln!("boot {:?}, total {:?}", out.boot, out.total);
    for line in out.stderr.lines().filter(|l| l.contains(" done after ")) {
        eprintln!("guest: {line}");
    }
    assert!(
        out.stderr.contains("bridge vlans done after"),
        "{}",
        out.stderr
    );
}

fn guest() {
    let t = std::time::Instant::now();
    dummy();
    eprintln!("dummy done after {:?}", t.elapsed());
    vlan();
    eprintln!("vlan done after {:?}", t.elapsed());
    vrf();
    eprintln!("vrf done after {:?}", t.elapsed());
    host_device_handed_back();
    eprintln!("host-device done after {:?}", t.elapsed());
    every_version();
    eprintln!("versions done after {:?}", t.elapsed());
    bridge_vlans();
    eprintln!("bridge vlans done after {:?}", t.elapsed());
    never_executes_a_program();
}

/// Every spec version: dummy (IPv4), vlan over a master in the pod (IPv6) and vrf chained
/// on the dummy — ADD, CHECK where the version has it, DEL; vrf refuses versions before
/// 0.3.1 (code 1), as the reference.
fn every_version() {
    const ALL: [&str; 7] = [
        "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
    ];
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    pod.nl.link_add(&NewLink::veth("pm0", "pm0p")).unwrap();
    pod.nl.link_set_up(LinkId::Name("pm0")).unwrap();
    for v in ALL {
        let dummy = sb.conf(json!({"cniVersion": v, "name": "ev", "type": "dummy",
            "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.59.0.0/24"}]]}}));
        let vlan = sb.conf(json!({"cniVersion": v, "name": "ev6", "type": "vlan",
            "master": "pm0", "vlanId": 30, "linkInContainer": true,
            "ipam": {"type": "host-local", "ranges": [[{"subnet": "fd00:59::/64"}]]}}));
        let mut vrf = json!({"cniVersion": v, "name": "ev", "type": "vrf", "vrfname": "green"});
        let req = |cmd, ifname| Request {
            ifname,
            ..Request::new(cmd, "ctr", &pod.path)
        };
        let rd = sb
            .exec(Impl::Twill, "dummy", &req("ADD", "eth0"), &dummy)
            .ok();
        let rv = sb
            .exec(Impl::Twill, "vlan", &req("ADD", "eth1"), &vlan)
            .ok();
        assert_eq!(rd["cniVersion"], v);
        assert_eq!(rv["cniVersion"], v);
        vrf["prevResult"] = rd.clone();
        let chained = sb.exec(Impl::Twill, "vrf", &req("ADD", "eth0"), &vrf);
        if v < "0.3.1" {
            assert_eq!(chained.err().0, 1, "vrf at {v}");
        } else {
            assert_eq!(chained.ok(), rd, "vrf passes its prevResult through at {v}");
        }
        if v >= "0.4.0" {
            for (plugin, ifname, conf, prev) in [
                ("dummy", "eth0", &dummy, &rd),
                ("vlan", "eth1", &vlan, &rv),
                ("vrf", "eth0", &vrf, &rd),
            ] {
                let mut check = conf.clone();
                check["prevResult"] = prev.clone();
                sb.exec(Impl::Twill, plugin, &req("CHECK", ifname), &check)
                    .ok();
            }
        }
        if v >= "0.3.1" {
            sb.exec(Impl::Twill, "vrf", &req("DEL", "eth0"), &vrf).ok();
            assert!(pod.nl.link_get(LinkId::Name("green")).is_err(), "{v}");
        }
        sb.exec(Impl::Twill, "dummy", &req("DEL", "eth0"), &dummy)
            .ok();
        sb.exec(Impl::Twill, "vlan", &req("DEL", "eth1"), &vlan)
            .ok();
        assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err(), "{v}");
        assert!(pod.nl.link_get(LinkId::Name("eth1")).is_err(), "{v}");
    }
    assert!(sb.reserved("ev").is_empty() && sb.reserved("ev6").is_empty());
}

/// The VLANs of the host port of a bridge result.
fn port_vlans(sb: &mut Sandbox, result: &Value) -> Vec<PortVlan> {
    let port = result["interfaces"][1]["name"].as_str().unwrap();
    let index = sb.host.nl.link_index(port).unwrap();
    let mut v = sb.host.nl.bridge_port_vlans(index).unwrap();
    v.sort_by_key(|p| p.vid);
    v
}

fn bridge_conf(sb: &Sandbox, extra: Value) -> Value {
    let mut c = sb.conf(
        json!({"cniVersion": "1.0.0", "name": "bv", "type": "bridge",
        "bridge": "br-vl",
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.57.0.0/24"}]]}}),
    );
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// The bridge's VLAN keys: two pods on VLAN 10 reach each other, one on VLAN 20 (without the
/// default VLAN) reaches neither; a trunk port carries its VLANs tagged; CHECK sees a VLAN
/// removed; the reference (v1.1.1, `vlan` only) gives an access port the same VLANs, and
/// leaves an existing bridge unfiltered where twill turns filtering on.
fn bridge_vlans() {
    let mut sb = Sandbox::new();
    let (a, b, c) = (sb.pod("a"), sb.pod("b"), sb.pod("c"));
    let ten = bridge_conf(&sb, json!({"vlan": 10}));
    let twenty = bridge_conf(&sb, json!({"vlan": 20, "preserveDefaultVlan": false}));
    let ra = sb.twill("bridge", "ADD", "a", &a.path, &ten).ok();
    let rb = sb.twill("bridge", "ADD", "b", &b.path, &ten).ok();
    let rc = sb.twill("bridge", "ADD", "c", &c.path, &twenty).ok();
    assert_eq!(
        sb.host
            .nl
            .bridge_vlan_filtering(LinkId::Name("br-vl"))
            .unwrap(),
        Some(true)
    );
    let ip = |r: &Value| {
        r["ips"][0]["address"]
            .as_str()
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(traffic::udp(&a, &b, ip(&rb)), Ok(()));
    assert!(
        traffic::udp(&a, &c, ip(&rc)).is_err(),
        "VLAN 10 reached VLAN 20"
    );
    assert!(
        traffic::udp(&c, &a, ip(&ra)).is_err(),
        "VLAN 20 reached VLAN 10"
    );
    let tagged1 = PortVlan {
        untagged: true,
        ..PortVlan::tagged(1)
    };
    assert_eq!(
        port_vlans(&mut sb, &ra),
        vec![tagged1, PortVlan::access(10)]
    );
    assert_eq!(port_vlans(&mut sb, &rc), vec![PortVlan::access(20)]);
    let mut check = ten.clone();
    check["prevResult"] = ra.clone();
    sb.twill("bridge", "CHECK", "a", &a.path, &check).ok();
    let mut check_c = twenty.clone();
    check_c["prevResult"] = rc.clone();
    sb.twill("bridge", "CHECK", "c", &c.path, &check_c).ok();
    let pa = sb
        .host
        .nl
        .link_index(ra["interfaces"][1]["name"].as_str().unwrap())
        .unwrap();
    sb.host
        .nl
        .bridge_port_vlans_del(pa, &[PortVlan::tagged(10)])
        .unwrap();
    assert!(sb
        .twill("bridge", "CHECK", "a", &a.path, &check)
        .err()
        .1
        .contains("vlan 10"));

    let d = sb.pod("d");
    let trunk = bridge_conf(
        &sb,
        json!({"vlanTrunk": [{"id": 10}, {"minID": 30, "maxID": 32}]}),
    );
    let rd = sb.twill("bridge", "ADD", "d", &d.path, &trunk).ok();
    let want: Vec<PortVlan> = [10, 30, 31, 32].into_iter().map(PortVlan::tagged).collect();
    let mut with_default = vec![PortVlan {
        pvid: true,
        untagged: true,
        ..PortVlan::tagged(1)
    }];
    with_default.extend(want);
    assert_eq!(port_vlans(&mut sb, &rd), with_default);
    for (id, pod, conf) in [
        ("a", &a, &ten),
        ("b", &b, &ten),
        ("c", &c, &twenty),
        ("d", &d, &trunk),
    ] {
        sb.twill("bridge", "DEL", id, &pod.path, conf).ok();
    }
    assert!(sb.reserved("bv").is_empty());

    // Against the reference: an access port's VLANs, and an existing unfiltered bridge.
    let mut seen = Vec::new();
    for imp in [Impl::Twill, Impl::Reference] {
        let mut sb = Sandbox::new();
        sb.host.nl.link_add(&NewLink::bridge("br-vl")).unwrap();
        let pod = sb.pod("p");
        let conf = bridge_conf(&sb, json!({"vlan": 10}));
        let r = sb
            .exec(imp, "bridge", &Request::new("ADD", "ctr", &pod.path), &conf)
            .ok();
        let vlans = port_vlans(&mut sb, &r);
        let filtering = sb
            .host
            .nl
            .bridge_vlan_filtering(LinkId::Name("br-vl"))
            .unwrap();
        seen.push((vlans, filtering));
    }
    assert_eq!(
        seen[0].0, seen[1].0,
        "port vlans: ours {:?}, reference {:?}",
        seen[0], seen[1]
    );
    assert_eq!(seen[0].1, Some(true));
    assert_eq!(seen[1].1, Some(false), "the reference turned filtering on");
    vlan_gateway();
}

/// `isGateway` with `vlan`: the gateway on `br-vl.10`, a veth whose peer is a port of VLAN
/// 10; pods reach it and each other; result and state as the reference's. CHECK is ours
/// alone: the reference's fails whenever a later port has a lower MAC than the bridge had at
/// ADD (a bridge without a MAC of its own takes its ports' lowest, and the reference compares
/// it with the result's), which random MACs make a coin toss; twill's bridge keeps its MAC.
fn vlan_gateway() {
    let mut seen = Vec::new();
    for imp in [Impl::Twill, Impl::Reference] {
        let mut sb = Sandbox::new();
        let (a, b) = (sb.pod("a"), sb.pod("b"));
        let mut conf = bridge_conf(&sb, json!({"vlan": 10, "isGateway": true}));
        conf["ipam"]["ranges"] = json!([[{"subnet": "10.58.0.0/24"}]]);
        let ra = sb
            .exec(imp, "bridge", &Request::new("ADD", "a", &a.path), &conf)
            .ok();
        let rb = sb
            .exec(imp, "bridge", &Request::new("ADD", "b", &b.path), &conf)
            .ok();
        let gw = sb.host.nl.link_get(LinkId::Name("br-vl.10")).unwrap();
        let peer = gw.link.unwrap();
        let mut addrs: Vec<String> = sb
            .host
            .nl
            .addr_list(None, Some(gw.index))
            .unwrap()
            .into_iter()
            .filter(|x| x.scope == twill_kernel::Scope::UNIVERSE)
            .map(|x| x.prefix.to_string())
            .collect();
        addrs.sort();
        let mut peer_vlans = sb.host.nl.bridge_port_vlans(peer).unwrap();
        peer_vlans.sort_by_key(|p| p.vid);
        let mut check = conf.clone();
        check["prevResult"] = ra.clone();
        let checked = sb.exec(imp, "bridge", &Request::new("CHECK", "a", &a.path), &check);
        seen.push(json!({
            "result": state::normalized(ra.clone()),
            "gw_up": gw.is_up(),
            "gw_addrs": addrs,
            "peer_vlans": format!("{peer_vlans:?}"),
            "to_gateway": traffic::udp(&a, &sb.host, "10.58.0.1".parse().unwrap()),
            "to_b": traffic::udp(&a, &b, rb["ips"][0]["address"].as_str().unwrap().split('/').next().unwrap().parse().unwrap()),
        }));
        if imp == Impl::Twill {
            assert_eq!(
                checked.exit,
                Some(0),
                "CHECK: {}",
                String::from_utf8_lossy(&checked.stdout)
            );
        }
        for (id, pod) in [("a", &a), ("b", &b)] {
            sb.exec(imp, "bridge", &Request::new("DEL", id, &pod.path), &conf)
                .ok();
        }
    }
    assert_eq!(seen[0]["to_gateway"], json!({"Ok": null}), "{:#}", seen[0]);
    assert_eq!(seen[0]["to_b"], json!({"Ok": null}), "{:#}", seen[0]);
    assert_eq!(
        seen[0], seen[1],
        "\n ours: {:#}\ntheirs: {:#}",
        seen[0], seen[1]
    );
}

/// dummy, vrf chained on it, and vlan through ADD, CHECK, GC and DEL with `ip`, `sh` and
/// friends on PATH replaced by traps.
fn never_executes_a_program() {
    let mut sb = Sandbox::new();
    let (traps, marker) = sb.traps(&["ip", "sh", "bridge", "modprobe"]);
    let pod = sb.pod("p");
    sb.host.nl.link_add(&NewLink::veth("m0", "m0p")).unwrap();
    sb.host.nl.link_set_up(LinkId::Name("m0")).unwrap();
    let ipam = |net: &str| json!({"type": "host-local", "ranges": [[{"subnet": net}]]});
    let dummy = sb.conf(json!({"cniVersion": "1.1.0", "name": "nx", "type": "dummy",
                               "ipam": ipam("10.55.0.0/24")}));
    let vlan = sb.conf(json!({"cniVersion": "1.1.0", "name": "nx2", "type": "vlan",
                              "master": "m0", "vlanId": 7, "ipam": ipam("10.56.0.0/24")}));
    let run = |plugin: &str, cmd: &str, ifname: &str, conf: &Value| {
        let req = Request {
            ifname,
            path: Some(&traps),
            ..Request::new(cmd, "ctr", &pod.path)
        };
        sb.exec(Impl::Twill, plugin, &req, conf).ok()
    };
    let r = run("dummy", "ADD", "eth0", &dummy);
    let mut vrf = json!({"cniVersion": "1.1.0", "name": "nx", "type": "vrf", "vrfname": "v"});
    vrf["prevResult"] = r.clone();
    run("vrf", "ADD", "eth0", &vrf);
    let v = run("vlan", "ADD", "eth1", &vlan);
    let mut gc = dummy.clone();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "ctr", "ifname": "eth0"}]);
    for (plugin, ifname, conf, prev) in [("dummy", "eth0", &dummy, &r), ("vlan", "eth1", &vlan, &v)]
    {
        let mut check = conf.clone();
        check["prevResult"] = prev.clone();
        run(plugin, "CHECK", ifname, &check);
    }
    run("vrf", "CHECK", "eth0", &vrf);
    run("dummy", "GC", "eth0", &gc);
    run("vrf", "DEL", "eth0", &vrf);
    run("dummy", "DEL", "eth0", &dummy);
    run("vlan", "DEL", "eth1", &vlan);
    assert!(
        !marker.exists(),
        "a plugin executed: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}

fn kind(ns: &mut Ns, name: &str) -> KindInfo {
    ns.nl.link_kind_info(LinkId::Name(name)).unwrap()
}

/// dummy at an old, a CHECK-capable and the latest version: the link, its addresses and
/// routes, CHECK, a second ADD refused with the first intact, DEL twice, GC and STATUS.
fn dummy() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    for v in ["0.2.0", "0.4.0", "1.1.0"] {
        let c = sb.conf(json!({"cniVersion": v, "name": "dm", "type": "dummy",
            "ipam": {"type": "host-local", "routes": [{"dst": "10.99.0.0/16"}],
                     "ranges": [[{"subnet": "10.50.0.0/24"}], [{"subnet": "fd00:50::/64"}]]}}));
        let r = sb.twill("dummy", "ADD", "ctr", &pod.path, &c).ok();
        let s = state::container(&mut pod, "eth0");
        assert_eq!(s["kind"], "dummy", "{v}: {s}");
        assert_eq!(s["up"], true, "{v}: {s}");
        let addrs = s["addrs"].to_string();
        assert!(
            addrs.contains("\"10.50.0.") && addrs.contains("\"fd00:50::"),
            "{s}"
        );
        assert!(s["routes"].to_string().contains("10.99.0.0/16"), "{s}");
        if v >= "0.4.0" {
            let mut check = c.clone();
            check["prevResult"] = r.clone();
            sb.twill("dummy", "CHECK", "ctr", &pod.path, &check).ok();
            assert_eq!(r["interfaces"][0]["name"], "eth0", "{r}");
        }
        let (_, msg) = sb.twill("dummy", "ADD", "ctr", &pod.path, &c).err();
        assert!(msg.contains("eth0"), "{msg}");
        assert_eq!(sb.reserved("dm").len(), 2, "a refused ADD released");
        assert_eq!(
            kind(&mut pod, "eth0"),
            KindInfo::Other(Some("dummy".into()))
        );
        if v == "1.1.0" {
            let mut gc = c.clone();
            gc["cni.dev/valid-attachments"] = json!([{"containerID": "ctr", "ifname": "eth0"}]);
            sb.twill("dummy", "GC", "", &pod.path, &gc).ok();
            assert_eq!(sb.reserved("dm").len(), 2);
            let status = Request {
                netns: None,
                ..Request::new("STATUS", "", &pod.path)
            };
            sb.exec(Impl::Twill, "dummy", &status, &c).ok();
        }
        sb.twill("dummy", "DEL", "ctr", &pod.path, &c).ok();
        assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err(), "{v}");
        assert!(sb.reserved("dm").is_empty());
        sb.twill("dummy", "DEL", "ctr", &pod.path, &c).ok();
    }
    // DEL without CNI_NETNS releases the addresses (the link stays until a DEL that can
    // reach it); with the namespace gone, DEL succeeds — for dummy and vlan alike.
    sb.host.nl.link_add(&NewLink::veth("m1", "m1p")).unwrap();
    sb.host.nl.link_set_up(LinkId::Name("m1")).unwrap();
    let ipam = |net: &str| json!({"type": "host-local", "ranges": [[{"subnet": net}]]});
    let dummy = sb.conf(json!({"cniVersion": "1.0.0", "name": "dm", "type": "dummy",
                               "ipam": ipam("10.50.1.0/24")}));
    let vlan = sb.conf(json!({"cniVersion": "1.0.0", "name": "dm", "type": "vlan",
                              "master": "m1", "vlanId": 5, "ipam": ipam("10.50.2.0/24")}));
    for (plugin, ifname, conf) in [("dummy", "eth0", &dummy), ("vlan", "eth1", &vlan)] {
        let req = Request {
            ifname,
            ..Request::new("ADD", "ctr", &pod.path)
        };
        sb.exec(Impl::Twill, plugin, &req, conf).ok();
        let del = Request {
            ifname,
            netns: None,
            ..Request::new("DEL", "ctr", &pod.path)
        };
        sb.exec(Impl::Twill, plugin, &del, conf).ok();
        assert!(pod.nl.link_get(LinkId::Name(ifname)).is_ok(), "{plugin}");
    }
    assert!(sb.reserved("dm").is_empty());
    let path = sb.delete_pod(pod);
    for (plugin, ifname, conf) in [("dummy", "eth0", &dummy), ("vlan", "eth1", &vlan)] {
        let del = Request {
            ifname,
            ..Request::new("DEL", "ctr", &path)
        };
        sb.exec(Impl::Twill, plugin, &del, conf).ok();
    }
}

/// One vlan attachment through `imp` in a fresh world: master `m0` in the host, its peer in
/// a "far" namespace with vlan 10 and 10.51.0.100; what was observed.
fn vlan_world(imp: Impl, v: &str) -> Value {
    let mut sb = Sandbox::new();
    let mut far = sb.another_host("far", &HostSettings::default());
    let pod = sb.pod("p");
    let mut pod = pod;
    sb.host
        .nl
        .link_add(&NewLink::veth("m0", "m0p").peer_netns(far.ns.as_fd()))
        .unwrap();
    sb.host.nl.link_set_up(LinkId::Name("m0")).unwrap();
    far.nl.link_set_up(LinkId::Name("m0p")).unwrap();
    let parent = far.nl.link_index("m0p").unwrap();
    far.nl
        .link_add_kind(&LinkKind::new("m0p.10", Kind::Vlan { parent, id: 10 }))
        .unwrap();
    let idx = far.nl.link_index("m0p.10").unwrap();
    let p: IpPrefix = "10.51.0.100/24".parse().unwrap();
    far.nl.addr_add(&Address::new(idx, p)).unwrap();
    far.nl.link_set_up(LinkId::Index(idx)).unwrap();

    let c = sb.conf(json!({"cniVersion": v, "name": "vl", "type": "vlan",
        "master": "m0", "vlanId": 10, "mtu": 1400,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.51.0.0/24"}]]}}));
    let r = sb
        .exec(imp, "vlan", &Request::new("ADD", "ctr", &pod.path), &c)
        .ok();
    let mut seen = json!({
        "result": state::normalized(r.clone()),
        "container": state::container(&mut pod, "eth0"),
        "kind": format!("{:?}", kind(&mut pod, "eth0")),
        "traffic": traffic::udp(&pod, &far, "10.51.0.100".parse().unwrap()),
    });
    if v >= "0.4.0" {
        let mut check = c.clone();
        check["prevResult"] = r;
        let run = sb.exec(
            imp,
            "vlan",
            &Request::new("CHECK", "ctr", &pod.path),
            &check,
        );
        seen["check"] = json!(run.exit);
    }
    sb.exec(imp, "vlan", &Request::new("DEL", "ctr", &pod.path), &c)
        .ok();
    seen["after_del"] = json!({
        "link": pod.nl.link_get(LinkId::Name("eth0")).is_ok(),
        "reserved": sb.reserved("vl"),
    });
    seen
}

/// vlan against the reference at 0.3.1 and 1.0.0 (same result, container state, traffic
/// over the tagged link), then ours alone: linkInContainer, bad MTU, DEL twice.
fn vlan() {
    for v in ["0.3.1", "1.0.0"] {
        let ours = vlan_world(Impl::Twill, v);
        let theirs = vlan_world(Impl::Reference, v);
        assert_eq!(ours["traffic"], json!({"Ok": null}), "{ours:#}");
        assert!(
            ours["kind"].as_str().unwrap().contains("id: 10"),
            "{ours:#}"
        );
        assert_eq!(
            ours, theirs,
            "vlan at {v}\n ours: {ours:#}\ntheirs: {theirs:#}"
        );
    }
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    pod.nl.link_add(&NewLink::veth("pm0", "pm0p")).unwrap();
    // A vlan comes up only over a master that is up.
    pod.nl.link_set_up(LinkId::Name("pm0")).unwrap();
    let mut c = sb.conf(json!({"cniVersion": "1.1.0", "name": "vl", "type": "vlan",
        "master": "pm0", "vlanId": 20, "linkInContainer": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "fd00:51::/64"}]]}}));
    let r = sb.twill("vlan", "ADD", "ctr", &pod.path, &c).ok();
    assert_eq!(r["ips"][0]["address"], "fd00:51::2/64", "{r}");
    let link = pod.nl.link_get(LinkId::Name("eth0")).unwrap();
    assert_eq!(link.link, Some(pod.nl.link_index("pm0").unwrap()));
    assert_eq!(
        kind(&mut pod, "eth0"),
        KindInfo::Vlan {
            id: 20,
            protocol: Some(0x8100)
        }
    );
    let mut check = c.clone();
    check["prevResult"] = r;
    sb.twill("vlan", "CHECK", "ctr", &pod.path, &check).ok();
    let mut wrong = check.clone();
    wrong["vlanId"] = 21.into();
    assert!(sb
        .twill("vlan", "CHECK", "ctr", &pod.path, &wrong)
        .err()
        .1
        .contains("vlan id"));
    sb.twill("vlan", "DEL", "ctr", &pod.path, &c).ok();
    sb.twill("vlan", "DEL", "ctr", &pod.path, &c).ok();
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());
    c["mtu"] = 9000.into();
    let (code, msg) = sb.twill("vlan", "ADD", "ctr", &pod.path, &c).err();
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("mtu"), "{msg}");
    c["mtu"] = 0.into();
    c["master"] = "nope0".into();
    assert!(sb
        .twill("vlan", "ADD", "ctr", &pod.path, &c)
        .err()
        .1
        .contains("nope0"));
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());
    assert!(sb.reserved("vl").is_empty());
}

/// `dummy` (ours) then `vrf` (`imp`) for `eth0`, in a fresh world; what was observed.
fn vrf_world(imp: Impl) -> Value {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let d = sb.conf(json!({"cniVersion": "1.0.0", "name": "vr", "type": "dummy",
        "ipam": {"type": "host-local", "routes": [{"dst": "10.99.0.0/16"}],
                 "ranges": [[{"subnet": "10.52.0.0/24"}], [{"subnet": "fd00:52::/64"}]]}}));
    let r = sb.twill("dummy", "ADD", "ctr", &pod.path, &d).ok();
    let mut c = json!({"cniVersion": "1.0.0", "name": "vr", "type": "vrf", "vrfname": "blue"});
    c["prevResult"] = r.clone();
    let out = sb
        .exec(imp, "vrf", &Request::new("ADD", "ctr", &pod.path), &c)
        .ok();
    let blue = pod.nl.link_get(LinkId::Name("blue")).unwrap();
    let table = match kind(&mut pod, "blue") {
        KindInfo::Vrf { table } => table,
        other => panic!("{other:?}"),
    };
    let mut routes: Vec<String> = pod
        .nl
        .route_list(None, Some(table))
        .unwrap()
        .into_iter()
        .filter(|r| !r.dst.addr().to_string().starts_with("fe80") && !r.dst.addr().is_multicast())
        .filter(|r| r.kind == twill_kernel::RouteType::UNICAST)
        .map(|r| r.dst.to_string())
        .collect();
    routes.sort();
    let eth0 = pod.nl.link_get(LinkId::Name("eth0")).unwrap();
    json!({
        "output": out, "prev": r, "table": table, "up": blue.is_up(),
        "enslaved": eth0.master == Some(blue.index),
        "addrs": state::container(&mut pod, "eth0")["addrs"],
        "routes": routes,
    })
}

/// vrf against the reference: same result, table, enslaving, addresses; ours also moves the
/// interface's routes into the VRF's table (the reference v1.1.1 loses them). Then ours
/// alone: a second interface in the same VRF, a table mismatch, CHECK, DEL keeping the VRF
/// until its last interface goes, DEL twice.
fn vrf() {
    let ours = vrf_world(Impl::Twill);
    let theirs = vrf_world(Impl::Reference);
    for key in ["table", "up", "enslaved", "addrs"] {
        assert_eq!(
            ours[key], theirs[key],
            "{key}\n ours: {ours:#}\ntheirs: {theirs:#}"
        );
    }
    assert_eq!(ours["output"], ours["prev"], "{ours:#}");
    assert_eq!(theirs["output"], theirs["prev"], "{theirs:#}");
    assert_eq!(ours["table"], 1);
    let moved = ours["routes"].to_string();
    assert!(
        moved.contains("10.99.0.0/16") && moved.contains("10.52.0.0/24"),
        "{ours:#}"
    );
    assert!(
        !theirs["routes"].to_string().contains("10.99.0.0/16"),
        "{theirs:#}"
    );

    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let mut results = Vec::new();
    for ifname in ["eth0", "eth1"] {
        let d = sb.conf(json!({"cniVersion": "1.1.0", "name": "vr", "type": "dummy",
            "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.53.0.0/24"}]]}}));
        let req = Request {
            ifname,
            ..Request::new("ADD", "ctr", &pod.path)
        };
        let r = sb.exec(Impl::Twill, "dummy", &req, &d).ok();
        let mut c = json!({"cniVersion": "1.1.0", "name": "vr", "type": "vrf",
                           "vrfname": "red", "table": 1234});
        c["prevResult"] = r;
        sb.exec(Impl::Twill, "vrf", &req, &c).ok();
        let check = Request {
            ifname,
            ..Request::new("CHECK", "ctr", &pod.path)
        };
        sb.exec(Impl::Twill, "vrf", &check, &c).ok();
        results.push(c);
    }
    assert_eq!(kind(&mut pod, "red"), KindInfo::Vrf { table: 1234 });
    let mut other = results[0].clone();
    other["table"] = 99.into();
    let req = Request {
        ifname: "eth0",
        ..Request::new("ADD", "ctr", &pod.path)
    };
    assert!(sb
        .exec(Impl::Twill, "vrf", &req, &other)
        .err()
        .1
        .contains("different routing table"));
    let mut no_prev = results[0].clone();
    no_prev.as_object_mut().unwrap().remove("prevResult");
    assert!(sb
        .exec(Impl::Twill, "vrf", &req, &no_prev)
        .err()
        .1
        .contains("prevResult"));
    for (i, ifname) in ["eth0", "eth1"].into_iter().enumerate() {
        let req = Request {
            ifname,
            ..Request::new("DEL", "ctr", &pod.path)
        };
        sb.exec(Impl::Twill, "vrf", &req, &results[i]).ok();
        let dev = pod.nl.link_get(LinkId::Name(ifname)).unwrap();
        assert_eq!(dev.master, None);
        let red = pod.nl.link_get(LinkId::Name("red"));
        assert_eq!(
            red.is_ok(),
            i == 0,
            "the VRF outlives only its first interface"
        );
        sb.exec(Impl::Twill, "vrf", &req, &results[i]).ok();
    }
    let old = json!({"cniVersion": "0.3.0", "name": "vr", "type": "vrf", "vrfname": "red"});
    let req = Request {
        ifname: "eth0",
        ..Request::new("ADD", "ctr", &pod.path)
    };
    assert_eq!(sb.exec(Impl::Twill, "vrf", &req, &old).err().0, 1);
}

/// The guest's virtio NIC, selected by `pciBusID` (found under the PCI device's virtio
/// directory), moved into a pod; the pod's namespace destroyed, so the kernel hands the
/// NIC back to the initial namespace under its container name; DEL renames it. The plugin
/// runs in the guest's initial namespace, as on a real host (a VM is its own machine).
fn host_device_handed_back() {
    let mut sb = Sandbox::new();
    let pod = sb.pod("p");
    let mut init = Netlink::open().unwrap();
    let eth0 = init.link_get(LinkId::Name("eth0")).unwrap();
    let dev = std::fs::canonicalize("/sys/class/net/eth0/device").unwrap();
    assert!(
        dev.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("virtio"),
        "{dev:?}"
    );
    let pci = dev
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let c = json!({"cniVersion": "1.1.0", "name": "hdpci", "type": "host-device",
        "pciBusID": pci, "dataDir": sb.tmp.join("hd").to_string_lossy(),
        "ipam": {"type": "host-local", "dataDir": sb.ipam_dir().to_string_lossy(),
                 "ranges": [[{"subnet": "10.54.0.0/24"}]]}});
    let bin = sb.bin_dir();
    let run = |cmd: &str, netns: &Path| {
        let mut child = Command::new(bin.join("host-device"))
            .env_clear()
            .env("CNI_COMMAND", cmd)
            .env("CNI_CONTAINERID", "ctr")
            .env("CNI_NETNS", netns)
            .env("CNI_IFNAME", "net1")
            .env("CNI_PATH", &bin)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        serde_json::to_writer(child.stdin.take().unwrap(), &c).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let r = run("ADD", &pod.path);
    assert!(r.contains("10.54.0.2/24"), "{r}");
    assert!(init.link_get(LinkId::Name("eth0")).is_err());
    let path = sb.delete_pod(pod);
    let mut back = None;
    for _ in 0..500 {
        if let Ok(l) = init.link_get(LinkId::Name("net1")) {
            back = Some(l);
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let back = back.expect("the kernel did not hand the NIC back");
    assert_eq!(back.mac, eth0.mac);
    assert_eq!(
        init.link_alias(LinkId::Index(back.index))
            .unwrap()
            .as_deref(),
        Some("eth0")
    );
    run("DEL", &path);
    let restored = init.link_get(LinkId::Name("eth0")).unwrap();
    assert_eq!(restored.mac, eth0.mac);
    assert_eq!(
        init.link_alias(LinkId::Index(restored.index)).unwrap(),
        None
    );
    assert!(sb.reserved("hdpci").is_empty());
    run("DEL", &path);
}
