//! Kubernetes' node path: a private containerd (Debian's 1.6, CRI plugin built in) inside a
//! test host namespace, driven over the CRI exactly as a kubelet drives it, running the CNI
//! plugins of a directory the test chooses.
//!
//! - [`config`]: containerd's `config.toml`, every path under the test's own directory;
//! - [`image`]: the pause image, busybox-static in an uncompressed docker-archive tar;
//! - [`containerd`]: starting it (and importing the image), and the teardown that leaves
//!   nothing — sandboxes, shims, mounts, cgroups, sockets — also when the test panics;
//! - [`client`]: the CRI v1 client (the `k8s-cri` crate's tonic stubs) over its socket;
//! - [`node`]: a node — host namespace, plugin and configuration directories, containerd;
//! - [`pod`]: a pod's sandbox configuration and what a test reads back from it;
//! - [`probes`]: a recording and a sleeping test plugin to put into a chain;
//! - [`cleanup`]: mounts and cgroups of one containerd, found and removed.

pub mod cleanup;
pub mod client;
pub mod config;
pub mod containerd;
pub mod image;
pub mod node;
pub mod pod;
pub mod probes;

pub use client::Cri;
pub use config::CriConfig;
pub use containerd::Containerd;
pub use k8s_cri;
pub use node::{CriNode, NodePaths, Plugins};
pub use pod::{PodSpec, RunningPod};
pub use tonic;
