//! The nfnetlink framing shared by every nf_tables object: the message type (subsystem in
//! the high byte), the 4-byte `nfgenmsg` header, big-endian integer attributes, and the
//! type-length-value "userdata" that `nft` uses for comments.

use super::consts::{NFGENMSG_LEN, NFNETLINK_V0, NFNL_SUBSYS_NFTABLES};
use super::table::Family;
use crate::nl::{Attr, Attrs, Message, MessageBuilder, WireError};

/// The netlink message type of nf_tables message `msg`.
pub(crate) fn msg_type(msg: u8) -> u16 {
    (NFNL_SUBSYS_NFTABLES << 8) | u16::from(msg)
}

/// A request for nf_tables message `msg` about objects of `family`.
pub(crate) fn request(msg: u8, flags: u16, family: Family) -> MessageBuilder {
    let mut b = MessageBuilder::new(msg_type(msg), flags);
    b.push_bytes(&[family.raw(), NFNETLINK_V0, 0, 0]);
    b
}

/// Appends a big-endian `u32` attribute: nf_tables' integers are in network order.
pub(crate) fn put_be32(b: &mut MessageBuilder, ty: u16, value: u32) {
    b.attr(ty, &value.to_be_bytes());
}

/// Appends a big-endian `u64` attribute (handles, timeouts).
pub(crate) fn put_be64(b: &mut MessageBuilder, ty: u16, value: u64) {
    b.attr(ty, &value.to_be_bytes());
}

/// A big-endian `u32` attribute.
pub(crate) fn be32(attr: &Attr<'_>) -> Result<u32, WireError> {
    let bytes: [u8; 4] = attr
        .payload()
        .try_into()
        .map_err(|_| WireError::BadLength("be32 attribute"))?;
    Ok(u32::from_be_bytes(bytes))
}

/// A big-endian `u64` attribute.
pub(crate) fn be64(attr: &Attr<'_>) -> Result<u64, WireError> {
    let bytes: [u8; 8] = attr
        .payload()
        .try_into()
        .map_err(|_| WireError::BadLength("be64 attribute"))?;
    Ok(u64::from_be_bytes(bytes))
}

/// A string attribute, owned.
pub(crate) fn string(attr: &Attr<'_>) -> Result<String, WireError> {
    attr.as_str().map(str::to_owned)
}

/// Splits a received nf_tables message into its family and attribute stream.
pub(crate) fn split<'a>(msg: &Message<'a>) -> Result<(Family, Attrs<'a>), WireError> {
    let payload = msg.payload();
    let family = *payload.first().ok_or(WireError::Truncated("nfgenmsg"))?;
    let attrs = payload
        .get(NFGENMSG_LEN..)
        .ok_or(WireError::Truncated("nfgenmsg"))?;
    Ok((Family::from_raw(family)?, Attrs::new(attrs)))
}

/// Userdata TLV type of a comment on tables, chains, rules and elements.
pub(crate) const UDATA_COMMENT: u8 = 0;
/// Userdata TLV type of a comment on sets.
pub(crate) const UDATA_SET_COMMENT: u8 = 7;
/// Userdata TLV type of a set's key byte order (`NFTNL_UDATA_SET_KEYBYTEORDER`).
pub(crate) const UDATA_SET_KEYBYTEORDER: u8 = 0;
/// Userdata TLV type of a map's data byte order (`NFTNL_UDATA_SET_DATABYTEORDER`).
pub(crate) const UDATA_SET_DATABYTEORDER: u8 = 1;

/// Encodes a 32-bit userdata TLV as libnftnl does: the value in host order.
pub(crate) fn u32_udata(ty: u8, value: u32) -> [u8; 6] {
    let v = value.to_ne_bytes();
    [ty, 4, v[0], v[1], v[2], v[3]]
}

/// The kernel's limit on an object's userdata (`NFT_USERDATA_MAXLEN`).
pub(crate) const USERDATA_MAX: usize = 256;

/// Encodes a comment as the userdata TLV `nft` reads (type, length, NUL-terminated text),
/// so `nft list` shows it. Text past what fits the kernel's limit is cut at a character
/// boundary.
pub(crate) fn comment_udata(ty: u8, text: &str) -> Vec<u8> {
    comment_udata_within(ty, text, USERDATA_MAX)
}

/// [`comment_udata`] in at most `room` bytes (type, length and NUL included): what is left
/// of the limit after other TLVs of the same userdata.
pub(crate) fn comment_udata_within(ty: u8, text: &str, room: usize) -> Vec<u8> {
    let mut end = text.len().min(room.saturating_sub(3));
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let body = text.get(..end).unwrap_or_default();
    let mut out = Vec::with_capacity(body.len() + 3);
    out.push(ty);
    out.push(u8::try_from(body.len() + 1).unwrap_or(u8::MAX));
    out.extend_from_slice(body.as_bytes());
    out.push(0);
    out
}

/// The comment of type `ty` in a userdata TLV stream, if there is one.
pub(crate) fn parse_comment(ty: u8, mut udata: &[u8]) -> Option<String> {
    while let [t, len, rest @ ..] = udata {
        let value = rest.get(..usize::from(*len))?;
        if *t == ty {
            let text = value.split(|&b| b == 0).next().unwrap_or_default();
            return std::str::from_utf8(text).ok().map(str::to_owned);
        }
        udata = rest.get(usize::from(*len)..)?;
    }
    None
}
