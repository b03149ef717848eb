//! The storage of one `recvmmsg`: BATCH datagram slots with the message headers, iovecs,
//! socket addresses and control messages the call points into, and what the two batched
//! calls share (`send.rs` holds the sending side).
//!
//! With `UDP_GRO` the kernel hands us coalesced datagrams whole — what a peer sent as one
//! segmented message — with the segment size in a control message, and
//! [`Datagram::ranges`] splits them back into packets.

use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Datagrams per `recvmmsg` (and TUN reads gathered per batch of sends).
pub(super) const BATCH: usize = 64;

/// Room for one datagram: the largest UDP payload, which a coalesced (GRO) datagram can
/// reach. Only the pages a packet touches become resident, so a 64 KiB slot costs little
/// more than an MTU-sized one, and a peer with a larger MTU cannot truncate packets.
pub(super) const SLOT: usize = 65536;

/// `SOL_UDP` socket options (linux/udp.h), not in libc for every target.
pub(super) const UDP_SEGMENT: libc::c_int = 103;
pub(super) const UDP_GRO: libc::c_int = 104;

/// Control buffer per message, in u64 words so that it is aligned for `cmsghdr`: room for
/// one control message with an int (`CMSG_SPACE(4)` is 24 bytes on 64-bit Linux).
pub(super) const CONTROL_WORDS: usize = 4;

fn control_len() -> usize {
    CONTROL_WORDS * mem::size_of::<u64>()
}

/// A message header pointing at `name` and `iovlen` iovecs from `iov`. Pointers are set
/// again before every call rather than once, so they can never be stale.
pub(super) fn header(
    name: &mut libc::sockaddr_storage,
    name_len: libc::socklen_t,
    iov: &mut libc::iovec,
    iovlen: usize,
    control: Option<(&mut [u64; CONTROL_WORDS], usize)>,
) -> libc::mmsghdr {
    // SAFETY: mmsghdr is plain old data; all-zero is a valid value.
    let mut h: libc::mmsghdr = unsafe { mem::zeroed() };
    h.msg_hdr.msg_name = (name as *mut libc::sockaddr_storage).cast();
    h.msg_hdr.msg_namelen = name_len;
    h.msg_hdr.msg_iov = iov;
    h.msg_hdr.msg_iovlen = iovlen as _;
    if let Some((control, len)) = control {
        h.msg_hdr.msg_control = control.as_mut_ptr().cast();
        h.msg_hdr.msg_controllen = len as _;
    }
    h
}

/// One contiguous buffer of BATCH slots and an iovec per slot.
pub(super) fn slots() -> (Vec<u8>, Vec<libc::iovec>) {
    let buf = vec![0u8; BATCH * SLOT];
    let iovs = (0..BATCH)
        .map(|_| libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        })
        .collect();
    (buf, iovs)
}

/// Storage for one `recvmmsg`.
pub(super) struct RecvBatch {
    buf: Vec<u8>,
    names: Vec<libc::sockaddr_storage>,
    iovs: Vec<libc::iovec>,
    controls: Vec<[u64; CONTROL_WORDS]>,
    pub(super) hdrs: Vec<libc::mmsghdr>,
    /// Each datagram of the last receive.
    got: Vec<Received>,
}

/// What the kernel said about one received datagram.
#[derive(Debug, Clone, Copy)]
struct Received {
    len: usize,
    src: Option<IpAddr>,
    truncated: bool,
    /// The segment size of a coalesced (GRO) datagram.
    segment: Option<usize>,
}

/// One received datagram.
#[derive(Debug, Clone, Copy)]
pub(super) struct Datagram<'a> {
    /// The sender's address (None if the kernel gave no IP address).
    pub src: Option<IpAddr>,
    /// The payload: one packet, or several of `segment` bytes each (the last shorter).
    pub payload: &'a [u8],
    /// Longer than a slot: the tail is lost.
    pub truncated: bool,
    /// The segment size if the kernel coalesced several datagrams.
    pub segment: Option<usize>,
    /// Where the payload starts in [`RecvBatch::buffer`].
    pub offset: usize,
}

