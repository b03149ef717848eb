//! Building the exact stdin a runtime sends to one plugin of a list.
//!
//! The plugin's object is passed on as written, key order included, with the runtime's keys
//! put in: `cniVersion` (selected for the list), `name` (the list's), `runtimeConfig` (only
//! the capabilities the plugin asked for and the runtime has, and only when there is at least
//! one), `prevResult`, and on GC the valid attachments under both their current and legacy keys.
//!
//! An injected key replaces every spelling of it that differs only in case, because the
//! receiver matches keys case-insensitively with the last one winning: a leftover `"Name"` after
//! the injected `"name"` would otherwise override it.
//!
//! `capabilities` stays in the stdin. The spec says a runtime must not send it, but libcni does,
//! and plugins written against libcni (which read their own `capabilities` to decide, for
//! example, whether port mappings are theirs to handle) would change behaviour without it.

use serde_json::{Map, Value};

use super::list::NetConfList;
use super::netconf::{GcAttachment, LEGACY_ATTACHMENTS_KEY, VALID_ATTACHMENTS_KEY};
use super::plugin::PluginConf;
use crate::json::key_matches;
use crate::Version;

/// What a runtime puts into each plugin's configuration for one operation.
#[derive(Debug, Clone, Copy)]
pub struct Injection<'a> {
    /// The version the list runs at.
    pub cni_version: Version,
    /// The list's name.
    pub name: &'a str,
    /// The runtime's capability arguments (`CAP_ARGS`), keyed by capability name.
    pub capability_args: Option<&'a Map<String, Value>>,
    /// The previous plugin's result (ADD), or the cached final result (CHECK, DEL), already in
    /// the list's version.
    pub prev_result: Option<&'a Value>,
    /// For GC: the attachments still in use.
    pub valid_attachments: Option<&'a [GcAttachment]>,
}

