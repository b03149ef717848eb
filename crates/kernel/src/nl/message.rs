//! Netlink messages: a checked view over received bytes and a builder for requests.
//!
//! A message is a 16-byte `nlmsghdr` (length, type, flags, sequence, port id, all in host byte
//! order) followed by a payload, padded to 4 bytes. A datagram holds one or more messages.

use std::net::IpAddr;

use super::consts::{NLA_F_NESTED, NLMSG_ERROR};
use super::WireError;

/// Length of `struct nlmsghdr`.
pub const HEADER_LEN: usize = 16;

/// Rounds `len` up to netlink's 4-byte alignment.
pub const fn align(len: usize) -> usize {
    (len + 3) & !3
}

pub(crate) fn read_u16(buf: &[u8], at: usize) -> Option<u16> {
    let bytes = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes(bytes.try_into().ok()?))
}

pub(crate) fn read_u32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes(bytes.try_into().ok()?))
}

/// A checked view of one netlink message inside a datagram.
///
/// Construction checks that the header fits and that its length field neither undercuts the
/// header nor overruns the buffer, so every getter is infallible afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    buf: &'a [u8],
}

impl<'a> Message<'a> {
    /// Checks the header at the start of `buf` and returns a view bounded by its length field.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, WireError> {
        let len = read_u32(buf, 0).ok_or(WireError::Truncated("netlink header"))? as usize;
        if buf.len() < HEADER_LEN {
            return Err(WireError::Truncated("netlink header"));
        }
        if len < HEADER_LEN {
            return Err(WireError::BadLength("netlink message"));
        }
        let buf = buf
            .get(..len)
            .ok_or(WireError::Truncated("netlink message"))?;
        Ok(Message { buf })
    }

    /// Total length, header included, without trailing padding.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Always false: a checked message holds at least its header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Message type (`NLMSG_*` or `RTM_*`).
    pub fn msg_type(&self) -> u16 {
        read_u16(self.buf, 4).unwrap_or_default()
    }

    /// Flags (`NLM_F_*`).
    pub fn flags(&self) -> u16 {
        read_u16(self.buf, 6).unwrap_or_default()
    }

    /// Sequence number, echoed from the request.
    pub fn seq(&self) -> u32 {
        read_u32(self.buf, 8).unwrap_or_default()
    }

    /// Port id of the socket the message is addressed to.
    pub fn port(&self) -> u32 {
        read_u32(self.buf, 12).unwrap_or_default()
    }

    /// The bytes after the header.
    pub fn payload(&self) -> &'a [u8] {
        self.buf.get(HEADER_LEN..).unwrap_or_default()
    }

    /// The whole message, header included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// Whether this is an `NLMSG_ERROR` (which also carries acknowledgements).
    pub fn is_error(&self) -> bool {
        self.msg_type() == NLMSG_ERROR
    }
}

