//! ptp's DEL is idempotent (netns, link or IPAM state already gone; repeats) and releases
//! the address even without the namespace; a failed ADD leaves nothing behind; CHECK sees
//! what was removed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::{json, Value};
use support::run::Request;
use support::{state, Impl, Sandbox};
use twill_kernel::route::Route;
use twill_kernel::{IpPrefix, LinkId};

fn conf(sb: &Sandbox) -> Value {
    sb.conf(json!({
        "cniVersion": "1.0.0", "name": "ptpdel", "type": "ptp",
        "ipam": {"type": "host-local",
                 "ranges": [[{"subnet": "10.4.0.0/24"}], [{"subnet": "fd00:4::/64"}]]},
    }))
}

/// The host's veths, waiting (bounded) for the kernel to finish dismantling pairs whose
/// namespace was deleted.
fn host_veths_settle(sb: &mut Sandbox, want: usize) -> usize {
    let mut n = usize::MAX;
    for _ in 0..200 {
        n = state::routed_host(&mut sb.host)["veths"]
            .as_array()
            .unwrap()
            .len();
        if n == want {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    n
}

#[test]
fn netns_already_gone_still_releases_the_address() {
    let mut sb = Sandbox::new();
    let pod = sb.pod("p");
    let c = conf(&sb);
    sb.twill("ptp", "ADD", "ctr", &pod.path, &c).ok();
    assert_eq!(sb.reserved("ptpdel").len(), 2);
    let path = sb.delete_pod(pod);
    sb.twill("ptp", "DEL", "ctr", &path, &c).ok();
    assert!(sb.reserved("ptpdel").is_empty());
    assert_eq!(host_veths_settle(&mut sb, 0), 0);
    sb.twill("ptp", "DEL", "ctr", &path, &c).ok();
}

#[test]
fn no_netns_at_all_releases_the_address() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let c = conf(&sb);
    sb.twill("ptp", "ADD", "ctr", &pod.path, &c).ok();
    let req = Request {
        netns: None,
        ..Request::new("DEL", "ctr", &pod.path)
    };
    sb.exec(Impl::Twill, "ptp", &req, &c).ok();
    assert!(sb.reserved("ptpdel").is_empty());
    // Without a namespace the link cannot be found; a later DEL with it removes it.
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_ok());
    sb.twill("ptp", "DEL", "ctr", &pod.path, &c).ok();
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());
    assert_eq!(host_veths_settle(&mut sb, 0), 0);
}

#[test]
fn link_gone_ipam_state_gone_and_repeats() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let c = conf(&sb);
    sb.twill("ptp", "ADD", "ctr", &pod.path, &c).ok();
    pod.nl.link_delete(LinkId::Name("eth0")).unwrap();
    sb.twill("ptp", "DEL", "ctr", &pod.path, &c).ok();
    assert!(sb.reserved("ptpdel").is_empty());

    sb.twill("ptp", "ADD", "ctr", &pod.path, &c).ok();
    std::fs::remove_dir_all(sb.ipam_dir()).unwrap();
    sb.twill("ptp", "DEL", "ctr", &pod.path, &c).ok();
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());
    for _ in 0..3 {
        sb.twill("ptp", "DEL", "ctr", &pod.path, &c).ok();
    }
    let stale = sb.tmp.join("stale-netns");
    std::fs::write(&stale, b"").unwrap();
    sb.twill("ptp", "DEL", "ctr", &stale, &c).ok();
    // Configurations ADD refuses still DEL cleanly.
    for (key, value) in [("ipMasqBackend", json!("iptables")), ("ipam", json!(null))] {
        let mut bad = c.clone();
        bad[key] = value;
        sb.twill("ptp", "DEL", "ctr", &pod.path, &bad).ok();
    }
}

/// A failure after IPAM's ADD (an IPAM route whose gateway is unreachable) releases the
/// reservation and deletes the pair; a second ADD for an existing interface fails before
/// IPAM and leaves the first attachment alone.
#[test]
fn failed_add_leaves_nothing_behind() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let mut c = conf(&sb);
    c["ipam"]["routes"] = json!([{"dst": "10.9.0.0/16", "gw": "10.99.0.1"}]);
    let (code, msg) = sb.twill("ptp", "ADD", "ctr", &pod.path, &c).err();
    assert_eq!(code, 999, "{msg}");
    assert!(msg.contains("10.9.0.0/16"), "{msg}");
    assert!(sb.reserved("ptpdel").is_empty());
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());
    assert_eq!(host_veths_settle(&mut sb, 0), 0);

    let c = conf(&sb);
    let first = sb.twill("ptp", "ADD", "ctr", &pod.path, &c).ok();
    let (code, msg) = sb.twill("ptp", "ADD", "ctr", &pod.path, &c).err();
    assert_eq!(code, 999, "{msg}");
    assert!(
        msg.contains("eth0") && msg.contains("already exists"),
        "{msg}"
    );
    // The first attachment keeps its addresses.
    let ips: Vec<String> = first["ips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ip| {
            ip["address"]
                .as_str()
                .unwrap()
                .split('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(sb.reserved("ptpdel"), ips);
    assert_eq!(host_veths_settle(&mut sb, 1), 1);
    let mut check = c.clone();
    check["prevResult"] = first;
    sb.twill("ptp", "CHECK", "ctr", &pod.path, &check).ok();
}

/// An IPAM that gives an address without a gateway cannot be routed point to point: code 7
/// naming `ipam`, and nothing is left (the reference leaves the container configured).
#[test]
fn address_without_gateway_is_refused_and_rolled_back() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let c = json!({"cniVersion": "1.0.0", "name": "ptpdel", "type": "ptp",
                   "ipam": {"type": "static", "addresses": [{"address": "10.5.0.5/24"}]}});
    let (code, msg) = sb.twill("ptp", "ADD", "ctr", &pod.path, &c).err();
    assert_eq!(code, 7, "{msg}");
    assert!(
        msg.starts_with("ipam:") && msg.contains("10.5.0.5/24"),
        "{msg}"
    );
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());
    assert_eq!(host_veths_settle(&mut sb, 0), 0);
}

