//! Raw access to the socket for protocols that send several requests in one datagram
//! (nfnetlink batches): sequence numbers reserved by the caller, one `send` of pre-encoded
//! bytes, and a non-blocking drain of whatever the kernel queued in reply.
//!
//! The drain is exact, not a guess: a netlink socket hands a request to the kernel inside
//! `send`, and the kernel processes it (a whole nf_tables batch included) before `send`
//! returns, so every reply is already queued when the caller starts reading.

use std::io;
use std::os::fd::AsRawFd;

use super::socket::Netlink;

impl Netlink {
    /// Reserves the next sequence number for a message the caller encodes itself.
    pub fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Sends `bytes` (one or more complete messages) as one datagram.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        loop {
            // SAFETY: `bytes` is a valid buffer of the length passed. An unconnected netlink
            // socket sends to the kernel (port 0) by default.
            let n =
                unsafe { libc::send(self.fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), 0) };
            if n >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Receives one queued datagram without waiting; `None` when nothing is queued.
    pub fn recv_ready(&mut self) -> io::Result<Option<&[u8]>> {
        loop {
            let peeked =
                match self.recv_flags(libc::MSG_PEEK | libc::MSG_TRUNC | libc::MSG_DONTWAIT) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                    Err(e) => return Err(e),
                };
            if peeked > self.buf.len() {
                self.buf.resize(peeked, 0);
                continue;
            }
            let n = self.recv_flags(libc::MSG_DONTWAIT)?;
            return Ok(Some(self.buf.get(..n).unwrap_or_default()));
        }
    }

    /// Makes the kernel accept a datagram of `send` bytes and queue `recv` bytes of replies
    /// on this socket. The defaults (about 208 KiB each) are too small for a batch of
    /// thousands of set elements; root may exceed the system maximum (`*BUFFORCE`), others
    /// get what the maximum allows.
    pub fn reserve_buffers(&mut self, send: usize, recv: usize) -> io::Result<()> {
        let wanted = [
            (libc::SO_SNDBUF, libc::SO_SNDBUFFORCE, send),
            (libc::SO_RCVBUF, libc::SO_RCVBUFFORCE, recv),
        ];
        for (opt, force, bytes) in wanted {
            // The kernel reserves some of the buffer for bookkeeping: ask for headroom.
            let want = bytes.saturating_add(64 * 1024);
            if self.sockopt(opt)? >= want {
                continue;
            }
            let value = libc::c_int::try_from(want).unwrap_or(libc::c_int::MAX);
            if self.set_sockopt(force, value).is_err() {
                self.set_sockopt(opt, value)?;
            }
        }
        Ok(())
    }

    /// Joins multicast `group` (`RTNLGRP_*`): the kernel's announcements of that group in this
    /// socket's namespace are queued on it from now on.
    pub fn subscribe(&mut self, group: u32) -> io::Result<()> {
        // SAFETY: `group` outlives the call and the length passed is its size.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_NETLINK,
                libc::NETLINK_ADD_MEMBERSHIP,
                (&group as *const u32).cast(),
                size_of::<u32>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn sockopt(&self, opt: libc::c_int) -> io::Result<usize> {
        let mut value: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `value` and `len` are valid for writes of an int and its size.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(usize::try_from(value).unwrap_or(0))
    }

    fn set_sockopt(&self, opt: libc::c_int, value: libc::c_int) -> io::Result<()> {
        // SAFETY: `value` outlives the call and the length passed is its size.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&value as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}
