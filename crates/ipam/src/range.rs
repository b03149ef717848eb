//! Ranges and range sets: parsing, defaults and validation, with the reference's rules.
//!
//! A range is a pool inside one subnet; a range set is a list of disjoint ranges of one family
//! from which one address is allocated. Defaults: the gateway and `rangeStart` are network+1
//! (the gateway is never handed out), `rangeEnd` is the address before the IPv4 broadcast or
//! the last IPv6 address.

use std::fmt;
use std::net::IpAddr;

use twill_cni::config::IpRange;
use twill_cni::json::join;
use twill_cni::result::{parse_ip, IpFamily, IpNet};

use crate::addr::{bits, host_mask, Addr};
use crate::error::IpamError;

/// One validated range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The subnet, as written (its host bits are clear).
    pub subnet: IpNet,
    /// The subnet's network address.
    pub network: Addr,
    /// The subnet's prefix length.
    pub prefix_len: u8,
    /// The first address handed out, inclusive.
    pub start: Addr,
    /// The last address handed out, inclusive.
    pub end: Addr,
    /// The gateway, never handed out.
    pub gateway: Addr,
}

impl Range {
    /// Validates one range found at `path` (`ipam.ranges[0][1]`, `ipam` for the legacy
    /// top-level keys), filling in the defaults.
    pub fn from_config(r: &IpRange, path: &str) -> Result<Range, IpamError> {
        let subnet_path = join(path, "subnet");
        let subnet: IpNet = r.subnet.parse().map_err(|_| {
            IpamError::invalid(&subnet_path, format!("{:?} is not a CIDR", r.subnet))
        })?;
        let family = subnet.family();
        let prefix_len = subnet.prefix_len();
        let given = Addr::from_ip(subnet.addr());
        let network = Addr {
            value: given.value & !host_mask(family, prefix_len),
            ..given
        };
        if network != given {
            return Err(IpamError::invalid(
                subnet_path,
                format!(
                    "{} has host bits set: the network address of a /{prefix_len} is {}",
                    r.subnet,
                    network.ip()
                ),
            ));
        }
        if u32::from(prefix_len) + 2 > bits(family) {
            return Err(IpamError::invalid(
                subnet_path,
                format!("network {} is too small to allocate from", r.subnet),
            ));
        }
        let last = Addr {
            value: network.value | host_mask(family, prefix_len),
            ..network
        };
        // Both exist: the subnet has at least four addresses.
        let first_host = network.next().unwrap_or(network);
        let default_end = match family {
            IpFamily::V4 => last.prev().unwrap_or(last),
            IpFamily::V6 => last,
        };
        let inside = |field: &str, value: &Option<String>, default: Addr| {
            let Some(text) = value else {
                return Ok(default);
            };
            let field_path = join(path, field);
            let ip = parse_ip(text).ok_or_else(|| {
                IpamError::invalid(&field_path, format!("{text:?} is not an IP address"))
            })?;
            let addr = Addr::from_ip(ip);
            if addr.family != family || addr < network || addr > last {
                return Err(IpamError::invalid(
                    field_path,
                    format!("{ip} is not in network {}", r.subnet),
                ));
            }
            Ok(addr)
        };
        let gateway = inside("gateway", &r.gateway, first_host)?;
        let start = inside("rangeStart", &r.range_start, first_host)?;
        let end = inside("rangeEnd", &r.range_end, default_end)?;
        if start > end {
            return Err(IpamError::invalid(
                join(path, "rangeEnd"),
                format!("{} is before rangeStart {}", end.ip(), start.ip()),
            ));
        }
        Ok(Range {
            subnet,
            network,
            prefix_len,
            start,
            end,
            gateway,
        })
    }

    /// The address family.
    pub fn family(&self) -> IpFamily {
        self.network.family
    }

    /// Whether `ip` may be handed out from this range (between start and end, inclusive).
    pub fn contains(&self, ip: Addr) -> bool {
        ip.family == self.family() && ip >= self.start && ip <= self.end
    }

    /// Whether two ranges share an address.
    pub fn overlaps(&self, other: &Range) -> bool {
        self.family() == other.family() && self.start <= other.end && other.start <= self.end
    }

    /// `ip` with this range's prefix length, as a result writes it.
    pub fn with_prefix(&self, ip: Addr) -> IpNet {
        // The prefix fits the family by construction; the subnet is a total fallback.
        IpNet::new(ip.ip(), self.prefix_len).unwrap_or(self.subnet)
    }

    /// The gateway as an address.
    pub fn gateway_ip(&self) -> IpAddr {
        self.gateway.ip()
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start.ip(), self.end.ip())
    }
}

/// Disjoint ranges of one family; one address is allocated from the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeSet {
    /// The ranges, in configuration order (allocation walks them in this order).
    pub ranges: Vec<Range>,
}

impl RangeSet {
    /// Validates a range set found at `path` (`ipam.ranges[2]`), each range with its own path
    /// (`ipam.ranges[2][0]`, or `ipam` for the legacy top-level keys): non-empty, one family,
    /// no two ranges overlapping.
    pub fn from_config(set: &[(IpRange, String)], path: &str) -> Result<RangeSet, IpamError> {
        if set.is_empty() {
            return Err(IpamError::invalid(path, "empty range set"));
        }
        let mut ranges: Vec<Range> = Vec::with_capacity(set.len());
        for (r, here) in set {
            let range = Range::from_config(r, here)?;
            if let Some(first) = ranges.first() {
                if first.family() != range.family() {
                    return Err(IpamError::invalid(
                        join(here, "subnet"),
                        "mixed address families in one range set",
                    ));
                }
            }
            if let Some(k) = ranges.iter().position(|o| o.overlaps(&range)) {
                let other = set.get(k).map_or("", |(_, p)| p.as_str());
                return Err(IpamError::invalid(
                    here,
                    format!("range {range} overlaps with {other}"),
                ));
            }
            ranges.push(range);
        }
        Ok(RangeSet { ranges })
    }

    /// The family of every range of the set.
    pub fn family(&self) -> IpFamily {
        self.ranges.first().map_or(IpFamily::V4, Range::family)
    }

    /// The range `ip` may be handed out from.
    pub fn range_for(&self, ip: Addr) -> Option<&Range> {
        self.ranges.iter().find(|r| r.contains(ip))
    }

    /// The range whose subnet holds `ip`, even outside its start and end (for results of
    /// addresses reserved under another configuration).
    pub fn subnet_for(&self, ip: Addr) -> Option<&Range> {
        self.ranges.iter().find(|r| {
            ip.family == r.family()
                && ip.value & !host_mask(r.family(), r.prefix_len) == r.network.value
        })
    }

    /// Whether two sets share an address.
    pub fn overlaps(&self, other: &RangeSet) -> bool {
        self.ranges
            .iter()
            .any(|a| other.ranges.iter().any(|b| a.overlaps(b)))
    }
}

impl fmt::Display for RangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}
