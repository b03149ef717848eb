//! The per-peer data plane as plain values, and the difference between two of them.
//!
//! This is the core of "level-triggered": the agent never applies an event. It renders the
//! state that should exist ([`crate::desired`]), reads the state that does exist through a
//! [`Dataplane`] (the kernel, or a fake in tests), and applies [`diff`]. A restart, a missed
//! watch event or a hand edit all end the same way: the kernel matches the leases.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use twill_kernel::{IpPrefix, MacAddr};

/// A route to a peer's subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteEntry {
    /// The peer's subnet.
    pub dst: IpPrefix,
    /// Next hop: the peer's VTEP address (vxlan) or public address (host-gw, direct).
    pub gateway: IpAddr,
    /// Output device.
    pub dev: u32,
    /// Gateway on-link without a covering prefix (vxlan's `.0` addresses).
    pub onlink: bool,
}

/// The kernel's objects the agent owns, keyed the way the kernel keys them, so that one
/// key never holds two values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Routes by destination (address, length).
    pub routes: BTreeMap<(IpAddr, u8), RouteEntry>,
    /// Permanent neighbours: (device, address) → MAC.
    pub neighs: BTreeMap<(u32, IpAddr), MacAddr>,
    /// vxlan FDB entries: (device, MAC) → remote underlay address.
    pub fdb: BTreeMap<(u32, [u8; 6]), IpAddr>,
}

impl State {
    /// Adds a route (the last one for a destination wins).
    pub fn route(&mut self, r: RouteEntry) {
        self.routes.insert((r.dst.addr(), r.dst.len()), r);
    }

    /// Adds a permanent neighbour.
    pub fn neigh(&mut self, dev: u32, ip: IpAddr, mac: MacAddr) {
        self.neighs.insert((dev, ip), mac);
    }

    /// Adds an FDB entry.
    pub fn fdb(&mut self, dev: u32, mac: MacAddr, remote: IpAddr) {
        self.fdb.insert((dev, mac.0), remote);
    }

    /// How many objects the state holds.
    pub fn len(&self) -> usize {
        self.routes.len() + self.neighs.len() + self.fdb.len()
    }

    /// Whether the state holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One change to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Create or replace a permanent neighbour.
    SetNeigh {
        /// Device.
        dev: u32,
        /// Address.
        ip: IpAddr,
        /// MAC.
        mac: MacAddr,
    },
    /// Delete a neighbour.
    DelNeigh {
        /// Device.
        dev: u32,
        /// Address.
        ip: IpAddr,
    },
    /// Create or replace an FDB entry.
    SetFdb {
        /// Device.
        dev: u32,
        /// MAC.
        mac: MacAddr,
        /// Remote underlay address.
        remote: IpAddr,
    },
    /// Delete an FDB entry.
    DelFdb {
        /// Device.
        dev: u32,
        /// MAC.
        mac: MacAddr,
        /// Remote underlay address.
        remote: IpAddr,
    },
    /// Create or replace a route.
    SetRoute(RouteEntry),
    /// Delete a route.
    DelRoute(RouteEntry),
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::SetNeigh { dev, ip, mac } => write!(f, "neighbour {ip} lladdr {mac} dev {dev}"),
            Change::DelNeigh { dev, ip } => write!(f, "delete neighbour {ip} dev {dev}"),
            Change::SetFdb { dev, mac, remote } => write!(f, "fdb {mac} dst {remote} dev {dev}"),
            Change::DelFdb { dev, mac, remote } => {
                write!(f, "delete fdb {mac} dst {remote} dev {dev}")
            }
            Change::SetRoute(r) => write!(f, "route {} via {} dev {}", r.dst, r.gateway, r.dev),
            Change::DelRoute(r) => write!(f, "delete route {} via {}", r.dst, r.gateway),
        }
    }
}

/// The changes that turn `actual` into `desired`: stale objects go first (routes before
/// the FDB and neighbour entries they use), then missing or wrong ones are set (neighbour,
/// FDB, then the route, so no packet is routed to a VTEP that cannot be resolved yet —
/// flannel's order). Objects equal on both sides are left alone: a restart that finds
/// everything in place changes nothing.
pub fn diff(desired: &State, actual: &State) -> Vec<Change> {
    let mut out = Vec::new();
    for (k, r) in &actual.routes {
        if !desired.routes.contains_key(k) {
            out.push(Change::DelRoute(*r));
        }
    }
    for (&(dev, mac), &remote) in &actual.fdb {
        if !desired.fdb.contains_key(&(dev, mac)) {
            out.push(Change::DelFdb {
                dev,
                mac: MacAddr(mac),
                remote,
            });
        }
    }
    for &(dev, ip) in actual.neighs.keys() {
        if !desired.neighs.contains_key(&(dev, ip)) {
            out.push(Change::DelNeigh { dev, ip });
        }
    }
    for (&(dev, ip), &mac) in &desired.neighs {
        if actual.neighs.get(&(dev, ip)) != Some(&mac) {
            out.push(Change::SetNeigh { dev, ip, mac });
        }
    }
    for (&(dev, mac), &remote) in &desired.fdb {
        if actual.fdb.get(&(dev, mac)) != Some(&remote) {
            out.push(Change::SetFdb {
                dev,
                mac: MacAddr(mac),
                remote,
            });
        }
    }
    for (k, r) in &desired.routes {
        if actual.routes.get(k) != Some(r) {
            out.push(Change::SetRoute(*r));
        }
    }
    out
}

