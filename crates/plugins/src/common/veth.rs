//! A veth pair joining a container to the host (to a host bridge, or point to point), made
//! in one request.
//!
//! The reference plugins create the pair from inside the container's namespace and push the
//! peer into the host, then bring both ends up and attach the host end to the bridge in
//! separate steps. Here the pair is created from the host with the peer placed straight into
//! the container's namespace, the host end attached to its bridge (if any) and up, and both
//! MACs chosen, all in the creation request: the same outcome in one round trip, with no
//! thread in the container's namespace needed for it.

use std::os::fd::AsFd;

use twill_cni::CniError;
use twill_kernel::{LinkId, MacAddr, NetNs, Netlink, NewLink};

use super::error::{internal, kernel};
use super::random;

/// How many random host-side names to try before giving up (as the reference does).
const NAME_ATTEMPTS: usize = 10;

/// What to create.
#[derive(Debug, Clone, Copy)]
pub struct PortSpec<'a> {
    /// The container-side name (`CNI_IFNAME`).
    pub ifname: &'a str,
    /// The bridge's interface index; `None` leaves the host end unattached (point to point).
    pub master: Option<u32>,
    /// MTU of both ends; the kernel's default when `None`.
    pub mtu: Option<u32>,
    /// The container end's MAC; random when `None`.
    pub container_mac: Option<MacAddr>,
}

/// A created pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// The host end's name, `veth` + 8 hex digits.
    pub host_name: String,
    /// The host end's MAC.
    pub host_mac: MacAddr,
    /// The container end's MAC.
    pub container_mac: MacAddr,
}

/// Creates the pair: host end `vethXXXXXXXX` attached to `spec.master` (when set) and up,
/// container end `spec.ifname` (down) in `container`. A clash of the random host name is
/// retried with another; a clash of the container name is an error naming it.
pub fn create_port(
    host: &mut Netlink,
    container: &NetNs,
    spec: &PortSpec<'_>,
) -> Result<Port, CniError> {
    let container_mac = match spec.container_mac {
        Some(mac) => mac,
        None => random::mac()?,
    };
    for _ in 0..NAME_ATTEMPTS {
        let host_name = format!("veth{:08x}", u32::from_ne_bytes(random::bytes::<4>()?));
        let host_mac = random::mac()?;
        let mut link = NewLink::veth(&host_name, spec.ifname)
            .mac(host_mac)
            .peer_mac(container_mac)
            .peer_netns(container.as_fd())
            .up();
        if let Some(mtu) = spec.mtu {
            link = link.mtu(mtu);
        }
        let created = match spec.master {
            Some(master) => host.link_add_enslaved(&link, master),
            None => host.link_add(&link),
        };
        match created {
            Ok(()) => {
                return Ok(Port {
                    host_name,
                    host_mac,
                    container_mac,
                })
            }
            Err(e) if e.is_exists() => {
                // Which name clashed? Only a host-side clash is worth another try.
                match host.link_get(LinkId::Name(&host_name)) {
                    Ok(_) => continue,
                    Err(g) if g.is_not_found() => {
                        return Err(internal(format!(
                            "container veth name provided ({}) already exists",
                            spec.ifname
                        )))
                    }
                    Err(g) => return Err(kernel(g)),
                }
            }
            Err(e) => return Err(internal(format!("failed to make veth pair: {e}"))),
        }
    }
    Err(internal("failed to find a unique veth name"))
}
