//! The ipvlan plugin on this machine, whose kernel has no ipvlan: everything decided before
//! a link is made — bad keys refused naming the field, the parent looked up and its MTU
//! enforced, the chained master and addresses — and the kernel's own refusal reported
//! without leaving a reservation. Links, traffic and the reference comparison run in the VM
//! (tests/ipvlan_vm.rs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::{json, Value};
use support::run::Request;
use support::{Impl, Ns, Sandbox};
use twill_kernel::LinkId;

const NET: &str = "ipvnet";

fn conf(sb: &Sandbox, extra: Value) -> Value {
    let mut c = json!({
        "cniVersion": "1.0.0", "name": NET, "type": "ipvlan", "master": "up0",
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.50.0.0/24"}]]},
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

fn run(sb: &Sandbox, cmd: &str, pod: &Ns, c: &Value) -> support::run::Run {
    sb.exec(
        Impl::Twill,
        "ipvlan",
        &Request::new(cmd, "ctr", &pod.path),
        c,
    )
}

#[test]
fn bad_input_is_refused_naming_the_field_before_anything_is_made() {
    let mut sb = Sandbox::new();
    let _wire = sb.wire(None, "up0", &["198.18.50.1/24"], &["198.18.50.2/24"]);
    let mut pod = sb.pod("p");
    let two_ifaces = json!({"cniVersion": "1.0.0",
                            "interfaces": [{"name": "a"}, {"name": "b"}],
                            "ips": [{"address": "10.50.0.9/24"}]});
    let no_ips = json!({"cniVersion": "1.0.0", "interfaces": [{"name": "up0"}]});
    for (extra, code, field) in [
        (json!({"mode": "bridge"}), 7, "mode"),
        (json!({"mode": 2}), 6, "mode"),
        (json!({"mtu": 9000}), 7, "mtu"),
        (json!({"mtu": 20}), 7, "mtu"),
        (json!({"master": "nope0"}), 7, "master"),
        (json!({"master": "a:b"}), 7, "master"),
        (json!({"linkInContainer": "no"}), 6, "linkInContainer"),
        (json!({"ipam": null}), 7, "ipam"),
        (
            json!({"ipam": null, "master": null, "prevResult": two_ifaces}),
            7,
            "master",
        ),
        (json!({"ipam": null, "prevResult": no_ips}), 7, "ipam"),
    ] {
        let c = conf(&sb, extra.clone());
        let (got, msg) = run(&sb, "ADD", &pod, &c).err();
        assert_eq!(got, code, "{extra}: {msg}");
        assert!(msg.contains(field), "{extra}: {msg}");
    }
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());
    assert!(sb.reserved(NET).is_empty());
}

#[test]
fn a_kernel_refusal_is_reported_and_nothing_is_reserved() {
    let mut sb = Sandbox::new();
    let _wire = sb.wire(None, "up0", &["198.18.50.1/24"], &["198.18.50.2/24"]);
    let mut pod = sb.pod("p");
    // The kernel refuses: loopback can be no ipvlan parent (EINVAL), and a kernel without
    // ipvlan, as this machine's, has none at all (EOPNOTSUPP). Either way the error names
    // what was asked, after the parent was found and before any IPAM ran.
    let c = conf(&sb, json!({"mode": "l3", "master": "lo"}));
    let (code, msg) = run(&sb, "ADD", &pod, &c).err();
    assert_eq!(code, 999, "{msg}");
    assert!(msg.contains("ipvlan") && msg.contains("\"lo\""), "{msg}");
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_err());
    assert!(sb.reserved(NET).is_empty());
    // DEL after a failed ADD, twice, and without the namespace: success.
    run(&sb, "DEL", &pod, &c).ok();
    run(&sb, "DEL", &pod, &c).ok();
    let gone = sb.delete_pod(pod);
    let req = Request::new("DEL", "ctr", &gone);
    sb.exec(Impl::Twill, "ipvlan", &req, &c).ok();
    // GC and STATUS need no link.
    let mut g = c.clone();
    g["cniVersion"] = "1.1.0".into();
    g["cni.dev/valid-attachments"] = json!([]);
    let p2 = sb.pod("p2");
    run(&sb, "GC", &p2, &g).ok();
    run(&sb, "STATUS", &p2, &g).ok();
    let mut bad = g.clone();
    bad["mode"] = "l4".into();
    let (code, msg) = run(&sb, "STATUS", &p2, &bad).err();
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("mode"), "{msg}");
}
