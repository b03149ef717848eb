//! Bad input to the firewall: the right code, the field named, and nothing left behind (no
//! table, no record); DEL never fails on keys ADD refuses.

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
use serde_json::{json, Value};
use support::Sandbox;

#[test]
fn refusals_name_the_field_and_leave_nothing() {
    let mut sb = Sandbox::new();
    let n = net(&sb, "fwnet", "fw-a", 1);
    let (a, ra) = pod(&mut sb, &n, "a");
    let sandboxed_only = json!({
        "cniVersion": "1.0.0",
        "interfaces": [{"name": "eth0", "sandbox": a.path_str()}],
        "ips": [{"address": "10.10.1.9/24", "interface": 0}],
    });
    let mut bad_bridge = ra.clone();
    bad_bridge["interfaces"][0]["name"] = json!("../etc");
    let cases: Vec<(Value, u64, &str)> = vec![
        (json!({"backend": "firewalld"}), 2, "backend"),
        (json!({"backend": "pf"}), 7, "backend"),
        (json!({"backend": 5}), 6, "backend"),
        (json!({"firewalldZone": ["trusted"]}), 6, "firewalldZone"),
        (json!({"ingressPolicy": "closed"}), 7, "ingressPolicy"),
        (json!({"ingressPolicy": true}), 6, "ingressPolicy"),
        (
            json!({"iptablesAdminChainName": "has space"}),
            7,
            "iptablesAdminChainName",
        ),
        (
            json!({"iptablesAdminChainName": "forward"}),
            7,
            "iptablesAdminChainName",
        ),
        (
            json!({"iptablesAdminChainName": "x".repeat(65)}),
            7,
            "iptablesAdminChainName",
        ),
        (json!({"prevResult": null}), 7, "prevResult"),
        (json!({"prevResult": {"ips": 3}}), 6, "prevResult.ips"),
        (
            json!({"cniVersion": "0.3.1"}),
            1,
            "incompatible CNI versions",
        ),
        (
            json!({"ingressPolicy": "same-bridge", "prevResult": sandboxed_only}),
            7,
            "prevResult.interfaces",
        ),
        (
            json!({"ingressPolicy": "isolated", "prevResult": bad_bridge}),
            7,
            "prevResult.interfaces[0].name",
        ),
    ];
    for (extra, code, field) in cases {
        let c = fw_conf(&sb, "fwnet", &ra, extra.clone());
        let (got, msg) = fw(&sb, "ADD", "a", &a.path, &c).err();
        assert_eq!(got, code, "{extra}: {msg}");
        assert!(
            msg.contains(field),
            "{extra}: {msg:?} does not name {field}"
        );
    }
    let rs = ruleset(&sb.host.path).to_string();
    assert!(
        !rs.contains("twill_firewall"),
        "nothing was installed: {rs}"
    );
    assert!(
        !data_dir(&sb).join("fwnet").exists(),
        "no record was written"
    );

    // DEL reads only dataDir: keys an ADD refuses do not make it fail.
    let c = fw_conf(
        &sb,
        "fwnet",
        &ra,
        json!({"backend": "firewalld", "ingressPolicy": 1}),
    );
    fw(&sb, "DEL", "a", &a.path, &c).ok();
    // GC and STATUS exist from 1.1.0 on; earlier they are refused with code 1.
    let mut gc = fw_conf(&sb, "fwnet", &ra, json!({}));
    gc["cni.dev/valid-attachments"] = json!([]);
    let mut req = support::run::Request::new("GC", "", &sb.tmp);
    req.netns = None;
    let (code, _) = sb.exec(support::Impl::Twill, "firewall", &req, &gc).err();
    assert_eq!(code, 1);
    gc["cniVersion"] = json!("1.1.0");
    sb.exec(support::Impl::Twill, "firewall", &req, &gc).ok();
    let status = support::run::Request {
        command: "STATUS",
        ..req
    };
    sb.exec(support::Impl::Twill, "firewall", &status, &gc).ok();
}
