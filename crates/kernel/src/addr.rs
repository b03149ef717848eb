//! Interface addresses (IPv4 and IPv6): add, replace, delete, list.
//!
//! [`Address`] is both the request and the reply: its `parse` and `emit` are the wire form
//! (`struct ifaddrmsg` plus `IFA_*` attributes).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::BitOr;

use crate::error::Result;
use crate::net::{IpFamily, IpPrefix, Scope};
use crate::nl::consts::{
    AF_UNSPEC, IFA_ADDRESS, IFA_BROADCAST, IFA_FLAGS, IFA_LABEL, IFA_LOCAL, NLM_F_CREATE,
    NLM_F_EXCL, NLM_F_REPLACE, RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR,
};
use crate::nl::message::read_u32;
use crate::nl::{Attrs, MessageBuilder, Netlink, WireError};

/// Length of `struct ifaddrmsg`.
const IFADDR_LEN: usize = 8;

/// Address flags (`IFA_F_*`), the full 32-bit word of `IFA_FLAGS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AddrFlags(pub u32);

impl AddrFlags {
    /// A secondary (IPv4) or temporary (IPv6) address.
    pub const SECONDARY: AddrFlags = AddrFlags(0x01);
    /// Skip duplicate address detection (IPv6): the address is usable at once.
    pub const NODAD: AddrFlags = AddrFlags(0x02);
    /// Duplicate address detection failed.
    pub const DADFAILED: AddrFlags = AddrFlags(0x08);
    /// Duplicate address detection has not finished.
    pub const TENTATIVE: AddrFlags = AddrFlags(0x40);
    /// A static address (not from autoconfiguration).
    pub const PERMANENT: AddrFlags = AddrFlags(0x80);
    /// Do not add the prefix route that the kernel adds by default.
    pub const NOPREFIXROUTE: AddrFlags = AddrFlags(0x200);

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: AddrFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for AddrFlags {
    type Output = AddrFlags;
    fn bitor(self, rhs: AddrFlags) -> AddrFlags {
        AddrFlags(self.0 | rhs.0)
    }
}

/// An address on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Interface index.
    pub index: u32,
    /// The local address and its prefix length.
    pub prefix: IpPrefix,
    /// IPv4 broadcast address.
    pub broadcast: Option<Ipv4Addr>,
    /// Flags (`IFA_F_*`).
    pub flags: AddrFlags,
    /// Scope; global unless set.
    pub scope: Scope,
    /// IPv4 label (`eth0:1`).
    pub label: Option<String>,
}

impl Address {
    /// `prefix` on interface `index`, global scope, no flags.
    pub fn new(index: u32, prefix: IpPrefix) -> Self {
        Address {
            index,
            prefix,
            broadcast: None,
            flags: AddrFlags::default(),
            scope: Scope::UNIVERSE,
            label: None,
        }
    }

    /// Sets the IPv4 broadcast address.
    pub fn with_broadcast(mut self, broadcast: Ipv4Addr) -> Self {
        self.broadcast = Some(broadcast);
        self
    }

    /// Adds flags.
    pub fn with_flags(mut self, flags: AddrFlags) -> Self {
        self.flags = self.flags | flags;
        self
    }

