//! Per-node subnets of a pod network: the range they are carved from, and flannel's etcd key
//! for a lease (`10.5.52.0-24`, dual stack `10.5.52.0-24&fc00::-64`).
//!
//! Subnets are numbered: index `i` is the `i`-th subnet of the network, so a range is two
//! numbers and an IPv6 network with 2^48 subnets costs nothing to represent.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use twill_kernel::{IpFamily, IpPrefix};

/// The network and the part of it handed out as per-node subnets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// The whole pod network (host bits clear).
    pub network: IpPrefix,
    /// The length of each node's subnet.
    pub sub_len: u8,
    /// Index of the first subnet handed out (flannel's `SubnetMin`; the second by default,
    /// so the network's first subnet is never a node's).
    pub min: u128,
    /// Index of the last subnet handed out (`SubnetMax`; the last by default).
    pub max: u128,
}

impl Range {
    /// The range of `/sub_len` subnets of `network`, from the second to the last.
    pub fn new(network: IpPrefix, sub_len: u8) -> Result<Range, String> {
        let bits = sub_len
            .checked_sub(network.len())
            .filter(|b| *b > 0 && *b < 128)
            .ok_or_else(|| format!("/{sub_len} does not split {network}"))?;
        let count_minus_one = u128::MAX >> (128 - u32::from(bits));
        Ok(Range {
            network: network.network(),
            sub_len,
            min: 1,
            max: count_minus_one,
        })
    }

    fn family(&self) -> IpFamily {
        self.network.family()
    }

    fn host_bits(&self) -> u32 {
        u32::from(self.family().max_prefix() - self.sub_len)
    }

    /// How many subnets the range hands out.
    pub fn len(&self) -> u128 {
        self.max.saturating_sub(self.min).saturating_add(1)
    }

    /// Whether the range hands out nothing (never, once validated).
    pub fn is_empty(&self) -> bool {
        self.max < self.min
    }

    /// The `i`-th subnet of the network.
    pub fn subnet(&self, i: u128) -> IpPrefix {
        let base = to_u128(self.network.addr());
        let addr = base.wrapping_add(i << self.host_bits());
        // The length is at most the family's maximum, so this cannot fail.
        IpPrefix::new(from_u128(self.family(), addr), self.sub_len).unwrap_or(self.network)
    }

    /// The index of the subnet starting at `addr`, when `addr` is one of the network's
    /// subnet starts.
    pub fn index_of_addr(&self, addr: IpAddr) -> Option<u128> {
        if IpFamily::of(&addr) != self.family() {
            return None;
        }
        let net = IpPrefix::new(addr, self.network.len()).ok()?.network();
        if net != self.network {
            return None;
        }
        let offset = to_u128(addr) - to_u128(self.network.addr());
        let mask = (1u128 << self.host_bits()) - 1;
        (offset & mask == 0).then_some(offset >> self.host_bits())
    }

    /// The index of `subnet` when it is one of this range's handed-out subnets.
    pub fn index_of(&self, subnet: &IpPrefix) -> Option<u128> {
        if subnet.len() != self.sub_len {
            return None;
        }
        self.index_of_addr(subnet.addr())
            .filter(|i| (self.min..=self.max).contains(i))
    }

    /// Whether `addr` is inside the pod network.
    pub fn contains(&self, addr: IpAddr) -> bool {
        IpFamily::of(&addr) == self.family()
            && IpPrefix::new(addr, self.network.len())
                .map(|p| p.network() == self.network)
                .unwrap_or(false)
    }
}

