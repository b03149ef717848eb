//! Everything twilld does to the kernel: find the underlay interface, keep the vxlan device,
//! observe and change the per-peer objects ([`KernelPlane`], the real [`Dataplane`]).
//!
//! All of it is synchronous (the kernel crate), run on the agent's kernel thread.

use std::net::IpAddr;
use std::path::Path;

use twill_kernel::neigh::NUD_PERMANENT;
use twill_kernel::route::TABLE_MAIN;
use twill_kernel::{
    Address, IpFamily, IpPrefix, LinkChange, LinkId, MacAddr, NeighFamily, Neighbour, Netlink,
    NewLink, Route, RouteProtocol, VxlanSpec,
};

use crate::dataplane::{Change, Dataplane, RouteEntry, State};
use crate::subnet::Range;

/// The interface pod traffic between nodes leaves by.
#[derive(Debug, Clone)]
pub struct Underlay {
    /// Its name.
    pub name: String,
    /// Its index.
    pub index: u32,
    /// Its MTU.
    pub mtu: u32,
    /// Its addresses with their prefixes.
    pub prefixes: Vec<IpPrefix>,
    /// The address published as `PublicIP` (`--public-ip`, else the interface's first IPv4).
    pub public_ip: Option<std::net::Ipv4Addr>,
    /// The address published as `PublicIPv6`.
    pub public_ipv6: Option<std::net::Ipv6Addr>,
}

/// Finds the underlay: `iface` is a name or one of its addresses; without one, the interface
/// of the default route (flanneld's rule).
pub fn find_underlay(
    nl: &mut Netlink,
    iface: Option<&str>,
    public_ip: Option<IpAddr>,
) -> Result<Underlay, String> {
    let addrs = nl.addr_list(None, None).map_err(|e| e.to_string())?;
    let index = match iface {
        Some(s) => match s.parse::<IpAddr>() {
            Ok(ip) => addrs
                .iter()
                .find(|a| a.prefix.addr() == ip)
                .map(|a| a.index)
                .ok_or_else(|| format!("--iface {s}: no interface has this address"))?,
            Err(_) => nl.link_index(s).map_err(|e| format!("--iface {s}: {e}"))?,
        },
        None => nl
            .route_list(None, Some(TABLE_MAIN))
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|r| r.dst.is_empty() && r.oif.is_some())
            .and_then(|r| r.oif)
            .ok_or("no --iface given and no default route to find the underlay by")?,
    };
    let link = nl
        .link_get(LinkId::Index(index))
        .map_err(|e| e.to_string())?;
    let prefixes: Vec<IpPrefix> = addrs
        .iter()
        .filter(|a| a.index == index && a.scope.0 == 0)
        .map(|a| a.prefix)
        .collect();
    let first = |f: IpFamily| {
        prefixes
            .iter()
            .map(IpPrefix::addr)
            .find(|a| IpFamily::of(a) == f)
    };
    let (mut v4, mut v6) = (first(IpFamily::V4), first(IpFamily::V6));
    match public_ip {
        Some(ip @ IpAddr::V4(_)) => v4 = Some(ip),
        Some(ip @ IpAddr::V6(_)) => v6 = Some(ip),
        None => {}
    }
    if v4.is_none() && v6.is_none() {
        return Err(format!("interface {} has no address to publish", link.name));
    }
    Ok(Underlay {
        name: link.name,
        index,
        mtu: link.mtu,
        prefixes,
        public_ip: v4.and_then(|a| match a {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        }),
        public_ipv6: v6.and_then(|a| match a {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        }),
    })
}

/// A random locally administered unicast MAC.
fn random_mac() -> MacAddr {
    let mut b = [0u8; 6];
    // SAFETY: getrandom writes at most 6 bytes into b.
    let _ = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    b[0] = (b[0] & 0xfe) | 0x02;
    MacAddr(b)
}

/// The VTEP MAC this node keeps across restarts: the one remembered in `file`, else a new
/// one, remembered. Peers hold it in their neighbour tables; if it changed at every restart
/// (flannel #1036, #1330, #1795) they would send to a MAC nobody answers until they caught up.
pub fn vtep_mac(file: &Path) -> MacAddr {
    if let Some(mac) = std::fs::read_to_string(file)
        .ok()
        .and_then(|s| s.trim().parse::<MacAddr>().ok())
    {
        return mac;
    }
    let mac = random_mac();
    // A failed write only costs the stability of the MAC over the next restart.
    let _ = crate::files::write_atomic(file, format!("{mac}\n").as_bytes(), 0o644);
    mac
}

/// The vxlan device as this node wants it.
#[derive(Debug, Clone)]
pub struct VxlanDevice {
    /// Name (`twill.<VNI>`).
    pub name: String,
    /// Kernel settings.
    pub spec: VxlanSpec,
    /// VTEP MAC.
    pub mac: MacAddr,
    /// MTU.
    pub mtu: u32,
    /// Addresses: each own subnet's first address, as a host prefix.
    pub addrs: Vec<IpPrefix>,
}

