//! `twill ls`, `twill gc` of attachments whose namespace is gone, `twill plugins`.

use serde_json::json;

use crate::support::{reference_dir, Sandbox};

#[test]
fn ls_shows_attachments_and_gc_releases_those_whose_netns_is_gone() {
    let sb = Sandbox::new();
    sb.twill(&["net", "create", "lsnet", "--subnet", "10.28.0.0/24"])
        .ok();
    let keep = sb.pod("keep");
    let gone = sb.pod("gone");
    sb.twill(&[
        "add",
        "lsnet",
        keep.to_str().unwrap(),
        "--container-id",
        "c-keep",
    ])
    .ok();
    sb.twill(&[
        "add",
        "lsnet",
        gone.to_str().unwrap(),
        "--container-id",
        "c-gone",
    ])
    .ok();
    sb.delete_ns("gone");

    let table = sb.twill(&["ls"]);
    let text = table.ok();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NETWORK",
            "CONTAINER",
            "IFNAME",
            "NETNS",
            "ADDRESSES",
            "ALIVE"
        ]
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    let keep_s = keep.to_str().unwrap();
    let gone_s = gone.to_str().unwrap();
    assert!(
        rows.contains(&vec![
            "lsnet",
            "c-gone",
            "eth0",
            gone_s,
            "10.28.0.3/24",
            "no"
        ]),
        "{text}"
    );
    assert!(
        rows.contains(&vec![
            "lsnet",
            "c-keep",
            "eth0",
            keep_s,
            "10.28.0.2/24",
            "yes"
        ]),
        "{text}"
    );

    let json = sb.twill(&["ls", "--json"]).json();
    assert_eq!(
        json,
        json!([
            {"network": "lsnet", "containerId": "c-gone", "ifname": "eth0", "netns": gone_s,
             "addresses": ["10.28.0.3/24"], "netnsExists": false},
            {"network": "lsnet", "containerId": "c-keep", "ifname": "eth0", "netns": keep_s,
             "addresses": ["10.28.0.2/24"], "netnsExists": true},
        ])
    );

    let gc = sb.twill(&["gc"]);
    let out = gc.ok();
    assert!(out.contains("released lsnet/c-gone/eth0"), "{out}");
    assert!(!out.contains("c-keep"), "{out}");
    assert!(out.contains("GC: lsnet"), "{out}");
    assert_eq!(sb.cache_files(), ["lsnet-c-keep-eth0"]);
    assert_eq!(
        sb.reserved(&sb.cache().join("networks/lsnet")),
        ["10.28.0.2"]
    );
}

#[test]
fn gc_to_the_plugins_releases_reservations_nobody_holds() {
    let sb = Sandbox::new();
    sb.twill(&["net", "create", "leaky", "--subnet", "10.29.0.0/24"])
        .ok();
    let ipam = sb.cache().join("networks/leaky");
    // A reservation without a cache entry: what an ADD killed between plugins leaves.
    std::fs::write(ipam.join("10.29.0.50"), "lost-container\r\neth0").unwrap_or_else(|_| {
        std::fs::create_dir_all(&ipam).unwrap();
        std::fs::write(ipam.join("10.29.0.50"), "lost-container\r\neth0").unwrap();
    });
    let pod = sb.pod("live");
    sb.twill(&["add", "leaky", pod.to_str().unwrap()]).ok();
    assert_eq!(sb.reserved(&ipam).len(), 2);
    sb.twill(&["gc", "leaky"]).ok();
    assert_eq!(
        sb.reserved(&ipam),
        ["10.29.0.2"],
        "the live one stays, the lost one goes"
    );
}

#[test]
fn plugins_lists_versions_of_ours_and_the_reference() {
    let sb = Sandbox::new();
    let ours = sb.twill(&["plugins"]);
    let text = ours.ok();
    let bridge = text
        .lines()
        .find(|l| l.starts_with("bridge "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        bridge.contains("1.1.0") && bridge.contains("-> "),
        "{bridge}"
    );
    let json = sb.twill(&["plugins", "--json"]).json();
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    // Every name the multi-call binary answers to, as the shared harness lists them.
    assert_eq!(names, twill_test_support::plugins::OURS);

    let reference = sb
        .twill_with(reference_dir(), &["--json", "plugins"], &[])
        .json();
    let ptp = reference
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "ptp")
        .unwrap();
    let versions = ptp["supportedVersions"].as_array().unwrap();
    assert!(
        versions.contains(&json!("1.0.0")) && !versions.contains(&json!("1.1.0")),
        "{ptp}"
    );

    let empty = sb.twill_with("/nonexistent", &["plugins"], &[]);
    assert!(empty.ok().contains("no plugins in CNI_PATH (/nonexistent)"));
}
