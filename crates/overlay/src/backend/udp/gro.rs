//! Coalescing in software: the receive half of the TUN offloads. A `recvmmsg` batch holds
//! hundreds of MTU-sized packets, most of them consecutive segments of a few TCP flows;
//! [`Gro`] merges each run of one flow into one super-packet, written to the device with
//! a `virtio_net_hdr` (TSO type, segment size, checksum left to do), so the kernel runs
//! its receive path once per 64 KiB instead of once per segment — what its own GRO does
//! for a NIC.
//!
//! A segment joins a run under the kernel's GRO rules: same addresses and ports, the next
//! sequence number, the same acknowledgement and TCP options (so timestamps match), the
//! same IP header fields that matter (TOS/traffic class, TTL/hop limit, DF), only ACK and
//! PSH set, payload no longer than the run's first; a shorter segment or PSH ends the run,
//! as does 64 KiB or [`MAX_SEGMENTS`]. Each segment's checksums are verified first: the
//! kernel trusts a super-packet's, so a corrupt segment must never be merged (it goes to
//! the kernel on its own and is dropped there). Anything else — other protocols, SYN,
//! FIN, IPv4 options or fragments — passes through as it is, and closes its flow's run so
//! that no segment is ever delivered out of order.
//!
//! The packets stay where `recvmmsg` put them; a run is a list of ranges into that buffer,
//! and the write gathers them with one `writev`: vnet header, rewritten headers, payloads.

use std::ops::Range;

use twill_kernel::tun::vnet::{Gso, VnetRepr, VNET_HDR_LEN};

use super::csum;
use super::tso::{get16, get32, put16};

/// The most segments merged into one super-packet (as the kernel's GRO).
pub(super) const MAX_SEGMENTS: usize = 64;

/// The largest headers of a mergeable segment: IPv6 (40) + TCP with options (60).
pub(super) const MAX_HEADERS: usize = 100;

const TCP: u8 = 6;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;
const NO_NEXT: usize = usize::MAX;

/// A TCP flow: addresses (IPv4 in the first 4 bytes) and ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Flow {
    v6: bool,
    src: [u8; 16],
    dst: [u8; 16],
    ports: u32,
}

/// What the coalescer needs to know about a TCP segment.
#[derive(Debug, Clone, Copy)]
struct Segment {
    flow: Flow,
    /// Whether the segment may be merged at all (see the module doc).
    mergeable: bool,
    /// IP header length.
    l3: usize,
    /// IP + TCP header length.
    hdr: usize,
    seq: u32,
    payload: usize,
    psh: bool,
}

/// One packet of a run: its range in the receive buffer, the next packet's index.
#[derive(Debug, Clone)]
struct Piece {
    at: Range<usize>,
    next: usize,
}

/// One write to the device: a lone packet, or a run of segments of one flow.
#[derive(Debug, Clone)]
pub(super) struct Item {
    first: usize,
    last: usize,
    segments: usize,
    /// Header length of the run's segments (0 for a lone packet of another kind).
    hdr: usize,
    l3: usize,
    v6: bool,
    flow: Option<Flow>,
    gso_size: usize,
    /// IP length of the merged packet.
    total: usize,
    next_seq: u32,
    psh: bool,
    open: bool,
}

/// The runs of one receive batch, in the order they are to be written.
#[derive(Debug)]
pub(super) struct Gro {
    /// Whether IPv4 and IPv6 segments are merged (the kernel takes TSO packets of the
    /// family back only if it granted TSO for it).
    v4: bool,
    v6: bool,
    items: Vec<Item>,
    pieces: Vec<Piece>,
    /// Items still open to more segments (indices into `items`); a handful at most.
    open: Vec<usize>,
}

impl Gro {
    /// A coalescer merging IPv4 segments if `v4`, IPv6 ones if `v6`.
    pub fn new(v4: bool, v6: bool) -> Gro {
        Gro {
            v4,
            v6,
            items: Vec::new(),
            pieces: Vec::new(),
            open: Vec::new(),
        }
    }

    /// Forgets the previous batch.
    pub fn clear(&mut self) {
        self.items.clear();
        self.pieces.clear();
        self.open.clear();
    }

