//! tuning as a real process against the real kernel: ADD, CHECK and DEL change, verify and
//! restore the pod interface and sysctls; failures leave nothing half-done.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod tuning_support;

use serde_json::json;
use tuning_support::{Impl::Twill, World, IFNAME};
use twill_kernel::link::Tunable;
use twill_kernel::{LinkId, MacAddr};

/// A change made to the world between plugin runs.
type Step = Box<dyn Fn(&mut World)>;

const NEW_MAC: &str = "02:aa:bb:cc:dd:ee";

#[test]
fn add_check_del_change_verify_and_restore_every_attribute() {
    let mut w = World::new();
    let before = w.link();
    assert_eq!(
        (before.mtu, before.txqlen, before.promisc, before.allmulti),
        (1500, 1000, false, false)
    );
    let conf = w.config(
        "1.0.0",
        json!({
            "sysctl": {"net.ipv4.conf.IFNAME.arp_filter": "1", "net.core.somaxconn": "512"},
            "mac": NEW_MAC, "mtu": 1400, "promisc": true, "allmulti": true, "txQLen": 42
        }),
    );

    let add = w.run(Twill, "ADD", &conf, &[]);
    let result = add.ok().json();
    assert_eq!(result["cniVersion"], "1.0.0");
    assert_eq!(result["interfaces"][1]["name"], IFNAME);
    assert_eq!(
        result["interfaces"][1]["mac"], NEW_MAC,
        "the result carries the new MAC"
    );
    assert_eq!(result["interfaces"][0]["mac"], "02:11:11:11:11:11");
    assert_eq!(result["ips"][0]["address"], "10.88.0.2/24");

    let after = w.link();
    assert_eq!(after.mac, Some(NEW_MAC.parse::<MacAddr>().unwrap()));
    assert_eq!(
        (after.mtu, after.txqlen, after.promisc, after.allmulti),
        (1400, 42, true, true)
    );
    assert_eq!(w.sysctl("net/ipv4/conf/eth0/arp_filter"), "1");
    assert_eq!(w.sysctl("net.core.somaxconn"), "512");
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.backup_file()).unwrap()).unwrap();
    assert_eq!(
        saved,
        json!({"mac": before.mac.unwrap().to_string(), "promisc": false, "mtu": 1500, "allmulti": false, "txQLen": 1000})
    );

    w.run(Twill, "CHECK", &conf, &[]).ok();
    assert!(
        w.run(Twill, "CHECK", &conf, &[]).stdout.is_empty(),
        "CHECK prints nothing"
    );

    w.run(Twill, "DEL", &conf, &[]).ok();
    let restored = w.link();
    assert_eq!(
        restored, before,
        "DEL restores MAC, MTU, promisc, allmulti and txqlen"
    );
    assert!(!w.backup_file().exists(), "DEL removes the backup");
    assert_eq!(
        w.sysctl("net.core.somaxconn"),
        "512",
        "sysctls are not restored"
    );
    w.run(Twill, "DEL", &conf, &[]).ok();
    assert_eq!(w.link(), before, "a repeated DEL changes nothing");
}

#[test]
fn check_reports_each_attribute_that_drifted() {
    let mut w = World::new();
    let conf = w.config(
        "0.4.0",
        json!({"sysctl": {"net.core.somaxconn": "300"}, "mac": NEW_MAC, "mtu": 1300,
               "promisc": true, "allmulti": true, "txQLen": 7}),
    );
    w.run(Twill, "ADD", &conf, &[]).ok();
    w.run(Twill, "CHECK", &conf, &[]).ok();
    let eth0 = LinkId::Name(IFNAME);
    let drifts: Vec<(&str, Step, Step)> = vec![
        (
            "somaxconn",
            Box::new(|w| {
                twill_kernel::sysctl::write_in(&w.pod, "net.core.somaxconn", "301").unwrap()
            }),
            Box::new(|w| {
                twill_kernel::sysctl::write_in(&w.pod, "net.core.somaxconn", "300").unwrap()
            }),
        ),
        (
            "mtu",
            Box::new(move |w| w.pod_nl.link_set_mtu(eth0, 1299).unwrap()),
            Box::new(move |w| w.pod_nl.link_set_mtu(eth0, 1300).unwrap()),
        ),
        (
            "mac",
            Box::new(move |w| {
                w.pod_nl
                    .link_set_mac(eth0, "02:00:00:00:00:01".parse().unwrap())
                    .unwrap()
            }),
            Box::new(move |w| {
                w.pod_nl
                    .link_set_mac(eth0, NEW_MAC.parse().unwrap())
                    .unwrap()
            }),
        ),
        (
            "promisc",
            Box::new(move |w| {
                w.pod_nl
                    .link_set_tunable(eth0, Tunable::Promisc(false))
                    .unwrap()
            }),
            Box::new(move |w| {
                w.pod_nl
                    .link_set_tunable(eth0, Tunable::Promisc(true))
                    .unwrap()
            }),
        ),
        (
            "allmulti",
            Box::new(move |w| {
                w.pod_nl
                    .link_set_tunable(eth0, Tunable::Allmulti(false))
                    .unwrap()
            }),
            Box::new(move |w| {
                w.pod_nl
                    .link_set_tunable(eth0, Tunable::Allmulti(true))
                    .unwrap()
            }),
        ),
        (
            "txQLen",
            Box::new(move |w| {
                w.pod_nl
                    .link_set_tunable(eth0, Tunable::TxQueueLen(8))
                    .unwrap()
            }),
            Box::new(move |w| {
                w.pod_nl
                    .link_set_tunable(eth0, Tunable::TxQueueLen(7))
                    .unwrap()
            }),
        ),
    ];
    for (what, drift, undo) in drifts {
        drift(&mut w);
        let (_, msg) = w.run(Twill, "CHECK", &conf, &[]).err();
        assert!(msg.contains(what), "CHECK after {what} drifted: {msg}");
        undo(&mut w);
        w.run(Twill, "CHECK", &conf, &[]).ok();
    }
}

