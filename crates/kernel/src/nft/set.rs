//! Sets and maps: key types (concatenations included), data types (values or verdicts),
//! flags and timeouts.

use std::time::Duration;

use super::consts::*;
use super::table::Family;
use super::wire::{be32, be64, comment_udata_within, parse_comment, put_be32, put_be64};
use super::wire::{request, split, string, u32_udata, USERDATA_MAX};
use super::wire::{UDATA_SET_COMMENT, UDATA_SET_DATABYTEORDER, UDATA_SET_KEYBYTEORDER};
use crate::nl::{Message, MessageBuilder, WireError};

/// The type of one field of a key or of map data. The kernel only stores the number and
/// length; the numbers are `nft`'s, so `nft list` prints the elements as addresses, ports, ….
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `ipv4_addr`.
    Ipv4Addr,
    /// `ipv6_addr`.
    Ipv6Addr,
    /// `ether_addr`.
    EtherAddr,
    /// `inet_proto` (1 byte: 6 tcp, 17 udp, 132 sctp).
    InetProto,
    /// `inet_service` (a port, 2 bytes big-endian).
    InetService,
    /// `ifname` (16 bytes, NUL-padded).
    IfName,
    /// `iface_index` (4 bytes, host order).
    IfIndex,
    /// `mark` (4 bytes, host order).
    Mark,
    /// `nf_proto` (1 byte).
    NfProto,
    /// A type this module does not model: `nft`'s number and the length.
    Other {
        /// `nft`'s type number.
        id: u32,
        /// Length in bytes (0 when unknown, inside a concatenation).
        len: u32,
    },
}

impl DataType {
    /// `nft`'s type number.
    pub fn id(self) -> u32 {
        match self {
            DataType::NfProto => 2,
            DataType::Ipv4Addr => 7,
            DataType::Ipv6Addr => 8,
            DataType::EtherAddr => 9,
            DataType::InetProto => 12,
            DataType::InetService => 13,
            DataType::Mark => 19,
            DataType::IfIndex => 20,
            DataType::IfName => 41,
            DataType::Other { id, .. } => id,
        }
    }

    /// Length of a value in bytes (before padding inside a concatenation).
    pub fn len(self) -> u32 {
        match self {
            DataType::NfProto | DataType::InetProto => 1,
            DataType::InetService => 2,
            DataType::Ipv4Addr | DataType::Mark | DataType::IfIndex => 4,
            DataType::EtherAddr => 6,
            DataType::Ipv6Addr | DataType::IfName => 16,
            DataType::Other { len, .. } => len,
        }
    }

    /// How `nft` says a value of this type is stored (its `enum byteorder`: 0 unspecified,
    /// 1 host order, 2 network order). The kernel ignores it; `nft` reads it back from the
    /// set's userdata to print keys, and without it prints host-order keys (interface
    /// names, marks) byte-swapped — an interface name as `""`.
    pub fn byte_order(self) -> u32 {
        match self {
            DataType::IfName | DataType::IfIndex | DataType::Mark => BYTEORDER_HOST,
            DataType::Ipv4Addr
            | DataType::Ipv6Addr
            | DataType::EtherAddr
            | DataType::InetService => BYTEORDER_NETWORK,
            DataType::NfProto | DataType::InetProto | DataType::Other { .. } => {
                BYTEORDER_UNSPECIFIED
            }
        }
    }

    /// Always false: every modelled type has a length.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    fn from_id(id: u32, len: u32) -> DataType {
        match id {
            2 => DataType::NfProto,
            7 => DataType::Ipv4Addr,
            8 => DataType::Ipv6Addr,
            9 => DataType::EtherAddr,
            12 => DataType::InetProto,
            13 => DataType::InetService,
            19 => DataType::Mark,
            20 => DataType::IfIndex,
            41 => DataType::IfName,
            _ => DataType::Other { id, len },
        }
    }
}

/// `nft`'s `enum byteorder`, as it writes it into set userdata.
const BYTEORDER_UNSPECIFIED: u32 = 0;
const BYTEORDER_HOST: u32 = 1;
const BYTEORDER_NETWORK: u32 = 2;

/// The byte order `nft` records for a (possibly concatenated) key or data: a single field's
/// own; none for a concatenation, whose fields `nft` prints by their own types.
fn fields_byte_order(fields: &[DataType]) -> u32 {
    match fields {
        [one] => one.byte_order(),
        _ => BYTEORDER_UNSPECIFIED,
    }
}

/// `nft` numbers a concatenation by shifting each field's type in, 6 bits at a time.
const CONCAT_BITS: u32 = 6;

