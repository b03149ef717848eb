//! Loading configuration directories.

use std::fs;

use serde_json::Value;

use crate::testing::TempDir;
use crate::{ConfDir, RuntimeError};

fn write(dir: &TempDir, name: &str, body: &str) {
    let path = dir.0.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, body).unwrap();
}

fn types(net: &crate::NetworkList) -> Vec<&str> {
    net.plugins()
        .iter()
        .map(|p| p.plugin_type.as_str())
        .collect()
}

#[test]
fn lists_come_first_then_single_files_each_sorted_and_first_name_wins() {
    let d = TempDir::new("confdir");
    write(
        &d,
        "20-b.conflist",
        r#"{"cniVersion":"1.0.0","name":"dup","plugins":[{"type":"late"}]}"#,
    );
    write(
        &d,
        "10-a.conflist",
        r#"{"cniVersion":"1.0.0","name":"dup","plugins":[{"type":"early"}]}"#,
    );
    write(
        &d,
        "00-single.conf",
        r#"{"cniVersion":"0.4.0","name":"single","type":"bridge"}"#,
    );
    write(
        &d,
        "05-dup.json",
        r#"{"cniVersion":"0.4.0","name":"dup","type":"never"}"#,
    );
    write(&d, "README.md", "not a config");
    write(&d, "sub.conflist/x.conflist", r#"{"name":"nested"}"#);
    let loaded = ConfDir::new(&d.0).load_all().unwrap();
    let names: Vec<_> = loaded.networks.iter().map(|n| n.name()).collect();
    assert_eq!(names, ["dup", "single"]);
    assert_eq!(types(&loaded.networks[0]), ["early"]);
    assert_eq!(loaded.errors.len(), 2, "{:?}", loaded.errors);
    assert!(loaded
        .errors
        .iter()
        .all(|e| matches!(e, RuntimeError::DuplicateName { .. })));

    let dir = ConfDir::new(&d.0);
    let single = dir.find("single").unwrap().network;
    assert_eq!(types(&single), ["bridge"]);
    assert_eq!(single.version(), twill_cni::Version::V0_4_0);
    // The cache records the wrapped list, which parses as a list.
    let cached: Value = serde_json::from_slice(&single.bytes).unwrap();
    assert_eq!(cached["plugins"][0]["type"], "bridge");
    assert!(matches!(
        dir.find("nested"),
        Err(RuntimeError::NotFound { .. })
    ));
}

#[test]
fn a_broken_file_is_reported_and_does_not_hide_the_others() {
    let d = TempDir::new("broken");
    write(&d, "00-broken.conflist", r#"{"cniVersion":"1.0.0","name":"#);
    write(
        &d,
        "10-good.conflist",
        r#"{"cniVersion":"1.0.0","name":"good","plugins":[{"type":"x"}]}"#,
    );
    let dir = ConfDir::new(&d.0);
    let found = dir.find("good").unwrap();
    assert_eq!(found.network.name(), "good");
    assert_eq!(found.errors.len(), 1);
    assert!(found.errors[0].to_string().contains("00-broken.conflist"));
    let loaded = dir.load_all().unwrap();
    assert_eq!((loaded.networks.len(), loaded.errors.len()), (1, 1));
    // Not found, with the broken file named, since it may be the one meant.
    let err = dir.find("other").unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("no net configuration with name \"other\""),
        "{text}"
    );
    assert!(text.contains("00-broken.conflist"), "{text}");
}

#[test]
fn plugins_from_the_network_directory_are_appended_unless_inlined_only() {
    let d = TempDir::new("plugindir");
    write(
        &d,
        "a.conflist",
        r#"{"cniVersion":"1.1.0","name":"a","plugins":[{"type":"bridge"}]}"#,
    );
    write(&d, "a/20-tuning.conf", r#"{"type":"tuning"}"#);
    write(
        &d,
        "a/10-portmap.conf",
        r#"{"type":"portmap","capabilities":{"portMappings":true}}"#,
    );
    write(&d, "a/ignored.json", r#"{"type":"nope"}"#);
    write(&d, "b.conflist", r#"{"cniVersion":"1.1.0","name":"b"}"#);
    write(&d, "b/x.conf", r#"{"type":"only"}"#);
    write(
        &d,
        "c.conflist",
        r#"{"cniVersion":"1.1.0","name":"c","loadOnlyInlinedPlugins":true,"plugins":[{"type":"bridge"}]}"#,
    );
    write(&d, "c/x.conf", r#"{"type":"never"}"#);
    write(&d, "d.conflist", r#"{"cniVersion":"1.1.0","name":"d"}"#);
    write(
        &d,
        "e.conflist",
        r#"{"cniVersion":"1.1.0","name":"e","plugins":[{"type":"x"}]}"#,
    );
    write(&d, "e/bad.conf", r#"{"type":"../sh"}"#);
    let dir = ConfDir::new(&d.0);
    let a = dir.find("a").unwrap().network;
    assert_eq!(types(&a), ["bridge", "portmap", "tuning"]);
    let cached: Value = serde_json::from_slice(&a.bytes).unwrap();
    assert_eq!(cached["plugins"].as_array().unwrap().len(), 3);
    assert_eq!(types(&dir.find("b").unwrap().network), ["only"]);
    assert_eq!(types(&dir.find("c").unwrap().network), ["bridge"]);
    let err = dir.find("d").unwrap_err();
    assert!(
        err.to_string().contains("network \"d\" has no plugins"),
        "{err}"
    );
    let err = dir.find("e").unwrap_err();
    assert!(err.to_string().contains("bad.conf"), "{err}");
}

#[test]
fn empty_or_missing_directories() {
    let d = TempDir::new("empty");
    let err = ConfDir::new(&d.0).find("x").unwrap_err();
    assert!(matches!(err, RuntimeError::NoConfigsFound { .. }), "{err}");
    let missing = ConfDir::new(d.0.join("nope"));
    assert!(missing.load_all().unwrap().networks.is_empty());
    assert_eq!(err.code(), twill_cni::Code::INVALID_NETWORK_CONFIG);
}
