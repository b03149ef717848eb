//! Tests in a QEMU VM booting Debian's own kernel, for the kernel features this machine's
//! kernel lacks (802.1Q vlan, ipvlan, dummy, vrf, wireguard, bridge VLAN filtering). The
//! kernel comes from `scripts/vm-kernel.sh` (unpacked, never installed); nothing is faked.
//!
//! A [`Vm`] boots that kernel with the harness's [`initramfs`] (built once per process), whose
//! `/init` mounts the host's `/` read-only over 9p and a fresh temporary directory (the
//! *share*) writable, runs a shell script from the share — by default chroot'ed into the
//! host's `/`, so the host's tools and the workspace's test binaries run unchanged against the
//! guest's kernel — and leaves the exit status, stdout and stderr on the share. QEMU leaves
//! through `isa-debug-exit`; a guest that powers off, panics or hangs without reporting is a
//! failure, never a success. Under TCG a boot takes ~3 s.
//!
//! - [`Vm::run`]: a script to its [`VmOutput`]; [`Vm::start`] and [`Vm::wait`] around work the
//!   test does meanwhile (pinging the guest through a [`Nic::tap`] in a test namespace);
//! - [`run_test`]: the calling test's own body inside a VM (the test binary re-runs itself
//!   in the guest, filtered to that test), with [`in_guest`] telling the two sides apart.

pub mod assets;
mod console;
pub mod initramfs;
mod machine;
mod nic;
mod output;
mod qemu;
mod this_test;

use std::time::Duration;

pub use machine::Vm;
pub use nic::Nic;
pub use output::{VmFailure, VmOutput};
pub use this_test::{in_guest, run_test};

/// What the guest's script runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestRoot {
    /// The host's `/` (read-only, with the guest's own `/proc`, `/sys`, `/dev` and fresh
    /// `/tmp` and `/run`): the host's programs, libraries and test binaries.
    Host,
    /// The initramfs only: busybox, with Debian's `ip` and `bridge` at `/usr/bin/ip` and
    /// `/usr/sbin/bridge` — call them by full path, as busybox's shell runs its own applet
    /// for a bare `ip`.
    Initramfs,
}

/// How to boot a VM.
#[derive(Debug)]
pub struct VmOptions {
    /// What the script runs on.
    pub root: GuestRoot,
    /// Guest memory; 512 MiB leaves room for tmpfs files and a test binary.
    pub memory_mib: u32,
    /// Guest CPUs; a second one does not make TCG boots faster here.
    pub cpus: u32,
    /// From launch to QEMU's exit; QEMU is killed then and the run fails.
    pub timeout: Duration,
    /// Network cards, `eth0` first.
    pub nics: Vec<Nic>,
    /// Variables exported to the script.
    pub env: Vec<(String, String)>,
}

impl Default for VmOptions {
    fn default() -> Self {
        VmOptions {
            root: GuestRoot::Host,
            memory_mib: 512,
            cpus: 1,
            timeout: Duration::from_secs(120),
            nics: Vec::new(),
            env: Vec::new(),
        }
    }
}

impl VmOptions {
    /// The script runs on `root`.
    pub fn root(mut self, root: GuestRoot) -> Self {
        self.root = root;
        self
    }

    /// Adds a network card (the next `ethN` in the guest).
    pub fn nic(mut self, nic: Nic) -> Self {
        self.nics.push(nic);
        self
    }

    /// Exports `key=value` to the script.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Kills QEMU after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}
