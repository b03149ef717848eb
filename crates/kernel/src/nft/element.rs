//! Set and map elements: typed values, keys (concatenations padded word by word), data,
//! interval ends, timeouts, and their batched encoding.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::consts::*;
use super::expr::{Data, Verdict};
use super::table::Family;
use super::wire::{be32, be64, comment_udata, parse_comment, put_be32, put_be64, request, split};
use super::wire::{string, UDATA_COMMENT};
use crate::net::{IpPrefix, MacAddr};
use crate::nl::consts::NLA_TYPE_MASK;
use crate::nl::{Attr, Message, MessageBuilder, WireError};

/// Keeps each element message's element list under the 16-bit attribute length.
pub(crate) const ELEMENTS_PER_MESSAGE_BYTES: usize = 60_000;

/// One typed field of a key or of map data, encoded as the kernel's registers hold it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// An IPv4 address (network order).
    Ipv4(Ipv4Addr),
    /// An IPv6 address (network order).
    Ipv6(Ipv6Addr),
    /// A port (2 bytes, network order).
    Port(u16),
    /// A layer-4 protocol number (1 byte).
    Proto(u8),
    /// An interface name (16 bytes, NUL-padded).
    IfName(String),
    /// A MAC address (6 bytes).
    Mac(MacAddr),
    /// A 32-bit value in host order (mark, interface index).
    U32(u32),
    /// Raw bytes.
    Bytes(Vec<u8>),
}

impl Value {
    /// An IPv4 or IPv6 address.
    pub fn ip(addr: IpAddr) -> Value {
        match addr {
            IpAddr::V4(a) => Value::Ipv4(a),
            IpAddr::V6(a) => Value::Ipv6(a),
        }
    }

    /// The bytes as they sit in a register.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Value::Ipv4(a) => a.octets().to_vec(),
            Value::Ipv6(a) => a.octets().to_vec(),
            Value::Port(p) => p.to_be_bytes().to_vec(),
            Value::Proto(p) => vec![*p],
            Value::IfName(name) => {
                let mut b = name.as_bytes().to_vec();
                b.resize(16, 0);
                b
            }
            Value::Mac(m) => m.0.to_vec(),
            Value::U32(v) => v.to_ne_bytes().to_vec(),
            Value::Bytes(b) => b.clone(),
        }
    }
}

/// The bytes of a key or data made of `values`: a single value as is, a concatenation
/// with each field padded to whole 32-bit words.
pub fn concat(values: &[Value]) -> Vec<u8> {
    match values {
        [one] => one.bytes(),
        _ => values
            .iter()
            .flat_map(|v| {
                let mut b = v.bytes();
                b.resize(b.len().div_ceil(4) * 4, 0);
                b
            })
            .collect(),
    }
}

/// One element of a set or map.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Element {
    /// The key bytes (see [`concat`]).
    pub key: Vec<u8>,
    /// The end of a range, in sets of concatenated ranges.
    pub key_end: Option<Vec<u8>>,
    /// A map's value.
    pub data: Option<Data>,
    /// `NFT_SET_ELEM_INTERVAL_END` marks where a range ends, in interval sets.
    pub interval_end: bool,
    /// Lifetime, in sets with timeouts.
    pub timeout: Option<Duration>,
    /// Time left (listing only).
    pub expires: Option<Duration>,
    /// A comment, shown by `nft list`.
    pub comment: Option<String>,
}

impl Element {
    /// An element with the key made of `key`.
    pub fn new(key: &[Value]) -> Element {
        Element::from_key(concat(key))
    }

    /// An element with raw key bytes.
    pub fn from_key(key: Vec<u8>) -> Element {
        Element {
            key,
            key_end: None,
            data: None,
            interval_end: false,
            timeout: None,
            expires: None,
            comment: None,
        }
    }

    /// Maps the key to a value made of `data`.
    pub fn to_values(mut self, data: &[Value]) -> Element {
        self.data = Some(Data::Value(concat(data)));
        self
    }

    /// Maps the key to a verdict.
    pub fn to_verdict(mut self, verdict: Verdict) -> Element {
        self.data = Some(Data::Verdict(verdict));
        self
    }

    /// Ends a range at `end` (inclusive), for sets of concatenated ranges.
    pub fn range_end(mut self, end: &[Value]) -> Element {
        self.key_end = Some(concat(end));
        self
    }

