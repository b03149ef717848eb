//! The command of `twill run`: started inside the namespace, supervised, signals forwarded.
//!
//! SIGINT, SIGTERM, SIGHUP and SIGCHLD are blocked from the start of `twill run` (before any
//! thread exists, so every thread inherits the mask) and taken with `sigtimedwait`: no
//! handler runs at an awkward moment, a Ctrl-C during setup waits until the setup can be
//! undone cleanly, and the teardown cannot be interrupted.

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus};
use std::time::Duration;

use twill_kernel::NetNs;

/// The signals `twill run` handles itself.
const HANDLED: [i32; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// `si_code` of a signal the kernel generated: a terminal's Ctrl-C or hangup, which the
/// kernel already delivers to the whole foreground process group, the command included.
const SI_KERNEL: i32 = 0x80;

/// The blocked signals.
#[derive(Debug)]
pub struct Signals {
    handled: libc::sigset_t,
    with_child: libc::sigset_t,
}

fn sigset(signals: &[i32]) -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a sigset_t we own; the zeroed value
    // is a valid starting point on Linux and is reinitialised by sigemptyset anyway.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in signals {
            libc::sigaddset(&mut set, *s);
        }
        set
    }
}

impl Signals {
    /// Blocks the handled signals and SIGCHLD in the calling thread. Call before any thread
    /// is started.
    pub fn block() -> io::Result<Signals> {
        let handled = sigset(&HANDLED);
        let mut all = HANDLED.to_vec();
        all.push(libc::SIGCHLD);
        let with_child = sigset(&all);
        // SAFETY: pthread_sigmask with a valid set; it changes only this thread's mask.
        let rc =
            unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &with_child, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(Signals {
            handled,
            with_child,
        })
    }

    /// A handled signal that arrived (and is consumed), if any.
    pub fn pending(&self) -> Option<i32> {
        wait(&self.handled, Duration::ZERO).map(|(sig, _)| sig)
    }

    /// Waits for the child to exit, forwarding the handled signals sent to twill. Signals
    /// the terminal generated are not forwarded: the command got them already.
    pub fn supervise(&self, child: &mut Child) -> io::Result<ExitStatus> {
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            // The timeout only bounds a missed wake-up; SIGCHLD ends the wait at once.
            if let Some((sig, code)) = wait(&self.with_child, Duration::from_secs(1)) {
                if sig != libc::SIGCHLD && code != SI_KERNEL {
                    forward(child, sig);
                }
            }
        }
    }
}

/// `sigtimedwait` on `set`: the signal and its `si_code`, or `None` on timeout.
fn wait(set: &libc::sigset_t, timeout: Duration) -> Option<(i32, i32)> {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().try_into().unwrap_or(libc::time_t::MAX),
        tv_nsec: timeout.subsec_nanos().into(),
    };
    // SAFETY: sigtimedwait with a valid set, an out-parameter we own and a valid timespec.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let sig = libc::sigtimedwait(set, &mut info, &ts);
        (sig > 0).then_some((sig, info.si_code))
    }
}

fn forward(child: &Child, sig: i32) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) on our own child's pid; it has not been reaped yet (try_wait
        // returned None), so the pid cannot have been reused.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Starts `argv` inside `netns`, stdin/stdout/stderr (and so the terminal) inherited. The
/// child dies with twill (SIGKILL on parent death): once twill is gone its network is torn
/// down by `twill gc`, and a process left running in a dismantled namespace helps nobody.
pub fn spawn(argv: &[String], netns: &NetNs, signals: &Signals) -> io::Result<Child> {
    let Some((program, args)) = argv.split_first() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no command"));
    };
    let mut cmd = Command::new(program);
    cmd.args(args);
    let ns_fd = netns.as_fd().as_raw_fd();
    // SAFETY: getpid(2) cannot fail.
    let parent = unsafe { libc::getpid() };
    let unblock = signals.with_child;
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe functions (setns, prctl, getppid, sigprocmask). `ns_fd` is open in
    // the parent for the whole spawn, so it is open in the child's copy of the descriptor
    // table; it is close-on-exec, so the command does not inherit it.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(ns_fd, libc::CLONE_NEWNET) != 0 {
                return Err(io::Error::last_os_error());
            }
            let sigkill = libc::SIGKILL as libc::c_ulong;
            if libc::prctl(libc::PR_SET_PDEATHSIG, sigkill, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // twill died between fork and prctl: the death signal would never come.
            if libc::getppid() != parent {
                return Err(io::Error::other("twill exited while starting the command"));
            }
            libc::sigprocmask(libc::SIG_UNBLOCK, &unblock, std::ptr::null_mut());
            Ok(())
        });
    }
    cmd.spawn()
}

/// The exit code `twill run` passes through: the command's, or 128 + the signal that
/// killed it (as shells report it).
pub fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(255),
        (None, None) => 1,
    }
}

/// The exit code for a command that could not be started: 127 not found, 126 not
/// executable (as shells do), 125 for anything else (twill's own failure).
pub fn spawn_failure_code(e: &io::Error) -> u8 {
    match e.kind() {
        io::ErrorKind::NotFound => 127,
        io::ErrorKind::PermissionDenied => 126,
        _ => 125,
    }
}
