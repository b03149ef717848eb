//! The TUN device: created in the calling thread's namespace, one queue per forwarding
//! lane, addressed so that the kernel's connected route sends the whole pod network to it.
//!
//! flannel's layout: the device holds the first address of our subnet with the *network's*
//! prefix length (10.244.1.0/16 for subnet 10.244.1.0/24 of 10.244.0.0/16). The prefix
//! route the kernel adds for that address is the one route the backend needs; the bridge's
//! more specific route keeps our own subnet local.

use std::fs::File;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use twill_kernel::tun::{vnet::VNET_HDR_LEN, Offloads, TunOptions};
use twill_kernel::{tun, AddrFlags, Address, IpFamily, IpPrefix, LinkId, Netlink};

use super::error::UdpError;
use super::peers::contains;
use super::UdpConfig;
use crate::config::BackendType;

/// The smallest MTU IPv4 allows, and the smallest IPv6 allows (below it the kernel
/// silently removes IPv6 from the device).
const MIN_MTU_V4: u32 = 68;
const MIN_MTU_V6: u32 = 1280;

/// The running TUN device: its queues and a netlink socket in its namespace.
#[derive(Debug)]
pub(super) struct Device {
    name: String,
    index: u32,
    queues: Vec<Arc<File>>,
    nl: Netlink,
    /// Whether every packet on the queues has a `virtio_net_hdr` in front.
    pub vnet_hdr: bool,
    /// The offloads the kernel accepted.
    pub offloads: Offloads,
}

/// Every offload the data path can use.
pub(super) const ALL_OFFLOADS: Offloads = LADDER[0];

/// The offloads to ask for, most first. The kernel takes a set whole or refuses it with
/// EINVAL (USO before Linux 6.2), so each refusal drops what is newest.
const LADDER: [Offloads; 4] = [
    Offloads::CSUM
        .with(Offloads::TSO4)
        .with(Offloads::TSO6)
        .with(Offloads::TSO_ECN)
        .with(Offloads::USO4)
        .with(Offloads::USO6),
    Offloads::CSUM
        .with(Offloads::TSO4)
        .with(Offloads::TSO6)
        .with(Offloads::TSO_ECN),
    Offloads::CSUM.with(Offloads::TSO4).with(Offloads::TSO6),
    Offloads::CSUM,
];

/// Sets the most offloads (within `wanted`) that `set` accepts and returns them; none
/// if it accepts nothing, in which case the device hands over whole, checksummed packets
/// and the data path works as without vnet headers, packet by packet.
pub(super) fn negotiate<E>(
    wanted: Offloads,
    mut set: impl FnMut(Offloads) -> Result<(), E>,
) -> Offloads {
    let mut tried = Vec::with_capacity(LADDER.len());
    for rung in LADDER {
        let o = rung.intersect(wanted);
        if o == Offloads::NONE || tried.contains(&o) {
            continue;
        }
        tried.push(o);
        if set(o).is_ok() {
            return o;
        }
    }
    let _ = set(Offloads::NONE);
    Offloads::NONE
}

/// The addresses the device gets: each own subnet's first address with the length of the
/// network that contains it.
pub(super) fn addresses(
    own: &[IpPrefix],
    networks: &[IpPrefix],
) -> Result<Vec<IpPrefix>, UdpError> {
    if own.is_empty() {
        return Err(UdpError::Config("no own subnet".into()));
    }
    own.iter()
        .map(|subnet| {
            let net = networks
                .iter()
                .filter(|n| n.len() <= subnet.len() && contains(n, subnet.addr()))
                .min_by_key(|n| n.len())
                .ok_or_else(|| {
                    UdpError::Config(format!(
                        "own subnet {subnet} is inside none of the networks"
                    ))
                })?;
            IpPrefix::new(subnet.network().addr(), net.len())
                .map_err(|e| UdpError::Config(e.to_string()))
        })
        .collect()
}

/// The TUN MTU: the configured one, else the underlay's minus the encapsulation.
fn mtu(cfg: &UdpConfig, nl: &mut Netlink) -> Result<u32, UdpError> {
    let mtu = if cfg.mtu != 0 {
        cfg.mtu
    } else {
        let family = IpFamily::of(&cfg.bind);
        let err = |error| UdpError::Device {
            device: cfg.tun_name.clone(),
            error,
        };
        let holder = nl
            .addr_list(Some(family), None)
            .map_err(err)?
            .into_iter()
            .find(|a| a.prefix.addr() == cfg.bind)
            .ok_or(UdpError::NoUnderlay(cfg.bind))?;
        let link = nl.link_get(LinkId::Index(holder.index)).map_err(err)?;
        link.mtu.saturating_sub(BackendType::Udp.overhead(family))
    };
    let v6 = cfg.own.iter().any(|p| matches!(p.addr(), IpAddr::V6(_)));
    let min = if v6 { MIN_MTU_V6 } else { MIN_MTU_V4 };
    if mtu < min {
        return Err(UdpError::Config(format!(
            "MTU {mtu} of {:?} is below the minimum {min}",
            cfg.tun_name
        )));
    }
    Ok(mtu)
}

