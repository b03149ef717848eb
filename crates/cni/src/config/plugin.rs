//! One plugin's configuration object: an element of a conflist's `plugins`, a plugin file under
//! `<confdir>/<network>/`, and the body of what a plugin receives on stdin.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::args::Args;
use super::error::ConfigError;
use super::runtime_config::RuntimeConfig;
use super::validate::{nested, plugin_type, string, strings};
use crate::json::{self, type_name, FieldError, Obj};

/// `ipam`: the IPAM plugin to delegate to; the rest of the object is that plugin's business.
#[derive(Debug, Clone, PartialEq)]
pub struct Ipam {
    /// `ipam.type`: the IPAM plugin's binary name.
    pub ipam_type: String,
    /// The whole `ipam` object, for the IPAM plugin's own keys (`ranges`, `routes`, …).
    pub raw: Map<String, Value>,
}

/// `dns` in a plugin configuration: what the plugin may put in its result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dns {
    /// `nameservers`.
    pub nameservers: Vec<String>,
    /// `domain`.
    pub domain: Option<String>,
    /// `search`.
    pub search: Vec<String>,
    /// `options`.
    pub options: Vec<String>,
}

/// A plugin configuration object, typed where the spec defines keys, and kept whole in
/// [`PluginConf::raw`] so nothing a plugin was given is ever lost. A plugin reads its own keys
/// (bridge's `isGateway`, portmap's `snat`) from the same object through [`PluginConf::obj`].
#[derive(Debug, Clone, PartialEq)]
pub struct PluginConf {
    /// `type`: the plugin's binary name, never containing a path separator.
    pub plugin_type: String,
    /// `capabilities`: which runtime capabilities the plugin wants delivered in `runtimeConfig`.
    /// Keys are exact (they are map keys, not field names); `null` values are left out.
    pub capabilities: BTreeMap<String, bool>,
    /// `ipam`, when present with a type. An empty object (`"ipam": {}`) reads as absent, as Go's
    /// plugins treat it: macvlan and friends then run without addresses.
    pub ipam: Option<Ipam>,
    /// `dns`.
    pub dns: Option<Dns>,
    /// `runtimeConfig`, filled in by the runtime.
    pub runtime_config: Option<RuntimeConfig>,
    /// `args`, filled in by the runtime.
    pub args: Option<Args>,
    /// `prevResult`, raw: the result module knows its shape in every version.
    pub prev_result: Option<Value>,
    /// `ipMasq`.
    pub ip_masq: Option<bool>,
    /// The whole object as received, every key in document order.
    pub raw: Map<String, Value>,
}

impl PluginConf {
    /// Parses a plugin object from bytes (a file under `<confdir>/<network>/`).
    pub fn from_bytes(bytes: &[u8]) -> Result<PluginConf, ConfigError> {
        let value = json::parse(bytes, "configuration")?;
        PluginConf::from_value(&value)
    }

    /// Reads a plugin object from an already parsed value.
    pub fn from_value(value: &Value) -> Result<PluginConf, ConfigError> {
        Ok(PluginConf::parse(&Obj::root(value)?)?)
    }

    /// Reads a plugin object; errors name fields under `o`'s path (`plugins[2].ipam.type`).
    pub fn parse(o: &Obj<'_>) -> Result<PluginConf, FieldError> {
        PluginConf::parse_with(o, true)
    }

    /// Reads a plugin object as an entry of a network list, the runtime's view: an `ipam`
    /// object without `type` is left to the plugin (a meta plugin such as flannel merges such
    /// a fragment into its delegate's IPAM; libcni never reads `ipam` either). The typed
    /// `ipam` is then `None` and the fragment stays in `raw`.
    pub fn parse_entry(o: &Obj<'_>) -> Result<PluginConf, FieldError> {
        PluginConf::parse_with(o, false)
    }

