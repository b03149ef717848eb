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
//!
//! With [`TunOptions::vnet_hdr`] every packet read or written is preceded by a
//! `virtio_net_hdr` ([`vnet`]), and [`set_offloads`] lets the kernel hand the reader
//! unchecksummed packets and TCP/UDP super-packets of up to 64 KiB (as to a virtio NIC)
//! instead of cutting them to the device's MTU first: one read per 64 KiB instead of one
//! per 1,400 bytes. The reader then owes the segmentation and the checksums.

pub mod vnet;

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::error::{Error, Result};
use crate::link::check_name;

/// How a queue is opened. Every queue of a device must be opened with the same options:
/// `TUNSETIFF` on an existing device replaces the device's flags with the new queue's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TunOptions {
    /// `IFF_MULTI_QUEUE`: more queues can be attached with [`attach_queue`].
    pub multi_queue: bool,
    /// `IFF_VNET_HDR`: a `virtio_net_hdr` ([`vnet::VNET_HDR_LEN`] bytes once
    /// [`set_vnet_hdr_len`] is called) precedes every packet read and written.
    pub vnet_hdr: bool,
}

impl TunOptions {
    fn flags(self) -> libc::c_int {
        let mut flags = libc::IFF_TUN | libc::IFF_NO_PI;
        if self.multi_queue {
            flags |= libc::IFF_MULTI_QUEUE;
        }
        if self.vnet_hdr {
            flags |= libc::IFF_VNET_HDR;
        }
        flags
    }
}

/// Creates the tun device `name` and returns its (first) queue, blocking until
/// [`set_nonblocking`]. With `multi_queue`, more queues can be attached with
/// [`attach_queue`], one per reader thread. Fails with `EBUSY` if a device of that name
/// exists (`IFF_TUN_EXCL`: an existing tun device is never silently shared).
pub fn create(name: &str, options: TunOptions) -> Result<OwnedFd> {
    set_iff(
        "create tun device",
        name,
        options.flags() | libc::IFF_TUN_EXCL,
    )
}

/// Attaches one more queue to the multi-queue tun device `name` in the calling thread's
/// namespace, with the options the device was created with. Fails with `ENODEV` if there
/// is no such device (rather than creating one, as a bare `TUNSETIFF` would) and `EINVAL`
/// if it is not a multi-queue tun device.
pub fn attach_queue(name: &str, options: TunOptions) -> Result<OwnedFd> {
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
    let options = TunOptions {
        multi_queue: true,
        ..options
    };
    set_iff(OP, name, options.flags())
}

/// What the reader of a queue can take from the kernel (`TUN_F_*` for `TUNSETOFFLOAD`):
/// each flag the kernel accepts becomes a feature of the device, so the stack stops doing
/// that work before handing packets over.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Offloads(u32);

impl std::fmt::Debug for Offloads {
    /// The flags by name (`CSUM|TSO4|TSO6`), unknown bits in hex, `NONE` for none.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAMES: [(Offloads, &str); 6] = [
            (Offloads::CSUM, "CSUM"),
            (Offloads::TSO4, "TSO4"),
            (Offloads::TSO6, "TSO6"),
            (Offloads::TSO_ECN, "TSO_ECN"),
            (Offloads::USO4, "USO4"),
            (Offloads::USO6, "USO6"),
        ];
        if self.0 == 0 {
            return f.write_str("NONE");
        }
        let mut rest = *self;
        let mut sep = "";
        for (flag, name) in NAMES {
            if self.contains(flag) {
                write!(f, "{sep}{name}")?;
                sep = "|";
                rest = rest.without(flag);
            }
        }
        if rest.0 != 0 {
            write!(f, "{sep}{:#x}", rest.0)?;
        }
        Ok(())
    }
}

impl Offloads {
    /// None: every packet arrives whole and checksummed.
    pub const NONE: Offloads = Offloads(0);
    /// `TUN_F_CSUM`: packets may arrive with the checksum left to do (`NEEDS_CSUM`).
    /// Every segmentation offload needs it.
    pub const CSUM: Offloads = Offloads(libc::TUN_F_CSUM);
    /// `TUN_F_TSO4`: IPv4 TCP super-packets.
    pub const TSO4: Offloads = Offloads(libc::TUN_F_TSO4);
    /// `TUN_F_TSO6`: IPv6 TCP super-packets.
    pub const TSO6: Offloads = Offloads(libc::TUN_F_TSO6);
    /// `TUN_F_TSO_ECN`: TCP super-packets of ECN streams (CWR on the first segment only).
    pub const TSO_ECN: Offloads = Offloads(libc::TUN_F_TSO_ECN);
    /// `TUN_F_USO4`: IPv4 UDP super-packets (Linux ≥ 6.2).
    pub const USO4: Offloads = Offloads(libc::TUN_F_USO4);
    /// `TUN_F_USO6`: IPv6 UDP super-packets (Linux ≥ 6.2).
    pub const USO6: Offloads = Offloads(libc::TUN_F_USO6);