    /// Adds the packet at `at` in `buf`, which has passed the backend's filters.
    pub fn push(&mut self, buf: &[u8], at: Range<usize>) {
        let Some(pkt) = buf.get(at.clone()) else {
            return;
        };
        let Some(mut seg) = parse(pkt) else {
            self.lone(at, None);
            return;
        };
        seg.mergeable &= if seg.flow.v6 { self.v6 } else { self.v4 };
        if let Some(pos) = self.open.iter().position(|&i| {
            self.items
                .get(i)
                .is_some_and(|it| it.flow == Some(seg.flow))
        }) {
            let index = self.open.get(pos).copied().unwrap_or(usize::MAX);
            if seg.mergeable && self.append(buf, index, &seg, at.clone()) {
                return;
            }
            // Whatever comes next for this flow goes after this packet.
            self.open.swap_remove(pos);
        }
        if seg.mergeable && !seg.psh {
            self.open.push(self.items.len());
        }
        self.lone(at, seg.mergeable.then_some(seg));
    }

    /// Starts an item with one packet (a run's first segment if `seg` is given).
    fn lone(&mut self, at: Range<usize>, seg: Option<Segment>) {
        let piece = self.pieces.len();
        let total = at.len();
        self.pieces.push(Piece { at, next: NO_NEXT });
        let s = seg.as_ref();
        self.items.push(Item {
            first: piece,
            last: piece,
            segments: 1,
            hdr: s.map_or(0, |s| s.hdr),
            l3: s.map_or(0, |s| s.l3),
            v6: s.is_some_and(|s| s.flow.v6),
            flow: s.map(|s| s.flow),
            gso_size: s.map_or(0, |s| s.payload),
            total,
            next_seq: s.map_or(0, |s| s.seq.wrapping_add(s.payload as u32)),
            psh: s.is_some_and(|s| s.psh),
            open: s.is_some_and(|s| !s.psh),
        });
    }

    /// Appends `seg` to item `index` if it continues the run; closes the run when `seg`
    /// ends it. Returns whether it was appended.
    fn append(&mut self, buf: &[u8], index: usize, seg: &Segment, at: Range<usize>) -> bool {
        let Some(item) = self.items.get(index) else {
            return false;
        };
        let head = self
            .pieces
            .get(item.first)
            .and_then(|p| buf.get(p.at.clone()));
        let (Some(head), Some(pkt)) = (head, buf.get(at.clone())) else {
            return false;
        };
        let fits = item.open
            && item.segments < MAX_SEGMENTS
            && seg.seq == item.next_seq
            && seg.payload <= item.gso_size
            && seg.hdr == item.hdr
            && item.total + seg.payload <= 65535
            && same_headers(head, pkt, seg);
        if !fits {
            return false;
        }
        let piece = self.pieces.len();
        self.pieces.push(Piece { at, next: NO_NEXT });
        let last = item.last;
        if let Some(p) = self.pieces.get_mut(last) {
            p.next = piece;
        }
        let Some(item) = self.items.get_mut(index) else {
            return false;
        };
        item.last = piece;
        item.segments += 1;
        item.total += seg.payload;
        item.next_seq = seg.seq.wrapping_add(seg.payload as u32);
        item.psh = seg.psh;
        if seg.psh || seg.payload < item.gso_size || item.segments == MAX_SEGMENTS {
            item.open = false;
            self.open.retain(|&i| i != index);
        }
        true
    }

    /// The writes, in order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The packets of `item`, as ranges into the receive buffer.
    pub fn packets<'a>(&'a self, item: &Item) -> impl Iterator<Item = Range<usize>> + 'a {
        let mut at = item.first;
        std::iter::from_fn(move || {
            let p = self.pieces.get(at)?;
            at = p.next;
            Some(p.at.clone())
        })
    }

    /// The bytes to write for `item`: returns the vnet header and how many parts of
    /// `parts` follow it — for a run, the rewritten headers (in `scratch`) and each
    /// segment's payload; otherwise the packet as it came.
    pub fn gather<'a>(
        &self,
        item: &Item,
        buf: &'a [u8],
        scratch: &'a mut [u8; MAX_HEADERS],
        parts: &mut Parts<'a>,
    ) -> ([u8; VNET_HDR_LEN], usize) {
        let plain = VnetRepr::default().to_bytes();
        let mut ranges = self.packets(item);
        let first = ranges.next().and_then(|r| buf.get(r)).unwrap_or_default();
        let (true, Some(h), Some(src)) = (
            item.merged(),
            scratch.get_mut(..item.hdr),
            first.get(..item.hdr),
        ) else {
            parts[0] = first;
            return (plain, 1);
        };
        h.copy_from_slice(src);
        let l3 = item.l3;
        if item.v6 {
            put16(h, 4, (item.total - 40) as u16);
        } else {
            put16(h, 2, item.total as u16);
            if let Some(ip) = h.get_mut(..l3) {
                csum::set_ipv4_header(ip);
            }
        }
        if let Some(f) = h.get_mut(l3 + 13) {
            *f = if item.psh { *f | PSH } else { *f & !PSH };
        }
        // NEEDS_CSUM: the field holds the pseudo-header sum, the kernel does the rest
        // (or, delivering locally, trusts it: we verified every segment).
        if let Some((s, d)) = csum::addresses(h) {
            let pseudo = csum::fold(csum::pseudo(s, d, TCP, item.total - l3));
            put16(h, l3 + 16, pseudo);
        }
        let payloads = std::iter::once(first)
            .chain(ranges.map(|r| buf.get(r).unwrap_or_default()))
            .map(|p| p.get(item.hdr..).unwrap_or_default());
        let mut n = 1;
        for (slot, p) in parts.iter_mut().skip(1).zip(payloads) {
            *slot = p;
            n += 1;
        }
        parts[0] = h;
        let vnet = VnetRepr {
            needs_csum: true,
            gso: if item.v6 { Gso::TcpV6 } else { Gso::TcpV4 },
            hdr_len: item.hdr as u16,
            gso_size: item.gso_size as u16,
            csum_start: l3 as u16,
            csum_offset: 16,
            ..Default::default()
        };
        (vnet.to_bytes(), n)
    }
}