impl Device {
    /// Creates the device with `lanes` queues, sets its MTU and addresses, and brings it
    /// up, all in the calling thread's namespace. On failure the descriptors close and the
    /// device disappears with them.
    pub fn create(cfg: &UdpConfig, lanes: usize, wanted: Offloads) -> Result<Device, UdpError> {
        let addrs = addresses(&cfg.own, &cfg.networks)?;
        let name = cfg.tun_name.clone();
        let err = |error| UdpError::Device {
            device: name.clone(),
            error,
        };
        let mut nl = Netlink::open().map_err(err)?;
        let mtu = mtu(cfg, &mut nl)?;
        // Multi-queue even with one lane, so lanes can be added without recreating it.
        // vnet headers unless nothing is wanted of them or the kernel refuses them.
        let mut options = TunOptions {
            multi_queue: true,
            vnet_hdr: wanted != Offloads::NONE,
        };
        let first = match tun::create(&name, options) {
            Err(e) if options.vnet_hdr && e.errno().map(|e| e.raw()) == Some(libc::EINVAL) => {
                options.vnet_hdr = false;
                tun::create(&name, options)
            }
            other => other,
        }
        .map_err(err)?;
        let mut queues = vec![first];
        for _ in 1..lanes.max(1) {
            queues.push(tun::attach_queue(&name, options).map_err(err)?);
        }
        use std::os::fd::AsFd;
        let mut offloads = Offloads::NONE;
        if let (true, Some(q)) = (options.vnet_hdr, queues.first()) {
            for q in &queues {
                tun::set_vnet_hdr_len(q.as_fd(), VNET_HDR_LEN).map_err(err)?;
            }
            // The offloads are the device's features, set once for all queues.
            offloads = negotiate(wanted, |o| tun::set_offloads(q.as_fd(), o));
        }
        for q in &queues {
            // Non-blocking reads let a thread gather a batch until EAGAIN; it polls only
            // when the queue is empty.
            tun::set_nonblocking(q.as_fd(), true).map_err(err)?;
        }
        let queues: Vec<Arc<File>> = queues
            .into_iter()
            .map(|q| Arc::new(File::from(q)))
            .collect();
        let index = nl.link_index(&name).map_err(err)?;
        nl.link_set_mtu(LinkId::Index(index), mtu).map_err(err)?;
        // No link-local address: the device needs none (a TUN has no neighbours), and
        // without it the kernel sends no router solicitations or listener reports into
        // the device, which would only be dropped as packets without a peer. Fails only
        // where IPv6 is off, which is fine.
        let _ = nl.link_set_ipv6_addr_gen_none(LinkId::Index(index));
        for prefix in addrs {
            // IPv6 duplicate address detection would hold the address back for a second
            // or more; the address is ours by lease, nothing to detect.
            let flags = match prefix.family() {
                IpFamily::V4 => AddrFlags::default(),
                IpFamily::V6 => AddrFlags::NODAD,
            };
            let addr = Address::new(index, prefix).with_flags(flags);
            nl.addr_add(&addr).map_err(err)?;
        }
        nl.link_set_up(LinkId::Index(index)).map_err(err)?;
        Ok(Device {
            name,
            index,
            queues,
            nl,
            vnet_hdr: options.vnet_hdr,
            offloads,
        })
    }

    /// The queue of lane `lane`.
    pub fn queue(&self, lane: usize) -> Option<Arc<File>> {
        self.queues.get(lane).cloned()
    }

    /// Closes the device's queues and waits until the kernel has removed it. Call once the
    /// forwarding threads, which hold the other references to the queues, have ended.
    pub fn remove(mut self) {
        self.queues.clear();
        // Closing the last queue unregisters the device; should anything still hold a
        // queue (it cannot, all are close-on-exec and ours), delete it outright.
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            match self.nl.link_get(LinkId::Index(self.index)) {
                Ok(link) if link.name == self.name => {
                    if Instant::now() > deadline {
                        let _ = self.nl.link_delete(LinkId::Index(self.index));
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                // Gone (or the index now belongs to another device): done.
                _ => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kernel that accepts only sets within `known`, recording what was asked.
    fn kernel(
        known: Offloads,
        asked: &mut Vec<Offloads>,
    ) -> impl FnMut(Offloads) -> Result<(), ()> + '_ {
        move |o| {
            asked.push(o);
            if known.contains(o) {
                Ok(())
            } else {
                Err(())
            }
        }
    }

    #[test]
    fn the_most_the_kernel_accepts_is_taken() {
        let all = LADDER[0];
        let mut asked = Vec::new();
        assert_eq!(negotiate(all, kernel(all, &mut asked)), all);
        assert_eq!(asked, [all]);
        // No USO (Linux < 6.2): the TSO set.
        let mut asked = Vec::new();
        assert_eq!(negotiate(all, kernel(LADDER[1], &mut asked)), LADDER[1]);
        assert_eq!(asked.len(), 2);
        // Nothing at all: asked down to checksums, then none.
        let mut asked = Vec::new();
        assert_eq!(
            negotiate(all, kernel(Offloads::NONE, &mut asked)),
            Offloads::NONE
        );
        assert_eq!(
            asked,
            [LADDER[0], LADDER[1], LADDER[2], LADDER[3], Offloads::NONE]
        );
    }

    #[test]
    fn nothing_beyond_what_is_wanted_is_asked_for() {
        let tso4 = Offloads::CSUM.with(Offloads::TSO4);
        let mut asked = Vec::new();
        assert_eq!(negotiate(tso4, kernel(LADDER[0], &mut asked)), tso4);
        assert_eq!(asked, [tso4]);
        let mut asked = Vec::new();
        assert_eq!(
            negotiate(Offloads::NONE, kernel(LADDER[0], &mut asked)),
            Offloads::NONE
        );
        assert_eq!(asked, [Offloads::NONE]);
    }
}
