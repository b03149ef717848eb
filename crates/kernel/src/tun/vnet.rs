//! The `virtio_net_hdr` that precedes every packet on a tun queue opened with
//! [`TunOptions::vnet_hdr`](super::TunOptions): it tells a reader that a packet is a
//! segmentation-offload super-packet (and how to cut it) or that its checksum is still to
//! be computed, and tells the kernel the same about a packet written.
//!
//! The layout (linux/virtio_net.h), 10 bytes:
//! ```text
//! 0 flags  1 gso_type  2 hdr_len  4 gso_size  6 csum_start  8 csum_offset
//! ```
//! The 16-bit fields are in the host's byte order: a tun device speaks "legacy" virtio,
//! which is native-endian unless `TUNSETVNETBE`/`TUNSETVNETLE` say otherwise, and we never
//! do. As in smoltcp, [`VnetHeader`] is a checked view over bytes and [`VnetRepr`] the
//! value it parses to and is emitted from.

/// The header's length: the plain `virtio_net_hdr`, without `num_buffers`. The queue is
/// told this size with `TUNSETVNETHDRSZ`.
pub const VNET_HDR_LEN: usize = 10;

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum over `csum_start..` is still to be done and
/// stored at `csum_start + csum_offset` (which holds the pseudo-header sum).
pub const F_NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_F_DATA_VALID`: the checksum was verified.
pub const F_DATA_VALID: u8 = 2;

/// `VIRTIO_NET_HDR_GSO_ECN`, or-ed into the type: the TCP stream uses ECN, so only the
/// first segment carries CWR.
const GSO_ECN: u8 = 0x80;

/// Why bytes are no `virtio_net_hdr` we understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VnetError {
    /// Fewer than [`VNET_HDR_LEN`] bytes.
    Truncated,
    /// A segmentation type this code does not know.
    GsoType(u8),
}

impl std::fmt::Display for VnetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VnetError::Truncated => write!(f, "virtio_net_hdr truncated"),
            VnetError::GsoType(t) => write!(f, "unknown virtio_net_hdr gso_type {t:#x}"),
        }
    }
}

impl std::error::Error for VnetError {}

/// How a super-packet is to be segmented (`VIRTIO_NET_HDR_GSO_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gso {
    /// One packet as it is.
    #[default]
    None,
    /// IPv4 TCP (TSO).
    TcpV4,
    /// IPv4 UDP fragmentation (UFO), which a tun reader never asks for.
    Udp,
    /// IPv6 TCP (TSO).
    TcpV6,
    /// UDP segmentation (USO), IPv4 or IPv6: each segment a datagram of its own.
    UdpL4,
}

impl Gso {
    fn code(self) -> u8 {
        match self {
            Gso::None => 0,
            Gso::TcpV4 => 1,
            Gso::Udp => 3,
            Gso::TcpV6 => 4,
            Gso::UdpL4 => 5,
        }
    }

    fn from_code(code: u8) -> Result<Gso, VnetError> {
        Ok(match code {
            0 => Gso::None,
            1 => Gso::TcpV4,
            3 => Gso::Udp,
            4 => Gso::TcpV6,
            5 => Gso::UdpL4,
            other => return Err(VnetError::GsoType(other)),
        })
    }
}

/// A checked view of a `virtio_net_hdr` at the start of a buffer.
#[derive(Debug, Clone, Copy)]
pub struct VnetHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VnetHeader<T> {
    /// Checks that `buffer` holds a whole header.
    pub fn new_checked(buffer: T) -> Result<Self, VnetError> {
        if buffer.as_ref().len() < VNET_HDR_LEN {
            return Err(VnetError::Truncated);
        }
        Ok(VnetHeader { buffer })
    }

    fn byte(&self, at: usize) -> u8 {
        self.buffer.as_ref().get(at).copied().unwrap_or(0)
    }

    fn u16_at(&self, at: usize) -> u16 {
        let b = self.buffer.as_ref();
        match b.get(at..at + 2) {
            Some(&[x, y]) => u16::from_ne_bytes([x, y]),
            _ => 0,
        }
    }

    /// `VIRTIO_NET_HDR_F_*` bits.
    pub fn flags(&self) -> u8 {
        self.byte(0)
    }

    /// The raw `gso_type`, ECN bit included.
    pub fn gso_type(&self) -> u8 {
        self.byte(1)
    }

    /// Length of the headers (link, network, transport) the kernel counted; a hint only.
    pub fn hdr_len(&self) -> u16 {
        self.u16_at(2)
    }

    /// Payload bytes per segment.
    pub fn gso_size(&self) -> u16 {
        self.u16_at(4)
    }

    /// Where checksumming starts (the transport header).
    pub fn csum_start(&self) -> u16 {
        self.u16_at(6)
    }