/// What the reconciler observes and changes. The kernel implements it for real; unit tests
/// use a map.
pub trait Dataplane {
    /// The error of an observation or a change.
    type Error: fmt::Display;

    /// Reads the agent's objects as they are now.
    fn observe(&mut self) -> Result<State, Self::Error>;

    /// Applies one change.
    fn apply(&mut self, change: &Change) -> Result<(), Self::Error>;
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    /// Changes applied.
    pub applied: usize,
    /// Changes that failed, with the reason. The pass goes on after a failure: one bad peer
    /// never keeps the others unrouted.
    pub errors: Vec<String>,
}

/// Observes, diffs and applies.
pub fn reconcile<D: Dataplane>(dp: &mut D, desired: &State) -> Result<Pass, D::Error> {
    let actual = dp.observe()?;
    let mut pass = Pass::default();
    for change in diff(desired, &actual) {
        match dp.apply(&change) {
            Ok(()) => pass.applied += 1,
            Err(e) => pass.errors.push(format!("{change}: {e}")),
        }
    }
    Ok(pass)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A kernel made of maps, which can be told to fail one kind of change.
    #[derive(Default)]
    struct Fake {
        state: State,
        fail_routes: bool,
        log: Vec<Change>,
    }

    impl Dataplane for Fake {
        type Error = String;
        fn observe(&mut self) -> Result<State, String> {
            Ok(self.state.clone())
        }
        fn apply(&mut self, c: &Change) -> Result<(), String> {
            self.log.push(*c);
            match *c {
                Change::SetNeigh { dev, ip, mac } => self.state.neigh(dev, ip, mac),
                Change::DelNeigh { dev, ip } => {
                    self.state.neighs.remove(&(dev, ip));
                }
                Change::SetFdb { dev, mac, remote } => self.state.fdb(dev, mac, remote),
                Change::DelFdb { dev, mac, .. } => {
                    self.state.fdb.remove(&(dev, mac.0));
                }
                Change::SetRoute(r) if self.fail_routes => {
                    return Err(format!("no route to {}", r.gateway))
                }
                Change::SetRoute(r) => self.state.route(r),
                Change::DelRoute(r) => {
                    self.state.routes.remove(&(r.dst.addr(), r.dst.len()));
                }
            }
            Ok(())
        }
    }

    fn peer(state: &mut State, n: u8, mac_last: u8) {
        let mac = MacAddr([2, 0, 0, 0, 0, mac_last]);
        let vtep: IpAddr = format!("10.244.{n}.0").parse().unwrap();
        state.neigh(9, vtep, mac);
        state.fdb(9, mac, format!("198.18.0.{n}").parse().unwrap());
        state.route(RouteEntry {
            dst: format!("10.244.{n}.0/24").parse().unwrap(),
            gateway: vtep,
            dev: 9,
            onlink: true,
        });
    }

    #[test]
    fn missing_peers_are_added_in_flannels_order() {
        let mut want = State::default();
        peer(&mut want, 2, 2);
        let changes = diff(&want, &State::default());
        assert!(matches!(changes[0], Change::SetNeigh { .. }));
        assert!(matches!(changes[1], Change::SetFdb { .. }));
        assert!(matches!(changes[2], Change::SetRoute(_)));
        assert_eq!(changes.len(), 3);
    }

    #[test]
    fn departed_peers_are_removed_route_first_and_equal_state_changes_nothing() {
        let mut have = State::default();
        peer(&mut have, 2, 2);
        peer(&mut have, 3, 3);
        let mut want = State::default();
        peer(&mut want, 2, 2);
        let changes = diff(&want, &have);
        assert_eq!(changes.len(), 3);
        assert!(matches!(changes[0], Change::DelRoute(_)));
        assert!(matches!(changes[1], Change::DelFdb { .. }));
        assert!(matches!(changes[2], Change::DelNeigh { .. }));
        assert!(diff(&want, &want).is_empty());
    }

    #[test]
    fn a_peer_whose_mac_changed_is_replaced_not_duplicated() {
        let mut have = State::default();
        peer(&mut have, 2, 2);
        let mut want = State::default();
        peer(&mut want, 2, 7);
        let mut fake = Fake {
            state: have,
            ..Fake::default()
        };
        let pass = reconcile(&mut fake, &want).unwrap();
        assert!(pass.errors.is_empty());
        assert_eq!(fake.state, want);
        // The stale FDB entry (old MAC) goes, the neighbour is replaced in place.
        assert_eq!(fake.log.len(), 3, "{:?}", fake.log);
        assert!(reconcile(&mut fake, &want).unwrap().applied == 0);
    }

    #[test]
    fn one_failure_does_not_stop_the_pass_and_the_next_pass_repairs() {
        let mut want = State::default();
        peer(&mut want, 2, 2);
        peer(&mut want, 3, 3);
        let mut fake = Fake {
            fail_routes: true,
            ..Fake::default()
        };
        let pass = reconcile(&mut fake, &want).unwrap();
        assert_eq!(pass.errors.len(), 2);
        assert_eq!(pass.applied, 4);
        fake.fail_routes = false;
        let pass = reconcile(&mut fake, &want).unwrap();
        assert_eq!((pass.applied, pass.errors.len()), (2, 0));
        assert_eq!(fake.state, want);
    }
}