/// The parts of one write after its vnet header: the headers, then up to
/// [`MAX_SEGMENTS`] payloads.
pub(super) type Parts<'a> = [&'a [u8]; MAX_SEGMENTS + 1];

impl Item {
    /// How many wire packets the write carries.
    pub fn segments(&self) -> usize {
        self.segments
    }

    /// Whether the write is a merged super-packet.
    pub fn merged(&self) -> bool {
        self.segments > 1 && self.hdr != 0
    }
}

/// Reads a TCP segment's flow and whether it may be merged; `None` for anything that is
/// not TCP we can parse.
fn parse(pkt: &[u8]) -> Option<Segment> {
    let first = *pkt.first()?;
    let (v6, l3, proto, mut mergeable) = match first >> 4 {
        4 => {
            let ihl = usize::from(first & 0x0f) * 4;
            let frag = get16(pkt, 6);
            if ihl < 20 || pkt.len() < ihl || frag & 0x1fff != 0 {
                return None;
            }
            let whole = ihl == 20
                && usize::from(get16(pkt, 2)) == pkt.len()
                && frag == 0x4000
                && csum::ipv4_header_ok(pkt.get(..20)?);
            (false, ihl, *pkt.get(9)?, whole)
        }
        6 => {
            let whole = usize::from(get16(pkt, 4)) + 40 == pkt.len();
            (true, 40, *pkt.get(6)?, whole)
        }
        _ => return None,
    };
    if proto != TCP {
        return None;
    }
    let th = pkt.get(l3..)?;
    let hdr_len = usize::from(th.get(12)? >> 4) * 4;
    if hdr_len < 20 || th.len() < hdr_len {
        return None;
    }
    let (src, dst) = csum::addresses(pkt)?;
    let mut flow = Flow {
        v6,
        src: [0; 16],
        dst: [0; 16],
        ports: get32(th, 0),
    };
    flow.src.get_mut(..src.len())?.copy_from_slice(src);
    flow.dst.get_mut(..dst.len())?.copy_from_slice(dst);
    let flags = *th.get(13)?;
    let payload = th.len() - hdr_len;
    mergeable = mergeable
        && flags & ACK != 0
        && flags & !(ACK | PSH) == 0
        && payload > 0
        && l3 + hdr_len <= MAX_HEADERS
        && csum::fold(csum::sum(th, csum::pseudo(src, dst, TCP, th.len()))) == 0xffff;
    Some(Segment {
        flow,
        mergeable,
        l3,
        hdr: l3 + hdr_len,
        seq: get32(th, 4),
        payload,
        psh: flags & PSH != 0,
    })
}

/// Whether `pkt` has the header fields of the run's first packet `head` that must agree
/// (lengths, IDs, sequence numbers, flags, window and checksums may differ).
fn same_headers(head: &[u8], pkt: &[u8], seg: &Segment) -> bool {
    let ip_same = if seg.flow.v6 {
        head.get(..4) == pkt.get(..4) && head.get(7) == pkt.get(7)
    } else {
        head.get(1) == pkt.get(1) && head.get(8) == pkt.get(8)
    };
    let t = seg.l3;
    ip_same
        // acknowledgement number
        && head.get(t + 8..t + 12) == pkt.get(t + 8..t + 12)
        // options
        && head.get(t + 20..seg.hdr) == pkt.get(t + 20..seg.hdr)
}

