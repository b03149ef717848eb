//! ADD: bridge, veth pair, IPAM, container configuration, gateways — and, on any failure
//! after the pair exists, the IPAM reservation released and the pair deleted, so nothing is
//! left half configured.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use twill_cni::result::{CniResult, IpConfig, V1Interface, V1Result};
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::bridge_port::BridgePortChange;
use twill_kernel::link_ext::OPER_UP;
use twill_kernel::{LinkId, NetNs, Netlink};

use super::config::BridgeConf;
use super::gateway;
use super::setup::{self, Bridge};
use super::spoofchk;
use crate::common::configure::{self, IfaceSysctls};
use crate::common::error::{internal, kernel};
use crate::common::undo::Undo;
use crate::common::veth::{self, Port, PortSpec};
use crate::common::{ipam, masq, netns};

/// Pauses before each look at the host port's operational state. The reference looks after
/// 0, 50, 500, 1000 and 1000 ms; the kernel marks the port up from its link-watch work, which
/// takes a few milliseconds — longer on a busy node, where it queues behind other holders of
/// the routing lock. A first pause of 50 ms then costs most ADDs on a full node 50 ms for
/// nothing, so the pauses start at 1 ms and double, within the reference's total patience.
const PORT_WAITS_MS: [u64; 13] = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1000];

/// Runs ADD and returns the result in the configuration's version.
pub fn add(args: &CmdArgs) -> Result<Value, CniError> {
    let conf = BridgeConf::parse(args)?;
    let spoofchk = spoofchk::enabled(&conf)?;
    let path = netns::path(args)?;
    let container = netns::open(args)?;
    let mut host = Netlink::open().map_err(kernel)?;
    let bridge = setup::ensure_bridge(&mut host, &conf)?;
    let spec = PortSpec {
        ifname: &args.ifname,
        master: Some(bridge.index),
        mtu: conf.mtu,
        container_mac: conf.mac,
    };
    let port = veth::create_port(&mut host, &container, &spec)?;
    let mut undo = Undo {
        plugin: "bridge",
        veth: port.host_name.clone(),
        ipam: None,
    };
    let ctx = Ctx {
        args,
        conf: &conf,
        path,
        container: &container,
        bridge,
        port: &port,
    };
    // The check is in place before the pod has an address, so it never sends unchecked.
    let checked = if spoofchk {
        spoofchk::add(args, &port.host_name, port.container_mac)
    } else {
        Ok(())
    };
    checked
        .and_then(|()| attach(&ctx, &mut host, &mut undo))
        .inspect_err(|_| {
            if spoofchk {
                spoofchk::undo(args);
            }
            undo.run(args);
        })
}

struct Ctx<'a> {
    args: &'a CmdArgs,
    conf: &'a BridgeConf,
    path: &'a Path,
    container: &'a NetNs,
    bridge: Bridge,
    port: &'a Port,
}

