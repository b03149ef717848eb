//! The desired data plane: a pure function of the network config, this node and the peers'
//! leases. No I/O, so every backend's rendering is unit-tested without a kernel.

use std::net::IpAddr;

use twill_kernel::{IpFamily, IpPrefix};

use crate::acquire::lease_fits;
use crate::config::{BackendType, NetworkConfig};
use crate::dataplane::{RouteEntry, State};
use crate::lease::Lease;
use crate::subnet::nth_addr;

/// This node, as the renderer needs it.
#[derive(Debug, Clone)]
pub struct Local {
    /// Our subnets (never routed to a peer).
    pub ipv4: Option<IpPrefix>,
    /// Our IPv6 subnet.
    pub ipv6: Option<IpPrefix>,
    /// The underlay interface's index.
    pub underlay_dev: u32,
    /// The underlay interface's addresses with their prefixes: a peer whose public address
    /// is inside one of them is on our link (host-gw, DirectRouting).
    pub underlay_prefixes: Vec<IpPrefix>,
    /// The vxlan device's index (vxlan backend).
    pub vxlan_dev: Option<u32>,
}

impl Local {
    fn on_link(&self, addr: IpAddr) -> bool {
        self.underlay_prefixes.iter().any(|p| {
            p.family() == IpFamily::of(&addr)
                && IpPrefix::new(addr, p.len()).is_ok_and(|a| a.network() == p.network())
        })
    }

    fn is_own(&self, subnet: &IpPrefix) -> bool {
        Some(*subnet) == self.ipv4 || Some(*subnet) == self.ipv6
    }
}

/// The state to reach, and the peers that cannot be routed (reported, never half-routed).
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// Objects that should exist.
    pub state: State,
    /// Why some peers are not routed.
    pub unroutable: Vec<String>,
    /// How many peers (other nodes' leases) were considered.
    pub peers: usize,
}

/// The peer's underlay address of the family of `subnet`, for a plain route to it.
fn gateway_for(lease: &Lease, subnet: &IpPrefix) -> Option<IpAddr> {
    match subnet.family() {
        IpFamily::V4 => lease.attrs.public_ip.map(IpAddr::V4),
        IpFamily::V6 => lease.attrs.public_ipv6.map(IpAddr::V6),
    }
}

/// Renders the desired state for `peers` (all leases; ours and foreign ones are skipped).
pub fn render(config: &NetworkConfig, local: &Local, leases: &[Lease]) -> Desired {
    let mut d = Desired::default();
    let kind = config.backend.kind;
    for lease in leases {
        let subnets: Vec<IpPrefix> = lease
            .ipv4
            .iter()
            .chain(lease.ipv6.iter())
            .copied()
            .collect();
        if subnets.iter().any(|s| local.is_own(s)) {
            continue;
        }
        d.peers += 1;
        let key = lease.key();
        if !lease_fits(config, lease.ipv4.as_ref(), lease.ipv6.as_ref()) {
            d.unroutable
                .push(format!("lease {key}: outside the network config"));
            continue;
        }
        if lease.attrs.backend_type != kind.name() {
            d.unroutable.push(format!(
                "lease {key}: backend {:?}, this node runs {}",
                lease.attrs.backend_type,
                kind.name()
            ));
            continue;
        }
        match kind {
            BackendType::Vxlan => vxlan(config, local, lease, &subnets, &mut d),
            BackendType::HostGw => host_gw(local, lease, &subnets, &mut d),
            // The udp backend routes the whole network to its TUN device and looks peers
            // up in userspace: nothing per peer in the kernel.
            BackendType::Udp => {}
        }
    }
    d
}

fn direct_route(local: &Local, lease: &Lease, subnet: &IpPrefix) -> Option<RouteEntry> {
    let gw = gateway_for(lease, subnet)?;
    local.on_link(gw).then_some(RouteEntry {
        dst: *subnet,
        gateway: gw,
        dev: local.underlay_dev,
        onlink: false,
    })
}

fn host_gw(local: &Local, lease: &Lease, subnets: &[IpPrefix], d: &mut Desired) {
    for s in subnets {
        match direct_route(local, lease, s) {
            Some(r) => d.state.route(r),
            None => d.unroutable.push(format!(
                "lease {}: host-gw needs the peer on our link, and {} is not",
                lease.key(),
                gateway_for(lease, s).map_or_else(|| "no address".into(), |a| a.to_string())
            )),
        }
    }
}

