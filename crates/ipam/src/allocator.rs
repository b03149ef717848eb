//! Which address to try next: round-robin through a range set, starting after the last address
//! handed out, wrapping from the end of one range to the start of the next, and skipping the
//! gateways. A crash-looping container thus sees a new address each time, and allocation is
//! O(1) amortized: each candidate costs one `link(2)` that fails only if the address is held.

use std::net::IpAddr;

use crate::addr::Addr;
use crate::error::IpamError;
use crate::range::{Range, RangeSet};
use crate::store::{Claimer, Store};

/// Candidate addresses of a range set, as `(range index, address)`, each visited at most once.
#[derive(Debug, Clone)]
pub struct Candidates<'a> {
    set: &'a RangeSet,
    pos: (usize, Addr),
    advance_first: bool,
    first: Option<(usize, Addr)>,
    done: bool,
}

impl<'a> Candidates<'a> {
    /// The order after `last` (the previous allocation) when the set contains it, else from
    /// the start of the first range. `last` itself comes last.
    pub fn new(set: &'a RangeSet, last: Option<IpAddr>) -> Candidates<'a> {
        let resume = last.map(Addr::from_ip).and_then(|a| {
            set.ranges
                .iter()
                .position(|r| r.contains(a))
                .map(|i| (i, a))
        });
        let (pos, advance_first, done) = match (resume, set.ranges.first()) {
            (Some(p), _) => (p, true, false),
            (None, Some(r)) => ((0, r.start), false, false),
            (None, None) => ((0, Addr::from_ip(IpAddr::from([0, 0, 0, 0]))), false, true),
        };
        Candidates {
            set,
            pos,
            advance_first,
            first: None,
            done,
        }
    }

    fn advance(&self, (i, a): (usize, Addr)) -> (usize, Addr) {
        let n = self.set.ranges.len().max(1);
        match self.set.ranges.get(i) {
            Some(r) if a < r.end => (i, a.next().unwrap_or(r.start)),
            _ => {
                let j = (i + 1) % n;
                let start = self.set.ranges.get(j).map_or(a, |r| r.start);
                (j, start)
            }
        }
    }
}

impl Iterator for Candidates<'_> {
    type Item = (usize, Addr);

    fn next(&mut self) -> Option<(usize, Addr)> {
        if self.done {
            return None;
        }
        let pos = if self.advance_first {
            self.advance(self.pos)
        } else {
            self.pos
        };
        self.advance_first = true;
        match self.first {
            None => self.first = Some(pos),
            Some(first) if first == pos => {
                self.done = true;
                return None;
            }
            Some(_) => {}
        }
        self.pos = pos;
        Some(pos)
    }
}

/// Reserves the next free address of range set `index` for the claimer's attachment and
/// records it as the set's last reservation.
pub fn allocate<'s>(
    store: &Store,
    claimer: &Claimer<'_>,
    set: &'s RangeSet,
    index: usize,
) -> Result<(Addr, &'s Range), IpamError> {
    for (i, addr) in Candidates::new(set, store.last_reserved(index)) {
        let Some(range) = set.ranges.get(i) else {
            continue;
        };
        if addr == range.gateway {
            continue;
        }
        if claimer.claim(addr.ip())? {
            store.set_last_reserved(index, addr.ip())?;
            return Ok((addr, range));
        }
    }
    Err(IpamError::Exhausted {
        set: index,
        ranges: set.to_string(),
    })
}

/// Reserves the requested `ip` in range set `index`.
pub fn reserve_requested<'s>(
    store: &Store,
    claimer: &Claimer<'_>,
    set: &'s RangeSet,
    index: usize,
    ip: IpAddr,
) -> Result<(Addr, &'s Range), IpamError> {
    let addr = Addr::from_ip(ip);
    let taken = || IpamError::Taken {
        ip,
        set: index,
        ranges: set.to_string(),
    };
    let range = set.range_for(addr).ok_or_else(taken)?;
    if !claimer.claim(addr.ip())? {
        return Err(taken());
    }
    store.set_last_reserved(index, addr.ip())?;
    Ok((addr, range))
}

#[cfg(test)]
mod tests {
    use super::*;
    use twill_cni::config::IpRange;

    fn set(ranges: &[(&str, Option<&str>, Option<&str>)]) -> RangeSet {
        let conf: Vec<(IpRange, String)> = ranges
            .iter()
            .map(|(s, a, b)| {
                let r = IpRange {
                    subnet: (*s).into(),
                    range_start: a.map(Into::into),
                    range_end: b.map(Into::into),
                    gateway: None,
                };
                (r, String::new())
            })
            .collect();
        RangeSet::from_config(&conf, "t").unwrap()
    }

    fn order(s: &RangeSet, last: Option<&str>) -> Vec<String> {
        Candidates::new(s, last.map(|l| l.parse().unwrap()))
            .map(|(_, a)| a.ip().to_string())
            .collect()
    }

    #[test]
    fn starts_at_range_start_and_visits_each_once() {
        let s = set(&[("10.0.0.0/29", None, None)]);
        assert_eq!(
            order(&s, None),
            ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
        );
    }

    #[test]
    fn resumes_after_last_and_wraps_with_last_at_the_end() {
        let s = set(&[("10.0.0.0/29", None, None)]);
        assert_eq!(
            order(&s, Some("10.0.0.4")),
            ["10.0.0.5", "10.0.0.6", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]
        );
        // A last address outside the set (the ranges changed) restarts from the beginning.
        assert_eq!(
            order(&s, Some("10.9.9.9")).first().map(String::as_str),
            Some("10.0.0.1")
        );
    }

    #[test]
    fn walks_ranges_in_order_across_a_set() {
        let s = set(&[
            ("10.0.0.0/24", Some("10.0.0.10"), Some("10.0.0.11")),
            ("10.0.1.0/24", Some("10.0.1.20"), Some("10.0.1.21")),
        ]);
        assert_eq!(
            order(&s, Some("10.0.0.11")),
            ["10.0.1.20", "10.0.1.21", "10.0.0.10", "10.0.0.11"]
        );
        assert_eq!(
            order(&s, Some("10.0.1.21")),
            ["10.0.0.10", "10.0.0.11", "10.0.1.20", "10.0.1.21"]
        );
    }

    #[test]
    fn ipv6_last_address_is_included() {
        let s = set(&[("fd00::/126", None, None)]);
        assert_eq!(order(&s, None), ["fd00::1", "fd00::2", "fd00::3"]);
    }
}
