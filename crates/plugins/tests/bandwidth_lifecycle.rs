//! bandwidth on its own: ADD/CHECK/DEL/GC/STATUS at 1.1.0 (which the reference does not
//! speak), DEL twice and without a namespace, GC removing only this network's ifbs of
//! vanished containers, CHECK noticing changed shaping, refusals with the right code and
//! nothing left half-installed, and no program executed on the way.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod bandwidth_support;
mod support;

use bandwidth_support::{add, bandwidth, ifbs, tc_state, Chain, NET};
use serde_json::{json, Value};
use support::run::Request;
use support::{Impl, Sandbox};
use twill_kernel::tc::{Qdisc, Tbf};
use twill_kernel::LinkId;

fn both() -> Value {
    json!({"ingressRate": 8_000_000, "ingressBurst": 80_000,
           "egressRate": 16_000_000, "egressBurst": 160_000})
}

fn gc(sb: &Sandbox, net: &str, valid: &[&str]) {
    let attachments: Vec<Value> = valid
        .iter()
        .map(|id| json!({"containerID": id, "ifname": "eth0"}))
        .collect();
    let conf = json!({"cniVersion": "1.1.0", "name": net, "type": "bandwidth",
                      "cni.dev/valid-attachments": attachments});
    let req = Request {
        netns: None,
        container_id: "",
        ifname: "",
        ..Request::new("GC", "", std::path::Path::new(""))
    };
    sb.exec(Impl::Twill, "bandwidth", &req, &conf).ok();
}

#[test]
fn a_whole_lifecycle_at_1_1_0() {
    let mut sb = Sandbox::new();
    let pod = sb.pod("a");
    let a = add(&sb, Impl::Twill, "bridge", &pod, "c1", "1.1.0", &both());
    assert_eq!(a.result["cniVersion"], "1.1.0");
    let ifb = bandwidth_support::ifb_of(&a.result).unwrap();
    assert_eq!(ifbs(&sb.host), [ifb]);
    // The previous result is passed on, with the ifb appended.
    let n = a.first["interfaces"].as_array().unwrap().len();
    assert_eq!(a.result["interfaces"].as_array().unwrap().len(), n + 1);
    assert_eq!(a.result["ips"], a.first["ips"]);
    Chain {
        sb: &sb,
        kind: "bridge",
        pod: &pod,
        id: "c1",
        version: "1.1.0",
        limits: &both(),
    }
    .bandwidth(Impl::Twill, "CHECK", &a.result)
    .ok();
    let status = sb.exec(
        Impl::Twill,
        "bandwidth",
        &Request {
            netns: None,
            ..Request::new("STATUS", "", std::path::Path::new(""))
        },
        &bandwidth("1.1.0", &json!({})),
    );
    status.ok();
    // DEL twice, then without a namespace: all succeed, the ifb is gone after the first.
    for netns in [Some(&pod.path), Some(&pod.path), None] {
        let mut c = bandwidth("1.1.0", &both());
        c["prevResult"] = a.result.clone();
        let req = Request {
            netns: netns.map(|p| p.as_path()),
            ..Request::new("DEL", "c1", &pod.path)
        };
        sb.exec(Impl::Twill, "bandwidth", &req, &c).ok();
        assert_eq!(ifbs(&sb.host), Vec::<String>::new());
    }
}

#[test]
fn del_after_the_pod_is_gone_removes_the_ifb() {
    let mut sb = Sandbox::new();
    let pod = sb.pod("a");
    let a = add(&sb, Impl::Twill, "ptp", &pod, "c2", "1.0.0", &both());
    let path = sb.delete_pod(pod);
    let mut c = bandwidth("1.0.0", &both());
    c["prevResult"] = a.result.clone();
    sb.exec(
        Impl::Twill,
        "bandwidth",
        &Request::new("DEL", "c2", &path),
        &c,
    )
    .ok();
    assert_eq!(ifbs(&sb.host), Vec::<String>::new());
}

