//! Addresses as CNI results write them: an IP, or an IP with a prefix length ("10.1.0.5/24").
//!
//! Results carry interface addresses, not networks, so [`IpNet`] keeps the host bits: the
//! address `10.1.0.5/24` stays `10.1.0.5/24` and is not truncated to `10.1.0.0/24`.
//!
//! Parsing and printing follow Go's `net` package, which wrote every result runtimes have seen:
//! an IPv4-mapped IPv6 address (`::ffff:10.1.0.5`) *is* an IPv4 address there, prints in dotted
//! form, and its prefix length loses the 96 bits of the mapping prefix (`::ffff:10.1.0.5/120`
//! prints as `10.1.0.5/24`; a prefix shorter than 96 prints as `/0`). Normalising at parse time
//! gives exactly those printed forms and the same address family for conversions.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpFamily {
    /// IPv4, including IPv4-mapped IPv6 addresses.
    V4,
    /// IPv6.
    V6,
}

impl IpFamily {
    /// The family of an address, counting IPv4-mapped IPv6 addresses as IPv4 as Go does.
    pub fn of(addr: IpAddr) -> IpFamily {
        match canonical_ip(addr) {
            IpAddr::V4(_) => IpFamily::V4,
            IpAddr::V6(_) => IpFamily::V6,
        }
    }

    /// The value of `ips[].version` in 0.3.x/0.4.0 results: `"4"` or `"6"`.
    pub const fn as_version_str(self) -> &'static str {
        match self {
            IpFamily::V4 => "4",
            IpFamily::V6 => "6",
        }
    }

    /// The longest prefix length in this family.
    pub const fn max_prefix_len(self) -> u8 {
        match self {
            IpFamily::V4 => 32,
            IpFamily::V6 => 128,
        }
    }
}

/// An IPv4-mapped IPv6 address becomes the IPv4 address it maps; anything else is unchanged.
pub fn canonical_ip(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// Parses an IP address as Go's `net.ParseIP` does, mapped IPv6 addresses becoming IPv4. Zones
/// (`fe80::1%eth0`) are refused, as Go refuses them.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    IpAddr::from_str(s).ok().map(canonical_ip)
}

/// A text that is not `ADDRESS/PREFIX`, or a prefix length too long for the address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CIDR address {0:?}")]
pub struct InvalidIpNet(pub String);

/// An IP address with a prefix length, host bits kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix_len: u8,
}

impl IpNet {
    /// An address and prefix length. An IPv4-mapped IPv6 address becomes IPv4 and its prefix
    /// length drops the 96 mapping bits, as Go prints it.
    pub fn new(addr: IpAddr, prefix_len: u8) -> Result<IpNet, InvalidIpNet> {
        let (addr, prefix_len) = match addr {
            IpAddr::V4(_) if prefix_len <= 32 => (addr, prefix_len),
            IpAddr::V6(v6) if prefix_len <= 128 => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), prefix_len.saturating_sub(96)),
                None => (addr, prefix_len),
            },
            _ => return Err(InvalidIpNet(format!("{addr}/{prefix_len}"))),
        };
        Ok(IpNet { addr, prefix_len })
    }

    /// An IPv4 address and prefix length; `None` when the prefix is longer than 32.
    pub fn v4(addr: Ipv4Addr, prefix_len: u8) -> Option<IpNet> {
        IpNet::new(IpAddr::V4(addr), prefix_len).ok()
    }

    /// An IPv6 address and prefix length; `None` when the prefix is longer than 128.
    pub fn v6(addr: Ipv6Addr, prefix_len: u8) -> Option<IpNet> {
        IpNet::new(IpAddr::V6(addr), prefix_len).ok()
    }

    /// The address, host bits included.
    pub const fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The address family.
    pub fn family(&self) -> IpFamily {
        IpFamily::of(self.addr)
    }

    /// The network address: the host bits cleared.
    pub fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix_len))
                    .unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix_len))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
        }
    }

    /// Whether `ip` is inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        IpFamily::of(ip) == self.family()
            && IpNet {
                addr: ip,
                prefix_len: self.prefix_len,
            }
            .network()
                == self.network()
    }
}

