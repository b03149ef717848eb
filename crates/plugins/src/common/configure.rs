//! Configuring an interface inside the container from a result: sysctls, addresses, link
//! up, routes — what the reference plugins' `ConfigureIface` does, on a socket already open
//! in the container's namespace.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use twill_cni::result::{IpConfig, IpNet, V1Result, V1Route};
use twill_cni::CniError;
use twill_kernel::route::Route;
use twill_kernel::{sysctl, AddrFlags, Address, IpFamily, IpPrefix, LinkId, Netlink, Scope};

use super::error::{internal, kernel};

/// How long to wait for IPv6 duplicate address detection, as the reference does.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);
const SETTLE_POLL: Duration = Duration::from_millis(20);

/// The container-side sysctls that must be written before the interface is configured.
#[derive(Debug, Clone, Copy)]
pub struct IfaceSysctls<'a> {
    /// The interface.
    pub ifname: &'a str,
    /// Run IPv6 duplicate address detection (`accept_dad=1`, `enhanced_dad=1`) or not;
    /// `None` leaves the kernel's setting alone.
    pub dad: Option<bool>,
    /// Announce address changes with gratuitous ARP (`arp_notify=1`).
    pub arp_notify: bool,
    /// An IPv6 address will be added: make sure IPv6 is on for `lo` and the interface, and
    /// keep addresses when the link goes down.
    pub ipv6: bool,
}

/// Writes the sysctls. Must run on a thread inside the container's namespace. Like the
/// reference, failures of the DAD and ARP knobs are ignored (a kernel without IPv6 has no
/// `accept_dad`), while failing to turn IPv6 on when an IPv6 address follows is an error.
pub fn write_sysctls(s: &IfaceSysctls<'_>) -> Result<(), String> {
    let conf6 = |iface: &str, key: &str| format!("net/ipv6/conf/{iface}/{key}");
    match s.dad {
        Some(true) => {
            let _ = sysctl::write(&conf6(s.ifname, "enhanced_dad"), "1");
            let _ = sysctl::write(&conf6(s.ifname, "accept_dad"), "1");
        }
        Some(false) => {
            let _ = sysctl::write(&conf6(s.ifname, "accept_dad"), "0");
        }
        None => {}
    }
    if s.arp_notify {
        let _ = sysctl::write(&format!("net/ipv4/conf/{}/arp_notify", s.ifname), "1");
    }
    if s.ipv6 {
        for iface in ["lo", s.ifname] {
            let key = conf6(iface, "disable_ipv6");
            // Unreadable means no IPv6 support at all; the address add will say so.
            match sysctl::read(&key) {
                Ok(v) if v != "0" => sysctl::write(&key, "0").map_err(|e| {
                    format!("failed to enable IPv6 for interface {iface:?} ({key}={v}): {e}")
                })?,
                _ => {}
            }
        }
        let _ = sysctl::write(&conf6(s.ifname, "keep_addr_on_down"), "1");
    }
    Ok(())
}

/// A result address as a kernel prefix.
pub fn prefix(net: &IpNet) -> Result<IpPrefix, CniError> {
    IpPrefix::new(net.addr(), net.prefix_len()).map_err(|e| internal(e.to_string()))
}

/// An interface address; IPv4 ones get the subnet's broadcast address when it has one, as
/// iproute2 and Go's netlink library add it.
pub fn address(index: u32, p: IpPrefix) -> Address {
    let addr = Address::new(index, p);
    match p.addr() {
        IpAddr::V4(a) if p.len() < 31 => {
            let host = u32::MAX.checked_shr(u32::from(p.len())).unwrap_or(0);
            addr.with_broadcast((u32::from(a) | host).into())
        }
        _ => addr,
    }
}

/// The addresses of `result` that belong to interface `ifname`: entries without an
/// interface index are skipped, an index naming another interface is an error.
pub fn addresses_for<'r>(
    result: &'r V1Result,
    ifname: &str,
) -> Result<Vec<&'r IpConfig>, CniError> {
    let mut mine = Vec::new();
    for ip in &result.ips {
        let Some(idx) = ip.interface else { continue };
        let named = usize::try_from(idx)
            .ok()
            .and_then(|i| result.interfaces.get(i))
            .map(|i| i.name.as_str());
        if named != Some(ifname) {
            return Err(internal(format!(
                "failed to add IP addr {} to {ifname:?}: invalid interface index",
                ip.address
            )));
        }
        mine.push(ip);
    }
    Ok(mine)
}