fn to_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_u128(f: IpFamily, v: u128) -> IpAddr {
    match f {
        IpFamily::V4 => IpAddr::V4(Ipv4Addr::from(u32::try_from(v).unwrap_or(u32::MAX))),
        IpFamily::V6 => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

/// The `n`-th address of a prefix (`.0` is 0, the gateway `.1` is 1).
pub fn nth_addr(p: &IpPrefix, n: u128) -> IpAddr {
    from_u128(p.family(), to_u128(p.network().addr()).wrapping_add(n))
}

/// flannel's key for a lease of `v4` and/or `v6`. Without IPv4 the IPv4 part is
/// `0.0.0.0-0`, as flannel writes it.
pub fn lease_key(v4: Option<&IpPrefix>, v6: Option<&IpPrefix>) -> String {
    let four = v4.map_or_else(
        || "0.0.0.0-0".to_owned(),
        |p| format!("{}-{}", p.addr(), p.len()),
    );
    match v6 {
        None => four,
        Some(p) => format!("{four}&{}-{}", p.addr(), p.len()),
    }
}

/// Parses a lease key back into its subnets; `None` for keys that are not flannel's.
pub fn parse_lease_key(key: &str) -> Option<(Option<IpPrefix>, Option<IpPrefix>)> {
    fn one(s: &str, family: IpFamily) -> Option<IpPrefix> {
        let (addr, len) = s.rsplit_once('-')?;
        let addr: IpAddr = addr.parse().ok()?;
        if IpFamily::of(&addr) != family {
            return None;
        }
        let p = IpPrefix::new(addr, len.parse().ok()?).ok()?;
        (p.network() == p).then_some(p)
    }
    let (four, six) = match key.split_once('&') {
        Some((a, b)) => (a, Some(b)),
        None => (key, None),
    };
    let v4 = if four == "0.0.0.0-0" {
        None
    } else {
        Some(one(four, IpFamily::V4)?)
    };
    let v6 = match six {
        Some(s) => Some(one(s, IpFamily::V6)?),
        None => None,
    };
    if v4.is_none() && v6.is_none() {
        return None;
    }
    Some((v4, v6))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn p(s: &str) -> IpPrefix {
        s.parse().unwrap()
    }

    #[test]
    fn subnets_are_numbered_from_the_network() {
        let r = Range::new(p("10.244.0.0/16"), 24).unwrap();
        assert_eq!((r.min, r.max, r.len()), (1, 255, 255));
        assert_eq!(r.subnet(7).to_string(), "10.244.7.0/24");
        assert_eq!(r.index_of(&p("10.244.7.0/24")), Some(7));
        assert_eq!(r.index_of(&p("10.244.0.0/24")), None, "below SubnetMin");
        assert_eq!(r.index_of(&p("10.245.7.0/24")), None);
        assert_eq!(r.index_of(&p("10.244.7.0/25")), None);
        assert_eq!(r.index_of_addr("10.244.7.1".parse().unwrap()), None);
        assert!(r.contains("10.244.3.3".parse().unwrap()));
        assert!(!r.contains("10.245.3.3".parse().unwrap()));
    }

    #[test]
    fn ipv6_ranges_are_huge_and_cheap() {
        let r = Range::new(p("fd00::/16"), 64).unwrap();
        assert_eq!(r.max, (1u128 << 48) - 1);
        assert_eq!(r.subnet(r.max).to_string(), "fd00:ffff:ffff:ffff::/64");
        assert_eq!(r.index_of(&p("fd00:0:0:5::/64")), Some(5));
        assert_eq!(
            nth_addr(&p("fd00:0:0:5::/64"), 1).to_string(),
            "fd00:0:0:5::1"
        );
    }

    #[test]
    fn keys_are_flannels() {
        let v4 = p("10.5.52.0/24");
        let v6 = p("fc00::/64");
        assert_eq!(lease_key(Some(&v4), None), "10.5.52.0-24");
        assert_eq!(lease_key(Some(&v4), Some(&v6)), "10.5.52.0-24&fc00::-64");
        assert_eq!(lease_key(None, Some(&v6)), "0.0.0.0-0&fc00::-64");
        for k in [
            "10.5.52.0-24",
            "10.5.52.0-24&fc00::-64",
            "0.0.0.0-0&fc00::-64",
        ] {
            let (a, b) = parse_lease_key(k).unwrap();
            assert_eq!(lease_key(a.as_ref(), b.as_ref()), k);
        }
        for bad in [
            "",
            "x",
            "10.5.52.1-24",
            "10.5.52.0-33",
            "fc00::-64",
            "10.5.52.0-24&1.2.3.0-24",
            "0.0.0.0-0",
        ] {
            assert!(parse_lease_key(bad).is_none(), "{bad}");
        }
    }
}
