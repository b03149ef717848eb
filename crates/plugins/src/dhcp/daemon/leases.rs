//! The leases the daemon holds, by attachment: the plugin's requests find, create and
//! release them; each lease is kept by a worker thread of its own ([`super::worker`]). A
//! lease is saved before ADD answers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use twill_cni::result::CniResult;
use twill_cni::{CniError, Code};
use twill_ipam::dhcp::client::{client_id, ClientParams, Lease, Phase};
use twill_ipam::dhcp::result::result;
use twill_kernel::NetNs;

use super::store::{key, Record, Store};
use super::wire::{self, Timing, Up, WireFailure};
use super::worker::{self, lock, log, now, Cmd, Held, Worker};
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

    fn start(&self, held: Held) {
        let k = held.record.key();
        let held = Arc::new(Mutex::new(held));
        let worker = Worker {
            settings: self.settings.clone(),
            store: self.store.clone(),
        };
        let tx = worker::spawn(worker, Arc::clone(&held));
        lock(&self.map).insert(k, Entry { held, tx });
    }

    /// Takes up the saved leases: those whose namespace and interface still exist are
    /// maintained again (a lease past T1 is renewed at once); those whose namespace or
    /// interface no longer exists are forgotten (the pod is gone, and its lease expires at
    /// the server); any other failure leaves the file for a later start.
    pub fn restore(&self) {
        let (records, bad) = self.store.load_all();
        for path in bad {
            eprintln!("{path}: unreadable lease file, left in place");
        }
        for record in records {
            let k = record.key();
            let reopened = NetNs::open(&self.netns_path(&record.netns))
                .map_err(WireFailure::from)
                .and_then(|ns| wire::open(&ns, &record.ifname, Up::Leave).map(|w| (ns, w.mac)));
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
                (Err(WireFailure::Kernel(e)), _) if e.is_not_found() => {
                    log(&k, format!("pod is gone ({e}); forgetting its lease"));
                    let _ = self.store.remove(&k);
                }
                (Err(e), _) => {
                    // Not proof that the pod is gone (a wrong -hostprefix, no permission):
                    // the file stays for a later start.
                    log(
                        &k,
                        format!("cannot take the lease up ({e}); its file is kept"),
                    );
                }
                (_, None) => {
                    log(&k, "saved lease is unreadable; forgetting it");
                    let _ = self.store.remove(&k);
                }
            }
        }
    }

    /// ADD: the lease of the attachment, acquired now when none is held.
    pub fn add(&self, req: &Request) -> Result<Value, CniError> {
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
        let w = wire::open(&ns, &req.ifname, Up::Ensure).map_err(failure)?;
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
                worker::release(&lock(&entry.held), &self.store);
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
}
