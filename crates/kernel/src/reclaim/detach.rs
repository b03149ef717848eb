//! Starting the detached process that does the waiting.

use std::io;
use std::os::fd::RawFd;

/// Runs `work` in a grandchild process and returns once the intermediate child is reaped: the
/// grandchild is then the child of init (or of the nearest subreaper), which reaps it when it
/// exits — it is never a zombie of the caller's. Before `work`, the grandchild closes every
/// descriptor but those in `keep`: the runtime's stdout pipe (a runtime reads it to the end),
/// lock files (a lock would outlive its holder) and sockets that are not its to close.
///
/// # Safety
/// `work` runs in a forked copy of a process that may have had other threads: it may only
/// make async-signal-safe calls — raw system calls, no allocation, no locks.
pub(crate) unsafe fn spawn_detached(
    keep: &mut [RawFd],
    work: impl FnOnce() -> libc::c_int,
) -> io::Result<()> {
    keep.sort_unstable();
    // SAFETY: fork has no preconditions; the child below only makes async-signal-safe calls.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: the intermediate child forks and exits; nothing else runs in it.
        unsafe {
            let worker = libc::fork();
            if worker != 0 {
                libc::_exit(if worker < 0 { 1 } else { 0 });
            }
            // A reader that is gone, or a terminal's signals to the caller's process group,
            // must not end the worker before the kernel is done.
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            libc::setsid();
        }
        close_all_but(keep);
        let code = work();
        // SAFETY: ends the worker without running the parent's exit handlers or destructors.
        unsafe { libc::_exit(code) }
    }
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` is valid for writes; `pid` is our own child.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else {
        Err(io::Error::other(
            "the reclaiming process could not be started",
        ))
    }
}

/// Closes every descriptor of the process but those in `keep` (sorted), with `close_range`.
fn close_all_but(keep: &[RawFd]) {
    let mut next: libc::c_uint = 0;
    for &fd in keep {
        let Ok(fd) = libc::c_uint::try_from(fd) else {
            continue;
        };
        if fd > next {
            close_range(next, fd - 1);
        }
        next = fd.saturating_add(1);
    }
    close_range(next, libc::c_uint::MAX);
}

fn close_range(first: libc::c_uint, last: libc::c_uint) {
    // SAFETY: close_range only closes descriptors; errors (ENOSYS on kernels before 5.9) leave
    // them open, which costs nothing but the descriptors' lifetime.
    unsafe { libc::syscall(libc::SYS_close_range, first, last, 0 as libc::c_uint) };
}
