//! From a conflist on disk to the bytes each plugin reads, and back into the plugin's view.

// Helpers here are test code too: they may unwrap and panic.
#![cfg(test)]

use std::path::PathBuf;

use serde_json::{json, Map, Value};
use twill_cni::config::{
    GcAttachment, Injection, NetConf, NetConfList, Protocol, LEGACY_ATTACHMENTS_KEY,
    VALID_ATTACHMENTS_KEY,
};
use twill_cni::Version;

fn list(name: &str) -> NetConfList {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "config",
        name,
    ]
    .iter()
    .collect();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    NetConfList::from_bytes(&bytes).unwrap()
}

fn cap_args() -> Map<String, Value> {
    json!({
        "portMappings": [
            {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
            {"hostPort": 5353, "containerPort": 53, "protocol": "udp", "hostIP": "198.18.0.1"}
        ],
        "bandwidth": {"ingressRate": 10000000, "ingressBurst": 20000,
                      "egressRate": 5000000, "egressBurst": 10000},
        "ips": ["10.20.0.42"],
        "mac": "02:42:0a:14:00:2a",
        "io.example/zone": {"zone": "b"},
        "aliases": ["unused-by-any-plugin"]
    })
    .as_object()
    .cloned()
    .unwrap()
}

const INJECTED: [&str; 6] = [
    "cniVersion",
    "name",
    "runtimeConfig",
    "prevResult",
    VALID_ATTACHMENTS_KEY,
    LEGACY_ATTACHMENTS_KEY,
];

/// The object minus the keys a runtime injects, in order.
fn without_injected(m: &Map<String, Value>) -> Vec<(String, Value)> {
    m.iter()
        .filter(|(k, _)| !INJECTED.iter().any(|i| i.eq_ignore_ascii_case(k)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn podman_add_chain_stdin() {
    let l = list("podman.conflist");
    let args = cap_args();
    let prev = json!({"cniVersion": "0.4.0", "interfaces": [{"name": "cni-podman0"}],
                      "ips": [{"version": "4", "address": "10.88.0.5/16", "gateway": "10.88.0.1"}],
                      "dns": {}});
    let first = l.injection().with_capability_args(&args);
    let bridge_in: Value = serde_json::from_slice(&first.stdin(&l.plugins[0])).unwrap();
    assert_eq!(
        bridge_in,
        json!({
            "type": "bridge", "bridge": "cni-podman0", "isGateway": true, "ipMasq": true,
            "hairpinMode": true,
            "ipam": {"type": "host-local", "routes": [{"dst": "0.0.0.0/0"}],
                     "ranges": [[{"subnet": "10.88.0.0/16", "gateway": "10.88.0.1"}]]},
            "cniVersion": "0.4.0", "name": "podman"
        })
    );
    let next = first.with_prev_result(&prev);
    let portmap_in = next.apply(&l.plugins[1]);
    assert_eq!(
        Value::Object(portmap_in.clone()),
        json!({
            "type": "portmap", "capabilities": {"portMappings": true},
            "cniVersion": "0.4.0", "name": "podman",
            "runtimeConfig": {"portMappings": args["portMappings"]},
            "prevResult": prev
        })
    );
    // The plugin's view of what it was sent.
    let seen = NetConf::from_value(&Value::Object(portmap_in)).unwrap();
    assert_eq!(
        (seen.name.as_str(), seen.cni_version),
        ("podman", Version::V0_4_0)
    );
    let rc = seen.plugin.runtime_config.unwrap();
    assert_eq!(rc.port_mappings.len(), 2);
    assert_eq!(rc.port_mappings[1].protocol, Protocol::Udp);
    assert_eq!(rc.port_mappings[1].host_ip.as_deref(), Some("198.18.0.1"));
    assert_eq!(rc.raw.len(), 1, "only what portmap asked for");
    assert_eq!(seen.plugin.prev_result, Some(prev));
}

#[test]
fn every_plugin_gets_its_object_back_plus_injections() {
    let args = cap_args();
    let prev = json!({"cniVersion": "1.1.0", "ips": []});
    for name in ["podman.conflist", "flannel.conflist", "gc-era.conflist"] {
        let l = list(name);
        let inj = l
            .injection()
            .with_capability_args(&args)
            .with_prev_result(&prev);
        for (i, plugin) in l.plugins.iter().enumerate() {
            let stdin = inj.stdin(plugin);
            let seen = NetConf::from_bytes(&stdin).unwrap();
            assert_eq!(seen.name, l.name, "{name} plugin {i}");
            assert_eq!(seen.cni_version, l.cni_version, "{name} plugin {i}");
            assert_eq!(seen.plugin.prev_result.as_ref(), Some(&prev));
            assert_eq!(
                without_injected(seen.raw()),
                without_injected(&plugin.raw),
                "{name} plugin {i}: keys not injected pass through in order"
            );
            // What the plugin sees typed equals what the list saw, apart from injections.
            assert_eq!(seen.plugin.plugin_type, plugin.plugin_type);
            assert_eq!(seen.plugin.capabilities, plugin.capabilities);
            assert_eq!(seen.plugin.ipam, plugin.ipam);
            assert_eq!(seen.plugin.dns, plugin.dns);
        }
    }
}

#[test]
fn gc_era_capabilities_reach_only_the_plugins_that_asked() {
    let l = list("gc-era.conflist");
    let args = cap_args();
    let inj = l.injection().with_capability_args(&args);
    let rc = |i: usize| inj.apply(&l.plugins[i]).get("runtimeConfig").cloned();
    assert_eq!(
        rc(0),
        Some(json!({"ips": ["10.20.0.42"], "mac": "02:42:0a:14:00:2a"}))
    );
    assert_eq!(rc(1), Some(json!({"portMappings": args["portMappings"]})));
    assert_eq!(rc(2), Some(json!({"bandwidth": args["bandwidth"]})));
    // A capability this crate has never heard of is delivered all the same.
    assert_eq!(rc(3), Some(json!({"io.example/zone": {"zone": "b"}})));
    let seen = NetConf::from_value(&Value::Object(inj.apply(&l.plugins[2]))).unwrap();
    let bw = seen.plugin.runtime_config.unwrap().bandwidth.unwrap();
    assert_eq!(bw.egress_rate, Some(5_000_000));
    // Unknown keys survive the whole trip.
    let vendor = NetConf::from_bytes(&inj.stdin(&l.plugins[3])).unwrap();
    assert_eq!(
        vendor
            .obj()
            .object("x-vendor")
            .unwrap()
            .and_then(|m| m.get("weights")),
        Some(&json!([3, 1]))
    );
}

#[test]
fn gc_stdin_carries_both_attachment_keys() {
    let l = list("gc-era.conflist");
    let valid = [
        GcAttachment::new("c0ffee", "eth0"),
        GcAttachment::new("beef", "net1"),
    ];
    let inj = l.injection().with_valid_attachments(&valid);
    for plugin in &l.plugins {
        let sent = inj.apply(plugin);
        assert_eq!(sent.get("runtimeConfig"), None);
        assert_eq!(sent.get("prevResult"), None);
        assert_eq!(
            sent.get(VALID_ATTACHMENTS_KEY),
            sent.get(LEGACY_ATTACHMENTS_KEY)
        );
        let seen = NetConf::from_value(&Value::Object(sent)).unwrap();
        assert_eq!(seen.valid_attachments.as_deref(), Some(&valid[..]));
        assert_eq!(seen.cni_version, Version::V1_1_0);
    }
}

#[test]
fn runtime_with_fewer_versions_injects_its_choice() {
    let l = list("gc-era.conflist");
    let version = l
        .select_version(&[Version::V0_4_0, Version::V1_0_0])
        .unwrap();
    let inj = Injection::new(&l.name, version);
    let seen = NetConf::from_bytes(&inj.stdin(&l.plugins[0])).unwrap();
    assert_eq!(seen.cni_version, Version::V1_0_0);
}

#[test]
fn single_conf_injects_like_a_list() {
    let conf = NetConf::from_bytes(
        br#"{"cniVersion": "0.3.1", "name": "mynet", "type": "bridge", "Name": "shadow", "custom": {"a": [1]}}"#,
    )
    .unwrap();
    // The last spelling wins when reading, as in Go.
    assert_eq!(conf.name, "shadow");
    let l = NetConfList::from_conf(conf);
    assert_eq!(l.name, "shadow");
    let sent = l.injection().apply(&l.plugins[0]);
    let keys: Vec<&str> = sent.keys().map(String::as_str).collect();
    assert_eq!(keys, ["cniVersion", "name", "type", "custom"]);
    assert_eq!(sent.get("name"), Some(&json!("shadow")));
}

#[test]
fn a_plugin_objects_own_version_and_name_are_replaced() {
    let l = NetConfList::from_bytes(
        br#"{"cniVersion": "1.0.0", "name": "outer", "plugins": [
              {"type": "ptp", "cniVersion": "0.0.7-custom", "name": "inner", "cniversion": "x"}]}"#,
    )
    .unwrap();
    let sent = l.injection().apply(&l.plugins[0]);
    let keys: Vec<&str> = sent.keys().map(String::as_str).collect();
    assert_eq!(keys, ["type", "cniVersion", "name"]);
    let seen = NetConf::from_value(&Value::Object(sent)).unwrap();
    assert_eq!(
        (seen.name.as_str(), seen.cni_version),
        ("outer", Version::V1_0_0)
    );
}
