//! The firewall's elements over an attachment's life: DEL with the netns gone and no
//! prevResult removes everything; GC removes what attachments outside the valid list added
//! (and bridge elements no reference holds); CHECK fails when an element is missing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod firewall_support;
mod portmap_support;
mod support;

use firewall_support::*;
use serde_json::json;
use support::Sandbox;

const T: &str = "twill_firewall";

#[test]
fn del_without_netns_or_prev_result_removes_every_element() {
    let mut sb = Sandbox::new();
    let n = net(&sb, "fwnet", "fw-a", 1);
    let (a, ra) = pod(&mut sb, &n, "a");
    let c = fw_conf(&sb, "fwnet", &ra, json!({"ingressPolicy": "isolated"}));
    fw(&sb, "ADD", "a", &a.path, &c).ok();
    let path = sb.host.path.clone();
    assert_eq!(elements(&path, "inet", T, "pods4"), vec![json!(addr(&ra))]);
    assert_eq!(elements(&path, "inet", T, "isolated4").len(), 1);
    assert_eq!(elements(&path, "inet", T, "bridges").len(), 1);
    assert_eq!(elements(&path, "bridge", T, "isolated_ports").len(), 1);
    assert!(data_dir(&sb).join("fwnet/a-eth0").exists());

    sb.delete_pod(a);
    fw_del_bare(&sb, "fwnet", "a");
    for (family, set) in [
        ("inet", "pods4"),
        ("inet", "isolated4"),
        ("inet", "bridges"),
        ("inet", "intra"),
        ("bridge", "isolated_ports"),
    ] {
        assert!(elements(&path, family, T, set).is_empty(), "{family} {set}");
    }
    assert!(!data_dir(&sb).join("fwnet").exists(), "the record went");
    assert!(
        !data_dir(&sb).join(".bridges").join(T).exists(),
        "the reference went"
    );
    fw_del_bare(&sb, "fwnet", "a"); // idempotent
}

#[test]
fn gc_removes_the_elements_of_attachments_not_in_the_valid_list() {
    let mut sb = Sandbox::new();
    let n = net(&sb, "fwnet", "fw-a", 1);
    let (a, ra) = pod(&mut sb, &n, "a");
    let (b, rb) = pod(&mut sb, &n, "b");
    let same = json!({"ingressPolicy": "same-bridge"});
    fw(
        &sb,
        "ADD",
        "a",
        &a.path,
        &fw_conf(&sb, "fwnet", &ra, same.clone()),
    )
    .ok();
    fw(&sb, "ADD", "b", &b.path, &fw_conf(&sb, "fwnet", &rb, same)).ok();
    let path = sb.host.path.clone();
    assert_eq!(elements(&path, "inet", T, "pods4").len(), 2);

    fw_gc(
        &sb,
        "fwnet",
        json!([{"containerID": "a", "ifname": "eth0"}]),
    )
    .ok();
    assert_eq!(elements(&path, "inet", T, "pods4"), vec![json!(addr(&ra))]);
    assert_eq!(
        elements(&path, "inet", T, "bridges").len(),
        1,
        "a still holds it"
    );
    assert!(!data_dir(&sb).join("fwnet/b-eth0").exists());

    // A bridge element no reference holds (a crash between the two) is reconciled away.
    nft(
        &path,
        &["add", "element", "inet", T, "bridges", "{ \"fw-gone\" }"],
    );
    assert_eq!(elements(&path, "inet", T, "bridges").len(), 2);
    fw_gc(
        &sb,
        "fwnet",
        json!([{"containerID": "a", "ifname": "eth0"}]),
    )
    .ok();
    assert_eq!(elements(&path, "inet", T, "bridges").len(), 1);

    fw_gc(&sb, "fwnet", json!([])).ok();
    assert!(elements(&path, "inet", T, "pods4").is_empty());
    assert!(elements(&path, "inet", T, "bridges").is_empty());
    assert!(elements(&path, "inet", T, "intra").is_empty());
}

#[test]
fn check_fails_when_an_element_is_missing() {
    let mut sb = Sandbox::new();
    let n = net(&sb, "fwnet", "fw-a", 1);
    let (a, ra) = pod(&mut sb, &n, "a");
    let c = fw_conf(&sb, "fwnet", &ra, json!({"ingressPolicy": "same-bridge"}));
    let (code, msg) = fw(&sb, "CHECK", "a", &a.path, &c).err();
    assert_eq!(code, 999);
    assert!(msg.contains("no record"), "{msg}");
    fw(&sb, "ADD", "a", &a.path, &c).ok();
    fw(&sb, "CHECK", "a", &a.path, &c).ok();
    let path = sb.host.path.clone();

    let ip = addr(&ra);
    let el = format!("{{ {ip} }}");
    nft(&path, &["delete", "element", "inet", T, "pods4", &el]);
    let (code, msg) = fw(&sb, "CHECK", "a", &a.path, &c).err();
    assert_eq!(code, 999);
    assert!(msg.contains(&ip) && msg.contains("pods4"), "{msg}");
    fw(&sb, "ADD", "a", &a.path, &c).ok(); // a repeated ADD restores it
    fw(&sb, "CHECK", "a", &a.path, &c).ok();

    nft(&path, &["flush", "set", "inet", T, "intra"]);
    let (_, msg) = fw(&sb, "CHECK", "a", &a.path, &c).err();
    assert!(
        msg.contains("fw-a . fw-a") && msg.contains("intra"),
        "{msg}"
    );
    fw(&sb, "ADD", "a", &a.path, &c).ok();

    let open = fw_conf(&sb, "fwnet", &ra, json!({}));
    let (_, msg) = fw(&sb, "CHECK", "a", &a.path, &open).err();
    assert!(msg.contains("same-bridge") && msg.contains("open"), "{msg}");

    fw(&sb, "DEL", "a", &a.path, &c).ok();
    let (_, msg) = fw(&sb, "CHECK", "a", &a.path, &c).err();
    assert!(msg.contains("no record"), "{msg}");
}
