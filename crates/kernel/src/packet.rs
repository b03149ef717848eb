//! Packet sockets (`AF_PACKET`, `SOCK_DGRAM`): IPv4 packets sent and received on one
//! interface with the link-layer header written and stripped by the kernel. A DHCP client
//! needs one: before it has an address (and regardless of the routes, firewall and
//! `rp_filter` of the namespace it serves) a UDP socket cannot receive the server's replies.
//!
//! Like every socket, a packet socket belongs to the network namespace of the thread that
//! opens it: call [`PacketSocket::open_ipv4`] inside [`crate::NetNs::run`] and keep the
//! socket, which then works from any thread.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

const ETH_P_IP: u16 = 0x0800;

/// A classic BPF program over the IPv4 header (the socket is cooked, so offset 0 is the IP
/// header): accept unfragmented UDP to `port`, drop everything else, so the socket never
/// queues the pod's other traffic.
fn udp_port_filter(port: u16) -> [libc::sock_filter; 9] {
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    [
        op(0x30, 0, 0, 9),               // ldb [9]: protocol
        op(0x15, 0, 6, 17),              // jeq #17 (udp) else drop
        op(0x28, 0, 0, 6),               // ldh [6]: flags and fragment offset
        op(0x45, 4, 0, 0x1fff),          // jset #0x1fff (a fragment) then drop
        op(0xb1, 0, 0, 0),               // ldxb 4*([0]&0xf): header length
        op(0x48, 0, 0, 2),               // ldh [x+2]: destination port
        op(0x15, 0, 1, u32::from(port)), // jeq #port else drop
        op(0x06, 0, 0, 0x0004_0000),     // accept
        op(0x06, 0, 0, 0),               // drop
    ]
}

/// A cooked packet socket for IPv4, bound to one interface.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
    label: String,
}

fn address(ifindex: u32, mac: [u8; 6]) -> libc::sockaddr_ll {
    let mut addr = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: ETH_P_IP.to_be(),
        sll_ifindex: i32::try_from(ifindex).unwrap_or(0),
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 6,
        sll_addr: [0; 8],
    };
    for (d, s) in addr.sll_addr.iter_mut().zip(mac) {
        *d = s;
    }
    addr
}

impl PacketSocket {
    /// Opens a socket in the calling thread's namespace on interface `ifindex`, receiving
    /// only UDP datagrams to `port`.
    pub fn open_ipv4(ifindex: u32, port: u16) -> Result<PacketSocket> {
        let label = format!("interface {ifindex}");
        let fail = |op, e| Error::io(op, format!("interface {ifindex}"), e);
        // SAFETY: socket(2) with constant arguments; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                i32::from(ETH_P_IP.to_be()),
            )
        };
        if raw < 0 {
            return Err(fail("open packet socket on", io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a descriptor just returned by socket(2) and owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let filter = udp_port_filter(port);
        let prog = libc::sock_fprog {
            len: u16::try_from(filter.len()).unwrap_or(0),
            filter: filter.as_ptr().cast_mut(),
        };
        // SAFETY: `prog` points at `filter`, which outlives the call; the kernel copies it.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                std::ptr::addr_of!(prog).cast(),
                u32::try_from(std::mem::size_of::<libc::sock_fprog>()).unwrap_or(0),
            )
        };
        if rc < 0 {
            return Err(fail("filter packet socket on", io::Error::last_os_error()));
        }
        let addr = address(ifindex, [0; 6]);
        // SAFETY: `addr` is a valid sockaddr_ll of the size passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                std::ptr::addr_of!(addr).cast(),
                u32::try_from(std::mem::size_of::<libc::sockaddr_ll>()).unwrap_or(0),
            )
        };
        if rc < 0 {
            return Err(fail("bind packet socket to", io::Error::last_os_error()));
        }
        Ok(PacketSocket { fd, ifindex, label })
    }

    /// Sends one IPv4 packet to the link-layer address `dst_mac`.
    pub fn send(&self, packet: &[u8], dst_mac: [u8; 6]) -> Result<()> {
        let addr = address(self.ifindex, dst_mac);
        // SAFETY: `packet` is a valid buffer of the length passed; `addr` a valid sockaddr_ll.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                0,
                std::ptr::addr_of!(addr).cast(),
                u32::try_from(std::mem::size_of::<libc::sockaddr_ll>()).unwrap_or(0),
            )
        };
        if n < 0 {
            return Err(Error::io(
                "send on packet socket of",
                self.label.clone(),
                io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Receives one incoming IPv4 packet into `buf` before `deadline`: its length and the
    /// sender's link-layer address; `None` when the deadline passes. The socket's own
    /// outgoing packets are skipped.
    pub fn recv_until(
        &self,
        buf: &mut [u8],
        deadline: Instant,
    ) -> Result<Option<(usize, [u8; 6])>> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms =
                i32::try_from(left.max(Duration::from_millis(1)).as_millis()).unwrap_or(i32::MAX);
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::io("wait on packet socket of", self.label.clone(), e));
            }
            if rc == 0 {
                continue;
            }
            let mut from = address(0, [0; 6]);
            let mut len = u32::try_from(std::mem::size_of::<libc::sockaddr_ll>()).unwrap_or(0);
            // SAFETY: `buf` is writable for its length; `from`/`len` describe a sockaddr_ll.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                    std::ptr::addr_of_mut!(from).cast(),
                    &mut len,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) {
                    continue;
                }
                return Err(Error::io(
                    "receive on packet socket of",
                    self.label.clone(),
                    e,
                ));
            }
            if from.sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            let mut mac = [0u8; 6];
            for (d, s) in mac.iter_mut().zip(from.sll_addr) {
                *d = s;
            }
            return Ok(Some((usize::try_from(n).unwrap_or(0), mac)));
        }
    }
}
