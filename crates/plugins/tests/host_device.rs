//! host-device through twill and the reference (v1.1.1), each in its own host namespace:
//! the same device (a veth end with a fixed MAC) selected by `device`, `hwaddr` and
//! `kernelpath`, with no IPAM, IPv4, IPv6 and dual stack; results, the container's state
//! and the host's state after DEL compared at every version the reference speaks (0.1.0 to
//! 1.0.0); then ours at 1.1.0 (CHECK, GC, STATUS), CHECK failing on what it checks, and
//! no program executed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod hd_support;
mod support;

use std::path::Path;

use hd_support::{device, link_state, with_own_sysfs, MAC};
use serde_json::{json, Value};
use support::run::Request;
use support::{state, Impl, Sandbox};
use twill_kernel::{LinkId, NewLink};

const VERSIONS: [&str; 6] = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"];

/// The plugin to run: by name, or through the own-sysfs wrapper (for `kernelpath`).
#[derive(Clone, Copy)]
enum Via {
    Direct,
    OwnSysfs,
}

fn run(sb: &Sandbox, imp: Impl, via: Via, req: &Request<'_>, conf: &Value) -> support::run::Run {
    match via {
        Via::Direct => sb.exec(imp, "host-device", req, conf),
        Via::OwnSysfs => {
            let target = sb.plugin(imp, "host-device");
            let name = match imp {
                Impl::Twill => "hd-sysfs-twill",
                Impl::Reference => "hd-sysfs-reference",
            };
            with_own_sysfs(sb, name, &target);
            // CNI_PATH stays the implementation's own (its IPAM).
            let cni = sb.cni_path(imp);
            let req = Request {
                cni_path: Some(&cni),
                ..req.clone()
            };
            sb.exec(Impl::Twill, name, &req, conf)
        }
    }
}

/// ADD, CHECK (from 0.4.0), DEL through `imp` in a fresh sandbox; what was observed.
fn observe(imp: Impl, via: Via, conf: &Value) -> Value {
    let mut sb = Sandbox::new();
    device(&mut sb, "hd0");
    // Another device, so that selection has a choice.
    sb.host.nl.link_add(&NewLink::veth("zz1", "zz1p")).unwrap();
    let mut pod = sb.pod("p");
    let mut c = sb.conf(conf.clone());
    // Records in the sandbox (the reference ignores the key).
    c["dataDir"] = sb.tmp.join("hd").to_string_lossy().into();
    let add = run(&sb, imp, via, &Request::new("ADD", "ctr", &pod.path), &c);
    let result = if add.exit == Some(0) {
        json!({"ok": state::normalized(add.json())})
    } else {
        json!({"err": add.err().0})
    };
    let mut seen = json!({
        "result": result,
        "container": state::container(&mut pod, "eth0"),
        "in_pod": {"up": link_state(&mut pod, "eth0")["up"], "mac": link_state(&mut pod, "eth0")["mac"]},
        "host_during": link_state(&mut sb.host, "hd0"),
    });
    if c["cniVersion"].as_str() >= Some("0.4.0") && add.exit == Some(0) {
        let mut check = c.clone();
        check["prevResult"] = add.json();
        let r = run(
            &sb,
            imp,
            via,
            &Request::new("CHECK", "ctr", &pod.path),
            &check,
        );
        seen["check"] = json!(r.exit);
    }
    let del = run(&sb, imp, via, &Request::new("DEL", "ctr", &pod.path), &c);
    let host = link_state(&mut sb.host, "hd0");
    seen["after_del"] = json!({
        "exit": del.exit,
        "container": link_state(&mut pod, "eth0"),
        "host": {"up": host["up"], "mac": host["mac"]},
        "reserved": sb.reserved("hd"),
    });
    seen["alias_after_del"] = host["alias"].clone();
    seen
}

