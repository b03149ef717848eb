//! ipMasq on bridge and ptp against the real kernel: a pod's connection to an outside
//! namespace (which has no route to the pods) arrives from the host's address; pod to pod
//! keeps the pod's address; DEL (with and without the netns), CHECK and GC act on the
//! pod's verdict-map elements only, leaving the skeleton as installed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod masq_support;
mod portmap_support;
mod support;

use masq_support::*;
use portmap_support::{
    fetch, fetch_once, outside, serve, serve_on, HOST, HOST6, OUTSIDE, OUTSIDE6,
};
use serde_json::json;
use support::run::Request;
use support::{Impl, Sandbox};

#[test]
fn bridge_masquerades_outbound_not_pod_to_pod_and_del_leaves_the_skeleton() {
    let mut sb = Sandbox::new();
    let net = net_name("br");
    let out = outside(&mut sb);
    let _o = serve(&out, 8080, "out", 30);
    let c = bridge_conf(&sb, &net, "br-mq", "10.1.0.0/24");
    let a = sb.pod("a");
    let ra = sb.twill("bridge", "ADD", "a", &a.path, &c).ok();
    let after_first_add = skeleton(&sb.host.path);
    assert!(!after_first_add.is_empty());
    let b = sb.pod("b");
    let rb = sb.twill("bridge", "ADD", "b", &b.path, &c).ok();
    let (addr_a, addr_b) = (addr_of(&ra), addr_of(&rb));
    let _b = serve(&b, 8081, "b", 30);

    assert_eq!(fetch(&a, OUTSIDE, 8080).unwrap(), format!("out {HOST}"));
    assert_eq!(fetch(&a, &addr_b, 8081).unwrap(), format!("b {addr_a}"));
    let els = elements(&sb.host.path, "pods4");
    assert_eq!(els.len(), 2, "{els:?}");
    assert!(els.iter().any(|e| e.contains(&format!("\"{addr_a}\""))));
    assert!(els.iter().all(|e| e.contains("jump")), "{els:?}");
    assert!(record(&net, "a").exists());

    let mut chk = c.clone();
    chk["prevResult"] = ra.clone();
    sb.twill("bridge", "CHECK", "a", &a.path, &chk).ok();

    // The runtime's DEL once the pod is gone: no netns, no prevResult.
    sb.delete_pod(a);
    let mut req = Request::new("DEL", "a", &sb.tmp);
    req.netns = None;
    for _ in 0..2 {
        sb.exec(Impl::Twill, "bridge", &req, &c).ok();
    }
    let els = elements(&sb.host.path, "pods4");
    assert_eq!(els.len(), 1, "{els:?}");
    assert!(els[0].contains(&format!("\"{addr_b}\"")));
    assert!(!record(&net, "a").exists());

    sb.twill("bridge", "DEL", "b", &b.path, &c).ok();
    assert!(elements(&sb.host.path, "pods4").is_empty());
    assert!(!record(&net, "b").exists());
    assert_eq!(skeleton(&sb.host.path), after_first_add);
}

#[test]
fn ptp_masquerades_outbound_and_check_sees_a_missing_element() {
    let mut sb = Sandbox::new();
    let net = net_name("ptp");
    let out = outside(&mut sb);
    let _o = serve(&out, 8080, "out", 30);
    let c = ptp_conf(&sb, &net, "10.2.0.0/24");
    let p = sb.pod("p");
    let r = sb.twill("ptp", "ADD", "p", &p.path, &c).ok();
    assert_eq!(fetch(&p, OUTSIDE, 8080).unwrap(), format!("out {HOST}"));
    assert_eq!(elements(&sb.host.path, "pods4").len(), 1);

    let mut chk = c.clone();
    chk["prevResult"] = r.clone();
    sb.twill("ptp", "CHECK", "p", &p.path, &chk).ok();
    // Without its element the pod is no longer masqueraded, and CHECK says so.
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(record(&net, "p")).unwrap()).unwrap();
    let table = rec["table"].as_str().unwrap();
    let status = std::process::Command::new("nsenter")
        .arg(format!("--net={}", sb.host.path.display()))
        .args(["nft", "delete", "element", "inet", table, "pods4"])
        .arg(format!("{{ {} }}", addr_of(&r)))
        .status()
        .unwrap();
    assert!(status.success());
    let (code, msg) = sb.twill("ptp", "CHECK", "p", &p.path, &chk).err();
    assert_eq!(code, 999, "{msg}");
    assert!(msg.contains("pods4"), "{msg}");
    assert!(fetch_once(&p, OUTSIDE, 8080).is_err());

    // DEL of an element already gone is no error, and removes the record.
    sb.twill("ptp", "DEL", "p", &p.path, &c).ok();
    assert!(!record(&net, "p").exists());
    assert!(elements(&sb.host.path, "pods4").is_empty());
}

