//! `ips[]` entries of 0.3.0 and later results.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::addr::{IpFamily, IpNet};
use super::read;
use crate::error::CniError;
use crate::json::{FieldError, Obj};

/// An address assigned by a plugin: `{"version"?,"interface"?,"address","gateway"?}`.
///
/// There is no `version` field: 0.3.x/0.4.0 write it, and it is always computed from the
/// address family, which is what libcni does when it converts a 1.x result down. A `version`
/// read from a 0.3.x/0.4.0 result must be `"4"`, `"6"` or empty, but the address decides; libcni
/// trusts the string instead, so a result whose `version` disagrees with its address (or lacks
/// one) converts to 0.1.0/0.2.0 by address family here and by the string there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpConfig {
    /// Index into the result's `interfaces` of the interface holding the address.
    pub interface: Option<u32>,
    /// The address with its prefix length.
    pub address: IpNet,
    /// The gateway for this address's subnet.
    pub gateway: Option<IpAddr>,
}

impl IpConfig {
    /// An address on no particular interface, with no gateway.
    pub fn new(address: IpNet) -> IpConfig {
        IpConfig {
            interface: None,
            address,
            gateway: None,
        }
    }

    /// Sets the index of the interface holding the address.
    pub fn on_interface(mut self, index: u32) -> IpConfig {
        self.interface = Some(index);
        self
    }

    /// Sets the gateway.
    pub fn with_gateway(mut self, gateway: IpAddr) -> IpConfig {
        self.gateway = Some(gateway);
        self
    }

    /// The address family, which 0.3.x/0.4.0 write as `version`.
    pub fn family(&self) -> IpFamily {
        self.address.family()
    }

    /// Reads an entry; `with_version` checks the `version` field of 0.3.x/0.4.0, which 1.x no
    /// longer has (Go ignores it there, and so do we).
    pub(crate) fn read(obj: &Obj<'_>, with_version: bool) -> Result<IpConfig, CniError> {
        if with_version {
            match obj.str("version").map_err(read::decode_error)? {
                None | Some("" | "4" | "6") => {}
                Some(other) => {
                    return Err(read::decode_error(FieldError::invalid(
                        obj.field_path("version"),
                        format!("{other:?} is not \"4\" or \"6\""),
                    )))
                }
            }
        }
        Ok(IpConfig {
            interface: read::opt_u32(obj, "interface")?,
            address: read::ipnet(obj, "address")?,
            gateway: read::opt_ip(obj, "gateway")?,
        })
    }

    pub(crate) fn to_json(self, with_version: bool) -> Value {
        let mut m = Map::new();
        if with_version {
            m.insert("version".into(), self.family().as_version_str().into());
        }
        if let Some(i) = self.interface {
            m.insert("interface".into(), i.into());
        }
        m.insert("address".into(), self.address.to_string().into());
        if let Some(gw) = self.gateway {
            m.insert("gateway".into(), gw.to_string().into());
        }
        Value::Object(m)
    }
}
