//! sbr chained after an interface plugin, side by side with the reference (v1.1.1), each
//! in its own host namespace: the same results, the same rules and routing tables in the
//! container after ADD (for the default interface, for a second interface of a second
//! network, dual-stack) at every version the reference speaks; after DEL no rule is left
//! by either. Beyond the reference: the `table` key, DEL without a namespace, CHECK that
//! notices a missing rule, bad input refused with the right code and nothing changed, and
//! no program executed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::{json, Value};
use support::run::Request;
use support::{state, Impl, Ns, Sandbox};
use twill_kernel::route::TABLE_LOCAL;
use twill_kernel::LinkId;

const VERSIONS: [&str; 6] = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"];

/// The container's rules and routes of every table but local, without indexes: the
/// interface named, link-local routes kept (sbr moves them too).
fn routing(pod: &mut Ns) -> Value {
    let links = pod.nl.link_list().unwrap();
    let name = |i: Option<u32>| {
        i.and_then(|i| links.iter().find(|l| l.index == i))
            .map(|l| l.name.clone())
    };
    let mut rules: Vec<Value> = pod
        .nl
        .rule_list(None)
        .unwrap()
        .into_iter()
        .map(|r| {
            json!({"pref": r.priority, "src": r.src.map(|s| s.to_string()), "table": r.table,
                        "family": format!("{:?}", r.family)})
        })
        .collect();
    rules.sort_by_key(|v| v.to_string());
    let mut routes: Vec<Value> = pod
        .nl
        .route_list(None, None)
        .unwrap()
        .into_iter()
        .filter(|r| r.table != TABLE_LOCAL && name(r.oif).as_deref() != Some("lo"))
        .map(|r| {
            json!({"dst": r.dst.to_string(), "gw": r.gateway.map(|g| g.to_string()),
                        "dev": name(r.oif), "table": r.table, "scope": r.scope.map(|s| s.0),
                        "proto": r.protocol.0, "metric": r.priority,
                        "src": r.prefsrc.map(|a| a.to_string())})
        })
        .collect();
    routes.sort_by_key(|v| v.to_string());
    json!({"rules": rules, "routes": routes})
}

/// Waits (up to 5 s) until `ifname` in `pod` has its IPv6 link-local route, which the
/// kernel adds on its own once the interface has a carrier: sbr moves that route too, so
/// a snapshot or an ADD taken before it appears would race with the kernel.
fn settled(pod: &mut Ns, ifname: &str) {
    let index = pod.nl.link_index(ifname).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let routes = pod
            .nl
            .route_list(Some(twill_kernel::IpFamily::V6), None)
            .unwrap();
        if routes
            .iter()
            .any(|r| r.oif == Some(index) && r.dst.to_string() == "fe80::/64")
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{ifname} never got its link-local route"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn bridge(sb: &Sandbox, version: &str, dual: bool) -> Value {
    let mut ranges = vec![json!([{"subnet": "10.41.0.0/24"}])];
    if dual {
        ranges.push(json!([{"subnet": "fd00:41::/64"}]));
    }
    sb.conf(json!({
        "cniVersion": version, "name": "sbrnet", "type": "bridge", "bridge": "br-sbr",
        "isGateway": true,
        "ipam": {"type": "host-local", "ranges": ranges,
                 "routes": [{"dst": "0.0.0.0/0"}]},
    }))
}

fn second(sb: &Sandbox, version: &str) -> Value {
    sb.conf(json!({
        "cniVersion": version, "name": "sbrnet2", "type": "ptp",
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.42.0.0/24"}]],
                 "routes": [{"dst": "10.99.0.0/16"}]},
    }))
}

fn sbr(version: &str, prev: &Value, extra: &Value) -> Value {
    let mut c = json!({"cniVersion": version, "name": "sbrnet", "type": "sbr", "prevResult": prev});
    c.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    c
}

