//! Changing, checking and restoring the container's link and sysctls.
//!
//! Every change is undone when a later one fails: sysctls get their previous values back
//! and link attributes their backed-up ones, so a failed ADD leaves the container as it
//! found it. Link attributes change one request each, in the reference's order (MAC,
//! promiscuous mode, MTU, all-multicast mode, queue length), so an error names the one the
//! kernel refused.

use twill_cni::{CniError, Code};
use twill_kernel::link::Tunable;
use twill_kernel::{sysctl, Error as KernelError, LinkId, MacAddr, NetNs, Netlink};

use super::backup::Backup;
use super::config::{Sysctl, TuningConf};

/// One change to the link, as a configuration key names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// `mac`.
    Mac(MacAddr),
    /// `promisc`.
    Promisc(bool),
    /// `mtu`.
    Mtu(u32),
    /// `allmulti`.
    Allmulti(bool),
    /// `txQLen`.
    TxQLen(u32),
}

impl Change {
    /// The configuration key this change comes from.
    pub fn key(self) -> &'static str {
        match self {
            Change::Mac(_) => "mac",
            Change::Promisc(_) => "promisc",
            Change::Mtu(_) => "mtu",
            Change::Allmulti(_) => "allmulti",
            Change::TxQLen(_) => "txQLen",
        }
    }

    /// Applies the change to link `ifname`.
    pub fn apply(self, nl: &mut Netlink, ifname: &str) -> Result<(), KernelError> {
        let id = LinkId::Name(ifname);
        match self {
            Change::Mac(mac) => nl.link_set_mac(id, mac),
            Change::Mtu(mtu) => nl.link_set_mtu(id, mtu),
            Change::Promisc(on) => nl.link_set_tunable(id, Tunable::Promisc(on)),
            Change::Allmulti(on) => nl.link_set_tunable(id, Tunable::Allmulti(on)),
            Change::TxQLen(len) => nl.link_set_tunable(id, Tunable::TxQueueLen(len)),
        }
    }
}

/// The link changes a configuration asks for, in the reference's order.
pub fn changes(conf: &TuningConf) -> Vec<Change> {
    let mut out = Vec::new();
    out.extend(conf.mac.map(Change::Mac));
    if conf.promisc {
        out.push(Change::Promisc(true));
    }
    out.extend(conf.mtu.map(Change::Mtu));
    out.extend(conf.allmulti.map(Change::Allmulti));
    out.extend(conf.txqlen.map(Change::TxQLen));
    out
}

/// The changes that put back what `backup` holds, in the reference's restore order (MTU
/// first, so a MAC change is never refused for an MTU the device no longer allows).
pub fn restores(backup: &Backup) -> Vec<Change> {
    let mut out = Vec::new();
    out.extend(backup.mtu.map(Change::Mtu));
    out.extend(backup.mac.map(Change::Mac));
    out.extend(backup.promisc.map(Change::Promisc));
    out.extend(backup.allmulti.map(Change::Allmulti));
    out.extend(backup.txqlen.map(Change::TxQLen));
    out
}

/// A kernel failure as a CNI error: what the kernel refused because of a configured value
/// names that key with code 7; anything else is code 999, as the reference reports its
/// own failures, with the kernel's message naming operation and object.
pub fn kernel_error(key: Option<&str>, e: &KernelError) -> CniError {
    let refused_value = matches!(
        e.errno().map(|n| n.raw()),
        Some(libc::EINVAL | libc::ERANGE | libc::EADDRNOTAVAIL)
    );
    match key {
        Some(key) if refused_value => {
            CniError::invalid_config(format!("{key}: the kernel refused the value: {e}"))
        }
        Some(key) => CniError::new(Code::INTERNAL, format!("{key}: {e}")),
        None => CniError::new(Code::INTERNAL, e.to_string()),
    }
}