    fn parse_with(o: &Obj<'_>, strict_ipam: bool) -> Result<PluginConf, FieldError> {
        let kind = o.required_str("type")?;
        plugin_type(kind, &o.field_path("type"))?;
        Ok(PluginConf {
            plugin_type: kind.to_owned(),
            capabilities: capabilities(o)?,
            ipam: match nested(o, "ipam", ipam) {
                Err(FieldError::Missing { .. }) if !strict_ipam => None,
                other => other?.flatten(),
            },
            dns: nested(o, "dns", dns)?,
            runtime_config: nested(o, "runtimeConfig", RuntimeConfig::parse)?,
            args: nested(o, "args", Args::parse)?,
            prev_result: prev_result(o)?,
            ip_masq: o.bool("ipMasq")?,
            raw: o.map().clone(),
        })
    }

    /// A view of the whole object for reading keys the typed fields do not cover, matched the
    /// way Go matches them.
    pub fn obj(&self) -> Obj<'_> {
        Obj::new(&self.raw, "")
    }

    /// Whether the plugin asked for capability `name` (`"capabilities": {name: true}`).
    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities.get(name).copied().unwrap_or(false)
    }
}

fn capabilities(o: &Obj<'_>) -> Result<BTreeMap<String, bool>, FieldError> {
    let Some(map) = o.object("capabilities")? else {
        return Ok(BTreeMap::new());
    };
    let path = o.field_path("capabilities");
    let mut caps = BTreeMap::new();
    for (k, v) in map {
        match v {
            Value::Bool(b) => {
                caps.insert(k.clone(), *b);
            }
            // Go leaves a bool untouched when decoding null: the capability stays off.
            Value::Null => {}
            other => {
                return Err(FieldError::WrongType {
                    path: json::join(&path, k),
                    expected: "boolean",
                    found: type_name(other),
                })
            }
        }
    }
    Ok(caps)
}

fn ipam(o: &Obj<'_>) -> Result<Option<Ipam>, FieldError> {
    match o.str("type")? {
        Some(t) if !t.is_empty() => {
            plugin_type(t, &o.field_path("type"))?;
            Ok(Some(Ipam {
                ipam_type: t.to_owned(),
                raw: o.map().clone(),
            }))
        }
        // No type and nothing else (`{}`, `{"type": ""}`): no IPAM, as Go reads it. Anything
        // more is an IPAM configuration that forgot to say which plugin it is for.
        _ if o.map().iter().all(|(k, v)| {
            v.is_null() || (json::key_matches(k, "type") && v.as_str() == Some(""))
        }) =>
        {
            Ok(None)
        }
        _ => Err(FieldError::Missing {
            path: o.field_path("type"),
        }),
    }
}

fn dns(o: &Obj<'_>) -> Result<Dns, FieldError> {
    Ok(Dns {
        nameservers: strings(o, "nameservers")?,
        domain: string(o, "domain")?,
        search: strings(o, "search")?,
        options: strings(o, "options")?,
    })
}