impl Datagram<'_> {
    /// The packets the datagram carries.
    #[cfg(test)]
    pub fn packets(&self) -> std::slice::Chunks<'_, u8> {
        let size = self.segment.filter(|&s| s > 0).unwrap_or(SLOT);
        self.payload.chunks(size)
    }

    /// Where the packets the datagram carries are in [`RecvBatch::buffer`].
    pub fn ranges(&self) -> impl Iterator<Item = std::ops::Range<usize>> {
        let size = self.segment.filter(|&s| s > 0).unwrap_or(SLOT);
        let (offset, len) = (self.offset, self.payload.len());
        (0..len)
            .step_by(size)
            .map(move |at| offset + at..offset + (at + size).min(len))
    }
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
            controls: vec![[0; CONTROL_WORDS]; BATCH],
            // SAFETY: as above.
            hdrs: vec![unsafe { mem::zeroed() }; BATCH],
            got: Vec::with_capacity(BATCH),
        }
    }

    /// Points every header at its slot, name and control buffer (the kernel overwrites
    /// their lengths and the flags), and forgets the last receive.
    pub(super) fn prepare(&mut self) {
        self.got.clear();
        let base = self.buf.as_mut_ptr();
        let full = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        for (i, (((h, name), iov), control)) in self
            .hdrs
            .iter_mut()
            .zip(self.names.iter_mut())
            .zip(self.iovs.iter_mut())
            .zip(self.controls.iter_mut())
            .enumerate()
        {
            iov.iov_base = base.wrapping_add(i * SLOT).cast();
            iov.iov_len = SLOT;
            *h = header(name, full, iov, 1, Some((control, control_len())));
        }
    }

    /// Records what the kernel wrote for the first `n` messages.
    pub(super) fn received(&mut self, n: usize) {
        self.got.clear();
        for (h, name) in self.hdrs.iter().zip(&self.names).take(n) {
            self.got.push(Received {
                len: (h.msg_len as usize).min(SLOT),
                src: ip_of(name),
                truncated: h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
                segment: gro_segment(&h.msg_hdr),
            });
        }
    }

    /// Datagram `i` of the last receive.
    pub fn datagram(&self, i: usize) -> Option<Datagram<'_>> {
        let r = *self.got.get(i)?;
        let start = i.checked_mul(SLOT)?;
        let payload = self.buf.get(start..start.checked_add(r.len)?)?;
        Some(Datagram {
            src: r.src,
            payload,
            truncated: r.truncated,
            segment: r.segment,
            offset: start,
        })
    }

    /// The whole receive buffer, which [`Datagram::ranges`] index.
    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }
}

/// The `UDP_GRO` segment size in a received message's control data, if any.
fn gro_segment(msg: &libc::msghdr) -> Option<usize> {
    if msg.msg_control.is_null() || msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return None;
    }
    // SAFETY: `msg` is a header the kernel just filled in: msg_control points at our
    // control buffer and msg_controllen says how much of it holds control messages, which
    // CMSG_FIRSTHDR/CMSG_NXTHDR stay within (they return null past the end).
    let mut c = unsafe { libc::CMSG_FIRSTHDR(msg) };
    while !c.is_null() {
        // SAFETY: non-null cmsg pointers from CMSG_FIRSTHDR/NXTHDR point at a complete
        // header inside the buffer.
        let (level, kind, len) = unsafe { ((*c).cmsg_level, (*c).cmsg_type, (*c).cmsg_len) };
        // SAFETY: pure arithmetic.
        let want = unsafe { libc::CMSG_LEN(mem::size_of::<libc::c_int>() as _) } as usize;
        #[allow(clippy::unnecessary_cast)] // size_t with glibc, u32 with musl
        let len = len as usize;
        if level == libc::SOL_UDP && kind == UDP_GRO && len >= want {
            // SAFETY: the message is long enough for an int after its header (checked
            // above); the data may be unaligned, hence read_unaligned.
            let size = unsafe { libc::CMSG_DATA(c).cast::<libc::c_int>().read_unaligned() };
            return usize::try_from(size).ok().filter(|&s| s > 0);
        }
        // SAFETY: as for CMSG_FIRSTHDR.
        c = unsafe { libc::CMSG_NXTHDR(msg, c) };
    }
    None
}

/// `addr` as a C socket address and its length.
pub(super) fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
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
pub(super) fn ip_of(storage: &libc::sockaddr_storage) -> Option<IpAddr> {
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
    fn coalesced_datagrams_split_into_their_segments() {
        let payload = [7u8; 1000];
        let d = Datagram {
            src: None,
            payload: &payload,
            truncated: false,
            segment: Some(300),
            offset: 5000,
        };
        let sizes: Vec<usize> = d.packets().map(<[u8]>::len).collect();
        assert_eq!(sizes, [300, 300, 300, 100]);
        let ranges: Vec<_> = d.ranges().collect();
        assert_eq!(ranges, [5000..5300, 5300..5600, 5600..5900, 5900..6000]);
        let empty = Datagram { payload: &[], ..d };
        assert_eq!(empty.ranges().count(), 0);
        let whole = Datagram { segment: None, ..d };
        assert_eq!(whole.packets().count(), 1);
        assert_eq!(whole.ranges().collect::<Vec<_>>(), vec![5000..6000; 1]);
        let zero = Datagram {
            segment: Some(0),
            ..d
        };
        assert_eq!(zero.packets().count(), 1);
    }
}
