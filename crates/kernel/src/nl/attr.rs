//! Netlink attributes (TLVs): a checked view, an iterator, and typed payload readers.
//!
//! An attribute is a 4-byte header (length including the header, then type) and a payload,
//! padded to 4 bytes. The top two bits of the type are flags (`NLA_F_NESTED`,
//! `NLA_F_NET_BYTEORDER`); [`Attr::kind`] strips them so callers match on the plain type.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::consts::{NLA_F_NESTED, NLA_TYPE_MASK};
use super::message::{align, read_u16};
use super::WireError;

/// A checked view of one attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    raw_type: u16,
    payload: &'a [u8],
}

impl<'a> Attr<'a> {
    /// Checks the attribute header at the start of `buf`; returns the view and the aligned
    /// number of bytes it occupies (the last attribute may omit its padding).
    pub fn new_checked(buf: &'a [u8]) -> Result<(Self, usize), WireError> {
        let len = read_u16(buf, 0).ok_or(WireError::Truncated("attribute header"))? as usize;
        let raw_type = read_u16(buf, 2).ok_or(WireError::Truncated("attribute header"))?;
        if len < 4 {
            return Err(WireError::BadLength("attribute"));
        }
        let payload = buf.get(4..len).ok_or(WireError::Truncated("attribute"))?;
        let used = align(len).min(buf.len());
        Ok((Attr { raw_type, payload }, used))
    }

    /// The type without flag bits.
    pub fn kind(&self) -> u16 {
        self.raw_type & NLA_TYPE_MASK
    }

    /// Whether the sender flagged the payload as nested attributes.
    pub fn is_flagged_nested(&self) -> bool {
        self.raw_type & NLA_F_NESTED != 0
    }

    /// The raw payload.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The payload as a nested attribute stream.
    pub fn nested(&self) -> Attrs<'a> {
        Attrs::new(self.payload)
    }

    /// The payload as a `u8`.
    pub fn as_u8(&self) -> Result<u8, WireError> {
        Ok(u8::from_ne_bytes(self.fixed::<1>("u8 attribute")?))
    }

    /// The payload as a host-order `u16`.
    pub fn as_u16(&self) -> Result<u16, WireError> {
        Ok(u16::from_ne_bytes(self.fixed::<2>("u16 attribute")?))
    }

    /// The payload as a host-order `u32`.
    pub fn as_u32(&self) -> Result<u32, WireError> {
        Ok(u32::from_ne_bytes(self.fixed::<4>("u32 attribute")?))
    }

    /// The payload as a host-order `i32`.
    pub fn as_i32(&self) -> Result<i32, WireError> {
        Ok(i32::from_ne_bytes(self.fixed::<4>("i32 attribute")?))
    }

    /// The payload as a string: up to the first NUL (the kernel terminates its strings, but a
    /// missing terminator is tolerated), which must be UTF-8.
    pub fn as_str(&self) -> Result<&'a str, WireError> {
        let end = self
            .payload
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.payload.len());
        let bytes = self.payload.get(..end).unwrap_or_default();
        std::str::from_utf8(bytes).map_err(|_| WireError::BadValue("string attribute"))
    }

    /// The payload as an IPv4 or IPv6 address, decided by its length.
    pub fn as_ip(&self) -> Result<IpAddr, WireError> {
        match self.payload.len() {
            4 => Ok(IpAddr::V4(Ipv4Addr::from(self.fixed::<4>("address")?))),
            16 => Ok(IpAddr::V6(Ipv6Addr::from(self.fixed::<16>("address")?))),
            _ => Err(WireError::BadLength("address attribute")),
        }
    }

    fn fixed<const N: usize>(&self, what: &'static str) -> Result<[u8; N], WireError> {
        self.payload
            .try_into()
            .map_err(|_| WireError::BadLength(what))
    }
}

/// Iterates over an attribute stream. After the first malformed attribute it yields that
/// error and stops.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    /// Walks the attributes in `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Attrs { rest: buf }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match Attr::new_checked(self.rest) {
            Ok((attr, used)) => {
                self.rest = self.rest.get(used..).unwrap_or_default();
                Some(Ok(attr))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}
