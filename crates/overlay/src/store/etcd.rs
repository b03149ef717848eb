//! The etcd v3 store, with flannel's keys: `<prefix>/config` and `<prefix>/subnets/<key>`.
//!
//! Unlike flanneld, which grants a new etcd lease at every renewal and never revokes the old
//! one, an agent holds **one** etcd lease for its whole life and keeps it alive; its id is
//! kept in the state directory, so a restarted agent picks the same lease up again while it
//! is alive (no grant per restart either). A key is created with a transaction
//! `If(Version(key) == 0) Then(Put(key, lease))`, so two agents racing for one subnet cannot
//! both win; the loser is told so and picks another.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use etcd_client::{
    Certificate, Client, Compare, CompareOp, ConnectOptions, GetOptions, Identity,
    LeaseKeepAliveStream, LeaseKeeper, PutOptions, TlsOptions, Txn, TxnOp, WatchOptions,
    WatchStream,
};

use super::{Listing, Store, StoreError};
use crate::lease::Lease;

/// How to reach etcd.
#[derive(Debug, Clone, Default)]
pub struct EtcdOptions {
    /// Endpoints (`http://host:2379`, or `https://` with TLS).
    pub endpoints: Vec<String>,
    /// The key prefix (`/coreos.com/network`).
    pub prefix: String,
    /// CA bundle (PEM) to verify etcd's certificate.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM).
    pub cert_file: Option<PathBuf>,
    /// Client key (PEM).
    pub key_file: Option<PathBuf>,
    /// The TTL of this agent's lease, in seconds.
    pub ttl: i64,
    /// Where the etcd lease id is remembered across restarts.
    pub lease_id_file: Option<PathBuf>,
}

type Keeper = (LeaseKeeper, LeaseKeepAliveStream);

/// An etcd-backed [`Store`].
pub struct EtcdStore {
    client: Client,
    prefix: String,
    ttl: i64,
    lease_id_file: Option<PathBuf>,
    /// The etcd lease every key of ours is bound to, shared by all clones.
    lease: Arc<Mutex<Option<i64>>>,
    /// This clone's keep-alive stream.
    keeper: Option<Keeper>,
    /// This clone's watch stream.
    watch: Option<WatchStream>,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Clone for EtcdStore {
    fn clone(&self) -> Self {
        EtcdStore {
            client: self.client.clone(),
            prefix: self.prefix.clone(),
            ttl: self.ttl,
            lease_id_file: self.lease_id_file.clone(),
            lease: Arc::clone(&self.lease),
            keeper: None,
            watch: None,
        }
    }
}

fn unavailable(e: etcd_client::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn read_pem(what: &str, path: &PathBuf) -> Result<Vec<u8>, StoreError> {
    std::fs::read(path).map_err(|e| StoreError::Failed(format!("{what} {}: {e}", path.display())))
}

impl EtcdStore {
    /// Connects (lazily: an unreachable etcd fails the first request, not this call, so
    /// the agent reports it through its usual backoff).
    pub async fn connect(o: EtcdOptions) -> Result<EtcdStore, StoreError> {
        let mut opts = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(2))
            .with_timeout(Duration::from_secs(5))
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5));
        if o.ca_file.is_some() || o.cert_file.is_some() {
            let mut tls = TlsOptions::new();
            if let Some(ca) = &o.ca_file {
                tls = tls.ca_certificate(Certificate::from_pem(read_pem("--etcd-cafile", ca)?));
            }
            match (&o.cert_file, &o.key_file) {
                (Some(c), Some(k)) => {
                    let cert = read_pem("--etcd-certfile", c)?;
                    let key = read_pem("--etcd-keyfile", k)?;
                    tls = tls.identity(Identity::from_pem(cert, key));
                }
                (None, None) => {}
                _ => {
                    return Err(StoreError::Failed(
                        "--etcd-certfile and --etcd-keyfile go together".into(),
                    ))
                }
            }
            opts = opts.with_tls(tls);
        }
        let client = Client::connect(&o.endpoints, Some(opts))
            .await
            .map_err(unavailable)?;
        Ok(EtcdStore {
            client,
            prefix: o.prefix.trim_end_matches('/').to_owned(),
            ttl: o.ttl,
            lease_id_file: o.lease_id_file,
            lease: Arc::new(Mutex::new(None)),
            keeper: None,
            watch: None,
        })
    }

    fn subnets(&self) -> String {
        format!("{}/subnets/", self.prefix)
    }

    fn known_lease(&self) -> Option<i64> {
        self.lease.lock().ok().and_then(|g| *g)
    }

    fn set_lease(&self, id: Option<i64>) {
        if let Ok(mut g) = self.lease.lock() {
            *g = id;
        }
    }

    /// The etcd lease to bind our keys to: the known one, the one remembered from a previous
    /// run while etcd still has it, or a new grant.
    async fn lease_id(&mut self) -> Result<i64, StoreError> {
        if let Some(id) = self.known_lease() {
            return Ok(id);
        }
        let remembered = self
            .lease_id_file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|s| s.trim().parse::<i64>().ok());
        if let Some(id) = remembered {
            let alive = self.client.lease_time_to_live(id, None).await;
            if matches!(alive, Ok(ref r) if r.ttl() > 0) {
                self.set_lease(Some(id));
                return Ok(id);
            }
        }
        let id = self
            .client
            .lease_grant(self.ttl, None)
            .await
            .map_err(unavailable)?
            .id();
        if let Some(f) = &self.lease_id_file {
            // Only an optimisation for the next start: a failed write costs one grant then.
            let _ = crate::files::write_atomic(f, format!("{id}\n").as_bytes(), 0o600);
        }
        self.set_lease(Some(id));
        Ok(id)
    }
}

