//! dummy, vlan and vrf on this machine (whose kernel has none of these kinds: their kernel
//! work is tested in the VM, `links_vm.rs`): bad input refused with the right code naming
//! the key, before anything is made or reserved; DEL of what is not there succeeds; the
//! versions each plugin speaks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::{json, Value};
use support::run::Request;
use support::{Impl, Sandbox};

fn with(base: &Value, key: &str, value: Value) -> Value {
    let mut c = base.clone();
    if value.is_null() {
        c.as_object_mut().unwrap().remove(key);
    } else {
        c[key] = value;
    }
    c
}

/// Each (plugin, config, code, word the message must hold).
fn cases(sb: &Sandbox) -> Vec<(&'static str, Value, u64, &'static str)> {
    let ipam = json!({"type": "host-local", "ranges": [[{"subnet": "10.60.0.0/24"}]],
                      "dataDir": sb.ipam_dir().to_string_lossy()});
    let dummy = json!({"cniVersion": "1.0.0", "name": "lk", "type": "dummy", "ipam": ipam});
    let vlan = json!({"cniVersion": "1.0.0", "name": "lk", "type": "vlan", "master": "m0",
                      "vlanId": 10, "ipam": ipam});
    let vrf = json!({"cniVersion": "1.0.0", "name": "lk", "type": "vrf", "vrfname": "blue",
                     "prevResult": {"cniVersion": "1.0.0", "interfaces": [{"name": "eth0"}]}});
    vec![
        ("dummy", with(&dummy, "ipam", Value::Null), 7, "ipam"),
        ("dummy", with(&dummy, "ipam", json!({})), 7, "ipam"),
        ("vlan", with(&vlan, "master", Value::Null), 7, "master"),
        (
            "vlan",
            with(&vlan, "master", json!("bad/name")),
            7,
            "master",
        ),
        ("vlan", with(&vlan, "vlanId", json!(4095)), 7, "vlanId"),
        ("vlan", with(&vlan, "vlanId", json!(-2)), 7, "vlanId"),
        ("vlan", with(&vlan, "vlanId", json!("10")), 6, "vlanId"),
        ("vlan", with(&vlan, "mtu", json!(1)), 7, "mtu"),
        ("vlan", with(&vlan, "ipam", Value::Null), 7, "ipam"),
        (
            "vlan",
            with(&vlan, "linkInContainer", json!("yes")),
            6,
            "linkInContainer",
        ),
        // A master that does not exist: found out before anything is made.
        ("vlan", with(&vlan, "master", json!("nope0")), 999, "nope0"),
        ("vrf", with(&vrf, "vrfname", Value::Null), 7, "vrfname"),
        ("vrf", with(&vrf, "vrfname", json!("a b")), 7, "vrfname"),
        ("vrf", with(&vrf, "table", json!(-1)), 7, "table"),
        ("vrf", with(&vrf, "table", json!("5")), 6, "table"),
        (
            "vrf",
            with(&vrf, "prevResult", Value::Null),
            999,
            "prevResult",
        ),
        (
            "vrf",
            with(&vrf, "cniVersion", json!("0.3.0")),
            1,
            "incompatible",
        ),
    ]
}

#[test]
fn bad_input_is_refused_before_anything_is_made() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let before = pod.nl.link_list().unwrap().len();
    for (plugin, conf, code, word) in cases(&sb) {
        let (got, msg) = sb.twill(plugin, "ADD", "ctr", &pod.path, &conf).err();
        assert_eq!(got, code, "{plugin} {conf}: {msg}");
        assert!(msg.contains(word), "{plugin} {conf}: {msg}");
        assert_eq!(pod.nl.link_list().unwrap().len(), before, "{plugin} {conf}");
        assert!(sb.reserved("lk").is_empty(), "{plugin} {conf}");
    }
}

/// DEL of an attachment that never was (or whose namespace is gone, or without one)
/// succeeds; a link of another kind under the name is left alone.
#[test]
fn del_of_nothing_succeeds_and_leaves_other_links() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    pod.nl
        .link_add(&twill_kernel::NewLink::veth("eth0", "peer0"))
        .unwrap();
    let dummy = sb.conf(json!({"cniVersion": "1.0.0", "name": "lk", "type": "dummy",
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.61.0.0/24"}]]}}));
    let vlan = sb.conf(json!({"cniVersion": "1.0.0", "name": "lk", "type": "vlan",
        "master": "m0", "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.61.0.0/24"}]]}}));
    let vrf = json!({"cniVersion": "1.0.0", "name": "lk", "type": "vrf", "vrfname": "blue"});
    for (plugin, c) in [("dummy", &dummy), ("vlan", &vlan), ("vrf", &vrf)] {
        sb.twill(plugin, "DEL", "ctr", &pod.path, c).ok();
        assert!(
            pod.nl.link_get(twill_kernel::LinkId::Name("eth0")).is_ok(),
            "{plugin}"
        );
        let no_netns = Request {
            netns: None,
            ..Request::new("DEL", "ctr", &pod.path)
        };
        sb.exec(Impl::Twill, plugin, &no_netns, c).ok();
    }
    let path = pod.path.clone();
    drop(pod);
    let gone = sb.namespaces().full_name("p");
    sb.namespaces().delete(&gone);
    for (plugin, c) in [("dummy", &dummy), ("vlan", &vlan), ("vrf", &vrf)] {
        sb.twill(plugin, "DEL", "ctr", &path, c).ok();
    }
}

/// VERSION: every version for dummy and vlan; vrf from 0.3.1, as the reference.
#[test]
fn versions() {
    let sb = Sandbox::new();
    let pod_path = sb.tmp.join("unused");
    for (plugin, want) in [
        (
            "dummy",
            json!(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]),
        ),
        (
            "vlan",
            json!(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]),
        ),
        ("vrf", json!(["0.3.1", "0.4.0", "1.0.0", "1.1.0"])),
        (
            "host-device",
            json!(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]),
        ),
        (
            "tap",
            json!(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]),
        ),
    ] {
        let req = Request {
            netns: None,
            ..Request::new("VERSION", "", &pod_path)
        };
        let r = sb
            .exec(Impl::Twill, plugin, &req, &json!({"cniVersion": "1.0.0"}))
            .ok();
        assert_eq!(r["supportedVersions"], want, "{plugin}");
    }
}
