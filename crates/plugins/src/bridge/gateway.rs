//! Gateways: which addresses the bridge holds for its pods, the default routes they imply,
//! and putting them on the bridge.

use std::net::IpAddr;

use twill_cni::result::{IpNet, V1Result, V1Route};
use twill_cni::CniError;
use twill_kernel::{sysctl, IpFamily, LinkId, MacAddr, Netlink};

use super::config::BridgeConf;
use crate::common::configure::{address, prefix};
use crate::common::error::{internal, kernel};

/// The container interface's index in the result: `[bridge, host veth, container veth]`.
pub const CONTAINER_IFACE: u32 = 2;

/// Points every address at the container interface, fills in missing gateways (the
/// subnet's first address) when the bridge is a gateway, adds a default route per family
/// when it is the default gateway and the result has none, and returns the gateway
/// addresses to put on the bridge (gateway IP with the pod address's prefix length).
pub fn calc_gateways(result: &mut V1Result, conf: &BridgeConf) -> Result<Vec<IpNet>, CniError> {
    let mut gateways = Vec::new();
    let mut default_done = [false, false];
    for i in 0..result.ips.len() {
        let Some(ip) = result.ips.get_mut(i) else {
            break;
        };
        ip.interface = Some(CONTAINER_IFACE);
        if ip.gateway.is_none() && conf.is_gateway {
            ip.gateway = Some(first_host(&ip.address));
        }
        let (address, gateway) = (ip.address, ip.gateway);
        let family = usize::from(address.family() == twill_cni::result::IpFamily::V6);
        if conf.is_default_gateway && !default_done.get(family).copied().unwrap_or(true) {
            let any = default_dst(&address)?;
            let has_default = result.routes.iter().any(|r| r.gw.is_some() && r.dst == any);
            if !has_default {
                let mut route = V1Route::new(any);
                route.gw = gateway;
                result.routes.push(route);
            }
            if let Some(done) = default_done.get_mut(family) {
                *done = true;
            }
        }
        if conf.is_gateway {
            if let Some(gw) = gateway {
                let net =
                    IpNet::new(gw, address.prefix_len()).map_err(|e| internal(e.to_string()))?;
                gateways.push(net);
            }
        }
    }
    Ok(gateways)
}

/// The subnet's first address: network + 1.
fn first_host(net: &IpNet) -> IpAddr {
    match net.network() {
        IpAddr::V4(a) => IpAddr::V4(u32::from(a).wrapping_add(1).into()),
        IpAddr::V6(a) => IpAddr::V6(u128::from(a).wrapping_add(1).into()),
    }
}

fn default_dst(of: &IpNet) -> Result<IpNet, CniError> {
    let any = match of.addr() {
        IpAddr::V4(_) => IpAddr::from([0u8; 4]),
        IpAddr::V6(_) => IpAddr::from([0u8; 16]),
    };
    IpNet::new(any, 0).map_err(|e| internal(e.to_string()))
}

/// Puts every gateway address on the bridge, turns forwarding on for each family that has
/// one, and pins the bridge's MAC to `mac` (otherwise a bridge takes its lowest port's MAC,
/// which changes as pods come and go). Returns the MAC pinned.
pub fn apply(
    nl: &mut Netlink,
    conf: &BridgeConf,
    index: u32,
    gateways: &[IpNet],
    mac: Option<MacAddr>,
) -> Result<Option<MacAddr>, CniError> {
    for family in [IpFamily::V4, IpFamily::V6] {
        let mine: Vec<&IpNet> = gateways
            .iter()
            .filter(|g| (g.family() == twill_cni::result::IpFamily::V4) == (family == IpFamily::V4))
            .collect();
        if mine.is_empty() {
            continue;
        }
        for gw in &mine {
            ensure_addr(nl, conf, index, family, gw)?;
        }
        let key = match family {
            IpFamily::V4 => "net/ipv4/ip_forward",
            IpFamily::V6 => "net/ipv6/conf/all/forwarding",
        };
        sysctl::write(key, "1")
            .map_err(|e| internal(format!("failed to enable forwarding: {e}")))?;
    }
    let Some(mut mac) = mac else {
        return Ok(None);
    };
    // A bridge whose last port has left reports an all-zero address, which the kernel
    // refuses to set; pin a fresh one instead, so the gateway's MAC is stable from now on.
    if mac.0 == [0; 6] {
        mac = crate::common::random::mac()?;
    }
    nl.link_set_mac(LinkId::Index(index), mac)
        .map_err(|e| internal(format!("could not set bridge's mac: {e}")))?;
    Ok(Some(mac))
}

