//! Kubernetes' node path: containerd's CRI plugin runs twill's plugins for pod sandboxes. Each
//! test starts a private containerd (Debian's 1.6) inside a host namespace of its own and drives
//! it through CRI calls only — RunPodSandbox, PodSandboxStatus, StopPodSandbox,
//! RemovePodSandbox, UpdateRuntimeConfig — as a kubelet does; the harness is
//! `twill_test_support::cri`. Needs root, containerd, runc and busybox-static
//! (scripts/setup.sh); anything missing fails the test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

mod capabilities;
mod churn;
mod common;
mod deadline;
mod pods;
mod teardown;
mod template;
mod timings;
