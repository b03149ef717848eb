//! Configurations as runtimes and installers write them, read into typed views.

// Helpers here are test code too: they may unwrap and panic.
#![cfg(test)]

use std::path::PathBuf;

use serde_json::json;
use twill_cni::config::{NetConf, NetConfList, PluginConf};
use twill_cni::Version;

fn fixture(name: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "config",
        name,
    ]
    .iter()
    .collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn types(list: &NetConfList) -> Vec<&str> {
    list.plugins
        .iter()
        .map(|p| p.plugin_type.as_str())
        .collect()
}

#[test]
fn podman_bridge_network() {
    let list = NetConfList::from_bytes(&fixture("podman.conflist")).unwrap();
    assert_eq!(list.name, "podman");
    assert_eq!(list.cni_version, Version::V0_4_0);
    assert_eq!(list.declared_version, "0.4.0");
    assert_eq!(list.cni_versions, None);
    assert!(!list.disable_check && !list.disable_gc && !list.load_only_inlined_plugins);
    assert_eq!(types(&list), ["bridge", "portmap", "firewall", "tuning"]);

    let bridge = &list.plugins[0];
    assert_eq!(bridge.ip_masq, Some(true));
    assert_eq!(bridge.obj().bool("isGateway"), Ok(Some(true)));
    assert_eq!(bridge.obj().str("bridge"), Ok(Some("cni-podman0")));
    let ipam = bridge.ipam.as_ref().unwrap();
    assert_eq!(ipam.ipam_type, "host-local");
    assert_eq!(
        ipam.raw.get("ranges"),
        Some(&json!([[{"subnet": "10.88.0.0/16", "gateway": "10.88.0.1"}]]))
    );
    assert!(bridge.capabilities.is_empty());

    let portmap = &list.plugins[1];
    assert!(portmap.has_capability("portMappings"));
    assert_eq!(portmap.ipam, None);
    assert_eq!(list.plugins[2].obj().str("backend"), Ok(Some("")));
    // A key podman adds that the spec does not know stays in the document.
    assert_eq!(list.obj().object("args").unwrap().map(|m| m.len()), Some(1));
}

#[test]
fn kubernetes_flannel_network() {
    let list = NetConfList::from_bytes(&fixture("flannel.conflist")).unwrap();
    assert_eq!(
        (list.name.as_str(), list.cni_version),
        ("cbr0", Version::V0_3_1)
    );
    assert_eq!(types(&list), ["flannel", "portmap"]);
    // flannel's delegate is flannel's business: kept whole, untyped.
    assert_eq!(
        list.plugins[0].raw.get("delegate"),
        Some(&json!({"hairpinMode": true, "isDefaultGateway": true}))
    );
}

#[test]
fn gc_era_network_with_cni_versions() {
    let list = NetConfList::from_bytes(&fixture("gc-era.conflist")).unwrap();
    // 1.3.0 and "next" are beyond this crate; the highest known offer wins over cniVersion.
    assert_eq!(list.cni_version, Version::V1_1_0);
    assert_eq!(list.declared_version, "1.0.0");
    assert_eq!(list.cni_versions.as_deref().map(<[String]>::len), Some(5));
    assert_eq!(
        list.select_version(&[Version::V0_4_0, Version::V1_0_0]),
        Ok(Version::V1_0_0)
    );
    assert!(list.disable_gc, "\"true\" as a string disables GC");
    assert!(!list.disable_check);
    assert!(list.load_only_inlined_plugins);
    assert_eq!(
        types(&list),
        ["bridge", "portmap", "bandwidth", "site-policy"]
    );

    let bridge = &list.plugins[0];
    let dns = bridge.dns.as_ref().unwrap();
    assert_eq!(dns.nameservers, ["10.20.0.1"]);
    assert_eq!(dns.domain.as_deref(), Some("edge.example"));
    assert_eq!((dns.search.len(), dns.options.len()), (1, 1));
    assert!(bridge.has_capability("ips") && bridge.has_capability("mac"));
    assert_eq!(bridge.obj().u32("mtu"), Ok(Some(1450)));
    assert_eq!(list.plugins[1].obj().str("backend"), Ok(Some("nftables")));
    assert_eq!(
        list.plugins[3].raw.get("x-vendor"),
        Some(&json!({"tier": "gold", "weights": [3, 1]}))
    );
    assert!(list.plugins[3].has_capability("io.example/zone"));
}

#[test]
fn single_plugin_file_becomes_a_one_plugin_list() {
    let bytes = fixture("bridge.conf");
    let conf = NetConf::from_bytes(&bytes).unwrap();
    assert_eq!(
        (conf.name.as_str(), conf.cni_version),
        ("mynet", Version::V0_3_1)
    );
    assert_eq!(conf.plugin.plugin_type, "bridge");
    let list = NetConfList::from_conf_bytes(&bytes).unwrap();
    assert_eq!(
        (list.name.as_str(), list.cni_version),
        ("mynet", Version::V0_3_1)
    );
    assert_eq!(list.plugins.len(), 1);
    // The plugin object is the file, whole.
    let file: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(Some(&list.plugins[0].raw), file.as_object());
}

#[test]
fn plugin_files_of_a_network_directory() {
    let p =
        PluginConf::from_bytes(br#"{"type": "tuning", "sysctl": {"net.core.somaxconn": "500"}}"#)
            .unwrap();
    assert_eq!(p.plugin_type, "tuning");
    assert_eq!(
        p.obj()
            .object("sysctl")
            .unwrap()
            .and_then(|m| m.get("net.core.somaxconn")),
        Some(&json!("500"))
    );
    // A list without `plugins` expects them from the directory; the loader appends them.
    let mut list = NetConfList::from_bytes(br#"{"cniVersion": "1.1.0", "name": "split"}"#).unwrap();
    assert!(list.plugins.is_empty());
    list.plugins.push(p);
    assert_eq!(types(&list), ["tuning"]);
}

#[test]
fn every_fixture_round_trips_through_its_raw_document() {
    for name in ["podman.conflist", "flannel.conflist", "gc-era.conflist"] {
        let bytes = fixture(name);
        let list = NetConfList::from_bytes(&bytes).unwrap();
        let original: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(Some(&list.raw), original.as_object(), "{name}");
        // Document order is kept, not just content.
        let keys: Vec<&String> = list.raw.keys().collect();
        let original_keys: Vec<&String> = original.as_object().unwrap().keys().collect();
        assert_eq!(keys, original_keys, "{name}");
        let again = NetConfList::from_value(&serde_json::Value::Object(list.raw.clone())).unwrap();
        assert_eq!(again, list, "{name}");
    }
}
