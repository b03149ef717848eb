//! What a plugin receives on stdin: one plugin object with the network's `name` and the
//! `cniVersion` the runtime selected.
//!
//! The same shape is the legacy single-plugin configuration file (`*.conf`), which is why
//! [`NetConf`] also feeds [`super::NetConfList::from_conf`].

use serde_json::{Map, Value};

use super::error::{list_versions, ConfigError};
use super::plugin::PluginConf;
use super::validate::{each, network_name};
use crate::json::{self, FieldError, Obj};
use crate::Version;

/// The key GC requests carry the still-valid attachments under.
pub const VALID_ATTACHMENTS_KEY: &str = "cni.dev/valid-attachments";

/// The name the first 1.1.0 runtimes used for [`VALID_ATTACHMENTS_KEY`]; still sent next to it
/// and still read when the new key is absent.
pub const LEGACY_ATTACHMENTS_KEY: &str = "cni.dev/attachments";

/// An attachment a GC request says is still in use: everything else may be released.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GcAttachment {
    /// `containerID`.
    pub container_id: String,
    /// `ifname`.
    pub ifname: String,
}

impl GcAttachment {
    /// An attachment.
    pub fn new(container_id: impl Into<String>, ifname: impl Into<String>) -> GcAttachment {
        GcAttachment {
            container_id: container_id.into(),
            ifname: ifname.into(),
        }
    }

    /// The wire form, `{"containerID": …, "ifname": …}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("containerID".into(), self.container_id.clone().into());
        m.insert("ifname".into(), self.ifname.clone().into());
        Value::Object(m)
    }

    fn parse(o: &Obj<'_>) -> Result<GcAttachment, FieldError> {
        // Both are plain strings to Go: absent reads as empty rather than as an error.
        Ok(GcAttachment {
            container_id: o.str("containerID")?.unwrap_or_default().to_owned(),
            ifname: o.str("ifname")?.unwrap_or_default().to_owned(),
        })
    }
}

/// A plugin's configuration as it arrives on stdin, typed, with the whole object kept in
/// `plugin.raw`.
#[derive(Debug, Clone, PartialEq)]
pub struct NetConf {
    /// `cniVersion`; an empty or absent one is 0.1.0.
    pub cni_version: Version,
    /// `name`: the network's name, valid as a file name.
    pub name: String,
    /// `cni.dev/valid-attachments` (or the legacy `cni.dev/attachments`), present on GC.
    pub valid_attachments: Option<Vec<GcAttachment>>,
    /// Everything else: `type`, `capabilities`, `ipam`, `dns`, `runtimeConfig`, `args`,
    /// `prevResult`, `ipMasq`, and the raw object.
    pub plugin: PluginConf,
}

impl NetConf {
    /// Parses stdin (or a single-plugin file). Not JSON or a wrong type is code 6, a missing or
    /// invalid field code 7, an unknown `cniVersion` code 1; the message names the field.
    pub fn from_bytes(bytes: &[u8]) -> Result<NetConf, ConfigError> {
        let value = json::parse(bytes, "configuration")?;
        NetConf::from_value(&value)
    }

    /// Reads an already parsed configuration.
    pub fn from_value(value: &Value) -> Result<NetConf, ConfigError> {
        NetConf::from_value_with(value, PluginConf::parse)
    }

    /// Reads a `*.conf` file as the runtime does: its plugin as a list entry
    /// ([`PluginConf::parse_entry`]), so an untyped `ipam` fragment is left to the plugin.
    pub fn from_file_value(value: &Value) -> Result<NetConf, ConfigError> {
        NetConf::from_value_with(value, PluginConf::parse_entry)
    }

    fn from_value_with(
        value: &Value,
        parse: fn(&Obj<'_>) -> Result<PluginConf, crate::json::FieldError>,
    ) -> Result<NetConf, ConfigError> {
        let o = Obj::root(value)?;
        let cni_version = config_version(&o)?;
        let name = o.required_str("name")?;
        network_name(name, &o.field_path("name"))?;
        let plugin = parse(&o)?;
        Ok(NetConf {
            cni_version,
            name: name.to_owned(),
            valid_attachments: attachments(&o)?,
            plugin,
        })
    }

    /// The whole object as received.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.plugin.raw
    }

    /// A view for reading the plugin's own keys, matched the way Go matches them.
    pub fn obj(&self) -> Obj<'_> {
        self.plugin.obj()
    }
}