/// The first gateway of each family among a result's addresses: where routes without a
/// gateway of their own go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gateways {
    /// The first IPv4 gateway.
    pub v4: Option<IpAddr>,
    /// The first IPv6 gateway.
    pub v6: Option<IpAddr>,
}

impl Gateways {
    /// The first gateway of each family in `ips`.
    pub fn of(ips: &[&IpConfig]) -> Gateways {
        let mut gws = Gateways::default();
        for ip in ips {
            match ip.gateway {
                Some(gw @ IpAddr::V4(_)) if gws.v4.is_none() => gws.v4 = Some(gw),
                Some(gw @ IpAddr::V6(_)) if gws.v6.is_none() => gws.v6 = Some(gw),
                _ => {}
            }
        }
        gws
    }
}

/// Adds `ips` to interface `index`, brings it up, waits for IPv6 DAD when `settle` and an
/// IPv6 gateway is present, and adds `routes` (a route without gateway goes through the
/// first gateway of its family).
pub fn configure_iface(
    nl: &mut Netlink,
    index: u32,
    ifname: &str,
    ips: &[&IpConfig],
    routes: &[V1Route],
    settle: bool,
) -> Result<(), CniError> {
    add_addresses(nl, index, ifname, ips, AddrFlags::default())?;
    nl.link_set_up(LinkId::Index(index)).map_err(kernel)?;
    let gateways = Gateways::of(ips);
    if settle && gateways.v6.is_some() {
        settle_addresses(nl, index, ifname)?;
    }
    add_routes(nl, index, ifname, routes, gateways)
}

/// Adds `ips` to interface `index` with `flags` (IPv4 ones with their broadcast address).
pub fn add_addresses(
    nl: &mut Netlink,
    index: u32,
    ifname: &str,
    ips: &[&IpConfig],
    flags: AddrFlags,
) -> Result<(), CniError> {
    for ip in ips {
        let addr = address(index, prefix(&ip.address)?).with_flags(flags);
        nl.addr_add(&addr).map_err(|e| {
            internal(format!(
                "failed to add IP addr {} to {ifname:?}: {e}",
                ip.address
            ))
        })?;
    }
    Ok(())
}

/// Adds `routes` on interface `index`; one without a gateway goes through `gateways`' of its
/// family, as the reference does.
pub fn add_routes(
    nl: &mut Netlink,
    index: u32,
    ifname: &str,
    routes: &[V1Route],
    gateways: Gateways,
) -> Result<(), CniError> {
    for r in routes {
        let dst = prefix(&r.dst)?.network();
        let gw = r.gw.or(match dst.family() {
            IpFamily::V4 => gateways.v4,
            IpFamily::V6 => gateways.v6,
        });
        let route = kernel_route(r, dst, gw, index);
        nl.route_add(&route).map_err(|e| {
            let via = gw.map_or("<nil>".to_owned(), |g| g.to_string());
            internal(format!(
                "failed to add route '{} via {via} dev {ifname}': {e}",
                r.dst
            ))
        })?;
    }
    Ok(())
}

/// A result route as a kernel route on interface `index`. `mtu` and `advmss` (1.1.0) are
/// not applied: the kernel crate has no route metrics yet.
fn kernel_route(r: &V1Route, dst: IpPrefix, gw: Option<IpAddr>, index: u32) -> Route {
    let mut route = Route::new(dst).dev(index);
    if let Some(gw) = gw.filter(|g| IpFamily::of(g) == dst.family()) {
        route = route.via(gw);
    }
    if let Some(table) = r.table {
        route = route.table(table);
    }
    if let Some(scope) = r.scope {
        route = route.scope(Scope(scope));
    }
    if r.priority != 0 {
        route = route.metric(r.priority);
    }
    route
}

/// Waits until no IPv6 address of the interface is tentative (DAD finished), bounded.
fn settle_addresses(nl: &mut Netlink, index: u32, ifname: &str) -> Result<(), CniError> {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let addrs = nl
            .addr_list(Some(IpFamily::V6), Some(index))
            .map_err(kernel)?;
        if let Some(failed) = addrs
            .iter()
            .find(|a| a.flags.contains(AddrFlags::DADFAILED))
        {
            return Err(internal(format!(
                "link {ifname} has address {} in DADFAILED state",
                failed.prefix
            )));
        }
        if !addrs.iter().any(|a| a.flags.contains(AddrFlags::TENTATIVE)) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(internal(format!(
                "link {ifname} still has tentative addresses after {SETTLE_TIMEOUT:?}"
            )));
        }
        std::thread::sleep(SETTLE_POLL);
    }
}
