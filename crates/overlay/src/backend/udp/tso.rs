//! Segmentation in software: what a NIC does with a TSO super-packet, done to what the TUN
//! device hands us, because the wire format (flannel's) carries exactly one inner IP
//! packet per datagram.
//!
//! With offloads on, a read from the device is a `virtio_net_hdr` and a packet that may be
//! a 64 KiB TCP (or UDP) super-packet whose checksum is left to do. [`emit`] turns it into
//! MTU-sized IP packets, each complete: IPv4 total length, identification (incremented per
//! segment, as the kernel's own segmentation does) and header checksum, or IPv6 payload
//! length; TCP sequence numbers, FIN and PSH on the last segment only, CWR on the first
//! only; UDP length; and every transport checksum computed. A packet that is not a
//! super-packet but still needs its checksum gets it finished, since the peer's kernel
//! will not do it.

use twill_kernel::tun::vnet::{Gso, VnetRepr};

use super::csum;

/// Where segments go: room for one packet at a time, then a commit of its length.
pub(super) trait Sink {
    /// At least `len` bytes for the next packet, or `None` when the sink is full.
    fn room(&mut self, len: usize) -> Option<&mut [u8]>;
    /// The packet of `len` bytes just written into [`Sink::room`] is done.
    fn commit(&mut self, len: usize);
}

/// Why a packet from the device could not be emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TsoError {
    /// The IP or transport header is missing, cut short or inconsistent with the vnet
    /// header.
    Header,
    /// A segmentation type we do not do (UFO), or a segment size of 0.
    Gso,
    /// The checksum range lies outside the packet.
    Checksum,
    /// The sink ran out of room (segments already emitted stay).
    Full,
}

const TCP: u8 = 6;
const UDP: u8 = 17;
const FIN: u8 = 0x01;
const PSH: u8 = 0x08;
const CWR: u8 = 0x80;

/// Emits the packet read from the device (`v`, its vnet header; `pkt`, the packet) as
/// wire packets into `out`; returns how many.
pub(super) fn emit(v: &VnetRepr, pkt: &[u8], out: &mut impl Sink) -> Result<usize, TsoError> {
    match v.gso {
        Gso::None => {
            let room = out.room(pkt.len()).ok_or(TsoError::Full)?;
            let copy = room.get_mut(..pkt.len()).ok_or(TsoError::Full)?;
            copy.copy_from_slice(pkt);
            if v.needs_csum {
                finish_partial(copy, v.csum_start.into(), v.csum_offset.into())?;
            }
            out.commit(pkt.len());
            Ok(1)
        }
        Gso::TcpV4 | Gso::TcpV6 | Gso::UdpL4 => segment(v, pkt, out),
        Gso::Udp => Err(TsoError::Gso),
    }
}

/// Completes a partial checksum as a NIC would: the field at `start + offset` holds the
/// pseudo-header sum; the checksum of `start..` goes there. A zero result is stored as
/// 0xffff (the same value in one's complement), which UDP needs: zero means "none".
pub(super) fn finish_partial(pkt: &mut [u8], start: usize, offset: usize) -> Result<(), TsoError> {
    let at = start.checked_add(offset).ok_or(TsoError::Checksum)?;
    if at.saturating_add(2) > pkt.len() {
        return Err(TsoError::Checksum);
    }
    let body = pkt.get(start..).ok_or(TsoError::Checksum)?;
    let c = match csum::finish(csum::sum(body, 0)) {
        0 => 0xffff,
        c => c,
    };
    put16(pkt, at, c);
    Ok(())
}

/// The layout of a super-packet's headers.
struct Layout {
    v6: bool,
    /// Start of the transport header.
    l4: usize,
    /// Length of all headers (IP + transport).
    hdr: usize,
    proto: u8,
}

fn layout(v: &VnetRepr, pkt: &[u8]) -> Result<Layout, TsoError> {
    let first = *pkt.first().ok_or(TsoError::Header)?;
    let v6 = match (first >> 4, v.gso) {
        (4, Gso::TcpV4 | Gso::UdpL4) => false,
        (6, Gso::TcpV6 | Gso::UdpL4) => true,
        _ => return Err(TsoError::Header),
    };
    let proto = if v.gso == Gso::UdpL4 { UDP } else { TCP };
    // The transport header starts where checksumming does; for IPv4 that must be right
    // after the header (options included), for IPv6 after the fixed header or later (an
    // extension header, copied into every segment as it is).
    let l4 = usize::from(v.csum_start);
    if v6 {
        if l4 < 40 || (l4 == 40 && pkt.get(6) != Some(&proto)) {
            return Err(TsoError::Header);
        }
    } else {
        let ihl = usize::from(first & 0x0f) * 4;
        if ihl < 20 || l4 != ihl || pkt.get(9) != Some(&proto) {
            return Err(TsoError::Header);
        }
    }
    // The vnet header's hdr_len is only a hint (it may count payload bytes too): the
    // transport header's own length decides.
    let l4_len = if proto == TCP {
        let off = usize::from(pkt.get(l4 + 12).ok_or(TsoError::Header)? >> 4) * 4;
        if off < 20 {
            return Err(TsoError::Header);
        }
        off
    } else {
        8
    };
    let hdr = l4 + l4_len;
    if hdr > pkt.len() {
        return Err(TsoError::Header);
    }
    Ok(Layout { v6, l4, hdr, proto })
}

