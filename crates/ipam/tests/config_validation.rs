//! host-local's configuration: sources and order of range sets, defaults, and every class of
//! bad input refused with the right code and the field named.

// Helpers of this test file: a panic in one is a test failure with its reason.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::{json, Value};
use support::{conf, TempDir};
use twill_cni::skel::CniArgs;
use twill_cni::{CniError, Code};
use twill_ipam::HostLocalConf;

fn parse(v: &Value, cni_args: &str) -> Result<HostLocalConf, CniError> {
    HostLocalConf::parse(v, &CniArgs::parse(cni_args).unwrap()).map_err(CniError::from)
}

#[test]
fn defaults_follow_the_reference() {
    let tmp = TempDir::new("defaults");
    let c = parse(
        &conf(
            "1.0.0",
            tmp.path(),
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "fd00:1::/64"}]]}),
        ),
        "",
    )
    .unwrap();
    let v4 = &c.range_sets[0].ranges[0];
    assert_eq!(
        (v4.start.ip().to_string(), v4.end.ip().to_string()),
        ("10.1.0.1".into(), "10.1.0.254".into())
    );
    assert_eq!(v4.gateway.ip().to_string(), "10.1.0.1");
    let v6 = &c.range_sets[1].ranges[0];
    assert_eq!(v6.end.ip().to_string(), "fd00:1::ffff:ffff:ffff:ffff");
    assert_eq!(v6.gateway.ip().to_string(), "fd00:1::1");
    assert_eq!(c.store.dir(), tmp.path().join("net"));
    let none = json!({"cniVersion": "1.0.0", "name": "n", "type": "x", "ipam": {"type": "host-local", "subnet": "10.2.0.0/24"}});
    assert_eq!(
        parse(&none, "").unwrap().store.data_dir.to_str(),
        Some("/var/lib/cni/networks")
    );
}

#[test]
fn runtime_ranges_then_legacy_then_ranges() {
    let tmp = TempDir::new("order");
    let mut v = conf(
        "1.0.0",
        tmp.path(),
        json!({
            "subnet": "10.2.0.0/24", "rangeStart": "10.2.0.10", "rangeEnd": "10.2.0.20", "gateway": "10.2.0.254",
            "ranges": [[{"subnet": "10.3.0.0/24"}]]
        }),
    );
    v["runtimeConfig"] = json!({"ipRanges": [[{"subnet": "10.1.0.0/24"}]]});
    let c = parse(&v, "").unwrap();
    let firsts: Vec<String> = c
        .range_sets
        .iter()
        .map(|s| s.ranges[0].network.ip().to_string())
        .collect();
    assert_eq!(firsts, ["10.1.0.0", "10.2.0.0", "10.3.0.0"]);
    let legacy = &c.range_sets[1].ranges[0];
    assert_eq!(legacy.start.ip().to_string(), "10.2.0.10");
    assert_eq!(legacy.end.ip().to_string(), "10.2.0.20");
    assert_eq!(legacy.gateway.ip().to_string(), "10.2.0.254");
}

