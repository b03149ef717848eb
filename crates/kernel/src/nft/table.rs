//! Tables: the family they belong to, name, flags and a comment.

use super::consts::*;
use super::wire::UDATA_COMMENT;
use super::wire::{be32, be64, comment_udata, parse_comment, put_be32, request, split, string};
use crate::nl::{Message, MessageBuilder, WireError};

/// The address family of a table, and so of everything in it (`nft`'s `inet`, `ip`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// All families: only for listing everything.
    Unspec,
    /// IPv4 and IPv6 together.
    Inet,
    /// IPv4.
    Ip,
    /// IPv6.
    Ip6,
    /// ARP.
    Arp,
    /// Bridged frames.
    Bridge,
    /// Per-device ingress and egress.
    Netdev,
}

impl Family {
    /// The `NFPROTO_*` value.
    pub fn raw(self) -> u8 {
        match self {
            Family::Unspec => 0,
            Family::Inet => 1,
            Family::Ip => 2,
            Family::Arp => 3,
            Family::Netdev => 5,
            Family::Bridge => 7,
            Family::Ip6 => 10,
        }
    }

    /// Decodes an `NFPROTO_*` value.
    pub fn from_raw(raw: u8) -> Result<Family, WireError> {
        Ok(match raw {
            0 => Family::Unspec,
            1 => Family::Inet,
            2 => Family::Ip,
            3 => Family::Arp,
            5 => Family::Netdev,
            7 => Family::Bridge,
            10 => Family::Ip6,
            _ => return Err(WireError::BadValue("nf_tables family")),
        })
    }

    /// The name `nft` uses.
    pub fn name(self) -> &'static str {
        match self {
            Family::Unspec => "unspec",
            Family::Inet => "inet",
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
            Family::Arp => "arp",
            Family::Bridge => "bridge",
            Family::Netdev => "netdev",
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Table flag: the table's base chains are not attached to their hooks.
pub const TABLE_DORMANT: u32 = 0x1;
/// Table flag: the table belongs to the socket that created it and vanishes with it.
pub const TABLE_OWNER: u32 = 0x2;

/// A table, as created or as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The family.
    pub family: Family,
    /// The name, unique within the family.
    pub name: String,
    /// `TABLE_*` flags.
    pub flags: u32,
    /// A comment, shown by `nft list`.
    pub comment: Option<String>,
    /// The kernel's handle (listing only).
    pub handle: Option<u64>,
    /// How many chains and sets use it (listing only).
    pub use_count: Option<u32>,
}

impl Table {
    /// A table with no flags and no comment.
    pub fn new(family: Family, name: &str) -> Table {
        Table {
            family,
            name: name.to_owned(),
            flags: 0,
            comment: None,
            handle: None,
            use_count: None,
        }
    }

    /// Sets the comment.
    pub fn comment(mut self, text: &str) -> Table {
        self.comment = Some(text.to_owned());
        self
    }

    /// How errors name the table: `"inet twill"`.
    pub fn label(&self) -> String {
        format!("\"{} {}\"", self.family, self.name)
    }

    /// Writes a NEWTABLE request (flags are the caller's).
    pub(crate) fn emit(&self, flags: u16) -> MessageBuilder {
        let mut b = request(NFT_MSG_NEWTABLE, flags, self.family);
        b.attr_str(NFTA_TABLE_NAME, &self.name);
        put_be32(&mut b, NFTA_TABLE_FLAGS, self.flags);
        if let Some(text) = &self.comment {
            b.attr(NFTA_TABLE_USERDATA, &comment_udata(UDATA_COMMENT, text));
        }
        b
    }

    /// Decodes a NEWTABLE message (a listing or a GET reply).
    pub fn parse(msg: &Message<'_>) -> Result<Table, WireError> {
        let (family, attrs) = split(msg)?;
        let mut table = Table::new(family, "");
        let mut named = false;
        for attr in attrs {
            let attr = attr?;
            match attr.kind() {
                NFTA_TABLE_NAME => {
                    table.name = string(&attr)?;
                    named = true;
                }
                NFTA_TABLE_FLAGS => table.flags = be32(&attr)?,
                NFTA_TABLE_USE => table.use_count = Some(be32(&attr)?),
                NFTA_TABLE_HANDLE => table.handle = Some(be64(&attr)?),
                NFTA_TABLE_USERDATA => {
                    table.comment = parse_comment(UDATA_COMMENT, attr.payload());
                }
                _ => {}
            }
        }
        if !named {
            return Err(WireError::Missing("table name"));
        }
        Ok(table)
    }
}