#[test]
fn a_refused_change_rolls_back_everything_done_before_it() {
    let mut w = World::new();
    let before = w.link();
    let somaxconn = w.sysctl("net.core.somaxconn");
    // veth refuses an MTU above 65535, after the sysctl, the MAC and promisc were changed.
    let conf = w.config(
        "1.1.0",
        json!({"sysctl": {"net.core.somaxconn": "777"}, "mac": NEW_MAC, "promisc": true, "mtu": 70000}),
    );
    let (code, msg) = w.run(Twill, "ADD", &conf, &[]).err();
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("mtu"), "{msg}");
    assert_eq!(w.link(), before);
    assert_eq!(w.sysctl("net.core.somaxconn"), somaxconn);
    assert!(!w.backup_file().exists());

    // A sysctl the kernel does not have fails before the link is touched, and the sysctls
    // written before it are put back.
    let conf = w.config(
        "1.1.0",
        json!({"sysctl": {"net.core.somaxconn": "778", "net.ipv4.no_such_knob": "1"}, "mtu": 1400}),
    );
    let (code, msg) = w.run(Twill, "ADD", &conf, &[]).err();
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("net.ipv4.no_such_knob"), "{msg}");
    assert_eq!(w.sysctl("net.core.somaxconn"), somaxconn);
    assert_eq!(w.link(), before);
    assert!(!w.backup_file().exists());
}

#[test]
fn del_succeeds_when_netns_link_or_backup_are_gone() {
    let mut w = World::new();
    let conf = w.config("0.4.0", json!({"mtu": 1400}));
    w.run(Twill, "DEL", &conf, &[]).ok();

    // The link went away with the backup still there.
    w.run(Twill, "ADD", &conf, &[]).ok();
    assert!(w.backup_file().exists());
    w.pod_nl.link_delete(LinkId::Name(IFNAME)).unwrap();
    w.run(Twill, "DEL", &conf, &[]).ok();
    assert!(!w.backup_file().exists());

    // The namespace went away, and DEL came without CNI_NETNS.
    std::fs::create_dir_all(w.data_dir()).unwrap();
    std::fs::write(w.backup_file(), b"{\n \"mtu\": 1500\n}").unwrap();
    w.run_in(Twill, "DEL", &conf, &[], None).ok();
    assert!(!w.backup_file().exists());
    std::fs::write(w.backup_file(), b"{\n \"mtu\": 1500\n}").unwrap();
    w.delete_pod_netns();
    w.run(Twill, "DEL", &conf, &[]).ok();
    assert!(!w.backup_file().exists());
    w.run(Twill, "DEL", &conf, &[]).ok();

    // A torn backup does not block DEL.
    std::fs::write(w.backup_file(), b"{\"mt").unwrap();
    w.run(Twill, "DEL", &conf, &[]).ok();
    assert!(!w.backup_file().exists());
}

#[test]
fn every_spec_version_passes_prev_result_through() {
    for version in [
        "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
    ] {
        let mut w = World::new();
        let before = w.link();
        let conf = w.config(version, json!({"mac": NEW_MAC, "allmulti": true}));
        let result = w.run(Twill, "ADD", &conf, &[]).ok().json();
        assert_eq!(result["cniVersion"], version);
        if version.starts_with("0.1") || version.starts_with("0.2") {
            assert_eq!(result["ip4"]["ip"], "10.88.0.2/24", "{version}");
        } else {
            assert_eq!(result["interfaces"][1]["mac"], NEW_MAC, "{version}");
            assert_eq!(result["ips"][0]["address"], "10.88.0.2/24", "{version}");
        }
        assert!(w.link().allmulti, "{version}");
        let check = w.run(Twill, "CHECK", &conf, &[]);
        if version < "0.4.0" {
            assert_eq!(check.err().0, 1, "{version}");
        } else {
            check.ok();
        }
        w.run(Twill, "DEL", &conf, &[]).ok();
        assert_eq!(w.link(), before, "{version}");
    }
}

#[test]
fn a_second_add_keeps_the_first_originals() {
    let mut w = World::new();
    let before = w.link();
    w.run(Twill, "ADD", &w.config("1.0.0", json!({"mtu": 1400})), &[])
        .ok();
    w.run(
        Twill,
        "ADD",
        &w.config("1.0.0", json!({"mtu": 1300, "txQLen": 5})),
        &[],
    )
    .ok();
    assert_eq!((w.link().mtu, w.link().txqlen), (1300, 5));
    w.run(Twill, "DEL", &w.config("1.0.0", json!({})), &[]).ok();
    assert_eq!(w.link(), before);
}
