//! Waiting for a descriptor to become readable, or for the backend to stop.
//!
//! The forwarding threads block in `poll(2)` only when they have drained their input; the
//! poll set always holds a stop eventfd, which [`Stop::signal`] makes readable for good,
//! so every thread wakes and returns within one batch of `stop()`.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// The backend's stop signal: a flag checked once per batch, and an eventfd that wakes
/// threads blocked in [`Stop::wait_readable`].
#[derive(Debug)]
pub(super) struct Stop {
    flag: AtomicBool,
    event: OwnedFd,
}

impl Stop {
    pub fn new() -> io::Result<Stop> {
        // SAFETY: eventfd(2) with constant flags; the result is checked.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let event = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Stop {
            flag: AtomicBool::new(false),
            event,
        })
    }

    /// Asks every thread to stop. The counter is never read back, so the eventfd stays
    /// readable and later polls return at once too.
    pub fn signal(&self) {
        self.flag.store(true, Ordering::Release);
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live stack array to an open eventfd. It can only
        // fail if the counter would overflow, which needs 2^64 - 1 signals.
        let _ = unsafe { libc::write(self.event.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    }

    /// Whether [`Stop::signal`] was called.
    pub fn stopped(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Blocks until `fd` is readable (`Ok(true)`) or the backend stops (`Ok(false)`).
    pub fn wait_readable(&self, fd: BorrowedFd<'_>) -> io::Result<bool> {
        let mut fds = [
            libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: self.event.as_fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        loop {
            if self.stopped() {
                return Ok(false);
            }
            // SAFETY: `fds` is a live array of initialised pollfd structs, and its length
            // is passed with it; -1 waits without a timeout.
            let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
            if rc < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let [data, stop] = &fds;
            if stop.revents != 0 || self.stopped() {
                return Ok(false);
            }
            // POLLERR/POLLHUP count as readable: the next read reports what is wrong.
            if data.revents != 0 {
                return Ok(true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[test]
    fn a_signal_wakes_a_blocked_waiter_and_every_later_one() {
        let stop = Arc::new(Stop::new().unwrap());
        let (quiet, _keep) = std::os::unix::net::UnixDatagram::pair().unwrap();
        let waiter = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || stop.wait_readable(quiet.as_fd()).unwrap())
        };
        std::thread::sleep(Duration::from_millis(20));
        let t = Instant::now();
        stop.signal();
        assert!(!waiter.join().unwrap());
        assert!(t.elapsed() < Duration::from_secs(1));
        let (again, _keep2) = std::os::unix::net::UnixDatagram::pair().unwrap();
        assert!(!stop.wait_readable(again.as_fd()).unwrap());
    }

    #[test]
    fn a_readable_descriptor_returns_true() {
        let stop = Stop::new().unwrap();
        let (a, b) = std::os::unix::net::UnixDatagram::pair().unwrap();
        b.send(b"x").unwrap();
        assert!(stop.wait_readable(a.as_fd()).unwrap());
    }
}
