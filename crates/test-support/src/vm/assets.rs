//! What a VM needs from the machine: QEMU and Debian's kernel as `scripts/vm-kernel.sh` left
//! it. Missing pieces fail the test with the command that installs them — never a skip.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where `scripts/vm-kernel.sh` unpacks kernels; `current` points at the one to boot.
pub const CACHE: &str = "/var/cache/twill-vm";

const QEMU: &str = "/usr/bin/qemu-system-x86_64";
const SETUP: &str = "run scripts/setup.sh (as root; it calls scripts/vm-kernel.sh)";

/// Debian's kernel, unpacked: never the machine's own.
#[derive(Debug)]
pub struct Kernel {
    /// `uname -r` inside the guest, e.g. `6.1.0-57-amd64`.
    pub version: String,
    /// The unpacked package (`boot/`, `lib/modules/<version>/`).
    pub dir: PathBuf,
    /// What QEMU boots: the uncompressed `vmlinux` (PVH entry, ~3.5 s faster under TCG) when
    /// the script could extract it, else `vmlinuz`.
    pub image: PathBuf,
}

impl Kernel {
    /// `lib/modules/<version>`, with the `modules.dep` depmod wrote.
    pub fn modules(&self) -> PathBuf {
        self.dir.join("lib/modules").join(&self.version)
    }
}

/// The kernel to boot: `$TWILL_VM_KERNEL` (a directory as the script leaves it) or
/// `/var/cache/twill-vm/current`.
pub fn kernel() -> &'static Kernel {
    static KERNEL: OnceLock<Kernel> = OnceLock::new();
    KERNEL.get_or_init(|| {
        let dir = std::env::var_os("TWILL_VM_KERNEL")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(CACHE).join("current"));
        let dir = std::fs::canonicalize(&dir).unwrap_or_else(|_| {
            panic!("no VM kernel at {}: {SETUP}", dir.display());
        });
        let version = std::fs::read_to_string(dir.join("version"))
            .unwrap_or_else(|_| panic!("{} is incomplete: {SETUP}", dir.display()))
            .trim()
            .to_owned();
        let vmlinux = dir.join("vmlinux");
        let image = if vmlinux.is_file() {
            vmlinux
        } else {
            dir.join("boot").join(format!("vmlinuz-{version}"))
        };
        let kernel = Kernel {
            version,
            dir,
            image,
        };
        assert!(
            kernel.image.is_file() && kernel.modules().join("modules.dep").is_file(),
            "{} is incomplete: {SETUP}",
            kernel.dir.display()
        );
        kernel
    })
}

/// The QEMU binary.
pub fn qemu() -> &'static Path {
    let q = Path::new(QEMU);
    assert!(q.is_file(), "{QEMU} is missing: {SETUP}");
    q
}

/// The accelerator. KVM only where it can run a stock kernel: `/dev/kvm` here is `kvm_pvm`,
/// a software nested hypervisor under which Debian's kernel aborts or crawls, so its module
/// means TCG. `TWILL_VM_ACCEL=tcg` forces TCG anywhere.
pub fn accel_args() -> &'static [&'static str] {
    let forced_tcg = std::env::var("TWILL_VM_ACCEL").is_ok_and(|a| a == "tcg");
    let pvm = Path::new("/sys/module/kvm_pvm").exists();
    let kvm = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    if kvm && !pvm && !forced_tcg {
        &["-accel", "kvm", "-cpu", "host"]
    } else {
        &["-accel", "tcg", "-cpu", "max"]
    }
}
