//! The tap plugin (the reference v1.1.1 has none, so no differential): at every version,
//! with every key, the device the kernel reports (a persistent tap, multi-queue or not,
//! owner, group, MTU, MAC, bridge) and the addresses; CHECK seeing what changed; frames
//! leaving through the tap to the program holding it open; DEL idempotent; bad input
//! refused with its code and nothing left; no program executed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::Read;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::run::Request;
use support::{Impl, Ns, Sandbox};
use twill_kernel::tap::{self, TunInfo};
use twill_kernel::{LinkId, NewLink};

const ALL: [&str; 7] = [
    "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
];

fn req<'a>(cmd: &'a str, pod: &'a Ns) -> Request<'a> {
    Request {
        ifname: "tap0",
        ..Request::new(cmd, "ctr", &pod.path)
    }
}

fn tap_state(pod: &mut Ns) -> Value {
    let Ok(l) = pod.nl.link_get(LinkId::Name("tap0")) else {
        return Value::Null;
    };
    let info: TunInfo = pod.nl.tun_info(LinkId::Index(l.index)).unwrap().unwrap();
    let mut addrs: Vec<String> = pod
        .nl
        .addr_list(None, Some(l.index))
        .unwrap()
        .into_iter()
        .filter(|a| a.scope == twill_kernel::Scope::UNIVERSE)
        .map(|a| a.prefix.to_string())
        .collect();
    addrs.sort();
    json!({"tap": info.tap, "persist": info.persist, "multi_queue": info.multi_queue,
           "owner": info.owner, "group": info.group, "mtu": l.mtu, "up": l.is_up(),
           "mac": l.mac.map(|m| m.to_string()), "master": l.master.is_some(), "addrs": addrs})
}

/// Every version, every key (MAC from the config at one version, from `runtimeConfig` at
/// another), dual stack: the result, the device, CHECK (from 0.4.0), DEL twice.
#[test]
fn every_version_with_every_key() {
    for (i, v) in ALL.iter().enumerate() {
        let mut sb = Sandbox::new();
        let mut pod = sb.pod("p");
        pod.nl.link_add(&NewLink::bridge("br-vm")).unwrap();
        let multi = i % 2 == 0;
        let mut c = sb.conf(json!({
            "cniVersion": v, "name": "tapnet", "type": "tap",
            "mac": "02:00:5e:20:00:01", "mtu": 1400, "multiQueue": multi,
            "owner": 1000 + i, "group": 2000 + i, "bridge": "br-vm",
            "dns": {"nameservers": ["10.40.0.53"]},
            "ipam": {"type": "host-local",
                     "ranges": [[{"subnet": "10.40.0.0/24"}], [{"subnet": "fd00:40::/64"}]]},
        }));
        if i == 3 {
            c["runtimeConfig"] = json!({"mac": "02:00:5e:20:00:03"});
        }
        let want_mac = if i == 3 {
            "02:00:5e:20:00:03"
        } else {
            "02:00:5e:20:00:01"
        };
        let r = sb.exec(Impl::Twill, "tap", &req("ADD", &pod), &c).ok();
        assert_eq!(r["cniVersion"], *v);
        if *v < "0.3.0" {
            assert_eq!(r["ip4"]["ip"], "10.40.0.2/24", "{r}");
            assert_eq!(r["ip6"]["ip"], "fd00:40::2/64", "{r}");
        } else {
            assert_eq!(r["interfaces"][0]["name"], "tap0", "{r}");
            assert_eq!(r["interfaces"][0]["mac"], want_mac, "{r}");
            assert_eq!(r["interfaces"][0]["sandbox"], pod.path_str(), "{r}");
            assert_eq!(r["ips"][0]["interface"], 0, "{r}");
            assert_eq!(r["ips"][1]["address"], "fd00:40::2/64", "{r}");
        }
        assert_eq!(r["dns"]["nameservers"], json!(["10.40.0.53"]), "{r}");
        assert_eq!(
            tap_state(&mut pod),
            json!({"tap": true, "persist": true, "multi_queue": multi,
                   "owner": 1000 + i, "group": 2000 + i, "mtu": 1400, "up": true,
                   "mac": want_mac, "master": true,
                   "addrs": ["10.40.0.2/24", "fd00:40::2/64"]}),
            "at {v}"
        );
        if *v >= "0.4.0" {
            let mut check = c.clone();
            check["prevResult"] = r.clone();
            sb.exec(Impl::Twill, "tap", &req("CHECK", &pod), &check)
                .ok();
        }
        sb.exec(Impl::Twill, "tap", &req("DEL", &pod), &c).ok();
        assert_eq!(tap_state(&mut pod), Value::Null, "at {v}");
        assert!(sb.reserved("tapnet").is_empty());
        sb.exec(Impl::Twill, "tap", &req("DEL", &pod), &c).ok();
    }
}

