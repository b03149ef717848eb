//! The result shape of 0.1.0 and 0.2.0: one IPv4 and one IPv6 configuration.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::addr::IpNet;
use super::dns::Dns;
use super::read;
use super::route::Route;
use crate::error::CniError;
use crate::json::Obj;
use crate::version::Version;

/// A 0.1.0/0.2.0 result: `{"cniVersion","ip4","ip6","dns"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegacyResult {
    /// The IPv4 configuration.
    pub ip4: Option<LegacyIpConfig>,
    /// The IPv6 configuration.
    pub ip6: Option<LegacyIpConfig>,
    /// Resolver settings.
    pub dns: Dns,
}

/// One address of a legacy result with its gateway and the routes through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyIpConfig {
    /// The address with its prefix length.
    pub ip: IpNet,
    /// The gateway.
    pub gateway: Option<IpAddr>,
    /// Routes of this address's family.
    pub routes: Vec<Route>,
}

impl LegacyIpConfig {
    /// An address with no gateway and no routes.
    pub fn new(ip: IpNet) -> LegacyIpConfig {
        LegacyIpConfig {
            ip,
            gateway: None,
            routes: Vec::new(),
        }
    }

    fn read(obj: &Obj<'_>) -> Result<LegacyIpConfig, CniError> {
        Ok(LegacyIpConfig {
            ip: read::ipnet(obj, "ip")?,
            gateway: read::opt_ip(obj, "gateway")?,
            routes: read::objects(obj, "routes", Route::read)?,
        })
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("ip".into(), self.ip.to_string().into());
        if let Some(gw) = self.gateway {
            m.insert("gateway".into(), gw.to_string().into());
        }
        if !self.routes.is_empty() {
            let routes = self.routes.iter().map(|r| r.to_json()).collect();
            m.insert("routes".into(), Value::Array(routes));
        }
        Value::Object(m)
    }
}

impl LegacyResult {
    /// Reads the body of a legacy result (everything but `cniVersion`). Keys match as Go
    /// matches them; unknown keys are ignored.
    pub(crate) fn read(obj: &Obj<'_>) -> Result<LegacyResult, CniError> {
        Ok(LegacyResult {
            ip4: read::nested(obj, "ip4", LegacyIpConfig::read)?,
            ip6: read::nested(obj, "ip6", LegacyIpConfig::read)?,
            dns: Dns::read_field(obj)?,
        })
    }

    /// The JSON of this result labelled `version`, keys in libcni's order.
    pub(crate) fn to_json(&self, version: Version) -> Value {
        let mut m = Map::new();
        m.insert("cniVersion".into(), version.as_str().into());
        if let Some(ip4) = &self.ip4 {
            m.insert("ip4".into(), ip4.to_json());
        }
        if let Some(ip6) = &self.ip6 {
            m.insert("ip6".into(), ip6.to_json());
        }
        m.insert("dns".into(), self.dns.to_json());
        Value::Object(m)
    }
}
