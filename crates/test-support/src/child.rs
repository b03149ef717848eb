//! Programs started inside a test namespace. The child enters the namespace between fork
//! and exec; the test thread itself never changes namespace.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use twill_kernel::NetNs;

/// Makes `cmd`'s child enter the network namespace `ns` before it executes.
pub fn enter_in_child(cmd: &mut Command, ns: OwnedFd) {
    let fd = ns.as_raw_fd();
    // SAFETY: the closure runs in the forked child before exec and calls only setns(2), which
    // is async-signal-safe; `ns` is moved into the closure, so the descriptor stays open until
    // the Command is dropped, after the child has started.
    unsafe {
        cmd.pre_exec(move || {
            let _keep = &ns;
            if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// `program`, to be started inside `ns`.
pub fn command_in(ns: &NetNs, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    enter_in_child(&mut cmd, ns.as_fd().try_clone_to_owned().unwrap());
    cmd
}

/// Runs `program args` inside `ns` (not the machine's own namespace); its stdout. A failure
/// fails the test, naming what to install when the program is missing.
pub fn in_ns(ns: &NetNs, program: &str, args: &[&str]) -> String {
    let out = command_in(ns, program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): run scripts/setup.sh (as root)"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