/// Without IPAM (from 0.3.0: older results need an address), GC and STATUS at 1.1.0, and
/// the defaults: no owner or group, the kernel's MTU.
#[test]
fn layer_two_only_with_gc_and_status() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let c = json!({"cniVersion": "1.1.0", "name": "tapnet", "type": "tap"});
    let r = sb.exec(Impl::Twill, "tap", &req("ADD", &pod), &c).ok();
    assert_eq!(r["ips"], Value::Null, "{r}");
    let s = tap_state(&mut pod);
    assert_eq!(
        (s["owner"].clone(), s["group"].clone(), s["mtu"].clone()),
        (Value::Null, Value::Null, json!(1500))
    );
    let mut check = c.clone();
    check["prevResult"] = r;
    sb.exec(Impl::Twill, "tap", &req("CHECK", &pod), &check)
        .ok();
    sb.exec(Impl::Twill, "tap", &req("GC", &pod), &c).ok();
    let status = Request {
        netns: None,
        ..req("STATUS", &pod)
    };
    sb.exec(Impl::Twill, "tap", &status, &c).ok();
    let mut old = c.clone();
    old["cniVersion"] = "0.2.0".into();
    sb.exec(Impl::Twill, "tap", &req("DEL", &pod), &c).ok();
    // A 0.2.0 result needs an address: the ADD fails, and leaves no device.
    sb.exec(Impl::Twill, "tap", &req("ADD", &pod), &old).err();
    assert_eq!(tap_state(&mut pod), Value::Null);
}

