//! host-device's DEL and GC: idempotent (twice, without `CNI_NETNS`, with the namespace
//! gone), the address released in every case (the reference leaks it when the namespace is
//! gone), a device the kernel handed back renamed to its host name; bad input refused with
//! the right code and nothing left half done; interop with the reference in both directions.
//!
//! When a namespace is destroyed the kernel deletes its virtual devices (a veth goes with
//! its peer) and moves physical ones to the *initial* namespace, named as they were or
//! `dev<N>` when that name is taken there. A test's host namespace is not the initial one,
//! so a refund can only be shown here by doing what the kernel does — moving the device to
//! the host namespace under its container name — before the pod's namespace goes; the real
//! refund of a physical (virtio) device is exercised in the VM tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod hd_support;
mod support;

use std::os::fd::AsFd;

use hd_support::{device, link_state, MAC};
use serde_json::{json, Value};
use support::run::Request;
use support::{Impl, Ns, Sandbox};
use twill_kernel::{LinkChange, LinkId, NewLink};

fn conf(sb: &Sandbox, version: &str) -> Value {
    sb.conf(json!({
        "cniVersion": version, "name": "hddel", "type": "host-device", "device": "hd0",
        "dataDir": sb.tmp.join("hd").to_string_lossy(),
        "ipam": {"type": "host-local",
                 "ranges": [[{"subnet": "10.30.0.0/24"}], [{"subnet": "fd00:30::/64"}]]},
    }))
}

fn record_exists(sb: &Sandbox) -> bool {
    sb.tmp.join("hd/hddel/ctr-eth0").exists()
}

/// Moves `name` from `pod` to the host namespace as `as_name`, as the kernel does with a
/// physical device of a namespace being destroyed.
fn refund(sb: &Sandbox, pod: &mut Ns, name: &str, as_name: &str) {
    let change = LinkChange {
        netns: Some(sb.host.ns.as_fd()),
        name: (name != as_name).then_some(as_name),
        ..LinkChange::default()
    };
    pod.nl.link_set(LinkId::Name(name), &change).unwrap();
}

#[test]
fn del_twice_and_without_netns() {
    let mut sb = Sandbox::new();
    device(&mut sb, "hd0");
    let mut pod = sb.pod("p");
    let c = conf(&sb, "1.0.0");
    sb.twill("host-device", "ADD", "ctr", &pod.path, &c).ok();
    assert_eq!(sb.reserved("hddel").len(), 2);
    let no_netns = Request {
        netns: None,
        ..Request::new("DEL", "ctr", &pod.path)
    };
    sb.exec(Impl::Twill, "host-device", &no_netns, &c).ok();
    assert!(sb.reserved("hddel").is_empty());
    // Without the namespace the device cannot be reached; the record stays for the DEL
    // that can.
    assert!(link_state(&mut pod, "eth0").is_object());
    assert!(record_exists(&sb));
    sb.twill("host-device", "DEL", "ctr", &pod.path, &c).ok();
    assert_eq!(
        link_state(&mut sb.host, "hd0"),
        json!({"up": false, "mac": MAC, "alias": null})
    );
    assert!(!record_exists(&sb));
    sb.twill("host-device", "DEL", "ctr", &pod.path, &c).ok();
    assert_eq!(link_state(&mut pod, "eth0"), Value::Null);
}

