//! Subnets as the user writes them: parsing, containment and overlap.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address with a prefix length, `10.89.0.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The address as written.
    pub addr: IpAddr,
    /// The prefix length.
    pub len: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not a subnet: expected ADDRESS/LENGTH"))?;
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?} is not a subnet: {a:?} is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len: u8 = l
            .parse()
            .ok()
            .filter(|l| *l <= max)
            .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?;
        Ok(Cidr { addr, len })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl Cidr {
    fn bits(ip: IpAddr) -> (u128, u32) {
        match ip {
            IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
            IpAddr::V6(v) => (u128::from(v), 128),
        }
    }

    fn mask(&self) -> u128 {
        let (_, width) = Cidr::bits(self.addr);
        let host_bits = width - u32::from(self.len);
        let all = if width == 32 {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        all.checked_shl(host_bits).unwrap_or(0) & all
    }

    fn with_bits(&self, bits: u128) -> IpAddr {
        match self.addr {
            IpAddr::V4(_) => IpAddr::V4(u32::try_from(bits).unwrap_or_default().into()),
            IpAddr::V6(_) => IpAddr::V6(bits.into()),
        }
    }

    /// The subnet's network address.
    pub fn network(&self) -> Cidr {
        let (b, _) = Cidr::bits(self.addr);
        Cidr {
            addr: self.with_bits(b & self.mask()),
            len: self.len,
        }
    }

    /// Whether the address is the network address (host-local requires it).
    pub fn is_network(&self) -> bool {
        self.network() == *self
    }

    /// Whether `ip` is in the subnet.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (a, wa) = Cidr::bits(self.addr);
        let (b, wb) = Cidr::bits(ip);
        wa == wb && a & self.mask() == b & self.mask()
    }

    /// Whether two subnets share an address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }

    /// The first address after the network address (the conventional gateway).
    pub fn first_host(&self) -> IpAddr {
        let (b, _) = Cidr::bits(self.network().addr);
        self.with_bits(b + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_relations() {
        assert!(c("10.89.0.0/24").is_network());
        assert!(!c("10.89.0.5/24").is_network());
        assert_eq!(c("10.89.0.5/24").network(), c("10.89.0.0/24"));
        assert!(c("10.88.0.0/16").overlaps(&c("10.88.7.0/24")));
        assert!(!c("10.89.0.0/24").overlaps(&c("10.89.1.0/24")));
        assert!(!c("10.0.0.0/8").overlaps(&c("fd00::/8")));
        assert_eq!(c("fd00:1::/64").first_host().to_string(), "fd00:1::1");
        assert_eq!(c("0.0.0.0/0").network(), c("0.0.0.0/0"));
        assert!(c("0.0.0.0/0").contains("1.2.3.4".parse().unwrap()));
        for bad in ["10.0.0.0", "10.0.0.0/33", "x/8", "fd00::/129"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }
}