/// Reads `cniVersion` of `o`: empty or absent is 0.1.0, anything unknown is code 1.
pub(crate) fn config_version(o: &Obj<'_>) -> Result<Version, ConfigError> {
    let written = o.str("cniVersion")?.unwrap_or_default();
    Version::parse_config(written).map_err(|_| ConfigError::UnknownVersion {
        path: o.field_path("cniVersion"),
        value: written.to_owned(),
        supported: list_versions(&Version::ALL),
    })
}

fn attachments(o: &Obj<'_>) -> Result<Option<Vec<GcAttachment>>, FieldError> {
    for key in [VALID_ATTACHMENTS_KEY, LEGACY_ATTACHMENTS_KEY] {
        if o.get(key).is_some() {
            let path = o.field_path(key);
            return each(o, key, &path, GcAttachment::parse).map(Some);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use serde_json::json;

    fn conf(v: Value) -> Result<NetConf, ConfigError> {
        NetConf::from_value(&v)
    }

    #[test]
    fn version_name_and_type() {
        let c = conf(json!({"cniVersion": "1.0.0", "name": "n", "type": "ptp"})).unwrap();
        assert_eq!((c.cni_version, c.name.as_str()), (Version::V1_0_0, "n"));
        assert_eq!(c.plugin.plugin_type, "ptp");
        assert_eq!(c.valid_attachments, None);
        let c = conf(json!({"name": "n", "type": "ptp"})).unwrap();
        assert_eq!(c.cni_version, Version::V0_1_0);
        let c = conf(json!({"cniVersion": "", "name": "n", "type": "ptp"})).unwrap();
        assert_eq!(c.cni_version, Version::V0_1_0);
    }

    #[test]
    fn unknown_versions_are_code_1_and_named() {
        for bad in ["9.9.9", "1.0", "banana"] {
            let e = conf(json!({"cniVersion": bad, "name": "n", "type": "ptp"})).unwrap_err();
            assert_eq!(e.code(), Code::INCOMPATIBLE_VERSION);
            assert_eq!(e.path(), "cniVersion");
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
        let e = conf(json!({"cniVersion": 1.0, "name": "n", "type": "ptp"})).unwrap_err();
        assert_eq!(e.code(), Code::DECODING_FAILURE);
        assert_eq!(e.to_string(), "cniVersion: expected string, found number");
    }

    #[test]
    fn names_are_required_and_checked() {
        let e = conf(json!({"cniVersion": "1.0.0", "type": "ptp"})).unwrap_err();
        assert_eq!((e.code(), e.path()), (Code::INVALID_NETWORK_CONFIG, "name"));
        let e = conf(json!({"cniVersion": "1.0.0", "name": "../etc", "type": "ptp"})).unwrap_err();
        assert_eq!((e.code(), e.path()), (Code::INVALID_NETWORK_CONFIG, "name"));
        let e = conf(json!({"cniVersion": "1.0.0", "name": ["n"], "type": "ptp"})).unwrap_err();
        assert_eq!((e.code(), e.path()), (Code::DECODING_FAILURE, "name"));
    }

    #[test]
    fn gc_attachments_new_and_legacy_keys() {
        let list = json!([{"containerID": "c1", "ifname": "eth0"}, {"containerID": "c2"}]);
        let expected = vec![GcAttachment::new("c1", "eth0"), GcAttachment::new("c2", "")];
        for key in [
            VALID_ATTACHMENTS_KEY,
            LEGACY_ATTACHMENTS_KEY,
            "CNI.dev/Valid-Attachments",
        ] {
            let mut v = json!({"cniVersion": "1.1.0", "name": "n", "type": "ptp"});
            v[key] = list.clone();
            assert_eq!(
                conf(v).unwrap().valid_attachments.as_ref(),
                Some(&expected),
                "{key}"
            );
        }
        let v = json!({"cniVersion": "1.1.0", "name": "n", "type": "ptp",
                       "cni.dev/attachments": [{"containerID": "old"}],
                       "cni.dev/valid-attachments": []});
        assert_eq!(conf(v).unwrap().valid_attachments, Some(vec![]));
        let v = json!({"cniVersion": "1.1.0", "name": "n", "type": "ptp",
                       "cni.dev/valid-attachments": [{"containerID": 7}]});
        assert_eq!(
            conf(v).unwrap_err().to_string(),
            "cni.dev/valid-attachments[0].containerID: expected string, found number"
        );
        assert_eq!(
            GcAttachment::new("c", "eth1").to_json(),
            json!({"containerID": "c", "ifname": "eth1"})
        );
    }
}