/// A veth is virtual: the kernel destroys it with the namespace. DEL then has nothing to
/// give back but still releases the address and forgets the record; the reference fails
/// ("failed to open netns") and so never releases it.
#[test]
fn netns_gone_with_a_virtual_device() {
    let mut sb = Sandbox::new();
    let pod_name = |sb: &mut Sandbox| sb.pod("p");
    for imp in [Impl::Twill, Impl::Reference] {
        device(&mut sb, "hd0");
        let pod = pod_name(&mut sb);
        let c = conf(&sb, "1.0.0");
        let add = Request::new("ADD", "ctr", &pod.path);
        sb.exec(imp, "host-device", &add, &c).ok();
        let path = sb.delete_pod(pod);
        let del = sb.exec(imp, "host-device", &Request::new("DEL", "ctr", &path), &c);
        match imp {
            Impl::Twill => {
                del.ok();
                assert!(sb.reserved("hddel").is_empty());
                assert!(!record_exists(&sb));
                sb.twill("host-device", "DEL", "ctr", &path, &c).ok();
            }
            Impl::Reference => {
                assert!(del.err().1.contains("netns"));
                assert_eq!(sb.reserved("hddel").len(), 2, "the reference released");
                std::fs::remove_dir_all(sb.ipam_dir()).unwrap();
            }
        }
        // Gone for good, its peer too (the kernel dismantles a destroyed namespace's
        // devices asynchronously: waited for, bounded), so the next round makes it again.
        for _ in 0..300 {
            if link_state(&mut sb.host, "hd0p").is_null() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(link_state(&mut sb.host, "hd0"), Value::Null);
        assert_eq!(link_state(&mut sb.host, "hd0p"), Value::Null);
    }
}

/// A device handed back under its container name, and one renamed `dev<N>` because that
/// name was taken: DEL (namespace gone) and GC (attachment not valid) give each its host
/// name, alias and up state back.
#[test]
fn a_device_handed_back_gets_its_name_back() {
    for (as_name, by_gc) in [("eth0", false), ("dev7", false), ("eth0", true)] {
        let mut sb = Sandbox::new();
        device(&mut sb, "hd0");
        sb.host.nl.link_set_up(LinkId::Name("hd0")).unwrap();
        let mut pod = sb.pod("p");
        let c = conf(&sb, "1.1.0");
        sb.twill("host-device", "ADD", "ctr", &pod.path, &c).ok();
        refund(&sb, &mut pod, "eth0", as_name);
        let path = sb.delete_pod(pod);
        if by_gc {
            let mut gc = c.clone();
            gc["cni.dev/valid-attachments"] = json!([{"containerID": "other", "ifname": "eth0"}]);
            sb.twill("host-device", "GC", "", &path, &gc).ok();
        } else {
            sb.twill("host-device", "DEL", "ctr", &path, &c).ok();
        }
        assert_eq!(link_state(&mut sb.host, as_name), Value::Null, "{as_name}");
        assert_eq!(
            link_state(&mut sb.host, "hd0"),
            json!({"up": true, "mac": MAC, "alias": null}),
            "{as_name} gc={by_gc}"
        );
        assert!(sb.reserved("hddel").is_empty());
        assert!(!record_exists(&sb));
    }
}

/// Bad input: the right code, the key named, and the device where it was, as it was.
#[test]
fn bad_input_leaves_the_device_alone() {
    let mut sb = Sandbox::new();
    device(&mut sb, "hd0");
    sb.host.nl.link_set_up(LinkId::Name("hd0")).unwrap();
    let mut pod = sb.pod("p");
    let base = conf(&sb, "1.0.0");
    let add = |sb: &Sandbox, c: &Value| sb.twill("host-device", "ADD", "ctr", &pod.path, c);
    let untouched = json!({"up": true, "mac": MAC, "alias": null});

    let mut c = base.clone();
    c.as_object_mut().unwrap().remove("device");
    let (code, msg) = add(&sb, &c).err();
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("\"device\""), "{msg}");
    for (key, value, code) in [
        ("device", json!("nope0"), 999),
        ("device", json!("a/b"), 7),
        ("device", json!("lo"), 7),
        ("hwaddr", json!("02:00:00:00:00:99"), 999),
        ("hwaddr", json!("not-a-mac"), 7),
        ("kernelpath", json!("/sys/devices/none"), 999),
        ("kernelpath", json!("/etc"), 7),
        ("pciBusID", json!("0000:7f:1f.7"), 999),
        ("pciBusID", json!("../x"), 7),
    ] {
        let mut c = base.clone();
        c.as_object_mut().unwrap().remove("device");
        c[key] = value.clone();
        let (got, msg) = add(&sb, &c).err();
        assert_eq!(got, code, "{key}={value}: {msg}");
        assert!(msg.contains(key), "{key}={value}: {msg}");
    }
    let mut c = base.clone();
    c["device"] = json!(7);
    assert_eq!(add(&sb, &c).err().0, 6);
    assert_eq!(link_state(&mut sb.host, "hd0"), untouched);

    // CNI_IFNAME taken in the container.
    pod.nl.link_add(&NewLink::veth("eth0", "other0")).unwrap();
    assert!(add(&sb, &base).err().1.contains("eth0"));
    pod.nl.link_delete(LinkId::Name("eth0")).unwrap();
    // The device's own name taken in the container: the kernel refuses the move.
    pod.nl.link_add(&NewLink::veth("hd0", "other0")).unwrap();
    assert!(add(&sb, &base).err().1.contains("hd0"));
    pod.nl.link_delete(LinkId::Name("hd0")).unwrap();
    // The IPAM fails after the move: the device comes back.
    let mut c = base.clone();
    c["ipam"] = json!({"type": "no-such-ipam"});
    assert!(add(&sb, &c).err().1.contains("no-such-ipam"));
    let mut c = base.clone();
    c["ipam"] = json!({"type": "host-local", "ranges": [[{"subnet": "10.31.0.0/24"}]],
                       "routes": [{"dst": "10.99.0.0/16", "gw": "10.77.0.1"}],
                       "dataDir": sb.ipam_dir().to_string_lossy()});
    add(&sb, &c).err();
    assert!(
        sb.reserved("hddel").is_empty(),
        "a failed ADD kept its address"
    );

    assert_eq!(link_state(&mut sb.host, "hd0"), untouched);
    assert_eq!(link_state(&mut pod, "eth0"), Value::Null);
    assert_eq!(link_state(&mut pod, "hd0"), Value::Null);
    assert!(!record_exists(&sb));
    // Commands a version does not have.
    for (cmd, v) in [("CHECK", "0.3.1"), ("GC", "1.0.0"), ("STATUS", "1.0.0")] {
        let c = conf(&sb, v);
        let r = sb.twill("host-device", cmd, "ctr", &pod.path, &c);
        assert_eq!(r.err().0, 1, "{cmd} at {v}");
    }
}

