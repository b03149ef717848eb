//! The underlay UDP socket and its batched I/O: `recvmmsg(2)` fills up to [`BATCH`]
//! datagrams per system call and `sendmmsg(2)` sends up to [`BATCH`], each to its own
//! peer. std's `UdpSocket` has neither, hence libc.

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// Datagrams per `recvmmsg`/`sendmmsg` (and TUN reads gathered per `sendmmsg`).
pub(super) const BATCH: usize = 64;

/// Room for one datagram: the largest IP packet. Only the pages a packet touches become
/// resident, so a 64 KiB slot costs little more than an MTU-sized one — and a peer with a
/// larger MTU than ours, or a later MTU change, cannot truncate packets.
pub(super) const SLOT: usize = 65536;

/// Socket buffers: deep enough to absorb a TCP window's burst between two batches.
const SOCKET_BUFFER: libc::c_int = 4 << 20;

/// A bound UDP socket of the underlay.
#[derive(Debug)]
pub(super) struct UdpSocket {
    fd: OwnedFd,
    v6: bool,
    port: u16,
}

impl UdpSocket {
    /// Opens a UDP socket bound to `addr` in the calling thread's namespace. With
    /// `reuse_port`, several sockets share the port and the kernel spreads senders over
    /// them by flow hash (one per forwarding lane).
    pub fn bind(addr: SocketAddr, reuse_port: bool) -> io::Result<UdpSocket> {
        let v6 = addr.is_ipv6();
        let domain = if v6 { libc::AF_INET6 } else { libc::AF_INET };
        // SAFETY: plain socket(2) call; the result is checked.
        let raw = unsafe { libc::socket(domain, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let sock = UdpSocket {
            fd,
            v6,
            port: addr.port(),
        };
        if reuse_port {
            sock.set_int(libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
        }
        // Bigger buffers than the default ~200 KiB: FORCE works for root (the agent),
        // beyond net.core.[rw]mem_max; otherwise take what the limit allows.
        for (force, plain) in [
            (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
            (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
        ] {
            if sock
                .set_int(libc::SOL_SOCKET, force, SOCKET_BUFFER)
                .is_err()
            {
                sock.set_int(libc::SOL_SOCKET, plain, SOCKET_BUFFER)?;
            }
        }
        let (storage, len) = sockaddr(addr);
        // SAFETY: `storage` holds a sockaddr_in/sockaddr_in6 of `len` bytes matching the
        // socket's family; bind copies it.
        let rc = unsafe {
            libc::bind(
                sock.fd.as_raw_fd(),
                (&storage as *const libc::sockaddr_storage).cast(),
                len,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(sock)
    }

    fn set_int(&self, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
        // SAFETY: passes a pointer to a live c_int and its size, as these options expect.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (&value as *const libc::c_int).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The address datagrams to `peer` go to, in the socket's family: an IPv4 peer through
    /// an IPv6 socket is IPv4-mapped; an IPv6 peer through an IPv4 socket is unreachable.
    pub fn peer_addr(&self, peer: IpAddr) -> Option<SocketAddr> {
        match (peer, self.v6) {
            (IpAddr::V4(_), false) | (IpAddr::V6(_), true) => {
                Some(SocketAddr::new(peer, self.port))
            }
            (IpAddr::V4(a), true) => {
                Some(SocketAddr::new(IpAddr::V6(a.to_ipv6_mapped()), self.port))
            }
            (IpAddr::V6(_), false) => None,
        }
    }

    /// Receives up to [`BATCH`] datagrams without blocking; `Ok(0)` when none is waiting.
    pub fn recv_batch(&self, batch: &mut RecvBatch) -> io::Result<usize> {
        batch.prepare();
        loop {
            // SAFETY: `batch.hdrs` holds BATCH initialised mmsghdr structs whose name and
            // iovec pointers were just set to `batch`'s own storage, which is not touched
            // otherwise during the call; each iovec describes one writable SLOT-sized slot.
            let rc = unsafe {
                libc::recvmmsg(
                    self.fd.as_raw_fd(),
                    batch.hdrs.as_mut_ptr(),
                    batch.hdrs.len() as libc::c_uint,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if rc >= 0 {
                let n = rc as usize;
                batch.received(n);
                return Ok(n);
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return Ok(0),
                _ => return Err(e),
            }
        }
    }

    /// Sends the batch's packets, each to its peer, blocking while the socket buffer is
    /// full (that is the backpressure on the TUN side). Returns (sent, failed): a datagram
    /// the kernel refuses is skipped and the rest are still sent.
    pub fn send_batch(&self, batch: &mut SendBatch) -> Sent {
        batch.prepare();
        let mut sent = Sent::default();
        let mut start = 0;
        while let Some(rest) = batch
            .hdrs
            .get_mut(start..batch.len)
            .filter(|r| !r.is_empty())
        {
            // SAFETY: `rest` is a slice of initialised mmsghdr structs whose name and iovec
            // pointers were just set to `batch`'s own storage, alive and unmodified during
            // the call; each iovec covers the valid bytes of one slot.
            let rc = unsafe {
                libc::sendmmsg(
                    self.fd.as_raw_fd(),
                    rest.as_mut_ptr(),
                    rest.len() as libc::c_uint,
                    0,
                )
            };
            if rc > 0 {
                let n = rc as usize;
                sent.packets += n;
                sent.bytes += batch.lens.iter().skip(start).take(n).sum::<usize>();
                start += n;
            } else if rc < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            } else {
                // The first remaining datagram was refused (EMSGSIZE, ENETUNREACH, …): the
                // kernel reports the error only for it, so skip it and go on.
                sent.failed += 1;
                start += 1;
            }
        }
        sent
    }
}

/// The outcome of one [`UdpSocket::send_batch`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sent {
    /// Datagrams sent.
    pub packets: usize,
    /// Their payload bytes.
    pub bytes: usize,
    /// Datagrams the kernel refused.
    pub failed: usize,
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Builds the header of message `i` pointing at `name` and `iov`. The pointers are set
/// again before every call rather than once, so they can never be stale.
fn header(
    h: &mut libc::mmsghdr,
    name: &mut libc::sockaddr_storage,
    name_len: libc::socklen_t,
    iov: &mut libc::iovec,
) {
    // SAFETY: mmsghdr is plain old data; all-zero is a valid value.
    *h = unsafe { mem::zeroed() };
    h.msg_hdr.msg_name = (name as *mut libc::sockaddr_storage).cast();
    h.msg_hdr.msg_namelen = name_len;
    h.msg_hdr.msg_iov = iov;
    h.msg_hdr.msg_iovlen = 1;
}

/// One contiguous buffer of BATCH slots and an iovec per slot.
fn slots() -> (Vec<u8>, Vec<libc::iovec>) {
    let buf = vec![0u8; BATCH * SLOT];
    let iovs = (0..BATCH)
        .map(|_| libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        })
        .collect();
    (buf, iovs)
}

/// Storage for one `recvmmsg`: BATCH slots and their source addresses.
pub(super) struct RecvBatch {
    buf: Vec<u8>,
    names: Vec<libc::sockaddr_storage>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    /// (length, source, truncated) of each datagram of the last receive.
    got: Vec<(usize, Option<IpAddr>, bool)>,
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBatch")
            .field("got", &self.got.len())
            .finish()
    }
}

impl RecvBatch {
    pub fn new() -> RecvBatch {
        let (buf, iovs) = slots();
        RecvBatch {
            buf,
            // SAFETY: sockaddr_storage and mmsghdr are plain old data; all-zero is valid.
            names: vec![unsafe { mem::zeroed() }; BATCH],
            iovs,
            // SAFETY: as above.
            hdrs: vec![unsafe { mem::zeroed() }; BATCH],
            got: Vec::with_capacity(BATCH),
        }
    }

    /// Points every header at its slot and name (the kernel overwrites lengths and flags).
    fn prepare(&mut self) {
        self.got.clear();
        let base = self.buf.as_mut_ptr();
        let full = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        for (i, ((h, name), iov)) in self
            .hdrs
            .iter_mut()
            .zip(self.names.iter_mut())
            .zip(self.iovs.iter_mut())
            .enumerate()
        {
            iov.iov_base = base.wrapping_add(i * SLOT).cast();
            iov.iov_len = SLOT;
            header(h, name, full, iov);
        }
    }

    fn received(&mut self, n: usize) {
        self.got.clear();
        for (h, name) in self.hdrs.iter().zip(&self.names).take(n) {
            let truncated = h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
            let len = (h.msg_len as usize).min(SLOT);
            self.got.push((len, ip_of(name), truncated));
        }
    }

    /// Datagram `i` of the last receive: its source address (None if not IP), its payload,
    /// and whether it was longer than a slot.
    pub fn datagram(&self, i: usize) -> Option<(Option<IpAddr>, &[u8], bool)> {
        let &(len, src, truncated) = self.got.get(i)?;
        let start = i.checked_mul(SLOT)?;
        let bytes = self.buf.get(start..start.checked_add(len)?)?;
        Some((src, bytes, truncated))
    }
}

/// Storage for one `sendmmsg`: packets read from the TUN device, each with its peer.
pub(super) struct SendBatch {
    buf: Vec<u8>,
    names: Vec<libc::sockaddr_storage>,
    name_lens: Vec<libc::socklen_t>,
    lens: Vec<usize>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    /// How many slots hold a packet ready to send.
    len: usize,
}

impl std::fmt::Debug for SendBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendBatch").field("len", &self.len).finish()
    }
}

impl SendBatch {
    pub fn new() -> SendBatch {
        let (buf, iovs) = slots();
        SendBatch {
            buf,
            // SAFETY: sockaddr_storage and mmsghdr are plain old data; all-zero is valid.
            names: vec![unsafe { mem::zeroed() }; BATCH],
            name_lens: vec![0; BATCH],
            lens: vec![0; BATCH],
            iovs,
            // SAFETY: as above.
            hdrs: vec![unsafe { mem::zeroed() }; BATCH],
            len: 0,
        }
    }

    /// Packets ready to send.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether every slot holds a packet.
    pub fn is_full(&self) -> bool {
        self.len >= BATCH
    }

    /// Empties the batch.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The next free slot, to read a packet into; `None` when the batch is full.
    pub fn next_slot(&mut self) -> Option<&mut [u8]> {
        let start = self.len.checked_mul(SLOT)?;
        self.buf.get_mut(start..start.checked_add(SLOT)?)
    }

    /// The first `len` bytes of the next free slot (the packet just read into it).
    pub fn next_packet(&self, len: usize) -> Option<&[u8]> {
        let start = self.len.checked_mul(SLOT)?;
        self.buf.get(start..start.checked_add(len.min(SLOT))?)
    }

    /// Commits the packet of `len` bytes in the next free slot, to be sent to `to`.
    pub fn push(&mut self, len: usize, to: SocketAddr) {
        let i = self.len;
        if let (Some(l), Some(name), Some(name_len)) = (
            self.lens.get_mut(i),
            self.names.get_mut(i),
            self.name_lens.get_mut(i),
        ) {
            *l = len.min(SLOT);
            (*name, *name_len) = sockaddr(to);
            self.len += 1;
        }
    }

    /// Points the first `len` headers at their packets and peers.
    fn prepare(&mut self) {
        let base = self.buf.as_mut_ptr();
        for (i, (((h, name), (&name_len, &len)), iov)) in self
            .hdrs
            .iter_mut()
            .zip(self.names.iter_mut())
            .zip(self.name_lens.iter().zip(&self.lens))
            .zip(self.iovs.iter_mut())
            .enumerate()
            .take(self.len)
        {
            iov.iov_base = base.wrapping_add(i * SLOT).cast();
            iov.iov_len = len;
            header(h, name, name_len, iov);
        }
    }
}

/// `addr` as a C socket address and its length.
fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for every sockaddr
            // type, so a sockaddr_in fits at its start.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// The IP address in a socket address the kernel filled in, if it is IPv4 or IPv6.
fn ip_of(storage: &libc::sockaddr_storage) -> Option<IpAddr> {
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which fits in and
            // is aligned by sockaddr_storage.
            let sin =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(IpAddr::V4(Ipv4Addr::from(
                sin.sin_addr.s_addr.to_ne_bytes(),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_round_trip_through_c() {
        for s in ["198.18.0.2:8285", "[fd00::2]:8285", "[::ffff:198.18.0.2]:1"] {
            let a: SocketAddr = s.parse().unwrap();
            let (storage, len) = sockaddr(a);
            let expect = if a.is_ipv4() { 16 } else { 28 };
            assert_eq!(len as usize, expect);
            assert_eq!(ip_of(&storage), Some(a.ip()));
        }
        // SAFETY: all-zero sockaddr_storage is valid (AF_UNSPEC).
        let unspec: libc::sockaddr_storage = unsafe { mem::zeroed() };
        assert_eq!(ip_of(&unspec), None);
    }

    #[test]
    fn a_batch_of_datagrams_goes_out_and_comes_back_over_loopback() {
        let rx = UdpSocket::bind("127.0.0.1:0".parse().unwrap(), false).unwrap();
        let port = local_port(&rx);
        let tx = UdpSocket::bind("127.0.0.1:0".parse().unwrap(), false).unwrap();
        let to: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut out = SendBatch::new();
        for i in 0..BATCH {
            let slot = out.next_slot().unwrap();
            slot[..3].copy_from_slice(&[i as u8, 1, 2]);
            out.push(3, to);
        }
        assert!(out.is_full() && out.next_slot().is_none());
        let sent = tx.send_batch(&mut out);
        assert_eq!(
            (sent.packets, sent.bytes, sent.failed),
            (BATCH, 3 * BATCH, 0)
        );

        let mut got = 0;
        let mut batch = RecvBatch::new();
        while got < BATCH {
            let n = rx.recv_batch(&mut batch).unwrap();
            for i in 0..n {
                let (src, bytes, truncated) = batch.datagram(i).unwrap();
                assert_eq!(src, Some("127.0.0.1".parse().unwrap()));
                assert_eq!(bytes, &[got as u8, 1, 2]);
                assert!(!truncated);
                got += 1;
            }
        }
        assert_eq!(rx.recv_batch(&mut batch).unwrap(), 0);
        assert!(batch.datagram(0).is_none());
    }

    #[test]
    fn a_refused_datagram_is_skipped_and_the_rest_are_sent() {
        let rx = UdpSocket::bind("127.0.0.1:0".parse().unwrap(), false).unwrap();
        let to: SocketAddr = format!("127.0.0.1:{}", local_port(&rx)).parse().unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0".parse().unwrap(), false).unwrap();
        let mut out = SendBatch::new();
        out.next_slot().unwrap();
        out.push(10, to);
        // An IPv6 destination through an IPv4 socket: refused by the kernel.
        out.next_slot().unwrap();
        out.push(10, "[fd00::1]:8285".parse().unwrap());
        out.next_slot().unwrap();
        out.push(10, to);
        let sent = tx.send_batch(&mut out);
        assert_eq!((sent.packets, sent.bytes, sent.failed), (2, 20, 1));
        assert_eq!(tx.peer_addr("fd00::1".parse().unwrap()), None);
    }

    fn local_port(s: &UdpSocket) -> u16 {
        // SAFETY: as in `sockaddr`: all-zero storage is valid, getsockname fills it.
        let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let mut len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: valid pointers to storage and its length.
        let rc = unsafe {
            libc::getsockname(
                s.fd.as_raw_fd(),
                (&mut storage as *mut libc::sockaddr_storage).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0);
        // SAFETY: an AF_INET socket's name is a sockaddr_in.
        let sin =
            unsafe { &*(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
        u16::from_be(sin.sin_port)
    }
}