fn concat_id(fields: &[DataType]) -> u32 {
    fields
        .iter()
        .fold(0, |acc, t| (acc << CONCAT_BITS) | t.id())
}

/// Length of a (possibly concatenated) value: each field of a concatenation occupies whole
/// 32-bit registers.
pub(crate) fn concat_len(fields: &[DataType]) -> u32 {
    match fields {
        [one] => one.len(),
        _ => fields.iter().map(|t| t.len().div_ceil(4) * 4).sum(),
    }
}

fn split_id(id: u32, len: u32) -> Vec<DataType> {
    let mut ids = Vec::new();
    let mut rest = id;
    while rest != 0 && ids.len() < 5 {
        ids.push(rest & ((1 << CONCAT_BITS) - 1));
        rest >>= CONCAT_BITS;
    }
    ids.reverse();
    match ids.as_slice() {
        [] => vec![DataType::from_id(id, len)],
        [one] => vec![DataType::from_id(*one, len)],
        _ => ids.into_iter().map(|i| DataType::from_id(i, 0)).collect(),
    }
}

/// What a map's elements carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetData {
    /// A verdict (`accept`, `jump chain`, …): a verdict map.
    Verdict,
    /// A value of these (possibly concatenated) types, e.g. a DNAT target address . port.
    Values(Vec<DataType>),
}

/// Set flag: elements are ranges (prefixes, port ranges).
pub const SET_INTERVAL: u32 = NFT_SET_INTERVAL;
/// Set flag: elements may expire.
pub const SET_TIMEOUT: u32 = NFT_SET_TIMEOUT;
/// Set flag: the contents cannot change after creation.
pub const SET_CONSTANT: u32 = NFT_SET_CONSTANT;

/// A named set or map, as created or as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    /// The table's family.
    pub family: Family,
    /// The table.
    pub table: String,
    /// The name.
    pub name: String,
    /// The key's fields (more than one: a concatenation).
    pub key: Vec<DataType>,
    /// `Some` for a map.
    pub data: Option<SetData>,
    /// `SET_INTERVAL`, `SET_TIMEOUT`, `SET_CONSTANT` (the map and concatenation flags are
    /// derived from `data` and `key`).
    pub flags: u32,
    /// Default element timeout.
    pub timeout: Option<Duration>,
    /// A comment, shown by `nft list`.
    pub comment: Option<String>,
    /// The kernel's handle (listing only).
    pub handle: Option<u64>,
}

impl Set {
    /// A set of keys of the given field types.
    pub fn new(family: Family, table: &str, name: &str, key: &[DataType]) -> Set {
        Set {
            family,
            table: table.to_owned(),
            name: name.to_owned(),
            key: key.to_vec(),
            data: None,
            flags: 0,
            timeout: None,
            comment: None,
            handle: None,
        }
    }

    /// Makes it a map to `data`.
    pub fn map(mut self, data: SetData) -> Set {
        self.data = Some(data);
        self
    }

    /// Adds `SET_*` flags.
    pub fn flags(mut self, flags: u32) -> Set {
        self.flags |= flags;
        self
    }

    /// Gives elements a default timeout (and sets `SET_TIMEOUT`).
    pub fn timeout(mut self, timeout: Duration) -> Set {
        self.timeout = Some(timeout);
        self.flags |= SET_TIMEOUT;
        self
    }

    /// Sets the comment.
    pub fn comment(mut self, text: &str) -> Set {
        self.comment = Some(text.to_owned());
        self
    }

    /// How errors name the set: `"ip cni_hostport hostports"`.
    pub fn label(&self) -> String {
        set_label(self.family, &self.table, &self.name)
    }

    /// Length of a key in bytes.
    pub fn key_len(&self) -> u32 {
        concat_len(&self.key)
    }

    /// Whether elements are ranges.
    pub fn is_interval(&self) -> bool {
        self.flags & SET_INTERVAL != 0
    }

    fn wire_flags(&self) -> u32 {
        let mut flags = self.flags;
        if self.data.is_some() {
            flags |= NFT_SET_MAP;
        }
        // Ranges over concatenations need the pipapo backend, which the kernel picks on
        // this flag and the field lengths in the description.
        if self.is_interval() && self.key.len() > 1 {
            flags |= NFT_SET_CONCAT;
        }
        flags
    }

