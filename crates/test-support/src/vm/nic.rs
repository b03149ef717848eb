//! A guest's network cards (virtio-net) and what is on their other side.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use crate::ns::Ns;

/// A network card of the guest.
#[derive(Debug)]
pub enum Nic {
    /// A tap device QEMU creates inside a test namespace (QEMU is started in it), so the
    /// namespace reaches the guest and the machine's own namespace never sees it. All taps of
    /// one VM are in one namespace: QEMU runs in the first tap's.
    Tap {
        /// The namespace holding the tap.
        ns: OwnedFd,
        /// The tap's name there.
        ifname: String,
        /// The guest card's MAC.
        mac: String,
    },
    /// One end of an L2 link between two VMs over a unix socket (`-netdev stream`): start
    /// the `server` VM first; the other connects to the same socket.
    Stream {
        /// The socket.
        socket: PathBuf,
        /// Listens (else connects).
        server: bool,
        /// The guest card's MAC.
        mac: String,
    },
}

impl Nic {
    /// A tap `ifname` in `ns`, the guest's card with MAC `52:54:00:12:34:56`.
    pub fn tap(ns: &Ns, ifname: &str) -> Nic {
        Nic::Tap {
            ns: ns.ns.as_fd().try_clone_to_owned().unwrap(),
            ifname: ifname.to_owned(),
            mac: "52:54:00:12:34:56".to_owned(),
        }
    }

    /// A stream link over `socket`; two VMs on one link need different `mac`s.
    pub fn stream(socket: impl Into<PathBuf>, server: bool, mac: &str) -> Nic {
        Nic::Stream {
            socket: socket.into(),
            server,
            mac: mac.to_owned(),
        }
    }

    /// QEMU's `-netdev` and `-device` arguments for card `n`.
    pub(super) fn args(&self, n: usize) -> Vec<String> {
        let id = format!("n{n}");
        let (netdev, mac) = match self {
            Nic::Tap { ifname, mac, .. } => (
                format!("tap,id={id},ifname={ifname},script=no,downscript=no"),
                mac,
            ),
            Nic::Stream {
                socket,
                server,
                mac,
            } => (
                format!(
                    "stream,id={id},server={},addr.type=unix,addr.path={}",
                    if *server { "on" } else { "off" },
                    socket.display()
                ),
                mac,
            ),
        };
        // No option ROM: the guest boots through PVH, and the iPXE ROMs are a recommended
        // package setup leaves out.
        let device = format!("virtio-net-pci,netdev={id},mac={mac},romfile=");
        vec!["-netdev".into(), netdev, "-device".into(), device]
    }
}
