//! SCTP judged by packets on a kernel without SCTP sockets (`CONFIG_IP_SCTP` unset, SCTP
//! connection tracking and NAT built in): raw IP sockets of protocol 132 send a crafted
//! INIT chunk (with a valid CRC32c: conntrack drops a packet whose checksum is wrong
//! before NAT sees it) and receive what arrives in a namespace, with the address and port
//! it arrived at.

use std::io;
use std::mem::{size_of, size_of_val, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::support::Ns;

/// `IPPROTO_SCTP`.
const SCTP: i32 = 132;
/// Chunk type of INIT.
const CHUNK_INIT: u8 = 1;

/// CRC32c (Castagnoli, reflected, as SCTP uses it; RFC 9260 appendix A).
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82F6_3B78 & mask);
        }
    }
    !crc
}

/// An SCTP packet carrying one INIT chunk from `src_port` to `dst_port`, whose initiate
/// tag `tag` tells the packets of one test apart. The checksum is stored as SCTP does:
/// the CRC's bytes in little-endian order.
pub fn init_packet(src_port: u16, dst_port: u16, tag: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(32);
    p.extend(src_port.to_be_bytes());
    p.extend(dst_port.to_be_bytes());
    p.extend(0u32.to_be_bytes()); // verification tag: 0 in an INIT
    p.extend(0u32.to_be_bytes()); // checksum, filled below
    p.extend([CHUNK_INIT, 0]);
    p.extend(20u16.to_be_bytes()); // chunk length
    p.extend(tag.to_be_bytes()); // initiate tag
    p.extend(65_535u32.to_be_bytes()); // advertised receiver window
    p.extend(1u16.to_be_bytes()); // outbound streams
    p.extend(1u16.to_be_bytes()); // inbound streams
    p.extend(tag.wrapping_add(1).to_be_bytes()); // initial TSN
    let crc = crc32c(&p);
    p[8..12].copy_from_slice(&crc.to_le_bytes());
    p
}

/// An INIT as it arrived: where to, from where, and whether its checksum still holds
/// (NAT rewrites the port and must fix the CRC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// The source address.
    pub src: IpAddr,
    /// The destination address.
    pub dst: IpAddr,
    /// The SCTP source port.
    pub src_port: u16,
    /// The SCTP destination port.
    pub dst_port: u16,
    /// The CRC32c is valid.
    pub checksum_ok: bool,
}

/// A raw socket for SCTP packets inside one namespace.
pub struct RawSctp {
    fd: OwnedFd,
    v6: bool,
}

fn check(ret: libc::c_int, what: &str) -> io::Result<libc::c_int> {
    if ret < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("{what}: {e}")));
    }
    Ok(ret)
}

