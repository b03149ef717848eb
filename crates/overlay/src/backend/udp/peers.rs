//! The peer table: which node's underlay address a pod address lives behind, and the
//! filters that keep the backend from being an open relay or a spoofing target.
//!
//! A cluster has one subnet per node and usually one prefix length per family, so the
//! table groups subnets by prefix length (longest first) and binary-searches each group:
//! a lookup costs a mask and a search per distinct length, not a scan over every node.

use std::net::IpAddr;

use twill_kernel::IpPrefix;

/// Subnet → peer underlay address, longest prefix first; plus the set of peer addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerTable {
    /// One group per (family, prefix length), longest first.
    groups: Vec<Group>,
    /// Every peer's underlay address, sorted, for the source check.
    sources: Vec<IpAddr>,
}

/// All subnets of one family and prefix length, sorted by network address.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    v6: bool,
    len: u8,
    /// (network address as an integer, peer).
    entries: Vec<(u128, IpAddr)>,
}

impl PeerTable {
    /// Builds the table. For a subnet listed twice the last entry wins (the reconciler
    /// never does that; a table must still be deterministic if it does).
    pub fn new(peers: Vec<(IpPrefix, IpAddr)>) -> Self {
        let mut groups: Vec<Group> = Vec::new();
        let mut sources = Vec::with_capacity(peers.len());
        for (subnet, peer) in peers {
            let peer = canonical(peer);
            sources.push(peer);
            let (v6, len) = (is_v6(subnet.addr()), subnet.len());
            let key = masked(subnet.addr(), len);
            let at = match groups.iter().position(|g| g.v6 == v6 && g.len == len) {
                Some(at) => at,
                None => {
                    groups.push(Group {
                        v6,
                        len,
                        entries: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            if let Some(group) = groups.get_mut(at) {
                group.entries.retain(|(k, _)| *k != key);
                group.entries.push((key, peer));
            }
        }
        for g in &mut groups {
            g.entries.sort_unstable_by_key(|(k, _)| *k);
        }
        groups.sort_by(|a, b| b.len.cmp(&a.len).then(a.v6.cmp(&b.v6)));
        sources.sort_unstable();
        sources.dedup();
        PeerTable { groups, sources }
    }

    /// The underlay address of the peer whose subnet most specifically contains `dst`.
    pub fn lookup(&self, dst: IpAddr) -> Option<IpAddr> {
        let v6 = is_v6(dst);
        self.groups.iter().filter(|g| g.v6 == v6).find_map(|g| {
            let key = masked(dst, g.len);
            g.entries
                .binary_search_by_key(&key, |(k, _)| *k)
                .ok()
                .and_then(|i| g.entries.get(i))
                .map(|(_, peer)| *peer)
        })
    }

    /// Whether `src` (a datagram's outer source) is some peer's underlay address.
    pub fn is_peer(&self, src: IpAddr) -> bool {
        self.sources.binary_search(&canonical(src)).is_ok()
    }

    /// How many subnets the table holds.
    pub fn len(&self) -> usize {
        self.groups.iter().map(|g| g.entries.len()).sum()
    }

    /// Whether the table holds no subnet.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

/// Our own subnets: the only destinations a received datagram may have. Without this
/// check anyone who can reach the port could bounce packets through us to any address
/// our routing table reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnSubnets(Vec<IpPrefix>);

impl OwnSubnets {
    /// Our subnets (host bits are ignored).
    pub fn new(own: &[IpPrefix]) -> Self {
        OwnSubnets(own.iter().map(IpPrefix::network).collect())
    }

    /// Whether `dst` is inside one of our subnets.
    pub fn contains(&self, dst: IpAddr) -> bool {
        self.0.iter().any(|p| contains(p, dst))
    }
}

/// Whether `prefix` contains `addr` (different families never do).
pub fn contains(prefix: &IpPrefix, addr: IpAddr) -> bool {
    is_v6(prefix.addr()) == is_v6(addr)
        && masked(prefix.addr(), prefix.len()) == masked(addr, prefix.len())
}

fn is_v6(addr: IpAddr) -> bool {
    matches!(addr, IpAddr::V6(_))
}

/// `addr` with all but its first `len` bits cleared, as an integer (IPv4 in the low bits).
fn masked(addr: IpAddr, len: u8) -> u128 {
    match addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            u128::from(u32::from(a) & mask)
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            u128::from(a) & mask
        }
    }
}

/// An IPv4 peer seen through a dual-stack IPv6 socket arrives as `::ffff:a.b.c.d`.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpPrefix {
        s.parse().unwrap()
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn table() -> PeerTable {
        PeerTable::new(vec![
            (p("10.244.2.0/24"), ip("198.18.0.2")),
            (p("10.244.3.0/24"), ip("198.18.0.3")),
            // A more specific subnet inside a peer's: longest match must win.
            (p("10.244.3.128/25"), ip("198.18.0.4")),
            (p("10.244.0.0/16"), ip("198.18.0.9")),
            (p("fd00:244:2::/64"), ip("198.18.0.2")),
        ])
    }

    #[test]
    fn lookup_takes_the_longest_matching_subnet() {
        let t = table();
        assert_eq!(t.len(), 5);
        assert_eq!(t.lookup(ip("10.244.2.0")), Some(ip("198.18.0.2")));
        assert_eq!(t.lookup(ip("10.244.2.255")), Some(ip("198.18.0.2")));
        assert_eq!(t.lookup(ip("10.244.3.127")), Some(ip("198.18.0.3")));
        assert_eq!(t.lookup(ip("10.244.3.128")), Some(ip("198.18.0.4")));
        assert_eq!(t.lookup(ip("10.244.99.1")), Some(ip("198.18.0.9")));
        assert_eq!(t.lookup(ip("10.245.0.1")), None);
        assert_eq!(t.lookup(ip("fd00:244:2::5")), Some(ip("198.18.0.2")));
        assert_eq!(t.lookup(ip("fd00:244:3::5")), None);
        // An IPv4 address never matches an IPv6 subnet with the same bits, and back.
        assert_eq!(t.lookup(ip("::a00:0201")), None);
    }

    #[test]
    fn host_bits_in_a_subnet_are_ignored_and_the_last_duplicate_wins() {
        let t = PeerTable::new(vec![
            (p("10.244.2.7/24"), ip("198.18.0.2")),
            (p("10.244.2.0/24"), ip("198.18.0.5")),
        ]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.lookup(ip("10.244.2.1")), Some(ip("198.18.0.5")));
        assert!(t.is_peer(ip("198.18.0.2")) && t.is_peer(ip("198.18.0.5")));
    }

    #[test]
    fn an_empty_table_finds_nothing() {
        let t = PeerTable::new(Vec::new());
        assert!(t.is_empty());
        assert_eq!(t.lookup(ip("10.244.2.1")), None);
        assert!(!t.is_peer(ip("198.18.0.2")));
    }

    #[test]
    fn a_default_route_entry_matches_everything_of_its_family() {
        let t = PeerTable::new(vec![(p("0.0.0.0/0"), ip("198.18.0.7"))]);
        assert_eq!(t.lookup(ip("1.2.3.4")), Some(ip("198.18.0.7")));
        assert_eq!(t.lookup(ip("::1")), None);
    }

    #[test]
    fn only_peers_addresses_are_accepted_as_sources() {
        let t = table();
        for known in ["198.18.0.2", "198.18.0.3", "198.18.0.4", "198.18.0.9"] {
            assert!(t.is_peer(ip(known)), "{known}");
        }
        // Seen through a dual-stack socket.
        assert!(t.is_peer(ip("::ffff:198.18.0.2")));
        for spoofed in ["198.18.0.1", "198.18.0.22", "10.244.2.1", "::1"] {
            assert!(!t.is_peer(ip(spoofed)), "{spoofed}");
        }
    }

    #[test]
    fn only_our_own_subnets_are_delivered() {
        let own = OwnSubnets::new(&[p("10.244.1.0/24"), p("fd00:244:1::/64")]);
        assert!(own.contains(ip("10.244.1.0")));
        assert!(own.contains(ip("10.244.1.255")));
        assert!(own.contains(ip("fd00:244:1::ffff")));
        // Another node's pods, the rest of the network, anything else: refused.
        for other in ["10.244.2.1", "10.244.0.255", "8.8.8.8", "fd00:244:2::1"] {
            assert!(!own.contains(ip(other)), "{other}");
        }
    }
}
