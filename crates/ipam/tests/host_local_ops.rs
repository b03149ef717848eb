//! host-local's commands on a real directory: allocation order, wraparound, gateways,
//! requested addresses, all-or-nothing, duplicates, DEL, CHECK, GC and crash leftovers.

// Helpers of this test file: a panic in one is a test failure with its reason.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::fs;
use std::net::IpAddr;

use serde_json::{json, Value};
use support::{conf, files, reservations, TempDir};
use twill_cni::config::GcAttachment;
use twill_cni::result::V1Result;
use twill_cni::skel::CniArgs;
use twill_cni::Code;
use twill_ipam::host_local::{add, check, del, gc};
use twill_ipam::store::{CURSOR_TMP, INDEX_DIR, INDEX_TMP, RESERVE_TMP};
use twill_ipam::{HostLocalConf, IpamError, StoreConf};

fn parse(v: &Value, cni_args: &str) -> HostLocalConf {
    HostLocalConf::parse(v, &CniArgs::parse(cni_args).unwrap()).unwrap()
}

fn ips(r: &V1Result) -> Vec<String> {
    r.ips.iter().map(|i| i.address.to_string()).collect()
}

fn addr(r: &V1Result) -> String {
    r.ips[0].address.addr().to_string()
}

#[test]
fn sequential_then_round_robin_with_wraparound() {
    let tmp = TempDir::new("rr");
    let c = parse(
        &conf(
            "1.0.0",
            tmp.path(),
            json!({"ranges": [[{"subnet": "10.1.0.0/29"}]]}),
        ),
        "",
    );
    let got: Vec<String> = (0..5)
        .map(|i| addr(&add(&c, &format!("c{i}"), "eth0").unwrap()))
        .collect();
    assert_eq!(
        got,
        ["10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"]
    );
    let e = add(&c, "c5", "eth0").unwrap_err();
    assert_eq!(e.code(), Code::TRY_AGAIN_LATER);
    assert!(
        e.to_string()
            .contains("no IP addresses available in range set 0"),
        "{e}"
    );
    // Releasing .3 then allocating wraps around from .6 to .2 (taken) and lands on .3.
    del(&c.store, "c1", "eth0").unwrap();
    assert_eq!(addr(&add(&c, "c6", "eth0").unwrap()), "10.1.0.3");
    let dir = c.store.dir();
    assert_eq!(
        fs::read_to_string(dir.join("last_reserved_ip.0")).unwrap(),
        "10.1.0.3"
    );
    assert_eq!(
        fs::read_to_string(dir.join("10.1.0.3")).unwrap(),
        "c6\r\neth0"
    );
    assert!(
        !files(&dir)
            .iter()
            .any(|f| f.starts_with(".twill") && f != INDEX_DIR),
        "{:?}",
        files(&dir)
    );
    assert!(!files(&dir.join(INDEX_DIR)).contains(&INDEX_TMP.to_owned()));
}

#[test]
fn gateway_in_the_middle_is_skipped_and_result_carries_it() {
    let tmp = TempDir::new("gw");
    let c = parse(
        &conf(
            "1.0.0",
            tmp.path(),
            json!({"ranges": [[{"subnet": "10.1.0.0/24", "rangeStart": "10.1.0.10", "rangeEnd": "10.1.0.12", "gateway": "10.1.0.11"}]]}),
        ),
        "",
    );
    let a = add(&c, "a", "eth0").unwrap();
    let b = add(&c, "b", "eth0").unwrap();
    assert_eq!(ips(&a), ["10.1.0.10/24"]);
    assert_eq!(ips(&b), ["10.1.0.12/24"]);
    assert_eq!(b.ips[0].gateway.unwrap().to_string(), "10.1.0.11");
    assert!(add(&c, "c", "eth0").is_err());
}

