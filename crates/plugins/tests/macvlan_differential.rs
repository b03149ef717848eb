//! The same macvlan configurations through twill and the reference plugins (v1.1.1), at
//! every version the reference speaks (support::child_diff): results, the child's state,
//! traffic, CHECK and DEL compared. (The reference's `linkInContainer` arrived after 1.1.1,
//! so that key is compared nowhere; see tests/macvlan.rs.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::json;
use support::child_diff::{base, compare, Case, VERSIONS};

fn case<'a>(peer: Option<&'a str>, far: Option<&'a str>) -> Case<'a> {
    Case {
        plugin: "macvlan",
        peer,
        far,
        far_routes: &[],
    }
}

#[test]
fn ipv4_with_default_route() {
    let mut c = base("macvlan", json!({}));
    c["ipam"]["routes"] = json!([{"dst": "0.0.0.0/0"}]);
    compare(&case(Some("10.30.0.3"), Some("10.30.0.254")), &c, &VERSIONS);
}

#[test]
fn ipv6_with_routes_and_dns() {
    let mut c = base(
        "macvlan",
        json!({"dns": {"nameservers": ["fd00:30::53"], "search": ["example.test"]}}),
    );
    c["ipam"]["ranges"] = json!([[{"subnet": "fd00:30::/64", "gateway": "fd00:30::fe"}]]);
    c["ipam"]["routes"] = json!([{"dst": "::/0"}, {"dst": "fd00:33::/64", "gw": "fd00:30::fe"}]);
    // The gateway is not the subnet's first address, so the pods get ::1 and ::2.
    compare(
        &case(Some("fd00:30::2"), Some("fd00:30::fe")),
        &c,
        &VERSIONS,
    );
}

#[test]
fn dual_stack_vepa_with_mtu_and_default_master() {
    let mut c = base(
        "macvlan",
        json!({"master": null, "mode": "vepa", "mtu": 1400}),
    );
    c["ipam"]["ranges"] = json!([[{"subnet": "10.30.0.0/24"}], [{"subnet": "fd00:30::/64"}]]);
    c["ipam"]["routes"] = json!([{"dst": "10.33.0.0/16"}]);
    // vepa: pods meet only through a hairpinning switch, which a veth is not.
    compare(&case(None, Some("10.30.0.254")), &c, &VERSIONS);
}

#[test]
fn private_mode() {
    let c = base("macvlan", json!({"mode": "private"}));
    compare(&case(None, Some("10.30.0.254")), &c, &VERSIONS);
}

#[test]
fn layer_2_only() {
    let c = base("macvlan", json!({"ipam": null}));
    compare(&case(None, None), &c, &VERSIONS[2..]);
}
