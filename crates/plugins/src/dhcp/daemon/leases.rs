//! The leases the daemon holds: one worker thread per lease keeps it (renewing at T1,
//! rebinding from T2, re-acquiring after expiry), and the requests of the plugin find,
//! create and release them. Every change is saved before it is acknowledged.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use twill_cni::result::CniResult;
use twill_cni::{CniError, Code};
use twill_ipam::dhcp::client::{client_id, retry_after, ClientParams, Lease, Phase};
use twill_ipam::dhcp::result::result;
use twill_kernel::{LinkId, NetNs};

use super::store::{key, Record, Store};
use super::wire::{self, Timing, WireFailure};
use crate::dhcp::plugin::DAEMON_RESULT_VERSION;
use crate::dhcp::rpc::Request;

/// What the daemon was started with that every lease uses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `-hostprefix`, put before every namespace path.
    pub host_prefix: String,
    /// `-broadcast`.
    pub broadcast: bool,
    /// `-timeout` and `-resendmax`.
    pub timing: Timing,
}

/// One lease and what its worker needs to keep it.
#[derive(Debug)]
struct Held {
    record: Record,
    /// The pod's namespace, held open: a DEL after the runtime removed the namespace (or
    /// without `CNI_NETNS`) still reaches the pod's interface to release the lease.
    netns: NetNs,
    params: ClientParams,
}

#[derive(Debug)]
enum Cmd {
    /// Release at the server, forget the lease, then report on the sender.
    Release(Sender<()>),
}

#[derive(Debug)]
struct Entry {
    held: Arc<Mutex<Held>>,
    tx: Sender<Cmd>,
}

/// Every lease of the daemon.
#[derive(Debug)]
pub struct Leases {
    settings: Settings,
    store: Store,
    map: Mutex<HashMap<String, Entry>>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A worker that panicked leaves data that is still consistent (every change is one
    // assignment), so the lock is taken anyway.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn log(key: &str, msg: impl std::fmt::Display) {
    eprintln!("{key}: {msg}");
}

fn failure(e: WireFailure) -> CniError {
    match e {
        WireFailure::Timeout(_) => CniError::new(Code::TRY_AGAIN_LATER, e.to_string()),
        WireFailure::Kernel(_) | WireFailure::Random(_) => CniError::io(e.to_string()),
        WireFailure::Nak(_) | WireFailure::BadAck(_) => {
            CniError::new(Code::INTERNAL, e.to_string())
        }
    }
}

fn lease_json(lease: &Lease) -> Result<Value, CniError> {
    Ok(CniResult::from_latest(result(lease), DAEMON_RESULT_VERSION)?.to_json())
}

impl Leases {
    /// No leases yet; `store` is where they are saved.
    pub fn new(settings: Settings, store: Store) -> Leases {
        Leases {
            settings,
            store,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn netns_path(&self, netns: &str) -> PathBuf {
        PathBuf::from(format!("{}{netns}", self.settings.host_prefix))
    }

    fn params(&self, r: &Record, mac: [u8; 6]) -> ClientParams {
        ClientParams {
            mac,
            client_id: client_id(&r.container_id, &r.network, &r.ifname),
            requested: r.requested.clone(),
            provided: r.provided.clone(),
            broadcast: self.settings.broadcast,
        }
    }

    fn start(self: &Arc<Self>, held: Held) {
        let k = held.record.key();
        let held = Arc::new(Mutex::new(held));
        let (tx, rx) = mpsc::channel();
        let me = Arc::clone(self);
        let worker_held = Arc::clone(&held);
        let spawned = std::thread::Builder::new()
            .name("twill-dhcp-lease".into())
            .spawn(move || me.maintain(&worker_held, &rx));
        if let Err(e) = spawned {
            log(&k, format!("cannot start the lease's worker: {e}"));
        }
        lock(&self.map).insert(k, Entry { held, tx });
    }

    /// Takes up the saved leases: those whose namespace and interface still exist are
    /// maintained again (a lease past T1 is renewed at once); the others are forgotten (the
    /// pod is gone, and its lease expires at the server).
    pub fn restore(self: &Arc<Self>) {
        let (records, bad) = self.store.load_all();
        for path in bad {
            eprintln!("{path}: unreadable lease file, left in place");
        }
        for record in records {
            let k = record.key();
            let reopened = NetNs::open(&self.netns_path(&record.netns))
                .map_err(WireFailure::from)
                .and_then(|ns| wire::open(&ns, &record.ifname).map(|w| (ns, w.mac)));
            match (reopened, record.lease()) {
                (Ok((netns, mac)), Some(_)) => {
                    let params = self.params(&record, mac);
                    log(&k, "lease restored");
                    self.start(Held {
                        record,
                        netns,
                        params,
                    });
                }
                (Err(e), _) => {
                    log(&k, format!("pod is gone ({e}); forgetting its lease"));
                    let _ = self.store.remove(&k);
                }
                (_, None) => {
                    log(&k, "saved lease is unreadable; forgetting it");
                    let _ = self.store.remove(&k);
                }
            }
        }
    }

    /// ADD: the lease of the attachment, acquired now when none is held.
    pub fn add(self: &Arc<Self>, req: &Request) -> Result<Value, CniError> {
        let k = key(&req.container_id, &req.network, &req.ifname);
        if let Some(entry) = lock(&self.map).get(&k) {
            let lease = lock(&entry.held).record.lease();
            if let Some(lease) = lease.filter(|l| l.phase(now()) != Phase::Expired) {
                return lease_json(&lease);
            }
        }
        let netns = req
            .netns
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                CniError::invalid_environment("required env variables [CNI_NETNS] missing")
            })?;
        let ns = NetNs::open(&self.netns_path(netns)).map_err(|e| CniError::io(e.to_string()))?;
        let w = wire::open(&ns, &req.ifname).map_err(failure)?;
        let mut record = Record {
            container_id: req.container_id.clone(),
            network: req.network.clone(),
            ifname: req.ifname.clone(),
            netns: netns.to_owned(),
            requested: req.requested.clone(),
            provided: req.provided.clone(),
            ack: String::new(),
            bound_at: 0,
            server_mac: [0; 6],
        };
        let params = self.params(&record, w.mac);
        log(&k, "acquiring lease");
        let (ack, server_mac) = w
            .acquire(&params, None, self.settings.timing)
            .map_err(failure)?;
        let t = now();
        let lease =
            Lease::from_ack(&ack, t).map_err(|e| CniError::new(Code::INTERNAL, e.to_string()))?;
        record.set_ack(&ack, t, server_mac);
        if let Err(e) = self.store.save(&record) {
            // A lease that would not survive a restart is given back rather than kept.
            let _ = w.release(&params, &lease, Some(server_mac));
            return Err(CniError::io(format!(
                "saving lease in {}: {e}",
                self.store.dir().display()
            )));
        }
        log(
            &k,
            format!(
                "lease of {} acquired, expires at {}",
                lease.address, lease.expires_at
            ),
        );
        let out = lease_json(&lease)?;
        self.start(Held {
            record,
            netns: ns,
            params,
        });
        Ok(out)
    }