#[test]
fn dual_stack_routes_and_resolv_conf() {
    let tmp = TempDir::new("dual");
    let resolv = tmp.path().join("resolv.conf");
    fs::write(&resolv, "nameserver 10.0.0.53\nsearch example.test\n").unwrap();
    let c = parse(
        &conf(
            "1.0.0",
            tmp.path(),
            json!({
                "ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "fd00:1::/64"}]],
                "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0", "gw": "fd00:1::1"}],
                "resolvConf": resolv
            }),
        ),
        "",
    );
    let r = add(&c, "a", "eth0").unwrap();
    assert_eq!(ips(&r), ["10.1.0.2/24", "fd00:1::2/64"]);
    assert_eq!(r.routes.len(), 2);
    assert_eq!(r.dns.nameservers, ["10.0.0.53"]);
    assert_eq!(r.dns.search, ["example.test"]);
    assert!(r.interfaces.is_empty() && r.ips.iter().all(|i| i.interface.is_none()));
}

#[test]
fn requested_addresses_are_honoured_and_all_or_nothing() {
    let tmp = TempDir::new("req");
    let raw = conf(
        "1.0.0",
        tmp.path(),
        json!({"ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "10.2.0.0/24"}]]}),
    );
    let c = parse(&raw, "IP=10.2.0.50");
    assert_eq!(
        ips(&add(&c, "a", "eth0").unwrap()),
        ["10.1.0.2/24", "10.2.0.50/24"]
    );
    // b asks for a's address in the second set: its first-set allocation is rolled back.
    let c2 = parse(&raw, "IP=10.2.0.50");
    let e = add(&c2, "b", "eth0").unwrap_err();
    assert!(matches!(e, IpamError::Taken { set: 1, .. }), "{e}");
    let dir = c.store.dir();
    assert_eq!(reservations(&dir), ["10.1.0.2", "10.2.0.50"]);
    // Exhaustion of a later set also rolls back the earlier ones.
    let small = conf(
        "1.0.0",
        tmp.path(),
        json!({"ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "10.3.0.0/30"}]]}),
    );
    let s = parse(&small, "");
    add(&s, "x", "eth1").unwrap();
    assert!(matches!(
        add(&s, "y", "eth1").unwrap_err(),
        IpamError::Exhausted { set: 1, .. }
    ));
    // x got .4: round-robin continues after b's rolled-back .3.
    assert_eq!(
        reservations(&dir),
        ["10.1.0.2", "10.1.0.4", "10.2.0.50", "10.3.0.2"]
    );
}

#[test]
fn duplicate_attachment_is_refused_and_other_interfaces_are_not() {
    let tmp = TempDir::new("dup");
    let c = parse(
        &conf("1.0.0", tmp.path(), json!({"subnet": "10.1.0.0/24"})),
        "",
    );
    add(&c, "a", "eth0").unwrap();
    let e = add(&c, "a", "eth0").unwrap_err();
    assert_eq!(
        e.to_string(),
        "10.1.0.2 has been allocated to a, duplicate allocation is not allowed"
    );
    assert_eq!(twill_cni::CniError::from(e).code, Code::INTERNAL);
    assert_eq!(addr(&add(&c, "a", "eth1").unwrap()), "10.1.0.3");
}

#[test]
fn del_is_idempotent_and_reads_the_old_format() {
    let tmp = TempDir::new("del");
    let missing = StoreConf {
        data_dir: tmp.path().join("nope"),
        network: "net".into(),
    };
    assert!(del(&missing, "a", "eth0").unwrap().is_empty());
    assert!(
        !tmp.path().join("nope").exists(),
        "DEL must not create the directory"
    );
    let c = parse(
        &conf(
            "1.0.0",
            tmp.path(),
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "fd00::/64"}]]}),
        ),
        "",
    );
    add(&c, "a", "eth0").unwrap();
    add(&c, "a", "eth1").unwrap();
    let released: Vec<String> = {
        let mut v: Vec<String> = del(&c.store, "a", "eth0")
            .unwrap()
            .iter()
            .map(IpAddr::to_string)
            .collect();
        v.sort();
        v
    };
    assert_eq!(released, ["10.1.0.2", "fd00::2"]);
    assert!(del(&c.store, "a", "eth0").unwrap().is_empty());
    let dir = c.store.dir();
    assert_eq!(reservations(&dir), ["10.1.0.3", "fd00::3"]);
    // A file in the old ID-only format is released by its container's DEL.
    fs::write(dir.join("10.1.0.77"), "old\n").unwrap();
    assert_eq!(
        del(&c.store, "old", "eth0").unwrap(),
        ["10.1.0.77".parse::<IpAddr>().unwrap()]
    );
}

