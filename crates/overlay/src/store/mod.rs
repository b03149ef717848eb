//! Where leases and the network config live: etcd (flannel's keys, for a cluster) or a file
//! (the embedded single-node default). Both sit behind [`Store`], so the agent, its tests and
//! the reconciler never know which one they talk to.
//!
//! The agent is level-triggered: it never applies a watch event, it only learns from one that
//! something changed, then lists everything again and reconciles. So the store's watch only
//! has to say "after revision N, something moved" — [`Store::changed`].

pub mod etcd;
pub mod file;

use std::future::Future;

use crate::lease::Lease;

/// A store that cannot be reached, or refused a request. Every such error is transient for
/// the agent: it backs off and tries again, leaving the data plane as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store is unreachable or timed out.
    #[error("store unreachable: {0}")]
    Unavailable(String),
    /// The store answered with an error.
    #[error("store: {0}")]
    Failed(String),
    /// Our own lease in the store expired (the agent was away longer than its TTL).
    #[error("our lease in the store has expired")]
    LeaseExpired,
}

/// Every lease under the prefix, at one revision.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// The readable leases.
    pub leases: Vec<Lease>,
    /// Keys whose value could not be read, with the reason (reported, never fatal).
    pub unreadable: Vec<String>,
    /// The store's revision of this listing; watching resumes after it.
    pub revision: i64,
}

/// A lease store. Implementations are cheap to clone (clones share one connection), so the
/// agent can watch on one clone while it keeps its lease alive on another.
pub trait Store: Clone + Send + Sync + 'static {
    /// The JSON text at `<prefix>/config`, `None` when there is none.
    fn config(&mut self) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;

    /// Every lease under `<prefix>/subnets/`.
    fn list(&mut self) -> impl Future<Output = Result<Listing, StoreError>> + Send;

    /// Creates `key` with `value`, bound to this agent's TTL, only when no one holds it.
    /// `Ok(false)` when someone does (a lost race: the caller picks another subnet).
    fn create(
        &mut self,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Writes `key` (ours, or one we reclaim because it carries our public address) with
    /// `value`, bound to this agent's TTL.
    fn put(
        &mut self,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Renews this agent's TTL; returns the seconds left. `LeaseExpired` when the store had
    /// already dropped it (the caller re-acquires).
    fn keep_alive(&mut self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Deletes `key` (leaving the cluster).
    fn delete(&mut self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Waits until something under the prefix changes after `revision`; returns the newest
    /// revision seen. Returning early is always allowed (the caller re-lists).
    fn changed(&mut self, revision: i64) -> impl Future<Output = Result<i64, StoreError>> + Send;
}
