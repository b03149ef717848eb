//! tun devices (layer-3 packets through a file descriptor), for the overlay agent's udp
//! backend: each packet the kernel routes to the device is one `read` on the descriptor,
//! and each `write` injects one packet, with no packet-information header (`IFF_NO_PI`).
//!
//! A tun device is not created over netlink but by opening `/dev/net/tun` and naming the
//! device with the `TUNSETIFF` ioctl. The device lives in the network namespace **of the
//! calling thread**, like a socket; to create one in another namespace, call [`create`]
//! inside [`crate::NetNs::run`] and keep the returned descriptor, which works from any
//! thread. The device is not persistent: it disappears when its last queue's descriptor
//! is closed, so a crashed agent leaves nothing behind.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::error::{Error, Result};
use crate::link::check_name;

/// Creates the tun device `name` and returns its (first) queue, blocking until
/// [`set_nonblocking`]. With `multi_queue`, more queues can be attached with
/// [`attach_queue`], one per reader thread. Fails with `EBUSY` if a device of that name
/// exists (`IFF_TUN_EXCL`: an existing tun device is never silently shared).
pub fn create(name: &str, multi_queue: bool) -> Result<OwnedFd> {
    let mut flags = libc::IFF_TUN | libc::IFF_NO_PI | libc::IFF_TUN_EXCL;
    if multi_queue {
        flags |= libc::IFF_MULTI_QUEUE;
    }
    set_iff("create tun device", name, flags)
}

/// Attaches one more queue to the multi-queue tun device `name` in the calling thread's
/// namespace. Fails with `ENODEV` if there is no such device (rather than creating one, as
/// a bare `TUNSETIFF` would) and `EINVAL` if it is not a multi-queue tun device.
pub fn attach_queue(name: &str) -> Result<OwnedFd> {
    const OP: &str = "attach queue to tun device";
    let object = format!("{name:?}");
    check_name(name).map_err(|why| Error::invalid(OP, object.clone(), why))?;
    // Racy against a concurrent delete, but then TUNSETIFF creates a device that goes away
    // with the descriptor: nothing leaks.
    let cname = std::ffi::CString::new(name)
        .map_err(|_| Error::invalid(OP, object.clone(), "NUL in name"))?;
    // SAFETY: `cname` is a NUL-terminated string that outlives the call.
    if unsafe { libc::if_nametoindex(cname.as_ptr()) } == 0 {
        return Err(Error::io(OP, object, io::Error::last_os_error()));
    }
    set_iff(
        OP,
        name,
        libc::IFF_TUN | libc::IFF_NO_PI | libc::IFF_MULTI_QUEUE,
    )
}

/// Switches a queue's descriptor between blocking and non-blocking reads and writes (for
/// an event loop).
pub fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> Result<()> {
    let fail = || {
        Error::io(
            "set non-blocking mode of",
            "tun queue",
            io::Error::last_os_error(),
        )
    };
    // SAFETY: F_GETFL takes no argument and only reads the open file's status flags.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(fail());
    }
    let flags = if nonblocking {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: F_SETFL takes an int of status flags and changes only those.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) } < 0 {
        return Err(fail());
    }
    Ok(())
}

/// Opens `/dev/net/tun` and binds the descriptor to device `name` with `flags`.
fn set_iff(op: &'static str, name: &str, flags: libc::c_int) -> Result<OwnedFd> {
    let object = format!("{name:?}");
    check_name(name).map_err(|why| Error::invalid(op, object.clone(), why))?;
    // SAFETY: the path is a NUL-terminated string literal; open has no other preconditions.
    let raw = unsafe { libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if raw < 0 {
        let e = io::Error::last_os_error();
        return Err(Error::io(op, format!("{object} (open /dev/net/tun)"), e));
    }
    // SAFETY: `raw` is a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: ifreq is plain old data (a name array and a union of integers and
    // addresses); all-zero is a valid value, and a NUL-terminated empty name.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    // check_name allowed at most 15 bytes, so the last byte stays the terminating NUL.
    for (slot, byte) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *slot = byte as libc::c_char;
    }
    // The flags field is a C short; IFF_TUN_EXCL is its sign bit.
    req.ifr_ifru.ifru_flags = flags as libc::c_short;
    // SAFETY: `fd` is open; TUNSETIFF reads and writes exactly one `struct ifreq`, which
    // `req` is, and `req` outlives the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut req) };
    if rc < 0 {
        return Err(Error::io(op, object, io::Error::last_os_error()));
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_names_are_refused_before_opening_anything() {
        for bad in ["", "tun/0", "a-name-far-too-long", "tun 0"] {
            let e = create(bad, false).unwrap_err();
            assert!(e.to_string().starts_with("create tun device "), "{e}");
            assert_eq!(e.errno(), None, "{e}");
            assert_eq!(attach_queue(bad).unwrap_err().errno(), None);
        }
    }
}
