//! Network configuration lists (conflists): a named chain of plugins, and how its spec version
//! is chosen.

use serde_json::{Map, Value};

use super::error::{list_versions, ConfigError};
use super::netconf::NetConf;
use super::plugin::PluginConf;
use super::validate::network_name;
use crate::json::{self, index, FieldError, Obj};
use crate::Version;

/// A network configuration list, typed, with the document kept in [`NetConfList::raw`].
#[derive(Debug, Clone, PartialEq)]
pub struct NetConfList {
    /// The version the list runs at: the highest this crate speaks among `cniVersions` and
    /// `cniVersion` (see [`select_version`]). A runtime supporting fewer versions calls
    /// [`NetConfList::select_version`] itself.
    pub cni_version: Version,
    /// `cniVersion` as written (empty when absent).
    pub declared_version: String,
    /// `cniVersions` as written, when present.
    pub cni_versions: Option<Vec<String>>,
    /// `name`: unique per host, valid as a file name.
    pub name: String,
    /// `disableCheck`: the runtime must not run CHECK. `"true"`/`"false"` strings are accepted.
    pub disable_check: bool,
    /// `disableGC`: the runtime must not run GC. Strings accepted as for `disable_check`.
    pub disable_gc: bool,
    /// `loadOnlyInlinedPlugins`: when false, plugin files under `<confdir>/<name>/` are appended
    /// to [`NetConfList::plugins`] by whoever loads the directory.
    pub load_only_inlined_plugins: bool,
    /// `plugins`, in order. Empty only when the key is absent and plugins are to come from the
    /// network's directory.
    pub plugins: Vec<PluginConf>,
    /// The whole document as read.
    pub raw: Map<String, Value>,
}

impl NetConfList {
    /// Parses a conflist. Not JSON or a wrong type is code 6, a missing or invalid field
    /// code 7, no usable version code 1; the message names the field.
    pub fn from_bytes(bytes: &[u8]) -> Result<NetConfList, ConfigError> {
        let value = json::parse(bytes, "configuration")?;
        NetConfList::from_value(&value)
    }

    /// Reads an already parsed conflist.
    pub fn from_value(value: &Value) -> Result<NetConfList, ConfigError> {
        let o = Obj::root(value)?;
        let name = o.required_str("name")?;
        network_name(name, &o.field_path("name"))?;
        let declared_version = o.str("cniVersion")?.unwrap_or_default().to_owned();
        let cni_versions: Option<Vec<String>> = o
            .str_array("cniVersions")?
            .map(|vs| vs.into_iter().map(str::to_owned).collect());
        let cni_version =
            select_version(&declared_version, cni_versions.as_deref(), &Version::ALL)?;
        let load_only_inlined_plugins = flag(&o, "loadOnlyInlinedPlugins")?;
        Ok(NetConfList {
            cni_version,
            declared_version,
            cni_versions,
            name: name.to_owned(),
            disable_check: flag(&o, "disableCheck")?,
            disable_gc: flag(&o, "disableGC")?,
            load_only_inlined_plugins,
            plugins: plugins(&o, load_only_inlined_plugins)?,
            raw: o.map().clone(),
        })
    }

    /// Wraps a single-plugin configuration (a `*.conf` file) as a one-plugin list: the list
    /// takes the plugin's `name` and `cniVersion`, and has no plugin directory to load from.
    pub fn from_conf(conf: NetConf) -> NetConfList {
        let mut raw = Map::new();
        raw.insert("cniVersion".into(), conf.cni_version.as_str().into());
        raw.insert("name".into(), conf.name.clone().into());
        raw.insert("loadOnlyInlinedPlugins".into(), true.into());
        raw.insert(
            "plugins".into(),
            Value::Array(vec![Value::Object(conf.plugin.raw.clone())]),
        );
        NetConfList {
            cni_version: conf.cni_version,
            declared_version: conf.cni_version.as_str().to_owned(),
            cni_versions: None,
            name: conf.name,
            disable_check: false,
            disable_gc: false,
            load_only_inlined_plugins: true,
            plugins: vec![conf.plugin],
            raw,
        }
    }

    /// Parses a single-plugin configuration file and wraps it with [`NetConfList::from_conf`].
    pub fn from_conf_bytes(bytes: &[u8]) -> Result<NetConfList, ConfigError> {
        let value = json::parse(bytes, "configuration")?;
        NetConf::from_file_value(&value).map(NetConfList::from_conf)
    }

    /// The version to run this list at, given the versions the runtime (or every plugin in the
    /// chain) supports.
    pub fn select_version(&self, supported: &[Version]) -> Result<Version, ConfigError> {
        select_version(
            &self.declared_version,
            self.cni_versions.as_deref(),
            supported,
        )
    }

    /// A view for reading keys the typed fields do not cover.
    pub fn obj(&self) -> Obj<'_> {
        Obj::new(&self.raw, "")
    }
}