#[test]
fn gc_removes_only_this_networks_ifbs_of_vanished_containers() {
    let mut sb = Sandbox::new();
    let (p1, p2, p3) = (sb.pod("p1"), sb.pod("p2"), sb.pod("p3"));
    let eg = json!({"egressRate": 2_000_000, "egressBurst": 100_000});
    let a1 = add(&sb, Impl::Twill, "bridge", &p1, "keep", "1.1.0", &eg);
    let a2 = add(&sb, Impl::Twill, "bridge", &p2, "gone", "1.1.0", &eg);
    // The reference's ifb carries no owner: GC cannot tell it is this network's, and
    // leaves it alone.
    let a3 = add(&sb, Impl::Reference, "bridge", &p3, "theirs", "1.0.0", &eg);
    let before = ifbs(&sb.host);
    assert_eq!(before.len(), 3);
    gc(&sb, "another-net", &[]);
    assert_eq!(ifbs(&sb.host), before, "another network's GC touched ours");
    gc(&sb, NET, &["keep"]);
    let keep = bandwidth_support::ifb_of(&a1.result).unwrap();
    let theirs = bandwidth_support::ifb_of(&a3.result).unwrap();
    let mut want = vec![keep, theirs];
    want.sort();
    assert_eq!(ifbs(&sb.host), want);
    let _ = a2;
    gc(&sb, NET, &[]);
    assert_eq!(
        ifbs(&sb.host),
        [bandwidth_support::ifb_of(&a3.result).unwrap()]
    );
}

#[test]
fn check_notices_changed_or_missing_shaping() {
    let mut sb = Sandbox::new();
    let pod = sb.pod("a");
    let a = add(&sb, Impl::Twill, "bridge", &pod, "c3", "1.0.0", &both());
    let check = |sb: &Sandbox, limits: &Value| {
        let chain = Chain {
            sb,
            kind: "bridge",
            pod: &pod,
            id: "c3",
            version: "1.0.0",
            limits,
        };
        chain.bandwidth(Impl::Twill, "CHECK", &a.result)
    };
    // Other limits than installed.
    let mut other = both();
    other["ingressRate"] = json!(9_000_000);
    let (_, msg) = check(&sb, &other).err();
    assert!(msg.contains("ingressRate"), "{msg}");
    // The host end's tbf replaced by another.
    let index = sb.host.nl.link_index(&a.host_if).unwrap();
    let q = Qdisc::root_tbf(
        index,
        twill_kernel::tc::handle(1, 0),
        Tbf {
            rate: 1,
            buffer: 1,
            limit: 1,
        },
    );
    sb.host.nl.qdisc_delete(&q).unwrap();
    let (_, msg) = check(&sb, &both()).err();
    assert!(
        msg.contains("ingressRate") && msg.contains("no root qdisc") || msg.contains("not tbf"),
        "{msg}"
    );
    // The ifb gone.
    let ifb = bandwidth_support::ifb_of(&a.result).unwrap();
    sb.host.nl.link_delete(LinkId::Name(&ifb)).unwrap();
    let (_, msg) = check(
        &sb,
        &json!({"egressRate": 16_000_000, "egressBurst": 160_000}),
    )
    .err();
    assert!(msg.contains("egressRate") && msg.contains(&ifb), "{msg}");
}

