//! The owner index on a directory shared with the reference: the reference's ADD, DEL and
//! duplicate check are unaffected by it (no GC in between), our DEL falls back to the scan
//! for what the reference reserved, stale entries never block an ADD, and ADD and DEL of the
//! 1,001st attachment touch as many files as those of the 2nd.

// Helpers of this test file: a panic in one is a test failure with its reason.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

#[path = "ipam_support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use support::{
    add, del, env, first_ip, host_local, index_entries, ours, reference, reservations, temp_files,
    TempDir,
};
use twill_cni::skel::CniArgs;
use twill_ipam::HostLocalConf;

fn conf(tmp: &TempDir, subnet: &str) -> Value {
    host_local("1.0.0", tmp.path(), json!({"subnet": subnet}))
}

#[test]
fn reference_reservations_are_released_by_our_scan() {
    let tmp = TempDir::new("idx-refadd");
    let conf = conf(&tmp, "10.40.0.0/24");
    let net = tmp.path().join("net");
    add(&ours(), "host-local", &conf, &env("o", "eth0", &ours())).unwrap();
    add(
        &reference(),
        "host-local",
        &conf,
        &env("r", "eth0", &reference()),
    )
    .unwrap();
    assert_eq!(index_entries(&net), ["o_eth0"]);
    del(&ours(), "host-local", &conf, &env("r", "eth0", &ours())).unwrap();
    assert_eq!(reservations(&net), ["10.40.0.2"]);
    del(&ours(), "host-local", &conf, &env("o", "eth0", &ours())).unwrap();
    assert!(reservations(&net).is_empty());
    assert!(index_entries(&net).is_empty());
}

#[test]
fn a_reference_del_leaves_a_stale_entry_that_never_blocks_our_add() {
    let tmp = TempDir::new("idx-stale");
    let conf = conf(&tmp, "10.41.0.0/24");
    let net = tmp.path().join("net");
    let first = add(&ours(), "host-local", &conf, &env("a", "eth0", &ours())).unwrap();
    del(
        &reference(),
        "host-local",
        &conf,
        &env("a", "eth0", &reference()),
    )
    .unwrap();
    assert!(reservations(&net).is_empty());
    assert_eq!(index_entries(&net), ["a_eth0"], "the reference left it");
    let again = add(&ours(), "host-local", &conf, &env("a", "eth0", &ours())).unwrap();
    assert_ne!(first_ip(&first), first_ip(&again));
    del(&ours(), "host-local", &conf, &env("a", "eth0", &ours())).unwrap();
    assert!(reservations(&net).is_empty());
    assert!(index_entries(&net).is_empty());
}

#[test]
fn the_reference_never_takes_an_entry_for_a_reservation() {
    let tmp = TempDir::new("idx-nomatch");
    let conf = conf(&tmp, "10.42.0.0/24");
    let net = tmp.path().join("net");
    // An ID equal to the address it gets: an entry holding only that address would equal
    // the ID, and the reference's DEL (old-format pass) would remove it.
    let id = "10.42.0.2";
    let r = add(&ours(), "host-local", &conf, &env(id, "eth0", &ours())).unwrap();
    assert_eq!(first_ip(&r), id);
    del(
        &reference(),
        "host-local",
        &conf,
        &env(id, "eth9", &reference()),
    )
    .unwrap();
    assert_eq!(index_entries(&net), ["10.42.0.2_eth0"]);
    assert_eq!(reservations(&net), [id]);
    // The reference still sees our reservation as a duplicate, and nothing else.
    let e = add(
        &reference(),
        "host-local",
        &conf,
        &env(id, "eth0", &reference()),
    )
    .unwrap_err();
    assert!(e.msg.contains("duplicate allocation"), "{e:?}");
    add(
        &reference(),
        "host-local",
        &conf,
        &env(id, "eth1", &reference()),
    )
    .unwrap();
    del(&ours(), "host-local", &conf, &env(id, "eth0", &ours())).unwrap();
    del(&ours(), "host-local", &conf, &env(id, "eth1", &ours())).unwrap();
    assert!(reservations(&net).is_empty());
    assert!(index_entries(&net).is_empty());
}