impl FromStr for IpNet {
    type Err = InvalidIpNet;

    /// Go's `net.ParseCIDR`: an address, `/`, and a decimal prefix length (leading zeros
    /// allowed, signs and spaces not) no longer than the address's bit length.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidIpNet(s.to_owned());
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let addr = IpAddr::from_str(addr).map_err(|_| bad())?;
        // Leading zeros can make the text arbitrarily long; the value is what must fit.
        let digits = prefix.trim_start_matches('0');
        let prefix_len = match digits.len() {
            0 => 0,
            1..=3 => digits.parse::<u8>().map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        IpNet::new(addr, prefix_len).map_err(|_| bad())
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl serde::Serialize for IpNet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn keeps_host_bits_and_prints_like_go() {
        assert_eq!(net("10.1.0.5/24").to_string(), "10.1.0.5/24");
        assert_eq!(net("10.1.0.5/024").to_string(), "10.1.0.5/24");
        assert_eq!(net("2001:DB8:0:0:0:0:0:5/64").to_string(), "2001:db8::5/64");
        assert_eq!(net("10.1.0.5/24").network().to_string(), "10.1.0.0");
        assert_eq!(net("0.0.0.0/0").network().to_string(), "0.0.0.0");
        assert_eq!(net("2001:db8::5/128").network().to_string(), "2001:db8::5");
    }

    #[test]
    fn mapped_addresses_are_ipv4_with_the_mapping_bits_dropped() {
        assert_eq!(net("::ffff:10.1.0.5/120").to_string(), "10.1.0.5/24");
        assert_eq!(net("::ffff:10.1.0.5/100").to_string(), "10.1.0.5/4");
        assert_eq!(net("::ffff:10.1.0.5/64").to_string(), "10.1.0.5/0");
        assert_eq!(net("::ffff:10.1.0.5/120").family(), IpFamily::V4);
        assert_eq!(
            parse_ip("::ffff:10.1.0.1"),
            Some("10.1.0.1".parse().unwrap())
        );
        // Only the mapped form is IPv4; the deprecated "compatible" form stays IPv6.
        assert_eq!(parse_ip("::10.1.0.1").map(IpFamily::of), Some(IpFamily::V6));
    }

    #[test]
    fn refuses_what_go_refuses() {
        for bad in [
            "",
            "10.1.0.5",
            "10.1.0.5/",
            "10.1.0.5/33",
            "10.1.0.5/+24",
            "10.1.0.5/ 24",
            "10.1.0.5/-1",
            "10.1.0.05/24",
            "10.1.0/24",
            "2001:db8::5/129",
            "fe80::1%eth0/64",
            "10.1.0.5/24/1",
            "10.1.0.5/0000000000000000000000000000000000000000099",
        ] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad:?}");
        }
        assert_eq!(net("10.1.0.5/0000000000000000000000024").prefix_len(), 24);
        assert_eq!(parse_ip("fe80::1%eth0"), None);
        assert_eq!(parse_ip("1.2.3.04"), None);
    }

    #[test]
    fn constructors_check_the_prefix() {
        assert!(IpNet::v4(Ipv4Addr::LOCALHOST, 33).is_none());
        assert!(IpNet::v6(Ipv6Addr::LOCALHOST, 129).is_none());
        assert!(IpNet::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40).is_err());
        assert_eq!(
            IpNet::v6("::ffff:1.2.3.4".parse().unwrap(), 128).map(|n| n.to_string()),
            Some("1.2.3.4/32".to_owned())
        );
    }

    #[test]
    fn containment() {
        let n = net("10.1.0.5/16");
        assert!(n.contains("10.1.255.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.0.1".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(!n.contains("::1".parse().unwrap()));
    }
}
