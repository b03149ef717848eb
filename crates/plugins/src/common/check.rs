//! CHECK's shared steps: the container's namespace and `prevResult` read, the container's
//! interface found (kind, MAC), a veth named in `prevResult` exists with its MAC, and the
//! addresses and routes of `prevResult` are in the container.

use std::path::Path;

use serde_json::Value;
use twill_cni::result::{CniResult, V1Interface, V1Result};
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::route::TABLE_MAIN;
use twill_kernel::{Link, LinkId, NetNs, Netlink};

use super::configure::prefix;
use super::error::{internal, kernel};
use super::{ipam, netns};

/// CHECK's error when the configuration has no `prevResult`.
pub const PREV_MISSING: &str = "Required prevResult missing";

/// What CHECK has read before it looks at any link.
#[derive(Debug)]
pub struct Begun<'a> {
    /// `CNI_NETNS`.
    pub path: &'a Path,
    /// The container's namespace.
    pub container: NetNs,
    /// `prevResult`, as the latest version.
    pub result: V1Result,
}

/// CHECK's opening, in the order every plugin takes it: the container's namespace opened,
/// IPAM CHECK (when there is an IPAM), then `prevResult` (`missing` is the error's message
/// when there is none).
pub fn begin<'a>(
    args: &'a CmdArgs,
    ipam_type: Option<&str>,
    prev: Option<&Value>,
    missing: &str,
) -> Result<Begun<'a>, CniError> {
    let path = netns::path(args)?;
    let container = netns::open(args)?;
    if let Some(t) = ipam_type {
        ipam::check(t, args)?;
    }
    let prev = prev.ok_or_else(|| internal(missing))?;
    let result = CniResult::from_value_at(prev, "prevResult", args.version)?.into_latest();
    Ok(Begun {
        path,
        container,
        result,
    })
}

/// CHECK inside the container, for a plugin whose result names `CNI_IFNAME` in this
/// sandbox.
#[derive(Debug)]
pub struct Inside {
    /// A socket in the container's namespace.
    pub nl: Netlink,
    /// `prevResult`, as the latest version.
    pub result: V1Result,
    /// `prevResult`'s entry for `CNI_IFNAME` in this sandbox.
    pub entry: V1Interface,
}

/// [`begin`], then `prevResult`'s entry for `CNI_IFNAME` in this sandbox (an error when
/// there is none), then a socket in the container.
pub fn enter(
    args: &CmdArgs,
    ipam_type: Option<&str>,
    prev: Option<&Value>,
    missing: &str,
) -> Result<Inside, CniError> {
    let Begun {
        path,
        container,
        result,
    } = begin(args, ipam_type, prev, missing)?;
    let entry = own_entry(args, path, &result)?;
    let (nl, ()) = netns::enter(&container, path, || ())?;
    Ok(Inside { nl, result, entry })
}

/// `result`'s entry for `CNI_IFNAME` in the sandbox at `path`; an error when it has none.
pub fn own_entry(args: &CmdArgs, path: &Path, result: &V1Result) -> Result<V1Interface, CniError> {
    let sandbox = path.to_string_lossy();
    result
        .interfaces
        .iter()
        .find(|i| i.name == args.ifname && i.sandbox == sandbox)
        .cloned()
        .ok_or_else(|| {
            internal(format!(
                "Sandbox in prevResult doesn't match configured netns: {sandbox}"
            ))
        })
}

/// The error when the container's interface `ifname` cannot be read.
pub fn not_found(ifname: &str, e: impl std::fmt::Display) -> CniError {
    internal(format!(
        "Container Interface name in prevResult: {ifname} not found: {e}"
    ))
}

/// The container's interface `ifname`.
pub fn container_link(nl: &mut Netlink, ifname: &str) -> Result<Link, CniError> {
    nl.link_get(LinkId::Name(ifname))
        .map_err(|e| not_found(ifname, e))
}

/// An error unless `link` (the container's `ifname`) is of `kind`.
pub fn check_kind(link: &Link, ifname: &str, kind: &str) -> Result<(), CniError> {
    if link.kind.as_deref() != Some(kind) {
        return Err(internal(format!(
            "Error: Container interface {ifname} not of type {kind}"
        )));
    }
    Ok(())
}

/// An error unless `link` (the container's `ifname`) has the MAC `entry` records; the
/// message gives both.
pub fn check_mac(entry: &V1Interface, link: &Link, ifname: &str) -> Result<(), CniError> {
    if !mac_matches(entry, link) {
        return Err(internal(format!(
            "Interface {ifname} Mac {} doesn't match container Mac: {}",
            entry.mac,
            link.mac.map(|m| m.to_string()).unwrap_or_default()
        )));
    }
    Ok(())
}

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