#[cfg(test)]
mod tests {
    use super::super::tso::tests::{l4_ok, tcp_packet, tso, Packets};
    use super::super::tso::{emit, put32};
    use super::*;

    /// Packs packets back to back, as recvmmsg leaves them, with their ranges.
    fn pack(packets: &[Vec<u8>]) -> (Vec<u8>, Vec<Range<usize>>) {
        let mut buf = Vec::new();
        let mut ranges = Vec::new();
        for p in packets {
            ranges.push(buf.len()..buf.len() + p.len());
            buf.extend_from_slice(p);
        }
        (buf, ranges)
    }

    /// Runs the coalescer; returns each write as (vnet header, bytes).
    fn coalesce(packets: &[Vec<u8>]) -> Vec<(VnetRepr, Vec<u8>)> {
        let (buf, ranges) = pack(packets);
        let mut g = Gro::new(true, true);
        for r in ranges {
            g.push(&buf, r);
        }
        let mut out = Vec::new();
        for item in g.items() {
            let mut scratch = [0u8; MAX_HEADERS];
            let mut parts: Parts<'_> = [&[]; MAX_SEGMENTS + 1];
            let (v, n) = g.gather(item, &buf, &mut scratch, &mut parts);
            out.push((VnetRepr::parse_bytes(&v).unwrap(), parts[..n].concat()));
        }
        out
    }

    fn segments_of(v6: bool, seq: u32, flags: u8, payload: &[u8], mss: u16) -> Vec<Vec<u8>> {
        let sp = tcp_packet(v6, seq, flags, payload);
        let mut out = Packets::default();
        emit(&tso(v6, mss), &sp, &mut out).unwrap();
        out.list
    }

