//! Small value types shared by the link, address and route APIs: address families, IP
//! prefixes and MAC addresses.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::nl::consts::{AF_INET, AF_INET6};

/// An IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpFamily {
    /// IPv4 (`AF_INET`).
    V4,
    /// IPv6 (`AF_INET6`).
    V6,
}

impl IpFamily {
    /// The family of `addr`.
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => IpFamily::V4,
            IpAddr::V6(_) => IpFamily::V6,
        }
    }

    /// The `AF_*` value on the wire.
    pub fn af(self) -> u8 {
        match self {
            IpFamily::V4 => AF_INET,
            IpFamily::V6 => AF_INET6,
        }
    }

    /// The family for an `AF_*` value, if it is an IP family.
    pub fn from_af(af: u8) -> Option<Self> {
        match af {
            AF_INET => Some(IpFamily::V4),
            AF_INET6 => Some(IpFamily::V6),
            _ => None,
        }
    }

    /// Longest prefix length: 32 or 128.
    pub fn max_prefix(self) -> u8 {
        match self {
            IpFamily::V4 => 32,
            IpFamily::V6 => 128,
        }
    }
}

/// An address with a prefix length, e.g. `10.0.0.5/24`. Host bits are kept (an interface
/// address needs them); [`IpPrefix::network`] clears them for use as a route destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    addr: IpAddr,
    len: u8,
}

/// A prefix length longer than the address, or text that is not `ADDRESS/LEN`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid IP prefix {0:?}")]
pub struct PrefixError(String);

impl IpPrefix {
    /// `addr/len`; fails when `len` exceeds 32 (IPv4) or 128 (IPv6).
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, PrefixError> {
        if len > IpFamily::of(&addr).max_prefix() {
            return Err(PrefixError(format!("{addr}/{len}")));
        }
        Ok(IpPrefix { addr, len })
    }

    /// A single-address prefix (`/32` or `/128`).
    pub fn host(addr: IpAddr) -> Self {
        let len = IpFamily::of(&addr).max_prefix();
        IpPrefix { addr, len }
    }

    /// The default route's destination of a family (`0.0.0.0/0` or `::/0`).
    pub fn default_route(family: IpFamily) -> Self {
        let addr = match family {
            IpFamily::V4 => IpAddr::from([0u8; 4]),
            IpFamily::V6 => IpAddr::from([0u8; 16]),
        };
        IpPrefix { addr, len: 0 }
    }

    /// The address, host bits included.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn len(&self) -> u8 {
        self.len
    }

    /// Whether this is a `/0`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The address family.
    pub fn family(&self) -> IpFamily {
        IpFamily::of(&self.addr)
    }

    /// The same prefix with the host bits cleared.
    pub fn network(&self) -> Self {
        let addr = match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                IpAddr::from((u32::from(a) & mask).to_be_bytes())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                IpAddr::from((u128::from(a) & mask).to_be_bytes())
            }
        };
        IpPrefix {
            addr,
            len: self.len,
        }
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for IpPrefix {
    type Err = PrefixError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || PrefixError(s.to_owned());
        let (addr, len) = s.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        // Only plain decimal digits: `u8::from_str` would also take "+24".
        if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let len: u8 = len.parse().map_err(|_| bad())?;
        IpPrefix::new(addr, len).map_err(|_| bad())
    }
}

/// An Ethernet (EUI-48) address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// Text that is not six colon-separated hexadecimal octets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MAC address {0:?}")]
pub struct MacError(String);

impl FromStr for MacAddr {
    type Err = MacError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || MacError(s.to_owned());
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for slot in &mut out {
            let part = parts.next().ok_or_else(bad)?;
            if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            *slot = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(MacAddr(out))
    }
}

/// How far an address or route is valid (`RT_SCOPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scope(pub u8);

impl Scope {
    /// Valid everywhere (`RT_SCOPE_UNIVERSE`).
    pub const UNIVERSE: Scope = Scope(0);
    /// Valid within a site (`RT_SCOPE_SITE`, IPv6 only).
    pub const SITE: Scope = Scope(200);
    /// Valid on the link only (`RT_SCOPE_LINK`): directly connected destinations.
    pub const LINK: Scope = Scope(253);
    /// Valid on this host only (`RT_SCOPE_HOST`): local addresses.
    pub const HOST: Scope = Scope(254);
    /// No destination (`RT_SCOPE_NOWHERE`); in a route deletion it matches any scope.
    pub const NOWHERE: Scope = Scope(255);
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Scope::UNIVERSE => f.write_str("global"),
            Scope::SITE => f.write_str("site"),
            Scope::LINK => f.write_str("link"),
            Scope::HOST => f.write_str("host"),
            Scope::NOWHERE => f.write_str("nowhere"),
            Scope(n) => write!(f, "{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_parse_display_and_mask() {
        let p: IpPrefix = "198.18.3.7/15".parse().unwrap();
        assert_eq!(p.to_string(), "198.18.3.7/15");
        assert_eq!(p.network().to_string(), "198.18.0.0/15");
        let p: IpPrefix = "2001:db8::1/64".parse().unwrap();
        assert_eq!(p.network().to_string(), "2001:db8::/64");
        assert_eq!(p.family(), IpFamily::V6);
        let zero: IpPrefix = "10.1.2.3/0".parse().unwrap();
        assert_eq!(zero.network().to_string(), "0.0.0.0/0");
        let host = IpPrefix::host("10.0.0.1".parse().unwrap());
        assert_eq!(host.network(), host);
        for bad in [
            "10.0.0.1/33",
            "::/129",
            "10.0.0.1",
            "10.0.0.1/",
            "10.0.0.1/+8",
            "x/8",
            "/8",
        ] {
            assert!(bad.parse::<IpPrefix>().is_err(), "{bad}");
        }
    }

    #[test]
    fn macs_parse_and_display() {
        let m: MacAddr = "02:AB:cd:00:01:ff".parse().unwrap();
        assert_eq!(m.to_string(), "02:ab:cd:00:01:ff");
        for bad in [
            "02:ab:cd:00:01",
            "02:ab:cd:00:01:ff:00",
            "2:ab:cd:00:01:ff",
            "+2:ab:cd:00:01:ff",
            "",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }
}