    /// DEL: releases the attachment's lease at the server and forgets it; nothing held is
    /// success.
    pub fn del(&self, container_id: &str, network: &str, ifname: &str) -> Result<(), CniError> {
        let k = key(container_id, network, ifname);
        let entry = lock(&self.map).remove(&k);
        if let Some(entry) = entry {
            let (done_tx, done_rx) = mpsc::channel();
            if entry.tx.send(Cmd::Release(done_tx)).is_ok() {
                // The worker answers after at most one exchange's timeout.
                let _ = done_rx.recv();
            } else {
                // The worker is gone: release here.
                Self::release(&lock(&entry.held), &self.store);
            }
        }
        self.store
            .remove(&k)
            .map_err(|e| CniError::io(format!("removing lease file of {k}: {e}")))
    }

    /// CHECK: the lease held, as a result; an error when none is held or it expired.
    pub fn check(&self, req: &Request) -> Result<Value, CniError> {
        let k = key(&req.container_id, &req.network, &req.ifname);
        let lease = lock(&self.map)
            .get(&k)
            .and_then(|e| lock(&e.held).record.lease());
        match lease {
            Some(l) if l.phase(now()) != Phase::Expired => lease_json(&l),
            Some(l) => Err(CniError::new(
                Code::INTERNAL,
                format!(
                    "dhcp: lease of {} for {k} expired at {}",
                    l.address, l.expires_at
                ),
            )),
            None => Err(CniError::new(
                Code::INTERNAL,
                format!("dhcp: no lease held for {k}"),
            )),
        }
    }

    /// GC: releases the leases of `network` whose attachment is not in `valid`.
    pub fn gc(&self, network: &str, valid: &[(String, String)]) -> Result<(), CniError> {
        let stale: Vec<(String, String)> = lock(&self.map)
            .values()
            .filter_map(|e| {
                let h = lock(&e.held);
                let r = &h.record;
                let listed = valid
                    .iter()
                    .any(|(c, i)| *c == r.container_id && *i == r.ifname);
                (r.network == network && !listed)
                    .then(|| (r.container_id.clone(), r.ifname.clone()))
            })
            .collect();
        let mut errors = Vec::new();
        for (c, i) in stale {
            if let Err(e) = self.del(&c, network, &i) {
                errors.push(e.msg);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CniError::io(errors.join("; ")))
        }
    }

    fn release(h: &Held, store: &Store) {
        let k = h.record.key();
        if let Some(lease) = h.record.lease() {
            let sent = wire::open(&h.netns, &h.record.ifname)
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
    fn maintain(&self, held: &Mutex<Held>, rx: &mpsc::Receiver<Cmd>) {
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
                    Self::release(&lock(held), &self.store);
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
            let Err(e) = self.step(held, &lease, phase) else {
                retry_at = None;
                continue;
            };
            let h = lock(held);
            let k = h.record.key();
            log(&k, format!("{phase:?}: {e}"));
            let resend_max = self.settings.timing.resend_max.as_secs();
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
    fn step(&self, held: &Mutex<Held>, lease: &Lease, phase: Phase) -> Result<(), WireFailure> {
        let (w, params, server_mac, k) = {
            let h = lock(held);
            (
                wire::open(&h.netns, &h.record.ifname)?,
                h.params.clone(),
                h.record.server_mac,
                h.record.key(),
            )
        };
        let timing = self.settings.timing;
        let answer = match phase {
            Phase::Renewing => w.extend(&params, lease, Some(server_mac), timing),
            Phase::Rebinding => w.extend(&params, lease, None, timing),
            Phase::Bound | Phase::Expired => w.acquire(&params, Some(lease.address), timing),
        };
        let (ack, mac) = match answer {
            Err(WireFailure::Nak(why)) if phase != Phase::Expired => {
                log(
                    &k,
                    format!("server refused to extend ({why}); acquiring again"),
                );
                w.acquire(&params, Some(lease.address), timing)?
            }
            other => other?,
        };
        let t = now();
        let new = Lease::from_ack(&ack, t).map_err(|e| WireFailure::BadAck(e.to_string()))?;
        let mut h = lock(held);
        h.record.set_ack(&ack, t, mac);
        if let Err(e) = self.store.save(&h.record) {
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
}
