//! GC: the one command that scans everything, since it must find what no index knows about.

use std::collections::HashSet;
use std::net::IpAddr;

use twill_cni::config::GcAttachment;

use super::remove_temps;
use crate::config::StoreConf;
use crate::error::IpamError;
use crate::store::{Entry, IndexFile, Store};

/// What a GC removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Reservations released.
    pub released: Vec<IpAddr>,
    /// Temporary files of killed processes removed (the index's included).
    pub temp_files: usize,
    /// Index entries removed: their attachment is invalid or holds nothing any more.
    pub index_entries: usize,
}

/// GC: releases every reservation whose attachment is not in `valid` (an old ID-only one
/// stays while its container has any valid attachment), every leftover temporary file, and
/// every index entry of an attachment that no longer holds a reservation. Scans everything:
/// it must find what no index knows about. Continues past failures and reports them all.
pub fn gc(conf: &StoreConf, valid: &[GcAttachment]) -> Result<GcReport, IpamError> {
    let Some(store) = Store::open_existing(conf)? else {
        return Ok(GcReport::default());
    };
    let entries = store.entries()?;
    let mut report = GcReport::default();
    let mut failures = Vec::new();
    // The attachments whose exact reservations stay: only their index entries stay too.
    let mut holding: HashSet<(&str, &str)> = HashSet::new();
    for entry in &entries {
        let Entry::Reservation(ip, owner) = entry else {
            continue;
        };
        let in_use = valid
            .iter()
            .any(|a| owner.is(&a.container_id, &a.ifname) || owner.is_legacy_of(&a.container_id));
        let still_held = in_use
            || match store.release(*ip) {
                Ok(()) => {
                    report.released.push(*ip);
                    false
                }
                Err(e) => {
                    failures.push(e.to_string());
                    true
                }
            };
        if let (true, Some(ifname)) = (still_held, owner.ifname.as_deref()) {
            holding.insert((owner.container_id.as_str(), ifname));
        }
    }
    report.temp_files = remove_temps(&store, &entries, &mut failures);
    let index_files = store.index_files().unwrap_or_else(|e| {
        failures.push(e.to_string());
        Vec::new()
    });
    for file in index_files {
        let (name, is_entry) = match &file {
            IndexFile::Entry(id, ifname, name) => {
                if holding.contains(&(id.as_str(), ifname.as_str())) {
                    continue;
                }
                (name, true)
            }
            IndexFile::Stray(name) => (name, false),
        };
        match store.index_remove(name) {
            Ok(()) if is_entry => report.index_entries += 1,
            Ok(()) => report.temp_files += 1,
            Err(e) => failures.push(e.to_string()),
        }
    }
    if failures.is_empty() {
        Ok(report)
    } else {
        Err(IpamError::Release(failures))
    }
}