/// Adds `gw` to the bridge unless it is there. Another IPv4 address, or an overlapping
/// IPv6 one, is an error — or is replaced when `forceAddress` is set.
fn ensure_addr(
    nl: &mut Netlink,
    conf: &BridgeConf,
    index: u32,
    family: IpFamily,
    gw: &IpNet,
) -> Result<(), CniError> {
    let want = prefix(gw)?;
    let have = nl.addr_list(Some(family), Some(index)).map_err(kernel)?;
    for a in &have {
        if a.prefix == want {
            return Ok(());
        }
        let overlaps = covers(&a.prefix, &want.addr()) || covers(&want, &a.prefix.addr());
        if family == IpFamily::V4 || overlaps {
            if !conf.force_address {
                return Err(internal(format!(
                    "{:?} already has an IP address different from {gw}",
                    conf.bridge
                )));
            }
            nl.addr_delete(a).map_err(kernel)?;
        }
    }
    match nl.addr_add(&address(index, want)) {
        Err(e) if !e.is_exists() => Err(internal(format!(
            "could not add IP address to {:?}: {e}",
            conf.bridge
        ))),
        _ => Ok(()),
    }
}

fn covers(net: &twill_kernel::IpPrefix, ip: &IpAddr) -> bool {
    match IpNet::new(net.addr(), net.len()) {
        Ok(n) => n.contains(*ip),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twill_cni::result::IpConfig;

    fn conf(gateway: bool, default: bool) -> BridgeConf {
        let c = serde_json::json!({"cniVersion": "1.0.0", "name": "n", "type": "bridge"});
        let net = twill_cni::config::NetConf::from_value(&c).unwrap();
        BridgeConf {
            net,
            bridge: "cni0".into(),
            is_gateway: gateway,
            is_default_gateway: default,
            force_address: false,
            mtu: None,
            hairpin: false,
            promisc: false,
            enable_dad: false,
            disable_container_interface: false,
            port_isolation: false,
            ipam: Some("host-local".into()),
            dns: None,
            mac: None,
            ip_masq: false,
            vlans: Default::default(),
        }
    }

    fn net(s: &str) -> IpNet {
        let (a, l) = s.split_once('/').unwrap();
        IpNet::new(a.parse().unwrap(), l.parse().unwrap()).unwrap()
    }

    #[test]
    fn gateways_default_to_the_first_address_and_add_default_routes() {
        let mut r = V1Result::new();
        r.ips.push(IpConfig::new(net("10.0.5.9/24")));
        r.ips
            .push(IpConfig::new(net("fd00::9/64")).with_gateway("fd00::fe".parse().unwrap()));
        r.ips.push(IpConfig::new(net("10.0.6.9/24")));
        let gws = calc_gateways(&mut r, &conf(true, true)).unwrap();
        let shown: Vec<String> = gws.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.5.1/24", "fd00::fe/64", "10.0.6.1/24"]);
        assert!(r.ips.iter().all(|ip| ip.interface == Some(CONTAINER_IFACE)));
        let routes: Vec<String> = r
            .routes
            .iter()
            .map(|r| format!("{} via {}", r.dst, r.gw.unwrap()))
            .collect();
        assert_eq!(routes, ["0.0.0.0/0 via 10.0.5.1", "::/0 via fd00::fe"]);
    }

    #[test]
    fn existing_default_route_and_no_gateway() {
        let mut r = V1Result::new();
        r.ips.push(IpConfig::new(net("10.0.5.9/24")));
        r.routes
            .push(V1Route::new(net("0.0.0.0/0")).via("10.0.5.254".parse().unwrap()));
        calc_gateways(&mut r, &conf(true, true)).unwrap();
        assert_eq!(r.routes.len(), 1);
        let mut r = V1Result::new();
        r.ips.push(IpConfig::new(net("10.0.5.9/24")));
        assert!(calc_gateways(&mut r, &conf(false, false))
            .unwrap()
            .is_empty());
        assert_eq!(r.ips[0].gateway, None);
    }
}
