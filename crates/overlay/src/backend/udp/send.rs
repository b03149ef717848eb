//! The storage of the sending side: the wire packets cut from what was read from the
//! TUN device, packed back to back in one arena, each with its peer, and the message
//! headers of the `sendmmsg` calls that send them.
//!
//! Segmentation offload happens here. A run of packets to the same peer of one size (the
//! last may be shorter) — what a segmented TCP super-packet is — becomes one message
//! with a `UDP_SEGMENT` control message: the kernel builds one large datagram and splits
//! it as late as possible (on the NIC, or never on a veth), instead of running the UDP/IP
//! output path once per packet.

use std::mem;
use std::net::SocketAddr;

use super::batch::{header, sockaddr, CONTROL_WORDS, UDP_SEGMENT};
use super::tso::Sink;

/// Messages per `sendmmsg`.
const MESSAGES: usize = 64;

/// The arena: room for dozens of 64 KiB super-packets once segmented.
const ARENA: usize = 4 << 20;

/// The arena is full when less than this is left: the most one packet read from the
/// device can become (64 KiB of payload cut into segments as small as TCP allows, each
/// with up to 100 bytes of headers).
const HEADROOM: usize = 256 << 10;

/// The most payload one segmented send may carry: an IPv4 datagram's limit.
const GSO_MAX_BYTES: usize = 65535 - 20 - 8;

/// The most segments one segmented send may carry (`UDP_MAX_SEGMENTS` of older kernels;
/// more is refused with EINVAL).
const GSO_MAX_SEGMENTS: usize = 64;

/// A packet in the arena.
#[derive(Debug, Clone, Copy)]
struct Packet {
    at: usize,
    len: usize,
    to: SocketAddr,
}

/// Storage for the packets of one batch and the `sendmmsg` calls that send them.
pub(super) struct SendBatch {
    buf: Vec<u8>,
    used: usize,
    packets: Vec<Packet>,
    /// One iovec per packet; a message's iovecs are consecutive.
    iovs: Vec<libc::iovec>,
    names: Vec<libc::sockaddr_storage>,
    name_lens: Vec<libc::socklen_t>,
    controls: Vec<[u64; CONTROL_WORDS]>,
    pub(super) hdrs: Vec<libc::mmsghdr>,
    /// Per prepared message: (first packet, packets, bytes).
    pub(super) messages: Vec<(usize, usize, usize)>,
}

impl std::fmt::Debug for SendBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendBatch")
            .field("packets", &self.packets.len())
            .field("used", &self.used)
            .finish()
    }
}

impl SendBatch {
    pub fn new() -> SendBatch {
        SendBatch {
            // Only the pages packets touch become resident.
            buf: vec![0u8; ARENA],
            used: 0,
            packets: Vec::with_capacity(1024),
            iovs: Vec::with_capacity(1024),
            // SAFETY: sockaddr_storage and mmsghdr are plain old data; all-zero is valid.
            names: vec![unsafe { mem::zeroed() }; MESSAGES],
            name_lens: vec![0; MESSAGES],
            controls: vec![[0; CONTROL_WORDS]; MESSAGES],
            // SAFETY: as above.
            hdrs: vec![unsafe { mem::zeroed() }; MESSAGES],
            messages: Vec::with_capacity(MESSAGES),
        }
    }

    /// Packets ready to send.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// Whether the next packet read might not fit.
    pub fn is_full(&self) -> bool {
        ARENA - self.used < HEADROOM
    }

    /// Empties the batch.
    pub fn clear(&mut self) {
        self.used = 0;
        self.packets.clear();
    }

    /// Room for a packet to `to`: a [`Sink`] for the segmenter.
    pub fn to(&mut self, to: SocketAddr) -> PeerSink<'_> {
        PeerSink { batch: self, to }
    }

    /// The packets, for tests.
    #[cfg(test)]
    pub fn packet(&self, i: usize) -> Option<&[u8]> {
        let p = self.packets.get(i)?;
        self.buf.get(p.at..p.at + p.len)
    }

    /// Builds the messages for packets `from..`, at most one `sendmmsg`'s worth: one per
    /// packet, or with `gso`, one per run of packets to one peer that the kernel can
    /// segment. Returns how many; `messages` says which packets each holds.
    pub(super) fn prepare(&mut self, from: usize, gso: bool) -> usize {
        self.messages.clear();
        let mut i = from;
        while i < self.packets.len() && self.messages.len() < MESSAGES {
            let first = i;
            let Some(&Packet { len: size, to, .. }) = self.packets.get(i) else {
                break;
            };
            let mut total = size;
            i += 1;
            if gso && size > 0 {
                // Equal sizes to one peer; a shorter packet may end the run.
                while let Some(p) = self.packets.get(i) {
                    if p.to != to
                        || p.len > size
                        || total + p.len > GSO_MAX_BYTES
                        || i - first >= GSO_MAX_SEGMENTS
                    {
                        break;
                    }
                    total += p.len;
                    i += 1;
                    if p.len < size {
                        break;
                    }
                }
            }
            self.messages.push((first, i - first, total));
        }
        self.headers(gso)
    }

    fn headers(&mut self, gso: bool) -> usize {
        let base = self.buf.as_mut_ptr();
        self.iovs.clear();
        self.iovs.extend(self.packets.iter().map(|p| libc::iovec {
            iov_base: base.wrapping_add(p.at).cast(),
            iov_len: p.len,
        }));
        let mut n = 0;
        for (m, &(first, count, _)) in self.messages.iter().enumerate() {
            let (Some(h), Some(control), Some(name), Some(name_len), Some(iov), Some(p)) = (
                self.hdrs.get_mut(m),
                self.controls.get_mut(m),
                self.names.get_mut(m),
                self.name_lens.get_mut(m),
                self.iovs.get_mut(first),
                self.packets.get(first),
            ) else {
                break;
            };
            (*name, *name_len) = sockaddr(p.to);
            let control = match (gso && count > 1, u16::try_from(p.len)) {
                (true, Ok(size)) => {
                    let len = encode_segment(control, size);
                    Some((control, len))
                }
                _ => None,
            };
            // The iovecs of a run are consecutive, so the first one's address and the
            // count describe the whole run.
            *h = header(name, *name_len, iov, count, control);
            n += 1;
        }
        n
    }
}