#[test]
fn gc_removes_stale_attachments_only() {
    let mut sb = Sandbox::new();
    let net = net_name("gc");
    let out = outside(&mut sb);
    let _o = serve(&out, 8080, "out", 30);
    let c = bridge_conf(&sb, &net, "br-gc", "10.3.0.0/24");
    let a = sb.pod("a");
    sb.twill("bridge", "ADD", "a", &a.path, &c).ok();
    let b = sb.pod("b");
    sb.twill("bridge", "ADD", "b", &b.path, &c).ok();
    assert_eq!(elements(&sb.host.path, "pods4").len(), 2);

    let mut gc = c.clone();
    gc["cniVersion"] = "1.1.0".into();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "a", "ifname": "eth0"}]);
    let mut req = Request::new("GC", "", &sb.tmp);
    req.netns = None;
    sb.exec(Impl::Twill, "bridge", &req, &gc).ok();
    assert_eq!(elements(&sb.host.path, "pods4").len(), 1);
    assert!(record(&net, "a").exists() && !record(&net, "b").exists());
    assert_eq!(fetch(&a, OUTSIDE, 8080).unwrap(), format!("out {HOST}"));
    assert!(fetch_once(&b, OUTSIDE, 8080).is_err());

    sb.twill("bridge", "DEL", "a", &a.path, &c).ok();
    sb.twill("bridge", "DEL", "b", &b.path, &c).ok();
    assert!(elements(&sb.host.path, "pods4").is_empty());
}

#[test]
fn iptables_backend_is_refused_by_name_and_leaves_nothing() {
    let mut sb = Sandbox::new();
    let net = net_name("ipt");
    let mut c = bridge_conf(&sb, &net, "br-ipt", "10.4.0.0/24");
    c["ipMasqBackend"] = "iptables".into();
    let a = sb.pod("a");
    let (code, msg) = sb.twill("bridge", "ADD", "a", &a.path, &c).err();
    assert_eq!(code, 2, "{msg}");
    assert!(msg.contains("ipMasqBackend"), "{msg}");
    assert!(!record(&net, "a").exists());
    assert!(skeleton(&sb.host.path).is_empty());
    sb.twill("bridge", "DEL", "a", &a.path, &c).ok();
}

#[test]
fn ipv6_is_masqueraded_too() {
    let mut sb = Sandbox::new();
    let net = net_name("v6");
    // The outside link carries fd00:18::1 (host) and fd00:18::2 (outside) too.
    let out = outside(&mut sb);
    let _srv = serve_on(&out, "::", 8086, "out6", 30);

    let mut c = bridge_conf(&sb, &net, "br-v6", "10.8.0.0/24");
    c["ipam"]["ranges"] = json!([[{"subnet": "10.8.0.0/24"}], [{"subnet": "fd00:8::/64"}]]);
    let p = sb.pod("p");
    let r = sb.twill("bridge", "ADD", "p", &p.path, &c).ok();
    let els = elements(&sb.host.path, "pods6");
    assert_eq!(els.len(), 1, "{els:?}");
    assert_eq!(elements(&sb.host.path, "pods4").len(), 1);
    assert!(r["ips"].to_string().contains("fd00:8::"));
    assert_eq!(fetch(&p, OUTSIDE6, 8086).unwrap(), format!("out6 {HOST6}"));

    sb.twill("bridge", "DEL", "p", &p.path, &c).ok();
    assert!(elements(&sb.host.path, "pods6").is_empty());
    assert!(elements(&sb.host.path, "pods4").is_empty());
}
