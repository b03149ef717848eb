//! Which conversions lose nothing, and exactly what the others lose.

// Helpers here are test code too: a panic in one is a test failure, which is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

use twill_cni::result::{CniResult, IpFamily, V1Result};
use twill_cni::{ResultFamily, Version};

fn fixture(case: &str) -> CniResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/results")
        .join(case)
        .join("input.json");
    CniResult::parse(&fs::read(path).unwrap(), Version::V0_1_0).unwrap()
}

fn from(v: Version) -> CniResult {
    fixture(&format!("from-{v}"))
}

fn versions_of(family: ResultFamily) -> impl Iterator<Item = Version> {
    Version::ALL
        .into_iter()
        .filter(move |v| v.family() == family)
}

#[test]
fn within_a_family_only_the_label_changes() {
    for v in Version::ALL {
        let original = from(v);
        for to in versions_of(v.family()) {
            let there = original.clone().convert(to).unwrap();
            assert_eq!(there.version(), to);
            assert_eq!(there.to_latest(), original.to_latest(), "{v} -> {to}");
            assert_eq!(there.convert(v).unwrap(), original, "{v} -> {to} -> {v}");
        }
    }
}

#[test]
fn v04_and_v1_round_trip_without_1_1_fields() {
    for v in [
        Version::V0_3_0,
        Version::V0_3_1,
        Version::V0_4_0,
        Version::V1_0_0,
    ] {
        let original = from(v);
        assert!(!original.to_latest().has_extras());
        for to in [
            Version::V0_3_0,
            Version::V0_3_1,
            Version::V0_4_0,
            Version::V1_0_0,
            Version::V1_1_0,
        ] {
            let back = original.clone().convert(to).unwrap().convert(v).unwrap();
            assert_eq!(back, original, "{v} -> {to} -> {v}");
        }
    }
}

#[test]
fn legacy_survives_any_newer_version() {
    for v in [Version::V0_1_0, Version::V0_2_0] {
        let original = from(v);
        for via in Version::ALL {
            let back = original.clone().convert(via).unwrap().convert(v).unwrap();
            assert_eq!(back, original, "{v} -> {via} -> {v}");
        }
    }
    let v6 = fixture("legacy-only-v6");
    let back = v6.clone().convert(Version::V1_1_0).unwrap();
    assert_eq!(back.convert(Version::V0_2_0).unwrap(), v6);
}

#[test]
fn going_to_0_x_drops_exactly_the_1_1_fields() {
    let original = from(Version::V1_1_0);
    let latest = original.to_latest();
    assert!(latest.has_extras());
    for to in [Version::V0_3_0, Version::V0_3_1, Version::V0_4_0] {
        let back = original.clone().convert(to).unwrap().into_latest();
        assert_ne!(back, latest);
        assert!(!back.has_extras());
        let mut stripped = latest.clone();
        for i in &mut stripped.interfaces {
            i.mtu = 0;
            i.socket_path.clear();
            i.pci_id.clear();
        }
        for r in &mut stripped.routes {
            *r = r.basic().into();
        }
        assert_eq!(back, stripped, "1.1.0 -> {to} -> 1.1.0");
    }
    // 1.0.0 is the same shape and keeps them.
    let same = original.clone().convert(Version::V1_0_0).unwrap();
    assert_eq!(same.to_latest(), latest);
}

#[test]
fn going_to_legacy_keeps_the_first_address_of_each_family() {
    let original = from(Version::V0_4_0);
    let src = original.to_latest();
    let legacy = original.clone().into_legacy().unwrap();
    let ip4 = legacy.ip4.as_ref().unwrap();
    let ip6 = legacy.ip6.as_ref().unwrap();
    let first = |f: IpFamily| src.ips.iter().find(|ip| ip.family() == f).unwrap();
    assert_eq!(ip4.ip, first(IpFamily::V4).address);
    assert_eq!(ip4.gateway, first(IpFamily::V4).gateway);
    assert_eq!(ip6.ip, first(IpFamily::V6).address);
    // The second IPv4 address and the interfaces have no place in 0.2.0.
    assert_eq!(src.ips.len(), 3);
    let back = original.convert(Version::V0_2_0).unwrap();
    let again = back.convert(Version::V0_4_0).unwrap().to_latest();
    assert_eq!(again.ips.len(), 2);
    assert!(again.interfaces.is_empty());
    assert!(again.ips.iter().all(|ip| ip.interface.is_none()));
    // Routes come back grouped by family: the IPv4 ones first, in their original order.
    let dsts =
        |r: &V1Result| -> Vec<String> { r.routes.iter().map(|r| r.dst.to_string()).collect() };
    assert_eq!(
        dsts(&again),
        ["0.0.0.0/0", "172.16.0.0/12", "::/0", "fd00:1234::/32"]
    );
    assert_eq!(again.dns, src.dns);
}

#[test]
fn routes_without_an_address_of_their_family_are_dropped() {
    let only_v6 = fixture("only-v6");
    let legacy = only_v6.into_legacy().unwrap();
    assert!(legacy.ip4.is_none());
    let ip6 = legacy.ip6.unwrap();
    assert_eq!(ip6.routes.len(), 1);
    assert_eq!(ip6.routes[0].dst.to_string(), "::/0");
}

#[test]
fn no_address_means_no_legacy_form() {
    let err = fixture("no-ips").convert(Version::V0_1_0).unwrap_err();
    assert_eq!(err.code, twill_cni::Code::INCOMPATIBLE_VERSION);
    assert_eq!(err.msg, twill_cni::result::NO_VALID_IP);
    assert!(
        err.details.contains("1.0.0 result to 0.1.0"),
        "{}",
        err.details
    );
    // An empty result built by a plugin fails the same way, and converts fine elsewhere.
    assert!(CniResult::from_latest(V1Result::new(), Version::V0_2_0).is_err());
    for v in Version::ALL
        .into_iter()
        .filter(|v| v.family() != ResultFamily::Legacy)
    {
        let r = CniResult::from_latest(V1Result::new(), v).unwrap();
        assert_eq!(r.version(), v);
    }
}
