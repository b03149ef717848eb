//! ADD: veth pair, IPAM, the container's addresses and point-to-point routes, the host end's
//! gateway addresses and routes back to the pod — and, on any failure after the pair exists,
//! the IPAM reservation released and the pair deleted, so nothing is left half configured.

use std::path::Path;

use serde_json::Value;
use twill_cni::result::{CniResult, IpConfig, V1Interface, V1Result};
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::{sysctl, AddrFlags, LinkId, NetNs, Netlink};

use super::config::PtpConf;
use super::routing::{self, Gatewayed};
use crate::common::configure::{self, Gateways, IfaceSysctls};
use crate::common::error::{internal, kernel};
use crate::common::undo::Undo;
use crate::common::veth::{self, Port, PortSpec};
use crate::common::{ipam, masq, netns};

/// The container interface's index in the result: `[host veth, container veth]`.
pub const CONTAINER_IFACE: u32 = 1;

/// Runs ADD and returns the result in the configuration's version.
pub fn add(args: &CmdArgs) -> Result<Value, CniError> {
    let conf = PtpConf::parse(args)?;
    let path = netns::path(args)?;
    let container = netns::open(args)?;
    let mut host = Netlink::open().map_err(kernel)?;
    // The pair first: a second ADD for an interface that exists fails here, before IPAM is
    // asked — an IPAM release on its failure would free the first attachment's address.
    let spec = PortSpec {
        ifname: &args.ifname,
        master: None,
        mtu: conf.mtu,
        container_mac: None,
    };
    let port = veth::create_port(&mut host, &container, &spec)?;
    let mut undo = Undo {
        plugin: "ptp",
        veth: port.host_name.clone(),
        ipam: None,
    };
    let ctx = Ctx {
        args,
        conf: &conf,
        path,
        container: &container,
        port: &port,
    };
    attach(&ctx, &mut host, &mut undo).inspect_err(|_| undo.run(args))
}

struct Ctx<'a> {
    args: &'a CmdArgs,
    conf: &'a PtpConf,
    path: &'a Path,
    container: &'a NetNs,
    port: &'a Port,
}

fn attach<'a>(ctx: &Ctx<'a>, host: &mut Netlink, undo: &mut Undo<'a>) -> Result<Value, CniError> {
    let port = ctx.port;
    // The host end's routes are ours, never router advertisements'. Best effort, as in the
    // reference (no IPv6 means no such file).
    let _ = sysctl::write(&format!("net/ipv6/conf/{}/accept_ra", port.host_name), "0");

    let from_ipam = ipam::add(&ctx.conf.ipam, ctx.args)?;
    undo.ipam = Some(&ctx.conf.ipam);
    if from_ipam.ips.is_empty() {
        return Err(internal("IPAM plugin returned missing IP config"));
    }
    let mut result = V1Result::new();
    result.add_interface(V1Interface::new(&port.host_name).with_mac(port.host_mac.to_string()));
    result.add_interface(
        V1Interface::new(&ctx.args.ifname)
            .with_mac(port.container_mac.to_string())
            .in_sandbox(ctx.path.to_string_lossy()),
    );
    result.ips = from_ipam.ips;
    for ip in &mut result.ips {
        ip.interface = Some(CONTAINER_IFACE);
    }
    result.routes = from_ipam.routes;
    result.dns = match &ctx.conf.dns {
        Some(dns) => dns.clone(),
        None => from_ipam.dns,
    };
    let ips: Vec<&IpConfig> = result.ips.iter().collect();
    let gatewayed = routing::gatewayed(&ips)?;

    enable_forwarding(&gatewayed)?;
    configure_container(ctx, &ips, &gatewayed, &result)?;
    configure_host(host, &port.host_name, &gatewayed)?;
    let masq_ips = result.ips.clone();
    let out = CniResult::from_latest(result, ctx.args.version)?.to_json();
    // Last: nothing after it can fail, so a failed ADD never leaves elements behind.
    if ctx.conf.ip_masq {
        let a = ctx.args;
        masq::add(&a.name, &a.container_id, &a.ifname, &masq_ips)?;
    }
    Ok(out)
}

/// Turns on forwarding for each family the pod has, as the reference does: the host routes
/// the pod's every packet. Read first, so an already forwarding host is not written to.
fn enable_forwarding(ips: &[Gatewayed]) -> Result<(), CniError> {
    for (v6, key) in [
        (false, "net/ipv4/ip_forward"),
        (true, "net/ipv6/conf/all/forwarding"),
    ] {
        if !ips.iter().any(|ip| ip.gateway.is_ipv6() == v6) {
            continue;
        }
        if sysctl::read(key).is_ok_and(|v| v == "1") {
            continue;
        }
        sysctl::write(key, "1")
            .map_err(|e| internal(format!("Could not enable IP forwarding: {e}")))?;
    }
    Ok(())
}

/// Inside the container: IPv6 on when needed, the addresses without the kernel's on-link
/// subnet route (the point-to-point routes replace it) and, for IPv6, without duplicate
/// address detection (the pod's only neighbour is the host end), link up, the
/// point-to-point routes, then the IPAM's routes.
fn configure_container(
    ctx: &Ctx<'_>,
    ips: &[&IpConfig],
    gatewayed: &[Gatewayed],
    result: &V1Result,
) -> Result<(), CniError> {
    let ifname = ctx.args.ifname.as_str();
    let (v6, v4): (Vec<&IpConfig>, Vec<&IpConfig>) =
        ips.iter().partition(|ip| ip.address.addr().is_ipv6());
    let sysctls = IfaceSysctls {
        ifname,
        dad: None,
        arp_notify: false,
        ipv6: !v6.is_empty(),
    };
    let (mut nl, written) = netns::enter(ctx.container, ctx.path, || {
        configure::write_sysctls(&sysctls)
    })?;
    written.map_err(internal)?;
    let index = nl.link_index(ifname).map_err(kernel)?;
    configure::add_addresses(&mut nl, index, ifname, &v4, AddrFlags::NOPREFIXROUTE)?;
    let v6_flags = AddrFlags::NOPREFIXROUTE | AddrFlags::NODAD;
    configure::add_addresses(&mut nl, index, ifname, &v6, v6_flags)?;
    nl.link_set_up(LinkId::Index(index)).map_err(kernel)?;
    for r in routing::container_routes(gatewayed, index) {
        nl.route_add(&r)
            .map_err(|e| internal(format!("failed to add route {r} in the container: {e}")))?;
    }
    configure::add_routes(&mut nl, index, ifname, &result.routes, Gateways::of(ips))
}

/// On the host end: the gateway addresses and the routes back to the pod. Both may exist
/// already when two addresses share them; that is fine.
fn configure_host(host: &mut Netlink, name: &str, gatewayed: &[Gatewayed]) -> Result<(), CniError> {
    let index = host.link_index(name).map_err(kernel)?;
    for a in routing::host_addresses(gatewayed, index) {
        match host.addr_add(&a) {
            Err(e) if !e.is_exists() => {
                return Err(internal(format!(
                    "failed to add IP addr {} to {name}: {e}",
                    a.prefix
                )))
            }
            _ => {}
        }
    }
    for r in routing::host_routes(gatewayed, index) {
        match host.route_add(&r) {
            Err(e) if !e.is_exists() => {
                return Err(internal(format!("failed to add route on host: {r}: {e}")))
            }
            _ => {}
        }
    }
    Ok(())
}