fn compare(conf: Value, via: Via) {
    for v in VERSIONS {
        let mut c = conf.clone();
        c["cniVersion"] = v.into();
        let mut ours = observe(Impl::Twill, via, &c);
        let mut theirs = observe(Impl::Reference, via, &c);
        if conf.get("ipam").is_none() && v < "0.3.0" {
            // No address for a 0.1.0/0.2.0 result: twill refuses before moving anything
            // (code 1); the reference moves the device, fails to print (999) and leaves it
            // in the container until DEL.
            assert_eq!(ours["result"], json!({"err": 1}), "{ours:#}");
            assert_eq!(ours["host_during"]["mac"], MAC, "{ours:#}");
            assert_eq!(theirs["result"], json!({"err": 999}), "{theirs:#}");
            assert_eq!(theirs["in_pod"]["mac"], MAC, "{theirs:#}");
            assert_eq!(ours["after_del"], theirs["after_del"]);
            continue;
        }
        // The one deliberate difference: the reference leaves the host name as the alias,
        // twill puts back the alias the device had (none here).
        assert_eq!(ours["alias_after_del"], Value::Null, "at {v}: {ours:#}");
        if theirs["after_del"]["exit"] == 0 {
            assert_eq!(theirs["alias_after_del"], "hd0", "at {v}: {theirs:#}");
        }
        ours.as_object_mut().unwrap().remove("alias_after_del");
        theirs.as_object_mut().unwrap().remove("alias_after_del");
        assert_eq!(
            ours, theirs,
            "twill and the reference differ at {v} for {conf}\n ours: {ours:#}\ntheirs: {theirs:#}"
        );
    }
}