#[test]
fn check_verifies_the_previous_result() {
    let tmp = TempDir::new("check");
    let c = parse(
        &conf("1.0.0", tmp.path(), json!({"subnet": "10.1.0.0/24"})),
        "",
    );
    let e = check(&c, "a", "eth0", None).unwrap_err();
    assert!(matches!(e, IpamError::NothingHeld { .. }), "{e}");
    let r = add(&c, "a", "eth0").unwrap();
    check(&c, "a", "eth0", Some(&r)).unwrap();
    check(&c, "a", "eth0", None).unwrap();
    assert!(matches!(
        check(&c, "a", "eth9", Some(&r)).unwrap_err(),
        IpamError::NotHeld { .. }
    ));
    del(&c.store, "a", "eth0").unwrap();
    assert!(matches!(
        check(&c, "a", "eth0", Some(&r)).unwrap_err(),
        IpamError::NotHeld { .. }
    ));
}

#[test]
fn gc_keeps_valid_attachments_and_removes_everything_else() {
    let tmp = TempDir::new("gc");
    let c = parse(
        &conf("1.1.0", tmp.path(), json!({"subnet": "10.1.0.0/24"})),
        "",
    );
    for id in ["keep", "drop1", "drop2"] {
        add(&c, id, "eth0").unwrap();
    }
    let dir = c.store.dir();
    fs::write(dir.join("10.1.0.100"), "legacy").unwrap();
    fs::write(dir.join("10.1.0.101"), "").unwrap();
    fs::write(dir.join(RESERVE_TMP), "torn").unwrap();
    fs::write(dir.join(CURSOR_TMP), "10.1").unwrap();
    fs::write(dir.join("unrelated.txt"), "not ours").unwrap();
    let valid = [
        GcAttachment::new("keep", "eth0"),
        GcAttachment::new("legacy", "net1"),
    ];
    let report = gc(&c.store, &valid).unwrap();
    assert_eq!(report.released.len(), 3, "{report:?}");
    assert_eq!(report.temp_files, 2);
    assert_eq!(reservations(&dir), ["10.1.0.100", "10.1.0.2"]);
    assert!(files(&dir).contains(&"unrelated.txt".to_owned()));
    assert_eq!(gc(&c.store, &[]).unwrap().released.len(), 2);
    assert!(reservations(&dir).is_empty());
}

#[test]
fn a_reservation_linked_to_a_leftover_temp_file_survives_the_next_add() {
    let tmp = TempDir::new("crash");
    let c = parse(
        &conf("1.0.0", tmp.path(), json!({"subnet": "10.1.0.0/24"})),
        "",
    );
    add(&c, "first", "eth0").unwrap();
    let dir = c.store.dir();
    // What a kill between link(2) and unlink(2) leaves: the temp name on the reservation.
    fs::hard_link(dir.join("10.1.0.2"), dir.join(RESERVE_TMP)).unwrap();
    add(&c, "second", "eth0").unwrap();
    assert_eq!(
        fs::read_to_string(dir.join("10.1.0.2")).unwrap(),
        "first\r\neth0"
    );
    assert!(!dir.join(RESERVE_TMP).exists());
}