impl Store for EtcdStore {
    async fn config(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        let key = format!("{}/config", self.prefix);
        let mut r = self.client.get(key, None).await.map_err(unavailable)?;
        Ok(r.take_kvs()
            .into_iter()
            .next()
            .map(|kv| kv.into_key_value().1))
    }

    async fn list(&mut self) -> Result<Listing, StoreError> {
        let prefix = self.subnets();
        let mut r = self
            .client
            .get(prefix.clone(), Some(GetOptions::new().with_prefix()))
            .await
            .map_err(unavailable)?;
        let revision = r.header().map_or(0, |h| h.revision());
        let mut listing = Listing {
            revision,
            ..Listing::default()
        };
        for kv in r.take_kvs() {
            let lease = kv.lease();
            let (k, v) = kv.into_key_value();
            let key = String::from_utf8_lossy(&k);
            let name = key.strip_prefix(&prefix).unwrap_or(&key);
            // A key without an etcd lease is a reservation; the TTL of others is not in a
            // range reply (-1: unknown) and costs a request per key to ask.
            let ttl = if lease == 0 { None } else { Some(-1) };
            match Lease::from_entry(name, &v, ttl) {
                Ok(l) => listing.leases.push(l),
                Err(e) => listing.unreadable.push(e),
            }
        }
        Ok(listing)
    }

    async fn create(&mut self, key: &str, value: &str) -> Result<bool, StoreError> {
        let id = self.lease_id().await?;
        let full = format!("{}{key}", self.subnets());
        let txn = Txn::new()
            .when([Compare::version(full.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(
                full,
                value,
                Some(PutOptions::new().with_lease(id)),
            )]);
        let r = self.client.txn(txn).await.map_err(unavailable)?;
        Ok(r.succeeded())
    }

    async fn put(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let id = self.lease_id().await?;
        let full = format!("{}{key}", self.subnets());
        self.client
            .put(full, value, Some(PutOptions::new().with_lease(id)))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn keep_alive(&mut self) -> Result<i64, StoreError> {
        let id = self.lease_id().await?;
        if self.keeper.is_none() {
            self.keeper = Some(
                self.client
                    .lease_keep_alive(id)
                    .await
                    .map_err(unavailable)?,
            );
        }
        let Some((keeper, stream)) = self.keeper.as_mut() else {
            return Err(StoreError::Unavailable("keep-alive stream closed".into()));
        };
        let sent = keeper.keep_alive().await;
        let answer = match sent {
            Ok(()) => stream.message().await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(Some(r)) if r.ttl() > 0 => Ok(r.ttl()),
            Ok(Some(_)) => {
                // etcd no longer knows the lease: every key bound to it is gone.
                self.keeper = None;
                self.set_lease(None);
                Err(StoreError::LeaseExpired)
            }
            Ok(None) => {
                self.keeper = None;
                Err(StoreError::Unavailable("keep-alive stream closed".into()))
            }
            Err(e) => {
                self.keeper = None;
                Err(unavailable(e))
            }
        }
    }

    async fn delete(&mut self, key: &str) -> Result<(), StoreError> {
        let full = format!("{}{key}", self.subnets());
        self.client.delete(full, None).await.map_err(unavailable)?;
        if let Some(id) = self.known_lease() {
            // Leaving: the lease has nothing else bound to it.
            let _ = self.client.lease_revoke(id).await;
            self.set_lease(None);
            if let Some(f) = &self.lease_id_file {
                let _ = std::fs::remove_file(f);
            }
        }
        Ok(())
    }

    async fn changed(&mut self, revision: i64) -> Result<i64, StoreError> {
        if self.watch.is_none() {
            let opts = WatchOptions::new()
                .with_prefix()
                .with_start_revision(revision + 1);
            let prefix = format!("{}/", self.prefix);
            let w = self
                .client
                .watch(prefix, Some(opts))
                .await
                .map_err(unavailable)?;
            self.watch = Some(w);
        }
        let Some(stream) = self.watch.as_mut() else {
            return Err(StoreError::Unavailable("watch closed".into()));
        };
        loop {
            match stream.message().await {
                Ok(Some(r)) => {
                    if r.canceled() || r.compact_revision() > 0 {
                        // Compacted past our revision (or cancelled): re-list and watch
                        // again from the listing's revision.
                        self.watch = None;
                        return Ok(revision);
                    }
                    if !r.events().is_empty() {
                        return Ok(r.header().map_or(revision, |h| h.revision()));
                    }
                }
                Ok(None) => {
                    self.watch = None;
                    return Err(StoreError::Unavailable("watch stream closed".into()));
                }
                Err(e) => {
                    self.watch = None;
                    return Err(unavailable(e));
                }
            }
        }
    }
}