/// Makes the vxlan device exist as `want` says, touching nothing that already matches (a
/// restarted agent must not disturb live traffic). Returns its index.
pub fn ensure_vxlan(nl: &mut Netlink, want: &VxlanDevice) -> twill_kernel::Result<u32> {
    let name = want.name.as_str();
    let matches = match nl.vxlan_info(LinkId::Name(name)) {
        Ok(Some(info)) => info.matches(&want.spec),
        Ok(None) => false,
        Err(e) if e.is_not_found() => false,
        Err(e) => return Err(e),
    };
    if !matches {
        match nl.link_delete(LinkId::Name(name)) {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => {}
        }
        let spec = NewLink::vxlan(name, want.spec).mtu(want.mtu).mac(want.mac);
        nl.link_add(&spec)?;
    }
    let link = nl.link_get(LinkId::Name(name))?;
    let mut change = LinkChange::default();
    if link.mtu != want.mtu {
        change.mtu = Some(want.mtu);
    }
    if link.mac != Some(want.mac) {
        change.mac = Some(want.mac);
    }
    if !link.is_up() {
        change.up = Some(true);
    }
    if change.mtu.is_some() || change.mac.is_some() || change.up.is_some() {
        nl.link_set(LinkId::Index(link.index), &change)?;
    }
    let have = nl.addr_list(None, Some(link.index))?;
    for a in have.iter().filter(|a| a.scope.0 == 0) {
        if !want.addrs.contains(&a.prefix) {
            nl.addr_delete(a)?;
        }
    }
    for p in &want.addrs {
        if !have.iter().any(|a| a.prefix == *p) {
            nl.addr_replace(&Address::new(link.index, *p))?;
        }
    }
    Ok(link.index)
}

/// Deletes twilld's vxlan devices (`twill.<VNI>`) other than `keep`: after a change of
/// backend or VNI, or when leaving, a device of the old config would hold a stale address and
/// stale neighbours.
pub fn remove_stale_vxlan(nl: &mut Netlink, keep: Option<&str>) -> twill_kernel::Result<()> {
    for link in nl.link_list()? {
        let ours = link.kind.as_deref() == Some("vxlan") && link.name.starts_with("twill.");
        if ours && Some(link.name.as_str()) != keep {
            match nl.link_delete(LinkId::Index(link.index)) {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
    }
    Ok(())
}

/// The kernel as the reconciler sees it: the routes to other nodes' subnets in the main
/// table, and the permanent neighbours and FDB entries of the vxlan device.
#[derive(Debug)]
pub struct KernelPlane<'a> {
    /// The socket (in the agent's namespace).
    pub nl: &'a mut Netlink,
    /// The pod networks (routes inside them are ours to manage).
    pub networks: Vec<Range>,
    /// This node's subnets (never touched: the local bridge owns their routes).
    pub own: Vec<IpPrefix>,
    /// The vxlan device, when the backend has one.
    pub vxlan_dev: Option<u32>,
}

impl KernelPlane<'_> {
    fn owns_route(&self, r: &Route) -> bool {
        r.protocol != RouteProtocol::KERNEL
            && r.gateway.is_some()
            && r.oif.is_some()
            && !self
                .own
                .iter()
                .any(|o| o.network() == r.dst.network() && o.len() == r.dst.len())
            && self
                .networks
                .iter()
                .any(|n| n.contains(r.dst.addr()) && r.dst.len() >= n.network.len())
    }
}

impl Dataplane for KernelPlane<'_> {
    type Error = twill_kernel::Error;

    fn observe(&mut self) -> Result<State, Self::Error> {
        let mut s = State::default();
        for r in self.nl.route_list(None, Some(TABLE_MAIN))? {
            if let (true, Some(gateway), Some(dev)) = (self.owns_route(&r), r.gateway, r.oif) {
                s.route(RouteEntry {
                    dst: r.dst,
                    gateway,
                    dev,
                    onlink: r.onlink,
                });
            }
        }
        let Some(dev) = self.vxlan_dev else {
            return Ok(s);
        };
        for fam in [NeighFamily::Inet, NeighFamily::Inet6] {
            for n in self.nl.neigh_list(fam, Some(dev))? {
                if let (true, Some(ip), Some(mac)) = (n.has_state(NUD_PERMANENT), n.dst, n.lladdr) {
                    s.neigh(dev, ip, mac);
                }
            }
        }
        for n in self.nl.neigh_list(NeighFamily::Bridge, Some(dev))? {
            if let (Some(remote), Some(mac)) = (n.dst, n.lladdr) {
                // The all-zeros MAC is the flood list, which a nolearning device never
                // needs; a hand-added one is removed like any other stray entry.
                s.fdb(dev, mac, remote);
            }
        }
        Ok(s)
    }

    fn apply(&mut self, change: &Change) -> Result<(), Self::Error> {
        let gone_ok = |r: twill_kernel::Result<()>| match r {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        };
        match *change {
            Change::SetNeigh { dev, ip, mac } => {
                self.nl.neigh_replace(&Neighbour::arp(dev, ip, mac))
            }
            Change::DelNeigh { dev, ip } => {
                let mut n = Neighbour::arp(dev, ip, MacAddr([0; 6]));
                n.lladdr = None;
                gone_ok(self.nl.neigh_delete(&n))
            }
            Change::SetFdb { dev, mac, remote } => {
                self.nl.neigh_replace(&Neighbour::fdb(dev, mac, remote))
            }
            Change::DelFdb { dev, mac, remote } => {
                gone_ok(self.nl.neigh_delete(&Neighbour::fdb(dev, mac, remote)))
            }
            Change::SetRoute(r) => {
                let mut route = Route::new(r.dst).via(r.gateway).dev(r.dev);
                if r.onlink {
                    route = route.onlink();
                }
                self.nl.route_replace(&route)
            }
            Change::DelRoute(r) => gone_ok(
                self.nl
                    .route_delete(&Route::new(r.dst).via(r.gateway).dev(r.dev)),
            ),
        }
    }
}