/// Iterates over the messages of a datagram. After the first malformed message it yields that
/// error and stops, because the length fields after it cannot be trusted.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Messages<'a> {
    /// Walks `datagram` from its start.
    pub fn new(datagram: &'a [u8]) -> Self {
        Messages { rest: datagram }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match Message::new_checked(self.rest) {
            Ok(msg) => {
                self.rest = self.rest.get(align(msg.len())..).unwrap_or_default();
                Some(Ok(msg))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// A request under construction: header, family-specific fixed header, then attributes.
///
/// Lengths are patched in when a nest or the message is finished. An attribute that outgrows
/// its 16-bit length field marks the builder as overflowed, and [`MessageBuilder::finish`]
/// reports it instead of sending a corrupt request.
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    buf: Vec<u8>,
    overflow: bool,
}

/// A nested attribute opened by [`MessageBuilder::nest_start`]; close it with `nest_end`.
#[derive(Debug)]
#[must_use = "a nest must be closed with nest_end"]
pub struct Nest(usize);

impl MessageBuilder {
    /// Starts a message of type `msg_type` with `flags`; sequence and port are set on finish.
    pub fn new(msg_type: u16, flags: u16) -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&[0; 4]);
        buf.extend_from_slice(&msg_type.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&[0; 8]);
        MessageBuilder {
            buf,
            overflow: false,
        }
    }

    /// Adds `flags` to the header's flags (the socket adds `NLM_F_REQUEST`, `NLM_F_ACK`, …).
    pub fn with_flags(mut self, flags: u16) -> Self {
        if let Some(slot) = self.buf.get_mut(6..8) {
            let old = read_u16(slot, 0).unwrap_or_default();
            slot.copy_from_slice(&(old | flags).to_ne_bytes());
        }
        self
    }

    /// Appends raw bytes (a fixed header such as `ifinfomsg`), padded to alignment.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self.pad();
        self
    }

    /// Appends an attribute with an arbitrary payload.
    pub fn attr(&mut self, ty: u16, payload: &[u8]) -> &mut Self {
        let len = 4 + payload.len();
        let len16 = u16::try_from(len).unwrap_or_else(|_| {
            self.overflow = true;
            0
        });
        self.buf.extend_from_slice(&len16.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
        self
    }

    /// Appends a `u8` attribute.
    pub fn attr_u8(&mut self, ty: u16, value: u8) -> &mut Self {
        self.attr(ty, &[value])
    }

    /// Appends a `u16` attribute in host byte order.
    pub fn attr_u16(&mut self, ty: u16, value: u16) -> &mut Self {
        self.attr(ty, &value.to_ne_bytes())
    }

    /// Appends a `u32` attribute in host byte order.
    pub fn attr_u32(&mut self, ty: u16, value: u32) -> &mut Self {
        self.attr(ty, &value.to_ne_bytes())
    }

    /// Appends an `i32` attribute in host byte order.
    pub fn attr_i32(&mut self, ty: u16, value: i32) -> &mut Self {
        self.attr(ty, &value.to_ne_bytes())
    }

    /// Appends an IP address attribute (4 or 16 bytes, network order).
    pub fn attr_ip(&mut self, ty: u16, addr: &IpAddr) -> &mut Self {
        match addr {
            IpAddr::V4(a) => self.attr(ty, &a.octets()),
            IpAddr::V6(a) => self.attr(ty, &a.octets()),
        }
    }

    /// Appends a NUL-terminated string attribute, as the kernel's `NLA_STRING` policies expect.
    pub fn attr_str(&mut self, ty: u16, value: &str) -> &mut Self {
        let mut payload = Vec::with_capacity(value.len() + 1);
        payload.extend_from_slice(value.as_bytes());
        payload.push(0);
        self.attr(ty, &payload)
    }

    /// Opens a nested attribute of type `ty`, taken verbatim: families that require the
    /// `NLA_F_NESTED` flag (nf_tables) pass it in `ty`, while rtnetlink's older policies
    /// reject it on some members (`VETH_INFO_PEER`), so it is never added implicitly.
    pub fn nest_start(&mut self, ty: u16) -> Nest {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        Nest(at)
    }

    /// Opens a nested attribute with `NLA_F_NESTED` set.
    pub fn nest_start_flagged(&mut self, ty: u16) -> Nest {
        self.nest_start(ty | NLA_F_NESTED)
    }

    /// Closes a nest: patches its length to cover everything appended since it was opened.
    pub fn nest_end(&mut self, nest: Nest) -> &mut Self {
        let len = self.buf.len().saturating_sub(nest.0);
        let len16 = u16::try_from(len).unwrap_or_else(|_| {
            self.overflow = true;
            0
        });
        if let Some(slot) = self.buf.get_mut(nest.0..nest.0 + 2) {
            slot.copy_from_slice(&len16.to_ne_bytes());
        }
        self
    }

    /// Finishes the message: sets its length, sequence number and port id.
    pub fn finish(mut self, seq: u32, port: u32) -> Result<Vec<u8>, WireError> {
        let len = u32::try_from(self.buf.len()).map_err(|_| WireError::TooLong)?;
        if self.overflow {
            return Err(WireError::TooLong);
        }
        let header = [
            len.to_ne_bytes(),
            [0; 4],
            seq.to_ne_bytes(),
            port.to_ne_bytes(),
        ];
        for (i, field) in header.iter().enumerate() {
            if i == 1 {
                continue; // type and flags were written by `new`
            }
            if let Some(slot) = self.buf.get_mut(i * 4..i * 4 + 4) {
                slot.copy_from_slice(field);
            }
        }
        Ok(self.buf)
    }

    fn pad(&mut self) {
        let padded = align(self.buf.len());
        self.buf.resize(padded, 0);
    }
}