fn attach<'a>(ctx: &Ctx<'a>, host: &mut Netlink, undo: &mut Undo<'a>) -> Result<Value, CniError> {
    let (conf, port) = (ctx.conf, ctx.port);
    let change = BridgePortChange {
        hairpin: conf.hairpin.then_some(true),
        isolated: conf.port_isolation.then_some(true),
        learning: None,
    };
    if !change.is_empty() {
        host.bridge_port_set(LinkId::Name(&port.host_name), &change)
            .map_err(|e| internal(format!("failed to set up port {}: {e}", port.host_name)))?;
    }
    if conf.vlans.filtering() {
        let index = host.link_index(&port.host_name).map_err(kernel)?;
        super::vlan::apply(host, index, &port.host_name, &conf.vlans)?;
    }
    // A bridge port needs no IPv6 address of its own (frames arriving on a port belong to
    // the bridge, never to the port's stack), and the link-local address the kernel would
    // give it makes it send probes, reports and solicitations that the bridge floods to every
    // other pod: per ADD, work that grows with the node. Best effort: no IPv6, no change.
    // The kernel reads the mode when the port gets its carrier, which is when the container
    // end comes up, later in this ADD.
    let _ = host.link_set_ipv6_addr_gen_none(LinkId::Name(&port.host_name));

    let mut result = V1Result::new();
    result.add_interface(V1Interface::new(&conf.bridge));
    result.add_interface(V1Interface::new(&port.host_name).with_mac(port.host_mac.to_string()));
    result.add_interface(
        V1Interface::new(&ctx.args.ifname)
            .with_mac(port.container_mac.to_string())
            .in_sandbox(ctx.path.to_string_lossy()),
    );
    let mut pinned = None;
    match conf.ipam.as_deref() {
        None if conf.disable_container_interface => {}
        None => {
            let (mut nl, ()) = netns::enter(ctx.container, ctx.path, || ())?;
            nl.link_set_up(LinkId::Name(&ctx.args.ifname))
                .map_err(|e| internal(format!("failed to set {:?} up: {e}", ctx.args.ifname)))?;
        }
        Some(ipam_type) => {
            let from_ipam = ipam::add(ipam_type, ctx.args)?;
            undo.ipam = Some(ipam_type);
            if from_ipam.ips.is_empty() {
                return Err(internal("IPAM plugin returned missing IP config"));
            }
            result.ips = from_ipam.ips;
            result.routes = from_ipam.routes;
            result.dns = from_ipam.dns;
            let gateways = gateway::calc_gateways(&mut result, conf)?;
            configure_container(ctx, &result)?;
            match conf.vlans.access {
                Some(vid) if conf.is_gateway && !gateways.is_empty() => {
                    // The gateway of a VLAN: on `<bridge>.<vlan>`, listed after the
                    // container's interface, as the reference lists it.
                    let gw = super::vlan_gateway::ensure(host, conf, ctx.bridge.index, vid)?;
                    gateway::apply(host, conf, gw.index, &gateways, None)?;
                    // The bridge's MAC pinned as without a VLAN, so that it does not follow
                    // its lowest port's and CHECK finds the MAC the result names.
                    pinned = gateway::apply(host, conf, ctx.bridge.index, &[], ctx.bridge.mac)?;
                    let mut iface = V1Interface::new(&gw.name);
                    if let Some(mac) = gw.mac {
                        iface = iface.with_mac(mac.to_string());
                    }
                    result.add_interface(iface);
                }
                _ if conf.is_gateway && !gateways.is_empty() => {
                    pinned =
                        gateway::apply(host, conf, ctx.bridge.index, &gateways, ctx.bridge.mac)?;
                }
                _ => {}
            }
            // Last: the kernel marks the port up from its link-watch work, which runs while
            // the gateway is set up; by now the first look usually finds it up.
            wait_port_up(host, &port.host_name)?;
        }
    }
    // A bridge whose MAC is not pinned takes its lowest port's, which this port may be.
    let bridge_mac = match pinned {
        Some(mac) => Some(mac),
        None => {
            host.link_get(LinkId::Index(ctx.bridge.index))
                .map_err(kernel)?
                .mac
        }
    };
    if let (Some(mac), Some(br)) = (bridge_mac, result.interfaces.first_mut()) {
        br.mac = mac.to_string();
    }
    if let Some(dns) = &conf.dns {
        result.dns = dns.clone();
    }
    let masq_ips = result.ips.clone();
    let out = CniResult::from_latest(result, ctx.args.version)?.to_json();
    // Last: nothing after it can fail, so a failed ADD never leaves elements behind.
    if conf.ip_masq && !masq_ips.is_empty() {
        let a = ctx.args;
        masq::add(&a.name, &a.container_id, &a.ifname, &masq_ips)?;
    }
    Ok(out)
}

/// Sysctls, addresses, link up and routes inside the container.
fn configure_container(ctx: &Ctx<'_>, result: &V1Result) -> Result<(), CniError> {
    let ifname = ctx.args.ifname.as_str();
    let sysctls = IfaceSysctls {
        ifname,
        dad: Some(ctx.conf.enable_dad),
        arp_notify: true,
        ipv6: result.ips.iter().any(|ip| ip.address.addr().is_ipv6()),
    };
    let (mut nl, written) = netns::enter(ctx.container, ctx.path, || {
        configure::write_sysctls(&sysctls)
    })?;
    written.map_err(internal)?;
    let index = nl.link_index(ifname).map_err(kernel)?;
    let ips: Vec<&IpConfig> = configure::addresses_for(result, ifname)?;
    // With DAD off (the default), addresses are usable at once: nothing to wait for.
    configure::configure_iface(
        &mut nl,
        index,
        ifname,
        &ips,
        &result.routes,
        ctx.conf.enable_dad,
    )
}

/// Waits, as the reference does, until the host end of the pair is operationally up.
fn wait_port_up(host: &mut Netlink, name: &str) -> Result<(), CniError> {
    let mut state = None;
    for pause in PORT_WAITS_MS {
        std::thread::sleep(Duration::from_millis(pause));
        state = host
            .link_get_message(LinkId::Name(name))
            .map_err(kernel)?
            .oper_state;
        if state == Some(OPER_UP) {
            return Ok(());
        }
    }
    Err(internal(format!(
        "bridge port in error state: {}",
        state.map_or("unknown".to_owned(), |s| s.to_string())
    )))
}
