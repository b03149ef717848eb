//! Our host-local and static against the reference binaries (/usr/lib/cni) with the same
//! configurations: identical results for every spec version, IPv4, IPv6 and dual stack.

// Helpers of this test file: a panic in one is a test failure with its reason.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

#[path = "ipam_support/mod.rs"]
mod support;

use serde_json::{json, Value};
use support::{add, check, del, env, host_local, ours, reference, reservations, TempDir};

const VERSIONS: [&str; 7] = [
    "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
];

/// The reference speaks up to 1.0.0; 1.1.0 results have the same shape, so for 1.1.0 the
/// reference runs at 1.0.0 and its label is compared as 1.1.0.
fn reference_version(v: &str) -> &str {
    if v == "1.1.0" {
        "1.0.0"
    } else {
        v
    }
}

fn with_version(conf: &Value, v: &str) -> Value {
    let mut c = conf.clone();
    c["cniVersion"] = json!(v);
    c
}

/// Runs ADD with ours and the reference on separate data directories; returns both results,
/// the reference's relabelled to `version`.
fn both(conf: &Value, version: &str, cni_args: &str, tmp: &TempDir) -> (Value, Value) {
    let mut c_ours = with_version(conf, version);
    let mut c_ref = with_version(conf, reference_version(version));
    if c_ours["ipam"]["dataDir"].is_string() {
        c_ours["ipam"]["dataDir"] = json!(tmp.path().join("ours"));
        c_ref["ipam"]["dataDir"] = json!(tmp.path().join("ref"));
    }
    let e_ours = env("ctr", "eth0", &ours()).with_args(cni_args);
    let e_ref = env("ctr", "eth0", &reference()).with_args(cni_args);
    let plugin = c_ours["ipam"]["type"].as_str().unwrap().to_owned();
    let a = add(&ours(), &plugin, &c_ours, &e_ours)
        .unwrap_or_else(|e| panic!("ours {version}: {e} for {c_ours}"));
    let mut b = add(&reference(), &plugin, &c_ref, &e_ref)
        .unwrap_or_else(|e| panic!("reference {version}: {e}"));
    b["cniVersion"] = json!(version);
    (a, b)
}

