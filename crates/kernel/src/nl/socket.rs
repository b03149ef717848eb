//! The netlink socket (`NETLINK_ROUTE` by default, any protocol through
//! [`Netlink::open_protocol`]): open, send a request, read its reply.
//!
//! A socket belongs to the network namespace of the thread that created it, for its whole
//! life. To work on another namespace, open the socket there ([`crate::NetNs::netlink`]) and use
//! it from any thread: that is cheaper and safer than moving threads between namespaces.

use std::fmt::Display;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::consts::{
    NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_ROUTE, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use super::message::{Message, MessageBuilder};
use super::reply::{Progress, ReplyReader};
use super::WireError;
use crate::error::{Error, ErrorKind, Result};

/// How many times a dump flagged inconsistent (`NLM_F_DUMP_INTR`) is repeated before giving
/// up. Each attempt races only with changes made while it runs, so a few suffice.
pub const DUMP_ATTEMPTS: u32 = 8;

/// Initial receive buffer: the kernel's dump datagrams are at most 32 KiB unless one message
/// is larger, and then the buffer grows (see `recv`).
const RECV_BUFFER: usize = 32 * 1024;

/// A synchronous rtnetlink socket, bound to the namespace it was opened in.
#[derive(Debug)]
pub struct Netlink {
    pub(super) fd: OwnedFd,
    port: u32,
    pub(super) seq: u32,
    pub(super) buf: Vec<u8>,
    interrupted_dumps: u64,
    /// A netfilter socket: its last close may wait for nf_tables (see [`crate::reclaim`]).
    netfilter: bool,
}

impl Drop for Netlink {
    fn drop(&mut self) {
        if self.netfilter {
            crate::reclaim::keep_until_hand_off(self.fd.as_fd());
        }
    }
}

impl Netlink {
    /// Opens and binds a `NETLINK_ROUTE` socket in the calling thread's network namespace.
    pub fn open() -> Result<Netlink> {
        Netlink::open_protocol(NETLINK_ROUTE)
    }

    /// Opens and binds a netlink socket of `protocol` (`NETLINK_ROUTE`, `NETLINK_NETFILTER`,
    /// …) in the calling thread's network namespace.
    pub fn open_protocol(protocol: i32) -> Result<Netlink> {
        let fail = |e| Error::io("open", "netlink socket", e);
        // SAFETY: plain socket(2) call with constant arguments; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        };
        if raw < 0 {
            return Err(fail(io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        // Extended ACKs give errors the kernel's own explanation; capped ACKs keep the kernel
        // from echoing whole requests back. Both are best effort: old kernels lack them.
        for opt in [NETLINK_EXT_ACK, NETLINK_CAP_ACK] {
            let one: libc::c_int = 1;
            // SAFETY: `one` outlives the call and the length passed is its size.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_NETLINK,
                    opt,
                    (&one as *const libc::c_int).cast(),
                    size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
        }

        // SAFETY: sockaddr_nl is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        let mut len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: `addr` is a valid sockaddr_nl and `len` its size; port 0 lets the kernel
        // choose a unique port id.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                len,
            )
        };
        if rc < 0 {
            return Err(fail(io::Error::last_os_error()));
        }
        // SAFETY: `addr` and `len` are valid for writes of a sockaddr_nl.
        let rc = unsafe {
            libc::getsockname(
                fd.as_raw_fd(),
                (&mut addr as *mut libc::sockaddr_nl).cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(fail(io::Error::last_os_error()));
        }
        Ok(Netlink {
            fd,
            port: addr.nl_pid,
            seq: 0,
            buf: vec![0; RECV_BUFFER],
            interrupted_dumps: 0,
            netfilter: protocol == libc::NETLINK_NETFILTER,
        })
    }

    /// The port id the kernel assigned to this socket.
    pub fn port(&self) -> u32 {
        self.port
    }

    /// Sends `req` with `NLM_F_ACK` and waits for the acknowledgement. `op` and `object` name
    /// the request in the error.
    pub fn request_ack(
        &mut self,
        op: &'static str,
        object: &dyn Display,
        req: MessageBuilder,
    ) -> Result<()> {
        let seq = self.send(op, object, req, NLM_F_REQUEST | NLM_F_ACK)?;
        let mut reader = ReplyReader::new(seq, false);
        self.read_reply(op, object, &mut reader, |_| Ok(()))
            .map(|_| ())
    }

    /// Sends a GET `req` for one object and decodes the single reply with `parse`.
    pub fn request_one<T>(
        &mut self,
        op: &'static str,
        object: &dyn Display,
        req: MessageBuilder,
        mut parse: impl FnMut(&Message<'_>) -> Result<T, WireError>,
    ) -> Result<T> {
        let seq = self.send(op, object, req, NLM_F_REQUEST)?;
        let mut reader = ReplyReader::new(seq, false);
        let mut found = None;
        self.read_reply(op, object, &mut reader, |msg| {
            found = Some(parse(msg)?);
            Ok(())
        })?;
        found.ok_or_else(|| {
            let kind = ErrorKind::Wire(WireError::Missing("reply message"));
            Error::new(op, object.to_string(), kind)
        })
    }

    /// Dumps a table: sends `req` with `NLM_F_DUMP` and collects what `parse` keeps from each
    /// message (it returns `None` to skip one). A dump the kernel flags as interrupted by a
    /// concurrent change is thrown away and repeated, up to [`DUMP_ATTEMPTS`] times.
    pub fn dump<T>(
        &mut self,
        op: &'static str,
        object: &dyn Display,
        req: MessageBuilder,
        mut parse: impl FnMut(&Message<'_>) -> Result<Option<T>, WireError>,
    ) -> Result<Vec<T>> {
        let mut interrupted_here = 0;
        let result = retry_interrupted(DUMP_ATTEMPTS, || {
            let seq = self.send(op, object, req.clone(), NLM_F_REQUEST | NLM_F_DUMP)?;
            let mut reader = ReplyReader::new(seq, true);
            let mut out = Vec::new();
            let interrupted = self.read_reply(op, object, &mut reader, |msg| {
                out.extend(parse(msg)?);
                Ok(())
            })?;
            interrupted_here += u64::from(interrupted);
            Ok((out, interrupted))
        });
        self.interrupted_dumps += interrupted_here;
        result.map_err(|e| match e {
            Retry::Failed(e) => e,
            Retry::Exhausted => Error::new(
                op,
                object.to_string(),
                ErrorKind::DumpInterrupted(DUMP_ATTEMPTS),
            ),
        })
    }

    /// How many dumps on this socket the kernel flagged interrupted, each repeated.
    pub fn interrupted_dumps(&self) -> u64 {
        self.interrupted_dumps
    }

    /// Finishes `req` with the next sequence number and `flags` added, and sends it.
    fn send(
        &mut self,
        op: &'static str,
        object: &dyn Display,
        req: MessageBuilder,
        flags: u16,
    ) -> Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let bytes = req
            .with_flags(flags)
            .finish(seq, self.port)
            .map_err(|e| Error::new(op, object.to_string(), ErrorKind::Wire(e)))?;
        loop {
            // SAFETY: `bytes` is a valid buffer of the length passed. An unconnected netlink
            // socket sends to the kernel (port 0) by default.
            let n =
                unsafe { libc::send(self.fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), 0) };
            if n >= 0 {
                return Ok(seq);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(Error::io(op, object.to_string(), e));
            }
        }
    }

    /// Receives datagrams into the reader until the reply is complete; returns whether the
    /// kernel flagged it interrupted.
    fn read_reply(
        &mut self,
        op: &'static str,
        object: &dyn Display,
        reader: &mut ReplyReader,
        mut on_data: impl FnMut(&Message<'_>) -> Result<(), WireError>,
    ) -> Result<bool> {
        loop {
            let n = self
                .recv()
                .map_err(|e| Error::io(op, object.to_string(), e))?;
            let datagram = self.buf.get(..n).unwrap_or_default();
            match reader.feed(datagram, &mut on_data) {
                Ok(Progress::More) => {}
                Ok(Progress::Done { interrupted }) => return Ok(interrupted),
                Err(e) => return Err(Error::reply(op, object.to_string(), e)),
            }
        }
    }

    /// Receives one datagram into `self.buf`, growing it first if the datagram is larger
    /// (a peek with `MSG_TRUNC` reports the real size without consuming it).
    fn recv(&mut self) -> io::Result<usize> {
        loop {
            let peeked = self.recv_flags(libc::MSG_PEEK | libc::MSG_TRUNC)?;
            if peeked > self.buf.len() {
                self.buf.resize(peeked, 0);
                continue;
            }
            return self.recv_flags(0);
        }
    }

    pub(super) fn recv_flags(&mut self, flags: libc::c_int) -> io::Result<usize> {
        loop {
            // SAFETY: `self.buf` is valid for writes of its whole length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    flags,
                )
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// Why [`retry_interrupted`] gave up.
#[derive(Debug)]
pub(crate) enum Retry<E> {
    /// An attempt failed outright.
    Failed(E),
    /// Every attempt came back flagged interrupted.
    Exhausted,
}

/// Runs `attempt` until it returns a result not flagged interrupted, at most `attempts`
/// times. Separate from the socket so the bound is unit-tested.
pub(crate) fn retry_interrupted<T, E>(
    attempts: u32,
    mut attempt: impl FnMut() -> Result<(T, bool), E>,
) -> Result<T, Retry<E>> {
    for _ in 0..attempts {
        let (value, interrupted) = attempt().map_err(Retry::Failed)?;
        if !interrupted {
            return Ok(value);
        }
    }
    Err(Retry::Exhausted)
}

impl AsFd for Netlink {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
