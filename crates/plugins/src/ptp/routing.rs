//! Point-to-point routing over a veth, as the reference ptp plugin sets it up.
//!
//! A veth cannot be a real point-to-point link, so the container keeps its address with the
//! subnet's prefix length but has no on-link subnet route: only the gateway is on-link
//! (`gw/32 scope link`), and the rest of the subnet, other pods included, is reached through
//! it (`subnet via gw`). Every packet leaves through the host end, which holds the gateway
//! address (`gw/32`) and routes the pod's address back down its own veth (`ip/32`). The
//! host's routing table then joins pods with each other and with the world.

use std::net::IpAddr;

use twill_cni::result::IpConfig;
use twill_cni::CniError;
use twill_kernel::route::Route;
use twill_kernel::{AddrFlags, Address, IpFamily, IpPrefix, Scope};

use crate::common::configure::prefix;

/// A container address and the gateway it is routed through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gatewayed {
    /// The address, with its subnet's prefix length.
    pub address: IpPrefix,
    /// Its gateway, the host end.
    pub gateway: IpAddr,
}

/// Every address with its gateway. An address without one, or with one of the other family,
/// cannot be routed point to point: refused with code 7 naming `ipam`, whose result it is.
pub fn gatewayed(ips: &[&IpConfig]) -> Result<Vec<Gatewayed>, CniError> {
    ips.iter()
        .map(|ip| {
            let address = prefix(&ip.address)?;
            match ip.gateway {
                Some(gw) if IpFamily::of(&gw) == address.family() => Ok(Gatewayed {
                    address,
                    gateway: gw,
                }),
                Some(gw) => Err(CniError::invalid_config(format!(
                    "ipam: gateway {gw} of address {} is of another IP family",
                    ip.address
                ))),
                None => Err(CniError::invalid_config(format!(
                    "ipam: address {} has no gateway: ptp routes every address through a \
                     gateway on the host end, so the IPAM configuration must give one",
                    ip.address
                ))),
            }
        })
        .collect()
}

/// The container's routes on interface `index`: per address, the gateway on-link and the
/// subnet through the gateway, both preferring the address as source. A gateway or subnet
/// shared by two addresses is routed once.
pub fn container_routes(ips: &[Gatewayed], index: u32) -> Vec<Route> {
    let mut routes: Vec<Route> = Vec::new();
    for ip in ips {
        let mut to_gateway = Route::new(IpPrefix::host(ip.gateway))
            .dev(index)
            .scope(Scope::LINK);
        to_gateway.prefsrc = Some(ip.address.addr());
        let mut to_subnet = Route::new(ip.address.network()).via(ip.gateway).dev(index);
        to_subnet.prefsrc = Some(ip.address.addr());
        for r in [to_gateway, to_subnet] {
            if !routes.iter().any(|have| have.dst == r.dst) {
                routes.push(r);
            }
        }
    }
    routes
}

/// The host end's addresses: each gateway as a host prefix (IPv6 ones without duplicate
/// address detection, so the gateway answers at once; the only other node on the link is
/// the pod, which holds no gateway address).
pub fn host_addresses(ips: &[Gatewayed], index: u32) -> Vec<Address> {
    let mut addrs: Vec<Address> = Vec::new();
    for ip in ips {
        let mut a = Address::new(index, IpPrefix::host(ip.gateway));
        if ip.gateway.is_ipv6() {
            a = a.with_flags(AddrFlags::NODAD);
        }
        if !addrs.iter().any(|have| have.prefix == a.prefix) {
            addrs.push(a);
        }
    }
    addrs
}

/// The host's routes to the pod: each address as a host prefix down the host end, scope
/// host as the reference installs them.
pub fn host_routes(ips: &[Gatewayed], index: u32) -> Vec<Route> {
    ips.iter()
        .map(|ip| {
            Route::new(IpPrefix::host(ip.address.addr()))
                .dev(index)
                .scope(Scope::HOST)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use twill_cni::result::IpNet;

    fn ip(addr: &str, gw: Option<&str>) -> IpConfig {
        let (a, l) = addr.split_once('/').unwrap();
        let c = IpConfig::new(IpNet::new(a.parse().unwrap(), l.parse().unwrap()).unwrap());
        match gw {
            Some(g) => c.with_gateway(g.parse().unwrap()),
            None => c,
        }
    }

    fn shown(routes: &[Route]) -> Vec<String> {
        routes
            .iter()
            .map(|r| format!("{r} src {}", r.prefsrc.unwrap()))
            .collect()
    }

    #[test]
    fn dual_stack_plan() {
        let ips = [
            ip("10.1.0.2/24", Some("10.1.0.1")),
            ip("fd00:1::2/64", Some("fd00:1::1")),
        ];
        let refs: Vec<&IpConfig> = ips.iter().collect();
        let g = gatewayed(&refs).unwrap();
        let c = container_routes(&g, 7);
        assert_eq!(c[0].scope, Some(Scope::LINK));
        assert_eq!(c[1].scope, None);
        let c = shown(&c);
        assert_eq!(c.len(), 4);
        assert!(c[0].starts_with("10.1.0.1/32 dev index 7") && c[0].ends_with("src 10.1.0.2"));
        assert!(
            c[1].starts_with("10.1.0.0/24 via 10.1.0.1 dev index 7"),
            "{}",
            c[1]
        );
        assert!(c[2].starts_with("fd00:1::1/128 dev index 7"), "{}", c[2]);
        assert!(c[3].starts_with("fd00:1::/64 via fd00:1::1"), "{}", c[3]);
        let h: Vec<String> = host_addresses(&g, 3)
            .iter()
            .map(|a| a.prefix.to_string())
            .collect();
        assert_eq!(h, ["10.1.0.1/32", "fd00:1::1/128"]);
        assert_eq!(host_addresses(&g, 3)[1].flags, AddrFlags::NODAD);
        let r: Vec<String> = host_routes(&g, 3)
            .iter()
            .map(|r| r.dst.to_string())
            .collect();
        assert_eq!(r, ["10.1.0.2/32", "fd00:1::2/128"]);
    }

    #[test]
    fn shared_gateway_is_routed_once() {
        let ips = [
            ip("10.1.0.2/24", Some("10.1.0.1")),
            ip("10.1.0.3/24", Some("10.1.0.1")),
        ];
        let refs: Vec<&IpConfig> = ips.iter().collect();
        let g = gatewayed(&refs).unwrap();
        assert_eq!(container_routes(&g, 1).len(), 2);
        assert_eq!(host_addresses(&g, 1).len(), 1);
        assert_eq!(host_routes(&g, 1).len(), 2);
    }

    #[test]
    fn missing_or_foreign_gateway_is_refused() {
        for bad in [ip("10.1.0.2/24", None), ip("10.1.0.2/24", Some("fd00::1"))] {
            let e = gatewayed(&[&bad]).unwrap_err();
            assert_eq!(e.code, twill_cni::Code::INVALID_NETWORK_CONFIG);
            assert!(
                e.msg.starts_with("ipam:") && e.msg.contains("10.1.0.2/24"),
                "{e}"
            );
        }
    }
}
