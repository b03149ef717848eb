//! What several plugins share: the container namespace, veth pairs, configuring addresses
//! and routes inside the container, delegating to IPAM, the keys every plugin reads the same
//! way, CHECK's steps, undoing a failed ADD, and the kernel-to-CNI error edge.

pub mod check;
pub mod configure;
pub mod del;
pub mod error;
pub mod ipam;
pub mod kind_link;
pub mod lingering;
pub mod masq;
pub mod netconf;
pub mod netns;
pub mod random;
pub mod record;
pub mod undo;
pub mod veth;
