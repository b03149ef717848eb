//! QEMU's command line for one VM.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::assets::{self, Kernel};
use super::{GuestRoot, Nic, VmOptions};
use crate::child::enter_in_child;

/// QEMU booting `kernel` with `initrd`, the host's `/` and the share, as `opts` asks.
pub(super) fn command(
    kernel: &Kernel,
    opts: &VmOptions,
    initrd: &Path,
    share_path: &str,
) -> Command {
    let root = match opts.root {
        GuestRoot::Host => "host",
        GuestRoot::Initramfs => "initramfs",
    };
    // The target directory (test binaries, examples, the workspace's binaries) must stay
    // visible in the guest even under a directory the guest mounts its own tmpfs on.
    let target = crate::binaries::target_dir();
    let keep = target.parent().unwrap_or(&target).display().to_string();
    assert!(
        !keep.contains(char::is_whitespace),
        "the target directory {keep:?} has whitespace: the kernel command line cannot carry it"
    );
    let cmdline = format!(
        "console=ttyS0 quiet panic=-1 mitigations=off twill.root={root} \
         twill.share={share_path} twill.kdir={} twill.keep={keep}",
        kernel.dir.display()
    );
    let mut cmd = Command::new(assets::qemu());
    cmd.args(assets::accel_args())
        .args(["-m", &opts.memory_mib.to_string()])
        .args(["-smp", &opts.cpus.to_string()])
        // No default devices (no e1000 with user networking, no VGA): only what we add.
        .args(["-nodefaults", "-no-user-config", "-display", "none"])
        .args(["-serial", "stdio", "-monitor", "none", "-no-reboot"])
        .arg("-kernel")
        .arg(&kernel.image)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", &cmdline])
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
        // `/` spans several filesystems: remap their inodes so 9p's never collide.
        .args([
            "-virtfs",
            "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap",
        ])
        .arg("-virtfs")
        .arg(format!(
            "local,path={share_path},mount_tag=share,security_model=none"
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (n, nic) in opts.nics.iter().enumerate() {
        cmd.args(nic.args(n));
    }
    // Taps are created in QEMU's namespace: QEMU starts inside the test namespace.
    if let Some(Nic::Tap { ns, .. }) = opts.nics.iter().find(|n| matches!(n, Nic::Tap { .. })) {
        enter_in_child(&mut cmd, ns.try_clone().unwrap());
    }
    die_with_parent(&mut cmd);
    cmd
}

/// QEMU dies with the test thread that started it, even when the test process is killed.
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl(2) is async-signal-safe; the closure runs in the child before exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
