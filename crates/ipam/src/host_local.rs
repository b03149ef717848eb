//! host-local's commands over the store: ADD, DEL, CHECK and GC.

use std::net::IpAddr;

use twill_cni::config::GcAttachment;
use twill_cni::result::{IpConfig, V1Result};

use crate::addr::Addr;
use crate::allocator::{allocate, reserve_requested};
use crate::config::{HostLocalConf, StoreConf};
use crate::error::IpamError;
use crate::resolv;
use crate::store::{Entry, Owner, Store};

/// ADD: one address from every range set (the requested one where a request falls in the
/// set), all or nothing. Fails when the attachment already holds an address of a set.
pub fn add(conf: &HostLocalConf, container_id: &str, ifname: &str) -> Result<V1Result, IpamError> {
    // Read before anything is reserved, so a bad resolvConf leaves nothing behind.
    let dns = match &conf.resolv_conf {
        Some(path) => resolv::read(path)?,
        None => Default::default(),
    };
    let store = Store::open(&conf.store)?;
    let held = held_by(&store, container_id, ifname)?;
    for set in &conf.range_sets {
        if let Some(ip) = held
            .iter()
            .find(|ip| set.range_for(Addr::from_ip(**ip)).is_some())
        {
            return Err(IpamError::Duplicate {
                ip: *ip,
                container_id: container_id.to_owned(),
            });
        }
    }

    let claimer = store.claimer(container_id, ifname)?;
    let mut reserved: Vec<IpAddr> = Vec::with_capacity(conf.range_sets.len());
    let mut result = V1Result::new();
    for (index, set) in conf.range_sets.iter().enumerate() {
        let wanted = conf
            .requested
            .iter()
            .copied()
            .find(|ip| set.range_for(Addr::from_ip(*ip)).is_some());
        let outcome = match wanted {
            Some(ip) => reserve_requested(&store, &claimer, set, index, ip),
            None => allocate(&store, &claimer, set, index),
        };
        match outcome {
            Ok((addr, range)) => {
                reserved.push(addr.ip());
                result.add_ip(
                    IpConfig::new(range.with_prefix(addr)).with_gateway(range.gateway_ip()),
                );
            }
            Err(e) => {
                // Only what this ADD reserved is given back; earlier holdings are untouched.
                for ip in &reserved {
                    let _ = store.release(*ip);
                }
                return Err(e);
            }
        }
    }
    result.routes.clone_from(&conf.routes);
    result.dns = dns;
    Ok(result)
}

/// The addresses the attachment holds: files written for exactly it, or in the old ID-only
/// format for its container.
fn held_by(store: &Store, container_id: &str, ifname: &str) -> Result<Vec<IpAddr>, IpamError> {
    Ok(store
        .entries()?
        .into_iter()
        .filter_map(|e| match e {
            Entry::Reservation(ip, o)
                if o.is(container_id, ifname) || o.is_legacy_of(container_id) =>
            {
                Some(ip)
            }
            _ => None,
        })
        .collect())
}

/// DEL: releases every address of the attachment in the network, whatever range it came
/// from. Old ID-only reservations of the container are released when no exact one exists (as
/// the reference does). Succeeds when nothing is held or the directory does not exist.
pub fn del(conf: &StoreConf, container_id: &str, ifname: &str) -> Result<Vec<IpAddr>, IpamError> {
    let Some(store) = Store::open_existing(conf)? else {
        return Ok(Vec::new());
    };
    let entries = store.entries()?;
    let pick = |legacy: bool| -> Vec<IpAddr> {
        entries
            .iter()
            .filter_map(|e| match e {
                Entry::Reservation(ip, o) if !legacy && o.is(container_id, ifname) => Some(*ip),
                Entry::Reservation(ip, o) if legacy && o.is_legacy_of(container_id) => Some(*ip),
                _ => None,
            })
            .collect()
    };
    let mut released = pick(false);
    if released.is_empty() {
        released = pick(true);
    }
    let mut failures = Vec::new();
    for ip in &released {
        if let Err(e) = store.release(*ip) {
            failures.push(e.to_string());
        }
    }
    remove_temps(&store, &entries, &mut failures);
    if failures.is_empty() {
        Ok(released)
    } else {
        Err(IpamError::Release(failures))
    }
}

/// CHECK: every address of the previous result that lies in one of the configured subnets is
/// reserved for this attachment, and the attachment holds at least one reservation.
pub fn check(
    conf: &HostLocalConf,
    container_id: &str,
    ifname: &str,
    prev: Option<&V1Result>,
) -> Result<(), IpamError> {
    let nothing = || IpamError::NothingHeld {
        container_id: container_id.to_owned(),
        ifname: ifname.to_owned(),
    };
    let Some(store) = Store::open_existing(&conf.store)? else {
        return Err(nothing());
    };
    let ours = |o: &Owner| o.is(container_id, ifname) || o.is_legacy_of(container_id);
    let mut verified = 0usize;
    for ip in prev.map(|p| p.ips.as_slice()).unwrap_or_default() {
        let addr = ip.address.addr();
        if !conf
            .range_sets
            .iter()
            .any(|s| s.subnet_for(Addr::from_ip(addr)).is_some())
        {
            continue;
        }
        match store.owner_of(addr)? {
            Some(o) if ours(&o) => verified += 1,
            _ => {
                return Err(IpamError::NotHeld {
                    ip: addr,
                    container_id: container_id.to_owned(),
                    ifname: ifname.to_owned(),
                })
            }
        }
    }
    if verified == 0 && held_by(&store, container_id, ifname)?.is_empty() {
        return Err(nothing());
    }
    Ok(())
}

/// What a GC removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Reservations released.
    pub released: Vec<IpAddr>,
    /// Temporary files of killed processes removed.
    pub temp_files: usize,
}

/// GC: releases every reservation whose attachment is not in `valid` (an old ID-only one
/// stays while its container has any valid attachment), and every leftover temporary file.
/// Continues past failures and reports them all at the end.
pub fn gc(conf: &StoreConf, valid: &[GcAttachment]) -> Result<GcReport, IpamError> {
    let Some(store) = Store::open_existing(conf)? else {
        return Ok(GcReport::default());
    };
    let entries = store.entries()?;
    let mut report = GcReport::default();
    let mut failures = Vec::new();
    for entry in &entries {
        let Entry::Reservation(ip, owner) = entry else {
            continue;
        };
        let in_use = valid
            .iter()
            .any(|a| owner.is(&a.container_id, &a.ifname) || owner.is_legacy_of(&a.container_id));
        if in_use {
            continue;
        }
        match store.release(*ip) {
            Ok(()) => report.released.push(*ip),
            Err(e) => failures.push(e.to_string()),
        }
    }
    report.temp_files = remove_temps(&store, &entries, &mut failures);
    if failures.is_empty() {
        Ok(report)
    } else {
        Err(IpamError::Release(failures))
    }
}

/// Removes temporary files seen under the lock: their writer was killed.
fn remove_temps(store: &Store, entries: &[Entry], failures: &mut Vec<String>) -> usize {
    let mut removed = 0;
    for entry in entries {
        if let Entry::Temp(name) = entry {
            match store.remove(name) {
                Ok(()) => removed += 1,
                Err(e) => failures.push(e.to_string()),
            }
        }
    }
    removed
}
