//! The same ptp configurations through twill and the reference plugins (v1.1.1), each in
//! its own host namespace: results equal modulo veth names and MACs, and the state they
//! leave equal too (container addresses, routes with their sources, sysctls; host veths,
//! their gateway addresses, the host's routes, forwarding), before and after DEL. Both carry
//! traffic between two pods through the host. The reference stops at 1.0.0, so every version
//! up to it is compared.

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

const VERSIONS: [&str; 6] = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"];

/// One pass of ADD (two pods), traffic from the first to the second, CHECK, DEL through
/// `imp` in a fresh sandbox; returns what was observed, normalized.
fn observe(imp: Impl, conf: &Value, peer: IpAddr) -> Value {
    let mut sb = Sandbox::new();
    let (mut a, mut b) = (sb.pod("a"), sb.pod("b"));
    let c = sb.conf(conf.clone());
    let ra = sb
        .exec(imp, "ptp", &Request::new("ADD", "ctr-a", &a.path), &c)
        .ok();
    let rb = sb
        .exec(imp, "ptp", &Request::new("ADD", "ctr-b", &b.path), &c)
        .ok();
    let mut seen = json!({
        "results": [state::normalized(ra.clone()), state::normalized(rb)],
        "container": state::container(&mut a, "eth0"),
        "host": state::routed_host(&mut sb.host),
        "traffic": traffic::udp(&a, &b, peer),
    });
    if c["cniVersion"].as_str() >= Some("0.4.0") {
        let mut check = c.clone();
        check["prevResult"] = ra;
        let run = sb.exec(imp, "ptp", &Request::new("CHECK", "ctr-a", &a.path), &check);
        seen["check"] = String::from_utf8_lossy(&run.stdout).into();
    }
    for (id, pod) in [("ctr-a", &a), ("ctr-b", &b)] {
        sb.exec(imp, "ptp", &Request::new("DEL", id, &pod.path), &c)
            .ok();
    }
    seen["after_del"] = json!({
        "container": state::container(&mut b, "eth0"),
        "reserved": sb.reserved(c["name"].as_str().unwrap()),
        "host": state::routed_host(&mut sb.host),
    });
    seen
}

fn compare(conf: Value, peer: &str) {
    let peer: IpAddr = peer.parse().unwrap();
    for v in VERSIONS {
        let mut c = conf.clone();
        c["cniVersion"] = v.into();
        let ours = observe(Impl::Twill, &c, peer);
        let theirs = observe(Impl::Reference, &c, peer);
        assert_eq!(ours["traffic"], json!({"Ok": null}), "our traffic at {v}");
        if let Some(check) = ours.get("check") {
            assert_eq!(check, "", "our CHECK failed at {v}");
        }
        assert_eq!(
            ours, theirs,
            "twill and the reference differ at {v} for {conf}\n ours: {ours:#}\ntheirs: {theirs:#}"
        );
    }
}

fn base(ranges: Value, extra: Value) -> Value {
    let mut c = json!({"name": "diffptp", "type": "ptp",
                       "ipam": {"type": "host-local", "ranges": ranges}});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

#[test]
fn ipv4_with_default_route() {
    let mut c = base(
        json!([[{"subnet": "10.8.0.0/24"}]]),
        json!({"ipMasq": false}),
    );
    c["ipam"]["routes"] = json!([{"dst": "0.0.0.0/0"}]);
    compare(c, "10.8.0.3");
}

#[test]
fn ipv6_with_routes_and_dns() {
    let mut c = base(
        json!([[{"subnet": "fd00:8::/64", "gateway": "fd00:8::fe"}]]),
        json!({"dns": {"nameservers": ["fd00:8::53"], "search": ["example.test"]}}),
    );
    c["ipam"]["routes"] = json!([{"dst": "::/0"}, {"dst": "fd00:88::/64", "gw": "fd00:8::fe"}]);
    compare(c, "fd00:8::2");
}

#[test]
fn dual_stack_with_mtu() {
    let mut c = base(
        json!([[{"subnet": "10.9.0.0/24"}], [{"subnet": "fd00:9::/64"}]]),
        json!({"mtu": 1400}),
    );
    c["ipam"]["routes"] = json!([{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]);
    compare(c, "fd00:9::3");
}
