//! tuning side by side with the reference plugin (/usr/lib/cni/tuning, v1.1.1): the same
//! configurations through both give the same results, the same kernel state after ADD and
//! DEL, backups each can restore from the other, and failures for the same bad input.
//! (The reference has no `txQLen` and no allowlist; those are covered on their own.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod tuning_support;

use serde_json::{json, Value};
use tuning_support::{Impl, World};
use twill_kernel::link::LinkTunables;

/// A result with this world's namespace path replaced, so two worlds' results compare.
fn portable(mut v: Value, w: &World) -> Value {
    if let Some(ifaces) = v.get_mut("interfaces").and_then(Value::as_array_mut) {
        for i in ifaces {
            if i.get("sandbox").and_then(Value::as_str) == w.pod_path.to_str() {
                i["sandbox"] = json!("<netns>");
            }
        }
    }
    v
}

/// The attributes to compare between worlds: indexes differ, and MACs start random, so a
/// MAC counts only when it changed from `before`'s.
fn state(t: &LinkTunables, before: &LinkTunables) -> (Option<String>, u32, u32, bool, bool) {
    let mac = (t.mac != before.mac).then(|| t.mac.map(|m| m.to_string()).unwrap_or_default());
    (mac, t.mtu, t.txqlen, t.promisc, t.allmulti)
}

const SYSCTLS: [&str; 2] = ["net.core.somaxconn", "net/ipv4/conf/eth0/arp_filter"];

fn run_both(version: &str, extra: Value, env: &[(&str, &str)]) {
    let mut ours = World::new();
    let mut theirs = World::new();
    let before = (ours.link(), theirs.link());
    let mut results = Vec::new();
    for (w, which) in [(&mut ours, Impl::Twill), (&mut theirs, Impl::Reference)] {
        let conf = w.config(version, extra.clone());
        let add = w.run(which, "ADD", &conf, env);
        results.push(portable(add.ok().json(), w));
        if version >= "0.4.0" {
            let check = w.run(which, "CHECK", &conf, env);
            // The reference's CHECK does not substitute IFNAME in sysctl keys, so it fails
            // on every configuration that uses it (a deviation we do not copy).
            if which == Impl::Reference && extra.to_string().contains("IFNAME") {
                assert!(check.err().1.contains("/IFNAME/"), "{check:?}");
            } else {
                check.ok();
            }
        }
    }
    assert_eq!(results[0], results[1], "{version} {extra}: results differ");
    let (a, b) = (ours.link(), theirs.link());
    assert_eq!(
        state(&a, &before.0),
        state(&b, &before.1),
        "{version} {extra}: link state after ADD"
    );
    for key in SYSCTLS {
        assert_eq!(
            ours.sysctl(key),
            theirs.sysctl(key),
            "{version} {extra}: {key}"
        );
    }
    let saved = |w: &World| -> Option<Vec<String>> {
        let v: Value = serde_json::from_slice(&std::fs::read(w.backup_file()).ok()?).unwrap();
        Some(v.as_object().unwrap().keys().cloned().collect())
    };
    assert_eq!(
        saved(&ours),
        saved(&theirs),
        "{version} {extra}: backed-up attributes"
    );
    for (w, which) in [(&mut ours, Impl::Twill), (&mut theirs, Impl::Reference)] {
        w.run(which, "DEL", &w.config(version, extra.clone()), env)
            .ok();
        assert!(!w.backup_file().exists(), "{which:?} left its backup");
    }
    assert_eq!(ours.link(), before.0, "{version} {extra}: ours after DEL");
    assert_eq!(
        theirs.link(),
        before.1,
        "{version} {extra}: reference after DEL"
    );
}

#[test]
fn same_configs_give_same_results_and_kernel_state_in_every_version() {
    let full = json!({
        "sysctl": {"net.core.somaxconn": "321", "net.ipv4.conf.IFNAME.arp_filter": "1"},
        "mac": "02:de:ad:be:ef:01", "mtu": 1450, "promisc": true, "allmulti": true
    });
    for version in ["0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"] {
        run_both(version, full.clone(), &[]);
    }
    run_both(
        "1.0.0",
        json!({"sysctl": {"net.core.somaxconn": "222"}}),
        &[],
    );
    run_both("0.4.0", json!({"allmulti": false, "mtu": 9000}), &[]);
}