    /// Raw `TUN_F_*` bits, for a flag this type does not name.
    pub const fn from_bits(bits: u32) -> Offloads {
        Offloads(bits)
    }

    /// The raw `TUN_F_*` bits.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// These flags and those of `other` (a `const` `|`).
    pub const fn with(self, other: Offloads) -> Offloads {
        Offloads(self.0 | other.0)
    }

    /// The flags set in both.
    pub const fn intersect(self, other: Offloads) -> Offloads {
        Offloads(self.0 & other.0)
    }

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: Offloads) -> bool {
        self.0 & other.0 == other.0
    }

    /// These flags without those of `other`.
    pub fn without(self, other: Offloads) -> Offloads {
        Offloads(self.0 & !other.0)
    }
}

impl std::ops::BitOr for Offloads {
    type Output = Offloads;
    fn bitor(self, rhs: Offloads) -> Offloads {
        Offloads(self.0 | rhs.0)
    }
}

/// Sets the device's offloads (`TUNSETOFFLOAD`). The kernel takes all flags or none:
/// `EINVAL` means one of them is unknown to it (USO before Linux 6.2), and the caller
/// should retry with fewer.
pub fn set_offloads(fd: BorrowedFd<'_>, offloads: Offloads) -> Result<()> {
    // SAFETY: `fd` is open; TUNSETOFFLOAD takes its argument by value (an unsigned long
    // of flags) and touches no memory of ours.
    let rc = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::TUNSETOFFLOAD,
            libc::c_ulong::from(offloads.bits()),
        )
    };
    if rc < 0 {
        let object = format!("tun queue ({:#x})", offloads.bits());
        return Err(Error::io(
            "set offloads of",
            object,
            io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Sets the length of the `virtio_net_hdr` in front of each packet (`TUNSETVNETHDRSZ`);
/// [`vnet::VNET_HDR_LEN`] is the plain header. The kernel refuses less than that.
pub fn set_vnet_hdr_len(fd: BorrowedFd<'_>, len: usize) -> Result<()> {
    let fail = |e| Error::io("set vnet header length of", "tun queue", e);
    let mut len =
        libc::c_int::try_from(len).map_err(|_| fail(io::Error::from_raw_os_error(libc::EINVAL)))?;
    // SAFETY: `fd` is open; TUNSETVNETHDRSZ reads exactly one int through the pointer,
    // which points at a live c_int.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETVNETHDRSZ, &mut len) };
    if rc < 0 {
        return Err(fail(io::Error::last_os_error()));
    }
    Ok(())
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
pub(crate) fn set_iff(op: &'static str, name: &str, flags: libc::c_int) -> Result<OwnedFd> {
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
    fn options_become_the_flags_of_every_queue() {
        let plain = TunOptions::default().flags();
        assert_eq!(plain, libc::IFF_TUN | libc::IFF_NO_PI);
        let all = TunOptions {
            multi_queue: true,
            vnet_hdr: true,
        };
        assert_eq!(
            all.flags() & !plain,
            libc::IFF_MULTI_QUEUE | libc::IFF_VNET_HDR
        );
        let tso = Offloads::CSUM | Offloads::TSO4 | Offloads::TSO6;
        assert_eq!(tso.bits(), 0x07);
        assert!(tso.contains(Offloads::TSO4 | Offloads::CSUM));
        assert!(!tso.contains(Offloads::USO4));
        assert_eq!(tso.without(Offloads::TSO6 | Offloads::USO6).bits(), 0x03);
        assert_eq!(format!("{tso:?}"), "CSUM|TSO4|TSO6");
        assert_eq!(format!("{:?}", Offloads::NONE), "NONE");
        assert_eq!(format!("{:?}", Offloads::from_bits(0x401)), "CSUM|0x400");
    }

    #[test]
    fn bad_names_are_refused_before_opening_anything() {
        for bad in ["", "tun/0", "a-name-far-too-long", "tun 0"] {
            let e = create(bad, TunOptions::default()).unwrap_err();
            assert!(e.to_string().starts_with("create tun device "), "{e}");
            assert_eq!(e.errno(), None, "{e}");
            let opts = TunOptions::default();
            assert_eq!(attach_queue(bad, opts).unwrap_err().errno(), None);
        }
    }
}