/// The host name taken again while the device is in the container: DEL fails naming it
/// and leaves the device where a retry finds it; once the name is free, DEL succeeds.
#[test]
fn del_retries_when_the_host_name_is_taken() {
    let mut sb = Sandbox::new();
    device(&mut sb, "hd0");
    let mut pod = sb.pod("p");
    let c = conf(&sb, "1.0.0");
    sb.twill("host-device", "ADD", "ctr", &pod.path, &c).ok();
    sb.host
        .nl
        .link_add(&NewLink::veth("hd0", "squat0"))
        .unwrap();
    let (_, msg) = sb.twill("host-device", "DEL", "ctr", &pod.path, &c).err();
    assert!(msg.contains("hd0"), "{msg}");
    assert_eq!(link_state(&mut pod, "eth0")["mac"], MAC);
    assert!(record_exists(&sb));
    sb.host.nl.link_delete(LinkId::Name("hd0")).unwrap();
    sb.twill("host-device", "DEL", "ctr", &pod.path, &c).ok();
    assert_eq!(link_state(&mut sb.host, "hd0")["mac"], MAC);
    assert_eq!(link_state(&mut pod, "eth0"), Value::Null);
}

/// A device the reference added is given back by twill (the alias names it), and one twill
/// added is given back by the reference.
#[test]
fn interop_with_the_reference() {
    for (adder, deleter) in [
        (Impl::Reference, Impl::Twill),
        (Impl::Twill, Impl::Reference),
    ] {
        let mut sb = Sandbox::new();
        device(&mut sb, "hd0");
        let mut pod = sb.pod("p");
        let c = conf(&sb, "1.0.0");
        let req = |cmd| Request::new(cmd, "ctr", &pod.path);
        sb.exec(adder, "host-device", &req("ADD"), &c).ok();
        sb.exec(deleter, "host-device", &req("DEL"), &c).ok();
        assert_eq!(link_state(&mut sb.host, "hd0")["mac"], MAC);
        assert_eq!(link_state(&mut pod, "eth0"), Value::Null);
        assert!(sb.reserved("hddel").is_empty());
    }
}