fn set_int(fd: &OwnedFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` outlives the call and its size is passed.
    let ret = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
    check(ret, "setsockopt").map(drop)
}

impl RawSctp {
    /// A raw SCTP socket of the IPv6 (`v6`) or IPv4 family, created inside `ns` (it keeps
    /// that namespace wherever it is used).
    pub fn open(ns: &Ns, v6: bool) -> RawSctp {
        let family = if v6 { libc::AF_INET6 } else { libc::AF_INET };
        let fd = ns
            .ns
            .run(move || -> io::Result<OwnedFd> {
                // SAFETY: plain socket(2); the descriptor is owned from here on.
                let raw =
                    unsafe { libc::socket(family, libc::SOCK_RAW | libc::SOCK_CLOEXEC, SCTP) };
                let raw = check(raw, "socket(SOCK_RAW, IPPROTO_SCTP)")?;
                // SAFETY: `raw` is a new descriptor nobody else owns.
                Ok(unsafe { OwnedFd::from_raw_fd(raw) })
            })
            .unwrap()
            .unwrap_or_else(|e| panic!("raw SCTP socket in {}: {e}", ns.name));
        if v6 {
            // The destination address of each packet, as ancillary data.
            set_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1).unwrap();
        }
        RawSctp { fd, v6 }
    }

    /// Sends an INIT from `src_port` to `dst:dst_port` with initiate tag `tag`.
    pub fn send_init(&self, dst: IpAddr, src_port: u16, dst_port: u16, tag: u32) {
        let packet = init_packet(src_port, dst_port, tag);
        let ret = match dst {
            IpAddr::V4(a) => {
                // SAFETY: an all-zero sockaddr_in is valid; the fields are set below.
                let mut sa: libc::sockaddr_in = unsafe { zeroed() };
                sa.sin_family = libc::AF_INET as libc::sa_family_t;
                sa.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
                self.send_to(
                    &packet,
                    (&sa as *const libc::sockaddr_in).cast(),
                    size_of_val(&sa),
                )
            }
            IpAddr::V6(a) => {
                // SAFETY: as above, for sockaddr_in6; the port stays 0 (a raw socket's).
                let mut sa: libc::sockaddr_in6 = unsafe { zeroed() };
                sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sa.sin6_addr.s6_addr = a.octets();
                self.send_to(
                    &packet,
                    (&sa as *const libc::sockaddr_in6).cast(),
                    size_of_val(&sa),
                )
            }
        };
        ret.unwrap_or_else(|e| panic!("send SCTP INIT to {dst}: {e}"));
    }

    fn send_to(&self, data: &[u8], sa: *const libc::sockaddr, len: usize) -> io::Result<()> {
        // SAFETY: `data` and the address `sa` points to (of `len` bytes) outlive the call.
        let ret = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                data.as_ptr().cast(),
                data.len(),
                0,
                sa,
                len as libc::socklen_t,
            )
        };
        check(ret as libc::c_int, "sendto").map(drop)
    }

    /// Waits up to `wait` for an INIT with initiate tag `tag` (other SCTP packets are
    /// skipped); `None` when none came.
    pub fn expect_init(&self, tag: u32, wait: Duration) -> Option<Arrival> {
        let deadline = Instant::now() + wait;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Some((packet, src, dst)) = self.recv(left) else {
                continue;
            };
            if let Some(arrival) = parse_init(&packet, src, dst, tag) {
                return Some(arrival);
            }
        }
        None
    }

    /// One packet within `wait`: the SCTP bytes, source and destination address.
    fn recv(&self, wait: Duration) -> Option<(Vec<u8>, IpAddr, IpAddr)> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(wait.as_millis().max(1)).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, ms) } <= 0 {
            return None;
        }
        if self.v6 {
            self.recv_v6()
        } else {
            self.recv_v4()
        }
    }

    /// An IPv4 raw socket delivers the IP header with the packet.
    fn recv_v4(&self) -> Option<(Vec<u8>, IpAddr, IpAddr)> {
        let mut buf = [0u8; 2048];
        // SAFETY: `buf` is writable for its length.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        let n = usize::try_from(n).ok()?;
        let ip = buf.get(..n)?;
        let ihl = usize::from(ip.first()? & 0x0f) * 4;
        let addr = |at: usize| -> Option<IpAddr> {
            let b: [u8; 4] = ip.get(at..at + 4)?.try_into().ok()?;
            Some(Ipv4Addr::from(b).into())
        };
        Some((ip.get(ihl..)?.to_vec(), addr(12)?, addr(16)?))
    }

    /// An IPv6 raw socket delivers the payload only: the source comes with the address,
    /// the destination as `IPV6_PKTINFO`.
    fn recv_v6(&self) -> Option<(Vec<u8>, IpAddr, IpAddr)> {
        let mut buf = [0u8; 2048];
        let mut control = [0u64; 16];
        // SAFETY: all-zero is a valid sockaddr_in6 and msghdr; the pointers set below stay
        // valid for the call.
        let mut from: libc::sockaddr_in6 = unsafe { zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_name = (&mut from as *mut libc::sockaddr_in6).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of_val(&control);
        // SAFETY: `msg` points at live buffers of the sizes it states.
        let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
        let n = usize::try_from(n).ok()?;
        let mut dst = None;
        // SAFETY: the CMSG macros walk the control buffer the kernel filled, within
        // `msg_controllen`; IPV6_PKTINFO data is an in6_pktinfo.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::IPPROTO_IPV6 && (*c).cmsg_type == libc::IPV6_PKTINFO {
                    let info = libc::CMSG_DATA(c)
                        .cast::<libc::in6_pktinfo>()
                        .read_unaligned();
                    dst = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        let src = IpAddr::V6(Ipv6Addr::from(from.sin6_addr.s6_addr));
        Some((buf.get(..n)?.to_vec(), src, dst?))
    }
}

/// The INIT with initiate tag `tag` in SCTP bytes `p`, if that is what they are.
pub fn parse_init(p: &[u8], src: IpAddr, dst: IpAddr, tag: u32) -> Option<Arrival> {
    let u16_at = |at: usize| Some(u16::from_be_bytes(p.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_be_bytes(p.get(at..at + 4)?.try_into().ok()?));
    if *p.get(12)? != CHUNK_INIT || u32_at(16)? != tag {
        return None;
    }
    let mut zeroed = p.to_vec();
    zeroed.get_mut(8..12)?.fill(0);
    let stored = u32::from_le_bytes(p.get(8..12)?.try_into().ok()?);
    Some(Arrival {
        src,
        dst,
        src_port: u16_at(0)?,
        dst_port: u16_at(2)?,
        checksum_ok: crc32c(&zeroed) == stored,
    })
}