    /// Writes a NEWSET request with batch-local id `id` (attribute order as `nft`'s).
    pub(crate) fn emit(&self, flags: u16, id: u32) -> MessageBuilder {
        let mut b = request(NFT_MSG_NEWSET, flags, self.family);
        b.attr_str(NFTA_SET_TABLE, &self.table);
        b.attr_str(NFTA_SET_NAME, &self.name);
        put_be32(&mut b, NFTA_SET_FLAGS, self.wire_flags());
        put_be32(&mut b, NFTA_SET_KEY_TYPE, concat_id(&self.key));
        put_be32(&mut b, NFTA_SET_KEY_LEN, self.key_len());
        match &self.data {
            Some(SetData::Verdict) => {
                put_be32(&mut b, NFTA_SET_DATA_TYPE, NFT_DATA_VERDICT);
                put_be32(&mut b, NFTA_SET_DATA_LEN, 0);
            }
            Some(SetData::Values(fields)) => {
                put_be32(&mut b, NFTA_SET_DATA_TYPE, concat_id(fields));
                put_be32(&mut b, NFTA_SET_DATA_LEN, concat_len(fields));
            }
            None => {}
        }
        if let Some(t) = self.timeout {
            put_be64(&mut b, NFTA_SET_TIMEOUT, t.as_millis() as u64);
        }
        if self.wire_flags() & NFT_SET_CONCAT != 0 {
            let desc = b.nest_start_flagged(NFTA_SET_DESC);
            let concat = b.nest_start_flagged(NFTA_SET_DESC_CONCAT);
            for field in &self.key {
                let elem = b.nest_start_flagged(NFTA_LIST_ELEM);
                put_be32(&mut b, NFTA_SET_FIELD_LEN, field.len());
                b.nest_end(elem);
            }
            b.nest_end(concat);
            b.nest_end(desc);
        }
        put_be32(&mut b, NFTA_SET_ID, id);
        b.attr(NFTA_SET_USERDATA, &self.userdata());
        b
    }

    /// The userdata `nft` writes for a set declared with `type`: the key's byte order, a
    /// map's data byte order, the comment — in that order. Only `nft` reads it (to print
    /// elements); the kernel stores it as is.
    pub(crate) fn userdata(&self) -> Vec<u8> {
        let mut out = u32_udata(UDATA_SET_KEYBYTEORDER, fields_byte_order(&self.key)).to_vec();
        match &self.data {
            Some(SetData::Values(fields)) => {
                out.extend(u32_udata(
                    UDATA_SET_DATABYTEORDER,
                    fields_byte_order(fields),
                ));
            }
            Some(SetData::Verdict) => {
                out.extend(u32_udata(UDATA_SET_DATABYTEORDER, BYTEORDER_UNSPECIFIED));
            }
            None => {}
        }
        if let Some(text) = &self.comment {
            let room = USERDATA_MAX.saturating_sub(out.len());
            out.extend(comment_udata_within(UDATA_SET_COMMENT, text, room));
        }
        out
    }

    /// Decodes a NEWSET message.
    pub fn parse(msg: &Message<'_>) -> Result<Set, WireError> {
        let (family, attrs) = split(msg)?;
        let mut set = Set::new(family, "", "", &[]);
        let (mut key_type, mut key_len, mut data_type, mut data_len) = (0, 0, None, 0);
        for attr in attrs {
            let attr = attr?;
            match attr.kind() {
                NFTA_SET_TABLE => set.table = string(&attr)?,
                NFTA_SET_NAME => set.name = string(&attr)?,
                NFTA_SET_FLAGS => set.flags = be32(&attr)? & !(NFT_SET_MAP | NFT_SET_CONCAT),
                NFTA_SET_KEY_TYPE => key_type = be32(&attr)?,
                NFTA_SET_KEY_LEN => key_len = be32(&attr)?,
                NFTA_SET_DATA_TYPE => data_type = Some(be32(&attr)?),
                NFTA_SET_DATA_LEN => data_len = be32(&attr)?,
                NFTA_SET_TIMEOUT => set.timeout = Some(Duration::from_millis(be64(&attr)?)),
                NFTA_SET_HANDLE => set.handle = Some(be64(&attr)?),
                NFTA_SET_USERDATA => {
                    set.comment = parse_comment(UDATA_SET_COMMENT, attr.payload());
                }
                _ => {}
            }
        }
        if set.table.is_empty() || set.name.is_empty() {
            return Err(WireError::Missing("set table or name"));
        }
        set.key = split_id(key_type, key_len);
        set.data = match data_type {
            Some(NFT_DATA_VERDICT) => Some(SetData::Verdict),
            Some(id) => Some(SetData::Values(split_id(id, data_len))),
            None => None,
        };
        Ok(set)
    }
}

/// How errors name a set: family, table and set name, quoted together.
pub(crate) fn set_label(family: Family, table: &str, name: &str) -> String {
    format!("\"{family} {table} {name}\"")
}
