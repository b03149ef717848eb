//! The result shape of 1.0.0 and 1.1.0, which is also the shape plugins work on.
//!
//! 1.1.0 only adds optional fields, and libcni reads and writes both versions with one type, so
//! a 1.0.0 result may carry them too. Plugins that handle every version convert what they are
//! given to this shape ([`super::CniResult::to_latest`]), work on it, and convert the outcome to
//! the configuration's version ([`super::CniResult::from_latest`]).

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::addr::IpNet;
use super::dns::Dns;
use super::ipconfig::IpConfig;
use super::read;
use super::route::V1Route;
use super::v04::put_list;
use crate::error::CniError;
use crate::json::Obj;
use crate::version::Version;

/// A 1.0.0/1.1.0 result: `{"cniVersion","interfaces","ips","routes","dns"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V1Result {
    /// Interfaces the plugin created or used.
    pub interfaces: Vec<V1Interface>,
    /// Assigned addresses.
    pub ips: Vec<IpConfig>,
    /// Routes, of both families.
    pub routes: Vec<V1Route>,
    /// Resolver settings.
    pub dns: Dns,
}

/// An interface of a 1.0.0/1.1.0 result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct V1Interface {
    /// The interface name (always written, even when empty, as libcni does).
    pub name: String,
    /// The hardware address; empty when not set.
    pub mac: String,
    /// The MTU (1.1.0); 0 when not set.
    pub mtu: u32,
    /// The network namespace path for an interface inside the container; empty on the host.
    pub sandbox: String,
    /// The path of a vhost-user or similar socket (1.1.0); empty when not set.
    pub socket_path: String,
    /// The PCI address of a device interface (1.1.0); empty when not set.
    pub pci_id: String,
}

impl V1Interface {
    /// An interface with only a name.
    pub fn new(name: impl Into<String>) -> V1Interface {
        V1Interface {
            name: name.into(),
            ..V1Interface::default()
        }
    }

    /// Sets the hardware address.
    pub fn with_mac(mut self, mac: impl Into<String>) -> V1Interface {
        self.mac = mac.into();
        self
    }

    /// Marks the interface as inside the container's namespace at `netns`.
    pub fn in_sandbox(mut self, netns: impl Into<String>) -> V1Interface {
        self.sandbox = netns.into();
        self
    }

    /// Sets the MTU (written only to 1.x results).
    pub fn with_mtu(mut self, mtu: u32) -> V1Interface {
        self.mtu = mtu;
        self
    }

    /// Whether any 1.1.0 field is set, which an older version cannot carry.
    pub fn has_extras(&self) -> bool {
        self.mtu != 0 || !self.socket_path.is_empty() || !self.pci_id.is_empty()
    }

    fn read(obj: &Obj<'_>) -> Result<V1Interface, CniError> {
        Ok(V1Interface {
            name: read::string(obj, "name")?,
            mac: read::string(obj, "mac")?,
            mtu: read::u32_or_zero(obj, "mtu")?,
            sandbox: read::string(obj, "sandbox")?,
            socket_path: read::string(obj, "socketPath")?,
            pci_id: read::string(obj, "pciID")?,
        })
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), self.name.clone().into());
        // libcni's field order, which puts mtu between mac and sandbox.
        let fields = [
            ("mac", Value::from(self.mac.clone()), self.mac.is_empty()),
            ("mtu", Value::from(self.mtu), self.mtu == 0),
            (
                "sandbox",
                self.sandbox.clone().into(),
                self.sandbox.is_empty(),
            ),
            (
                "socketPath",
                self.socket_path.clone().into(),
                self.socket_path.is_empty(),
            ),
            ("pciID", self.pci_id.clone().into(), self.pci_id.is_empty()),
        ];
        for (key, value, empty) in fields {
            if !empty {
                m.insert(key.into(), value);
            }
        }
        Value::Object(m)
    }
}

impl V1Result {
    /// An empty result, to be filled in by a plugin.
    pub fn new() -> V1Result {
        V1Result::default()
    }

    /// Appends an interface and returns its index, for [`IpConfig::on_interface`].
    pub fn add_interface(&mut self, iface: V1Interface) -> u32 {
        self.interfaces.push(iface);
        // More than u32::MAX interfaces cannot be allocated; saturating keeps this total.
        u32::try_from(self.interfaces.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }

    /// Appends an address.
    pub fn add_ip(&mut self, ip: IpConfig) -> &mut V1Result {
        self.ips.push(ip);
        self
    }

    /// Appends a route.
    pub fn add_route(&mut self, route: V1Route) -> &mut V1Result {
        self.routes.push(route);
        self
    }

    /// Appends a route to `dst`, through `gw` when given.
    pub fn add_route_to(&mut self, dst: IpNet, gw: Option<IpAddr>) -> &mut V1Result {
        let mut route = V1Route::new(dst);
        route.gw = gw;
        self.add_route(route)
    }

    /// Whether any 1.1.0-only field is set on an interface or a route.
    pub fn has_extras(&self) -> bool {
        self.interfaces.iter().any(V1Interface::has_extras)
            || self.routes.iter().any(V1Route::has_extras)
    }

    pub(crate) fn read(obj: &Obj<'_>) -> Result<V1Result, CniError> {
        Ok(V1Result {
            interfaces: read::objects(obj, "interfaces", V1Interface::read)?,
            ips: read::objects(obj, "ips", |o| IpConfig::read(o, false))?,
            routes: read::objects(obj, "routes", V1Route::read)?,
            dns: Dns::read_field(obj)?,
        })
    }

    pub(crate) fn to_json(&self, version: Version) -> Value {
        let mut m = Map::new();
        m.insert("cniVersion".into(), version.as_str().into());
        put_list(&mut m, "interfaces", &self.interfaces, V1Interface::to_json);
        put_list(&mut m, "ips", &self.ips, |ip| ip.to_json(false));
        put_list(&mut m, "routes", &self.routes, |r| r.to_json());
        // Debian's libcni (1.1.2) writes `"dns":{}` here as for 0.x; libcni 1.2.0 and later
        // drop an empty dns from 1.x results. Readers treat both alike; we keep the key so
        // our output matches the reference plugins this project is tested against.
        m.insert("dns".into(), self.dns.to_json());
        Value::Object(m)
    }
}
