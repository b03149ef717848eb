//! What several plugins share: the container namespace, veth pairs, configuring addresses
//! and routes inside the container, delegating to IPAM, the keys every plugin reads the same
//! way, CHECK's steps, undoing a failed ADD, deleting interfaces without waiting for the kernel's reclamation, and the kernel-to-CNI error edge.

pub mod attach;
pub mod check;
pub mod child;
pub mod child_check;
pub mod configure;
pub mod del;
pub mod error;
pub mod ipam;
pub mod kind_link;
pub mod lingering;
pub mod lower;
pub mod mac;
pub mod masq;
pub mod netconf;
pub mod netns;
pub mod random;
pub mod record;
#[cfg(test)]
pub mod test_args;
pub mod undo;
pub mod unlink;
pub mod veth;