/// The batch as a [`Sink`] of packets to one peer.
#[derive(Debug)]
pub(super) struct PeerSink<'a> {
    batch: &'a mut SendBatch,
    to: SocketAddr,
}

impl Sink for PeerSink<'_> {
    fn room(&mut self, len: usize) -> Option<&mut [u8]> {
        let b = &mut *self.batch;
        b.buf.get_mut(b.used..b.used.checked_add(len)?)
    }

    fn commit(&mut self, len: usize) {
        let b = &mut *self.batch;
        if b.used + len <= b.buf.len() {
            b.packets.push(Packet {
                at: b.used,
                len,
                to: self.to,
            });
            b.used += len;
        }
    }
}

/// Writes a `UDP_SEGMENT` control message for segments of `size` bytes; returns its
/// length.
fn encode_segment(control: &mut [u64; CONTROL_WORDS], size: u16) -> usize {
    // SAFETY: pure arithmetic.
    let (space, len) = unsafe {
        (
            libc::CMSG_SPACE(mem::size_of::<u16>() as _) as usize,
            libc::CMSG_LEN(mem::size_of::<u16>() as _),
        )
    };
    let c = control.as_mut_ptr().cast::<libc::cmsghdr>();
    // SAFETY: `control` is 8-byte aligned and CONTROL_WORDS * 8 = 32 bytes, more than
    // CMSG_SPACE(2) (24 on 64-bit Linux, 16 on 32-bit), so the header and the u16 after
    // it fit; cmsghdr is plain old data and all-zero is valid before we set its fields.
    unsafe {
        c.write(mem::zeroed());
        (*c).cmsg_len = len as _;
        (*c).cmsg_level = libc::SOL_UDP;
        (*c).cmsg_type = UDP_SEGMENT;
        libc::CMSG_DATA(c).cast::<u16>().write_unaligned(size);
    }
    space
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn batch_of(packets: &[(usize, &str)]) -> SendBatch {
        let mut b = SendBatch::new();
        for &(len, to) in packets {
            let mut s = b.to(to.parse().unwrap());
            s.room(len).unwrap();
            s.commit(len);
        }
        b
    }

    #[test]
    fn runs_to_one_peer_of_one_size_become_one_segmented_message() {
        let (p, q) = ("198.18.0.2:8285", "198.18.0.3:8285");
        let mut b = batch_of(&[
            (1400, p),
            (1400, p),
            (900, p), // shorter: ends the run
            (1400, p),
            (1400, q), // another peer
            (1400, q),
            (1500, q), // longer: a new run
            (100, q),
        ]);
        assert_eq!(b.prepare(0, true), 4);
        assert_eq!(
            b.messages,
            [(0, 3, 3700), (3, 1, 1400), (4, 2, 2800), (6, 2, 1600)]
        );
        // Resuming after a refused message, and without offload: one packet each.
        assert_eq!(b.prepare(5, true), 2);
        assert_eq!(b.messages, [(5, 1, 1400), (6, 2, 1600)]);
        assert_eq!(b.prepare(0, false), 8);
        assert!(b.messages.iter().all(|&(_, n, _)| n == 1));
    }

    #[test]
    fn a_segmented_message_stays_within_one_datagram_and_the_segment_limit() {
        let packets = vec![(1400, "198.18.0.2:8285"); 50];
        let mut b = batch_of(&packets);
        assert_eq!(b.prepare(0, true), 2);
        assert_eq!(b.messages, [(0, 46, 46 * 1400), (46, 4, 4 * 1400)]);
        let small = vec![(100, "198.18.0.2:8285"); 150];
        let mut b = batch_of(&small);
        assert_eq!(b.prepare(0, true), 3);
        assert_eq!(b.messages, [(0, 64, 6400), (64, 64, 6400), (128, 22, 2200)]);
    }

    #[test]
    fn one_call_takes_at_most_its_messages_and_the_rest_follow() {
        let packets = vec![(10, "198.18.0.2:8285"); 150];
        let mut b = batch_of(&packets);
        assert_eq!(b.prepare(0, false), MESSAGES);
        assert_eq!(b.messages.last(), Some(&(63, 1, 10)));
        assert_eq!(b.prepare(128, false), 22);
    }

    #[test]
    fn the_arena_fills_and_empties() {
        let mut b = SendBatch::new();
        let to = "198.18.0.2:8285".parse().unwrap();
        let mut n = 0;
        while !b.is_full() {
            let mut s = b.to(to);
            s.room(60_000).unwrap().fill(n as u8);
            s.commit(60_000);
            n += 1;
        }
        assert!(n >= 60, "{n}");
        assert_eq!(b.packet(3).unwrap()[0], 3);
        // Room past the end is refused; a commit past the end is ignored.
        let mut s = b.to(to);
        assert!(s.room(ARENA).is_none());
        s.commit(ARENA);
        assert_eq!(b.len(), n);
        b.clear();
        assert_eq!(b.len(), 0);
        assert!(!b.is_full());
    }
}
