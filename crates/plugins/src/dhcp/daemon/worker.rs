//! The worker thread of one lease: it sleeps until T1 (or the next retry), renews with the
//! server that granted the lease, rebinds from T2 with any server, and releases the lease
//! when told to. Every new ACK is saved before the worker sleeps again.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use twill_ipam::dhcp::client::{retry_after, ClientParams, Lease, Phase};
use twill_kernel::{LinkId, NetNs};

use super::leases::Settings;
use super::store::{Record, Store};
use super::wire::{self, Up, WireFailure};

/// One lease and what its worker needs to keep it.
#[derive(Debug)]
pub struct Held {
    /// The saved lease.
    pub record: Record,
    /// The pod's namespace, held open: a DEL after the runtime removed the namespace (or
    /// without `CNI_NETNS`) still reaches the pod's interface to release the lease.
    pub netns: NetNs,
    /// What every message of this attachment carries.
    pub params: ClientParams,
}

/// What a worker is told.
#[derive(Debug)]
pub enum Cmd {
    /// Release at the server, forget the lease, then report on the sender.
    Release(Sender<()>),
}

/// What every worker shares.
#[derive(Debug, Clone)]
pub struct Worker {
    /// The daemon's settings.
    pub settings: Settings,
    /// Where leases are saved.
    pub store: Store,
}

/// Seconds since the epoch: lease times are absolute, so they survive a restart.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Locks `m`. A worker that panicked leaves data that is still consistent (every change is
/// one assignment), so the lock is taken anyway.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A line of the daemon's log about one attachment.
pub fn log(key: &str, msg: impl std::fmt::Display) {
    eprintln!("{key}: {msg}");
}

/// Starts the worker of `held`; the sender commands it, and dropping it ends the worker.
pub fn spawn(w: Worker, held: Arc<Mutex<Held>>) -> Sender<Cmd> {
    let (tx, rx) = mpsc::channel();
    let k = lock(&held).record.key();
    let spawned = std::thread::Builder::new()
        .name("twill-dhcp-lease".into())
        .spawn(move || maintain(&w, &held, &rx));
    if let Err(e) = spawned {
        log(&k, format!("cannot start the lease's worker: {e}"));
    }
    tx
}

/// Sends DHCPRELEASE for the lease of `h` (best effort) and removes its file.
pub fn release(h: &Held, store: &Store) {
    let k = h.record.key();
    if let Some(lease) = h.record.lease() {
        let sent = wire::open(&h.netns, &h.record.ifname, Up::Leave)
            .and_then(|w| w.release(&h.params, &lease, Some(h.record.server_mac)));
        match sent {
            Ok(()) => log(&k, format!("lease of {} released", lease.address)),
            Err(e) => log(
                &k,
                format!("cannot send DHCPRELEASE ({e}); the lease expires at the server"),
            ),
        }
    }
    if let Err(e) = store.remove(&k) {
        log(&k, format!("removing lease file: {e}"));
    }
}

/// The worker of one lease: sleeps until T1 (or the next retry), then renews or
/// rebinds; releases on command. A lease found expired (a daemon down past its end) is
/// acquired again once, asking for the same address; if that fails the interface is
/// brought down, as the reference does, and the worker ends (DEL still releases).
fn maintain(w: &Worker, held: &Mutex<Held>, rx: &mpsc::Receiver<Cmd>) {
    let mut retry_at: Option<u64> = None;
    loop {
        let Some(lease) = lock(held).record.lease() else {
            return;
        };
        let t = now();
        let wake = match lease.phase(t) {
            Phase::Bound => lease.renew_at,
            _ => retry_at.unwrap_or(t),
        };
        match rx.recv_timeout(Duration::from_secs(wake.saturating_sub(t))) {
            Ok(Cmd::Release(done)) => {
                release(&lock(held), &w.store);
                let _ = done.send(());
                return;
            }
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        let t = now();
        let phase = lease.phase(t);
        if phase == Phase::Bound {
            continue;
        }
        let Err(e) = step(w, held, &lease, phase) else {
            retry_at = None;
            continue;
        };
        let h = lock(held);
        let k = h.record.key();
        log(&k, format!("{phase:?}: {e}"));
        let resend_max = w.settings.timing.resend_max.as_secs();
        let deadline = match phase {
            Phase::Renewing => lease.rebind_at,
            Phase::Rebinding => lease.expires_at,
            Phase::Bound | Phase::Expired => {
                log(&k, "lease expired, bringing the interface down");
                let downed = h
                    .netns
                    .netlink()
                    .and_then(|mut nl| nl.link_set_down(LinkId::Name(&h.record.ifname)));
                if let Err(e) = downed {
                    log(&k, e);
                }
                return;
            }
        };
        retry_at = Some(t + retry_after(t, deadline, 1, resend_max));
    }
}

/// One attempt to keep `lease` in `phase`; saves the new ACK.
fn step(w: &Worker, held: &Mutex<Held>, lease: &Lease, phase: Phase) -> Result<(), WireFailure> {
    let (link, params, server_mac, k) = {
        let mut h = lock(held);
        let up = match phase {
            Phase::Expired => Up::Ensure,
            _ => Up::Leave,
        };
        let link = wire::open(&h.netns, &h.record.ifname, up)?;
        // A later plugin of the chain (tuning) may have changed the interface's MAC since
        // ADD: messages carry the current one, as the kernel sends from it.
        h.params.mac = link.mac;
        (link, h.params.clone(), h.record.server_mac, h.record.key())
    };
    let timing = w.settings.timing;
    let answer = match phase {
        Phase::Renewing => link.extend(&params, lease, Some(server_mac), timing),
        Phase::Rebinding => link.extend(&params, lease, None, timing),
        Phase::Bound | Phase::Expired => link.acquire(&params, Some(lease.address), timing),
    };
    let (ack, mac) = match answer {
        Err(WireFailure::Nak(why)) if phase != Phase::Expired => {
            log(
                &k,
                format!("server refused to extend ({why}); acquiring again"),
            );
            link.acquire(&params, Some(lease.address), timing)?
        }
        other => other?,
    };
    let t = now();
    let new = Lease::from_ack(&ack, t).map_err(|e| WireFailure::BadAck(e.to_string()))?;
    let mut h = lock(held);
    h.record.set_ack(&ack, t, mac);
    if let Err(e) = w.store.save(&h.record) {
        log(&k, format!("saving renewed lease: {e}"));
    }
    if new.address != lease.address {
        log(
            &k,
            format!(
                "server moved the lease from {} to {}",
                lease.address, new.address
            ),
        );
    }
    log(
        &k,
        format!(
            "{phase:?}: lease of {} extended, expires at {}",
            new.address, new.expires_at
        ),
    );
    Ok(())
}