#[test]
fn check_sees_what_is_missing() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let c = conf(&sb);
    let r = sb.twill("ptp", "ADD", "ctr", &pod.path, &c).ok();
    let mut check = c.clone();
    check["prevResult"] = r.clone();
    sb.twill("ptp", "CHECK", "ctr", &pod.path, &check).ok();

    let (code, msg) = sb.twill("ptp", "CHECK", "ctr", &pod.path, &c).err();
    assert!(code == 999 && msg.contains("prevResult"), "{code} {msg}");
    let mut other = check.clone();
    other["prevResult"]["interfaces"][1]["mac"] = "02:00:00:00:00:01".into();
    let (_, msg) = sb.twill("ptp", "CHECK", "ctr", &pod.path, &other).err();
    assert!(msg.contains("Mac"), "{msg}");

    // The host's route back to the pod, then the container's on-link gateway route.
    let host_veth = r["interfaces"][0]["name"].as_str().unwrap();
    let hv = sb.host.nl.link_index(host_veth).unwrap();
    let to_pod = Route::new(IpPrefix::new("10.4.0.2".parse().unwrap(), 32).unwrap()).dev(hv);
    sb.host.nl.route_delete(&to_pod).unwrap();
    let (_, msg) = sb.twill("ptp", "CHECK", "ctr", &pod.path, &check).err();
    assert!(msg.contains("10.4.0.2/32") && msg.contains("host"), "{msg}");
    sb.host
        .nl
        .route_add(&to_pod.scope(twill_kernel::Scope::HOST))
        .unwrap();
    sb.twill("ptp", "CHECK", "ctr", &pod.path, &check).ok();
    let eth0 = pod.nl.link_index("eth0").unwrap();
    let to_gw = Route::new(IpPrefix::new("fd00:4::1".parse().unwrap(), 128).unwrap()).dev(eth0);
    pod.nl.route_delete(&to_gw).unwrap();
    let (_, msg) = sb.twill("ptp", "CHECK", "ctr", &pod.path, &check).err();
    assert!(msg.contains("fd00:4::1/128"), "{msg}");
}

/// Bad input: the right code, the field named, nothing created or reserved.
#[test]
fn bad_input_names_the_field_and_leaves_nothing() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let base = conf(&sb);
    let with = |key: &str, value: Value| {
        let mut c = base.clone();
        c[key] = value;
        c
    };
    let mut bad_subnet = base.clone();
    bad_subnet["ipam"]["ranges"] = json!([[{"subnet": "10.4.0.3/24"}]]);
    let cases: Vec<(Value, u64, &str)> = vec![
        (with("ipMasqBackend", json!("iptables")), 2, "ipMasqBackend"),
        (with("ipMasq", json!("true")), 6, "ipMasq"),
        (with("mtu", json!(65536)), 7, "mtu"),
        (with("mtu", json!([1500])), 6, "mtu"),
        (with("ipam", json!(null)), 7, "ipam"),
        (
            with("ipam", json!({"subnet": "10.4.0.0/24"})),
            7,
            "ipam.type",
        ),
        (
            with("ipam", json!({"type": "../host-local"})),
            7,
            "ipam.type",
        ),
        (
            with("ipam", json!({"type": "no-such-ipam"})),
            7,
            "no-such-ipam",
        ),
        (
            with("dns", json!({"nameservers": "10.0.0.53"})),
            6,
            "dns.nameservers",
        ),
        (bad_subnet, 7, "ipam.ranges[0][0].subnet"),
    ];
    for (c, code, field) in cases {
        let (got, msg) = sb.twill("ptp", "ADD", "ctr", &pod.path, &c).err();
        assert_eq!(got, code, "{c}: {msg}");
        assert!(msg.contains(field), "{field} not named: {msg}");
    }
    let req = Request {
        ifname: "a/b",
        ..Request::new("ADD", "ctr", &pod.path)
    };
    assert_eq!(sb.exec(Impl::Twill, "ptp", &req, &base).err().0, 4);
    let missing = sb.tmp.join("no-such-netns");
    let (code, msg) = sb.twill("ptp", "ADD", "ctr", &missing, &base).err();
    assert!(code == 8 && msg.contains("no-such-netns"), "{code} {msg}");
    let old = with("cniVersion", json!("0.3.1"));
    let (code, _) = sb.twill("ptp", "CHECK", "ctr", &pod.path, &old).err();
    assert_eq!(code, 1);
    assert!(sb.reserved("ptpdel").is_empty());
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());
    assert_eq!(host_veths_settle(&mut sb, 0), 0);
}