/// A program opening the tap gets the frames the pod sends: a datagram to a neighbour on
/// the subnet makes the kernel ask for its MAC, and the ARP request arrives on the queue,
/// from the tap's MAC, for the neighbour's address.
#[test]
fn frames_reach_the_program_holding_the_tap() {
    let mut sb = Sandbox::new();
    let pod = sb.pod("p");
    let c = sb.conf(
        json!({"cniVersion": "1.0.0", "name": "tapnet", "type": "tap",
        "mac": "02:00:5e:20:00:07",
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.41.0.0/24"}]]}}),
    );
    sb.exec(Impl::Twill, "tap", &req("ADD", &pod), &c).ok();
    let frame = pod
        .ns
        .run(|| {
            let q = tap::open_queue("tap0").unwrap();
            twill_kernel::tun::set_nonblocking(std::os::fd::AsFd::as_fd(&q), true).unwrap();
            let mut file = std::fs::File::from(q);
            let sock = UdpSocket::bind("10.41.0.2:0").unwrap();
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut buf = [0u8; 2048];
            while Instant::now() < deadline {
                let _ = sock.send_to(b"x", "10.41.0.9:9");
                std::thread::sleep(Duration::from_millis(20));
                while let Ok(n) = file.read(&mut buf) {
                    // EtherType ARP, opcode request, target 10.41.0.9.
                    if n >= 42
                        && buf[12..14] == [0x08, 0x06]
                        && buf[21] == 1
                        && buf[38..42] == [10, 41, 0, 9]
                    {
                        return Some(buf[..42].to_vec());
                    }
                }
            }
            None
        })
        .unwrap()
        .expect("no ARP request on the tap");
    assert_eq!(&frame[6..12], &[0x02, 0x00, 0x5e, 0x20, 0x00, 0x07]);
    assert_eq!(&frame[28..32], &[10, 41, 0, 2]);
    sb.exec(Impl::Twill, "tap", &req("DEL", &pod), &c).ok();
}

/// CHECK fails for each thing it checks once it is no longer so.
#[test]
fn check_sees_what_changed() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    pod.nl.link_add(&NewLink::bridge("br-vm")).unwrap();
    let c = sb.conf(
        json!({"cniVersion": "1.0.0", "name": "tapnet", "type": "tap",
        "bridge": "br-vm", "mtu": 1400, "owner": 7,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.42.0.0/24"}]]}}),
    );
    let r = sb.exec(Impl::Twill, "tap", &req("ADD", &pod), &c).ok();
    let mut check = c.clone();
    check["prevResult"] = r;
    let path = pod.path.clone();
    let chk = |sb: &Sandbox, conf: &Value| {
        let r = Request {
            ifname: "tap0",
            ..Request::new("CHECK", "ctr", &path)
        };
        sb.exec(Impl::Twill, "tap", &r, conf)
    };
    chk(&sb, &check).ok();
    for (key, value, says) in [
        ("owner", json!(8), "owner"),
        ("group", json!(1), "group"),
        ("multiQueue", json!(true), "multiQueue"),
        ("mtu", json!(1300), "MTU"),
    ] {
        let mut other = check.clone();
        other[key] = value;
        assert!(chk(&sb, &other).err().1.contains(says), "{key}");
    }
    let mut wrong_mac = check.clone();
    wrong_mac["prevResult"]["interfaces"][0]["mac"] = "02:00:00:00:00:99".into();
    assert!(chk(&sb, &wrong_mac).err().1.contains("MAC"));
    pod.nl.link_set_master(LinkId::Name("tap0"), None).unwrap();
    assert!(chk(&sb, &check).err().1.contains("bridge"));
    sb.exec(Impl::Twill, "tap", &req("DEL", &pod), &c).ok();
    assert!(chk(&sb, &check).err().1.contains("tap0"));
}

/// DEL without `CNI_NETNS` releases the address; with the namespace gone too; a link of
/// another kind under that name is left alone.
#[test]
fn del_without_netns_gone_netns_and_foreign_links() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let c = sb.conf(
        json!({"cniVersion": "1.0.0", "name": "tapnet", "type": "tap",
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.43.0.0/24"}]]}}),
    );
    sb.exec(Impl::Twill, "tap", &req("ADD", &pod), &c).ok();
    let no_netns = Request {
        netns: None,
        ..req("DEL", &pod)
    };
    sb.exec(Impl::Twill, "tap", &no_netns, &c).ok();
    assert!(sb.reserved("tapnet").is_empty());
    assert!(tap_state(&mut pod).is_object());
    sb.exec(Impl::Twill, "tap", &req("DEL", &pod), &c).ok();
    pod.nl.link_add(&NewLink::veth("tap0", "peer0")).unwrap();
    sb.exec(Impl::Twill, "tap", &req("DEL", &pod), &c).ok();
    assert!(
        pod.nl.link_get(LinkId::Name("tap0")).is_ok(),
        "a veth was deleted"
    );
    pod.nl.link_delete(LinkId::Name("tap0")).unwrap();
    sb.exec(Impl::Twill, "tap", &req("ADD", &pod), &c).ok();
    let path = pod.path.clone();
    let _ = sb.delete_pod(pod);
    let gone = Request {
        ifname: "tap0",
        ..Request::new("DEL", "ctr", &path)
    };
    sb.exec(Impl::Twill, "tap", &gone, &c).ok();
    assert!(sb.reserved("tapnet").is_empty());
}

/// Bad input: the right code, the key named, no device left, a device of that name
/// untouched.
#[test]
fn bad_input_leaves_nothing() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let base = sb.conf(
        json!({"cniVersion": "1.0.0", "name": "tapnet", "type": "tap",
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.44.0.0/24"}]]}}),
    );
    for (key, value, code) in [
        ("selinuxContext", json!("system_u:system_r:svirt_t:s0"), 2),
        ("mac", json!("not-a-mac"), 7),
        ("mtu", json!(70000), 7),
        ("owner", json!(-5), 7),
        ("owner", json!(5_000_000_000u64), 7),
        ("bridge", json!("no-such-br"), 999),
    ] {
        let mut c = base.clone();
        c[key] = value.clone();
        let (got, msg) = sb.exec(Impl::Twill, "tap", &req("ADD", &pod), &c).err();
        assert_eq!(got, code, "{key}={value}: {msg}");
        assert!(msg.contains(key), "{key}={value}: {msg}");
        assert_eq!(tap_state(&mut pod), Value::Null, "{key}");
    }
    // The bridge named is not a bridge.
    pod.nl.link_add(&NewLink::veth("notbr", "notbr-p")).unwrap();
    let mut c = base.clone();
    c["bridge"] = "notbr".into();
    assert!(sb
        .exec(Impl::Twill, "tap", &req("ADD", &pod), &c)
        .err()
        .1
        .contains("not a bridge"));
    assert_eq!(tap_state(&mut pod), Value::Null);
    // IPAM failing: no device, nothing reserved.
    let mut c = base.clone();
    c["ipam"]["routes"] = json!([{"dst": "10.99.0.0/16", "gw": "10.77.0.1"}]);
    sb.exec(Impl::Twill, "tap", &req("ADD", &pod), &c).err();
    assert_eq!(tap_state(&mut pod), Value::Null);
    assert!(sb.reserved("tapnet").is_empty());
    // The name taken: refused, the existing tap kept as it was.
    sb.exec(Impl::Twill, "tap", &req("ADD", &pod), &base).ok();
    let before = tap_state(&mut pod);
    let mut again = base.clone();
    again["mtu"] = 1300.into();
    let (code, msg) = sb.exec(Impl::Twill, "tap", &req("ADD", &pod), &again).err();
    assert_eq!(code, 999, "{msg}");
    assert!(msg.contains("tap0"), "{msg}");
    assert_eq!(tap_state(&mut pod), before);
}

/// ADD, CHECK, GC and DEL with `ip`, `sh` and friends on PATH replaced by traps.
#[test]
fn never_executes_a_program() {
    let mut sb = Sandbox::new();
    let (traps, marker) = sb.traps(&["ip", "sh", "tunctl", "runcon"]);
    let pod = sb.pod("p");
    let c = sb.conf(
        json!({"cniVersion": "1.1.0", "name": "tapnet", "type": "tap",
        "multiQueue": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "fd00:45::/64"}]]}}),
    );
    let run = |cmd: &str, conf: &Value| {
        let r = Request {
            path: Some(&traps),
            ..req(cmd, &pod)
        };
        sb.exec(Impl::Twill, "tap", &r, conf).ok()
    };
    let r = run("ADD", &c);
    let mut check = c.clone();
    check["prevResult"] = r;
    run("CHECK", &check);
    let mut gc = c.clone();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "ctr", "ifname": "tap0"}]);
    run("GC", &gc);
    run("DEL", &c);
    assert!(
        !marker.exists(),
        "the plugin executed: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}
