//! The bridge's `macspoofchk` against the real kernel: a pod that forges its MAC is dropped
//! (towards another pod and towards the host) and recovers with its own MAC; DEL (also
//! without the netns), GC, CHECK and a failed ADD leave only the skeleton; no program is
//! ever executed. Each test runs in its own host and pod namespaces.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod portmap_support;
mod support;

use std::net::IpAddr;

use portmap_support::ruleset;
use serde_json::{json, Value};
use support::run::Request;
use support::{traffic, Impl, Sandbox};
use twill_kernel::nft::{Batch, Element, Family, Nftables, SetRef, Value as NftValue};
use twill_kernel::{LinkId, MacAddr};

fn conf(sb: &Sandbox, extra: Value) -> Value {
    let mut c = json!({
        "cniVersion": "1.0.0", "name": "testnet", "type": "bridge", "bridge": "br-spoof",
        "isGateway": true, "macspoofchk": true,
        "dataDir": sb.tmp.join("spoof").to_string_lossy(),
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.7.0.0/24"}]]},
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    sb.conf(c)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The keys of set `name` of the spoof-check table (comments stripped); `None` when the
/// set is missing.
fn elements(sb: &Sandbox, name: &str) -> Option<Vec<Value>> {
    let rs = ruleset(&sb.host.path);
    let key = |e: &Value| e["elem"].get("val").cloned().unwrap_or_else(|| e.clone());
    rs["nftables"].as_array().unwrap().iter().find_map(|o| {
        let s = &o["set"];
        (s["family"] == "bridge" && s["table"] == "twill_macspoof" && s["name"] == name).then(
            || {
                s["elem"]
                    .as_array()
                    .map_or(vec![], |v| v.iter().map(key).collect())
            },
        )
    })
}

/// The pair element of a bridge result: `[hostVeth, containerMac]`.
fn pair(result: &Value) -> Value {
    json!({"concat": [result["interfaces"][1]["name"], result["interfaces"][2]["mac"]]})
}

fn records(sb: &Sandbox) -> usize {
    std::fs::read_dir(sb.tmp.join("spoof/testnet")).map_or(0, Iterator::count)
}

/// The table holds the skeleton and nothing of any pod.
fn assert_only_skeleton(sb: &Sandbox) {
    assert_eq!(elements(sb, "ports"), Some(vec![]));
    assert_eq!(elements(sb, "allowed"), Some(vec![]));
    assert_eq!(records(sb), 0);
}

#[test]
fn a_pod_that_forges_its_mac_is_dropped_until_it_restores_it() {
    let mut sb = Sandbox::new();
    let (mut a, b) = (sb.pod("a"), sb.pod("b"));
    let c = conf(&sb, json!({}));
    let ra = sb.twill("bridge", "ADD", "ctr-a", &a.path, &c).ok();
    let rb = sb.twill("bridge", "ADD", "ctr-b", &b.path, &c).ok();
    // `nft` prints the ports by name: the set carries the key byte-order hint in its
    // userdata (without it a lone `ifname` key is listed as "").
    let ports = elements(&sb, "ports").unwrap();
    let names = |r: &Value| r["interfaces"][1]["name"].clone();
    assert_eq!(ports.len(), 2, "{ports:?}");
    assert!(
        ports.contains(&names(&ra)) && ports.contains(&names(&rb)),
        "{ports:?}"
    );
    let allowed = elements(&sb, "allowed").unwrap();
    assert_eq!(allowed.len(), 2);
    assert!(allowed.contains(&pair(&ra)) && allowed.contains(&pair(&rb)));
    assert_eq!(records(&sb), 2);

    let (ip_b, gw) = (ip("10.7.0.3"), ip("10.7.0.1"));
    traffic::udp(&a, &b, ip_b).unwrap();
    traffic::udp(&a, &sb.host, gw).unwrap();

    let own: MacAddr = ra["interfaces"][2]["mac"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let forged: MacAddr = "02:66:00:00:00:01".parse().unwrap();
    a.nl.link_set_mac(LinkId::Name("eth0"), forged).unwrap();
    let to_pod = traffic::udp(&a, &b, ip_b);
    assert!(to_pod.is_err(), "a forged MAC reached pod b");
    let to_host = traffic::udp(&a, &sb.host, gw);
    assert!(to_host.is_err(), "a forged MAC reached the host");
    // The other pod is not affected.
    traffic::udp(&b, &sb.host, gw).unwrap();

    a.nl.link_set_mac(LinkId::Name("eth0"), own).unwrap();
    traffic::udp(&a, &b, ip_b).unwrap();
    traffic::udp(&a, &sb.host, gw).unwrap();

    // CHECK agrees, and notices a missing element.
    let mut chk = c.clone();
    chk["prevResult"] = ra.clone();
    sb.twill("bridge", "CHECK", "ctr-a", &a.path, &chk).ok();
    let mut nft = Nftables::open_in(&sb.host.ns).unwrap();
    let set = SetRef::new(Family::Bridge, "twill_macspoof", "allowed");
    let port = ra["interfaces"][1]["name"].as_str().unwrap().to_owned();
    let el = Element::new(&[NftValue::IfName(port), NftValue::Mac(own)]);
    nft.apply(Batch::new().delete_elements(&set, &[el]))
        .unwrap();
    let (code, msg) = sb.twill("bridge", "CHECK", "ctr-a", &a.path, &chk).err();
    assert_eq!(code, 999);
    assert!(msg.contains("missing"), "{msg}");

    // DEL with the netns (the element CHECK found missing is no error), and without.
    sb.twill("bridge", "DEL", "ctr-a", &a.path, &c).ok();
    let mut req = Request::new("DEL", "ctr-b", &sb.tmp);
    req.netns = None;
    sb.exec(Impl::Twill, "bridge", &req, &c).ok();
    assert_only_skeleton(&sb);
    let rules = ruleset(&sb.host.path)["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["rule"]["table"] == "twill_macspoof")
        .count();
    assert_eq!(rules, 1);
    // Repeated DELs are fine.
    sb.exec(Impl::Twill, "bridge", &req, &c).ok();
}

#[test]
fn gc_removes_what_is_not_valid_and_a_failed_add_leaves_nothing() {
    let mut sb = Sandbox::new();
    let (a, b) = (sb.pod("a"), sb.pod("b"));
    let c = conf(&sb, json!({}));
    let ra = sb.twill("bridge", "ADD", "a", &a.path, &c).ok();
    sb.twill("bridge", "ADD", "b", &b.path, &c).ok();
    let mut gc = c.clone();
    gc["cniVersion"] = "1.1.0".into();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "a", "ifname": "eth0"}]);
    let mut req = Request::new("GC", "", &sb.tmp);
    req.netns = None;
    sb.exec(Impl::Twill, "bridge", &req, &gc).ok();
    assert_eq!(elements(&sb, "allowed").unwrap(), vec![pair(&ra)]);
    assert_eq!(elements(&sb, "ports").unwrap().len(), 1);
    assert_eq!(records(&sb), 1);
    gc["cni.dev/valid-attachments"] = json!([]);
    sb.exec(Impl::Twill, "bridge", &req, &gc).ok();
    assert_only_skeleton(&sb);

    // A failure after the elements were added (another subnet's gateway on the bridge,
    // without forceAddress) takes them away again with the veth pair.
    let p = sb.pod("p");
    let other = conf(
        &sb,
        json!({"ipam": {"type": "host-local", "ranges": [[{"subnet": "10.8.0.0/24"}]]}}),
    );
    let (_, msg) = sb.twill("bridge", "ADD", "p", &p.path, &other).err();
    assert!(msg.contains("already has an IP address"), "{msg}");
    assert_only_skeleton(&sb);
}

#[test]
fn wrong_types_are_refused_and_off_adds_nothing() {
    let mut sb = Sandbox::new();
    let mut a = sb.pod("a");
    let bad = conf(&sb, json!({"macspoofchk": "yes"}));
    let (code, msg) = sb.twill("bridge", "ADD", "a", &a.path, &bad).err();
    assert_eq!(code, 6);
    assert!(msg.contains("macspoofchk"), "{msg}");
    let off = conf(&sb, json!({"macspoofchk": false}));
    sb.twill("bridge", "ADD", "a", &a.path, &off).ok();
    assert_eq!(elements(&sb, "ports"), None);
    // The control for the drop test: unchecked, a forged MAC gets through.
    let forged: MacAddr = "02:66:00:00:00:01".parse().unwrap();
    a.nl.link_set_mac(LinkId::Name("eth0"), forged).unwrap();
    traffic::udp(&a, &sb.host, ip("10.7.0.1")).unwrap();
    sb.twill("bridge", "DEL", "a", &a.path, &off).ok();
}

#[test]
fn add_and_del_never_execute_a_program() {
    let mut sb = Sandbox::new();
    let a = sb.pod("a");
    let (path, marker) = sb.traps(&[
        "nft",
        "iptables",
        "ip6tables",
        "ebtables",
        "ip",
        "sh",
        "bash",
    ]);
    let c = conf(&sb, json!({}));
    let r = sb.run_with_path("bridge", "ADD", "a", &a.path_str(), &path, &c);
    assert_eq!(elements(&sb, "allowed").unwrap(), vec![pair(&r)]);
    sb.run_with_path("bridge", "DEL", "a", &a.path_str(), &path, &c);
    assert_only_skeleton(&sb);
    assert!(
        !marker.exists(),
        "the plugin executed: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}
