//! Getting this node's subnet(s): our own lease reused, else the subnet a previous run wrote
//! to subnet.env while it is free, else a free subnet chosen uniformly over the whole range
//! (flannel picks among the first 100 free ones, which packs every new node at the start of
//! the range). Each claim is a create-if-absent; a lost race is retried with a fresh listing,
//! never fatal.

use std::collections::BTreeSet;

use twill_kernel::IpPrefix;

use crate::config::NetworkConfig;
use crate::lease::{Attrs, Lease};
use crate::store::{Store, StoreError};
use crate::subnet::{lease_key, Range};

/// How many lost races in a row before giving the error back to the agent's backoff.
const ATTEMPTS: u32 = 16;

/// This node's claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acquired {
    /// IPv4 subnet.
    pub ipv4: Option<IpPrefix>,
    /// IPv6 subnet.
    pub ipv6: Option<IpPrefix>,
    /// How it was obtained (for the log).
    pub how: &'static str,
}

impl Acquired {
    /// The store key.
    pub fn key(&self) -> String {
        lease_key(self.ipv4.as_ref(), self.ipv6.as_ref())
    }
}

/// Why no subnet could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcquireError {
    /// Every subnet of the range is held.
    #[error("out of subnets: all {count} /{len} subnets of {network} are leased")]
    OutOfSubnets {
        /// The network.
        network: IpPrefix,
        /// The subnet length.
        len: u8,
        /// How many subnets the range has.
        count: u128,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Other agents kept winning.
    #[error("lost {0} races for a free subnet in a row; retrying later")]
    Contended(u32),
}

/// A random number in `0..n` (n > 0) from the kernel's generator.
fn random_below(n: u128) -> u128 {
    let mut buf = [0u8; 16];
    // SAFETY: getrandom writes at most buf.len() bytes into buf.
    let got = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    let mut v = u128::from_ne_bytes(buf);
    if got != 16 {
        // The kernel's pool cannot fail after boot; if it ever did, the time still spreads.
        v = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
    }
    v % n
}

/// A free subnet of `range` given the taken ones: a uniformly random start, then the first
/// free index from there (wrapping). Costs at most `taken.len() + 1` steps.
pub fn pick_free(range: &Range, taken: &BTreeSet<u128>, start: u128) -> Option<u128> {
    let len = range.len();
    let bound = u128::try_from(taken.len())
        .unwrap_or(u128::MAX)
        .saturating_add(1);
    (0..bound.min(len))
        .map(|step| range.min + (start + step) % len)
        .find(|i| !taken.contains(i))
}

fn fits(range: Option<&Range>, subnet: Option<&IpPrefix>) -> bool {
    match (range, subnet) {
        (Some(r), Some(s)) => r.index_of(s).is_some(),
        (None, None) => true,
        _ => false,
    }
}

/// Whether a lease is valid under `config`.
pub fn lease_fits(
    config: &NetworkConfig,
    ipv4: Option<&IpPrefix>,
    ipv6: Option<&IpPrefix>,
) -> bool {
    fits(config.ipv4.as_ref(), ipv4) && fits(config.ipv6.as_ref(), ipv6)
}

fn taken(leases: &[Lease], range: Option<&Range>, v6: bool) -> BTreeSet<u128> {
    let Some(r) = range else {
        return BTreeSet::new();
    };
    leases
        .iter()
        .filter_map(|l| if v6 { l.ipv6 } else { l.ipv4 })
        .filter_map(|s| r.index_of(&s))
        .collect()
}

fn choose(range: Option<&Range>, taken: &BTreeSet<u128>) -> Result<Option<IpPrefix>, AcquireError> {
    let Some(r) = range else {
        return Ok(None);
    };
    let start = random_below(r.len());
    let i = pick_free(r, taken, start).ok_or(AcquireError::OutOfSubnets {
        network: r.network,
        len: r.sub_len,
        count: r.len(),
    })?;
    Ok(Some(r.subnet(i)))
}

