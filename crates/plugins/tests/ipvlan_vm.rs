//! The ipvlan plugin against Debian's kernel in a QEMU VM (this machine's kernel has no
//! ipvlan; the guest's `/init` loads the module). One boot runs every case: l2 pods reaching
//! each other and the far end of the parent's wire over IPv4 and IPv6, l3 and l3s, the
//! chained form (master and addresses from the previous result), `linkInContainer`, MTU,
//! CHECK and its drift detection, DEL repeated and without the namespace — and the same
//! configurations through the reference ipvlan (v1.1.1), compared.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::net::IpAddr;
use std::time::Duration;

use serde_json::{json, Value};
use support::child_diff::{self, Case, VERSIONS};
use support::run::Request;
use support::{state, traffic, Impl, Ns, Sandbox};
use twill_kernel::{IpvlanMode, LinkId, Route};
use twill_test_support::vm::{self, VmOptions};

const NET: &str = "ipvnet";

#[test]
fn ipvlan_in_the_guest() {
    if !vm::in_guest() {
        let opts = VmOptions::default().timeout(Duration::from_secs(900));
        let out = vm::run_test("ipvlan_in_the_guest", &opts);
        eprintln!("boot {:?}, total {:?}", out.boot, out.total);
        return;
    }
    layer_2_dual_stack();
    layer_3_and_l3s();
    chained_without_ipam();
    parent_inside_the_container_with_mtu();
    differential();
    never_executes_a_program();
}

