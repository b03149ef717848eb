//! The DHCPv4 message (RFC 2131 §2, the BOOTP layout with the options field of RFC 2132):
//! [`Packet`], a checked view over bytes, and [`Repr`], the parsed value that can be emitted.

use std::net::Ipv4Addr;

use super::options::Options;
use super::WireError;

/// Bytes before the options: op … file, then the 4-byte magic cookie.
pub const FIXED_LEN: usize = 236;
/// The options field starts here, after the magic cookie.
pub const OPTIONS_AT: usize = FIXED_LEN + 4;
/// RFC 2131's magic cookie, 99.130.83.99.
pub const MAGIC: [u8; 4] = [99, 130, 83, 99];
/// Relay agents and old servers drop BOOTP messages shorter than this (RFC 1542 §2.1).
pub const MIN_LEN: usize = 300;
/// The broadcast bit of `flags`: the client cannot receive unicast before it is configured.
pub const FLAG_BROADCAST: u16 = 0x8000;
/// `htype` of Ethernet.
const HTYPE_ETHERNET: u8 = 1;

/// `op`: which way a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Client to server.
    Request,
    /// Server to client.
    Reply,
}

/// A checked view over a DHCP message: long enough for the fixed fields, with the magic
/// cookie in place. Accessors never panic.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks length and magic cookie.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        let b = buffer.as_ref();
        if b.len() < OPTIONS_AT {
            return Err(WireError::Truncated("dhcp message"));
        }
        if b.get(FIXED_LEN..OPTIONS_AT) != Some(&MAGIC[..]) {
            return Err(WireError::Malformed("dhcp magic cookie"));
        }
        Ok(Packet { buffer })
    }

    fn bytes<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(s) = self.buffer.as_ref().get(at..at + N) {
            out.copy_from_slice(s);
        }
        out
    }

    /// `op`: 1 request, 2 reply.
    pub fn op(&self) -> u8 {
        self.bytes::<1>(0)[0]
    }
    /// `htype`.
    pub fn htype(&self) -> u8 {
        self.bytes::<1>(1)[0]
    }
    /// `hlen`.
    pub fn hlen(&self) -> u8 {
        self.bytes::<1>(2)[0]
    }
    /// `xid`, the transaction id.
    pub fn xid(&self) -> u32 {
        u32::from_be_bytes(self.bytes(4))
    }
    /// `secs`.
    pub fn secs(&self) -> u16 {
        u16::from_be_bytes(self.bytes(8))
    }
    /// `flags`.
    pub fn flags(&self) -> u16 {
        u16::from_be_bytes(self.bytes(10))
    }
    /// `ciaddr`: the client's address, when it has one.
    pub fn ciaddr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.bytes::<4>(12))
    }
    /// `yiaddr`: the address offered to the client.
    pub fn yiaddr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.bytes::<4>(16))
    }
    /// `siaddr`: the next server.
    pub fn siaddr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.bytes::<4>(20))
    }
    /// `giaddr`: the relay agent.
    pub fn giaddr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.bytes::<4>(24))
    }
    /// The first 6 bytes of `chaddr`: the client's Ethernet address.
    pub fn chaddr(&self) -> [u8; 6] {
        self.bytes(28)
    }
    /// The options field (after the magic cookie).
    pub fn options(&self) -> &[u8] {
        self.buffer.as_ref().get(OPTIONS_AT..).unwrap_or_default()
    }
}

/// A DHCP message as a value. Only Ethernet clients are represented (`htype` 1, `hlen` 6);
/// `sname` and `file` are always empty on emit and ignored on parse (no option overload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repr {
    /// Direction.
    pub op: Op,
    /// Transaction id.
    pub xid: u32,
    /// Seconds since the client began.
    pub secs: u16,
    /// The broadcast flag.
    pub broadcast: bool,
    /// Client address.
    pub ciaddr: Ipv4Addr,
    /// "Your" address.
    pub yiaddr: Ipv4Addr,
    /// Next server.
    pub siaddr: Ipv4Addr,
    /// Relay agent.
    pub giaddr: Ipv4Addr,
    /// Client hardware address.
    pub chaddr: [u8; 6],
    /// Options, in order.
    pub options: Options,
}

