//! host-local's commands over the store: ADD, DEL, CHECK and GC ([`gc`]).

mod gc;

pub use gc::{gc, GcReport};

use std::net::IpAddr;

use twill_cni::result::{IpConfig, V1Result};

use crate::addr::Addr;
use crate::allocator::{allocate, reserve_requested};
use crate::config::{HostLocalConf, StoreConf};
use crate::error::IpamError;
use crate::resolv;
use crate::store::{index, Entry, Owner, Store, INDEX_TMP};

/// ADD: one address from every range set (the requested one where a request falls in the
/// set), all or nothing. Fails when the attachment already holds an address of a set.
///
/// What the attachment holds comes from its owner index entry, each listed reservation
/// re-read (O(k) for its k addresses, whatever the number of reservations); an attachment
/// with no entry holds nothing we reserved. Only when its name cannot be indexed does ADD scan.
pub fn add(conf: &HostLocalConf, container_id: &str, ifname: &str) -> Result<V1Result, IpamError> {
    // Read before anything is reserved, so a bad resolvConf leaves nothing behind.
    let dns = match &conf.resolv_conf {
        Some(path) => resolv::read(path)?,
        None => Default::default(),
    };
    let store = Store::open(&conf.store)?;
    let entry = index::entry_name(container_id, ifname);
    let (held, had_entry) = match &entry {
        Some(name) => match store.index_get(name)? {
            Some(listed) => (still_held(&store, &listed, container_id, ifname)?, true),
            None => (Vec::new(), false),
        },
        None => (held_by(&store, container_id, ifname)?, false),
    };
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
    let Some(name) = entry else {
        return reserve_all(conf, &store, container_id, ifname, dns).map(|(r, _)| r);
    };
    // Dropped before anything is reserved: a kill between the reservations and the new entry
    // then leaves no entry, and DEL's scan finds everything.
    if had_entry {
        store.index_remove(&name)?;
    }
    match reserve_all(conf, &store, container_id, ifname, dns) {
        Ok((result, reserved)) => {
            let all: Vec<IpAddr> = held.iter().chain(&reserved).copied().collect();
            if let Err(e) = store.index_put(&name, &all) {
                // Without its entry a later ADD could not see this one: refuse it whole.
                release_all(&store, &reserved);
                return Err(e);
            }
            Ok(result)
        }
        Err(e) => {
            if !held.is_empty() {
                // Best effort: without the entry, DEL scans and still finds these.
                let _ = store.index_put(&name, &held);
            }
            Err(e)
        }
    }
}

/// Reserves one address per range set, giving back everything it reserved on a failure.
fn reserve_all(
    conf: &HostLocalConf,
    store: &Store,
    container_id: &str,
    ifname: &str,
    dns: twill_cni::result::Dns,
) -> Result<(V1Result, Vec<IpAddr>), IpamError> {
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
            Some(ip) => reserve_requested(store, &claimer, set, index, ip),
            None => allocate(store, &claimer, set, index),
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
                release_all(store, &reserved);
                return Err(e);
            }
        }
    }
    result.routes.clone_from(&conf.routes);
    result.dns = dns;
    Ok((result, reserved))
}

fn release_all(store: &Store, ips: &[IpAddr]) {
    for ip in ips {
        let _ = store.release(*ip);
    }
}

/// The listed addresses whose reservation still names exactly this attachment.
fn still_held(
    store: &Store,
    listed: &[IpAddr],
    container_id: &str,
    ifname: &str,
) -> Result<Vec<IpAddr>, IpamError> {
    let mut held = Vec::with_capacity(listed.len());
    for ip in listed {
        if matches!(store.owner_of(*ip)?, Some(o) if o.is(container_id, ifname)) {
            held.push(*ip);
        }
    }
    Ok(held)
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
///
/// An index entry whose every listed reservation is still this attachment's is trusted: those
/// files are released without a scan. Any other case (no entry: reserved by the reference, or
/// killed before the entry was written; a stale entry: released behind our back, perhaps
/// reserved again by the reference) scans the directory.
pub fn del(conf: &StoreConf, container_id: &str, ifname: &str) -> Result<Vec<IpAddr>, IpamError> {
    let Some(store) = Store::open_existing(conf)? else {
        return Ok(Vec::new());
    };
    let entry = index::entry_name(container_id, ifname);
    let mut failures = Vec::new();
    if let Some(name) = &entry {
        if let Some(listed) = store.index_get(name)? {
            let held = still_held(&store, &listed, container_id, ifname)?;
            if !listed.is_empty() && held.len() == listed.len() {
                release_collecting(&store, &held, &mut failures);
                // Removed last: a kill before this leaves a stale entry, and the next DEL scans.
                if let Err(e) = store.index_remove(name) {
                    failures.push(e.to_string());
                }
                return finish(held, failures);
            }
        }
    }
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
    release_collecting(&store, &released, &mut failures);
    for name in entry.iter().map(String::as_str).chain([INDEX_TMP]) {
        if let Err(e) = store.index_remove(name) {
            failures.push(e.to_string());
        }
    }
    remove_temps(&store, &entries, &mut failures);
    finish(released, failures)
}

fn release_collecting(store: &Store, ips: &[IpAddr], failures: &mut Vec<String>) {
    for ip in ips {
        if let Err(e) = store.release(*ip) {
            failures.push(e.to_string());
        }
    }
}

fn finish(released: Vec<IpAddr>, failures: Vec<String>) -> Result<Vec<IpAddr>, IpamError> {
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