/// Writes sysctls inside `ns`, in order. On a failure, the ones already written get their
/// previous values back and the error names the key.
pub fn write_sysctls(ns: &NetNs, sysctls: &[Sysctl]) -> Result<Vec<(String, String)>, CniError> {
    if sysctls.is_empty() {
        return Ok(Vec::new());
    }
    let run = ns.run(|| {
        let mut previous: Vec<(String, String)> = Vec::new();
        for s in sysctls {
            let step = sysctl::read(&s.path).and_then(|old| {
                sysctl::write(&s.path, &s.value)?;
                Ok(old)
            });
            match step {
                Ok(old) => previous.push((s.path.clone(), old)),
                Err(e) => {
                    restore_sysctls_here(&previous);
                    return Err(sysctl_error(s, &e));
                }
            }
        }
        Ok(previous)
    });
    run.map_err(|e| kernel_error(None, &e))?
}

/// Puts back sysctl values (newest first) inside `ns`, best effort.
pub fn restore_sysctls(ns: &NetNs, previous: &[(String, String)]) {
    if !previous.is_empty() {
        let _ = ns.run(|| restore_sysctls_here(previous));
    }
}

fn restore_sysctls_here(previous: &[(String, String)]) {
    for (path, old) in previous.iter().rev() {
        if let Err(e) = sysctl::write(path, old) {
            eprintln!("tuning: restoring sysctl {path} to {old:?} failed: {e}");
        }
    }
}

fn sysctl_error(s: &Sysctl, e: &KernelError) -> CniError {
    let field = format!("sysctl[{:?}]", s.key);
    match e.errno().map(|n| n.raw()) {
        Some(libc::ENOENT) => CniError::invalid_config(format!(
            "{field}: no such sysctl in the container's network namespace ({})",
            s.path
        )),
        Some(libc::EINVAL | libc::ERANGE) => CniError::invalid_config(format!(
            "{field}: the kernel refused the value {:?}: {e}",
            s.value
        )),
        _ => CniError::new(Code::INTERNAL, format!("{field}: {e}")),
    }
}

/// Reads the sysctls inside `ns` and reports the first whose value differs.
pub fn check_sysctls(ns: &NetNs, sysctls: &[Sysctl]) -> Result<(), CniError> {
    if sysctls.is_empty() {
        return Ok(());
    }
    let run = ns.run(|| {
        for s in sysctls {
            let now = sysctl::read(&s.path).map_err(|e| sysctl_error(s, &e))?;
            if now != s.value {
                return Err(CniError::new(
                    Code::INTERNAL,
                    format!(
                        "sysctl[{:?}]: configured value is {:?}, current value of {} is {:?}",
                        s.key, s.value, s.path, now
                    ),
                ));
            }
        }
        Ok(())
    });
    run.map_err(|e| kernel_error(None, &e))?
}

/// Applies `changes` to the link in order. On a failure the ones already applied are undone
/// from `backup` (best effort) and the error names the key the kernel refused.
pub fn change_link(
    nl: &mut Netlink,
    ifname: &str,
    changes: &[Change],
    backup: &Backup,
) -> Result<(), CniError> {
    for (done, change) in changes.iter().enumerate() {
        if let Err(e) = change.apply(nl, ifname) {
            let applied: Vec<&str> = changes
                .get(..done)
                .unwrap_or_default()
                .iter()
                .map(|c| c.key())
                .collect();
            let undo: Vec<Change> = restores(backup)
                .into_iter()
                .filter(|r| applied.contains(&r.key()))
                .collect();
            restore_link(nl, ifname, &undo);
            return Err(kernel_error(Some(change.key()), &e));
        }
    }
    Ok(())
}

/// Applies restoring changes, continuing past failures; returns what failed.
pub fn restore_link(nl: &mut Netlink, ifname: &str, restores: &[Change]) -> Vec<String> {
    let mut failed = Vec::new();
    for r in restores {
        if let Err(e) = r.apply(nl, ifname) {
            failed.push(format!("restoring {}: {e}", r.key()));
        }
    }
    failed
}