#[test]
fn ours_and_the_reference_alternate_on_one_directory() {
    let tmp = TempDir::new("idx-alt");
    let conf = conf(&tmp, "10.43.0.0/24");
    let net = tmp.path().join("net");
    let n = 8;
    let side = |i: usize, flip: bool| {
        if (i % 2 == 0) != flip {
            ours()
        } else {
            reference()
        }
    };
    let id = |i: usize| format!("alt-{i}");
    let mut seen = BTreeSet::new();
    for round in 0..3 {
        let flip = round % 2 == 1;
        for i in 0..n {
            let dir = side(i, flip);
            let r = add(&dir, "host-local", &conf, &env(&id(i), "eth0", &dir)).unwrap();
            assert!(seen.insert(first_ip(&r)), "round {round}: {r}");
        }
        assert_eq!(reservations(&net).len(), n);
        // Released by the other side than the one that reserved.
        for i in 0..n {
            let dir = side(i, !flip);
            del(&dir, "host-local", &conf, &env(&id(i), "eth0", &dir)).unwrap();
        }
        assert!(reservations(&net).is_empty(), "round {round}");
    }
    // Our DELs removed their entries; the reference's left stale ones, which our next ADD or
    // DEL of the attachment replaces or removes.
    for i in 0..n {
        add(&ours(), "host-local", &conf, &env(&id(i), "eth0", &ours())).unwrap();
        del(&ours(), "host-local", &conf, &env(&id(i), "eth0", &ours())).unwrap();
    }
    assert!(index_entries(&net).is_empty());
    assert!(temp_files(&net).is_empty());
}

/// Runs our plugin under strace and counts the calls naming a file of `net` (open, link,
/// rename, unlink, stat, mkdir…).
fn file_calls(command: &str, id: &str, conf: &Value, net: &Path) -> usize {
    let trace = net.parent().unwrap().join(format!("{command}-{id}.trace"));
    let mut child = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=%file", "-o"])
        .arg(&trace)
        .arg(ours().join("host-local"))
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", id)
        .env("CNI_NETNS", "/proc/self/ns/net")
        .env("CNI_IFNAME", "eth0")
        .env("CNI_PATH", ours())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("strace: {e}: run scripts/setup.sh"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(conf.to_string().as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "{command} {id} failed");
    let text = std::fs::read_to_string(&trace).unwrap();
    let needle = net.to_str().unwrap();
    text.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn add_and_del_touch_as_many_files_at_1000_reservations_as_at_one() {
    let tmp = TempDir::new("idx-count");
    let conf = conf(&tmp, "10.44.0.0/20");
    let net = tmp.path().join("net");
    let lib = HostLocalConf::parse(&conf, &CniArgs::parse("").unwrap()).unwrap();
    twill_ipam::host_local::add(&lib, "warm", "eth0").unwrap();
    let add_1 = file_calls("ADD", "probe-1", &conf, &net);
    let del_1 = file_calls("DEL", "probe-1", &conf, &net);
    for i in 0..1000 {
        twill_ipam::host_local::add(&lib, &format!("fill-{i}"), "eth0").unwrap();
    }
    assert_eq!(reservations(&net).len(), 1001);
    let add_n = file_calls("ADD", "probe-2", &conf, &net);
    let del_n = file_calls("DEL", "probe-2", &conf, &net);
    eprintln!("file calls: ADD {add_1} -> {add_n}, DEL {del_1} -> {del_n}");
    assert!(add_1 > 0 && del_1 > 0, "the trace names no file of {net:?}");
    assert_eq!(add_n, add_1, "ADD grows with the number of reservations");
    assert_eq!(del_n, del_1, "DEL grows with the number of reservations");
    assert_eq!(reservations(&net).len(), 1001);
}