/// ADD, CHECK, GC, STATUS and DEL with `ip`, `sh` and friends on PATH replaced by traps.
fn never_executes_a_program() {
    let (mut sb, _wire) = world();
    let (traps, marker) = sb.traps(&["ip", "sh", "modprobe", "sysctl", "nft"]);
    let pod = sb.pod("p");
    let c = conf(&sb, json!({"cniVersion": "1.1.0"}));
    let exec = |cmd: &str, c: &Value| {
        let req = Request {
            path: Some(&traps),
            ..Request::new(cmd, "ctr-trap", &pod.path)
        };
        sb.exec(Impl::Twill, "ipvlan", &req, c).ok()
    };
    let r = exec("ADD", &c);
    exec("CHECK", &with_prev(&c, &r));
    let mut gc = c.clone();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "ctr-trap", "ifname": "eth0"}]);
    exec("GC", &gc);
    exec("STATUS", &c);
    exec("DEL", &c);
    assert!(
        !marker.exists(),
        "the plugin executed: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}

fn conf(sb: &Sandbox, extra: Value) -> Value {
    let mut c = json!({
        "cniVersion": "1.0.0", "name": NET, "type": "ipvlan", "master": "up0",
        "ipam": {"type": "host-local",
                 "ranges": [[{"subnet": "10.50.0.0/24"}], [{"subnet": "fd00:50::/64"}]],
                 "routes": [{"dst": "198.18.51.0/24"}]},
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    sb.conf(c)
}

fn run(sb: &Sandbox, cmd: &str, id: &str, pod: &Ns, c: &Value) -> support::run::Run {
    sb.exec(Impl::Twill, "ipvlan", &Request::new(cmd, id, &pod.path), c)
}

fn with_prev(c: &Value, prev: &Value) -> Value {
    let mut c = c.clone();
    c["prevResult"] = prev.clone();
    c
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A sandbox with parent up0 (198.18.50.1/24) on a wire to a far end holding
/// 198.18.50.2/24 and addresses in the pods' subnets.
fn world() -> (Sandbox, twill_test_support::wire::Wire) {
    let mut sb = Sandbox::new();
    let wire = sb.wire(
        None,
        "up0",
        &["198.18.50.1/24"],
        &["198.18.50.2/24", "10.50.0.254/24", "fd00:50::fe/64"],
    );
    (sb, wire)
}

fn layer_2_dual_stack() {
    let (mut sb, wire) = world();
    let (mut a, b) = (sb.pod("a"), sb.pod("b"));
    let c = conf(&sb, json!({}));
    let ra = run(&sb, "ADD", "ctr-a", &a, &c).ok();
    run(&sb, "ADD", "ctr-b", &b, &c).ok();
    let up0 = sb.host.nl.link_get(LinkId::Name("up0")).unwrap();
    // An ipvlan child has its parent's MAC.
    assert_eq!(ra["interfaces"][0]["mac"], up0.mac.unwrap().to_string());
    assert_eq!(ra["interfaces"].as_array().unwrap().len(), 1, "{ra}");
    let seen = state::child(&mut a, "eth0", up0.index, false);
    assert_eq!(seen["mode"], "l2", "{seen:#}");
    assert_eq!(seen["parent_ok"], true, "{seen:#}");
    assert_eq!(seen["container"]["kind"], "ipvlan");
    for (from, to, dst) in [
        (&a, &b, "10.50.0.3"),
        (&b, &a, "fd00:50::2"),
        (&a, &wire.far, "10.50.0.254"),
        (&wire.far, &b, "fd00:50::3"),
    ] {
        traffic::udp(from, to, ip(dst)).unwrap();
    }
    let ok = with_prev(&c, &ra);
    run(&sb, "CHECK", "ctr-a", &a, &ok).ok();
    let l3 = with_prev(&conf(&sb, json!({"mode": "l3"})), &ra);
    let (_, msg) = run(&sb, "CHECK", "ctr-a", &a, &l3).err();
    assert!(msg.contains("mode"), "{msg}");
    let index = a.nl.link_index("eth0").unwrap();
    let route =
        a.nl.route_list(None, None)
            .unwrap()
            .into_iter()
            .find(|r| r.dst.to_string() == "198.18.51.0/24" && r.oif == Some(index))
            .unwrap();
    a.nl.route_delete(&route).unwrap();
    let (_, msg) = run(&sb, "CHECK", "ctr-a", &a, &ok).err();
    assert!(msg.contains("198.18.51.0/24"), "{msg}");

    for _ in 0..2 {
        run(&sb, "DEL", "ctr-a", &a, &c).ok();
    }
    assert!(a.nl.link_get(LinkId::Name("eth0")).is_err());
    let gone = sb.delete_pod(b);
    sb.exec(
        Impl::Twill,
        "ipvlan",
        &Request::new("DEL", "ctr-b", &gone),
        &c,
    )
    .ok();
    assert!(sb.reserved(NET).is_empty());
}

fn layer_3_and_l3s() {
    let mut sb = Sandbox::new();
    let mut wire = sb.wire(None, "up0", &["198.18.50.1/24"], &["198.18.50.2/24"]);
    // l3: the far end routes the pods' subnet to the host's parent address.
    let far_if = wire.far.nl.link_index("up0-far").unwrap();
    let back = Route::new("10.50.0.0/24".parse().unwrap())
        .via(ip("198.18.50.1"))
        .dev(far_if);
    wire.far.nl.route_add(&back).unwrap();
    let (mut a, b) = (sb.pod("a"), sb.pod("b"));
    let c = conf(&sb, json!({"mode": "l3"}));
    let ra = run(&sb, "ADD", "ctr-a", &a, &c).ok();
    run(&sb, "ADD", "ctr-b", &b, &c).ok();
    assert_eq!(
        a.nl.ipvlan_mode(LinkId::Name("eth0")).unwrap(),
        Some(IpvlanMode::L3)
    );
    traffic::udp(&a, &b, ip("10.50.0.3")).unwrap();
    traffic::udp(&b, &a, ip("fd00:50::2")).unwrap();
    // Routed by the parent's namespace: 198.18.51.0/24 is not there, 198.18.50.2 is.
    let mut to_far = conf(&sb, json!({"mode": "l3"}));
    to_far["ipam"]["routes"] = json!([{"dst": "198.18.50.0/24"}]);
    let c_pod = sb.pod("c");
    run(&sb, "ADD", "ctr-c", &c_pod, &to_far).ok();
    traffic::udp(&c_pod, &wire.far, ip("198.18.50.2")).unwrap();
    run(&sb, "CHECK", "ctr-a", &a, &with_prev(&c, &ra)).ok();
    for (id, pod, conf) in [
        ("ctr-a", &a, &c),
        ("ctr-b", &b, &c),
        ("ctr-c", &c_pod, &to_far),
    ] {
        run(&sb, "DEL", id, pod, conf).ok();
    }

    let c = conf(&sb, json!({"mode": "l3s"}));
    let r = run(&sb, "ADD", "ctr-a", &a, &c).ok();
    assert_eq!(
        a.nl.ipvlan_mode(LinkId::Name("eth0")).unwrap(),
        Some(IpvlanMode::L3s)
    );
    run(&sb, "CHECK", "ctr-a", &a, &with_prev(&c, &r)).ok();
    run(&sb, "DEL", "ctr-a", &a, &c).ok();
    assert!(sb.reserved(NET).is_empty());
}

fn chained_without_ipam() {
    let (mut sb, wire) = world();
    let mut pod = sb.pod("p");
    let prev = json!({"cniVersion": "1.0.0",
                      "interfaces": [{"name": "up0"}],
                      "ips": [{"address": "10.50.0.40/24", "gateway": "10.50.0.254"}],
                      "routes": [{"dst": "198.18.51.0/24"}]});
    let c = conf(
        &sb,
        json!({"master": null, "ipam": null, "prevResult": prev}),
    );
    let r = run(&sb, "ADD", "ctr", &pod, &c).ok();
    assert_eq!(
        r["interfaces"],
        json!([{"name": "eth0", "mac": r["interfaces"][0]["mac"],
                                        "sandbox": pod.path_str()}])
    );
    assert_eq!(r["ips"][0]["address"], "10.50.0.40/24");
    assert_eq!(r["ips"][0]["interface"], 0);
    let up0 = sb.host.nl.link_index("up0").unwrap();
    assert_eq!(
        state::child(&mut pod, "eth0", up0, false)["parent_ok"],
        true
    );
    traffic::udp(&pod, &wire.far, ip("10.50.0.254")).unwrap();
    // CHECK gets the ipvlan's own result: with master named, the parent is checked too;
    // without, kind, mode, addresses and routes.
    for master in [json!("up0"), Value::Null] {
        let mut check = conf(&sb, json!({"ipam": null, "master": master}));
        check["prevResult"] = r.clone();
        run(&sb, "CHECK", "ctr", &pod, &check).ok();
    }
    let mut wrong = conf(&sb, json!({"ipam": null, "master": "lo"}));
    wrong["prevResult"] = r.clone();
    let (_, msg) = run(&sb, "CHECK", "ctr", &pod, &wrong).err();
    assert!(msg.contains("not a child of master"), "{msg}");
    run(&sb, "DEL", "ctr", &pod, &c).ok();
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());
}

fn parent_inside_the_container_with_mtu() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let wire = sb.wire(Some(&mut pod), "cp0", &[], &["10.50.0.254/24"]);
    let parent = pod.nl.link_index("cp0").unwrap();
    let c = conf(
        &sb,
        json!({"master": "cp0", "linkInContainer": true, "mtu": 1280}),
    );
    let r = run(&sb, "ADD", "ctr", &pod, &c).ok();
    let seen = state::child(&mut pod, "eth0", parent, true);
    assert_eq!(seen["parent_ok"], true, "{seen:#}");
    assert_eq!(seen["container"]["mtu"], 1280, "{seen:#}");
    traffic::udp(&pod, &wire.far, ip("10.50.0.254")).unwrap();
    run(&sb, "CHECK", "ctr", &pod, &with_prev(&c, &r)).ok();
    run(&sb, "DEL", "ctr", &pod, &c).ok();
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());
}

fn differential() {
    let l2 = Case {
        plugin: "ipvlan",
        peer: Some("10.30.0.3"),
        far: Some("10.30.0.254"),
        far_routes: &[],
    };
    let mut c = child_diff::base("ipvlan", json!({}));
    c["ipam"]["routes"] = json!([{"dst": "0.0.0.0/0"}]);
    child_diff::compare(&l2, &c, &VERSIONS);

    let mut c = child_diff::base("ipvlan", json!({"master": null, "mtu": 1400}));
    c["ipam"]["ranges"] = json!([[{"subnet": "10.30.0.0/24"}], [{"subnet": "fd00:30::/64"}]]);
    child_diff::compare(&l2, &c, &["1.0.0"]);

    let l3 = Case {
        plugin: "ipvlan",
        peer: Some("10.30.0.3"),
        far: Some("198.18.30.2"),
        far_routes: &[("10.30.0.0/24", "198.18.30.1")],
    };
    let mut c = child_diff::base("ipvlan", json!({"mode": "l3"}));
    c["ipam"]["routes"] = json!([{"dst": "198.18.30.0/24", "gw": "10.30.0.1"}]);
    child_diff::compare(&l3, &c, &["0.3.1", "1.0.0"]);
}
