//! The underlay UDP socket and its batched I/O: `recvmmsg(2)` fills up to [`BATCH`]
//! datagrams per system call and `sendmmsg(2)` sends a batch's messages, each to its own
//! peer, with UDP segmentation offload where the kernel has it (`send.rs`).
//! std's `UdpSocket` has none of this, hence libc.

use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use super::batch::{sockaddr, UDP_GRO, UDP_SEGMENT};
pub(super) use super::batch::{RecvBatch, BATCH};
pub(super) use super::send::SendBatch;

/// Socket buffers: deep enough to absorb a TCP window's burst between two batches.
const SOCKET_BUFFER: libc::c_int = 4 << 20;

/// A bound UDP socket of the underlay.
#[derive(Debug)]
pub(super) struct UdpSocket {
    fd: OwnedFd,
    v6: bool,
    port: u16,
    /// Whether sends may use `UDP_SEGMENT`; cleared for good the first time the kernel
    /// refuses a segmented send (an old kernel, or a route through a device that cannot).
    gso: AtomicBool,
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
            gso: AtomicBool::new(false),
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
        // Offloads are optional (Linux ≥ 4.18 for segmentation, ≥ 5.0 for GRO): a kernel
        // without them refuses the option, and we send and receive packet by packet.
        // Setting UDP_SEGMENT to 0 changes nothing but tells us whether it exists.
        let gso = sock.set_int(libc::SOL_UDP, UDP_SEGMENT, 0).is_ok();
        sock.gso.store(gso, Ordering::Relaxed);
        let _ = sock.set_int(libc::SOL_UDP, UDP_GRO, 1);
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
            // SAFETY: `batch.hdrs` holds BATCH initialised mmsghdr structs whose name,
            // iovec and control pointers were just set to `batch`'s own storage, which is
            // not touched otherwise during the call; each iovec describes one writable
            // SLOT-sized slot, each control buffer its own length.
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
    /// full (that is the backpressure on the TUN side). A message the kernel refuses is
    /// skipped and the rest are still sent; a refused segmented message turns offload off
    /// and is sent again packet by packet.
    pub fn send_batch(&self, batch: &mut SendBatch) -> Sent {
        let mut sent = Sent::default();
        let mut from = 0;
        while from < batch.len() {
            let gso = self.gso.load(Ordering::Relaxed);
            let messages = batch.prepare(from, gso);
            if messages == 0 {
                break;
            }
            // Where the next call starts: after these messages, or at a refused run.
            from = batch
                .messages
                .get(messages - 1)
                .map_or(batch.len(), |&(first, count, _)| first + count);
            let mut start = 0;
            while let Some(rest) = batch
                .hdrs
                .get_mut(start..messages)
                .filter(|r| !r.is_empty())
            {
                // SAFETY: `rest` is a slice of initialised mmsghdr structs whose name,
                // iovec and control pointers were just set to `batch`'s own storage,
                // alive and unmodified during the call; the iovecs cover valid bytes.
                let rc = unsafe {
                    libc::sendmmsg(
                        self.fd.as_raw_fd(),
                        rest.as_mut_ptr(),
                        rest.len() as libc::c_uint,
                        0,
                    )
                };
                if rc > 0 {
                    for &(_, packets, bytes) in batch.messages.iter().skip(start).take(rc as usize)
                    {
                        sent.packets += packets;
                        sent.bytes += bytes;
                    }
                    start += rc as usize;
                    continue;
                }
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // The first remaining message was refused: the kernel reports the error
                // for it alone.
                let (first, packets, _) = batch.messages.get(start).copied().unwrap_or((0, 1, 0));
                let offload_refused = matches!(
                    e.raw_os_error(),
                    Some(libc::EIO | libc::EINVAL | libc::EOPNOTSUPP | libc::ENOPROTOOPT)
                );
                if packets > 1 && offload_refused {
                    self.gso.store(false, Ordering::Relaxed);
                    from = first;
                    break;
                }
                // EMSGSIZE, ENETUNREACH, …: drop it and go on.
                sent.failed += packets;
                start += 1;
            }
        }
        sent
    }

    /// Whether sends still use segmentation offload.
    #[cfg(test)]
    pub fn offloads(&self) -> bool {
        self.gso.load(Ordering::Relaxed)
    }
}

