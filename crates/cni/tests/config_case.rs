//! Keys in any case, as Go's decoder accepts them, and which spelling wins.

// Helpers here are test code too: they may unwrap and panic.
#![cfg(test)]

use std::path::PathBuf;

use serde_json::json;
use twill_cni::config::{NetConf, NetConfList, Protocol};
use twill_cni::Version;

#[test]
fn go_style_spellings_all_work() {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "config",
        "case-variants.conflist",
    ]
    .iter()
    .collect();
    let l = NetConfList::from_bytes(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!((l.name.as_str(), l.cni_version), ("mixed", Version::V1_0_0));
    let p = &l.plugins[0];
    assert_eq!(p.plugin_type, "bridge");
    assert_eq!(
        p.ipam.as_ref().map(|i| i.ipam_type.as_str()),
        Some("host-local")
    );
    assert_eq!(p.ip_masq, Some(true));
    assert!(p.has_capability("portMappings"));
    let rc = p.runtime_config.as_ref().unwrap();
    assert_eq!(rc.port_mappings[0].host_port, 8080);
    assert_eq!(rc.port_mappings[0].protocol, Protocol::Tcp);
}

#[test]
fn stdin_spellings() {
    let c = NetConf::from_value(&json!({
        "CNIVERSION": "1.1.0", "NAME": "n", "TYPE": "ptp",
        "Dns": {"NameServers": ["10.0.0.53"]},
        "Args": {"CNI": {"IPS": ["10.0.0.7"]}},
        "RUNTIMECONFIG": {"Bandwidth": {"IngressRate": 8}},
        "ipmasq": false
    }))
    .unwrap();
    assert_eq!((c.cni_version, c.name.as_str()), (Version::V1_1_0, "n"));
    assert_eq!(c.plugin.dns.unwrap().nameservers, ["10.0.0.53"]);
    assert_eq!(c.plugin.args.unwrap().cni.unwrap().ips, ["10.0.0.7"]);
    let bw = c.plugin.runtime_config.unwrap().bandwidth.unwrap();
    assert_eq!(bw.ingress_rate, Some(8));
    assert_eq!(c.plugin.ip_masq, Some(false));
}

#[test]
fn the_last_spelling_in_the_document_wins() {
    let c = NetConf::from_bytes(
        br#"{"cniVersion": "0.4.0", "name": "first", "type": "ptp", "Name": "second", "CNIVersion": "1.0.0"}"#,
    )
    .unwrap();
    assert_eq!(
        (c.name.as_str(), c.cni_version),
        ("second", Version::V1_0_0)
    );
    // A later null spelling makes the field absent. Go does the same for pointer, slice and map
    // fields; for a plain bool or string field it keeps the earlier value. No real
    // configuration spells a key twice with a null, so one rule for every field wins.
    let c = NetConf::from_bytes(br#"{"name": "n", "type": "ptp", "ipMasq": true, "IPMASQ": null}"#)
        .unwrap();
    assert_eq!(c.plugin.ip_masq, None);
    // Exact duplicates: the later one.
    let l = NetConfList::from_bytes(br#"{"name": "a", "name": "b", "plugins": [{"type": "x"}]}"#)
        .unwrap();
    assert_eq!(l.name, "b");
}

#[test]
fn capability_names_are_exact() {
    let c = NetConf::from_value(&json!({
        "name": "n", "type": "portmap", "capabilities": {"PortMappings": true}
    }))
    .unwrap();
    assert!(!c.plugin.has_capability("portMappings"));
    assert!(c.plugin.has_capability("PortMappings"));
}