fn base(extra: Value) -> Value {
    let mut c = json!({"name": "hd", "type": "host-device"});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

#[test]
fn by_device_name_without_ipam() {
    compare(base(json!({"device": "hd0"})), Via::Direct);
}

#[test]
fn by_hwaddr_with_ipv4() {
    compare(
        base(json!({"hwaddr": MAC, "ipam": {"type": "host-local",
            "ranges": [[{"subnet": "10.20.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}})),
        Via::Direct,
    );
}

#[test]
fn by_kernelpath_with_ipv6() {
    compare(
        base(
            json!({"kernelpath": "/sys/devices/virtual", "ipam": {"type": "host-local",
            "ranges": [[{"subnet": "fd00:20::/64"}]],
            "routes": [{"dst": "::/0"}, {"dst": "fd00:21::/64", "gw": "fd00:20::fe"}]}}),
        ),
        Via::OwnSysfs,
    );
}

#[test]
fn by_device_dual_stack_with_dns() {
    compare(
        base(
            json!({"device": "hd0", "dns": {"nameservers": ["10.21.0.53"]},
            "ipam": {"type": "host-local",
            "ranges": [[{"subnet": "10.21.0.0/24"}], [{"subnet": "fd00:21::/64"}]]}}),
        ),
        Via::Direct,
    );
}

/// 1.1.0, which the reference does not speak: ADD, CHECK, GC keeping the attachment,
/// STATUS, DEL — with the device up on the host before, and up again after.
#[test]
fn every_command_at_1_1_0_and_the_up_state_comes_back() {
    let mut sb = Sandbox::new();
    device(&mut sb, "hd0");
    sb.host.nl.link_set_up(LinkId::Name("hd0")).unwrap();
    sb.host
        .nl
        .link_set_alias(LinkId::Name("hd0"), "uplink")
        .unwrap();
    let mut pod = sb.pod("p");
    let c = sb.conf(
        json!({"cniVersion": "1.1.0", "name": "hd", "type": "host-device",
        "device": "hd0", "dataDir": sb.tmp.join("hd").to_string_lossy(),
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.22.0.0/24"}]]}}),
    );
    let r = sb.twill("host-device", "ADD", "ctr", &pod.path, &c).ok();
    assert_eq!(r["interfaces"][0]["name"], "eth0");
    assert_eq!(r["interfaces"][0]["mac"], MAC);
    assert_eq!(r["ips"][0]["address"], "10.22.0.2/24");
    assert_eq!(r["ips"][0]["interface"], 0);
    assert_eq!(
        link_state(&mut pod, "eth0"),
        json!({"up": true, "mac": MAC, "alias": "hd0"})
    );
    let mut check = c.clone();
    check["prevResult"] = r.clone();
    sb.twill("host-device", "CHECK", "ctr", &pod.path, &check)
        .ok();
    let mut gc = c.clone();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "ctr", "ifname": "eth0"}]);
    sb.twill("host-device", "GC", "", &pod.path, &gc).ok();
    assert_eq!(sb.reserved("hd").len(), 1);
    assert!(link_state(&mut pod, "eth0").is_object());
    let status = Request {
        netns: None,
        ..Request::new("STATUS", "", &pod.path)
    };
    sb.exec(Impl::Twill, "host-device", &status, &c).ok();
    sb.twill("host-device", "DEL", "ctr", &pod.path, &c).ok();
    assert_eq!(
        link_state(&mut sb.host, "hd0"),
        json!({"up": true, "mac": MAC, "alias": "uplink"})
    );
    assert!(sb.reserved("hd").is_empty());
    assert!(!sb.tmp.join("hd/hd/ctr-eth0").exists());
}

/// CHECK fails for each thing it checks once it is no longer so.
#[test]
fn check_sees_what_changed() {
    let mut sb = Sandbox::new();
    device(&mut sb, "hd0");
    let mut pod = sb.pod("p");
    let c = sb.conf(
        json!({"cniVersion": "1.0.0", "name": "hd", "type": "host-device",
        "device": "hd0", "dataDir": sb.tmp.join("hd").to_string_lossy(),
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.23.0.0/24"}]],
                 "routes": [{"dst": "10.99.0.0/16"}]}}),
    );
    let r = sb.twill("host-device", "ADD", "ctr", &pod.path, &c).ok();
    let mut check = c.clone();
    check["prevResult"] = r.clone();
    let chk = |sb: &Sandbox, conf: &Value| sb.twill("host-device", "CHECK", "ctr", &pod.path, conf);
    chk(&sb, &check).ok();

    let mut wrong_mac = check.clone();
    wrong_mac["prevResult"]["interfaces"][0]["mac"] = "02:00:00:00:00:99".into();
    assert!(chk(&sb, &wrong_mac).err().1.contains("Mac"));
    let mut elsewhere = check.clone();
    elsewhere["prevResult"]["interfaces"][0]["sandbox"] = "/run/netns/other".into();
    assert!(chk(&sb, &elsewhere).err().1.contains("Sandbox"));
    let mut no_prev = c.clone();
    no_prev["prevResult"] = Value::Null;
    assert!(chk(&sb, &no_prev).err().1.contains("prevResult"));

    pod.nl.link_set_alias(LinkId::Name("eth0"), "").unwrap();
    assert!(chk(&sb, &check).err().1.contains("alias"));
    pod.nl.link_set_alias(LinkId::Name("eth0"), "hd0").unwrap();
    let route = twill_kernel::Route::new("10.99.0.0/16".parse().unwrap());
    pod.nl.route_delete(&route).unwrap();
    assert!(chk(&sb, &check).err().1.contains("10.99.0.0/16"));
    sb.twill("host-device", "DEL", "ctr", &pod.path, &c).ok();
    assert!(chk(&sb, &check).err().1.contains("eth0"));
}

/// ADD, CHECK, GC and DEL with `ip`, `sh` and friends on PATH replaced by traps.
#[test]
fn never_executes_a_program() {
    let mut sb = Sandbox::new();
    device(&mut sb, "hd0");
    let (traps, marker) = sb.traps(&["ip", "sh", "nsenter", "ethtool", "udevadm"]);
    let pod = sb.pod("p");
    let netns = pod.path_str();
    let c = sb.conf(
        json!({"cniVersion": "1.1.0", "name": "hd", "type": "host-device",
        "device": "hd0", "dataDir": sb.tmp.join("hd").to_string_lossy(),
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "fd00:24::/64"}]]}}),
    );
    let r = sb.run_with_path("host-device", "ADD", "ctr", &netns, &traps, &c);
    let mut check = c.clone();
    check["prevResult"] = r;
    sb.run_with_path("host-device", "CHECK", "ctr", &netns, &traps, &check);
    let mut gc = c.clone();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "ctr", "ifname": "eth0"}]);
    sb.run_with_path("host-device", "GC", "ctr", &netns, &traps, &gc);
    sb.run_with_path("host-device", "DEL", "ctr", &netns, &traps, &c);
    assert!(link_state(&mut sb.host, "hd0").is_object());
    assert!(
        !marker.exists(),
        "the plugin executed: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
    let _ = Path::new(&netns);
}
