//! Routes: the destination and gateway every version has, and the kernel attributes 1.1.0 adds.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::addr::IpNet;
use super::read;
use crate::error::CniError;
use crate::json::Obj;

/// A route as results before 1.0.0 write it: a destination and an optional gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// The destination; host bits are kept as written.
    pub dst: IpNet,
    /// The next hop; `None` means the interface's default gateway.
    pub gw: Option<IpAddr>,
}

impl Route {
    /// A route to `dst` with no explicit gateway.
    pub fn new(dst: IpNet) -> Route {
        Route { dst, gw: None }
    }

    /// Sets the gateway.
    pub fn via(mut self, gw: IpAddr) -> Route {
        self.gw = Some(gw);
        self
    }

    pub(crate) fn read(obj: &Obj<'_>) -> Result<Route, CniError> {
        Ok(Route {
            dst: read::ipnet(obj, "dst")?,
            gw: read::opt_ip(obj, "gw")?,
        })
    }

    pub(crate) fn to_json(self) -> Value {
        Value::Object(route_head(self.dst, self.gw))
    }
}

fn route_head(dst: IpNet, gw: Option<IpAddr>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("dst".into(), dst.to_string().into());
    if let Some(gw) = gw {
        m.insert("gw".into(), gw.to_string().into());
    }
    m
}

/// A route as 1.0.0 and later write it. The extra attributes are 1.1.0's; a zero `mtu`,
/// `advmss` or `priority` means "not set" and is left out, as in libcni, while `table` and
/// `scope` distinguish "not set" from 0 (the kernel's table 0 and scope `universe` are real
/// values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct V1Route {
    /// The destination; host bits are kept as written.
    pub dst: IpNet,
    /// The next hop; `None` means the interface's default gateway.
    pub gw: Option<IpAddr>,
    /// The route's MTU; 0 when not set.
    pub mtu: u32,
    /// The advertised TCP MSS; 0 when not set.
    pub advmss: u32,
    /// The route's priority (metric); 0 when not set.
    pub priority: u32,
    /// The routing table.
    pub table: Option<u32>,
    /// The route scope (0 universe, 200 site, 253 link, 254 host).
    pub scope: Option<u8>,
}

impl V1Route {
    /// A route to `dst` with no gateway and no 1.1.0 attributes.
    pub fn new(dst: IpNet) -> V1Route {
        V1Route::from(Route::new(dst))
    }

    /// Sets the gateway.
    pub fn via(mut self, gw: IpAddr) -> V1Route {
        self.gw = Some(gw);
        self
    }

    /// Whether any 1.1.0 attribute is set, which an older version cannot carry.
    pub fn has_extras(&self) -> bool {
        self.mtu != 0
            || self.advmss != 0
            || self.priority != 0
            || self.table.is_some()
            || self.scope.is_some()
    }

    /// The destination and gateway, without the 1.1.0 attributes.
    pub fn basic(&self) -> Route {
        Route {
            dst: self.dst,
            gw: self.gw,
        }
    }

    pub(crate) fn read(obj: &Obj<'_>) -> Result<V1Route, CniError> {
        Ok(V1Route {
            dst: read::ipnet(obj, "dst")?,
            gw: read::opt_ip(obj, "gw")?,
            mtu: read::u32_or_zero(obj, "mtu")?,
            advmss: read::u32_or_zero(obj, "advmss")?,
            priority: read::u32_or_zero(obj, "priority")?,
            table: read::opt_u32(obj, "table")?,
            scope: read::opt_u8(obj, "scope")?,
        })
    }

    pub(crate) fn to_json(self) -> Value {
        let mut m = route_head(self.dst, self.gw);
        for (key, n) in [
            ("mtu", self.mtu),
            ("advmss", self.advmss),
            ("priority", self.priority),
        ] {
            if n != 0 {
                m.insert(key.into(), n.into());
            }
        }
        if let Some(table) = self.table {
            m.insert("table".into(), table.into());
        }
        if let Some(scope) = self.scope {
            m.insert("scope".into(), scope.into());
        }
        Value::Object(m)
    }
}

impl From<Route> for V1Route {
    fn from(r: Route) -> V1Route {
        V1Route {
            dst: r.dst,
            gw: r.gw,
            mtu: 0,
            advmss: 0,
            priority: 0,
            table: None,
            scope: None,
        }
    }
}