    /// Where, after `csum_start`, the checksum goes.
    pub fn csum_offset(&self) -> u16 {
        self.u16_at(8)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VnetHeader<T> {
    fn set_u16(&mut self, at: usize, value: u16) {
        if let Some(s) = self.buffer.as_mut().get_mut(at..at + 2) {
            s.copy_from_slice(&value.to_ne_bytes());
        }
    }

    fn set_byte(&mut self, at: usize, value: u8) {
        if let Some(b) = self.buffer.as_mut().get_mut(at) {
            *b = value;
        }
    }
}

/// A parsed `virtio_net_hdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VnetRepr {
    /// `F_NEEDS_CSUM`: the checksum at `csum_start + csum_offset` is to be completed.
    pub needs_csum: bool,
    /// `F_DATA_VALID`: the checksum is known good.
    pub data_valid: bool,
    /// The segmentation to apply.
    pub gso: Gso,
    /// Whether the TCP stream uses ECN (`VIRTIO_NET_HDR_GSO_ECN`).
    pub ecn: bool,
    /// Header bytes (a hint: compute it from the packet before trusting it).
    pub hdr_len: u16,
    /// Payload bytes per segment.
    pub gso_size: u16,
    /// Start of the checksummed range.
    pub csum_start: u16,
    /// Offset of the checksum field from `csum_start`.
    pub csum_offset: u16,
}

impl VnetRepr {
    /// Reads a header; fails on a segmentation type we do not know.
    pub fn parse<T: AsRef<[u8]>>(h: &VnetHeader<T>) -> Result<VnetRepr, VnetError> {
        let flags = h.flags();
        let kind = h.gso_type();
        Ok(VnetRepr {
            needs_csum: flags & F_NEEDS_CSUM != 0,
            data_valid: flags & F_DATA_VALID != 0,
            gso: Gso::from_code(kind & !GSO_ECN)?,
            ecn: kind & GSO_ECN != 0,
            hdr_len: h.hdr_len(),
            gso_size: h.gso_size(),
            csum_start: h.csum_start(),
            csum_offset: h.csum_offset(),
        })
    }

    /// Parses the header at the start of `bytes` (a packet as read from the queue).
    pub fn parse_bytes(bytes: &[u8]) -> Result<VnetRepr, VnetError> {
        VnetRepr::parse(&VnetHeader::new_checked(bytes)?)
    }

    /// Writes the header into `h`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, h: &mut VnetHeader<T>) {
        let mut flags = 0;
        if self.needs_csum {
            flags |= F_NEEDS_CSUM;
        }
        if self.data_valid {
            flags |= F_DATA_VALID;
        }
        let ecn = if self.ecn { GSO_ECN } else { 0 };
        h.set_byte(0, flags);
        h.set_byte(1, self.gso.code() | ecn);
        h.set_u16(2, self.hdr_len);
        h.set_u16(4, self.gso_size);
        h.set_u16(6, self.csum_start);
        h.set_u16(8, self.csum_offset);
    }

    /// The header as bytes, to put in front of a packet written to the queue.
    pub fn to_bytes(&self) -> [u8; VNET_HDR_LEN] {
        let mut out = [0u8; VNET_HDR_LEN];
        let mut h = VnetHeader {
            buffer: &mut out[..],
        };
        self.emit(&mut h);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tso_header_round_trips() {
        let r = VnetRepr {
            needs_csum: true,
            data_valid: false,
            gso: Gso::TcpV6,
            ecn: true,
            hdr_len: 72,
            gso_size: 1412,
            csum_start: 40,
            csum_offset: 16,
        };
        let bytes = r.to_bytes();
        assert_eq!(bytes[0], F_NEEDS_CSUM);
        assert_eq!(bytes[1], 4 | 0x80);
        assert_eq!(u16::from_ne_bytes([bytes[4], bytes[5]]), 1412);
        assert_eq!(VnetRepr::parse_bytes(&bytes), Ok(r));
        // Trailing bytes (the packet) are not the header's business.
        let mut long = bytes.to_vec();
        long.extend_from_slice(&[0x45; 30]);
        assert_eq!(VnetRepr::parse_bytes(&long), Ok(r));
    }

    #[test]
    fn a_zero_header_is_a_plain_packet() {
        let r = VnetRepr::parse_bytes(&[0; VNET_HDR_LEN]).unwrap();
        assert_eq!(r, VnetRepr::default());
        assert_eq!(VnetRepr::default().to_bytes(), [0; VNET_HDR_LEN]);
    }

    #[test]
    fn short_or_unknown_headers_are_refused() {
        for n in 0..VNET_HDR_LEN {
            assert_eq!(
                VnetRepr::parse_bytes(&vec![0; n]),
                Err(VnetError::Truncated)
            );
        }
        for kind in [2u8, 6, 0x7f, 0x82] {
            let mut b = [0u8; VNET_HDR_LEN];
            b[1] = kind;
            assert_eq!(
                VnetRepr::parse_bytes(&b),
                Err(VnetError::GsoType(kind & 0x7f))
            );
        }
        // The view itself reads nothing past the buffer, even when emitted into a short one.
        let mut short = [0u8; 4];
        VnetRepr {
            gso_size: 9,
            ..Default::default()
        }
        .emit(&mut VnetHeader {
            buffer: &mut short[..],
        });
    }
}
