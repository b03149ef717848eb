//! ADD for the plugins that give a container a child of a parent device (macvlan, ipvlan):
//! the child created straight into the container under its final name (and, when there is
//! nothing to configure, already up: one request), then its addresses — from the IPAM, or
//! from the previous plugin's result when chained — and routes. Any failure after the child
//! exists releases the reservation and deletes the child.

use std::os::fd::AsFd;
use std::path::Path;

use serde_json::Value;
use twill_cni::result::{CniResult, Dns, IpConfig, V1Interface, V1Result};
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::{
    IpvlanMode, IpvlanSpec, LinkId, MacAddr, MacvlanMode, MacvlanSpec, NetNs, Netlink, NewLink,
};

use super::configure::{self, IfaceSysctls};
use super::error::{internal, kernel};
use super::lower::{self, LowerKeys, Parent};
use super::{ipam, netns, random, unlink};

/// The kind of child, with its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A macvlan: a MAC of its own (chosen here unless given; the parent's in passthru).
    Macvlan(MacvlanMode),
    /// An ipvlan: the parent's MAC.
    Ipvlan(IpvlanMode),
}

/// Where the child's addresses come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Addressing<'a> {
    /// None: a layer 2 only interface.
    None,
    /// The IPAM plugin of this type.
    Ipam(&'a str),
    /// The previous plugin's result (chained without IPAM): its addresses, routes and DNS.
    Given(V1Result),
}

/// One ADD.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    /// The plugin's name, for messages.
    pub plugin: &'static str,
    /// `master`, `mtu`, `linkInContainer`.
    pub lower: &'a LowerKeys,
    /// The child's kind and mode.
    pub kind: Kind,
    /// The MAC asked for (macvlan only).
    pub mac: Option<MacAddr>,
    /// Its addresses' source.
    pub addressing: Addressing<'a>,
    /// The configuration's `dns`, which replaces any other.
    pub dns: Option<&'a Dns>,
}

/// Runs ADD and returns the result in the request's version.
pub fn add(args: &CmdArgs, plan: Plan<'_>) -> Result<Value, CniError> {
    let path = netns::path(args)?;
    let container = netns::open(args)?;
    // The child is created by a socket in the parent's namespace: the host's, or with
    // `linkInContainer` the container's. A layer 2 child of a host parent needs no socket
    // in the container at all.
    let mut inside = if plan.lower.link_in_container {
        Some(netns::enter(&container, path, || ())?.0)
    } else {
        None
    };
    let mut host = None;
    let creator = match &mut inside {
        Some(nl) => nl,
        None => host.insert(Netlink::open().map_err(kernel)?),
    };
    let parent = lower::find_parent(creator, plan.lower.master.as_deref(), plan.lower.mtu)?;
    let mac = create(creator, &plan, &parent, &container, &args.ifname)?;

    let mut undo = Undo {
        plugin: plan.plugin,
        ipam: None,
        args,
        container: &container,
    };
    let attached = match mac {
        Some(mac) => Ok(mac),
        None => read_mac(&mut inside, &container, path, &args.ifname),
    }
    .and_then(|mac| attach(args, &plan, mac, inside, &mut undo));
    attached.inspect_err(|_| undo.run())
}

/// Creates the child `ifname` in the container; returns its MAC when it is known without
/// asking the kernel.
fn create(
    creator: &mut Netlink,
    plan: &Plan<'_>,
    parent: &Parent,
    container: &NetNs,
    ifname: &str,
) -> Result<Option<MacAddr>, CniError> {
    // Created from the parent's namespace straight into the container, under its final
    // name: the name is checked in the container only, so a host link of the same name is
    // no clash (the reference's temporary name works around kernels older than 2.6.35).
    let netns = (!plan.lower.link_in_container).then(|| container.as_fd());
    // A macvlan's MAC is chosen here so the result needs no read back. In passthru mode the
    // child takes the parent's place: it keeps the parent's MAC unless one was asked for,
    // and what it ends up with is read back either way (the kernel decides between the two
    // devices). An ipvlan always has the parent's.
    let (mut link, mac, known) = match plan.kind {
        Kind::Macvlan(mode) => {
            let mac = match (plan.mac, mode) {
                (Some(m), _) => Some(m),
                (None, MacvlanMode::Passthru) => None,
                (None, _) => Some(random::mac()?),
            };
            let known = mac.filter(|_| mode != MacvlanMode::Passthru);
            let spec = MacvlanSpec {
                lower: parent.index,
                mode,
                netns,
            };
            (NewLink::macvlan(ifname, spec), mac, known)
        }
        Kind::Ipvlan(mode) => {
            let spec = IpvlanSpec {
                lower: parent.index,
                mode,
                netns,
            };
            (NewLink::ipvlan(ifname, spec), None, None)
        }
    };
    if let Some(m) = mac {
        link = link.mac(m);
    }
    if let Some(mtu) = plan.lower.mtu {
        link = link.mtu(mtu);
    }
    if plan.addressing == Addressing::None {
        // Layer 2 only: nothing to configure before it is up.
        link = link.up();
    }
    let mode = match plan.kind {
        Kind::Macvlan(m) => m.name(),
        Kind::Ipvlan(m) => m.name(),
    };
    match creator.link_add(&link) {
        Ok(()) => Ok(known),
        Err(e) if e.is_exists() => Err(lower::name_taken(ifname)),
        Err(e) => Err(internal(format!(
            "failed to create {} on master {:?} (mode {mode}): {e}",
            plan.plugin, parent.name
        ))),
    }
}