    /// Sets the lifetime.
    pub fn timeout(mut self, timeout: Duration) -> Element {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the comment.
    pub fn comment(mut self, text: &str) -> Element {
        self.comment = Some(text.to_owned());
        self
    }

    /// The elements of an interval set (not concatenated) that hold `prefix`: its first
    /// address, and the first address after it flagged as an interval end (none when the
    /// prefix reaches the top of the address space).
    pub fn prefix(prefix: &IpPrefix) -> Vec<Element> {
        let net = prefix.network();
        let (start, after) = match net.addr() {
            IpAddr::V4(a) => {
                let size = 1u64 << (32 - u32::from(net.len()));
                let after = u64::from(u32::from(a)) + size;
                let after = u32::try_from(after).ok().map(|x| Value::Ipv4(x.into()));
                (Value::Ipv4(a), after)
            }
            IpAddr::V6(a) => {
                let host_bits = 128 - u32::from(net.len());
                let size = 1u128.checked_shl(host_bits).unwrap_or(0);
                let after = u128::from(a).checked_add(size).filter(|_| size != 0);
                (Value::Ipv6(a), after.map(|x| Value::Ipv6(x.into())))
            }
        };
        let mut out = vec![Element::new(&[start])];
        if let Some(after) = after {
            let mut end = Element::new(&[after]);
            end.interval_end = true;
            out.push(end);
        }
        out
    }

    /// Encodes the element as the `index`-th (from 1) attribute of an element list.
    /// The kernel ignores the attribute type of list members; numbering them like `nft`
    /// keeps the messages byte-identical to its own.
    pub(crate) fn encode(&self, index: usize) -> Vec<u8> {
        let mut b = MessageBuilder::new(0, 0);
        let ty = (index % usize::from(NLA_TYPE_MASK)).max(1) as u16;
        let elem = b.nest_start_flagged(ty);
        if self.interval_end {
            put_be32(&mut b, NFTA_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
        }
        if let Some(t) = self.timeout {
            put_be64(&mut b, NFTA_SET_ELEM_TIMEOUT, t.as_millis() as u64);
        }
        Data::Value(self.key.clone()).emit(&mut b, NFTA_SET_ELEM_KEY);
        if let Some(end) = &self.key_end {
            Data::Value(end.clone()).emit(&mut b, NFTA_SET_ELEM_KEY_END);
        }
        if let Some(data) = &self.data {
            data.emit(&mut b, NFTA_SET_ELEM_DATA);
        }
        if let Some(text) = &self.comment {
            b.attr(NFTA_SET_ELEM_USERDATA, &comment_udata(UDATA_COMMENT, text));
        }
        b.nest_end(elem);
        let bytes = b.finish(0, 0).unwrap_or_default();
        bytes
            .get(crate::nl::message::HEADER_LEN..)
            .unwrap_or_default()
            .to_vec()
    }

    fn parse(attr: &Attr<'_>) -> Result<Element, WireError> {
        let mut el = Element::from_key(Vec::new());
        let mut keyed = false;
        for inner in attr.nested() {
            let inner = inner?;
            match inner.kind() {
                NFTA_SET_ELEM_KEY => {
                    el.key = Data::parse(&inner)?.bytes().to_vec();
                    keyed = true;
                }
                NFTA_SET_ELEM_KEY_END => el.key_end = Some(Data::parse(&inner)?.bytes().to_vec()),
                NFTA_SET_ELEM_DATA => el.data = Some(Data::parse(&inner)?),
                NFTA_SET_ELEM_FLAGS => {
                    el.interval_end = be32(&inner)? & NFT_SET_ELEM_INTERVAL_END != 0;
                }
                NFTA_SET_ELEM_TIMEOUT => el.timeout = Some(Duration::from_millis(be64(&inner)?)),
                NFTA_SET_ELEM_EXPIRATION => {
                    el.expires = Some(Duration::from_millis(be64(&inner)?));
                }
                NFTA_SET_ELEM_USERDATA => {
                    el.comment = parse_comment(UDATA_COMMENT, inner.payload());
                }
                _ => {}
            }
        }
        if !keyed {
            return Err(WireError::Missing("element key"));
        }
        Ok(el)
    }
}

/// Element messages for `set`: the encoded elements split over as many messages as the
/// attribute length limit needs (none when `elements` is empty).
pub(crate) fn element_messages(
    msg: u8,
    flags: u16,
    family: Family,
    table: &str,
    set: &str,
    elements: &[Element],
) -> Vec<MessageBuilder> {
    let mut out = Vec::new();
    let mut chunk: Vec<Vec<u8>> = Vec::new();
    let mut size = 0;
    let flush = |chunk: &mut Vec<Vec<u8>>, out: &mut Vec<MessageBuilder>| {
        let mut b = element_header(msg, flags, family, table, set);
        let list = b.nest_start_flagged(NFTA_SET_ELEM_LIST_ELEMENTS);
        for e in chunk.drain(..) {
            b.push_bytes(&e);
        }
        b.nest_end(list);
        out.push(b);
    };
    for el in elements {
        let bytes = el.encode(chunk.len() + 1);
        if size + bytes.len() > ELEMENTS_PER_MESSAGE_BYTES && !chunk.is_empty() {
            flush(&mut chunk, &mut out);
            size = 0;
        }
        size += bytes.len();
        chunk.push(bytes);
    }
    if !chunk.is_empty() {
        flush(&mut chunk, &mut out);
    }
    out
}

/// The table and set attributes every element message starts with.
pub(crate) fn element_header(
    msg: u8,
    flags: u16,
    family: Family,
    table: &str,
    set: &str,
) -> MessageBuilder {
    let mut b = request(msg, flags, family);
    b.attr_str(NFTA_SET_ELEM_LIST_TABLE, table);
    b.attr_str(NFTA_SET_ELEM_LIST_SET, set);
    b
}

/// Decodes a NEWSETELEM message (a dump part or a GET reply): the set's name and elements.
pub fn parse_elements(msg: &Message<'_>) -> Result<(String, Vec<Element>), WireError> {
    let (_, attrs) = split(msg)?;
    let (mut set, mut elements) = (String::new(), Vec::new());
    for attr in attrs {
        let attr = attr?;
        match attr.kind() {
            NFTA_SET_ELEM_LIST_SET => set = string(&attr)?,
            NFTA_SET_ELEM_LIST_ELEMENTS => {
                for elem in attr.nested() {
                    elements.push(Element::parse(&elem?)?);
                }
            }
            _ => {}
        }
    }
    Ok((set, elements))
}