    /// Decodes an address message payload; `Ok(None)` for families other than IPv4/IPv6.
    pub fn parse(payload: &[u8]) -> Result<Option<Self>, WireError> {
        let header = payload
            .get(..IFADDR_LEN)
            .ok_or(WireError::Truncated("ifaddrmsg"))?;
        let (family, len, flags8, scope) = match header {
            [f, l, fl, s, ..] => (*f, *l, *fl, *s),
            _ => return Err(WireError::Truncated("ifaddrmsg")),
        };
        let Some(family) = IpFamily::from_af(family) else {
            return Ok(None);
        };
        let index = read_u32(header, 4).ok_or(WireError::Truncated("ifaddrmsg"))?;
        let (mut local, mut address, mut broadcast, mut label) = (None, None, None, None);
        let mut flags = AddrFlags(u32::from(flags8));
        for attr in Attrs::new(payload.get(IFADDR_LEN..).unwrap_or_default()) {
            let attr = attr?;
            match attr.kind() {
                IFA_LOCAL => local = Some(attr.as_ip()?),
                IFA_ADDRESS => address = Some(attr.as_ip()?),
                IFA_BROADCAST => match attr.as_ip()? {
                    IpAddr::V4(b) => broadcast = Some(b),
                    IpAddr::V6(_) => return Err(WireError::BadValue("IFA_BROADCAST")),
                },
                IFA_LABEL => label = Some(attr.as_str()?.to_owned()),
                IFA_FLAGS => flags = AddrFlags(attr.as_u32()?),
                _ => {}
            }
        }
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on
        // point-to-point links, and the only one IPv6 sends.
        let addr = local.or(address).ok_or(WireError::Missing("IFA_ADDRESS"))?;
        if IpFamily::of(&addr) != family {
            return Err(WireError::BadValue("address family"));
        }
        let prefix = IpPrefix::new(addr, len).map_err(|_| WireError::BadValue("prefix length"))?;
        Ok(Some(Address {
            index,
            prefix,
            broadcast,
            flags,
            scope: Scope(scope),
            label,
        }))
    }

    /// Encodes the header and attributes.
    pub fn emit(&self, out: &mut MessageBuilder) {
        let mut header = vec![
            self.prefix.family().af(),
            self.prefix.len(),
            (self.flags.0 & 0xff) as u8,
            self.scope.0,
        ];
        header.extend_from_slice(&self.index.to_ne_bytes());
        out.push_bytes(&header);
        let addr = self.prefix.addr();
        out.attr_ip(IFA_LOCAL, &addr);
        out.attr_ip(IFA_ADDRESS, &addr);
        if let Some(b) = self.broadcast {
            out.attr_ip(IFA_BROADCAST, &IpAddr::V4(b));
        }
        if let Some(label) = &self.label {
            out.attr_str(IFA_LABEL, label);
        }
        if self.flags.0 != 0 {
            out.attr_u32(IFA_FLAGS, self.flags.0);
        }
    }

    fn request(&self, msg_type: u16, flags: u16) -> MessageBuilder {
        let mut req = MessageBuilder::new(msg_type, flags);
        self.emit(&mut req);
        req
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on index {}", self.prefix, self.index)
    }
}

impl Netlink {
    /// Adds an address; fails with `EEXIST` if the interface has it already.
    pub fn addr_add(&mut self, addr: &Address) -> Result<()> {
        let req = addr.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        self.request_ack("add address", addr, req)
    }

    /// Adds an address or updates its flags and broadcast if it exists.
    pub fn addr_replace(&mut self, addr: &Address) -> Result<()> {
        let req = addr.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
        self.request_ack("replace address", addr, req)
    }

    /// Deletes an address (matched by interface, address and prefix length).
    pub fn addr_delete(&mut self, addr: &Address) -> Result<()> {
        let req = addr.request(RTM_DELADDR, 0);
        self.request_ack("delete address", addr, req)
    }

    /// Lists addresses of `family` (both when `None`), on interface `index` only when given.
    pub fn addr_list(
        &mut self,
        family: Option<IpFamily>,
        index: Option<u32>,
    ) -> Result<Vec<Address>> {
        let mut req = MessageBuilder::new(RTM_GETADDR, 0);
        let af = family.map_or(AF_UNSPEC, IpFamily::af);
        req.push_bytes(&[af, 0, 0, 0, 0, 0, 0, 0]);
        self.dump("list", &"addresses", req, |m| {
            let addr = Address::parse(m.payload())?;
            Ok(addr.filter(|a| index.map_or(true, |i| a.index == i)))
        })
    }
}