fn read_mac(
    inside: &mut Option<Netlink>,
    container: &NetNs,
    path: &Path,
    ifname: &str,
) -> Result<MacAddr, CniError> {
    let nl = match inside {
        Some(nl) => nl,
        None => inside.insert(netns::enter(container, path, || ())?.0),
    };
    nl.link_get(LinkId::Name(ifname))
        .map_err(kernel)?
        .mac
        .ok_or_else(|| internal(format!("{ifname} has no MAC address")))
}

/// What to undo when ADD fails after the child exists.
struct Undo<'a> {
    plugin: &'static str,
    ipam: Option<&'a str>,
    args: &'a CmdArgs,
    container: &'a NetNs,
}

impl Undo<'_> {
    /// Best effort: the ADD's own error is what the runtime must see.
    fn run(&self) {
        if let Some(t) = self.ipam {
            if let Err(e) = ipam::del(t, self.args) {
                eprintln!(
                    "{}: releasing the IPAM reservation after a failed ADD: {e}",
                    self.plugin
                );
            }
        }
        match unlink::in_namespace(self.container, &self.args.ifname) {
            Err(e) if !e.is_not_found() => eprintln!(
                "{}: deleting {:?} after a failed ADD: {e}",
                self.plugin, self.args.ifname
            ),
            _ => {}
        }
    }
}

fn attach<'a>(
    args: &CmdArgs,
    plan: &Plan<'a>,
    mac: MacAddr,
    inside: Option<Netlink>,
    undo: &mut Undo<'a>,
) -> Result<Value, CniError> {
    let mut result = match &plan.addressing {
        Addressing::None => V1Result::new(),
        Addressing::Ipam(ipam_type) => {
            let from_ipam = ipam::add(ipam_type, args)?;
            undo.ipam = Some(ipam_type);
            from_ipam
        }
        Addressing::Given(prev) => prev.clone(),
    };
    if plan.addressing != Addressing::None && result.ips.is_empty() {
        return Err(internal("IPAM plugin returned missing IP config"));
    }
    // The child is the result's one interface (a chained result's others are the previous
    // plugin's business, as in the reference).
    result.interfaces.clear();
    result.add_interface(
        V1Interface::new(&args.ifname)
            .with_mac(mac.to_string())
            .in_sandbox(netns::path(args)?.to_string_lossy()),
    );
    for ip in &mut result.ips {
        ip.interface = Some(0);
    }
    if !result.ips.is_empty() {
        configure_container(args, undo.container, inside, &result)?;
    }
    if let Some(dns) = plan.dns {
        result.dns = dns.clone();
    }
    Ok(CniResult::from_latest(result, args.version)?.to_json())
}

/// Inside the container: ARP notifications on, IPv6 on when needed, the addresses, link up
/// (waiting for IPv6 duplicate address detection when there is an IPv6 gateway), routes.
fn configure_container(
    args: &CmdArgs,
    container: &NetNs,
    inside: Option<Netlink>,
    result: &V1Result,
) -> Result<(), CniError> {
    let ifname = args.ifname.as_str();
    let ips: Vec<&IpConfig> = result.ips.iter().collect();
    let sysctls = IfaceSysctls {
        ifname,
        dad: None,
        arp_notify: true,
        ipv6: ips.iter().any(|ip| ip.address.addr().is_ipv6()),
    };
    let path = netns::path(args)?;
    // One thread in the container writes the sysctls and, when there is none yet, opens
    // the socket that configures the rest.
    let (mut nl, written) = match inside {
        Some(nl) => (
            nl,
            container
                .run(|| configure::write_sysctls(&sysctls))
                .map_err(kernel)?,
        ),
        None => netns::enter(container, path, || configure::write_sysctls(&sysctls))?,
    };
    written.map_err(internal)?;
    let index = nl.link_index(ifname).map_err(kernel)?;
    configure::configure_iface(&mut nl, index, ifname, &ips, &result.routes, true)
}
