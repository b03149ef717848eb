//! Differential runs of the child-of-a-parent plugins (macvlan, ipvlan): the same
//! configuration through twill and the reference, each in its own sandbox with parent `up0`
//! (198.18.30.1/24) on a wire to a far namespace (198.18.30.2/24, and 10.30.0.254/24 and
//! fd00:30::fe/64 unless it routes to the pods) that also carries the host's default route; results equal modulo MACs and
//! the sandbox path, and the state equal too (the child's kind, mode, parent, MTU, addresses,
//! routes, sysctls), before and after DEL, with traffic between two pods and to the far end.

use std::net::IpAddr;

use serde_json::{json, Value};
use twill_test_support::wire::default_route;

use super::run::Request;
use super::{state, traffic, Impl, Sandbox};

/// Every version the reference speaks (it stops at 1.0.0).
pub const VERSIONS: [&str; 6] = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"];

/// One comparison.
#[derive(Debug, Clone, Copy)]
pub struct Case<'a> {
    /// The plugin.
    pub plugin: &'a str,
    /// Pod a sends to pod b at this address, when siblings can reach each other.
    pub peer: Option<&'a str>,
    /// Pod a sends to the far end at this address, when it can.
    pub far: Option<&'a str>,
    /// Routes the far end needs back to the pods (`dst`, `via`), for layer 3 modes; the
    /// far end then holds no address in the pods' subnets (it routes to them instead).
    pub far_routes: &'a [(&'a str, &'a str)],
}

/// One pass through `imp` in a fresh sandbox: ADD of two pods, traffic, CHECK, DEL.
fn observe(imp: Impl, case: &Case<'_>, conf: &Value) -> Value {
    let mut sb = Sandbox::new();
    let far_addrs: &[&str] = if case.far_routes.is_empty() {
        &["198.18.30.2/24", "10.30.0.254/24", "fd00:30::fe/64"]
    } else {
        &["198.18.30.2/24"]
    };
    let mut wire = sb.wire(None, "up0", &["198.18.30.1/24"], far_addrs);
    for (dst, via) in case.far_routes {
        let index = wire.far.nl.link_index("up0-far").unwrap();
        let route = twill_kernel::Route::new(dst.parse().unwrap())
            .via(via.parse().unwrap())
            .dev(index);
        wire.far.nl.route_add(&route).unwrap();
    }
    // For configurations without `master`: the default route's interface is up0.
    default_route(&mut sb.host, "up0", "198.18.30.2");
    let parent = sb.host.nl.link_index("up0").unwrap();
    let (mut a, b) = (sb.pod("a"), sb.pod("b"));
    let c = sb.conf(conf.clone());
    let p = case.plugin;
    let ra = sb
        .exec(imp, p, &Request::new("ADD", "ctr-a", &a.path), &c)
        .ok();
    let rb = sb
        .exec(imp, p, &Request::new("ADD", "ctr-b", &b.path), &c)
        .ok();
    let addr = |s: &str| -> IpAddr { s.parse().unwrap() };
    let mut seen = json!({
        "results": [state::normalized(ra.clone()), state::normalized(rb)],
        "container": state::child(&mut a, "eth0", parent, false),
        "traffic": case.peer.map(|x| traffic::udp(&a, &b, addr(x))),
        "far": case.far.map(|x| traffic::udp(&a, &wire.far, addr(x))),
    });
    if c["cniVersion"].as_str() >= Some("0.4.0") {
        let mut check = c.clone();
        check["prevResult"] = ra;
        let run = sb.exec(imp, p, &Request::new("CHECK", "ctr-a", &a.path), &check);
        seen["check"] = String::from_utf8_lossy(&run.stdout).into();
    }
    for (id, pod) in [("ctr-a", &a), ("ctr-b", &b)] {
        sb.exec(imp, p, &Request::new("DEL", id, &pod.path), &c)
            .ok();
    }
    seen["after_del"] = json!({
        "container": state::child(&mut a, "eth0", parent, false),
        "reserved": sb.reserved(c["name"].as_str().unwrap()),
        "host_links": sb.host.nl.link_list().unwrap().len(),
    });
    seen
}

/// Compares twill with the reference for `conf` at each of `versions`.
pub fn compare(case: &Case<'_>, conf: &Value, versions: &[&str]) {
    for v in versions {
        let mut c = conf.clone();
        c["cniVersion"] = (*v).into();
        let ours = observe(Impl::Twill, case, &c);
        let mut theirs = observe(Impl::Reference, case, &c);
        if case.peer.is_some() {
            assert_eq!(ours["traffic"], json!({"Ok": null}), "our traffic at {v}");
        }
        if case.far.is_some() {
            assert_eq!(
                ours["far"],
                json!({"Ok": null}),
                "our traffic to the wire at {v}"
            );
        }
        if let Some(check) = ours.get("check") {
            assert_eq!(check, "", "our CHECK failed at {v}");
            // The reference's CHECK wants a gateway on the kernel's route exactly as the
            // result has it, so a result route without one (which the kernel sends through
            // the interface's gateway) may fail there. Ours matches any gateway.
            let theirs_check = theirs["check"].as_str().unwrap_or_default().to_owned();
            let gatewayless = c["ipam"]["routes"]
                .as_array()
                .is_some_and(|rs| rs.iter().any(|r| r.get("gw").is_none()));
            if gatewayless && theirs_check.contains("Expected Route") {
                theirs["check"] = "".into();
            }
            // The reference ipvlan's CHECK skips its default-master lookup and then looks
            // up a parent named "" (docs/plugins/ipvlan.md); ours uses the default route's.
            let masterless = c.get("master").is_none();
            if masterless && theirs_check.contains(r#"failed to lookup master \"\""#) {
                theirs["check"] = "".into();
            }
        }
        assert_eq!(
            ours, theirs,
            "twill and the reference differ at {v} for {conf}\n ours: {ours:#}\ntheirs: {theirs:#}"
        );
    }
}

/// A configuration of `plugin` on up0 with host-local over 10.30.0.0/24, with `extra`'s
/// keys set (a `null` removes the key).
pub fn base(plugin: &str, extra: Value) -> Value {
    let mut c = json!({"name": format!("diff-{plugin}"), "type": plugin, "master": "up0",
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