/// ADD (interface plugin then sbr), DEL of sbr, through `imp`; what the container shows.
fn observe(imp: Impl, version: &str, layout: &str) -> Value {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let r0 = sb
        .exec(
            imp,
            "bridge",
            &Request::new("ADD", "c", &pod.path),
            &bridge(&sb, version, layout == "dual"),
        )
        .ok();
    let (plugin_prev, ifname) = if layout == "second" {
        let req = Request {
            ifname: "net1",
            ..Request::new("ADD", "c", &pod.path)
        };
        (
            sb.exec(imp, "ptp", &req, &second(&sb, version)).ok(),
            "net1",
        )
    } else {
        (r0, "eth0")
    };
    let path = pod.path.clone();
    let req = |cmd| Request {
        ifname,
        ..Request::new(cmd, "c", &path)
    };
    let conf = sbr(version, &plugin_prev, &json!({}));
    settled(&mut pod, ifname);
    let result = sb.exec(imp, "sbr", &req("ADD"), &conf).ok();
    let mut seen = json!({"result": state::normalized(result), "added": routing(&mut pod)});
    sb.exec(imp, "sbr", &req("DEL"), &conf).ok();
    seen["rules_after_del"] = routing(&mut pod)["rules"].clone();
    seen
}

#[test]
fn sbr_matches_the_reference_in_every_version_and_layout() {
    for v in VERSIONS {
        let ours = observe(Impl::Twill, v, "default");
        let theirs = observe(Impl::Reference, v, "default");
        assert_eq!(ours, theirs, "{v}\n ours: {ours:#}\ntheirs: {theirs:#}");
        // Shaped as documented: one rule from the pod's address to table 100.
        let rules = ours["added"]["rules"].to_string();
        assert!(
            rules.contains("10.41.0.2/32") && rules.contains("\"table\":100"),
            "{rules}"
        );
    }
    for layout in ["second", "dual"] {
        let ours = observe(Impl::Twill, "1.0.0", layout);
        let theirs = observe(Impl::Reference, "1.0.0", layout);
        assert_eq!(
            ours, theirs,
            "{layout}\n ours: {ours:#}\ntheirs: {theirs:#}"
        );
    }
}

#[test]
fn the_table_key_adds_only_rules_and_del_removes_them() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let r0 = sb
        .exec(
            Impl::Twill,
            "bridge",
            &Request::new("ADD", "c", &pod.path),
            &bridge(&sb, "1.1.0", true),
        )
        .ok();
    settled(&mut pod, "eth0");
    let before = routing(&mut pod);
    let conf = sbr("1.1.0", &r0, &json!({"table": 5000}));
    let out = sb
        .exec(
            Impl::Twill,
            "sbr",
            &Request::new("ADD", "c", &pod.path),
            &conf,
        )
        .ok();
    assert_eq!(out["ips"], r0["ips"]);
    let after = routing(&mut pod);
    assert_eq!(after["routes"], before["routes"], "routes were moved");
    let rules = after["rules"].to_string();
    assert!(
        rules.contains("10.41.0.2/32") && rules.contains("fd00:41::2/128"),
        "{rules}"
    );
    assert_eq!(rules.matches("\"table\":5000").count(), 2, "{rules}");
    sb.exec(
        Impl::Twill,
        "sbr",
        &Request::new("CHECK", "c", &pod.path),
        &conf,
    )
    .ok();
    sb.exec(
        Impl::Twill,
        "sbr",
        &Request::new("DEL", "c", &pod.path),
        &conf,
    )
    .ok();
    assert_eq!(routing(&mut pod), before);
}