impl Repr {
    /// Parses a checked packet. Non-Ethernet messages are refused.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr, WireError> {
        let op = match p.op() {
            1 => Op::Request,
            2 => Op::Reply,
            _ => return Err(WireError::Malformed("dhcp op")),
        };
        if p.htype() != HTYPE_ETHERNET || p.hlen() != 6 {
            return Err(WireError::Malformed("dhcp hardware type"));
        }
        Ok(Repr {
            op,
            xid: p.xid(),
            secs: p.secs(),
            broadcast: p.flags() & FLAG_BROADCAST != 0,
            ciaddr: p.ciaddr(),
            yiaddr: p.yiaddr(),
            siaddr: p.siaddr(),
            giaddr: p.giaddr(),
            chaddr: p.chaddr(),
            options: Options::parse(p.options())?,
        })
    }

    /// Parses raw bytes.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Repr, WireError> {
        Repr::parse(&Packet::new_checked(bytes)?)
    }

    /// The message's bytes, padded to [`MIN_LEN`].
    pub fn emit(&self) -> Vec<u8> {
        let mut out = vec![0u8; OPTIONS_AT];
        let op = match self.op {
            Op::Request => 1,
            Op::Reply => 2,
        };
        let flags = if self.broadcast { FLAG_BROADCAST } else { 0 };
        let fixed: [(usize, &[u8]); 12] = [
            (0, &[op]),
            (1, &[HTYPE_ETHERNET]),
            (2, &[6]),
            (4, &self.xid.to_be_bytes()),
            (8, &self.secs.to_be_bytes()),
            (10, &flags.to_be_bytes()),
            (12, &self.ciaddr.octets()),
            (16, &self.yiaddr.octets()),
            (20, &self.siaddr.octets()),
            (24, &self.giaddr.octets()),
            (28, &self.chaddr),
            (FIXED_LEN, &MAGIC),
        ];
        for (at, bytes) in fixed {
            if let Some(dst) = out.get_mut(at..at + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
        }
        self.options.emit(&mut out);
        if out.len() < MIN_LEN {
            out.resize(MIN_LEN, 0);
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::dhcp::options::code;

    fn sample() -> Repr {
        let mut options = Options::default();
        options.push(code::MESSAGE_TYPE, vec![1]);
        options.push(code::CLIENT_ID, b"\0abc/net/eth0".to_vec());
        Repr {
            op: Op::Request,
            xid: 0x1234_5678,
            secs: 3,
            broadcast: true,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: [2, 0, 0, 0, 0, 1],
            options,
        }
    }

    #[test]
    fn emit_then_parse_is_identity() {
        let r = sample();
        let bytes = r.emit();
        assert_eq!(bytes.len(), MIN_LEN);
        assert_eq!(&bytes[FIXED_LEN..OPTIONS_AT], &MAGIC);
        assert_eq!(bytes[0], 1);
        assert_eq!(&bytes[4..8], &[0x12, 0x34, 0x56, 0x78]);
        assert_eq!(&bytes[10..12], &[0x80, 0]);
        assert_eq!(Repr::parse_bytes(&bytes).unwrap(), r);
    }

    #[test]
    fn short_or_cookieless_messages_are_refused() {
        let bytes = sample().emit();
        assert!(Packet::new_checked(&bytes[..239]).is_err());
        let mut bad = bytes.clone();
        bad[FIXED_LEN] = 0;
        assert!(Packet::new_checked(&bad[..]).is_err());
        let mut token_ring = bytes;
        token_ring[1] = 6;
        assert!(Repr::parse_bytes(&token_ring).is_err());
    }

    #[test]
    fn accessors_read_the_fixed_fields() {
        let mut r = sample();
        r.op = Op::Reply;
        r.yiaddr = Ipv4Addr::new(10, 0, 0, 7);
        r.siaddr = Ipv4Addr::new(10, 0, 0, 1);
        let bytes = r.emit();
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.op(), 2);
        assert_eq!(p.yiaddr(), Ipv4Addr::new(10, 0, 0, 7));
        assert_eq!(p.siaddr(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(p.chaddr(), [2, 0, 0, 0, 0, 1]);
        assert_eq!(p.secs(), 3);
    }
}