/// Claims this node's subnet(s) in `store` and publishes `attrs` under them.
pub async fn acquire<S: Store>(
    store: &mut S,
    config: &NetworkConfig,
    attrs: &Attrs,
    previous: Option<(Option<IpPrefix>, Option<IpPrefix>)>,
) -> Result<Acquired, AcquireError> {
    let value = attrs.to_json();
    for _ in 0..ATTEMPTS {
        let listing = store.list().await?;
        let leases = listing.leases;
        // 1. Our own lease (same public address) that still fits the config.
        let mut reuse = None;
        for l in leases.iter().filter(|l| attrs.same_node(&l.attrs)) {
            if reuse.is_none() && lease_fits(config, l.ipv4.as_ref(), l.ipv6.as_ref()) {
                reuse = Some(l.clone());
            } else {
                // Ours but stale (the config changed, or a duplicate): peers would route an
                // old subnet to us. Release it.
                store.delete(&l.key()).await?;
            }
        }
        if let Some(l) = reuse {
            store.put(&l.key(), &value).await?;
            return Ok(Acquired {
                ipv4: l.ipv4,
                ipv6: l.ipv6,
                how: "reused our lease",
            });
        }
        let taken4 = taken(&leases, config.ipv4.as_ref(), false);
        let taken6 = taken(&leases, config.ipv6.as_ref(), true);
        // 2. The subnet a previous run of this node wrote to subnet.env, while free.
        if let Some((v4, v6)) = previous {
            let free4 = v4.is_none_or_free(config.ipv4.as_ref(), &taken4);
            let free6 = v6.is_none_or_free(config.ipv6.as_ref(), &taken6);
            if lease_fits(config, v4.as_ref(), v6.as_ref()) && free4 && free6 {
                let a = Acquired {
                    ipv4: v4,
                    ipv6: v6,
                    how: "subnet from subnet.env",
                };
                if store.create(&a.key(), &value).await? {
                    return Ok(a);
                }
                continue;
            }
        }
        // 3. A free subnet anywhere in the range.
        let a = Acquired {
            ipv4: choose(config.ipv4.as_ref(), &taken4)?,
            ipv6: choose(config.ipv6.as_ref(), &taken6)?,
            how: "new subnet",
        };
        if store.create(&a.key(), &value).await? {
            return Ok(a);
        }
    }
    Err(AcquireError::Contended(ATTEMPTS))
}

trait FreeIn {
    fn is_none_or_free(&self, range: Option<&Range>, taken: &BTreeSet<u128>) -> bool;
}

impl FreeIn for Option<IpPrefix> {
    fn is_none_or_free(&self, range: Option<&Range>, taken: &BTreeSet<u128>) -> bool {
        match (self, range) {
            (None, _) => true,
            (Some(s), Some(r)) => r.index_of(s).is_some_and(|i| !taken.contains(&i)),
            (Some(_), None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn range() -> Range {
        Range::new("10.244.0.0/16".parse().unwrap(), 24).unwrap()
    }

    #[test]
    fn picks_the_first_free_from_the_start_and_wraps() {
        let r = range();
        let taken: BTreeSet<u128> = [5, 6, 7].into();
        assert_eq!(pick_free(&r, &taken, 4), Some(8)); // start index 4 is subnet 5
        assert_eq!(pick_free(&r, &taken, 0), Some(1));
        assert_eq!(pick_free(&r, &BTreeSet::new(), 254), Some(255));
        let all: BTreeSet<u128> = (1..=255).collect();
        assert_eq!(pick_free(&r, &all, 17), None);
        let but_one: BTreeSet<u128> = (1..=255).filter(|i| *i != 3).collect();
        assert_eq!(pick_free(&r, &but_one, 200), Some(3));
    }

    #[test]
    fn choices_spread_over_the_whole_range() {
        let r = range();
        let mut seen_high = false;
        for _ in 0..64 {
            let i = pick_free(&r, &BTreeSet::new(), random_below(r.len())).unwrap();
            assert!((1..=255).contains(&i));
            seen_high |= i > 128;
        }
        assert!(seen_high, "64 draws never left the first half");
    }
}
