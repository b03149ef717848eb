//! Configuration parsing: any bytes as a plugin's stdin and as a conflist; whatever parses must
//! survive injection and be read back by a plugin, and version selection must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twill_cni::config::{GcAttachment, Injection, NetConf, NetConfList, PluginConf};
use twill_cni::Version;

fuzz_target!(|data: &[u8]| {
    let _ = NetConf::from_bytes(data);
    let Ok(list) = NetConfList::from_bytes(data) else {
        let _ = NetConfList::from_conf_bytes(data);
        return;
    };
    let _ = list.select_version(&Version::ALL[..4]);
    let caps = serde_json::json!({"portMappings": [{"hostPort": 80, "containerPort": 8080}]});
    let prev = serde_json::json!({"cniVersion": "1.0.0"});
    let valid = [GcAttachment::new("c", "eth0")];
    let injection = Injection::new(&list.name, list.cni_version)
        .with_prev_result(&prev)
        .with_valid_attachments(&valid);
    let injection = match caps.as_object() {
        Some(map) => injection.with_capability_args(map),
        None => injection,
    };
    for plugin in &list.plugins {
        let stdin = injection.stdin(plugin);
        // What a runtime built from a valid list reads back the way the runtime read the
        // entry (an untyped `ipam` fragment is the plugin's business, as for flannel)...
        let value: serde_json::Value = match serde_json::from_slice(&stdin) {
            Ok(v) => v,
            Err(e) => panic!("injected stdin is not JSON: {e}"),
        };
        if let Err(e) = NetConf::from_file_value(&value) {
            panic!("injected stdin does not parse: {e}");
        }
        // ...and a plugin whose own entry is valid to it reads its stdin.
        let entry = serde_json::Value::Object(plugin.raw.clone());
        if PluginConf::from_value(&entry).is_ok() {
            if let Err(e) = NetConf::from_bytes(&stdin) {
                panic!("injected stdin of a valid entry does not parse: {e}");
            }
        }
    }
});
