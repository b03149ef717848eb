//! Conversions between the three result shapes.
//!
//! Every version-to-version conversion is a chain of these steps, the same chain libcni takes:
//! legacy ⇄ 0.4 ⇄ 1.x. Within a shape a conversion only relabels the version.

use super::addr::IpFamily;
use super::legacy::{LegacyIpConfig, LegacyResult};
use super::route::{Route, V1Route};
use super::v04::{V04Interface, V04Result};
use super::v1::{V1Interface, V1Result};
use crate::error::CniError;

/// The message libcni gives, so logs read the same whichever implementation wrote them.
pub const NO_VALID_IP: &str = "cannot convert: no valid IP addresses";

impl V04Result {
    /// A legacy result in the 0.3.x/0.4.0 shape: `ip4` then `ip6` become `ips` (each with the
    /// version of its address family), their routes become `routes` in the same order, and
    /// there are no interfaces. Nothing is lost.
    pub fn from_legacy(r: LegacyResult) -> V04Result {
        let mut out = V04Result {
            dns: r.dns,
            ..V04Result::default()
        };
        for cfg in [r.ip4, r.ip6].into_iter().flatten() {
            out.ips.push(super::IpConfig {
                interface: None,
                address: cfg.ip,
                gateway: cfg.gateway,
            });
            out.routes.extend(cfg.routes);
        }
        out
    }

    /// This result in the legacy shape, which holds one address per family: the first IPv4
    /// and the first IPv6 address are kept with their gateways, each route goes to the address
    /// of its destination's family (and is dropped when there is none), and interfaces and
    /// interface indexes are dropped.
    ///
    /// # Errors
    ///
    /// A result without any address has no legacy form: code 1 (incompatible version), with
    /// libcni's message `cannot convert: no valid IP addresses`. libcni returns it as an
    /// uncoded error, which its plugin skeleton reports as code 999; 1 says what is wrong —
    /// the result cannot be expressed in the version asked for.
    pub fn into_legacy(self) -> Result<LegacyResult, CniError> {
        let mut out = LegacyResult {
            dns: self.dns,
            ..LegacyResult::default()
        };
        for ip in self.ips {
            let slot = match ip.family() {
                IpFamily::V4 => &mut out.ip4,
                IpFamily::V6 => &mut out.ip6,
            };
            if slot.is_none() {
                *slot = Some(LegacyIpConfig {
                    ip: ip.address,
                    gateway: ip.gateway,
                    routes: Vec::new(),
                });
            }
        }
        if out.ip4.is_none() && out.ip6.is_none() {
            return Err(CniError::incompatible_version(NO_VALID_IP)
                .with_details("a 0.1.0 or 0.2.0 result needs at least one IP address"));
        }
        for route in self.routes {
            let slot = match route.dst.family() {
                IpFamily::V4 => out.ip4.as_mut(),
                IpFamily::V6 => out.ip6.as_mut(),
            };
            if let Some(cfg) = slot {
                cfg.routes.push(route);
            }
        }
        Ok(out)
    }
}

impl V1Result {
    /// A 0.3.x/0.4.0 result in the 1.x shape: `ips[].version` goes, nothing else changes.
    pub fn from_v04(r: V04Result) -> V1Result {
        V1Result {
            interfaces: r
                .interfaces
                .into_iter()
                .map(|i| V1Interface {
                    name: i.name,
                    mac: i.mac,
                    sandbox: i.sandbox,
                    ..V1Interface::default()
                })
                .collect(),
            ips: r.ips,
            routes: r.routes.into_iter().map(V1Route::from).collect(),
            dns: r.dns,
        }
    }

    /// This result in the 0.3.x/0.4.0 shape: `ips[].version` is computed from each address,
    /// and the 1.1.0 fields (interface `mtu`, `socketPath`, `pciID`; route `mtu`, `advmss`,
    /// `priority`, `table`, `scope`) are dropped, since 0.4.0 has no place for them.
    ///
    /// libcni 1.2.0 and later share one route type between the versions and so keep the route
    /// fields in 0.x output; the 0.4.0 spec has no such fields, and we follow the spec.
    pub fn into_v04(self) -> V04Result {
        V04Result {
            interfaces: self
                .interfaces
                .into_iter()
                .map(|i| V04Interface {
                    name: i.name,
                    mac: i.mac,
                    sandbox: i.sandbox,
                })
                .collect(),
            ips: self.ips,
            routes: self
                .routes
                .iter()
                .map(V1Route::basic)
                .collect::<Vec<Route>>(),
            dns: self.dns,
        }
    }
}