/// The outcome of one [`UdpSocket::send_batch`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sent {
    /// Packets sent.
    pub packets: usize,
    /// Their bytes.
    pub bytes: usize,
    /// Packets the kernel refused.
    pub failed: usize,
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (UdpSocket, UdpSocket, SocketAddr) {
        let rx = UdpSocket::bind("127.0.0.1:0".parse().unwrap(), false).unwrap();
        let to = SocketAddr::from(([127, 0, 0, 1], local_port(&rx)));
        let tx = UdpSocket::bind("127.0.0.1:0".parse().unwrap(), false).unwrap();
        (tx, rx, to)
    }

    /// Receives until `want` packets (after splitting coalesced datagrams) have arrived.
    fn receive(rx: &UdpSocket, want: usize) -> Vec<Vec<u8>> {
        let mut got = Vec::new();
        let mut batch = RecvBatch::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while got.len() < want {
            assert!(
                std::time::Instant::now() < deadline,
                "{} of {want}",
                got.len()
            );
            let n = rx.recv_batch(&mut batch).unwrap();
            for i in 0..n {
                let d = batch.datagram(i).unwrap();
                assert_eq!(d.src, Some("127.0.0.1".parse().unwrap()));
                assert!(!d.truncated);
                got.extend(d.packets().map(<[u8]>::to_vec));
            }
        }
        assert_eq!(rx.recv_batch(&mut batch).unwrap(), 0);
        assert!(batch.datagram(0).is_none());
        got
    }

    #[test]
    fn a_batch_of_datagrams_goes_out_and_comes_back_over_loopback() {
        let (tx, rx, to) = pair();
        let mut out = SendBatch::new();
        // More than one sendmmsg takes, without offload: several calls.
        tx.gso.store(false, Ordering::Relaxed);
        let n = 3 * BATCH;
        for i in 0..n {
            push(&mut out, to, &[i as u8, 1, 2]);
        }
        let sent = tx.send_batch(&mut out);
        assert_eq!((sent.packets, sent.bytes, sent.failed), (n, 3 * n, 0));
        let got = receive(&rx, n);
        for (i, p) in got.iter().enumerate() {
            assert_eq!(p, &[i as u8, 1, 2]);
        }
    }

    #[test]
    fn a_segmented_run_arrives_as_the_same_packets() {
        let (tx, rx, to) = pair();
        assert!(tx.offloads(), "this kernel has no UDP segmentation offload");
        let mut out = SendBatch::new();
        let sizes = [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 321];
        for (i, &n) in sizes.iter().enumerate() {
            push(&mut out, to, &vec![i as u8; n]);
        }
        let sent = tx.send_batch(&mut out);
        assert_eq!((sent.packets, sent.bytes, sent.failed), (10, 9321, 0));
        assert!(tx.offloads());
        let got = receive(&rx, sizes.len());
        for (i, (p, &n)) in got.iter().zip(&sizes).enumerate() {
            assert_eq!(p.len(), n);
            assert!(p.iter().all(|&b| b == i as u8));
        }
    }

    #[test]
    fn a_refused_datagram_is_skipped_and_the_rest_are_sent() {
        let (tx, rx, to) = pair();
        let mut out = SendBatch::new();
        push(&mut out, to, &[0; 10]);
        // An IPv6 destination through an IPv4 socket: refused by the kernel.
        push(&mut out, "[fd00::1]:8285".parse().unwrap(), &[0; 10]);
        push(&mut out, to, &[0; 10]);
        let sent = tx.send_batch(&mut out);
        assert_eq!((sent.packets, sent.bytes, sent.failed), (2, 20, 1));
        assert_eq!(tx.peer_addr("fd00::1".parse().unwrap()), None);
        assert_eq!(receive(&rx, 2).len(), 2);
    }

    fn push(b: &mut SendBatch, to: SocketAddr, packet: &[u8]) {
        use super::super::tso::Sink;
        let mut s = b.to(to);
        s.room(packet.len()).unwrap()[..packet.len()].copy_from_slice(packet);
        s.commit(packet.len());
    }

    fn local_port(s: &UdpSocket) -> u16 {
        // SAFETY: all-zero storage is valid; getsockname fills it.
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
