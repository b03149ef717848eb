//! The result shape of 0.3.0, 0.3.1 and 0.4.0.

use serde_json::{Map, Value};

use super::dns::Dns;
use super::ipconfig::IpConfig;
use super::read;
use super::route::Route;
use crate::error::CniError;
use crate::json::Obj;
use crate::version::Version;

/// A 0.3.x/0.4.0 result: `{"cniVersion","interfaces","ips","routes","dns"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V04Result {
    /// Interfaces the plugin created or used.
    pub interfaces: Vec<V04Interface>,
    /// Assigned addresses; each is written with its `version`.
    pub ips: Vec<IpConfig>,
    /// Routes, of both families.
    pub routes: Vec<Route>,
    /// Resolver settings.
    pub dns: Dns,
}

/// An interface of a 0.3.x/0.4.0 result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct V04Interface {
    /// The interface name (always written, even when empty, as libcni does).
    pub name: String,
    /// The hardware address; empty when not set.
    pub mac: String,
    /// The network namespace path for an interface inside the container; empty on the host.
    pub sandbox: String,
}

impl V04Interface {
    pub(crate) fn read(obj: &Obj<'_>) -> Result<V04Interface, CniError> {
        Ok(V04Interface {
            name: read::string(obj, "name")?,
            mac: read::string(obj, "mac")?,
            sandbox: read::string(obj, "sandbox")?,
        })
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), self.name.clone().into());
        if !self.mac.is_empty() {
            m.insert("mac".into(), self.mac.clone().into());
        }
        if !self.sandbox.is_empty() {
            m.insert("sandbox".into(), self.sandbox.clone().into());
        }
        Value::Object(m)
    }
}

impl V04Result {
    pub(crate) fn read(obj: &Obj<'_>) -> Result<V04Result, CniError> {
        Ok(V04Result {
            interfaces: read::objects(obj, "interfaces", V04Interface::read)?,
            ips: read::objects(obj, "ips", |o| IpConfig::read(o, true))?,
            routes: read::objects(obj, "routes", Route::read)?,
            dns: Dns::read_field(obj)?,
        })
    }

    pub(crate) fn to_json(&self, version: Version) -> Value {
        let mut m = Map::new();
        m.insert("cniVersion".into(), version.as_str().into());
        put_list(
            &mut m,
            "interfaces",
            &self.interfaces,
            V04Interface::to_json,
        );
        put_list(&mut m, "ips", &self.ips, |ip| ip.to_json(true));
        put_list(&mut m, "routes", &self.routes, |r| r.to_json());
        m.insert("dns".into(), self.dns.to_json());
        Value::Object(m)
    }
}

/// Inserts a list under `key` unless it is empty (libcni's `omitempty` on slices).
pub(crate) fn put_list<T>(
    m: &mut Map<String, Value>,
    key: &str,
    items: &[T],
    f: impl Fn(&T) -> Value,
) {
    if !items.is_empty() {
        m.insert(key.into(), Value::Array(items.iter().map(f).collect()));
    }
}
