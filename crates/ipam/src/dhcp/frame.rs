//! The IPv4 and UDP headers around a DHCP message, for a client that sends and receives on a
//! packet socket (before it has an address, and independently of the pod's routes, firewall
//! and `rp_filter`).

use std::net::Ipv4Addr;

use super::WireError;

/// The DHCP server's port.
pub const SERVER_PORT: u16 = 67;
/// The DHCP client's port.
pub const CLIENT_PORT: u16 = 68;
const IPV4_HEADER: usize = 20;
const UDP_HEADER: usize = 8;
const PROTO_UDP: u8 = 17;

/// A UDP datagram inside an IPv4 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// IP source.
    pub src: Ipv4Addr,
    /// IP destination.
    pub dst: Ipv4Addr,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
    /// The UDP payload.
    pub payload: &'a [u8],
}

fn sum16(mut acc: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        if let [a, b] = c {
            acc += u32::from(u16::from_be_bytes([*a, *b]));
        }
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(u16::try_from(acc).unwrap_or(0xffff))
}

impl Datagram<'_> {
    /// The IPv4 packet (header, UDP header with its checksum, payload).
    pub fn emit(&self) -> Vec<u8> {
        let udp_len = UDP_HEADER + self.payload.len();
        let total = IPV4_HEADER + udp_len;
        let total16 = u16::try_from(total).unwrap_or(u16::MAX);
        let udp16 = u16::try_from(udp_len).unwrap_or(u16::MAX);
        let mut p = Vec::with_capacity(total);
        p.extend_from_slice(&[0x45, 0x10]); // version 4, IHL 5; TOS low delay, as DHCP clients do
        p.extend_from_slice(&total16.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 0]); // id, flags, fragment offset
        p.extend_from_slice(&[64, PROTO_UDP, 0, 0]); // TTL, protocol, checksum (below)
        p.extend_from_slice(&self.src.octets());
        p.extend_from_slice(&self.dst.octets());
        let ip_sum = fold(sum16(0, &p));
        if let Some(slot) = p.get_mut(10..12) {
            slot.copy_from_slice(&ip_sum.to_be_bytes());
        }
        p.extend_from_slice(&self.src_port.to_be_bytes());
        p.extend_from_slice(&self.dst_port.to_be_bytes());
        p.extend_from_slice(&udp16.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(self.payload);
        let mut pseudo = Vec::with_capacity(12);
        pseudo.extend_from_slice(&self.src.octets());
        pseudo.extend_from_slice(&self.dst.octets());
        pseudo.extend_from_slice(&[0, PROTO_UDP]);
        pseudo.extend_from_slice(&udp16.to_be_bytes());
        let udp_sum = match fold(sum16(
            sum16(0, &pseudo),
            p.get(IPV4_HEADER..).unwrap_or_default(),
        )) {
            0 => 0xffff, // 0 means "no checksum" in UDP
            s => s,
        };
        if let Some(slot) = p.get_mut(IPV4_HEADER + 6..IPV4_HEADER + 8) {
            slot.copy_from_slice(&udp_sum.to_be_bytes());
        }
        p
    }
}

/// The big-endian 16-bit word at `at`; 0 past the end (length checks come after).
fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[x, y]) => u16::from_be_bytes([x, y]),
        _ => 0,
    }
}

/// Reads a UDP datagram from an IPv4 packet. The IP header checksum is verified; the UDP
/// checksum is not: a packet socket on a veth sees a local sender's datagrams before the
/// checksum is filled in (the offload leaves it partial), and the header checksum plus
/// DHCP's own checks (xid, client address, message type) already reject strays.
/// Fragments are refused: no DHCP reply needs one.
pub fn parse(packet: &[u8]) -> Result<Datagram<'_>, WireError> {
    let first = *packet.first().ok_or(WireError::Truncated("ipv4 header"))?;
    if first >> 4 != 4 {
        return Err(WireError::Malformed("ip version"));
    }
    let ihl = usize::from(first & 0x0f) * 4;
    let header = packet
        .get(..ihl)
        .filter(|_| ihl >= IPV4_HEADER)
        .ok_or(WireError::Truncated("ipv4 header"))?;
    if fold(sum16(0, header)) != 0 {
        return Err(WireError::Malformed("ipv4 header checksum"));
    }
    let word = |at: usize| -> u16 { be16(packet, at) };
    let total = usize::from(word(2));
    if total < ihl || total > packet.len() {
        return Err(WireError::Truncated("ipv4 packet"));
    }
    if word(6) & 0x3fff != 0 {
        return Err(WireError::Malformed("ipv4 fragment"));
    }
    if packet.get(9) != Some(&PROTO_UDP) {
        return Err(WireError::Malformed("not udp"));
    }
    let addr = |at: usize| -> Ipv4Addr {
        let mut a = [0u8; 4];
        if let Some(s) = packet.get(at..at + 4) {
            a.copy_from_slice(s);
        }
        Ipv4Addr::from(a)
    };
    let udp = packet.get(ihl..total).unwrap_or_default();
    let udp_len = usize::from(be16(udp, 4));
    if udp_len < UDP_HEADER || udp_len > udp.len() {
        return Err(WireError::Truncated("udp datagram"));
    }
    Ok(Datagram {
        src: addr(12),
        dst: addr(16),
        src_port: word(ihl),
        dst_port: word(ihl + 2),
        payload: udp.get(UDP_HEADER..udp_len).unwrap_or_default(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn sample(payload: &[u8]) -> Datagram<'_> {
        Datagram {
            src: Ipv4Addr::UNSPECIFIED,
            dst: Ipv4Addr::BROADCAST,
            src_port: CLIENT_PORT,
            dst_port: SERVER_PORT,
            payload,
        }
    }

    #[test]
    fn emit_then_parse() {
        let bytes = sample(b"hello").emit();
        assert_eq!(bytes.len(), 20 + 8 + 5);
        let d = parse(&bytes).unwrap();
        assert_eq!(d, sample(b"hello"));
        // Both checksums verify over the bytes as sent.
        assert_eq!(fold(sum16(0, &bytes[..20])), 0);
        let mut pseudo = vec![0, 0, 0, 0, 255, 255, 255, 255, 0, 17, 0, 13];
        pseudo.extend_from_slice(&bytes[20..]);
        assert_eq!(fold(sum16(0, &pseudo)), 0);
    }

    #[test]
    fn known_header_checksum() {
        // 10.0.0.1 -> 10.0.0.2, 28-byte UDP packet: the header checksum computed independently.
        let d = Datagram {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            src_port: 67,
            dst_port: 68,
            payload: &[],
        };
        let bytes = d.emit();
        assert_eq!(&bytes[10..12], &[0x66, 0xbf]);
    }

    #[test]
    fn damaged_packets_are_refused() {
        let good = sample(b"x").emit();
        let mut bad_sum = good.clone();
        bad_sum[12] ^= 1;
        assert!(parse(&bad_sum).is_err());
        assert!(parse(&good[..25]).is_err());
        let mut frag = good.clone();
        frag[6] = 0x20; // more fragments
        frag[10] = 0;
        frag[11] = 0;
        let s = fold(sum16(0, &frag[..20]));
        frag[10..12].copy_from_slice(&s.to_be_bytes());
        assert!(parse(&frag).is_err());
        assert!(parse(&[0x60]).is_err());
        assert!(parse(&[]).is_err());
    }
}
