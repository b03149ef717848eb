//! twilld, the node agent of a multi-host pod network, keeping flannel's contract: subnet
//! leases under flannel's etcd keys (or a file, the embedded single-node default), a data
//! plane between nodes (vxlan, host-gw, udp), host masquerade rules, and `subnet.env` for the
//! `flannel` CNI plugin.
//!
//! The agent is level-triggered. Its data plane is a pure function of (network config, own
//! lease, peers' leases) — [`desired::render`] — compared with what the kernel holds and
//! corrected — [`dataplane::reconcile`]. Watch events, periodic resyncs, restarts and store
//! reconnects all do the same thing: mark the state dirty and reconcile. So nothing an event
//! stream can lose (an outage, a compaction, a crash) can leave a route stale.
//!
//! Only this crate is async (tokio, current-thread): the store's I/O. The kernel crate stays
//! synchronous and runs on a thread of its own ([`kernel`]), fed the desired state.

pub mod acquire;
pub mod agent;
pub mod backend;
pub mod config;
pub mod dataplane;
pub mod desired;
pub mod files;
pub mod hostrules;
pub mod http;
pub mod kernel;
pub mod lease;
pub mod log;
pub mod status;
pub mod store;
pub mod subnet;
pub mod subnet_env;
pub mod worker;