#[test]
fn an_uppercase_mac_sets_the_same_address_but_only_ours_checks_and_reports_it_canonically() {
    let extra = json!({"mac": "02:DE:AD:BE:EF:02"});
    let mut ours = World::new();
    let mut theirs = World::new();
    let conf = ours.config("1.0.0", extra.clone());
    let a = ours.run(Impl::Twill, "ADD", &conf, &[]).ok().json();
    ours.run(Impl::Twill, "CHECK", &conf, &[]).ok();
    let conf = theirs.config("1.0.0", extra);
    let b = theirs.run(Impl::Reference, "ADD", &conf, &[]).ok().json();
    // The reference compares MAC strings, so its CHECK fails on its own ADD.
    let (_, msg) = theirs.run(Impl::Reference, "CHECK", &conf, &[]).err();
    assert!(msg.contains("02:DE:AD:BE:EF:02"), "{msg}");
    assert_eq!(ours.link().mac, theirs.link().mac);
    assert_eq!(a["interfaces"][1]["mac"], "02:de:ad:be:ef:02");
    assert_eq!(b["interfaces"][1]["mac"], "02:DE:AD:BE:EF:02");
}

#[test]
fn mac_overrides_take_effect_in_the_same_order() {
    let mac = |n: u8| format!("02:00:00:00:01:{n:02x}");
    let env_mac = format!("IgnoreUnknown=1;MAC={}", mac(2));
    let env = [("CNI_ARGS", env_mac.as_str())];
    run_both("1.0.0", json!({"mac": mac(1)}), &env);
    run_both(
        "1.0.0",
        json!({"mac": mac(1), "runtimeConfig": {"mac": mac(3)}}),
        &env,
    );
    run_both(
        "1.0.0",
        json!({"mac": mac(1), "runtimeConfig": {"mac": mac(3)}, "args": {"cni": {"mac": mac(4), "mtu": 1280}}}),
        &env,
    );
}

#[test]
fn each_restores_what_the_other_backed_up() {
    let extra = json!({"mac": "02:de:ad:be:ef:03", "mtu": 1400, "promisc": true, "allmulti": true});
    for (adder, deleter) in [
        (Impl::Reference, Impl::Twill),
        (Impl::Twill, Impl::Reference),
    ] {
        let mut w = World::new();
        let before = w.link();
        let conf = w.config("0.4.0", extra.clone());
        w.run(adder, "ADD", &conf, &[]).ok();
        assert_ne!(w.link(), before);
        w.run(deleter, "DEL", &conf, &[]).ok();
        assert_eq!(w.link(), before, "ADD by {adder:?}, DEL by {deleter:?}");
        assert!(!w.backup_file().exists());
    }
}

#[test]
fn both_refuse_the_same_bad_input_and_change_nothing() {
    let cases = [
        json!({"mac": "not-a-mac"}),
        json!({"mtu": "1400"}),
        json!({"promisc": "yes"}),
        json!({"sysctl": {"kernel.hostname": "x"}}),
        json!({"sysctl": {"net.core.somaxconn": 5}}),
        json!({"prevResult": null}),
    ];
    for extra in cases {
        for which in [Impl::Twill, Impl::Reference] {
            let mut w = World::new();
            let before = w.link();
            let somaxconn = w.sysctl("net.core.somaxconn");
            let run = w.run(which, "ADD", &w.config("1.0.0", extra.clone()), &[]);
            run.err();
            assert_eq!(w.link(), before, "{which:?} {extra}");
            assert_eq!(
                w.sysctl("net.core.somaxconn"),
                somaxconn,
                "{which:?} {extra}"
            );
        }
    }
}

#[test]
fn del_after_the_netns_is_gone_succeeds_in_both() {
    for which in [Impl::Twill, Impl::Reference] {
        let mut w = World::new();
        let conf = w.config("1.0.0", json!({"mtu": 1400}));
        w.run(which, "ADD", &conf, &[]).ok();
        w.delete_pod_netns();
        w.run(which, "DEL", &conf, &[]).ok();
        // The reference leaves its backup behind here; twill removes it.
        assert_eq!(
            w.backup_file().exists(),
            which == Impl::Reference,
            "{which:?}"
        );
    }
}