fn segment(v: &VnetRepr, pkt: &[u8], out: &mut impl Sink) -> Result<usize, TsoError> {
    let l = layout(v, pkt)?;
    let size = usize::from(v.gso_size);
    if size == 0 {
        return Err(TsoError::Gso);
    }
    let (head, payload) = pkt.split_at_checked(l.hdr).ok_or(TsoError::Header)?;
    let count = payload.len().div_ceil(size).max(1);
    let id0 = get16(pkt, 4);
    let seq0 = get32(pkt, l.l4 + 4);
    let flags0 = pkt.get(l.l4 + 13).copied().unwrap_or(0);
    let check_at = l.l4 + if l.proto == TCP { 16 } else { 6 };
    let (src, dst) = csum::addresses(pkt).ok_or(TsoError::Header)?;
    let addr_sum = csum::sum(dst, csum::sum(src, 0));
    for i in 0..count {
        let from = i * size;
        let chunk = payload
            .get(from..(from + size).min(payload.len()))
            .unwrap_or_default();
        let len = l.hdr + chunk.len();
        let room = out.room(len).ok_or(TsoError::Full)?;
        let seg = room.get_mut(..len).ok_or(TsoError::Full)?;
        let (h, body) = seg.split_at_mut(l.hdr);
        h.copy_from_slice(head);
        body.copy_from_slice(chunk);
        if l.v6 {
            put16(seg, 4, (len - 40) as u16);
        } else {
            put16(seg, 2, len as u16);
            put16(seg, 4, id0.wrapping_add(i as u16));
            if let Some(ip) = seg.get_mut(..l.l4) {
                csum::set_ipv4_header(ip);
            }
        }
        if l.proto == TCP {
            put32(seg, l.l4 + 4, seq0.wrapping_add(from as u32));
            let mut flags = flags0;
            if i + 1 < count {
                flags &= !(FIN | PSH);
            }
            if i > 0 {
                flags &= !CWR;
            }
            if let Some(f) = seg.get_mut(l.l4 + 13) {
                *f = flags;
            }
        } else {
            put16(seg, l.l4 + 4, (len - l.l4) as u16);
        }
        put16(seg, check_at, 0);
        let pseudo = addr_sum + u64::from(l.proto) + (len - l.l4) as u64;
        let c = csum::finish(csum::sum(seg.get(l.l4..).unwrap_or_default(), pseudo));
        put16(
            seg,
            check_at,
            if c == 0 && l.proto == UDP { 0xffff } else { c },
        );
        out.commit(len);
    }
    Ok(count)
}

pub(super) fn get16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at.saturating_add(2)) {
        Some(&[x, y]) => u16::from_be_bytes([x, y]),
        _ => 0,
    }
}

pub(super) fn get32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at.saturating_add(4)) {
        Some(&[w, x, y, z]) => u32::from_be_bytes([w, x, y, z]),
        _ => 0,
    }
}