/// Picks the version a list runs at.
///
/// With `cniVersions` (non-empty): the highest version in `supported` among `cniVersions` and
/// `cniVersion`; entries that are unknown, newer than `supported` or not valid versions at all
/// are skipped, because a list may be written for runtimes newer than this one. Without it:
/// `cniVersion` itself (empty is 0.1.0), which must be in `supported`. Nothing usable is code 1.
pub fn select_version(
    declared: &str,
    offered: Option<&[String]>,
    supported: &[Version],
) -> Result<Version, ConfigError> {
    let supported_text = list_versions(supported);
    let offered = offered.filter(|o| !o.is_empty());
    let Some(offered) = offered else {
        return match Version::parse_config(declared) {
            Ok(v) if supported.contains(&v) => Ok(v),
            Ok(_) => Err(ConfigError::NoCommonVersion {
                path: "cniVersion".into(),
                offered: vec![declared.to_owned()],
                supported: supported_text,
            }),
            Err(_) => Err(ConfigError::UnknownVersion {
                path: "cniVersion".into(),
                value: declared.to_owned(),
                supported: supported_text,
            }),
        };
    };
    let mut candidates: Vec<String> = offered.to_vec();
    if !declared.is_empty() {
        candidates.push(declared.to_owned());
    }
    candidates
        .iter()
        .filter_map(|s| s.parse::<Version>().ok())
        .filter(|v| supported.contains(v))
        .max()
        .ok_or(ConfigError::NoCommonVersion {
            path: "cniVersions".into(),
            offered: candidates,
            supported: supported_text,
        })
}

fn flag(o: &Obj<'_>, field: &str) -> Result<bool, FieldError> {
    Ok(o.lenient_bool(field)?.unwrap_or(false))
}

fn plugins(o: &Obj<'_>, load_only_inlined: bool) -> Result<Vec<PluginConf>, FieldError> {
    let path = o.field_path("plugins");
    let Some(items) = o.array("plugins")? else {
        return if load_only_inlined {
            Err(FieldError::invalid(
                path,
                "required when loadOnlyInlinedPlugins is true",
            ))
        } else {
            Ok(Vec::new())
        };
    };
    if items.is_empty() {
        return Err(FieldError::invalid(path, "must list at least one plugin"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let p = index(&path, i);
            PluginConf::parse_entry(&Obj::at(v, &p)?)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use serde_json::json;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn selection_takes_the_highest_supported() {
        let all = &Version::ALL;
        let offered = strings(&["0.4.0", "1.0.0", "1.1.0", "1.2.0", "2.0", "x"]);
        assert_eq!(select_version("", Some(&offered), all), Ok(Version::V1_1_0));
        let older = [Version::V0_3_1, Version::V0_4_0, Version::V1_0_0];
        assert_eq!(
            select_version("", Some(&offered), &older),
            Ok(Version::V1_0_0)
        );
        // cniVersion joins the candidates.
        let offered = strings(&["0.3.1"]);
        assert_eq!(
            select_version("0.4.0", Some(&offered), all),
            Ok(Version::V0_4_0)
        );
        // Without cniVersions, cniVersion alone decides.
        assert_eq!(select_version("0.3.1", None, all), Ok(Version::V0_3_1));
        assert_eq!(select_version("", None, all), Ok(Version::V0_1_0));
        assert_eq!(select_version("", Some(&[]), all), Ok(Version::V0_1_0));
    }

    #[test]
    fn selection_failures_are_code_1() {
        let e = select_version("9.0.0", None, &Version::ALL).unwrap_err();
        assert_eq!(
            (e.code(), e.path()),
            (Code::INCOMPATIBLE_VERSION, "cniVersion")
        );
        assert!(e.to_string().contains("\"9.0.0\""), "{e}");
        let e = select_version("0.4.0", None, &[Version::V1_0_0]).unwrap_err();
        assert_eq!(
            (e.code(), e.path()),
            (Code::INCOMPATIBLE_VERSION, "cniVersion")
        );
        let offered = strings(&["2.0.0", "garbage"]);
        let e = select_version("", Some(&offered), &Version::ALL).unwrap_err();
        assert_eq!(
            (e.code(), e.path()),
            (Code::INCOMPATIBLE_VERSION, "cniVersions")
        );
        assert!(e.to_string().contains("[\"2.0.0\", \"garbage\"]"), "{e}");
    }

    #[test]
    fn flags_accept_strings() {
        let l = NetConfList::from_value(&json!({
            "cniVersion": "1.1.0", "name": "n", "disableCheck": "true", "disableGC": true,
            "loadOnlyInlinedPlugins": "0", "plugins": [{"type": "ptp"}]
        }))
        .unwrap();
        assert!(l.disable_check && l.disable_gc && !l.load_only_inlined_plugins);
        let e = NetConfList::from_value(&json!({"name": "n", "disableGC": "yes"})).unwrap_err();
        assert_eq!(
            (e.code(), e.path()),
            (Code::INVALID_NETWORK_CONFIG, "disableGC")
        );
        let e = NetConfList::from_value(&json!({"name": "n", "disableGC": 1})).unwrap_err();
        assert_eq!((e.code(), e.path()), (Code::DECODING_FAILURE, "disableGC"));
    }

    #[test]
    fn plugins_may_come_from_the_directory() {
        let l = NetConfList::from_value(&json!({"cniVersion": "1.1.0", "name": "n"})).unwrap();
        assert!(l.plugins.is_empty());
        let e = NetConfList::from_value(
            &json!({"cniVersion": "1.1.0", "name": "n", "loadOnlyInlinedPlugins": true}),
        )
        .unwrap_err();
        assert_eq!(
            (e.code(), e.path()),
            (Code::INVALID_NETWORK_CONFIG, "plugins")
        );
    }

    #[test]
    fn single_conf_round_trips_as_a_list() {
        let conf = NetConf::from_value(&json!({
            "cniVersion": "0.3.1", "name": "mynet", "type": "bridge", "bridge": "br9"
        }))
        .unwrap();
        let l = NetConfList::from_conf(conf.clone());
        assert_eq!((l.name.as_str(), l.cni_version), ("mynet", Version::V0_3_1));
        assert_eq!(l.plugins, vec![conf.plugin]);
        assert!(l.load_only_inlined_plugins);
        assert_eq!(
            NetConfList::from_value(&Value::Object(l.raw.clone())),
            Ok(l)
        );
    }
}