#[test]
fn refusals_have_the_right_code_and_change_nothing() {
    let mut sb = Sandbox::new();
    let pod = sb.pod("a");
    let first = bandwidth_support::first(&sb, "bridge", "1.0.0");
    let r1 = sb
        .exec(
            Impl::Twill,
            "bridge",
            &Request::new("ADD", "c4", &pod.path),
            &first,
        )
        .ok();
    let host_if = bandwidth_support::host_if(&r1);
    let empty = tc_state(&sb.host, &host_if);
    let run = |sb: &Sandbox, limits: &Value, prev: Option<&Value>, version: &str| {
        let mut c = bandwidth(version, limits);
        if let Some(p) = prev {
            c["prevResult"] = p.clone();
        }
        sb.exec(
            Impl::Twill,
            "bandwidth",
            &Request::new("ADD", "c4", &pod.path),
            &c,
        )
    };
    let cases: [(Value, Option<&Value>, &str, u64, &str); 7] = [
        (both(), None, "1.0.0", 7, "prevResult"),
        (
            json!({"ingressRate": 1000}),
            Some(&r1),
            "1.0.0",
            7,
            "ingressBurst",
        ),
        (
            json!({"ingressRate": 7, "ingressBurst": 800}),
            Some(&r1),
            "1.0.0",
            7,
            "ingressRate",
        ),
        (
            json!({"egressRate": true, "egressBurst": 800}),
            Some(&r1),
            "1.0.0",
            6,
            "egressRate",
        ),
        (
            json!({"runtimeConfig": {"bandwidth": {"EgressBurst": 9}}}),
            Some(&r1),
            "1.0.0",
            7,
            "runtimeConfig.bandwidth.egressRate",
        ),
        (both(), Some(&r1), "0.2.0", 1, "incompatible CNI version"),
        (
            both(),
            Some(&json!({"cniVersion": "1.0.0", "interfaces": []})),
            "1.0.0",
            7,
            "prevResult.interfaces",
        ),
    ];
    for (limits, prev, version, code, field) in cases {
        let (c, msg) = run(&sb, &limits, prev, version).err();
        assert_eq!(c, code, "{limits} {version}: {msg}");
        assert!(msg.contains(field), "{limits}: {msg}");
        assert_eq!(tc_state(&sb.host, &host_if), empty, "{limits}");
    }
    // A second ADD over a shaped interface fails on the kernel's "exists" and leaves the
    // first one's shaping whole.
    let a = run(&sb, &both(), Some(&r1), "1.0.0").ok();
    let shaped = tc_state(&sb.host, &host_if);
    let (code, msg) = run(&sb, &both(), Some(&r1), "1.0.0").err();
    assert_eq!(code, 999, "{msg}");
    assert!(msg.contains("exists"), "{msg}");
    assert_eq!(tc_state(&sb.host, &host_if), shaped);
    Chain {
        sb: &sb,
        kind: "bridge",
        pod: &pod,
        id: "c4",
        version: "1.0.0",
        limits: &both(),
    }
    .bandwidth(Impl::Twill, "CHECK", &a)
    .ok();
    // A failure halfway (the ifb's name taken by another link) rolls the ingress tbf back.
    let mut sb2 = Sandbox::new();
    let pod2 = sb2.pod("b");
    let first2 = bandwidth_support::first(&sb2, "bridge", "1.0.0");
    let r2 = sb2
        .exec(
            Impl::Twill,
            "bridge",
            &Request::new("ADD", "c5", &pod2.path),
            &first2,
        )
        .ok();
    let ifb = reference_ifb_name(NET, "c5");
    sb2.host
        .nl
        .link_add(&twill_kernel::NewLink::bridge(&ifb))
        .unwrap();
    let host2 = bandwidth_support::host_if(&r2);
    let mut c = bandwidth("1.0.0", &both());
    c["prevResult"] = r2.clone();
    let (code, msg) = sb2
        .exec(
            Impl::Twill,
            "bandwidth",
            &Request::new("ADD", "c5", &pod2.path),
            &c,
        )
        .err();
    assert_eq!(code, 999, "{msg}");
    let state = tc_state(&sb2.host, &host2);
    assert_eq!(state["host_if"]["qdiscs"], json!([]), "{state:#}");
    // The link that was there is still there.
    assert!(sb2.host.nl.link_get(LinkId::Name(&ifb)).is_ok());
}

#[test]
fn no_program_is_executed() {
    let mut sb = Sandbox::new();
    let pod = sb.pod("a");
    let (traps, marker) = sb.traps(&["tc", "ip", "sh", "nft", "iptables", "modprobe"]);
    let first = bandwidth_support::first(&sb, "bridge", "1.1.0");
    let r1 = sb.run_with_path(
        "bridge",
        "ADD",
        "c6",
        pod.path.to_str().unwrap(),
        &traps,
        &first,
    );
    let mut c = bandwidth("1.1.0", &both());
    c["prevResult"] = r1;
    let p = pod.path.to_str().unwrap();
    let result = sb.run_with_path("bandwidth", "ADD", "c6", p, &traps, &c);
    c["prevResult"] = result;
    sb.run_with_path("bandwidth", "CHECK", "c6", p, &traps, &c);
    sb.run_with_path("bandwidth", "DEL", "c6", p, &traps, &c);
    assert!(
        !marker.exists(),
        "a program was executed: {:?}",
        std::fs::read_to_string(&marker)
    );
}

/// The reference's ifb name, computed by `sha512sum` rather than by the code under test:
/// "bwp" and the first 12 hex digits of SHA-512 over network name and container ID.
fn reference_ifb_name(net: &str, id: &str) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("printf %s \"$1\" | sha512sum")
        .arg("sh")
        .arg(format!("{net}{id}"))
        .output()
        .unwrap();
    format!("bwp{}", &String::from_utf8(out.stdout).unwrap()[..12])
}
