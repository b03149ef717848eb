//! CHECK's shared steps: a veth named in `prevResult` exists with its MAC, and the
//! addresses and routes of `prevResult` are in the container.

use twill_cni::result::{V1Interface, V1Result};
use twill_cni::CniError;
use twill_kernel::route::TABLE_MAIN;
use twill_kernel::{Link, LinkId, Netlink};

use super::configure::prefix;
use super::error::{internal, kernel};

/// Whether `link` has the MAC `entry` records (any MAC when it records none).
pub fn mac_matches(entry: &V1Interface, link: &Link) -> bool {
    entry.mac.is_empty()
        || link
            .mac
            .is_some_and(|m| m.to_string().eq_ignore_ascii_case(&entry.mac))
}

/// The veth `entry` names, on `nl`'s side (`side` names it in errors: "Host",
/// "Container"), with the MAC `entry` records.
pub fn checked_veth(nl: &mut Netlink, entry: &V1Interface, side: &str) -> Result<Link, CniError> {
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

/// Every address of `result` on interface `index`, and every route of `result` in its
/// table (a route without gateway in the result matches any gateway).
pub fn check_ips_and_routes(
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