    fn data(n: usize, salt: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 13 + salt + i / 97) as u8).collect()
    }

    #[test]
    fn consecutive_segments_become_one_super_packet() {
        for v6 in [false, true] {
            let l3 = if v6 { 40 } else { 20 };
            let payload = data(20_000, 1);
            let segs = segments_of(v6, 1000, 0x18, &payload, 1400);
            let writes = coalesce(&segs);
            assert_eq!(writes.len(), 1, "v6 {v6}");
            let (v, p) = &writes[0];
            assert_eq!(v.gso, if v6 { Gso::TcpV6 } else { Gso::TcpV4 });
            assert_eq!((v.gso_size, v.hdr_len), (1400, (l3 + 32) as u16));
            assert_eq!((v.csum_start, v.csum_offset), (l3 as u16, 16));
            assert!(v.needs_csum);
            assert_eq!(&p[l3 + 32..], &payload[..]);
            if v6 {
                assert_eq!(usize::from(get16(p, 4)), p.len() - 40);
            } else {
                assert_eq!(usize::from(get16(p, 2)), p.len());
                assert!(csum::ipv4_header_ok(&p[..20]));
            }
            assert_eq!(get32(p, l3 + 4), 1000);
            // PSH came with the last segment and stays.
            assert_eq!(p[l3 + 13], 0x18);
            // The kernel completes the checksum: finishing it as it would must verify.
            let mut done = p.clone();
            super::super::tso::finish_partial(&mut done, l3, 16).unwrap();
            assert!(l4_ok(&done, l3, TCP));
        }
    }

    #[test]
    fn split_then_coalesce_gives_back_the_stream_at_random() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..300 {
            let v6 = rnd() % 2 == 0;
            let mss = 200 + (rnd() % 1300) as u16;
            let len = (rnd() % 64_000) as usize + 1;
            let seq = rnd() as u32;
            let payload = data(len, round);
            let segs = segments_of(v6, seq, 0x18, &payload, mss);
            let mut stream = Vec::new();
            let mut next = seq;
            for (v, p) in coalesce(&segs) {
                // Each write, cut again as the kernel would, gives valid segments whose
                // sequence numbers continue the stream.
                let mut again = Packets::default();
                emit(&v, &p, &mut again).unwrap();
                let l3 = if v6 { 40 } else { 20 };
                for s in again.list {
                    assert!(l4_ok(&s, l3, TCP), "round {round}");
                    assert_eq!(get32(&s, l3 + 4), next, "round {round}");
                    let body = &s[l3 + 32..];
                    next = next.wrapping_add(body.len() as u32);
                    stream.extend_from_slice(body);
                }
            }
            assert!(stream == payload, "round {round}: mss {mss} len {len}");
        }
    }

    #[test]
    fn interleaved_flows_merge_separately_and_keep_their_order() {
        let a = segments_of(false, 0, 0x10, &data(5600, 1), 1400);
        let mut b = segments_of(false, 0, 0x10, &data(5600, 2), 1400);
        for s in &mut b {
            put16(s, 22, 5202); // another destination port
            let mut done = s.clone();
            put16(&mut done, 36, 0);
            let (x, y) = csum::addresses(s).unwrap();
            let c = csum::finish(csum::sum(
                &done[20..],
                csum::pseudo(x, y, TCP, s.len() - 20),
            ));
            put16(s, 36, c);
        }
        let mixed: Vec<Vec<u8>> = a
            .iter()
            .zip(&b)
            .flat_map(|(x, y)| [x.clone(), y.clone()])
            .collect();
        let writes = coalesce(&mixed);
        assert_eq!(writes.len(), 2);
        assert_eq!(get16(&writes[0].1, 22), 5201);
        assert_eq!(get16(&writes[1].1, 22), 5202);
        assert_eq!(writes[0].1.len(), 52 + 5600);
    }

    #[test]
    fn gaps_flags_sizes_and_bad_checksums_end_runs() {
        let segs = segments_of(false, 0, 0x10, &data(7000, 3), 1400);
        // A gap (segment 2 lost): two runs.
        let gap = [
            segs[0].clone(),
            segs[1].clone(),
            segs[3].clone(),
            segs[4].clone(),
        ];
        let w = coalesce(&gap);
        assert_eq!(
            w.iter().map(|(v, _)| v.gso).collect::<Vec<_>>(),
            [Gso::TcpV4, Gso::TcpV4]
        );
        // A corrupt segment goes alone and the run around it splits.
        let mut bad = segs.clone();
        bad[2][100] ^= 0xff;
        let w = coalesce(&bad);
        assert_eq!(w.len(), 3);
        assert_eq!(w[1].0, VnetRepr::default());
        assert_eq!(w[1].1, bad[2]);
        // FIN (and SYN, RST…) is never merged, and nothing of its flow overtakes it.
        let mut fin = segs.clone();
        fin[2][33] |= 0x01;
        let partial_sum_fix = |p: &mut Vec<u8>| {
            put16(p, 36, 0);
            let (x, y) = csum::addresses(p).unwrap();
            let c = csum::finish(csum::sum(&p[20..], csum::pseudo(x, y, TCP, p.len() - 20)));
            put16(p, 36, c);
        };
        partial_sum_fix(&mut fin[2]);
        let w = coalesce(&fin);
        assert_eq!(w.len(), 3);
        assert_eq!(get32(&w[2].1, 24), 3 * 1400);
        // A pure ACK passes through as it is.
        let ack = tcp_packet(false, 5, 0x10, &[]);
        let w = coalesce(std::slice::from_ref(&ack));
        assert_eq!(w, [(VnetRepr::default(), ack)]);
        // A different ack number in the middle: segments 0-2, 3, 4.
        let mut acks = segs.clone();
        put32(&mut acks[3], 28, 99);
        partial_sum_fix(&mut acks[3]);
        let w = coalesce(&acks);
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].1.len(), 52 + 3 * 1400);
        // A longer segment after a shorter one cannot join: the shorter ended the run.
        let short = segments_of(false, 0, 0x10, &data(1000, 4), 1400);
        let long = segments_of(false, 1000, 0x10, &data(1400, 5), 1400);
        assert_eq!(coalesce(&[short[0].clone(), long[0].clone()]).len(), 2);
    }

    #[test]
    fn garbage_and_truncated_packets_never_panic() {
        let segs = segments_of(true, 0, 0x10, &data(3000, 6), 1000);
        let mut seed = 0x1234_5678_9abc_def1_u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut packets = Vec::new();
        for _ in 0..2000 {
            let mut p = segs[(rnd() % 3) as usize].clone();
            match rnd() % 3 {
                0 => p.truncate((rnd() % p.len() as u64) as usize),
                1 => {
                    let i = (rnd() % p.len() as u64) as usize;
                    p[i] = rnd() as u8;
                }
                _ => p = (0..rnd() % 200).map(|_| rnd() as u8).collect(),
            }
            packets.push(p);
        }
        let writes = coalesce(&packets);
        assert!(!writes.is_empty());
        // An out-of-range push is ignored.
        let mut g = Gro::new(true, true);
        g.push(&[0x45; 10], 5..50);
        assert!(g.items().is_empty());
    }
}