impl<'a> Injection<'a> {
    /// An injection of just the name and version.
    pub fn new(name: &'a str, cni_version: Version) -> Injection<'a> {
        Injection {
            cni_version,
            name,
            capability_args: None,
            prev_result: None,
            valid_attachments: None,
        }
    }

    /// With the runtime's capability arguments.
    pub fn with_capability_args(mut self, args: &'a Map<String, Value>) -> Injection<'a> {
        self.capability_args = Some(args);
        self
    }

    /// With a previous result.
    pub fn with_prev_result(mut self, result: &'a Value) -> Injection<'a> {
        self.prev_result = Some(result);
        self
    }

    /// With the attachments a GC must keep.
    pub fn with_valid_attachments(mut self, attachments: &'a [GcAttachment]) -> Injection<'a> {
        self.valid_attachments = Some(attachments);
        self
    }

    /// The `runtimeConfig` a plugin gets: its enabled capabilities (in name order, as Go
    /// writes map keys) that the runtime has arguments for. A `null` argument counts as absent.
    pub fn runtime_config(&self, plugin: &PluginConf) -> Map<String, Value> {
        let mut rc = Map::new();
        let Some(args) = self.capability_args else {
            return rc;
        };
        for (capability, _) in plugin.capabilities.iter().filter(|(_, on)| **on) {
            // Capability names are map keys, compared exactly, as Go's map lookup does.
            match args.get(capability) {
                None | Some(Value::Null) => {}
                Some(v) => {
                    rc.insert(capability.clone(), v.clone());
                }
            }
        }
        rc
    }

    /// The plugin's configuration with the runtime's keys put in.
    pub fn apply(&self, plugin: &PluginConf) -> Map<String, Value> {
        let mut map = plugin.raw.clone();
        put(&mut map, "cniVersion", self.cni_version.as_str().into());
        put(&mut map, "name", self.name.into());
        let rc = self.runtime_config(plugin);
        if !rc.is_empty() {
            put(&mut map, "runtimeConfig", Value::Object(rc));
        }
        if let Some(prev) = self.prev_result {
            put(&mut map, "prevResult", prev.clone());
        }
        if let Some(valid) = self.valid_attachments {
            let list = Value::Array(valid.iter().map(GcAttachment::to_json).collect());
            put(&mut map, VALID_ATTACHMENTS_KEY, list.clone());
            put(&mut map, LEGACY_ATTACHMENTS_KEY, list);
        }
        map
    }

    /// The bytes to write to the plugin's stdin.
    pub fn stdin(&self, plugin: &PluginConf) -> Vec<u8> {
        Value::Object(self.apply(plugin)).to_string().into_bytes()
    }
}

impl NetConfList {
    /// The injection for this list: its name and selected version, nothing else yet.
    pub fn injection(&self) -> Injection<'_> {
        Injection::new(&self.name, self.cni_version)
    }
}

/// Sets `field` to `value`, dropping every other spelling of it. A key already spelled exactly
/// so keeps its place, so the stdin reads like the file it came from.
fn put(map: &mut Map<String, Value>, field: &str, value: Value) {
    map.retain(|k, _| k == field || !key_matches(k, field));
    map.insert(field.to_owned(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plugin(v: Value) -> PluginConf {
        PluginConf::from_value(&v).unwrap()
    }

    #[test]
    fn name_and_version_replace_every_spelling_in_place() {
        let p = plugin(json!({"cniVersion": "0.3.1", "Name": "x", "type": "ptp", "NAME": "y"}));
        let out = Injection::new("net", Version::V1_0_0).apply(&p);
        let keys: Vec<&str> = out.keys().map(String::as_str).collect();
        assert_eq!(keys, ["cniVersion", "type", "name"]);
        assert_eq!(out.get("cniVersion"), Some(&json!("1.0.0")));
        assert_eq!(out.get("name"), Some(&json!("net")));
    }

    #[test]
    fn runtime_config_is_the_intersection_and_only_when_non_empty() {
        let args = json!({"portMappings": [{"hostPort": 80, "containerPort": 80}],
                          "bandwidth": {"ingressRate": 1}, "mac": null, "ips": ["10.0.0.2"]})
        .as_object()
        .cloned()
        .unwrap();
        let p = plugin(json!({"type": "portmap",
            "capabilities": {"portMappings": true, "ips": false, "mac": true, "aliases": true},
            "runtimeConfig": {"stale": 1}}));
        let inj = Injection::new("net", Version::V1_1_0).with_capability_args(&args);
        let out = inj.apply(&p);
        assert_eq!(
            out.get("runtimeConfig"),
            Some(&json!({"portMappings": [{"hostPort": 80, "containerPort": 80}]}))
        );
        assert_eq!(out.get("capabilities"), p.raw.get("capabilities"));
        // Nothing to deliver: the plugin's own runtimeConfig, if any, passes through.
        let q = plugin(json!({"type": "tuning", "runtimeConfig": {"stale": 1}}));
        assert_eq!(
            inj.apply(&q).get("runtimeConfig"),
            Some(&json!({"stale": 1}))
        );
        let r = plugin(json!({"type": "tuning"}));
        assert_eq!(inj.apply(&r).get("runtimeConfig"), None);
    }

    #[test]
    fn prev_result_and_gc_keys() {
        let prev = json!({"cniVersion": "1.1.0", "ips": [{"address": "10.0.0.2/24"}]});
        let valid = [GcAttachment::new("c1", "eth0")];
        let p = plugin(json!({"type": "ptp", "PrevResult": {"old": true}}));
        let out = Injection::new("n", Version::V1_1_0)
            .with_prev_result(&prev)
            .with_valid_attachments(&valid)
            .apply(&p);
        assert_eq!(out.get("PrevResult"), None);
        assert_eq!(out.get("prevResult"), Some(&prev));
        let expected = json!([{"containerID": "c1", "ifname": "eth0"}]);
        assert_eq!(out.get(VALID_ATTACHMENTS_KEY), Some(&expected));
        assert_eq!(out.get(LEGACY_ATTACHMENTS_KEY), Some(&expected));
    }

    #[test]
    fn stdin_is_the_json_of_apply() {
        let p = plugin(json!({"type": "loopback"}));
        let inj = Injection::new("lo", Version::V0_4_0);
        let bytes = inj.stdin(&p);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"type":"loopback","cniVersion":"0.4.0","name":"lo"}"#
        );
    }
}