fn prev_result(o: &Obj<'_>) -> Result<Option<Value>, FieldError> {
    match o.get("prevResult") {
        None => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
        Some(other) => Err(FieldError::WrongType {
            path: o.field_path("prevResult"),
            expected: "object",
            found: type_name(other),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plugin(v: Value) -> Result<PluginConf, ConfigError> {
        PluginConf::from_value(&v)
    }

    #[test]
    fn typed_fields_and_raw() {
        let p = plugin(json!({
            "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true,
            "capabilities": {"portMappings": true, "mac": false, "ips": null},
            "ipam": {"type": "host-local", "subnet": "10.22.0.0/16"},
            "dns": {"nameservers": ["10.0.0.53"], "domain": "cluster.local"},
            "prevResult": {"cniVersion": "1.0.0", "ips": []}
        }))
        .unwrap();
        assert_eq!(p.plugin_type, "bridge");
        assert_eq!(p.ip_masq, Some(true));
        assert!(p.has_capability("portMappings"));
        assert!(!p.has_capability("mac"));
        assert!(!p.has_capability("ips"));
        assert_eq!(p.capabilities.len(), 2);
        let ipam = p.ipam.as_ref().unwrap();
        assert_eq!(ipam.ipam_type, "host-local");
        assert_eq!(ipam.raw.get("subnet"), Some(&json!("10.22.0.0/16")));
        assert_eq!(
            p.dns.as_ref().unwrap().domain.as_deref(),
            Some("cluster.local")
        );
        assert_eq!(
            p.prev_result,
            Some(json!({"cniVersion": "1.0.0", "ips": []}))
        );
        assert_eq!(p.obj().bool("isgateway"), Ok(Some(true)));
        assert_eq!(p.obj().str("bridge"), Ok(Some("cni0")));
        assert_eq!(p.raw.len(), 8);
    }

    #[test]
    fn empty_ipam_is_no_ipam() {
        for empty in [json!({}), json!({"type": ""}), json!({"type": null})] {
            let p = plugin(json!({"type": "macvlan", "ipam": empty})).unwrap();
            assert_eq!(p.ipam, None);
        }
        assert_eq!(
            plugin(json!({"type": "macvlan", "ipam": null}))
                .unwrap()
                .ipam,
            None
        );
    }

    #[test]
    fn ipam_without_type_is_refused() {
        let e = plugin(json!({"type": "bridge", "ipam": {"subnet": "10.0.0.0/8"}})).unwrap_err();
        assert_eq!(e.to_string(), "ipam.type: required field is missing");
        assert_eq!(e.code(), crate::Code::INVALID_NETWORK_CONFIG);
        let entry = json!({"type": "flannel", "ipam": {"dataDir": "/x"}});
        let p = PluginConf::parse_entry(&Obj::root(&entry).unwrap()).unwrap();
        assert_eq!(
            p.ipam, None,
            "a list entry leaves an untyped fragment to the plugin"
        );
        assert!(p.raw.contains_key("ipam"));
        let e = plugin(json!({"type": "bridge", "ipam": {"type": "../x"}})).unwrap_err();
        assert_eq!(e.path(), "ipam.type");
        assert_eq!(e.code(), crate::Code::INVALID_NETWORK_CONFIG);
    }

    #[test]
    fn wrong_types_are_decoding_failures() {
        let cases = [
            (json!({"type": 1}), "type: expected string, found number"),
            (
                json!({"type": "a", "capabilities": {"portMappings": "yes"}}),
                "capabilities.portMappings: expected boolean, found string",
            ),
            (
                json!({"type": "a", "capabilities": []}),
                "capabilities: expected object, found array",
            ),
            (
                json!({"type": "a", "ipam": "host-local"}),
                "ipam: expected object, found string",
            ),
            (
                json!({"type": "a", "dns": {"search": "x"}}),
                "dns.search: expected array, found string",
            ),
            (
                json!({"type": "a", "prevResult": "{}"}),
                "prevResult: expected object, found string",
            ),
            (
                json!({"type": "a", "ipMasq": "true"}),
                "ipMasq: expected boolean, found string",
            ),
            (
                json!({"type": "a", "runtimeConfig": {"mac": 1}}),
                "runtimeConfig.mac: expected string, found number",
            ),
            (
                json!({"type": "a", "args": {"cni": 1}}),
                "args.cni: expected object, found number",
            ),
        ];
        for (v, message) in cases {
            let e = plugin(v).unwrap_err();
            assert_eq!(e.to_string(), message);
            assert_eq!(e.code(), crate::Code::DECODING_FAILURE, "{message}");
        }
    }

    #[test]
    fn type_is_required_and_checked() {
        for v in [json!({}), json!({"type": ""}), json!({"type": null})] {
            let e = plugin(v).unwrap_err();
            assert_eq!(e.to_string(), "type: required field is missing");
            assert_eq!(e.code(), crate::Code::INVALID_NETWORK_CONFIG);
        }
        let e = plugin(json!({"type": "/bin/sh"})).unwrap_err();
        assert_eq!(e.path(), "type");
        assert_eq!(e.code(), crate::Code::INVALID_NETWORK_CONFIG);
    }

    #[test]
    fn from_bytes_reports_non_json() {
        let e = PluginConf::from_bytes(b"{\"type\": ").unwrap_err();
        assert_eq!(e.code(), crate::Code::DECODING_FAILURE);
        assert!(
            e.to_string().starts_with("configuration: not valid JSON"),
            "{e}"
        );
        let e = PluginConf::from_bytes(b"[]").unwrap_err();
        assert_eq!(e.to_string(), "configuration: expected object, found array");
    }
}
