//! The same macvlan configurations through twill and the reference plugins (v1.1.1), each in
//! its own sandbox with a parent on a wire to another namespace: results equal modulo MACs
//! and the sandbox path, and the state they leave equal too (the child's kind, mode, parent,
//! MTU, addresses, routes and sysctls), before and after DEL; both carry traffic between two
//! pods and to the far end of the wire. The reference stops at 1.0.0, so every version up
//! to it is compared. (Its `linkInContainer` arrived after 1.1.1, so that key is compared
//! nowhere; see tests/macvlan.rs.)

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
use support::{state, traffic, Impl, Sandbox};
use twill_test_support::wire::default_route;

const VERSIONS: [&str; 6] = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"];

/// One pass through `imp` in a fresh sandbox: ADD of two pods, traffic, CHECK, DEL.
fn observe(imp: Impl, conf: &Value, peer: Option<IpAddr>, far: IpAddr) -> Value {
    let mut sb = Sandbox::new();
    let wire = sb.wire(
        None,
        "up0",
        &["198.18.30.1/24"],
        &["198.18.30.2/24", "10.30.0.254/24", "fd00:30::fe/64"],
    );
    // For configurations without `master`: the default route's interface is up0.
    default_route(&mut sb.host, "up0", "198.18.30.2");
    let parent = sb.host.nl.link_index("up0").unwrap();
    let (mut a, b) = (sb.pod("a"), sb.pod("b"));
    let c = sb.conf(conf.clone());
    let ra = sb
        .exec(imp, "macvlan", &Request::new("ADD", "ctr-a", &a.path), &c)
        .ok();
    let rb = sb
        .exec(imp, "macvlan", &Request::new("ADD", "ctr-b", &b.path), &c)
        .ok();
    let mut seen = json!({
        "results": [state::normalized(ra.clone()), state::normalized(rb)],
        "container": state::child(&mut a, "eth0", parent, false),
        "traffic": peer.map(|p| traffic::udp(&a, &b, p)),
        "far": peer.map(|_| traffic::udp(&a, &wire.far, far)),
    });
    if c["cniVersion"].as_str() >= Some("0.4.0") {
        let mut check = c.clone();
        check["prevResult"] = ra;
        let run = sb.exec(
            imp,
            "macvlan",
            &Request::new("CHECK", "ctr-a", &a.path),
            &check,
        );
        seen["check"] = String::from_utf8_lossy(&run.stdout).into();
    }
    for (id, pod) in [("ctr-a", &a), ("ctr-b", &b)] {
        sb.exec(imp, "macvlan", &Request::new("DEL", id, &pod.path), &c)
            .ok();
    }
    seen["after_del"] = json!({
        "container": state::child(&mut a, "eth0", parent, false),
        "reserved": sb.reserved(c["name"].as_str().unwrap()),
        "host_links": sb.host.nl.link_list().unwrap().len(),
    });
    seen
}

fn compare(conf: Value, versions: &[&str], peer: Option<&str>, far: &str) {
    let peer: Option<IpAddr> = peer.map(|p| p.parse().unwrap());
    let far: IpAddr = far.parse().unwrap();
    for v in versions {
        let mut c = conf.clone();
        c["cniVersion"] = (*v).into();
        let ours = observe(Impl::Twill, &c, peer, far);
        let theirs = observe(Impl::Reference, &c, peer, far);
        if peer.is_some() {
            assert_eq!(ours["traffic"], json!({"Ok": null}), "our traffic at {v}");
            assert_eq!(
                ours["far"],
                json!({"Ok": null}),
                "our traffic to the wire at {v}"
            );
        }
        let mut theirs = theirs;
        if let Some(check) = ours.get("check") {
            assert_eq!(check, "", "our CHECK failed at {v}");
            // The reference's CHECK wants a gateway on the kernel's route exactly as the
            // result has it, so a result route without one (which the kernel sends through
            // the interface's gateway) always fails there. Ours matches any gateway.
            let theirs_check = theirs["check"].as_str().unwrap_or_default().to_owned();
            let gatewayless = c["ipam"]["routes"]
                .as_array()
                .is_some_and(|rs| rs.iter().any(|r| r.get("gw").is_none()));
            if gatewayless && theirs_check.contains("Expected Route") {
                theirs["check"] = "".into();
            }
        }
        assert_eq!(
            ours, theirs,
            "twill and the reference differ at {v} for {conf}\n ours: {ours:#}\ntheirs: {theirs:#}"
        );
    }
}

fn base(extra: Value) -> Value {
    let mut c = json!({"name": "diffmv", "type": "macvlan", "master": "up0",
                       "ipam": {"type": "host-local",
                                "ranges": [[{"subnet": "10.30.0.0/24"}]]}});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

#[test]
fn ipv4_with_default_route() {
    let mut c = base(json!({}));
    c["ipam"]["routes"] = json!([{"dst": "0.0.0.0/0"}]);
    compare(c, &VERSIONS, Some("10.30.0.3"), "10.30.0.254");
}

#[test]
fn ipv6_with_routes_and_dns() {
    let mut c = base(json!({"dns": {"nameservers": ["fd00:30::53"], "search": ["example.test"]}}));
    c["ipam"]["ranges"] = json!([[{"subnet": "fd00:30::/64", "gateway": "fd00:30::fe"}]]);
    c["ipam"]["routes"] = json!([{"dst": "::/0"}, {"dst": "fd00:33::/64", "gw": "fd00:30::fe"}]);
    // The gateway is not the subnet's first address, so the pods get ::1 and ::2.
    compare(c, &VERSIONS, Some("fd00:30::2"), "fd00:30::fe");
}

#[test]
fn dual_stack_vepa_with_mtu_and_default_master() {
    let mut c = base(json!({"master": null, "mode": "vepa", "mtu": 1400}));
    c["ipam"]["ranges"] = json!([[{"subnet": "10.30.0.0/24"}], [{"subnet": "fd00:30::/64"}]]);
    c["ipam"]["routes"] = json!([{"dst": "10.33.0.0/16"}]);
    // vepa: pods meet only through a hairpinning switch, which a veth is not.
    compare(c, &VERSIONS, None, "10.30.0.254");
}

#[test]
fn private_mode() {
    let c = base(json!({"mode": "private"}));
    compare(c, &VERSIONS, None, "10.30.0.254");
}

#[test]
fn layer_2_only() {
    let c = base(json!({"ipam": null}));
    compare(c, &VERSIONS[2..], None, "10.30.0.254");
}
