//! Putting an interface into a VRF and taking it out, inside the container.
//!
//! Enslaving cycles the interface: the kernel drops its routes from the main table (its
//! connected routes come back in the VRF's table by themselves) and its IPv6 addresses
//! unless `keep_addr_on_down`. So, as upstream's plugin does since v1.2, the interface's
//! routes of universe scope are read first and added to the VRF's table afterwards, and
//! IPv6 addresses that went are added back. (The reference v1.1.1 restores the addresses
//! only, losing e.g. a default route an IPAM gave.)

use std::collections::BTreeSet;

use twill_cni::CniError;
use twill_kernel::link_kinds::{Kind, KindInfo, LinkKind};
use twill_kernel::route::TABLE_MAIN;
use twill_kernel::{IpFamily, Link, LinkId, Netlink, Scope};

use crate::common::error::{internal, kernel};

/// The VRF `name` (created with `table`, or the first table from 1 no VRF uses, when
/// missing; up), then `ifname` into it.
pub fn add(nl: &mut Netlink, name: &str, table: Option<u32>, ifname: &str) -> Result<(), CniError> {
    let vrf = match find(nl, name)? {
        Some((vrf, have)) => {
            if table.is_some_and(|t| t != have) {
                return Err(internal(format!(
                    "VRF {name} already exist with different routing table {have}"
                )));
            }
            vrf
        }
        None => create(nl, name, table)?,
    };
    let dev = nl.link_get(LinkId::Name(ifname)).map_err(kernel)?;
    let v6_before = nl
        .addr_list(Some(IpFamily::V6), Some(dev.index))
        .map_err(kernel)?;
    let routes: Vec<_> = nl
        .route_list(None, Some(TABLE_MAIN))
        .map_err(kernel)?
        .into_iter()
        .filter(|r| {
            r.oif == Some(dev.index) && r.scope.unwrap_or(Scope::UNIVERSE) == Scope::UNIVERSE
        })
        .filter(|r| !r.dst.addr().is_ipv6() || !r.dst.addr().to_string().starts_with("fe80"))
        .collect();
    nl.link_set_master(LinkId::Index(dev.index), Some(vrf.index))
        .map_err(|e| internal(format!("could not add {ifname} to VRF {name}: {e}")))?;
    let v6_after = nl
        .addr_list(Some(IpFamily::V6), Some(dev.index))
        .map_err(kernel)?;
    for a in v6_before {
        if a.scope == Scope::UNIVERSE && !v6_after.iter().any(|b| b.prefix == a.prefix) {
            nl.addr_add(&a).map_err(|e| {
                internal(format!(
                    "could not restore address {} on {ifname}: {e}",
                    a.prefix
                ))
            })?;
        }
    }
    let vrf_table = match nl
        .link_kind_info(LinkId::Index(vrf.index))
        .map_err(kernel)?
    {
        KindInfo::Vrf { table } => table,
        _ => return Err(internal(format!("{name} is not a VRF"))),
    };
    for mut r in routes {
        r.table = vrf_table;
        match nl.route_add(&r) {
            Err(e) if !e.is_exists() => {
                return Err(internal(format!(
                    "could not move route {r} into VRF {name}: {e}"
                )))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Takes `ifname` out of VRF `name` and deletes the VRF when no interface is left in it.
pub fn del(nl: &mut Netlink, name: &str, ifname: &str) -> Result<(), CniError> {
    let Some((vrf, _)) = find(nl, name)? else {
        return Ok(());
    };
    match nl.link_get(LinkId::Name(ifname)) {
        Ok(dev) if dev.master == Some(vrf.index) => {
            nl.link_set_master(LinkId::Index(dev.index), None)
                .map_err(|e| internal(format!("could not take {ifname} out of VRF {name}: {e}")))?;
        }
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(kernel(e)),
    }
    let links = nl.link_list().map_err(kernel)?;
    if !links.iter().any(|l| l.master == Some(vrf.index)) {
        match nl.link_delete(LinkId::Index(vrf.index)) {
            Err(e) if !e.is_not_found() => return Err(kernel(e)),
            _ => {}
        }
    }
    Ok(())
}

/// The VRF `name` and its table; `None` when there is no link of that name. A link of that
/// name that is not a VRF is an error.
fn find(nl: &mut Netlink, name: &str) -> Result<Option<(Link, u32)>, CniError> {
    let link = match nl.link_get(LinkId::Name(name)) {
        Ok(l) => l,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(kernel(e)),
    };
    match nl
        .link_kind_info(LinkId::Index(link.index))
        .map_err(kernel)?
    {
        KindInfo::Vrf { table } => Ok(Some((link, table))),
        _ => Err(internal(format!("Netlink {name} is not a VRF"))),
    }
}

fn create(nl: &mut Netlink, name: &str, table: Option<u32>) -> Result<Link, CniError> {
    let table = match table {
        Some(t) => t,
        None => free_table(nl)?,
    };
    nl.link_add_kind(&LinkKind::new(name, Kind::Vrf { table }))
        .map_err(|e| internal(format!("could not add VRF {name}: {e}")))?;
    nl.link_set_up(LinkId::Name(name)).map_err(kernel)?;
    nl.link_get(LinkId::Name(name)).map_err(kernel)
}

/// The first table from 1 that no VRF of the namespace uses, as the reference picks it.
fn free_table(nl: &mut Netlink) -> Result<u32, CniError> {
    let mut taken = BTreeSet::new();
    for l in nl.link_list().map_err(kernel)? {
        if l.kind.as_deref() == Some("vrf") {
            if let KindInfo::Vrf { table } =
                nl.link_kind_info(LinkId::Index(l.index)).map_err(kernel)?
            {
                taken.insert(table);
            }
        }
    }
    (1..u32::MAX)
        .find(|t| !taken.contains(t))
        .ok_or_else(|| internal("no free routing table for a VRF"))
}
