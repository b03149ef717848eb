//! twilld on several hosts against one real etcd: hosts are network namespaces on an underlay
//! bridge (198.18.0.0/24), pods are attached by twill's CLI through the stock flannel
//! conflist, and traffic crosses the overlay. Root required; nothing touches the machine's
//! own network namespace.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod cri;
mod embedded;
mod errors;
mod hostgw;
mod lifecycle;
mod outage;
mod udp;
mod vxlan;
