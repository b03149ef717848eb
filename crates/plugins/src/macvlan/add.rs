//! ADD: the macvlan child created straight into the container under its final name (and,
//! without IPAM, already up: one request), then IPAM and the interface's addresses and
//! routes. Any failure after the child exists releases the reservation and deletes it.

use std::os::fd::AsFd;

use serde_json::Value;
use twill_cni::result::{CniResult, IpConfig, V1Interface, V1Result};
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::{LinkId, MacAddr, MacvlanMode, MacvlanSpec, NetNs, Netlink, NewLink};

use super::config::MacvlanConf;
use crate::common::configure::{self, IfaceSysctls};
use crate::common::error::{internal, kernel};
use crate::common::lower::{self, Parent};
use crate::common::{ipam, netns, random};

/// Runs ADD and returns the result in the configuration's version.
pub fn add(args: &CmdArgs) -> Result<Value, CniError> {
    let conf = MacvlanConf::parse(args)?;
    conf.check_result_version(args.version)?;
    let path = netns::path(args)?;
    let container = netns::open(args)?;
    // The child is created by a socket in the parent's namespace: the host's, or with
    // `linkInContainer` the container's. A layer 2 child of a host parent needs no socket
    // in the container at all.
    let mut inside = if conf.lower.link_in_container {
        Some(netns::enter(&container, path, || ())?.0)
    } else {
        None
    };
    let mut host = None;
    let creator = match &mut inside {
        Some(nl) => nl,
        None => host.insert(Netlink::open().map_err(kernel)?),
    };
    let parent = lower::find_parent(creator, conf.lower.master.as_deref(), conf.lower.mtu)?;
    let mac = create(creator, &conf, &parent, &container, &args.ifname)?;

    let mut undo = Undo {
        ipam: None,
        args,
        container: &container,
    };
    let attached = match mac {
        Some(mac) => Ok(mac),
        // Passthru: the kernel gave it the parent's MAC; read it back.
        None => read_mac(&mut inside, &container, path, &args.ifname),
    }
    .and_then(|mac| attach(args, &conf, mac, inside, &mut undo));
    attached.inspect_err(|_| undo.run())
}

/// Creates the child `ifname` in the container; returns its MAC when chosen here.
fn create(
    creator: &mut Netlink,
    conf: &MacvlanConf,
    parent: &Parent,
    container: &NetNs,
    ifname: &str,
) -> Result<Option<MacAddr>, CniError> {
    // The MAC is chosen here so the result needs no read back; in passthru mode the child
    // takes the parent's place and keeps the parent's MAC unless one was asked for.
    let mac = match (conf.mac, conf.mode) {
        (Some(m), _) => Some(m),
        (None, MacvlanMode::Passthru) => None,
        (None, _) => Some(random::mac()?),
    };
    let spec = MacvlanSpec {
        lower: parent.index,
        mode: conf.mode,
        // Created from the host straight into the container, under its final name: the
        // name is checked in the container only, so a host link of the same name is no
        // clash (kernels since 2.6.35; the reference's temporary name works around
        // older ones).
        netns: (!conf.lower.link_in_container).then(|| container.as_fd()),
    };
    let mut link = NewLink::macvlan(ifname, spec);
    if let Some(m) = mac {
        link = link.mac(m);
    }
    if let Some(mtu) = conf.lower.mtu {
        link = link.mtu(mtu);
    }
    if conf.ipam.is_none() {
        // Layer 2 only: nothing to configure before it is up.
        link = link.up();
    }
    match creator.link_add(&link) {
        Ok(()) => Ok(mac),
        Err(e) if e.is_exists() => Err(lower::name_taken(ifname)),
        Err(e) => Err(internal(format!(
            "failed to create macvlan on master {:?} (mode {}): {e}",
            parent.name, conf.mode
        ))),
    }
}

fn read_mac(
    inside: &mut Option<Netlink>,
    container: &NetNs,
    path: &std::path::Path,
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
    ipam: Option<&'a str>,
    args: &'a CmdArgs,
    container: &'a NetNs,
}

impl Undo<'_> {
    /// Best effort: the ADD's own error is what the runtime must see.
    fn run(&self) {
        if let Some(t) = self.ipam {
            if let Err(e) = ipam::del(t, self.args) {
                eprintln!("macvlan: releasing the IPAM reservation after a failed ADD: {e}");
            }
        }
        let deleted = self
            .container
            .netlink()
            .and_then(|mut nl| nl.link_delete(LinkId::Name(&self.args.ifname)));
        match deleted {
            Err(e) if !e.is_not_found() => eprintln!(
                "macvlan: deleting {:?} after a failed ADD: {e}",
                self.args.ifname
            ),
            _ => {}
        }
    }
}

fn attach<'a>(
    args: &CmdArgs,
    conf: &'a MacvlanConf,
    mac: MacAddr,
    inside: Option<Netlink>,
    undo: &mut Undo<'a>,
) -> Result<Value, CniError> {
    let mut result = V1Result::new();
    result.add_interface(
        V1Interface::new(&args.ifname)
            .with_mac(mac.to_string())
            .in_sandbox(netns::path(args)?.to_string_lossy()),
    );
    if let Some(ipam_type) = conf.ipam.as_deref() {
        let from_ipam = ipam::add(ipam_type, args)?;
        undo.ipam = Some(ipam_type);
        if from_ipam.ips.is_empty() {
            return Err(internal("IPAM plugin returned missing IP config"));
        }
        result.ips = from_ipam.ips;
        for ip in &mut result.ips {
            ip.interface = Some(0);
        }
        result.routes = from_ipam.routes;
        result.dns = from_ipam.dns;
        configure_container(args, undo.container, inside, &result)?;
    }
    if let Some(dns) = &conf.dns {
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