#[test]
fn host_local_results_match_in_every_version_and_family() {
    let tmp = TempDir::new("diff");
    let resolv = tmp.path().join("resolv.conf");
    std::fs::write(&resolv, "# test\nnameserver 10.0.0.53\nnameserver fd00::53\ndomain d.test\nsearch a.test b.test\noptions ndots:2\n").unwrap();
    let configs = [
        (
            "v4",
            json!({"ranges": [[{"subnet": "10.10.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}),
        ),
        (
            "v6",
            json!({"ranges": [[{"subnet": "fd00:10::/64"}]], "routes": [{"dst": "::/0", "gw": "fd00:10::fe"}]}),
        ),
        (
            "dual",
            json!({"ranges": [[{"subnet": "10.11.0.0/16", "rangeStart": "10.11.3.10", "rangeEnd": "10.11.3.20", "gateway": "10.11.0.254"}], [{"subnet": "fd00:11::/120"}]],
                        "routes": [{"dst": "0.0.0.0/0"}, {"dst": "10.200.0.0/16", "gw": "10.11.0.1"}], "resolvConf": resolv}),
        ),
        (
            "legacy",
            json!({"subnet": "10.12.0.0/28", "rangeStart": "10.12.0.5", "gateway": "10.12.0.14"}),
        ),
    ];
    for (name, ipam) in configs {
        for version in VERSIONS {
            let run = TempDir::new("diff-run");
            let conf = host_local(version, &run.path().join("x"), ipam.clone());
            let (a, b) = both(&conf, version, "", &run);
            assert_eq!(a, b, "{name} {version}");
            // Both wrote the same reservation on disk.
            let (ro, rr) = (
                reservations(&run.path().join("ours/net")),
                reservations(&run.path().join("ref/net")),
            );
            assert_eq!(ro, rr, "{name} {version}");
            assert!(!ro.is_empty());
        }
    }
    drop(tmp);
}

#[test]
fn requested_addresses_and_runtime_ranges_match() {
    let cases = [
        (
            json!({"ranges": [[{"subnet": "10.13.0.0/24"}]]}),
            json!({}),
            "IP=10.13.0.77",
        ),
        (
            json!({"ranges": [[{"subnet": "10.13.0.0/24"}], [{"subnet": "fd00:13::/64"}]]}),
            json!({"args": {"cni": {"ips": ["10.13.0.9", "fd00:13::99"]}}}),
            "",
        ),
        (
            json!({"ranges": [[{"subnet": "10.13.0.0/24"}]]}),
            json!({"runtimeConfig": {"ips": ["10.13.0.66"]}}),
            "",
        ),
        (
            json!({"ranges": [[{"subnet": "10.13.0.0/24"}]]}),
            json!({"runtimeConfig": {"ipRanges": [[{"subnet": "10.14.0.0/24", "rangeStart": "10.14.0.40"}]]}}),
            "",
        ),
    ];
    for (ipam, extra, cni_args) in cases {
        for version in ["0.3.1", "0.4.0", "1.0.0"] {
            let run = TempDir::new("diff-req");
            let mut conf = host_local(version, &run.path().join("x"), ipam.clone());
            for (k, v) in extra.as_object().unwrap() {
                conf[k] = v.clone();
            }
            let (a, b) = both(&conf, version, cni_args, &run);
            assert_eq!(a, b, "{conf} {cni_args}");
        }
    }
}

#[test]
fn check_and_del_agree_with_the_reference() {
    for version in ["0.4.0", "1.0.0"] {
        let tmp = TempDir::new("diff-check");
        for (dir, sub) in [(ours(), "ours"), (reference(), "ref")] {
            let mut conf = host_local(
                version,
                &tmp.path().join(sub),
                json!({"subnet": "10.15.0.0/24"}),
            );
            let e = env("ctr", "eth0", &dir);
            let r = add(&dir, "host-local", &conf, &e).unwrap();
            conf["prevResult"] = r;
            check(&dir, "host-local", &conf, &e).unwrap_or_else(|e| panic!("{sub}: {e}"));
            del(&dir, "host-local", &conf, &e).unwrap();
            assert!(
                check(&dir, "host-local", &conf, &e).is_err(),
                "{sub}: CHECK after DEL"
            );
            del(&dir, "host-local", &conf, &e).unwrap_or_else(|e| panic!("{sub}: second DEL: {e}"));
            assert!(reservations(&tmp.path().join(sub).join("net")).is_empty());
        }
    }
}

#[test]
fn static_results_match_in_every_version() {
    let ipam = json!({"type": "static",
        "addresses": [{"address": "10.16.0.5/24", "gateway": "10.16.0.1"}, {"address": "fd00:16::5/64"}],
        "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0", "gw": "fd00:16::1"}],
        "dns": {"nameservers": ["10.16.0.53"], "domain": "s.test", "search": ["s.test"], "options": ["rotate"]}});
    let tmp = TempDir::new("diff-static");
    for version in VERSIONS {
        let conf = json!({"cniVersion": version, "name": "net", "type": "bridge", "ipam": ipam});
        let (a, b) = both(&conf, version, "", &tmp);
        assert_eq!(a, b, "{version}");
    }
    let overrides = [
        (json!({}), "IP=10.17.0.6/24,10.18.0.6/16;GATEWAY=10.17.0.1"),
        (
            json!({"args": {"cni": {"ips": ["10.19.0.7/24"]}}}),
            "IP=10.17.0.6/24",
        ),
        (
            json!({"runtimeConfig": {"ips": ["10.20.0.8/24", "fd00:20::8/64"]}, "args": {"cni": {"ips": ["10.19.0.7/24"]}}}),
            "IP=10.17.0.6/24",
        ),
    ];
    for (extra, cni_args) in overrides {
        let mut conf =
            json!({"cniVersion": "1.0.0", "name": "net", "type": "bridge", "ipam": ipam});
        for (k, v) in extra.as_object().unwrap() {
            conf[k] = v.clone();
        }
        let (a, b) = both(&conf, "1.0.0", &format!("IgnoreUnknown=1;{cni_args}"), &tmp);
        assert_eq!(a, b, "{extra} {cni_args}");
    }
}
