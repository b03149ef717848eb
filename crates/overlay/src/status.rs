//! What the agent knows about itself, shared with the health/metrics server: the lease, the
//! peers, the last reconcile, whether the store answers. Rendered as Prometheus text and as
//! JSON (for `twill overlay status` and `twill overlay ls`).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::lease::Lease;

/// The agent's state of mind.
#[derive(Debug, Default, Clone)]
pub struct Status {
    /// Our lease key, once acquired.
    pub lease: Option<String>,
    /// The backend.
    pub backend: String,
    /// Every lease seen at the last listing (ours included).
    pub leases: Vec<Lease>,
    /// Peers that could not be routed, with the reason.
    pub unroutable: Vec<String>,
    /// Whether the last store request succeeded.
    pub store_ok: bool,
    /// The last error, if any, of anything.
    pub last_error: Option<String>,
    /// Unix time of the last reconcile.
    pub last_reconcile: Option<f64>,
    /// Its duration.
    pub last_reconcile_seconds: f64,
    /// Reconciles done.
    pub reconciles: u64,
    /// Changes applied to the kernel, in total.
    pub changes: u64,
    /// Changes that failed, in total.
    pub reconcile_errors: u64,
    /// Objects (routes, neighbours, FDB entries) the last reconcile wanted.
    pub objects: usize,
    /// The store revision of the last listing.
    pub revision: Option<i64>,
}

impl Status {
    /// A lease held and the data plane reconciled at least once.
    fn healthy(&self) -> bool {
        self.lease.is_some() && self.last_reconcile.is_some()
    }

    /// Other nodes' leases seen at the last listing.
    fn peers(&self) -> usize {
        self.leases
            .iter()
            .filter(|l| Some(l.key()) != self.lease)
            .count()
    }
}

/// The status, shared between the agent and the server.
#[derive(Debug, Clone, Default)]
pub struct Shared(Arc<Mutex<Status>>);

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Shared {
    /// Locks it (a poisoned lock still holds valid counters).
    pub fn lock(&self) -> MutexGuard<'_, Status> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a failure as the last error and reports it through `throttle`.
    pub fn failed(&self, throttle: &mut crate::log::Throttle, e: &dyn std::fmt::Display) {
        self.lock().last_error = Some(e.to_string());
        throttle.fail(e);
    }

    /// Records a reconcile.
    pub fn reconciled(&self, took: Duration, applied: usize, errors: &[String], objects: usize) {
        let mut s = self.lock();
        s.last_reconcile = Some(now());
        s.last_reconcile_seconds = took.as_secs_f64();
        s.reconciles += 1;
        s.changes += applied as u64;
        s.reconcile_errors += errors.len() as u64;
        s.objects = objects;
        if let Some(e) = errors.first() {
            s.last_error = Some(e.clone());
        }
    }

    /// Healthy: a lease held and the store reachable, or the data plane in place while it
    /// is not (an etcd outage does not make a working node unhealthy — its pods still talk).
    pub fn healthy(&self) -> bool {
        self.lock().healthy()
    }

    /// `/status` as JSON.
    pub fn json(&self) -> Value {
        let s = self.lock();
        json!({
            "updated": now(),
            "lease": s.lease,
            "backend": s.backend,
            "healthy": s.healthy(),
            "storeReachable": s.store_ok,
            "peers": s.peers(),
            "unroutable": s.unroutable,
            "lastReconcile": s.last_reconcile,
            "lastReconcileSeconds": s.last_reconcile_seconds,
            "reconciles": s.reconciles,
            "reconcileErrors": s.reconcile_errors,
            "lastError": s.last_error,
            "leases": s.leases.iter().map(|l| json!({
                "key": l.key(),
                "subnet": l.ipv4.map(|p| p.to_string()),
                "ipv6Subnet": l.ipv6.map(|p| p.to_string()),
                "publicIP": l.attrs.public_ip.map(|a| a.to_string()),
                "publicIPv6": l.attrs.public_ipv6.map(|a| a.to_string()),
                "backend": l.attrs.backend_type,
                "vtepMAC": l.attrs.vtep_mac.map(|m| m.to_string()),
                "ttl": l.ttl,
                "self": Some(l.key()) == s.lease,
            })).collect::<Vec<_>>(),
        })
    }

    /// Writes `/status` to `file` for `twill overlay status|ls`, which reads it without
    /// talking to the agent. Not synced: it describes a running process, and a reader
    /// only ever sees a whole file (rename).
    pub fn save(&self, file: &std::path::Path) -> std::io::Result<()> {
        let tmp = file.with_extension("json.tmp");
        std::fs::write(&tmp, format!("{:#}\n", self.json()))?;
        std::fs::rename(&tmp, file)
    }

    /// `/metrics` in Prometheus' text format.
    pub fn metrics(&self) -> String {
        let s = self.lock();
        let peers = s.peers();
        let mut out = String::new();
        let mut g = |name: &str, kind: &str, help: &str, v: f64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            ));
        };
        g(
            "twilld_lease_held",
            "gauge",
            "1 when this node holds a subnet lease.",
            f64::from(u8::from(s.lease.is_some())),
        );
        g(
            "twilld_peers",
            "gauge",
            "Other nodes' leases seen at the last listing.",
            peers as f64,
        );
        g(
            "twilld_unroutable_peers",
            "gauge",
            "Peers that could not be routed.",
            s.unroutable.len() as f64,
        );
        g(
            "twilld_store_reachable",
            "gauge",
            "1 when the last store request succeeded.",
            f64::from(u8::from(s.store_ok)),
        );
        g(
            "twilld_reconciles_total",
            "counter",
            "Reconcile passes.",
            s.reconciles as f64,
        );
        g(
            "twilld_reconcile_changes_total",
            "counter",
            "Kernel changes applied.",
            s.changes as f64,
        );
        g(
            "twilld_reconcile_errors_total",
            "counter",
            "Kernel changes that failed.",
            s.reconcile_errors as f64,
        );
        g(
            "twilld_reconcile_duration_seconds",
            "gauge",
            "Duration of the last reconcile.",
            s.last_reconcile_seconds,
        );
        g(
            "twilld_last_reconcile_timestamp_seconds",
            "gauge",
            "Unix time of the last reconcile.",
            s.last_reconcile.unwrap_or(0.0),
        );
        g(
            "twilld_dataplane_objects",
            "gauge",
            "Routes, neighbours and FDB entries the data plane holds for peers.",
            s.objects as f64,
        );
        out
    }
}