pub(super) fn put16(b: &mut [u8], at: usize, v: u16) {
    if let Some(s) = b.get_mut(at..at.saturating_add(2)) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

pub(super) fn put32(b: &mut [u8], at: usize, v: u32) {
    if let Some(s) = b.get_mut(at..at.saturating_add(4)) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::net::IpAddr;

    /// Collects packets, for tests.
    #[derive(Default)]
    pub struct Packets {
        pub list: Vec<Vec<u8>>,
        buf: Vec<u8>,
        pub limit: Option<usize>,
    }

    impl Sink for Packets {
        fn room(&mut self, len: usize) -> Option<&mut [u8]> {
            if self.limit.is_some_and(|l| self.list.len() >= l) {
                return None;
            }
            self.buf = vec![0xee; len + 7];
            Some(&mut self.buf)
        }
        fn commit(&mut self, len: usize) {
            self.list.push(self.buf[..len].to_vec());
        }
    }

    /// A TCP packet as a pod's kernel sends it: IPv4 or IPv6, a 12-byte timestamp option,
    /// `payload`, the checksum field holding the pseudo-header sum (partial).
    pub fn tcp_packet(v6: bool, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let (src, dst): (IpAddr, IpAddr) = if v6 {
            (
                "fd00:244:0:1::5".parse().unwrap(),
                "fd00:244:0:2::9".parse().unwrap(),
            )
        } else {
            ("10.244.1.5".parse().unwrap(), "10.244.2.9".parse().unwrap())
        };
        let l3 = if v6 { 40 } else { 20 };
        let mut p = vec![0u8; l3 + 32];
        if v6 {
            p[0] = 0x60;
            put16(&mut p, 4, (32 + payload.len()) as u16);
            p[6] = TCP;
            p[7] = 64;
            p[8..24].copy_from_slice(&csum::octets(src));
            p[24..40].copy_from_slice(&csum::octets(dst));
        } else {
            p[0] = 0x45;
            put16(&mut p, 2, (l3 + 32 + payload.len()).min(65535) as u16);
            put16(&mut p, 4, 0xfff0);
            p[6] = 0x40; // DF
            p[8] = 64;
            p[9] = TCP;
            p[12..16].copy_from_slice(&csum::octets(src));
            p[16..20].copy_from_slice(&csum::octets(dst));
            csum::set_ipv4_header(&mut p[..20]);
        }
        let t = l3;
        put16(&mut p, t, 40000);
        put16(&mut p, t + 2, 5201);
        put32(&mut p, t + 4, seq);
        put32(&mut p, t + 8, 0x1234_5678);
        p[t + 12] = 8 << 4;
        p[t + 13] = flags;
        put16(&mut p, t + 14, 502);
        // NOP NOP timestamp(10)
        p[t + 20..t + 32].copy_from_slice(&[1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 3]);
        p.extend_from_slice(payload);
        let (s, d) = csum::addresses(&p).unwrap();
        let partial = csum::fold(csum::pseudo(s, d, TCP, p.len() - t));
        put16(&mut p, t + 16, partial);
        p
    }

    pub fn tso(v6: bool, size: u16) -> VnetRepr {
        VnetRepr {
            needs_csum: true,
            gso: if v6 { Gso::TcpV6 } else { Gso::TcpV4 },
            hdr_len: 0, // a hint we never trust
            gso_size: size,
            csum_start: if v6 { 40 } else { 20 },
            csum_offset: 16,
            ..Default::default()
        }
    }

    /// Whether the transport checksum of a complete packet verifies.
    pub fn l4_ok(p: &[u8], l4: usize, proto: u8) -> bool {
        let (s, d) = csum::addresses(p).unwrap();
        csum::fold(csum::sum(&p[l4..], csum::pseudo(s, d, proto, p.len() - l4))) == 0xffff
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 + i / 251) as u8).collect()
    }

    #[test]
    fn a_tcp_super_packet_becomes_complete_segments() {
        for v6 in [false, true] {
            let l3 = if v6 { 40 } else { 20 };
            let payload = data(10_000);
            let flags = 0x18 | FIN | CWR; // ACK PSH FIN CWR
            let sp = tcp_packet(v6, u32::MAX - 3000, flags, &payload);
            let mut out = Packets::default();
            assert_eq!(emit(&tso(v6, 1400), &sp, &mut out), Ok(8));
            let mut joined = Vec::new();
            for (i, s) in out.list.iter().enumerate() {
                let body = &s[l3 + 32..];
                assert_eq!(body.len(), if i < 7 { 1400 } else { 200 });
                joined.extend_from_slice(body);
                if v6 {
                    assert_eq!(get16(s, 4) as usize, s.len() - 40);
                } else {
                    assert_eq!(get16(s, 2) as usize, s.len());
                    assert_eq!(get16(s, 4), 0xfff0u16.wrapping_add(i as u16));
                    assert!(csum::ipv4_header_ok(&s[..20]), "segment {i}");
                }
                let seq = get32(s, l3 + 4);
                assert_eq!(seq, (u32::MAX - 3000).wrapping_add(1400 * i as u32));
                let f = s[l3 + 13];
                assert_eq!(f & 0x10, 0x10, "ACK everywhere");
                assert_eq!(f & (FIN | PSH) != 0, i == 7, "FIN/PSH last only: {i}");
                assert_eq!(f & CWR != 0, i == 0, "CWR first only: {i}");
                assert!(l4_ok(s, l3, TCP), "v6 {v6} segment {i}");
                // Everything else of the header is copied: ports, ack, window, options.
                assert_eq!(&s[l3..l3 + 4], &sp[l3..l3 + 4]);
                assert_eq!(&s[l3 + 8..l3 + 13], &sp[l3 + 8..l3 + 13]);
                assert_eq!(&s[l3 + 14..l3 + 16], &sp[l3 + 14..l3 + 16]);
                assert_eq!(&s[l3 + 20..l3 + 32], &sp[l3 + 20..l3 + 32]);
            }
            assert_eq!(joined, payload);
        }
    }

    #[test]
    fn a_udp_super_packet_becomes_datagrams() {
        for v6 in [false, true] {
            let l3 = if v6 { 40 } else { 20 };
            let mut p = tcp_packet(v6, 0, 0, &[]);
            p.truncate(l3 + 8);
            p[if v6 { 6 } else { 9 }] = UDP;
            if !v6 {
                csum::set_ipv4_header(&mut p[..20]);
            }
            p.extend_from_slice(&data(3000));
            let v = VnetRepr {
                gso: Gso::UdpL4,
                gso_size: 1000,
                csum_offset: 6,
                ..tso(v6, 1000)
            };
            let mut out = Packets::default();
            assert_eq!(emit(&v, &p, &mut out), Ok(3));
            for s in &out.list {
                assert_eq!(s.len(), l3 + 8 + 1000);
                assert_eq!(get16(s, l3 + 4), 1008);
                assert!(l4_ok(s, l3, UDP));
                assert_ne!(get16(s, l3 + 6), 0);
            }
        }
    }

    #[test]
    fn a_plain_packet_gets_its_partial_checksum_finished() {
        for v6 in [false, true] {
            let l3 = if v6 { 40 } else { 20 };
            let p = tcp_packet(v6, 7, 0x18, &data(333));
            assert!(!l4_ok(&p, l3, TCP));
            let v = VnetRepr {
                gso: Gso::None,
                ..tso(v6, 0)
            };
            let mut out = Packets::default();
            assert_eq!(emit(&v, &p, &mut out), Ok(1));
            assert!(l4_ok(&out.list[0], l3, TCP));
            // Without NEEDS_CSUM it goes out untouched.
            let v = VnetRepr::default();
            let mut out = Packets::default();
            assert_eq!(emit(&v, &p, &mut out), Ok(1));
            assert_eq!(out.list[0], p);
        }
    }

    #[test]
    fn a_super_packet_smaller_than_a_segment_or_without_payload_is_one_packet() {
        let p = tcp_packet(false, 1, 0x11, &data(100));
        let mut out = Packets::default();
        assert_eq!(emit(&tso(false, 1400), &p, &mut out), Ok(1));
        assert_eq!(out.list[0][20 + 13], 0x11);
        assert!(l4_ok(&out.list[0], 20, TCP));
        let p = tcp_packet(false, 1, 0x11, &[]);
        let mut out = Packets::default();
        assert_eq!(emit(&tso(false, 1400), &p, &mut out), Ok(1));
        assert_eq!(out.list[0].len(), 52);
    }

    #[test]
    fn bad_headers_are_refused_and_nothing_panics() {
        let good = tcp_packet(false, 1, 0x10, &data(5000));
        let v = tso(false, 1400);
        let mut out = Packets::default();
        // Wrong family for the type, UFO, a zero segment size, a bad csum_start.
        assert_eq!(
            emit(&tso(true, 1400), &good, &mut out),
            Err(TsoError::Header)
        );
        let ufo = VnetRepr { gso: Gso::Udp, ..v };
        assert_eq!(emit(&ufo, &good, &mut out), Err(TsoError::Gso));
        let zero = VnetRepr { gso_size: 0, ..v };
        assert_eq!(emit(&zero, &good, &mut out), Err(TsoError::Gso));
        let off = VnetRepr {
            csum_start: 24,
            ..v
        };
        assert_eq!(emit(&off, &good, &mut out), Err(TsoError::Header));
        let plain = VnetRepr {
            gso: Gso::None,
            csum_offset: 9000,
            ..v
        };
        assert_eq!(emit(&plain, &good, &mut out), Err(TsoError::Checksum));
        assert!(out.list.is_empty());
        // A full sink stops the segmentation.
        let mut small = Packets {
            limit: Some(2),
            ..Default::default()
        };
        assert_eq!(emit(&v, &good, &mut small), Err(TsoError::Full));
        assert_eq!(small.list.len(), 2);
        // Every truncation and random garbage under every type: Ok or Err, never a panic.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in 0..good.len().min(200) {
            let _ = emit(&v, &good[..n], &mut Packets::default());
        }
        for _ in 0..3000 {
            let len = (rnd() % 300) as usize;
            let mut g: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
            if let Some(b) = g.first_mut() {
                *b = if rnd() % 2 == 0 { 0x45 } else { 0x60 };
            }
            let r = rnd();
            let v = VnetRepr {
                needs_csum: r & 1 != 0,
                gso: [Gso::None, Gso::TcpV4, Gso::TcpV6, Gso::UdpL4][(r >> 1) as usize % 4],
                gso_size: (r >> 8) as u16 % 100,
                csum_start: (r >> 24) as u16 % 80,
                csum_offset: (r >> 40) as u16 % 40,
                ..Default::default()
            };
            let _ = emit(&v, &g, &mut Packets::default());
        }
    }
}
