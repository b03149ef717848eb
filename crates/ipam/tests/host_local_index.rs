//! The owner index: written by ADD, trusted by DEL only while every listed reservation is
//! still the attachment's, stale entries and crash leftovers, reservations made without it
//! (as the reference makes them), and GC's cleanup.

// Helpers of this test file: a panic in one is a test failure with its reason.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::json;
use support::{conf, files, reservations, TempDir};
use twill_cni::config::GcAttachment;
use twill_cni::skel::CniArgs;
use twill_ipam::host_local::{add, del, gc};
use twill_ipam::store::index::{entry_content, parse_entry_content};
use twill_ipam::store::{INDEX_DIR, INDEX_TMP};
use twill_ipam::{HostLocalConf, IpamError};

fn dual(tmp: &TempDir) -> HostLocalConf {
    let v = conf(
        "1.1.0",
        tmp.path(),
        json!({"ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "fd00:1::/64"}]]}),
    );
    HostLocalConf::parse(&v, &CniArgs::parse("").unwrap()).unwrap()
}

fn index(dir: &Path) -> PathBuf {
    dir.join(INDEX_DIR)
}

fn listed(dir: &Path, entry: &str) -> Vec<String> {
    let text = fs::read_to_string(index(dir).join(entry)).unwrap();
    parse_entry_content(&text)
        .unwrap()
        .iter()
        .map(IpAddr::to_string)
        .collect()
}

fn sorted(mut v: Vec<IpAddr>) -> Vec<String> {
    v.sort();
    v.iter().map(IpAddr::to_string).collect()
}

/// Writes a reservation as the reference writes it (no index entry).
fn reserve_like_reference(dir: &Path, ip: &str, id: &str, ifname: &str) {
    fs::write(dir.join(ip), format!("{id}\r\n{ifname}")).unwrap();
}

#[test]
fn add_writes_the_entry_and_del_trusts_it() {
    let tmp = TempDir::new("idx-basic");
    let c = dual(&tmp);
    add(&c, "a", "eth0").unwrap();
    add(&c, "b_x", "net%1").unwrap();
    let dir = c.store.dir();
    assert_eq!(files(&index(&dir)), ["a_eth0", "b%5Fx_net%251"]);
    assert_eq!(listed(&dir, "a_eth0"), ["10.1.0.2", "fd00:1::2"]);
    assert_eq!(
        sorted(del(&c.store, "a", "eth0").unwrap()),
        ["10.1.0.2", "fd00:1::2"]
    );
    assert_eq!(files(&index(&dir)), ["b%5Fx_net%251"]);
    // Repeats find neither an entry nor a reservation.
    assert!(del(&c.store, "a", "eth0").unwrap().is_empty());
    assert!(matches!(
        add(&c, "b_x", "net%1").unwrap_err(),
        IpamError::Duplicate { .. }
    ));
}

#[test]
fn an_entry_released_behind_our_back_is_stale() {
    let tmp = TempDir::new("idx-stale");
    let c = dual(&tmp);
    add(&c, "a", "eth0").unwrap();
    let dir = c.store.dir();
    // The reference's DEL removes the reservations and knows nothing of the entry.
    fs::remove_file(dir.join("10.1.0.2")).unwrap();
    fs::remove_file(dir.join("fd00:1::2")).unwrap();
    // Not a duplicate: the entry is dropped and replaced.
    add(&c, "a", "eth0").unwrap();
    assert_eq!(listed(&dir, "a_eth0"), ["10.1.0.3", "fd00:1::3"]);
    // The reference releases again, and its own ADD reserves for the same attachment: the
    // stale entry must not hide that reservation from our DEL.
    fs::remove_file(dir.join("10.1.0.3")).unwrap();
    fs::remove_file(dir.join("fd00:1::3")).unwrap();
    reserve_like_reference(&dir, "10.1.0.9", "a", "eth0");
    assert_eq!(sorted(del(&c.store, "a", "eth0").unwrap()), ["10.1.0.9"]);
    assert!(files(&index(&dir)).is_empty());
}

#[test]
fn an_entry_naming_someone_elses_address_releases_nothing_of_theirs() {
    let tmp = TempDir::new("idx-other");
    let c = dual(&tmp);
    add(&c, "b", "eth0").unwrap();
    let dir = c.store.dir();
    let b_ip: IpAddr = "10.1.0.2".parse().unwrap();
    fs::write(index(&dir).join("a_eth0"), entry_content(&[b_ip])).unwrap();
    assert!(del(&c.store, "a", "eth0").unwrap().is_empty());
    assert_eq!(reservations(&dir), ["10.1.0.2", "fd00:1::2"]);
    assert_eq!(files(&index(&dir)), ["b_eth0"]);
    // A torn or foreign entry is stale too.
    fs::write(index(&dir).join("a_eth0"), "10.1.0.2\n").unwrap();
    add(&c, "a", "eth0").unwrap();
    assert_eq!(listed(&dir, "a_eth0"), ["10.1.0.3", "fd00:1::3"]);
}

#[test]
fn reservations_made_without_an_entry_are_found_by_the_scan() {
    let tmp = TempDir::new("idx-ref");
    let c = dual(&tmp);
    add(&c, "ours", "eth0").unwrap();
    let dir = c.store.dir();
    reserve_like_reference(&dir, "10.1.0.50", "theirs", "eth0");
    reserve_like_reference(&dir, "fd00:1::50", "theirs", "eth0");
    // What a kill between the reservations and the entry leaves, too.
    fs::remove_file(index(&dir).join("ours_eth0")).unwrap();
    assert_eq!(
        sorted(del(&c.store, "theirs", "eth0").unwrap()),
        ["10.1.0.50", "fd00:1::50"]
    );
    assert_eq!(
        sorted(del(&c.store, "ours", "eth0").unwrap()),
        ["10.1.0.2", "fd00:1::2"]
    );
    assert!(reservations(&dir).is_empty());
}

#[test]
fn the_documented_deviation_a_duplicate_of_an_unindexed_attachment() {
    let tmp = TempDir::new("idx-dev");
    let c = dual(&tmp);
    fs::create_dir_all(c.store.dir()).unwrap();
    let dir = c.store.dir();
    reserve_like_reference(&dir, "10.1.0.50", "r", "eth0");
    // The reference would refuse this ADD; ours cannot see the reservation without a scan.
    add(&c, "r", "eth0").unwrap();
    // DEL trusts the entry and releases what our ADD reserved; GC finds the rest.
    assert_eq!(
        sorted(del(&c.store, "r", "eth0").unwrap()),
        ["10.1.0.2", "fd00:1::2"]
    );
    assert_eq!(reservations(&dir), ["10.1.0.50"]);
    assert_eq!(gc(&c.store, &[]).unwrap().released.len(), 1);
}

#[test]
fn holdings_outside_the_configured_sets_stay_in_the_entry() {
    let tmp = TempDir::new("idx-sets");
    let c = dual(&tmp);
    add(&c, "a", "eth0").unwrap();
    let other = HostLocalConf::parse(
        &conf("1.1.0", tmp.path(), json!({"subnet": "10.2.0.0/24"})),
        &CniArgs::parse("").unwrap(),
    )
    .unwrap();
    add(&other, "a", "eth0").unwrap();
    let dir = c.store.dir();
    assert_eq!(
        listed(&dir, "a_eth0"),
        ["10.1.0.2", "fd00:1::2", "10.2.0.2"]
    );
    // A failed ADD keeps the entry of what was held before.
    let full = HostLocalConf::parse(
        &conf(
            "1.1.0",
            tmp.path(),
            json!({"subnet": "10.3.0.0/30", "rangeStart": "10.3.0.2", "rangeEnd": "10.3.0.2"}),
        ),
        &CniArgs::parse("").unwrap(),
    )
    .unwrap();
    add(&full, "z", "eth0").unwrap();
    assert!(matches!(
        add(&full, "a", "eth0").unwrap_err(),
        IpamError::Exhausted { .. }
    ));
    assert_eq!(
        listed(&dir, "a_eth0"),
        ["10.1.0.2", "fd00:1::2", "10.2.0.2"]
    );
    assert_eq!(del(&c.store, "a", "eth0").unwrap().len(), 3);
}

#[test]
fn crash_leftovers_are_cleaned_by_del_add_and_gc() {
    let tmp = TempDir::new("idx-crash");
    let c = dual(&tmp);
    add(&c, "keep", "eth0").unwrap();
    add(&c, "gone", "eth0").unwrap();
    let dir = c.store.dir();
    // A kill during an entry's write, and an entry whose reservations were never made.
    fs::write(index(&dir).join(INDEX_TMP), "twill").unwrap();
    fs::write(index(&dir).join("ghost_eth0"), entry_content(&[])).unwrap();
    fs::write(index(&dir).join("not-an-entry"), "").unwrap();
    // GC keeps the valid attachment's entry only.
    let report = gc(&c.store, &[GcAttachment::new("keep", "eth0")]).unwrap();
    assert_eq!(report.released.len(), 2);
    assert_eq!(report.index_entries, 2, "{report:?}");
    assert_eq!(report.temp_files, 2, "{report:?}");
    assert_eq!(files(&index(&dir)), ["keep_eth0"]);
    // A leftover entry file is replaced by the next entry written; DEL's scan removes it.
    fs::write(index(&dir).join(INDEX_TMP), "twill").unwrap();
    add(&c, "next", "eth0").unwrap();
    assert!(!index(&dir).join(INDEX_TMP).exists());
    fs::write(index(&dir).join(INDEX_TMP), "twill").unwrap();
    del(&c.store, "nobody", "eth0").unwrap();
    assert!(!index(&dir).join(INDEX_TMP).exists());
}

#[test]
fn an_attachment_too_long_to_index_is_scanned() {
    let tmp = TempDir::new("idx-long");
    let c = dual(&tmp);
    let id = "x".repeat(300);
    add(&c, &id, "eth0").unwrap();
    let dir = c.store.dir();
    assert!(files(&index(&dir)).is_empty());
    assert!(matches!(
        add(&c, &id, "eth0").unwrap_err(),
        IpamError::Duplicate { .. }
    ));
    assert_eq!(del(&c.store, &id, "eth0").unwrap().len(), 2);
    assert!(reservations(&dir).is_empty());
}