#[test]
fn requested_addresses_from_all_three_sources_without_repeats() {
    let tmp = TempDir::new("req");
    let mut v = conf(
        "1.0.0",
        tmp.path(),
        json!({"ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "10.2.0.0/24"}], [{"subnet": "fd00::/64"}]]}),
    );
    v["args"] = json!({"cni": {"ips": ["10.2.0.7/24", "10.1.0.5"]}});
    v["runtimeConfig"] = json!({"ips": ["fd00::9"]});
    let c = parse(&v, "IP=10.1.0.5").unwrap();
    let got: Vec<String> = c.requested.iter().map(ToString::to_string).collect();
    assert_eq!(got, ["10.1.0.5", "10.2.0.7", "fd00::9"]);
}

/// (ipam keys, extra top-level keys, CNI_ARGS, expected code, text the message starts with)
#[test]
fn every_bad_input_names_its_field() {
    let tmp = TempDir::new("bad");
    let cases: Vec<(Value, Value, &str, u32, &str)> = vec![
        (json!({}), json!({}), "", 7, "ipam.ranges: no IP ranges"),
        (
            json!({"ranges": "10.0.0.0/8"}),
            json!({}),
            "",
            6,
            "ipam.ranges: expected array",
        ),
        (
            json!({"ranges": [{"subnet": "10.0.0.0/8"}]}),
            json!({}),
            "",
            6,
            "ipam.ranges[0]: expected array",
        ),
        (
            json!({"ranges": [[]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0]: empty range set",
        ),
        (
            json!({"ranges": [[{"subnet": 5}]]}),
            json!({}),
            "",
            6,
            "ipam.ranges[0][0].subnet: expected string",
        ),
        (
            json!({"ranges": [[{}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0][0].subnet: required",
        ),
        (
            json!({"ranges": [[{"subnet": "abc"}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0][0].subnet",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.5/24"}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0][0].subnet: 10.1.0.5/24 has host bits set",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/31"}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0][0].subnet: network 10.1.0.0/31 is too small",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/32"}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0][0].subnet: network 10.1.0.0/32 is too small",
        ),
        (
            json!({"ranges": [[{"subnet": "fd00::/127"}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0][0].subnet: network fd00::/127 is too small",
        ),
        (
            json!({"ranges": [[{"subnet": "fd00::/128"}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0][0].subnet: network fd00::/128 is too small",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24", "rangeStart": "10.2.0.1"}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0][0].rangeStart: 10.2.0.1 is not in network",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24", "rangeEnd": "fd00::1"}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0][0].rangeEnd: fd00::1 is not in network",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24", "rangeStart": "10.1.0.50", "rangeEnd": "10.1.0.40"}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0][0].rangeEnd: 10.1.0.40 is before rangeStart",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24", "gateway": "10.9.0.1"}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0][0].gateway: 10.9.0.1 is not in network",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24", "gateway": "x"}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0][0].gateway",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}, {"subnet": "fd00::/64"}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0][1].subnet: mixed address families",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}, {"subnet": "10.1.0.0/25"}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0][1]: range 10.1.0.1-10.1.0.126 overlaps",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "10.1.0.128/25"}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[1]: range set 1 overlaps with range set 0",
        ),
        (
            json!({"subnet": "10.1.0.0/24", "ranges": [[{"subnet": "10.1.0.0/16"}]]}),
            json!({}),
            "",
            7,
            "ipam.ranges[0]: range set 1 overlaps",
        ),
        (
            json!({"subnet": "10.1.0.0/33"}),
            json!({}),
            "",
            7,
            "ipam.subnet",
        ),
        (
            json!({"subnet": "10.1.0.0/24", "rangeStart": "10.1.1.1"}),
            json!({}),
            "",
            7,
            "ipam.rangeStart",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}]]}),
            json!({"runtimeConfig": {"ipRanges": [[{"subnet": "10.1.0.0/28"}]]}}),
            "",
            7,
            "ipam.ranges[0]: range set 1 overlaps with range set 0 (runtimeConfig.ipRanges[0])",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}]]}),
            json!({"runtimeConfig": {"ipRanges": [[{"subnet": "10.2.0.0/31"}]]}}),
            "",
            7,
            "runtimeConfig.ipRanges[0][0].subnet",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "10.2.0.0/24"}]]}),
            json!({"cniVersion": "0.2.0"}),
            "",
            7,
            "ipam.ranges: CNI version 0.2.0 does not support more than 1 address per family",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}]], "routes": [{"dst": "x"}]}),
            json!({}),
            "",
            7,
            "ipam.routes[0].dst",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}]], "dataDir": 3}),
            json!({}),
            "",
            6,
            "ipam.dataDir: expected string",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}]], "resolvConf": []}),
            json!({}),
            "",
            6,
            "ipam.resolvConf: expected string",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}]]}),
            json!({}),
            "IP=10.9.0.1",
            7,
            "requested IPs: 10.9.0.1 is in no range",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}]]}),
            json!({}),
            "IP=10.1.0.1",
            7,
            "requested IPs: 10.1.0.1 is the gateway",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}]]}),
            json!({}),
            "IP=10.1.0.5,10.1.0.6",
            7,
            "requested IPs: 10.1.0.5 and 10.1.0.6 both fall in range set 0",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}]]}),
            json!({}),
            "IP=nope",
            7,
            "CNI_ARGS",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}]]}),
            json!({"args": {"cni": {"ips": ["bad"]}}}),
            "",
            7,
            "args.cni.ips[0]",
        ),
        (
            json!({"ranges": [[{"subnet": "10.1.0.0/24"}]]}),
            json!({"runtimeConfig": {"ips": [1]}}),
            "",
            6,
            "runtimeConfig.ips[0]",
        ),
    ];
    for (ipam, extra, cni_args, code, prefix) in cases {
        let mut v = conf("1.0.0", tmp.path(), ipam.clone());
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        let e = parse(&v, cni_args).map(|_| ()).unwrap_err();
        assert_eq!(e.code, Code(code), "{ipam} {extra}: {}", e.msg);
        assert!(
            e.msg.starts_with(prefix),
            "{ipam} {extra}: {:?} does not start with {prefix:?}",
            e.msg
        );
    }
    let no_ipam = json!({"cniVersion": "1.0.0", "name": "n", "type": "x"});
    let e = parse(&no_ipam, "").map(|_| ()).unwrap_err();
    assert_eq!(
        (e.code, e.msg.as_str()),
        (Code(7), "ipam: required field is missing")
    );
}
