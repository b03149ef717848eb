//! Address arithmetic: both families as integers, so ranges, iteration and comparison are one
//! piece of code.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use twill_cni::result::{canonical_ip, IpFamily};

/// An address as an integer in its family: IPv4 in the low 32 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Addr {
    /// The family.
    pub family: IpFamily,
    /// The address's value.
    pub value: u128,
}

impl Addr {
    /// An address, IPv4-mapped IPv6 counted as IPv4 (as Go's `To4` does).
    pub fn from_ip(ip: IpAddr) -> Addr {
        match canonical_ip(ip) {
            IpAddr::V4(a) => Addr {
                family: IpFamily::V4,
                value: u128::from(u32::from(a)),
            },
            IpAddr::V6(a) => Addr {
                family: IpFamily::V6,
                value: u128::from(a),
            },
        }
    }

    /// The address as a standard type.
    pub fn ip(self) -> IpAddr {
        match self.family {
            // The value of an IPv4 Addr always fits: every constructor keeps it in 32 bits.
            IpFamily::V4 => IpAddr::V4(Ipv4Addr::from(
                u32::try_from(self.value).unwrap_or(u32::MAX),
            )),
            IpFamily::V6 => IpAddr::V6(Ipv6Addr::from(self.value)),
        }
    }

    /// The next address, `None` past the end of the family.
    pub fn next(self) -> Option<Addr> {
        let value = self.value.checked_add(1)?;
        (value <= max_value(self.family)).then_some(Addr { value, ..self })
    }

    /// The previous address, `None` before the start of the family.
    pub fn prev(self) -> Option<Addr> {
        Some(Addr {
            value: self.value.checked_sub(1)?,
            ..self
        })
    }
}

/// The largest address of a family, as an integer.
pub fn max_value(family: IpFamily) -> u128 {
    match family {
        IpFamily::V4 => u128::from(u32::MAX),
        IpFamily::V6 => u128::MAX,
    }
}

/// The number of bits of a family's addresses.
pub fn bits(family: IpFamily) -> u32 {
    u32::from(family.max_prefix_len())
}

/// The host mask of a prefix: the bits a network address has clear.
pub fn host_mask(family: IpFamily, prefix_len: u8) -> u128 {
    let host_bits = bits(family).saturating_sub(u32::from(prefix_len));
    match 1u128.checked_shl(host_bits) {
        Some(n) => n - 1,
        None => u128::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Addr {
        Addr::from_ip(s.parse().unwrap())
    }

    #[test]
    fn round_trips_and_steps() {
        assert_eq!(a("10.0.0.255").next().unwrap().ip().to_string(), "10.0.1.0");
        assert_eq!(a("10.0.1.0").prev().unwrap().ip().to_string(), "10.0.0.255");
        assert_eq!(a("255.255.255.255").next(), None);
        assert_eq!(a("0.0.0.0").prev(), None);
        assert_eq!(
            a("fd00::ffff").next().unwrap().ip().to_string(),
            "fd00::1:0"
        );
        assert_eq!(a("::ffff:10.0.0.1"), a("10.0.0.1"));
    }

    #[test]
    fn masks() {
        assert_eq!(host_mask(IpFamily::V4, 24), 0xff);
        assert_eq!(host_mask(IpFamily::V4, 0), 0xffff_ffff);
        assert_eq!(host_mask(IpFamily::V6, 0), u128::MAX);
        assert_eq!(host_mask(IpFamily::V6, 128), 0);
    }
}