fn vxlan(
    config: &NetworkConfig,
    local: &Local,
    lease: &Lease,
    subnets: &[IpPrefix],
    d: &mut Desired,
) {
    let key = lease.key();
    let (Some(dev), Some(mac), Some(remote)) = (
        local.vxlan_dev,
        lease.attrs.vtep_mac,
        lease.attrs.underlay(),
    ) else {
        d.unroutable
            .push(format!("lease {key}: no VtepMAC or public address"));
        return;
    };
    let mut tunnelled = false;
    for s in subnets {
        if config.backend.direct_routing {
            if let Some(r) = direct_route(local, lease, s) {
                d.state.route(r);
                continue;
            }
        }
        // The peer's VTEP answers for its subnet's first address: a permanent neighbour
        // resolves it to the VTEP MAC, the FDB sends that MAC to the peer's underlay.
        let vtep = nth_addr(s, 0);
        d.state.neigh(dev, vtep, mac);
        d.state.route(RouteEntry {
            dst: *s,
            gateway: vtep,
            dev,
            onlink: true,
        });
        tunnelled = true;
    }
    if tunnelled {
        d.state.fdb(dev, mac, remote);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::lease::Attrs;
    use twill_kernel::MacAddr;

    fn config(text: &str) -> NetworkConfig {
        NetworkConfig::parse(text.as_bytes()).unwrap()
    }

    fn lease(n: u8, backend: &str, v6: bool) -> Lease {
        Lease {
            ipv4: Some(format!("10.244.{n}.0/24").parse().unwrap()),
            ipv6: v6.then(|| format!("fd00:0:0:{n}::/64").parse().unwrap()),
            attrs: Attrs {
                public_ip: Some(
                    format!("198.18.{}.{n}", if n > 100 { 9 } else { 0 })
                        .parse()
                        .unwrap(),
                ),
                public_ipv6: None,
                backend_type: backend.into(),
                vni: Some(1),
                vtep_mac: Some(MacAddr([2, 0, 0, 0, 0, n])),
            },
            ttl: None,
        }
    }

    fn local() -> Local {
        Local {
            ipv4: Some("10.244.1.0/24".parse().unwrap()),
            ipv6: Some("fd00:0:0:1::/64".parse().unwrap()),
            underlay_dev: 2,
            underlay_prefixes: vec!["198.18.0.1/24".parse().unwrap()],
            vxlan_dev: Some(9),
        }
    }

    #[test]
    fn vxlan_peers_get_neighbour_fdb_and_onlink_route_and_we_are_skipped() {
        let c = config(r#"{"Network":"10.244.0.0/16"}"#);
        let d = render(
            &c,
            &local(),
            &[lease(1, "vxlan", false), lease(2, "vxlan", false)],
        );
        assert_eq!(d.peers, 1);
        assert!(d.unroutable.is_empty());
        let r = d.state.routes.values().next().unwrap();
        assert_eq!(r.dst.to_string(), "10.244.2.0/24");
        assert_eq!(r.gateway.to_string(), "10.244.2.0");
        assert!(r.onlink && r.dev == 9);
        assert_eq!(d.state.neighs.len(), 1);
        assert_eq!(
            d.state.fdb.values().next().unwrap().to_string(),
            "198.18.0.2"
        );
    }

    #[test]
    fn dual_stack_vxlan_routes_both_families_through_one_vtep() {
        let c =
            config(r#"{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00::/48"}"#);
        let d = render(&c, &local(), &[lease(2, "vxlan", true)]);
        assert_eq!(d.state.routes.len(), 2);
        assert_eq!(d.state.neighs.len(), 2);
        assert_eq!(d.state.fdb.len(), 1);
    }

    #[test]
    fn direct_routing_uses_plain_routes_on_our_link_only() {
        let c = config(r#"{"Network":"10.244.0.0/16","Backend":{"DirectRouting":true}}"#);
        let d = render(
            &c,
            &local(),
            &[lease(2, "vxlan", false), lease(102, "vxlan", false)],
        );
        let near = d
            .state
            .routes
            .get(&("10.244.2.0".parse().unwrap(), 24))
            .unwrap();
        assert_eq!(
            (near.gateway.to_string(), near.dev, near.onlink),
            ("198.18.0.2".into(), 2, false)
        );
        let far = d
            .state
            .routes
            .get(&("10.244.102.0".parse().unwrap(), 24))
            .unwrap();
        assert_eq!(far.dev, 9);
        assert_eq!(
            d.state.fdb.len(),
            1,
            "only the tunnelled peer needs an FDB entry"
        );
    }

    #[test]
    fn host_gw_reports_peers_off_link_instead_of_half_routing_them() {
        let c = config(r#"{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}"#);
        let d = render(
            &c,
            &local(),
            &[lease(2, "host-gw", false), lease(102, "host-gw", false)],
        );
        assert_eq!(d.state.routes.len(), 1);
        assert!(d.state.neighs.is_empty() && d.state.fdb.is_empty());
        assert_eq!(d.unroutable.len(), 1);
        assert!(
            d.unroutable[0].contains("198.18.9.102"),
            "{:?}",
            d.unroutable
        );
    }

    #[test]
    fn foreign_backends_and_misfit_leases_are_reported() {
        let c = config(r#"{"Network":"10.244.0.0/16"}"#);
        let mut odd = lease(3, "vxlan", false);
        odd.ipv4 = Some("10.9.0.0/24".parse().unwrap());
        let d = render(&c, &local(), &[lease(2, "host-gw", false), odd]);
        assert!(d.state.is_empty());
        assert_eq!(d.unroutable.len(), 2);
    }
}