#[test]
fn lifecycle_beyond_the_reference() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let r0 = sb
        .exec(
            Impl::Twill,
            "bridge",
            &Request::new("ADD", "c", &pod.path),
            &bridge(&sb, "1.1.0", false),
        )
        .ok();
    settled(&mut pod, "eth0");
    let before = routing(&mut pod);
    let conf = sbr("1.1.0", &r0, &json!({}));
    let path = pod.path.clone();
    let run = |sb: &Sandbox, cmd: &str, c: &Value| {
        sb.exec(Impl::Twill, "sbr", &Request::new(cmd, "c", &path), c)
    };
    run(&sb, "ADD", &conf).ok();
    run(&sb, "CHECK", &conf).ok();
    // A second ADD fails (the gateway is unreachable once the first moved the subnet route
    // out of the main table) and leaves the first one's state whole.
    let added = routing(&mut pod);
    let (code, msg) = run(&sb, "ADD", &conf).err();
    assert_eq!(code, 999, "{msg}");
    assert_eq!(routing(&mut pod), added);
    // CHECK notices the rule gone.
    let rule = pod
        .nl
        .rule_list(None)
        .unwrap()
        .into_iter()
        .find(|r| r.table == 100)
        .unwrap();
    pod.nl.rule_delete(&rule).unwrap();
    let (_, msg) = run(&sb, "CHECK", &conf).err();
    assert!(msg.contains("10.41.0.2"), "{msg}");
    pod.nl.rule_add(&rule).unwrap();
    // DEL removes the rule and table 100's routes; twice is fine.
    run(&sb, "DEL", &conf).ok();
    run(&sb, "DEL", &conf).ok();
    let after = routing(&mut pod);
    assert_eq!(after["rules"], before["rules"]);
    assert!(
        !after["routes"].to_string().contains("\"table\":100"),
        "{after:#}"
    );
    // GC and STATUS have nothing to do and succeed.
    for cmd in ["GC", "STATUS"] {
        let req = Request {
            netns: None,
            container_id: "",
            ifname: "",
            ..Request::new(cmd, "", &pod.path)
        };
        sb.exec(
            Impl::Twill,
            "sbr",
            &req,
            &json!({"cniVersion": "1.1.0", "name": "sbrnet", "type": "sbr"}),
        )
        .ok();
    }
    // DEL without a namespace, and after the namespace is gone.
    let req = Request {
        netns: None,
        ..Request::new("DEL", "c", &pod.path)
    };
    sb.exec(Impl::Twill, "sbr", &req, &conf).ok();
    let path = sb.delete_pod(pod);
    sb.exec(Impl::Twill, "sbr", &Request::new("DEL", "c", &path), &conf)
        .ok();
}

#[test]
fn bad_input_is_refused_with_the_right_code_and_changes_nothing() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let r0 = sb
        .exec(
            Impl::Twill,
            "bridge",
            &Request::new("ADD", "c", &pod.path),
            &bridge(&sb, "1.0.0", false),
        )
        .ok();
    settled(&mut pod, "eth0");
    let before = routing(&mut pod);
    let cases = [
        (
            json!({"cniVersion": "1.0.0", "name": "sbrnet", "type": "sbr"}),
            7,
            "prevResult",
        ),
        (sbr("1.0.0", &r0, &json!({"table": "100"})), 6, "table"),
        (sbr("1.0.0", &r0, &json!({"table": 254})), 7, "table"),
        (sbr("1.0.0", &r0, &json!({"table": -1})), 7, "table"),
        (
            sbr(
                "1.0.0",
                &json!({"cniVersion": "1.0.0", "ips": []}),
                &json!({}),
            ),
            7,
            "prevResult.ips",
        ),
    ];
    for (conf, code, field) in cases {
        let (c, msg) = sb
            .exec(
                Impl::Twill,
                "sbr",
                &Request::new("ADD", "c", &pod.path),
                &conf,
            )
            .err();
        assert_eq!(c, code, "{conf}: {msg}");
        assert!(msg.contains(field), "{conf}: {msg}");
        assert_eq!(routing(&mut pod), before, "{conf}");
    }
    // An interface that does not exist: nothing is left half-done.
    let req = Request {
        ifname: "nope0",
        ..Request::new("ADD", "c", &pod.path)
    };
    let (code, msg) = sb
        .exec(Impl::Twill, "sbr", &req, &sbr("1.0.0", &r0, &json!({})))
        .err();
    assert_eq!(code, 999, "{msg}");
    assert!(msg.contains("nope0"), "{msg}");
    assert_eq!(routing(&mut pod), before);
    assert!(pod.nl.link_get(LinkId::Name("eth0")).is_ok());
}

