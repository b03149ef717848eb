//! Reading results: version rules, Go-compatible leniency, errors that name the field, and no
//! panics on garbage.

// Helpers here are test code too: a panic in one is a test failure, which is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;

use serde_json::json;
use twill_cni::result::{
    CniResult, Dns, IpConfig, IpNet, LegacyIpConfig, Route, V1Interface, V1Result, V1Route,
};
use twill_cni::{Code, Version};

fn parse(text: &str, missing: Version) -> Result<CniResult, twill_cni::CniError> {
    CniResult::parse(text.as_bytes(), missing)
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn a_missing_or_empty_version_is_the_callers() {
    for v in Version::ALL {
        for text in [
            r#"{"ips":[{"address":"10.0.0.2/24"}],"ip4":{"ip":"10.0.0.2/24"}}"#,
            r#"{"cniVersion":"","ips":[{"address":"10.0.0.2/24"}],"ip4":{"ip":"10.0.0.2/24"}}"#,
            r#"{"cniVersion":null,"ips":[{"address":"10.0.0.2/24"}],"ip4":{"ip":"10.0.0.2/24"}}"#,
        ] {
            let r = parse(text, v).unwrap();
            assert_eq!(r.version(), v);
            // The body is read in that version's shape.
            assert_eq!(r.to_latest().ips.len(), 1, "{v}");
        }
    }
    let r = parse(r#"{"cniVersion":"0.3.1"}"#, Version::V1_1_0).unwrap();
    assert_eq!(r.version(), Version::V0_3_1);
}

#[test]
fn an_unknown_version_is_code_1_naming_it() {
    for bad in ["9.9.9", "1.0", "v1.0.0", " 1.0.0"] {
        let text = json!({ "cniVersion": bad }).to_string();
        let e = parse(&text, Version::V1_0_0).unwrap_err();
        assert_eq!(e.code, Code::INCOMPATIBLE_VERSION, "{bad}");
        assert!(e.msg.starts_with("cniVersion: "), "{}", e.msg);
        assert!(e.msg.contains(&format!("{bad:?}")), "{}", e.msg);
    }
    let prev = json!({"cniVersion": "0.5.0"});
    let e = CniResult::from_value_at(&prev, "prevResult", Version::V1_0_0).unwrap_err();
    assert!(e.msg.starts_with("prevResult.cniVersion: "), "{}", e.msg);
}

#[test]
fn errors_name_the_field_and_are_decoding_failures() {
    let cases: &[(&str, &str)] = &[
        (r#"[]"#, "result: expected object, found array"),
        (
            r#"{"cniVersion":1}"#,
            "cniVersion: expected string, found number",
        ),
        (
            r#"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24"},{"address":7}]}"#,
            "ips[1].address: expected string, found number",
        ),
        (
            r#"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1"}]}"#,
            r#"ips[0].address: invalid CIDR address "10.0.0.1""#,
        ),
        (
            r#"{"cniVersion":"1.0.0","ips":[{"gateway":"10.0.0.1"}]}"#,
            "ips[0].address: required field is missing",
        ),
        (
            r#"{"cniVersion":"1.0.0","ips":[{"address":null}]}"#,
            "ips[0].address: required field is missing",
        ),
        (
            r#"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24","gateway":"10.0.0.256"}]}"#,
            r#"ips[0].gateway: invalid IP address "10.0.0.256""#,
        ),
        (
            r#"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24","interface":-1}]}"#,
            "ips[0].interface: -1 is not a non-negative integer",
        ),
        (
            r#"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24","interface":"0"}]}"#,
            "ips[0].interface: expected integer, found string",
        ),
        (
            r#"{"cniVersion":"0.4.0","ips":[{"version":"5","address":"10.0.0.1/24"}]}"#,
            r#"ips[0].version: "5" is not "4" or "6""#,
        ),
        (
            r#"{"cniVersion":"0.4.0","ips":[{"version":4,"address":"10.0.0.1/24"}]}"#,
            "ips[0].version: expected string, found number",
        ),
        (
            r#"{"cniVersion":"1.0.0","ips":{}}"#,
            "ips: expected array, found object",
        ),
        (
            r#"{"cniVersion":"1.0.0","ips":[null]}"#,
            "ips[0]: expected object, found null",
        ),
        (
            r#"{"cniVersion":"1.0.0","interfaces":[3]}"#,
            "interfaces[0]: expected object, found number",
        ),
        (
            r#"{"cniVersion":"1.0.0","interfaces":[{"name":"a"},{"name":"b","mtu":"1500"}]}"#,
            "interfaces[1].mtu: expected integer, found string",
        ),
        (
            r#"{"cniVersion":"1.1.0","interfaces":[{"name":"a","socketPath":false}]}"#,
            "interfaces[0].socketPath: expected string, found boolean",
        ),
        (
            r#"{"cniVersion":"1.1.0","routes":[{"dst":"10.0.0.0/8","scope":256}]}"#,
            "routes[0].scope: 256 is out of range (0-255)",
        ),
        (
            r#"{"cniVersion":"1.1.0","routes":[{"dst":"10.0.0.0/8","table":1.5}]}"#,
            "routes[0].table: 1.5 is not a non-negative integer",
        ),
        (
            r#"{"cniVersion":"0.3.1","routes":[{"dst":"10.0.0.0/8"},{"gw":"10.0.0.1"}]}"#,
            "routes[1].dst: required field is missing",
        ),
        (
            r#"{"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.1/24","routes":[{"dst":"::/129"}]}}"#,
            r#"ip4.routes[0].dst: invalid CIDR address "::/129""#,
        ),
        (
            r#"{"cniVersion":"0.1.0","ip6":"fd00::1/64"}"#,
            "ip6: expected object, found string",
        ),
        (
            r#"{"cniVersion":"0.1.0","ip6":{}}"#,
            "ip6.ip: required field is missing",
        ),
        (
            r#"{"cniVersion":"1.0.0","dns":{"nameservers":["10.0.0.53",53]}}"#,
            "dns.nameservers[1]: expected string, found number",
        ),
        (
            r#"{"cniVersion":"1.0.0","dns":[]}"#,
            "dns: expected object, found array",
        ),
        (
            r#"{"cniVersion":"0.4.0","dns":{"domain":{"a":1}}}"#,
            "dns.domain: expected string, found object",
        ),
    ];
    for (text, msg) in cases {
        let e = parse(text, Version::V1_0_0).unwrap_err();
        assert_eq!(e.code, Code::DECODING_FAILURE, "{text}");
        assert_eq!(e.msg, *msg, "{text}");
    }
}

#[test]
fn nested_results_name_their_full_path() {
    let conf = json!({"prevResult": {"cniVersion": "1.0.0", "routes": [{"dst": "x"}]}});
    let e =
        CniResult::from_value_at(&conf["prevResult"], "prevResult", Version::V1_0_0).unwrap_err();
    assert_eq!(
        e.msg,
        r#"prevResult.routes[0].dst: invalid CIDR address "x""#
    );
    let e = CniResult::from_value_at(&json!(3), "prevResult", Version::V1_0_0).unwrap_err();
    assert_eq!(e.msg, "prevResult: expected object, found number");
}

#[test]
fn garbage_never_panics() {
    let mut inputs: Vec<Vec<u8>> = [
        "", " ", "{", "}", "null", "true", "0", "\"x\"", "[{}]", "{\"cniVersion\":",
        "{\"cniVersion\":\"1.0.0\",}", "\u{feff}{}", "{\"cniVersion\":\"1.0.0\"} {}",
        r#"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24","interface":1e400}]}"#,
        r#"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24","interface":18446744073709551616}]}"#,
        r#"{"cniVersion":"1.0.0","routes":[{"dst":"10.0.0.0/99999999999999999999"}]}"#,
        r#"{"cniVersion":"1.0.0","routes":[{"dst":"/"}]}"#,
        r#"{"cniVersion":"1.0.0","routes":[{"dst":"::ffff:1.2.3.4/"}]}"#,
        r#"{"cniVersion":"1.0.0","routes":[{"dst":"1.2.3.4/٣"}]}"#,
        r#"{"cniVersion":"0.1.0","ip4":{"ip":"1.2.3.4/8","gateway":"fe80::1%eth0"}}"#,
        r#"{"cniVersion":"\u0000"}"#,
        r#"{"cniVersion":"1.0.0","interfaces":[{"name":"\ud800"}]}"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    inputs.push(vec![0xff, 0xfe, b'{', b'}']);
    inputs.push("[".repeat(100_000).into_bytes());
    inputs.push(format!("{}1{}", "{\"a\":".repeat(5000), "}".repeat(5000)).into_bytes());
    let big = format!(
        r#"{{"cniVersion":"1.0.0","ips":[{}]}}"#,
        vec![r#"{"address":"10.0.0.1/24"}"#; 20_000].join(",")
    );
    inputs.push(big.clone().into_bytes());
    for bytes in &inputs {
        for v in Version::ALL {
            match CniResult::parse(bytes, v) {
                Ok(r) => {
                    for to in Version::ALL {
                        let _ = r.clone().convert(to).map(|c| c.to_bytes());
                    }
                }
                Err(e) => {
                    assert!(
                        e.code == Code::DECODING_FAILURE || e.code == Code::INCOMPATIBLE_VERSION,
                        "{e:?}"
                    );
                    assert!(!e.msg.is_empty());
                }
            }
        }
    }
    let r = CniResult::parse(big.as_bytes(), Version::V1_0_0).unwrap();
    assert_eq!(r.to_latest().ips.len(), 20_000);
}

#[test]
fn keys_match_as_go_matches_them_and_unknown_keys_vanish() {
    let text = r#"{"CNIVERSION":"1.1.0","Interfaces":[{"Name":"eth0","MTU":9000,"PCIID":"0000:00:01.0","SocketPATH":"/s","extra":1}],
        "ips":[{"ADDRESS":"10.0.0.2/24","Version":"4"}],"dns":{"NameServers":["1.1.1.1"]},"x":{}}"#;
    let r = parse(text, Version::V0_1_0).unwrap();
    assert_eq!(r.version(), Version::V1_1_0);
    assert_eq!(
        r.to_json(),
        json!({
            "cniVersion": "1.1.0",
            "interfaces": [{"name":"eth0","mtu":9000,"socketPath":"/s","pciID":"0000:00:01.0"}],
            "ips": [{"address": "10.0.0.2/24"}],
            "dns": {"nameservers": ["1.1.1.1"]}
        })
    );
}

#[test]
fn a_1_0_0_result_keeps_1_1_fields_as_libcni_does() {
    let text = r#"{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","mtu":1400}],
        "routes":[{"dst":"0.0.0.0/0","table":7,"scope":0}]}"#;
    let r = parse(text, Version::V0_1_0).unwrap();
    let out = r.to_json();
    assert_eq!(out["interfaces"][0]["mtu"], 1400);
    assert_eq!(
        out["routes"][0],
        json!({"dst": "0.0.0.0/0", "table": 7, "scope": 0})
    );
    // Zero means unset for the omitempty integers, as in Go.
    let zero = r#"{"cniVersion":"1.1.0","interfaces":[{"name":"e","mtu":0}],"routes":[{"dst":"::/0","mtu":0,"priority":0}]}"#;
    let out = parse(zero, Version::V0_1_0).unwrap().to_json();
    assert_eq!(out["interfaces"][0], json!({"name": "e"}));
    assert_eq!(out["routes"][0], json!({"dst": "::/0"}));
}

#[test]
fn version_in_0_4_follows_the_address() {
    // libcni trusts the string; we trust the address (see IpConfig's documentation).
    let text = r#"{"cniVersion":"0.4.0","ips":[{"version":"6","address":"10.0.0.2/24"},{"address":"fd00::2/64"}]}"#;
    let r = parse(text, Version::V0_1_0).unwrap();
    let out = r.to_json();
    assert_eq!(out["ips"][0]["version"], "4");
    assert_eq!(out["ips"][1]["version"], "6");
    let legacy = r.into_legacy().unwrap();
    assert_eq!(legacy.ip4.unwrap().ip, net("10.0.0.2/24"));
    assert_eq!(legacy.ip6.unwrap().ip, net("fd00::2/64"));
}

#[test]
fn an_empty_gateway_is_no_gateway() {
    let text = r#"{"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.2/24","gateway":""}}"#;
    let r = parse(text, Version::V0_1_0).unwrap();
    assert_eq!(r.as_legacy().unwrap().ip4.as_ref().unwrap().gateway, None);
    assert_eq!(
        r.to_json(),
        json!({"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.2/24"},"dns":{}})
    );
}

#[test]
fn builders_make_what_a_plugin_prints() {
    // The from-1.0.0 fixture, built by hand: what a bridge-like plugin would assemble.
    let netns = "/var/run/netns/cni-1000";
    let mut r = V1Result::new();
    r.add_interface(V1Interface::new("cni-podman1").with_mac("7a:0b:31:c4:d5:e6"));
    r.add_interface(V1Interface::new("vethdeadbeef").with_mac("8e:01:02:03:04:05"));
    let eth0 = r.add_interface(
        V1Interface::new("eth0")
            .with_mac("3a:7c:10:20:30:40")
            .in_sandbox(netns),
    );
    assert_eq!(eth0, 2);
    r.add_ip(
        IpConfig::new(net("10.100.0.20/24"))
            .on_interface(eth0)
            .with_gateway(ip("10.100.0.1")),
    )
    .add_ip(
        IpConfig::new(net("2001:db8:100::20/64"))
            .on_interface(eth0)
            .with_gateway(ip("2001:db8:100::1")),
    )
    .add_ip(IpConfig::new(net("10.101.0.20/16")).on_interface(eth0));
    r.add_route_to(net("0.0.0.0/0"), Some(ip("10.100.0.1")))
        .add_route(V1Route::new(net("::/0")).via(ip("2001:db8:100::1")))
        .add_route(V1Route::new(net("10.200.0.0/16")).via(ip("10.101.0.1")))
        .add_route(Route::new(net("2001:db8:200::/48")).into());
    r.dns = Dns {
        nameservers: vec!["10.100.0.1".into()],
        domain: "one.test".into(),
        search: vec!["one.test".into(), "test".into()],
        options: vec!["ndots:3".into(), "rotate".into()],
    };
    let built = CniResult::from_latest(r, Version::V1_0_0).unwrap();
    let fixture = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/results/from-1.0.0/to-1.0.0.json"),
    )
    .unwrap();
    let mut bytes = built.to_bytes();
    bytes.push(b'\n');
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        String::from_utf8(fixture).unwrap()
    );
    assert!(built.as_v1().is_some() && built.as_v04().is_none() && built.as_legacy().is_none());
}

#[test]
fn legacy_results_build_and_print() {
    let mut cfg = LegacyIpConfig::new(net("10.3.0.2/16"));
    cfg.gateway = Some(ip("10.3.0.1"));
    cfg.routes.push(Route::new(net("0.0.0.0/0")));
    let r = CniResult::V0_1_0(twill_cni::result::LegacyResult {
        ip4: Some(cfg),
        ..Default::default()
    });
    assert_eq!(
        String::from_utf8(r.to_compact_bytes()).unwrap(),
        r#"{"cniVersion":"0.1.0","ip4":{"ip":"10.3.0.2/16","gateway":"10.3.0.1","routes":[{"dst":"0.0.0.0/0"}]},"dns":{}}"#
    );
    assert_eq!(r.family(), twill_cni::ResultFamily::Legacy);
}
