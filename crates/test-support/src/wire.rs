//! A parent device on a wire, for the plugins that hang a container's interface off a parent
//! (macvlan, ipvlan): a veth in a namespace (the sandbox's host, or a pod for
//! `linkInContainer`) whose peer sits in another namespace playing the rest of the parent's
//! link — a machine on the same segment that pods reach directly.

use std::net::IpAddr;
use std::os::fd::AsFd;

use twill_kernel::route::Route;
use twill_kernel::{AddrFlags, Address, IpPrefix, LinkId, NewLink};

use crate::host_settings::HostSettings;
use crate::ns::Ns;
use crate::sandbox::Sandbox;

/// The far end of a parent's wire.
#[derive(Debug)]
pub struct Wire {
    /// The namespace on the other end, with its addresses.
    pub far: Ns,
    /// The parent's name, in the namespace it was made in.
    pub parent: String,
}

impl Sandbox {
    /// A parent `parent` in `near` (the sandbox's host when `None`) holding `near_addrs`,
    /// joined to a new namespace `far` holding `far_addrs`; both ends up. IPv6 addresses
    /// skip duplicate address detection, so they work at once.
    pub fn wire(
        &mut self,
        near: Option<&mut Ns>,
        parent: &str,
        near_addrs: &[&str],
        far_addrs: &[&str],
    ) -> Wire {
        let mut far = self.another_host(&format!("far-{parent}"), &HostSettings::default());
        let far_name = format!("{parent}-far");
        let near = match near {
            Some(ns) => ns,
            None => &mut self.host,
        };
        let link = NewLink::veth(parent, &far_name)
            .peer_netns(far.ns.as_fd())
            .up();
        near.nl.link_add(&link).unwrap();
        far.nl.link_set_up(LinkId::Name(&far_name)).unwrap();
        add_addrs(near, parent, near_addrs);
        add_addrs(&mut far, &far_name, far_addrs);
        Wire {
            far,
            parent: parent.to_owned(),
        }
    }
}

fn add_addrs(ns: &mut Ns, ifname: &str, addrs: &[&str]) {
    let index = ns.nl.link_index(ifname).unwrap();
    for a in addrs {
        let prefix: IpPrefix = a.parse().unwrap();
        let mut addr = Address::new(index, prefix);
        if prefix.addr().is_ipv6() {
            addr = addr.with_flags(AddrFlags::NODAD);
        }
        ns.nl.addr_add(&addr).unwrap();
    }
}

/// A default route in `ns` via `gw` on `ifname`.
pub fn default_route(ns: &mut Ns, ifname: &str, gw: &str) {
    let gw: IpAddr = gw.parse().unwrap();
    let dst = if gw.is_ipv4() { "0.0.0.0/0" } else { "::/0" };
    let index = ns.nl.link_index(ifname).unwrap();
    let route = Route::new(dst.parse().unwrap()).via(gw).dev(index);
    ns.nl.route_add(&route).unwrap();
}