#[test]
fn no_program_is_executed() {
    let mut sb = Sandbox::new();
    let pod = sb.pod("p");
    let (traps, marker) = sb.traps(&["ip", "sh", "tc", "nft", "iptables"]);
    let p = pod.path.to_str().unwrap();
    let r0 = sb.run_with_path(
        "bridge",
        "ADD",
        "c",
        p,
        &traps,
        &bridge(&sb, "1.1.0", false),
    );
    let conf = sbr("1.1.0", &r0, &json!({}));
    for cmd in ["ADD", "CHECK", "DEL"] {
        sb.run_with_path("sbr", cmd, "c", p, &traps, &conf);
    }
    assert!(!marker.exists(), "a program was executed");
}

/// The later reference's `gateways` and `addSourceHints` (v1.1.1 has neither, so they are
/// checked against what they mean): a configured gateway replaces prevResult's in the
/// table; with source hints the subnet route stays in the main table with the address as
/// its source while the default route leaves it.
#[test]
fn gateways_and_source_hints() {
    let mut sb = Sandbox::new();
    let mut pod = sb.pod("p");
    let r0 = sb
        .exec(
            Impl::Twill,
            "bridge",
            &Request::new("ADD", "c", &pod.path),
            &bridge(&sb, "1.1.0", false),
        )
        .ok();
    let conf = sbr(
        "1.1.0",
        &r0,
        &json!({"gateways": ["10.41.0.254"], "addSourceHints": true}),
    );
    let path = pod.path.clone();
    let run = |sb: &Sandbox, cmd: &str, c: &Value| {
        sb.exec(Impl::Twill, "sbr", &Request::new(cmd, "c", &path), c)
    };
    run(&sb, "ADD", &conf).ok();
    run(&sb, "CHECK", &conf).ok();
    let routes = routing(&mut pod)["routes"].clone();
    let has = |want: Value| {
        routes
            .as_array()
            .unwrap()
            .iter()
            .any(|r| want.as_object().unwrap().iter().all(|(k, v)| &r[k] == v))
    };
    assert!(
        has(json!({"dst": "0.0.0.0/0", "gw": "10.41.0.254", "table": 100})),
        "{routes:#}"
    );
    assert!(
        !has(json!({"dst": "0.0.0.0/0", "table": 254})),
        "{routes:#}"
    );
    assert!(
        has(json!({"dst": "10.41.0.0/24", "table": 254, "src": "10.41.0.2", "scope": 253})),
        "{routes:#}"
    );
    // CHECK wants the configured gateway, not prevResult's.
    let other = sbr("1.1.0", &r0, &json!({"gateways": ["10.41.0.253"]}));
    let (_, msg) = run(&sb, "CHECK", &other).err();
    assert!(msg.contains("10.41.0.253"), "{msg}");
    run(&sb, "DEL", &conf).ok();
    assert!(
        routing(&mut pod)["rules"]
            .to_string()
            .matches("10.41.0.2")
            .count()
            == 0
    );

    for (gateways, field) in [
        (json!(["x"]), "gateways[0]"),
        (json!(["10.41.0.1", "10.41.0.2"]), "gateways[1]"),
        (json!("10.41.0.1"), "gateways"),
    ] {
        let bad = sbr("1.1.0", &r0, &json!({ "gateways": gateways }));
        let (code, msg) = run(&sb, "ADD", &bad).err();
        assert!(code == 7 || code == 6, "{code} {msg}");
        assert!(msg.contains(field), "{msg}");
    }
}
