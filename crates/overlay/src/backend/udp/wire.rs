//! The udp backend's wire format, which is no format at all: a datagram's payload is the
//! inner IP packet, unchanged. All the forwarder needs from a packet is its IP version and
//! destination address, so that is all [`InnerPacket`] reads — through bounds-checked
//! accessors, because both the TUN device and the network hand us arbitrary bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Length of an IPv4 header without options.
const IPV4_MIN_HEADER: usize = 20;
/// Length of the fixed IPv6 header.
const IPV6_HEADER: usize = 40;

/// Why bytes are not an IP packet we can forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than the header its version announces.
    Truncated,
    /// The version nibble is neither 4 nor 6.
    Version(u8),
    /// An IPv4 header length (IHL) below 5 words or beyond the packet.
    HeaderLength,
}

/// A checked view of an inner IP packet: constructing one proves the header that holds the
/// destination is present, so the accessors cannot fail.
#[derive(Debug, Clone, Copy)]
pub struct InnerPacket<'a> {
    bytes: &'a [u8],
    destination: IpAddr,
}

impl<'a> InnerPacket<'a> {
    /// Checks that `bytes` start with a complete IPv4 or IPv6 header and reads the
    /// destination out of it.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, WireError> {
        let first = *bytes.first().ok_or(WireError::Truncated)?;
        let destination = match first >> 4 {
            4 => {
                if bytes.len() < IPV4_MIN_HEADER {
                    return Err(WireError::Truncated);
                }
                // Options do not move the destination, but a header that claims to be
                // longer than the packet (or shorter than the minimum) is corrupt, and the
                // peer's kernel would drop it anyway: better not to spend a datagram on it.
                let ihl = usize::from(first & 0x0f) * 4;
                if ihl < IPV4_MIN_HEADER || ihl > bytes.len() {
                    return Err(WireError::HeaderLength);
                }
                IpAddr::V4(Ipv4Addr::from(array::<4>(bytes, 16)?))
            }
            6 => {
                if bytes.len() < IPV6_HEADER {
                    return Err(WireError::Truncated);
                }
                IpAddr::V6(Ipv6Addr::from(array::<16>(bytes, 24)?))
            }
            v => return Err(WireError::Version(v)),
        };
        Ok(InnerPacket { bytes, destination })
    }

    /// The destination address.
    pub fn destination(&self) -> IpAddr {
        self.destination
    }

    /// The whole packet.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// The destination of an inner IP packet, or why there is none.
pub fn destination(bytes: &[u8]) -> Result<IpAddr, WireError> {
    InnerPacket::new_checked(bytes).map(|p| p.destination())
}

/// `N` bytes at `offset`, checked.
fn array<const N: usize>(bytes: &[u8], offset: usize) -> Result<[u8; N], WireError> {
    bytes
        .get(offset..offset.saturating_add(N))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(WireError::Truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal IPv4 header (+ `extra` payload bytes) from 10.244.1.5 to `dst`.
    fn ipv4(dst: [u8; 4], extra: usize) -> Vec<u8> {
        let mut p = vec![0u8; IPV4_MIN_HEADER + extra];
        p[0] = 0x45;
        p[9] = 17;
        p[12..16].copy_from_slice(&[10, 244, 1, 5]);
        p[16..20].copy_from_slice(&dst);
        p
    }

    fn ipv6(dst: Ipv6Addr) -> Vec<u8> {
        let mut p = vec![0u8; IPV6_HEADER + 8];
        p[0] = 0x60;
        p[6] = 17;
        p[24..40].copy_from_slice(&dst.octets());
        p
    }

    #[test]
    fn reads_the_ipv4_destination() {
        let p = ipv4([10, 244, 2, 7], 8);
        assert_eq!(destination(&p), Ok("10.244.2.7".parse().unwrap()));
        // A bare header is a packet too.
        assert_eq!(destination(&p[..20]), Ok("10.244.2.7".parse().unwrap()));
    }

    #[test]
    fn ipv4_options_are_allowed_within_the_packet() {
        let mut p = ipv4([10, 244, 2, 7], 8);
        p[0] = 0x47; // 28-byte header
        assert_eq!(destination(&p), Ok("10.244.2.7".parse().unwrap()));
        p[0] = 0x4f; // 60-byte header in a 28-byte packet
        assert_eq!(destination(&p), Err(WireError::HeaderLength));
        p[0] = 0x44; // below the minimum
        assert_eq!(destination(&p), Err(WireError::HeaderLength));
    }

    #[test]
    fn reads_the_ipv6_destination() {
        let dst: Ipv6Addr = "fd00:244:2::9".parse().unwrap();
        let p = ipv6(dst);
        assert_eq!(destination(&p), Ok(IpAddr::V6(dst)));
        assert_eq!(InnerPacket::new_checked(&p).unwrap().bytes().len(), 48);
    }

    #[test]
    fn truncated_packets_are_refused_at_every_length() {
        let v4 = ipv4([10, 244, 2, 7], 0);
        for n in 0..v4.len() {
            assert_eq!(destination(&v4[..n]), Err(WireError::Truncated), "{n}");
        }
        let v6 = ipv6(Ipv6Addr::LOCALHOST);
        for n in 0..IPV6_HEADER {
            assert_eq!(destination(&v6[..n]), Err(WireError::Truncated), "{n}");
        }
    }

    #[test]
    fn other_versions_and_garbage_are_refused() {
        let mut p = ipv4([10, 244, 2, 7], 40);
        for v in [0u8, 1, 5, 7, 15] {
            p[0] = v << 4 | 5;
            assert_eq!(destination(&p), Err(WireError::Version(v)));
        }
        // Every byte string of a few lengths: never a panic, only Ok or an error.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for len in [1usize, 19, 20, 39, 40, 64, 1500] {
            for _ in 0..2000 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        seed as u8
                    })
                    .collect();
                let _ = destination(&bytes);
            }
        }
    }
}
