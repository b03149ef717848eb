//! CHECK: the IPAM reservation (delegated), then what ADD created against the kernel: the
//! bridge (kind, MAC, promiscuous mode), the container's veth and its host peer attached to
//! the bridge, and the addresses and routes of `prevResult` inside the container.

use twill_cni::result::{CniResult, V1Interface, V1Result};
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::link_ext::IFF_PROMISC;
use twill_kernel::route::TABLE_MAIN;
use twill_kernel::{Link, LinkId, Netlink};

use super::config::BridgeConf;
use crate::common::configure::prefix;
use crate::common::error::{internal, kernel};
use crate::common::{ipam, netns};

/// Runs CHECK.
pub fn check(args: &CmdArgs) -> Result<(), CniError> {
    let conf = BridgeConf::parse(args)?;
    let path = netns::path(args)?;
    let container = netns::open(args)?;
    if let Some(t) = &conf.ipam {
        ipam::check(t, args)?;
    }
    let prev = conf
        .net
        .plugin
        .prev_result
        .as_ref()
        .ok_or_else(|| internal("Required prevResult missing"))?;
    let result = CniResult::from_value_at(prev, "prevResult", args.version)?.into_latest();
    let sandbox = path.to_string_lossy();
    let named = |name: &str| result.interfaces.iter().find(|i| i.name == name);
    let br_entry = named(&conf.bridge).cloned().unwrap_or_default();
    let cont_entry = result
        .interfaces
        .iter()
        .find(|i| i.name == args.ifname && i.sandbox == sandbox)
        .cloned()
        .unwrap_or_default();

    let mut host = Netlink::open().map_err(kernel)?;
    let bridge = check_bridge(&mut host, &conf, &br_entry)?;
    if cont_entry.sandbox != sandbox {
        return Err(internal(format!(
            "Sandbox in prevResult {} doesn't match configured netns: {sandbox}",
            cont_entry.sandbox
        )));
    }
    let (mut nl, ()) = netns::enter(&container, path, || ())?;
    let cont = checked_veth(&mut nl, &cont_entry, "Container")?;

    let mut found = false;
    for entry in result.interfaces.iter() {
        if entry.name == br_entry.name || !entry.sandbox.is_empty() {
            continue;
        }
        let veth = checked_veth(&mut host, entry, "Host")?;
        // Peers name each other's index (in the other namespace): both must agree.
        if veth.link != Some(cont.index) || cont.link != Some(veth.index) {
            continue;
        }
        if veth.master != Some(bridge.index) {
            return Err(internal(format!(
                "Interface {} not attached to bridge {}",
                entry.name, conf.bridge
            )));
        }
        found = true;
        break;
    }
    if !found {
        return Err(internal(format!(
            "CNI veth created for bridge {} was not found",
            conf.bridge
        )));
    }
    check_ips_and_routes(&mut nl, &args.ifname, cont.index, &result)
}

fn mac_matches(entry: &V1Interface, link: &Link) -> bool {
    entry.mac.is_empty()
        || link
            .mac
            .is_some_and(|m| m.to_string().eq_ignore_ascii_case(&entry.mac))
}

fn check_bridge(
    host: &mut Netlink,
    conf: &BridgeConf,
    entry: &V1Interface,
) -> Result<Link, CniError> {
    if entry.name.is_empty() {
        return Err(internal("Bridge interface name missing"));
    }
    let link = host
        .link_get(LinkId::Name(&entry.name))
        .map_err(|e| internal(format!("Error: Bridge {} not found: {e}", entry.name)))?;
    if link.kind.as_deref() != Some("bridge") {
        return Err(internal(format!("Error: {} is not a bridge", entry.name)));
    }
    // Only a pinned MAC (set by a gateway ADD) is stable: an unpinned bridge takes its
    // lowest port's MAC, which changes whenever another pod joins or leaves.
    let pinned = conf.is_gateway && conf.ipam.is_some();
    if pinned && !mac_matches(entry, &link) {
        return Err(internal(format!(
            "Bridge interface {} Mac doesn't match: {}",
            entry.name, entry.mac
        )));
    }
    if conf.promisc && link.flags & IFF_PROMISC == 0 {
        return Err(internal(format!(
            "Bridge interface {} not in promiscuous mode",
            entry.name
        )));
    }
    Ok(link)
}

fn checked_veth(nl: &mut Netlink, entry: &V1Interface, side: &str) -> Result<Link, CniError> {
    if entry.name.is_empty() {
        return Err(internal(format!(
            "{side} interface name missing in prevResult"
        )));
    }
    let link = nl.link_get(LinkId::Name(&entry.name)).map_err(|e| {
        internal(format!(
            "Error: {side} interface {} not found: {e}",
            entry.name
        ))
    })?;
    if link.kind.as_deref() != Some("veth") {
        return Err(internal(format!("Error: {} is not a veth", entry.name)));
    }
    if !mac_matches(entry, &link) {
        return Err(internal(format!(
            "{side} interface {} Mac {} doesn't match",
            entry.name, entry.mac
        )));
    }
    Ok(link)
}

fn check_ips_and_routes(
    nl: &mut Netlink,
    ifname: &str,
    index: u32,
    result: &V1Result,
) -> Result<(), CniError> {
    let addrs = nl.addr_list(None, Some(index)).map_err(kernel)?;
    for ip in &result.ips {
        let want = prefix(&ip.address)?;
        if !addrs.iter().any(|a| a.prefix == want) {
            return Err(internal(format!(
                "Failed to match addr {} on interface {ifname}",
                ip.address
            )));
        }
    }
    let routes = nl.route_list(None, None).map_err(kernel)?;
    for r in &result.routes {
        let dst = prefix(&r.dst)?.network();
        let table = r.table.unwrap_or(TABLE_MAIN);
        let found = routes
            .iter()
            .any(|k| k.dst == dst && k.table == table && (r.gw.is_none() || k.gateway == r.gw));
        if !found {
            let via = r.gw.map(|g| format!(" via {g}")).unwrap_or_default();
            return Err(internal(format!(
                "Expected Route {}{via} not found in routing table",
                r.dst
            )));
        }
    }
    Ok(())
}
