//! A network ready to run: the typed conflist, the bytes the cache records, and where it came
//! from.

use std::path::{Path, PathBuf};

use serde_json::Value;
use twill_cni::config::{NetConfList, PluginConf};
use twill_cni::Version;

use crate::error::RuntimeError;

/// A network list as the runtime runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkList {
    /// The typed list, plugins from the network's directory already appended.
    pub conf: NetConfList,
    /// The configuration as the cache records it (`config`, base64): the file's own bytes when
    /// the file is the whole story, otherwise the list as run, re-encoded — a wrapped `.conf`,
    /// or a list with plugins appended from its directory. A GC or a DEL that only has the
    /// cache to go by then sees every plugin that ran.
    pub bytes: Vec<u8>,
    /// The file it was loaded from, if any.
    pub source: Option<PathBuf>,
}

impl NetworkList {
    /// A list parsed from conflist bytes (no plugin directory is consulted).
    ///
    /// ```
    /// let net = twill_runtime::NetworkList::from_bytes(
    ///     br#"{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"loopback"}]}"#,
    /// )?;
    /// assert_eq!(net.name(), "n");
    /// # Ok::<(), twill_runtime::RuntimeError>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<NetworkList, RuntimeError> {
        let conf = NetConfList::from_bytes(bytes).map_err(|source| RuntimeError::Config {
            path: PathBuf::from("<conflist>"),
            source,
        })?;
        Ok(NetworkList {
            conf,
            bytes: bytes.to_vec(),
            source: None,
        })
    }

    /// A list from an already parsed conflist; the cached bytes are its JSON.
    pub fn from_conf(conf: NetConfList) -> NetworkList {
        let bytes = Value::Object(conf.raw.clone()).to_string().into_bytes();
        NetworkList {
            conf,
            bytes,
            source: None,
        }
    }

    /// Reads a `.conflist` file; `wrap_single` reads a single-plugin `.conf`/`.json` file and
    /// wraps it as a one-plugin list.
    pub(crate) fn from_file(path: &Path, wrap_single: bool) -> Result<NetworkList, RuntimeError> {
        let bytes = std::fs::read(path).map_err(|e| RuntimeError::io("read", path, e))?;
        let bad = |source| RuntimeError::Config {
            path: path.to_owned(),
            source,
        };
        let mut net = if wrap_single {
            NetworkList::from_conf(NetConfList::from_conf_bytes(&bytes).map_err(bad)?)
        } else {
            NetworkList {
                conf: NetConfList::from_bytes(&bytes).map_err(bad)?,
                bytes,
                source: None,
            }
        };
        net.source = Some(path.to_owned());
        Ok(net)
    }

    /// Appends plugins (from the network's directory) and re-encodes the cached bytes.
    pub(crate) fn append_plugins(&mut self, plugins: Vec<PluginConf>) {
        if plugins.is_empty() {
            return;
        }
        self.conf.plugins.extend(plugins);
        let all: Vec<Value> = self
            .conf
            .plugins
            .iter()
            .map(|p| Value::Object(p.raw.clone()))
            .collect();
        twill_cni::json::replace_key(&mut self.conf.raw, "plugins", Value::Array(all));
        self.bytes = Value::Object(self.conf.raw.clone())
            .to_string()
            .into_bytes();
    }

    /// The network's name.
    pub fn name(&self) -> &str {
        &self.conf.name
    }

    /// The version the list runs at.
    pub fn version(&self) -> Version {
        self.conf.cni_version
    }

    /// The plugins, in ADD order.
    pub fn plugins(&self) -> &[PluginConf] {
        &self.conf.plugins
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn appended_plugins_are_in_the_cached_bytes() {
        let mut net = NetworkList::from_bytes(
            br#"{"cniVersion":"1.1.0","name":"n","Plugins":[{"type":"a"}]}"#,
        )
        .unwrap();
        let extra = PluginConf::from_value(&json!({"type": "b"})).unwrap();
        net.append_plugins(vec![extra]);
        let cached: Value = serde_json::from_slice(&net.bytes).unwrap();
        assert_eq!(cached["plugins"], json!([{"type": "a"}, {"type": "b"}]));
        assert!(cached.get("Plugins").is_none());
        let reread = NetworkList::from_bytes(&net.bytes).unwrap();
        assert_eq!(reread.plugins().len(), 2);
    }
}
